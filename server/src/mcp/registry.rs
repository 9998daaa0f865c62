//! The tool registry: each tool's MCP definition (name, title, description, input schema, hints) and
//! the async function that runs it.
//!
//! Tools are plain async functions `fn(ToolCtx, Args) -> Result<T, ToolError>`, where `T` is a
//! `String` (all of it Notion content) or a [`ToolOutput`] (content plus the server's own notes);
//! the registry derives the JSON schema from `Args`, decodes arguments leniently, and boxes the
//! future. Either way the content reaches the client delimited as data ([`super::output`]).

use super::args::{FieldTypes, decode};
use super::context::ToolCtx;
use super::error::ToolError;
use super::output::ToolOutput;
use futures::FutureExt;
use rmcp::model::{ClientCapabilities, JsonObject, Tool, ToolAnnotations};
use schemars::JsonSchema;
use serde::de::DeserializeOwned;
use serde_json::Value;
use std::collections::HashMap;
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;

/// What a tool does to the workspace; becomes the MCP annotations.
#[derive(Debug, Clone, Copy)]
pub enum Effect {
    /// Reads only.
    Read,
    /// Creates or changes content. `destructive`: may overwrite or remove; `idempotent`: repeating
    /// the same call has no further effect.
    Write { destructive: bool, idempotent: bool },
}

type ToolFuture = Pin<Box<dyn Future<Output = Result<ToolOutput, ToolError>> + Send>>;
type Runner = Arc<dyn Fn(ToolCtx, Option<JsonObject>) -> ToolFuture + Send + Sync>;
type Checker = Arc<dyn Fn(Option<JsonObject>) -> Result<(), ToolError> + Send + Sync>;
/// The question a call of a tool puts to the user before it runs, if it asks one.
pub type Asks = fn(Option<&JsonObject>) -> Option<Question>;

/// What a tool asks the user before it runs, and what is not done when the user says no.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Question {
    pub text: String,
    pub not_done: String,
}

/// One tool: its MCP definition and its implementation.
pub struct ToolDef {
    pub tool: Tool,
    /// Whether the tool changes the workspace (read-only callers may not use it).
    pub writes: bool,
    /// Client capabilities a call needs; a client that did not declare them is refused with
    /// `-32021` (Missing Required Client Capability) before the tool runs.
    pub requires: Option<ClientCapabilities>,
    /// Whether a call from a client that takes tasks becomes a task at once, instead of after
    /// `--task-after-secs` (for work that is known to be long).
    pub task_at_once: bool,
    /// The confirmation the tool asks for before it runs, where the client can be asked.
    pub asks: Option<Asks>,
    run: Runner,
    check: Checker,
}

impl ToolDef {
    /// Define a tool from an async function over typed arguments.
    pub fn new<A, F, Fut, O>(
        name: &'static str,
        title: &str,
        description: &'static str,
        effect: Effect,
        f: F,
    ) -> Self
    where
        A: DeserializeOwned + JsonSchema + Send + 'static,
        F: Fn(ToolCtx, A) -> Fut + Send + Sync + 'static,
        Fut: Future<Output = Result<O, ToolError>> + Send + 'static,
        O: Into<ToolOutput>,
    {
        let schema = input_schema::<A>();
        let types = FieldTypes::from_schema(&schema);
        let annotations = match effect {
            // Only hints that differ from the spec's defaults or that clients require
            // (readOnlyHint, destructiveHint) are sent: openWorldHint defaults to true, idempotentHint
            // to false, and the title lives on the tool itself.
            Effect::Read => ToolAnnotations::new().read_only(true).destructive(false),
            Effect::Write {
                destructive,
                idempotent,
            } => {
                let hints = ToolAnnotations::new()
                    .read_only(false)
                    .destructive(destructive);
                if idempotent {
                    hints.idempotent(true)
                } else {
                    hints
                }
            }
        };
        let mut tool = Tool::default();
        tool.name = name.into();
        tool.title = Some(title.to_string());
        tool.description = Some(description.into());
        tool.input_schema = Arc::new(schema);
        tool.annotations = Some(annotations);
        let f = Arc::new(f);
        let check_types = types.clone();
        let check: Checker = Arc::new(move |args| decode::<A>(args, &check_types).map(drop));
        let run: Runner = Arc::new(move |ctx, args| {
            let f = f.clone();
            let decoded = decode::<A>(args, &types);
            // A call that panics ends with `ToolError::Internal` instead of taking its request (or
            // task) down with it.
            Box::pin(
                std::panic::AssertUnwindSafe(async move {
                    let a = decoded?;
                    f(ctx, a).await.map(Into::into)
                })
                .catch_unwind()
                .map(|r| r.unwrap_or(Err(ToolError::Internal))),
            )
        });
        ToolDef {
            tool,
            writes: !matches!(effect, Effect::Read),
            requires: None,
            task_at_once: false,
            asks: None,
            run,
            check,
        }
    }

    /// The tool needs these client capabilities (see [`ToolDef::requires`]).
    pub fn requiring(mut self, capabilities: ClientCapabilities) -> Self {
        self.requires = Some(capabilities);
        self
    }

    /// Calls become tasks at once for clients that take them (see [`ToolDef::task_at_once`]).
    pub fn becoming_task_at_once(mut self) -> Self {
        self.task_at_once = true;
        self
    }

    /// The tool asks the user before it runs (see [`ToolDef::asks`]).
    pub fn asking(mut self, asks: Asks) -> Self {
        self.asks = Some(asks);
        self
    }

    /// The capabilities this tool needs that `declared` (the client's) lacks, if any: every
    /// capability it requires must be declared, and every extension it requires among the client's
    /// extensions.
    pub fn missing_capabilities(
        &self,
        declared: Option<&ClientCapabilities>,
    ) -> Option<ClientCapabilities> {
        let required = self.requires.as_ref()?;
        let as_map = |c: &ClientCapabilities| match serde_json::to_value(c) {
            Ok(Value::Object(m)) => m,
            _ => JsonObject::new(),
        };
        let wanted = as_map(required);
        let have = declared.map(as_map).unwrap_or_default();
        let lacking = wanted
            .iter()
            .any(|(key, value)| match (key.as_str(), value) {
                ("extensions", Value::Object(exts)) => exts.keys().any(|ext| {
                    have.get("extensions")
                        .and_then(|e| e.get(ext))
                        .is_none_or(Value::is_null)
                }),
                _ => have.get(key).is_none_or(Value::is_null),
            });
        lacking.then(|| required.clone())
    }

    /// Decode raw arguments as [`ToolDef::call`] would (coercion, then the typed parameters), without
    /// running the tool.
    pub fn check_args(&self, args: Option<JsonObject>) -> Result<(), ToolError> {
        (self.check)(args)
    }

    /// Run the tool on raw arguments. A call that panics ends with [`ToolError::Internal`] instead
    /// of taking its request (or task) down with it.
    pub fn call(&self, ctx: ToolCtx, args: Option<JsonObject>) -> ToolFuture {
        (self.run)(ctx, args)
    }
}

/// All tools, in listing order.
pub struct Registry {
    defs: Vec<ToolDef>,
    index: HashMap<String, usize>,
    listed: Arc<Vec<Tool>>,
}

impl Registry {
    pub fn new(defs: Vec<ToolDef>) -> Self {
        let index = defs
            .iter()
            .enumerate()
            .map(|(i, d)| (d.tool.name.to_string(), i))
            .collect();
        let listed = Arc::new(defs.iter().map(|d| d.tool.clone()).collect());
        Registry {
            defs,
            index,
            listed,
        }
    }

    /// This registry with `more` tools listed after its own.
    pub fn extended(self, more: Vec<ToolDef>) -> Self {
        let mut defs = self.defs;
        defs.extend(more);
        Registry::new(defs)
    }

    pub fn get(&self, name: &str) -> Option<&ToolDef> {
        self.index.get(name).map(|&i| &self.defs[i])
    }

    /// The tool definitions as listed to clients (built once).
    pub fn tools(&self) -> Arc<Vec<Tool>> {
        self.listed.clone()
    }
}

/// A compact JSON Schema (2020-12, subschemas inlined, no `$schema`/`title` noise) for `A`.
fn input_schema<A: JsonSchema>() -> JsonObject {
    let mut settings = schemars::generate::SchemaSettings::draft2020_12();
    settings.inline_subschemas = true;
    let schema = settings.into_generator().into_root_schema_for::<A>();
    let mut value =
        serde_json::to_value(schema).unwrap_or_else(|_| serde_json::json!({"type": "object"}));
    strip_noise(&mut value, true);
    match value {
        Value::Object(mut o) => {
            o.entry("type")
                .or_insert_with(|| Value::String("object".into()));
            o.entry("properties")
                .or_insert_with(|| Value::Object(Default::default()));
            o
        }
        _ => JsonObject::new(),
    }
}

/// Rewrite a generated schema into the plain, compact form clients and models read best: no
/// `$schema`/root `title`, optional fields typed `X` rather than `[X, null]`, `anyOf [S, null]`
/// collapsed to `S`, one-of-constants collapsed to an `enum`, no Rust integer formats (nor their
/// `minimum: 0`).
fn strip_noise(v: &mut Value, top: bool) {
    let Value::Object(o) = v else { return };
    o.remove("$schema");
    if top {
        o.remove("title");
    }
    if o.get("format")
        .and_then(Value::as_str)
        .is_some_and(|f| f.starts_with("uint") || f.starts_with("int"))
    {
        // An unsigned type's `minimum: 0` goes with it: the tools check their own bounds.
        if o.get("format")
            .and_then(Value::as_str)
            .is_some_and(|f| f.starts_with("uint"))
            && o.get("minimum") == Some(&Value::from(0))
        {
            o.remove("minimum");
        }
        o.remove("format");
    }
    // `type: [X, "null"]` → `type: X` (optional arguments are simply not required).
    if let Some(Value::Array(types)) = o.get("type") {
        let non_null: Vec<Value> = types
            .iter()
            .filter(|t| t.as_str() != Some("null"))
            .cloned()
            .collect();
        if non_null.len() == 1 {
            o.insert("type".into(), non_null[0].clone());
        }
    }
    // `additionalProperties: false` costs bytes on every object and tells a model nothing it needs:
    // unknown arguments are still refused, by name, when the arguments are decoded. `true` is
    // JSON Schema's default: a free-form object is plainly `{"type": "object"}`.
    if matches!(o.get("additionalProperties"), Some(Value::Bool(_))) {
        o.remove("additionalProperties");
    }
    if let Some(Value::Array(values)) = o.get_mut("enum") {
        values.retain(|v| !v.is_null());
    }
    // `anyOf: [S, {type: null}]` → S, keeping this level's description.
    if let Some(Value::Array(alts)) = o.get("anyOf") {
        let non_null: Vec<&Value> = alts
            .iter()
            .filter(|a| a.get("type").and_then(Value::as_str) != Some("null"))
            .collect();
        if non_null.len() == 1
            && alts.len() == 2
            && let Some(inner) = non_null[0].as_object().cloned()
        {
            o.remove("anyOf");
            for (k, val) in inner {
                o.entry(k).or_insert(val);
            }
        }
    }
    // `oneOf` of string constants → `enum`.
    if let Some(Value::Array(alts)) = o.get("oneOf") {
        let consts: Option<Vec<Value>> = alts.iter().map(|a| a.get("const").cloned()).collect();
        if let Some(values) = consts.filter(|c| c.iter().all(Value::is_string)) {
            o.remove("oneOf");
            o.insert("type".into(), Value::String("string".into()));
            o.insert("enum".into(), Value::Array(values));
        }
    }
    // Recurse into subschemas only (never into the `properties` map's keys, which are names).
    if let Some(Value::Object(props)) = o.get_mut("properties") {
        for p in props.values_mut() {
            // An any-JSON field (`Value`) comes out as the boolean schema `true`, which MCP's own
            // schema refuses for a property; `{}` means the same and is an object.
            if *p == Value::Bool(true) {
                *p = Value::Object(Default::default());
            }
            strip_noise(p, false);
        }
    }
    for key in ["items", "additionalProperties", "not"] {
        if let Some(sub) = o.get_mut(key) {
            strip_noise(sub, false);
        }
    }
    for key in ["anyOf", "oneOf", "allOf", "prefixItems"] {
        if let Some(Value::Array(subs)) = o.get_mut(key) {
            subs.iter_mut().for_each(|s| strip_noise(s, false));
        }
    }
    if let Some(Value::Object(defs)) = o.get_mut("$defs") {
        defs.values_mut().for_each(|d| strip_noise(d, false));
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn optional_and_enum_schemas_are_plain() {
        let mut v = json!({
            "$schema": "x", "title": "Args", "type": "object", "additionalProperties": false,
            "properties": {
                "type": {"type": ["string", "null"], "enum": ["page", null], "description": "kind"},
                "limit": {"type": ["integer", "null"], "format": "uint32", "minimum": 0},
                "depth": {"type": "integer", "format": "int32", "minimum": 0},
                "format": {"anyOf": [{"description": "Output.", "oneOf": [
                    {"type": "string", "const": "markdown"}, {"type": "string", "const": "json"}]}, {"type": "null"}]}
            }
        });
        strip_noise(&mut v, true);
        assert_eq!(
            v,
            json!({
                "type": "object",
                "properties": {
                    "type": {"type": "string", "enum": ["page"], "description": "kind"},
                    "limit": {"type": "integer"},
                    "depth": {"type": "integer", "minimum": 0},
                    "format": {"description": "Output.", "type": "string", "enum": ["markdown", "json"]}
                }
            })
        );
    }

    /// Keywords every client's schema dialect understands (OpenAPI's subset included).
    const PORTABLE_KEYWORDS: [&str; 9] = [
        "type",
        "description",
        "properties",
        "required",
        "items",
        "enum",
        "minimum",
        "maximum",
        "default",
    ];

    /// What makes `schema` (at `path`) unportable: boolean schemas, a missing or multi-valued
    /// `type`, arrays without `items`, keywords outside [`PORTABLE_KEYWORDS`].
    fn portability_problems(path: &str, schema: &Value, out: &mut Vec<String>) {
        let Value::Object(o) = schema else {
            out.push(format!(
                "{path}: bare `{schema}` where a schema object belongs"
            ));
            return;
        };
        match o.get("type") {
            Some(Value::String(_)) => {}
            Some(other) => out.push(format!("{path}: `type` is {other}, not one type name")),
            None => out.push(format!("{path}: no `type`")),
        }
        if o.get("type") == Some(&json!("array")) && !o.contains_key("items") {
            out.push(format!("{path}: an array without `items`"));
        }
        for key in o.keys() {
            if !PORTABLE_KEYWORDS.contains(&key.as_str()) {
                out.push(format!("{path}: unsupported keyword `{key}`"));
            }
        }
        if let Some(props) = o.get("properties").and_then(Value::as_object) {
            for (name, sub) in props {
                portability_problems(&format!("{path}.properties.{name}"), sub, out);
            }
        }
        if let Some(items) = o.get("items") {
            portability_problems(&format!("{path}.items"), items, out);
        }
    }

    #[test]
    fn every_tool_schema_is_portable() {
        let mut problems = Vec::new();
        for def in crate::mcp::tools::all() {
            let schema = Value::Object((*def.tool.input_schema).clone());
            portability_problems(&def.tool.name, &schema, &mut problems);
        }
        assert!(problems.is_empty(), "{}", problems.join("\n"));
        // The check itself refuses what it should.
        let mut found = Vec::new();
        let bad = json!({"type": "object", "properties": {"a": true, "b": {}, "c": {"type": "array"},
            "d": {"type": ["string", "null"]}, "e": {"type": "object", "additionalProperties": true}}});
        portability_problems("t", &bad, &mut found);
        assert_eq!(found.len(), 5, "{found:?}");
    }

    #[test]
    fn any_json_property_is_an_object_schema() {
        let mut v =
            json!({"type": "object", "properties": {"filter": true, "id": {"type": "string"}}});
        strip_noise(&mut v, true);
        assert_eq!(v["properties"]["filter"], json!({}));
        assert_eq!(v["properties"]["id"], json!({"type": "string"}));
    }
}
