//! Readable input → Notion request JSON, for everything the write tools accept in a simplified form:
//! page property values (`{"Status":"Done","Tags":["a","b"],"Due":"2025-01-02"}`, converted with the data
//! source schema), data-source schemas (`{"Status":{"select":["Todo","Done"]},"Due":"date"}`), plain
//! text as rich text, and icons/covers. Values already in Notion's own shape pass through unchanged.
//!
//! Pure functions: no I/O. Errors name the offending field (`properties.Status`).

use crate::InputError;
use crate::ids;
use serde_json::{Map, Value, json};

/// Longest `text.content` of one rich-text item Notion accepts.
const MAX_TEXT: usize = 2000;

use crate::property_kinds::{COMPUTED, PROPERTY_TYPES};

fn bad(field: &str, message: impl Into<String>) -> InputError {
    InputError::new(field, message)
}

/// Plain text as rich-text items of at most 2000 characters each (no formatting).
pub fn plain_rich_text(text: &str) -> Vec<Value> {
    let chars: Vec<char> = text.chars().collect();
    chars
        .chunks(MAX_TEXT)
        .map(|c| {
            let s: String = c.iter().collect();
            json!({"type": "text", "text": {"content": s}})
        })
        .collect()
}

/// A page title property value (`{"title": [...]}`).
pub fn title_value(text: &str) -> Value {
    json!({ "title": plain_rich_text(text) })
}

/// An icon: an emoji, an image URL, or a file upload id (`file_upload:<id>` or a bare upload id).
pub fn icon(field: &str, raw: &str) -> Result<Value, InputError> {
    let raw = raw.trim();
    if raw.is_empty() {
        return Err(bad(field, "must not be empty (use \"none\" to remove)"));
    }
    if raw.starts_with("http://") || raw.starts_with("https://") {
        return Ok(json!({"type": "external", "external": {"url": raw}}));
    }
    if let Some(id) = upload_id(raw) {
        return Ok(json!({"type": "file_upload", "file_upload": {"id": id}}));
    }
    if raw.chars().count() > 16 || raw.chars().all(|c| c.is_ascii_alphanumeric()) {
        return Err(bad(
            field,
            format!("'{raw}' is not an emoji, an https URL or a file upload id"),
        ));
    }
    Ok(json!({"type": "emoji", "emoji": raw}))
}

/// A cover: an image URL or a file upload id.
pub fn cover(field: &str, raw: &str) -> Result<Value, InputError> {
    let raw = raw.trim();
    if raw.starts_with("http://") || raw.starts_with("https://") {
        return Ok(json!({"type": "external", "external": {"url": raw}}));
    }
    match upload_id(raw) {
        Some(id) => Ok(json!({"type": "file_upload", "file_upload": {"id": id}})),
        None => Err(bad(
            field,
            format!("'{raw}' is not an https URL or a file upload id"),
        )),
    }
}

/// `file_upload:<id>` / `file_upload://<id>` / a bare UUID → the upload id.
fn upload_id(raw: &str) -> Option<String> {
    let rest = raw
        .strip_prefix("file_upload://")
        .or_else(|| raw.strip_prefix("file_upload:"))
        .unwrap_or(raw);
    ids::parse_id(rest).ok()
}

/// `null`, `"none"` or `""` means "remove" for icon/cover updates.
pub fn is_removal(raw: &str) -> bool {
    matches!(
        raw.trim().to_ascii_lowercase().as_str(),
        "" | "none" | "null"
    )
}

// ------------------------------------------------------------------------------- property values

/// Convert readable property values to Notion's request shape using a data source `schema`
/// (name → `{id, name, type, ...}`). Keys may be property names or ids. Values already keyed by their
/// type (`{"select": {...}}`) pass through.
pub fn property_values(
    schema: &Map<String, Value>,
    input: &Map<String, Value>,
) -> Result<Map<String, Value>, InputError> {
    let mut out = Map::new();
    for (key, raw) in input {
        let field = format!("properties.{key}");
        let (name, entry) = find_property(schema, key).ok_or_else(|| {
            let names: Vec<&str> = schema.keys().map(String::as_str).collect();
            bad(
                &field,
                format!(
                    "no property \"{key}\"; the properties are: {}",
                    names.join(", ")
                ),
            )
        })?;
        let kind = entry.get("type").and_then(Value::as_str).unwrap_or("");
        out.insert(name.clone(), property_value(&field, kind, raw)?);
    }
    Ok(out)
}

/// Find a schema entry by name, then by property id.
pub fn find_property<'a>(
    schema: &'a Map<String, Value>,
    key: &str,
) -> Option<(&'a String, &'a Value)> {
    schema.get_key_value(key).or_else(|| {
        schema
            .iter()
            .find(|(_, e)| e.get("id").and_then(Value::as_str) == Some(key))
    })
}

/// Whether `raw` is already Notion's `{<type>: ...}` value shape.
pub fn is_raw_value(kind: &str, raw: &Value) -> bool {
    raw.as_object()
        .is_some_and(|o| o.contains_key(kind) || o.get("type").is_some_and(|t| t == kind))
}

/// One readable value → `{<kind>: value}`.
pub fn property_value(field: &str, kind: &str, raw: &Value) -> Result<Value, InputError> {
    if is_raw_value(kind, raw) {
        return Ok(raw.clone());
    }
    if COMPUTED.contains(&kind) {
        return Err(bad(
            field,
            format!("is a {kind} property, which Notion computes; it cannot be set"),
        ));
    }
    let expected = |what: &str| {
        bad(
            field,
            format!("{kind} property: expected {what}, got {raw}"),
        )
    };
    let value = match kind {
        "title" | "rich_text" => match raw {
            Value::String(s) => Value::Array(plain_rich_text(s)),
            Value::Null => json!([]),
            Value::Array(items) if items.iter().all(Value::is_object) => raw.clone(),
            _ => return Err(expected("text")),
        },
        "number" => match raw {
            Value::Number(_) | Value::Null => raw.clone(),
            Value::String(s) => s
                .trim()
                .parse::<f64>()
                .ok()
                .and_then(serde_json::Number::from_f64)
                .map(Value::Number)
                .ok_or_else(|| expected("a number"))?,
            _ => return Err(expected("a number")),
        },
        "checkbox" => match raw {
            Value::Bool(_) => raw.clone(),
            Value::String(s) => match s.trim().to_ascii_lowercase().as_str() {
                "true" | "yes" | "x" | "checked" | "1" => json!(true),
                "false" | "no" | "" | "unchecked" | "0" => json!(false),
                _ => return Err(expected("true or false")),
            },
            _ => return Err(expected("true or false")),
        },
        "select" | "status" => match raw {
            Value::Null => Value::Null,
            Value::String(s) if s.trim().is_empty() => Value::Null,
            Value::String(s) => json!({"name": s.trim()}),
            Value::Object(o) if o.contains_key("name") || o.contains_key("id") => raw.clone(),
            _ => return Err(expected("an option name")),
        },
        "multi_select" => Value::Array(
            string_list(raw)
                .ok_or_else(|| expected("option names"))?
                .into_iter()
                .map(|n| json!({"name": n}))
                .collect(),
        ),
        "date" => {
            date(raw).ok_or_else(|| expected("a date like \"2025-01-02\" or {start, end}"))?
        }
        "people" | "relation" => {
            let what = if kind == "people" {
                "user ids"
            } else {
                "page ids or URLs"
            };
            let list = id_list(raw).ok_or_else(|| expected(what))?;
            let mut items = Vec::with_capacity(list.len());
            for (i, s) in list.iter().enumerate() {
                let id =
                    ids::parse_id(s).map_err(|e| bad(&format!("{field}[{i}]"), e.to_string()))?;
                items.push(json!({ "id": id }));
            }
            Value::Array(items)
        }
        "url" | "email" | "phone_number" => match raw {
            Value::String(s) if s.trim().is_empty() => Value::Null,
            Value::String(s) => json!(s.trim()),
            Value::Null => Value::Null,
            _ => return Err(expected("a string")),
        },
        "files" => {
            let list = match raw {
                Value::Array(a) => a.clone(),
                Value::Null => Vec::new(),
                other => vec![other.clone()],
            };
            let mut items = Vec::with_capacity(list.len());
            for (i, item) in list.iter().enumerate() {
                items.push(file_item(&format!("{field}[{i}]"), item)?);
            }
            Value::Array(items)
        }
        _ => return Err(expected(&format!("Notion's {{\"{kind}\": …}} value"))),
    };
    Ok(json!({ kind: value }))
}

/// A list of strings from an array, or a comma-separated string.
fn string_list(raw: &Value) -> Option<Vec<String>> {
    match raw {
        Value::Null => Some(Vec::new()),
        Value::String(s) => Some(
            s.split(',')
                .map(str::trim)
                .filter(|p| !p.is_empty())
                .map(str::to_string)
                .collect(),
        ),
        Value::Array(items) => items
            .iter()
            .map(|i| match i {
                Value::String(s) => Some(s.trim().to_string()),
                Value::Object(o) => o.get("name").and_then(Value::as_str).map(str::to_string),
                _ => None,
            })
            .collect(),
        _ => None,
    }
}

/// Ids from a string, a comma-separated string, an array of strings or of `{id}` objects.
fn id_list(raw: &Value) -> Option<Vec<String>> {
    match raw {
        Value::Array(items) => items
            .iter()
            .map(|i| match i {
                Value::String(s) => Some(s.clone()),
                Value::Object(o) => o.get("id").and_then(Value::as_str).map(str::to_string),
                _ => None,
            })
            .collect(),
        _ => string_list(raw),
    }
}

/// `"2025-01-02"`, `"2025-01-02/2025-01-05"`, `["start","end"]` or `{start, end?, time_zone?}`.
fn date(raw: &Value) -> Option<Value> {
    let looks_like_date = |s: &str| {
        let b = s.as_bytes();
        b.len() >= 10 && b[..4].iter().all(u8::is_ascii_digit) && b[4] == b'-' && b[7] == b'-'
    };
    match raw {
        Value::Null => Some(Value::Null),
        Value::String(s) => {
            let s = s.trim();
            if s.is_empty() {
                return Some(Value::Null);
            }
            let (start, end) = match s.split_once('/') {
                Some((a, b)) => (a.trim(), Some(b.trim())),
                None => (s, None),
            };
            if !looks_like_date(start) || end.is_some_and(|e| !looks_like_date(e)) {
                return None;
            }
            Some(json!({"start": start, "end": end}))
        }
        Value::Array(items) => match items.as_slice() {
            [Value::String(a)] => date(&json!(a)),
            [Value::String(a), Value::String(b)] => date(&json!(format!("{a}/{b}"))),
            _ => None,
        },
        Value::Object(o) => {
            let start = o.get("start").and_then(Value::as_str)?;
            looks_like_date(start).then(|| raw.clone())
        }
        _ => None,
    }
}

/// One `files` item: a URL, a file upload id, or Notion's own item shape.
fn file_item(field: &str, raw: &Value) -> Result<Value, InputError> {
    match raw {
        Value::Object(o) if o.contains_key("type") => Ok(raw.clone()),
        Value::String(s) if s.starts_with("http://") || s.starts_with("https://") => {
            let name = s
                .split(['?', '#'])
                .next()
                .and_then(|p| p.rsplit('/').next())
                .filter(|n| !n.is_empty())
                .unwrap_or("file");
            Ok(json!({"name": name, "type": "external", "external": {"url": s}}))
        }
        Value::String(s) => match upload_id(s) {
            Some(id) => Ok(json!({"name": id, "type": "file_upload", "file_upload": {"id": id}})),
            None => Err(bad(
                field,
                format!("'{s}' is not a URL or a file upload id"),
            )),
        },
        _ => Err(bad(field, "expected a URL or a file upload id")),
    }
}

// ---------------------------------------------------------------------------------------- schemas

/// A readable schema (`{"Name":"title","Status":{"select":["Todo","Done"]}}`) → Notion's
/// `properties` request object. `field` prefixes error paths (`properties`, `add`).
pub fn schema(field: &str, input: &Map<String, Value>) -> Result<Map<String, Value>, InputError> {
    let mut out = Map::new();
    for (name, raw) in input {
        out.insert(name.clone(), schema_entry(&format!("{field}.{name}"), raw)?);
    }
    Ok(out)
}

/// One readable schema entry → `{<type>: config}` (plus `name` when given).
pub fn schema_entry(field: &str, raw: &Value) -> Result<Value, InputError> {
    let unknown = |t: &str| {
        bad(
            field,
            format!(
                "unknown property type \"{t}\"; use one of: {}",
                PROPERTY_TYPES.join(", ")
            ),
        )
    };
    let (kind, config) = match raw {
        Value::String(t) => {
            let t = t.trim();
            let kind = if t == "text" { "rich_text" } else { t };
            if !PROPERTY_TYPES.contains(&kind) {
                return Err(unknown(t));
            }
            (kind.to_string(), Value::Null)
        }
        Value::Object(o) => {
            let kind = o
                .get("type")
                .and_then(Value::as_str)
                .map(str::to_string)
                .or_else(|| {
                    o.keys()
                        .find(|k| PROPERTY_TYPES.contains(&k.as_str()))
                        .cloned()
                })
                .ok_or_else(|| {
                    bad(
                        field,
                        "expected a type name like \"date\" or an object like {\"select\": [\"A\",\"B\"]}",
                    )
                })?;
            if !PROPERTY_TYPES.contains(&kind.as_str()) {
                return Err(unknown(&kind));
            }
            (kind.clone(), o.get(&kind).cloned().unwrap_or(Value::Null))
        }
        _ => return Err(bad(field, "expected a type name or a schema object")),
    };
    let config = schema_config(field, &kind, config)?;
    let mut entry = Map::new();
    if let Some(name) = raw.get("name").and_then(Value::as_str) {
        entry.insert("name".into(), json!(name));
    }
    if let Some(d) = raw.get("description").and_then(Value::as_str) {
        entry.insert("description".into(), json!(d));
    }
    entry.insert(kind, config);
    Ok(Value::Object(entry))
}

fn options(field: &str, raw: &Value) -> Result<Value, InputError> {
    let list = match raw {
        Value::Array(a) => a.clone(),
        Value::String(s) => s.split(',').map(|p| json!(p.trim())).collect(),
        _ => return Err(bad(field, "expected a list of option names")),
    };
    let mut out = Vec::with_capacity(list.len());
    for (i, o) in list.iter().enumerate() {
        out.push(match o {
            Value::String(name) => json!({ "name": name }),
            Value::Object(m) if m.contains_key("name") => o.clone(),
            _ => return Err(bad(&format!("{field}[{i}]"), "expected an option name")),
        });
    }
    Ok(json!({ "options": out }))
}

fn schema_config(field: &str, kind: &str, config: Value) -> Result<Value, InputError> {
    Ok(match (kind, config) {
        (_, Value::Null) if kind == "relation" => {
            return Err(bad(field, "a relation needs the target data source id"));
        }
        (_, Value::Null) if kind == "formula" => {
            return Err(bad(field, "a formula needs an expression"));
        }
        (_, Value::Null) => json!({}),
        ("select" | "multi_select" | "status", c @ (Value::Array(_) | Value::String(_))) => {
            options(field, &c)?
        }
        ("number", Value::String(f)) => json!({ "format": f }),
        ("formula", Value::String(e)) => json!({ "expression": e }),
        ("unique_id", Value::String(p)) => json!({ "prefix": p }),
        ("relation", Value::String(target)) => {
            let id = ids::parse_id(&target).map_err(|e| bad(field, e.to_string()))?;
            json!({"data_source_id": id, "type": "single_property", "single_property": {}})
        }
        ("relation", Value::Object(mut o)) => {
            if !o.contains_key("type") {
                o.insert("type".into(), json!("single_property"));
                o.insert("single_property".into(), json!({}));
            }
            Value::Object(o)
        }
        (_, c @ Value::Object(_)) => c,
        (_, other) => return Err(bad(field, format!("unexpected {kind} settings {other}"))),
    })
}

/// The relation targets of a converted schema (`(property name, data source id)`), so callers can
/// resolve a database id given in their place.
pub fn relation_targets(schema: &Map<String, Value>) -> Vec<(String, String)> {
    schema
        .iter()
        .filter_map(|(name, e)| {
            let id = e.pointer("/relation/data_source_id")?.as_str()?;
            Some((name.clone(), id.to_string()))
        })
        .collect()
}

/// Replace the relation target of property `name` (after resolving a database id).
pub fn set_relation_target(schema: &mut Map<String, Value>, name: &str, data_source_id: &str) {
    if let Some(r) = schema
        .get_mut(name)
        .and_then(|e| e.get_mut("relation"))
        .and_then(Value::as_object_mut)
    {
        r.insert("data_source_id".into(), json!(data_source_id));
        r.remove("database_id");
    }
}

#[cfg(test)]
#[path = "readable_tests.rs"]
mod tests;
