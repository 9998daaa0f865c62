//! Database and data-source writes: `create_database` (with a readable initial schema),
//! `update_database` (the container: title, description, icon, lock, trash), `create_data_source`
//! and `update_data_source` (title; add / rename / remove properties).

use super::id_arg;
use super::pages_write::arg_error;
use crate::mcp::args::ParentArg;
use crate::mcp::context::ToolCtx;
use crate::mcp::error::ToolError;
use crate::mcp::registry::{Effect, ToolDef};
use crate::notion::{endpoints, writes};
use notion_model::readable::{self, plain_rich_text};
use notion_model::types::DataSource;
use schemars::JsonSchema;
use serde::Deserialize;
use serde_json::{Map, Value, json};

pub fn tools() -> Vec<ToolDef> {
    vec![
        ToolDef::new(
            "create_database",
            "Create database",
            "New database under a page. properties: name → type or {type: settings}, e.g. \
             {\"Name\":\"title\",\"Tags\":{\"multi_select\":[\"a\"]},\"Task\":{\"relation\":\"<id>\"}}.",
            Effect::Write {
                destructive: false,
                idempotent: false,
            },
            create_database,
        ),
        ToolDef::new(
            "update_database",
            "Update database",
            "Set a database's title, description, icon or lock, or trash it (true deletes, false restores). Schema: \
             update_data_source.",
            Effect::Write {
                destructive: true,
                idempotent: true,
            },
            update_database,
        ),
        ToolDef::new(
            "create_data_source",
            "Create data source",
            "Add a data source (a table with its own schema, properties as create_database) to an existing database.",
            Effect::Write {
                destructive: false,
                idempotent: false,
            },
            create_data_source,
        ),
        ToolDef::new(
            "update_data_source",
            "Update data source",
            "Change a data source's title or schema: add properties (as create_database), rename {old: new}, remove \
             [names].",
            Effect::Write {
                destructive: true,
                idempotent: false,
            },
            update_data_source,
        ),
    ]
}

/// Readable schema → Notion's, with relation targets given as database ids resolved to data sources.
async fn schema(
    ctx: &ToolCtx,
    field: &str,
    input: &Map<String, Value>,
) -> Result<Map<String, Value>, ToolError> {
    let mut out = readable::schema(field, input).map_err(arg_error)?;
    for (name, target) in readable::relation_targets(&out) {
        let ds = writes::data_source_of(&ctx.notion, &ctx.auth, &target)
            .await
            .map_err(|e| {
                ToolError::invalid(
                    format!("{field}.{name}"),
                    format!("relation target {target}: {e}"),
                )
            })?;
        readable::set_relation_target(&mut out, &name, &ds.id);
    }
    Ok(out)
}

/// Every data source needs one title property: add `Name` when the schema has none.
fn ensure_title(props: &mut Map<String, Value>) {
    if !props.values().any(|e| e.get("title").is_some()) {
        props.insert("Name".into(), json!({"title": {}}));
    }
}

fn data_sources_line(db: &Value) -> String {
    db.get("data_sources")
        .and_then(Value::as_array)
        .map(|l| {
            l.iter()
                .filter_map(|d| d.get("id").and_then(Value::as_str))
                .collect::<Vec<_>>()
                .join(", ")
        })
        .unwrap_or_default()
}

#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct CreateDbArgs {
    /// Page id/URL or "workspace".
    parent: ParentArg,
    title: String,
    properties: Option<Map<String, Value>>,
    description: Option<String>,
    inline: Option<bool>,
    icon: Option<String>,
}

async fn create_database(ctx: ToolCtx, a: CreateDbArgs) -> Result<String, ToolError> {
    let mut props = match &a.properties {
        Some(p) => schema(&ctx, "properties", p).await?,
        None => Map::new(),
    };
    ensure_title(&mut props);
    let parent = if a.parent.trim().eq_ignore_ascii_case("workspace") {
        json!({"type": "workspace", "workspace": true})
    } else {
        json!({"type": "page_id", "page_id": id_arg("parent", &a.parent)?})
    };
    let mut body = json!({
        "parent": parent,
        "title": plain_rich_text(&a.title),
        "initial_data_source": {"properties": props},
    });
    if let Some(d) = &a.description {
        body["description"] = json!(plain_rich_text(d));
    }
    if let Some(i) = a.inline {
        body["is_inline"] = json!(i);
    }
    if let Some(i) = &a.icon {
        body["icon"] = super::emojis::icon_value(&ctx, "icon", i, false).await?;
    }
    let db = writes::create_database(&ctx.notion, &ctx.auth, body).await?;
    let id = writes::object_id(&db, "POST /v1/databases")?;
    Ok(format!(
        "Created database \"{}\" ({id}) {}\nData source: {}",
        writes::plain_title(&db),
        db.get("url").and_then(Value::as_str).unwrap_or(""),
        data_sources_line(&db)
    ))
}

#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct CreateDsArgs {
    /// Database id/URL.
    database: String,
    title: Option<String>,
    properties: Option<Map<String, Value>>,
}

async fn create_data_source(ctx: ToolCtx, a: CreateDsArgs) -> Result<String, ToolError> {
    let db = id_arg("database", &a.database)?;
    let mut props = match &a.properties {
        Some(p) => schema(&ctx, "properties", p).await?,
        None => Map::new(),
    };
    ensure_title(&mut props);
    let mut body = json!({
        "parent": {"type": "database_id", "database_id": db},
        "properties": props,
    });
    if let Some(t) = &a.title {
        body["title"] = json!(plain_rich_text(t));
    }
    let ds = writes::create_data_source(&ctx.notion, &ctx.auth, body).await?;
    let id = writes::object_id(&ds, "POST /v1/data_sources")?;
    Ok(format!(
        "Created data source \"{}\" ({id}) in database {db}.",
        writes::plain_title(&ds)
    ))
}

#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct UpdateDbArgs {
    /// Database id/URL.
    id: String,
    title: Option<String>,
    description: Option<String>,
    icon: Option<String>,
    locked: Option<bool>,
    trash: Option<bool>,
}

/// Update a database; a data source id is taken to mean its database (Notion only answers "not
/// found" for it, so it is looked up after that answer).
async fn patch_database(
    ctx: &ToolCtx,
    id: &str,
    body: Value,
) -> Result<(String, Value), ToolError> {
    match writes::update_database(&ctx.notion, &ctx.auth, id, body.clone()).await {
        Ok(db) => Ok((id.to_string(), db)),
        Err(e) if matches!(e.status(), Some(400 | 404)) => {
            let parent = match endpoints::retrieve_data_source(&ctx.notion, &ctx.auth, id).await {
                Ok(ds) => ds
                    .parent
                    .get("database_id")
                    .and_then(Value::as_str)
                    .map(str::to_string),
                Err(_) => None,
            };
            let Some(db_id) = parent.filter(|p| p != id) else {
                return Err(e.into());
            };
            let db = writes::update_database(&ctx.notion, &ctx.auth, &db_id, body).await?;
            Ok((db_id, db))
        }
        Err(e) => Err(e.into()),
    }
}

async fn update_database(ctx: ToolCtx, a: UpdateDbArgs) -> Result<String, ToolError> {
    let id = id_arg("id", &a.id)?;
    let mut body = json!({});
    if let Some(t) = &a.title {
        body["title"] = json!(plain_rich_text(t));
    }
    if let Some(d) = &a.description {
        body["description"] = json!(plain_rich_text(d));
    }
    if let Some(i) = &a.icon {
        body["icon"] = super::emojis::icon_value(&ctx, "icon", i, true).await?;
    }
    if let Some(t) = a.trash {
        body["in_trash"] = json!(t);
    }
    if let Some(l) = a.locked {
        body["is_locked"] = json!(l);
    }
    if body.as_object().is_some_and(Map::is_empty) {
        return Err(ToolError::invalid(
            "arguments",
            "nothing to change: give title, description, icon, locked or trash \
             (update_data_source changes the schema)",
        ));
    }
    let (db_id, db) = patch_database(&ctx, &id, body).await?;
    let flag = |k: &str| db.get(k) == Some(&json!(true));
    let state = match (flag("in_trash"), flag("is_locked")) {
        (true, _) => " (in the trash; trash=false restores it)",
        (_, true) => " (locked)",
        _ => "",
    };
    Ok(format!(
        "Updated database \"{}\" ({db_id}){state}.",
        writes::plain_title(&db)
    ))
}

#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct UpdateDsArgs {
    /// Data source (or database) id.
    id: String,
    title: Option<String>,
    add: Option<Map<String, Value>>,
    rename: Option<Map<String, Value>>,
    remove: Option<Vec<String>>,
}

/// The `properties` change of a schema edit (validated against the current schema).
async fn schema_changes(
    ctx: &ToolCtx,
    ds: &DataSource,
    a: &UpdateDsArgs,
) -> Result<Map<String, Value>, ToolError> {
    let exists = |field: String, name: &str| -> Result<(), ToolError> {
        let found = ds.properties.contains_key(name)
            || ds
                .properties
                .values()
                .any(|e| e.get("id").and_then(Value::as_str) == Some(name));
        if found {
            Ok(())
        } else {
            let names: Vec<&str> = ds.properties.keys().map(String::as_str).collect();
            Err(ToolError::invalid(
                field,
                format!(
                    "no property \"{name}\"; the properties are: {}",
                    names.join(", ")
                ),
            ))
        }
    };
    let mut changes = match &a.add {
        Some(add) => schema(ctx, "add", add).await?,
        None => Map::new(),
    };
    for (old, new) in a.rename.iter().flatten() {
        exists(format!("rename.{old}"), old)?;
        let new = new
            .as_str()
            .map(str::trim)
            .filter(|n| !n.is_empty())
            .ok_or_else(|| ToolError::invalid(format!("rename.{old}"), "expected the new name"))?;
        match changes.get_mut(old).and_then(Value::as_object_mut) {
            Some(entry) => {
                entry.insert("name".into(), json!(new));
            }
            None => {
                changes.insert(old.clone(), json!({ "name": new }));
            }
        }
    }
    for (i, name) in a.remove.iter().flatten().enumerate() {
        exists(format!("remove[{i}]"), name)?;
        changes.insert(name.clone(), Value::Null);
    }
    Ok(changes)
}

async fn update_data_source(ctx: ToolCtx, a: UpdateDsArgs) -> Result<String, ToolError> {
    let id = id_arg("id", &a.id)?;
    if a.title.is_none() && a.add.is_none() && a.rename.is_none() && a.remove.is_none() {
        return Err(ToolError::invalid(
            "arguments",
            "nothing to change: give title, add, rename or remove",
        ));
    }
    let ds = writes::data_source_of(&ctx.notion, &ctx.auth, &id).await?;
    let mut body = json!({});
    if a.add.is_some() || a.rename.is_some() || a.remove.is_some() {
        body["properties"] = Value::Object(schema_changes(&ctx, &ds, &a).await?);
    }
    if let Some(t) = &a.title {
        body["title"] = json!(plain_rich_text(t));
    }
    let updated = writes::update_data_source(&ctx.notion, &ctx.auth, &ds.id, body).await?;
    let names: Vec<&str> = updated
        .get("properties")
        .and_then(Value::as_object)
        .map(|p| p.keys().map(String::as_str).collect())
        .unwrap_or_default();
    Ok(format!(
        "Data source \"{}\" ({}) properties: {}.",
        writes::plain_title(&updated),
        ds.id,
        names.join(", ")
    ))
}
