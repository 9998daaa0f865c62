//! Long-lived MCP sessions as a real client keeps them: `initialize` with sessions on, an open GET
//! event stream for server messages, and a `ping` now and then so the server's idle timeout never
//! fires. A session whose stream ends is reopened; if the server no longer knows it (expired), it is
//! initialized again and the expiry is counted.

use crate::mcp::{McpClient, PROTOCOL_VERSION};
use anyhow::{Context, Result, bail};
use serde_json::json;
use std::sync::Arc;
use std::sync::atomic::{AtomicI64, AtomicU64, Ordering};
use std::time::Duration;
use tokio::sync::watch;

/// Counters shared by all session tasks.
#[derive(Debug, Default)]
pub struct SessionStats {
    /// GET streams open right now.
    pub live_streams: AtomicI64,
    /// Sessions initialized (first time and after an expiry).
    pub initialized: AtomicU64,
    /// Streams the server ended (or that broke) while the session was meant to stay open.
    pub stream_ends: AtomicU64,
    /// Sessions the server had forgotten when the stream was reopened (404): idle expiry.
    pub expired: AtomicU64,
    /// Pings answered with 2xx.
    pub pings_ok: AtomicU64,
    /// Pings, initializations or stream opens that failed.
    pub errors: AtomicU64,
}

impl SessionStats {
    pub fn get(counter: &AtomicU64) -> u64 {
        counter.load(Ordering::Relaxed)
    }
}

/// How a kept-alive session behaves.
#[derive(Debug, Clone, Copy)]
pub struct KeepAlive {
    /// Hold a GET event stream open.
    pub stream: bool,
    /// Send `ping` this often (`None`: never, so the server's idle timeout applies).
    pub ping_every: Option<Duration>,
}

/// One session's identity: where it lives and its id.
#[derive(Debug, Clone)]
struct Session {
    http: reqwest::Client,
    url: String,
    bearer: Option<String>,
    id: String,
}

impl Session {
    async fn initialize(http: &reqwest::Client, base: &str, bearer: Option<&str>) -> Result<Self> {
        let mut c = McpClient::new(http.clone(), base, bearer);
        c.initialize().await?;
        let id = c
            .session()
            .context("the server handed out no Mcp-Session-Id (is --sessions on?)")?
            .to_string();
        Ok(Session {
            http: http.clone(),
            url: format!("{}/mcp", base.trim_end_matches('/')),
            bearer: bearer.map(str::to_string),
            id,
        })
    }

    fn request(&self, method: reqwest::Method) -> reqwest::RequestBuilder {
        let mut r = self
            .http
            .request(method, &self.url)
            .header("mcp-session-id", &self.id)
            .header("mcp-protocol-version", PROTOCOL_VERSION);
        if let Some(t) = &self.bearer {
            r = r.bearer_auth(t);
        }
        r
    }

    /// Opens the GET event stream; `Ok(None)` when the server does not know the session (404).
    async fn open_stream(&self) -> Result<Option<reqwest::Response>> {
        let r = self
            .request(reqwest::Method::GET)
            .header("accept", "text/event-stream")
            .send()
            .await?;
        match r.status() {
            s if s.is_success() => Ok(Some(r)),
            reqwest::StatusCode::NOT_FOUND => Ok(None),
            s => bail!("GET stream: HTTP {s}"),
        }
    }

    async fn ping(&self) -> Result<()> {
        let body = json!({"jsonrpc": "2.0", "id": 1, "method": "ping"});
        let r = self
            .request(reqwest::Method::POST)
            .header("content-type", "application/json")
            .header("accept", "application/json, text/event-stream")
            .body(body.to_string())
            .send()
            .await?;
        let status = r.status();
        r.bytes().await?;
        if !status.is_success() {
            bail!("ping: HTTP {status}");
        }
        Ok(())
    }

    async fn delete(&self) {
        let _ = self.request(reqwest::Method::DELETE).send().await;
    }
}

/// Initializes a session and keeps it alive until `stop` turns true; then deletes it.
/// Returns once the first initialization succeeded (or failed), leaving a task that holds it.
/// `phase` (0–1) places its pings within the ping interval, so a population of sessions pings
/// spread out as independent clients do rather than all at the same instant.
pub async fn spawn_kept_alive(
    phase: f64,
    http: reqwest::Client,
    base: String,
    bearer: Option<String>,
    mode: KeepAlive,
    stats: Arc<SessionStats>,
    stop: watch::Receiver<bool>,
) -> Result<tokio::task::JoinHandle<()>> {
    let session = Session::initialize(&http, &base, bearer.as_deref()).await?;
    stats.initialized.fetch_add(1, Ordering::Relaxed);
    Ok(tokio::spawn(keep_alive(
        phase, session, http, base, bearer, mode, stats, stop,
    )))
}

#[allow(clippy::too_many_arguments)]
async fn keep_alive(
    phase: f64,
    mut session: Session,
    http: reqwest::Client,
    base: String,
    bearer: Option<String>,
    mode: KeepAlive,
    stats: Arc<SessionStats>,
    mut stop: watch::Receiver<bool>,
) {
    // Without pings, wait "forever" (a year keeps `Instant` arithmetic far from overflow).
    let ping_every = mode.ping_every.unwrap_or(Duration::from_secs(365 * 86_400));
    let mut next_ping = tokio::time::Instant::now() + ping_every.mul_f64(phase.clamp(0.0, 1.0));
    let mut stream: Option<reqwest::Response> = None;
    let mut backoff = Duration::ZERO;
    while !*stop.borrow() {
        if mode.stream && stream.is_none() {
            tokio::time::sleep(backoff).await;
            match session.open_stream().await {
                Ok(Some(r)) => {
                    stats.live_streams.fetch_add(1, Ordering::Relaxed);
                    stream = Some(r);
                    backoff = Duration::ZERO;
                }
                Ok(None) => {
                    stats.expired.fetch_add(1, Ordering::Relaxed);
                    match Session::initialize(&http, &base, bearer.as_deref()).await {
                        Ok(s) => {
                            session = s;
                            stats.initialized.fetch_add(1, Ordering::Relaxed);
                        }
                        Err(_) => {
                            stats.errors.fetch_add(1, Ordering::Relaxed);
                            backoff = Duration::from_secs(1);
                        }
                    }
                    continue;
                }
                Err(_) => {
                    stats.errors.fetch_add(1, Ordering::Relaxed);
                    backoff = Duration::from_secs(1);
                    continue;
                }
            }
        }
        let chunk = async {
            match stream.as_mut() {
                Some(r) => r.chunk().await,
                None => std::future::pending().await,
            }
        };
        tokio::select! {
            c = chunk => match c {
                Ok(Some(_)) => {}
                Ok(None) | Err(_) => {
                    stream = None;
                    stats.live_streams.fetch_sub(1, Ordering::Relaxed);
                    stats.stream_ends.fetch_add(1, Ordering::Relaxed);
                }
            },
            () = tokio::time::sleep_until(next_ping) => {
                next_ping = tokio::time::Instant::now() + ping_every;
                match session.ping().await {
                    Ok(()) => stats.pings_ok.fetch_add(1, Ordering::Relaxed),
                    Err(_) => stats.errors.fetch_add(1, Ordering::Relaxed),
                };
            }
            changed = stop.changed() => if changed.is_err() { break },
        }
    }
    if stream.take().is_some() {
        stats.live_streams.fetch_sub(1, Ordering::Relaxed);
    }
    session.delete().await;
}
