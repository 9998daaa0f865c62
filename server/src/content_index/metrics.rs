//! The content index's metrics: how complete it is (pages known, indexed, stale, over every
//! workspace: no workspace label, so nothing about tenants leaks) and the Notion requests the
//! crawler and the re-index worker spent, by kind; with Redis, the entries shared with and received
//! from other replicas, the crawl leases this replica holds and how old received entries are.

use crate::metrics::Metrics;
use prometheus::{Gauge, IntCounterVec, IntGauge, Opts};

#[derive(Clone)]
pub struct IndexMetrics {
    known: IntGauge,
    indexed: IntGauge,
    stale: IntGauge,
    requests: IntCounterVec,
    shared: IntCounterVec,
    leases: IntGauge,
    lag: Gauge,
}

impl IndexMetrics {
    pub fn new(metrics: &Metrics) -> Self {
        let gauge = |name: &str, help: &str| {
            metrics.register(IntGauge::new(name, help).expect("static metric definition"))
        };
        IndexMetrics {
            known: gauge(
                "content_index_pages_known",
                "Pages and data-source rows the content index knows of, over every workspace.",
            ),
            indexed: gauge(
                "content_index_pages_indexed",
                "Known pages whose words are in the content index.",
            ),
            stale: gauge(
                "content_index_pages_stale",
                "Indexed pages changed in Notion since they were indexed (waiting to be read again).",
            ),
            requests: metrics.register(
                IntCounterVec::new(
                    Opts::new(
                        "content_index_requests_total",
                        "Notion requests of the content index, by kind: list (the crawler's \
                         listing), content (a page's content), refresh (a page a webhook named).",
                    ),
                    &["kind"],
                )
                .expect("static metric definition"),
            ),
            shared: metrics.register(
                IntCounterVec::new(
                    Opts::new(
                        "content_index_shared_entries_total",
                        "Entries of the replicas' shared index logs (documents, removals, listing \
                         notes), by direction: published (this replica's changes sent), received \
                         (other replicas' changes applied), unpublished (not sent: Redis unreachable).",
                    ),
                    &["direction"],
                )
                .expect("static metric definition"),
            ),
            leases: gauge(
                "content_index_crawl_leases_held",
                "Workspaces whose crawl lease this replica holds (it crawls them for every replica).",
            ),
            lag: metrics.register(
                Gauge::new(
                    "content_index_shared_lag_seconds",
                    "Age of the last entry received from another replica when it was read \
                     (Redis's clock against this replica's).",
                )
                .expect("static metric definition"),
            ),
        }
    }

    pub fn progress(&self, known: usize, indexed: usize, stale: usize) {
        let n = |v: usize| i64::try_from(v).unwrap_or(i64::MAX);
        self.known.set(n(known));
        self.indexed.set(n(indexed));
        self.stale.set(n(stale));
    }

    pub fn request(&self, kind: &str) {
        self.requests.with_label_values(&[kind]).inc();
    }
}

impl IndexMetrics {
    pub fn shared(&self, direction: &str, entries: usize) {
        self.shared
            .with_label_values(&[direction])
            .inc_by(u64::try_from(entries).unwrap_or(u64::MAX));
    }

    pub fn leases_held(&self, workspaces: usize) {
        self.leases
            .set(i64::try_from(workspaces).unwrap_or(i64::MAX));
    }

    pub fn lag(&self, seconds: f64) {
        self.lag.set(seconds);
    }
}
