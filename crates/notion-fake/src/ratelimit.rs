//! Optional token-bucket rate limiting per bot (connection) and per workspace, answering
//! 429 `rate_limited` with `Retry-After` and `additional_data.rate_limit_reason`.

use std::collections::HashMap;
use std::time::Instant;

use uuid::Uuid;

/// A token bucket: refills `per_second`, holds at most `burst`.
#[derive(Debug, Clone, PartialEq)]
pub struct RateLimit {
    pub per_second: f64,
    pub burst: u32,
    /// `additional_data.rate_limit_reason` of the 429.
    pub reason: String,
}

impl RateLimit {
    /// A per-connection limit with Notion's usual reason.
    pub fn new(per_second: f64, burst: u32) -> Self {
        Self {
            per_second,
            burst,
            reason: "public_api_request_rate_limit".into(),
        }
    }

    /// A per-workspace limit (`public_api_space_request_rate_limit`).
    pub fn workspace(per_second: f64, burst: u32) -> Self {
        Self::new(per_second, burst).reason("public_api_space_request_rate_limit")
    }

    pub fn reason(mut self, reason: impl Into<String>) -> Self {
        self.reason = reason.into();
        self
    }
}

impl Default for RateLimit {
    /// Notion's classic average: 3 requests per second.
    fn default() -> Self {
        Self::new(3.0, 3)
    }
}

#[derive(Debug, Clone)]
struct Bucket {
    tokens: f64,
    at: Instant,
}

/// Buckets keyed by bot or workspace id.
#[derive(Debug, Default)]
pub struct Limiter {
    pub limit: Option<RateLimit>,
    buckets: HashMap<Uuid, Bucket>,
}

impl Limiter {
    pub fn set(&mut self, limit: Option<RateLimit>) {
        self.limit = limit;
        self.buckets.clear();
    }

    /// Takes one token for `key`; `Err((retry_after_secs, reason))` when empty.
    pub fn check(&mut self, key: Uuid) -> Result<(), (u64, String)> {
        let Some(limit) = &self.limit else {
            return Ok(());
        };
        let now = Instant::now();
        let burst = f64::from(limit.burst.max(1));
        let bucket = self.buckets.entry(key).or_insert(Bucket {
            tokens: burst,
            at: now,
        });
        let elapsed = now.duration_since(bucket.at).as_secs_f64();
        bucket.tokens = (bucket.tokens + elapsed * limit.per_second).min(burst);
        bucket.at = now;
        if bucket.tokens >= 1.0 {
            bucket.tokens -= 1.0;
            return Ok(());
        }
        let wait = if limit.per_second > 0.0 {
            ((1.0 - bucket.tokens) / limit.per_second).ceil() as u64
        } else {
            60
        };
        Err((wait.max(1), limit.reason.clone()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bucket_empties() {
        let mut l = Limiter::default();
        l.set(Some(RateLimit::new(0.5, 2)));
        let k = Uuid::nil();
        assert!(l.check(k).is_ok());
        assert!(l.check(k).is_ok());
        let (wait, reason) = l.check(k).expect_err("limited");
        assert!(wait >= 1);
        assert_eq!(reason, "public_api_request_rate_limit");
    }
}
