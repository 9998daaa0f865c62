//! Rich-text arrays → inline Markdown: annotations, links, equations and mentions.

use serde_json::Value;

use super::{color_name, escape, notion_url};
use notion_model::types::{Annotations, RichText};

/// Renders a rich-text array as inline Markdown.
///
/// Consecutive text items with the same annotations and link are merged, whitespace at the edges of
/// an annotated run is moved outside its markers, code content is never escaped, and line breaks
/// inside the text are kept as `\n` (block renderers decide how to show them).
pub fn rich_text(items: &[RichText]) -> String {
    let mut out = String::new();
    let mut iter = items.iter().peekable();
    while let Some(item) = iter.next() {
        if item.kind == "text" {
            let link = text_link(item);
            let mut content = text_content(item).to_owned();
            while let Some(next) = iter.peek() {
                if next.kind == "text"
                    && next.annotations == item.annotations
                    && text_link(next) == link
                {
                    content.push_str(text_content(next));
                    iter.next();
                } else {
                    break;
                }
            }
            out.push_str(&styled_text(&content, &item.annotations, link));
        } else {
            out.push_str(&other_item(item));
        }
    }
    out
}

/// The text content of a `text` item (falls back to `plain_text`).
fn text_content(item: &RichText) -> &str {
    item.data()
        .and_then(|d| d.get("content"))
        .and_then(Value::as_str)
        .unwrap_or(&item.plain_text)
}

fn text_link(item: &RichText) -> Option<&str> {
    item.link()
        .or(item.href.as_deref())
        .filter(|u| !u.is_empty())
}

/// Plain text with annotations and an optional link.
fn styled_text(raw: &str, ann: &Annotations, link: Option<&str>) -> String {
    let core = raw.trim();
    if core.is_empty() {
        return raw.to_owned();
    }
    let lead = &raw[..raw.len() - raw.trim_start().len()];
    let trail = &raw[raw.trim_end().len()..];
    let inner = if ann.code {
        escape::code_span(core)
    } else {
        escape::inline(core)
    };
    let mut s = wrap(inner, ann);
    if let Some(url) = link {
        s = format!("[{s}]({})", escape::link_dest(url));
    }
    format!("{lead}{s}{trail}")
}

/// Applies strike, italic, bold, underline and colour (innermost first) to rendered inline text.
fn wrap(mut s: String, ann: &Annotations) -> String {
    if ann.strikethrough {
        s = format!("~~{s}~~");
    }
    if ann.italic {
        s = format!("*{s}*");
    }
    if ann.bold {
        s = format!("**{s}**");
    }
    let color = ann.color.as_deref().and_then(color_name);
    if ann.underline || color.is_some() {
        let mut open = String::from("<span");
        if ann.underline {
            open.push_str(" underline=\"true\"");
        }
        if let Some(c) = color {
            open.push_str(&format!(" color=\"{}\"", escape::attr(&c)));
        }
        s = format!("{open}>{s}</span>");
    }
    s
}

/// Equations, mentions and unknown item kinds.
fn other_item(item: &RichText) -> String {
    let core = match item.kind.as_str() {
        "equation" => {
            let expr = item
                .data()
                .and_then(|d| d.get("expression"))
                .and_then(Value::as_str)
                .unwrap_or(&item.plain_text);
            if expr.trim().is_empty() {
                return String::new();
            }
            format!("${}$", expr.trim())
        }
        "mention" => mention(item),
        _ => {
            let link = item.href.as_deref().filter(|u| !u.is_empty());
            return styled_text(&item.plain_text, &item.annotations, link);
        }
    };
    let plain = Annotations {
        code: false,
        ..item.annotations.clone()
    };
    wrap(core, &plain)
}

fn str_at<'a>(v: Option<&'a Value>, key: &str) -> &'a str {
    v.and_then(|v| v.get(key))
        .and_then(Value::as_str)
        .unwrap_or("")
}

/// `[label](url)` with the label escaped; the url alone when the label is empty.
fn link(label: &str, url: &str) -> String {
    let label = if label.trim().is_empty() { url } else { label };
    format!(
        "[{}]({})",
        escape::inline(label.trim()),
        escape::link_dest(url)
    )
}

fn mention(item: &RichText) -> String {
    let data = item.data();
    let kind = str_at(data, "type");
    let payload = data.and_then(|d| d.get(kind));
    let plain = item.plain_text.as_str();
    match kind {
        "user" => {
            let id = str_at(payload, "id");
            let name = match str_at(payload, "name") {
                "" => plain.trim_start_matches('@'),
                n => n,
            };
            let name = if name.trim().is_empty() { "user" } else { name };
            format!(
                "[@{}](user://{})",
                escape::inline(name.trim()),
                escape::link_dest(id)
            )
        }
        "page" | "database" => {
            let title = if plain.trim().is_empty() {
                "Untitled"
            } else {
                plain
            };
            link(title, &notion_url(str_at(payload, "id")))
        }
        "data_source" => {
            let title = if plain.trim().is_empty() {
                "Untitled"
            } else {
                plain
            };
            link(title, &format!("collection://{}", str_at(payload, "id")))
        }
        "date" => {
            let mut s = format!(
                "<mention-date start=\"{}\"",
                escape::attr(str_at(payload, "start"))
            );
            for key in ["end", "time_zone"] {
                let v = str_at(payload, key);
                if !v.is_empty() {
                    s.push_str(&format!(" {key}=\"{}\"", escape::attr(v)));
                }
            }
            s.push_str("/>");
            s
        }
        "link_preview" => link(plain, str_at(payload, "url")),
        "link_mention" => {
            let title = match str_at(payload, "title") {
                "" => plain,
                t => t,
            };
            let href = match str_at(payload, "href") {
                "" => item.href.as_deref().unwrap_or(""),
                h => h,
            };
            link(title, href)
        }
        _ => match item.href.as_deref().filter(|h| !h.is_empty()) {
            Some(href) => link(plain, href),
            None => escape::inline(plain),
        },
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use serde_json::json;

    fn rt(v: Value) -> Vec<RichText> {
        serde_json::from_value(v).unwrap()
    }

    fn text(content: &str, ann: Value) -> Value {
        json!({"type":"text","text":{"content":content,"link":null},"annotations":ann,
               "plain_text":content,"href":null})
    }

    #[test]
    fn plain_and_escaped() {
        let items = rt(json!([text("a *b* _c_ #d |e <f>", json!({}))]));
        assert_eq!(rich_text(&items), "a \\*b\\* \\_c\\_ #d |e \\<f>");
        assert_eq!(rich_text(&[]), "");
    }

    #[test]
    fn annotations_combined_with_link() {
        let items = rt(json!([{
            "type":"text","text":{"content":"x`y","link":{"url":"https://e.com/a b"}},
            "annotations":{"bold":true,"italic":true,"strikethrough":false,"underline":false,
                           "code":true,"color":"default"},
            "plain_text":"x`y","href":"https://e.com/a b"}]));
        assert_eq!(rich_text(&items), "[***``x`y``***](https://e.com/a%20b)");
    }

    #[test]
    fn underline_color_strike_and_whitespace() {
        let items = rt(json!([
            text("Hello ", json!({})),
            text(" world ", json!({"bold":true})),
            text("u", json!({"underline":true,"color":"red_background"})),
            text("s", json!({"strikethrough":true})),
        ]));
        assert_eq!(
            rich_text(&items),
            "Hello  **world** <span underline=\"true\" color=\"red_bg\">u</span>~~s~~"
        );
    }

    #[test]
    fn merges_runs_and_keeps_code_verbatim() {
        let items = rt(json!([
            text("a", json!({"bold":true})),
            text("b", json!({"bold":true})),
            text("*raw*", json!({"code":true})),
        ]));
        assert_eq!(rich_text(&items), "**ab**`*raw*`");
    }

    #[test]
    fn mentions_of_each_kind() {
        let items = rt(json!([
            {"type":"mention","mention":{"type":"user","user":{"object":"user","id":"u1","name":"Ann"}},
             "plain_text":"@Ann","href":null},
            {"type":"mention","mention":{"type":"user","user":{"object":"user","id":"u2"}},
             "plain_text":"@Bob"},
            {"type":"mention","mention":{"type":"page","page":{"id":"1234-abcd"}},
             "plain_text":"My [page]","href":"https://www.notion.so/1234abcd"},
            {"type":"mention","mention":{"type":"database","database":{"id":"d-1"}},"plain_text":"DB"},
            {"type":"mention","mention":{"type":"data_source","data_source":{"id":"ds-1"}},"plain_text":""},
            {"type":"mention","mention":{"type":"date","date":{"start":"2024-01-01","end":"2024-01-03","time_zone":null}},
             "plain_text":"2024-01-01 → 2024-01-03"},
            {"type":"mention","mention":{"type":"link_preview","link_preview":{"url":"https://x.io"}},
             "plain_text":"https://x.io"},
            {"type":"mention","mention":{"type":"link_mention","link_mention":{"href":"https://gh.io","title":"GH"}},
             "plain_text":"GH"},
            {"type":"mention","mention":{"type":"template_mention","template_mention":{"type":"template_mention_date","template_mention_date":"today"}},
             "plain_text":"@Today"},
            {"type":"mention","mention":{"type":"page","page":{"id":"p9"}},"plain_text":"Bold",
             "annotations":{"bold":true}},
        ]));
        let out = rich_text(&items);
        assert_eq!(
            out,
            "[@Ann](user://u1)[@Bob](user://u2)[My \\[page\\]](https://www.notion.so/1234abcd)\
             [DB](https://www.notion.so/d1)[Untitled](collection://ds-1)\
             <mention-date start=\"2024-01-01\" end=\"2024-01-03\"/>[https://x.io](https://x.io)\
             [GH](https://gh.io)@Today**[Bold](https://www.notion.so/p9)**"
        );
    }

    #[test]
    fn equations_and_unknown_items() {
        let items = rt(json!([
            {"type":"equation","equation":{"expression":"E = mc^2"},"plain_text":"E = mc^2"},
            {"type":"future","plain_text":"odd*","href":"https://h.io"},
            {"type":"mention","plain_text":"bare"},
            {"plain_text":"no type"},
        ]));
        assert_eq!(
            rich_text(&items),
            "$E = mc^2$[odd\\*](https://h.io)bareno type"
        );
    }

    #[test]
    fn odd_unicode_does_not_panic() {
        let items = rt(json!([text(
            " \u{200b}é🙂\u{0}\n# x ",
            json!({"bold":true})
        )]));
        let out = rich_text(&items);
        assert!(out.contains("🙂"));
    }
}
