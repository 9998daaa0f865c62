//! `POST /v1/search`: title-substring search over pages and data sources the caller can see,
//! with the `object` filter and `last_edited_time` sort.

use serde_json::{Value, json};

use super::Ctx;
use crate::errors::{ApiError, ApiResult};
use crate::pagination::{self, list_body};
use crate::render;
use crate::richtext::{plain_text, short};
use crate::state::State;

enum Hit {
    Page(uuid::Uuid),
    DataSource(uuid::Uuid),
}

pub fn search(state: &mut State, ctx: &Ctx) -> ApiResult<Value> {
    ctx.need(|c| c.read_content, "read_content")?;
    let query = ctx
        .field("query")
        .and_then(Value::as_str)
        .unwrap_or("")
        .to_lowercase();
    let mut want_pages = true;
    let mut want_sources = true;
    if let Some(filter) = ctx.field("filter") {
        match filter.get("value").and_then(Value::as_str) {
            Some("page") => want_sources = false,
            Some("data_source") => want_pages = false,
            _ => {
                return Err(ApiError::body_validation(format!(
                    "body.filter.value should be `\"page\"` or `\"data_source\"`, instead was `{}`.",
                    short(filter.get("value").unwrap_or(&Value::Null))
                )));
            }
        }
        if filter.get("property").and_then(Value::as_str) != Some("object") {
            return Err(ApiError::body_validation(
                "body.filter.property should be `\"object\"`.",
            ));
        }
    }
    let ascending = match ctx.field("sort") {
        None => false,
        Some(sort) => {
            let ts = sort.get("timestamp").and_then(Value::as_str);
            let prop = sort.get("property").and_then(Value::as_str);
            if ts != Some("last_edited_time") && prop != Some("relevance") {
                return Err(ApiError::body_validation(format!(
                    "body.sort.timestamp should be `\"last_edited_time\"`, instead was `{}`.",
                    short(sort)
                )));
            }
            sort.get("direction").and_then(Value::as_str) == Some("ascending")
        }
    };
    let req = ctx.body_page(state.limits.max_page_size)?;
    let ws = ctx.bot.workspace_id;
    let mut hits: Vec<(i64, u128, Hit)> = Vec::new();
    if want_pages {
        for p in state.pages.values() {
            if p.workspace_id != ws
                || p.in_trash
                || !state.visible(&ctx.bot, &p.id)
                || state.trashed(&p.id)
            {
                continue;
            }
            if query.is_empty() || state.page_title(p).to_lowercase().contains(&query) {
                hits.push((p.edited.time, p.id.as_u128(), Hit::Page(p.id)));
            }
        }
    }
    if want_sources {
        for ds in state.data_sources.values() {
            if ds.workspace_id != ws
                || ds.in_trash
                || !state.visible(&ctx.bot, &ds.id)
                || state.trashed(&ds.database_id)
            {
                continue;
            }
            let db_title = state
                .databases
                .get(&ds.database_id)
                .map(|d| plain_text(&d.title))
                .unwrap_or_default();
            let title = plain_text(&ds.title);
            if query.is_empty()
                || title.to_lowercase().contains(&query)
                || db_title.to_lowercase().contains(&query)
            {
                hits.push((ds.edited.time, ds.id.as_u128(), Hit::DataSource(ds.id)));
            }
        }
    }
    hits.sort_by_key(|a| (a.0, a.1));
    if !ascending {
        hits.reverse();
    }
    let (slice, next, more) = pagination::slice(
        &hits
            .iter()
            .map(|h| match h.2 {
                Hit::Page(id) => (true, id),
                Hit::DataSource(id) => (false, id),
            })
            .collect::<Vec<_>>(),
        req,
    );
    let results = slice
        .iter()
        .filter_map(|(is_page, id)| {
            if *is_page {
                state.pages.get(id).map(|p| {
                    render::list_page(state, ctx.version, p, ctx.filter_properties().as_deref())
                })
            } else {
                state
                    .data_sources
                    .get(id)
                    .map(|d| render::data_source(state, ctx.version, d))
            }
        })
        .collect();
    let mut body = list_body("page_or_data_source", results, next, more);
    body["request_status"] = json!({"type": "complete"});
    Ok(body)
}
