//! The authentication middleware for `/mcp`.
//!
//! `oauth` mode: the bearer must be an access token this server issued; it resolves to a stored grant
//! and that grant's Notion token (never a Notion token sent by the client: no token passthrough).
//! `notion-token` mode: the bearer must be a Notion integration token (`ntn_…` or legacy `secret_…`);
//! it is used for this request only. `demo` mode additionally lets requests without a bearer use the
//! demo workspace. Failures get 401 with a `WWW-Authenticate` challenge pointing at the protected
//! resource metadata and a JSON body naming the problem; an overfull token registry gets 503 with
//! `Retry-After`.

use super::ApiKeys;
use super::{Principal, PrincipalKind, RegistryError, TokenRegistry};
use crate::config::AuthMode;
use crate::metrics::Metrics;
use crate::notion::NotionVersion;
use crate::oauth::grants::ReauthSignal;
use crate::oauth::{GrantService, ResolveError};
use crate::web::json_error;
use axum::extract::{Request, State};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use http::{HeaderValue, StatusCode, header};
use std::sync::Arc;

/// What the authentication layer needs.
#[derive(Clone)]
pub struct AuthState {
    pub mode: AuthMode,
    pub registry: Arc<TokenRegistry>,
    /// The token used for unauthenticated requests in demo mode.
    pub demo_token: Option<String>,
    pub metrics: Metrics,
    /// OAuth mode: resolves our access tokens to grants.
    pub grants: Option<Arc<GrantService>>,
    /// Absolute URL of the protected resource metadata, for challenges.
    pub resource_metadata: String,
    /// Static API keys for services (any mode).
    pub api_keys: Option<Arc<ApiKeys>>,
    pub notion_version: NotionVersion,
}

/// Authenticate a request and attach its [`Principal`].
pub async fn authenticate(
    State(state): State<Arc<AuthState>>,
    mut req: Request,
    next: Next,
) -> Response {
    let bearer = match bearer_token(req.headers()) {
        Ok(b) => b,
        Err(msg) => return unauthorized(&state, Some(msg)),
    };
    if let Some(b) = bearer.as_deref()
        && b.starts_with(super::api_keys::KEY_PREFIX)
    {
        let Some(entry) = state.api_keys.as_ref().and_then(|k| k.authenticate(b)) else {
            return unauthorized(&state, Some("unknown or revoked API key"));
        };
        let principal = entry.principal(state.notion_version);
        tracing::Span::current().record("subject", principal.subject.as_str());
        req.extensions_mut().insert(principal);
        return next.run(req).await;
    }
    if state.mode == AuthMode::Oauth {
        let signal = ReauthSignal::default();
        let principal = match (bearer, &state.grants) {
            (None, _) => return unauthorized(&state, None),
            (Some(token), Some(grants)) => match grants.resolve(&token, &signal).await {
                Ok(p) => p,
                Err(ResolveError::Store(e)) => {
                    tracing::error!(error = %e, "grant store unavailable");
                    let mut resp = json_error(
                        StatusCode::SERVICE_UNAVAILABLE,
                        "temporarily_unavailable",
                        "the grant store is unavailable; retry shortly",
                    );
                    resp.headers_mut()
                        .insert(header::RETRY_AFTER, HeaderValue::from_static("5"));
                    return resp;
                }
                Err(ResolveError::NotOurs) => {
                    return unauthorized(
                        &state,
                        Some(
                            "this server accepts only access tokens it issued: connect through OAuth",
                        ),
                    );
                }
                Err(e) => return unauthorized(&state, Some(&e.to_string())),
            },
            (Some(_), None) => return unauthorized(&state, Some("OAuth is not configured")),
        };
        tracing::Span::current().record("subject", principal.subject.as_str());
        req.extensions_mut().insert(signal);
        req.extensions_mut().insert(principal);
        return next.run(req).await;
    }
    let (token, kind) = match (bearer, state.mode, &state.demo_token) {
        (Some(t), _, _) => (t, PrincipalKind::NotionToken),
        (None, AuthMode::Demo, Some(demo)) => (demo.clone(), PrincipalKind::Demo),
        (None, _, _) => {
            return unauthorized(
                &state,
                Some(
                    "missing bearer token: send your Notion integration token as 'Authorization: Bearer ntn_...'",
                ),
            );
        }
    };
    if kind == PrincipalKind::NotionToken && !looks_like_notion_token(&token) {
        return unauthorized(
            &state,
            Some(
                "the bearer is not a Notion integration token (expected one starting with 'ntn_' or 'secret_')",
            ),
        );
    }
    let (subject, notion) = match state.registry.admit(&token) {
        Ok(v) => v,
        Err(
            e @ RegistryError::Full {
                retry_after_secs, ..
            },
        ) => {
            tracing::warn!(error = %e, "token registry full");
            let mut resp = json_error(
                StatusCode::SERVICE_UNAVAILABLE,
                "server_busy",
                &e.to_string(),
            );
            if let Ok(v) = HeaderValue::from_str(&retry_after_secs.to_string()) {
                resp.headers_mut().insert(header::RETRY_AFTER, v);
            }
            return resp;
        }
    };
    state.metrics.set_active_tokens(state.registry.len());
    tracing::Span::current().record("subject", subject.as_str());
    req.extensions_mut()
        .insert(Principal::new(kind, subject, notion));
    next.run(req).await
}

/// `Ok(None)` when there is no Authorization header; `Err` when it is malformed.
fn bearer_token(headers: &http::HeaderMap) -> Result<Option<String>, &'static str> {
    let Some(value) = headers.get(header::AUTHORIZATION) else {
        return Ok(None);
    };
    let value = value
        .to_str()
        .map_err(|_| "the Authorization header is not valid ASCII")?;
    let (scheme, token) = value
        .trim()
        .split_once(' ')
        .ok_or("the Authorization header must be 'Bearer <token>'")?;
    if !scheme.eq_ignore_ascii_case("bearer") {
        return Err("only the Bearer authorization scheme is supported");
    }
    let token = token.trim();
    if token.is_empty() {
        return Err("the bearer token is empty");
    }
    Ok(Some(token.to_string()))
}

fn looks_like_notion_token(token: &str) -> bool {
    (token.starts_with("ntn_") || token.starts_with("secret_"))
        && token.len() >= 8
        && token.len() <= 512
        && token
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-')
}

/// 401 with a challenge. Without a message (no credentials at all) the challenge carries no error
/// (RFC 6750 §3.1); in OAuth mode it names the protected resource metadata and the scope.
pub fn unauthorized(state: &AuthState, message: Option<&str>) -> Response {
    let text =
        message.unwrap_or("authorization required: log in through OAuth (see resource_metadata)");
    let mut resp = json_error(StatusCode::UNAUTHORIZED, "invalid_token", text);
    let mut challenge = String::from("Bearer realm=\"notion-mcp-remote\"");
    if state.mode == AuthMode::Oauth {
        challenge.push_str(&format!(
            ", resource_metadata=\"{}\", scope=\"{}\"",
            state.resource_metadata,
            crate::oauth::SCOPE
        ));
    }
    if let Some(m) = message {
        challenge.push_str(&format!(
            ", error=\"invalid_token\", error_description=\"{}\"",
            m.replace('"', "'")
                .replace(|c: char| !c.is_ascii() || c.is_ascii_control(), "")
        ));
    }
    if let Ok(v) = HeaderValue::from_str(&challenge) {
        resp.headers_mut().insert(header::WWW_AUTHENTICATE, v);
    }
    resp.into_response()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bearer_parsing() {
        let mut h = http::HeaderMap::new();
        assert_eq!(bearer_token(&h), Ok(None));
        h.insert(
            header::AUTHORIZATION,
            HeaderValue::from_static("Bearer ntn_abc"),
        );
        assert_eq!(bearer_token(&h), Ok(Some("ntn_abc".into())));
        h.insert(
            header::AUTHORIZATION,
            HeaderValue::from_static("bearer   ntn_abc  "),
        );
        assert_eq!(bearer_token(&h), Ok(Some("ntn_abc".into())));
        h.insert(header::AUTHORIZATION, HeaderValue::from_static("Basic abc"));
        assert!(bearer_token(&h).is_err());
        h.insert(header::AUTHORIZATION, HeaderValue::from_static("Bearer "));
        assert!(bearer_token(&h).is_err());
    }

    #[test]
    fn notion_token_shape() {
        assert!(looks_like_notion_token("ntn_1234567890abcdef"));
        assert!(looks_like_notion_token("secret_abcdef123"));
        assert!(!looks_like_notion_token("eyJhbGciOi.jwt.token"));
        assert!(!looks_like_notion_token("ntn_a b"));
    }
}
