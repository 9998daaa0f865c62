//! Command-line and environment configuration, validated once at start-up.
//!
//! Every setting is a flag with an environment-variable twin (`--listen` / `NOTION_MCP_LISTEN`), so the
//! same binary is configured by hand, by a Kubernetes Deployment or by the operator.

use crate::notion::NotionVersion;
use clap::{Args, Parser, Subcommand, ValueEnum};
use notion_mcp_contract::env;
use std::net::SocketAddr;
use std::time::Duration;
use url::Url;

mod admin_args;
mod settings;
#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests;

pub use admin_args::*;
pub use settings::{ConfigError, Settings};

/// notion-mcp-remote: serve Notion to MCP clients (claude.ai, Claude Code, Cursor, …) over Streamable HTTP.
#[derive(Debug, Parser)]
#[command(name = "notion-mcp-remote", version, about, long_about = None)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Option<Command>,
    #[command(flatten)]
    pub serve: ServeArgs,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Serve MCP at /mcp (the default when no subcommand is given).
    Serve(Box<ServeArgs>),
    /// Start an embedded fake Notion with a sample workspace and serve it: no Notion account needed.
    #[cfg(feature = "demo")]
    Demo(DemoArgs),
    /// List or revoke stored OAuth grants (works against the configured store).
    Grants(Box<GrantsArgs>),
    /// Notion webhooks: show the verification tokens Notion sent to /webhooks/notion.
    Webhooks(Box<WebhooksArgs>),
    /// Check the serve settings (flags and environment) and exit without serving.
    ///
    /// Takes every flag and environment variable `serve` takes. Exits 0 when the server would start
    /// with them, else 1 naming the setting to fix. An environment variable starting with
    /// NOTION_MCP_ that no setting reads is an error too: a misspelt name would otherwise be ignored.
    /// Nothing is opened: no port, no store, no key file.
    CheckConfig(Box<ServeArgs>),
}

/// Parse `--listen`: an IP address and port, or a host name and port (`localhost:8080`), resolved
/// here; IPv4 is preferred when the name has both.
pub fn parse_listen_addr(s: &str) -> Result<SocketAddr, String> {
    if let Ok(addr) = s.parse::<SocketAddr>() {
        return Ok(addr);
    }
    if !s
        .rsplit_once(':')
        .is_some_and(|(h, p)| !h.is_empty() && p.parse::<u16>().is_ok())
    {
        return Err(format!(
            "'{s}' is not HOST:PORT, e.g. 127.0.0.1:8080 or localhost:8080"
        ));
    }
    let addrs: Vec<SocketAddr> = std::net::ToSocketAddrs::to_socket_addrs(s)
        .map_err(|e| format!("cannot resolve '{s}': {e}"))?
        .collect();
    addrs
        .iter()
        .find(|a| a.is_ipv4())
        .or_else(|| addrs.first())
        .copied()
        .ok_or_else(|| format!("'{s}' resolves to no address"))
}

/// `127.0.0.1` on the server's usual port.
fn default_listen() -> SocketAddr {
    SocketAddr::from(([127, 0, 0, 1], notion_mcp_contract::HTTP_PORT))
}

/// How callers prove who they are and which Notion workspace they reach.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum AuthMode {
    /// Users log in to their own Notion workspace through OAuth (this server is the authorization
    /// server for MCP clients and delegates the login to Notion's public-integration OAuth).
    Oauth,
    /// Each caller sends its own Notion integration token as `Authorization: Bearer ntn_…`.
    NotionToken,
    /// Like notion-token, but callers without a bearer use the demo workspace's token.
    Demo,
}

/// The integration token of the sample workspace (`demo`, and `--auth-mode demo` against a fake).
pub const DEMO_TOKEN: &str = "ntn_demo_acme";

/// Where grants and OAuth state are stored.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum StoreKind {
    /// Encrypted files in `--store-dir` (the default outside Kubernetes).
    File,
    /// One encrypted Secret per record in `--store-namespace` (the default inside Kubernetes).
    Kubernetes,
    /// In memory: lost on restart (tests, experiments).
    Memory,
}

/// A secret setting: parsed like a string, never printed.
#[derive(Clone, PartialEq, Eq)]
pub struct Redacted(pub String);

impl std::fmt::Debug for Redacted {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("[redacted]")
    }
}

impl std::str::FromStr for Redacted {
    type Err = std::convert::Infallible;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Ok(Redacted(s.to_string()))
    }
}

/// Log output format.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum LogFormat {
    /// JSON lines when stderr is not a terminal, pretty otherwise.
    Auto,
    Json,
    Pretty,
}

/// Settings of the MCP server.
#[derive(Debug, Clone, Args)]
pub struct ServeArgs {
    /// Address to listen on.
    #[arg(long, env = env::LISTEN, default_value_t = default_listen(), value_parser = parse_listen_addr)]
    pub listen: SocketAddr,

    /// Public base URL clients use (scheme://host[:port]); the MCP endpoint is `<public-url>/mcp`.
    /// Its host is always an allowed Host. Defaults to http://localhost:<listen port>.
    #[arg(long, env = env::PUBLIC_URL)]
    pub public_url: Option<Url>,

    /// Extra Host values to accept (comma separated), e.g. the in-cluster Service name.
    #[arg(long, env = env::ALLOWED_HOSTS, value_delimiter = ',')]
    pub allowed_hosts: Vec<String>,

    /// Extra browser Origins to accept (comma separated, with scheme), besides the public URL's.
    #[arg(long, env = env::ALLOWED_ORIGINS, value_delimiter = ',')]
    pub allowed_origins: Vec<String>,

    /// Trust X-Forwarded-Host / X-Forwarded-Proto: set only behind a proxy that overwrites them.
    #[arg(
        long,
        env = env::TRUST_FORWARDED_HEADERS,
        default_value_t = false
    )]
    pub trust_forwarded_headers: bool,

    /// How callers authenticate.
    #[arg(long, env = env::AUTH_MODE, value_enum, default_value_t = AuthMode::Oauth)]
    pub auth_mode: AuthMode,

    #[command(flatten)]
    pub oauth: OAuthArgs,

    #[command(flatten)]
    pub store: StoreArgs,

    /// Base URL of the Notion API and its OAuth endpoints (point it at a fake in tests).
    #[arg(
        long,
        env = env::NOTION_BASE_URL,
        default_value = "https://api.notion.com"
    )]
    pub notion_base_url: Url,

    /// Notion-Version sent to Notion: 2026-12-01, 2026-03-11 or 2025-09-03.
    #[arg(long, env = env::NOTION_VERSION, default_value = "2026-12-01")]
    pub notion_version: NotionVersion,

    /// Average Notion requests per second allowed per workspace (shared by all its sessions).
    #[arg(long, env = env::PACING_RPS, default_value_t = 3.0)]
    pub pacing_rps: f64,

    /// Burst size of the per-workspace Notion budget.
    #[arg(long, env = env::PACING_BURST, default_value_t = 10)]
    pub pacing_burst: u32,

    /// Average Notion requests per second per workspace over all its connections (Notion limits a
    /// whole workspace too: many tokens or grants of one workspace share this). Burst as
    /// --pacing-burst. Default: --pacing-rps; 0 paces per connection only. A token's workspace is
    /// asked of Notion once (`/v1/users/me`); a grant names its own.
    #[arg(long, env = env::WORKSPACE_PACING_RPS)]
    pub workspace_pacing_rps: Option<f64>,

    /// Number of server replicas sharing Notion's budget; each paces at 1/N of it.
    #[arg(long, env = env::REPLICAS, default_value_t = 1)]
    pub replicas: u32,

    /// Largest size of the read cache in bytes (Notion answers kept for repeated reads); 0 turns
    /// the cache off (identical concurrent reads are still sent once).
    #[arg(long, env = env::CACHE_MAX_BYTES, default_value_t = 64 * 1024 * 1024)]
    pub cache_max_bytes: u64,

    /// Longest time a cached Notion answer is served, in seconds. Default: 600 when a webhook
    /// subscription keeps the cache exact (--webhook-verification-token), else 0 (nothing is kept
    /// between calls; only identical concurrent reads are shared). Setting it without webhooks opts
    /// into reads up to that old.
    #[arg(long, env = env::CACHE_MAX_AGE_SECS)]
    pub cache_max_age_secs: Option<u64>,

    /// Directory of the workspace content index (words inside pages, for `search`) and its crawl
    /// state. Default: `<store-dir>/content-index` when the file store is in use (`--store file`, or
    /// OAuth mode outside Kubernetes), in memory otherwise.
    #[arg(long, env = env::INDEX_DIR)]
    pub index_dir: Option<std::path::PathBuf>,

    /// Turn the content index off: `search` matches titles only, nothing is crawled.
    #[arg(long, env = env::NO_CONTENT_INDEX)]
    pub no_content_index: bool,

    /// Share of a workspace's pacing the index crawler may use while tool calls leave it idle
    /// (0 < share ≤ 1); tool calls always go first.
    #[arg(long, env = env::INDEX_CRAWL_SHARE, default_value_t = 0.3)]
    pub index_crawl_share: f64,

    /// Verification token(s) of the Notion webhook subscription, comma-separated (two while a
    /// subscription is re-created). Deliveries to /webhooks/notion must be signed with one of them.
    #[arg(
        long,
        env = env::WEBHOOK_VERIFICATION_TOKEN,
        value_delimiter = ',',
        hide_env_values = true
    )]
    pub webhook_verification_token: Vec<Redacted>,

    /// Redis (≥ 7) or Valkey shared by the replicas: one Notion budget per workspace, cache
    /// invalidations and webhook dedupe. `redis://` or `rediss://` (TLS); credentials in the URL.
    #[arg(long, env = env::REDIS_URL, hide_env_values = true)]
    pub redis_url: Option<Redacted>,

    /// Retries of one Notion request (rate limits, overload, transient errors).
    #[arg(long, env = env::RETRY_MAX, default_value_t = 3)]
    pub retry_max: u32,

    /// Longest total time one Notion request may spend waiting between retries, in seconds.
    #[arg(long, env = env::RETRY_MAX_WAIT_SECS, default_value_t = 60)]
    pub retry_max_wait_secs: u64,

    /// Timeout of one attempt of a Notion request, in seconds.
    #[arg(long, env = env::NOTION_TIMEOUT_SECS, default_value_t = 30)]
    pub notion_timeout_secs: u64,

    /// Consecutive Notion failures (5xx, timeouts, lost connections) that open the circuit breaker;
    /// while open, calls fail fast. 0 disables it.
    #[arg(long, env = env::BREAKER_FAILURES, default_value_t = 10)]
    pub breaker_failures: u32,

    /// Seconds the circuit breaker stays open before one probe request is let through.
    #[arg(long, env = env::BREAKER_OPEN_SECS, default_value_t = 30)]
    pub breaker_open_secs: u64,

    /// Deadline of one tool call, in seconds (claude.ai gives up after 300).
    #[arg(long, env = env::TOOL_TIMEOUT_SECS, default_value_t = 240)]
    pub tool_timeout_secs: u64,

    /// Largest accepted request body in bytes; larger bodies get 413.
    #[arg(long, env = env::MAX_BODY_BYTES, default_value_t = 4 * 1024 * 1024)]
    pub max_body_bytes: usize,

    /// Largest tool output in characters before it is cut with a continuation marker.
    #[arg(long, env = env::MAX_OUTPUT_CHARS, default_value_t = 100_000)]
    pub max_output_chars: usize,

    /// Most Notion tokens with live state at once; beyond it idle ones are evicted, else 503.
    #[arg(long, env = env::MAX_ACTIVE_TOKENS, default_value_t = 1000)]
    pub max_active_tokens: usize,

    /// Seconds after which an unused token's state (pacer, cached identity) is dropped.
    #[arg(long, env = env::TOKEN_IDLE_SECS, default_value_t = 900)]
    pub token_idle_secs: u64,

    /// Also offer MCP sessions (Mcp-Session-Id, GET streams) to clients that initialize; requests
    /// without a known session are still served statelessly.
    #[arg(long, env = env::SESSIONS, default_value_t = false)]
    pub sessions: bool,

    /// Seconds a tool call runs before it is handed over to an MCP task, for clients that declare
    /// the tasks extension (they get the task id and poll for the result).
    #[arg(long, env = env::TASK_AFTER_SECS, default_value_t = 5, value_parser = clap::value_parser!(u64).range(1..))]
    pub task_after_secs: u64,

    /// Deadline of a tool call that became a task, in seconds from its start.
    #[arg(long, env = env::TASK_TIMEOUT_SECS, default_value_t = 900, value_parser = clap::value_parser!(u64).range(1..))]
    pub task_timeout_secs: u64,

    /// Never hand tool calls over to tasks, even for clients that take them.
    #[arg(long, env = env::NO_TASKS, default_value_t = false)]
    pub no_tasks: bool,

    /// Expose only the tools that do not write to Notion (on top of API-key scopes).
    #[arg(long, env = env::READ_ONLY, default_value_t = false)]
    pub read_only: bool,

    /// Tools to expose: `name` allows (then only allowed tools are exposed), `-name` denies;
    /// comma-separated. Unknown names fail startup.
    #[arg(long, env = env::TOOLS, value_delimiter = ',')]
    pub tools: Vec<String>,

    /// Never ask the user to confirm destructive tool calls (trash_page, delete_block, replacing a
    /// page's whole content). By default the server asks clients that support elicitation.
    #[arg(long, env = env::NO_CONFIRM_DESTRUCTIVE, default_value_t = false)]
    pub no_confirm_destructive: bool,

    /// How long a confirmation may take (tests only; not a flag).
    #[arg(skip)]
    pub confirm_timing: crate::mcp::confirm::ConfirmTiming,

    /// Whether the MCP conformance suite's diagnostic tools are added (`demo --conformance-tools`
    /// only; not a flag of `serve`).
    #[arg(skip)]
    pub conformance_tools: bool,

    /// Seconds to drain in-flight requests after SIGTERM before exiting.
    #[arg(long, env = env::SHUTDOWN_GRACE_SECS, default_value_t = 25)]
    pub shutdown_grace_secs: u64,

    /// Log format.
    #[arg(long, env = env::LOG_FORMAT, value_enum, default_value_t = LogFormat::Auto)]
    pub log_format: LogFormat,

    /// Log filter (tracing EnvFilter syntax), e.g. `info` or `notion_mcp_remote=debug`.
    #[arg(long, env = env::LOG, default_value = "info")]
    pub log: String,

    // OpenTelemetry traces: --otlp-endpoint, --otel-service-name (off unless the endpoint is set).
    #[command(flatten)]
    pub traces: notion_mcp_traces::TraceArgs,
}

/// The OAuth authorization server (`--auth-mode oauth`).
#[derive(Debug, Clone, Args)]
pub struct OAuthArgs {
    /// Client id of the Notion public integration users log in through.
    #[arg(long, env = env::NOTION_OAUTH_CLIENT_ID)]
    pub notion_oauth_client_id: Option<String>,

    /// Client secret of the Notion public integration.
    #[arg(long, env = env::NOTION_OAUTH_CLIENT_SECRET, hide_env_values = true)]
    pub notion_oauth_client_secret: Option<Redacted>,

    /// Only accept client redirect URIs on these hosts (comma separated); loopback redirects of
    /// native clients are always accepted. Empty: any https host.
    #[arg(long, env = env::ALLOWED_REDIRECT_HOSTS, value_delimiter = ',')]
    pub allowed_redirect_hosts: Vec<String>,

    /// Lifetime of the access tokens this server issues, in seconds.
    #[arg(long, env = env::ACCESS_TOKEN_TTL_SECS, default_value_t = 3600)]
    pub access_token_ttl_secs: u64,

    /// A grant whose refresh token is not used for this many days is deleted.
    #[arg(long, env = env::GRANT_IDLE_DAYS, default_value_t = 90)]
    pub grant_idle_days: u64,

    /// Seconds after a refresh during which presenting the old refresh token again is a retry, not a
    /// replay: a retry whose answer was lost gets a new pair (twice at most), any other reuse is
    /// refused with the grant kept. After it, a reused refresh token revokes the grant.
    #[arg(
        long,
        env = env::REFRESH_REUSE_GRACE_SECS,
        default_value_t = 10
    )]
    pub refresh_reuse_grace_secs: u64,

    /// A registered client that is not used for this many days is deleted.
    #[arg(long, env = env::CLIENT_IDLE_DAYS, default_value_t = 30)]
    pub client_idle_days: u64,

    /// Client registrations accepted per minute from one address.
    #[arg(
        long,
        env = env::REGISTRATIONS_PER_MINUTE,
        default_value_t = 30
    )]
    pub registrations_per_minute: u32,

    /// Static API keys for services (YAML or JSON; see the README).
    #[arg(long, env = env::API_KEYS_FILE)]
    pub api_keys_file: Option<std::path::PathBuf>,

    /// Tool calls per minute allowed per caller (grant, API key or token); 0 disables the limit.
    #[arg(long, env = env::RATE_LIMIT_PER_MINUTE, default_value_t = 120)]
    pub rate_limit_per_minute: u32,

    /// Burst of tool calls allowed per caller above the per-minute rate.
    #[arg(long, env = env::RATE_LIMIT_BURST, default_value_t = 20)]
    pub rate_limit_burst: u32,

    /// Accept Client ID Metadata Documents from loopback http URLs (tests only; not a flag).
    #[arg(skip)]
    pub cimd_allow_loopback: bool,
}

/// Where grants live and how they are sealed.
#[derive(Debug, Clone, Args)]
pub struct StoreArgs {
    /// Store backend; default: kubernetes inside a cluster, file elsewhere.
    #[arg(long = "store", env = env::STORE, value_enum)]
    pub kind: Option<StoreKind>,

    /// Directory of the file store.
    #[arg(long, env = env::STORE_DIR, default_value = "notion-mcp-data")]
    pub store_dir: std::path::PathBuf,

    /// Namespace of the kubernetes store; default: the pod's own namespace.
    #[arg(long, env = env::STORE_NAMESPACE)]
    pub store_namespace: Option<String>,

    /// Instance name: labels the kubernetes store's Secrets (`notionmcp.dev/instance`).
    #[arg(long, env = env::INSTANCE, default_value = "notion-mcp-remote")]
    pub instance: String,

    /// UID of the instance's NotionMcpRemote resource: grant Secrets get it as an owner.
    #[arg(long, env = env::INSTANCE_UID)]
    pub instance_uid: Option<String>,

    /// Directory of sealing keys, one file per key id (32 bytes raw, base64 or hex).
    /// Default for the file store: `<store-dir>/keys`, created with one key on first start.
    #[arg(long, env = env::KEYS_DIR)]
    pub keys_dir: Option<std::path::PathBuf>,

    /// Sealing keys as `id:base64` pairs (comma separated), instead of a directory.
    #[arg(long, env = env::KEYS, hide_env_values = true)]
    pub keys: Option<Redacted>,

    /// The key id that seals new records (required with more than one key).
    #[arg(long, env = env::ACTIVE_KEY_ID)]
    pub active_key_id: Option<String>,
}

/// Settings of `demo`.
#[derive(Debug, Clone, Args)]
pub struct DemoArgs {
    /// Address to listen on.
    #[arg(long, env = env::LISTEN, default_value_t = default_listen(), value_parser = parse_listen_addr)]
    pub listen: SocketAddr,
    /// Seed the fake Notion from this JSON or YAML fixture instead of the built-in sample workspace.
    #[arg(long)]
    pub fixture: Option<std::path::PathBuf>,
    /// Also offer MCP sessions (see `serve --sessions`).
    #[arg(long, env = env::SESSIONS, default_value_t = false)]
    pub sessions: bool,
    /// Require OAuth like production: clients register, the user consents, then signs in at the fake
    /// Notion and picks the pages to share; grants are kept in memory.
    #[arg(long, default_value_t = false)]
    pub oauth: bool,
    /// With --oauth: the fake Notion approves each sign-in at once, sharing every page, instead of
    /// showing its sign-in page (for scripted clients).
    #[arg(long, default_value_t = false, requires = "oauth")]
    pub auto_login: bool,
    /// Add the MCP conformance suite's diagnostic tools (greet, slow_compute, failing_job,
    /// protocol_error_job, confirm_delete, test_*), so the suite can exercise tasks, logging,
    /// capability checks, MRTR and stream resumption.
    #[arg(long, env = env::CONFORMANCE_TOOLS, default_value_t = false)]
    pub conformance_tools: bool,
    /// Log format.
    #[arg(long, env = env::LOG_FORMAT, value_enum, default_value_t = LogFormat::Auto)]
    pub log_format: LogFormat,
    /// Log filter.
    #[arg(long, env = env::LOG, default_value = "info")]
    pub log: String,
}
