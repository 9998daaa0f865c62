//! Per-caller rate limit for `/mcp`: a token bucket per authenticated principal (by `subject`) that
//! counts tool calls only, so one caller cannot monopolise the server or its Notion budget.
//!
//! It runs after authentication. A `tools/call` over the caller's budget is answered in JSON-RPC with
//! a tool error (`isError: true`, code `rate_limited`, `retry_after_seconds`), which clients show to
//! the model instead of a broken connection; only a message that cannot be answered in JSON-RPC (no
//! request id) gets HTTP 429 with `Retry-After`. Either way the text says this is the server's
//! per-caller limit (not Notion's). Buckets of idle callers are dropped periodically, so memory
//! follows the number of recently active callers.

use super::McpMessage;
use crate::auth::Principal;
use crate::mcp::ToolError;
use crate::metrics::Metrics;
use axum::Json;
use axum::extract::{Request, State};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use governor::clock::{Clock, DefaultClock};
use governor::state::keyed::DefaultKeyedStateStore;
use governor::{Quota, RateLimiter};
use http::{HeaderValue, StatusCode, header};
use std::num::NonZeroU32;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// How many tool calls one caller may make.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RateLimitConfig {
    /// Sustained tool calls per minute per caller; 0 turns the limit off.
    pub per_minute: u32,
    /// Tool calls a caller may make back to back after being idle.
    pub burst: u32,
}

impl Default for RateLimitConfig {
    fn default() -> Self {
        RateLimitConfig {
            per_minute: 120,
            burst: 20,
        }
    }
}

type KeyedLimiter = RateLimiter<String, DefaultKeyedStateStore<String>, DefaultClock>;

/// How often idle callers' buckets are dropped (on the request path; [`CallerRateLimit::sweep`] can
/// also be called from a timer).
const SWEEP_EVERY: Duration = Duration::from_secs(60);

/// The state of the rate-limit middleware. Cheap to clone.
#[derive(Clone)]
pub struct CallerRateLimit {
    inner: Arc<Inner>,
}

struct Inner {
    cfg: RateLimitConfig,
    limiter: Option<KeyedLimiter>,
    metrics: Metrics,
    last_sweep: Mutex<Instant>,
}

impl CallerRateLimit {
    pub fn new(cfg: RateLimitConfig, metrics: Metrics) -> Self {
        let limiter = NonZeroU32::new(cfg.per_minute).map(|per_minute| {
            let burst = NonZeroU32::new(cfg.burst).unwrap_or(NonZeroU32::MIN);
            RateLimiter::keyed(Quota::per_minute(per_minute).allow_burst(burst))
        });
        CallerRateLimit {
            inner: Arc::new(Inner {
                cfg,
                limiter,
                metrics,
                last_sweep: Mutex::new(Instant::now()),
            }),
        }
    }

    /// Whether a tool call by `subject` may go ahead now; `Err` is how long to wait.
    pub fn check(&self, subject: &str) -> Result<(), Duration> {
        let Some(limiter) = &self.inner.limiter else {
            return Ok(());
        };
        self.maybe_sweep();
        limiter
            .check_key(&subject.to_owned())
            .map_err(|not_until| not_until.wait_time_from(DefaultClock::default().now()))
    }

    /// Callers with a live bucket (until the next sweep).
    pub fn tracked_callers(&self) -> usize {
        self.inner.limiter.as_ref().map_or(0, KeyedLimiter::len)
    }

    /// Drop the buckets of callers that have been idle long enough for them to be full again.
    pub fn sweep(&self) {
        if let Some(limiter) = &self.inner.limiter {
            limiter.retain_recent();
            limiter.shrink_to_fit();
        }
    }

    fn maybe_sweep(&self) {
        let Ok(mut last) = self.inner.last_sweep.try_lock() else {
            return;
        };
        if last.elapsed() < SWEEP_EVERY {
            return;
        }
        *last = Instant::now();
        drop(last);
        self.sweep();
    }

    /// What the caller is told: whose limit it is, and when to retry (whole seconds, at least 1).
    fn refusal(&self, wait: Duration) -> (String, u64) {
        let seconds = (wait.as_secs() + u64::from(wait.subsec_nanos() > 0)).max(1);
        let per_minute = self.inner.cfg.per_minute;
        let text = format!(
            "this server's per-caller limit allows {per_minute} tool calls per minute for this caller \
             (bursts of {}) and it has been reached; wait {seconds} s before the next tool call. \
             This is not a Notion rate limit.",
            self.inner.cfg.burst.max(1)
        );
        (text, seconds)
    }

    /// The JSON-RPC answer to tool call `id` over the limit: a tool error result, HTTP 200.
    fn tool_refusal(&self, kind: &str, id: &serde_json::Value, wait: Duration) -> Response {
        self.inner.metrics.observe_rate_limited(kind);
        let (detail, retry_after_seconds) = self.refusal(wait);
        let result = ToolError::CallerRateLimited {
            detail,
            retry_after_seconds,
        }
        .into_result();
        let body = serde_json::json!({"jsonrpc": "2.0", "id": id, "result": result});
        (StatusCode::OK, Json(body)).into_response()
    }

    /// HTTP 429 with `Retry-After`, for what cannot be answered in JSON-RPC.
    fn too_many(&self, kind: &str, wait: Duration) -> Response {
        self.inner.metrics.observe_rate_limited(kind);
        let (description, seconds) = self.refusal(wait);
        let body = serde_json::json!({
            "error": "rate_limited",
            "error_description": description,
            "retry_after_seconds": seconds,
        });
        let mut resp = (StatusCode::TOO_MANY_REQUESTS, Json(body)).into_response();
        resp.headers_mut()
            .insert(header::RETRY_AFTER, HeaderValue::from(seconds));
        resp
    }
}

/// Middleware for `/mcp`, after authentication: limits `tools/call` per principal.
pub async fn rate_limit(
    State(limit): State<CallerRateLimit>,
    req: Request,
    next: Next,
) -> Response {
    let message = req
        .extensions()
        .get::<McpMessage>()
        .filter(|m| m.is_tool_call());
    if let Some(message) = message
        && let Some(principal) = req.extensions().get::<Principal>()
        && let Err(wait) = limit.check(&principal.subject)
    {
        tracing::info!(
            subject = %principal.subject,
            wait_ms = wait.as_millis() as u64,
            "tool call refused by the per-caller rate limit"
        );
        let kind = principal.kind.as_str();
        return match &message.id {
            Some(id) => limit.tool_refusal(kind, id, wait),
            None => limit.too_many(kind, wait),
        };
    }
    next.run(req).await
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn burst_then_refused_and_callers_are_independent() {
        let l = CallerRateLimit::new(
            RateLimitConfig {
                per_minute: 60,
                burst: 2,
            },
            Metrics::new(),
        );
        assert!(l.check("a").is_ok());
        assert!(l.check("a").is_ok());
        let wait = l.check("a").unwrap_err();
        assert!(
            wait > Duration::ZERO && wait <= Duration::from_secs(1),
            "{wait:?}"
        );
        assert!(l.check("b").is_ok());
        assert_eq!(l.tracked_callers(), 2);
    }

    #[test]
    fn zero_per_minute_is_off() {
        let l = CallerRateLimit::new(
            RateLimitConfig {
                per_minute: 0,
                burst: 0,
            },
            Metrics::new(),
        );
        for _ in 0..1000 {
            assert!(l.check("a").is_ok());
        }
        assert_eq!(l.tracked_callers(), 0);
    }

    #[test]
    fn idle_callers_are_swept() {
        let l = CallerRateLimit::new(
            RateLimitConfig {
                per_minute: 60_000,
                burst: 1,
            },
            Metrics::new(),
        );
        for i in 0..20 {
            assert!(l.check(&format!("c{i}")).is_ok());
        }
        assert_eq!(l.tracked_callers(), 20);
        std::thread::sleep(Duration::from_millis(5));
        l.sweep();
        assert_eq!(l.tracked_callers(), 0);
    }

    #[test]
    fn refusal_says_whose_limit_and_when() {
        let l = CallerRateLimit::new(RateLimitConfig::default(), Metrics::new());
        let resp = l.too_many("api-key", Duration::from_millis(200));
        assert_eq!(resp.status(), StatusCode::TOO_MANY_REQUESTS);
        assert_eq!(resp.headers()[header::RETRY_AFTER], "1");
        let resp = l.too_many("api-key", Duration::from_millis(2_100));
        assert_eq!(resp.headers()[header::RETRY_AFTER], "3");
        assert!(
            l.inner
                .metrics
                .render()
                .contains("notion_mcp_rate_limited_total{kind=\"api-key\"} 2")
        );
    }

    #[tokio::test]
    async fn a_tool_call_refusal_is_a_tool_error_result() {
        let l = CallerRateLimit::new(RateLimitConfig::default(), Metrics::new());
        let resp = l.tool_refusal(
            "api-key",
            &serde_json::json!(7),
            Duration::from_millis(1_500),
        );
        assert_eq!(resp.status(), StatusCode::OK);
        let bytes = axum::body::to_bytes(resp.into_body(), usize::MAX)
            .await
            .unwrap();
        let body: serde_json::Value = serde_json::from_slice(&bytes).unwrap();
        assert_eq!(body["id"], 7);
        assert_eq!(body["result"]["isError"], true);
        let error = &body["result"]["structuredContent"]["error"];
        assert_eq!(error["code"], "rate_limited");
        assert_eq!(error["retry_after_seconds"], 2);
        let text = body["result"]["content"][0]["text"].as_str().unwrap();
        assert!(
            text.contains("wait 2 s") && text.contains("per-caller limit"),
            "{text}"
        );
    }
}
