//! Client-side pacing: one token bucket per pacing key (a Notion connection or workspace), so a busy
//! tenant waits for its own budget instead of collecting 429s, and tenants never slow each other down.
//!
//! Two lanes: every request takes from its connection's bucket (an OAuth grant's bot, or a token's
//! fingerprint), then from its workspace's (`workspace_per_second`), since Notion limits a whole
//! workspace as well: twenty tokens of one workspace share its budget instead of sending twenty times it.
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
use governor::Quota;
use std::num::NonZeroU32;
use std::sync::{Arc, Mutex};
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
    /// Sustained requests per second per workspace, all its connections together and across all
    /// replicas (Notion limits a whole workspace too); burst as `burst`. 0 turns the lane off.
    pub workspace_per_second: f64,
}

impl Default for PacingConfig {
    fn default() -> Self {
        PacingConfig {
            per_second: 3.0,
            burst: 10,
            replicas: 1,
            enabled: true,
            workspace_per_second: 3.0,
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

    /// The workspace lane's settings (the same burst and replicas), unless it is off.
    pub fn workspace_lane(&self) -> Option<PacingConfig> {
        (self.workspace_per_second > 0.0).then(|| PacingConfig {
            per_second: self.workspace_per_second,
            workspace_per_second: 0.0,
            ..self.clone()
        })
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

mod lane;
mod priority;

use lane::Lane;
use priority::Foreground;

/// How often idle keys are swept.
const SWEEP_EVERY: Duration = Duration::from_secs(60);

/// Which workspace budget a request draws on besides its connection's.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum WorkspaceBudget {
    /// None (workspaces are not paced, or the connection has none).
    None,
    Known(Arc<str>),
    /// The workspace is not known yet (the request that asks Notion for it): all such requests
    /// share one budget at the workspace rate with a burst of 1. Each is charged to its workspace
    /// once known ([`Pacer::charge_workspace`]).
    Unknown,
    /// Known, while some connection's workspace is being asked: draws on both budgets, so requests
    /// of a workspace and questions that turn out to be of the same workspace never add up to more
    /// than its rate.
    KnownWhileAsking(Arc<str>),
}

/// Per-key token buckets: one lane per connection and, when set, one per workspace.
pub struct Pacer {
    connection: Option<Lane>,
    workspace: Option<Lane>,
    /// For [`WorkspaceBudget::Unknown`].
    unknown: Option<Lane>,
    metrics: Metrics,
    last_sweep: Mutex<Instant>,
    /// Tool-call requests waiting for their workspace's budget (background work yields to them).
    foreground: Foreground,
}

impl std::fmt::Debug for Pacer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Pacer")
            .field("enabled", &self.connection.is_some())
            .field("workspace", &self.workspace.is_some())
            .field(
                "shared",
                &self.connection.as_ref().and_then(Lane::shared_state),
            )
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
        let (connection, workspace, unknown) = if cfg.enabled {
            let connection = Lane::new(cfg, shared.clone())?;
            let lanes = cfg.workspace_lane().map(|ws| {
                // A burst of 2 is 1 usable request with the headroom.
                let one_at_a_time = PacingConfig {
                    burst: 2,
                    ..ws.clone()
                };
                (
                    Lane::new(&ws, shared.clone()),
                    Lane::new(&one_at_a_time, shared),
                )
            });
            match lanes {
                Some((ws, unknown)) => (Some(connection), Some(ws?), Some(unknown?)),
                None => (Some(connection), None, None),
            }
        } else {
            (None, None, None)
        };
        Ok(Pacer {
            connection,
            workspace,
            unknown,
            metrics,
            last_sweep: Mutex::new(Instant::now()),
            foreground: Foreground::default(),
        })
    }

    /// Take one request from `workspace`'s budget alone: one that went out before its workspace was
    /// known. Returns how long it waited.
    pub async fn charge_workspace(&self, workspace: &str) -> Duration {
        let Some(lane) = &self.workspace else {
            return Duration::ZERO;
        };
        let started = Instant::now();
        if !lane.wait(&format!("workspace:{workspace}")).await {
            return Duration::ZERO;
        }
        let waited = started.elapsed();
        self.metrics.observe_wait("pacing", waited);
        waited
    }

    /// Whether requests are also paced per workspace (then callers should name the workspace).
    pub fn paces_workspaces(&self) -> bool {
        self.workspace.is_some()
    }

    /// Whether the budgets are shared with other replicas on Redis.
    pub fn is_shared(&self) -> bool {
        self.connection.as_ref().is_some_and(Lane::is_shared)
    }

    /// Wait until a request for connection `key` of `workspace` may go out; returns how long it
    /// waited. The connection's bucket is taken first, then the workspace's.
    pub async fn acquire(&self, key: &str, workspace: &WorkspaceBudget) -> Duration {
        self.acquire_as(key, workspace, false).await
    }

    /// As [`Self::acquire`]; a foreground request (a tool call's) is counted while it waits, so
    /// background work of its workspace holds back ([`Self::yield_to_foreground`]).
    pub async fn acquire_as(
        &self,
        key: &str,
        workspace: &WorkspaceBudget,
        background: bool,
    ) -> Duration {
        let Some(connection) = &self.connection else {
            return Duration::ZERO;
        };
        let _waiting = match workspace {
            WorkspaceBudget::Known(ws) | WorkspaceBudget::KnownWhileAsking(ws) if !background => {
                Some(self.foreground.waiting(ws))
            }
            _ => None,
        };
        self.maybe_sweep();
        let started = Instant::now();
        let mut waited = connection.wait(key).await;
        let (known, unknown) = match workspace {
            WorkspaceBudget::None => (None, false),
            WorkspaceBudget::Known(ws) => (Some(ws), false),
            WorkspaceBudget::KnownWhileAsking(ws) => (Some(ws), true),
            WorkspaceBudget::Unknown => (None, true),
        };
        if let (Some(ws), Some(lane)) = (known, &self.workspace) {
            waited |= lane.wait(&format!("workspace:{ws}")).await;
        }
        if let (true, Some(lane)) = (unknown, &self.unknown) {
            waited |= lane.wait("workspace:?").await;
        }
        if !waited {
            return Duration::ZERO;
        }
        let waited = started.elapsed();
        self.metrics.observe_wait("pacing", waited);
        waited
    }

    /// Wait while requests of tool calls of `workspace` wait for their budget: background work never
    /// takes a turn a tool call is waiting for.
    pub async fn yield_to_foreground(&self, workspace: &str) {
        self.foreground.until_idle(workspace).await;
    }

    /// Keys with live bucket state (before the next sweep), over both lanes.
    pub fn tracked_keys(&self) -> usize {
        [&self.connection, &self.workspace, &self.unknown]
            .into_iter()
            .flatten()
            .map(Lane::tracked_keys)
            .sum()
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
        for lane in [&self.connection, &self.workspace, &self.unknown]
            .into_iter()
            .flatten()
        {
            lane.sweep();
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
            ..Default::default()
        };
        let q = cfg.quota().unwrap();
        assert_eq!(q.replenish_interval(), Duration::from_secs(1));
        assert_eq!(q.burst_size().get(), 3);
        let slow = PacingConfig {
            per_second: 0.5,
            burst: 1,
            replicas: 1,
            enabled: true,
            ..Default::default()
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
                    ..Default::default()
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
            ..Default::default()
        };
        let p = Pacer::new(&cfg, Metrics::new(), None).unwrap();
        assert_eq!(p.acquire("a", &WorkspaceBudget::None).await, Duration::ZERO);
        assert_eq!(p.acquire("a", &WorkspaceBudget::None).await, Duration::ZERO);
        assert!(p.acquire("a", &WorkspaceBudget::None).await > Duration::ZERO);
        // Another key has its own full bucket.
        assert_eq!(p.acquire("b", &WorkspaceBudget::None).await, Duration::ZERO);
        assert_eq!(p.tracked_keys(), 2);
    }

    fn known(ws: &str) -> WorkspaceBudget {
        WorkspaceBudget::Known(Arc::from(ws))
    }

    #[tokio::test]
    async fn connections_of_one_workspace_share_its_budget() {
        // Each connection may send 2 at once; the workspace too (a burst of 3 less the headroom).
        let cfg = PacingConfig {
            per_second: 5.0,
            burst: 3,
            workspace_per_second: 5.0,
            ..Default::default()
        };
        let p = Pacer::new(&cfg, Metrics::new(), None).unwrap();
        assert!(p.paces_workspaces());
        assert_eq!(p.acquire("a", &known("w")).await, Duration::ZERO);
        assert_eq!(p.acquire("b", &known("w")).await, Duration::ZERO);
        // A third connection of the same workspace has its own bucket full, but waits for the workspace's.
        let waited = p.acquire("c", &known("w")).await;
        assert!(waited >= Duration::from_millis(150), "{waited:?}");
        // Another workspace, and a connection whose workspace is unknown, do not wait.
        assert_eq!(p.acquire("d", &known("v")).await, Duration::ZERO);
        assert_eq!(p.acquire("e", &WorkspaceBudget::None).await, Duration::ZERO);
        // Requests of unknown workspaces go one at a time.
        assert_eq!(
            p.acquire("f", &WorkspaceBudget::Unknown).await,
            Duration::ZERO
        );
        assert!(p.acquire("g", &WorkspaceBudget::Unknown).await >= Duration::from_millis(150));
        // With the workspace lane off, only connections are paced.
        let off = Pacer::new(
            &PacingConfig {
                workspace_per_second: 0.0,
                ..cfg
            },
            Metrics::new(),
            None,
        )
        .unwrap();
        assert!(!off.paces_workspaces());
        assert_eq!(
            off.acquire("a", &WorkspaceBudget::Unknown).await,
            Duration::ZERO
        );
        for key in ["a", "b", "c", "d"] {
            assert_eq!(off.acquire(key, &known("w")).await, Duration::ZERO);
        }
    }

    #[tokio::test]
    async fn idle_keys_are_evicted() {
        let cfg = PacingConfig {
            per_second: 1000.0,
            burst: 1,
            replicas: 1,
            enabled: true,
            ..Default::default()
        };
        let p = Pacer::new(&cfg, Metrics::new(), None).unwrap();
        for i in 0..20 {
            p.acquire(&format!("k{i}"), &WorkspaceBudget::None).await;
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
            ..Default::default()
        };
        let p = Pacer::new(&cfg, Metrics::new(), Some(shared)).unwrap();
        // The local bucket of one of 2 replicas: burst 2 (never emptied: the shared budget was
        // never used), then 10/s.
        assert_eq!(p.acquire("a", &WorkspaceBudget::None).await, Duration::ZERO);
        assert_eq!(p.acquire("a", &WorkspaceBudget::None).await, Duration::ZERO);
        let waited = p.acquire("a", &WorkspaceBudget::None).await;
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
            assert_eq!(p.acquire("a", &WorkspaceBudget::None).await, Duration::ZERO);
        }
    }
}
