//! Discovery documents: RFC 9728 protected resource metadata (for `/mcp`) and RFC 8414 authorization
//! server metadata (also served at the OpenID configuration paths clients fall back to).

use super::{OAuthState, SCOPE, path};
use axum::Json;
use axum::extract::State;
use axum::response::{IntoResponse, Response};
use http::{HeaderMap, HeaderValue, StatusCode, header};
use serde_json::json;
use std::sync::Arc;

fn cacheable(body: serde_json::Value) -> Response {
    let mut resp = Json(body).into_response();
    let h = resp.headers_mut();
    h.insert(
        header::CACHE_CONTROL,
        HeaderValue::from_static("public, max-age=3600"),
    );
    h.insert(
        header::ACCESS_CONTROL_ALLOW_ORIGIN,
        HeaderValue::from_static("*"),
    );
    resp
}

/// `OPTIONS` on the endpoints browser-based clients call from their own origin (discovery,
/// registration, token, revocation): the CORS preflight their requests need once they carry a
/// header such as `MCP-Protocol-Version` or `Authorization`. Any origin, never credentials (`*`), as
/// the answers themselves; the page-based endpoints (authorize, consent, callback) get none.
pub async fn preflight(headers: HeaderMap) -> Response {
    let mut resp = StatusCode::NO_CONTENT.into_response();
    let h = resp.headers_mut();
    h.insert(
        header::ACCESS_CONTROL_ALLOW_ORIGIN,
        HeaderValue::from_static("*"),
    );
    h.insert(
        header::ACCESS_CONTROL_ALLOW_METHODS,
        HeaderValue::from_static("GET, POST, OPTIONS"),
    );
    let requested = headers
        .get(header::ACCESS_CONTROL_REQUEST_HEADERS)
        .cloned()
        .unwrap_or_else(|| HeaderValue::from_static("content-type"));
    h.insert(header::ACCESS_CONTROL_ALLOW_HEADERS, requested);
    h.insert(
        header::ACCESS_CONTROL_MAX_AGE,
        HeaderValue::from_static("86400"),
    );
    resp
}

/// `GET /.well-known/oauth-protected-resource[/mcp]`
pub async fn protected_resource(State(s): State<Arc<OAuthState>>) -> Response {
    cacheable(json!({
        "resource": s.cfg.resource,
        "authorization_servers": [s.cfg.issuer],
        "scopes_supported": [SCOPE],
        "bearer_methods_supported": ["header"],
        "resource_name": "Notion",
        "resource_documentation": "https://github.com/notion-mcp-remote/notion-mcp-remote",
    }))
}

/// `GET /.well-known/oauth-authorization-server` (and the OpenID configuration paths).
pub async fn authorization_server(State(s): State<Arc<OAuthState>>) -> Response {
    let i = &s.cfg.issuer;
    cacheable(json!({
        "issuer": i,
        "authorization_endpoint": format!("{i}{}", path::AUTHORIZE),
        "token_endpoint": format!("{i}{}", path::TOKEN),
        "registration_endpoint": format!("{i}{}", path::REGISTER),
        "revocation_endpoint": format!("{i}{}", path::REVOKE),
        "response_types_supported": ["code"],
        "response_modes_supported": ["query"],
        "grant_types_supported": ["authorization_code", "refresh_token"],
        "code_challenge_methods_supported": ["S256"],
        "token_endpoint_auth_methods_supported": ["none", "client_secret_post", "client_secret_basic"],
        "revocation_endpoint_auth_methods_supported": ["none", "client_secret_post", "client_secret_basic"],
        "scopes_supported": [SCOPE],
        "client_id_metadata_document_supported": true,
        "authorization_response_iss_parameter_supported": true,
    }))
}
