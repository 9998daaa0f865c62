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

/// A `parent` argument: a page, database or data source id or URL, or `"workspace"`.
///
/// Listed to clients as a plain string (the compact schema), but the object forms models often send
/// instead are accepted too: `{"page_id": "…"}`, `{"database_id": "…"}`, `{"data_source_id": "…"}`,
/// the Notion API's own `{"type": "page_id", "page_id": "…"}`, and `{"workspace": true}` (also as a
/// JSON-encoded string). Any other shape is refused with what to send instead.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ParentArg(String);

/// The keys a parent object may name its target with.
const PARENT_KEYS: [&str; 3] = ["page_id", "database_id", "data_source_id"];

impl ParentArg {
    /// Read a parent from the JSON a client sent.
    pub fn from_value(value: Value) -> Result<Self, String> {
        match value {
            Value::String(s) => {
                let trimmed = s.trim();
                if trimmed.starts_with('{')
                    && let Ok(Value::Object(o)) = serde_json::from_str::<Value>(trimmed)
                {
                    return Self::from_object(&o);
                }
                Ok(ParentArg(s))
            }
            Value::Object(o) => Self::from_object(&o),
            other => Err(format!(
                "expected a string, got {}; {}",
                crate::notion::endpoints::json_kind(&other),
                PARENT_HELP
            )),
        }
    }

    fn from_object(o: &Map<String, Value>) -> Result<Self, String> {
        let declared = o.get("type").and_then(Value::as_str);
        if declared == Some("workspace") || o.contains_key("workspace") {
            return match o.get("workspace") {
                None | Some(Value::Bool(true)) => Ok(ParentArg("workspace".into())),
                Some(_) => Err(format!("`workspace` must be true; {PARENT_HELP}")),
            };
        }
        let named: Vec<&str> = PARENT_KEYS
            .into_iter()
            .filter(|k| o.contains_key(*k))
            .collect();
        let key = match (declared, named.as_slice()) {
            (Some(t), _) if !PARENT_KEYS.contains(&t) => {
                return Err(format!("unknown parent type \"{t}\"; {PARENT_HELP}"));
            }
            (Some(t), _) => t,
            (None, [one]) => *one,
            (None, []) => {
                let keys: Vec<&str> = o.keys().map(String::as_str).collect();
                return Err(format!(
                    "an object with keys [{}] is not a parent; {PARENT_HELP}",
                    keys.join(", ")
                ));
            }
            (None, _) => {
                return Err(format!(
                    "the object names more than one parent ({}); {PARENT_HELP}",
                    named.join(", ")
                ));
            }
        };
        match o.get(key).and_then(Value::as_str) {
            Some(id) if !id.trim().is_empty() => Ok(ParentArg(id.to_string())),
            _ => Err(format!(
                "`{key}` must be a non-empty id string; {PARENT_HELP}"
            )),
        }
    }
}

const PARENT_HELP: &str = "send the parent's id or URL as a string (or \"workspace\")";

impl std::ops::Deref for ParentArg {
    type Target = str;
    fn deref(&self) -> &str {
        &self.0
    }
}

impl<'de> serde::Deserialize<'de> for ParentArg {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let value = Value::deserialize(d)?;
        ParentArg::from_value(value).map_err(serde::de::Error::custom)
    }
}

impl schemars::JsonSchema for ParentArg {
    fn inline_schema() -> bool {
        true
    }
    fn schema_name() -> std::borrow::Cow<'static, str> {
        String::schema_name()
    }
    fn json_schema(generator: &mut schemars::SchemaGenerator) -> schemars::Schema {
        String::json_schema(generator)
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

    #[derive(Debug, Deserialize, schemars::JsonSchema)]
    #[serde(deny_unknown_fields)]
    struct WithParent {
        /// Page id/URL or "workspace".
        parent: ParentArg,
    }

    fn parent_of(v: Value) -> Result<String, ToolError> {
        let schema = serde_json::to_value(schemars::schema_for!(WithParent)).expect("schema");
        let types = FieldTypes::from_schema(schema.as_object().expect("object"));
        decode::<WithParent>(obj(json!({ "parent": v })), &types).map(|a| a.parent.to_string())
    }

    #[test]
    fn parents_are_accepted_in_the_shapes_models_send() {
        let id = "59833787-2cf9-4fdf-8782-e53db20768a5";
        for v in [
            json!(id),
            json!({"page_id": id}),
            json!({"database_id": id}),
            json!({"data_source_id": id}),
            json!({"type": "page_id", "page_id": id}),
            json!({"type": "data_source_id", "data_source_id": id, "database_id": "x"}),
            json!(format!("{{\"page_id\": \"{id}\"}}")),
        ] {
            assert_eq!(parent_of(v.clone()).expect("accepted"), id, "{v}");
        }
        for v in [
            json!("workspace"),
            json!({"workspace": true}),
            json!({"type": "workspace", "workspace": true}),
        ] {
            assert_eq!(parent_of(v.clone()).expect("accepted"), "workspace", "{v}");
        }
    }

    #[test]
    fn other_parent_shapes_say_what_to_send() {
        for (v, why) in [
            (
                json!({"block_id": "abc"}),
                "keys [block_id] is not a parent",
            ),
            (
                json!({"type": "block_id", "block_id": "abc"}),
                "unknown parent type \"block_id\"",
            ),
            (
                json!({"page_id": "a", "database_id": "b"}),
                "more than one parent",
            ),
            (
                json!({"page_id": 5}),
                "`page_id` must be a non-empty id string",
            ),
            (json!({"workspace": false}), "`workspace` must be true"),
            (json!(42), "expected a string, got a number"),
        ] {
            match parent_of(v.clone()).expect_err("refused") {
                ToolError::InvalidArgument { field, message } => {
                    assert_eq!(field, "parent", "{v}");
                    assert!(message.contains(why), "{v}: {message}");
                    assert!(
                        message.contains("send the parent's id or URL as a string"),
                        "{message}"
                    );
                }
                other => panic!("unexpected {other:?}"),
            }
        }
    }

    #[test]
    fn a_parent_is_listed_as_a_plain_string() {
        let schema = serde_json::to_value(schemars::schema_for!(WithParent)).expect("schema");
        assert_eq!(schema["properties"]["parent"]["type"], "string", "{schema}");
        assert!(schema.get("$defs").is_none(), "{schema}");
    }

    #[test]
    fn nulls_mean_absent() {
        let a: Args = decode(obj(json!({"id":"x","limit":null})), &types()).expect("decodes");
        assert_eq!(a.limit, None);
    }
}
