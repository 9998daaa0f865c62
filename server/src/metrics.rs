//! Prometheus metrics shared by the HTTP layer, the MCP tools and the Notion client.
//!
//! One `Metrics` value owns its own registry (no process globals), so tests and several servers in one
//! process never share counters. `/metrics` renders it in the text exposition format. A few gauges
//! of the process itself (alive Tokio tasks, open file descriptors, resident memory) are sampled at
//! render time, so a leak shows up on any scrape.

use prometheus::{
    Encoder, HistogramOpts, HistogramVec, IntCounterVec, IntGauge, Opts, Registry, TextEncoder,
};
use std::collections::BTreeSet;
use std::sync::{Arc, Mutex};
use std::time::Duration;

/// Latency buckets in seconds: sub-millisecond MCP overhead up to Notion's slowest answers.
const BUCKETS: &[f64] = &[
    0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0,
    60.0,
];

/// The prefix of every family's name.
const PREFIX: &str = "notion_mcp";

/// All metrics of one server. Cheap to clone: every layer's state holds one, and axum clones
/// those states for each request.
#[derive(Clone)]
pub struct Metrics(Arc<MetricSet>);

/// The registry and the handles of every family, shared by all clones of a [`Metrics`].
pub struct MetricSet {
    registry: Registry,
    http_requests: IntCounterVec,
    http_duration: HistogramVec,
    tool_calls: IntCounterVec,
    tool_duration: HistogramVec,
    notion_requests: IntCounterVec,
    notion_duration: HistogramVec,
    notion_retries: IntCounterVec,
    pacing_wait: HistogramVec,
    active_principals: IntGauge,
    oauth_events: IntCounterVec,
    rate_limited: IntCounterVec,
    circuit_open: IntGauge,
    redis_degraded: IntGauge,
    redis_roundtrip: HistogramVec,
    redis_errors: IntCounterVec,
    grant_store_errors: IntCounterVec,
    alive_tasks: IntGauge,
    open_fds: IntGauge,
    resident_bytes: IntGauge,
    /// Names of every registered family (with the prefix), whether or not it has samples yet.
    families: Arc<Mutex<BTreeSet<String>>>,
}

impl std::ops::Deref for Metrics {
    type Target = MetricSet;

    fn deref(&self) -> &MetricSet {
        &self.0
    }
}

impl Metrics {
    pub fn new() -> Self {
        let registry = Registry::new_custom(Some(PREFIX.into()), None)
            .expect("static registry prefix is valid");
        let families = Arc::new(Mutex::new(BTreeSet::new()));
        let family = |name: &str| {
            families
                .lock()
                .unwrap_or_else(|p| p.into_inner())
                .insert(format!("{PREFIX}_{name}"));
        };
        let counter = |name: &str, help: &str, labels: &[&str]| {
            let c = IntCounterVec::new(Opts::new(name, help), labels)
                .expect("static metric definition");
            registry
                .register(Box::new(c.clone()))
                .expect("metric registered once");
            family(name);
            c
        };
        let histogram = |name: &str, help: &str, labels: &[&str]| {
            let h = HistogramVec::new(
                HistogramOpts::new(name, help).buckets(BUCKETS.to_vec()),
                labels,
            )
            .expect("static metric definition");
            registry
                .register(Box::new(h.clone()))
                .expect("metric registered once");
            family(name);
            h
        };
        let http_requests = counter(
            "http_requests_total",
            "HTTP requests answered, by route (/mcp, /healthz, /readyz, /metrics, /webhooks/notion, each OAuth endpoint's path, or other) and exact status code.",
            &["route", "status"],
        );
        let http_duration = histogram(
            "http_request_duration_seconds",
            "Time to answer an HTTP request (to the first byte of the body).",
            &["route"],
        );
        let tool_calls = counter(
            "tool_calls_total",
            "MCP tool calls, by tool and outcome (ok, invalid_arguments, rate_limited, upstream_unavailable, notion_error, deadline, cancelled, unauthenticated, forbidden; for destructive calls confirmed by the user: input_required, declined, unconfirmed).",
            &["tool", "outcome"],
        );
        let tool_duration = histogram(
            "tool_call_duration_seconds",
            "Duration of MCP tool calls.",
            &["tool"],
        );
        let notion_requests = counter(
            "notion_requests_total",
            "Requests sent to the Notion API, by endpoint template (e.g. GET /v1/pages/{id}) and HTTP status (or 'error' when no answer arrived).",
            &["endpoint", "status"],
        );
        let notion_duration = histogram(
            "notion_request_duration_seconds",
            "Latency of single Notion API requests (one attempt).",
            &["endpoint"],
        );
        let notion_retries = counter(
            "notion_retries_total",
            "Notion requests retried, by reason (rate_limited, overloaded, unavailable, timeout, connection).",
            &["reason"],
        );
        let pacing_wait = histogram(
            "notion_pacing_wait_seconds",
            "Time a Notion request waited, by kind: pacing (its workspace's budget), retry_after (a wait Notion asked for), backoff (between retries).",
            &["kind"],
        );
        let gauge = |name: &str, help: &str| {
            let g = IntGauge::new(name, help).expect("static metric definition");
            registry
                .register(Box::new(g.clone()))
                .expect("metric registered once");
            family(name);
            g
        };
        let active_principals = gauge(
            "active_notion_tokens",
            "Notion tokens with live per-token state (pacer, client) in this process.",
        );
        let oauth_events = counter(
            "oauth_events_total",
            "Authorization-server events, by step (register, consent, callback, token, revoke, notion_refresh, grant_revoked) and outcome (ok, approved, denied, refused, error, notion_error, notion_bad_answer, notion_refused, unknown_state, or the OAuth error: invalid_request, invalid_grant, invalid_client, invalid_target, invalid_client_metadata, invalid_redirect_uri, server_error).",
            &["step", "outcome"],
        );
        let rate_limited = counter(
            "rate_limited_total",
            "Tool calls refused with 429 by this server's per-caller rate limit, by caller kind (oauth, api-key, notion-token, demo).",
            &["kind"],
        );
        let circuit_open = gauge(
            "notion_circuit_open",
            "1 while the circuit breaker in front of Notion is open (calls fail fast), else 0.",
        );
        let redis_degraded = gauge(
            "redis_degraded",
            "1 while Redis (shared state of the replicas) is configured but unreachable and each replica works alone, else 0.",
        );
        let redis_roundtrip = histogram(
            "redis_roundtrip_seconds",
            "Round trips to Redis that got an answer, by operation (budget, publish, dedupe, ping).",
            &["op"],
        );
        let redis_errors = counter(
            "redis_errors_total",
            "Redis operations that failed or missed their deadline, by operation (budget, publish, dedupe, ping).",
            &["op"],
        );
        let grant_store_errors = counter(
            "grant_store_errors_total",
            "Grant store operations that failed, by op (get, create, replace, delete, list, open: a \
             record read but not opened) and error (unavailable, sealed, corrupt).",
            &["op", "error"],
        );
        let alive_tasks = gauge(
            "runtime_alive_tasks",
            "Tokio tasks alive in this process's runtime (sampled at scrape time).",
        );
        let open_fds = gauge(
            "process_open_fds",
            "File descriptors open in this process (sockets included; sampled at scrape time, Linux only).",
        );
        let resident_bytes = gauge(
            "process_resident_memory_bytes",
            "Resident memory of this process in bytes (sampled at scrape time, Linux only).",
        );
        Metrics(Arc::new(MetricSet {
            families,
            grant_store_errors,
            alive_tasks,
            open_fds,
            resident_bytes,
            oauth_events,
            registry,
            http_requests,
            http_duration,
            tool_calls,
            tool_duration,
            notion_requests,
            notion_duration,
            notion_retries,
            pacing_wait,
            active_principals,
            rate_limited,
            circuit_open,
            redis_degraded,
            redis_roundtrip,
            redis_errors,
        }))
    }

    pub fn observe_http(&self, route: &str, status: u16, elapsed: Duration) {
        self.http_requests
            .with_label_values(&[route, status_label(status)])
            .inc();
        self.http_duration
            .with_label_values(&[route])
            .observe(elapsed.as_secs_f64());
    }

    pub fn observe_tool(&self, tool: &str, outcome: &str, elapsed: Duration) {
        self.tool_calls.with_label_values(&[tool, outcome]).inc();
        self.tool_duration
            .with_label_values(&[tool])
            .observe(elapsed.as_secs_f64());
    }

    /// `status` is the HTTP status, or `None` for a transport error.
    pub fn observe_notion(&self, endpoint: &str, status: Option<u16>, elapsed: Duration) {
        let status = status.map_or("error", status_label);
        self.notion_requests
            .with_label_values(&[endpoint, status])
            .inc();
        self.notion_duration
            .with_label_values(&[endpoint])
            .observe(elapsed.as_secs_f64());
    }

    pub fn observe_retry(&self, reason: &str) {
        self.notion_retries.with_label_values(&[reason]).inc();
    }

    /// `kind` is `pacing` (own token bucket) or `retry_after` (a wait Notion asked for).
    pub fn observe_wait(&self, kind: &str, waited: Duration) {
        self.pacing_wait
            .with_label_values(&[kind])
            .observe(waited.as_secs_f64());
    }

    /// One step of the OAuth flow and how it ended (`ok` or an OAuth error code), also recorded as
    /// `oauth.outcome` of the step's span (the current one; a grant revoked in passing is not a step).
    pub fn observe_oauth(&self, step: &str, outcome: &str) {
        self.oauth_events.with_label_values(&[step, outcome]).inc();
        if step != "grant_revoked" {
            tracing::Span::current().record("oauth.outcome", outcome);
        }
    }

    pub fn set_active_tokens(&self, n: usize) {
        self.active_principals
            .set(i64::try_from(n).unwrap_or(i64::MAX));
    }

    /// A tool call refused by the per-caller rate limit; `kind` is the caller's principal kind.
    pub fn observe_rate_limited(&self, kind: &str) {
        self.rate_limited.with_label_values(&[kind]).inc();
    }

    /// Whether the circuit breaker in front of Notion is open.
    pub fn set_circuit_open(&self, open: bool) {
        self.circuit_open.set(i64::from(open));
    }

    /// Whether the shared state on Redis is degraded (each replica on its own).
    pub fn set_redis_degraded(&self, degraded: bool) {
        self.redis_degraded.set(i64::from(degraded));
    }

    /// A Redis round trip that got an answer; `op` is `budget`, `publish`, `dedupe` or `ping`.
    pub fn observe_redis(&self, op: &str, elapsed: Duration) {
        self.redis_roundtrip
            .with_label_values(&[op])
            .observe(elapsed.as_secs_f64());
    }

    /// A Redis operation that failed or timed out.
    pub fn observe_redis_error(&self, op: &str) {
        self.redis_errors.with_label_values(&[op]).inc();
    }

    /// Samples the process gauges (alive tasks of the current Tokio runtime, open fds, RSS); a value
    /// that cannot be read on this platform is left as it was.
    fn sample_process(&self) {
        if let Ok(handle) = tokio::runtime::Handle::try_current() {
            let tasks = handle.metrics().num_alive_tasks();
            self.alive_tasks
                .set(i64::try_from(tasks).unwrap_or(i64::MAX));
        }
        if let Ok(dir) = std::fs::read_dir("/proc/self/fd") {
            // The directory handle itself is one of the entries.
            let fds = dir.count().saturating_sub(1);
            self.open_fds.set(i64::try_from(fds).unwrap_or(i64::MAX));
        }
        if let Some(kib) = std::fs::read_to_string("/proc/self/status")
            .ok()
            .as_deref()
            .and_then(resident_kib)
        {
            self.resident_bytes
                .set(i64::try_from(kib.saturating_mul(1024)).unwrap_or(i64::MAX));
        }
    }

    /// Register a metric family defined elsewhere (the read cache, the webhook receiver) in this
    /// registry, so `/metrics` shows it; returns it for the caller to keep.
    pub fn register<C: prometheus::core::Collector + Clone + 'static>(&self, collector: C) -> C {
        // Each owner registers its families once per `Metrics`; a clash is a programming error
        // that the tests rendering `/metrics` catch.
        if let Err(e) = self.registry.register(Box::new(collector.clone())) {
            tracing::error!(error = %e, "metric registered twice");
        }
        let mut families = self.families.lock().unwrap_or_else(|p| p.into_inner());
        for desc in collector.desc() {
            families.insert(format!("{PREFIX}_{}", desc.fq_name));
        }
        collector
    }

    /// Failed grant store operations (counted by the instrumented store).
    pub fn grant_store_errors(&self) -> IntCounterVec {
        self.grant_store_errors.clone()
    }

    /// The name of every registered family, as `/metrics` shows it once it has a sample.
    pub fn family_names(&self) -> Vec<String> {
        self.families
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .iter()
            .cloned()
            .collect()
    }

    /// The text exposition of every metric.
    pub fn render(&self) -> String {
        self.sample_process();
        let mut buf = Vec::new();
        // Encoding into a Vec cannot fail for well-formed metric families.
        let _ = TextEncoder::new().encode(&self.registry.gather(), &mut buf);
        String::from_utf8(buf).unwrap_or_default()
    }
}

impl Default for Metrics {
    fn default() -> Self {
        Self::new()
    }
}

/// `VmRSS` of a `/proc/<pid>/status` text, in KiB.
fn resident_kib(status: &str) -> Option<u64> {
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmRSS:"))?
        .split_whitespace()
        .next()?
        .parse()
        .ok()
}

/// Status codes as static label strings (no allocation on the hot path for common codes).
fn status_label(status: u16) -> &'static str {
    match status {
        200 => "200",
        201 => "201",
        202 => "202",
        204 => "204",
        400 => "400",
        401 => "401",
        403 => "403",
        404 => "404",
        405 => "405",
        406 => "406",
        409 => "409",
        413 => "413",
        415 => "415",
        421 => "421",
        429 => "429",
        500 => "500",
        502 => "502",
        503 => "503",
        504 => "504",
        529 => "529",
        s if s < 300 => "2xx",
        s if s < 400 => "3xx",
        s if s < 500 => "4xx",
        _ => "5xx",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn renders_prometheus_text() {
        let m = Metrics::new();
        m.observe_tool("search", "ok", Duration::from_millis(3));
        m.observe_notion("POST /v1/search", Some(200), Duration::from_millis(2));
        let text = m.render();
        assert!(
            text.contains("notion_mcp_tool_calls_total{outcome=\"ok\",tool=\"search\"} 1"),
            "{text}"
        );
        assert!(text.contains(
            "notion_mcp_notion_requests_total{endpoint=\"POST /v1/search\",status=\"200\"} 1"
        ));
        m.observe_rate_limited("api-key");
        m.set_circuit_open(true);
        let text = m.render();
        assert!(
            text.contains("notion_mcp_rate_limited_total{kind=\"api-key\"} 1"),
            "{text}"
        );
        assert!(text.contains("notion_mcp_notion_circuit_open 1"), "{text}");
        m.set_redis_degraded(true);
        m.observe_redis("budget", Duration::from_micros(300));
        m.observe_redis_error("ping");
        let text = m.render();
        assert!(text.contains("notion_mcp_redis_degraded 1"), "{text}");
        assert!(
            text.contains("notion_mcp_redis_roundtrip_seconds_count{op=\"budget\"} 1"),
            "{text}"
        );
        assert!(
            text.contains("notion_mcp_redis_errors_total{op=\"ping\"} 1"),
            "{text}"
        );
    }

    fn gauge_value(text: &str, name: &str) -> i64 {
        text.lines()
            .find_map(|l| l.strip_prefix(name)?.strip_prefix(' '))
            .and_then(|v| v.trim().parse().ok())
            .unwrap_or(-1)
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn process_gauges_are_sampled_at_render() {
        let m = Metrics::new();
        let before = gauge_value(&m.render(), "notion_mcp_runtime_alive_tasks");
        let (tx, rx) = tokio::sync::oneshot::channel::<()>();
        let task = tokio::spawn(async move {
            let _ = rx.await;
        });
        let text = m.render();
        assert_eq!(
            gauge_value(&text, "notion_mcp_runtime_alive_tasks"),
            before + 1,
            "{text}"
        );
        if cfg!(target_os = "linux") {
            assert!(
                gauge_value(&text, "notion_mcp_process_open_fds") > 0,
                "{text}"
            );
            assert!(
                gauge_value(&text, "notion_mcp_process_resident_memory_bytes") > 1 << 20,
                "{text}"
            );
        }
        let _ = tx.send(());
        let _ = task.await;
        // A finished task leaves the runtime's list just after its JoinHandle is woken.
        let mut after = gauge_value(&m.render(), "notion_mcp_runtime_alive_tasks");
        for _ in 0..500 {
            if after == before {
                break;
            }
            tokio::time::sleep(Duration::from_millis(10)).await;
            after = gauge_value(&m.render(), "notion_mcp_runtime_alive_tasks");
        }
        assert_eq!(after, before);
    }

    #[test]
    fn resident_kib_reads_vmrss() {
        assert_eq!(
            resident_kib("Name:\tx\nVmRSS:\t   12345 kB\nThreads: 3\n"),
            Some(12345)
        );
        assert_eq!(resident_kib("Name: x"), None);
    }
}
