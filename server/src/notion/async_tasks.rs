//! Notion's asynchronous writes: a write sent with `allow_async: true` may answer 202 with an
//! `async_task`, polled at `GET /v1/async_tasks/{id}` until it `succeeded` (with the synchronous
//! answer as `result`) or `failed` (with Notion's error object). Polls wait at least the task's
//! `poll_after_seconds`, back off, and stop at the caller's deadline, leaving the task pending.
//!
//! The poll URL is built from the task id and the configured base URL, never from `status_url`
//! (an absolute api.notion.com URL). Finished tasks invalidate the cache where their reads pass
//! through the client (see `cache::writes::task_plan`).

use std::time::{Duration, Instant};

use serde_json::Value;

use super::client::{NotionAuth, NotionClient, NotionRequest};
use super::endpoints::{encode_segment, markdown_auth};
use super::error::{NotionError, parse_error_body};

/// Markdown bodies at least this long (characters) are sent with `allow_async`.
pub const ASYNC_FROM_CHARS: usize = 20_000;
/// The metrics label of a poll.
pub const POLL_ENDPOINT: &str = "GET /v1/async_tasks/{id}";
/// First wait between polls when Notion asks for none.
const FIRST_WAIT: Duration = Duration::from_millis(200);
/// Longest wait between polls.
const MAX_WAIT: Duration = Duration::from_secs(5);

/// Where an asynchronous write stands.
#[derive(Debug, Clone)]
pub enum TaskState {
    /// Not an async task: the write answered synchronously with this body.
    Done(Value),
    /// The task finished; `result` is what the write would have answered synchronously.
    Succeeded { id: String, result: Value },
    /// Still queued, running or retrying when the wait ended.
    Pending { id: String, status: String },
}

/// Whether an answer is an `async_task` object.
pub fn is_task(v: &Value) -> bool {
    v.get("object").and_then(Value::as_str) == Some("async_task")
}

/// A task id as the tools accept it (opaque: not a UUID).
pub fn task_id_arg(raw: &str) -> Result<String, NotionError> {
    let id = raw.trim();
    if id.is_empty() || id.len() > 200 || id.chars().any(|c| c.is_whitespace() || c == '/') {
        return Err(NotionError::invalid(
            "task_id",
            "expected the task id a write returned (e.g. task_abc123)",
        ));
    }
    Ok(id.to_string())
}

/// `GET /v1/async_tasks/{id}` (idempotent; never cached).
pub async fn get_task(c: &NotionClient, auth: &NotionAuth, id: &str) -> Result<Value, NotionError> {
    let id = task_id_arg(id)?;
    let req = NotionRequest::get(
        POLL_ENDPOINT,
        format!("/v1/async_tasks/{}", encode_segment(&id)),
    );
    c.send(&markdown_auth(auth), req).await
}

/// Read a task answer: finished, still going, or failed (Notion's error, named as the write's
/// outcome after its 202).
pub fn state_of(task: Value) -> Result<TaskState, NotionError> {
    if !is_task(&task) {
        return Ok(TaskState::Done(task));
    }
    let id = task
        .get("id")
        .and_then(Value::as_str)
        .unwrap_or_default()
        .to_string();
    let status = task
        .get("status")
        .and_then(Value::as_str)
        .unwrap_or("unknown");
    match status {
        "succeeded" => Ok(TaskState::Succeeded {
            id,
            result: task.get("result").cloned().unwrap_or(Value::Null),
        }),
        "failed" => {
            let error = task.get("error").cloned().unwrap_or(Value::Null);
            let code = error.get("status").and_then(Value::as_u64).unwrap_or(400);
            let body = serde_json::to_vec(&error).unwrap_or_default();
            let e = parse_error_body(u16::try_from(code).unwrap_or(400), &body);
            Err(super::writes::with_context(
                e,
                &format!(
                    "Notion accepted the write as task {id}, then it failed and nothing was changed"
                ),
            ))
        }
        other => Ok(TaskState::Pending {
            id,
            status: other.to_string(),
        }),
    }
}

/// The wait Notion asks for before the next poll.
fn asked_wait(task: &Value) -> Duration {
    task.get("poll_after_seconds")
        .and_then(Value::as_f64)
        .filter(|s| s.is_finite() && *s >= 0.0)
        .map(|s| Duration::from_secs_f64(s.min(600.0)))
        .unwrap_or_default()
}

/// Follow `first` (a write's answer) until its task finishes or `budget` is spent. A write that
/// answered synchronously is returned as [`TaskState::Done`] without a poll.
pub async fn await_task(
    c: &NotionClient,
    auth: &NotionAuth,
    first: Value,
    budget: Duration,
) -> Result<TaskState, NotionError> {
    let deadline = Instant::now() + budget;
    let mut backoff = FIRST_WAIT;
    let mut task = first;
    loop {
        let (id, status) = match state_of(task.clone())? {
            TaskState::Pending { id, status } => (id, status),
            done => return Ok(done),
        };
        let wait = asked_wait(&task).max(backoff);
        backoff = (backoff * 2).min(MAX_WAIT);
        if Instant::now() + wait >= deadline {
            return Ok(TaskState::Pending { id, status });
        }
        tokio::time::sleep(wait).await;
        task = get_task(c, auth, &id).await?;
    }
}

/// The sentence that hands a pending task to the caller.
pub fn pending_note(id: &str, status: &str) -> String {
    format!(
        "Notion is still applying this write (task {id}, {status}); call get_task with task_id=\"{id}\" \
         to see when it finishes."
    )
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;
    use serde_json::json;

    #[test]
    fn task_states() {
        let done = state_of(json!({"object": "page", "id": "x"})).unwrap();
        assert!(matches!(done, TaskState::Done(_)));
        let t = json!({"object": "async_task", "id": "task_1", "status": "running", "poll_after_seconds": 2});
        assert!(
            matches!(state_of(t.clone()).unwrap(), TaskState::Pending { status, .. } if status == "running")
        );
        assert_eq!(asked_wait(&t), Duration::from_secs(2));
        let ok = json!({"object": "async_task", "id": "task_1", "status": "succeeded", "result": {"id": "p"}});
        assert!(
            matches!(state_of(ok).unwrap(), TaskState::Succeeded { result, .. } if result["id"] == "p")
        );
        let failed = json!({"object": "async_task", "id": "task_1", "status": "failed",
            "error": {"object": "error", "status": 400, "code": "validation_error", "message": "bad markdown"}});
        let e = state_of(failed).unwrap_err();
        assert_eq!(e.status(), Some(400));
        assert_eq!(e.code(), "validation_error");
        assert!(
            e.to_string().contains("task_1") && e.to_string().contains("bad markdown"),
            "{e}"
        );
    }

    #[test]
    fn task_ids_are_opaque_but_checked() {
        assert_eq!(task_id_arg(" task_abc123 ").unwrap(), "task_abc123");
        assert!(task_id_arg("").is_err());
        assert!(task_id_arg("a/b").is_err());
    }
}
