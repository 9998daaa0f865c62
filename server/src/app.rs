//! Assembling the service from settings, and serving it until shutdown.
//!
//! `build` wires shared state (Notion client, token registry, MCP handler) into the axum router;
//! `serve` runs it on a listener with TCP_NODELAY and drains in-flight calls on SIGTERM.

use crate::auth::{ApiKeys, AuthState, TokenRegistry, authenticate};
use crate::cache::CacheConfig;
use crate::config::{AuthMode, Settings};
use crate::mcp::transport::{self, McpEndpoint};
use crate::mcp::{self, Limits, Shared};
use crate::metrics::Metrics;
use crate::notion::BreakerConfig;
use crate::notion::pacer::PacingConfig;
use crate::notion::retry::RetryPolicy;
use crate::notion::{ClientConfig, NotionClient};
use crate::oauth::{GrantService, OAuthConfig, OAuthState};
use crate::shared::SharedState;
use crate::store::Store;
use crate::web::{self, Health, HostPolicy, McpGuard};
use crate::web::{CallerRateLimit, RateLimitConfig};
use crate::webhooks::{WebhookReceiver, dedupe::Dedupe, pending::PendingTokens};
use anyhow::Context;
use axum::Router;
use axum::extract::FromRef;
use axum::middleware::from_fn_with_state;
use axum::routing::{any, get, post};
use axum::serve::ListenerExt;
use notion_mcp_contract::paths;
use std::sync::Arc;
use std::time::Duration;
use tokio::net::TcpListener;
use tokio_util::sync::CancellationToken;

/// Everything the router's handlers and layers share, built once at start-up. Each handler or layer
/// extracts just its part (`State<Metrics>`, `State<AuthState>`, …) through [`FromRef`].
#[derive(Clone)]
pub struct AppState {
    pub metrics: Metrics,
    /// Readiness, switched to draining on shutdown.
    pub health: Arc<Health>,
    /// Allowed `Host`/`Origin` values (DNS-rebinding protection).
    pub host_policy: HostPolicy,
    /// Body and header limits of `/mcp`.
    pub guard: McpGuard,
    /// Who is calling: bearer, API key or Notion token → principal.
    pub auth: Arc<AuthState>,
    /// Per-caller request budget.
    pub rate_limit: CallerRateLimit,
    /// The MCP endpoint (tools, sessions, the Notion client).
    pub mcp: Arc<McpEndpoint>,
    /// Notion tokens seen recently (one entry per caller's workspace).
    pub registry: Arc<TokenRegistry>,
    /// OAuth mode: the authorization server's state (store, grants).
    pub oauth: Option<Arc<OAuthState>>,
    /// Cancelled at the end of the drain period: closes MCP streams.
    pub streams: CancellationToken,
    /// Notion's webhook deliveries → cache invalidations.
    pub webhooks: Arc<WebhookReceiver>,
    /// State shared with the other replicas on Redis (`--redis-url`); never a readiness condition.
    pub shared: Option<SharedState>,
}

macro_rules! part_of_app_state {
    ($($field:ident: $ty:ty),* $(,)?) => {
        $(impl FromRef<AppState> for $ty {
            fn from_ref(state: &AppState) -> Self {
                state.$field.clone()
            }
        })*
    };
}

part_of_app_state!(
    metrics: Metrics,
    health: Arc<Health>,
    host_policy: HostPolicy,
    guard: McpGuard,
    auth: Arc<AuthState>,
    rate_limit: CallerRateLimit,
    mcp: Arc<McpEndpoint>,
    webhooks: Arc<WebhookReceiver>,
    shared: Option<SharedState>,
);

/// A built service, ready to serve.
pub struct App {
    pub router: Router,
    pub state: AppState,
    pub settings: Settings,
    /// The content index behind `search` (absent with `--no-content-index`), started by [`serve`].
    pub content: Option<crate::content_index::Runtime>,
    /// Tool calls running as MCP tasks; [`serve`] lets them finish within the grace period.
    pub tasks: Option<Arc<crate::mcp::tasks::Tasks>>,
}

/// Build the router and its shared state. In OAuth mode the grant store is opened from the settings.
pub async fn build(settings: Settings, demo_token: Option<String>) -> anyhow::Result<App> {
    let store = if settings.args.auth_mode == AuthMode::Oauth {
        Some(crate::store::open::open(&settings.args.store).await?)
    } else {
        None
    };
    build_with_store(settings, demo_token, store)
}

/// The confirmation of destructive calls, its states sealed under keys derived from the grant store's
/// sealing keys (or those of --keys / --keys-dir) so replicas accept each other's, else a key of
/// this process.
fn confirmer(args: &crate::config::ServeArgs, store: Option<&Store>) -> mcp::confirm::Confirmer {
    let configured = || {
        let active = args.store.active_key_id.as_deref();
        let ring = match (&args.store.keys, &args.store.keys_dir) {
            (Some(pairs), _) => crate::store::KeyRing::from_pairs(&pairs.0, active),
            (None, Some(dir)) => crate::store::KeyRing::from_dir(dir, active),
            (None, None) => return None,
        };
        ring.map_err(
            |e| tracing::warn!(error = %e, "confirmations cannot use the configured sealing keys"),
        )
        .ok()
    };
    let from_settings = if store.is_none() { configured() } else { None };
    let keys = store.map(Store::keys).or(from_settings.as_ref());
    let confirm =
        mcp::confirm::Confirmer::new(!args.no_confirm_destructive, keys, args.confirm_timing);
    if confirm.enabled() {
        tracing::info!(
            shared_key = confirm.shared_key(),
            "destructive tool calls are confirmed with clients that support elicitation"
        );
    }
    confirm
}

/// Build with an already opened store (tests share one store between servers).
pub fn build_with_store(
    settings: Settings,
    demo_token: Option<String>,
    store: Option<Store>,
) -> anyhow::Result<App> {
    let args = &settings.args;
    let metrics = Metrics::new();
    let client_cfg = ClientConfig {
        base_url: args.notion_base_url.clone(),
        default_version: args.notion_version,
        attempt_timeout: Duration::from_secs(args.notion_timeout_secs),
        pacing: PacingConfig {
            per_second: args.pacing_rps,
            burst: args.pacing_burst,
            replicas: args.replicas,
            workspace_per_second: args.workspace_pacing_rps.unwrap_or(args.pacing_rps),
            ..PacingConfig::default()
        },
        retry: RetryPolicy {
            max_retries: args.retry_max,
            max_total_wait: Duration::from_secs(args.retry_max_wait_secs),
            ..RetryPolicy::default()
        },
        breaker: BreakerConfig {
            failures: args.breaker_failures,
            open_for: Duration::from_secs(args.breaker_open_secs.max(1)),
            ..BreakerConfig::default()
        },
        cache: CacheConfig {
            max_bytes: args.cache_max_bytes,
            max_age: settings.cache_max_age(),
        },
        ..ClientConfig::default()
    };
    // Degraded until Redis answers; connecting happens in the background.
    let shared_state = args.redis_url.as_ref().map(|url| {
        let state = SharedState::connect(&url.0, metrics.clone());
        tracing::info!(redis = state.target(), "shared state on Redis configured");
        state
    });
    let notion = NotionClient::with_shared(client_cfg, metrics.clone(), shared_state.clone())
        .context("building the Notion client")?;
    let registry = Arc::new(TokenRegistry::new(
        args.max_active_tokens,
        Duration::from_secs(args.token_idle_secs),
        args.notion_version,
    ));
    let (tools, names) = mcp::registry_with(args.read_only, &args.tools)?;
    #[cfg(feature = "demo")]
    let tools = if args.conformance_tools {
        mcp::with_conformance_tools(tools)
    } else {
        tools
    };
    let api_keys = match &args.oauth.api_keys_file {
        Some(path) => {
            let known: Vec<&str> = names.iter().map(String::as_str).collect();
            let keys = ApiKeys::load(path, &known)?;
            tracing::info!(count = keys.len(), ids = ?keys.ids(), "API keys loaded");
            Some(Arc::new(keys))
        }
        None => None,
    };
    let content = match settings.content_index_dir() {
        None => None,
        Some(dir) => {
            let config = |dir| crate::content_index::IndexConfig {
                dir,
                crawl_share: args.index_crawl_share,
                ..Default::default()
            };
            let opened =
                crate::content_index::Runtime::open(config(dir.clone()), &notion, &metrics);
            let runtime = match (opened, &dir) {
                (Ok(runtime), _) => runtime,
                // The index only spares Notion requests and can be rebuilt: a directory another
                // process holds (two servers on one store) or cannot open is no reason not to serve.
                (Err(e), Some(path)) => {
                    tracing::warn!(
                        dir = %path.display(),
                        error = %e,
                        "content index directory unusable: keeping the index in memory \
                         (see --index-dir, --no-content-index)"
                    );
                    crate::content_index::Runtime::open(config(None), &notion, &metrics)
                        .context("opening the content index in memory")?
                }
                (Err(e), None) => {
                    return Err(anyhow::Error::new(e).context("opening the content index"));
                }
            };
            Some(runtime)
        }
    };
    // The server's own credentials the index may crawl with (grants join below).
    let mut index_tokens: Vec<crate::notion::NotionAuth> = api_keys
        .as_ref()
        .map(|k| k.notion_auths())
        .unwrap_or_default();
    if let (AuthMode::Demo, Some(t)) = (args.auth_mode, &demo_token) {
        index_tokens.push(crate::notion::NotionAuth::new(
            t.clone(),
            args.notion_version,
        ));
    }
    let tasks = (!args.no_tasks).then(|| {
        Arc::new(crate::mcp::tasks::Tasks::new(
            Duration::from_secs(args.task_after_secs),
            Duration::from_secs(args.task_timeout_secs),
            shared_state.clone(),
        ))
    });
    let shared = Arc::new(Shared {
        registry: tools,
        notion,
        index: content.as_ref().map(|c| c.index.clone()),
        limits: Limits {
            max_output_chars: args.max_output_chars,
            // Leave the call time to answer with the task id before its own deadline.
            async_wait: settings
                .tool_timeout()
                .saturating_sub(std::time::Duration::from_secs(10))
                .max(settings.tool_timeout() / 2),
            ..Limits::default()
        },
        metrics: metrics.clone(),
        tool_timeout: settings.tool_timeout(),
        tasks: tasks.clone(),
        confirm: confirmer(args, store.as_ref()),
    });
    let streams = CancellationToken::new();
    let guard = McpGuard {
        max_body_bytes: args.max_body_bytes,
    };
    let oauth = match (args.auth_mode, store) {
        (AuthMode::Oauth, Some(store)) => {
            let store = store.instrumented(&metrics);
            let cfg = OAuthConfig::from_settings(&settings);
            let grants = Arc::new(GrantService::new(
                store.clone(),
                shared.notion.clone(),
                &cfg,
                args.notion_version,
                metrics.clone(),
            ));
            Some(Arc::new(
                OAuthState::new(cfg, store, grants, shared.notion.clone(), metrics.clone())
                    .map_err(|e| anyhow::anyhow!("{}", e.description))?,
            ))
        }
        (AuthMode::Oauth, None) => anyhow::bail!("OAuth mode needs a grant store"),
        _ => None,
    };
    let content = content.map(|c| {
        c.with_credentials(crate::content_index::credentials::Credentials::new(
            oauth.as_ref().map(|o| o.grants.clone()),
            index_tokens,
        ))
        .with_shared_state(shared_state.clone())
    });
    let cache = shared.notion.cache().clone();
    if let Some(state) = &shared_state {
        crate::cache::bus::connect(cache.clone(), state.clone());
    }
    let mut endpoint = McpEndpoint::new(shared, args.sessions, guard, streams.clone());
    if oauth.is_some() {
        endpoint.reauth_challenge = Some(format!(
            "Bearer realm=\"notion-mcp-remote\", error=\"invalid_token\", resource_metadata=\"{}\", scope=\"{}\"",
            settings.resource_metadata_url(),
            crate::oauth::SCOPE
        ));
    }
    let endpoint = Arc::new(endpoint);
    let auth = Arc::new(AuthState {
        mode: args.auth_mode,
        registry: registry.clone(),
        demo_token,
        metrics: metrics.clone(),
        grants: oauth.as_ref().map(|o| o.grants.clone()),
        resource_metadata: settings.resource_metadata_url(),
        api_keys,
        notion_version: args.notion_version,
    });
    let rate_limit = CallerRateLimit::new(
        RateLimitConfig {
            per_minute: args.oauth.rate_limit_per_minute,
            burst: args.oauth.rate_limit_burst,
        },
        metrics.clone(),
    );
    let tokens: Vec<String> = args
        .webhook_verification_token
        .iter()
        .map(|t| t.0.trim().to_owned())
        .collect();
    let pending = match &oauth {
        Some(o) => PendingTokens::in_store(o.store.clone()),
        None => PendingTokens::open_on_demand(args.store.clone()),
    };
    let webhooks = Arc::new(
        WebhookReceiver::new(
            tokens,
            cache,
            Dedupe::new(
                shared_state
                    .clone()
                    .map(|s| Arc::new(s) as Arc<dyn crate::webhooks::dedupe::SharedClaim>),
            ),
            pending,
            &metrics,
        )
        .with_content_index(content.as_ref().map(|c| c.index.clone())),
    );
    let state = AppState {
        webhooks,
        metrics,
        health: Arc::new(Health::new(
            oauth.as_ref().map(|o| o.store.clone()),
            shared_state.clone(),
        )),
        host_policy: HostPolicy::from_settings(&settings),
        guard,
        auth,
        rate_limit,
        mcp: endpoint,
        registry,
        oauth,
        streams,
        shared: shared_state,
    };
    let router = router(&state);
    Ok(App {
        router,
        state,
        settings,
        content,
        tasks,
    })
}

/// The routes, with layers running outside-in: request observation → (for `/mcp`) host check →
/// guard (body, headers) → authentication → per-caller rate limit → MCP. Each layer and handler holds
/// only its own part of the state: axum clones a handler's or layer's state for every request.
fn router(state: &AppState) -> Router {
    let mcp_routes: Router = Router::new()
        .route(paths::MCP, any(transport::handle))
        .with_state(state.mcp.clone())
        .layer(from_fn_with_state(
            state.rate_limit.clone(),
            web::rate_limit,
        ))
        .layer(from_fn_with_state(state.auth.clone(), authenticate))
        .layer(from_fn_with_state(state.guard, web::mcp_guard))
        .layer(from_fn_with_state(
            state.host_policy.clone(),
            web::check_host,
        ));
    let mut router = Router::new()
        .route(paths::HEALTHZ, get(web::healthz))
        .route(paths::READYZ, get(web::readyz))
        .route(paths::METRICS, get(web::metrics))
        .route(
            paths::WEBHOOKS,
            post(crate::webhooks::receive).layer(axum::extract::DefaultBodyLimit::max(
                crate::webhooks::MAX_BODY_BYTES,
            )),
        )
        .with_state(state.clone())
        .merge(mcp_routes);
    if let Some(o) = &state.oauth {
        router = router.merge(
            crate::oauth::routes(o.clone()).layer(axum::extract::DefaultBodyLimit::max(64 * 1024)),
        );
    }
    router.layer(from_fn_with_state(state.metrics.clone(), web::observe))
}

/// Serve `app` on `listener` until SIGTERM/SIGINT (or `stop` fires), then drain.
pub async fn serve(app: App, listener: TcpListener, stop: CancellationToken) -> anyhow::Result<()> {
    let grace = Duration::from_secs(app.settings.args.shutdown_grace_secs);
    let health = app.state.health.clone();
    let streams = app.state.streams.clone();
    let registry = app.state.registry.clone();
    let oauth = app.state.oauth.clone();
    let index_stop = CancellationToken::new();
    let index_task = app.content.map(|c| c.start(index_stop.clone()));
    let sweeper = tokio::spawn(async move {
        let mut tick = tokio::time::interval(Duration::from_secs(60));
        let mut rounds = 0u64;
        loop {
            tick.tick().await;
            registry.sweep();
            if let Some(o) = &oauth {
                o.sweep();
                // Expired codes, pending logins, idle clients and grants: every 10 minutes.
                if rounds.is_multiple_of(10) {
                    match o.store.sweep_expired().await {
                        Ok(0) => {}
                        Ok(n) => tracing::info!(
                            removed = n,
                            "expired records removed from the grant store"
                        ),
                        Err(e) => tracing::warn!(error = %e, "sweeping the grant store failed"),
                    }
                }
            }
            rounds += 1;
        }
    });
    let shutdown_signal = {
        let stop = stop.clone();
        async move {
            tokio::select! {
                // The one place a signal is awaited (and logged); it also starts the hard deadline.
                () = web::shutdown::signal() => stop.cancel(),
                () = stop.cancelled() => {},
            }
            health.start_draining();
            // Long-lived streams never finish by themselves: close them when the grace period ends.
            tokio::spawn(async move {
                tokio::time::sleep(grace).await;
                streams.cancel();
            });
        }
    };
    // Without TCP_NODELAY, small SSE writes on kept-alive connections wait ~40 ms for delayed ACKs.
    let listener = listener.tap_io(|tcp| {
        if let Err(e) = tcp.set_nodelay(true) {
            tracing::debug!(error = %e, "could not set TCP_NODELAY");
        }
    });
    let service = app
        .router
        .into_make_service_with_connect_info::<std::net::SocketAddr>();
    let server = axum::serve(listener, service).with_graceful_shutdown(shutdown_signal);
    let result = tokio::select! {
        r = server => r.context("serving HTTP"),
        () = async {
            stop.cancelled().await;
            tokio::time::sleep(grace + Duration::from_secs(2)).await;
        } => {
            tracing::warn!("in-flight requests did not finish within the grace period");
            Ok(())
        }
    };
    sweeper.abort();
    if let Some(tasks) = &app.tasks {
        finish_tasks(tasks, grace).await;
    }
    index_stop.cancel();
    if let Some(task) = index_task
        && tokio::time::timeout(Duration::from_secs(10), task)
            .await
            .is_err()
    {
        tracing::warn!("the content index did not finish saving within 10 s");
    }
    tracing::info!("stopped");
    result
}

/// Give tool calls running as tasks up to `grace` to finish; the rest end with the process.
async fn finish_tasks(tasks: &crate::mcp::tasks::Tasks, grace: Duration) {
    let until = tokio::time::Instant::now() + grace;
    while tasks.running() > 0 && tokio::time::Instant::now() < until {
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    match tasks.running() {
        0 => {}
        n => tracing::warn!(
            tasks = n,
            "tool calls running as tasks were stopped by the shutdown"
        ),
    }
}

/// Bind the configured address and serve until shutdown.
pub async fn run(settings: Settings, demo_token: Option<String>) -> anyhow::Result<()> {
    let listener = bind(settings.args.listen).await?;
    run_on(settings, demo_token, listener).await
}

/// Bind `addr`, with an error that names the address and what to do about it.
pub async fn bind(addr: std::net::SocketAddr) -> anyhow::Result<TcpListener> {
    TcpListener::bind(addr).await.map_err(|e| {
        let hint = match e.kind() {
            std::io::ErrorKind::AddrInUse => {
                "another process is using it; stop it or choose another with --listen HOST:PORT"
            }
            std::io::ErrorKind::PermissionDenied => {
                "not permitted; ports below 1024 need privileges, choose another with --listen"
            }
            std::io::ErrorKind::AddrNotAvailable => {
                "this machine has no such address; use 127.0.0.1 or 0.0.0.0"
            }
            _ => "choose another with --listen HOST:PORT",
        };
        anyhow::anyhow!("cannot listen on {addr}: {e} ({hint})")
    })
}

/// Serve on an already bound listener until shutdown.
pub async fn run_on(
    settings: Settings,
    demo_token: Option<String>,
    listener: TcpListener,
) -> anyhow::Result<()> {
    let app = build(settings, demo_token).await?;
    tracing::info!(
        listen = %listener.local_addr().map(|a| a.to_string()).unwrap_or_default(),
        mcp_url = %app.settings.mcp_url(),
        auth_mode = ?app.settings.args.auth_mode,
        sessions = app.settings.args.sessions,
        "ready"
    );
    serve(app, listener, CancellationToken::new()).await
}
