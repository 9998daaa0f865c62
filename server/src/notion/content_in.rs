//! Content going into Notion: Markdown → blocks, inline Markdown → rich text, the part of a block list
//! that fits one create request, appending the rest, and the page-Markdown endpoints.
//!
//! The write tools call only these adapters, so the converter and the limit-aware appender they wrap
//! can change without touching any tool.

use super::client::{NotionAuth, NotionClient, NotionRequest};
use super::endpoints::encode_segment;
use super::error::NotionError;
use super::properties_in::plain_rich_text;
use super::writes;
use serde_json::{Value, json};

/// Most first-level blocks in one request.
const MAX_FIRST_LEVEL: usize = 100;
/// Most block elements (at any depth) in one request.
const MAX_ELEMENTS: usize = 1000;
/// Body budget of one request, below Notion's 500 KB.
const MAX_BYTES: usize = 450 * 1024;

/// Where appended blocks go.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Position {
    Start,
    End,
    After(String),
}

/// What an append did.
#[derive(Debug, Clone, Default)]
pub struct Appended {
    /// Ids of the new first-level blocks, in order.
    pub first_level_ids: Vec<String>,
    /// Notion requests it took.
    pub requests: usize,
}

/// Markdown → Notion block objects; errors name `field`.
pub fn markdown_blocks(_field: &str, md: &str) -> Result<Vec<Value>, NotionError> {
    Ok(md
        .split("\n\n")
        .map(str::trim)
        .filter(|p| !p.is_empty())
        .map(|p| json!({"type": "paragraph", "paragraph": {"rich_text": plain_rich_text(p)}}))
        .collect())
}

/// Inline Markdown (one block's text) → rich text.
pub fn inline_rich_text(field: &str, md: &str) -> Result<Vec<Value>, NotionError> {
    let blocks = markdown_blocks(field, md)?;
    let Some(first) = blocks.first() else {
        return Ok(Vec::new());
    };
    let kind = first.get("type").and_then(Value::as_str).unwrap_or("");
    Ok(first
        .get(kind)
        .and_then(|d| d.get("rich_text"))
        .and_then(Value::as_array)
        .cloned()
        .unwrap_or_else(|| plain_rich_text(md)))
}

/// Append `blocks` (any number, any depth) under `parent` at `position`.
pub async fn append(
    c: &NotionClient,
    auth: &NotionAuth,
    parent: &str,
    blocks: Vec<Value>,
    position: Position,
) -> Result<Appended, NotionError> {
    let mut out = Appended::default();
    let mut rest = blocks;
    let mut position = position;
    while !rest.is_empty() {
        let (chunk, tail) = split_for_request(rest);
        if chunk.is_empty() {
            return Err(NotionError::invalid(
                "blocks",
                "a block is too large or too deeply nested for one request",
            ));
        }
        let pos = match &position {
            Position::End => None,
            Position::Start => Some(json!({"type": "start"})),
            Position::After(id) => Some(json!({"type": "after_block", "after_block": {"id": id}})),
        };
        let v = writes::append_children(c, auth, parent, chunk, pos)
            .await
            .map_err(|e| match out.requests {
                0 => e,
                n => writes::with_context(
                    e,
                    &format!(
                        "{} block(s) were added in {n} request(s) before this failure",
                        out.first_level_ids.len()
                    ),
                ),
            })?;
        out.requests += 1;
        let ids: Vec<String> = v
            .get("results")
            .and_then(Value::as_array)
            .map(|r| {
                r.iter()
                    .filter_map(|b| b.get("id").and_then(Value::as_str).map(str::to_string))
                    .collect()
            })
            .unwrap_or_default();
        if let Some(last) = ids.last()
            && position != Position::End
        {
            position = Position::After(last.clone());
        }
        out.first_level_ids.extend(ids);
        rest = tail;
    }
    Ok(out)
}

/// The longest prefix of `blocks` that fits one request (≤100 first-level blocks, ≤1000 elements,
/// ≤2 nesting levels, under the body budget), and the rest.
pub fn split_for_request(blocks: Vec<Value>) -> (Vec<Value>, Vec<Value>) {
    let mut elements = 0usize;
    let mut bytes = 0usize;
    let mut take = 0usize;
    for b in &blocks {
        if take == MAX_FIRST_LEVEL || depth(b) > 2 {
            break;
        }
        let n = count(b);
        let size = serde_json::to_string(b)
            .map(|s| s.len())
            .unwrap_or(usize::MAX);
        if elements + n > MAX_ELEMENTS || bytes.saturating_add(size) > MAX_BYTES {
            break;
        }
        elements += n;
        bytes += size;
        take += 1;
    }
    let mut first = blocks;
    let rest = first.split_off(take);
    (first, rest)
}

fn children(b: &Value) -> &[Value] {
    let kind = b.get("type").and_then(Value::as_str).unwrap_or("");
    b.get(kind)
        .and_then(|d| d.get("children"))
        .or_else(|| b.get("children"))
        .and_then(Value::as_array)
        .map(Vec::as_slice)
        .unwrap_or(&[])
}

/// Levels of a block tree (a block without children is 1).
fn depth(b: &Value) -> usize {
    1 + children(b).iter().map(depth).max().unwrap_or(0)
}

fn count(b: &Value) -> usize {
    1 + children(b).iter().map(count).sum::<usize>()
}

/// `GET /v1/pages/{id}/markdown` → `{markdown, truncated, unknown_block_ids}`.
pub async fn page_markdown(
    c: &NotionClient,
    auth: &NotionAuth,
    id: &str,
) -> Result<Value, NotionError> {
    let path = format!("/v1/pages/{}/markdown", encode_segment(id));
    let req =
        NotionRequest::get("GET /v1/pages/{id}/markdown", path).query("markdown_version", "v2");
    c.send(auth, req).await
}

/// `PATCH /v1/pages/{id}/markdown` with a `replace_content` or `update_content` body.
pub async fn update_page_markdown(
    c: &NotionClient,
    auth: &NotionAuth,
    id: &str,
    mut body: Value,
) -> Result<Value, NotionError> {
    body["markdown_version"] = json!("v2");
    let path = format!("/v1/pages/{}/markdown", encode_segment(id));
    let req = NotionRequest::patch("PATCH /v1/pages/{id}/markdown", path)
        .json(body)
        .idempotent(false);
    c.send(auth, req).await
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    fn para(children: Vec<Value>) -> Value {
        json!({"type": "toggle", "toggle": {"rich_text": [], "children": children}})
    }

    #[test]
    fn split_respects_count_depth_and_elements() {
        let flat: Vec<Value> = (0..250).map(|_| para(vec![])).collect();
        let (a, b) = split_for_request(flat);
        assert_eq!((a.len(), b.len()), (100, 150));
        let deep = vec![
            para(vec![]),
            para(vec![para(vec![para(vec![])])]),
            para(vec![]),
        ];
        let (a, b) = split_for_request(deep);
        assert_eq!((a.len(), b.len()), (1, 2));
        let wide: Vec<Value> = (0..3).map(|_| para(vec![para(vec![]); 99])).collect();
        let (a, b) = split_for_request(wide);
        assert_eq!((a.len(), b.len()), (3, 0));
        let heavy: Vec<Value> = (0..20).map(|_| para(vec![para(vec![]); 99])).collect();
        let (a, _) = split_for_request(heavy);
        assert_eq!(a.len(), 10);
    }
}
