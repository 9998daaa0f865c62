//! The block structure of the dialect: lines → a tree of blocks. Children are the indented lines
//! after a block (tabs or spaces, any consistent amount); tag blocks (`<details>`, `<callout>`,
//! `<columns>`) hold their content up to the closing tag. Inline text goes to [`super::inline`].

use serde_json::{Map, Value, json};

use super::MarkdownError;
use super::inline::{plain, rich_text};
use super::lang::notion_language;
use super::pipe_table::{is_table_start, table};
use super::tag_blocks::{BLOCK_TAGS, colon_callout, tag_block, whole_line_block};
use super::tags::{BlockAttrs, parse_tag_prefix, strip_anchor, strip_block_attrs};

/// Nesting deeper than this is rejected (Notion pages are rarely deeper than a dozen levels).
pub(super) const MAX_DEPTH: usize = 48;

/// A parsed block: Notion's type, its type object (without children) and its children.
#[derive(Debug, Clone, PartialEq)]
pub(super) struct Node {
    pub kind: &'static str,
    pub data: Map<String, Value>,
    pub children: Vec<Node>,
}

impl Node {
    pub(super) fn new(kind: &'static str) -> Self {
        Node {
            kind,
            data: Map::new(),
            children: Vec::new(),
        }
    }

    pub(super) fn text(kind: &'static str, rich: Vec<Value>, color: Option<String>) -> Self {
        let mut n = Node::new(kind);
        n.data.insert("rich_text".into(), Value::Array(rich));
        if let Some(c) = color {
            n.data.insert("color".into(), Value::String(c));
        }
        n
    }

    /// `{"type": kind, kind: {…, "children": […]}}`.
    pub(super) fn into_json(self) -> Value {
        let mut data = self.data;
        if !self.children.is_empty() {
            let kids = self.children.into_iter().map(Node::into_json).collect();
            data.insert("children".into(), Value::Array(kids));
        }
        let mut m = Map::new();
        m.insert("type".into(), json!(self.kind));
        m.insert(self.kind.into(), Value::Object(data));
        Value::Object(m)
    }

    fn can_have_children(&self) -> bool {
        matches!(
            self.kind,
            "paragraph"
                | "bulleted_list_item"
                | "numbered_list_item"
                | "to_do"
                | "quote"
                | "toggle"
                | "callout"
                | "heading_1"
                | "heading_2"
                | "heading_3"
                | "heading_4"
                | "column"
        )
    }
}

/// One input line: 1-based number (for errors) and text relative to its container.
#[derive(Debug, Clone, Copy)]
pub(super) struct Ln<'a> {
    pub no: usize,
    pub text: &'a str,
}

pub(super) type Parsed = Result<(Vec<Node>, usize), MarkdownError>;

/// Parses a whole document.
pub(super) fn parse(md: &str) -> Result<Vec<Node>, MarkdownError> {
    let lines: Vec<Ln<'_>> = md
        .split('\n')
        .enumerate()
        .map(|(i, t)| Ln {
            no: i + 1,
            text: t.strip_suffix('\r').unwrap_or(t),
        })
        .collect();
    container(&lines, 0)
}

pub(super) fn is_blank(s: &str) -> bool {
    s.trim().is_empty()
}

/// Leading whitespace in columns (a tab advances to the next multiple of 4).
pub(super) fn indent_width(s: &str) -> usize {
    let mut col = 0;
    for c in s.chars() {
        match c {
            ' ' => col += 1,
            '\t' => col = (col / 4 + 1) * 4,
            _ => break,
        }
    }
    col
}

/// Removes up to `amount` columns of leading whitespace.
fn remove_indent(s: &str, amount: usize) -> &str {
    let mut col = 0;
    for (i, c) in s.char_indices() {
        if col >= amount {
            return &s[i..];
        }
        match c {
            ' ' => col += 1,
            '\t' => col = (col / 4 + 1) * 4,
            _ => return &s[i..],
        }
    }
    ""
}

/// The lines with their common indentation removed.
pub(super) fn dedent<'a>(lines: &[Ln<'a>]) -> Vec<Ln<'a>> {
    let amount = lines
        .iter()
        .filter(|l| !is_blank(l.text))
        .map(|l| indent_width(l.text))
        .min()
        .unwrap_or(0);
    lines
        .iter()
        .map(|l| Ln {
            no: l.no,
            text: remove_indent(l.text, amount),
        })
        .collect()
}

/// First index at or after `from` holding a non-blank, unindented line.
fn region_end(lines: &[Ln<'_>], from: usize) -> usize {
    (from..lines.len())
        .find(|&j| !is_blank(lines[j].text) && indent_width(lines[j].text) == 0)
        .unwrap_or(lines.len())
}

/// Adds children to the last block when it can hold them (a heading becomes a toggle heading);
/// otherwise they follow it as siblings.
fn attach(out: &mut Vec<Node>, kids: Vec<Node>) {
    match out.last_mut() {
        Some(last) if last.can_have_children() => {
            if last.kind.starts_with("heading_") {
                last.data.insert("is_toggleable".into(), Value::Bool(true));
            }
            last.children.extend(kids);
        }
        _ => out.extend(kids),
    }
}

/// Parses the blocks of one container (lines relative to it).
pub(super) fn container(lines: &[Ln<'_>], depth: usize) -> Result<Vec<Node>, MarkdownError> {
    if depth > MAX_DEPTH {
        let line = lines.first().map_or(0, |l| l.no);
        return Err(MarkdownError::TooDeep {
            line,
            max: MAX_DEPTH,
        });
    }
    let mut out = Vec::new();
    let mut i = 0;
    while i < lines.len() {
        let text = lines[i].text;
        if is_blank(text) {
            i += 1;
            continue;
        }
        if indent_width(text) > 0 {
            let end = region_end(lines, i);
            let kids = container(&dedent(&lines[i..end]), depth + 1)?;
            attach(&mut out, kids);
            i = end;
            continue;
        }
        let (nodes, next) = block(lines, i, depth)?;
        out.extend(nodes);
        i = next.max(i + 1);
    }
    Ok(out)
}

/// The block starting at unindented line `i`; returns its nodes and the next line index.
fn block(lines: &[Ln<'_>], i: usize, depth: usize) -> Parsed {
    let l = lines[i];
    let t = l.text.trim_end();
    if let Some((ch, n, info)) = fence_open(t) {
        return Ok(code(lines, i, ch, n, info));
    }
    if t.starts_with("$$") {
        return equation(lines, i);
    }
    if let Some(level) = heading_level(t) {
        let (text, attrs) = block_text(t[level..].trim_start());
        let kind = match level {
            1 => "heading_1",
            2 => "heading_2",
            3 => "heading_3",
            _ => "heading_4",
        };
        let mut n = Node::text(kind, rich_text(text, l.no)?, attrs.color);
        if attrs.toggle {
            n.data.insert("is_toggleable".into(), Value::Bool(true));
        }
        return Ok((vec![n], i + 1));
    }
    if is_divider(strip_anchor(t)) {
        return Ok((vec![Node::new("divider")], i + 1));
    }
    if t.starts_with('>') {
        return quote(lines, i);
    }
    if let Some(item) = list_marker(t) {
        return list_item(lines, i, item);
    }
    if is_table_start(lines, i) {
        return table(lines, i);
    }
    if t.starts_with(":::") {
        return colon_callout(lines, i, depth);
    }
    if t.starts_with('<')
        && let Some(parsed) = tag_block(lines, i, depth)?
    {
        return Ok(parsed);
    }
    if let Some(node) = whole_line_block(strip_anchor(t), l.no)? {
        return Ok((vec![node], i + 1));
    }
    paragraph(lines, i)
}

/// Text of a block line without its anchor and `{…}` suffix.
fn block_text(s: &str) -> (&str, BlockAttrs) {
    let (text, attrs) = strip_block_attrs(strip_anchor(s));
    (text.trim(), attrs)
}

fn fence_open(t: &str) -> Option<(char, usize, &str)> {
    let ch = t.chars().next().filter(|c| *c == '`' || *c == '~')?;
    let n = t.chars().take_while(|c| *c == ch).count();
    if n < 3 {
        return None;
    }
    let info = &t[n..];
    if ch == '`' && info.contains('`') {
        return None;
    }
    Some((ch, n, info))
}

fn code(lines: &[Ln<'_>], i: usize, ch: char, n: usize, info: &str) -> (Vec<Node>, usize) {
    let mut body = Vec::new();
    let mut j = i + 1;
    while j < lines.len() {
        let t = lines[j].text.trim();
        if t.len() >= n && t.chars().all(|c| c == ch) {
            j += 1;
            break;
        }
        body.push(lines[j].text);
        j += 1;
    }
    let mut n = Node::text("code", plain(&body.join("\n")), None);
    n.data.insert(
        "language".into(),
        json!(notion_language(strip_anchor(info))),
    );
    (vec![n], j)
}

fn equation(lines: &[Ln<'_>], i: usize) -> Parsed {
    let first = strip_anchor(lines[i].text.trim()).trim_start_matches("$$");
    let (expr, next) = if first.trim_end().ends_with("$$") && !first.trim().is_empty() {
        (first.trim_end().trim_end_matches("$$").to_owned(), i + 1)
    } else {
        let mut parts = vec![first];
        let mut j = i + 1;
        let mut closed = false;
        while j < lines.len() {
            let t = lines[j].text.trim_end();
            j += 1;
            if let Some(before) = t.strip_suffix("$$") {
                parts.push(before);
                closed = true;
                break;
            }
            parts.push(t);
        }
        if !closed {
            j = lines.len();
        }
        (parts.join("\n"), j)
    };
    let expr = expr.trim();
    let len = expr.chars().count();
    if len > 1000 {
        return Err(MarkdownError::EquationTooLong {
            line: lines[i].no,
            len,
        });
    }
    let mut n = Node::new("equation");
    n.data.insert("expression".into(), json!(expr));
    Ok((vec![n], next))
}

fn heading_level(t: &str) -> Option<usize> {
    let n = t.chars().take_while(|c| *c == '#').count();
    let rest = &t[n..];
    ((1..=6).contains(&n) && (rest.is_empty() || rest.starts_with([' ', '\t']))).then_some(n)
}

fn is_divider(t: &str) -> bool {
    let t = t.trim();
    let Some(ch) = t.chars().next().filter(|c| matches!(c, '-' | '*' | '_')) else {
        return false;
    };
    t.chars().all(|c| c == ch || c == ' ' || c == '\t')
        && t.chars().filter(|c| *c == ch).count() >= 3
}

fn quote(lines: &[Ln<'_>], i: usize) -> Parsed {
    let mut parts = Vec::new();
    let mut j = i;
    while j < lines.len() && lines[j].text.starts_with('>') {
        let rest = &lines[j].text[1..];
        parts.push(rest.strip_prefix(' ').unwrap_or(rest).trim_end());
        j += 1;
    }
    let (text, attrs) = last_line_attrs(&parts);
    let n = Node::text("quote", rich_text(&text, lines[i].no)?, attrs.color);
    Ok((vec![n], j))
}

/// Joins lines with `\n`, taking the anchor and `{…}` suffix off the last one.
fn last_line_attrs(parts: &[&str]) -> (String, BlockAttrs) {
    let Some((last, init)) = parts.split_last() else {
        return (String::new(), BlockAttrs::default());
    };
    let (last, attrs) = strip_block_attrs(strip_anchor(last));
    let mut text = init.join("\n");
    if !init.is_empty() {
        text.push('\n');
    }
    text.push_str(last);
    (text, attrs)
}

/// A list marker: kind, checked state for to-dos, and the byte offset of the item text.
struct ListMarker {
    kind: &'static str,
    checked: bool,
    text_at: usize,
}

fn list_marker(t: &str) -> Option<ListMarker> {
    let (kind, after) = if t.starts_with(['-', '*', '+']) {
        ("bulleted_list_item", 1)
    } else {
        let digits = t.bytes().take_while(u8::is_ascii_digit).count();
        if !(1..=9).contains(&digits) || !t[digits..].starts_with(['.', ')']) {
            return None;
        }
        ("numbered_list_item", digits + 1)
    };
    let rest = &t[after..];
    if !(rest.is_empty() || rest.starts_with([' ', '\t'])) {
        return None;
    }
    let body = rest.trim_start();
    let mut m = ListMarker {
        kind,
        checked: false,
        text_at: t.len() - body.len(),
    };
    if kind == "bulleted_list_item" {
        for (mark, checked) in [("[ ]", false), ("[x]", true), ("[X]", true)] {
            if let Some(r) = body.strip_prefix(mark)
                && (r.is_empty() || r.starts_with([' ', '\t']))
            {
                m.kind = "to_do";
                m.checked = checked;
                m.text_at = t.len() - r.trim_start().len();
            }
        }
    }
    Some(m)
}

fn list_item(lines: &[Ln<'_>], i: usize, m: ListMarker) -> Parsed {
    let mut parts =
        vec![&lines[i].text.trim_end()[m.text_at.min(lines[i].text.trim_end().len())..]];
    let mut j = i + 1;
    while j < lines.len()
        && !is_blank(lines[j].text)
        && indent_width(lines[j].text) == 0
        && !starts_block(lines, j)
    {
        parts.push(lines[j].text.trim_end());
        j += 1;
    }
    let (text, attrs) = last_line_attrs(&parts);
    let mut n = Node::text(m.kind, rich_text(text.trim(), lines[i].no)?, attrs.color);
    if m.kind == "to_do" {
        n.data.insert("checked".into(), Value::Bool(m.checked));
    }
    Ok((vec![n], j))
}

/// Whether line `j` (unindented) starts a block other than a paragraph.
fn starts_block(lines: &[Ln<'_>], j: usize) -> bool {
    let t = lines[j].text.trim_end();
    fence_open(t).is_some()
        || t.starts_with("$$")
        || t.starts_with('>')
        || t.starts_with(":::")
        || heading_level(t).is_some()
        || is_divider(strip_anchor(t))
        || list_marker(t).is_some()
        || is_table_start(lines, j)
        || (t.starts_with("<!--"))
        || parse_tag_prefix(t).is_some_and(|(tag, _)| BLOCK_TAGS.contains(&tag.name.as_str()))
}

fn paragraph(lines: &[Ln<'_>], i: usize) -> Parsed {
    let mut parts = vec![lines[i].text.trim_end()];
    let mut j = i + 1;
    while j < lines.len()
        && !is_blank(lines[j].text)
        && indent_width(lines[j].text) == 0
        && !starts_block(lines, j)
    {
        parts.push(lines[j].text.trim_end());
        j += 1;
    }
    let (text, attrs) = last_line_attrs(&parts);
    let n = Node::text("paragraph", rich_text(&text, lines[i].no)?, attrs.color);
    Ok((vec![n], j))
}
