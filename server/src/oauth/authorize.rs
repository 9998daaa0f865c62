//! `/authorize`: check the client's request, ask the user's consent, then send the browser to Notion.
//!
//! Problems with `client_id` or `redirect_uri` are shown as an error page (never redirected to an
//! unverified URI, RFC 6749 §4.1.2.1); every other problem is redirected back to the client with an
//! OAuth `error`, its `state` and our `iss` (RFC 9207). The consent page carries the request sealed
//! and a CSRF token that must match a cookie; a user who already approved this client (known from a
//! sealed cookie set after an earlier login) skips the page. Only after consent is a single-use,
//! ten-minute `state` for Notion stored.

use super::clients::{self, Client};
use super::cookies::{open_value, seal_value};
use super::errors::{OAuthError, error_page, html_headers};
use super::pages::{ConsentPage, render_consent};
use super::{OAuthState, PENDING_TTL_SECS, SCOPE, opaque_tokens};
use crate::store::now_unix;
use crate::store::records::{Consent, PendingAuthorization};
use axum::Form;
use axum::extract::{Query, State};
use axum::response::{Html, IntoResponse, Redirect, Response};
use http::{HeaderMap, HeaderValue, StatusCode, header};
use serde::{Deserialize, Serialize};
use std::collections::HashMap;
use std::sync::Arc;

const CSRF_COOKIE: &str = "nmr-csrf";
pub const USER_COOKIE: &str = "nmr-user";
const REQUEST_PURPOSE: &str = "consent-request";
pub const USER_PURPOSE: &str = "user";
/// How long a consent page may stay open.
const CONSENT_PAGE_TTL: i64 = 900;

/// A validated authorization request.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct AuthRequest {
    pub client_id: String,
    pub redirect_uri: String,
    pub state: Option<String>,
    pub code_challenge: String,
    pub resource: String,
    pub scope: String,
}

/// What the consent form carries, sealed.
#[derive(Serialize, Deserialize)]
struct SealedRequest {
    req: AuthRequest,
    csrf_hash: String,
    expires_at: i64,
}

/// The user this browser logged in as before (sealed cookie).
#[derive(Serialize, Deserialize)]
pub struct KnownUser {
    pub user_id: String,
    pub expires_at: i64,
}

/// Redirect to the client's `redirect_uri` with these parameters plus `state` and `iss`.
pub fn redirect_to_client(
    issuer: &str,
    redirect_uri: &str,
    state: Option<&str>,
    params: &[(&str, &str)],
) -> Response {
    let mut url = match url::Url::parse(redirect_uri) {
        Ok(u) => u,
        Err(_) => {
            return error_page(
                StatusCode::BAD_REQUEST,
                "Invalid redirect",
                "The client's redirect URI is not a valid URL.",
            );
        }
    };
    {
        let mut q = url.query_pairs_mut();
        for (k, v) in params {
            q.append_pair(k, v);
        }
        if let Some(s) = state {
            q.append_pair("state", s);
        }
        q.append_pair("iss", issuer);
    }
    let mut resp = Redirect::to(url.as_str()).into_response();
    resp.headers_mut()
        .insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    resp
}

fn redirect_error(issuer: &str, req: &AuthRequest, error: &str, description: &str) -> Response {
    redirect_to_client(
        issuer,
        &req.redirect_uri,
        req.state.as_deref(),
        &[("error", error), ("error_description", description)],
    )
}

/// The resource a request names must be this server's MCP endpoint (a trailing slash is tolerated).
pub fn check_resource(given: Option<&str>, ours: &str) -> Result<String, String> {
    match given {
        None | Some("") => Ok(ours.to_string()),
        Some(r) if r.trim_end_matches('/') == ours.trim_end_matches('/') => Ok(ours.to_string()),
        Some(r) => Err(format!(
            "resource '{r}' is not served here; this server's resource is {ours}"
        )),
    }
}

/// `GET /authorize`
#[tracing::instrument(name = "oauth", skip_all, fields(otel.name = "oauth authorize", oauth.step = "authorize", oauth.outcome = tracing::field::Empty))]
pub async fn authorize(
    State(s): State<Arc<OAuthState>>,
    headers: HeaderMap,
    Query(q): Query<HashMap<String, String>>,
) -> Response {
    let get = |k: &str| q.get(k).map(String::as_str).filter(|v| !v.is_empty());
    // 1. Client and redirect URI: errors here are shown, not redirected.
    let Some(client_id) = get("client_id") else {
        return error_page(
            StatusCode::BAD_REQUEST,
            "Missing client",
            "The request has no client_id.",
        );
    };
    let client = match clients::find(&s, client_id).await {
        Ok(Some(c)) => c,
        Ok(None) => {
            return error_page(
                StatusCode::BAD_REQUEST,
                "Unknown client",
                "This client is not registered with this server (or its registration expired). Reconnect from your MCP client so it registers again.",
            );
        }
        Err(e) => {
            return error_page(
                e.status.max(StatusCode::BAD_REQUEST),
                "Unknown client",
                &e.description,
            );
        }
    };
    let redirect_uri = match get("redirect_uri") {
        Some(r) if client.allows_redirect(r) => r.to_string(),
        Some(_) => {
            return error_page(
                StatusCode::BAD_REQUEST,
                "Redirect URI mismatch",
                "The redirect_uri does not exactly match one registered for this client.",
            );
        }
        None if client.redirect_uris.len() == 1 => client.redirect_uris[0].clone(),
        None => {
            return error_page(
                StatusCode::BAD_REQUEST,
                "Missing redirect URI",
                "This client registered several redirect URIs; the request must name one.",
            );
        }
    };
    // 2. Everything else is redirected back with an OAuth error.
    let mut req = AuthRequest {
        client_id: client.client_id.clone(),
        redirect_uri,
        state: get("state").map(str::to_string),
        code_challenge: String::new(),
        resource: s.cfg.resource.clone(),
        scope: SCOPE.to_string(),
    };
    let issuer = &s.cfg.issuer;
    if get("response_type") != Some("code") {
        return redirect_error(
            issuer,
            &req,
            "unsupported_response_type",
            "response_type must be code",
        );
    }
    let Some(challenge) = get("code_challenge") else {
        return redirect_error(
            issuer,
            &req,
            "invalid_request",
            "PKCE is required: send code_challenge with code_challenge_method=S256",
        );
    };
    if get("code_challenge_method") != Some("S256") {
        return redirect_error(
            issuer,
            &req,
            "invalid_request",
            "code_challenge_method must be S256",
        );
    }
    if !opaque_tokens::valid_challenge(challenge) {
        return redirect_error(
            issuer,
            &req,
            "invalid_request",
            "code_challenge must be 43 characters of base64url (SHA-256)",
        );
    }
    req.code_challenge = challenge.to_string();
    match check_resource(get("resource"), &s.cfg.resource) {
        Ok(r) => req.resource = r,
        Err(msg) => return redirect_error(issuer, &req, "invalid_target", &msg),
    }
    // 3. A user who already approved this client skips the page.
    if let Some(user) = s
        .cookies
        .get(&headers, USER_COOKIE)
        .and_then(|v| open_value::<KnownUser>(s.store.keys(), USER_PURPOSE, &v))
        .filter(|u| u.expires_at > now_unix())
    {
        let key = consent_key(&user.user_id, &client.client_id);
        match s.store.get::<Consent>(&key).await {
            Ok(Some(_)) => return to_notion(&s, req, &client).await,
            Ok(None) => {}
            Err(e) => return OAuthError::from(e).into_response(),
        }
    }
    consent_page(&s, req, &client)
}

/// The key of a remembered consent.
pub fn consent_key(user_id: &str, client_id: &str) -> String {
    opaque_tokens::hash(&format!("{user_id}\n{client_id}"))
}

fn consent_page(s: &OAuthState, req: AuthRequest, client: &Client) -> Response {
    let csrf = opaque_tokens::random_secret();
    // The form posts to us; we then redirect to Notion (approve) or back to the client (deny).
    let form_action = format!(
        "'self' {} {}",
        origin_of(&s.cfg.notion_authorize_url),
        origin_of(&req.redirect_uri)
    );
    let redirect_uri = req.redirect_uri.clone();
    let sealed = seal_value(
        s.store.keys(),
        REQUEST_PURPOSE,
        &SealedRequest {
            req,
            csrf_hash: opaque_tokens::hash(&csrf),
            expires_at: now_unix() + CONSENT_PAGE_TTL,
        },
    );
    let html = render_consent(&ConsentPage {
        client_name: client.client_name.as_deref(),
        client_id: &client.client_id,
        client_id_url: client
            .from_metadata_document
            .then_some(client.client_id.as_str()),
        redirect_uri: &redirect_uri,
        public_host: &public_host(&s.cfg.issuer),
        action: "/authorize/consent",
        request: &sealed,
        csrf: &csrf,
    });
    let mut resp = Html(html).into_response();
    html_headers(&mut resp, &form_action);
    if let Some(c) = s.cookies.set(CSRF_COOKIE, &csrf, CONSENT_PAGE_TTL) {
        resp.headers_mut().append(header::SET_COOKIE, c);
    }
    resp
}

/// The host (and port, when not the scheme's default) users reach this server at.
fn public_host(issuer: &str) -> String {
    url::Url::parse(issuer)
        .ok()
        .and_then(|u| {
            let host = u.host_str()?.to_string();
            Some(match u.port() {
                Some(p) => format!("{host}:{p}"),
                None => host,
            })
        })
        .unwrap_or_else(|| issuer.to_string())
}

fn origin_of(url: &str) -> String {
    url::Url::parse(url)
        .map(|u| u.origin().ascii_serialization())
        .unwrap_or_default()
}

/// The consent form's fields.
#[derive(Deserialize)]
pub struct ConsentForm {
    #[serde(default)]
    request: String,
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    decision: String,
}

/// `POST /authorize/consent`
#[tracing::instrument(name = "oauth", skip_all, fields(otel.name = "oauth consent", oauth.step = "consent", oauth.outcome = tracing::field::Empty))]
pub async fn consent(
    State(s): State<Arc<OAuthState>>,
    headers: HeaderMap,
    Form(form): Form<ConsentForm>,
) -> Response {
    let forbidden = |detail: &str| error_page(StatusCode::FORBIDDEN, "Request refused", detail);
    // A cross-site form post carries a foreign Origin.
    if let Some(origin) = headers.get(header::ORIGIN).and_then(|o| o.to_str().ok())
        && origin != "null"
        && origin.trim_end_matches('/') != s.cfg.issuer
    {
        return forbidden("The consent form was submitted from another site.");
    }
    let Some(sealed) = open_value::<SealedRequest>(s.store.keys(), REQUEST_PURPOSE, &form.request)
    else {
        return forbidden("The consent form is damaged or was not issued by this server.");
    };
    if sealed.expires_at < now_unix() {
        return error_page(
            StatusCode::BAD_REQUEST,
            "Consent page expired",
            "This page was open for too long.",
        );
    }
    let cookie = s.cookies.get(&headers, CSRF_COOKIE).unwrap_or_default();
    if form.csrf.is_empty()
        || cookie.is_empty()
        || !opaque_tokens::same(&form.csrf, &cookie)
        || !opaque_tokens::same(&opaque_tokens::hash(&form.csrf), &sealed.csrf_hash)
    {
        return forbidden(
            "The consent form's security token is missing or does not match this browser. Start again from your MCP client.",
        );
    }
    let req = sealed.req;
    if form.decision != "approve" {
        s.metrics.observe_oauth("consent", "denied");
        return redirect_error(&s.cfg.issuer, &req, "access_denied", "the user declined");
    }
    let client = match clients::find(&s, &req.client_id).await {
        Ok(Some(c)) if c.allows_redirect(&req.redirect_uri) => c,
        Ok(_) => {
            return forbidden("The client is no longer registered, or its redirect URI changed.");
        }
        Err(e) => return e.into_response(),
    };
    s.metrics.observe_oauth("consent", "approved");
    let mut resp = to_notion(&s, req, &client).await;
    // The CSRF cookie is single-use.
    if let Some(c) = s.cookies.set(CSRF_COOKIE, "", 0) {
        resp.headers_mut().append(header::SET_COOKIE, c);
    }
    resp
}

/// Store the pending authorization under a fresh state and send the browser to Notion.
async fn to_notion(s: &OAuthState, req: AuthRequest, client: &Client) -> Response {
    let state = opaque_tokens::random_secret();
    let now = now_unix();
    let pending = PendingAuthorization {
        client_id: req.client_id.clone(),
        client_name: client.client_name.clone(),
        redirect_uri: req.redirect_uri.clone(),
        state: req.state.clone(),
        code_challenge: req.code_challenge.clone(),
        resource: req.resource.clone(),
        scope: req.scope.clone(),
        created_at: now,
        expires_at: now + PENDING_TTL_SECS,
    };
    if let Err(e) = s.store.create(&opaque_tokens::hash(&state), &pending).await {
        return redirect_error(
            &s.cfg.issuer,
            &req,
            "temporarily_unavailable",
            &OAuthError::from(e).description,
        );
    }
    let mut url = match url::Url::parse(&s.cfg.notion_authorize_url) {
        Ok(u) => u,
        Err(_) => {
            return OAuthError::server_error("Notion's authorize URL is invalid").into_response();
        }
    };
    url.query_pairs_mut()
        .append_pair("client_id", &s.cfg.notion_client_id)
        .append_pair("response_type", "code")
        .append_pair("owner", "user")
        .append_pair("redirect_uri", &s.cfg.callback_url)
        .append_pair("state", &state);
    let mut resp = Redirect::to(url.as_str()).into_response();
    resp.headers_mut()
        .insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    resp
}
