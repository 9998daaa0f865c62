//! One pacing lane: token buckets per key at one rate (the connection lane, or the workspace lane),
//! local to this replica or shared by the replicas on Redis with a local 1/N fallback.

use super::PacingConfig;
use crate::notion::error::NotionError;
use crate::shared::SharedState;
use governor::clock::{Clock, DefaultClock};
use governor::state::keyed::DefaultKeyedStateStore;
use governor::{Jitter, RateLimiter};
use std::collections::HashSet;
use std::sync::Mutex;
use std::time::{Duration, Instant};

type KeyedLimiter = RateLimiter<String, DefaultKeyedStateStore<String>, DefaultClock>;

/// Longest local wait between two looks at whether the shared budget is back.
const FALLBACK_RECHECK: Duration = Duration::from_millis(100);

/// Buckets per key at one rate.
pub(super) struct Lane {
    limiter: KeyedLimiter,
    jitter: Jitter,
    shared: Option<SharedBudget>,
}

/// The budget shared by the replicas on Redis, and what the lane remembers about falling back.
struct SharedBudget {
    state: SharedState,
    per_second: f64,
    burst: u32,
    /// Burst of one local bucket (emptied when falling back).
    local_burst: u32,
    /// How long an empty bucket takes to fill up (`burst / per_second`).
    refill: Duration,
    fallback: Mutex<Fallback>,
}

#[derive(Default)]
struct Fallback {
    /// Pacing on the local buckets because Redis is unreachable.
    active: bool,
    /// When the lane went from the shared budget to the local buckets.
    left_shared_at: Option<Instant>,
    /// The shared budget was used since the last fallback.
    used_shared: bool,
    /// Keys whose local bucket was emptied in this fallback.
    drained: HashSet<String>,
}

impl Lane {
    /// Local buckets from `cfg`; with `shared`, one budget per key for all replicas while Redis is
    /// reachable.
    pub(super) fn new(
        cfg: &PacingConfig,
        shared: Option<SharedState>,
    ) -> Result<Self, NotionError> {
        let quota = cfg.quota()?;
        // Spread woken waiters over a tenth of the replenish period to avoid thundering herds.
        let jitter = Jitter::up_to(quota.replenish_interval() / 10);
        let shared = shared.map(|state| SharedBudget {
            state,
            per_second: cfg.per_second,
            burst: cfg.shared_burst(),
            local_burst: cfg.replica_burst(),
            refill: Duration::from_secs_f64(
                (f64::from(cfg.burst.max(1)) / cfg.per_second).min(86_400.0),
            ),
            fallback: Mutex::new(Fallback::default()),
        });
        Ok(Lane {
            limiter: RateLimiter::keyed(quota),
            jitter,
            shared,
        })
    }

    pub(super) fn is_shared(&self) -> bool {
        self.shared.is_some()
    }

    /// Waits until a request for `key` may go out; whether it had to wait.
    pub(super) async fn wait(&self, key: &str) -> bool {
        match &self.shared {
            Some(shared) => self.wait_shared(shared, key).await,
            None => self.wait_local(key).await,
        }
    }

    /// Waits for the local bucket of `key`; whether it had to wait.
    async fn wait_local(&self, key: &str) -> bool {
        let key = key.to_owned();
        if self.limiter.check_key(&key).is_ok() {
            return false;
        }
        self.limiter
            .until_key_ready_with_jitter(&key, self.jitter)
            .await;
        true
    }

    /// Waits for the shared budget, or for the local bucket while Redis is unreachable; a request
    /// waiting locally moves to the shared budget as soon as Redis is back, so no local queue keeps
    /// sending once the replicas share again. Whether it had to wait.
    async fn wait_shared(&self, shared: &SharedBudget, key: &str) -> bool {
        let mut waited = false;
        let owned = key.to_owned();
        loop {
            if !shared.state.is_degraded() {
                shared.back_to_shared();
                if let Some(slept) = take_shared(shared, key).await {
                    return waited || slept;
                }
            }
            shared.fall_back(&self.limiter, key);
            match self.limiter.check_key(&owned) {
                Ok(()) => return waited,
                Err(not_until) => {
                    let wait = self.jitter + not_until.wait_time_from(self.limiter.clock().now());
                    tokio::time::sleep(wait.min(FALLBACK_RECHECK)).await;
                    waited = true;
                }
            }
        }
    }

    /// Keys with live bucket state (before the next sweep).
    pub(super) fn tracked_keys(&self) -> usize {
        self.limiter.len()
    }

    /// Drop buckets that are full again (idle keys).
    pub(super) fn sweep(&self) {
        self.limiter.retain_recent();
        self.limiter.shrink_to_fit();
    }

    pub(super) fn shared_state(&self) -> Option<&SharedState> {
        self.shared.as_ref().map(|s| &s.state)
    }
}

/// One request from the shared budget: asks Redis, sleeps as long as it says, asks again.
/// `Some(slept)` once granted; `None` when Redis fails (then the caller paces locally).
async fn take_shared(shared: &SharedBudget, key: &str) -> Option<bool> {
    let mut slept = false;
    loop {
        match shared
            .state
            .take(key, shared.per_second, shared.burst)
            .await
        {
            Ok(wait) if wait.is_zero() => return Some(slept),
            Ok(wait) => {
                tokio::time::sleep(wait).await;
                slept = true;
            }
            Err(e) => {
                tracing::debug!(error = %e, "shared budget unavailable, pacing locally");
                return None;
            }
        }
    }
}

impl SharedBudget {
    /// The shared budget answers again: a later fallback starts afresh.
    fn back_to_shared(&self) {
        let mut f = self.fallback.lock().unwrap_or_else(|p| p.into_inner());
        if f.active || !f.used_shared {
            f.active = false;
            f.used_shared = true;
            f.left_shared_at = None;
            f.drained = HashSet::new();
        }
    }

    /// Pacing `key` locally because the shared budget is unavailable. Within a refill time of leaving
    /// the shared budget, a key's local bucket is emptied the first time: the shared bucket may have
    /// just been spent, by this replica or the others, and Notion's with it.
    fn fall_back(&self, limiter: &KeyedLimiter, key: &str) {
        let mut f = self.fallback.lock().unwrap_or_else(|p| p.into_inner());
        if !f.active {
            f.active = true;
            f.left_shared_at = f.used_shared.then(Instant::now);
        }
        let recent = f
            .left_shared_at
            .is_some_and(|at| at.elapsed() < self.refill);
        if recent && f.drained.insert(key.to_owned()) {
            let key = key.to_owned();
            for _ in 0..self.local_burst {
                if limiter.check_key(&key).is_err() {
                    break;
                }
            }
        }
    }
}
