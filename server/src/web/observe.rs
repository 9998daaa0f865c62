//! One tracing span and one set of metrics per HTTP request.
//!
//! The span is an OpenTelemetry server span when traces are on (named `<method> <route>`, with
//! `http.request.method`, `http.route`, `http.response.status_code`), the child of the caller's W3C
//! trace context when the request carries one. It records no URL, query, header or body.

use crate::metrics::Metrics;
use axum::extract::{Request, State};
use axum::middleware::Next;
use axum::response::Response;
use http::Method;
use notion_mcp_contract::paths;
use std::time::Instant;
use tracing::Instrument;
use tracing::field::Empty;

/// The span of the HTTP request, in its extensions: work the request hands to other tasks (MCP
/// tool calls) opens its spans under it.
#[derive(Clone, Debug)]
pub struct RequestSpan(pub tracing::Span);

/// Middleware: wrap the request in a span (method, route, status, latency) and count it.
pub async fn observe(State(metrics): State<Metrics>, mut req: Request, next: Next) -> Response {
    let route = route_label(req.uri().path());
    let method = method_label(req.method());
    let span = tracing::info_span!(
        "http",
        otel.name = %format_args!("{method} {route}"),
        otel.kind = "server",
        http.request.method = method,
        http.route = route,
        http.response.status_code = Empty,
        error.type = Empty,
        otel.status_code = Empty,
        subject = Empty,
    );
    notion_mcp_traces::adopt_remote_parent(&span, req.headers());
    req.extensions_mut().insert(RequestSpan(span.clone()));
    let started = Instant::now();
    let resp = next.run(req).instrument(span.clone()).await;
    let status = resp.status().as_u16();
    let elapsed = started.elapsed();
    span.record("http.response.status_code", status);
    if status >= 500 {
        span.record("error.type", tracing::field::display(status));
        span.record("otel.status_code", "error");
    }
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

/// The method as OpenTelemetry names it: the standard ones, anything else `_OTHER`.
fn method_label(method: &Method) -> &'static str {
    const KNOWN: [&str; 9] = [
        "GET", "POST", "PUT", "DELETE", "HEAD", "OPTIONS", "PATCH", "CONNECT", "TRACE",
    ];
    KNOWN
        .into_iter()
        .find(|m| *m == method.as_str())
        .unwrap_or("_OTHER")
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
    #![allow(clippy::unwrap_used)]
    use super::{method_label, route_label};

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

    #[test]
    fn unknown_methods_are_other() {
        assert_eq!(method_label(&http::Method::POST), "POST");
        let odd = http::Method::from_bytes(b"PROPFIND").unwrap();
        assert_eq!(method_label(&odd), "_OTHER");
    }
}
