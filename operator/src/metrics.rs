//! Prometheus metrics of the operator: reconciles, errors and reconcile duration by instance, and leadership.

use prometheus::{
    Encoder, HistogramOpts, HistogramVec, IntCounterVec, IntGauge, Opts, Registry, TextEncoder,
};
use std::time::Instant;

/// The operator's metrics and their registry.
#[derive(Clone)]
pub struct Metrics {
    registry: Registry,
    reconciles: IntCounterVec,
    errors: IntCounterVec,
    duration: HistogramVec,
    writes: IntCounterVec,
    /// 1 while this replica holds the leader Lease.
    pub leader: IntGauge,
}

impl Metrics {
    /// Creates and registers the metrics.
    pub fn new() -> Result<Self, prometheus::Error> {
        let registry = Registry::new_custom(Some("notion_mcp_operator".into()), None)?;
        let reconciles = IntCounterVec::new(
            Opts::new("reconciles_total", "Reconciles started, by instance."),
            &["instance"],
        )?;
        let errors = IntCounterVec::new(
            Opts::new(
                "reconcile_errors_total",
                "Failed reconciles, by instance and error kind.",
            ),
            &["instance", "error"],
        )?;
        let duration = HistogramVec::new(
            HistogramOpts::new(
                "reconcile_duration_seconds",
                "Duration of reconciles, by instance.",
            )
            .buckets(vec![0.01, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0]),
            &["instance"],
        )?;
        let writes = IntCounterVec::new(
            Opts::new(
                "writes_total",
                "Writes to the API server, by instance and action.",
            ),
            &["instance", "action"],
        )?;
        let leader = IntGauge::new("leader", "1 while this replica is the leader.")?;
        registry.register(Box::new(reconciles.clone()))?;
        registry.register(Box::new(errors.clone()))?;
        registry.register(Box::new(duration.clone()))?;
        registry.register(Box::new(writes.clone()))?;
        registry.register(Box::new(leader.clone()))?;
        Ok(Self {
            registry,
            reconciles,
            errors,
            duration,
            writes,
            leader,
        })
    }

    /// Counts a reconcile of `instance` and times it until the guard drops.
    pub fn reconcile(&self, instance: &str) -> ReconcileTimer {
        self.reconciles.with_label_values(&[instance]).inc();
        ReconcileTimer {
            histogram: self.duration.with_label_values(&[instance]),
            start: Instant::now(),
        }
    }

    /// Counts a failed reconcile.
    pub fn error(&self, instance: &str, error: &str) {
        self.errors.with_label_values(&[instance, error]).inc();
    }

    /// Counts a write (`create`, `update`, `delete`, `status`, …).
    pub fn write(&self, instance: &str, action: &str) {
        self.writes.with_label_values(&[instance, action]).inc();
    }

    /// Text exposition of every metric.
    pub fn render(&self) -> String {
        let mut buf = Vec::new();
        if TextEncoder::new()
            .encode(&self.registry.gather(), &mut buf)
            .is_err()
        {
            return String::new();
        }
        String::from_utf8(buf).unwrap_or_default()
    }
}

/// Observes the reconcile duration when dropped.
pub struct ReconcileTimer {
    histogram: prometheus::Histogram,
    start: Instant,
}

impl Drop for ReconcileTimer {
    fn drop(&mut self) {
        self.histogram.observe(self.start.elapsed().as_secs_f64());
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::Metrics;

    #[test]
    fn renders_counters_by_instance() {
        let metrics = Metrics::new().unwrap();
        drop(metrics.reconcile("a"));
        metrics.error("a", "kube");
        let text = metrics.render();
        assert!(text.contains("notion_mcp_operator_reconciles_total{instance=\"a\"} 1"));
        assert!(text.contains(
            "notion_mcp_operator_reconcile_errors_total{error=\"kube\",instance=\"a\"} 1"
        ));
        assert!(
            text.contains("notion_mcp_operator_reconcile_duration_seconds_count{instance=\"a\"} 1")
        );
    }
}
