//! Fault injection: rules matched per request (method, path prefix, remaining count,
//! probability) that answer errors, delay, drop the connection, or fail after a write.
//! A [`Fault::Mix`] picks one of several faults by weight; a rule given a seed draws its
//! chances from its own generator, so a failing run can be replayed with the same seed.

use std::time::Duration;

use http::Method;
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
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
    /// One of these faults, chosen per firing with chance proportional to its weight
    /// (a mix inside a mix is resolved in turn; an empty or all-zero mix never fires).
    Mix(Vec<(u32, Fault)>),
}

impl Fault {
    /// A short name of the fault's kind (`status_502`, `rate_limited`, `delay`, ...), e.g. to
    /// count what a run injected.
    pub fn kind(&self) -> String {
        match self {
            Fault::Status {
                status,
                retry_after,
                ..
            } => match retry_after {
                Some(_) => format!("status_{status}_retry_after"),
                None => format!("status_{status}"),
            },
            Fault::RateLimited { .. } => "rate_limited".into(),
            Fault::Overloaded { .. } => "overloaded".into(),
            Fault::CommittedThenUnavailable => "committed_then_unavailable".into(),
            Fault::Delay(_) => "delay".into(),
            Fault::DropConnection => "drop_connection".into(),
            Fault::Mix(_) => "mix".into(),
        }
    }

    /// Resolves a [`Fault::Mix`] to one concrete fault (`None`: nothing to pick).
    fn resolve(self, rng: &mut impl Rng) -> Option<Fault> {
        let Fault::Mix(choices) = self else {
            return Some(self);
        };
        let total: u64 = choices.iter().map(|(w, _)| u64::from(*w)).sum();
        if total == 0 {
            return None;
        }
        let mut ticket = rng.random_range(0..total);
        for (weight, fault) in choices {
            let weight = u64::from(weight);
            if ticket < weight {
                return fault.resolve(rng);
            }
            ticket -= weight;
        }
        None
    }
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
    /// The rule's own generator for its chance and mix draws (`None`: the thread's).
    pub rng: Option<StdRng>,
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
            rng: None,
        }
    }

    /// Draws this rule's chances from a generator seeded with `seed`: the same sequence of
    /// matching requests then meets the same sequence of faults.
    pub fn seed(mut self, seed: u64) -> Self {
        self.rng = Some(StdRng::seed_from_u64(seed));
        self
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

/// Picks the first matching rule that fires (consuming one of its `times`) and returns its
/// fault, with any [`Fault::Mix`] resolved to one of its members.
pub fn take(rules: &mut Vec<FaultRule>, method: &Method, path: &str) -> Option<Fault> {
    let mut thread_rng = rand::rng();
    let index = rules.iter_mut().position(|r| {
        if !r.applies(method, path) {
            return false;
        }
        if r.probability >= 1.0 {
            return true;
        }
        let draw: f64 = match r.rng.as_mut() {
            Some(rng) => rng.random(),
            None => thread_rng.random(),
        };
        draw < r.probability
    })?;
    let rule = &mut rules[index];
    let fault = match rule.rng.as_mut() {
        Some(rng) => rule.fault.clone().resolve(rng),
        None => rule.fault.clone().resolve(&mut thread_rng),
    };
    if let Some(t) = rule.times.as_mut() {
        *t = t.saturating_sub(1);
        if *t == 0 {
            rules.remove(index);
        }
    }
    fault
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
        Fault::CommittedThenUnavailable
        | Fault::Delay(_)
        | Fault::DropConnection
        | Fault::Mix(_) => None,
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

#[cfg(test)]
mod tests {
    use super::*;

    fn status(code: u16) -> Fault {
        Fault::Status {
            status: code,
            code: String::new(),
            retry_after: None,
        }
    }

    fn draw(rules: &mut Vec<FaultRule>, n: usize) -> Vec<Option<String>> {
        (0..n)
            .map(|_| take(rules, &Method::GET, "/v1/pages/x").map(|f| f.kind()))
            .collect()
    }

    #[test]
    fn a_seeded_mix_repeats_and_follows_its_weights() {
        let mix = Fault::Mix(vec![
            (3, status(500)),
            (1, Fault::DropConnection),
            (0, status(502)),
        ]);
        let rule = FaultRule::new(mix).probability(0.2).seed(7);
        let first = draw(&mut vec![rule.clone()], 4000);
        assert_eq!(first, draw(&mut vec![rule], 4000), "same seed, same faults");
        let count = |k: &str| first.iter().filter(|f| f.as_deref() == Some(k)).count();
        let fired = first.iter().filter(|f| f.is_some()).count();
        assert!(
            (650..950).contains(&fired),
            "about 20 % of 4000 fire: {fired}"
        );
        assert_eq!(count("status_502"), 0, "a zero weight never fires");
        assert_eq!(count("status_500") + count("drop_connection"), fired);
        assert!(
            count("status_500") > 2 * count("drop_connection"),
            "{first:?}"
        );
    }

    #[test]
    fn nested_and_empty_mixes_resolve() {
        let nested = Fault::Mix(vec![(1, Fault::Mix(vec![(1, status(503))]))]);
        let mut rules = vec![FaultRule::new(nested).times(1)];
        assert_eq!(draw(&mut rules, 2), vec![Some("status_503".into()), None]);
        assert!(rules.is_empty());
        let mut rules = vec![FaultRule::new(Fault::Mix(Vec::new()))];
        assert_eq!(draw(&mut rules, 1), vec![None]);
    }
}
