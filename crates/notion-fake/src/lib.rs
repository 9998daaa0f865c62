//! A stateful, in-memory fake of the Notion REST API (`/v1/...`, Notion-Version `2026-03-11`,
//! `2025-09-03` or `2026-12-01`) and its public-integration OAuth endpoints.
//!
//! It serves the shapes, limits and errors of the real API (see `README.md` next to this
//! crate): tenancy by bearer token (other workspaces' objects are `404 object_not_found`),
//! cursor pagination with `page_size` ≤ 100, the 25-reference cap with paginated property
//! items, size limits, data-source queries with filters and sorts, search, users, comments,
//! and OAuth code/refresh rotation. Test hooks add rate limiting, fault injection, a request
//! log, token revocation and signed webhook events for every write ([`webhooks`]).
//!
//! ```no_run
//! # async fn demo() -> anyhow::Result<()> {
//! use notion_fake::{FakeNotion, Fixture};
//! let running = FakeNotion::start(Fixture::sample()).await?;
//! let base = running.base_url(); // "http://127.0.0.1:PORT", paths start with /v1
//! # let _ = base; Ok(()) }
//! ```

pub mod blocks;
pub mod errors;
pub mod faults;
pub mod fixture;
pub mod ids;
pub mod log;
pub mod login_page;
pub mod pagination;
pub mod properties;
pub mod query;
pub mod ratelimit;
pub mod render;
pub mod richtext;
pub mod routes;
mod server;
pub mod state;
pub mod uploads;
pub mod views;
pub mod webhooks;

use std::sync::{Arc, Mutex, MutexGuard};

use tokio::sync::oneshot;
use tokio::task::JoinHandle;

pub use errors::ApiError;
pub use faults::{Fault, FaultRule};
pub use fixture::builder::{FixtureBuilder, GeneratedIds};
pub use fixture::{
    CommentFixture, DataSourceFixture, DatabaseFixture, Fixture, OAuthClientFixture, PageFixture,
    TokenFixture, UserFixture, WorkspaceFixture,
};
pub use ids::{fixture_id, stable_id};
pub use log::{RecordedRequest, token_fingerprint};
pub use ratelimit::RateLimit;
pub use render::Version;
pub use state::State;
pub use webhooks::{Author, Change, WebhookDelivery, WebhookSubscription, sign};

/// Locks a mutex, recovering from poisoning (a panicking test must not wedge the fake).
pub(crate) fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|e| e.into_inner())
}

pub(crate) struct Inner {
    pub(crate) state: Mutex<State>,
    pub(crate) faults: Mutex<Vec<FaultRule>>,
    pub(crate) limiter: Mutex<ratelimit::Limiter>,
    pub(crate) workspace_limiter: Mutex<ratelimit::Limiter>,
    pub(crate) log: Mutex<log::Log>,
    /// Requests received and not yet handled to the end (answered or not).
    pub(crate) in_flight: tokio::sync::watch::Sender<usize>,
    pub(crate) webhooks: webhooks::Hub,
}

/// The fake. Cheap to clone; all clones share one state.
#[derive(Clone)]
pub struct FakeNotion {
    pub(crate) inner: Arc<Inner>,
}

impl std::fmt::Debug for FakeNotion {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("FakeNotion").finish_non_exhaustive()
    }
}

impl FakeNotion {
    /// Builds the fake from a fixture.
    ///
    /// # Panics
    /// If the fixture is inconsistent (e.g. a relation to an unknown data source); use
    /// [`FakeNotion::try_new`] to get the error instead.
    pub fn new(fixture: Fixture) -> Self {
        match Self::try_new(fixture) {
            Ok(fake) => fake,
            Err(e) => panic!("invalid notion-fake fixture: {e:#}"),
        }
    }

    /// Builds the fake, reporting fixture errors.
    pub fn try_new(fixture: Fixture) -> anyhow::Result<Self> {
        let state = fixture::load::build_state(&fixture)?;
        Ok(Self {
            inner: Arc::new(Inner {
                state: Mutex::new(state),
                faults: Mutex::new(Vec::new()),
                limiter: Mutex::new(ratelimit::Limiter::default()),
                workspace_limiter: Mutex::new(ratelimit::Limiter::default()),
                log: Mutex::new(log::Log::default()),
                in_flight: tokio::sync::watch::Sender::new(0),
                webhooks: webhooks::Hub::default(),
            }),
        })
    }

    /// An axum router serving the API; mount it at `/` (paths start with `/v1`).
    pub fn router(&self) -> axum::Router {
        let fake = self.clone();
        axum::Router::new()
            .fallback(move |req: axum::extract::Request| server::handle(fake.clone(), req))
    }

    /// Binds `127.0.0.1:0` and serves in a background task.
    pub async fn start(fixture: Fixture) -> anyhow::Result<RunningFake> {
        Self::try_new(fixture)?.serve("127.0.0.1:0").await
    }

    /// Serves this fake on `addr` in a background task.
    pub async fn serve(&self, addr: &str) -> anyhow::Result<RunningFake> {
        let listener = tokio::net::TcpListener::bind(addr).await?;
        let local = listener.local_addr()?;
        let (tx, rx) = oneshot::channel::<()>();
        let router = self.router();
        let task = tokio::spawn(async move {
            let shutdown = async {
                let _ = rx.await;
            };
            if let Err(e) = axum::serve(listener, router)
                .with_graceful_shutdown(shutdown)
                .await
            {
                tracing::warn!(error = %e, "notion-fake server stopped with an error");
            }
        });
        Ok(RunningFake {
            fake: self.clone(),
            base_url: format!("http://{local}"),
            shutdown: Some(tx),
            task: Some(task),
        })
    }

    /// Per-bot (connection) token bucket; `None` disables it.
    pub fn set_rate_limit(&self, limit: Option<RateLimit>) {
        lock(&self.inner.limiter).set(limit);
    }

    /// Per-workspace token bucket (reason defaults to `public_api_space_request_rate_limit`
    /// when built with [`RateLimit::workspace`]); `None` disables it.
    pub fn set_workspace_rate_limit(&self, limit: Option<RateLimit>) {
        lock(&self.inner.workspace_limiter).set(limit);
    }

    /// Adds a fault rule (rules are tried in insertion order; the first match fires).
    pub fn push_fault(&self, rule: FaultRule) {
        lock(&self.inner.faults).push(rule);
    }

    pub fn clear_faults(&self) {
        lock(&self.inner.faults).clear();
    }

    /// All recorded requests (oldest first; the log keeps the latest 100,000).
    pub fn requests(&self) -> Vec<RecordedRequest> {
        lock(&self.inner.log).entries.iter().cloned().collect()
    }

    /// How many responses with `status` were sent (0 = dropped connections).
    pub fn count_status(&self, status: u16) -> usize {
        lock(&self.inner.log)
            .counts
            .get(&status)
            .copied()
            .unwrap_or(0)
    }

    /// How many received requests are still being handled (e.g. sleeping out a
    /// [`Fault::Delay`] whose client has gone).
    pub fn in_flight(&self) -> usize {
        *self.inner.in_flight.borrow()
    }

    /// Waits until every received request has been handled to the end, so the log and the
    /// workspace show all their effects, including those of answers nobody waited for.
    pub async fn idle(&self) {
        let mut rx = self.inner.in_flight.subscribe();
        let _ = rx.wait_for(|n| *n == 0).await;
    }

    pub fn reset_log(&self) {
        lock(&self.inner.log).clear();
    }

    pub(crate) fn record(&self, entry: RecordedRequest) {
        lock(&self.inner.log).push(entry);
    }

    /// Invalidates an access token (next call with it → 401) or a refresh token
    /// (→ `invalid_grant`).
    pub fn revoke_token(&self, token: &str) {
        self.with_state(|s| {
            if let Some(t) = s.tokens.get_mut(token) {
                t.revoked = true;
            }
            if let Some(r) = s.oauth.refresh_tokens.get_mut(token) {
                r.used = true;
            }
        });
    }

    /// Same as [`FakeNotion::revoke_token`]: an expired token also answers 401.
    pub fn expire_token(&self, token: &str) {
        self.revoke_token(token);
    }

    /// Successful `refresh_token` grants so far.
    pub fn refresh_count(&self) -> usize {
        self.with_state(|s| s.oauth.refresh_count)
    }

    /// Registers (or replaces) an OAuth client.
    pub fn register_oauth_client(&self, client_id: &str, secret: &str, redirect_uris: Vec<String>) {
        self.with_state(|s| {
            s.oauth.clients.insert(
                client_id.to_string(),
                state::OAuthClient {
                    client_id: client_id.to_string(),
                    client_secret: secret.to_string(),
                    redirect_uris,
                    name: format!("{client_id} integration"),
                },
            );
        });
    }

    /// Makes `authorize` answer `error=access_denied` while set.
    pub fn set_oauth_deny(&self, deny: bool) {
        self.with_state(|s| s.oauth.deny = deny);
    }

    /// Makes `authorize` show a sign-in page (the user, the workspace's top-level pages to share,
    /// Allow and Cancel) instead of approving at once; the pages chosen are all the grant can see.
    pub fn set_oauth_login_page(&self, on: bool) {
        self.with_state(|s| s.oauth.login_page = on);
    }

    /// Keeps the previous access token valid after a refresh when set.
    pub fn set_keep_old_access_on_refresh(&self, keep: bool) {
        self.with_state(|s| s.oauth.keep_old_access_on_refresh = keep);
    }

    /// Runs `f` with exclusive access to the model (do not block inside).
    pub fn with_state<R>(&self, f: impl FnOnce(&mut State) -> R) -> R {
        f(&mut lock(&self.inner.state))
    }
}

/// A fake served on a loopback port. Dropping it (or [`RunningFake::shutdown`]) stops it.
#[derive(Debug)]
pub struct RunningFake {
    pub fake: FakeNotion,
    /// `http://127.0.0.1:PORT`, no trailing slash.
    pub base_url: String,
    shutdown: Option<oneshot::Sender<()>>,
    task: Option<JoinHandle<()>>,
}

impl RunningFake {
    pub fn base_url(&self) -> &str {
        &self.base_url
    }

    /// Stops accepting connections and waits (up to 5 s) for the server task.
    pub async fn shutdown(mut self) {
        if let Some(tx) = self.shutdown.take() {
            let _ = tx.send(());
        }
        if let Some(task) = self.task.take() {
            let abort = task.abort_handle();
            if tokio::time::timeout(std::time::Duration::from_secs(5), task)
                .await
                .is_err()
            {
                abort.abort();
            }
        }
    }
}

impl std::ops::Deref for RunningFake {
    type Target = FakeNotion;

    fn deref(&self) -> &FakeNotion {
        &self.fake
    }
}

impl Drop for RunningFake {
    fn drop(&mut self) {
        if let Some(tx) = self.shutdown.take() {
            let _ = tx.send(());
        }
        if let Some(task) = self.task.take() {
            task.abort();
        }
    }
}
