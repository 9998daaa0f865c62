//! One tracing span and one set of metrics per HTTP request.

use crate::metrics::Metrics;
use axum::extract::{Request, State};
use axum::middleware::Next;
use axum::response::Response;
use notion_mcp_contract::paths;
use std::time::Instant;
use tracing::Instrument;

/// Middleware: wrap the request in a span (method, route, status, latency) and count it.
pub async fn observe(State(metrics): State<Metrics>, req: Request, next: Next) -> Response {
    let route = route_label(req.uri().path());
    let span = tracing::info_span!("http", method = %req.method(), route, status = tracing::field::Empty, subject = tracing::field::Empty);
    let started = Instant::now();
    let resp = next.run(req).instrument(span.clone()).await;
    let status = resp.status().as_u16();
    let elapsed = started.elapsed();
    span.record("status", status);
    metrics.observe_http(route, status, elapsed);
    span.in_scope(|| {
        if status >= 500 {
            tracing::warn!(elapsed_ms = elapsed.as_secs_f64() * 1e3, "request failed");
        } else {
            tracing::debug!(elapsed_ms = elapsed.as_secs_f64() * 1e3, "request done");
        }
    });
    resp
}

/// A bounded set of route labels (never the raw path, which would explode metric cardinality).
fn route_label(path: &str) -> &'static str {
    match path {
        paths::MCP | "/mcp/" => paths::MCP,
        paths::HEALTHZ => paths::HEALTHZ,
        paths::READYZ => paths::READYZ,
        paths::METRICS => paths::METRICS,
        paths::WEBHOOKS => paths::WEBHOOKS,
        p if p.starts_with("/.well-known/") => "/.well-known",
        p => crate::oauth::ENDPOINTS
            .iter()
            .find(|e| **e == p)
            .copied()
            .unwrap_or("other"),
    }
}

#[cfg(test)]
mod tests {
    use super::route_label;

    #[test]
    fn every_route_has_its_own_label() {
        for path in ["/mcp", "/healthz", "/readyz", "/metrics"] {
            assert_eq!(route_label(path), path);
        }
        for path in crate::oauth::ENDPOINTS {
            assert_eq!(route_label(path), *path);
        }
        assert_eq!(route_label("/mcp/"), "/mcp");
        assert_eq!(
            route_label("/.well-known/oauth-authorization-server"),
            "/.well-known"
        );
        assert_eq!(route_label("/wp-login.php"), "other");
        assert_eq!(route_label("/token/../x"), "other");
    }
}
