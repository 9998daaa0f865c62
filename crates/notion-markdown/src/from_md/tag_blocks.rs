//! Tag blocks (`<details>`, `<callout>`, `::: callout`, `<columns>`, `<page>`, media tags,
//! `<empty-block/>`, comments) and whole-line blocks (`![image](url)`, `<url>` bookmarks,
//! `[page](<notion url>)` links to pages).

use serde_json::{Map, Value, json};

use super::MarkdownError;
use super::blocks::{Ln, Node, Parsed, container, dedent, indent_width, is_blank};
use super::inline::rich_text;
use super::limits::MAX_URL;
use super::tags::{
    HtmlTag, canonical_id, id_in_url, notion_color, parse_tag_prefix, strip_anchor,
    strip_block_attrs,
};

/// Tags that start a block when they open a line.
pub(super) const BLOCK_TAGS: &[&str] = &[
    "details",
    "summary",
    "callout",
    "columns",
    "column",
    "page",
    "database",
    "empty-block",
    "video",
    "audio",
    "pdf",
    "file",
    "image",
    "embed",
    "bookmark",
    "table_of_contents",
    "breadcrumb",
    "unknown",
    "synced_block",
    "synced_block_reference",
    "template",
    "meeting_notes",
    "transcription",
];

/// The content of a container tag opened on line `i` (`first_rest` is what follows the opening
/// tag there): the body lines (dedented) and the index after the closing tag.
fn tag_body<'a>(
    lines: &[Ln<'a>],
    i: usize,
    name: &str,
    first_rest: &'a str,
) -> (Vec<Ln<'a>>, usize) {
    let close = format!("</{name}>");
    let open = format!("<{name}");
    let no = lines[i].no;
    if let Some(pos) = first_rest.find(&close) {
        return (
            vec![Ln {
                no,
                text: &first_rest[..pos],
            }],
            i + 1,
        );
    }
    let mut body = Vec::new();
    if !is_blank(first_rest) {
        body.push(Ln {
            no,
            text: first_rest,
        });
    }
    let mut level = 1usize;
    let mut j = i + 1;
    while j < lines.len() {
        let l = lines[j];
        j += 1;
        if indent_width(l.text) == 0 {
            let t = strip_anchor(l.text);
            if t.starts_with(&open) && !t.contains(&close) && !t.ends_with("/>") {
                level += 1;
            } else if let Some(pos) = t.find(&close) {
                level -= 1;
                if level == 0 {
                    if !is_blank(&t[..pos]) {
                        body.push(Ln {
                            no: l.no,
                            text: &t[..pos],
                        });
                    }
                    return (dedent(&body), j);
                }
            }
        }
        body.push(l);
    }
    (dedent(&body), lines.len())
}

pub(super) fn tag_block(
    lines: &[Ln<'_>],
    i: usize,
    depth: usize,
) -> Result<Option<(Vec<Node>, usize)>, MarkdownError> {
    let l = lines[i];
    let t = strip_anchor(l.text);
    if t.starts_with("<!--") {
        let end = (i..lines.len())
            .find(|&j| lines[j].text.contains("-->"))
            .map_or(lines.len(), |j| j + 1);
        return Ok(Some((Vec::new(), end)));
    }
    let Some((tag, used)) = parse_tag_prefix(t) else {
        return Ok(whole_line_block(t, l.no)?.map(|n| (vec![n], i + 1)));
    };
    if !BLOCK_TAGS.contains(&tag.name.as_str()) || tag.name == "summary" {
        return Ok(None);
    }
    if tag.closing {
        return Ok(Some((Vec::new(), i + 1)));
    }
    let rest = &t[used..];
    let inner = |rest: &str| -> String {
        let close = format!("</{}>", tag.name);
        rest.split(close.as_str())
            .next()
            .unwrap_or("")
            .trim()
            .to_owned()
    };
    let node = match tag.name.as_str() {
        "details" => return details(lines, i, &tag, rest, depth).map(Some),
        "callout" => {
            let (body, next) = tag_body(lines, i, "callout", rest);
            let nodes = container(&body, depth + 1)?;
            return Ok(Some((vec![callout(&tag, nodes)], next)));
        }
        "columns" | "column" | "synced_block" => {
            let (body, next) = tag_body(lines, i, &tag.name, rest);
            let nodes = container(&body, depth + 1)?;
            let out = match tag.name.as_str() {
                "columns" => columns(nodes),
                "column" => {
                    let mut c = Node::new("column");
                    c.children = nodes;
                    vec![c]
                }
                _ => nodes,
            };
            return Ok(Some((out, next)));
        }
        "page" | "database" => {
            let Some(id) = tag.attr("url").and_then(id_in_url) else {
                return Ok(None);
            };
            link_to_page(
                if tag.name == "page" {
                    "page_id"
                } else {
                    "database_id"
                },
                id,
            )
        }
        "empty-block" => {
            let (_, attrs) = strip_block_attrs(rest);
            let color = tag.attr("color").and_then(notion_color).or(attrs.color);
            Node::text("paragraph", Vec::new(), color)
        }
        "video" | "audio" | "pdf" | "file" | "image" | "embed" | "bookmark" => {
            let url = tag
                .attr("src")
                .or_else(|| tag.attr("url"))
                .unwrap_or("")
                .trim();
            if url.is_empty() {
                return Ok(Some((Vec::new(), i + 1)));
            }
            let caption = if tag.self_closing {
                String::new()
            } else {
                inner(rest)
            };
            media(&tag.name, url, &caption, l.no)?
        }
        "table_of_contents" => {
            let mut n = Node::new("table_of_contents");
            if let Some(c) = tag.attr("color").and_then(notion_color) {
                n.data.insert("color".into(), json!(c));
            }
            n
        }
        "breadcrumb" => Node::new("breadcrumb"),
        // Read-only or unknown blocks: nothing to create.
        _ => return Ok(Some((Vec::new(), i + 1))),
    };
    Ok(Some((vec![node], i + 1)))
}

fn details(lines: &[Ln<'_>], i: usize, tag: &HtmlTag, rest: &str, depth: usize) -> Parsed {
    let (body, next) = tag_body(lines, i, "details", rest);
    let mut summary = String::new();
    let mut start = 0;
    if let Some(k) = body.iter().position(|l| !is_blank(l.text)) {
        let t = strip_anchor(body[k].text).trim();
        if let Some(s) = t.strip_prefix("<summary>") {
            summary = s.split("</summary>").next().unwrap_or("").trim().to_owned();
            start = k + 1;
        }
    }
    let no = lines[i].no;
    let color = tag.attr("color").and_then(notion_color);
    let mut n = Node::text("toggle", rich_text(&summary, no)?, color);
    n.children = container(&dedent(&body[start..]), depth + 1)?;
    Ok((vec![n], next))
}

fn callout(tag: &HtmlTag, mut nodes: Vec<Node>) -> Node {
    let color = tag.attr("color").and_then(notion_color);
    let text = match nodes.first() {
        Some(first)
            if first.kind == "paragraph"
                && first.children.is_empty()
                && !first.data.contains_key("color") =>
        {
            nodes.remove(0).data.remove("rich_text")
        }
        _ => None,
    };
    let mut n = Node::text("callout", Vec::new(), color);
    if let Some(t) = text {
        n.data.insert("rich_text".into(), t);
    }
    if let Some(icon) = tag
        .attr("icon")
        .map(str::trim)
        .filter(|i| !(i.is_empty() || (i.starts_with(':') && i.ends_with(':'))))
    {
        n.data
            .insert("icon".into(), json!({"type": "emoji", "emoji": icon}));
    }
    n.children = nodes;
    n
}

/// `::: callout {icon="💡" color="gray_bg"}` … `:::`.
pub(super) fn colon_callout(lines: &[Ln<'_>], i: usize, depth: usize) -> Parsed {
    let head = strip_anchor(lines[i].text).trim_start_matches(':').trim();
    let mut body = Vec::new();
    let mut level = 1usize;
    let mut j = i + 1;
    while j < lines.len() {
        let l = lines[j];
        j += 1;
        let t = l.text.trim();
        if indent_width(l.text) == 0 && t.starts_with(":::") {
            if t.trim_start_matches(':').trim().is_empty() {
                level -= 1;
                if level == 0 {
                    break;
                }
            } else {
                level += 1;
            }
        }
        body.push(l);
    }
    let nodes = container(&dedent(&body), depth + 1)?;
    let kind = head.split_whitespace().next().unwrap_or("");
    if kind != "callout" {
        return Ok((nodes, j));
    }
    let attrs = head[kind.len()..]
        .trim()
        .trim_start_matches('{')
        .trim_end_matches('}');
    let tag = parse_tag_prefix(&format!("<callout {attrs}>"))
        .map(|(t, _)| t)
        .unwrap_or(HtmlTag {
            name: "callout".into(),
            attrs: Vec::new(),
            closing: false,
            self_closing: false,
        });
    Ok((vec![callout(&tag, nodes)], j))
}

/// `<columns>` content: the columns (stray blocks get a column each); fewer than two columns
/// cannot exist in Notion, so their content is kept in place instead.
fn columns(nodes: Vec<Node>) -> Vec<Node> {
    let mut cols: Vec<Node> = Vec::new();
    for n in nodes {
        if n.kind == "column" {
            cols.push(n);
        } else {
            let mut c = Node::new("column");
            c.children.push(n);
            cols.push(c);
        }
    }
    cols.retain(|c| !c.children.is_empty());
    if cols.len() < 2 {
        return cols.into_iter().flat_map(|c| c.children).collect();
    }
    let mut list = Node::new("column_list");
    list.children = cols;
    vec![list]
}

fn link_to_page(key: &str, id: String) -> Node {
    let mut n = Node::new("link_to_page");
    n.data.insert("type".into(), json!(key));
    n.data.insert(key.into(), json!(id));
    n
}

/// A file object for a media URL (`file_upload://<id>` refers to an upload).
fn file_object(url: &str) -> Map<String, Value> {
    let mut m = Map::new();
    match url.strip_prefix("file_upload://") {
        Some(id) => {
            m.insert("type".into(), json!("file_upload"));
            m.insert("file_upload".into(), json!({ "id": id }));
        }
        None => {
            m.insert("type".into(), json!("external"));
            m.insert("external".into(), json!({ "url": url }));
        }
    }
    m
}

fn media(kind: &str, url: &str, caption: &str, line: usize) -> Result<Node, MarkdownError> {
    if url.chars().count() > MAX_URL {
        return Err(MarkdownError::UrlTooLong { line });
    }
    let kind: &'static str = match kind {
        "video" => "video",
        "audio" => "audio",
        "pdf" => "pdf",
        "file" => "file",
        "embed" => "embed",
        "bookmark" => "bookmark",
        _ => "image",
    };
    let mut n = Node::new(kind);
    if kind == "embed" || kind == "bookmark" {
        n.data.insert("url".into(), json!(url));
    } else {
        n.data = file_object(url);
    }
    let caption = rich_text(caption, line)?;
    if !caption.is_empty() {
        n.data.insert("caption".into(), Value::Array(caption));
    }
    Ok(n)
}

/// `![caption](url)` → image, `<https://…>` → bookmark, `[page](https://www.notion.so/<id>)` →
/// link to page; each only when it is the whole line.
pub(super) fn whole_line_block(t: &str, line: usize) -> Result<Option<Node>, MarkdownError> {
    let t = t.trim();
    if let Some(url) = t.strip_prefix('<').and_then(|r| r.strip_suffix('>'))
        && (url.starts_with("https://") || url.starts_with("http://"))
        && !url.contains(char::is_whitespace)
    {
        return media("bookmark", url, "", line).map(Some);
    }
    let Some((image, label, url)) = whole_link(t) else {
        return Ok(None);
    };
    if image {
        return media("image", &url, label, line).map(Some);
    }
    let key = match label {
        "page" => "page_id",
        "database" => "database_id",
        _ => return Ok(None),
    };
    let id = url
        .strip_prefix("https://www.notion.so/")
        .filter(|r| r.len() == 32)
        .and_then(canonical_id);
    Ok(id.map(|id| link_to_page(key, id)))
}

/// Splits `[label](url)` / `![label](url)` spanning all of `t`.
fn whole_link(t: &str) -> Option<(bool, &str, String)> {
    let (image, rest) = match t.strip_prefix("![") {
        Some(r) => (true, r),
        None => (false, t.strip_prefix('[')?),
    };
    let mut depth = 1usize;
    let mut escaped = false;
    let mut close = None;
    for (i, c) in rest.char_indices() {
        match c {
            _ if escaped => escaped = false,
            '\\' => escaped = true,
            '[' => depth += 1,
            ']' => {
                depth -= 1;
                if depth == 0 {
                    close = Some(i);
                    break;
                }
            }
            _ => {}
        }
    }
    let close = close?;
    let label = &rest[..close];
    let dest = rest[close + 1..]
        .strip_prefix('(')?
        .strip_suffix(')')?
        .trim();
    let dest = dest
        .strip_prefix('<')
        .and_then(|d| d.strip_suffix('>'))
        .unwrap_or(dest);
    if dest.is_empty() || dest.contains(char::is_whitespace) || dest.contains(['(', ')']) {
        return None;
    }
    Some((image, label, dest.to_owned()))
}
