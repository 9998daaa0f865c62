//! Request routing for the data endpoints: the per-request context and the table mapping
//! `(method, /v1/... segments)` to synchronous handlers over the locked model.

pub mod async_tasks;
pub mod blocks;
pub mod comments;
pub mod databases;
pub mod file_uploads;
pub mod markdown;
pub mod meeting_notes;
pub mod oauth;
pub mod pages;
pub mod search;
pub mod users;
pub mod view_queries;
pub mod views;

use http::Method;
use serde_json::Value;
use uuid::Uuid;

use crate::errors::{ApiError, ApiResult};
use crate::pagination::{self, PageRequest};
use crate::render::{self, Version};
use crate::richtext::short;
use crate::state::{Bot, Capabilities, State};

/// What a handler knows about the request.
#[derive(Clone)]
pub struct Ctx {
    pub version: Version,
    pub bot: Bot,
    /// `http://host` the request was sent to (for `next_url`).
    pub base_url: String,
    pub query: Vec<(String, String)>,
    /// The JSON body (`Null` when absent).
    pub body: Value,
    /// A multipart/form-data body: its content type and bytes (file uploads).
    pub raw: Option<(String, bytes::Bytes)>,
}

impl Ctx {
    pub fn q(&self, key: &str) -> Option<&str> {
        self.query
            .iter()
            .find(|(k, _)| k == key)
            .map(|(_, v)| v.as_str())
    }

    pub fn q_all(&self, key: &str) -> Vec<String> {
        let bracketed = format!("{key}[]");
        self.query
            .iter()
            .filter(|(k, _)| *k == key || *k == bracketed)
            .flat_map(|(_, v)| v.split(',').map(str::to_string).collect::<Vec<_>>())
            .filter(|v| !v.is_empty())
            .collect()
    }

    pub fn field(&self, key: &str) -> Option<&Value> {
        self.body.get(key).filter(|v| !v.is_null())
    }

    /// An `icon` or `cover` of a create request, checked (see [`render::file_or_emoji`]).
    pub fn file_field(&self, key: &str) -> ApiResult<Option<Value>> {
        self.body.get(key).map_or(Ok(None), |v| {
            render::file_or_emoji(v, &format!("body.{key}"))
        })
    }

    /// Pagination from the query string (GET endpoints).
    pub fn query_page(&self, max: usize) -> ApiResult<PageRequest> {
        let cursor = self.q("start_cursor").map(|s| Value::String(s.into()));
        let size = self.q("page_size").map(|s| Value::String(s.into()));
        pagination::parse(cursor.as_ref(), size.as_ref(), "query", max)
    }

    /// Pagination from the JSON body (POST endpoints).
    pub fn body_page(&self, max: usize) -> ApiResult<PageRequest> {
        pagination::parse(
            self.body.get("start_cursor"),
            self.body.get("page_size"),
            "body",
            max,
        )
    }

    /// `Filter_properties`-style list of property ids to keep, if any.
    pub fn filter_properties(&self) -> Option<Vec<String>> {
        let v = self.q_all("filter_properties");
        (!v.is_empty()).then_some(v)
    }

    /// Requires a capability of the calling integration.
    pub fn need(&self, cap: fn(&Capabilities) -> bool, name: &str) -> ApiResult<()> {
        if cap(&self.bot.capabilities) {
            Ok(())
        } else {
            Err(ApiError::insufficient_capability(name))
        }
    }

    /// Rejects `archived` on 2026-03-11 requests; returns the requested trash flag.
    pub fn trash_flag(&self) -> ApiResult<Option<bool>> {
        if let Some(v) = self.field("archived")
            && !self.version.legacy()
        {
            return Err(ApiError::body_validation(format!(
                "body.archived should be not present, instead was `{}`. Use `in_trash` with Notion-Version 2026-03-11.",
                short(v)
            )));
        }
        let raw = self.field("in_trash").or_else(|| self.field("archived"));
        match raw {
            None => Ok(None),
            Some(Value::Bool(b)) => Ok(Some(*b)),
            Some(other) => Err(ApiError::should_be("body.in_trash", "a boolean", other)),
        }
    }
}

/// Parses a path id (`page_id`, `block_id`, ...).
pub fn path_id(raw: &str, name: &str) -> ApiResult<Uuid> {
    crate::ids::parse_id(raw).ok_or_else(|| {
        ApiError::validation(format!(
            "path failed validation: path.{name} should be a valid uuid, instead was `\"{raw}\"`."
        ))
    })
}

/// Parses a body id field.
pub fn body_id(v: &Value, path: &str) -> ApiResult<Uuid> {
    v.as_str()
        .and_then(crate::ids::parse_id)
        .ok_or_else(|| ApiError::should_be(path, "a valid uuid", v))
}

pub fn required<'a>(ctx: &'a Ctx, key: &str) -> ApiResult<&'a Value> {
    ctx.field(key).ok_or_else(|| {
        ApiError::body_validation(format!(
            "body.{key} should be defined, instead was `undefined`."
        ))
    })
}

/// Routes one authenticated data request.
pub fn dispatch(state: &mut State, ctx: &Ctx, method: &Method, seg: &[&str]) -> ApiResult<Value> {
    let get = method == Method::GET;
    let post = method == Method::POST;
    let patch = method == Method::PATCH;
    let delete = method == Method::DELETE;
    let resolved = match seg.first() {
        Some(&"file_uploads") => None,
        // A meeting note names its recording as `source.file_upload_id`, not an attachment.
        _ if seg == ["blocks", "meeting_notes"] => None,
        _ if get => None,
        _ => file_uploads::with_attachments(state, ctx)?,
    };
    let ctx = resolved.as_ref().unwrap_or(ctx);
    if let Some(task) = async_tasks::accept(state, ctx, method, seg)? {
        return Ok(task);
    }
    match seg {
        ["async_tasks", id] if get => async_tasks::get(state, ctx, id),
        ["blocks", "meeting_notes", "query"] if post => meeting_notes::query(state, ctx),
        ["blocks", "meeting_notes"] if post => meeting_notes::create(state, ctx),
        ["pages"] if post && ctx.field("markdown").is_some() => markdown::create_page(state, ctx),
        ["pages"] if post => pages::create(state, ctx),
        ["pages", id, "markdown"] if get => markdown::get(state, ctx, id),
        ["pages", id, "markdown"] if patch => markdown::update(state, ctx, id),
        ["pages", id] if get => pages::get(state, ctx, id),
        ["pages", id] if patch => pages::update(state, ctx, id),
        ["pages", id, "move"] if post => pages::move_page(state, ctx, id),
        ["pages", id, "properties", prop] if get => pages::property_item(state, ctx, id, prop),
        ["blocks", id] if get => blocks::get(state, ctx, id),
        ["blocks", id] if patch => blocks::update(state, ctx, id),
        ["blocks", id] if delete => blocks::delete(state, ctx, id),
        ["blocks", id, "children"] if get => blocks::children(state, ctx, id),
        ["blocks", id, "children"] if patch => blocks::append(state, ctx, id),
        ["databases"] if post => databases::create_database(state, ctx),
        ["databases", id] if get => databases::get_database(state, ctx, id),
        ["databases", id] if patch => databases::update_database(state, ctx, id),
        ["data_sources"] if post => databases::create_data_source(state, ctx),
        ["data_sources", id] if get => databases::get_data_source(state, ctx, id),
        ["data_sources", id] if patch => databases::update_data_source(state, ctx, id),
        ["data_sources", id, "query"] if post => databases::query(state, ctx, id),
        ["data_sources", id, "templates"] if get => databases::templates(state, ctx, id),
        ["search"] if post => search::search(state, ctx),
        ["users"] if get => users::list(state, ctx),
        ["users", "me"] if get => users::me(state, ctx),
        ["users", id] if get => users::get(state, ctx, id),
        ["comments"] if get => comments::list(state, ctx),
        ["comments"] if post => comments::create(state, ctx),
        ["comments", id] if get => comments::get(state, ctx, id),
        ["file_uploads"] if post => file_uploads::create(state, ctx),
        ["file_uploads"] if get => file_uploads::list(state, ctx),
        ["file_uploads", id] if get => file_uploads::get(state, ctx, id),
        ["file_uploads", id, "send"] if post => file_uploads::send(state, ctx, id),
        ["file_uploads", id, "complete"] if post => file_uploads::complete(state, ctx, id),
        ["views"] if get => views::list(state, ctx),
        ["views"] if post => views::create(state, ctx),
        ["views", id] if get => views::get(state, ctx, id),
        ["views", id] if patch => views::update(state, ctx, id),
        ["views", id] if delete => views::delete(state, ctx, id),
        ["views", id, "queries"] if post => view_queries::create(state, ctx, id),
        ["views", id, "queries", q] if get => view_queries::results(state, ctx, id, q),
        ["views", id, "queries", q] if delete => view_queries::delete(state, ctx, id, q),
        ["custom_emojis"] if get => view_queries::custom_emojis(state, ctx),
        _ => Err(ApiError::invalid_request_url()),
    }
}
