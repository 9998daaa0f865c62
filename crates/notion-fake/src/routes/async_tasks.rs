//! Asynchronous writes: `allow_async: true` on `POST /v1/pages` (with `markdown`) and
//! `PATCH /v1/pages/{id}/markdown` answers 202 with an `async_task` once the request and access
//! checks pass; `GET /v1/async_tasks/{id}` moves the task on (queued → running → succeeded or
//! failed). The write itself runs when the task finishes, so content errors (Markdown that does not
//! parse, an `old_str` that is absent) surface as a `failed` task with Notion's error object.

use std::collections::BTreeMap;

use http::Method;
use serde_json::{Value, json};

use super::{Ctx, path_id};
use crate::errors::{ApiError, ApiResult};
use crate::render;
use crate::richtext::short;
use crate::state::State;

/// How accepted tasks progress.
#[derive(Debug, Clone)]
pub struct TaskSettings {
    /// Polls answered `running` before the write runs (`u32::MAX`: never finishes).
    pub polls_before_run: u32,
    /// The `poll_after_seconds` hint.
    pub poll_after_seconds: u64,
}

impl Default for TaskSettings {
    fn default() -> Self {
        TaskSettings {
            polls_before_run: 1,
            poll_after_seconds: 0,
        }
    }
}

/// One accepted write.
#[derive(Clone)]
pub struct Task {
    pub id: String,
    bot_id: uuid::Uuid,
    created: i64,
    /// Route, e.g. `PATCH /v1/pages/{id}/markdown`.
    pub name: &'static str,
    method: Method,
    seg: Vec<String>,
    /// The request to run, `allow_async` removed.
    ctx: Ctx,
    polls_left: u32,
    pub status: &'static str,
    result: Option<Value>,
    error: Option<Value>,
}

impl std::fmt::Debug for Task {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Task")
            .field("id", &self.id)
            .field("name", &self.name)
            .field("status", &self.status)
            .finish()
    }
}

/// Every task of the fake, and how they progress.
#[derive(Debug, Clone, Default)]
pub struct Tasks {
    pub settings: TaskSettings,
    pub tasks: BTreeMap<String, Task>,
    next: u64,
}

/// The route a request could run asynchronously as, if it may.
fn async_route(method: &Method, seg: &[&str], ctx: &Ctx) -> Option<&'static str> {
    match seg {
        ["pages"] if method == Method::POST && ctx.field("markdown").is_some() => {
            Some("POST /v1/pages")
        }
        ["pages", _, "markdown"] if method == Method::PATCH => {
            Some("PATCH /v1/pages/{id}/markdown")
        }
        _ => None,
    }
}

/// Accepts a request sent with `allow_async: true` as a task (after its access checks); `None`
/// when the request runs synchronously.
pub fn accept(
    state: &mut State,
    ctx: &Ctx,
    method: &Method,
    seg: &[&str],
) -> ApiResult<Option<Value>> {
    let asked = match ctx.body.get("allow_async") {
        None | Some(Value::Null) | Some(Value::Bool(false)) => return Ok(None),
        Some(Value::Bool(true)) => true,
        Some(other) => return Err(ApiError::should_be("body.allow_async", "a boolean", other)),
    };
    debug_assert!(asked);
    let Some(name) = async_route(method, seg, ctx) else {
        return Err(ApiError::body_validation(
            "body.allow_async is only accepted with body.markdown on POST /v1/pages and on PATCH /v1/pages/{page_id}/markdown.",
        ));
    };
    // What Notion checks before answering 202: the version, capabilities and access.
    if ctx.version.legacy() {
        return Err(ApiError::validation(
            "allow_async requires Notion-Version 2026-03-11.",
        ));
    }
    match seg {
        ["pages", id, "markdown"] => {
            ctx.need(|c| c.update_content, "update_content")?;
            let id = path_id(id, "page_id")?;
            state.page(&ctx.bot, &id)?;
        }
        _ => {
            ctx.need(|c| c.insert_content, "insert_content")?;
            let parent = super::required(ctx, "parent")?;
            super::pages::parse_parent(
                state,
                ctx,
                parent,
                &["page_id", "data_source_id", "database_id", "workspace"],
            )?;
        }
    }
    let mut inner = ctx.clone();
    if let Some(m) = inner.body.as_object_mut() {
        m.remove("allow_async");
    }
    let tasks = &mut state.async_tasks;
    tasks.next += 1;
    let id = format!("task_{:06}", tasks.next);
    let task = Task {
        id: id.clone(),
        bot_id: ctx.bot.id,
        created: state.clock.now,
        name,
        method: method.clone(),
        seg: seg.iter().map(|s| s.to_string()).collect(),
        ctx: inner,
        polls_left: state.async_tasks.settings.polls_before_run,
        status: "queued",
        result: None,
        error: None,
    };
    let body = render_task(&task, state.async_tasks.settings.poll_after_seconds);
    state.async_tasks.tasks.insert(id, task);
    Ok(Some(body))
}

fn render_task(t: &Task, poll_after: u64) -> Value {
    let mut v = json!({
        "object": "async_task",
        "id": t.id,
        "status": t.status,
        "status_url": format!("https://api.notion.com/v1/async_tasks/{}", t.id),
        "created_time": render::time(t.created),
        "operation": {"surface": "rest", "name": t.name},
    });
    match t.status {
        "succeeded" => v["result"] = t.result.clone().unwrap_or(Value::Null),
        "failed" => v["error"] = t.error.clone().unwrap_or(Value::Null),
        _ => v["poll_after_seconds"] = json!(poll_after),
    }
    v
}

/// `GET /v1/async_tasks/{task_id}`: each poll moves an unfinished task one step.
pub fn get(state: &mut State, ctx: &Ctx, raw: &str) -> ApiResult<Value> {
    let missing = || {
        ApiError::new(
            404,
            "object_not_found",
            format!("Could not find async task with ID: {}.", short(&json!(raw))),
        )
    };
    let Some(task) = state.async_tasks.tasks.get(raw).cloned() else {
        return Err(missing());
    };
    if task.bot_id != ctx.bot.id {
        return Err(missing());
    }
    let mut task = task;
    if matches!(task.status, "queued" | "running") {
        if task.polls_left == u32::MAX {
            task.status = "running";
        } else if task.polls_left > 0 {
            task.polls_left -= 1;
            task.status = "running";
        } else {
            let seg: Vec<&str> = task.seg.iter().map(String::as_str).collect();
            match super::dispatch(state, &task.ctx, &task.method, &seg) {
                Ok(mut result) => {
                    if let Some(m) = result.as_object_mut() {
                        m.remove("request_id");
                    }
                    task.status = "succeeded";
                    task.result = Some(result);
                }
                Err(e) => {
                    let mut body = e.body("");
                    if let Some(m) = body.as_object_mut() {
                        m.remove("request_id");
                    }
                    task.status = "failed";
                    task.error = Some(body);
                }
            }
        }
    }
    let body = render_task(&task, state.async_tasks.settings.poll_after_seconds);
    state.async_tasks.tasks.insert(task.id.clone(), task);
    Ok(body)
}
