//! Discovery documents: RFC 9728 protected resource metadata (for `/mcp`) and RFC 8414 authorization
//! server metadata (also served at the OpenID configuration paths clients fall back to).

use super::{OAuthState, SCOPE, path};
use axum::Json;
use axum::extract::State;
use axum::response::{IntoResponse, Response};
use http::{HeaderValue, header};
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
