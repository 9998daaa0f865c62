//! OAuth inputs. The first byte picks what the rest is:
//! 0. a Dynamic Client Registration document (`validate_document`, with and without a redirect host
//!    allow-list);
//! 1. a Client ID Metadata Document: first line the client id (URL), the rest the fetched body
//!    (`check_document_url`, `parse_document`);
//! 2. a `/token` request: first line the `Authorization` header (empty: none), the rest the form;
//! 3. a `/revoke` request, same layout;
//! 4. an `/authorize` query string;
//! 5. an `/authorize/consent` form: first line the `Cookie` header, the rest the form.
//!
//! 2–5 go through the real OAuth router (memory store) with two clients registered up front;
//! `@C`/`@S` in the input stand for the confidential client's id/secret and `@P` for the public
//! client's id, so the fuzzer reaches past client lookup. Client ids that are metadata URLs are
//! skipped there (they would be fetched from the network); (1) covers those documents.
#![no_main]

use axum::Router;
use axum::body::Body;
use base64::Engine;
use libfuzzer_sys::fuzz_target;
use notion_mcp_remote::config::AuthMode;
use notion_mcp_remote::oauth::{check_document_url, parse_document, validate_document};
use notion_mcp_remote_fuzz::{
    HOST, assert_not_internal_error, base_args, query_escape, router, send,
};
use serde_json::Value;
use std::sync::OnceLock;

struct Oauth {
    router: Router,
    confidential_id: String,
    secret: String,
    public_id: String,
}

fn register(router: &Router, doc: Value) -> Value {
    let req = http::Request::post("/register")
        .header(http::header::HOST, HOST)
        .header(http::header::CONTENT_TYPE, "application/json")
        .body(Body::from(doc.to_string()))
        .expect("request");
    let (status, body) = send(router, req);
    assert_eq!(
        status,
        http::StatusCode::CREATED,
        "{}",
        String::from_utf8_lossy(&body)
    );
    serde_json::from_slice(&body).expect("registration answer")
}

fn oauth() -> &'static Oauth {
    static OAUTH: OnceLock<Oauth> = OnceLock::new();
    OAUTH.get_or_init(|| {
        let mut args = base_args();
        args.auth_mode = AuthMode::Oauth;
        args.oauth.notion_oauth_client_id = Some("fuzz-notion-client".into());
        args.oauth.notion_oauth_client_secret = Some("fuzz-notion-secret".parse().expect("secret"));
        args.oauth.registrations_per_minute = 1_000;
        let router = router(args);
        let c = register(
            &router,
            serde_json::json!({"client_name": "Fuzz", "redirect_uris": ["https://client.example/cb"],
                "token_endpoint_auth_method": "client_secret_basic"}),
        );
        let p = register(
            &router,
            serde_json::json!({"redirect_uris": ["http://127.0.0.1:5555/cb"],
                "token_endpoint_auth_method": "none"}),
        );
        let s = |v: &Value, k: &str| v[k].as_str().expect("field").to_string();
        Oauth {
            confidential_id: s(&c, "client_id"),
            secret: s(&c, "client_secret"),
            public_id: s(&p, "client_id"),
            router,
        }
    })
}

/// The input with the placeholders replaced by the registered clients' credentials.
fn substitute(o: &Oauth, raw: &[u8]) -> Vec<u8> {
    let text = String::from_utf8_lossy(raw);
    if !text.contains('@') {
        return raw.to_vec();
    }
    text.replace("@C", &o.confidential_id)
        .replace("@S", &o.secret)
        .replace("@P", &o.public_id)
        .into_bytes()
}

fn is_metadata_url(s: &str) -> bool {
    s.starts_with("https://") || s.starts_with("http://")
}

/// Whether a form or query names a metadata-document client (directly or in Basic credentials).
fn names_metadata_client(form: &[u8], authorization: &[u8]) -> bool {
    let in_form =
        url::form_urlencoded::parse(form).any(|(k, v)| k == "client_id" && is_metadata_url(&v));
    let in_basic = std::str::from_utf8(authorization)
        .ok()
        .and_then(|h| h.trim().split_once(' '))
        .and_then(|(_, b)| {
            base64::engine::general_purpose::STANDARD
                .decode(b.trim())
                .ok()
        })
        .is_some_and(|d| String::from_utf8_lossy(&d).contains("http"));
    in_form || in_basic
}

fn split_line(data: &[u8]) -> (&[u8], &[u8]) {
    match data.iter().position(|&b| b == b'\n') {
        Some(i) => (&data[..i], &data[i + 1..]),
        None => (&[], data),
    }
}

/// A redirect URI registration would accept (https, or http on loopback; no fragment).
fn acceptable_redirect(uri: &str) -> bool {
    let Ok(u) = url::Url::parse(uri) else {
        return false;
    };
    let host = u.host_str().unwrap_or("").to_ascii_lowercase();
    u.fragment().is_none()
        && match u.scheme() {
            "https" => !host.is_empty(),
            "http" => matches!(host.as_str(), "localhost" | "127.0.0.1" | "[::1]" | "::1"),
            _ => false,
        }
}

fn post_form(o: &Oauth, path: &str, header: (&str, &[u8]), form: &[u8]) {
    let mut req = http::Request::post(path)
        .header(http::header::HOST, HOST)
        .header(
            http::header::CONTENT_TYPE,
            "application/x-www-form-urlencoded",
        );
    if !header.1.is_empty() {
        let Ok(v) = http::HeaderValue::from_bytes(header.1) else {
            return;
        };
        req = req.header(header.0, v);
    }
    let req = req.body(Body::from(form.to_vec())).expect("request");
    let (status, body) = send(&o.router, req);
    assert_not_internal_error(status, &body);
}

fuzz_target!(|data: &[u8]| {
    let Some((&pick, rest)) = data.split_first() else {
        return;
    };
    match pick % 6 {
        0 => {
            for allowed in [Vec::new(), vec!["claude.ai".to_string()]] {
                if let Ok(v) = validate_document(rest, &allowed) {
                    let uris = v.redirect_uris();
                    assert!(!uris.is_empty() && uris.len() <= 20);
                    assert!(uris.iter().all(|u| acceptable_redirect(u)), "{uris:?}");
                }
            }
        }
        1 => {
            let (id, body) = split_line(rest);
            let id = String::from_utf8_lossy(id);
            let _ = check_document_url(&id, false);
            let _ = check_document_url(&id, true);
            if let Ok(client) = parse_document(&id, body, &[]) {
                assert_eq!(client.client_id, id);
                assert!(!client.redirect_uris.is_empty());
                assert!(
                    client.redirect_uris.iter().all(|u| acceptable_redirect(u)),
                    "{:?}",
                    client.redirect_uris
                );
            }
        }
        2 | 3 => {
            let o = oauth();
            let (auth, form) = split_line(rest);
            let (auth, form) = (substitute(o, auth), substitute(o, form));
            if names_metadata_client(&form, &auth) {
                return;
            }
            let path = if pick % 6 == 2 { "/token" } else { "/revoke" };
            post_form(o, path, ("authorization", &auth), &form);
        }
        4 => {
            let o = oauth();
            let query = substitute(o, rest);
            if names_metadata_client(&query, b"") {
                return;
            }
            let Ok(uri) = http::Uri::try_from(format!("/authorize?{}", query_escape(&query)))
            else {
                return;
            };
            let req = http::Request::get(uri)
                .header(http::header::HOST, HOST)
                .body(Body::empty())
                .expect("request");
            let (status, body) = send(&o.router, req);
            assert_not_internal_error(status, &body);
        }
        _ => {
            let o = oauth();
            let (cookie, form) = split_line(rest);
            let form = substitute(o, form);
            post_form(o, "/authorize/consent", ("cookie", cookie), &form);
        }
    }
});
