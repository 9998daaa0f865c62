//! Drops noise from Notion JSON before it is shown to an LLM, keeping every id, url, property name,
//! type and timestamp.
//!
//! [`slim()`] works recursively on any JSON and removes exactly:
//! - every field whose value is `null` (this covers `href: null`, `public_url: null`, `icon: null`, `cover: null`);
//! - every `request_id`;
//! - `object` anywhere but the top level, except on the items of a `results` array whose items
//!   are of different kinds (search results mixing pages and data sources keep it);
//! - `created_by` / `last_edited_by` when they hold nothing but `object` and `id`;
//! - `annotations` whose flags are all false and whose colour is `default` (or absent);
//! - `plain_text` when it equals the sibling `text.content`;
//! - `color: "default"`;
//! - `in_trash`, `archived`, `is_archived`, `is_locked` when false;
//! - `id` of select / multi-select / status options (objects with a `name` and no `type` inside a
//!   `select`, `status`, `multi_select` or `options` field); names identify options in writes.
//!
//! A field is never dropped when it is the type-keyed payload of its object (the `created_by`
//! value of a `created_by` property stays, for instance).

use serde_json::{Map, Value};

/// A copy of `value` without the noise listed in the module docs.
pub fn slim(value: &Value) -> Value {
    slim_at(value, true, None, false)
}

/// `key` is the field holding `value` (for array items, the field holding the array);
/// `keep_object` keeps this object's `object` field.
fn slim_at(value: &Value, top: bool, key: Option<&str>, keep_object: bool) -> Value {
    match value {
        Value::Object(map) => Value::Object(slim_object(map, top, key, keep_object)),
        Value::Array(items) => {
            let mixed = key == Some("results") && has_mixed_objects(items);
            Value::Array(
                items
                    .iter()
                    .map(|item| slim_at(item, false, key, mixed))
                    .collect(),
            )
        }
        other => other.clone(),
    }
}

fn slim_object(
    map: &Map<String, Value>,
    top: bool,
    key: Option<&str>,
    keep_object: bool,
) -> Map<String, Value> {
    let payload = map.get("type").and_then(Value::as_str);
    let option = is_select_option(map, key);
    let mut out = Map::new();
    for (k, v) in map {
        if v.is_null() || k == "request_id" {
            continue;
        }
        if payload != Some(k.as_str()) && is_noise(k, v, top || keep_object, option) {
            continue;
        }
        let slimmed = slim_at(v, false, Some(k), false);
        if k == "annotations" && is_default_annotations(&slimmed) {
            continue;
        }
        out.insert(k.clone(), slimmed);
    }
    let content = out
        .get("text")
        .and_then(|t| t.get("content"))
        .and_then(Value::as_str);
    if content.is_some() && out.get("plain_text").and_then(Value::as_str) == content {
        out.remove("plain_text");
    }
    out
}

/// Fields dropped by name and value (before recursing).
fn is_noise(k: &str, v: &Value, keep_object: bool, select_option: bool) -> bool {
    match k {
        "object" => !keep_object,
        "color" => v.as_str() == Some("default"),
        "in_trash" | "archived" | "is_archived" | "is_locked" => v.as_bool() == Some(false),
        "created_by" | "last_edited_by" => is_bare_user(v),
        "id" => select_option,
        _ => false,
    }
}

fn is_bare_user(v: &Value) -> bool {
    v.as_object()
        .is_some_and(|m| m.keys().all(|k| k == "object" || k == "id"))
}

fn is_select_option(map: &Map<String, Value>, key: Option<&str>) -> bool {
    matches!(key, Some("select" | "status" | "multi_select" | "options"))
        && map.contains_key("name")
        && map.contains_key("id")
        && !map.contains_key("type")
}

fn is_default_annotations(v: &Value) -> bool {
    v.as_object().is_some_and(|m| {
        m.iter().all(|(k, v)| match k.as_str() {
            "color" => v.as_str() == Some("default"),
            _ => v.as_bool() == Some(false),
        })
    })
}

fn has_mixed_objects(items: &[Value]) -> bool {
    let mut kinds = items
        .iter()
        .filter_map(|i| i.get("object").and_then(Value::as_str));
    match kinds.next() {
        Some(first) => kinds.any(|k| k != first),
        None => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn slims_a_page() {
        let page = json!({
            "object":"page","id":"p1","request_id":"r",
            "created_time":"2024-01-01T00:00:00.000Z",
            "created_by":{"object":"user","id":"u1"},
            "last_edited_by":{"object":"user","id":"u2","name":"Ann"},
            "cover":null,"icon":null,"public_url":null,
            "in_trash":false,"archived":false,"is_archived":false,"is_locked":true,
            "url":"https://www.notion.so/p1",
            "parent":{"type":"data_source_id","data_source_id":"ds","database_id":"db"},
            "properties":{
                "Name":{"id":"title","type":"title","title":[{"type":"text",
                    "text":{"content":"Hi","link":null},
                    "annotations":{"bold":false,"italic":false,"strikethrough":false,
                        "underline":false,"code":false,"color":"default"},
                    "plain_text":"Hi","href":null}]},
                "Bold":{"id":"b","type":"rich_text","rich_text":[{"type":"text",
                    "text":{"content":"B"},"annotations":{"bold":true,"color":"default"},
                    "plain_text":"B"}]},
                "Tag":{"id":"t","type":"select","select":{"id":"o1","name":"x","color":"red"}},
                "Tags":{"id":"m","type":"multi_select","multi_select":[{"id":"o2","name":"y","color":"default"}]},
                "By":{"id":"c","type":"created_by","created_by":{"object":"user","id":"u1"}}
            }
        });
        assert_eq!(
            slim(&page),
            json!({
                "object":"page","id":"p1","created_time":"2024-01-01T00:00:00.000Z",
                "last_edited_by":{"id":"u2","name":"Ann"},
                "is_locked":true,"url":"https://www.notion.so/p1",
                "parent":{"type":"data_source_id","data_source_id":"ds","database_id":"db"},
                "properties":{
                    "Name":{"id":"title","type":"title","title":[{"type":"text","text":{"content":"Hi"}}]},
                    "Bold":{"id":"b","type":"rich_text","rich_text":[{"type":"text",
                        "text":{"content":"B"},"annotations":{"bold":true}}]},
                    "Tag":{"id":"t","type":"select","select":{"name":"x","color":"red"}},
                    "Tags":{"id":"m","type":"multi_select","multi_select":[{"name":"y"}]},
                    "By":{"id":"c","type":"created_by","created_by":{"id":"u1"}}
                }
            })
        );
    }

    #[test]
    fn schema_options_lose_ids_and_blocks_lose_object() {
        let list = json!({"object":"list","results":[
            {"object":"block","id":"b1","type":"paragraph","paragraph":{"rich_text":[],"color":"default"}},
            {"object":"block","id":"b2","type":"divider","divider":{}}],
            "next_cursor":null,"has_more":false,"type":"block","block":{},"request_id":"x"});
        assert_eq!(
            slim(&list),
            json!({"object":"list","results":[
                {"id":"b1","type":"paragraph","paragraph":{"rich_text":[]}},
                {"id":"b2","type":"divider","divider":{}}],
                "has_more":false,"type":"block","block":{}})
        );
        let schema = json!({"Status":{"id":"s","name":"Status","type":"status","status":{
            "options":[{"id":"1","name":"Done","color":"green"}],
            "groups":[{"id":"g","name":"Complete","color":"green","option_ids":["1"]}]}}});
        assert_eq!(
            slim(&schema),
            json!({"Status":{"id":"s","name":"Status","type":"status","status":{
                "options":[{"name":"Done","color":"green"}],
                "groups":[{"id":"g","name":"Complete","color":"green","option_ids":["1"]}]}}})
        );
    }

    #[test]
    fn mixed_search_results_keep_object() {
        let v = json!({"object":"list","results":[
            {"object":"page","id":"p"},{"object":"data_source","id":"d"}]});
        assert_eq!(slim(&v), v);
    }

    #[test]
    fn odd_inputs() {
        assert_eq!(slim(&json!(null)), json!(null));
        assert_eq!(slim(&json!([1, null, "x"])), json!([1, null, "x"]));
        assert_eq!(slim(&json!({"a":null})), json!({}));
        assert_eq!(
            slim(&json!({"plain_text":"a","text":{"content":"b"}})),
            json!({"plain_text":"a","text":{"content":"b"}})
        );
        assert_eq!(
            slim(&json!({"annotations":{"bold":"yes"}})),
            json!({"annotations":{"bold":"yes"}})
        );
    }
}
