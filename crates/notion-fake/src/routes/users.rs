//! User endpoints: list (people and bots of the caller's workspace), retrieve, and `me`.

use serde_json::Value;

use super::{Ctx, path_id};
use crate::errors::{ApiError, ApiResult};
use crate::ids::fmt_id;
use crate::pagination::{self, list_body};
use crate::render;
use crate::state::State;

pub fn list(state: &mut State, ctx: &Ctx) -> ApiResult<Value> {
    ctx.need(|c| c.read_users, "read_user_information")?;
    let Some(ws) = state.workspaces.get(&ctx.bot.workspace_id) else {
        return Err(ApiError::unauthorized());
    };
    let mut all: Vec<Value> = ws
        .user_ids
        .iter()
        .filter_map(|id| state.users.get(id))
        .map(|u| render::person_in(u, ctx.version))
        .collect();
    all.extend(
        ws.bot_ids
            .iter()
            .filter_map(|id| state.bots.get(id))
            .map(|b| render::bot_user(state, b)),
    );
    let req = ctx.query_page(state.limits.max_page_size)?;
    let (slice, next, more) = pagination::slice(&all, req);
    Ok(list_body("user", slice, next, more))
}

pub fn get(state: &mut State, ctx: &Ctx, raw: &str) -> ApiResult<Value> {
    ctx.need(|c| c.read_users, "read_user_information")?;
    let id = path_id(raw, "user_id")?;
    if let Some(u) = state
        .users
        .get(&id)
        .filter(|u| u.workspace_id == ctx.bot.workspace_id)
    {
        return Ok(render::person_in(u, ctx.version));
    }
    if let Some(b) = state
        .bots
        .get(&id)
        .filter(|b| b.workspace_id == ctx.bot.workspace_id)
    {
        return Ok(render::bot_user(state, b));
    }
    Err(ApiError::not_found("user", &fmt_id(&id)))
}

pub fn me(state: &mut State, ctx: &Ctx) -> ApiResult<Value> {
    Ok(render::bot_user(state, &ctx.bot))
}
