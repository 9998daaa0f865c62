//! State the replicas share on Redis (or Valkey): one Notion budget per pacing key ([`budget`]), an
//! invalidation bus ([`bus`]), first-delivery claims of webhook events ([`dedupe`]), leases that let
//! one replica at a time do a job ([`lease`]) and logs every replica appends to and reads ([`stream`]).
//!
//! Redis is never required. [`SharedState::connect`] returns at once, also when Redis is down, and the
//! state counts as *degraded* until a ping succeeds. Every call has a short deadline; a lost connection
//! or a missed deadline marks the state degraded (callers then do what one replica does alone, e.g.
//! pace at 1/N of the budget), and a background ping brings it back. The URL's credentials are never
//! printed or logged.

pub mod budget;
pub mod bus;
pub mod dedupe;
pub mod lease;
pub mod stream;
pub mod tasks;

pub use bus::BusEvent;

use crate::metrics::Metrics;
use redis::aio::{ConnectionManager, ConnectionManagerConfig};
use redis::{ErrorKind, RedisError, RedisResult, ServerErrorKind};
use std::fmt;
use std::future::Future;
use std::sync::atomic::{AtomicU8, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, Weak};
use std::time::{Duration, Instant};
use tokio_util::sync::CancellationToken;

/// Deadline of one Redis call: past it the call fails and the state is degraded.
pub const OP_TIMEOUT: Duration = Duration::from_millis(250);
/// How often Redis is pinged while healthy, to notice an outage while idle.
const PING_EVERY: Duration = Duration::from_secs(1);
/// How often it is pinged while degraded: replicas should come back together, since one that is back
/// on the shared budget while another still paces alone sends more than the budget between them.
const RETRY_EVERY: Duration = Duration::from_millis(200);
/// Deadline of opening a connection (TCP, TLS, AUTH).
const CONNECT_TIMEOUT: Duration = Duration::from_secs(2);
/// Non-fatal errors (an answer Redis refused) are logged at most this often.
const ERROR_LOG_EVERY: Duration = Duration::from_secs(60);
/// Prefix of every key and channel this server uses.
const KEY_PREFIX: &str = "notion-mcp:";

/// One kind of Redis operation, the `op` label of the Redis metrics.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Op {
    Budget,
    Publish,
    Dedupe,
    Lease,
    Stream,
    Ping,
    /// MCP task state and cancellation requests.
    Task,
}

impl Op {
    pub fn as_str(self) -> &'static str {
        match self {
            Op::Budget => "budget",
            Op::Publish => "publish",
            Op::Dedupe => "dedupe",
            Op::Lease => "lease",
            Op::Stream => "stream",
            Op::Ping => "ping",
            Op::Task => "task",
        }
    }
}

impl fmt::Display for Op {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Why a shared-state operation did not happen. Messages never contain the URL's password.
#[derive(Debug, Clone, thiserror::Error)]
pub enum SharedError {
    /// Redis is unreachable (or not yet reached); nothing was sent.
    #[error("Redis is unreachable: shared state is degraded")]
    Degraded,
    #[error("Redis did not answer {op} within {} ms", after.as_millis())]
    Timeout { op: Op, after: Duration },
    #[error("Redis {op} failed: {message}")]
    Redis { op: Op, message: String },
    #[error("invalid {what}: {message}")]
    Invalid { what: &'static str, message: String },
}

const UNKNOWN: u8 = 0;
const UP: u8 = 1;
const DOWN: u8 = 2;

struct Inner {
    /// `None` when the URL could not be used (then the state stays degraded).
    conn: Option<ConnectionManager>,
    /// For connections of their own (blocking log reads).
    client: Option<redis::Client>,
    /// The URL without credentials, query or fragment, for logs and `Debug`.
    target: String,
    /// Credentials of the URL (raw and decoded), scrubbed from error messages.
    secrets: Vec<String>,
    health: AtomicU8,
    /// When Redis last came back after being unreachable (its data may have been lost).
    recovered_at: Mutex<Option<Instant>>,
    /// Times Redis came back after being unreachable.
    outages: AtomicU64,
    last_error_log: Mutex<Option<Instant>>,
    metrics: Metrics,
    bus: Arc<bus::Hub>,
    /// Stops the background tasks when the last clone is dropped.
    stop: CancellationToken,
}

impl Drop for Inner {
    fn drop(&mut self) {
        self.stop.cancel();
    }
}

/// The connection to Redis shared by everything in this process; cheap to clone.
#[derive(Clone)]
pub struct SharedState {
    inner: Arc<Inner>,
}

impl fmt::Debug for SharedState {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SharedState")
            .field("target", &self.inner.target)
            .field("degraded", &self.is_degraded())
            .finish()
    }
}

impl SharedState {
    /// Starts using Redis at `url` (`redis://[[user]:password@]host[:port][/db]`, or `rediss://` for
    /// TLS). Never fails and never waits: an unreachable Redis (or an unusable URL, which is logged)
    /// leaves the state degraded while a background task keeps trying. Needs a Tokio runtime; without
    /// one the state stays degraded.
    pub fn connect(url: &str, metrics: Metrics) -> SharedState {
        crate::notion::client::install_crypto_provider();
        let url = url.trim();
        let target = redact_url(url);
        let secrets = secrets_of(url);
        metrics.set_redis_degraded(true);
        let stop = CancellationToken::new();
        let hub = Arc::new(bus::Hub::new());
        let runtime = tokio::runtime::Handle::try_current().ok();
        let scrub = |message: String| scrub(&secrets, message);
        let client = match redis::Client::open(url) {
            Ok(c) => Some(c),
            Err(e) => {
                tracing::error!(redis = %target, error = %scrub(e.to_string()), "the Redis URL is not usable; shared state stays degraded");
                None
            }
        };
        let conn = match (&client, &runtime) {
            (Some(client), Some(_)) => {
                let cfg = ConnectionManagerConfig::new()
                    .set_connection_timeout(Some(CONNECT_TIMEOUT))
                    .set_response_timeout(Some(OP_TIMEOUT))
                    .set_number_of_retries(1)
                    .set_min_delay(Duration::from_millis(50))
                    .set_max_delay(Duration::from_millis(250));
                match ConnectionManager::new_lazy_with_config(client.clone(), cfg) {
                    Ok(c) => Some(c),
                    Err(e) => {
                        tracing::error!(redis = %target, error = %scrub(e.to_string()), "cannot set up the Redis connection; shared state stays degraded");
                        None
                    }
                }
            }
            (Some(_), None) => {
                tracing::error!(redis = %target, "no async runtime: shared state stays degraded");
                None
            }
            (None, _) => None,
        };
        let inner = Arc::new(Inner {
            conn,
            client: client.clone(),
            target,
            secrets,
            health: AtomicU8::new(UNKNOWN),
            recovered_at: Mutex::new(None),
            outages: AtomicU64::new(0),
            last_error_log: Mutex::new(None),
            metrics,
            bus: hub.clone(),
            stop: stop.clone(),
        });
        if let (Some(rt), Some(client), true) = (runtime, client, inner.conn.is_some()) {
            rt.spawn(watch(Arc::downgrade(&inner), stop.clone()));
            rt.spawn(bus::relay(client, hub, stop));
        }
        SharedState { inner }
    }

    /// Whether Redis is unusable right now (unreachable, or not reached yet): callers should do what
    /// a replica does alone.
    pub fn is_degraded(&self) -> bool {
        self.inner.health.load(Ordering::Acquire) != UP
    }

    /// How many times Redis came back after being unreachable: what was sent to it meanwhile was
    /// lost, and what it held may be gone.
    pub fn outages(&self) -> u64 {
        self.inner.outages.load(Ordering::Acquire)
    }

    /// The URL without credentials (for logs).
    pub fn target(&self) -> &str {
        &self.inner.target
    }

    /// Pings Redis now; `Ok` also brings the state back from degraded.
    pub async fn ping(&self) -> Result<(), SharedError> {
        self.inner.ping().await
    }

    /// The connection for an operation, or [`SharedError::Degraded`] without trying.
    fn ready(&self) -> Result<ConnectionManager, SharedError> {
        match &self.inner.conn {
            Some(conn) if !self.is_degraded() => Ok(conn.clone()),
            _ => Err(SharedError::Degraded),
        }
    }

    /// Within `window` of Redis coming back after an outage.
    fn recovered_within(&self, window: Duration) -> bool {
        lock(&self.inner.recovered_at).is_some_and(|at| at.elapsed() < window)
    }

    async fn run<T>(
        &self,
        op: Op,
        call: impl Future<Output = RedisResult<T>>,
    ) -> Result<T, SharedError> {
        self.inner.run(op, call).await
    }
}

impl Inner {
    async fn ping(&self) -> Result<(), SharedError> {
        let Some(conn) = &self.conn else {
            return Err(SharedError::Degraded);
        };
        let mut conn = conn.clone();
        let cmd = redis::cmd("PING");
        self.run(Op::Ping, cmd.query_async::<()>(&mut conn)).await?;
        self.mark_up();
        Ok(())
    }

    /// Runs one call under [`OP_TIMEOUT`], recording its metrics and degrading on a lost connection.
    async fn run<T>(
        &self,
        op: Op,
        call: impl Future<Output = RedisResult<T>>,
    ) -> Result<T, SharedError> {
        let started = Instant::now();
        let outcome = tokio::time::timeout(OP_TIMEOUT, call).await;
        match outcome {
            Ok(Ok(v)) => {
                self.metrics.observe_redis(op.as_str(), started.elapsed());
                Ok(v)
            }
            Ok(Err(e)) => {
                self.metrics.observe_redis_error(op.as_str());
                let message = scrub(&self.secrets, e.to_string());
                if degrades(&e) {
                    self.mark_down(op, &message);
                } else {
                    self.log_error(op, &message);
                }
                Err(SharedError::Redis { op, message })
            }
            Err(_) => {
                self.metrics.observe_redis_error(op.as_str());
                self.mark_down(op, "no answer in time");
                Err(SharedError::Timeout {
                    op,
                    after: OP_TIMEOUT,
                })
            }
        }
    }

    fn mark_down(&self, op: Op, reason: &str) {
        let before = self.health.swap(DOWN, Ordering::AcqRel);
        if before != DOWN {
            self.metrics.set_redis_degraded(true);
            self.bus.set_degraded(true);
            tracing::warn!(
                redis = %self.target,
                op = op.as_str(),
                error = reason,
                "Redis unreachable: shared state degraded, each replica paces and deduplicates alone"
            );
        }
    }

    fn mark_up(&self) {
        let before = self.health.swap(UP, Ordering::AcqRel);
        if before != UP {
            if before == DOWN {
                *lock(&self.recovered_at) = Some(Instant::now());
                self.outages.fetch_add(1, Ordering::AcqRel);
            }
            self.metrics.set_redis_degraded(false);
            self.bus.set_degraded(false);
            tracing::info!(redis = %self.target, "Redis reachable: shared state in use");
        }
    }

    /// `message` without the URL's credentials.
    fn scrubbed(&self, message: String) -> String {
        scrub(&self.secrets, message)
    }

    /// An error that says nothing about reachability (Redis refused a command): logged now and then.
    fn log_error(&self, op: Op, message: &str) {
        let mut last = lock(&self.last_error_log);
        if last.is_none_or(|at| at.elapsed() >= ERROR_LOG_EVERY) {
            *last = Some(Instant::now());
            tracing::warn!(redis = %self.target, op = op.as_str(), error = message, "Redis refused a command");
        }
    }
}

/// Pings every [`PING_EVERY`] (every [`RETRY_EVERY`] while degraded) until the state is dropped.
async fn watch(inner: Weak<Inner>, stop: CancellationToken) {
    loop {
        let Some(strong) = inner.upgrade() else {
            return;
        };
        let pause = match strong.ping().await {
            Ok(()) => PING_EVERY,
            Err(_) => RETRY_EVERY,
        };
        drop(strong);
        tokio::select! {
            () = stop.cancelled() => return,
            () = tokio::time::sleep(pause) => {}
        }
    }
}

/// Whether an error means Redis cannot be used now (as opposed to refusing one command).
fn degrades(e: &RedisError) -> bool {
    !matches!(
        e.kind(),
        ErrorKind::Server(
            ServerErrorKind::ResponseError
                | ServerErrorKind::ExecAbort
                | ServerErrorKind::NoScript
                | ServerErrorKind::NoPerm
                | ServerErrorKind::NotBusy
                | ServerErrorKind::NoSub
                | ServerErrorKind::CrossSlot
        ) | ErrorKind::Parse
            | ErrorKind::UnexpectedReturnType
            | ErrorKind::Extension
    )
}

/// `scheme://host[:port][/db]` of a Redis URL: no user, password, query or fragment.
fn redact_url(url: &str) -> String {
    match url::Url::parse(url) {
        Ok(u) => {
            let host = u.host_str().unwrap_or_default();
            let port = u.port().map(|p| format!(":{p}")).unwrap_or_default();
            let path = u.path().trim_end_matches('/');
            format!("{}://{host}{port}{path}", u.scheme())
        }
        Err(_) => "[unparseable Redis URL]".to_owned(),
    }
}

/// The user name and password of a URL, as written and percent-decoded (empty ones left out).
fn secrets_of(url: &str) -> Vec<String> {
    let Ok(u) = url::Url::parse(url) else {
        // Scrub the whole text: whatever it holds stays out of messages.
        return vec![url.to_owned()];
    };
    let mut out = Vec::new();
    for raw in [u.password().unwrap_or_default(), u.username()] {
        if raw.is_empty() {
            continue;
        }
        out.push(raw.to_owned());
        out.push(percent_decode(raw));
    }
    // Longest first, so a secret containing another is scrubbed whole.
    out.sort_by_key(|s| std::cmp::Reverse(s.len()));
    out.dedup();
    out
}

/// `%XX` escapes decoded (invalid ones kept as written; invalid UTF-8 replaced).
fn percent_decode(s: &str) -> String {
    let bytes = s.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        let escaped = (bytes[i] == b'%')
            .then(|| s.get(i + 1..i + 3))
            .flatten()
            .and_then(|hex| u8::from_str_radix(hex, 16).ok());
        match escaped {
            Some(b) => {
                out.push(b);
                i += 3;
            }
            None => {
                out.push(bytes[i]);
                i += 1;
            }
        }
    }
    String::from_utf8_lossy(&out).into_owned()
}

fn scrub(secrets: &[String], mut message: String) -> String {
    for s in secrets.iter().filter(|s| !s.is_empty()) {
        message = message.replace(s.as_str(), "[redacted]");
    }
    message
}

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn urls_are_printed_without_credentials() {
        assert_eq!(
            redact_url("redis://:s3cret@cache.internal:6380/2"),
            "redis://cache.internal:6380/2"
        );
        assert_eq!(
            redact_url("rediss://app:p%40ss@redis.example.com"),
            "rediss://redis.example.com"
        );
        assert_eq!(redact_url("not a url"), "[unparseable Redis URL]");
        let secrets = secrets_of("rediss://app:p%40ss@redis.example.com");
        assert!(secrets.contains(&"p%40ss".to_owned()), "{secrets:?}");
        assert!(secrets.contains(&"p@ss".to_owned()), "{secrets:?}");
        assert_eq!(
            scrub(&secrets, "AUTH p@ss for app refused".into()),
            "AUTH [redacted] for [redacted] refused"
        );
    }

    #[tokio::test]
    async fn starts_degraded_without_redis_and_never_prints_the_password() {
        // Port 1 on loopback: nothing listens, connecting fails at once.
        let m = Metrics::new();
        let s = SharedState::connect("redis://user:hunter2-secret@127.0.0.1:1/0", m.clone());
        assert!(s.is_degraded());
        let dbg = format!("{s:?}");
        assert!(!dbg.contains("hunter2"), "{dbg}");
        assert!(dbg.contains("redis://127.0.0.1:1/0"), "{dbg}");
        assert!(matches!(
            s.take("k", 3.0, 10).await,
            Err(SharedError::Degraded)
        ));
        let e = s.ping().await.unwrap_err().to_string();
        assert!(!e.contains("hunter2"), "{e}");
        assert!(s.is_degraded());
        assert!(m.render().contains("notion_mcp_redis_degraded 1"));
    }

    #[tokio::test]
    async fn an_unusable_url_is_degraded_not_fatal() {
        let s = SharedState::connect("redis://[::1", Metrics::new());
        assert!(s.is_degraded());
        assert!(matches!(s.ping().await, Err(SharedError::Degraded)));
        assert!(matches!(
            s.first_delivery("evt", Duration::from_secs(60)).await,
            Err(SharedError::Degraded)
        ));
    }
}
