//! Host and Origin validation (DNS-rebinding protection) for the MCP and OAuth endpoints.
//!
//! The accepted Host values come from the public base URL plus an allow list. `X-Forwarded-Host` is
//! honoured only when the operator of the service says the proxy in front is trusted (it overwrites
//! the header), so a request through a correctly configured ingress is never refused. A present
//! `Origin` must be the public origin or an allowed one (403 otherwise, as the MCP transport requires).

use super::json_error;
use crate::config::Settings;
use axum::extract::{Request, State};
use axum::middleware::Next;
use axum::response::Response;
use http::{HeaderMap, StatusCode, header};
use std::sync::Arc;

/// The accepted Hosts and Origins.
#[derive(Debug, Clone)]
pub struct HostPolicy {
    hosts: Arc<[String]>,
    origins: Arc<[String]>,
    trust_forwarded: bool,
}

impl HostPolicy {
    pub fn from_settings(s: &Settings) -> Self {
        HostPolicy {
            hosts: s.allowed_hosts.clone().into(),
            origins: s.allowed_origins.clone().into(),
            trust_forwarded: s.args.trust_forwarded_headers,
        }
    }

    /// The host the client addressed: `X-Forwarded-Host` (first value) when trusted, else `Host`.
    fn effective_host<'a>(&self, headers: &'a HeaderMap, uri: &'a http::Uri) -> Option<&'a str> {
        if self.trust_forwarded
            && let Some(h) = headers
                .get("x-forwarded-host")
                .and_then(|v| v.to_str().ok())
        {
            return h.split(',').next().map(str::trim);
        }
        headers
            .get(header::HOST)
            .and_then(|v| v.to_str().ok())
            .or_else(|| uri.authority().map(|a| a.as_str()))
    }

    pub fn host_allowed(&self, host: &str) -> bool {
        let host = host.trim().to_ascii_lowercase();
        let bare = strip_port(&host);
        self.hosts
            .iter()
            .any(|a| *a == host || (!has_port(a) && a == bare))
    }

    pub fn origin_allowed(&self, origin: &str) -> bool {
        let o = normalize_origin(origin);
        self.origins.iter().any(|a| normalize_origin(a) == o)
    }
}

/// Middleware: refuse requests addressed to an unknown Host or sent from a foreign Origin.
pub async fn check_host(State(policy): State<HostPolicy>, req: Request, next: Next) -> Response {
    match policy.effective_host(req.headers(), req.uri()) {
        Some(h) if policy.host_allowed(h) => {}
        Some(h) => {
            tracing::warn!(host = %h, "request refused: Host not allowed");
            return json_error(
                StatusCode::FORBIDDEN,
                "invalid_host",
                &format!(
                    "Host '{h}' is not served here; set --public-url to the URL clients use or add it to --allowed-hosts"
                ),
            );
        }
        None => {
            return json_error(
                StatusCode::BAD_REQUEST,
                "invalid_host",
                "the request has no Host header",
            );
        }
    }
    if let Some(origin) = req.headers().get(header::ORIGIN) {
        let origin = origin.to_str().unwrap_or("<non-ASCII>");
        if !policy.origin_allowed(origin) {
            tracing::warn!(%origin, "request refused: Origin not allowed");
            return json_error(
                StatusCode::FORBIDDEN,
                "invalid_origin",
                &format!(
                    "Origin '{origin}' is not allowed; add it to --allowed-origins if it is a trusted web client"
                ),
            );
        }
    }
    next.run(req).await
}

fn has_port(host: &str) -> bool {
    strip_port(host).len() != host.len()
}

fn strip_port(host: &str) -> &str {
    if host.starts_with('[') {
        // [v6]:port
        return host.find(']').map_or(host, |i| &host[..=i]);
    }
    match host.rsplit_once(':') {
        Some((h, p)) if !p.is_empty() && p.bytes().all(|b| b.is_ascii_digit()) => h,
        _ => host,
    }
}

/// `scheme://host[:port]` lower-cased, with the scheme's default port removed.
fn normalize_origin(origin: &str) -> String {
    let o = origin.trim().trim_end_matches('/').to_ascii_lowercase();
    for (scheme, port) in [("https://", ":443"), ("http://", ":80")] {
        if o.starts_with(scheme) && o.ends_with(port) {
            return o[..o.len() - port.len()].to_string();
        }
    }
    o
}

#[cfg(test)]
mod tests {
    use super::*;

    fn policy(trust: bool) -> HostPolicy {
        HostPolicy {
            hosts: vec!["mcp.example.net".to_string(), "svc:8080".to_string()].into(),
            origins: vec!["https://mcp.example.net".to_string()].into(),
            trust_forwarded: trust,
        }
    }

    #[test]
    fn hosts_with_and_without_ports() {
        let p = policy(false);
        assert!(p.host_allowed("mcp.example.net"));
        assert!(p.host_allowed("MCP.example.net:443"));
        assert!(p.host_allowed("svc:8080"));
        assert!(!p.host_allowed("svc"));
        assert!(!p.host_allowed("svc:9090"));
        assert!(!p.host_allowed("evil.example"));
    }

    #[test]
    fn forwarded_host_only_when_trusted() {
        let mut h = HeaderMap::new();
        h.insert(header::HOST, "10.0.0.7:8080".parse().expect("header"));
        h.insert(
            "x-forwarded-host",
            "mcp.example.net".parse().expect("header"),
        );
        let uri: http::Uri = "/mcp".parse().expect("uri");
        assert_eq!(
            policy(true).effective_host(&h, &uri),
            Some("mcp.example.net")
        );
        assert_eq!(
            policy(false).effective_host(&h, &uri),
            Some("10.0.0.7:8080")
        );
    }

    #[test]
    fn origins_normalise_default_ports() {
        let p = policy(false);
        assert!(p.origin_allowed("https://mcp.example.net"));
        assert!(p.origin_allowed("https://mcp.example.net:443/"));
        assert!(!p.origin_allowed("http://mcp.example.net"));
        assert!(!p.origin_allowed("https://evil.example"));
        assert!(!p.origin_allowed("null"));
    }

    #[test]
    fn ipv6_ports() {
        assert_eq!(strip_port("[::1]:8080"), "[::1]");
        assert_eq!(strip_port("[::1]"), "[::1]");
        assert_eq!(strip_port("localhost:80"), "localhost");
    }
}
