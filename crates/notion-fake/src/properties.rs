//! Data-source schemas and page property values: parsing schema entries (API and fixture
//! shorthand), normalising written values into stored form, and rendering them (25-ref cap).

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

/// Parses one schema entry. Accepts `{"type":"select","select":{...}}`, `{"select":{...}}`,
/// and fixture shorthand: `"title"`, `{"select": ["A","B"]}`, `{"relation": "<data source>"}`.
pub fn parse_schema_entry(
    scope: &str,
    name: &str,
    raw: &Value,
    taken: &[String],
) -> ApiResult<PropSchema> {
    let bad = || {
        ApiError::body_validation(format!(
            "body.properties.{name} should be a property schema, instead was `{}`.",
            short(raw)
        ))
    };
    let (kind, config) = match raw {
        Value::String(kind) => (kind.clone(), Value::Object(Map::new())),
        Value::Object(obj) => {
            let kind = obj
                .get("type")
                .and_then(Value::as_str)
                .map(str::to_string)
                .or_else(|| {
                    obj.keys()
                        .find(|k| PROPERTY_TYPES.contains(&k.as_str()))
                        .cloned()
                })
                .ok_or_else(bad)?;
            (kind.clone(), obj.get(&kind).cloned().unwrap_or(json!({})))
        }
        _ => return Err(bad()),
    };
    if !PROPERTY_TYPES.contains(&kind.as_str()) {
        return Err(bad());
    }
    let id = if kind == "title" {
        "title".to_string()
    } else {
        (0..)
            .map(|attempt| property_id(scope, name, attempt))
            .find(|id| !taken.contains(id) && id != "title")
            .unwrap_or_default()
    };
    let config = normalize_config(scope, name, &kind, config);
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

fn options_from(scope: &str, raw: &Value) -> Vec<Value> {
    let list = match raw {
        Value::Array(a) => a.clone(),
        Value::Object(o) => o
            .get("options")
            .and_then(Value::as_array)
            .cloned()
            .unwrap_or_default(),
        _ => Vec::new(),
    };
    list.iter()
        .enumerate()
        .filter_map(|(i, o)| match o {
            Value::String(name) => Some(option(scope, name, None, i)),
            Value::Object(m) => {
                let name = m.get("name").and_then(Value::as_str)?;
                let mut opt = option(scope, name, m.get("color").and_then(Value::as_str), i);
                if let Some(id) = m.get("id").and_then(Value::as_str) {
                    opt["id"] = json!(id);
                }
                Some(opt)
            }
            _ => None,
        })
        .collect()
}

fn normalize_config(scope: &str, name: &str, kind: &str, raw: Value) -> Value {
    let scope = format!("{scope}/{name}");
    match kind {
        "select" | "multi_select" => json!({"options": options_from(&scope, &raw)}),
        "status" => {
            let mut options = options_from(&scope, &raw);
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
            let (ds, db) = match &raw {
                Value::String(s) => (json!(s), Value::Null),
                _ => (
                    raw.get("data_source_id").cloned().unwrap_or(Value::Null),
                    raw.get("database_id").cloned().unwrap_or(Value::Null),
                ),
            };
            json!({"data_source_id": ds, "database_id": db, "type": "single_property", "single_property": {}})
        }
        "unique_id" => json!({"prefix": raw.get("prefix").cloned().unwrap_or(Value::Null)}),
        _ => match raw {
            Value::Object(_) => raw,
            _ => json!({}),
        },
    }
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

fn ids_from(payload: &Value, schema: &PropSchema, strict: bool) -> ApiResult<Vec<Value>> {
    let items = payload.as_array().ok_or_else(|| expected(schema))?;
    if strict && items.len() > 100 {
        return Err(ApiError::body_validation(format!(
            "body.properties.{}.{}.length should be ≤ `100`, instead was `{}`.",
            schema.name,
            schema.kind,
            items.len()
        )));
    }
    items
        .iter()
        .map(|i| {
            let raw = i.get("id").and_then(Value::as_str).or_else(|| i.as_str());
            raw.and_then(crate::ids::parse_id)
                .map(|u| json!(crate::ids::fmt_id(&u)))
                .ok_or_else(|| {
                    ApiError::body_validation(format!(
                        "body.properties.{}.{}.id should be a valid uuid, instead was `{}`.",
                        schema.name,
                        schema.kind,
                        short(i)
                    ))
                })
        })
        .collect()
}

fn find_or_add_option(schema: &mut PropSchema, item: &Value, allow_add: bool) -> ApiResult<Value> {
    let name = item
        .get("name")
        .and_then(Value::as_str)
        .or_else(|| item.as_str());
    let id = item.get("id").and_then(Value::as_str);
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
        item.get("color").and_then(Value::as_str),
        options.len(),
    );
    if let Some(list) = schema.config["options"].as_array_mut() {
        list.push(opt.clone());
    }
    Ok(opt)
}

fn check_len(schema: &PropSchema, s: &str, max: usize) -> ApiResult<()> {
    let len = s.chars().count();
    if len > max {
        return Err(ApiError::body_validation(format!(
            "body.properties.{}.{}.length should be ≤ `{max}`, instead was `{len}`.",
            schema.name, schema.kind
        )));
    }
    Ok(())
}

/// Turns a written value into stored form. `strict` (API writes) requires the type-keyed
/// form and applies limits; fixtures may use shorthand (`"Done"`, `["a","b"]`, `3`, `true`).
pub fn normalize_value(schema: &mut PropSchema, raw: &Value, strict: bool) -> ApiResult<Value> {
    let kind = schema.kind.clone();
    let payload = match raw.as_object() {
        Some(obj) if obj.contains_key(&kind) => obj[&kind].clone(),
        Some(obj)
            if obj.get("type").is_some()
                || obj.keys().any(|k| PROPERTY_TYPES.contains(&k.as_str())) =>
        {
            return Err(expected(schema));
        }
        _ if strict => return Err(expected(schema)),
        _ => raw.clone(),
    };
    if COMPUTED.contains(&kind.as_str()) {
        return Err(ApiError::validation(format!(
            "{} is a computed property of type {kind} and cannot be written.",
            schema.name
        )));
    }
    let path = format!("body.properties.{}.{kind}", schema.name);
    Ok(match kind.as_str() {
        "title" | "rich_text" => Value::Array(if strict {
            richtext::normalize(&payload, &path)?
        } else {
            richtext::from_fixture(&payload)?
        }),
        "number" => match payload {
            Value::Null | Value::Number(_) => payload,
            _ => return Err(expected(schema)),
        },
        "checkbox" => match payload {
            Value::Bool(_) => payload,
            _ => return Err(expected(schema)),
        },
        "select" | "status" => match payload {
            Value::Null => Value::Null,
            Value::Object(_) | Value::String(_) => {
                let allow_add = kind == "select";
                find_or_add_option(schema, &payload, allow_add)?
            }
            _ => return Err(expected(schema)),
        },
        "multi_select" => {
            let items = payload.as_array().ok_or_else(|| expected(schema))?.clone();
            if strict && items.len() > 100 {
                return Err(ApiError::body_validation(format!(
                    "{path}.length should be ≤ `100`, instead was `{}`.",
                    items.len()
                )));
            }
            let mut out = Vec::new();
            for item in &items {
                out.push(find_or_add_option(schema, item, true)?);
            }
            Value::Array(out)
        }
        "date" => match payload {
            Value::Null => Value::Null,
            Value::String(s) => json!({"start": s, "end": null, "time_zone": null}),
            Value::Object(m) => {
                let start = m.get("start").and_then(Value::as_str).unwrap_or("");
                if crate::query::parse_date(start).is_none() {
                    return Err(ApiError::body_validation(format!(
                        "{path}.start should be a valid ISO 8601 date string, instead was `{}`.",
                        short(&json!(start))
                    )));
                }
                json!({"start": start, "end": m.get("end").cloned().unwrap_or(Value::Null),
                       "time_zone": m.get("time_zone").cloned().unwrap_or(Value::Null)})
            }
            _ => return Err(expected(schema)),
        },
        "people" | "relation" => Value::Array(ids_from(&payload, schema, strict)?),
        "url" | "email" | "phone_number" => match &payload {
            Value::Null => Value::Null,
            Value::String(s) => {
                check_len(schema, s, if kind == "url" { 2000 } else { 200 })?;
                payload
            }
            _ => return Err(expected(schema)),
        },
        "files" => match payload {
            Value::Array(_) => payload,
            _ => return Err(expected(schema)),
        },
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
