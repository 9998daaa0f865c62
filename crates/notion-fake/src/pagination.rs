//! Cursor pagination shared by every list endpoint: `start_cursor`/`page_size` parsing
//! (query string or JSON body), opaque cursors and the `{object:"list",...}` body.

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use serde_json::{Map, Value, json};

use crate::errors::{ApiError, ApiResult};
use crate::richtext::short;

/// A requested page of results.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct PageRequest {
    pub offset: usize,
    pub size: usize,
}

pub fn encode_cursor(offset: usize) -> String {
    URL_SAFE_NO_PAD.encode(format!("nfc:{offset}"))
}

fn decode_cursor(raw: &str) -> Option<usize> {
    let bytes = URL_SAFE_NO_PAD.decode(raw.trim()).ok()?;
    let text = String::from_utf8(bytes).ok()?;
    text.strip_prefix("nfc:")?.parse().ok()
}

/// Reads pagination from a JSON body (`where_` = "body") or query values (`where_` = "query").
pub fn parse(
    cursor: Option<&Value>,
    page_size: Option<&Value>,
    where_: &str,
    max: usize,
) -> ApiResult<PageRequest> {
    let offset = match cursor {
        None | Some(Value::Null) => 0,
        Some(Value::String(s)) if s.is_empty() => 0,
        Some(Value::String(s)) => decode_cursor(s).ok_or_else(|| {
            ApiError::validation(format!(
                "{where_}.start_cursor should be a valid cursor, instead was `{}`.",
                short(&json!(s))
            ))
        })?,
        Some(other) => {
            return Err(ApiError::validation(format!(
                "{where_} failed validation: {where_}.start_cursor should be a string, instead was `{}`.",
                short(other)
            )));
        }
    };
    let size = match page_size {
        None | Some(Value::Null) => max,
        Some(v) => {
            let n = v
                .as_i64()
                .or_else(|| v.as_str().and_then(|s| s.trim().parse::<i64>().ok()))
                .ok_or_else(|| {
                    ApiError::validation(format!(
                        "{where_} failed validation: {where_}.page_size should be a number, instead was `{}`.",
                        short(v)
                    ))
                })?;
            if n < 1 {
                return Err(ApiError::validation(format!(
                    "{where_} failed validation: {where_}.page_size should be ≥ `1`, instead was `{n}`."
                )));
            }
            if n as usize > max {
                return Err(ApiError::validation(format!(
                    "{where_} failed validation: {where_}.page_size should be ≤ `{max}`, instead was `{n}`."
                )));
            }
            n as usize
        }
    };
    Ok(PageRequest { offset, size })
}

/// One page of `items`: (the slice, next cursor, has_more).
pub fn slice<T: Clone>(items: &[T], req: PageRequest) -> (Vec<T>, Option<String>, bool) {
    let start = req.offset.min(items.len());
    let end = start.saturating_add(req.size).min(items.len());
    let has_more = end < items.len();
    let next = has_more.then(|| encode_cursor(end));
    (items[start..end].to_vec(), next, has_more)
}

/// The list body: `{object:"list", results, next_cursor, has_more, type, <type>:{}}`.
pub fn list_body(
    kind: &str,
    results: Vec<Value>,
    next_cursor: Option<String>,
    has_more: bool,
) -> Value {
    let mut m = Map::new();
    m.insert("object".into(), json!("list"));
    m.insert("results".into(), Value::Array(results));
    m.insert("next_cursor".into(), json!(next_cursor));
    m.insert("has_more".into(), json!(has_more));
    m.insert("type".into(), json!(kind));
    m.insert(kind.into(), json!({}));
    Value::Object(m)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cursors_round_trip() {
        let req = parse(
            Some(&json!(encode_cursor(200))),
            Some(&json!(50)),
            "body",
            100,
        )
        .expect("ok");
        assert_eq!(
            req,
            PageRequest {
                offset: 200,
                size: 50
            }
        );
        assert!(parse(None, Some(&json!(101)), "body", 100).is_err());
        assert!(parse(None, Some(&json!(0)), "body", 100).is_err());
        assert!(parse(Some(&json!("garbage")), None, "body", 100).is_err());
        let items: Vec<u32> = (0..250).collect();
        let (page, next, more) = slice(
            &items,
            PageRequest {
                offset: 200,
                size: 100,
            },
        );
        assert_eq!(page.len(), 50);
        assert!(next.is_none() && !more);
    }
}
