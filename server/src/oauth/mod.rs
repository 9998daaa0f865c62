//! The OAuth 2.1 authorization server MCP clients log in through, delegating the user's login to
//! Notion's public-integration OAuth.
//!
//! Flow: discovery (`metadata`) → client registration (`registration`, or a Client ID Metadata
//! Document, `cimd`) → `/authorize` checks the request and asks the user's consent (`authorize`) →
//! Notion's login → `/oauth/callback` stores a grant and issues a code (`callback`) → `/token` trades
//! codes and refresh tokens for our tokens (`token`) → `/revoke`. `grants` turns a bearer back into the
//! grant's Notion credentials on every MCP request and refreshes Notion's token when it expires.
//! All state lives in the sealed [`Store`], so any replica can serve any step.

mod authorize;
mod callback;
mod cimd;
mod clients;
mod consent_facts;
mod cookies;
mod errors;
pub mod grants;
mod metadata;
pub mod opaque_tokens;
mod pages;
mod registration;
mod revoke;
pub mod rotation;
mod token_endpoint;

pub use cimd::{check_document_url, parse_document};
pub use errors::OAuthError;
pub use grants::{GrantService, ResolveError};
pub use registration::validate_document;

use crate::config::Settings;
use crate::metrics::Metrics;
use crate::notion::NotionClient;
use crate::store::Store;
use axum::Router;
use axum::routing::{get, post};
use std::sync::Arc;
use std::time::Duration;

/// The scope this server grants (one: access to what the user shares with the Notion integration).
pub const SCOPE: &str = "notion";

/// How long an authorization code is valid.
pub const CODE_TTL_SECS: i64 = 300;
/// How long a login may take between consent and Notion's callback.
pub const PENDING_TTL_SECS: i64 = 600;
/// How long a remembered consent lasts.
pub const CONSENT_TTL_SECS: i64 = 180 * 86_400;

/// Settings of the authorization server, derived from [`Settings`].
#[derive(Clone)]
pub struct OAuthConfig {
    /// Our issuer identifier: the public base URL.
    pub issuer: String,
    /// The protected resource: `<issuer>/mcp`; tokens' audience.
    pub resource: String,
    pub notion_client_id: String,
    pub notion_client_secret: String,
    /// Notion's authorize URL (`<notion base>/v1/oauth/authorize`).
    pub notion_authorize_url: String,
    /// Where Notion sends the user back: `<issuer>/oauth/callback`.
    pub callback_url: String,
    pub access_ttl: Duration,
    /// A refresh-token reuse within this window is a retry or a race, not an attack.
    pub refresh_grace_secs: i64,
    pub grant_idle: Duration,
    pub client_idle: Duration,
    pub allowed_redirect_hosts: Vec<String>,
    pub registrations_per_minute: u32,
    /// Cookies get `Secure` and the `__Host-` prefix (https deployments).
    pub secure_cookies: bool,
    pub cimd_allow_loopback: bool,
    /// Use the first X-Forwarded-For address as the client address (rate limiting).
    pub trust_forwarded: bool,
}

impl std::fmt::Debug for OAuthConfig {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("OAuthConfig")
            .field("issuer", &self.issuer)
            .field("notion_client_id", &self.notion_client_id)
            .finish_non_exhaustive()
    }
}

impl OAuthConfig {
    /// Settings for administrative use outside a server (only the Notion client fields matter).
    pub fn for_admin() -> Self {
        OAuthConfig {
            issuer: String::new(),
            resource: String::new(),
            notion_client_id: String::new(),
            notion_client_secret: String::new(),
            notion_authorize_url: String::new(),
            callback_url: String::new(),
            access_ttl: Duration::from_secs(3600),
            refresh_grace_secs: 10,
            grant_idle: Duration::from_secs(90 * 86_400),
            client_idle: Duration::from_secs(30 * 86_400),
            allowed_redirect_hosts: Vec::new(),
            registrations_per_minute: 1,
            secure_cookies: true,
            cimd_allow_loopback: false,
            trust_forwarded: false,
        }
    }

    pub fn from_settings(settings: &Settings) -> Self {
        let o = &settings.args.oauth;
        let notion_base = settings
            .args
            .notion_base_url
            .as_str()
            .trim_end_matches('/')
            .to_string();
        OAuthConfig {
            issuer: settings.public_base.clone(),
            resource: settings.mcp_url(),
            notion_client_id: o.notion_oauth_client_id.clone().unwrap_or_default(),
            notion_client_secret: o
                .notion_oauth_client_secret
                .as_ref()
                .map(|s| s.0.clone())
                .unwrap_or_default(),
            notion_authorize_url: format!("{notion_base}/v1/oauth/authorize"),
            callback_url: format!("{}/oauth/callback", settings.public_base),
            access_ttl: Duration::from_secs(o.access_token_ttl_secs),
            refresh_grace_secs: o.refresh_reuse_grace_secs.min(300) as i64,
            grant_idle: Duration::from_secs(o.grant_idle_days * 86_400),
            client_idle: Duration::from_secs(o.client_idle_days * 86_400),
            allowed_redirect_hosts: o
                .allowed_redirect_hosts
                .iter()
                .map(|h| h.trim().to_ascii_lowercase())
                .filter(|h| !h.is_empty())
                .collect(),
            registrations_per_minute: o.registrations_per_minute.max(1),
            secure_cookies: settings.public_base.starts_with("https://"),
            cimd_allow_loopback: o.cimd_allow_loopback,
            trust_forwarded: settings.args.trust_forwarded_headers,
        }
    }
}

/// Shared state of the OAuth endpoints.
pub struct OAuthState {
    pub cfg: OAuthConfig,
    pub store: Store,
    pub grants: Arc<GrantService>,
    pub notion: NotionClient,
    pub metrics: Metrics,
    cimd: cimd::CimdCache,
    registrations: registration::RegistrationLimiter,
    cookies: cookies::CookiePolicy,
}

impl OAuthState {
    pub fn new(
        cfg: OAuthConfig,
        store: Store,
        grants: Arc<GrantService>,
        notion: NotionClient,
        metrics: Metrics,
    ) -> Result<Self, OAuthError> {
        let cimd =
            cimd::CimdCache::new(cfg.cimd_allow_loopback, cfg.allowed_redirect_hosts.clone())?;
        let registrations = registration::RegistrationLimiter::new(cfg.registrations_per_minute);
        let cookies = cookies::CookiePolicy {
            secure: cfg.secure_cookies,
        };
        Ok(OAuthState {
            cfg,
            store,
            grants,
            notion,
            metrics,
            cimd,
            registrations,
            cookies,
        })
    }

    /// Forget idle rate-limit state (called periodically).
    pub fn sweep(&self) {
        self.registrations.sweep();
        self.cimd.sweep();
    }
}

/// Paths of the authorization server's endpoints besides `/.well-known/*`.
pub mod path {
    pub const REGISTER: &str = "/register";
    pub const AUTHORIZE: &str = "/authorize";
    pub const CONSENT: &str = "/authorize/consent";
    pub const CALLBACK: &str = "/oauth/callback";
    pub const TOKEN: &str = "/token";
    pub const REVOKE: &str = "/revoke";
}

/// Every path of [`path`]: each is its own `route` label in the HTTP metrics.
pub const ENDPOINTS: &[&str] = &[
    path::REGISTER,
    path::AUTHORIZE,
    path::CONSENT,
    path::CALLBACK,
    path::TOKEN,
    path::REVOKE,
];

/// The OAuth routes: discovery, registration, authorization, callback, token, revocation.
pub fn routes(state: Arc<OAuthState>) -> Router {
    Router::new()
        .route(
            "/.well-known/oauth-protected-resource",
            get(metadata::protected_resource).options(metadata::preflight),
        )
        .route(
            "/.well-known/oauth-protected-resource/mcp",
            get(metadata::protected_resource).options(metadata::preflight),
        )
        .route(
            "/.well-known/oauth-authorization-server",
            get(metadata::authorization_server).options(metadata::preflight),
        )
        .route(
            "/.well-known/oauth-authorization-server/mcp",
            get(metadata::authorization_server).options(metadata::preflight),
        )
        .route(
            "/.well-known/openid-configuration",
            get(metadata::authorization_server).options(metadata::preflight),
        )
        .route(
            "/.well-known/openid-configuration/mcp",
            get(metadata::authorization_server).options(metadata::preflight),
        )
        .route(
            "/mcp/.well-known/openid-configuration",
            get(metadata::authorization_server).options(metadata::preflight),
        )
        .route(
            path::REGISTER,
            post(registration::register).options(metadata::preflight),
        )
        .route(path::AUTHORIZE, get(authorize::authorize))
        .route(path::CONSENT, post(authorize::consent))
        .route(path::CALLBACK, get(callback::callback))
        .route(
            path::TOKEN,
            post(token_endpoint::token).options(metadata::preflight),
        )
        .route(
            path::REVOKE,
            post(revoke::revoke).options(metadata::preflight),
        )
        .with_state(state)
}
