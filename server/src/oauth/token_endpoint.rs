//! `/token`: the `authorization_code` grant (PKCE S256, exact redirect URI, audience) and the
//! `refresh_token` grant (rotation on every use, by the rule in [`super::rotation`]: a lost answer may be
//! retried within the reuse grace; a replayed refresh token revokes the whole grant).

use super::OAuthState;
use super::authorize::check_resource;
use super::clients::{self, Client};
use super::errors::OAuthError;
use super::opaque_tokens::{self, TokenKind};
use super::rotation::{self, Outcome};
use crate::store::records::{AuthCode, Grant, IssuedToken};
use crate::store::{Decision, now_unix};
use axum::Json;
use axum::extract::State;
use axum::response::{IntoResponse, Response};
use http::{HeaderMap, HeaderValue, header};
use serde_json::json;
use std::collections::HashMap;
use std::sync::Arc;

/// Tokens to hand out.
struct Issued {
    access: String,
    refresh: String,
    expires_in: u64,
    scope: String,
}

/// The parameters of a token request.
struct Params(HashMap<String, String>);

impl Params {
    fn get(&self, k: &str) -> Option<&str> {
        self.0.get(k).map(String::as_str).filter(|v| !v.is_empty())
    }
}

fn parse_form(headers: &HeaderMap, body: &[u8]) -> Result<Params, OAuthError> {
    let ct = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("");
    if !ct.starts_with("application/x-www-form-urlencoded") {
        return Err(OAuthError::invalid_request(format!(
            "the token request must be application/x-www-form-urlencoded, not '{ct}'"
        )));
    }
    let mut form = HashMap::new();
    for (k, v) in url::form_urlencoded::parse(body) {
        if form.insert(k.to_string(), v.to_string()).is_some() {
            return Err(OAuthError::invalid_request(format!(
                "parameter '{k}' is repeated"
            )));
        }
    }
    Ok(Params(form))
}

/// `POST /token`
#[tracing::instrument(name = "oauth", skip_all, fields(otel.name = "oauth token", oauth.step = "token", oauth.outcome = tracing::field::Empty))]
pub async fn token(
    State(s): State<Arc<OAuthState>>,
    headers: HeaderMap,
    body: axum::body::Bytes,
) -> Response {
    let result = async {
        let form = parse_form(&headers, &body)?;
        let grant_type = form
            .get("grant_type")
            .ok_or_else(|| OAuthError::invalid_request("grant_type is required"))?;
        if !matches!(grant_type, "authorization_code" | "refresh_token") {
            return Err(OAuthError::new(
                http::StatusCode::BAD_REQUEST,
                "unsupported_grant_type",
                format!(
                    "grant_type '{grant_type}' is not supported (authorization_code, refresh_token)"
                ),
            ));
        }
        let client = clients::authenticate(
            &s,
            &headers,
            form.get("client_id"),
            form.get("client_secret"),
        )
        .await?;
        match grant_type {
            "authorization_code" => exchange_code(&s, &client, &form).await,
            _ => refresh(&s, &client, &form).await,
        }
    }
    .await;
    match result {
        Ok(t) => {
            s.metrics.observe_oauth("token", "ok");
            let mut resp = Json(json!({
                "access_token": t.access,
                "token_type": "Bearer",
                "expires_in": t.expires_in,
                "refresh_token": t.refresh,
                "scope": t.scope,
            }))
            .into_response();
            let h = resp.headers_mut();
            h.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
            h.insert(header::PRAGMA, HeaderValue::from_static("no-cache"));
            h.insert(
                header::ACCESS_CONTROL_ALLOW_ORIGIN,
                HeaderValue::from_static("*"),
            );
            resp
        }
        Err(e) => {
            s.metrics.observe_oauth("token", e.error);
            let mut resp = e.into_response();
            resp.headers_mut().insert(
                header::ACCESS_CONTROL_ALLOW_ORIGIN,
                HeaderValue::from_static("*"),
            );
            resp
        }
    }
}

enum CodeCheck {
    Fresh(AuthCode),
    Reused(String),
    Foreign,
}

async fn exchange_code(
    s: &OAuthState,
    client: &Client,
    form: &Params,
) -> Result<Issued, OAuthError> {
    let get = |k: &str| form.get(k);
    let code = get("code").ok_or_else(|| OAuthError::invalid_request("code is required"))?;
    let now = now_unix();
    let key = opaque_tokens::hash(code);
    let checked = s
        .store
        .update::<AuthCode, _>(&key, |c| {
            if c.client_id != client.client_id {
                // Not burned: a foreign client must not be able to spoil another client's code.
                Decision::Keep(CodeCheck::Foreign)
            } else if c.used_at.is_some() {
                Decision::Keep(CodeCheck::Reused(c.grant_id.clone()))
            } else {
                c.used_at = Some(now);
                Decision::Write(CodeCheck::Fresh(c.clone()))
            }
        })
        .await?;
    let code = match checked {
        None | Some(CodeCheck::Foreign) => {
            return Err(OAuthError::invalid_grant(
                "the authorization code is unknown, expired, or was issued to another client",
            ));
        }
        Some(CodeCheck::Reused(grant_id)) => {
            s.grants
                .revoke(&grant_id, "authorization code replayed")
                .await;
            return Err(OAuthError::invalid_grant(
                "the authorization code was already used; tokens issued from it are revoked",
            ));
        }
        Some(CodeCheck::Fresh(c)) => c,
    };
    if code.expires_at < now {
        return Err(OAuthError::invalid_grant("the authorization code expired"));
    }
    match get("redirect_uri") {
        Some(r) if r == code.redirect_uri => {}
        Some(_) => {
            return Err(OAuthError::invalid_grant(
                "redirect_uri differs from the authorization request",
            ));
        }
        None => return Err(OAuthError::invalid_request("redirect_uri is required")),
    }
    let verifier = get("code_verifier")
        .ok_or_else(|| OAuthError::invalid_request("code_verifier is required (PKCE)"))?;
    if !opaque_tokens::pkce_matches(verifier, &code.code_challenge) {
        return Err(OAuthError::invalid_grant(
            "code_verifier does not match the code_challenge",
        ));
    }
    check_resource(get("resource"), &code.resource).map_err(OAuthError::invalid_target)?;
    let access_ttl = s.cfg.access_ttl.as_secs();
    let idle = s.cfg.grant_idle.as_secs() as i64;
    let access = opaque_tokens::mint(TokenKind::Access, &code.grant_id);
    let refresh = opaque_tokens::mint(TokenKind::Refresh, &code.grant_id);
    let first_exchange = s
        .store
        .update::<Grant, _>(&code.grant_id, |g| {
            if g.refresh.is_some() {
                return Decision::Keep(false);
            }
            g.access = vec![issued(&access, now, access_ttl as i64)];
            g.refresh = Some(issued(&refresh, now, idle));
            g.last_used_at = now;
            g.expires_at = now + idle;
            Decision::Write(true)
        })
        .await?;
    if first_exchange != Some(true) {
        return Err(OAuthError::invalid_grant(
            "the authorization behind this code no longer exists",
        ));
    }
    tracing::info!(
        grant_id = code.grant_id,
        client_id = client.client_id,
        "tokens issued"
    );
    Ok(Issued {
        access,
        refresh,
        expires_in: access_ttl,
        scope: code.scope,
    })
}

fn issued(token: &str, now: i64, ttl: i64) -> IssuedToken {
    IssuedToken {
        hash: opaque_tokens::hash(token),
        issued_at: now,
        expires_at: now + ttl,
    }
}

enum RefreshCheck {
    Applied(Outcome, String),
    Foreign,
    Audience,
}

async fn refresh(s: &OAuthState, client: &Client, form: &Params) -> Result<Issued, OAuthError> {
    let get = |k: &str| form.get(k);
    let presented = get("refresh_token")
        .ok_or_else(|| OAuthError::invalid_request("refresh_token is required"))?;
    let Some((TokenKind::Refresh, grant_id)) = opaque_tokens::parse(presented) else {
        return Err(OAuthError::invalid_grant(
            "refresh_token is not a refresh token of this server",
        ));
    };
    let now = now_unix();
    let hash = opaque_tokens::hash(presented);
    let access_ttl = s.cfg.access_ttl.as_secs() as i64;
    let idle = s.cfg.grant_idle.as_secs() as i64;
    let access = opaque_tokens::mint(TokenKind::Access, grant_id);
    let refresh = opaque_tokens::mint(TokenKind::Refresh, grant_id);
    let fresh = rotation::Fresh {
        access: issued(&access, now, access_ttl),
        refresh: issued(&refresh, now, idle),
    };
    let resource = get("resource");
    let grace = s.cfg.refresh_grace_secs;
    let mut audience_error = None;
    let outcome = s
        .store
        .update::<Grant, _>(grant_id, |g| {
            if g.client_id != client.client_id {
                return Decision::Keep(RefreshCheck::Foreign);
            }
            if let Err(e) = check_resource(resource, &g.audience) {
                audience_error = Some(e);
                return Decision::Keep(RefreshCheck::Audience);
            }
            let outcome = rotation::apply(g, &hash, &fresh, now, grace);
            let checked = RefreshCheck::Applied(outcome, g.scope.clone());
            if outcome.changed() {
                Decision::Write(checked)
            } else {
                Decision::Keep(checked)
            }
        })
        .await?;
    if let Some(e) = audience_error {
        return Err(OAuthError::invalid_target(e));
    }
    match outcome {
        Some(RefreshCheck::Applied(applied @ (Outcome::Rotated | Outcome::Retried), scope)) => {
            if applied == Outcome::Retried {
                tracing::info!(
                    grant_id,
                    client_id = client.client_id,
                    "refresh retried within the reuse grace: issued an alternative pair"
                );
            }
            Ok(Issued {
                access,
                refresh,
                expires_in: access_ttl as u64,
                scope,
            })
        }
        Some(RefreshCheck::Applied(Outcome::Race, _)) => Err(OAuthError::invalid_grant(
            "this refresh token was just used by a concurrent request; use the tokens it returned",
        )),
        Some(RefreshCheck::Applied(Outcome::Replay, _)) => {
            tracing::warn!(
                grant_id,
                client_id = client.client_id,
                "refresh token replayed: revoking the grant"
            );
            s.grants.revoke(grant_id, "refresh token replayed").await;
            Err(OAuthError::invalid_grant(
                "this refresh token was already used; the grant is revoked, log in again",
            ))
        }
        Some(RefreshCheck::Applied(Outcome::Unknown, _))
        | Some(RefreshCheck::Foreign)
        | Some(RefreshCheck::Audience)
        | None => Err(OAuthError::invalid_grant(
            "the refresh token is unknown, expired or revoked; log in again",
        )),
    }
}
