//! The Notion HTTP client. Every request goes through [`NotionClient::send`], which paces per
//! connection and per workspace, applies the attempt timeout, retries per [`RetryPolicy`], records metrics and traces —
//! so no tool can forget any of it. Credentials are per call ([`NotionAuth`]); one client serves every
//! tenant. Tokens never appear in logs, errors or `Debug` output.

use super::breaker::{Breaker, BreakerConfig};
use super::error::NotionError;
use super::pacer::{Pacer, PacingConfig, WorkspaceBudget};
pub use super::request::NotionRequest;
use super::retry::RetryPolicy;
use crate::cache::{CacheConfig, ReadCache};
use crate::metrics::Metrics;
use crate::shared::SharedState;
use serde::de::DeserializeOwned;
use serde_json::Value;
use sha2::{Digest, Sha256};
use std::fmt;
use std::str::FromStr;
use std::sync::Arc;
use std::time::Duration;

mod exchange;
mod workspace;

/// Which budgets one request draws on: its connection's, and its workspace's (see
/// [`NotionClient::workspace_of`]).
#[derive(Debug, Clone, Copy)]
pub(crate) struct Pacing<'a> {
    pub key: &'a str,
    pub workspace: &'a WorkspaceBudget,
    /// A background request (the content crawler): it does not hold back background work itself.
    pub background: bool,
}

/// A `Notion-Version` this server speaks.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub enum NotionVersion {
    V2025_09_03,
    V2026_03_11,
    /// Search and data source queries return only the title property unless `filter_properties`
    /// names more; Markdown v2 only; a person's `name` may be null.
    #[default]
    V2026_12_01,
}

impl NotionVersion {
    pub const ALL: [NotionVersion; 3] = [
        NotionVersion::V2025_09_03,
        NotionVersion::V2026_03_11,
        NotionVersion::V2026_12_01,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            NotionVersion::V2025_09_03 => "2025-09-03",
            NotionVersion::V2026_03_11 => "2026-03-11",
            NotionVersion::V2026_12_01 => "2026-12-01",
        }
    }

    /// Lists of pages (search, data source queries) carry only the title property unless
    /// `filter_properties` asks for more.
    pub fn title_only_lists(self) -> bool {
        self == NotionVersion::V2026_12_01
    }
}

impl fmt::Display for NotionVersion {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for NotionVersion {
    type Err = NotionError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let s = s.trim();
        NotionVersion::ALL
            .into_iter()
            .find(|v| v.as_str() == s)
            .ok_or_else(|| {
                let choices: Vec<&str> = NotionVersion::ALL.iter().map(|v| v.as_str()).collect();
                NotionError::invalid(
                    "notion_version",
                    format!(
                        "'{s}' is not a supported Notion-Version; supported: {}",
                        choices.join(", ")
                    ),
                )
            })
    }
}

impl serde::Serialize for NotionVersion {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(self.as_str())
    }
}

impl<'de> serde::Deserialize<'de> for NotionVersion {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = String::deserialize(d)?;
        s.parse().map_err(serde::de::Error::custom)
    }
}

/// Gets a new Notion token after Notion refused one with 401 (an OAuth grant's token expired).
#[async_trait::async_trait]
pub trait TokenRenewer: Send + Sync {
    /// `refused` was answered 401. Return the token to retry with, or the error for the caller.
    async fn renew(&self, refused: &str) -> Result<String, NotionError>;
}

/// The credentials and per-call settings of one Notion connection.
#[derive(Clone)]
pub struct NotionAuth {
    /// Shared by clones, so a renewed token is used by the rest of the tool call.
    token: Arc<std::sync::RwLock<Arc<str>>>,
    renewer: Option<Arc<dyn TokenRenewer>>,
    /// Requests with the same key share one pacing budget (a bot id or workspace id when known).
    pub pacing_key: String,
    /// The workspace whose budget the requests also draw on; learned from Notion when not given.
    workspace: Option<Arc<str>>,
    pub version: NotionVersion,
    /// Background work (the content crawler): tool calls of the workspace go first.
    background: bool,
}

impl NotionAuth {
    /// Auth for a bearer token; the pacing key is derived from a hash of the token.
    pub fn new(token: impl Into<String>, version: NotionVersion) -> Self {
        let token = token.into();
        let digest = Sha256::digest(token.as_bytes());
        let hex: String = digest.iter().take(8).map(|b| format!("{b:02x}")).collect();
        NotionAuth {
            token: Arc::new(std::sync::RwLock::new(Arc::from(token))),
            renewer: None,
            pacing_key: format!("token:{hex}"),
            workspace: None,
            version,
            background: false,
        }
    }

    /// The Notion workspace of this connection (an OAuth grant's `workspace_id`): its requests
    /// also draw on the workspace's budget. Without it the client asks Notion once (`/v1/users/me`).
    pub fn with_workspace(mut self, workspace_id: impl AsRef<str>) -> Self {
        let id = workspace_id.as_ref().trim();
        self.workspace = (!id.is_empty()).then(|| Arc::from(id));
        self
    }

    /// The workspace given with [`Self::with_workspace`], if any.
    pub fn workspace(&self) -> Option<&str> {
        self.workspace.as_deref()
    }

    /// Pace by this key instead (e.g. the bot id or workspace id of an OAuth grant).
    pub fn with_pacing_key(mut self, key: impl Into<String>) -> Self {
        self.pacing_key = key.into();
        self
    }

    /// Who this is to Notion, for the cache's proofs of access: the pacing key (a bot id for OAuth
    /// grants, a fingerprint of the token otherwise), never the token.
    pub fn identity(&self) -> &str {
        &self.pacing_key
    }

    /// Mark these requests as background work: while a tool call of the same workspace waits for
    /// its budget, background work waits (see [`crate::notion::pacer::Pacer::yield_to_foreground`]).
    pub fn in_background(mut self) -> Self {
        self.background = true;
        self
    }

    /// Whether these are background requests.
    pub fn is_background(&self) -> bool {
        self.background
    }

    pub fn with_version(mut self, version: NotionVersion) -> Self {
        self.version = version;
        self
    }

    /// Renew the token through `renewer` when Notion answers 401.
    pub fn with_renewer(mut self, renewer: Arc<dyn TokenRenewer>) -> Self {
        self.renewer = Some(renewer);
        self
    }

    /// The bearer token (for code that must hand it on, e.g. to store it).
    pub fn expose_token(&self) -> Arc<str> {
        self.token
            .read()
            .map(|t| t.clone())
            .unwrap_or_else(|p| p.into_inner().clone())
    }

    fn replace_token(&self, token: &str) {
        let mut guard = self.token.write().unwrap_or_else(|p| p.into_inner());
        *guard = Arc::from(token);
    }
}

impl fmt::Debug for NotionAuth {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("NotionAuth")
            .field("token", &"[redacted]")
            .field("pacing_key", &self.pacing_key)
            .field("workspace", &self.workspace)
            .field("version", &self.version)
            .finish()
    }
}

/// Settings of a [`NotionClient`].
#[derive(Debug, Clone)]
pub struct ClientConfig {
    /// Where the API lives; also used for `/v1/oauth/*`. A path prefix is kept.
    pub base_url: url::Url,
    /// Version for calls that do not carry one (OAuth).
    pub default_version: NotionVersion,
    /// Limit of one attempt, from connecting to the end of the body.
    pub attempt_timeout: Duration,
    pub pacing: PacingConfig,
    pub retry: RetryPolicy,
    /// When to stop calling a failing Notion for a while.
    pub breaker: BreakerConfig,
    /// What the read cache keeps ([`CacheConfig::OFF`]: nothing, reads in flight still shared).
    pub cache: CacheConfig,
    pub user_agent: String,
}

impl Default for ClientConfig {
    fn default() -> Self {
        ClientConfig {
            base_url: url::Url::parse("https://api.notion.com").expect("static URL is valid"),
            default_version: NotionVersion::default(),
            attempt_timeout: Duration::from_secs(30),
            pacing: PacingConfig::default(),
            retry: RetryPolicy::default(),
            breaker: BreakerConfig::default(),
            cache: CacheConfig::OFF,
            user_agent: concat!("notion-mcp-remote/", env!("CARGO_PKG_VERSION")).to_owned(),
        }
    }
}

/// How one request authenticates.
enum Credentials<'a> {
    Bearer(&'a str),
    Basic {
        client_id: &'a str,
        client_secret: &'a str,
    },
}

impl Credentials<'_> {
    fn secret(&self) -> &str {
        match self {
            Credentials::Bearer(t) => t,
            Credentials::Basic { client_secret, .. } => client_secret,
        }
    }
}

struct Inner {
    http: reqwest::Client,
    cfg: ClientConfig,
    pacer: Pacer,
    breaker: Breaker,
    cache: Arc<ReadCache>,
    workspaces: workspace::Workspaces,
    metrics: Metrics,
    /// Told about read answers (the content index), set once at start-up.
    observer: std::sync::OnceLock<Arc<dyn super::read_through::ReadObserver>>,
}

/// The shared, cheaply cloneable Notion client.
#[derive(Clone)]
pub struct NotionClient {
    inner: Arc<Inner>,
}

impl fmt::Debug for NotionClient {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("NotionClient")
            .field("base_url", &self.inner.cfg.base_url.as_str())
            .finish()
    }
}

/// Install the process-wide TLS crypto provider (ring). Idempotent: "already installed" is fine.
/// Every `reqwest::Client` in the process needs it, ours and any a caller builds.
pub fn install_crypto_provider() {
    let _ = rustls::crypto::ring::default_provider().install_default();
}

impl NotionClient {
    pub fn new(cfg: ClientConfig, metrics: Metrics) -> Result<Self, NotionError> {
        Self::with_shared(cfg, metrics, None)
    }

    /// As [`Self::new`]; with `shared`, requests are paced on one budget per key for all replicas.
    pub fn with_shared(
        cfg: ClientConfig,
        metrics: Metrics,
        shared: Option<SharedState>,
    ) -> Result<Self, NotionError> {
        install_crypto_provider();
        if !matches!(cfg.base_url.scheme(), "http" | "https") || cfg.base_url.cannot_be_a_base() {
            return Err(NotionError::Config {
                message: format!("base URL '{}' must be an http(s) URL", cfg.base_url),
            });
        }
        let http = reqwest::Client::builder()
            .user_agent(cfg.user_agent.clone())
            .pool_idle_timeout(Duration::from_secs(60))
            .connect_timeout(cfg.attempt_timeout.min(Duration::from_secs(10)))
            .tcp_nodelay(true)
            .build()
            .map_err(|e| NotionError::Config {
                message: format!("cannot build the HTTP client: {e}"),
            })?;
        let pacer = Pacer::new(&cfg.pacing, metrics.clone(), shared)?;
        let breaker = Breaker::new(cfg.breaker.clone(), metrics.clone());
        let cache = Arc::new(ReadCache::new(cfg.cache, &metrics));
        Ok(NotionClient {
            inner: Arc::new(Inner {
                http,
                cfg,
                pacer,
                breaker,
                cache,
                workspaces: workspace::Workspaces::default(),
                metrics,
                observer: std::sync::OnceLock::new(),
            }),
        })
    }

    pub fn base_url(&self) -> &url::Url {
        &self.inner.cfg.base_url
    }

    pub fn config(&self) -> &ClientConfig {
        &self.inner.cfg
    }

    pub fn pacer(&self) -> &Pacer {
        &self.inner.pacer
    }

    /// The plain HTTP client (no credentials attached), e.g. to download a Notion-hosted file by
    /// its signed URL.
    pub fn http(&self) -> &reqwest::Client {
        &self.inner.http
    }

    /// Tell `observer` about the answers of reads from now on (set once, at start-up).
    pub fn set_read_observer(&self, observer: Arc<dyn super::read_through::ReadObserver>) {
        let _ = self.inner.observer.set(observer);
    }

    pub(crate) fn read_observer(&self) -> Option<&Arc<dyn super::read_through::ReadObserver>> {
        self.inner.observer.get()
    }

    /// The read cache in front of this client.
    pub fn cache(&self) -> &Arc<ReadCache> {
        &self.inner.cache
    }

    /// Send a request to Notion, bypassing the cache, and return Notion's JSON (`Value::Null` for
    /// an empty 2xx body). When Notion answers 401 and the credentials can be renewed (an OAuth
    /// grant), the request is sent once more with the renewed token. [`Self::send`] is the cached
    /// path every tool uses.
    pub async fn send_to_notion(
        &self,
        auth: &NotionAuth,
        req: NotionRequest,
    ) -> Result<Value, NotionError> {
        let workspace = self.workspace_of(auth).await;
        let pacing = Pacing {
            key: &auth.pacing_key,
            workspace: &workspace,
            background: auth.background,
        };
        let token = auth.expose_token();
        let first = self
            .execute(Credentials::Bearer(&token), pacing, auth.version, &req)
            .await;
        match (&auth.renewer, first) {
            (Some(renewer), Err(e)) if e.is_unauthorized() => {
                let fresh = renewer.renew(&token).await?;
                auth.replace_token(&fresh);
                self.execute(Credentials::Bearer(&fresh), pacing, auth.version, &req)
                    .await
            }
            (_, result) => result,
        }
    }

    /// Send a request and decode the response into `T` (an answer shared with other callers, from
    /// the cache or a read in flight, is decoded once between them: see [`super::Answer`]).
    pub async fn call<T>(&self, auth: &NotionAuth, req: NotionRequest) -> Result<T, NotionError>
    where
        T: DeserializeOwned + Clone + Send + Sync + 'static,
    {
        let endpoint = req.endpoint;
        let answer = self.send_shared(auth, req).await?;
        super::Answer::decode(answer).map_err(|e| NotionError::unexpected_shape(endpoint, e))
    }

    /// Send a request and compute `make` from its decoded answer once per answer: callers that
    /// share the answer (a read in flight, a cache entry) share the result, so a repeated read
    /// neither decodes nor computes again (see [`super::Answer::view`]); the decoded `T` is kept as
    /// a view too. `V` must be a type only this `make` builds: the result is kept by type.
    pub async fn call_view<T, V>(
        &self,
        auth: &NotionAuth,
        req: NotionRequest,
        make: impl FnOnce(&T) -> V,
    ) -> Result<Arc<V>, NotionError>
    where
        T: DeserializeOwned + Send + Sync + 'static,
        V: Send + Sync + 'static,
    {
        let endpoint = req.endpoint;
        let answer = self.send_shared(auth, req).await?;
        answer
            .view(|_| {
                let t = answer.view(|json| T::deserialize(json))?;
                Ok(make(&t))
            })
            .map_err(|e: serde_json::Error| NotionError::unexpected_shape(endpoint, e))
    }

    /// `POST /v1/oauth/token` (code exchange or refresh) with HTTP Basic client credentials.
    pub async fn oauth_token(
        &self,
        client_id: &str,
        client_secret: &str,
        body: Value,
    ) -> Result<Value, NotionError> {
        // A code is single-use: never replay after an unknown outcome (connect errors and 429 only).
        let req = NotionRequest::post("POST /v1/oauth/token", "/v1/oauth/token").json(body);
        self.oauth(client_id, client_secret, req).await
    }

    /// `POST /v1/oauth/revoke` for an access token.
    pub async fn oauth_revoke(
        &self,
        client_id: &str,
        client_secret: &str,
        token: &str,
    ) -> Result<Value, NotionError> {
        let req = NotionRequest::post("POST /v1/oauth/revoke", "/v1/oauth/revoke")
            .json(serde_json::json!({ "token": token }))
            .idempotent(true);
        self.oauth(client_id, client_secret, req)
            .await
            .map_err(|e| e.redact(token))
    }

    /// `POST /v1/oauth/introspect` → `{active, scope?, iat?}`.
    pub async fn oauth_introspect(
        &self,
        client_id: &str,
        client_secret: &str,
        token: &str,
    ) -> Result<Value, NotionError> {
        let req = NotionRequest::post("POST /v1/oauth/introspect", "/v1/oauth/introspect")
            .json(serde_json::json!({ "token": token }))
            .idempotent(true);
        self.oauth(client_id, client_secret, req)
            .await
            .map_err(|e| e.redact(token))
    }

    async fn oauth(
        &self,
        client_id: &str,
        client_secret: &str,
        req: NotionRequest,
    ) -> Result<Value, NotionError> {
        let key = format!("oauth:{client_id}");
        let creds = Credentials::Basic {
            client_id,
            client_secret,
        };
        let pacing = Pacing {
            key: &key,
            workspace: &WorkspaceBudget::None,
            background: false,
        };
        self.execute(creds, pacing, self.inner.cfg.default_version, &req)
            .await
    }
}

/// Decode a response body into `T`, naming the endpoint on failure.
pub fn decode<T: DeserializeOwned>(endpoint: &'static str, value: Value) -> Result<T, NotionError> {
    serde_json::from_value(value).map_err(|e| NotionError::unexpected_shape(endpoint, e))
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn versions_parse_and_print() {
        assert_eq!(NotionVersion::default().as_str(), "2026-12-01");
        assert_eq!(
            "2025-09-03".parse::<NotionVersion>().unwrap(),
            NotionVersion::V2025_09_03
        );
        let e = "2022-06-28"
            .parse::<NotionVersion>()
            .unwrap_err()
            .to_string();
        assert!(
            e.contains("supported: 2025-09-03, 2026-03-11, 2026-12-01"),
            "{e}"
        );
        let json = serde_json::to_string(&NotionVersion::V2026_03_11).unwrap();
        assert_eq!(json, "\"2026-03-11\"");
        let back: NotionVersion = serde_json::from_str("\"2025-09-03\"").unwrap();
        assert_eq!(back.to_string(), "2025-09-03");
        assert!(serde_json::from_str::<NotionVersion>("\"x\"").is_err());
    }

    #[test]
    fn auth_debug_redacts_and_pacing_key_is_stable() {
        let a = NotionAuth::new("ntn_super_secret", NotionVersion::default());
        let dbg = format!("{a:?}");
        assert!(!dbg.contains("ntn_super_secret"), "{dbg}");
        assert!(a.pacing_key.starts_with("token:") && a.pacing_key.len() == 6 + 16);
        assert_eq!(
            a.pacing_key,
            NotionAuth::new("ntn_super_secret", NotionVersion::V2025_09_03).pacing_key
        );
        assert_ne!(
            a.pacing_key,
            NotionAuth::new("ntn_other", NotionVersion::default()).pacing_key
        );
        assert!(!a.pacing_key.contains("secret"));
        assert_eq!(a.with_pacing_key("bot-1").pacing_key, "bot-1");
    }

    #[test]
    fn rejects_non_http_base() {
        let cfg = ClientConfig {
            base_url: url::Url::parse("mailto:x@y").unwrap(),
            ..Default::default()
        };
        assert_eq!(
            NotionClient::new(cfg, Metrics::new()).unwrap_err().code(),
            "configuration_error"
        );
    }
}
