//! Block content: parsing appended children (Notion's request shape and limits; shorthand is a
//! 400) and fixture shorthand into `BlockSpec`s, and inserting block trees into the model.

use notion_model::block_kinds;
use serde_json::{Map, Value, json};
use uuid::Uuid;

use crate::errors::{ApiError, ApiResult};
use crate::richtext::{self, short};
use crate::state::{Block, Parent, State};

pub use notion_model::block_kinds::{NOT_APPENDABLE, OTHER_TYPES};

pub const MAX_BLOCKS_PER_REQUEST: usize = 1000;
/// Levels of children below a request's top-level blocks.
pub const MAX_NESTING: usize = 2;

/// A block to create, with its children.
#[derive(Debug, Clone, PartialEq)]
pub struct BlockSpec {
    pub kind: String,
    pub data: Value,
    pub children: Vec<BlockSpec>,
}

/// Where to put new children.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum InsertAt {
    End,
    Start,
    After(Uuid),
}

/// Parses an API `children` array (level 1 = the request's top level).
pub fn parse_api_children(value: &Value, path: &str) -> ApiResult<Vec<BlockSpec>> {
    let mut count = 0usize;
    let specs = parse_level(value, path, 1, &mut count)?;
    if count > MAX_BLOCKS_PER_REQUEST {
        return Err(ApiError::body_validation(format!(
            "{path} should contain at most `{MAX_BLOCKS_PER_REQUEST}` block elements in total, instead was `{count}`."
        )));
    }
    Ok(specs)
}

fn parse_level(
    value: &Value,
    path: &str,
    level: usize,
    count: &mut usize,
) -> ApiResult<Vec<BlockSpec>> {
    let items = value
        .as_array()
        .ok_or_else(|| ApiError::should_be(path, "an array", value))?;
    if level > MAX_NESTING + 1 && !items.is_empty() {
        return Err(ApiError::should_be(path, "not present", value));
    }
    richtext::check_count(path, items)?;
    let mut out = Vec::with_capacity(items.len());
    for (i, item) in items.iter().enumerate() {
        *count += 1;
        out.push(parse_api_block(
            item,
            &format!("{path}[{i}]"),
            level,
            count,
        )?);
    }
    Ok(out)
}

fn block_kind(obj: &Map<String, Value>) -> Option<String> {
    if let Some(t) = obj.get("type").and_then(Value::as_str) {
        return Some(t.to_string());
    }
    obj.keys()
        .find(|k| block_kinds::is_creatable(k) || NOT_APPENDABLE.contains(&k.as_str()))
        .cloned()
}

fn parse_api_block(
    item: &Value,
    path: &str,
    level: usize,
    count: &mut usize,
) -> ApiResult<BlockSpec> {
    let obj = item
        .as_object()
        .ok_or_else(|| ApiError::should_be(path, "an object", item))?;
    let kind = block_kind(obj).ok_or_else(|| {
        ApiError::body_validation(format!(
            "{path}.type should be defined, instead was `undefined`."
        ))
    })?;
    if NOT_APPENDABLE.contains(&kind.as_str()) {
        return Err(ApiError::body_validation(format!(
            "{path}.type `{kind}` is not supported for creation via the API."
        )));
    }
    if !block_kinds::is_creatable(&kind) {
        return Err(ApiError::body_validation(format!(
            "{path}.type should be a supported block type, instead was `\"{kind}\"`."
        )));
    }
    let mut data = match obj.get(&kind) {
        Some(Value::Object(m)) => m.clone(),
        Some(Value::Null) | None if !block_kinds::has_rich_text(&kind) => Map::new(),
        other => {
            return Err(ApiError::body_validation(format!(
                "{path}.{kind} should be an object, instead was `{}`.",
                other.map(short).unwrap_or_else(|| "undefined".into())
            )));
        }
    };
    let children_value = data
        .remove("children")
        .or_else(|| obj.get("children").cloned());
    let children_path = format!("{path}.{kind}.children");
    let children = match children_value {
        Some(v) => parse_level(&v, &children_path, level + 1, count)?,
        None => {
            if matches!(kind.as_str(), "column_list" | "column" | "table") {
                return Err(ApiError::body_validation(format!(
                    "{children_path} should be defined, instead was `undefined`."
                )));
            }
            Vec::new()
        }
    };
    check_created_with_children(&kind, &children, &children_path)?;
    let data = normalize_data(&kind, data, &format!("{path}.{kind}"), true)?;
    Ok(BlockSpec {
        kind,
        data,
        children,
    })
}

/// Notion creates a column list only with at least two columns, each with at least one child,
/// and a table only with its rows, all in the same request.
fn check_created_with_children(kind: &str, children: &[BlockSpec], path: &str) -> ApiResult<()> {
    let (least, child_kind) = match kind {
        "column_list" => (2, Some("column")),
        "column" => (1, None),
        "table" => (1, Some("table_row")),
        _ => return Ok(()),
    };
    if children.len() < least {
        return Err(ApiError::body_validation(format!(
            "{path}.length should be ≥ `{least}`, instead was `{}`.",
            children.len()
        )));
    }
    if let Some(want) = child_kind
        && let Some((i, c)) = children.iter().enumerate().find(|(_, c)| c.kind != want)
    {
        return Err(ApiError::body_validation(format!(
            "{path}[{i}].type should be `\"{want}\"`, instead was `\"{}\"`.",
            c.kind
        )));
    }
    Ok(())
}

/// Columns go only into column lists, and column lists hold only columns; `parent_kind` is the
/// block appended to (`None` for a page).
pub fn check_placement(
    parent_kind: Option<&str>,
    specs: &[BlockSpec],
    path: &str,
) -> ApiResult<()> {
    let in_list = parent_kind == Some("column_list");
    for (i, spec) in specs.iter().enumerate() {
        if in_list != (spec.kind == "column") {
            let want = if in_list {
                "`\"column\"`"
            } else {
                "not `\"column\"` outside a column_list"
            };
            return Err(ApiError::body_validation(format!(
                "{path}[{i}].type should be {want}, instead was `\"{}\"`.",
                spec.kind
            )));
        }
    }
    Ok(())
}

/// Block types whose content is a file (`external`, `file_upload`, or a stored `file`).
const FILE_TYPES: &[&str] = &["image", "video", "pdf", "file", "audio"];

/// Fixture shorthand inside a type object: `text` for `rich_text`, a `url` string for a file
/// block, an emoji string for a callout icon. Requests must use Notion's own shapes.
fn fixture_shorthand(kind: &str, data: &mut Map<String, Value>) {
    if let Some(text) = data.remove("text") {
        data.entry("rich_text").or_insert(text);
    }
    if FILE_TYPES.contains(&kind)
        && let Some(Value::String(url)) = data.remove("url")
    {
        data.insert("type".into(), json!("external"));
        data.insert("external".into(), json!({"url": url}));
    }
    if let Some(Value::String(emoji)) = data.get("icon").cloned() {
        data.insert("icon".into(), json!({"type": "emoji", "emoji": emoji}));
    }
}

fn undefined(path: &str) -> ApiError {
    ApiError::body_validation(format!(
        "{path} should be defined, instead was `undefined`."
    ))
}

/// Checks a type object against Notion's request shape, fills defaults and normalises its rich
/// text. `strict` (requests) applies Notion's limits and refuses fixture shorthand.
pub fn normalize_data(
    kind: &str,
    mut data: Map<String, Value>,
    path: &str,
    strict: bool,
) -> ApiResult<Value> {
    if !strict {
        fixture_shorthand(kind, &mut data);
    }
    let rt = |v: &Value, p: &str| -> ApiResult<Vec<Value>> {
        if strict {
            richtext::normalize(v, p)
        } else {
            richtext::from_fixture(v)
        }
    };
    if block_kinds::has_rich_text(kind) {
        let given = match data.remove("rich_text") {
            Some(v) => v,
            None if strict => return Err(undefined(&format!("{path}.rich_text"))),
            None => json!([]),
        };
        data.insert(
            "rich_text".into(),
            Value::Array(rt(&given, &format!("{path}.rich_text"))?),
        );
    }
    let default = |data: &mut Map<String, Value>, key: &str, v: Value| {
        data.entry(key.to_string()).or_insert(v);
    };
    match kind {
        "to_do" => default(&mut data, "checked", json!(false)),
        "code" => {
            default(&mut data, "language", json!("plain text"));
            let caption = data.remove("caption").unwrap_or(json!([]));
            data.insert(
                "caption".into(),
                Value::Array(rt(&caption, &format!("{path}.caption"))?),
            );
        }
        "heading_1" | "heading_2" | "heading_3" | "heading_4" => {
            default(&mut data, "is_toggleable", json!(false))
        }
        "callout" => {
            let icon = data.get("icon").unwrap_or(&Value::Null);
            match crate::render::file_or_emoji(icon, &format!("{path}.icon"))? {
                Some(icon) => data.insert("icon".into(), icon),
                None => data.insert("icon".into(), json!({"type": "emoji", "emoji": "💡"})),
            };
        }
        "equation" => {
            let expr = data.get("expression").and_then(Value::as_str).unwrap_or("");
            if strict && expr.chars().count() > 1000 {
                return Err(ApiError::body_validation(format!(
                    "{path}.expression.length should be ≤ `1000`, instead was `{}`.",
                    expr.chars().count()
                )));
            }
            default(&mut data, "expression", json!(""));
        }
        "table_row" => {
            let cells = data.remove("cells").unwrap_or(json!([]));
            let cells = cells.as_array().cloned().unwrap_or_default();
            let mut out = Vec::with_capacity(cells.len());
            for (i, cell) in cells.iter().enumerate() {
                out.push(Value::Array(rt(cell, &format!("{path}.cells[{i}]"))?));
            }
            data.insert("cells".into(), Value::Array(out));
        }
        "table" => {
            default(&mut data, "table_width", json!(1));
            default(&mut data, "has_column_header", json!(false));
            default(&mut data, "has_row_header", json!(false));
        }
        "bookmark" | "embed" | "image" | "video" | "pdf" | "file" | "audio" => {
            if strict && FILE_TYPES.contains(&kind) {
                let source = ["external", "file_upload", "file"]
                    .into_iter()
                    .find(|k| data.get(*k).is_some_and(Value::is_object));
                if source.is_none() {
                    return Err(undefined(&format!("{path}.external")));
                }
            } else if strict && !data.get("url").is_some_and(Value::is_string) {
                return Err(undefined(&format!("{path}.url")));
            }
            let caption = data.remove("caption").unwrap_or(json!([]));
            data.insert(
                "caption".into(),
                Value::Array(rt(&caption, &format!("{path}.caption"))?),
            );
        }
        "synced_block" => default(&mut data, "synced_from", Value::Null),
        _ => {}
    }
    if block_kinds::has_rich_text(kind) && kind != "code" {
        default(&mut data, "color", json!("default"));
    }
    Ok(Value::Object(data))
}

/// Parses one fixture block in any accepted form (see the crate docs). Returns the spec
/// without children plus the raw children values (so the loader can handle child pages).
pub fn parse_fixture_block(value: &Value) -> ApiResult<(String, Value, Vec<Value>)> {
    let fail = |m: &str| ApiError::validation(format!("fixture block {}: {m}", short(value)));
    let obj = match value {
        Value::String(s) => {
            return Ok((
                "paragraph".into(),
                normalize_data(
                    "paragraph",
                    Map::from_iter([("rich_text".into(), json!(s))]),
                    "",
                    false,
                )?,
                Vec::new(),
            ));
        }
        Value::Object(o) => o,
        _ => return Err(fail("expected a string or an object")),
    };
    let kind = block_kind(obj).ok_or_else(|| fail("no block type"))?;
    if !block_kinds::is_creatable(&kind) {
        return Err(fail("unknown block type"));
    }
    let mut children: Vec<Value> = obj
        .get("children")
        .and_then(Value::as_array)
        .cloned()
        .unwrap_or_default();
    let mut data = Map::new();
    match obj.get(&kind) {
        Some(Value::Object(m)) => data = m.clone(),
        Some(Value::String(s)) => {
            let key = match kind.as_str() {
                "equation" => "expression",
                "bookmark" | "embed" | "image" | "video" | "pdf" | "file" | "audio" => "url",
                _ => "rich_text",
            };
            data.insert(key.into(), json!(s));
        }
        Some(Value::Array(rows)) if kind == "table" => {
            let width = rows
                .iter()
                .filter_map(Value::as_array)
                .map(Vec::len)
                .max()
                .unwrap_or(1);
            data.insert("table_width".into(), json!(width));
            children = rows
                .iter()
                .map(|r| json!({"type": "table_row", "table_row": {"cells": r}}))
                .collect();
        }
        Some(Value::Null) | None => {}
        Some(_) => return Err(fail("unexpected block content")),
    }
    if let Some(Value::Array(nested)) = data.remove("children") {
        children.extend(nested);
    }
    for (k, v) in obj {
        if k != "type" && k != &kind && k != "children" && k != "object" && k != "id" {
            data.insert(k.clone(), v.clone());
        }
    }
    let data = normalize_data(&kind, data, "", false)?;
    Ok((kind, data, children))
}

/// Inserts `specs` under `parent` at `at`; returns the ids of the new top-level blocks.
pub fn insert_tree(
    state: &mut State,
    workspace_id: Uuid,
    parent: Parent,
    specs: Vec<BlockSpec>,
    at: InsertAt,
    by: Uuid,
) -> Vec<Uuid> {
    let mut ids = Vec::with_capacity(specs.len());
    for spec in specs {
        let id = state.new_id();
        insert_one(state, workspace_id, parent, id, spec.kind, spec.data, by);
        insert_tree(
            state,
            workspace_id,
            Parent::Block(id),
            spec.children,
            InsertAt::End,
            by,
        );
        ids.push(id);
    }
    if let Some(parent_id) = parent.id() {
        place(state, parent_id, &ids, at);
    }
    ids
}

/// Creates one block record (not yet placed in its parent's children list).
pub fn insert_one(
    state: &mut State,
    workspace_id: Uuid,
    parent: Parent,
    id: Uuid,
    kind: String,
    data: Value,
    by: Uuid,
) {
    let stamp = state.stamp(by);
    state.blocks.insert(
        id,
        Block {
            id,
            workspace_id,
            parent,
            kind,
            data,
            in_trash: false,
            created: stamp,
            edited: stamp,
        },
    );
}

/// Places ids into a parent's ordered children list.
pub fn place(state: &mut State, parent_id: Uuid, ids: &[Uuid], at: InsertAt) {
    let kids = state.children.entry(parent_id).or_default();
    let index = match at {
        InsertAt::End => kids.len(),
        InsertAt::Start => 0,
        InsertAt::After(after) => kids
            .iter()
            .position(|k| *k == after)
            .map(|i| i + 1)
            .unwrap_or(kids.len()),
    };
    for (offset, id) in ids.iter().enumerate() {
        kids.insert(index + offset, *id);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn nesting_limit() {
        let deep = json!([{"toggle": {"rich_text": [], "children": [
            {"toggle": {"rich_text": [], "children": [
                {"toggle": {"rich_text": [], "children": [{"paragraph": {"rich_text": []}}]}}
            ]}}
        ]}}]);
        let err = parse_api_children(&deep, "body.children").expect_err("too deep");
        assert!(
            err.message.contains(
                "body.children[0].toggle.children[0].toggle.children[0].toggle.children should be not present"
            ),
            "{}",
            err.message
        );
        let ok = json!([{"toggle": {"rich_text": [], "children": [
            {"toggle": {"rich_text": [], "children": [{"paragraph": {"rich_text": []}}]}}
        ]}}]);
        assert!(parse_api_children(&ok, "body.children").is_ok());
    }

    fn column(children: Value) -> Value {
        json!({"type": "column", "column": {"children": children}})
    }

    #[test]
    fn column_lists_and_tables_arrive_with_their_children() {
        let para = json!({"paragraph": {"rich_text": []}});
        let msg = |v: Value| {
            parse_api_children(&v, "body.children")
                .expect_err("refused")
                .message
                .clone()
        };
        assert_eq!(
            msg(json!([{"type": "column_list", "column_list": {}}])),
            "body failed validation: body.children[0].column_list.children should be defined, instead was `undefined`."
        );
        assert!(
            msg(json!([{"column_list": {"children": [column(json!([para]))]}}])).contains(
                "body.children[0].column_list.children.length should be ≥ `2`, instead was `1`."
            )
        );
        assert!(
            msg(json!([{"column_list": {"children": [column(json!([para])), column(json!([]))]}}]))
                .contains("body.children[0].column_list.children[1].column.children.length should be ≥ `1`")
        );
        assert!(
            msg(json!([{"column_list": {"children": [column(json!([para])), para]}}]))
                .contains("body.children[0].column_list.children[1].type should be `\"column\"`")
        );
        assert!(
            msg(json!([{"type": "table", "table": {"table_width": 1}}]))
                .contains("body.children[0].table.children should be defined")
        );
        let lone =
            parse_api_children(&json!([column(json!([para]))]), "body.children").expect("parsed");
        assert!(check_placement(None, &lone, "body.children").is_err());
        assert!(check_placement(Some("column_list"), &lone, "body.children").is_ok());
        let stray = parse_api_children(&json!([para]), "body.children").expect("parsed");
        assert!(check_placement(Some("column_list"), &stray, "body.children").is_err());
        let ok = json!([{"column_list": {"children": [column(json!([para])), column(json!([para, para]))]}}]);
        let specs = parse_api_children(&ok, "body.children").expect("accepted");
        assert_eq!(specs[0].children.len(), 2);
        assert_eq!(specs[0].children[1].children.len(), 2);
    }

    #[test]
    fn fixture_shorthand() {
        let (k, d, _) =
            parse_fixture_block(&json!({"to_do": "Buy milk", "checked": true})).expect("ok");
        assert_eq!(k, "to_do");
        assert_eq!(d["checked"], json!(true));
        assert_eq!(d["rich_text"][0]["plain_text"], json!("Buy milk"));
        let (k, _, kids) =
            parse_fixture_block(&json!({"table": [["a", "b"], ["c", "d"]]})).expect("ok");
        assert_eq!(k, "table");
        assert_eq!(kids.len(), 2);
    }
}
