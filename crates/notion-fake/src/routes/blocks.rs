//! Block endpoints: retrieve, children listing, append (with `position`/legacy `after`),
//! update and delete (to trash).

use serde_json::{Map, Value};

use super::{Ctx, body_id, path_id, required};
use crate::blocks::{self, InsertAt};
use crate::errors::{ApiError, ApiResult};
use crate::ids::fmt_id;
use crate::pagination::{self, list_body};
use crate::render;
use crate::richtext::short;
use crate::state::{NodeKind, Parent, State};
use crate::webhooks::Change;

pub fn get(state: &mut State, ctx: &Ctx, raw: &str) -> ApiResult<Value> {
    ctx.need(|c| c.read_content, "read_content")?;
    let id = path_id(raw, "block_id")?;
    state.block_like(&ctx.bot, &id)?;
    render::block(state, ctx.version, &id).ok_or_else(|| ApiError::not_found("block", &fmt_id(&id)))
}

pub fn children(state: &mut State, ctx: &Ctx, raw: &str) -> ApiResult<Value> {
    ctx.need(|c| c.read_content, "read_content")?;
    let id = path_id(raw, "block_id")?;
    if state.block_like(&ctx.bot, &id)? == NodeKind::Database {
        return Err(ApiError::validation(
            "Block type child_database does not support children. Query its data sources instead.",
        ));
    }
    let req = ctx.query_page(state.limits.max_page_size)?;
    let kids = state.live_children(&id);
    let (slice, next, more) = pagination::slice(&kids, req);
    let results = slice
        .iter()
        .filter_map(|k| render::block(state, ctx.version, k))
        .collect();
    Ok(list_body("block", results, next, more))
}

fn position(state: &State, ctx: &Ctx, parent: &uuid::Uuid) -> ApiResult<InsertAt> {
    let after = ctx.field("after");
    let pos = ctx.field("position");
    if after.is_some() && !ctx.version.legacy() {
        return Err(ApiError::body_validation(
            "body.after should be not present, instead was defined. Use `position` with Notion-Version 2026-03-11.",
        ));
    }
    if after.is_some() && pos.is_some() {
        return Err(ApiError::body_validation(
            "body.after should be not present when body.position is given.",
        ));
    }
    let check_child = |id: uuid::Uuid, path: &str| -> ApiResult<InsertAt> {
        if state.live_children(parent).contains(&id) {
            Ok(InsertAt::After(id))
        } else {
            Err(ApiError::validation(format!(
                "{path} {} is not a child of block {}.",
                fmt_id(&id),
                fmt_id(parent)
            )))
        }
    };
    if let Some(a) = after {
        return check_child(body_id(a, "body.after")?, "body.after");
    }
    let Some(p) = pos else {
        return Ok(InsertAt::End);
    };
    match p.get("type").and_then(Value::as_str) {
        Some("end") => Ok(InsertAt::End),
        Some("start") => Ok(InsertAt::Start),
        Some("after_block") => {
            let id = body_id(
                p.pointer("/after_block/id").unwrap_or(&Value::Null),
                "body.position.after_block.id",
            )?;
            check_child(id, "body.position.after_block.id")
        }
        _ => Err(ApiError::body_validation(format!(
            "body.position.type should be `\"end\"`, `\"start\"` or `\"after_block\"`, instead was `{}`.",
            short(p.get("type").unwrap_or(&Value::Null))
        ))),
    }
}

pub fn append(state: &mut State, ctx: &Ctx, raw: &str) -> ApiResult<Value> {
    ctx.need(|c| c.insert_content, "insert_content")?;
    let id = path_id(raw, "block_id")?;
    let kind = state.block_like(&ctx.bot, &id)?;
    if kind == NodeKind::Database {
        return Err(ApiError::validation(
            "Block type child_database does not support children.",
        ));
    }
    let specs = blocks::parse_api_children(required(ctx, "children")?, "body.children")?;
    let parent_kind = state.blocks.get(&id).map(|b| b.kind.as_str());
    blocks::check_placement(parent_kind, &specs, "body.children")?;
    if state.trashed(&id) {
        return Err(ApiError::archived());
    }
    let at = position(state, ctx, &id)?;
    let parent = if kind == NodeKind::Page {
        Parent::Page(id)
    } else {
        Parent::Block(id)
    };
    let ids = blocks::insert_tree(state, ctx.bot.workspace_id, parent, specs, at, ctx.bot.id);
    touch(state, ctx, &id);
    state.record(Change::Content {
        within: id,
        blocks: ids.clone(),
    });
    let results = ids
        .iter()
        .filter_map(|k| render::block(state, ctx.version, k))
        .collect();
    Ok(list_body("block", results, None, false))
}

fn touch(state: &mut State, ctx: &Ctx, id: &uuid::Uuid) {
    let stamp = state.stamp(ctx.bot.id);
    if let Some(p) = state.pages.get_mut(id) {
        p.edited = stamp;
    } else if let Some(b) = state.blocks.get_mut(id) {
        b.edited = stamp;
    }
}

/// Moves a page, block or database to the trash or back (a change when the flag flips).
fn set_trash(state: &mut State, id: &uuid::Uuid, value: bool) {
    if state.is_self_trashed(id) != value {
        state.record(Change::Trashed {
            id: *id,
            in_trash: value,
        });
    }
    if let Some(p) = state.pages.get_mut(id) {
        p.in_trash = value;
    } else if let Some(b) = state.blocks.get_mut(id) {
        b.in_trash = value;
    } else if let Some(d) = state.databases.get_mut(id) {
        d.in_trash = value;
    }
}

pub fn update(state: &mut State, ctx: &Ctx, raw: &str) -> ApiResult<Value> {
    ctx.need(|c| c.update_content, "update_content")?;
    let id = path_id(raw, "block_id")?;
    let kind = state.block_like(&ctx.bot, &id)?;
    let trash = ctx.trash_flag()?;
    let current = state.blocks.get(&id).cloned();
    let type_keys: Vec<String> = ctx
        .body
        .as_object()
        .map(|o| {
            o.keys()
                .filter(|k| !matches!(k.as_str(), "in_trash" | "archived" | "type" | "object"))
                .cloned()
                .collect()
        })
        .unwrap_or_default();
    if let Some(block) = current.filter(|_| kind == NodeKind::Block) {
        if !type_keys.is_empty() {
            if block.in_trash && trash != Some(false) {
                return Err(ApiError::archived());
            }
            for key in &type_keys {
                if *key != block.kind {
                    return Err(ApiError::body_validation(format!(
                        "body.{key} should be not present, instead was defined. Block {} is of type `{}`.",
                        fmt_id(&id),
                        block.kind
                    )));
                }
            }
            let given = ctx.body[&block.kind]
                .as_object()
                .cloned()
                .unwrap_or_default();
            let mut merged: Map<String, Value> =
                block.data.as_object().cloned().unwrap_or_default();
            for (k, v) in given {
                if k != "children" {
                    merged.insert(k, v);
                }
            }
            let data =
                blocks::normalize_data(&block.kind, merged, &format!("body.{}", block.kind), true)?;
            if let Some(b) = state.blocks.get_mut(&id) {
                b.data = data;
            }
            state.record(Change::Content {
                within: id,
                blocks: vec![id],
            });
        }
    } else if !type_keys.is_empty() {
        return Err(ApiError::validation(
            "Child pages and databases can only be trashed or restored through this endpoint.",
        ));
    }
    if let Some(t) = trash {
        set_trash(state, &id, t);
    }
    touch(state, ctx, &id);
    render::block(state, ctx.version, &id).ok_or_else(|| ApiError::not_found("block", &fmt_id(&id)))
}

pub fn delete(state: &mut State, ctx: &Ctx, raw: &str) -> ApiResult<Value> {
    ctx.need(|c| c.update_content, "update_content")?;
    let id = path_id(raw, "block_id")?;
    state.block_like(&ctx.bot, &id)?;
    set_trash(state, &id, true);
    touch(state, ctx, &id);
    render::block(state, ctx.version, &id).ok_or_else(|| ApiError::not_found("block", &fmt_id(&id)))
}
