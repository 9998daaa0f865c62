//! Data-source schemas and page property values in Notion's request shape: parsing schema
//! entries, checking and normalising written values into stored form (readable shorthand is a
//! 400, as at Notion), and rendering them (25-ref cap).

use serde_json::{Map, Value, json};

use crate::errors::{ApiError, ApiResult};
use crate::ids::property_id;
use crate::render;
use crate::richtext::{self, short};
use crate::state::{Page, PropSchema, State};

pub use notion_model::property_kinds::{COMPUTED, PROPERTY_TYPES};

const COLORS: &[&str] = &[
    "default", "gray", "brown", "orange", "yellow", "green", "blue", "purple", "pink", "red",
];

/// The implicit schema of a plain (non-row) page's title.
pub fn plain_title_schema() -> PropSchema {
    PropSchema {
        id: "title".into(),
        name: "title".into(),
        kind: "title".into(),
        config: json!({}),
    }
}

/// Parses one schema entry in Notion's request shape: `{"<type>": {config}}`, optionally with
/// `"type"`, `"name"` and `"description"`. Readable shorthand (`"title"`, option-name lists) is the
/// fixture loader's business; here it is a 400 `validation_error`, as at Notion.
pub fn parse_schema_entry(
    scope: &str,
    name: &str,
    raw: &Value,
    taken: &[String],
) -> ApiResult<PropSchema> {
    let path = format!("body.properties.{name}");
    let obj = raw
        .as_object()
        .ok_or_else(|| ApiError::should_be(&path, "an object", raw))?;
    let kind = obj
        .get("type")
        .and_then(Value::as_str)
        .or_else(|| {
            obj.keys()
                .map(String::as_str)
                .find(|k| PROPERTY_TYPES.contains(k))
        })
        .unwrap_or_default()
        .to_string();
    if !PROPERTY_TYPES.contains(&kind.as_str()) {
        return Err(ApiError::body_validation(format!(
            "{path} should have one property type key ({}), instead was `{}`.",
            PROPERTY_TYPES.join(", "),
            short(raw)
        )));
    }
    let config = match obj.get(&kind) {
        Some(c @ Value::Object(_)) => c.clone(),
        other => {
            return Err(ApiError::body_validation(format!(
                "{path}.{kind} should be an object, instead was `{}`.",
                other.map(short).unwrap_or_else(|| "undefined".into())
            )));
        }
    };
    let id = if kind == "title" {
        "title".to_string()
    } else {
        (0..)
            .map(|attempt| property_id(scope, name, attempt))
            .find(|id| !taken.contains(id) && id != "title")
            .unwrap_or_default()
    };
    let config = normalize_config(scope, name, &kind, config, &format!("{path}.{kind}"))?;
    Ok(PropSchema {
        id,
        name: name.to_string(),
        kind,
        config,
    })
}

fn option(scope: &str, name: &str, color: Option<&str>, index: usize) -> Value {
    json!({
        "id": property_id(scope, &format!("option:{name}"), 0),
        "name": name,
        "color": color.unwrap_or(COLORS[index % COLORS.len()]),
        "description": null,
    })
}

/// `{"options": [{"name", "color"?, "id"?}]}` → stored options; anything else is a 400.
fn options_from(scope: &str, raw: &Value, path: &str) -> ApiResult<Vec<Value>> {
    let list = match raw.get("options") {
        None => return Ok(Vec::new()),
        Some(Value::Array(list)) => list,
        Some(other) => {
            return Err(ApiError::should_be(
                &format!("{path}.options"),
                "an array",
                other,
            ));
        }
    };
    richtext::check_count(&format!("{path}.options"), list)?;
    list.iter()
        .enumerate()
        .map(|(i, o)| {
            let name = o.get("name").and_then(Value::as_str).ok_or_else(|| {
                ApiError::body_validation(format!(
                    "{path}.options[{i}].name should be defined, instead was `undefined`."
                ))
            })?;
            let mut opt = option(scope, name, o.get("color").and_then(Value::as_str), i);
            if let Some(id) = o.get("id").and_then(Value::as_str) {
                opt["id"] = json!(id);
            }
            Ok(opt)
        })
        .collect()
}

fn normalize_config(
    scope: &str,
    name: &str,
    kind: &str,
    raw: Value,
    path: &str,
) -> ApiResult<Value> {
    let scope = format!("{scope}/{name}");
    Ok(match kind {
        "select" | "multi_select" => json!({"options": options_from(&scope, &raw, path)?}),
        "status" => {
            let mut options = options_from(&scope, &raw, path)?;
            if options.is_empty() {
                options = ["Not started", "In progress", "Done"]
                    .iter()
                    .enumerate()
                    .map(|(i, n)| option(&scope, n, Some(["default", "blue", "green"][i]), i))
                    .collect();
            }
            let ids: Vec<Value> = options.iter().map(|o| o["id"].clone()).collect();
            let n = ids.len();
            let split = |range: std::ops::Range<usize>| -> Vec<Value> {
                ids.get(range).map(<[Value]>::to_vec).unwrap_or_default()
            };
            let groups = json!([
                {"id": property_id(&scope, "group:todo", 0), "name": "To-do", "color": "gray", "option_ids": split(0..1.min(n))},
                {"id": property_id(&scope, "group:doing", 0), "name": "In progress", "color": "blue", "option_ids": split(1.min(n)..n.saturating_sub(1).max(1.min(n)))},
                {"id": property_id(&scope, "group:done", 0), "name": "Complete", "color": "green", "option_ids": split(n.saturating_sub(1).max(1.min(n))..n)},
            ]);
            json!({"options": options, "groups": groups})
        }
        "number" => {
            let format = raw
                .get("format")
                .and_then(Value::as_str)
                .unwrap_or("number");
            json!({"format": format})
        }
        "relation" => {
            let ds = raw.get("data_source_id").cloned().unwrap_or(Value::Null);
            let db = raw.get("database_id").cloned().unwrap_or(Value::Null);
            if ds.is_null() && db.is_null() {
                return Err(ApiError::body_validation(format!(
                    "{path}.data_source_id should be defined, instead was `undefined`."
                )));
            }
            json!({"data_source_id": ds, "database_id": db, "type": "single_property", "single_property": {}})
        }
        "unique_id" => json!({"prefix": raw.get("prefix").cloned().unwrap_or(Value::Null)}),
        _ => raw,
    })
}

/// The schema entry as rendered in a data source object.
pub fn render_schema(p: &PropSchema) -> Value {
    let mut m = Map::new();
    m.insert("id".into(), json!(p.id));
    m.insert("name".into(), json!(p.name));
    m.insert("description".into(), Value::Null);
    m.insert("type".into(), json!(p.kind));
    m.insert(p.kind.clone(), p.config.clone());
    Value::Object(m)
}

fn expected(schema: &PropSchema) -> ApiError {
    ApiError::validation(format!(
        "{} is expected to be {}.",
        schema.name, schema.kind
    ))
}

/// The request limit on arrays, when `limits` apply.
fn check_count(path: &str, items: &[Value], limits: bool) -> ApiResult<()> {
    if limits {
        richtext::check_count(path, items)?;
    }
    Ok(())
}

/// `[{"id": "<uuid>"}, …]` (people, relation) → stored dashed ids.
fn ids_from(payload: &Value, path: &str, limits: bool) -> ApiResult<Vec<Value>> {
    let items = payload
        .as_array()
        .ok_or_else(|| ApiError::should_be(path, "an array", payload))?;
    check_count(path, items, limits)?;
    items
        .iter()
        .enumerate()
        .map(|(i, item)| {
            let at = format!("{path}[{i}]");
            let raw = item
                .as_object()
                .ok_or_else(|| ApiError::should_be(&at, "an object", item))?
                .get("id")
                .unwrap_or(&Value::Null);
            raw.as_str()
                .and_then(crate::ids::parse_id)
                .map(|u| json!(crate::ids::fmt_id(&u)))
                .ok_or_else(|| ApiError::should_be(&format!("{at}.id"), "a valid uuid", raw))
        })
        .collect()
}

/// An option reference `{"name"}` or `{"id"}`; a new name is added when `allow_add` (select,
/// multi_select), as Notion does.
fn find_or_add_option(
    schema: &mut PropSchema,
    item: &Value,
    path: &str,
    allow_add: bool,
) -> ApiResult<Value> {
    let obj = item
        .as_object()
        .ok_or_else(|| ApiError::should_be(path, "an object", item))?;
    let name = obj.get("name").and_then(Value::as_str);
    let id = obj.get("id").and_then(Value::as_str);
    if name.is_none() && id.is_none() {
        return Err(ApiError::body_validation(format!(
            "{path}.name should be defined, instead was `undefined`."
        )));
    }
    let options = schema.config["options"]
        .as_array()
        .cloned()
        .unwrap_or_default();
    if let Some(found) = options.iter().find(|o| {
        (name.is_some() && o["name"].as_str() == name) || (id.is_some() && o["id"].as_str() == id)
    }) {
        return Ok(found.clone());
    }
    let Some(name) = name.filter(|_| allow_add) else {
        return Err(ApiError::validation(format!(
            "Invalid {} option for {}: `{}` does not exist.",
            schema.kind,
            schema.name,
            short(item)
        )));
    };
    let scope = format!("{}/{}", schema.id, schema.name);
    let opt = option(
        &scope,
        name,
        obj.get("color").and_then(Value::as_str),
        options.len(),
    );
    if let Some(list) = schema.config["options"].as_array_mut() {
        list.push(opt.clone());
    }
    Ok(opt)
}

/// A `files` item: `{"name", "type": "external", "external": {"url"}}` or a file upload
/// (resolved to a Notion-hosted `file` before this point).
fn file_item(item: &Value, path: &str) -> ApiResult<Value> {
    let obj = item
        .as_object()
        .ok_or_else(|| ApiError::should_be(path, "an object", item))?;
    let kind = obj.get("type").and_then(Value::as_str).unwrap_or_default();
    if !matches!(kind, "external" | "file_upload" | "file") || !obj.contains_key(kind) {
        return Err(ApiError::should_be(
            path,
            "a file object of type `external` or `file_upload`",
            item,
        ));
    }
    if !obj.get("name").is_some_and(Value::is_string) {
        return Err(ApiError::body_validation(format!(
            "{path}.name should be defined, instead was `undefined`."
        )));
    }
    Ok(item.clone())
}

/// Turns a property value in Notion's request shape (`{"<type>": value}`) into stored form.
/// Readable shorthand (`"Done"`, `["a","b"]`, `{"select": "Done"}`) is rejected as Notion
/// rejects it. `limits` applies Notion's request limits (array lengths, text sizes); fixture
/// values, already converted to this shape by the loader, may exceed them.
pub fn normalize_value(schema: &mut PropSchema, raw: &Value, limits: bool) -> ApiResult<Value> {
    let kind = schema.kind.clone();
    let payload = match raw.as_object() {
        Some(obj) if obj.contains_key(&kind) => obj[&kind].clone(),
        _ => return Err(expected(schema)),
    };
    if COMPUTED.contains(&kind.as_str()) {
        return Err(ApiError::validation(format!(
            "{} is a computed property of type {kind} and cannot be written.",
            schema.name
        )));
    }
    let path = format!("body.properties.{}.{kind}", schema.name);
    Ok(match kind.as_str() {
        "title" | "rich_text" if limits => Value::Array(richtext::normalize(&payload, &path)?),
        "title" | "rich_text" => Value::Array(richtext::normalize_stored(&payload, &path)?),
        "number" => match payload {
            Value::Null | Value::Number(_) => payload,
            _ => return Err(ApiError::should_be(&path, "a number or `null`", &payload)),
        },
        "checkbox" => match payload {
            Value::Bool(_) => payload,
            _ => return Err(ApiError::should_be(&path, "a boolean", &payload)),
        },
        "select" | "status" => match payload {
            Value::Null => Value::Null,
            _ => find_or_add_option(schema, &payload, &path, kind == "select")?,
        },
        "multi_select" => {
            let items = payload
                .as_array()
                .ok_or_else(|| ApiError::should_be(&path, "an array", &payload))?;
            check_count(&path, items, limits)?;
            let mut out = Vec::with_capacity(items.len());
            for (i, item) in items.iter().enumerate() {
                out.push(find_or_add_option(
                    schema,
                    item,
                    &format!("{path}[{i}]"),
                    true,
                )?);
            }
            Value::Array(out)
        }
        "date" => match &payload {
            Value::Null => Value::Null,
            Value::Object(m) => {
                let start = m.get("start").unwrap_or(&Value::Null);
                if start.as_str().and_then(crate::query::parse_date).is_none() {
                    return Err(ApiError::should_be(
                        &format!("{path}.start"),
                        "a valid ISO 8601 date string",
                        start,
                    ));
                }
                json!({"start": start, "end": m.get("end").cloned().unwrap_or(Value::Null),
                       "time_zone": m.get("time_zone").cloned().unwrap_or(Value::Null)})
            }
            _ => return Err(ApiError::should_be(&path, "an object or `null`", &payload)),
        },
        "people" | "relation" => Value::Array(ids_from(&payload, &path, limits)?),
        "url" | "email" | "phone_number" => match &payload {
            Value::Null => Value::Null,
            Value::String(s) => {
                richtext::check_len(s, if kind == "url" { 2000 } else { 200 }, &path)?;
                payload
            }
            _ => return Err(ApiError::should_be(&path, "a string or `null`", &payload)),
        },
        "files" => {
            let items = payload
                .as_array()
                .ok_or_else(|| ApiError::should_be(&path, "an array", &payload))?;
            check_count(&path, items, limits)?;
            let checked = items
                .iter()
                .enumerate()
                .map(|(i, item)| file_item(item, &format!("{path}[{i}]")))
                .collect::<ApiResult<_>>()?;
            Value::Array(checked)
        }
        _ => payload,
    })
}

fn empty_value(kind: &str) -> Value {
    match kind {
        "title" | "rich_text" | "multi_select" | "people" | "relation" | "files" => json!([]),
        "checkbox" => json!(false),
        _ => Value::Null,
    }
}

/// Renders `{"id","type",<type>:value}` for a page property; `cap` limits references.
pub fn render_value(state: &State, page: &Page, schema: &PropSchema, cap: Option<usize>) -> Value {
    let stored = page.properties.get(&schema.id).cloned();
    let mut out = Map::new();
    out.insert("id".into(), json!(schema.id));
    out.insert("type".into(), json!(schema.kind));
    let limit = cap.unwrap_or(usize::MAX);
    let value = match schema.kind.as_str() {
        "title" | "rich_text" => {
            let items = stored
                .and_then(|v| v.as_array().cloned())
                .unwrap_or_default();
            let mut refs = 0usize;
            let kept: Vec<Value> = items
                .into_iter()
                .filter(|i| {
                    if richtext::is_reference_mention(i) {
                        refs += 1;
                        refs <= limit
                    } else {
                        true
                    }
                })
                .collect();
            Value::Array(render::rich_text(state, &kept))
        }
        "people" => {
            let ids = stored
                .and_then(|v| v.as_array().cloned())
                .unwrap_or_default();
            Value::Array(
                ids.iter()
                    .take(limit)
                    .map(|id| render::user_by_value(state, id))
                    .collect(),
            )
        }
        "relation" => {
            let ids = stored
                .and_then(|v| v.as_array().cloned())
                .unwrap_or_default();
            if ids.len() > limit {
                out.insert("has_more".into(), json!(true));
            } else {
                out.insert("has_more".into(), json!(false));
            }
            Value::Array(ids.iter().take(limit).map(|id| json!({"id": id})).collect())
        }
        "created_time" => json!(render::time(page.created.time)),
        "last_edited_time" => json!(render::time(page.edited.time)),
        "created_by" => render::user_by_id(state, &page.created.by),
        "last_edited_by" => render::user_by_id(state, &page.edited.by),
        "formula" => json!({"type": "string", "string": null}),
        "rollup" => json!({"type": "array", "array": [], "function": "show_original"}),
        "unique_id" => {
            json!({"prefix": schema.config.get("prefix").cloned().unwrap_or(Value::Null), "number": page.seq})
        }
        "button" => json!({}),
        "verification" => json!({"state": "unverified", "verified_by": null, "date": null}),
        kind => stored.unwrap_or_else(|| empty_value(kind)),
    };
    out.insert(schema.kind.clone(), value);
    // Keep `has_more` after the value, as Notion does.
    if let Some(has_more) = out.shift_remove("has_more") {
        out.insert("has_more".into(), has_more);
    }
    Value::Object(out)
}

/// Full list values of paginated property types (`title`, `rich_text`, `people`,
/// `relation`), one entry per property item; `None` for simple types.
pub fn full_items(state: &State, page: &Page, schema: &PropSchema) -> Option<Vec<Value>> {
    let stored = page
        .properties
        .get(&schema.id)
        .and_then(|v| v.as_array().cloned())
        .unwrap_or_default();
    match schema.kind.as_str() {
        "title" | "rich_text" => Some(render::rich_text(state, &stored)),
        "people" => Some(
            stored
                .iter()
                .map(|id| render::user_by_value(state, id))
                .collect(),
        ),
        "relation" => Some(stored.iter().map(|id| json!({"id": id})).collect()),
        _ => None,
    }
}
