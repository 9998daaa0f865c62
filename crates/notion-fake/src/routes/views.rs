//! View endpoints: list, retrieve, create (tab, linked database on a page, dashboard widget),
//! update, delete (never a database's last view). View queries are in `view_queries.rs`.

use serde_json::{Map, Value, json};
use uuid::Uuid;

use super::{Ctx, body_id, path_id, required};
use crate::errors::{ApiError, ApiResult};
use crate::ids::fmt_id;
use crate::pagination::{self, list_body};
use crate::state::State;
use crate::views::{VIEW_TYPES, View};
use crate::webhooks::Change;

/// Dashboards hold at most this many widgets per row.
const MAX_WIDGETS_PER_ROW: usize = 4;

/// Gives a database that never had views its "Default view" table (as `POST /v1/databases` does).
fn seed_default_view(state: &mut State, database: Uuid) {
    let Some(db) = state.databases.get(&database) else {
        return;
    };
    if state.views.views.iter().any(|v| v.database_id == database) {
        return;
    }
    let (workspace_id, ds, by) = (
        db.workspace_id,
        db.data_sources.first().copied(),
        db.created,
    );
    let id = state.new_id();
    state.views.views.push(View {
        id,
        workspace_id,
        database_id: database,
        data_source_id: ds,
        host_page: None,
        name: "Default view".into(),
        kind: "table".into(),
        filter: Value::Null,
        sorts: Value::Null,
        quick_filters: Value::Null,
        configuration: Value::Null,
        dashboard_view_id: None,
        created: by,
        edited: by,
    });
}

/// The database whose readers may see `view` (its own, or the source of a linked view).
fn source_database(state: &State, view: &View) -> Uuid {
    view.data_source_id
        .and_then(|ds| state.data_sources.get(&ds))
        .map(|ds| ds.database_id)
        .unwrap_or(view.database_id)
}

/// A view the bot may see (404 otherwise, as for an unshared database).
pub(super) fn visible_view(state: &State, ctx: &Ctx, raw: &str) -> ApiResult<View> {
    let id = path_id(raw, "view_id")?;
    let not_found = || ApiError::not_found("view", &fmt_id(&id));
    let view = state.views.get(&id).ok_or_else(not_found)?;
    let source = source_database(state, view);
    let host_ok = view.host_page.is_none_or(|p| state.visible(&ctx.bot, &p));
    if view.workspace_id != ctx.bot.workspace_id || !state.visible(&ctx.bot, &source) || !host_ok {
        return Err(not_found());
    }
    Ok(view.clone())
}

pub(super) fn need_read(ctx: &Ctx) -> ApiResult<()> {
    ctx.need(|c| c.read_content, "read_content")
}

fn need_update(ctx: &Ctx) -> ApiResult<()> {
    ctx.need(|c| c.update_content, "update_content")
}

/// `GET /v1/views?database_id=|data_source_id=`: ids only.
pub fn list(state: &mut State, ctx: &Ctx) -> ApiResult<Value> {
    need_read(ctx)?;
    let db = ctx
        .q("database_id")
        .map(|r| path_id(r, "database_id"))
        .transpose()?;
    let ds = ctx
        .q("data_source_id")
        .map(|r| path_id(r, "data_source_id"))
        .transpose()?;
    if db.is_none() && ds.is_none() {
        return Err(ApiError::validation(
            "query failed validation: one of query.database_id or query.data_source_id should be defined.",
        ));
    }
    if let Some(db) = db {
        state.database(&ctx.bot, &db)?;
        seed_default_view(state, db);
    }
    if let Some(ds) = ds {
        let database = state.data_source(&ctx.bot, &ds)?.database_id;
        seed_default_view(state, database);
    }
    let ids: Vec<Value> = state
        .views
        .views
        .iter()
        .filter(|v| db.is_none_or(|d| v.database_id == d))
        .filter(|v| ds.is_none_or(|d| v.data_source_id == Some(d)))
        .filter(|v| v.host_page.is_none_or(|p| state.visible(&ctx.bot, &p)))
        .map(|v| json!({"object": "view", "id": fmt_id(&v.id)}))
        .collect();
    let req = ctx.query_page(state.limits.max_page_size)?;
    let (slice, next, more) = pagination::slice(&ids, req);
    Ok(list_body("view", slice, next, more))
}

/// `GET /v1/views/{id}`.
pub fn get(state: &mut State, ctx: &Ctx, raw: &str) -> ApiResult<Value> {
    need_read(ctx)?;
    Ok(visible_view(state, ctx, raw)?.render())
}

fn view_type(v: &Value) -> ApiResult<String> {
    match v.as_str() {
        Some(t) if VIEW_TYPES.contains(&t) => Ok(t.to_string()),
        _ => Err(ApiError::should_be(
            "body.type",
            &format!("one of {}", quoted(&VIEW_TYPES)),
            v,
        )),
    }
}

fn quoted(items: &[&str]) -> String {
    items
        .iter()
        .map(|t| format!("`\"{t}\"`"))
        .collect::<Vec<_>>()
        .join(", ")
}

/// Checks a `configuration` against the view type: the tag must match and required fields be set.
fn check_configuration(kind: &str, config: &Value) -> ApiResult<()> {
    if config.is_null() {
        return Ok(());
    }
    let obj = config
        .as_object()
        .ok_or_else(|| ApiError::should_be("body.configuration", "an object", config))?;
    if obj.get("type").and_then(Value::as_str) != Some(kind) {
        return Err(ApiError::body_validation(format!(
            "body.configuration.type should be `\"{kind}\"` (the view's type), instead was `{}`.",
            crate::richtext::short(obj.get("type").unwrap_or(&Value::Null))
        )));
    }
    let required: &[&str] = match kind {
        "board" => &["group_by"],
        "calendar" | "timeline" => &["date_property_id"],
        "chart" => &["chart_type"],
        _ => &[],
    };
    for field in required {
        if obj.get(*field).is_none_or(Value::is_null) {
            return Err(ApiError::body_validation(format!(
                "body.configuration.{field} should be defined, instead was `undefined`."
            )));
        }
    }
    if kind == "dashboard" && obj.contains_key("rows") {
        return Err(ApiError::body_validation(
            "body.configuration.rows is read-only: add widgets by creating views with `view_id`.",
        ));
    }
    Ok(())
}

fn object_or_null(ctx: &Ctx, key: &str, what: &str) -> ApiResult<Value> {
    match ctx.body.get(key) {
        None | Some(Value::Null) => Ok(Value::Null),
        Some(v) if what == "an array" && v.is_array() => Ok(v.clone()),
        Some(v) if what == "an object" && v.is_object() => Ok(v.clone()),
        Some(v) => Err(ApiError::should_be(&format!("body.{key}"), what, v)),
    }
}

/// `POST /v1/views`: a tab (`database_id`), a widget (`view_id`) or a linked database
/// (`create_database`).
pub fn create(state: &mut State, ctx: &Ctx) -> ApiResult<Value> {
    if !(ctx.bot.capabilities.insert_content || ctx.bot.capabilities.update_content) {
        return Err(ApiError::insufficient_capability("insert_content"));
    }
    let ds_id = body_id(required(ctx, "data_source_id")?, "body.data_source_id")?;
    let name = required(ctx, "name")?
        .as_str()
        .ok_or_else(|| ApiError::should_be("body.name", "a string", &ctx.body["name"]))?
        .to_string();
    let kind = view_type(required(ctx, "type")?)?;
    let targets = ["database_id", "view_id", "create_database"]
        .into_iter()
        .filter(|k| ctx.field(k).is_some())
        .collect::<Vec<_>>();
    if targets.len() != 1 {
        return Err(ApiError::body_validation(format!(
            "exactly one of body.database_id, body.view_id or body.create_database should be defined, instead got {}.",
            if targets.is_empty() {
                "none".to_string()
            } else {
                targets.join(", ")
            }
        )));
    }
    let source_db = state.data_source(&ctx.bot, &ds_id)?.database_id;
    let filter = object_or_null(ctx, "filter", "an object")?;
    let sorts = object_or_null(ctx, "sorts", "an array")?;
    let quick_filters = object_or_null(ctx, "quick_filters", "an object")?;
    let configuration = object_or_null(ctx, "configuration", "an object")?;
    check_configuration(&kind, &configuration)?;
    let id = state.new_id();
    let stamp = state.stamp(ctx.bot.id);
    let mut view = View {
        id,
        workspace_id: ctx.bot.workspace_id,
        database_id: source_db,
        data_source_id: (kind != "dashboard").then_some(ds_id),
        host_page: None,
        name,
        kind: kind.clone(),
        filter,
        sorts,
        quick_filters,
        configuration,
        dashboard_view_id: None,
        created: stamp,
        edited: stamp,
    };
    let mut index = state.views.views.len();
    match targets[0] {
        "database_id" => {
            let db = body_id(&ctx.body["database_id"], "body.database_id")?;
            state.database(&ctx.bot, &db)?;
            if !state.databases[&db].data_sources.contains(&ds_id) {
                return Err(ApiError::body_validation(format!(
                    "body.data_source_id {} is not a data source of database {}.",
                    fmt_id(&ds_id),
                    fmt_id(&db)
                )));
            }
            seed_default_view(state, db);
            view.database_id = db;
            index = tab_position(state, ctx, db)?;
        }
        "view_id" => {
            let dash_id = body_id(&ctx.body["view_id"], "body.view_id")?;
            let dash = visible_view(state, ctx, &fmt_id(&dash_id))?;
            if dash.kind != "dashboard" {
                return Err(ApiError::body_validation(format!(
                    "body.view_id should be a dashboard view, instead was a {} view.",
                    dash.kind
                )));
            }
            if kind == "dashboard" {
                return Err(ApiError::body_validation(
                    "dashboards cannot be nested: body.type should not be `\"dashboard\"` with body.view_id.",
                ));
            }
            view.database_id = dash.database_id;
            view.dashboard_view_id = Some(dash_id);
            place_widget(state, ctx, dash_id, id)?;
        }
        _ => {
            let spec = &ctx.body["create_database"];
            let page = spec
                .get("parent")
                .and_then(|p| p.get("page_id"))
                .ok_or_else(|| {
                    ApiError::body_validation(
                        "body.create_database.parent.page_id should be defined, instead was `undefined`.",
                    )
                })?;
            let page = body_id(page, "body.create_database.parent.page_id")?;
            state.page(&ctx.bot, &page)?;
            view.database_id = state.new_id();
            view.host_page = Some(page);
        }
    }
    let change = Change::View {
        action: "created",
        view: id,
        database: view.database_id,
        visible_via: source_db,
        view_type: kind,
        updated_fields: Vec::new(),
    };
    let rendered = view.render();
    state.views.views.insert(index, view);
    state.record(change);
    Ok(rendered)
}

/// Where a new tab goes: `position` start, end (default) or after a view of the same database.
fn tab_position(state: &State, ctx: &Ctx, db: Uuid) -> ApiResult<usize> {
    let all = &state.views.views;
    let Some(pos) = ctx.field("position") else {
        return Ok(all.len());
    };
    match pos.get("type").and_then(Value::as_str) {
        Some("end") => Ok(all.len()),
        Some("start") => Ok(all
            .iter()
            .position(|v| v.database_id == db)
            .unwrap_or(all.len())),
        Some("after_view") => {
            let after = body_id(&pos["view_id"], "body.position.view_id")?;
            all.iter()
                .position(|v| v.id == after && v.database_id == db)
                .map(|i| i + 1)
                .ok_or_else(|| {
                    ApiError::body_validation(format!(
                        "body.position.view_id {} is not a view of database {}.",
                        fmt_id(&after),
                        fmt_id(&db)
                    ))
                })
        }
        _ => Err(ApiError::should_be(
            "body.position.type",
            "one of `\"start\"`, `\"end\"`, `\"after_view\"`",
            pos.get("type").unwrap_or(&Value::Null),
        )),
    }
}

/// Adds widget `widget` to the dashboard's layout per `placement` (default: a new last row).
fn place_widget(state: &mut State, ctx: &Ctx, dash: Uuid, widget: Uuid) -> ApiResult<()> {
    let placement = ctx
        .field("placement")
        .cloned()
        .unwrap_or(json!({"type": "new_row"}));
    let row_index = placement
        .get("row_index")
        .and_then(Value::as_u64)
        .map(|n| n as usize);
    let existing = match placement.get("type").and_then(Value::as_str) {
        Some("new_row") => false,
        Some("existing_row") => true,
        _ => {
            return Err(ApiError::should_be(
                "body.placement.type",
                "one of `\"new_row\"`, `\"existing_row\"`",
                placement.get("type").unwrap_or(&Value::Null),
            ));
        }
    };
    let Some(d) = state.views.get_mut(&dash) else {
        return Err(ApiError::not_found("view", &fmt_id(&dash)));
    };
    if !d.configuration.is_object() {
        d.configuration = json!({"type": "dashboard", "rows": []});
    }
    if !d.configuration["rows"].is_array() {
        d.configuration["rows"] = json!([]);
    }
    let rows = d.configuration["rows"]
        .as_array_mut()
        .ok_or_else(ApiError::invalid_json)?;
    let cell = |row: usize| json!({"id": fmt_id(&widget), "view_id": fmt_id(&widget), "width": 12, "row_index": row});
    if existing {
        let i = row_index.ok_or_else(|| {
            ApiError::body_validation(
                "body.placement.row_index should be defined for `existing_row`.",
            )
        })?;
        let row = rows.get_mut(i).ok_or_else(|| {
            ApiError::body_validation(format!(
                "body.placement.row_index {i} is past the dashboard's last row."
            ))
        })?;
        let widgets = row["widgets"]
            .as_array_mut()
            .ok_or_else(ApiError::invalid_json)?;
        if widgets.len() >= MAX_WIDGETS_PER_ROW {
            return Err(ApiError::validation(format!(
                "A dashboard row holds at most {MAX_WIDGETS_PER_ROW} widgets."
            )));
        }
        widgets.push(cell(i));
    } else {
        let i = row_index.unwrap_or(rows.len()).min(rows.len());
        rows.insert(
            i,
            json!({"id": fmt_id(&Uuid::new_v4()), "widgets": [cell(i)], "height": 1}),
        );
    }
    Ok(())
}

/// `PATCH /v1/views/{id}`: name, filter, sorts, quick_filters (merged), configuration (merged).
pub fn update(state: &mut State, ctx: &Ctx, raw: &str) -> ApiResult<Value> {
    need_update(ctx)?;
    let view = visible_view(state, ctx, raw)?;
    if ctx.body.get("type").is_some() {
        return Err(ApiError::body_validation(
            "body.type should be not present: to change a view's type, create a new view and delete the old one.",
        ));
    }
    let mut next = view.clone();
    let mut fields = Vec::new();
    let body = ctx.body.as_object().cloned().unwrap_or_default();
    for (key, value) in &body {
        match key.as_str() {
            "name" => {
                next.name = value
                    .as_str()
                    .ok_or_else(|| ApiError::should_be("body.name", "a string", value))?
                    .to_string();
            }
            "filter" => next.filter = object_or_null(ctx, "filter", "an object")?,
            "sorts" => {
                next.sorts = object_or_null(ctx, "sorts", "an array")?;
                if let Some(bad) = next
                    .sorts
                    .as_array()
                    .into_iter()
                    .flatten()
                    .find(|s| s.get("property").is_none())
                {
                    return Err(ApiError::should_be("body.sorts[]", "a property sort", bad));
                }
            }
            "quick_filters" => {
                next.quick_filters = merge_quick_filters(&view.quick_filters, value)?
            }
            "configuration" => {
                let patch = object_or_null(ctx, "configuration", "an object")?;
                check_configuration(&view.kind, &patch)?;
                next.configuration = match (&view.configuration, patch) {
                    (_, Value::Null) => Value::Null,
                    (Value::Object(old), Value::Object(new)) => {
                        let mut merged = old.clone();
                        merged.extend(new);
                        Value::Object(merged)
                    }
                    (_, new) => new,
                };
            }
            other => {
                return Err(ApiError::body_validation(format!(
                    "body.{other} should be not present, instead was defined."
                )));
            }
        }
        fields.push(key.clone());
    }
    next.edited = state.stamp(ctx.bot.id);
    let rendered = next.render();
    let change = Change::View {
        action: "updated",
        view: next.id,
        database: next.database_id,
        visible_via: source_database(state, &next),
        view_type: next.kind.clone(),
        updated_fields: fields,
    };
    if let Some(slot) = state.views.get_mut(&view.id) {
        *slot = next;
    }
    state.record(change);
    Ok(rendered)
}

fn merge_quick_filters(old: &Value, patch: &Value) -> ApiResult<Value> {
    let patch = match patch {
        Value::Null => return Ok(Value::Null),
        Value::Object(m) => m,
        other => {
            return Err(ApiError::should_be(
                "body.quick_filters",
                "an object",
                other,
            ));
        }
    };
    let mut merged: Map<String, Value> = old.as_object().cloned().unwrap_or_default();
    for (k, v) in patch {
        if v.is_null() {
            merged.remove(k);
        } else {
            merged.insert(k.clone(), v.clone());
        }
    }
    Ok(if merged.is_empty() {
        Value::Null
    } else {
        Value::Object(merged)
    })
}

/// `DELETE /v1/views/{id}`: refuses a database's last view; a widget leaves its dashboard.
pub fn delete(state: &mut State, ctx: &Ctx, raw: &str) -> ApiResult<Value> {
    need_update(ctx)?;
    let view = visible_view(state, ctx, raw)?;
    if view.dashboard_view_id.is_none() && state.views.tabs_of(&view.database_id).len() <= 1 {
        return Err(ApiError::validation(format!(
            "Cannot delete the last view of database {}. Move the database to the trash instead.",
            fmt_id(&view.database_id)
        )));
    }
    let visible_via = source_database(state, &view);
    let widget_ids: Vec<Uuid> = state
        .views
        .views
        .iter()
        .filter(|v| v.dashboard_view_id == Some(view.id))
        .map(|v| v.id)
        .collect();
    state
        .views
        .views
        .retain(|v| v.id != view.id && !widget_ids.contains(&v.id));
    state.views.queries.retain(|_, q| q.view_id != view.id);
    if let Some(dash) = view.dashboard_view_id.and_then(|d| state.views.get_mut(&d))
        && let Some(rows) = dash
            .configuration
            .get_mut("rows")
            .and_then(Value::as_array_mut)
    {
        let gone = json!(fmt_id(&view.id));
        for row in rows.iter_mut() {
            if let Some(w) = row.get_mut("widgets").and_then(Value::as_array_mut) {
                w.retain(|c| c.get("view_id") != Some(&gone));
            }
        }
        rows.retain(|r| r["widgets"].as_array().is_some_and(|w| !w.is_empty()));
    }
    state.record(Change::View {
        action: "deleted",
        view: view.id,
        database: view.database_id,
        visible_via,
        view_type: view.kind.clone(),
        updated_fields: Vec::new(),
    });
    Ok(view.render_deleted())
}
