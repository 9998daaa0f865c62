//! Dynamic Client Registration (RFC 7591): public clients (`none`, PKCE only — CLI and desktop
//! clients) and confidential ones (`client_secret_post` / `client_secret_basic` — claude.ai).
//! Registrations are rate limited per address and forgotten when unused for a while.

use super::errors::OAuthError;
use super::{OAuthState, SCOPE, opaque_tokens};
use crate::store::now_unix;
use crate::store::records::{ClientAuthMethod, RegisteredClient};
use axum::Json;
use axum::extract::{ConnectInfo, State};
use axum::response::{IntoResponse, Response};
use governor::{DefaultKeyedRateLimiter, Quota, RateLimiter};
use http::{HeaderMap, HeaderValue, StatusCode, header};
use serde_json::{Map, Value, json};
use std::net::{IpAddr, SocketAddr};
use std::num::NonZeroU32;
use std::sync::Arc;

/// Registrations per address per minute.
pub struct RegistrationLimiter(DefaultKeyedRateLimiter<IpAddr>);

impl RegistrationLimiter {
    pub fn new(per_minute: u32) -> Self {
        let n = NonZeroU32::new(per_minute.max(1)).unwrap_or(NonZeroU32::MIN);
        RegistrationLimiter(RateLimiter::keyed(Quota::per_minute(n)))
    }

    pub fn sweep(&self) {
        self.0.retain_recent();
        self.0.shrink_to_fit();
    }
}

/// The caller's address: the peer, or the first X-Forwarded-For hop behind a trusted proxy.
pub fn client_ip(headers: &HeaderMap, peer: Option<SocketAddr>, trust_forwarded: bool) -> IpAddr {
    if trust_forwarded
        && let Some(ip) = headers
            .get("x-forwarded-for")
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.split(',').next())
            .and_then(|v| v.trim().parse().ok())
    {
        return ip;
    }
    peer.map(|p| p.ip())
        .unwrap_or(IpAddr::V4(std::net::Ipv4Addr::UNSPECIFIED))
}

fn is_loopback_host(host: &str) -> bool {
    matches!(host, "localhost" | "127.0.0.1" | "[::1]" | "::1")
}

/// A redirect URI must be https, or http on a loopback host (native clients, RFC 8252 §7.3); no
/// fragment; and on an allowed host when the operator restricts them.
pub fn check_redirect_uri(uri: &str, allowed_hosts: &[String]) -> Result<(), String> {
    let u = url::Url::parse(uri).map_err(|e| format!("'{uri}' is not an absolute URL ({e})"))?;
    if u.fragment().is_some() {
        return Err(format!("'{uri}' must not contain a fragment"));
    }
    let host = u.host_str().unwrap_or("").to_ascii_lowercase();
    match u.scheme() {
        "http" if is_loopback_host(&host) => Ok(()),
        "http" => Err(format!(
            "'{uri}' uses http; only https, or http on localhost/127.0.0.1/[::1], is accepted"
        )),
        "https" if host.is_empty() => Err(format!("'{uri}' has no host")),
        "https" if !allowed_hosts.is_empty() && !allowed_hosts.contains(&host) => Err(format!(
            "'{uri}': host '{host}' is not among this server's allowed redirect hosts ({})",
            allowed_hosts.join(", ")
        )),
        "https" => Ok(()),
        other => Err(format!(
            "'{uri}' uses the scheme '{other}'; only https (or loopback http) redirects are accepted"
        )),
    }
}

fn string_list(doc: &Map<String, Value>, field: &str) -> Result<Option<Vec<String>>, OAuthError> {
    match doc.get(field) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::Array(items)) => items
            .iter()
            .map(|v| {
                v.as_str().map(str::to_string).ok_or_else(|| {
                    OAuthError::invalid_client_metadata(format!(
                        "{field} must be an array of strings"
                    ))
                })
            })
            .collect::<Result<Vec<_>, _>>()
            .map(Some),
        Some(_) => Err(OAuthError::invalid_client_metadata(format!(
            "{field} must be an array of strings"
        ))),
    }
}

fn optional_string(
    doc: &Map<String, Value>,
    field: &str,
    max: usize,
) -> Result<Option<String>, OAuthError> {
    match doc.get(field) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::String(s)) if s.chars().count() <= max => {
            Ok(Some(s.chars().filter(|c| !c.is_control()).collect()))
        }
        Some(Value::String(_)) => Err(OAuthError::invalid_client_metadata(format!(
            "{field} is longer than {max} characters"
        ))),
        Some(_) => Err(OAuthError::invalid_client_metadata(format!(
            "{field} must be a string"
        ))),
    }
}

/// A validated registration: auth method, redirect URIs, name, and the metadata echoed back.
#[derive(Debug)]
pub struct Validated {
    method: ClientAuthMethod,
    redirect_uris: Vec<String>,
    client_name: Option<String>,
    echo: Map<String, Value>,
}

impl Validated {
    /// The redirect URIs the client registered.
    pub fn redirect_uris(&self) -> &[String] {
        &self.redirect_uris
    }
}

/// Validate a registration document.
fn validate(doc: &Map<String, Value>, allowed_hosts: &[String]) -> Result<Validated, OAuthError> {
    let redirect_uris = string_list(doc, "redirect_uris")?.unwrap_or_default();
    if redirect_uris.is_empty() {
        return Err(OAuthError::invalid_redirect_uri(
            "redirect_uris is required and must not be empty",
        ));
    }
    if redirect_uris.len() > 20 {
        return Err(OAuthError::invalid_redirect_uri(
            "at most 20 redirect_uris are accepted",
        ));
    }
    for uri in &redirect_uris {
        check_redirect_uri(uri, allowed_hosts).map_err(OAuthError::invalid_redirect_uri)?;
    }
    let method = match optional_string(doc, "token_endpoint_auth_method", 64)?.as_deref() {
        // RFC 7591 §2: the default is client_secret_basic.
        None | Some("client_secret_basic") => ClientAuthMethod::ClientSecretBasic,
        Some("client_secret_post") => ClientAuthMethod::ClientSecretPost,
        Some("none") => ClientAuthMethod::None,
        Some(other) => {
            return Err(OAuthError::invalid_client_metadata(format!(
                "token_endpoint_auth_method '{other}' is not supported (none, client_secret_post, client_secret_basic)"
            )));
        }
    };
    let grant_types = string_list(doc, "grant_types")?
        .unwrap_or_else(|| vec!["authorization_code".into(), "refresh_token".into()]);
    if let Some(g) = grant_types
        .iter()
        .find(|g| !matches!(g.as_str(), "authorization_code" | "refresh_token"))
    {
        return Err(OAuthError::invalid_client_metadata(format!(
            "grant type '{g}' is not supported (authorization_code, refresh_token)"
        )));
    }
    if let Some(r) =
        string_list(doc, "response_types")?.and_then(|r| r.into_iter().find(|t| t != "code"))
    {
        return Err(OAuthError::invalid_client_metadata(format!(
            "response type '{r}' is not supported (code)"
        )));
    }
    let client_name = optional_string(doc, "client_name", 200)?;
    let mut echo = Map::new();
    for field in [
        "client_uri",
        "logo_uri",
        "tos_uri",
        "policy_uri",
        "software_id",
        "software_version",
        "application_type",
        "contacts",
    ] {
        if let Some(v) = doc
            .get(field)
            .filter(|v| v.as_str().is_some_and(|s| s.len() <= 2000) || v.is_array())
        {
            echo.insert(field.into(), v.clone());
        }
    }
    echo.insert("redirect_uris".into(), json!(redirect_uris));
    echo.insert("token_endpoint_auth_method".into(), json!(method.as_str()));
    echo.insert("grant_types".into(), json!(grant_types));
    echo.insert("response_types".into(), json!(["code"]));
    echo.insert("scope".into(), json!(SCOPE));
    if let Some(n) = &client_name {
        echo.insert("client_name".into(), json!(n));
    }
    Ok(Validated {
        method,
        redirect_uris,
        client_name,
        echo,
    })
}

/// `POST /register`
#[tracing::instrument(name = "oauth", skip_all, fields(otel.name = "oauth register", oauth.step = "register", oauth.outcome = tracing::field::Empty))]
pub async fn register(State(s): State<Arc<OAuthState>>, req: axum::extract::Request) -> Response {
    let (parts, body) = req.into_parts();
    let peer = parts
        .extensions
        .get::<ConnectInfo<SocketAddr>>()
        .map(|c| c.0);
    let ip = client_ip(&parts.headers, peer, s.cfg.trust_forwarded);
    let body = match axum::body::to_bytes(body, 64 * 1024).await {
        Ok(b) => b,
        Err(_) => {
            return OAuthError::invalid_client_metadata(
                "the registration document is larger than 64 KiB",
            )
            .into_response();
        }
    };
    if s.registrations.0.check_key(&ip).is_err() {
        let mut resp = OAuthError::new(
            StatusCode::TOO_MANY_REQUESTS,
            "too_many_requests",
            "too many client registrations from this address; retry in a minute",
        )
        .into_response();
        resp.headers_mut()
            .insert(header::RETRY_AFTER, HeaderValue::from_static("60"));
        return resp;
    }
    match register_inner(&s, &body).await {
        Ok(v) => {
            let mut resp = (StatusCode::CREATED, Json(v)).into_response();
            resp.headers_mut()
                .insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
            resp.headers_mut().insert(
                header::ACCESS_CONTROL_ALLOW_ORIGIN,
                HeaderValue::from_static("*"),
            );
            resp
        }
        Err(e) => e.into_response(),
    }
}

/// Parse and validate a registration request body (a JSON object), as `POST /register` does before
/// storing anything.
pub fn validate_document(body: &[u8], allowed_hosts: &[String]) -> Result<Validated, OAuthError> {
    let doc: Value = serde_json::from_slice(body).map_err(|e| {
        OAuthError::invalid_client_metadata(format!("the body must be a JSON object: {e}"))
    })?;
    let Value::Object(doc) = doc else {
        return Err(OAuthError::invalid_client_metadata(
            "the body must be a JSON object",
        ));
    };
    validate(&doc, allowed_hosts)
}

async fn register_inner(s: &OAuthState, body: &[u8]) -> Result<Value, OAuthError> {
    let Validated {
        method,
        redirect_uris,
        client_name,
        mut echo,
    } = validate_document(body, &s.cfg.allowed_redirect_hosts)?;
    let client_id = format!("nmr_client_{}", opaque_tokens::random_id());
    let secret = (method != ClientAuthMethod::None)
        .then(|| format!("nmr_cs_{}", opaque_tokens::random_secret()));
    let now = now_unix();
    let record = RegisteredClient {
        client_id: client_id.clone(),
        client_name: client_name.clone(),
        redirect_uris,
        auth_method: method,
        secret_hash: secret.as_deref().map(opaque_tokens::hash),
        metadata: Value::Object(echo.clone()),
        created_at: now,
        last_used_at: now,
        expires_at: now + s.cfg.client_idle.as_secs() as i64,
    };
    s.store.create(&client_id, &record).await?;
    s.metrics.observe_oauth("register", "ok");
    tracing::info!(
        client_id,
        client_name = client_name.as_deref().unwrap_or(""),
        auth_method = method.as_str(),
        "client registered"
    );
    echo.insert("client_id".into(), json!(client_id));
    echo.insert("client_id_issued_at".into(), json!(now));
    if let Some(secret) = secret {
        echo.insert("client_secret".into(), json!(secret));
        echo.insert("client_secret_expires_at".into(), json!(0));
    }
    Ok(Value::Object(echo))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn redirect_rules() {
        assert!(check_redirect_uri("https://claude.ai/api/mcp/auth_callback", &[]).is_ok());
        assert!(check_redirect_uri("http://127.0.0.1:33418/callback", &[]).is_ok());
        assert!(check_redirect_uri("http://localhost:6276/oauth/callback", &[]).is_ok());
        assert!(check_redirect_uri("http://evil.example/cb", &[]).is_err());
        assert!(check_redirect_uri("javascript:alert(1)", &[]).is_err());
        assert!(check_redirect_uri("https://a.example/cb#frag", &[]).is_err());
        let allowed = vec!["claude.ai".to_string()];
        assert!(check_redirect_uri("https://claude.ai/cb", &allowed).is_ok());
        assert!(check_redirect_uri("https://evil.example/cb", &allowed).is_err());
        assert!(check_redirect_uri("http://127.0.0.1:1/cb", &allowed).is_ok());
    }

    #[test]
    fn registration_documents() {
        let doc = |v: Value| v.as_object().cloned().expect("object");
        let Validated {
            method: m,
            redirect_uris: uris,
            client_name: name,
            echo,
        } = validate(
            &doc(json!({"redirect_uris": ["https://claude.ai/api/mcp/auth_callback"], "token_endpoint_auth_method": "client_secret_post", "client_name": "Claude"})),
            &[],
        )
        .expect("valid");
        assert_eq!(m, ClientAuthMethod::ClientSecretPost);
        assert_eq!(uris.len(), 1);
        assert_eq!(name.as_deref(), Some("Claude"));
        assert_eq!(
            echo["grant_types"],
            json!(["authorization_code", "refresh_token"])
        );
        let Validated { method: m, .. } = validate(&doc(json!({"redirect_uris": ["http://127.0.0.1:9/cb"], "token_endpoint_auth_method": "none"})), &[]).expect("valid");
        assert_eq!(m, ClientAuthMethod::None);
        for (bad, err) in [
            (json!({}), "invalid_redirect_uri"),
            (
                json!({"redirect_uris": "https://a.example/cb"}),
                "invalid_client_metadata",
            ),
            (
                json!({"redirect_uris": ["http://a.example/cb"]}),
                "invalid_redirect_uri",
            ),
            (
                json!({"redirect_uris": ["https://a.example/cb"], "token_endpoint_auth_method": "private_key_jwt"}),
                "invalid_client_metadata",
            ),
            (
                json!({"redirect_uris": ["https://a.example/cb"], "grant_types": ["client_credentials"]}),
                "invalid_client_metadata",
            ),
            (
                json!({"redirect_uris": ["https://a.example/cb"], "response_types": ["token"]}),
                "invalid_client_metadata",
            ),
            (
                json!({"redirect_uris": ["https://a.example/cb"], "client_name": 5}),
                "invalid_client_metadata",
            ),
        ] {
            let e = validate(&doc(bad.clone()), &[]).expect_err("invalid");
            assert_eq!(e.error, err, "{bad}");
        }
    }
}
