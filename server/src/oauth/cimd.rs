//! Client ID Metadata Documents: a `client_id` that is an https URL names a JSON document describing
//! the client. It is fetched with bounds on time and size, never following redirects, only from
//! public addresses (a resolver refuses loopback, private, link-local and other internal ranges), and
//! cached for what its Cache-Control allows (between 1 minute and 1 day).

use super::clients::Client;
use super::errors::OAuthError;
use super::registration::check_redirect_uri;
use reqwest::dns::{Addrs, Name, Resolve, Resolving};
use serde::Deserialize;
use std::collections::HashMap;
use std::net::{IpAddr, SocketAddr};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

const MAX_BYTES: usize = 64 * 1024;
const TIMEOUT: Duration = Duration::from_secs(5);
const MAX_ENTRIES: usize = 1_000;
const DEFAULT_TTL: Duration = Duration::from_secs(300);
/// Redirect URIs a document may list (as many as a registration may).
const MAX_REDIRECT_URIS: usize = 20;

/// Whether an address is reachable from the public internet (not loopback, private, link-local,
/// CGNAT, multicast, documentation or unspecified).
pub fn is_public(ip: IpAddr) -> bool {
    match ip {
        IpAddr::V4(v4) => {
            let o = v4.octets();
            !(v4.is_loopback()
                || v4.is_private()
                || v4.is_link_local()
                || v4.is_broadcast()
                || v4.is_documentation()
                || v4.is_unspecified()
                || v4.is_multicast()
                || o[0] == 0
                || (o[0] == 100 && (64..128).contains(&o[1]))
                || (o[0] == 192 && o[1] == 0 && o[2] == 0)
                || (o[0] == 198 && (18..20).contains(&o[1]))
                || o[0] >= 240)
        }
        IpAddr::V6(v6) => {
            if let Some(v4) = v6.to_ipv4_mapped() {
                return is_public(IpAddr::V4(v4));
            }
            let s = v6.segments();
            !(v6.is_loopback()
                || v6.is_unspecified()
                || v6.is_multicast()
                || (s[0] & 0xfe00) == 0xfc00
                || (s[0] & 0xffc0) == 0xfe80
                || (s[0] == 0x2001 && s[1] == 0x0db8))
        }
    }
}

/// A resolver that only returns public addresses.
struct PublicOnly;

impl Resolve for PublicOnly {
    fn resolve(&self, name: Name) -> Resolving {
        Box::pin(async move {
            let host = name.as_str().to_string();
            let addrs: Vec<SocketAddr> = tokio::net::lookup_host((host.as_str(), 443))
                .await?
                .filter(|a| is_public(a.ip()))
                .collect();
            if addrs.is_empty() {
                return Err(format!("'{host}' does not resolve to a public address").into());
            }
            Ok(Box::new(addrs.into_iter()) as Addrs)
        })
    }
}

#[derive(Deserialize)]
struct Document {
    client_id: String,
    #[serde(default)]
    client_name: Option<String>,
    redirect_uris: Vec<String>,
    #[serde(default)]
    token_endpoint_auth_method: Option<String>,
}

/// Check a metadata document URL before fetching it: https (or loopback http when allowed), a path,
/// no fragment or credentials, and not a literal non-public address.
pub fn check_document_url(raw: &str, allow_loopback: bool) -> Result<url::Url, OAuthError> {
    let u = url::Url::parse(raw).map_err(|e| bad(raw, format!("not a URL ({e})")))?;
    let loopback_http = allow_loopback
        && u.scheme() == "http"
        && matches!(u.host_str(), Some("127.0.0.1" | "localhost" | "[::1]"));
    if u.scheme() != "https" && !loopback_http {
        return Err(bad(raw, "must be an https URL"));
    }
    if u.path() == "/" || u.path().is_empty() {
        return Err(bad(raw, "must have a path"));
    }
    if u.fragment().is_some() || !u.username().is_empty() || u.password().is_some() {
        return Err(bad(raw, "must not contain a fragment or credentials"));
    }
    if !loopback_http {
        match u.host() {
            Some(url::Host::Ipv4(ip)) if !is_public(IpAddr::V4(ip)) => {
                return Err(bad(raw, "points at a non-public address"));
            }
            Some(url::Host::Ipv6(ip)) if !is_public(IpAddr::V6(ip)) => {
                return Err(bad(raw, "points at a non-public address"));
            }
            None => return Err(bad(raw, "has no host")),
            _ => {}
        }
    }
    Ok(u)
}

/// Parse a fetched metadata document for `client_id` and check it: its `client_id` must be its URL,
/// it must list redirect URIs that registration would accept, and the client must be public.
pub fn parse_document(
    client_id: &str,
    body: &[u8],
    allowed_hosts: &[String],
) -> Result<Client, OAuthError> {
    let doc: Document = serde_json::from_slice(body)
        .map_err(|e| bad(client_id, format!("is not valid client metadata ({e})")))?;
    if doc.client_id != client_id {
        return Err(bad(
            client_id,
            format!("its client_id '{}' differs from its URL", doc.client_id),
        ));
    }
    if doc.redirect_uris.is_empty() {
        return Err(bad(client_id, "lists no redirect_uris"));
    }
    if doc.redirect_uris.len() > MAX_REDIRECT_URIS {
        return Err(bad(
            client_id,
            format!("lists more than {MAX_REDIRECT_URIS} redirect_uris"),
        ));
    }
    // The same rules as for registered clients: https (or loopback http), no fragment, and an
    // allowed host when the operator restricts them.
    for uri in &doc.redirect_uris {
        check_redirect_uri(uri, allowed_hosts).map_err(|why| bad(client_id, why))?;
    }
    match doc.token_endpoint_auth_method.as_deref() {
        None | Some("none") => {}
        Some(other) => {
            return Err(bad(
                client_id,
                format!("token_endpoint_auth_method '{other}' is not supported (use none)"),
            ));
        }
    }
    Ok(Client::from_metadata_document(
        client_id,
        doc.client_name.map(|n| n.chars().take(200).collect()),
        doc.redirect_uris,
    ))
}

/// Fetched documents, by URL.
pub struct CimdCache {
    http: reqwest::Client,
    allow_loopback: bool,
    /// The operator's redirect host allow-list (empty: any host), as for registered clients.
    allowed_hosts: Vec<String>,
    entries: Mutex<HashMap<String, (Client, Instant)>>,
}

fn bad(url: &str, why: impl std::fmt::Display) -> OAuthError {
    OAuthError::invalid_client(format!("client metadata document {url}: {why}"))
}

impl CimdCache {
    pub fn new(allow_loopback: bool, allowed_hosts: Vec<String>) -> Result<Self, OAuthError> {
        crate::notion::install_crypto_provider();
        let mut b = reqwest::Client::builder()
            .redirect(reqwest::redirect::Policy::none())
            .timeout(TIMEOUT)
            .connect_timeout(Duration::from_secs(3))
            .user_agent(concat!("notion-mcp-remote/", env!("CARGO_PKG_VERSION")));
        if !allow_loopback {
            b = b.dns_resolver(Arc::new(PublicOnly));
        }
        let http = b
            .build()
            .map_err(|e| OAuthError::server_error(format!("building the HTTP client: {e}")))?;
        Ok(CimdCache {
            http,
            allow_loopback,
            allowed_hosts,
            entries: Mutex::new(HashMap::new()),
        })
    }

    /// The client a document describes (from cache or fetched now).
    pub async fn client(&self, client_id: &str) -> Result<Client, OAuthError> {
        if let Some(c) = self.cached(client_id) {
            return Ok(c);
        }
        let url = check_document_url(client_id, self.allow_loopback)?;
        let mut resp = self
            .http
            .get(url)
            .header(http::header::ACCEPT, "application/json")
            .send()
            .await
            .map_err(|e| {
                bad(
                    client_id,
                    format!("cannot be fetched ({})", without_url(&e)),
                )
            })?;
        if !resp.status().is_success() {
            return Err(bad(
                client_id,
                format!(
                    "answered HTTP {} (redirects are not followed)",
                    resp.status().as_u16()
                ),
            ));
        }
        let ttl = max_age(resp.headers()).unwrap_or(DEFAULT_TTL);
        let mut body = Vec::new();
        while let Some(chunk) = resp
            .chunk()
            .await
            .map_err(|e| bad(client_id, format!("reading failed ({})", without_url(&e))))?
        {
            body.extend_from_slice(&chunk);
            if body.len() > MAX_BYTES {
                return Err(bad(client_id, format!("is larger than {MAX_BYTES} bytes")));
            }
        }
        let client = parse_document(client_id, &body, &self.allowed_hosts)?;
        self.insert(client_id, client.clone(), ttl);
        Ok(client)
    }

    fn cached(&self, id: &str) -> Option<Client> {
        let entries = self.entries.lock().ok()?;
        entries
            .get(id)
            .filter(|(_, until)| *until > Instant::now())
            .map(|(c, _)| c.clone())
    }

    fn insert(&self, id: &str, client: Client, ttl: Duration) {
        if let Ok(mut entries) = self.entries.lock() {
            if entries.len() >= MAX_ENTRIES {
                let now = Instant::now();
                entries.retain(|_, (_, until)| *until > now);
                if entries.len() >= MAX_ENTRIES
                    && let Some(oldest) = entries
                        .iter()
                        .min_by_key(|(_, (_, until))| *until)
                        .map(|(k, _)| k.clone())
                {
                    entries.remove(&oldest);
                }
            }
            entries.insert(id.to_string(), (client, Instant::now() + ttl));
        }
    }

    pub fn sweep(&self) {
        if let Ok(mut entries) = self.entries.lock() {
            let now = Instant::now();
            entries.retain(|_, (_, until)| *until > now);
        }
    }
}

/// reqwest errors print the URL; the caller already names it.
fn without_url(e: &reqwest::Error) -> String {
    let mut s = e.to_string();
    if let Some(u) = e.url() {
        s = s.replace(u.as_str(), "").replace(" ()", "");
    }
    s.trim().to_string()
}

/// `Cache-Control: max-age`, clamped to 1 minute .. 1 day; `no-store`/`no-cache` → 1 minute.
fn max_age(headers: &http::HeaderMap) -> Option<Duration> {
    let cc = headers.get(http::header::CACHE_CONTROL)?.to_str().ok()?;
    let mut ttl = None;
    for part in cc.split(',').map(str::trim) {
        if part.eq_ignore_ascii_case("no-store") || part.eq_ignore_ascii_case("no-cache") {
            return Some(Duration::from_secs(60));
        }
        if let Some(v) = part.strip_prefix("max-age=") {
            ttl = v.parse::<u64>().ok();
        }
    }
    ttl.map(|s| Duration::from_secs(s.clamp(60, 86_400)))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn internal_addresses_are_not_public() {
        for ip in [
            "127.0.0.1",
            "10.1.2.3",
            "172.16.0.1",
            "192.168.1.1",
            "169.254.169.254",
            "100.64.0.1",
            "0.0.0.0",
            "::1",
            "fd00::1",
            "fe80::1",
            "::ffff:10.0.0.1",
        ] {
            assert!(!is_public(ip.parse().expect("ip")), "{ip}");
        }
        for ip in ["1.1.1.1", "160.79.104.10", "2606:4700::1111"] {
            assert!(is_public(ip.parse().expect("ip")), "{ip}");
        }
    }

    #[test]
    fn document_urls_are_checked_before_fetching() {
        assert!(
            check_document_url("https://claude.ai/oauth/mcp-oauth-client-metadata", false).is_ok()
        );
        for bad in [
            "http://example.com/meta",
            "https://example.com/",
            "https://127.0.0.1/meta",
            "https://[::1]/meta",
            "https://user:pw@example.com/meta",
            "https://example.com/meta#x",
            "http://127.0.0.1:9/meta",
        ] {
            assert!(check_document_url(bad, false).is_err(), "{bad}");
        }
        assert!(check_document_url("http://127.0.0.1:9/meta", true).is_ok());
    }

    #[test]
    fn document_redirect_uris_follow_registration_rules() {
        let id = "https://client.example/meta";
        let doc = |uris: &str| format!(r#"{{"client_id":"{id}","redirect_uris":{uris}}}"#);
        let ok = parse_document(id, doc(r#"["https://client.example/cb"]"#).as_bytes(), &[]);
        assert_eq!(
            ok.expect("accepted").redirect_uris,
            ["https://client.example/cb"]
        );
        for uris in [
            r#"["javascript:alert(1)"]"#,
            r#"["http://evil.example/cb"]"#,
            r#"["https://client.example/cb#f"]"#,
            r#"["https://client.example/cb", "data:text/html,x"]"#,
        ] {
            let e = parse_document(id, doc(uris).as_bytes(), &[]);
            assert_eq!(e.expect_err(uris).error, "invalid_client", "{uris}");
        }
        let many = serde_json::to_string(&vec!["https://client.example/cb"; 21]).expect("json");
        assert!(parse_document(id, doc(&many).as_bytes(), &[]).is_err());
        let allowed = vec!["claude.ai".to_string()];
        assert!(
            parse_document(
                id,
                doc(r#"["https://client.example/cb"]"#).as_bytes(),
                &allowed
            )
            .is_err()
        );
        assert!(
            parse_document(id, doc(r#"["http://127.0.0.1:5/cb"]"#).as_bytes(), &allowed).is_ok()
        );
    }

    #[test]
    fn cache_lifetime_follows_cache_control() {
        let mut h = http::HeaderMap::new();
        h.insert(
            http::header::CACHE_CONTROL,
            "public, max-age=7200".parse().expect("hv"),
        );
        assert_eq!(max_age(&h), Some(Duration::from_secs(7200)));
        h.insert(
            http::header::CACHE_CONTROL,
            "max-age=5".parse().expect("hv"),
        );
        assert_eq!(max_age(&h), Some(Duration::from_secs(60)));
        h.insert(http::header::CACHE_CONTROL, "no-store".parse().expect("hv"));
        assert_eq!(max_age(&h), Some(Duration::from_secs(60)));
    }
}
