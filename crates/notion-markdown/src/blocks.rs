//! Block trees → Notion-flavoured Markdown, with markers for unloaded children, optional block-id
//! anchors and a character budget that stops at a block boundary.

use serde_json::Value;

use super::table::pipe_table;
use super::{RenderOptions, color_name, escape, icon_text, notion_url, rich_text};
use notion_model::types::{Block, BlockNode, RichText, plain_text};

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

/// What one block shows besides its children.
struct Parts {
    /// Lines relative to the block's indent; empty = nothing shown.
    head: String,
    /// Closing line after the children.
    tail: Option<String>,
    list_item: bool,
    /// Children were rendered into `head` (tables); this many of them.
    rows: Option<usize>,
}

impl Parts {
    fn line(head: String) -> Self {
        Parts {
            head,
            tail: None,
            list_item: false,
            rows: None,
        }
    }

    fn tagged(head: String, tail: &str) -> Self {
        Parts {
            tail: Some(tail.to_owned()),
            ..Parts::line(head)
        }
    }

    fn list(head: String) -> Self {
        Parts {
            list_item: true,
            ..Parts::line(head)
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
        let parts = self.parts(block, node, *number);
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

    fn anchor(&self, b: &Block) -> String {
        if self.opts.include_block_ids && !b.id.is_empty() {
            format!(" ^{}", b.id)
        } else {
            String::new()
        }
    }

    fn parts(&self, b: &Block, node: &BlockNode, number: usize) -> Parts {
        let data = b.data();
        let anchor = self.anchor(b);
        let color = str_at(data, "color");
        let color_attr = color_name(color)
            .map(|c| format!(" color=\"{}\"", escape::attr(&c)))
            .unwrap_or_default();
        let color_suffix = |extra: &str| -> String {
            let mut attrs = extra.to_owned();
            attrs.push_str(&color_attr);
            let attrs = attrs.trim_start();
            if attrs.is_empty() {
                anchor.clone()
            } else {
                format!(" {{{attrs}}}{anchor}")
            }
        };
        let kind = b.kind.as_str();
        match kind {
            "paragraph" => {
                let text = text_lines(b);
                if !text.trim().is_empty() {
                    Parts::line(format!("{text}{}", color_suffix("")))
                } else if node.children.is_empty()
                    && !node.children_omitted
                    && anchor.is_empty()
                    && color_attr.is_empty()
                {
                    Parts::line(String::new())
                } else {
                    Parts::line(format!("<empty-block/>{}", color_suffix("")))
                }
            }
            "heading_1" | "heading_2" | "heading_3" | "heading_4" => {
                let hashes = match kind.as_bytes().last() {
                    Some(b'1') => "#",
                    Some(b'2') => "##",
                    Some(b'3') => "###",
                    _ => "####",
                };
                let toggle = data
                    .and_then(|d| d.get("is_toggleable"))
                    .and_then(Value::as_bool)
                    .unwrap_or(false);
                let extra = if toggle { " toggle=\"true\"" } else { "" };
                Parts::line(format!("{hashes} {}{}", text_line(b), color_suffix(extra)))
            }
            "bulleted_list_item" => Parts::list(format!("- {}{}", text_line(b), color_suffix(""))),
            "numbered_list_item" => {
                Parts::list(format!("{number}. {}{}", text_line(b), color_suffix("")))
            }
            "to_do" => {
                let checked = data
                    .and_then(|d| d.get("checked"))
                    .and_then(Value::as_bool)
                    .unwrap_or(false);
                let mark = if checked { "x" } else { " " };
                Parts::list(format!("- [{mark}] {}{}", text_line(b), color_suffix("")))
            }
            "quote" => {
                let text = text_lines(b);
                let quoted: Vec<String> = text
                    .split('\n')
                    .map(|l| {
                        if l.is_empty() {
                            ">".to_owned()
                        } else {
                            format!("> {l}")
                        }
                    })
                    .collect();
                Parts::line(format!("{}{}", quoted.join("\n"), color_suffix("")))
            }
            "toggle" => Parts::tagged(
                format!(
                    "<details{color_attr}>\n<summary>{}</summary>{anchor}",
                    text_line(b)
                ),
                "</details>",
            ),
            "callout" => {
                let icon = data
                    .and_then(|d| d.get("icon"))
                    .and_then(icon_text)
                    .map(|i| format!(" icon=\"{}\"", escape::attr(&i)))
                    .unwrap_or_default();
                let mut head = format!("<callout{icon}{color_attr}>{anchor}");
                let text = text_lines(b);
                if !text.is_empty() {
                    for line in text.split('\n') {
                        head.push('\n');
                        if !line.is_empty() {
                            head.push('\t');
                            head.push_str(line);
                        }
                    }
                }
                Parts::tagged(head, "</callout>")
            }
            "code" => {
                let code = plain_text(&b.rich_text());
                let code = code.strip_suffix('\n').unwrap_or(&code);
                let fence = escape::fence(code);
                let lang = str_at(data, "language").replace(['\n', '`'], "");
                Parts::line(format!("{fence}{lang}{anchor}\n{code}\n{fence}"))
            }
            "equation" => {
                let expr = str_at(data, "expression").trim();
                Parts::line(format!("$${anchor}\n{expr}\n$$"))
            }
            "divider" => Parts::line(format!("---{anchor}")),
            "table" => self.table(b, node),
            "column_list" => Parts::tagged(format!("<columns>{anchor}"), "</columns>"),
            "column" => Parts::tagged(format!("<column>{anchor}"), "</column>"),
            "child_page" | "child_database" => {
                let tag = if kind == "child_page" {
                    "page"
                } else {
                    "database"
                };
                let title = str_at(data, "title").trim();
                let title = if title.is_empty() { "Untitled" } else { title };
                Parts::line(format!(
                    "<{tag} url=\"{}\">{}</{tag}>{anchor}",
                    notion_url(&b.id),
                    escape::inline(title)
                ))
            }
            "link_to_page" => {
                let target = str_at(data, "type");
                let id = str_at(data, target);
                let label = target
                    .strip_suffix("_id")
                    .unwrap_or(target)
                    .replace('_', " ");
                let url = match target {
                    _ if id.is_empty() => return Parts::line(unknown(b, kind)),
                    "page_id" | "database_id" => notion_url(id),
                    "data_source_id" => format!("collection://{id}"),
                    _ => format!("{target}://{id}"),
                };
                Parts::line(format!("[{label}]({}){anchor}", escape::link_dest(&url)))
            }
            "bookmark" | "embed" | "link_preview" => {
                let url = str_at(data, "url").trim();
                let caption = caption(data);
                let head = if url.is_empty() {
                    format!("<{kind}/>")
                } else if !caption.is_empty() {
                    format!("[{caption}]({})", escape::link_dest(url))
                } else if url.contains(|c: char| c.is_whitespace() || c == '<' || c == '>') {
                    format!("[{}]({})", escape::inline(url), escape::link_dest(url))
                } else {
                    format!("<{url}>")
                };
                Parts::line(format!("{head}{anchor}"))
            }
            "image" => Parts::line(format!(
                "![{}]({}){anchor}",
                caption(data),
                escape::link_dest(&media_src(data))
            )),
            "video" | "audio" | "pdf" | "file" => {
                let src = escape::attr(&media_src(data));
                let mut label = caption(data);
                if label.is_empty() {
                    label = escape::inline(str_at(data, "name"));
                }
                Parts::line(if label.is_empty() {
                    format!("<{kind} src=\"{src}\"/>{anchor}")
                } else {
                    format!("<{kind} src=\"{src}\">{label}</{kind}>{anchor}")
                })
            }
            "breadcrumb" | "table_of_contents" => Parts::line(format!("<{kind}/>{anchor}")),
            "template" => Parts::line(format!("<template>{}</template>{anchor}", text_line(b))),
            "meeting_notes" | "transcription" => {
                let mut head = format!("<{kind} id=\"{}\"", escape::attr(&b.id));
                let ids = data.and_then(|d| d.get("children"));
                for key in ["summary_block_id", "notes_block_id", "transcript_block_id"] {
                    let id = str_at(ids, key);
                    if !id.is_empty() {
                        head.push_str(&format!(" {key}=\"{}\"", escape::attr(id)));
                    }
                }
                let title = rich_line(data.and_then(|d| d.get("title")));
                Parts::line(if title.is_empty() {
                    format!("{head}/>")
                } else {
                    format!("{head}>{title}</{kind}>")
                })
            }
            _ => {
                let shown = match (kind, str_at(data, "block_type")) {
                    ("unsupported", t) if !t.is_empty() => t,
                    _ => kind,
                };
                Parts::line(unknown(b, shown))
            }
        }
    }

    /// A table block with its rows (the node's `table_row` children) as a pipe table.
    fn table(&self, b: &Block, node: &BlockNode) -> Parts {
        let data = b.data();
        let has_header = data
            .and_then(|d| d.get("has_column_header"))
            .and_then(Value::as_bool)
            .unwrap_or(false);
        let rows: Vec<(&Block, Vec<String>)> = node
            .children
            .iter()
            .filter_map(|n| n.block.as_ref())
            .filter(|rb| rb.kind == "table_row")
            .map(|rb| (rb, row_cells(rb)))
            .collect();
        let declared = data
            .and_then(|d| d.get("table_width"))
            .and_then(Value::as_u64)
            .map_or(0, |w| usize::try_from(w.min(1000)).unwrap_or(0));
        let width = rows
            .iter()
            .map(|(_, c)| c.len())
            .fold(declared, usize::max)
            .max(1);
        let ids = self.opts.include_block_ids;
        let finish = |rb: Option<&Block>, mut cells: Vec<String>| -> Vec<String> {
            if ids {
                cells.resize(width, String::new());
                cells.push(rb.map_or_else(String::new, |rb| format!("^{}", rb.id)));
            }
            cells
        };
        let (mut header, body_rows) = match rows.split_first() {
            Some(((rb, cells), rest)) if has_header => (finish(Some(rb), cells.clone()), rest),
            _ => (finish(None, vec![String::new(); width]), rows.as_slice()),
        };
        if ids && let Some(last) = header.last_mut() {
            *last = if last.is_empty() {
                format!("^{}", b.id)
            } else {
                format!("^{} {last}", b.id)
            };
        }
        let body: Vec<Vec<String>> = body_rows
            .iter()
            .map(|(rb, c)| finish(Some(rb), c.clone()))
            .collect();
        let table = pipe_table(&header, &body);
        Parts {
            rows: Some(rows.len()),
            ..Parts::line(table.trim_end_matches('\n').to_owned())
        }
    }
}

/// `<unknown type="…" id="…"/>`, wrapping the block's text when it has some.
fn unknown(b: &Block, shown_type: &str) -> String {
    let head = format!(
        "<unknown type=\"{}\" id=\"{}\"",
        escape::attr(shown_type),
        escape::attr(&b.id)
    );
    let text = text_line(b);
    if text.is_empty() {
        format!("{head}/>")
    } else {
        format!("{head}>{text}</unknown>")
    }
}

fn str_at<'a>(v: Option<&'a Value>, key: &str) -> &'a str {
    v.and_then(|v| v.get(key))
        .and_then(Value::as_str)
        .unwrap_or("")
}

fn parse_rich(v: Option<&Value>) -> Vec<RichText> {
    v.and_then(Value::as_array)
        .map(|a| {
            a.iter()
                .filter_map(|e| serde_json::from_value(e.clone()).ok())
                .collect()
        })
        .unwrap_or_default()
}

/// Inline Markdown of a rich-text value on one line (`<br>` for breaks).
fn rich_line(v: Option<&Value>) -> String {
    rich_text(&parse_rich(v)).replace('\n', "<br>")
}

/// The block's text on one line, line-start markers escaped.
fn text_line(b: &Block) -> String {
    escape::line_starts(&rich_text(&b.rich_text()).replace('\n', "<br>"))
}

/// The block's text keeping its line breaks, line-start markers escaped on every line.
fn text_lines(b: &Block) -> String {
    escape::line_starts(&rich_text(&b.rich_text()))
}

fn caption(data: Option<&Value>) -> String {
    rich_line(data.and_then(|d| d.get("caption")))
}

/// The URL of a file object (`external`, `file`), or `file_upload://<id>` for an upload.
fn media_src(data: Option<&Value>) -> String {
    let kind = str_at(data, "type");
    let payload = data.and_then(|d| d.get(kind));
    match kind {
        "file_upload" => format!("file_upload://{}", str_at(payload, "id")),
        _ => str_at(payload, "url").to_owned(),
    }
}

fn row_cells(row: &Block) -> Vec<String> {
    row.data()
        .and_then(|d| d.get("cells"))
        .and_then(Value::as_array)
        .map(|cells| {
            cells
                .iter()
                .map(|c| rich_text(&parse_rich(Some(c))))
                .collect()
        })
        .unwrap_or_default()
}

#[cfg(test)]
#[path = "blocks_tests.rs"]
mod tests;
