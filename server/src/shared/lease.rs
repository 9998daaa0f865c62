//! Leases shared by the replicas: at most one holder of a named job at a time. `SET
//! notion-mcp:lease:<name> <token> NX PX <ttl>` takes a free lease; the holder extends it with a
//! compare-and-extend script (only while the key still holds its token) and releases it with a
//! compare-and-delete, so a holder that lost its lease (it expired, another replica took it) can
//! neither extend nor delete the new holder's. A holder that dies stops extending: the lease is free
//! again `ttl` after its last extension.

use super::{KEY_PREFIX, Op, SharedError, SharedState};
use redis::Script;
use std::sync::LazyLock;
use std::time::Duration;

/// KEYS[1]: the lease. ARGV[1]: the holder's token; ARGV[2]: the new time to live (ms). 1 when
/// extended, 0 when the lease is not (or no longer) this holder's.
const EXTEND: &str = r"
if redis.call('GET', KEYS[1]) == ARGV[1] then
  redis.call('PEXPIRE', KEYS[1], ARGV[2])
  return 1
end
return 0
";

/// KEYS[1]: the lease. ARGV[1]: the holder's token. 1 when released, 0 when it was not this holder's.
const RELEASE: &str = r"
if redis.call('GET', KEYS[1]) == ARGV[1] then
  return redis.call('DEL', KEYS[1])
end
return 0
";

static EXTEND_SCRIPT: LazyLock<Script> = LazyLock::new(|| Script::new(EXTEND));
static RELEASE_SCRIPT: LazyLock<Script> = LazyLock::new(|| Script::new(RELEASE));

fn key(name: &str) -> String {
    format!("{KEY_PREFIX}lease:{name}")
}

fn millis(ttl: Duration) -> u64 {
    u64::try_from(ttl.as_millis()).unwrap_or(u64::MAX).max(1)
}

impl SharedState {
    /// Takes lease `name` for `token` when nobody holds it: `true` when taken (for `ttl`), `false`
    /// when another holder has it. Fails at once while Redis is degraded.
    pub async fn take_lease(
        &self,
        name: &str,
        token: &str,
        ttl: Duration,
    ) -> Result<bool, SharedError> {
        let mut conn = self.ready()?;
        let mut cmd = redis::cmd("SET");
        cmd.arg(key(name))
            .arg(token)
            .arg("NX")
            .arg("PX")
            .arg(millis(ttl));
        let set: Option<String> = self.run(Op::Lease, cmd.query_async(&mut conn)).await?;
        Ok(set.is_some())
    }

    /// Extends lease `name` by `ttl` from now when `token` still holds it; `false`: it does not.
    pub async fn extend_lease(
        &self,
        name: &str,
        token: &str,
        ttl: Duration,
    ) -> Result<bool, SharedError> {
        let mut conn = self.ready()?;
        let mut invocation = EXTEND_SCRIPT.key(key(name));
        invocation.arg(token).arg(millis(ttl));
        let extended: i64 = self
            .run(Op::Lease, invocation.invoke_async(&mut conn))
            .await?;
        Ok(extended == 1)
    }

    /// Frees lease `name` when `token` holds it (another holder's lease is left alone).
    pub async fn release_lease(&self, name: &str, token: &str) -> Result<bool, SharedError> {
        let mut conn = self.ready()?;
        let mut invocation = RELEASE_SCRIPT.key(key(name));
        invocation.arg(token);
        let released: i64 = self
            .run(Op::Lease, invocation.invoke_async(&mut conn))
            .await?;
        Ok(released == 1)
    }
}
