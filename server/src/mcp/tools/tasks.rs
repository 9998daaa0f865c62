//! `get_task`: where a write Notion runs asynchronously stands (a large Markdown replace or page
//! create hands back its task id when it outlives the call). A task that failed after Notion
//! accepted it is reported as the write's error; nothing of it was applied.

use crate::mcp::context::ToolCtx;
use crate::mcp::error::ToolError;
use crate::mcp::registry::{Effect, ToolDef};
use crate::notion::async_tasks::{self, TaskState};
use crate::notion::writes;
use schemars::JsonSchema;
use serde::Deserialize;
use serde_json::Value;

pub fn tools() -> Vec<ToolDef> {
    vec![ToolDef::new(
        "get_task",
        "Get async task",
        "Status of an async write, by the task_id it answered.",
        Effect::Read,
        get_task,
    )]
}

#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct TaskArgs {
    task_id: String,
}

async fn get_task(ctx: ToolCtx, a: TaskArgs) -> Result<String, ToolError> {
    let id = async_tasks::task_id_arg(&a.task_id).map_err(super::pages_write::arg_error)?;
    let task = async_tasks::get_task(&ctx.notion, &ctx.auth, &id).await?;
    let wait = task
        .get("poll_after_seconds")
        .and_then(Value::as_f64)
        .unwrap_or(0.0)
        .max(1.0);
    let operation = task
        .pointer("/operation/name")
        .and_then(Value::as_str)
        .unwrap_or("write")
        .to_string();
    match async_tasks::state_of(task)? {
        TaskState::Pending { status, .. } => Ok(format!(
            "Task {id} ({operation}) is {status}; check again in {wait:.0} s or later."
        )),
        TaskState::Succeeded { result, .. } | TaskState::Done(result) => Ok(format!(
            "Task {id} ({operation}) succeeded: {}",
            describe(&result)
        )),
    }
}

/// One line on what a finished write produced.
fn describe(result: &Value) -> String {
    let id = result.get("id").and_then(Value::as_str).unwrap_or("?");
    match result.get("object").and_then(Value::as_str) {
        Some("page_markdown") => {
            let chars = result
                .get("markdown")
                .and_then(Value::as_str)
                .map_or(0, |m| m.chars().count());
            format!("page {id} now has {chars} characters of Markdown.")
        }
        Some("page") => format!(
            "page \"{}\" ({id}) {}",
            writes::plain_title(result),
            result.get("url").and_then(Value::as_str).unwrap_or("")
        )
        .trim_end()
        .to_string(),
        _ => format!(
            "{} {id}.",
            result
                .get("object")
                .and_then(Value::as_str)
                .unwrap_or("object")
        ),
    }
}
