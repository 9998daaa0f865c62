//! Lenient, precise argument decoding for tools.
//!
//! Clients often send JSON-encoded strings where an object or array belongs (`"filter": "{\"and\": …}"`),
//! numbers as strings, or booleans as `"true"`. Before decoding, each top-level argument is coerced
//! to the type its schema declares when that is unambiguous. Decoding errors name the exact field path
//! (`sorts[0].direction`) so the model can fix its call.

use super::error::ToolError;
use serde::de::DeserializeOwned;
use serde_json::{Map, Value};

/// The JSON types a top-level property's schema allows.
#[derive(Debug, Clone, Default)]
pub struct FieldTypes {
    pub fields: Vec<(String, Vec<String>)>,
}

impl FieldTypes {
    /// Read the allowed types of each top-level property from an input schema.
    pub fn from_schema(schema: &Map<String, Value>) -> Self {
        let mut fields = Vec::new();
        if let Some(props) = schema.get("properties").and_then(Value::as_object) {
            for (name, prop) in props {
                fields.push((name.clone(), types_of(prop, schema)));
            }
        }
        FieldTypes { fields }
    }

    fn types(&self, name: &str) -> Option<&[String]> {
        self.fields
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, t)| t.as_slice())
    }
}

/// The set of JSON types a (sub)schema allows; empty means "any".
fn types_of(prop: &Value, root: &Map<String, Value>) -> Vec<String> {
    let mut out = Vec::new();
    match prop.get("type") {
        Some(Value::String(t)) => out.push(t.clone()),
        Some(Value::Array(ts)) => {
            out.extend(ts.iter().filter_map(Value::as_str).map(str::to_string))
        }
        _ => {}
    }
    if let Some(r) = prop.get("$ref").and_then(Value::as_str) {
        let name = r.rsplit('/').next().unwrap_or("");
        for defs in ["$defs", "definitions"] {
            if let Some(target) = root.get(defs).and_then(|d| d.get(name)) {
                out.extend(types_of(target, root));
            }
        }
        if prop.get("enum").is_none() && out.is_empty() {
            out.push("object".into());
        }
    }
    for key in ["anyOf", "oneOf"] {
        if let Some(alts) = prop.get(key).and_then(Value::as_array) {
            for alt in alts {
                out.extend(types_of(alt, root));
            }
        }
    }
    if prop.get("enum").is_some() && out.is_empty() {
        out.push("string".into());
    }
    out
}

/// Decode `args` into `T`, coercing values per `types` first.
pub fn decode<T: DeserializeOwned>(
    args: Option<Map<String, Value>>,
    types: &FieldTypes,
) -> Result<T, ToolError> {
    let mut args = args.unwrap_or_default();
    for (name, value) in args.iter_mut() {
        if let Some(allowed) = types.types(name) {
            coerce(value, allowed);
        }
    }
    // Explicit nulls mean "not given" for optional arguments.
    args.retain(|_, v| !v.is_null());
    let value = Value::Object(args);
    serde_path_to_error::deserialize(value).map_err(|e| {
        let path = e.path().to_string();
        let field = if path == "." {
            "arguments".to_string()
        } else {
            path
        };
        ToolError::invalid(field, tidy(&e.inner().to_string()))
    })
}

/// Coerce a value to an allowed type when the conversion is unambiguous.
fn coerce(value: &mut Value, allowed: &[String]) {
    let allows = |t: &str| allowed.iter().any(|a| a == t);
    if allowed.is_empty() || allows("string") {
        // A free-form argument (`filter` declared as any JSON) may still arrive encoded as a string.
        if allowed.is_empty()
            && let Value::String(s) = value
            && matches!(s.trim_start().chars().next(), Some('{' | '['))
            && let Ok(parsed) = serde_json::from_str::<Value>(s)
        {
            *value = parsed;
        }
        return;
    }
    let Value::String(s) = value else { return };
    let s = s.trim();
    if (allows("object") || allows("array")) && (s.starts_with('{') || s.starts_with('[')) {
        if let Ok(parsed) = serde_json::from_str::<Value>(s) {
            *value = parsed;
        }
    } else if allows("integer") || allows("number") {
        if let Ok(n) = s.parse::<i64>() {
            *value = Value::from(n);
        } else if let Some(n) = s.parse::<f64>().ok().and_then(serde_json::Number::from_f64) {
            *value = Value::Number(n);
        }
    } else if allows("boolean") {
        match s.to_ascii_lowercase().as_str() {
            "true" => *value = Value::Bool(true),
            "false" => *value = Value::Bool(false),
            _ => {}
        }
    }
}

/// serde messages mention Rust types ("a map", "u32"); keep them but make them read naturally.
fn tidy(msg: &str) -> String {
    msg.replace("a map", "an object")
        .replace("a sequence", "an array")
        .replace("u32", "a non-negative integer")
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use serde::Deserialize;
    use serde_json::json;

    #[derive(Debug, Deserialize, schemars::JsonSchema)]
    #[serde(deny_unknown_fields)]
    #[allow(dead_code)]
    struct Args {
        id: String,
        filter: Option<Value>,
        sorts: Option<Vec<Sort>>,
        limit: Option<u32>,
        recursive: Option<bool>,
    }

    #[derive(Debug, Deserialize, schemars::JsonSchema)]
    #[allow(dead_code)]
    struct Sort {
        property: String,
        direction: Direction,
    }

    #[derive(Debug, Deserialize, schemars::JsonSchema)]
    #[serde(rename_all = "lowercase")]
    enum Direction {
        Ascending,
        Descending,
    }

    fn types() -> FieldTypes {
        let schema = serde_json::to_value(schemars::schema_for!(Args)).expect("schema");
        FieldTypes::from_schema(schema.as_object().expect("object"))
    }

    fn obj(v: Value) -> Option<Map<String, Value>> {
        v.as_object().cloned()
    }

    #[test]
    fn json_strings_numbers_and_booleans_are_coerced() {
        let a: Args = decode(
            obj(json!({"id":"x","filter":"{\"and\":[]}","sorts":"[{\"property\":\"Name\",\"direction\":\"ascending\"}]","limit":"25","recursive":"true"})),
            &types(),
        )
        .expect("decodes");
        assert_eq!(a.filter, Some(json!({"and": []})));
        assert_eq!(a.sorts.map(|s| s.len()), Some(1));
        assert_eq!(a.limit, Some(25));
        assert_eq!(a.recursive, Some(true));
    }

    #[test]
    fn errors_name_the_field_path() {
        let e = decode::<Args>(
            obj(json!({"id":"x","sorts":[{"property":"N","direction":"up"}]})),
            &types(),
        )
        .unwrap_err();
        match e {
            ToolError::InvalidArgument { field, message } => {
                assert_eq!(field, "sorts[0].direction");
                assert!(message.contains("ascending"), "{message}");
            }
            other => panic!("unexpected {other:?}"),
        }
        let e = decode::<Args>(obj(json!({"limit": 5})), &types()).unwrap_err();
        assert!(e.to_string().contains("missing field `id`"), "{e}");
        let e = decode::<Args>(obj(json!({"id":"x","limit": -1})), &types()).unwrap_err();
        assert!(e.to_string().contains("`limit`"), "{e}");
        let e = decode::<Args>(obj(json!({"id":"x","bogus": 1})), &types()).unwrap_err();
        assert!(e.to_string().contains("unknown field `bogus`"), "{e}");
    }

    #[test]
    fn nulls_mean_absent() {
        let a: Args = decode(obj(json!({"id":"x","limit":null})), &types()).expect("decodes");
        assert_eq!(a.limit, None);
    }
}
