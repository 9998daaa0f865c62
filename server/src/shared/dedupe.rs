//! First-delivery claims shared by the replicas: of the copies of one event delivered to several
//! replicas (or redelivered to one), exactly one is handled. `SET notion-mcp:dedupe:<id> 1 NX EX ttl`.

use super::{KEY_PREFIX, Op, SharedError, SharedState};
use std::time::Duration;

impl SharedState {
    /// Claims event `id` for `ttl` (whole seconds, at least one): `true` for the first claim, `false`
    /// when some replica claimed it within the `ttl` before. Fails at once while Redis is degraded
    /// (the caller decides alone then).
    pub async fn first_delivery(&self, id: &str, ttl: Duration) -> Result<bool, SharedError> {
        let mut conn = self.ready()?;
        let secs = ttl.as_secs() + u64::from(ttl.subsec_nanos() > 0);
        let mut cmd = redis::cmd("SET");
        cmd.arg(format!("{KEY_PREFIX}dedupe:{id}"))
            .arg(1)
            .arg("NX")
            .arg("EX")
            .arg(secs.max(1));
        let set: Option<String> = self.run(Op::Dedupe, cmd.query_async(&mut conn)).await?;
        Ok(set.is_some())
    }
}
