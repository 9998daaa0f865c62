//! Who a `client_id` is — a dynamically registered client from the store, or a Client ID Metadata
//! Document fetched from its URL — and how a client proves it at the token and revocation endpoints.

use super::errors::OAuthError;
use super::{OAuthState, opaque_tokens};
use crate::store::records::{ClientAuthMethod, RegisteredClient};
use crate::store::{Decision, now_unix};
use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use http::{HeaderMap, header};

/// A known client.
#[derive(Debug, Clone)]
pub struct Client {
    pub client_id: String,
    pub client_name: Option<String>,
    pub redirect_uris: Vec<String>,
    pub auth_method: ClientAuthMethod,
    secret_hash: Option<String>,
    /// Identified by a metadata document URL (rather than registered here).
    pub from_metadata_document: bool,
}

impl Client {
    /// A public client described by a metadata document.
    pub fn from_metadata_document(
        client_id: &str,
        client_name: Option<String>,
        redirect_uris: Vec<String>,
    ) -> Self {
        Client {
            client_id: client_id.to_string(),
            client_name,
            redirect_uris,
            auth_method: ClientAuthMethod::None,
            secret_hash: None,
            from_metadata_document: true,
        }
    }

    pub fn allows_redirect(&self, uri: &str) -> bool {
        self.redirect_uris.iter().any(|r| r == uri)
    }
}

impl From<RegisteredClient> for Client {
    fn from(c: RegisteredClient) -> Self {
        Client {
            client_id: c.client_id,
            client_name: c.client_name,
            redirect_uris: c.redirect_uris,
            auth_method: c.auth_method,
            secret_hash: c.secret_hash,
            from_metadata_document: false,
        }
    }
}

/// Whether a client id names a metadata document rather than a registration.
pub fn is_metadata_url(client_id: &str) -> bool {
    client_id.starts_with("https://") || client_id.starts_with("http://")
}

/// Look a client up. `Ok(None)`: unknown (never registered, expired, or a document that cannot be
/// used — the reason is in `Err` for documents).
pub async fn find(state: &OAuthState, client_id: &str) -> Result<Option<Client>, OAuthError> {
    if is_metadata_url(client_id) {
        return state.cimd.client(client_id).await.map(Some);
    }
    if crate::store::check_key(client_id).is_err() {
        return Ok(None);
    }
    let Some(found) = state.store.get::<RegisteredClient>(client_id).await? else {
        return Ok(None);
    };
    touch(state, client_id, found.last_used_at).await;
    Ok(Some(found.into()))
}

/// Push an active client's expiry forward (at most once a day, to keep writes rare).
async fn touch(state: &OAuthState, client_id: &str, last_used: i64) {
    let now = now_unix();
    if now - last_used < 86_400 {
        return;
    }
    let idle = state.cfg.client_idle.as_secs() as i64;
    let r = state
        .store
        .update::<RegisteredClient, _>(client_id, |c| {
            c.last_used_at = now;
            c.expires_at = now + idle;
            Decision::Write(())
        })
        .await;
    if let Err(e) = r {
        tracing::warn!(error = %e, "could not extend a client's lifetime");
    }
}

/// Credentials a client presented at the token or revocation endpoint.
struct Presented {
    client_id: String,
    secret: Option<String>,
}

fn presented(
    headers: &HeaderMap,
    form_id: Option<&str>,
    form_secret: Option<&str>,
) -> Result<Presented, OAuthError> {
    if let Some(v) = headers.get(header::AUTHORIZATION) {
        let v = v.to_str().map_err(|_| {
            OAuthError::invalid_client("the Authorization header is not valid ASCII")
        })?;
        let (scheme, rest) = v.trim().split_once(' ').unwrap_or((v, ""));
        if scheme.eq_ignore_ascii_case("basic") {
            let decoded = STANDARD
                .decode(rest.trim())
                .ok()
                .and_then(|b| String::from_utf8(b).ok())
                .ok_or_else(|| OAuthError::invalid_client("malformed Basic credentials"))?;
            let (id, secret) = decoded
                .split_once(':')
                .ok_or_else(|| OAuthError::invalid_client("malformed Basic credentials"))?;
            // RFC 6749 §2.3.1: both parts are form-urlencoded.
            let dec = |s: &str| {
                url::form_urlencoded::parse(format!("x={s}").as_bytes())
                    .next()
                    .map(|(_, v)| v.into_owned())
                    .unwrap_or_default()
            };
            let (id, secret) = (dec(id), dec(secret));
            if form_id.is_some_and(|f| f != id) {
                return Err(OAuthError::invalid_request(
                    "client_id in the body differs from the Basic credentials",
                ));
            }
            return Ok(Presented {
                client_id: id,
                secret: Some(secret),
            });
        }
    }
    let client_id = form_id.filter(|s| !s.is_empty()).ok_or_else(|| {
        OAuthError::invalid_client("client_id is required (in the body or with HTTP Basic)")
    })?;
    Ok(Presented {
        client_id: client_id.to_string(),
        secret: form_secret.map(str::to_string),
    })
}

/// Authenticate the client of a token or revocation request.
pub async fn authenticate(
    state: &OAuthState,
    headers: &HeaderMap,
    form_id: Option<&str>,
    form_secret: Option<&str>,
) -> Result<Client, OAuthError> {
    let p = presented(headers, form_id, form_secret)?;
    let client = match find(state, &p.client_id).await {
        Ok(Some(c)) => c,
        Ok(None) => {
            return Err(OAuthError::invalid_client(
                "unknown client_id (it may have expired): register again",
            ));
        }
        Err(e) if e.error == "invalid_client" => return Err(e),
        Err(e) if e.status.is_server_error() => return Err(e),
        Err(e) => return Err(OAuthError::invalid_client(e.description)),
    };
    match (client.auth_method, &client.secret_hash, p.secret) {
        (ClientAuthMethod::None, _, None) => Ok(client),
        (ClientAuthMethod::None, _, Some(_)) => Err(OAuthError::invalid_client(
            "this client is public (token_endpoint_auth_method none) and has no secret",
        )),
        (_, Some(hash), Some(secret))
            if opaque_tokens::same(&opaque_tokens::hash(&secret), hash) =>
        {
            Ok(client)
        }
        (_, _, Some(_)) => Err(OAuthError::invalid_client("wrong client secret")),
        (_, _, None) => Err(OAuthError::invalid_client(
            "this client is confidential: authenticate with its client_secret",
        )),
    }
}
