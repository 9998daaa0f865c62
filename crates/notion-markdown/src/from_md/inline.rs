//! Inline Markdown → Notion rich-text items, with pulldown-cmark doing the CommonMark inline work
//! (emphasis, code spans, links, escapes, `$math$`) and this module handling our inline tags
//! (`<span underline color>`, `<br>`, `<mention-*>`) and mention links (`user://`, Notion URLs,
//! `collection://`).

use pulldown_cmark::{Event, Options, Parser, Tag, TagEnd};
use serde_json::{Map, Value, json};

use super::MarkdownError;
use super::limits::{MAX_URL, split_text};
use super::tags::{self, HtmlTag};

/// Put before every line handed to pulldown-cmark so that no line can start a block construct
/// (heading, list, quote, indented code, HTML block): the block structure is ours. It is Unicode
/// whitespace, so emphasis right after it still opens; it is removed again from the output.
const SENTINEL: char = '\u{2007}';

/// Text annotations while walking the events.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
struct Ann {
    bold: bool,
    italic: bool,
    strike: bool,
    underline: bool,
    code: bool,
    color: Option<String>,
}

impl Ann {
    fn to_json(&self) -> Option<Value> {
        let mut m = Map::new();
        for (key, on) in [
            ("bold", self.bold),
            ("italic", self.italic),
            ("strikethrough", self.strike),
            ("underline", self.underline),
            ("code", self.code),
        ] {
            if on {
                m.insert(key.into(), Value::Bool(true));
            }
        }
        if let Some(c) = &self.color {
            m.insert("color".into(), Value::String(c.clone()));
        }
        (!m.is_empty()).then_some(Value::Object(m))
    }
}

/// One rich-text piece before JSON.
#[derive(Debug, Clone, PartialEq)]
enum Piece {
    Text {
        content: String,
        ann: Ann,
        link: Option<String>,
    },
    Equation {
        expression: String,
        ann: Ann,
    },
    Mention {
        mention: Value,
        ann: Ann,
    },
}

/// What an open link turned into.
enum LinkCtx {
    Url(String),
    /// A mention link: its label is ignored (Notion shows the target's current name).
    Mention(Value),
}

/// An open inline tag: what it switched on, to undo at its closing tag.
struct SpanCtx {
    name: String,
    underline: bool,
    color: Option<Option<String>>,
    bold: bool,
    italic: bool,
    strike: bool,
}

#[derive(Default)]
struct Walker {
    pieces: Vec<Piece>,
    bold: u32,
    italic: u32,
    strike: u32,
    underline: u32,
    colors: Vec<Option<String>>,
    links: Vec<LinkCtx>,
    spans: Vec<SpanCtx>,
    /// Inside `<mention-x url>…</mention-x>`: the tag name whose closing tag ends the skip.
    skip_until: Option<String>,
    at_line_start: bool,
}

/// Parses inline Markdown into rich-text items (merged runs, text split at Notion's limits).
pub(super) fn rich_text(src: &str, line: usize) -> Result<Vec<Value>, MarkdownError> {
    let mut guarded = String::with_capacity(src.len() + 8);
    for (i, l) in src.split('\n').enumerate() {
        if i > 0 {
            guarded.push('\n');
        }
        guarded.push(SENTINEL);
        guarded.push_str(unescape_leading_star(l));
    }
    let mut w = Walker {
        at_line_start: true,
        ..Walker::default()
    };
    let opts = Options::ENABLE_STRIKETHROUGH | Options::ENABLE_MATH;
    for event in Parser::new_ext(&guarded, opts) {
        w.event(event, line)?;
    }
    finish(w.pieces, line)
}

/// Block renderers escape a `*` that opens a line even when it opens emphasis (`\\**b**`);
/// inline text escapes every literal `*`. So a line starting with `\\*` that has another
/// unescaped `*` later starts with markup: drop the backslash.
fn unescape_leading_star(line: &str) -> &str {
    let Some(rest) = line.strip_prefix("\\*") else {
        return line;
    };
    let mut escaped = false;
    for c in rest.chars() {
        match c {
            '*' if !escaped => return &line[1..],
            '\\' => escaped = !escaped,
            _ => escaped = false,
        }
    }
    line
}

/// Plain text (no Markdown) as rich-text items, e.g. for code blocks.
pub(super) fn plain(text: &str) -> Vec<Value> {
    split_text(text)
        .into_iter()
        .map(|c| json!({"type": "text", "text": {"content": c}}))
        .collect()
}

impl Walker {
    fn ann(&self) -> Ann {
        Ann {
            bold: self.bold > 0,
            italic: self.italic > 0,
            strike: self.strike > 0,
            underline: self.underline > 0,
            code: false,
            color: self.colors.iter().rev().find_map(Clone::clone),
        }
    }

    fn link(&self) -> Option<String> {
        self.links.iter().rev().find_map(|l| match l {
            LinkCtx::Url(u) => Some(u.clone()),
            LinkCtx::Mention(_) => None,
        })
    }

    fn in_mention(&self) -> bool {
        self.skip_until.is_some() || matches!(self.links.last(), Some(LinkCtx::Mention(_)))
    }

    fn text(&mut self, s: &str, code: bool) {
        let s = if self.at_line_start {
            self.at_line_start = false;
            s.strip_prefix(SENTINEL).unwrap_or(s)
        } else {
            s
        };
        if s.is_empty() || self.in_mention() {
            return;
        }
        let mut ann = self.ann();
        ann.code = code;
        let link = self.link();
        self.pieces.push(Piece::Text {
            content: s.to_owned(),
            ann,
            link,
        });
    }

    fn line_break(&mut self) {
        self.text("\n", false);
        self.at_line_start = true;
    }

    fn event(&mut self, event: Event<'_>, line: usize) -> Result<(), MarkdownError> {
        match event {
            Event::Text(t) => self.text(&t, false),
            Event::Code(t) => {
                // A code span opening a line still follows the sentinel's own text event.
                self.at_line_start = false;
                self.text(&t, true);
            }
            Event::InlineMath(t) | Event::DisplayMath(t) => {
                self.at_line_start = false;
                self.equation(&t, line)?;
            }
            Event::SoftBreak | Event::HardBreak => self.line_break(),
            Event::Html(t) | Event::InlineHtml(t) => {
                self.at_line_start = false;
                self.html(&t, line)?;
            }
            Event::Start(tag) => self.start(tag, line)?,
            Event::End(end) => self.end(end),
            Event::FootnoteReference(t) => self.text(&format!("[^{t}]"), false),
            Event::TaskListMarker(done) => self.text(if done { "[x] " } else { "[ ] " }, false),
            Event::Rule => {}
        }
        Ok(())
    }

    fn equation(&mut self, expr: &str, line: usize) -> Result<(), MarkdownError> {
        let expr = expr.trim();
        if expr.is_empty() || self.in_mention() {
            return Ok(());
        }
        let len = expr.chars().count();
        if len > 1000 {
            return Err(MarkdownError::EquationTooLong { line, len });
        }
        let ann = self.ann();
        self.pieces.push(Piece::Equation {
            expression: expr.to_owned(),
            ann,
        });
        Ok(())
    }

    fn start(&mut self, tag: Tag<'_>, line: usize) -> Result<(), MarkdownError> {
        match tag {
            Tag::Emphasis => self.italic += 1,
            Tag::Strong => self.bold += 1,
            Tag::Strikethrough => self.strike += 1,
            Tag::Link { dest_url, .. } | Tag::Image { dest_url, .. } => {
                let ctx = match mention_for_url(&dest_url) {
                    Some(m) => LinkCtx::Mention(m),
                    None => {
                        let url = dest_url.trim().to_owned();
                        if url.chars().count() > MAX_URL {
                            return Err(MarkdownError::UrlTooLong { line });
                        }
                        LinkCtx::Url(url)
                    }
                };
                self.links.push(ctx);
            }
            Tag::Paragraph if !self.pieces.is_empty() => self.line_break(),
            _ => {}
        }
        Ok(())
    }

    fn end(&mut self, end: TagEnd) {
        match end {
            TagEnd::Emphasis => self.italic = self.italic.saturating_sub(1),
            TagEnd::Strong => self.bold = self.bold.saturating_sub(1),
            TagEnd::Strikethrough => self.strike = self.strike.saturating_sub(1),
            TagEnd::Link | TagEnd::Image => {
                if let Some(LinkCtx::Mention(m)) = self.links.pop()
                    && self.skip_until.is_none()
                {
                    let ann = self.ann();
                    self.pieces.push(Piece::Mention { mention: m, ann });
                }
            }
            _ => {}
        }
    }

    fn html(&mut self, raw: &str, line: usize) -> Result<(), MarkdownError> {
        let Some(tag) = tags::parse_tag(raw.trim()) else {
            self.text(raw, false);
            return Ok(());
        };
        if let Some(wanted) = &self.skip_until {
            if tag.closing && tag.name == *wanted {
                self.skip_until = None;
            }
            return Ok(());
        }
        match tag.name.as_str() {
            "br" => self.line_break(),
            "span" | "u" | "b" | "strong" | "i" | "em" | "s" | "del" | "strike" => {
                self.inline_style(&tag)
            }
            "mention-date" => self.date_mention(&tag),
            n if n.starts_with("mention-") => self.tag_mention(&tag, line)?,
            _ => self.text(raw, false),
        }
        Ok(())
    }

    fn inline_style(&mut self, tag: &HtmlTag) {
        if tag.closing {
            if let Some(pos) = self.spans.iter().rposition(|s| s.name == tag.name) {
                let s = self.spans.remove(pos);
                if s.underline {
                    self.underline = self.underline.saturating_sub(1);
                }
                if s.color.is_some() {
                    self.colors.pop();
                }
                if s.bold {
                    self.bold = self.bold.saturating_sub(1);
                }
                if s.italic {
                    self.italic = self.italic.saturating_sub(1);
                }
                if s.strike {
                    self.strike = self.strike.saturating_sub(1);
                }
            }
            return;
        }
        if tag.self_closing {
            return;
        }
        let name = tag.name.as_str();
        let underline = name == "u" || tag.attr("underline") == Some("true");
        let color = tag.attr("color").map(tags::notion_color);
        let bold = matches!(name, "b" | "strong");
        let italic = matches!(name, "i" | "em");
        let strike = matches!(name, "s" | "del" | "strike");
        if underline {
            self.underline += 1;
        }
        if let Some(c) = &color {
            self.colors.push(c.clone());
        }
        self.bold += u32::from(bold);
        self.italic += u32::from(italic);
        self.strike += u32::from(strike);
        self.spans.push(SpanCtx {
            name: tag.name.clone(),
            underline,
            color,
            bold,
            italic,
            strike,
        });
    }

    fn date_mention(&mut self, tag: &HtmlTag) {
        if tag.closing {
            return;
        }
        let Some(start) = tag.attr("start").filter(|s| !s.trim().is_empty()) else {
            return;
        };
        let mut date = Map::new();
        date.insert("start".into(), json!(start.trim()));
        if let Some(end) = tag.attr("end").filter(|s| !s.trim().is_empty()) {
            date.insert("end".into(), json!(end.trim()));
        }
        if let Some(tz) = tag.attr("time_zone").filter(|s| !s.trim().is_empty()) {
            date.insert("time_zone".into(), json!(tz.trim()));
        }
        if !tag.self_closing {
            self.skip_until = Some(tag.name.clone());
        }
        let ann = self.ann();
        self.pieces.push(Piece::Mention {
            mention: json!({"type": "date", "date": Value::Object(date)}),
            ann,
        });
    }

    /// `<mention-user url="…"/>`, `<mention-page url="…">Title</mention-page>`, ...
    fn tag_mention(&mut self, tag: &HtmlTag, line: usize) -> Result<(), MarkdownError> {
        if tag.closing {
            return Ok(());
        }
        let url = tag.attr("url").unwrap_or("");
        let kind = tag.name.trim_start_matches("mention-").replace('-', "_");
        let id = tags::id_in_url(url);
        let mention = match (kind.as_str(), id) {
            ("user" | "page" | "database" | "data_source", Some(id)) => {
                json!({"type": kind, kind.clone(): {"id": id}})
            }
            _ => {
                // Not a mention we can create: keep the URL as a plain link.
                if !tag.self_closing {
                    self.skip_until = Some(tag.name.clone());
                }
                if !url.is_empty() {
                    if url.chars().count() > MAX_URL {
                        return Err(MarkdownError::UrlTooLong { line });
                    }
                    let ann = self.ann();
                    self.pieces.push(Piece::Text {
                        content: url.to_owned(),
                        ann,
                        link: Some(url.to_owned()),
                    });
                }
                return Ok(());
            }
        };
        if !tag.self_closing {
            self.skip_until = Some(tag.name.clone());
        }
        let ann = self.ann();
        self.pieces.push(Piece::Mention { mention, ann });
        Ok(())
    }
}

/// The mention a link target stands for: `user://<id>`, `collection://<id>`, or exactly
/// `https://www.notion.so/<32 hex>` (what the renderer writes for page and database mentions;
/// read back as page mentions). Other Notion URLs stay ordinary links.
fn mention_for_url(url: &str) -> Option<Value> {
    let url = url.trim();
    if let Some(id) = url.strip_prefix("user://") {
        let id = tags::canonical_id(id)?;
        return Some(json!({"type": "user", "user": {"id": id}}));
    }
    if let Some(id) = url.strip_prefix("collection://") {
        let id = tags::canonical_id(id)?;
        return Some(json!({"type": "data_source", "data_source": {"id": id}}));
    }
    let rest = url
        .strip_prefix("https://www.notion.so/")
        .or_else(|| url.strip_prefix("https://notion.so/"))?;
    if rest.len() == 32 && rest.bytes().all(|b| b.is_ascii_hexdigit()) {
        let id = tags::canonical_id(rest)?;
        return Some(json!({"type": "page", "page": {"id": id}}));
    }
    None
}

/// Merges adjacent runs with the same style, then builds JSON items (text split at 2,000).
fn finish(pieces: Vec<Piece>, line: usize) -> Result<Vec<Value>, MarkdownError> {
    let mut merged: Vec<Piece> = Vec::with_capacity(pieces.len());
    for p in pieces {
        if let (
            Some(Piece::Text { content, ann, link }),
            Piece::Text {
                content: c2,
                ann: a2,
                link: l2,
            },
        ) = (merged.last_mut(), &p)
            && ann == a2
            && link == l2
        {
            content.push_str(c2);
            continue;
        }
        merged.push(p);
    }
    let mut out = Vec::with_capacity(merged.len());
    for p in merged {
        match p {
            Piece::Text { content, ann, link } => {
                if link.as_deref().is_some_and(|u| u.chars().count() > MAX_URL) {
                    return Err(MarkdownError::UrlTooLong { line });
                }
                for chunk in split_text(&content) {
                    let mut text = Map::new();
                    text.insert("content".into(), Value::String(chunk));
                    if let Some(u) = link.as_deref().filter(|u| !u.is_empty()) {
                        text.insert("link".into(), json!({ "url": u }));
                    }
                    out.push(item("text", Value::Object(text), &ann));
                }
            }
            Piece::Equation { expression, ann } => {
                out.push(item("equation", json!({ "expression": expression }), &ann))
            }
            Piece::Mention { mention, ann } => out.push(item("mention", mention, &ann)),
        }
    }
    Ok(out)
}

fn item(kind: &str, payload: Value, ann: &Ann) -> Value {
    let mut m = Map::new();
    m.insert("type".into(), json!(kind));
    m.insert(kind.into(), payload);
    if let Some(a) = ann.to_json() {
        m.insert("annotations".into(), a);
    }
    Value::Object(m)
}
