//! Database (container) and data source endpoints: create/retrieve/update, schema edits,
//! query with filters, sorts and the result cap, and templates.

use serde_json::{Map, Value, json};
use uuid::Uuid;

use super::pages::parse_parent;
use super::{Ctx, body_id, path_id, required};
use crate::blocks::{self, InsertAt};
use crate::errors::{ApiError, ApiResult};
use crate::ids::{fmt_id, parse_id};
use crate::pagination::{self, list_body};
use crate::properties::parse_schema_entry;
use crate::query::{QueryCtx, matches, sort_pages};
use crate::render::{self, file_or_emoji};
use crate::richtext::{self, plain_text};
use crate::state::{DataSource, Database, Page, Parent, PropSchema, State};
use crate::webhooks::Change;

/// Creates a database container (no data sources yet) and links it into a parent page.
pub fn new_database(
    state: &mut State,
    workspace_id: Uuid,
    parent: Parent,
    title: Vec<Value>,
    by: Uuid,
    id: Option<Uuid>,
) -> Uuid {
    let id = id.unwrap_or_else(|| state.new_id());
    let stamp = state.stamp(by);
    state.databases.insert(
        id,
        Database {
            id,
            workspace_id,
            parent,
            title,
            description: Vec::new(),
            is_inline: false,
            icon: None,
            cover: None,
            in_trash: false,
            is_locked: false,
            data_sources: Vec::new(),
            created: stamp,
            edited: stamp,
        },
    );
    if let Parent::Page(p) | Parent::Block(p) = parent {
        blocks::place(state, p, &[id], InsertAt::End);
    }
    id
}

/// Parses a schema map into entries (adds a `Name` title property when none is given).
pub fn parse_schema(scope: &str, raw: &Value) -> ApiResult<Vec<PropSchema>> {
    let obj = raw
        .as_object()
        .ok_or_else(|| ApiError::should_be("body.properties", "an object", raw))?;
    let mut out: Vec<PropSchema> = Vec::new();
    for (name, entry) in obj {
        let taken: Vec<String> = out.iter().map(|p| p.id.clone()).collect();
        out.push(parse_schema_entry(scope, name, entry, &taken)?);
    }
    match out.iter().filter(|p| p.kind == "title").count() {
        0 => out.insert(
            0,
            parse_schema_entry(scope, "Name", &json!({"title": {}}), &[])?,
        ),
        1 => {}
        _ => {
            return Err(ApiError::body_validation(
                "body.properties should have exactly one title property.",
            ));
        }
    }
    Ok(out)
}

/// Creates a data source under `database_id`.
pub fn new_data_source(
    state: &mut State,
    database_id: Uuid,
    title: Vec<Value>,
    schema: Vec<PropSchema>,
    by: Uuid,
    id: Option<Uuid>,
) -> ApiResult<Uuid> {
    let id = id.unwrap_or_else(|| state.new_id());
    let workspace_id = state
        .databases
        .get(&database_id)
        .map(|d| d.workspace_id)
        .ok_or_else(|| ApiError::not_found("database", &fmt_id(&database_id)))?;
    let stamp = state.stamp(by);
    state.data_sources.insert(
        id,
        DataSource {
            id,
            database_id,
            workspace_id,
            title,
            description: Vec::new(),
            icon: None,
            properties: schema,
            rows: Vec::new(),
            templates: Vec::new(),
            in_trash: false,
            created: stamp,
            edited: stamp,
        },
    );
    if let Some(db) = state.databases.get_mut(&database_id) {
        db.data_sources.push(id);
    }
    Ok(id)
}

/// Resolves relation targets of `ds_id` (a data source id, a database id, or — when
/// `by_name` — a data source title in the same workspace) and fills `database_id`.
pub fn resolve_relations(state: &mut State, ds_id: &Uuid, by_name: bool) -> ApiResult<()> {
    let Some(ds) = state.data_sources.get(ds_id).cloned() else {
        return Ok(());
    };
    let mut props = ds.properties.clone();
    for p in props.iter_mut().filter(|p| p.kind == "relation") {
        let raw = p.config["data_source_id"]
            .as_str()
            .or_else(|| p.config["database_id"].as_str())
            .unwrap_or("")
            .to_string();
        let target = parse_id(&raw)
            .or_else(|| by_name.then(|| crate::ids::stable_id(&raw)))
            .and_then(|id| {
                if state.data_sources.contains_key(&id) {
                    Some(id)
                } else {
                    state
                        .databases
                        .get(&id)
                        .and_then(|d| d.data_sources.first().copied())
                }
            })
            .or_else(|| {
                by_name.then(|| {
                    state
                        .data_sources
                        .values()
                        .filter(|d| d.workspace_id == ds.workspace_id)
                        .find(|d| {
                            plain_text(&d.title) == raw
                                || state
                                    .databases
                                    .get(&d.database_id)
                                    .is_some_and(|db| plain_text(&db.title) == raw)
                        })
                        .map(|d| d.id)
                })?
            })
            .filter(|t| {
                state
                    .data_sources
                    .get(t)
                    .is_some_and(|d| d.workspace_id == ds.workspace_id)
            })
            .ok_or_else(|| {
                ApiError::validation(format!(
                    "Relation property {} points at unknown data source `{raw}`.",
                    p.name
                ))
            })?;
        let db = state
            .data_sources
            .get(&target)
            .map(|d| fmt_id(&d.database_id));
        p.config["data_source_id"] = json!(fmt_id(&target));
        p.config["database_id"] = json!(db);
    }
    if let Some(d) = state.data_sources.get_mut(ds_id) {
        d.properties = props;
    }
    Ok(())
}

fn rich(ctx: &Ctx, key: &str) -> ApiResult<Option<Vec<Value>>> {
    ctx.field(key)
        .map(|v| richtext::normalize(v, &format!("body.{key}")))
        .transpose()
}

pub fn create_database(state: &mut State, ctx: &Ctx) -> ApiResult<Value> {
    ctx.need(|c| c.insert_content, "insert_content")?;
    let parent = parse_parent(
        state,
        ctx,
        required(ctx, "parent")?,
        &["page_id", "workspace"],
    )?;
    let title = rich(ctx, "title")?.unwrap_or_default();
    let initial = ctx
        .field("initial_data_source")
        .cloned()
        .unwrap_or(json!({}));
    let schema_raw = initial.get("properties").cloned().unwrap_or(json!({}));
    let scope = fmt_id(&state.new_id());
    let schema = parse_schema(&scope, &schema_raw)?;
    let description = rich(ctx, "description")?.unwrap_or_default();
    let (icon, cover) = (ctx.file_field("icon")?, ctx.file_field("cover")?);
    let ds_title = match initial.get("title") {
        Some(t) => richtext::normalize(t, "body.initial_data_source.title")?,
        None => title.clone(),
    };
    let id = new_database(state, ctx.bot.workspace_id, parent, title, ctx.bot.id, None);
    let ds = new_data_source(state, id, ds_title, schema, ctx.bot.id, None)?;
    if let Err(e) = resolve_relations(state, &ds, false) {
        remove_database(state, &id);
        return Err(e);
    }
    if let Some(db) = state.databases.get_mut(&id) {
        db.description = description;
        db.is_inline = ctx
            .field("is_inline")
            .and_then(Value::as_bool)
            .unwrap_or(false);
        db.icon = icon;
        db.cover = cover;
    }
    state.record_all([Change::DatabaseCreated(id), Change::DataSourceCreated(ds)]);
    let db = state.database(&ctx.bot, &id)?;
    Ok(render::database(state, ctx.version, db))
}

fn remove_database(state: &mut State, id: &Uuid) {
    if let Some(db) = state.databases.remove(id) {
        for ds in db.data_sources {
            state.data_sources.remove(&ds);
        }
        state.detach(&db.parent, id);
    }
}

pub fn get_database(state: &mut State, ctx: &Ctx, raw: &str) -> ApiResult<Value> {
    ctx.need(|c| c.read_content, "read_content")?;
    let id = path_id(raw, "database_id")?;
    let db = state.database(&ctx.bot, &id)?;
    Ok(render::database(state, ctx.version, db))
}

pub fn update_database(state: &mut State, ctx: &Ctx, raw: &str) -> ApiResult<Value> {
    ctx.need(|c| c.update_content, "update_content")?;
    let id = path_id(raw, "database_id")?;
    let mut db = state.database(&ctx.bot, &id)?.clone();
    let trash = ctx.trash_flag()?;
    if let Some(t) = rich(ctx, "title")? {
        db.title = t;
    }
    if let Some(d) = rich(ctx, "description")? {
        db.description = d;
    }
    if let Some(i) = ctx.field("is_inline").and_then(Value::as_bool) {
        db.is_inline = i;
    }
    if let Some(icon) = ctx.body.get("icon") {
        db.icon = file_or_emoji(icon, "body.icon")?;
    }
    if let Some(cover) = ctx.body.get("cover") {
        db.cover = file_or_emoji(cover, "body.cover")?;
    }
    if let Some(l) = ctx.field("is_locked").and_then(Value::as_bool) {
        db.is_locked = l;
    }
    if let Some(t) = trash
        && t != db.in_trash
    {
        db.in_trash = t;
        state.record(Change::Trashed { id, in_trash: t });
    }
    if let Some(p) = ctx.field("parent") {
        let target = parse_parent(state, ctx, p, &["page_id", "workspace"])?;
        if target != db.parent {
            state.detach(&db.parent, &id);
            if let Parent::Page(pid) = target {
                blocks::place(state, pid, &[id], InsertAt::End);
            }
            db.parent = target;
            state.record(Change::DatabaseMoved(id));
        }
    }
    db.edited = state.stamp(ctx.bot.id);
    state.databases.insert(id, db);
    let db = state.database(&ctx.bot, &id)?;
    Ok(render::database(state, ctx.version, db))
}

pub fn create_data_source(state: &mut State, ctx: &Ctx) -> ApiResult<Value> {
    ctx.need(|c| c.insert_content, "insert_content")?;
    let parent = required(ctx, "parent")?;
    let db_id = body_id(
        parent.get("database_id").unwrap_or(&Value::Null),
        "body.parent.database_id",
    )?;
    state.database(&ctx.bot, &db_id)?;
    let scope = fmt_id(&state.new_id());
    let schema = parse_schema(&scope, required(ctx, "properties")?)?;
    let title = rich(ctx, "title")?.unwrap_or_default();
    let icon = ctx.file_field("icon")?;
    let id = new_data_source(state, db_id, title, schema, ctx.bot.id, None)?;
    if let Err(e) = resolve_relations(state, &id, false) {
        state.data_sources.remove(&id);
        if let Some(db) = state.databases.get_mut(&db_id) {
            db.data_sources.retain(|d| *d != id);
        }
        return Err(e);
    }
    if let Some(ds) = state.data_sources.get_mut(&id) {
        ds.icon = icon;
    }
    state.record(Change::DataSourceCreated(id));
    let ds = state.data_source(&ctx.bot, &id)?;
    Ok(render::data_source(state, ctx.version, ds))
}

pub fn get_data_source(state: &mut State, ctx: &Ctx, raw: &str) -> ApiResult<Value> {
    ctx.need(|c| c.read_content, "read_content")?;
    let id = path_id(raw, "data_source_id")?;
    let ds = state.data_source(&ctx.bot, &id)?;
    Ok(render::data_source(state, ctx.version, ds))
}

fn edit_schema(ds: &mut DataSource, changes: &Map<String, Value>) -> ApiResult<()> {
    let scope = fmt_id(&ds.id);
    for (key, change) in changes {
        match (ds.prop_index(key), change) {
            (Some(i), Value::Null) => {
                if ds.properties[i].kind == "title" {
                    return Err(ApiError::validation(
                        "The title property cannot be deleted.",
                    ));
                }
                ds.properties.remove(i);
            }
            (None, Value::Null) => {
                return Err(ApiError::validation(format!(
                    "{key} is not a property that exists."
                )));
            }
            (Some(i), Value::Object(obj)) => {
                let name = obj
                    .get("name")
                    .and_then(Value::as_str)
                    .unwrap_or(&ds.properties[i].name)
                    .to_string();
                let retyped = obj.keys().any(|k| {
                    crate::properties::PROPERTY_TYPES.contains(&k.as_str()) || k == "type"
                });
                if retyped {
                    let taken: Vec<String> = ds.properties.iter().map(|p| p.id.clone()).collect();
                    let mut entry = parse_schema_entry(&scope, &name, change, &taken)?;
                    entry.id = ds.properties[i].id.clone();
                    ds.properties[i] = entry;
                } else {
                    ds.properties[i].name = name;
                }
            }
            (None, entry) => {
                let taken: Vec<String> = ds.properties.iter().map(|p| p.id.clone()).collect();
                let name = entry
                    .get("name")
                    .and_then(Value::as_str)
                    .unwrap_or(key)
                    .to_string();
                let parsed = parse_schema_entry(&scope, &name, entry, &taken)?;
                if parsed.kind == "title" {
                    return Err(ApiError::validation(
                        "A data source can only have one title property.",
                    ));
                }
                ds.properties.push(parsed);
            }
            (Some(_), other) => {
                return Err(ApiError::should_be(
                    &format!("body.properties.{key}"),
                    "an object or null",
                    other,
                ));
            }
        }
    }
    Ok(())
}

pub fn update_data_source(state: &mut State, ctx: &Ctx, raw: &str) -> ApiResult<Value> {
    ctx.need(|c| c.update_content, "update_content")?;
    let id = path_id(raw, "data_source_id")?;
    let mut ds = state.data_source(&ctx.bot, &id)?.clone();
    let before = ds.clone();
    let trash = ctx.trash_flag()?;
    if let Some(t) = rich(ctx, "title")? {
        ds.title = t;
    }
    if let Some(icon) = ctx.body.get("icon") {
        ds.icon = file_or_emoji(icon, "body.icon")?;
    }
    if let Some(t) = trash {
        ds.in_trash = t;
    }
    if let Some(changes) = ctx.field("properties") {
        let changes = changes
            .as_object()
            .ok_or_else(|| ApiError::should_be("body.properties", "an object", changes))?;
        edit_schema(&mut ds, changes)?;
    }
    ds.edited = state.stamp(ctx.bot.id);
    state.data_sources.insert(id, ds);
    if let Err(e) = resolve_relations(state, &id, false) {
        state.data_sources.insert(id, before);
        return Err(e);
    }
    let changes = Change::data_source_edits(&before, state.data_source(&ctx.bot, &id)?);
    state.record_all(changes);
    let ds = state.data_source(&ctx.bot, &id)?;
    Ok(render::data_source(state, ctx.version, ds))
}

pub fn query(state: &mut State, ctx: &Ctx, raw: &str) -> ApiResult<Value> {
    ctx.need(|c| c.read_content, "read_content")?;
    let id = path_id(raw, "data_source_id")?;
    let ds = state.data_source(&ctx.bot, &id)?;
    let req = ctx.body_page(state.limits.max_page_size)?;
    let want_trash = ctx
        .field("in_trash")
        .and_then(Value::as_bool)
        .unwrap_or(false);
    let qctx = QueryCtx {
        state,
        ds,
        me: ctx.bot.id,
    };
    let filter = ctx.field("filter");
    let mut rows: Vec<&Page> = Vec::new();
    for row in ds.rows.iter().filter_map(|r| state.pages.get(r)) {
        if row.in_trash != want_trash {
            continue;
        }
        if let Some(f) = filter
            && !matches(&qctx, row, f, "body.filter")?
        {
            continue;
        }
        rows.push(row);
    }
    sort_pages(
        &qctx,
        &mut rows,
        ctx.body.get("sorts").unwrap_or(&Value::Null),
    )?;
    let cap = state.limits.query_result_cap;
    let total = rows.len();
    let capped = &rows[..total.min(cap)];
    let (slice, next, more) = pagination::slice(capped, req);
    let fp = ctx.filter_properties();
    let results = slice
        .iter()
        .map(|p| render::list_page(state, ctx.version, p, fp.as_deref()))
        .collect();
    let mut body = list_body("page_or_data_source", results, next, more);
    if total > cap && !more {
        body["request_status"] =
            json!({"type": "incomplete", "incomplete_reason": "query_result_limit_reached"});
    }
    Ok(body)
}

pub fn templates(state: &mut State, ctx: &Ctx, raw: &str) -> ApiResult<Value> {
    ctx.need(|c| c.read_content, "read_content")?;
    let id = path_id(raw, "data_source_id")?;
    let ds = state.data_source(&ctx.bot, &id)?;
    let name = ctx.q("name").map(str::to_lowercase);
    let list: Vec<Value> = ds
        .templates
        .iter()
        .filter(|t| {
            name.as_ref()
                .is_none_or(|n| t.name.to_lowercase().contains(n))
        })
        .map(|t| json!({"id": fmt_id(&t.id), "name": t.name, "is_default": t.is_default}))
        .collect();
    let req = ctx.query_page(state.limits.max_page_size)?;
    let (slice, next, more) = pagination::slice(&list, req);
    Ok(json!({"object": "list", "templates": slice, "has_more": more, "next_cursor": next}))
}
