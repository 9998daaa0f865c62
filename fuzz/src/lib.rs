//! Shared set-up for the fuzz targets: one single-threaded tokio runtime per process, the real
//! server router built in-process (no listener, no network), and a helper that sends one request
//! through it and reads the whole answer.

use axum::Router;
use axum::body::{Body, to_bytes};
use clap::Parser;
use notion_mcp_remote::app;
use notion_mcp_remote::config::{AuthMode, Cli, ServeArgs, Settings, StoreKind};
use std::sync::OnceLock;
use tokio::runtime::Runtime;
use tower::ServiceExt;

/// The host every request is addressed to (the default allowed host of a server on loopback).
pub const HOST: &str = "127.0.0.1:8080";
/// Largest response body read back (responses are bounded by the server anyway).
const MAX_RESPONSE_BYTES: usize = 16 * 1024 * 1024;

/// The process-wide runtime (current-thread: deterministic and cheap to enter per input).
pub fn runtime() -> &'static Runtime {
    static RT: OnceLock<Runtime> = OnceLock::new();
    RT.get_or_init(|| {
        tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .expect("tokio runtime")
    })
}

/// Server settings for fuzzing: Notion is a closed loopback port (every call fails at once, is not
/// retried, and opens the circuit breaker so later calls do not even connect), pacing is off in
/// effect, and the per-caller rate limit is disabled.
pub fn base_args() -> ServeArgs {
    let mut a = Cli::try_parse_from(["notion-mcp-remote"])
        .expect("default arguments")
        .serve;
    a.listen = HOST.parse().expect("listen address");
    a.notion_base_url = "http://127.0.0.1:9/".parse().expect("url");
    a.pacing_rps = 1_000_000.0;
    a.pacing_burst = 1_000_000;
    a.retry_max = 0;
    a.retry_max_wait_secs = 0;
    a.notion_timeout_secs = 2;
    a.tool_timeout_secs = 5;
    a.breaker_failures = 1;
    a.breaker_open_secs = 86_400;
    a.auth_mode = AuthMode::NotionToken;
    a.store.kind = Some(StoreKind::Memory);
    a.oauth.rate_limit_per_minute = 0;
    a
}

/// Build the real router from `args` (on the fuzz runtime).
pub fn router(args: ServeArgs) -> Router {
    let settings = Settings::from_args(args).expect("valid settings");
    let built = runtime()
        .block_on(app::build(settings, None))
        .expect("server builds");
    built.router
}

/// Send one request through `router`; returns the status and the whole body.
pub fn send(router: &Router, req: http::Request<Body>) -> (http::StatusCode, Vec<u8>) {
    runtime().block_on(async {
        let resp = router
            .clone()
            .oneshot(req)
            .await
            .expect("the router is infallible");
        let status = resp.status();
        let body = to_bytes(resp.into_body(), MAX_RESPONSE_BYTES)
            .await
            .map(|b| b.to_vec())
            .unwrap_or_default();
        (status, body)
    })
}

/// Percent-encode what may not appear raw in a URI query (controls, spaces, `#`, non-ASCII), so
/// most inputs make a valid request line; existing `%` escapes are kept as they are.
pub fn query_escape(raw: &[u8]) -> String {
    let mut out = String::with_capacity(raw.len());
    for &b in raw {
        if b.is_ascii_graphic() && b != b'#' {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

/// Panic on a server error: no input may make the server fail internally.
pub fn assert_not_internal_error(status: http::StatusCode, body: &[u8]) {
    assert!(
        status != http::StatusCode::INTERNAL_SERVER_ERROR,
        "500 Internal Server Error: {}",
        String::from_utf8_lossy(body)
    );
}
