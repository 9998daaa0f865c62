//! The content index's metrics: how complete it is (pages known, indexed, stale, over every
//! workspace: no workspace label, so nothing about tenants leaks) and the Notion requests the
//! crawler and the re-index worker spent, by kind.

use crate::metrics::Metrics;
use prometheus::{IntCounterVec, IntGauge, Opts};

#[derive(Clone)]
pub struct IndexMetrics {
    known: IntGauge,
    indexed: IntGauge,
    stale: IntGauge,
    requests: IntCounterVec,
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
