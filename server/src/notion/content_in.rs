//! Content going into Notion: Markdown → blocks, inline Markdown → rich text, and the part of a block
//! list that fits one create request (the rest goes through [`super::append::append_blocks`]).

use super::error::NotionError;
use notion_markdown as markdown;
use notion_model::readable::plain_rich_text;
use serde_json::Value;

/// Most first-level blocks in one request.
const MAX_FIRST_LEVEL: usize = 100;
/// Most block elements (at any depth) in one request.
const MAX_ELEMENTS: usize = 1000;
/// Body budget of one request, below Notion's 500 KB.
const MAX_BYTES: usize = 450 * 1024;

/// Markdown → Notion block objects (children nested to any depth); errors name `field`.
pub fn markdown_blocks(field: &str, md: &str) -> Result<Vec<Value>, NotionError> {
    markdown::markdown_to_blocks(md).map_err(|e| NotionError::invalid(field, e.to_string()))
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

/// The longest prefix of `blocks` that fits one request (≤100 first-level blocks, ≤1000 elements,
/// ≤2 nesting levels below them — a column list with its columns and their children — under the
/// body budget), and the rest.
pub fn split_for_request(blocks: Vec<Value>) -> (Vec<Value>, Vec<Value>) {
    let mut elements = 0usize;
    let mut bytes = 0usize;
    let mut take = 0usize;
    for b in &blocks {
        if take == MAX_FIRST_LEVEL || depth(b) > 3 {
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

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;
    use serde_json::json;

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
            para(vec![para(vec![para(vec![para(vec![])])])]),
            para(vec![]),
        ];
        let (a, b) = split_for_request(deep);
        assert_eq!((a.len(), b.len()), (1, 2));
        let two_levels_below = vec![para(vec![para(vec![para(vec![])])])];
        assert_eq!(split_for_request(two_levels_below).0.len(), 1);
        let wide: Vec<Value> = (0..3).map(|_| para(vec![para(vec![]); 99])).collect();
        let (a, b) = split_for_request(wide);
        assert_eq!((a.len(), b.len()), (3, 0));
        let heavy: Vec<Value> = (0..20).map(|_| para(vec![para(vec![]); 99])).collect();
        let (a, _) = split_for_request(heavy);
        assert_eq!(a.len(), 10);
    }
}
