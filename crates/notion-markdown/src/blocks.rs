//! Block trees → Notion-flavoured Markdown, with markers for unloaded children, optional block-id
//! anchors and a character budget that stops at a block boundary.

use serde_json::Value;

use super::RenderOptions;
use notion_model::types::BlockNode;

mod parts;
use parts::Parts;

/// The result of [`blocks()`].
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Rendered {
    pub markdown: String,
    /// True when rendering stopped early because of `max_chars`.
    pub truncated: bool,
    /// Blocks rendered (including table rows and transparent synced blocks).
    pub blocks_rendered: usize,
}

/// Nesting deeper than this is not rendered; a marker points at the subtree instead.
const MAX_DEPTH: usize = 64;

/// Renders block trees (see the module docs for the dialect). Nodes without a block are transparent
/// containers (e.g. a page root): their children render in place.
pub fn blocks(nodes: &[BlockNode], opts: &RenderOptions) -> Rendered {
    let mut r = Renderer {
        opts,
        out: String::new(),
        chars: 0,
        reserved: 0,
        truncated: false,
        count: 0,
    };
    r.siblings(nodes, 0);
    Rendered {
        markdown: r.out,
        truncated: r.truncated,
        blocks_rendered: r.count,
    }
}

/// One entry of a sibling list once transparent nodes are flattened.
enum Item<'a> {
    Node(&'a BlockNode),
    /// A transparent block: counted, not shown.
    Transparent,
    /// Children that were not loaded; the id to fetch them with (may be empty).
    Omitted(&'a str),
}

/// Replaces synced blocks and block-less nodes by their children.
fn flatten<'a>(nodes: &'a [BlockNode], out: &mut Vec<Item<'a>>, depth: usize) {
    for n in nodes {
        let block = match &n.block {
            Some(b) if b.kind != "synced_block" => {
                out.push(Item::Node(n));
                continue;
            }
            other => other.as_ref(),
        };
        let fetch_id = block.map_or("", |b| {
            b.data()
                .and_then(|d| d.get("synced_from"))
                .and_then(|s| s.get("block_id"))
                .and_then(Value::as_str)
                .unwrap_or(&b.id)
        });
        if block.is_some() {
            out.push(Item::Transparent);
        }
        if depth >= MAX_DEPTH && !n.children.is_empty() {
            out.push(Item::Omitted(fetch_id));
            continue;
        }
        flatten(&n.children, out, depth + 1);
        if n.children_omitted {
            out.push(Item::Omitted(fetch_id));
        }
    }
}

struct Renderer<'a> {
    opts: &'a RenderOptions,
    out: String,
    /// Characters in `out`.
    chars: usize,
    /// Characters promised to closing tags of open blocks.
    reserved: usize,
    truncated: bool,
    count: usize,
}

/// Each non-empty line of `text` indented by `depth` tabs, every line newline-terminated.
fn indent_lines(text: &str, depth: usize) -> String {
    let mut out = String::with_capacity(text.len() + depth + 1);
    for line in text.split('\n') {
        if !line.is_empty() {
            out.extend(std::iter::repeat_n('\t', depth));
            out.push_str(line);
        }
        out.push('\n');
    }
    out
}

fn marker(id: &str) -> String {
    if id.is_empty() {
        "<!-- some blocks not loaded -->".to_owned()
    } else {
        format!("<!-- children not loaded: fetch id {id} -->")
    }
}

impl Renderer<'_> {
    fn fits(&self, n: usize) -> bool {
        self.opts.max_chars == 0 || self.chars + self.reserved + n <= self.opts.max_chars
    }

    fn push(&mut self, s: &str) {
        self.chars += s.chars().count();
        self.out.push_str(s);
    }

    /// Emits `text` at `depth` (after a blank line when `gap`) if it fits with `keep` more
    /// characters still to come; otherwise marks the output truncated.
    fn emit(&mut self, text: &str, depth: usize, gap: bool, keep: usize) -> bool {
        let s = indent_lines(text, depth);
        if !self.fits(s.chars().count() + usize::from(gap) + keep) {
            self.truncated = true;
            return false;
        }
        if gap {
            self.push("\n");
        }
        self.push(&s);
        true
    }

    fn siblings(&mut self, nodes: &[BlockNode], depth: usize) {
        let mut flat = Vec::new();
        flatten(nodes, &mut flat, depth);
        let mut number = 0;
        // Whether the previously shown sibling was a list item; None before the first one.
        let mut prev_list: Option<bool> = None;
        for item in flat {
            if self.truncated {
                return;
            }
            match item {
                Item::Node(node) => self.node(node, depth, &mut number, &mut prev_list),
                Item::Transparent => self.count += 1,
                Item::Omitted(id) => {
                    self.emit(&marker(id), depth, false, 0);
                }
            }
        }
    }

    fn node(
        &mut self,
        node: &BlockNode,
        depth: usize,
        number: &mut usize,
        prev_list: &mut Option<bool>,
    ) {
        let Some(block) = &node.block else {
            return;
        };
        *number = if block.kind == "numbered_list_item" {
            *number + 1
        } else {
            0
        };
        let parts = Parts::of(block, node, *number, self.opts.include_block_ids);
        let tail = parts.tail.as_deref().map(|t| indent_lines(t, depth));
        let keep = tail.as_deref().map_or(0, |t| t.chars().count());
        if !parts.head.is_empty() {
            let gap = prev_list.is_some_and(|prev| !(prev && parts.list_item));
            if !self.emit(&parts.head, depth, gap, keep) {
                return;
            }
            *prev_list = Some(parts.list_item);
        } else if prev_list.is_some() {
            // An invisible block still separates lists (Notion restarts numbering after it).
            *prev_list = Some(false);
        }
        self.count += 1 + parts.rows.unwrap_or(0);
        self.reserved += keep;
        if parts.rows.is_none() {
            if depth + 1 >= MAX_DEPTH && !node.children.is_empty() {
                self.emit(&marker(&block.id), depth + 1, false, 0);
            } else {
                self.siblings(&node.children, depth + 1);
            }
        }
        if node.children_omitted && !self.truncated {
            self.emit(&marker(&block.id), depth + 1, false, 0);
        }
        self.reserved -= keep;
        if let Some(t) = tail {
            self.push(&t);
        }
    }
}

#[cfg(test)]
#[path = "blocks_tests.rs"]
mod tests;
