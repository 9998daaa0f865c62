//! `/oauth/callback`: Notion sends the user back here. The single-use `state` finds the pending
//! authorization; Notion's code is exchanged (HTTP Basic, JSON body) and everything that matters in its
//! answer is kept in a new grant (tokens sealed); then the client gets our own code. A cancelled login
//! or a Notion error goes back to the client as an OAuth error, never as a raw page; an unknown or
//! replayed `state` cannot be sent anywhere and gets an error page.

use super::authorize::{KnownUser, USER_COOKIE, USER_PURPOSE, consent_key, redirect_to_client};
use super::cookies::seal_value;
use super::errors::error_page;
use super::{CODE_TTL_SECS, CONSENT_TTL_SECS, OAuthState, opaque_tokens};
use crate::store::records::{AuthCode, Consent, Grant, NotionCredentials, PendingAuthorization};
use crate::store::{StoreError, now_unix};
use axum::extract::{Query, State};
use axum::response::{IntoResponse, Response};
use http::{StatusCode, header};
use serde_json::{Value, json};
use std::collections::HashMap;
use std::sync::Arc;

/// Parse Notion's token response into credentials.
pub fn credentials_from(v: &Value, now: i64) -> Option<NotionCredentials> {
    let s = |k: &str| v.get(k).and_then(Value::as_str).map(str::to_string);
    let user = v.pointer("/owner/user");
    let us = |k: &str| {
        user.and_then(|u| u.get(k))
            .and_then(Value::as_str)
            .map(str::to_string)
    };
    Some(NotionCredentials {
        access_token: s("access_token")?,
        refresh_token: s("refresh_token"),
        bot_id: s("bot_id")?,
        workspace_id: s("workspace_id")?,
        workspace_name: s("workspace_name"),
        workspace_icon: s("workspace_icon"),
        user_id: us("id"),
        user_name: us("name"),
        user_email: user
            .and_then(|u| u.pointer("/person/email"))
            .and_then(Value::as_str)
            .map(str::to_string),
        duplicated_template_id: s("duplicated_template_id"),
        obtained_at: now,
    })
}

/// `GET /oauth/callback?code=…&state=…` or `?error=…&state=…`
#[tracing::instrument(name = "oauth", skip_all, fields(otel.name = "oauth callback", oauth.step = "callback", oauth.outcome = tracing::field::Empty))]
pub async fn callback(
    State(s): State<Arc<OAuthState>>,
    Query(q): Query<HashMap<String, String>>,
) -> Response {
    let pending = match take_pending(&s, q.get("state")).await {
        Ok(p) => p,
        Err(page) => return page,
    };
    let back = |params: &[(&str, &str)]| {
        redirect_to_client(
            &s.cfg.issuer,
            &pending.redirect_uri,
            pending.state.as_deref(),
            params,
        )
    };
    if let Some(err) = q.get("error") {
        s.metrics.observe_oauth("callback", "notion_error");
        let (code, why) = notion_error(err);
        return back(&[("error", code), ("error_description", &why)]);
    }
    let Some(code) = q.get("code").filter(|c| !c.is_empty()) else {
        return back(&[
            ("error", "server_error"),
            ("error_description", "Notion's answer carries no code"),
        ]);
    };
    let now = now_unix();
    let creds = match exchange_code(&s, code, now).await {
        Ok(c) => c,
        Err(why) => return back(&[("error", "server_error"), ("error_description", &why)]),
    };
    let issued = Issued::new(&pending, creds, now);
    if let Err(e) = issued.store(&s).await {
        tracing::error!(error = %e, "could not store a new grant");
        return back(&[
            ("error", "temporarily_unavailable"),
            (
                "error_description",
                "the grant store is unavailable; try again",
            ),
        ]);
    }
    s.metrics.observe_oauth("callback", "ok");
    let notion = &issued.grant.notion;
    tracing::info!(
        grant_id = issued.grant.id,
        client_id = pending.client_id,
        workspace_id = notion.workspace_id,
        bot_id = notion.bot_id,
        user_id = notion.user_id.as_deref().unwrap_or(""),
        "Notion login completed"
    );
    let mut resp = back(&[("code", &issued.code)]);
    if let Some(user_id) = issued.grant.notion.user_id {
        remember_user(&s, &pending.client_id, user_id, now, &mut resp).await;
    }
    resp.into_response()
}

/// The pending authorization that `state` names (taken: it is single-use), or the error page to show.
async fn take_pending(
    s: &OAuthState,
    state: Option<&String>,
) -> Result<PendingAuthorization, Response> {
    let Some(state) = state.filter(|v| !v.is_empty()) else {
        return Err(error_page(
            StatusCode::BAD_REQUEST,
            "Login link invalid",
            "Notion's answer carries no state.",
        ));
    };
    match s
        .store
        .take::<PendingAuthorization>(&opaque_tokens::hash(state))
        .await
    {
        Ok(Some(p)) => Ok(p),
        Ok(None) => {
            s.metrics.observe_oauth("callback", "unknown_state");
            Err(error_page(
                StatusCode::BAD_REQUEST,
                "Login link expired or already used",
                "This login was already completed, took longer than ten minutes, or did not start here.",
            ))
        }
        Err(e) => {
            tracing::error!(error = %e, "grant store error at the callback");
            Err(error_page(
                StatusCode::SERVICE_UNAVAILABLE,
                "Temporarily unavailable",
                "The grant store is unavailable; try again shortly.",
            ))
        }
    }
}

/// The OAuth error code and description for the client when Notion answered with error `err`.
fn notion_error(err: &str) -> (&'static str, String) {
    if err == "access_denied" {
        (
            "access_denied",
            "the user cancelled the Notion login".to_string(),
        )
    } else {
        (
            "server_error",
            format!(
                "Notion answered the login with error '{}'",
                err.chars().take(64).collect::<String>()
            ),
        )
    }
}

/// Exchanges Notion's `code` for credentials; on failure, the error description for the client.
async fn exchange_code(s: &OAuthState, code: &str, now: i64) -> Result<NotionCredentials, String> {
    let body = json!({
        "grant_type": "authorization_code",
        "code": code,
        "redirect_uri": s.cfg.callback_url,
    });
    let answer = s
        .notion
        .oauth_token(&s.cfg.notion_client_id, &s.cfg.notion_client_secret, body)
        .await;
    match answer.as_ref().map(|v| credentials_from(v, now)) {
        Ok(Some(c)) => Ok(c),
        Ok(None) => {
            s.metrics.observe_oauth("callback", "notion_bad_answer");
            Err("Notion's token answer lacks access_token, bot_id or workspace_id".to_string())
        }
        Err(e) => {
            s.metrics.observe_oauth("callback", "notion_refused");
            tracing::warn!(error = %e, "Notion refused the code exchange");
            Err(format!("Notion refused the login ({})", e.code()))
        }
    }
}

/// A new grant and our own authorization code for it.
struct Issued {
    grant: Grant,
    /// Our code, sent to the client.
    code: String,
    /// What the code is stored as (under its hash).
    code_record: AuthCode,
}

impl Issued {
    /// A grant for `pending` holding `creds`, and a fresh code bound to the same client and PKCE challenge.
    fn new(pending: &PendingAuthorization, creds: NotionCredentials, now: i64) -> Self {
        let grant_id = opaque_tokens::random_id();
        let grant = Grant {
            id: grant_id.clone(),
            client_id: pending.client_id.clone(),
            client_name: pending.client_name.clone(),
            audience: pending.resource.clone(),
            scope: pending.scope.clone(),
            notion: creds,
            access: Vec::new(),
            refresh: None,
            refresh_retries: Vec::new(),
            refresh_parent: None,
            rotated: Vec::new(),
            created_at: now,
            last_used_at: now,
            // Until the code is exchanged; then the idle lifetime applies.
            expires_at: now + CODE_TTL_SECS + 60,
        };
        let code = format!("nmr_code_{}", opaque_tokens::random_secret());
        let code_record = AuthCode {
            grant_id,
            client_id: pending.client_id.clone(),
            redirect_uri: pending.redirect_uri.clone(),
            code_challenge: pending.code_challenge.clone(),
            resource: pending.resource.clone(),
            scope: pending.scope.clone(),
            expires_at: now + CODE_TTL_SECS,
            used_at: None,
        };
        Issued {
            grant,
            code,
            code_record,
        }
    }

    /// Stores the grant, then the code.
    async fn store(&self, s: &OAuthState) -> Result<(), StoreError> {
        s.store.create(&self.grant.id, &self.grant).await?;
        s.store
            .create(&opaque_tokens::hash(&self.code), &self.code_record)
            .await
    }
}

/// Remembers the user and their consent for `client_id`: a fresh consent record and a sealed
/// user cookie on `resp` (failures only logged).
async fn remember_user(
    s: &OAuthState,
    client_id: &str,
    user_id: String,
    now: i64,
    resp: &mut Response,
) {
    let consent = Consent {
        user_id: user_id.clone(),
        client_id: client_id.to_owned(),
        granted_at: now,
        expires_at: now + CONSENT_TTL_SECS,
    };
    let key = consent_key(&user_id, client_id);
    let _ = s.store.delete::<Consent>(&key).await;
    if let Err(e) = s.store.create(&key, &consent).await {
        tracing::warn!(error = %e, "could not remember consent");
    }
    let cookie = seal_value(
        s.store.keys(),
        USER_PURPOSE,
        &KnownUser {
            user_id,
            expires_at: now + CONSENT_TTL_SECS,
        },
    );
    if let Some(c) = s.cookies.set(USER_COOKIE, &cookie, CONSENT_TTL_SECS) {
        resp.headers_mut().append(header::SET_COOKIE, c);
    }
}
