//! Markdown endpoints: `GET|PATCH /v1/pages/{id}/markdown` (`page_markdown` objects with
//! `truncated` and `unknown_block_ids`; `replace_content` and atomic, exact-match
//! `update_content` guarded by `allow_deleting_content`) and `POST /v1/pages` with `markdown`
//! (the first `# h1` becomes the title when none is given). Conversion is the
//! `notion-markdown` crate's, so these endpoints speak exactly the dialect the server reads and writes.

use serde_json::{Map, Value, json};
use uuid::Uuid;

use super::{Ctx, path_id, required};
use crate::blocks::{self, BlockSpec, InsertAt};
use crate::errors::{ApiError, ApiResult};
use crate::ids::fmt_id;
use crate::render::{self, Version};
use crate::richtext::short;
use crate::state::{NodeKind, Parent, State};
use crate::webhooks::Change;
use notion_model::block_kinds;

/// Blocks rendered at most before `truncated: true` (Notion: about 20,000).
pub const MAX_MARKDOWN_BLOCKS: usize = 20_000;
/// `content_updates` per request.
pub const MAX_CONTENT_UPDATES: usize = 100;

fn require_version(ctx: &Ctx) -> ApiResult<()> {
    if ctx.version.legacy() {
        return Err(ApiError::validation(
            "The markdown endpoints require Notion-Version 2026-03-11 or later.",
        ));
    }
    Ok(())
}

fn check_markdown_version(ctx: &Ctx, v: Option<&Value>, path: &str) -> ApiResult<()> {
    match v {
        None | Some(Value::Null) => Ok(()),
        Some(Value::String(s)) if s == "v1" && ctx.version == Version::V2026_12_01 => {
            Err(ApiError::validation(format!(
                "{path} `\"v1\"` is not supported with Notion-Version 2026-12-01: Markdown v2 is the only format."
            )))
        }
        Some(Value::String(s)) if s == "v1" || s == "v2" => Ok(()),
        Some(other) => Err(ApiError::body_validation(format!(
            "{path} should be `\"v1\"` or `\"v2\"`, instead was `{}`.",
            short(other)
        ))),
    }
}

fn parse_markdown(md: &str) -> ApiResult<Vec<Value>> {
    notion_markdown::json::markdown_to_json(md)
        .map_err(|e| ApiError::validation(format!("Markdown could not be parsed: {e}")))
}

/// What a markdown read collected.
#[derive(Default)]
struct Collected {
    count: usize,
    truncated: bool,
    unknown: Vec<String>,
}

/// The live children of `id` as block JSON with nested `children`.
fn tree(state: &State, ctx: &Ctx, id: &Uuid, acc: &mut Collected) -> Vec<Value> {
    let mut out = Vec::new();
    for kid in state.live_children(id) {
        if acc.count >= MAX_MARKDOWN_BLOCKS {
            acc.truncated = true;
            break;
        }
        acc.count += 1;
        let is_child_object = matches!(
            state.kind_of(&kid),
            Some(NodeKind::Page | NodeKind::Database)
        );
        if is_child_object && !state.visible(&ctx.bot, &kid) {
            let kind = if state.pages.contains_key(&kid) {
                "child_page"
            } else {
                "child_database"
            };
            acc.unknown.push(fmt_id(&kid));
            out.push(
                json!({"object": "block", "id": fmt_id(&kid), "type": "unsupported",
                            "unsupported": {"block_type": kind}}),
            );
            continue;
        }
        let Some(mut block) = render::block(state, ctx.version, &kid) else {
            continue;
        };
        if !is_child_object && !state.live_children(&kid).is_empty() {
            let kids = tree(state, ctx, &kid, acc);
            block["children"] = Value::Array(kids);
        }
        out.push(block);
    }
    out
}

fn render_markdown(state: &State, ctx: &Ctx, id: &Uuid) -> (String, Collected) {
    let mut acc = Collected::default();
    let blocks = tree(state, ctx, id, &mut acc);
    (notion_markdown::json::json_to_markdown(&blocks), acc)
}

fn page_markdown(id: &Uuid, markdown: String, acc: Collected) -> Value {
    json!({
        "object": "page_markdown",
        "id": fmt_id(id),
        "markdown": markdown,
        "truncated": acc.truncated,
        "unknown_block_ids": acc.unknown,
    })
}

/// `GET /v1/pages/{id}/markdown` (a block id from `unknown_block_ids` reads that subtree).
pub fn get(state: &mut State, ctx: &Ctx, raw: &str) -> ApiResult<Value> {
    ctx.need(|c| c.read_content, "read_content")?;
    require_version(ctx)?;
    let mv = ctx.q("markdown_version").map(|v| json!(v));
    check_markdown_version(ctx, mv.as_ref(), "query.markdown_version")?;
    let id = path_id(raw, "page_id")?;
    if state.block_like(&ctx.bot, &id)? == NodeKind::Database {
        return Err(ApiError::validation(format!(
            "{} is a database, not a page. Query its data sources instead.",
            fmt_id(&id)
        )));
    }
    let (markdown, acc) = render_markdown(state, ctx, &id);
    Ok(page_markdown(&id, markdown, acc))
}

/// `PATCH /v1/pages/{id}/markdown`.
pub fn update(state: &mut State, ctx: &Ctx, raw: &str) -> ApiResult<Value> {
    ctx.need(|c| c.update_content, "update_content")?;
    require_version(ctx)?;
    check_markdown_version(ctx, ctx.field("markdown_version"), "body.markdown_version")?;
    let id = path_id(raw, "page_id")?;
    state.page(&ctx.bot, &id)?;
    if state.trashed(&id) {
        return Err(ApiError::archived());
    }
    let kind = required(ctx, "type")?
        .as_str()
        .unwrap_or_default()
        .to_string();
    let command = ctx.field(&kind).cloned().unwrap_or(Value::Null);
    let allow_deleting = command
        .get("allow_deleting_content")
        .and_then(Value::as_bool)
        .unwrap_or(false);
    let new_markdown = match kind.as_str() {
        "replace_content" => command
            .get("new_str")
            .and_then(Value::as_str)
            .map(str::to_string)
            .ok_or_else(|| {
                ApiError::body_validation(
                    "body.replace_content.new_str should be a string, instead was `undefined`.",
                )
            })?,
        "update_content" => {
            let (current, _) = render_markdown(state, ctx, &id);
            apply_updates(&current, &command)?
        }
        "insert_content" | "replace_content_range" => {
            return Err(ApiError::validation(format!(
                "`{kind}` is deprecated and not supported here; use `update_content` or `replace_content`."
            )));
        }
        other => {
            return Err(ApiError::body_validation(format!(
                "body.type should be `\"replace_content\"` or `\"update_content\"`, instead was `\"{other}\"`."
            )));
        }
    };
    let blocks = parse_markdown(&new_markdown)?;
    replace_content(state, ctx, &id, blocks, allow_deleting)?;
    let (markdown, acc) = render_markdown(state, ctx, &id);
    Ok(page_markdown(&id, markdown, acc))
}

/// Applies every search-and-replace or none (an absent `old_str` names itself in the error).
fn apply_updates(current: &str, command: &Value) -> ApiResult<String> {
    let updates = command
        .get("content_updates")
        .and_then(Value::as_array)
        .ok_or_else(|| {
            ApiError::body_validation(
                "body.update_content.content_updates should be an array, instead was `undefined`.",
            )
        })?;
    if updates.is_empty() || updates.len() > MAX_CONTENT_UPDATES {
        return Err(ApiError::body_validation(format!(
            "body.update_content.content_updates.length should be between 1 and {MAX_CONTENT_UPDATES}, instead was `{}`.",
            updates.len()
        )));
    }
    let mut text = current.to_string();
    for (i, u) in updates.iter().enumerate() {
        let path = format!("body.update_content.content_updates[{i}]");
        let field = |key: &str| -> ApiResult<&str> {
            u.get(key).and_then(Value::as_str).ok_or_else(|| {
                ApiError::body_validation(format!(
                    "{path}.{key} should be a string, instead was `{}`.",
                    u.get(key).map(short).unwrap_or_else(|| "undefined".into())
                ))
            })
        };
        let old = field("old_str")?;
        let new = field("new_str")?;
        if old.is_empty() {
            return Err(ApiError::body_validation(format!(
                "{path}.old_str should not be empty."
            )));
        }
        if old == new {
            continue;
        }
        let all = u
            .get("replace_all_matches")
            .and_then(Value::as_bool)
            .unwrap_or(false);
        match text.matches(old).count() {
            0 => {
                return Err(ApiError::validation(format!(
                    "{path}.old_str was not found in the page content: `{}`. No updates were applied.",
                    short(&json!(old))
                )));
            }
            1 => text = text.replacen(old, new, 1),
            _ if all => text = text.replace(old, new),
            n => {
                return Err(ApiError::validation(format!(
                    "{path}.old_str matches {n} times; make it unique or set replace_all_matches. No updates were applied."
                )));
            }
        }
    }
    Ok(text)
}

/// The child page or database a top-level `link_to_page` block keeps in place, if it points at
/// one of `children`.
fn kept_child(block: &Value, children: &[Uuid]) -> Option<Uuid> {
    if block.get("type").and_then(Value::as_str) != Some("link_to_page") {
        return None;
    }
    let link = block.get("link_to_page")?;
    let key = link.get("type").and_then(Value::as_str)?;
    let id = link
        .get(key)
        .and_then(Value::as_str)
        .and_then(crate::ids::parse_id)?;
    children.contains(&id).then_some(id)
}

/// Replaces a page's content; child pages and databases survive where the new content links
/// to them, and are trashed otherwise (only with `allow_deleting_content`).
fn replace_content(
    state: &mut State,
    ctx: &Ctx,
    page: &Uuid,
    blocks: Vec<Value>,
    allow_deleting: bool,
) -> ApiResult<()> {
    let current = state.live_children(page);
    let objects: Vec<Uuid> = current
        .iter()
        .filter(|k| state.pages.contains_key(k) || state.databases.contains_key(k))
        .copied()
        .collect();
    let mut plan: Vec<Result<Uuid, BlockSpec>> = Vec::with_capacity(blocks.len());
    for (i, b) in blocks.iter().enumerate() {
        match kept_child(b, &objects) {
            Some(id) if !plan.iter().any(|p| p.as_ref().ok() == Some(&id)) => plan.push(Ok(id)),
            _ => {
                if let Some(spec) = to_spec(b, &format!("markdown block {i}"))? {
                    plan.push(Err(spec));
                }
            }
        }
    }
    let deleted: Vec<String> = objects
        .iter()
        .filter(|o| !plan.iter().any(|p| p.as_ref().ok() == Some(*o)))
        .map(fmt_id)
        .collect();
    if !deleted.is_empty() && !allow_deleting {
        return Err(ApiError::validation(format!(
            "The update would delete child pages or databases ({}). Set allow_deleting_content to true to delete them.",
            deleted.join(", ")
        )));
    }
    let mut changed = Vec::new();
    for kid in &current {
        let keep = plan.iter().any(|p| p.as_ref().ok() == Some(kid));
        if let Some(p) = state.pages.get_mut(kid) {
            p.in_trash |= !keep;
        } else if let Some(d) = state.databases.get_mut(kid) {
            d.in_trash |= !keep;
        } else if let Some(b) = state.blocks.get_mut(kid) {
            b.in_trash = true;
            changed.push(*kid);
        }
        if !keep && !state.blocks.contains_key(kid) {
            state.record(Change::Trashed {
                id: *kid,
                in_trash: true,
            });
        }
        if keep && let Some(list) = state.children.get_mut(page) {
            list.retain(|k| k != kid);
        }
    }
    let by = ctx.bot.id;
    for step in plan {
        match step {
            Ok(kept) => blocks::place(state, *page, &[kept], InsertAt::End),
            Err(spec) => {
                changed.extend(blocks::insert_tree(
                    state,
                    ctx.bot.workspace_id,
                    Parent::Page(*page),
                    vec![spec],
                    InsertAt::End,
                    by,
                ));
            }
        }
    }
    let stamp = state.stamp(by);
    if let Some(p) = state.pages.get_mut(page) {
        p.edited = stamp;
    }
    state.record(Change::Content {
        within: *page,
        blocks: changed,
    });
    Ok(())
}

/// A parsed block as a spec, or `None` for a type that cannot be created or invalid data.
pub(crate) fn spec_of(block: &Value) -> Option<BlockSpec> {
    to_spec(block, "block").ok().flatten()
}

/// A parsed block (children at any depth) as a spec; types that cannot be created are skipped.
fn to_spec(block: &Value, path: &str) -> ApiResult<Option<BlockSpec>> {
    let Some(kind) = block.get("type").and_then(Value::as_str) else {
        return Ok(None);
    };
    if !block_kinds::is_creatable(kind) {
        return Ok(None);
    }
    let mut data: Map<String, Value> = block
        .get(kind)
        .and_then(Value::as_object)
        .cloned()
        .unwrap_or_default();
    let kids = data
        .remove("children")
        .or_else(|| block.get("children").cloned())
        .and_then(|v| v.as_array().cloned())
        .unwrap_or_default();
    let mut children = Vec::with_capacity(kids.len());
    for (i, k) in kids.iter().enumerate() {
        if let Some(spec) = to_spec(k, &format!("{path}.children[{i}]"))? {
            children.push(spec);
        }
    }
    let data = blocks::normalize_data(kind, data, path, false)?;
    Ok(Some(BlockSpec {
        kind: kind.to_string(),
        data,
        children,
    }))
}

/// Whether a `properties` value sets the title.
fn sets_title(key: &str, v: &Value) -> bool {
    key == "title" || v.get("title").is_some() || v.get("type") == Some(&json!("title"))
}

/// `POST /v1/pages` with `markdown` instead of `children`.
pub fn create_page(state: &mut State, ctx: &Ctx) -> ApiResult<Value> {
    ctx.need(|c| c.insert_content, "insert_content")?;
    if ctx.field("children").is_some() {
        return Err(ApiError::body_validation(
            "body.children should be not present when body.markdown is given.",
        ));
    }
    check_markdown_version(ctx, ctx.field("markdown_version"), "body.markdown_version")?;
    let md = required(ctx, "markdown")?
        .as_str()
        .ok_or_else(|| ApiError::should_be("body.markdown", "a string", &ctx.body["markdown"]))?;
    let mut blocks = parse_markdown(md)?;
    let mut body = ctx.body.as_object().cloned().unwrap_or_default();
    body.remove("markdown");
    body.remove("markdown_version");
    let mut props = body
        .remove("properties")
        .and_then(|p| p.as_object().cloned())
        .unwrap_or_default();
    if !props.iter().any(|(k, v)| sets_title(k, v))
        && let Some(pos) = blocks.iter().position(|b| b["type"] == "heading_1")
    {
        let h1 = blocks.remove(pos);
        let title = h1["heading_1"]["rich_text"].clone();
        let parent = super::pages::parse_parent(
            state,
            ctx,
            required(ctx, "parent")?,
            &["page_id", "data_source_id", "database_id", "workspace"],
        )?;
        let key = match parent {
            Parent::DataSource(ds) => state
                .data_sources
                .get(&ds)
                .and_then(|d| d.title_prop())
                .map(|p| p.name.clone())
                .unwrap_or_else(|| "title".into()),
            _ => "title".into(),
        };
        props.insert(key, json!({ "title": title }));
    }
    body.insert("properties".into(), Value::Object(props));
    let mut specs = Vec::with_capacity(blocks.len());
    for (i, b) in blocks.iter().enumerate() {
        if let Some(spec) = to_spec(b, &format!("markdown block {i}"))? {
            specs.push(spec);
        }
    }
    let mut inner = ctx.clone();
    inner.body = Value::Object(body);
    let page = super::pages::create(state, &inner)?;
    let Some(id) = page["id"].as_str().and_then(crate::ids::parse_id) else {
        return Ok(page);
    };
    blocks::insert_tree(
        state,
        ctx.bot.workspace_id,
        Parent::Page(id),
        specs,
        InsertAt::End,
        ctx.bot.id,
    );
    Ok(page)
}
