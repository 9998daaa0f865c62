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
//! Tasks live in the replica that runs them (rmcp's `TaskManager`); see docs/architecture.md for
//! replicas.

use crate::auth::Principal;
use rmcp::ErrorData as McpError;
use rmcp::model::{CallToolResult, CreateTaskResult, DetailedTask, GetTaskResult, TaskPayload};
use rmcp::task_manager::{TaskContext, TaskExit, TaskManager, TaskOptions};
use std::collections::HashMap;
use std::future::Future;
use std::sync::Mutex;
use std::time::Duration;

/// Most tasks one caller may have running at once.
pub const RUNNING_PER_CALLER: usize = 16;
/// Suggested polling interval for `tasks/get`.
const POLL_INTERVAL_MS: u64 = 2_000;

/// Who may see a task: the caller's subject and the OAuth client (or API key) acting for it.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
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
}

/// The tasks of this replica.
pub struct Tasks {
    manager: TaskManager,
    owners: Mutex<HashMap<String, Owner>>,
    /// How long a call runs before it becomes a task.
    pub after: Duration,
    /// The deadline of a call that became a task, counted from its start.
    pub deadline: Duration,
}

impl Tasks {
    pub fn new(after: Duration, deadline: Duration) -> Self {
        Tasks {
            manager: TaskManager::new(),
            owners: Mutex::default(),
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

    /// Hand a running call over to a new task owned by `owner`. `finish` gets the task's context
    /// (for `tasks/cancel`) and drives the call to its end.
    pub fn start<F, Fut>(&self, owner: Owner, ttl: Duration, finish: F) -> CreateTaskResult
    where
        F: FnOnce(TaskContext) -> Fut,
        Fut: Future<Output = Finished> + Send + 'static,
    {
        let options = TaskOptions::new()
            .with_ttl_ms(u64::try_from(ttl.as_millis()).unwrap_or(u64::MAX))
            .with_poll_interval_ms(POLL_INTERVAL_MS)
            .with_status_message("The call is still running; poll tasks/get for its result.");
        let task = self.manager.spawn(options, |cx| {
            let run = finish(cx);
            Box::pin(async move {
                match run.await {
                    Finished::Result(r) => Ok(r),
                    Finished::Cancelled => Err(TaskExit::Cancelled),
                }
            })
        });
        let mut owners = self.owners();
        // Forget the owners of tasks the manager has evicted.
        owners.retain(|id, _| self.manager.get_task(id).is_ok());
        owners.insert(task.task_id.clone(), owner);
        CreateTaskResult::new(task)
    }

    /// The task `id` if `owner` started it; any other caller hears that there is no such task.
    fn owned(&self, id: &str, owner: &Owner) -> Result<(), McpError> {
        match self.owners().get(id) {
            Some(o) if o == owner => Ok(()),
            _ => Err(unknown(id)),
        }
    }

    pub fn get(&self, id: &str, owner: &Owner) -> Result<GetTaskResult, McpError> {
        self.owned(id, owner)?;
        let task: DetailedTask = self.manager.get_task(id)?;
        Ok(GetTaskResult::new(task))
    }

    pub fn cancel(&self, id: &str, owner: &Owner) -> Result<(), McpError> {
        self.owned(id, owner)?;
        self.manager.cancel_task(id)
    }

    /// `tasks/update`: tool calls never ask for input mid-task, so there is nothing to deliver;
    /// the task is only checked to exist for this caller.
    pub fn update(&self, id: &str, owner: &Owner) -> Result<(), McpError> {
        self.owned(id, owner)?;
        self.manager.update_task(id, std::iter::empty())
    }

    /// Tasks still running (for shutdown, which waits for them within its grace period).
    pub fn running(&self) -> usize {
        self.manager.running_task_count()
    }
}

fn unknown(id: &str) -> McpError {
    McpError::invalid_params(
        format!("no task '{id}' for this caller (it may have finished longer ago than its ttlMs)"),
        None,
    )
}
