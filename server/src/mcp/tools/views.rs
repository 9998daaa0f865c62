//! Database views: `get_views` (a database's or data source's views, one view, or a view's rows —
//! see `view_query.rs`) and `manage_view` (create a tab, a linked database on a page or a dashboard
//! widget; update; delete, never a database's last view).

use super::relation_titles::RelationsAs;
use super::{Format, id_arg, json_out, more, view_query};
use crate::mcp::context::ToolCtx;
use crate::mcp::error::ToolError;
use crate::mcp::registry::{Effect, ToolDef};
use crate::notion::views as api;
use crate::notion::writes;
use schemars::JsonSchema;
use serde::Deserialize;
use serde_json::{Map, Value, json};

use notion_model::view_kinds::VIEW_TYPES;

/// Views listed (each fetched in full) per call.
const LIST_BOUND: u32 = 25;

pub fn tools() -> Vec<ToolDef> {
    vec![
        ToolDef::new(
            "get_views",
            "Get views",
            "Views of a `database` or `data_source`, or one `view` (id or URL with ?v=); rows:true runs that \
             view (its filter, sorts) into a table.",
            Effect::Read,
            get_views,
        ),
        ToolDef::new(
            "manage_view",
            "Manage views",
            "create (data_source, name, type) as a tab of `database`, a linked database on `page` or a \
             widget of `dashboard`; update `view` (name, filter, sorts, quick_filters, configuration; \
             {} or [] clears); delete `view` (not a database's last).",
            Effect::Write {
                destructive: true,
                idempotent: false,
            },
            manage_view,
        ),
    ]
}

/// A view id from an id or a view URL (`…?v=<view id>`).
pub(crate) fn view_id_arg(field: &str, raw: &str) -> Result<String, ToolError> {
    match raw.split_once("v=") {
        Some((_, rest)) if raw.contains("://") => {
            let id: String = rest
                .chars()
                .take_while(|c| c.is_ascii_hexdigit() || *c == '-')
                .collect();
            id_arg(field, &id)
        }
        _ => id_arg(field, raw),
    }
}

#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct GetArgs {
    database: Option<String>,
    data_source: Option<String>,
    view: Option<String>,
    rows: Option<bool>,
    columns: Option<Vec<String>>,
    /// Max rows (default 50, max 500).
    limit: Option<u32>,
    cursor: Option<String>,
    relations: Option<RelationsAs>,
    format: Option<Format>,
}

async fn get_views(ctx: ToolCtx, a: GetArgs) -> Result<String, ToolError> {
    if a.rows == Some(true) {
        let view = a
            .view
            .as_deref()
            .ok_or_else(|| ToolError::invalid("view", "rows:true needs the `view` to run"))?;
        let request = view_query::RowsRequest {
            view: view_id_arg("view", view)?,
            columns: a.columns,
            limit: a.limit,
            cursor: a.cursor,
            relations: a.relations,
            format: a.format,
        };
        return view_query::view_rows(ctx, request).await;
    }
    if let Some(v) = &a.view {
        let id = view_id_arg("view", v)?;
        let view = api::retrieve_view(&ctx.notion, &ctx.auth, &id).await?;
        return Ok(match a.format {
            Some(Format::Json) => json_out(&view),
            _ => view_detail(&view),
        });
    }
    let database = a
        .database
        .as_deref()
        .map(|d| id_arg("database", d))
        .transpose()?;
    let source = a
        .data_source
        .as_deref()
        .map(|d| id_arg("data_source", d))
        .transpose()?;
    if database.is_none() && source.is_none() {
        return Err(ToolError::invalid(
            "database",
            "give `database` (its views), `data_source` (its views) or `view` (one view)",
        ));
    }
    let list = api::list_views(
        &ctx.notion,
        &ctx.auth,
        database.as_deref(),
        source.as_deref(),
        a.cursor.as_deref(),
        Some(LIST_BOUND),
    )
    .await?;
    let ids: Vec<String> = list["results"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|v| v.get("id").and_then(Value::as_str).map(str::to_string))
        .collect();
    let views = futures::future::try_join_all(
        ids.iter()
            .map(|id| api::retrieve_view(&ctx.notion, &ctx.auth, id)),
    )
    .await?;
    let next = list
        .get("next_cursor")
        .and_then(Value::as_str)
        .filter(|_| list["has_more"] == json!(true));
    if a.format == Some(Format::Json) {
        return Ok(json_out(&json!({"results": views, "next_cursor": next})));
    }
    if views.is_empty() {
        return Ok("No views.".into());
    }
    let mut out = format!("{} view(s):\n", views.len());
    for v in &views {
        out.push_str(&view_line(v));
    }
    out.push_str(&more("get_views", next));
    Ok(out)
}

fn compact(v: &Value) -> Option<String> {
    (!v.is_null()).then(|| serde_json::to_string(v).unwrap_or_default())
}

fn str_of<'a>(v: &'a Value, key: &str) -> &'a str {
    v.get(key).and_then(Value::as_str).unwrap_or("")
}

/// One list line: name, type, id, filter and sorts when set.
fn view_line(v: &Value) -> String {
    let mut line = format!(
        "- **{}** ({}) — {}",
        str_of(v, "name"),
        str_of(v, "type"),
        str_of(v, "id")
    );
    if let Some(d) = v.get("dashboard_view_id").and_then(Value::as_str) {
        line.push_str(&format!(", widget of dashboard {d}"));
    }
    for key in ["filter", "sorts"] {
        if let Some(j) = v.get(key).and_then(compact) {
            line.push_str(&format!("\n  {key}: `{j}`"));
        }
    }
    line.push('\n');
    line
}

/// A view in full, as Markdown.
fn view_detail(v: &Value) -> String {
    let mut out = format!(
        "**{}** ({} view) — {}\n",
        str_of(v, "name"),
        str_of(v, "type"),
        str_of(v, "id")
    );
    let db = v
        .pointer("/parent/database_id")
        .and_then(Value::as_str)
        .unwrap_or("");
    out.push_str(&format!("Database: {db}"));
    if let Some(ds) = v.get("data_source_id").and_then(Value::as_str) {
        out.push_str(&format!(" · data source: {ds}"));
    }
    if let Some(d) = v.get("dashboard_view_id").and_then(Value::as_str) {
        out.push_str(&format!(" · dashboard: {d}"));
    }
    out.push('\n');
    for key in ["filter", "sorts", "quick_filters", "configuration"] {
        if let Some(j) = v.get(key).and_then(compact) {
            out.push_str(&format!("{key}: `{j}`\n"));
        }
    }
    if let Some(u) = v.get("url").and_then(Value::as_str) {
        out.push_str(&format!("URL: {u}\n"));
    }
    out.trim_end().to_string()
}

#[derive(Debug, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
enum Action {
    Create,
    Update,
    Delete,
}

#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ManageArgs {
    // Argument meanings are in the tool description (each doc comment here would cost every
    // tools/list answer its bytes).
    action: Action,
    view: Option<String>,
    data_source: Option<String>,
    database: Option<String>,
    page: Option<String>,
    dashboard: Option<String>,
    name: Option<String>,
    #[serde(rename = "type")]
    kind: Option<String>,
    // Typed for clients as objects/arrays; `{}`, `[]` or "none" clears a setting.
    #[schemars(with = "Option<Map<String, Value>>")]
    filter: Option<Value>,
    #[schemars(with = "Option<Vec<Map<String, Value>>>")]
    sorts: Option<Value>,
    #[schemars(with = "Option<Map<String, Value>>")]
    quick_filters: Option<Value>,
    #[schemars(with = "Option<Map<String, Value>>")]
    configuration: Option<Value>,
}

async fn manage_view(ctx: ToolCtx, a: ManageArgs) -> Result<String, ToolError> {
    match a.action {
        Action::Create => create(ctx, a).await,
        Action::Update => update(ctx, a).await,
        Action::Delete => delete(ctx, a).await,
    }
}

fn view_type_arg(kind: Option<&str>) -> Result<String, ToolError> {
    let kind = kind.map(str::trim).ok_or_else(|| {
        ToolError::invalid(
            "type",
            format!("required for create: one of {}", VIEW_TYPES.join(", ")),
        )
    })?;
    if VIEW_TYPES.contains(&kind) {
        Ok(kind.to_string())
    } else {
        Err(ToolError::invalid(
            "type",
            format!(
                "unknown view type \"{kind}\"; use one of {}",
                VIEW_TYPES.join(", ")
            ),
        ))
    }
}

/// Whether a view setting means "clear it": `"none"`, or on update also `{}` or `[]`.
fn clears(v: &Value, updating: bool) -> bool {
    match v {
        Value::String(s) => s.trim().eq_ignore_ascii_case("none"),
        Value::Object(o) => updating && o.is_empty(),
        Value::Array(a) => updating && a.is_empty(),
        _ => false,
    }
}

/// Checks the shape of filter/sorts/quick_filters/configuration and copies them into `body`.
fn copy_settings(
    a: &ManageArgs,
    body: &mut Map<String, Value>,
    kind: Option<&str>,
) -> Result<(), ToolError> {
    let fields: [(&str, &Option<Value>, &str); 4] = [
        ("filter", &a.filter, "object"),
        ("sorts", &a.sorts, "array"),
        ("quick_filters", &a.quick_filters, "object"),
        ("configuration", &a.configuration, "object"),
    ];
    for (name, value, shape) in fields {
        let Some(v) = value else { continue };
        if clears(v, matches!(a.action, Action::Update)) {
            body.insert(name.into(), Value::Null);
            continue;
        }
        let ok = (shape == "object" && v.is_object()) || (shape == "array" && v.is_array());
        if !ok {
            return Err(ToolError::invalid(
                name,
                format!("must be a JSON {shape}, or {{}}, [] or \"none\" to clear it"),
            ));
        }
        body.insert(name.into(), v.clone());
    }
    if let (Some(kind), Some(Value::Object(c))) = (kind, &a.configuration)
        && !(c.is_empty() && matches!(a.action, Action::Update))
    {
        match c.get("type").and_then(Value::as_str) {
            Some(t) if t == kind => {}
            Some(t) => {
                return Err(ToolError::invalid(
                    "configuration",
                    format!(
                        "configuration.type is \"{t}\" but the view is a {kind} view; they must match"
                    ),
                ));
            }
            None => {
                body.insert("configuration".into(), {
                    let mut c = c.clone();
                    c.insert("type".into(), json!(kind));
                    Value::Object(c)
                });
            }
        }
    }
    if let Some(Value::Array(sorts)) = &a.sorts
        && let Some(i) = sorts.iter().position(|s| s.get("property").is_none())
    {
        return Err(ToolError::invalid(
            format!("sorts[{i}]"),
            "views take property sorts only: {\"property\": \"Name\", \"direction\": \"ascending\"}",
        ));
    }
    Ok(())
}

async fn create(ctx: ToolCtx, a: ManageArgs) -> Result<String, ToolError> {
    let kind = view_type_arg(a.kind.as_deref())?;
    let source = a.data_source.as_deref().ok_or_else(|| {
        ToolError::invalid(
            "data_source",
            "required for create (get_data_source with the database id lists them)",
        )
    })?;
    let name = a
        .name
        .as_deref()
        .filter(|n| !n.trim().is_empty())
        .ok_or_else(|| ToolError::invalid("name", "required for create"))?;
    let mut body = Map::new();
    body.insert(
        "data_source_id".into(),
        json!(id_arg("data_source", source)?),
    );
    body.insert("name".into(), json!(name));
    body.insert("type".into(), json!(kind));
    let targets: Vec<&str> = [
        ("database", &a.database),
        ("page", &a.page),
        ("dashboard", &a.dashboard),
    ]
    .into_iter()
    .filter(|(_, v)| v.is_some())
    .map(|(k, _)| k)
    .collect();
    match (targets.as_slice(), &a.database, &a.page, &a.dashboard) {
        (["database"], Some(d), _, _) => {
            body.insert("database_id".into(), json!(id_arg("database", d)?));
        }
        (["page"], _, Some(p), _) => {
            body.insert(
                "create_database".into(),
                json!({"parent": {"type": "page_id", "page_id": id_arg("page", p)?}}),
            );
        }
        (["dashboard"], _, _, Some(d)) => {
            body.insert("view_id".into(), json!(view_id_arg("dashboard", d)?));
        }
        _ => {
            return Err(ToolError::invalid(
                "database",
                format!(
                    "give exactly one of `database` (a tab), `page` (a linked database) or `dashboard` (a widget); got {}",
                    if targets.is_empty() {
                        "none".to_string()
                    } else {
                        targets.join(", ")
                    }
                ),
            ));
        }
    }
    copy_settings(&a, &mut body, Some(&kind))?;
    let view = api::create_view(&ctx.notion, &ctx.auth, Value::Object(body)).await?;
    Ok(format!("Created view:\n{}", view_detail(&view)))
}

fn target_view(a: &ManageArgs) -> Result<String, ToolError> {
    let v = a.view.as_deref().ok_or_else(|| {
        ToolError::invalid(
            "view",
            "required: the view's id or URL (get_views lists them)",
        )
    })?;
    view_id_arg("view", v)
}

async fn update(ctx: ToolCtx, a: ManageArgs) -> Result<String, ToolError> {
    let id = target_view(&a)?;
    if a.kind.is_some() {
        return Err(ToolError::invalid(
            "type",
            "a view's type cannot change: create a view of the new type, then delete this one",
        ));
    }
    let mut body = Map::new();
    if let Some(n) = &a.name {
        body.insert("name".into(), json!(n));
    }
    // The configuration must carry the view's type; fetch it when the caller left it out.
    let kind = match &a.configuration {
        Some(Value::Object(c)) if !c.is_empty() && !c.contains_key("type") => {
            let view = api::retrieve_view(&ctx.notion, &ctx.auth, &id).await?;
            Some(str_of(&view, "type").to_string())
        }
        _ => None,
    };
    copy_settings(&a, &mut body, kind.as_deref())?;
    if body.is_empty() {
        return Err(ToolError::invalid(
            "arguments",
            "nothing to change: give name, filter, sorts, quick_filters or configuration",
        ));
    }
    let view = api::update_view(&ctx.notion, &ctx.auth, &id, Value::Object(body)).await?;
    Ok(format!("Updated view:\n{}", view_detail(&view)))
}

async fn delete(ctx: ToolCtx, a: ManageArgs) -> Result<String, ToolError> {
    let id = target_view(&a)?;
    let view = api::retrieve_view(&ctx.notion, &ctx.auth, &id).await?;
    let database = view
        .pointer("/parent/database_id")
        .and_then(Value::as_str)
        .unwrap_or_default()
        .to_string();
    if view.get("dashboard_view_id").is_none_or(Value::is_null) && !database.is_empty() {
        let tabs =
            api::list_views(&ctx.notion, &ctx.auth, Some(&database), None, None, Some(2)).await;
        // A list this server cannot read is no reason to refuse: Notion decides then.
        if let Ok(list) = tabs
            && list["results"].as_array().is_some_and(|r| r.len() <= 1)
            && list["has_more"] != json!(true)
        {
            return Err(last_view_error(&id, &database));
        }
    }
    let gone = api::delete_view(&ctx.notion, &ctx.auth, &id)
        .await
        .map_err(|e| match e.status() {
            Some(400) if e.to_string().contains("last view") => last_view_error(&id, &database),
            _ => ToolError::Notion(writes::with_context(e, &format!("deleting view {id}"))),
        })?;
    Ok(format!(
        "Deleted view \"{}\" ({}) of database {database}.",
        str_of(&view, "name"),
        str_of(&gone, "id")
    ))
}

fn last_view_error(view: &str, database: &str) -> ToolError {
    ToolError::invalid(
        "view",
        format!(
            "view {view} is the last view of database {database}, and Notion never deletes a database's \
             last view: create another view first, or trash the whole database with update_database (trash: true)"
        ),
    )
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn view_urls_give_the_view_id() {
        let url = "https://www.notion.so/ws/1f2e3d4c5b6a49788a9b0c1d2e3f4a5b?v=2f2e3d4c5b6a49788a9b0c1d2e3f4a5b&pvs=4";
        assert_eq!(
            view_id_arg("view", url).unwrap(),
            "2f2e3d4c-5b6a-4978-8a9b-0c1d2e3f4a5b"
        );
        assert_eq!(
            view_id_arg("view", "1f2e3d4c5b6a49788a9b0c1d2e3f4a5b").unwrap(),
            "1f2e3d4c-5b6a-4978-8a9b-0c1d2e3f4a5b"
        );
        assert!(view_id_arg("view", "nope").is_err());
    }

    #[test]
    fn view_types_are_checked_with_the_choices_named() {
        let e = view_type_arg(Some("kanban")).unwrap_err().to_string();
        assert!(e.contains("kanban") && e.contains("board"), "{e}");
        assert_eq!(view_type_arg(Some("board")).unwrap(), "board");
    }
}
