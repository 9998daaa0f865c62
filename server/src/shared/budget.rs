//! One request budget per pacing key for all replicas: GCRA (a token bucket kept as one timestamp) in
//! an atomic Lua script, on Redis's own clock so the replicas' clocks never matter.
//!
//! The key `notion-mcp:budget:<pacing key>` holds the *theoretical arrival time* (TAT) of the next
//! request in microseconds of Redis time. A request may go when the TAT is at most
//! `(burst − 1) × interval` ahead of now, and moves it one interval on; otherwise the script answers
//! how long to wait. The key expires when the bucket is full again, so idle keys vanish.

use super::{KEY_PREFIX, Op, SharedError, SharedState};
use redis::Script;
use std::sync::LazyLock;
use std::time::Duration;

/// KEYS[1]: the bucket. ARGV[1]: emission interval (µs); ARGV[2]: burst; ARGV[3]: `1` when a missing
/// bucket starts empty instead of full. Returns 0 when the request may go (and books it), else the µs
/// to wait before asking again.
const GCRA: &str = r"
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000000 + tonumber(t[2])
local interval = tonumber(ARGV[1])
local burst = tonumber(ARGV[2])
if not interval or interval <= 0 or not burst or burst < 1 then
  return redis.error_reply('ERR budget: bad interval or burst')
end
local tolerance = interval * (burst - 1)
local stored = redis.call('GET', KEYS[1])
local tat = stored and tonumber(stored)
if not tat then
  tat = now
  if ARGV[3] == '1' then
    -- Empty: the next request may go one interval from now. Booked, so every replica sees it.
    tat = now + tolerance + interval
    redis.call('SET', KEYS[1], string.format('%.0f', math.ceil(tat)),
      'PX', string.format('%.0f', math.ceil((tat - now) / 1000) + 1000))
  end
end
if tat < now then
  tat = now
end
local ahead = tat - now
if ahead > tolerance then
  return math.ceil(ahead - tolerance)
end
local next_tat = math.ceil(tat + interval)
redis.call('SET', KEYS[1], string.format('%.0f', next_tat),
  'PX', string.format('%.0f', math.ceil((next_tat - now) / 1000) + 1000))
return 0
";

static SCRIPT: LazyLock<Script> = LazyLock::new(|| Script::new(GCRA));

/// Longest emission interval accepted (one request a day).
const MAX_INTERVAL_US: f64 = 86_400.0 * 1e6;

impl SharedState {
    /// Asks the shared budget of `key` (`per_second` sustained, `burst` back to back) for one
    /// request: `Duration::ZERO` when it may go now (it is booked), else how long to wait before
    /// asking again. Fails at once with [`SharedError::Degraded`] while Redis is unreachable.
    ///
    /// Right after Redis comes back from an outage (its data may be gone), a bucket that does not
    /// exist starts empty rather than full for as long as a bucket takes to fill (`burst /
    /// per_second`): the budget spent before the outage may not have been replenished yet.
    pub async fn take(
        &self,
        key: &str,
        per_second: f64,
        burst: u32,
    ) -> Result<Duration, SharedError> {
        if !(per_second.is_finite() && per_second > 0.0) {
            return Err(SharedError::Invalid {
                what: "budget rate",
                message: format!("must be a positive number, got {per_second}"),
            });
        }
        let burst = burst.max(1);
        let interval_us = (1e6 / per_second).min(MAX_INTERVAL_US);
        let refill =
            Duration::from_secs_f64(f64::from(burst) / per_second).min(Duration::from_secs(86_400));
        let start_empty = self.recovered_within(refill);
        let mut conn = self.ready()?;
        let mut invocation = SCRIPT.key(format!("{KEY_PREFIX}budget:{key}"));
        invocation
            .arg(interval_us)
            .arg(burst)
            .arg(if start_empty { "1" } else { "0" });
        let wait_us: i64 = self
            .run(Op::Budget, invocation.invoke_async(&mut conn))
            .await?;
        Ok(Duration::from_micros(u64::try_from(wait_us).unwrap_or(0)))
    }
}
