//! Which replica crawls a workspace: the holder of the lease `index-crawl:<workspace>` on Redis
//! (taken with `SET NX PX`, extended every few seconds while held, released at shutdown; a holder
//! that dies loses it when it expires). A replica also crawls on its own while it catches up after a
//! gap in the workspace's log, and when Redis has been unreachable for longer than a lease lasts
//! (then no lease can be trusted, and every replica indexing alone is what it did without Redis).

use crate::content_index::metrics::IndexMetrics;
use crate::shared::SharedState;
use std::collections::{HashMap, HashSet};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use tokio_util::sync::CancellationToken;

/// How long a lease lasts without being extended.
pub const LEASE_TTL: Duration = Duration::from_secs(10);
/// How often the holder extends it.
const EXTEND_EVERY: Duration = Duration::from_secs(3);
/// How often a replica without the lease tries to take it.
const TRY_EVERY: Duration = Duration::from_secs(2);
/// How often to ask while Redis does not answer.
const RETRY_EVERY: Duration = Duration::from_millis(250);
/// A held lease counts as lost this long before it would expire, so two replicas never both crawl
/// because of a late extension.
const MARGIN: Duration = Duration::from_secs(2);

fn lease_name(workspace: &str) -> String {
    format!("index-crawl:{workspace}")
}

/// The crawl leases of this replica.
pub struct CrawlGate {
    shared: SharedState,
    token: String,
    /// Workspaces whose lease this replica holds, until when.
    held: Mutex<HashMap<Arc<str>, Instant>>,
    /// Workspaces to crawl once without the lease (a gap in the log).
    catch_up: Mutex<HashSet<Arc<str>>>,
    /// Since when Redis has been unreachable.
    degraded_since: Mutex<Option<Instant>>,
    metrics: IndexMetrics,
}

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
}

impl CrawlGate {
    pub fn new(shared: SharedState, token: String, metrics: IndexMetrics) -> Arc<Self> {
        metrics.leases_held(0);
        Arc::new(CrawlGate {
            shared,
            token,
            held: Mutex::new(HashMap::new()),
            catch_up: Mutex::new(HashSet::new()),
            degraded_since: Mutex::new(None),
            metrics,
        })
    }

    /// Whether this replica's crawler may read `workspace` now.
    pub fn may_crawl(&self, workspace: &str) -> bool {
        self.holds(workspace) || lock(&self.catch_up).contains(workspace) || self.alone()
    }

    /// Whether this replica holds `workspace`'s lease.
    pub fn holds(&self, workspace: &str) -> bool {
        lock(&self.held)
            .get(workspace)
            .is_some_and(|until| *until > Instant::now())
    }

    /// Redis has been unreachable for longer than a lease lasts.
    fn alone(&self) -> bool {
        let mut since = lock(&self.degraded_since);
        if !self.shared.is_degraded() {
            *since = None;
            return false;
        }
        since.get_or_insert_with(Instant::now).elapsed() >= LEASE_TTL
    }

    /// Crawl `workspace` once without the lease: the log lost entries this replica needs.
    pub fn catch_up(&self, workspace: &Arc<str>) {
        if lock(&self.catch_up).insert(workspace.clone()) {
            tracing::info!(
                "content index: the shared log misses changes this replica needs; \
                 crawling once for what is missing"
            );
        }
    }

    /// Whether `workspace` waits for a catch-up crawl.
    pub fn catching_up(&self, workspace: &str) -> bool {
        lock(&self.catch_up).contains(workspace)
    }

    /// A full listing of `workspace` finished.
    pub fn caught_up(&self, workspace: &str) {
        lock(&self.catch_up).remove(workspace);
    }

    /// Keep trying to hold `workspace`'s lease (extend it while held) until `stop`.
    pub async fn keep(self: Arc<Self>, workspace: Arc<str>, stop: CancellationToken) {
        let name = lease_name(&workspace);
        loop {
            // Notes when Redis went away, for `alone`.
            let _ = self.alone();
            let holding = lock(&self.held).contains_key(&workspace);
            let asked = Instant::now();
            let answer = if holding {
                self.shared
                    .extend_lease(&name, &self.token, LEASE_TTL)
                    .await
            } else {
                self.shared.take_lease(&name, &self.token, LEASE_TTL).await
            };
            let reached = answer.is_ok();
            match answer {
                Ok(true) => {
                    let until = asked + LEASE_TTL - MARGIN;
                    if lock(&self.held).insert(workspace.clone(), until).is_none() {
                        tracing::info!("content index: this replica crawls a workspace");
                    }
                }
                Ok(false) => {
                    if lock(&self.held).remove(&workspace).is_some() {
                        tracing::info!("content index: another replica crawls a workspace now");
                    }
                }
                // Unreachable: a held lease runs out by itself (see `holds`).
                Err(_) => {}
            }
            self.publish_count();
            let wait = if self.holds(&workspace) {
                EXTEND_EVERY
            } else if reached {
                TRY_EVERY
            } else {
                // Not connected yet (or Redis away): ask again soon, so the crawl starts promptly.
                RETRY_EVERY
            };
            tokio::select! {
                () = stop.cancelled() => return,
                () = tokio::time::sleep(wait) => {}
            }
        }
    }

    /// Give every held lease up (at shutdown), so another replica takes over at once.
    pub async fn release_all(&self) {
        let held: Vec<Arc<str>> = lock(&self.held).drain().map(|(ws, _)| ws).collect();
        for ws in held {
            if let Err(e) = self
                .shared
                .release_lease(&lease_name(&ws), &self.token)
                .await
            {
                tracing::debug!(error = %e, "crawl lease not released; it expires by itself");
            }
        }
        self.publish_count();
    }

    fn publish_count(&self) {
        let now = Instant::now();
        let held = lock(&self.held).values().filter(|u| **u > now).count();
        self.metrics.leases_held(held);
    }
}
