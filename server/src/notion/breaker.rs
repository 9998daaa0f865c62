//! A circuit breaker in front of Notion: when Notion keeps failing (5xx, 529, timeouts, lost
//! connections), stop calling it for a while and fail fast, instead of letting every caller wait out
//! timeouts and retries against an upstream that is down.
//!
//! Closed → open after `failures` consecutive upstream failures within `window`; open → half-open when
//! `open_for` has passed, letting one probe through; the probe's success closes the breaker, its
//! failure opens it again. Answers that show Notion is up (2xx, 4xx, 429, a committed-write 503) count
//! as successes. One breaker serves the whole process: Notion is one upstream for every tenant.

use super::error::NotionError;
use crate::metrics::Metrics;
use std::sync::{Mutex, MutexGuard};
use std::time::Duration;
use tokio::time::Instant;

/// When the breaker opens and for how long.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BreakerConfig {
    /// Consecutive upstream failures that open the breaker; 0 disables it.
    pub failures: u32,
    /// The failures must all fall within this span (a slow trickle of errors never opens it).
    pub window: Duration,
    /// How long the breaker stays open before a probe may go through.
    pub open_for: Duration,
}

impl Default for BreakerConfig {
    fn default() -> Self {
        BreakerConfig {
            failures: 10,
            window: Duration::from_secs(60),
            open_for: Duration::from_secs(30),
        }
    }
}

impl BreakerConfig {
    /// A breaker that never opens.
    pub fn disabled() -> Self {
        BreakerConfig {
            failures: 0,
            ..Default::default()
        }
    }
}

/// What an attempt's result says about Notion's health.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Health {
    /// Notion answered (whatever it answered).
    Up,
    /// Notion failed: a 5xx that is not a definitive answer, 529, a timeout or a connection error.
    Failing,
    /// Nothing was learnt (the request was never sent).
    Unknown,
}

impl Health {
    /// Classify an attempt's result.
    pub fn of<T>(result: &Result<T, NotionError>) -> Health {
        let Err(err) = result else {
            return Health::Up;
        };
        match err {
            NotionError::Api {
                status: 500 | 502 | 503 | 504 | 529,
                ..
            } if !err.is_committed_write() => Health::Failing,
            NotionError::Api { .. } | NotionError::Decode { .. } => Health::Up,
            NotionError::Timeout { .. } | NotionError::Transport { .. } => Health::Failing,
            NotionError::InvalidInput { .. }
            | NotionError::Config { .. }
            | NotionError::UpstreamUnavailable { .. } => Health::Unknown,
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum State {
    Closed {
        failures: u32,
        since: Option<Instant>,
    },
    Open {
        failures: u32,
        until: Instant,
    },
    /// The cooldown is over; `probing` while the one probe is in flight.
    HalfOpen {
        failures: u32,
        probing: bool,
    },
}

/// The process-wide breaker in front of Notion.
pub struct Breaker {
    cfg: BreakerConfig,
    state: Mutex<State>,
    metrics: Metrics,
}

/// Leave to send one attempt; report its result with [`Permit::record`]. A probe dropped without a
/// result (the call was cancelled) lets the next request probe instead.
#[must_use = "report the attempt's outcome with Permit::record"]
pub struct Permit<'a> {
    breaker: Option<&'a Breaker>,
    probe: bool,
}

impl Breaker {
    pub fn new(cfg: BreakerConfig, metrics: Metrics) -> Self {
        metrics.set_circuit_open(false);
        Breaker {
            cfg,
            state: Mutex::new(State::Closed {
                failures: 0,
                since: None,
            }),
            metrics,
        }
    }

    fn lock(&self) -> MutexGuard<'_, State> {
        // The state is a plain value; a panic elsewhere cannot leave it half-updated.
        self.state.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Whether the breaker currently refuses calls (open, or half-open with a probe in flight).
    pub fn is_open(&self) -> bool {
        !matches!(*self.lock(), State::Closed { .. })
    }

    /// May an attempt go to Notion now? `Err` is the fail-fast error to return to the caller.
    pub fn admit(&self) -> Result<Permit<'_>, NotionError> {
        if self.cfg.failures == 0 {
            return Ok(Permit {
                breaker: None,
                probe: false,
            });
        }
        let now = Instant::now();
        let mut state = self.lock();
        match *state {
            State::Closed { .. } => Ok(Permit {
                breaker: Some(self),
                probe: false,
            }),
            State::Open { failures, until } if now < until => {
                Err(unavailable(failures, until - now))
            }
            State::Open { failures, .. }
            | State::HalfOpen {
                failures,
                probing: false,
            } => {
                *state = State::HalfOpen {
                    failures,
                    probing: true,
                };
                tracing::info!("Notion circuit half-open: sending one probe request");
                Ok(Permit {
                    breaker: Some(self),
                    probe: true,
                })
            }
            // Another request is probing; it decides within one attempt timeout.
            State::HalfOpen {
                failures,
                probing: true,
            } => Err(unavailable(failures, Duration::from_secs(1))),
        }
    }

    fn record(&self, health: Health, probe: bool) {
        let now = Instant::now();
        let mut state = self.lock();
        let next = match (health, *state) {
            (Health::Unknown, State::HalfOpen { failures, .. }) if probe => State::HalfOpen {
                failures,
                probing: false,
            },
            (Health::Unknown, s) => s,
            (Health::Up, State::Closed { .. }) => State::Closed {
                failures: 0,
                since: None,
            },
            (Health::Up, _) if probe => {
                tracing::info!("Notion answered the probe: circuit closed");
                State::Closed {
                    failures: 0,
                    since: None,
                }
            }
            // A late answer from before the breaker opened does not close it.
            (Health::Up, s) => s,
            (Health::Failing, State::Closed { failures, since }) => {
                let (failures, since) = match since {
                    Some(t) if now.duration_since(t) <= self.cfg.window => (failures + 1, t),
                    _ => (1, now),
                };
                if failures >= self.cfg.failures {
                    tracing::warn!(
                        failures,
                        open_secs = self.cfg.open_for.as_secs(),
                        "Notion keeps failing: circuit open, calls fail fast"
                    );
                    self.open(failures, now)
                } else {
                    State::Closed {
                        failures,
                        since: Some(since),
                    }
                }
            }
            (Health::Failing, State::HalfOpen { failures, .. }) if probe => {
                tracing::warn!("the probe to Notion failed: circuit open again");
                self.open(failures.saturating_add(1), now)
            }
            (Health::Failing, State::Open { failures, until }) => State::Open {
                failures: failures.saturating_add(1),
                until,
            },
            (Health::Failing, s) => s,
        };
        self.metrics
            .set_circuit_open(!matches!(next, State::Closed { .. }));
        *state = next;
    }

    fn open(&self, failures: u32, now: Instant) -> State {
        State::Open {
            failures,
            until: now + self.cfg.open_for,
        }
    }
}

impl Permit<'_> {
    /// Report the attempt's result to the breaker.
    pub fn record<T>(mut self, result: &Result<T, NotionError>) {
        if let Some(b) = self.breaker.take() {
            b.record(Health::of(result), self.probe);
        }
    }
}

impl Drop for Permit<'_> {
    fn drop(&mut self) {
        if let Some(b) = self.breaker.take() {
            b.record(Health::Unknown, self.probe);
        }
    }
}

fn unavailable(failures: u32, remaining: Duration) -> NotionError {
    NotionError::UpstreamUnavailable {
        failures,
        retry_after: Duration::from_secs(
            remaining.as_secs() + u64::from(remaining.subsec_nanos() > 0),
        )
        .max(Duration::from_secs(1)),
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    fn breaker(failures: u32) -> Breaker {
        Breaker::new(
            BreakerConfig {
                failures,
                window: Duration::from_secs(60),
                open_for: Duration::from_secs(30),
            },
            Metrics::new(),
        )
    }

    fn fail() -> Result<(), NotionError> {
        Err(NotionError::Api {
            status: 503,
            code: "service_unavailable".into(),
            message: String::new(),
            request_id: None,
            retry_after: None,
            additional_data: None,
        })
    }

    fn api(status: u16, data: Option<serde_json::Value>) -> Result<(), NotionError> {
        Err(NotionError::Api {
            status,
            code: "x".into(),
            message: String::new(),
            request_id: None,
            retry_after: None,
            additional_data: data.map(Box::new),
        })
    }

    fn fail_times(b: &Breaker, n: u32) {
        for _ in 0..n {
            b.admit().unwrap().record(&fail());
        }
    }

    #[test]
    fn classification() {
        assert_eq!(Health::of(&Ok::<_, NotionError>(())), Health::Up);
        for s in [500, 502, 503, 504, 529] {
            assert_eq!(Health::of(&api(s, None)), Health::Failing, "{s}");
        }
        for s in [400, 401, 403, 404, 409, 429, 501] {
            assert_eq!(Health::of(&api(s, None)), Health::Up, "{s}");
        }
        let committed = api(503, Some(serde_json::json!({"committed_resource_id": "p"})));
        assert_eq!(Health::of(&committed), Health::Up);
        let timeout: Result<(), _> = Err(NotionError::Timeout {
            endpoint: "GET /x",
            after: Duration::from_secs(1),
        });
        assert_eq!(Health::of(&timeout), Health::Failing);
        let conn: Result<(), _> = Err(NotionError::Transport {
            endpoint: "GET /x",
            message: "reset".into(),
            connect: false,
        });
        assert_eq!(Health::of(&conn), Health::Failing);
        let bad: Result<(), _> = Err(NotionError::invalid("body", "x"));
        assert_eq!(Health::of(&bad), Health::Unknown);
    }

    #[tokio::test(start_paused = true)]
    async fn opens_after_threshold_and_fails_fast() {
        let b = breaker(3);
        fail_times(&b, 2);
        assert!(!b.is_open());
        fail_times(&b, 1);
        assert!(b.is_open());
        let err = b.admit().err().unwrap();
        assert_eq!(err.code(), "upstream_unavailable");
        assert_eq!(err.retry_after_seconds(), Some(30));
        assert_eq!(
            err.to_string(),
            "Notion is failing (3 consecutive errors); not calling it for 30 s."
        );
        tokio::time::advance(Duration::from_millis(20_500)).await;
        assert_eq!(b.admit().err().unwrap().retry_after_seconds(), Some(10));
        assert!(
            b.metrics
                .render()
                .contains("notion_mcp_notion_circuit_open 1")
        );
    }

    #[tokio::test(start_paused = true)]
    async fn successes_and_caller_errors_reset_the_streak() {
        let b = breaker(3);
        fail_times(&b, 2);
        b.admit().unwrap().record(&api(404, None));
        fail_times(&b, 2);
        b.admit().unwrap().record(&api(429, None));
        fail_times(&b, 2);
        b.admit().unwrap().record(&Ok::<_, NotionError>(()));
        fail_times(&b, 2);
        assert!(!b.is_open());
    }

    #[tokio::test(start_paused = true)]
    async fn failures_spread_beyond_the_window_do_not_open() {
        let b = breaker(3);
        for _ in 0..10 {
            fail_times(&b, 1);
            tokio::time::advance(Duration::from_secs(31)).await;
        }
        assert!(!b.is_open());
    }

    #[tokio::test(start_paused = true)]
    async fn half_open_probe_success_closes() {
        let b = breaker(2);
        fail_times(&b, 2);
        tokio::time::advance(Duration::from_secs(30)).await;
        let probe = b.admit().unwrap();
        // While the probe is in flight, others still fail fast.
        assert_eq!(b.admit().err().unwrap().code(), "upstream_unavailable");
        probe.record(&Ok::<_, NotionError>(()));
        assert!(!b.is_open());
        assert!(
            b.metrics
                .render()
                .contains("notion_mcp_notion_circuit_open 0")
        );
        b.admit().unwrap().record(&Ok::<_, NotionError>(()));
        // The streak starts from zero again.
        fail_times(&b, 1);
        assert!(!b.is_open());
    }

    #[tokio::test(start_paused = true)]
    async fn half_open_probe_failure_reopens_for_a_full_period() {
        let b = breaker(2);
        fail_times(&b, 2);
        tokio::time::advance(Duration::from_secs(31)).await;
        b.admit().unwrap().record(&fail());
        let err = b.admit().err().unwrap();
        assert_eq!(err.retry_after_seconds(), Some(30));
        assert!(err.to_string().contains("(3 consecutive errors)"), "{err}");
    }

    #[tokio::test(start_paused = true)]
    async fn abandoned_probe_lets_another_through() {
        let b = breaker(1);
        fail_times(&b, 1);
        tokio::time::advance(Duration::from_secs(30)).await;
        drop(b.admit().unwrap());
        let probe = b.admit().unwrap();
        probe.record(&Ok::<_, NotionError>(()));
        assert!(!b.is_open());
    }

    #[tokio::test(start_paused = true)]
    async fn late_success_does_not_close_an_open_breaker() {
        let b = breaker(1);
        let slow = b.admit().unwrap();
        fail_times(&b, 1);
        slow.record(&Ok::<_, NotionError>(()));
        assert!(b.is_open());
    }

    #[test]
    fn disabled_never_opens() {
        let b = Breaker::new(BreakerConfig::disabled(), Metrics::new());
        for _ in 0..100 {
            b.admit().unwrap().record(&fail());
        }
        assert!(!b.is_open());
    }
}
