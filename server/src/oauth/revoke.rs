//! `/revoke` (RFC 7009): revoking one of our access or refresh tokens revokes its whole grant; when no
//! other grant uses the same Notion bot, Notion's token is revoked too. Unknown tokens get 200, as the
//! RFC requires; an unauthenticated confidential client gets 401.

use super::OAuthState;
use super::clients;
use super::errors::OAuthError;
use super::opaque_tokens;
use crate::store::records::Grant;
use axum::extract::State;
use axum::response::{IntoResponse, Response};
use http::{HeaderMap, HeaderValue, StatusCode, header};
use std::sync::Arc;

/// `POST /revoke`
#[tracing::instrument(name = "oauth", skip_all, fields(otel.name = "oauth revoke", oauth.step = "revoke", oauth.outcome = tracing::field::Empty))]
pub async fn revoke(
    State(s): State<Arc<OAuthState>>,
    headers: HeaderMap,
    body: axum::body::Bytes,
) -> Response {
    let form: std::collections::HashMap<String, String> =
        url::form_urlencoded::parse(&body).into_owned().collect();
    let get = |k: &str| form.get(k).map(String::as_str).filter(|v| !v.is_empty());
    let result = async {
        let token = get("token").ok_or_else(|| OAuthError::invalid_request("token is required"))?;
        let client =
            clients::authenticate(&s, &headers, get("client_id"), get("client_secret")).await?;
        let Some((_, grant_id)) = opaque_tokens::parse(token) else {
            return Ok(());
        };
        let hash = opaque_tokens::hash(token);
        let Some(grant) = s.store.get::<Grant>(grant_id).await? else {
            return Ok(());
        };
        let belongs = grant
            .access
            .iter()
            .any(|t| opaque_tokens::same(&t.hash, &hash))
            || grant
                .refresh
                .iter()
                .chain(&grant.refresh_retries)
                .any(|t| opaque_tokens::same(&t.hash, &hash))
            || grant
                .rotated
                .iter()
                .any(|t| opaque_tokens::same(&t.hash, &hash));
        if belongs && grant.client_id == client.client_id {
            s.grants.revoke(grant_id, "revoked by the client").await;
        }
        Ok::<(), OAuthError>(())
    }
    .await;
    let mut resp = match result {
        Ok(()) => {
            s.metrics.observe_oauth("revoke", "ok");
            StatusCode::OK.into_response()
        }
        Err(e) => {
            s.metrics.observe_oauth("revoke", e.error);
            e.into_response()
        }
    };
    resp.headers_mut()
        .insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    resp.headers_mut().insert(
        header::ACCESS_CONTROL_ALLOW_ORIGIN,
        HeaderValue::from_static("*"),
    );
    resp
}
