//! No secret reaches the logs: a whole OAuth flow (registration, consent, Notion login, code
//! exchange, tool calls, a Notion token refresh, our refresh, revocation) with every crate logging at
//! trace level, then a search of the output for every token, secret and code involved.
#![allow(clippy::unwrap_used)]

mod common;
mod oauth_support;

use notion_fake::Fixture;
use notion_mcp_remote::store::records::Grant;
use oauth_support::*;
use serde_json::json;
use std::io::Write;
use std::sync::{Arc, Mutex};

#[derive(Clone, Default)]
struct Capture(Arc<Mutex<Vec<u8>>>);

impl Write for Capture {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_full_flow_at_trace_level_logs_no_secret() {
    let capture = Capture::default();
    let writer = capture.clone();
    let subscriber = tracing_subscriber::fmt()
        .with_env_filter(tracing_subscriber::EnvFilter::new("trace"))
        .with_writer(move || writer.clone())
        .with_ansi(false)
        .finish();
    tracing::subscriber::set_global_default(subscriber).unwrap();

    let s = start(Fixture::sample()).await;
    let mut secrets = vec![NOTION_CLIENT_SECRET.to_string()];
    // A confidential client: its secret, code, tokens.
    let c = s.register("client_secret_post").await;
    secrets.push(c.client_secret.clone().unwrap());
    let (verifier, challenge) = pkce();
    let mut b = Browser::new();
    let back = s
        .login(&mut b, &s.authorize_url(&c, &challenge, "st"), None)
        .await;
    let code = query(&back)["code"].clone();
    secrets.push(code.clone());
    secrets.push(verifier.clone());
    let (status, t) = s
        .token(
            &c,
            &[
                ("grant_type", "authorization_code"),
                ("code", &code),
                ("redirect_uri", &c.redirect_uri),
                ("code_verifier", &verifier),
            ],
        )
        .await;
    assert_eq!(status, 200);
    let access = t["access_token"].as_str().unwrap().to_string();
    let refresh = t["refresh_token"].as_str().unwrap().to_string();
    secrets.extend([access.clone(), refresh.clone()]);
    let grant = s.store.list::<Grant>().await.unwrap()[0].1.clone();
    secrets.push(grant.notion.access_token.clone());
    secrets.push(grant.notion.refresh_token.clone().unwrap());
    // Tool calls, one through a Notion token refresh.
    s.h.text(&access, "search", json!({"query": "Handbook"}))
        .await;
    s.h.fake().expire_token(&grant.notion.access_token);
    s.h.text(&access, "get_self", json!({})).await;
    let renewed = s.store.list::<Grant>().await.unwrap()[0].1.notion.clone();
    secrets.push(renewed.access_token.clone());
    secrets.push(renewed.refresh_token.clone().unwrap());
    // Our refresh, a replayed code, a wrong secret, revocation.
    let (status, t2) = s
        .token(
            &c,
            &[("grant_type", "refresh_token"), ("refresh_token", &refresh)],
        )
        .await;
    assert_eq!(status, 200);
    secrets.push(t2["access_token"].as_str().unwrap().to_string());
    secrets.push(t2["refresh_token"].as_str().unwrap().to_string());
    s.token(
        &c,
        &[
            ("grant_type", "authorization_code"),
            ("code", &code),
            ("redirect_uri", &c.redirect_uri),
            ("code_verifier", &verifier),
        ],
    )
    .await;
    let resp =
        s.h.http
            .post(format!("{}/revoke", s.base()))
            .form(&[
                ("token", t2["refresh_token"].as_str().unwrap()),
                ("client_id", &c.client_id),
                ("client_secret", c.client_secret.as_deref().unwrap()),
            ])
            .send()
            .await
            .unwrap();
    assert_eq!(resp.status().as_u16(), 200);

    let logs = String::from_utf8(capture.0.lock().unwrap().clone()).unwrap();
    assert!(
        logs.len() > 10_000,
        "trace logging was captured ({} bytes)",
        logs.len()
    );
    assert!(logs.contains("Notion token refreshed") && logs.contains("grant revoked"));
    for secret in &secrets {
        assert!(
            !logs.contains(secret.as_str()),
            "a secret starting {} is in the logs",
            &secret[..8.min(secret.len())]
        );
    }
}
