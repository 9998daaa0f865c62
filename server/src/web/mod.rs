//! The HTTP surface: host/origin checks, request guards and per-caller rate limits for `/mcp`,
//! health, metrics, request observation and graceful shutdown. Handlers are thin; policy lives in
//! layers.

mod guard;
mod health;
mod host;
mod observe;
mod rate_limit;
pub mod shutdown;

pub use guard::{McpGuard, McpMessage, mcp_guard};
pub use health::{Health, healthz, metrics, readyz};
pub use host::{HostPolicy, check_host};
pub use observe::{RequestSpan, observe};
pub use rate_limit::{CallerRateLimit, RateLimitConfig, rate_limit};

use axum::Json;
use axum::response::{IntoResponse, Response};
use http::StatusCode;

/// A JSON error body in the OAuth style every client understands:
/// `{"error": "<code>", "error_description": "<what went wrong and how to fix it>"}`.
pub fn json_error(status: StatusCode, code: &str, message: &str) -> Response {
    (
        status,
        Json(serde_json::json!({ "error": code, "error_description": message })),
    )
        .into_response()
}
