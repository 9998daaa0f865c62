//! Comment endpoints: list by `block_id` (page or block), create on a page/block or in an
//! existing discussion, and retrieve.

use serde_json::Value;

use super::{Ctx, body_id, path_id};
use crate::errors::{ApiError, ApiResult};
use crate::ids::{fmt_id, parse_id};
use crate::pagination::{self, list_body};
use crate::render;
use crate::richtext;
use crate::state::{Comment, NodeKind, Parent, State};
use crate::webhooks::Change;

pub fn list(state: &mut State, ctx: &Ctx) -> ApiResult<Value> {
    ctx.need(|c| c.read_comments, "read_comments")?;
    let raw = ctx.q("block_id").ok_or_else(|| {
        ApiError::validation(
            "query failed validation: query.block_id should be defined, instead was `undefined`.",
        )
    })?;
    let id = parse_id(raw).ok_or_else(|| {
        ApiError::validation(format!("query failed validation: query.block_id should be a valid uuid, instead was `\"{raw}\"`."))
    })?;
    state.block_like(&ctx.bot, &id)?;
    let all: Vec<Value> = state
        .comments
        .iter()
        .filter(|c| c.parent.id() == Some(id))
        .map(|c| render::comment(state, c))
        .collect();
    let req = ctx.query_page(state.limits.max_page_size)?;
    let (slice, next, more) = pagination::slice(&all, req);
    Ok(list_body("comment", slice, next, more))
}

pub fn create(state: &mut State, ctx: &Ctx) -> ApiResult<Value> {
    ctx.need(|c| c.insert_comments, "insert_comments")?;
    let rich_text = match ctx.field("rich_text") {
        Some(v) => richtext::normalize(v, "body.rich_text")?,
        None => match ctx.field("markdown").and_then(Value::as_str) {
            Some(md) => richtext::from_inline_markdown(md),
            None => {
                return Err(ApiError::body_validation(
                    "body.rich_text should be defined, instead was `undefined`.",
                ));
            }
        },
    };
    let (parent, discussion_id) = if let Some(d) = ctx.field("discussion_id") {
        let did = body_id(d, "body.discussion_id")?;
        let first = state
            .comments
            .iter()
            .find(|c| c.discussion_id == did && c.workspace_id == ctx.bot.workspace_id)
            .filter(|c| c.parent.id().is_some_and(|p| state.visible(&ctx.bot, &p)))
            .ok_or_else(|| ApiError::not_found("discussion", &fmt_id(&did)))?;
        (first.parent, did)
    } else if let Some(p) = ctx.field("parent") {
        let key = if p.get("page_id").is_some() {
            "page_id"
        } else {
            "block_id"
        };
        let id = body_id(
            p.get(key).unwrap_or(&Value::Null),
            &format!("body.parent.{key}"),
        )?;
        let parent = match state.block_like(&ctx.bot, &id)? {
            NodeKind::Page => Parent::Page(id),
            _ => Parent::Block(id),
        };
        (parent, state.new_id())
    } else {
        return Err(ApiError::body_validation(
            "body.parent should be defined, instead was `undefined`.",
        ));
    };
    let display_name = ctx
        .field("display_name")
        .and_then(|d| d.pointer("/custom/name"))
        .and_then(Value::as_str)
        .map(str::to_string);
    let id = state.new_id();
    let created = state.stamp(ctx.bot.id);
    let comment = Comment {
        id,
        workspace_id: ctx.bot.workspace_id,
        parent,
        discussion_id,
        rich_text,
        created,
        display_name,
    };
    let body = render::comment(state, &comment);
    state.comments.push(comment);
    state.record(Change::CommentCreated(id));
    Ok(body)
}

pub fn get(state: &mut State, ctx: &Ctx, raw: &str) -> ApiResult<Value> {
    ctx.need(|c| c.read_comments, "read_comments")?;
    let id = path_id(raw, "comment_id")?;
    state
        .comments
        .iter()
        .find(|c| c.id == id && c.parent.id().is_some_and(|p| state.visible(&ctx.bot, &p)))
        .map(|c| render::comment(state, c))
        .ok_or_else(|| ApiError::not_found("comment", &fmt_id(&id)))
}
