//! Tool calls that outlast a request, as MCP tasks (the `io.modelcontextprotocol/tasks` extension).
//!
//! Any tool call from a client that declared the extension starts as an ordinary call. If it has
//! finished after `--task-after-secs` the client gets the result as usual; if it is still running
//! (a long page read at Notion's 3 requests per second, an upload, a copy of a large page), the
//! running call itself is handed over to a task: the client gets the task id at once and polls
//! `tasks/get` until the result is there, and the call now keeps the task deadline
//! (`--task-timeout-secs`) instead of the request's. Nothing is started twice. Clients that did
//! not declare the extension never get a task.
//!
//! A task belongs to the caller that started it: `tasks/get`, `tasks/update` and `tasks/cancel`
//! from anybody else are answered as for an unknown task, so a task id reveals nothing. A caller may
//! have at most [`RUNNING_PER_CALLER`] tasks running; beyond that its calls simply wait inline.
//! A task runs in the replica that started it (rmcp's `TaskManager`). With shared state on Redis
//! (`--redis-url`) that replica also keeps the task's state there ([`crate::shared::tasks`]), so a
//! `tasks/get` or `tasks/cancel` reaching another replica is answered too; without it (or while Redis
//! is unreachable) only the running replica knows the task.

use crate::auth::Principal;
use crate::shared::SharedState;
use rmcp::ErrorData as McpError;
use rmcp::model::{
    CallToolResult, CreateTaskResult, DetailedTask, GetTaskResult, Task, TaskPayload, TaskStatus,
};
use rmcp::task_manager::{TaskContext, TaskExit, TaskManager, TaskOptions, current_timestamp};
use serde::{Deserialize, Serialize};
use std::collections::HashMap;
use std::future::Future;
use std::pin::Pin;
use std::sync::{Arc, Mutex};
use std::time::Duration;

/// Most tasks one caller may have running at once.
pub const RUNNING_PER_CALLER: usize = 16;
/// Suggested polling interval for `tasks/get`.
const POLL_INTERVAL_MS: u64 = 2_000;
/// How often a running task checks Redis for a cancellation asked at another replica.
const REMOTE_CANCEL_CHECK: Duration = Duration::from_secs(1);
/// How long `tools/call` waits for a new task's state to reach Redis before answering anyway.
const SAVE_WAIT: Duration = Duration::from_secs(2);

/// Resolves when the task is to stop: `tasks/cancel` here or, with Redis, at another replica.
pub type Cancelled = Pin<Box<dyn Future<Output = ()> + Send>>;

/// Who may see a task: the caller's subject and the OAuth client (or API key) acting for it.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct Owner {
    subject: String,
    client: Option<String>,
}

impl Owner {
    pub fn of(principal: &Principal) -> Self {
        Owner {
            subject: principal.subject.clone(),
            client: principal.client_id.clone(),
        }
    }
}

/// How a handed-over call ends.
pub enum Finished {
    /// The tool's result (a success or an `isError` result).
    Result(CallToolResult),
    /// `tasks/cancel` stopped it before it finished.
    Cancelled,
    /// It broke inside the server: the task settles as `failed` with this error.
    Failed(McpError),
}

/// A task's state as other replicas read it.
#[derive(Serialize, Deserialize)]
struct Record {
    owner: Owner,
    task: GetTaskResult,
}

/// The tasks of this replica.
pub struct Tasks {
    manager: TaskManager,
    owners: Mutex<HashMap<String, Owner>>,
    shared: Option<SharedState>,
    /// How long a call runs before it becomes a task.
    pub after: Duration,
    /// The deadline of a call that became a task, counted from its start.
    pub deadline: Duration,
}

impl Tasks {
    pub fn new(after: Duration, deadline: Duration, shared: Option<SharedState>) -> Self {
        Tasks {
            manager: TaskManager::new(),
            owners: Mutex::default(),
            shared,
            after,
            deadline,
        }
    }

    fn owners(&self) -> std::sync::MutexGuard<'_, HashMap<String, Owner>> {
        self.owners.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Whether `owner` may start one more task.
    pub fn has_room_for(&self, owner: &Owner) -> bool {
        let owners = self.owners();
        owners
            .iter()
            .filter(|(id, o)| *o == owner && self.is_running(id))
            .count()
            < RUNNING_PER_CALLER
    }

    fn is_running(&self, id: &str) -> bool {
        self.manager.get_task(id).is_ok_and(|t| {
            matches!(
                t.payload,
                TaskPayload::Working | TaskPayload::InputRequired { .. }
            )
        })
    }

    /// Hand a running call over to a new task owned by `owner`, kept for `ttl`. `finish` gets what
    /// resolves when the task is cancelled and drives the call to its end.
    pub async fn start<F, Fut>(&self, owner: Owner, ttl: Duration, finish: F) -> CreateTaskResult
    where
        F: FnOnce(Cancelled) -> Fut,
        Fut: Future<Output = Finished> + Send + 'static,
    {
        let options = TaskOptions::new()
            .with_ttl_ms(u64::try_from(ttl.as_millis()).unwrap_or(u64::MAX))
            .with_poll_interval_ms(POLL_INTERVAL_MS);
        let shared = self.shared.clone();
        let seed: Arc<Mutex<Option<Task>>> = Arc::default();
        let (saved_tx, saved) = tokio::sync::oneshot::channel();
        let task = {
            let (seed, record_owner) = (seed.clone(), owner.clone());
            self.manager.spawn(options, move |cx| {
                let id = cx.task_id().to_string();
                let run = finish(Box::pin(cancelled(cx, shared.clone(), id.clone())));
                Box::pin(async move {
                    let mirror = shared.map(|s| Mirror {
                        shared: s,
                        id,
                        owner: record_owner,
                        ttl,
                        seed,
                    });
                    // Other replicas learn of the task before they can be asked about it.
                    if let Some(m) = &mirror {
                        m.save(TaskPayload::Working).await;
                    }
                    let _ = saved_tx.send(());
                    let finished = run.await;
                    let (payload, exit) = match finished {
                        Finished::Result(r) => (completed(&r), Ok(r)),
                        Finished::Cancelled => (TaskPayload::Cancelled, Err(TaskExit::Cancelled)),
                        Finished::Failed(e) => (failed(&e), Err(TaskExit::Error(e))),
                    };
                    if let Some(m) = &mirror {
                        m.save(payload).await;
                    }
                    exit
                })
            })
        };
        *seed.lock().unwrap_or_else(|p| p.into_inner()) = Some(task.clone());
        if self.shared.is_some() {
            let _ = tokio::time::timeout(SAVE_WAIT, saved).await;
        }
        let mut owners = self.owners();
        // Forget the owners of tasks the manager has evicted.
        owners.retain(|id, _| self.manager.get_task(id).is_ok());
        owners.insert(task.task_id.clone(), owner);
        CreateTaskResult::new(task)
    }

    /// Whether this replica runs task `id` for `owner`: `Some(true)`; for somebody else: an error
    /// that says no such task; `None` when it does not know the task.
    fn local(&self, id: &str, owner: &Owner) -> Result<bool, McpError> {
        match self.owners().get(id) {
            Some(o) if o == owner => Ok(true),
            Some(_) => Err(unknown(id)),
            None => Ok(false),
        }
    }

    /// Task `id` as kept on Redis by the replica running it, if `owner` started it.
    async fn remote(&self, id: &str, owner: &Owner) -> Result<Record, McpError> {
        let Some(shared) = &self.shared else {
            return Err(unknown(id));
        };
        match shared.load_task(id).await {
            Ok(Some(json)) => match serde_json::from_str::<Record>(&json) {
                Ok(r) if r.owner == *owner => Ok(r),
                _ => Err(unknown(id)),
            },
            Ok(None) => Err(unknown(id)),
            Err(e) => Err(McpError::internal_error(
                format!("task '{id}' runs on another replica, which cannot be asked now: {e}"),
                None,
            )),
        }
    }

    pub async fn get(&self, id: &str, owner: &Owner) -> Result<GetTaskResult, McpError> {
        if self.local(id, owner)? {
            let task: DetailedTask = self.manager.get_task(id)?;
            return Ok(GetTaskResult::new(task));
        }
        Ok(self.remote(id, owner).await?.task)
    }

    pub async fn cancel(&self, id: &str, owner: &Owner) -> Result<(), McpError> {
        if self.local(id, owner)? {
            return self.manager.cancel_task(id);
        }
        let record = self.remote(id, owner).await?;
        if let (Some(shared), TaskStatus::Working) = (&self.shared, record.task.task.task.status) {
            let ttl = Duration::from_millis(record.task.task.task.ttl_ms.unwrap_or(60_000));
            shared.request_task_cancel(id, ttl).await.map_err(|e| {
                McpError::internal_error(format!("cancelling task '{id}': {e}"), None)
            })?;
        }
        Ok(())
    }

    /// `tasks/update`: tool calls never ask for input mid-task, so there is nothing to deliver;
    /// the task is only checked to exist for this caller.
    pub async fn update(&self, id: &str, owner: &Owner) -> Result<(), McpError> {
        if self.local(id, owner)? {
            return self.manager.update_task(id, std::iter::empty());
        }
        self.remote(id, owner).await.map(drop)
    }

    /// Tasks still running (for shutdown, which waits for them within its grace period).
    pub fn running(&self) -> usize {
        self.manager.running_task_count()
    }
}

/// A task's state kept on Redis for the other replicas.
struct Mirror {
    shared: SharedState,
    id: String,
    owner: Owner,
    ttl: Duration,
    /// The task as created (its timestamps), set once `spawn` has returned.
    seed: Arc<Mutex<Option<Task>>>,
}

impl Mirror {
    /// Saves the task with `payload`; a failure only means other replicas cannot answer for it.
    async fn save(&self, payload: TaskPayload) {
        let now = current_timestamp();
        let seed = self.seed.lock().unwrap_or_else(|p| p.into_inner()).clone();
        let mut task = seed.unwrap_or_else(|| {
            let mut t = Task::new(&self.id, TaskStatus::Working, &now, &now);
            t.ttl_ms = u64::try_from(self.ttl.as_millis()).ok();
            t.poll_interval_ms = Some(POLL_INTERVAL_MS);
            t
        });
        task.last_updated_at = now;
        let record = Record {
            owner: self.owner.clone(),
            task: GetTaskResult::new(DetailedTask::new(task, payload)),
        };
        let Ok(json) = serde_json::to_string(&record) else {
            return;
        };
        if let Err(e) = self.shared.save_task(&self.id, &json, self.ttl).await {
            tracing::debug!(task = %self.id, error = %e, "task state not shared with the other replicas");
        }
    }
}

/// A tool result as a completed task's payload.
fn completed(result: &CallToolResult) -> TaskPayload {
    let result = match serde_json::to_value(result) {
        Ok(serde_json::Value::Object(m)) => m,
        _ => Default::default(),
    };
    TaskPayload::Completed { result }
}

/// A protocol-level error as a failed task's payload.
fn failed(error: &McpError) -> TaskPayload {
    let error = match serde_json::to_value(error) {
        Ok(serde_json::Value::Object(m)) => m,
        _ => Default::default(),
    };
    TaskPayload::Failed { error }
}

/// Resolves on `tasks/cancel` at this replica, or (with Redis) at another one.
async fn cancelled(cx: TaskContext, shared: Option<SharedState>, id: String) {
    let remote = async {
        let Some(shared) = shared else {
            return std::future::pending().await;
        };
        loop {
            tokio::time::sleep(REMOTE_CANCEL_CHECK).await;
            if shared.task_cancel_requested(&id).await.unwrap_or(false) {
                return;
            }
        }
    };
    tokio::select! {
        () = cx.cancelled() => {}
        () = remote => {}
    }
}

fn unknown(id: &str) -> McpError {
    McpError::invalid_params(
        format!("no task '{id}' for this caller (it may have finished longer ago than its ttlMs)"),
        None,
    )
}
