//! Rich text: normalising request/fixture input into Notion's full item shape, validating
//! limits, plain-text extraction and a tiny inline-markdown reader for fixture shorthand.

use serde_json::{Map, Value, json};

use crate::errors::{ApiError, ApiResult};

pub const MAX_TEXT: usize = 2000;
pub const MAX_ARRAY: usize = 100;

pub fn default_annotations() -> Value {
    json!({"bold": false, "italic": false, "strikethrough": false, "underline": false, "code": false, "color": "default"})
}

/// A full `text` item.
pub fn text_item(content: &str, annotations: Option<Value>, link: Option<&str>) -> Value {
    json!({
        "type": "text",
        "text": {"content": content, "link": link.map(|u| json!({"url": u}))},
        "annotations": annotations.unwrap_or_else(default_annotations),
        "plain_text": content,
        "href": link,
    })
}

/// Plain text into items (split at 2000 chars so stored values stay valid).
pub fn from_plain(text: &str) -> Vec<Value> {
    if text.is_empty() {
        return Vec::new();
    }
    let chars: Vec<char> = text.chars().collect();
    chars
        .chunks(MAX_TEXT)
        .map(|c| text_item(&c.iter().collect::<String>(), None, None))
        .collect()
}

pub fn plain_text(items: &[Value]) -> String {
    items
        .iter()
        .filter_map(|i| i.get("plain_text").and_then(Value::as_str))
        .collect()
}

/// Reads `**bold**`, `*italic*`, `~~strike~~`, `` `code` `` and `[text](url)` into items.
pub fn from_inline_markdown(src: &str) -> Vec<Value> {
    let mut out = Vec::new();
    let mut plain = String::new();
    let mut rest = src;
    let flush = |plain: &mut String, out: &mut Vec<Value>| {
        if !plain.is_empty() {
            out.extend(from_plain(plain));
            plain.clear();
        }
    };
    while let Some(c) = rest.chars().next() {
        let styled = [
            ("**", "bold"),
            ("~~", "strikethrough"),
            ("`", "code"),
            ("*", "italic"),
        ]
        .iter()
        .find_map(|(mark, ann)| {
            let body = rest.strip_prefix(mark)?;
            let end = body.find(mark)?;
            (end > 0).then(|| (*mark, *ann, &body[..end]))
        });
        if let Some((mark, ann, inner)) = styled {
            flush(&mut plain, &mut out);
            let mut a = default_annotations();
            a[ann] = Value::Bool(true);
            out.push(text_item(inner, Some(a), None));
            rest = &rest[mark.len() * 2 + inner.len()..];
            continue;
        }
        if c == '['
            && let Some((text, url, used)) = parse_link(rest)
        {
            flush(&mut plain, &mut out);
            out.push(text_item(text, None, Some(url)));
            rest = &rest[used..];
            continue;
        }
        plain.push(c);
        rest = &rest[c.len_utf8()..];
    }
    flush(&mut plain, &mut out);
    out
}

fn parse_link(s: &str) -> Option<(&str, &str, usize)> {
    let close = s.find("](")?;
    let text = &s[1..close];
    let after = &s[close + 2..];
    let end = after.find(')')?;
    Some((text, &after[..end], close + 2 + end + 1))
}

/// Fixture rich text: a string (inline markdown) or an array of (possibly partial) items.
pub fn from_fixture(value: &Value) -> ApiResult<Vec<Value>> {
    match value {
        Value::Null => Ok(Vec::new()),
        Value::String(s) => Ok(from_inline_markdown(s)),
        Value::Array(items) => {
            let items: Vec<Value> = items
                .iter()
                .map(|i| match i {
                    Value::String(s) => text_item(s, None, None),
                    other => other.clone(),
                })
                .collect();
            Ok(normalize_stored(&Value::Array(items), "rich_text")?
                .into_iter()
                .map(resolve_fixture_mention)
                .collect())
        }
        other => Ok(from_plain(&scalar_text(other))),
    }
}

/// Fixture mentions may name their target (`{user: {id: alice}}`): map names to ids.
fn resolve_fixture_mention(mut item: Value) -> Value {
    let kind = item
        .pointer("/mention/type")
        .and_then(Value::as_str)
        .map(str::to_string);
    if let Some(kind) = kind
        && let Some(id) = item["mention"][&kind]["id"]
            .as_str()
            .map(crate::ids::fixture_id)
    {
        item["mention"][&kind]["id"] = Value::String(crate::ids::fmt_id(&id));
    }
    item
}

fn scalar_text(v: &Value) -> String {
    match v {
        Value::String(s) => s.clone(),
        other => other.to_string(),
    }
}

/// Normalises an API rich-text array, checking Notion's limits; `path` names it in messages.
pub fn normalize(value: &Value, path: &str) -> ApiResult<Vec<Value>> {
    if let Some(items) = value.as_array() {
        check_count(path, items)?;
    }
    normalize_stored(value, path)
}

/// Notion's limit on any array in a request (blocks, rich text, options, references).
pub fn check_count(path: &str, items: &[Value]) -> ApiResult<()> {
    if items.len() > MAX_ARRAY {
        return Err(ApiError::body_validation(format!(
            "{path}.length should be ≤ `{MAX_ARRAY}`, instead was `{}`.",
            items.len()
        )));
    }
    Ok(())
}

/// Like [`normalize`] but without the array-length limit (stored values may exceed it).
pub fn normalize_stored(value: &Value, path: &str) -> ApiResult<Vec<Value>> {
    let items = value
        .as_array()
        .ok_or_else(|| ApiError::should_be(path, "an array", value))?;
    items
        .iter()
        .enumerate()
        .map(|(i, item)| normalize_item(item, &format!("{path}[{i}]")))
        .collect()
}

fn annotations_of(item: &Value) -> Value {
    let mut a = default_annotations();
    if let (Some(given), Some(map)) = (
        item.get("annotations").and_then(Value::as_object),
        a.as_object_mut(),
    ) {
        for (k, v) in given {
            if map.contains_key(k) {
                map.insert(k.clone(), v.clone());
            }
        }
    }
    a
}

fn normalize_item(item: &Value, path: &str) -> ApiResult<Value> {
    let obj = item
        .as_object()
        .ok_or_else(|| ApiError::should_be(path, "an object", item))?;
    let kind = obj
        .get("type")
        .and_then(Value::as_str)
        .or_else(|| {
            ["text", "mention", "equation"]
                .into_iter()
                .find(|k| obj.contains_key(*k))
        })
        .unwrap_or("");
    match kind {
        "text" => {
            let text = obj.get("text").and_then(Value::as_object).ok_or_else(|| {
                ApiError::body_validation(format!(
                    "{path}.text should be defined, instead was `undefined`."
                ))
            })?;
            let content = text.get("content").and_then(Value::as_str).ok_or_else(|| {
                ApiError::body_validation(format!(
                    "{path}.text.content should be a string, instead was `{}`.",
                    text.get("content")
                        .map(short)
                        .unwrap_or_else(|| "undefined".into())
                ))
            })?;
            check_len(content, MAX_TEXT, &format!("{path}.text.content"))?;
            let url = text
                .get("link")
                .and_then(|l| l.get("url"))
                .and_then(Value::as_str);
            if let Some(url) = url {
                check_len(url, MAX_TEXT, &format!("{path}.text.link.url"))?;
            }
            Ok(text_item(content, Some(annotations_of(item)), url))
        }
        "mention" => {
            let mention = obj
                .get("mention")
                .and_then(Value::as_object)
                .ok_or_else(|| {
                    ApiError::body_validation(format!(
                        "{path}.mention should be defined, instead was `undefined`."
                    ))
                })?;
            let mkind = mention
                .get("type")
                .and_then(Value::as_str)
                .or_else(|| {
                    [
                        "user",
                        "page",
                        "database",
                        "data_source",
                        "date",
                        "link_preview",
                    ]
                    .into_iter()
                    .find(|k| mention.contains_key(*k))
                })
                .unwrap_or("");
            let inner = mention.get(mkind).cloned().unwrap_or(Value::Null);
            let mut m = Map::new();
            m.insert("type".into(), json!(mkind));
            let inner = match mkind {
                "user" => {
                    json!({"object": "user", "id": inner.get("id").cloned().unwrap_or(Value::Null)})
                }
                _ => inner,
            };
            m.insert(mkind.into(), inner);
            let plain = obj.get("plain_text").and_then(Value::as_str).unwrap_or("");
            Ok(json!({
                "type": "mention",
                "mention": m,
                "annotations": annotations_of(item),
                "plain_text": plain,
                "href": obj.get("href").cloned().unwrap_or(Value::Null),
            }))
        }
        "equation" => {
            let expr = obj
                .get("equation")
                .and_then(|e| e.get("expression"))
                .and_then(Value::as_str)
                .unwrap_or("");
            check_len(expr, 1000, &format!("{path}.equation.expression"))?;
            Ok(json!({
                "type": "equation",
                "equation": {"expression": expr},
                "annotations": annotations_of(item),
                "plain_text": expr,
                "href": null,
            }))
        }
        _ => Err(ApiError::body_validation(format!(
            "{path}.text should be defined, instead was `undefined`."
        ))),
    }
}

/// A string of at most `max` characters.
pub fn check_len(s: &str, max: usize, path: &str) -> ApiResult<()> {
    let len = s.chars().count();
    if len > max {
        return Err(ApiError::body_validation(format!(
            "{path}.length should be ≤ `{max}`, instead was `{len}`."
        )));
    }
    Ok(())
}

/// A short rendering of a JSON value for messages.
pub fn short(v: &Value) -> String {
    let s = v.to_string();
    if s.chars().count() > 60 {
        format!("{}…", s.chars().take(60).collect::<String>())
    } else {
        s
    }
}

/// Whether an item is a page/user/database mention (counts toward the 25-reference cap).
pub fn is_reference_mention(item: &Value) -> bool {
    item.get("type").and_then(Value::as_str) == Some("mention")
        && matches!(
            item.pointer("/mention/type").and_then(Value::as_str),
            Some("user" | "page" | "database" | "data_source")
        )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn inline_markdown() {
        let items = from_inline_markdown("Hello **bold** and [link](https://x.y) `c`");
        assert_eq!(plain_text(&items), "Hello bold and link c");
        assert_eq!(items[1]["annotations"]["bold"], json!(true));
        assert_eq!(items[3]["href"], json!("https://x.y"));
        assert_eq!(items[5]["annotations"]["code"], json!(true));
    }

    #[test]
    fn rejects_long_text() {
        let long = "a".repeat(2001);
        let err = normalize(&json!([{"text": {"content": long}}]), "body.x.rich_text")
            .expect_err("too long");
        assert!(
            err.message
                .contains("rich_text[0].text.content.length should be ≤ `2000`")
        );
    }
}
