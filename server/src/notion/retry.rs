//! Retry policy for Notion calls: a pure decision function (failure + attempt + budget → retry after a
//! wait, or give up) and full-jitter exponential backoff. The client applies it to every request.
//!
//! Rules: 429 and 529 are retried for any method, honouring `Retry-After` (or
//! `additional_data.retry_after`), except `public_api_request_blocked`; 500/502/503/504, timeouts and
//! connections lost mid-request only for idempotent requests; connect failures (nothing sent) always;
//! a 503 reporting a committed write never. A wait that would exceed the total-wait budget gives up at
//! once so the caller can surface `retry_after_seconds`.

use super::error::NotionError;
use std::time::Duration;

/// How persistently one call is retried.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RetryPolicy {
    /// Retries after the first attempt.
    pub max_retries: u32,
    /// Backoff cap of the first retry; doubles per retry.
    pub initial_backoff: Duration,
    /// Upper bound of one backoff wait (not of a `Retry-After` wait).
    pub max_backoff: Duration,
    /// Upper bound of all retry waits of one call together.
    pub max_total_wait: Duration,
}

impl Default for RetryPolicy {
    fn default() -> Self {
        RetryPolicy {
            max_retries: 3,
            initial_backoff: Duration::from_secs(1),
            max_backoff: Duration::from_secs(30),
            max_total_wait: Duration::from_secs(60),
        }
    }
}

impl RetryPolicy {
    /// A policy that never retries.
    pub fn none() -> Self {
        RetryPolicy {
            max_retries: 0,
            ..Default::default()
        }
    }
}

/// What kind of wait a retry needs (the `kind` label of the wait metric).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum WaitKind {
    /// Notion said how long to wait.
    RetryAfter,
    /// Our own exponential backoff.
    Backoff,
}

impl WaitKind {
    pub fn as_str(self) -> &'static str {
        match self {
            WaitKind::RetryAfter => "retry_after",
            WaitKind::Backoff => "backoff",
        }
    }
}

/// The outcome of [`RetryPolicy::decide`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Decision {
    Retry {
        after: Duration,
        /// Metric label: `rate_limited`, `overloaded`, `unavailable`, `timeout`, `connection`.
        reason: &'static str,
        kind: WaitKind,
    },
    GiveUp,
}

/// Whether a failure may be retried at all, and why (independent of attempts and budget).
fn retry_reason(idempotent: bool, err: &NotionError) -> Option<&'static str> {
    match err {
        NotionError::Api { status: 429, .. } => (!err.is_blocked()).then_some("rate_limited"),
        NotionError::Api { status: 529, .. } => Some("overloaded"),
        NotionError::Api {
            status: 500 | 502 | 503 | 504,
            ..
        } => (idempotent && !err.is_committed_write()).then_some("unavailable"),
        NotionError::Timeout { .. } => idempotent.then_some("timeout"),
        NotionError::Transport { connect: true, .. } => Some("connection"),
        NotionError::Transport { connect: false, .. } => idempotent.then_some("connection"),
        _ => None,
    }
}

impl RetryPolicy {
    /// Decide what to do after a failed attempt.
    ///
    /// `retries_done` counts retries already made (0 after the first attempt), `waited` is the sum of
    /// retry waits so far, and `unit` is a random sample in `[0, 1)` for the jitter (pass a fixed
    /// value in tests).
    pub fn decide(
        &self,
        idempotent: bool,
        err: &NotionError,
        retries_done: u32,
        waited: Duration,
        unit: f64,
    ) -> Decision {
        let Some(reason) = retry_reason(idempotent, err) else {
            return Decision::GiveUp;
        };
        if retries_done >= self.max_retries {
            return Decision::GiveUp;
        }
        let remaining = self.max_total_wait.saturating_sub(waited);
        if let Some(after) = err.retry_after() {
            // Notion's wait is a floor: waiting less only earns another 429. If it does not fit the
            // budget, give up now and let the caller report retry_after_seconds.
            return if after <= remaining {
                Decision::Retry {
                    after,
                    reason,
                    kind: WaitKind::RetryAfter,
                }
            } else {
                Decision::GiveUp
            };
        }
        if remaining.is_zero() {
            return Decision::GiveUp;
        }
        let after = self.backoff(retries_done, unit).min(remaining);
        Decision::Retry {
            after,
            reason,
            kind: WaitKind::Backoff,
        }
    }

    /// Full-jitter exponential backoff: `unit × min(max_backoff, initial_backoff × 2^retries_done)`.
    pub fn backoff(&self, retries_done: u32, unit: f64) -> Duration {
        let factor = 2u32.saturating_pow(retries_done.min(31));
        let cap = self
            .initial_backoff
            .saturating_mul(factor)
            .min(self.max_backoff);
        let unit = if unit.is_finite() {
            unit.clamp(0.0, 1.0)
        } else {
            1.0
        };
        cap.mul_f64(unit)
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;
    use serde_json::{Value, json};

    fn api(status: u16, code: &str, retry_after: Option<u64>, data: Option<Value>) -> NotionError {
        NotionError::Api {
            status,
            code: code.into(),
            message: "m".into(),
            request_id: None,
            retry_after: retry_after.map(Duration::from_secs),
            additional_data: data.map(Box::new),
        }
    }

    fn policy() -> RetryPolicy {
        RetryPolicy {
            max_retries: 3,
            initial_backoff: Duration::from_millis(100),
            max_backoff: Duration::from_millis(1000),
            max_total_wait: Duration::from_secs(10),
        }
    }

    fn timeout() -> NotionError {
        NotionError::Timeout {
            endpoint: "GET /x",
            after: Duration::from_secs(1),
        }
    }

    fn transport(connect: bool) -> NotionError {
        NotionError::Transport {
            endpoint: "GET /x",
            message: "reset".into(),
            connect,
        }
    }

    /// (error, idempotent, expected retry reason or None for give-up)
    fn table() -> Vec<(NotionError, bool, Option<&'static str>)> {
        let blocked = Some(json!({"rate_limit_reason":"public_api_request_blocked"}));
        let conn_limit = Some(json!({"rate_limit_reason":"public_api_request_rate_limit"}));
        let committed = Some(json!({"committed_resource_id":"p1"}));
        let children = Some(json!({"committed_child_ids":["b1"]}));
        let guidance = Some(json!({"retry_guidance":"Do not repeat the write."}));
        let mut rows = Vec::new();
        for idem in [true, false] {
            let when = |r: &'static str| if idem { Some(r) } else { None };
            rows.extend([
                (
                    api(429, "rate_limited", Some(1), None),
                    idem,
                    Some("rate_limited"),
                ),
                (
                    api(429, "rate_limited", None, conn_limit.clone()),
                    idem,
                    Some("rate_limited"),
                ),
                (
                    api(429, "rate_limited", Some(1), blocked.clone()),
                    idem,
                    None,
                ),
                (
                    api(529, "service_overload", None, None),
                    idem,
                    Some("overloaded"),
                ),
                (
                    api(500, "internal_server_error", None, None),
                    idem,
                    when("unavailable"),
                ),
                (
                    api(502, "bad_gateway", None, None),
                    idem,
                    when("unavailable"),
                ),
                (
                    api(503, "service_unavailable", None, None),
                    idem,
                    when("unavailable"),
                ),
                (
                    api(504, "gateway_timeout", None, None),
                    idem,
                    when("unavailable"),
                ),
                (
                    api(503, "service_unavailable", None, committed.clone()),
                    idem,
                    None,
                ),
                (
                    api(503, "service_unavailable", None, children.clone()),
                    idem,
                    None,
                ),
                (
                    api(503, "service_unavailable", None, guidance.clone()),
                    idem,
                    None,
                ),
                (timeout(), idem, when("timeout")),
                (transport(true), idem, Some("connection")),
                (transport(false), idem, when("connection")),
                (api(400, "validation_error", None, None), idem, None),
                (api(401, "unauthorized", None, None), idem, None),
                (api(403, "restricted_resource", None, None), idem, None),
                (api(404, "object_not_found", None, None), idem, None),
                (api(409, "conflict_error", None, None), idem, None),
                (
                    NotionError::Decode {
                        endpoint: "GET /x",
                        message: "bad".into(),
                    },
                    idem,
                    None,
                ),
                (NotionError::invalid("id", "bad"), idem, None),
            ]);
        }
        rows
    }

    #[test]
    fn decision_table() {
        let p = policy();
        for (err, idem, expect) in table() {
            let got = p.decide(idem, &err, 0, Duration::ZERO, 0.5);
            match (expect, got) {
                (None, Decision::GiveUp) => {}
                (Some(r), Decision::Retry { reason, .. }) => {
                    assert_eq!(r, reason, "{err:?} idem={idem}")
                }
                _ => panic!("{err:?} idempotent={idem}: expected {expect:?}, got {got:?}"),
            }
        }
    }

    #[test]
    fn attempts_are_bounded() {
        let p = policy();
        for (err, idem, expect) in table() {
            if expect.is_some() {
                assert!(matches!(
                    p.decide(idem, &err, 2, Duration::ZERO, 0.5),
                    Decision::Retry { .. }
                ));
                assert_eq!(
                    p.decide(idem, &err, 3, Duration::ZERO, 0.5),
                    Decision::GiveUp
                );
            }
        }
        let none = RetryPolicy::none();
        assert_eq!(
            none.decide(true, &timeout(), 0, Duration::ZERO, 0.5),
            Decision::GiveUp
        );
    }

    #[test]
    fn retry_after_is_honoured_exactly() {
        let p = policy();
        let d = p.decide(
            false,
            &api(429, "rate_limited", Some(2), None),
            0,
            Duration::ZERO,
            0.9,
        );
        assert_eq!(
            d,
            Decision::Retry {
                after: Duration::from_secs(2),
                reason: "rate_limited",
                kind: WaitKind::RetryAfter
            }
        );
        // A 503 with Retry-After on an idempotent call also waits what Notion asked.
        let d = p.decide(
            true,
            &api(503, "service_unavailable", Some(3), None),
            0,
            Duration::ZERO,
            0.1,
        );
        assert!(
            matches!(d, Decision::Retry { after, kind: WaitKind::RetryAfter, .. } if after == Duration::from_secs(3))
        );
    }

    #[test]
    fn retry_after_beyond_budget_gives_up_at_once() {
        let p = policy(); // 10 s budget
        let err = api(429, "rate_limited", Some(11), None);
        assert_eq!(
            p.decide(true, &err, 0, Duration::ZERO, 0.5),
            Decision::GiveUp
        );
        let err = api(429, "rate_limited", Some(5), None);
        assert!(matches!(
            p.decide(true, &err, 0, Duration::from_secs(5), 0.5),
            Decision::Retry { .. }
        ));
        assert_eq!(
            p.decide(true, &err, 0, Duration::from_secs(6), 0.5),
            Decision::GiveUp
        );
    }

    #[test]
    fn backoff_is_clamped_to_remaining_budget() {
        let p = policy();
        let d = p.decide(true, &timeout(), 1, Duration::from_millis(9_950), 1.0);
        assert!(
            matches!(d, Decision::Retry { after, kind: WaitKind::Backoff, .. } if after == Duration::from_millis(50))
        );
        assert_eq!(
            p.decide(true, &timeout(), 1, Duration::from_secs(10), 1.0),
            Decision::GiveUp
        );
    }

    #[test]
    fn backoff_bounds() {
        let p = policy();
        assert_eq!(p.backoff(0, 1.0), Duration::from_millis(100));
        assert_eq!(p.backoff(1, 1.0), Duration::from_millis(200));
        assert_eq!(p.backoff(3, 1.0), Duration::from_millis(800));
        assert_eq!(p.backoff(4, 1.0), Duration::from_millis(1000));
        assert_eq!(p.backoff(u32::MAX, 1.0), Duration::from_millis(1000));
        assert_eq!(p.backoff(2, 0.0), Duration::ZERO);
        assert_eq!(p.backoff(2, 0.5), Duration::from_millis(200));
        assert_eq!(p.backoff(2, f64::NAN), Duration::from_millis(400));
        assert_eq!(p.backoff(2, 7.0), Duration::from_millis(400));
        for n in 0..40 {
            for u in [0.0, 0.3, 0.999] {
                assert!(p.backoff(n, u) <= p.max_backoff);
            }
        }
        let d = RetryPolicy::default();
        assert_eq!(d.backoff(10, 1.0), Duration::from_secs(30));
    }
}
