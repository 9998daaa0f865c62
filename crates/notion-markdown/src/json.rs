//! Block JSON as it travels in requests and answers (children nested in `children` or
//! `<type>.children`, rich text possibly without `plain_text`) to Markdown and back: what Notion's
//! markdown endpoints do, and what the fuzzers and round-trip tests drive the renderer with.

use serde_json::Value;

use crate::{RenderOptions, blocks, markdown_to_blocks};
use notion_model::types::{Block, BlockNode};

/// Nesting followed at most when converting JSON to render nodes.
const MAX_JSON_DEPTH: usize = 256;

/// Block trees rendered as Markdown, whole (no anchors, no size bound), as Notion's
/// `GET /v1/pages/{id}/markdown` answers.
pub fn json_to_markdown(blocks_json: &[Value]) -> String {
    let opts = RenderOptions {
        include_block_ids: false,
        max_chars: 0,
    };
    blocks(&nodes_from_json(blocks_json), &opts).markdown
}

/// Markdown parsed into block trees (children in `<type>.children`), with the parser's error as text.
pub fn markdown_to_json(md: &str) -> Result<Vec<Value>, String> {
    markdown_to_blocks(md).map_err(|e| e.to_string())
}

/// Block JSON trees (children in `children` or `<type>.children`) as render nodes. Rich-text
/// items without `plain_text` (as in requests) get it from their content or expression.
pub fn nodes_from_json(blocks_json: &[Value]) -> Vec<BlockNode> {
    convert(blocks_json, 0)
}

fn convert(items: &[Value], depth: usize) -> Vec<BlockNode> {
    items
        .iter()
        .filter_map(|v| {
            let mut v = v.clone();
            let kind = v.get("type").and_then(Value::as_str)?.to_owned();
            let kids = v
                .get_mut(&kind)
                .and_then(Value::as_object_mut)
                .and_then(|d| d.remove("children"))
                .or_else(|| v.as_object_mut().and_then(|o| o.remove("children")));
            if let Some(data) = v.get_mut(&kind) {
                fill_plain_text(data);
            }
            let block: Block = serde_json::from_value(v).ok()?;
            let children = match kids {
                Some(Value::Array(k)) if depth < MAX_JSON_DEPTH => convert(&k, depth + 1),
                _ => Vec::new(),
            };
            Some(BlockNode {
                block: Some(block),
                children,
                children_omitted: false,
            })
        })
        .collect()
}

fn fill_items(items: &mut Value) {
    let Some(items) = items.as_array_mut() else {
        return;
    };
    for item in items {
        if item.get("plain_text").is_some() {
            continue;
        }
        let text = match item.get("type").and_then(Value::as_str) {
            Some("text") => item.pointer("/text/content"),
            Some("equation") => item.pointer("/equation/expression"),
            _ => None,
        }
        .and_then(Value::as_str)
        .unwrap_or("")
        .to_owned();
        if let Some(o) = item.as_object_mut() {
            o.insert("plain_text".into(), Value::String(text));
        }
    }
}

fn fill_plain_text(data: &mut Value) {
    for key in ["rich_text", "caption"] {
        if let Some(items) = data.get_mut(key) {
            fill_items(items);
        }
    }
    if let Some(Value::Array(cells)) = data.get_mut("cells") {
        cells.iter_mut().for_each(fill_items);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn renders_request_shaped_blocks() {
        let blocks = vec![
            json!({"type": "code", "code": {"language": "rust",
            "rich_text": [{"type": "text", "text": {"content": "fn main() {}"}}]}}),
            json!({"type": "toggle", "toggle": {"rich_text": [{"type": "text", "text": {"content": "T"}}],
            "children": [{"type": "paragraph", "paragraph": {"rich_text": [{"type": "text", "text": {"content": "in"}}]}}]}}),
        ];
        let md = json_to_markdown(&blocks);
        assert_eq!(
            md,
            "```rust\nfn main() {}\n```\n\n<details>\n<summary>T</summary>\n\tin\n</details>\n"
        );
        let back = markdown_to_json(&md).expect("parses");
        assert_eq!(json_to_markdown(&back), md);
    }
}
