//! View queries (create, page, delete: a view's rows through its filter and sorts, kept until they
//! expire, cut at the row cap) and the custom emoji list.

use std::time::Instant;

use serde_json::{Value, json};
use uuid::Uuid;

use super::views::{need_read, visible_view};
use super::{Ctx, path_id};
use crate::errors::{ApiError, ApiResult};
use crate::ids::fmt_id;
use crate::pagination::{self, list_body};
use crate::query::{QueryCtx, matches, sort_pages};
use crate::state::{Page, State};
use crate::views::{View, ViewQuery};

/// The rows a view shows now: its data source's live rows through its filter and sorts.
fn view_rows(state: &State, ctx: &Ctx, view: &View) -> ApiResult<Vec<Uuid>> {
    let Some(ds_id) = view.data_source_id else {
        return Err(ApiError::validation(
            "A dashboard view has no rows of its own; query one of its widget views instead.",
        ));
    };
    let ds = state.data_source(&ctx.bot, &ds_id)?;
    let qctx = QueryCtx {
        state,
        ds,
        me: ctx.bot.id,
    };
    let mut rows: Vec<&Page> = Vec::new();
    for row in ds.rows.iter().filter_map(|r| state.pages.get(r)) {
        if row.in_trash {
            continue;
        }
        if !view.filter.is_null() && !matches(&qctx, row, &view.filter, "view.filter")? {
            continue;
        }
        rows.push(row);
    }
    sort_pages(&qctx, &mut rows, &view.sorts)?;
    Ok(rows.iter().map(|p| p.id).collect())
}

fn page_refs(ids: &[Uuid]) -> Vec<Value> {
    ids.iter()
        .map(|id| json!({"object": "page", "id": fmt_id(id)}))
        .collect()
}

fn incomplete() -> Value {
    json!({"type": "incomplete", "incomplete_reason": "query_result_limit_reached"})
}

/// `POST /v1/views/{id}/queries`: runs the view once and caches its rows.
pub fn create(state: &mut State, ctx: &Ctx, raw: &str) -> ApiResult<Value> {
    need_read(ctx)?;
    let view = visible_view(state, ctx, raw)?;
    if let Some(k) = ctx
        .body
        .as_object()
        .and_then(|m| m.keys().find(|k| *k != "page_size"))
    {
        return Err(ApiError::body_validation(format!(
            "body.{k} should be not present, instead was defined. A view query runs the view's own filter and sorts."
        )));
    }
    let req = ctx.body_page(state.limits.max_page_size)?;
    let mut rows = view_rows(state, ctx, &view)?;
    let truncated = rows.len() > state.limits.query_result_cap;
    rows.truncate(state.limits.query_result_cap);
    let id = state.new_id();
    let expires_at = state.clock.now + state.views.query_ttl.as_secs() as i64;
    let (slice, next, more) = pagination::slice(&rows, req);
    let mut body = json!({
        "object": "view_query",
        "id": fmt_id(&id),
        "view_id": fmt_id(&view.id),
        "expires_at": crate::render::time(expires_at),
        "total_count": rows.len(),
        "results": page_refs(&slice),
        "next_cursor": next,
        "has_more": more,
    });
    if truncated {
        body["request_status"] = incomplete();
    }
    state.views.queries.insert(
        id,
        ViewQuery {
            id,
            view_id: view.id,
            bot_id: ctx.bot.id,
            rows,
            truncated,
            expires: Instant::now() + state.views.query_ttl,
            expires_at,
        },
    );
    Ok(body)
}

/// `GET /v1/views/{id}/queries/{query_id}`: a page of a live query (404 once it expired).
pub fn results(state: &mut State, ctx: &Ctx, raw: &str, raw_query: &str) -> ApiResult<Value> {
    need_read(ctx)?;
    let view = visible_view(state, ctx, raw)?;
    let qid = path_id(raw_query, "query_id")?;
    let query = state
        .views
        .queries
        .get(&qid)
        .filter(|q| q.view_id == view.id && q.bot_id == ctx.bot.id && q.expires > Instant::now())
        .ok_or_else(|| ApiError::not_found("view_query", &fmt_id(&qid)))?;
    let req = ctx.query_page(state.limits.max_page_size)?;
    let (slice, next, more) = pagination::slice(&query.rows, req);
    let mut body = list_body("page", page_refs(&slice), next, more);
    if query.truncated {
        body["request_status"] = incomplete();
    }
    Ok(body)
}

/// `DELETE /v1/views/{id}/queries/{query_id}`: idempotent, also for expired queries.
pub fn delete(state: &mut State, ctx: &Ctx, raw: &str, raw_query: &str) -> ApiResult<Value> {
    need_read(ctx)?;
    let view = visible_view(state, ctx, raw)?;
    let qid = path_id(raw_query, "query_id")?;
    state
        .views
        .queries
        .retain(|id, q| !(*id == qid && q.view_id == view.id));
    Ok(json!({"object": "view_query", "id": fmt_id(&qid), "deleted": true}))
}

/// `GET /v1/custom_emojis`: the workspace's custom emojis, optionally one `name` (exact).
pub fn custom_emojis(state: &mut State, ctx: &Ctx) -> ApiResult<Value> {
    let name = ctx.q("name");
    let list: Vec<Value> = state
        .views
        .custom_emojis
        .iter()
        .filter(|e| e.workspace_id == ctx.bot.workspace_id)
        .filter(|e| name.is_none_or(|n| e.name == n))
        .map(|e| e.render())
        .collect();
    let req = ctx.query_page(state.limits.max_page_size)?;
    let (slice, next, more) = pagination::slice(&list, req);
    Ok(
        json!({"object": "list", "type": "custom_emoji", "results": slice, "has_more": more, "next_cursor": next}),
    )
}
