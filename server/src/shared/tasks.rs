//! MCP tasks seen from every replica: the replica running a task keeps its state under
//! `notion-mcp:task:<id>` (what `tasks/get` answers, with its owner) until it expires, so a poll that
//! reaches another replica is answered too; `tasks/cancel` there sets `notion-mcp:task-cancel:<id>`,
//! which the running replica checks while the call runs.

use super::{KEY_PREFIX, Op, SharedError, SharedState};
use std::time::Duration;

fn secs(ttl: Duration) -> u64 {
    (ttl.as_secs() + u64::from(ttl.subsec_nanos() > 0)).max(1)
}

impl SharedState {
    /// Keeps `record` (the task's state as JSON) as task `id` for `ttl`.
    pub async fn save_task(
        &self,
        id: &str,
        record: &str,
        ttl: Duration,
    ) -> Result<(), SharedError> {
        let mut conn = self.ready()?;
        let key = format!("{KEY_PREFIX}task:{id}");
        let mut cmd = redis::cmd("SET");
        cmd.arg(key).arg(record).arg("EX").arg(secs(ttl));
        self.run(Op::Task, cmd.query_async::<()>(&mut conn)).await
    }

    /// The state of task `id` kept by whichever replica runs it, if any.
    pub async fn load_task(&self, id: &str) -> Result<Option<String>, SharedError> {
        let mut conn = self.ready()?;
        let key = format!("{KEY_PREFIX}task:{id}");
        let mut cmd = redis::cmd("GET");
        cmd.arg(key);
        self.run(Op::Task, cmd.query_async(&mut conn)).await
    }

    /// Asks the replica running task `id` to cancel it.
    pub async fn request_task_cancel(&self, id: &str, ttl: Duration) -> Result<(), SharedError> {
        let mut conn = self.ready()?;
        let key = format!("{KEY_PREFIX}task-cancel:{id}");
        let mut cmd = redis::cmd("SET");
        cmd.arg(key).arg(1).arg("EX").arg(secs(ttl));
        self.run(Op::Task, cmd.query_async::<()>(&mut conn)).await
    }

    /// Whether some replica asked to cancel task `id`.
    pub async fn task_cancel_requested(&self, id: &str) -> Result<bool, SharedError> {
        let mut conn = self.ready()?;
        let key = format!("{KEY_PREFIX}task-cancel:{id}");
        let mut cmd = redis::cmd("EXISTS");
        cmd.arg(key);
        self.run(Op::Task, cmd.query_async(&mut conn)).await
    }
}
