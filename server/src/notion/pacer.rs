//! Client-side pacing: one token bucket per pacing key (a Notion connection or workspace), so a busy
//! tenant waits for its own budget instead of collecting 429s, and tenants never slow each other down.
//!
//! One request of the burst is kept as headroom against arrival-time skew. With several replicas behind
//! a load balancer each one paces at `per_second / replicas` with an equal share of the rest of the
//! burst (rounded down, so together they never exceed Notion's burst). Idle keys
//! are evicted at most once a minute, so memory does not grow with the number of tokens ever seen.
//!
//! With shared state on Redis ([`SharedState`]) the replicas draw on one bucket per key instead: the
//! whole rate and burst (less the same headroom), so one replica that gets all of a workspace's calls
//! may use all of its budget. While Redis is unreachable each replica falls back to its local 1/N
//! bucket; a key first used within a bucket's refill time of that switch starts with its local bucket
//! empty, since the shared one it leaves may just have been spent.

use super::error::NotionError;
use crate::metrics::Metrics;
use crate::shared::SharedState;
use governor::clock::{Clock, DefaultClock};
use governor::state::keyed::DefaultKeyedStateStore;
use governor::{Jitter, Quota, RateLimiter};
use std::collections::HashSet;
use std::num::NonZeroU32;
use std::sync::Mutex;
use std::time::{Duration, Instant};

/// How fast requests for one pacing key may go out.
#[derive(Debug, Clone, PartialEq)]
pub struct PacingConfig {
    /// Sustained requests per second per key, across all replicas (Notion: about 3).
    pub per_second: f64,
    /// Requests that may go out back to back after an idle period, across all replicas.
    pub burst: u32,
    /// Server replicas sharing the budget; each paces at `per_second / replicas`.
    pub replicas: u32,
    /// When false, requests are never delayed.
    pub enabled: bool,
}

impl Default for PacingConfig {
    fn default() -> Self {
        PacingConfig {
            per_second: 3.0,
            burst: 10,
            replicas: 1,
            enabled: true,
        }
    }
}

/// Requests of the shared burst never used, against arrival-time skew (see [`PacingConfig::replica_burst`]).
const BURST_HEADROOM: u32 = 1;

impl PacingConfig {
    /// The burst one replica may send. One request of the shared burst is held back as headroom
    /// (when the burst is above 1): the first requests open connections and reach Notion a little
    /// later after leaving the pacer than the ones that follow, so pacing at exactly Notion's burst
    /// now and then meets a 429 right after the burst; one spare token absorbs up to a whole replenish
    /// period of such skew and costs nothing at the sustained rate. The rest is split evenly, rounded
    /// down, so the replicas' bursts together never exceed it (3 replicas of Notion's burst of 10 get
    /// 3 each, not 4). Each replica keeps at least 1.
    pub fn replica_burst(&self) -> u32 {
        (self.shared_burst() / self.replicas.max(1)).max(1)
    }

    /// The burst all replicas together may send: Notion's less [`BURST_HEADROOM`] (at least 1).
    pub fn shared_burst(&self) -> u32 {
        self.burst.max(1).saturating_sub(BURST_HEADROOM).max(1)
    }

    /// The quota one replica enforces, or an error naming the bad setting.
    pub fn quota(&self) -> Result<Quota, NotionError> {
        let replicas = self.replicas.max(1);
        let rate = self.per_second / f64::from(replicas);
        if !rate.is_finite() || rate <= 0.0 {
            return Err(NotionError::Config {
                message: format!(
                    "pacing per_second must be a positive number, got {}",
                    self.per_second
                ),
            });
        }
        let period = Duration::from_secs_f64((1.0 / rate).min(86_400.0));
        let burst = NonZeroU32::new(self.replica_burst()).unwrap_or(NonZeroU32::MIN);
        Quota::with_period(period)
            .map(|q| q.allow_burst(burst))
            .ok_or_else(|| NotionError::Config {
                message: format!("pacing rate {rate}/s is too high"),
            })
    }
}

type KeyedLimiter = RateLimiter<String, DefaultKeyedStateStore<String>, DefaultClock>;

/// Longest local wait between two looks at whether the shared budget is back.
const FALLBACK_RECHECK: Duration = Duration::from_millis(100);

/// How often idle keys are swept.
const SWEEP_EVERY: Duration = Duration::from_secs(60);

/// Per-key token buckets.
pub struct Pacer {
    limiter: Option<KeyedLimiter>,
    jitter: Jitter,
    metrics: Metrics,
    last_sweep: Mutex<Instant>,
    shared: Option<SharedBudget>,
}

/// The budget shared by the replicas on Redis, and what the pacer remembers about falling back.
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
    /// When the pacer went from the shared budget to the local buckets.
    left_shared_at: Option<Instant>,
    /// The shared budget was used since the last fallback.
    used_shared: bool,
    /// Keys whose local bucket was emptied in this fallback.
    drained: HashSet<String>,
}

impl std::fmt::Debug for Pacer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Pacer")
            .field("enabled", &self.limiter.is_some())
            .field("shared", &self.shared.as_ref().map(|s| &s.state))
            .field("keys", &self.tracked_keys())
            .finish()
    }
}

impl Pacer {
    /// Local buckets from `cfg`; with `shared`, one budget per key for all replicas while Redis is
    /// reachable.
    pub fn new(
        cfg: &PacingConfig,
        metrics: Metrics,
        shared: Option<SharedState>,
    ) -> Result<Self, NotionError> {
        let (limiter, jitter) = if cfg.enabled {
            let quota = cfg.quota()?;
            // Spread woken waiters over a tenth of the replenish period to avoid thundering herds.
            let jitter = Jitter::up_to(quota.replenish_interval() / 10);
            (Some(RateLimiter::keyed(quota)), jitter)
        } else {
            (None, Jitter::up_to(Duration::ZERO))
        };
        let shared = shared
            .filter(|_| limiter.is_some())
            .map(|state| SharedBudget {
                state,
                per_second: cfg.per_second,
                burst: cfg.shared_burst(),
                local_burst: cfg.replica_burst(),
                refill: Duration::from_secs_f64(
                    (f64::from(cfg.burst.max(1)) / cfg.per_second).min(86_400.0),
                ),
                fallback: Mutex::new(Fallback::default()),
            });
        Ok(Pacer {
            limiter,
            jitter,
            metrics,
            last_sweep: Mutex::new(Instant::now()),
            shared,
        })
    }

    /// Wait until a request for `key` may go out; returns how long it waited.
    pub async fn acquire(&self, key: &str) -> Duration {
        let Some(limiter) = &self.limiter else {
            return Duration::ZERO;
        };
        self.maybe_sweep();
        let started = Instant::now();
        let waited = match &self.shared {
            Some(shared) => self.wait_shared(shared, limiter, key).await,
            None => self.wait_local(limiter, key).await,
        };
        if !waited {
            return Duration::ZERO;
        }
        let waited = started.elapsed();
        self.metrics.observe_wait("pacing", waited);
        waited
    }

    /// Waits for the local bucket of `key`; whether it had to wait.
    async fn wait_local(&self, limiter: &KeyedLimiter, key: &str) -> bool {
        let key = key.to_owned();
        if limiter.check_key(&key).is_ok() {
            return false;
        }
        limiter.until_key_ready_with_jitter(&key, self.jitter).await;
        true
    }

    /// Waits for the shared budget, or for the local bucket while Redis is unreachable; a request
    /// waiting locally moves to the shared budget as soon as Redis is back, so no local queue keeps
    /// sending once the replicas share again. Whether it had to wait.
    async fn wait_shared(&self, shared: &SharedBudget, limiter: &KeyedLimiter, key: &str) -> bool {
        let mut waited = false;
        let owned = key.to_owned();
        loop {
            if !shared.state.is_degraded() {
                shared.back_to_shared();
                if let Some(slept) = self.take_shared(shared, key).await {
                    return waited || slept;
                }
            }
            shared.fall_back(limiter, key);
            match limiter.check_key(&owned) {
                Ok(()) => return waited,
                Err(not_until) => {
                    let wait = self.jitter + not_until.wait_time_from(limiter.clock().now());
                    tokio::time::sleep(wait.min(FALLBACK_RECHECK)).await;
                    waited = true;
                }
            }
        }
    }

    /// One request from the shared budget: asks Redis, sleeps as long as it says, asks again.
    /// `Some(slept)` once granted; `None` when Redis fails (then the caller paces locally).
    async fn take_shared(&self, shared: &SharedBudget, key: &str) -> Option<bool> {
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

    /// Keys with live bucket state (before the next sweep).
    pub fn tracked_keys(&self) -> usize {
        self.limiter.as_ref().map_or(0, KeyedLimiter::len)
    }

    /// Drop buckets that are full again (idle keys); at most once per [`SWEEP_EVERY`].
    fn maybe_sweep(&self) {
        let Ok(mut last) = self.last_sweep.try_lock() else {
            return;
        };
        if last.elapsed() < SWEEP_EVERY {
            return;
        }
        *last = Instant::now();
        drop(last);
        self.sweep_now();
    }

    /// Drop idle keys now.
    pub fn sweep_now(&self) {
        if let Some(limiter) = &self.limiter {
            limiter.retain_recent();
            limiter.shrink_to_fit();
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

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn quota_per_replica() {
        let cfg = PacingConfig {
            per_second: 3.0,
            burst: 10,
            replicas: 3,
            enabled: true,
        };
        let q = cfg.quota().unwrap();
        assert_eq!(q.replenish_interval(), Duration::from_secs(1));
        assert_eq!(q.burst_size().get(), 3);
        let slow = PacingConfig {
            per_second: 0.5,
            burst: 1,
            replicas: 1,
            enabled: true,
        };
        assert_eq!(
            slow.quota().unwrap().replenish_interval(),
            Duration::from_secs(2)
        );
        let bad = PacingConfig {
            per_second: 0.0,
            ..Default::default()
        };
        assert!(bad.quota().is_err());
        let nan = PacingConfig {
            per_second: f64::NAN,
            ..Default::default()
        };
        assert!(nan.quota().is_err());
    }

    #[test]
    fn replica_bursts_never_add_up_past_the_shared_burst() {
        for burst in 1..=40u32 {
            for replicas in 1..=burst {
                let cfg = PacingConfig {
                    per_second: 3.0,
                    burst,
                    replicas,
                    enabled: true,
                };
                let each = cfg.quota().unwrap().burst_size().get();
                assert!(each >= 1);
                if burst > replicas {
                    assert!(
                        each * replicas < burst,
                        "{replicas} replicas × {each} leave no headroom in burst {burst}"
                    );
                } else {
                    assert_eq!(each, 1);
                }
            }
        }
        // Notion's burst of 10: one replica sends 9, two 4 each, three 3 each (4 each would allow 12).
        let with = |replicas| PacingConfig {
            replicas,
            ..Default::default()
        };
        assert_eq!(with(1).replica_burst(), 9);
        assert_eq!(with(2).replica_burst(), 4);
        assert_eq!(with(3).replica_burst(), 3);
        // More replicas than burst: each still sends one request.
        let many = PacingConfig {
            burst: 2,
            replicas: 5,
            ..Default::default()
        };
        assert_eq!(many.replica_burst(), 1);
    }

    #[tokio::test]
    async fn burst_then_wait_and_keys_are_independent() {
        // A burst of 3 is 2 usable requests plus one of headroom.
        let cfg = PacingConfig {
            per_second: 20.0,
            burst: 3,
            replicas: 1,
            enabled: true,
        };
        let p = Pacer::new(&cfg, Metrics::new(), None).unwrap();
        assert_eq!(p.acquire("a").await, Duration::ZERO);
        assert_eq!(p.acquire("a").await, Duration::ZERO);
        assert!(p.acquire("a").await > Duration::ZERO);
        // Another key has its own full bucket.
        assert_eq!(p.acquire("b").await, Duration::ZERO);
        assert_eq!(p.tracked_keys(), 2);
    }

    #[tokio::test]
    async fn idle_keys_are_evicted() {
        let cfg = PacingConfig {
            per_second: 1000.0,
            burst: 1,
            replicas: 1,
            enabled: true,
        };
        let p = Pacer::new(&cfg, Metrics::new(), None).unwrap();
        for i in 0..20 {
            p.acquire(&format!("k{i}")).await;
        }
        assert_eq!(p.tracked_keys(), 20);
        tokio::time::sleep(Duration::from_millis(20)).await;
        p.sweep_now();
        assert_eq!(p.tracked_keys(), 0);
    }

    #[tokio::test]
    async fn with_redis_unreachable_it_paces_locally() {
        // Nothing listens on port 1: the shared state stays degraded.
        let shared = SharedState::connect("redis://127.0.0.1:1", Metrics::new());
        let cfg = PacingConfig {
            per_second: 20.0,
            burst: 5,
            replicas: 2,
            enabled: true,
        };
        let p = Pacer::new(&cfg, Metrics::new(), Some(shared)).unwrap();
        // The local bucket of one of 2 replicas: burst 2 (never emptied: the shared budget was
        // never used), then 10/s.
        assert_eq!(p.acquire("a").await, Duration::ZERO);
        assert_eq!(p.acquire("a").await, Duration::ZERO);
        let waited = p.acquire("a").await;
        assert!(
            waited >= Duration::from_millis(80) && waited < Duration::from_millis(500),
            "{waited:?}"
        );
    }

    #[tokio::test]
    async fn disabled_never_waits() {
        let cfg = PacingConfig {
            enabled: false,
            per_second: 0.0,
            ..Default::default()
        };
        let p = Pacer::new(&cfg, Metrics::new(), None).unwrap();
        for _ in 0..100 {
            assert_eq!(p.acquire("a").await, Duration::ZERO);
        }
    }
}
