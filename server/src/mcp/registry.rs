//! The tool registry: each tool's MCP definition (name, title, description, input schema, hints) and
//! the async function that runs it.
//!
//! Tools are plain async functions `fn(ToolCtx, Args) -> Result<String, ToolError>`; the registry
//! derives the JSON schema from `Args`, decodes arguments leniently, and boxes the future.

use super::args::{FieldTypes, decode};
use super::context::ToolCtx;
use super::error::ToolError;
use rmcp::model::{JsonObject, Tool, ToolAnnotations};
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
    #[allow(dead_code)]
    Write { destructive: bool, idempotent: bool },
}

type ToolFuture = Pin<Box<dyn Future<Output = Result<String, ToolError>> + Send>>;
type Runner = Arc<dyn Fn(ToolCtx, Option<JsonObject>) -> ToolFuture + Send + Sync>;

/// One tool: its MCP definition and its implementation.
pub struct ToolDef {
    pub tool: Tool,
    types: FieldTypes,
    run: Runner,
}

impl ToolDef {
    /// Define a tool from an async function over typed arguments.
    pub fn new<A, F, Fut>(
        name: &'static str,
        title: &str,
        description: &'static str,
        effect: Effect,
        f: F,
    ) -> Self
    where
        A: DeserializeOwned + JsonSchema + Send + 'static,
        F: Fn(ToolCtx, A) -> Fut + Send + Sync + 'static,
        Fut: Future<Output = Result<String, ToolError>> + Send + 'static,
    {
        let schema = input_schema::<A>();
        let types = FieldTypes::from_schema(&schema);
        let annotations = match effect {
            Effect::Read => ToolAnnotations::with_title(title)
                .read_only(true)
                .destructive(false)
                .idempotent(true),
            Effect::Write {
                destructive,
                idempotent,
            } => ToolAnnotations::with_title(title)
                .read_only(false)
                .destructive(destructive)
                .idempotent(idempotent),
        }
        .open_world(true);
        let mut tool = Tool::default();
        tool.name = name.into();
        tool.title = Some(title.to_string());
        tool.description = Some(description.into());
        tool.input_schema = Arc::new(schema);
        tool.annotations = Some(annotations);
        let f = Arc::new(f);
        let types_for_run = types.clone();
        let run: Runner = Arc::new(move |ctx, args| {
            let f = f.clone();
            let decoded = decode::<A>(args, &types_for_run);
            Box::pin(async move {
                let a = decoded?;
                f(ctx, a).await
            })
        });
        ToolDef { tool, types, run }
    }

    /// Run the tool on raw arguments.
    pub fn call(&self, ctx: ToolCtx, args: Option<JsonObject>) -> ToolFuture {
        (self.run)(ctx, args)
    }

    #[allow(dead_code)]
    pub fn field_types(&self) -> &FieldTypes {
        &self.types
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

/// Remove schema keys that cost tokens and tell a model nothing.
fn strip_noise(v: &mut Value, top: bool) {
    match v {
        Value::Object(o) => {
            o.remove("$schema");
            if top {
                o.remove("title");
            }
            // `format: uint32` and friends are Rust details; `minimum: 0` already says it.
            if o.get("format")
                .and_then(Value::as_str)
                .is_some_and(|f| f.starts_with("uint") || f.starts_with("int"))
            {
                o.remove("format");
            }
            // Only the root title goes: below it, "title" may be a property name.
            for child in o.values_mut() {
                strip_noise(child, false);
            }
        }
        Value::Array(a) => a.iter_mut().for_each(|c| strip_noise(c, false)),
        _ => {}
    }
}
