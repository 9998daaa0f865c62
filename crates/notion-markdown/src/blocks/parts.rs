//! What one block shows besides its children ([`Parts`]), by family of block kinds: text blocks,
//! list items, containers, code, tables, pages and links, media, and the rest.

use serde_json::Value;

use crate::table::pipe_table;
use crate::{color_name, escape, icon_text, notion_url, rich_text};
use notion_model::types::{Block, BlockNode, RichText, plain_text};

/// What one block shows besides its children.
pub(super) struct Parts {
    /// Lines relative to the block's indent; empty = nothing shown.
    pub(super) head: String,
    /// Closing line after the children.
    pub(super) tail: Option<String>,
    pub(super) list_item: bool,
    /// Children were rendered into `head` (tables); this many of them.
    pub(super) rows: Option<usize>,
}

impl Parts {
    /// A block shown as `head` alone.
    fn line(head: String) -> Self {
        Parts {
            head,
            tail: None,
            list_item: false,
            rows: None,
        }
    }

    /// A tag block: `head`, the children, then the closing `tail`.
    fn tagged(head: String, tail: &str) -> Self {
        Parts {
            tail: Some(tail.to_owned()),
            ..Parts::line(head)
        }
    }

    /// A list item (kept tight with the list items next to it).
    fn list(head: String) -> Self {
        Parts {
            list_item: true,
            ..Parts::line(head)
        }
    }

    /// What block `b` of `node` shows; `number` is its position in a numbered list, `ids` adds
    /// block-id anchors.
    pub(super) fn of(b: &Block, node: &BlockNode, number: usize, ids: bool) -> Self {
        let style = Style::of(b, ids);
        match b.kind.as_str() {
            "paragraph" | "heading_1" | "heading_2" | "heading_3" | "heading_4" | "quote" => {
                text_block(b, node, &style)
            }
            "bulleted_list_item" | "numbered_list_item" | "to_do" => list_item(b, number, &style),
            "toggle" | "callout" | "column_list" | "column" => container(b, &style),
            "code" | "equation" | "divider" => Parts::line(code_like(b, &style.anchor)),
            "table" => table(b, node, ids),
            "child_page" | "child_database" | "link_to_page" => {
                Parts::line(page_link(b, &style.anchor))
            }
            "bookmark" | "embed" | "link_preview" | "image" | "video" | "audio" | "pdf"
            | "file" => Parts::line(media(b, &style.anchor)),
            _ => Parts::line(other(b, &style.anchor)),
        }
    }
}

/// A block's anchor (` ^<id>` or empty) and colour attribute (` color="…"` or empty).
struct Style {
    anchor: String,
    color_attr: String,
}

impl Style {
    /// The anchor (when `ids`) and colour of `b`.
    fn of(b: &Block, ids: bool) -> Self {
        let anchor = if ids && !b.id.is_empty() {
            format!(" ^{}", b.id)
        } else {
            String::new()
        };
        let color_attr = color_name(str_at(b.data(), "color"))
            .map(|c| format!(" color=\"{}\"", escape::attr(&c)))
            .unwrap_or_default();
        Style { anchor, color_attr }
    }

    /// What ends a text line: `{extra color="…"}` when there are attributes, then the anchor.
    fn suffix(&self, extra: &str) -> String {
        let mut attrs = extra.to_owned();
        attrs.push_str(&self.color_attr);
        let attrs = attrs.trim_start();
        if attrs.is_empty() {
            self.anchor.clone()
        } else {
            format!(" {{{attrs}}}{}", self.anchor)
        }
    }
}

/// Paragraphs, headings and quotes: the block's text with the colour suffix.
fn text_block(b: &Block, node: &BlockNode, style: &Style) -> Parts {
    let kind = b.kind.as_str();
    match kind {
        "paragraph" => {
            let text = text_lines(b);
            if !text.trim().is_empty() {
                Parts::line(format!("{text}{}", style.suffix("")))
            } else if node.children.is_empty()
                && !node.children_omitted
                && style.anchor.is_empty()
                && style.color_attr.is_empty()
            {
                Parts::line(String::new())
            } else {
                Parts::line(format!("<empty-block/>{}", style.suffix("")))
            }
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
            Parts::line(format!("{}{}", quoted.join("\n"), style.suffix("")))
        }
        _ => {
            let hashes = match kind.as_bytes().last() {
                Some(b'1') => "#",
                Some(b'2') => "##",
                Some(b'3') => "###",
                _ => "####",
            };
            let extra = if bool_at(b.data(), "is_toggleable") {
                " toggle=\"true\""
            } else {
                ""
            };
            Parts::line(format!("{hashes} {}{}", text_line(b), style.suffix(extra)))
        }
    }
}

/// Bulleted and numbered list items and to-dos.
fn list_item(b: &Block, number: usize, style: &Style) -> Parts {
    let marker = match b.kind.as_str() {
        "bulleted_list_item" => "-".to_owned(),
        "numbered_list_item" => format!("{number}."),
        _ => {
            let mark = if bool_at(b.data(), "checked") {
                "x"
            } else {
                " "
            };
            format!("- [{mark}]")
        }
    };
    Parts::list(format!("{marker} {}{}", text_line(b), style.suffix("")))
}

/// Toggles, callouts and columns: an opening tag, the children, a closing tag.
fn container(b: &Block, style: &Style) -> Parts {
    let Style { anchor, color_attr } = style;
    match b.kind.as_str() {
        "toggle" => Parts::tagged(
            format!(
                "<details{color_attr}>\n<summary>{}</summary>{anchor}",
                text_line(b)
            ),
            "</details>",
        ),
        "callout" => {
            let icon = b
                .data()
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
        "column_list" => Parts::tagged(format!("<columns>{anchor}"), "</columns>"),
        _ => Parts::tagged(format!("<column>{anchor}"), "</column>"),
    }
}

/// Code (fenced, never escaped), equations (`$$` blocks) and dividers.
fn code_like(b: &Block, anchor: &str) -> String {
    let data = b.data();
    match b.kind.as_str() {
        "code" => {
            let code = plain_text(&b.rich_text());
            let code = code.strip_suffix('\n').unwrap_or(&code);
            let fence = escape::fence(code);
            let lang = str_at(data, "language").replace(['\n', '`'], "");
            format!("{fence}{lang}{anchor}\n{code}\n{fence}")
        }
        "equation" => {
            let expr = str_at(data, "expression").trim();
            format!("$${anchor}\n{expr}\n$$")
        }
        _ => format!("---{anchor}"),
    }
}

/// A table block with its rows (the node's `table_row` children) as a pipe table; `ids` adds a
/// last column with the table's and the rows' anchors.
fn table(b: &Block, node: &BlockNode, ids: bool) -> Parts {
    let data = b.data();
    let has_header = bool_at(data, "has_column_header");
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

/// Child pages and databases (`<page url="…">Title</page>`) and links to pages.
fn page_link(b: &Block, anchor: &str) -> String {
    let data = b.data();
    let kind = b.kind.as_str();
    if kind == "link_to_page" {
        let target = str_at(data, "type");
        let id = str_at(data, target);
        let label = target
            .strip_suffix("_id")
            .unwrap_or(target)
            .replace('_', " ");
        let url = match target {
            _ if id.is_empty() => return unknown(b, kind),
            "page_id" | "database_id" => notion_url(id),
            "data_source_id" => format!("collection://{id}"),
            _ => format!("{target}://{id}"),
        };
        return format!("[{label}]({}){anchor}", escape::link_dest(&url));
    }
    let tag = if kind == "child_page" {
        "page"
    } else {
        "database"
    };
    let title = str_at(data, "title").trim();
    let title = if title.is_empty() { "Untitled" } else { title };
    format!(
        "<{tag} url=\"{}\">{}</{tag}>{anchor}",
        notion_url(&b.id),
        escape::inline(title)
    )
}

/// Bookmarks, embeds and link previews (`[caption](url)` or `<url>`), images, and
/// video/audio/pdf/file tags.
fn media(b: &Block, anchor: &str) -> String {
    let data = b.data();
    let kind = b.kind.as_str();
    match kind {
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
            format!("{head}{anchor}")
        }
        "image" => format!(
            "![{}]({}){anchor}",
            caption(data),
            escape::link_dest(&media_src(data))
        ),
        _ => {
            let src = escape::attr(&media_src(data));
            let mut label = caption(data);
            if label.is_empty() {
                label = escape::inline(str_at(data, "name"));
            }
            if label.is_empty() {
                format!("<{kind} src=\"{src}\"/>{anchor}")
            } else {
                format!("<{kind} src=\"{src}\">{label}</{kind}>{anchor}")
            }
        }
    }
}

/// Placeholders (breadcrumb, table of contents, template), meeting notes and transcriptions, and
/// kinds the dialect does not know (`<unknown …/>`).
fn other(b: &Block, anchor: &str) -> String {
    let data = b.data();
    let kind = b.kind.as_str();
    match kind {
        "breadcrumb" | "table_of_contents" => format!("<{kind}/>{anchor}"),
        "template" => format!("<template>{}</template>{anchor}", text_line(b)),
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
            if title.is_empty() {
                format!("{head}/>")
            } else {
                format!("{head}>{title}</{kind}>")
            }
        }
        _ => {
            let shown = match (kind, str_at(data, "block_type")) {
                ("unsupported", t) if !t.is_empty() => t,
                _ => kind,
            };
            unknown(b, shown)
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

/// The string at `key` of `v`, or "".
fn str_at<'a>(v: Option<&'a Value>, key: &str) -> &'a str {
    v.and_then(|v| v.get(key))
        .and_then(Value::as_str)
        .unwrap_or("")
}

/// The boolean at `key` of `v`, or false.
fn bool_at(v: Option<&Value>, key: &str) -> bool {
    v.and_then(|v| v.get(key))
        .and_then(Value::as_bool)
        .unwrap_or(false)
}

/// The rich-text segments of a JSON array (segments that do not parse are skipped).
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

/// The block's caption on one line.
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

/// The cells of a `table_row` block as inline Markdown.
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
