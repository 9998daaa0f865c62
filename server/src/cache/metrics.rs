//! The read cache's metrics: lookups by result, invalidations by source and kind, evictions, size.

use crate::metrics::Metrics;
use prometheus::{IntCounterVec, IntGauge, Opts};

#[derive(Clone)]
pub struct CacheMetrics {
    lookups: IntCounterVec,
    invalidations: IntCounterVec,
    evictions: IntCounterVec,
    bytes: IntGauge,
    entries: IntGauge,
}

impl CacheMetrics {
    pub fn new(metrics: &Metrics) -> Self {
        let counter = |name: &str, help: &str, labels: &[&str]| {
            metrics.register(
                IntCounterVec::new(Opts::new(name, help), labels)
                    .expect("static metric definition"),
            )
        };
        let gauge = |name: &str, help: &str| {
            metrics.register(IntGauge::new(name, help).expect("static metric definition"))
        };
        CacheMetrics {
            lookups: counter(
                "cache_lookups_total",
                "Cacheable Notion reads, by endpoint template and result: hit (answered from the \
                 cache, no Notion request), proof (answered from the cache after one request proving \
                 the caller's access), coalesced (shared an identical read in flight), miss (sent to \
                 Notion), bypass (cache not trusted: shared state lost).",
                &["endpoint", "result"],
            ),
            invalidations: counter(
                "cache_invalidations_total",
                "Cache invalidations, by source (webhook, write, bus) and kind (object, children, \
                 member, comments, markdown, subtree, all_markdown, proofs, everything).",
                &["source", "kind"],
            ),
            evictions: counter(
                "cache_evictions_total",
                "Cache entries removed, by cause (size, expired, invalidated, replaced).",
                &["cause"],
            ),
            bytes: gauge(
                "cache_bytes",
                "Approximate size of the cached Notion answers.",
            ),
            entries: gauge("cache_entries", "Cached Notion answers."),
        }
    }

    pub fn lookup(&self, endpoint: &str, result: &str) {
        self.lookups.with_label_values(&[endpoint, result]).inc();
    }

    pub fn invalidation(&self, source: &str, kind: &str) {
        self.invalidations.with_label_values(&[source, kind]).inc();
    }

    pub fn eviction(&self, cause: &str) {
        self.evictions.with_label_values(&[cause]).inc();
    }

    pub fn size(&self, bytes: u64, entries: u64) {
        self.bytes.set(i64::try_from(bytes).unwrap_or(i64::MAX));
        self.entries.set(i64::try_from(entries).unwrap_or(i64::MAX));
    }
}
