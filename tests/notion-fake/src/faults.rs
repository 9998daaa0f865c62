//! Fault injection: rules matched per request (method, path prefix, remaining count,
//! probability) that answer errors, delay, drop the connection, or fail after a write.

use std::time::Duration;

use http::Method;
use serde_json::json;

use crate::errors::{ApiError, default_code, default_message};

/// What an injected fault does.
#[derive(Debug, Clone, PartialEq)]
pub enum Fault {
    /// Answer `status` with Notion error `code` (empty code: the status' usual code).
    Status {
        status: u16,
        code: String,
        retry_after: Option<u64>,
    },
    /// 429 `rate_limited` with `additional_data.rate_limit_reason = reason`.
    RateLimited {
        retry_after: Option<u64>,
        reason: String,
    },
    /// 529 `service_overload`; `additional_data.retry_after` repeats the header as a string.
    Overloaded { retry_after: Option<u64> },
    /// Apply the write, then answer 503 with `retry_guidance`, `committed_resource_id`,
    /// `committed_child_ids`.
    CommittedThenUnavailable,
    /// Sleep, then handle the request normally.
    Delay(Duration),
    /// Close the connection without a (complete) response.
    DropConnection,
}

/// A fault and when it applies.
#[derive(Debug, Clone, PartialEq)]
pub struct FaultRule {
    pub method: Option<Method>,
    /// Matches request paths starting with this (e.g. `/v1/pages`).
    pub path_prefix: Option<String>,
    pub fault: Fault,
    /// How many more times it fires; `None` = forever.
    pub times: Option<u32>,
    /// Chance of firing per matching request (1.0 = always).
    pub probability: f64,
}

impl FaultRule {
    /// A rule firing on every request, forever.
    pub fn new(fault: Fault) -> Self {
        Self {
            method: None,
            path_prefix: None,
            fault,
            times: None,
            probability: 1.0,
        }
    }

    pub fn method(mut self, method: Method) -> Self {
        self.method = Some(method);
        self
    }

    pub fn path_prefix(mut self, prefix: impl Into<String>) -> Self {
        self.path_prefix = Some(prefix.into());
        self
    }

    pub fn times(mut self, times: u32) -> Self {
        self.times = Some(times);
        self
    }

    pub fn probability(mut self, probability: f64) -> Self {
        self.probability = probability;
        self
    }

    fn applies(&self, method: &Method, path: &str) -> bool {
        self.times != Some(0)
            && self.method.as_ref().is_none_or(|m| m == method)
            && self
                .path_prefix
                .as_deref()
                .is_none_or(|p| path.starts_with(p))
    }
}

/// Picks the first matching rule (consuming one of its `times`) and returns its fault.
pub fn take(rules: &mut Vec<FaultRule>, method: &Method, path: &str) -> Option<Fault> {
    let index = rules.iter().position(|r| {
        r.applies(method, path) && (r.probability >= 1.0 || rand::random::<f64>() < r.probability)
    })?;
    let rule = &mut rules[index];
    let fault = rule.fault.clone();
    if let Some(t) = rule.times.as_mut() {
        *t = t.saturating_sub(1);
        if *t == 0 {
            rules.remove(index);
        }
    }
    Some(fault)
}

/// The error answered by an erroring fault (`None` for delays, drops and post-write faults).
pub fn error_for(fault: &Fault) -> Option<ApiError> {
    match fault {
        Fault::Status {
            status,
            code,
            retry_after,
        } => {
            let code = if code.is_empty() {
                default_code(*status)
            } else {
                code.as_str()
            };
            Some(ApiError::new(*status, code, default_message(code)).with_retry_after(*retry_after))
        }
        Fault::RateLimited {
            retry_after,
            reason,
        } => {
            let reason = if reason.is_empty() {
                "public_api_request_rate_limit"
            } else {
                reason
            };
            let mut e = ApiError::rate_limited(reason, retry_after.unwrap_or(1));
            e.retry_after = *retry_after;
            if reason != "public_api_request_blocked" && e.retry_after.is_none() {
                e.retry_after = Some(1);
            }
            Some(e)
        }
        Fault::Overloaded { retry_after } => {
            let mut e = ApiError::new(529, "service_overload", default_message("service_overload"))
                .with_retry_after(*retry_after);
            if let Some(s) = retry_after {
                e = e.with_data(json!({"retry_after": s.to_string()}));
            }
            Some(e)
        }
        Fault::CommittedThenUnavailable | Fault::Delay(_) | Fault::DropConnection => None,
    }
}

/// The 503 answered after a committed write.
pub fn committed_error(resource_id: Option<String>, child_ids: Vec<String>) -> ApiError {
    ApiError::new(
        503,
        "service_unavailable",
        "Notion is unavailable. The request may have completed; do not repeat the write without checking.",
    )
    .with_data(json!({
        "retry_guidance": "Do not repeat the write.",
        "committed_resource_id": resource_id,
        "committed_child_ids": child_ids,
        "elapsed_ms": 60_000,
        "deadline_ms": 60_000,
    }))
}
