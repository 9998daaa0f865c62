//! Request-shaped helpers of the block-by-block copy: how many blocks fit one append (≤ 100, ≤ 1,000
//! elements, ≤ 450 KB), how many blocks a request block holds, and small readers of fetched nodes.

use std::collections::HashSet;

use notion_model::types::BlockNode;
use serde_json::Value;

/// First-level blocks in one append.
pub const MAX_PER_REQUEST: usize = 100;
const MAX_ELEMENTS: usize = 1000;
const MAX_BYTES: usize = 450 * 1024;

/// How many of `items` fit one request.
pub fn batch_len<'v>(items: impl Iterator<Item = &'v Value>) -> usize {
    let (mut n, mut elems, mut bytes) = (0, 0, 0);
    for v in items {
        let e = elements(v);
        let b = v.to_string().len();
        if n > 0 && (n == MAX_PER_REQUEST || elems + e > MAX_ELEMENTS || bytes + b > MAX_BYTES) {
            break;
        }
        n += 1;
        elems += e;
        bytes += b;
    }
    n.max(1)
}

/// Blocks in a request block, its nested children included.
pub fn elements(v: &Value) -> usize {
    let kind = v.get("type").and_then(Value::as_str).unwrap_or("");
    1 + v
        .get(kind)
        .and_then(|d| d.get("children"))
        .and_then(Value::as_array)
        .map_or(0, |kids| kids.iter().map(elements).sum())
}

pub fn names_failed(v: &Value, failed: &HashSet<String>) -> bool {
    match v {
        Value::String(s) => failed.contains(s),
        Value::Object(m) => m.values().any(|x| names_failed(x, failed)),
        Value::Array(a) => a.iter().any(|x| names_failed(x, failed)),
        _ => false,
    }
}

pub fn kind_of(n: &BlockNode) -> &str {
    n.block.as_ref().map_or("", |b| b.kind.as_str())
}

pub fn id_of(n: &BlockNode) -> &str {
    n.block.as_ref().map_or("", |b| b.id.as_str())
}

pub fn is_reference(n: &BlockNode) -> bool {
    n.block
        .as_ref()
        .and_then(|b| b.data())
        .and_then(|d| d.get("synced_from"))
        .is_some_and(|f| !f.is_null())
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;
    use serde_json::json;

    #[test]
    fn batches_respect_the_request_limits() {
        let leaf = json!({"type": "paragraph", "paragraph": {"rich_text": []}});
        let many = vec![leaf.clone(); 250];
        assert_eq!(batch_len(many.iter()), 100);
        let table = json!({"type": "table", "table": {"children": vec![json!({"type": "table_row", "table_row": {"cells": []}}); 99]}});
        assert_eq!(elements(&table), 100);
        let tables = vec![table; 20];
        assert_eq!(batch_len(tables.iter()), 10, "1,000 elements at most");
        let mut failed = HashSet::new();
        failed.insert("pending-upload-0".to_string());
        assert!(names_failed(
            &json!({"a": [{"id": "pending-upload-0"}]}),
            &failed
        ));
        assert!(!names_failed(&leaf, &failed));
    }
}
