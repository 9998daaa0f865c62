//! The OAuth authorization server end to end against the fake Notion: discovery, registration, consent,
//! Notion login, code exchange, MCP calls, refresh, revocation — and the negative matrix, each case
//! rejected with the error the specs call for.
#![allow(clippy::unwrap_used)]

mod common;
#[path = "oauth/negative.rs"]
mod negative;
mod oauth_support;

use notion_fake::Fixture;
use notion_mcp_remote::store::records::Grant;
use oauth_support::*;
use serde_json::{Value, json};

async fn mcp_status(s: &OAuthServer, token: &str) -> (u16, Value) {
    s.h.post(Some(token), &json!({"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"get_self","arguments":{}}}))
        .await
}

async fn get_json(s: &OAuthServer, path: &str) -> Value {
    s.h.http
        .get(format!("{}{path}", s.base()))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap()
}

#[tokio::test]
async fn discovery_and_challenge() {
    let s = start(Fixture::sample()).await;
    let prm = get_json(&s, "/.well-known/oauth-protected-resource/mcp").await;
    assert_eq!(prm["resource"], s.h.url);
    assert_eq!(prm["authorization_servers"][0], s.base());
    let root = get_json(&s, "/.well-known/oauth-protected-resource").await;
    assert_eq!(root, prm);
    for path in [
        "/.well-known/oauth-authorization-server",
        "/.well-known/openid-configuration",
    ] {
        let m = get_json(&s, path).await;
        assert_eq!(m["issuer"], s.base());
        assert_eq!(m["code_challenge_methods_supported"], json!(["S256"]));
        assert_eq!(m["client_id_metadata_document_supported"], true);
        assert_eq!(m["registration_endpoint"], format!("{}/register", s.base()));
        assert_eq!(m["revocation_endpoint"], format!("{}/revoke", s.base()));
        assert_eq!(m["authorization_response_iss_parameter_supported"], true);
    }
    // An empty Authorization header is no credential: 401 with the challenge.
    let resp =
        s.h.http
            .post(&s.h.url)
            .header("content-type", "application/json")
            .header("accept", "application/json, text/event-stream")
            .header("authorization", "")
            .body(r#"{"jsonrpc":"2.0","id":1,"method":"tools/list"}"#)
            .send()
            .await
            .unwrap();
    assert_eq!(resp.status().as_u16(), 401, "an empty Authorization header");
    let challenge = resp
        .headers()
        .get("www-authenticate")
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default();
    assert!(
        challenge.contains("resource_metadata="),
        "an empty Authorization header gets the challenge: {challenge:?}"
    );
    // No bearer: 401 with an absolute, path-inserted resource_metadata URL and no error attribute.
    let resp =
        s.h.http
            .post(&s.h.url)
            .header("content-type", "application/json")
            .header("accept", "application/json, text/event-stream")
            .body(r#"{"jsonrpc":"2.0","id":1,"method":"tools/list"}"#)
            .send()
            .await
            .unwrap();
    assert_eq!(resp.status().as_u16(), 401);
    let challenge = resp.headers()["www-authenticate"]
        .to_str()
        .unwrap()
        .to_string();
    assert!(
        challenge.contains(&format!(
            "resource_metadata=\"{}/.well-known/oauth-protected-resource/mcp\"",
            s.base()
        )),
        "{challenge}"
    );
    assert!(challenge.contains("scope=\"notion\""));
    assert!(!challenge.contains("error="));
    // A Notion token is never accepted as our bearer (no token passthrough).
    let (status, _) = mcp_status(&s, "ntn_demo_acme").await;
    assert_eq!(status, 401);
}

#[tokio::test]
async fn full_flow_public_client_call_refresh_revoke() {
    let s = start(Fixture::sample()).await;
    let (c, access, refresh) = s.connect(None).await;
    let (status, body) = mcp_status(&s, &access).await;
    assert_eq!(status, 200, "{body}");
    assert_ne!(body["result"]["isError"], true, "{body}");
    let text = s.h.text(&access, "search", json!({"query": ""})).await;
    assert!(!text.is_empty());

    // The grant keeps Notion's whole answer: bot, workspace, owner, refresh token (sealed).
    let grants = s.store.list::<Grant>().await.unwrap();
    assert_eq!(grants.len(), 1);
    let g = &grants[0].1;
    assert!(
        g.notion
            .refresh_token
            .as_deref()
            .is_some_and(|t| t.starts_with("nrt_"))
    );
    assert!(!g.notion.bot_id.is_empty() && !g.notion.workspace_id.is_empty());
    assert_eq!(g.notion.workspace_name.as_deref(), Some("Acme Demo"));
    assert!(g.notion.user_id.is_some());
    assert_eq!(g.client_id, c.client_id);

    // Refresh rotates both tokens; the new access token works, the old refresh token does not.
    let (status, t2) = s
        .token(
            &c,
            &[
                ("grant_type", "refresh_token"),
                ("refresh_token", &refresh),
                ("resource", &s.h.url),
            ],
        )
        .await;
    assert_eq!(status, 200, "{t2}");
    let access2 = t2["access_token"].as_str().unwrap().to_string();
    let refresh2 = t2["refresh_token"].as_str().unwrap().to_string();
    assert_ne!(refresh2, refresh);
    assert_eq!(t2["token_type"], "Bearer");
    assert_eq!(mcp_status(&s, &access2).await.0, 200);
    // Within the grace period a second use of the old token is a retry of a lost answer: it gets a
    // new pair, and the first pair keeps working.
    let (status, t3) = s
        .token(
            &c,
            &[("grant_type", "refresh_token"), ("refresh_token", &refresh)],
        )
        .await;
    assert_eq!(status, 200, "{t3}");
    assert_ne!(t3["refresh_token"].as_str(), Some(refresh2.as_str()));
    assert_eq!(mcp_status(&s, &access2).await.0, 200);

    // Revocation ends the grant and revokes Notion's token (the last grant of that bot).
    let notion_token = s.store.list::<Grant>().await.unwrap()[0]
        .1
        .notion
        .access_token
        .clone();
    let resp =
        s.h.http
            .post(format!("{}/revoke", s.base()))
            .form(&[
                ("token", refresh2.as_str()),
                ("client_id", c.client_id.as_str()),
            ])
            .send()
            .await
            .unwrap();
    assert_eq!(resp.status().as_u16(), 200);
    assert_eq!(mcp_status(&s, &access2).await.0, 401);
    assert!(s.store.list::<Grant>().await.unwrap().is_empty());
    let revoked =
        s.h.fake()
            .with_state(|st| st.tokens.get(&notion_token).map(|t| t.revoked));
    assert_eq!(revoked, Some(true));
    // Unknown tokens: still 200 (RFC 7009).
    let resp =
        s.h.http
            .post(format!("{}/revoke", s.base()))
            .form(&[("token", "whatever"), ("client_id", c.client_id.as_str())])
            .send()
            .await
            .unwrap();
    assert_eq!(resp.status().as_u16(), 200);
}

#[tokio::test]
async fn confidential_clients_post_and_basic() {
    let s = start(Fixture::sample()).await;
    for method in ["client_secret_post", "client_secret_basic"] {
        let c = s.register(method).await;
        let secret = c
            .client_secret
            .clone()
            .expect("confidential clients get a secret");
        let (verifier, challenge) = pkce();
        let mut b = Browser::new();
        let back = s
            .login(&mut b, &s.authorize_url(&c, &challenge, "x"), None)
            .await;
        let code = query(&back)["code"].clone();
        let form = [
            ("grant_type", "authorization_code"),
            ("code", code.as_str()),
            ("redirect_uri", c.redirect_uri.as_str()),
            ("code_verifier", verifier.as_str()),
        ];
        // Without the secret: invalid_client (401).
        let resp =
            s.h.http
                .post(format!("{}/token", s.base()))
                .form(&[form.as_slice(), &[("client_id", c.client_id.as_str())]].concat())
                .send()
                .await
                .unwrap();
        assert_eq!(resp.status().as_u16(), 401);
        assert_eq!(
            resp.json::<Value>().await.unwrap()["error"],
            "invalid_client"
        );
        let resp =
            s.h.http
                .post(format!("{}/token", s.base()))
                .basic_auth(&c.client_id, Some(&secret))
                .form(&form)
                .send()
                .await
                .unwrap();
        assert_eq!(resp.status().as_u16(), 200, "{method}");
        assert_eq!(resp.headers()["cache-control"], "no-store");
    }
    // An unknown client gets invalid_client, which tells claude.ai to register again.
    let resp =
        s.h.http
            .post(format!("{}/token", s.base()))
            .form(&[
                ("grant_type", "refresh_token"),
                ("refresh_token", "x"),
                ("client_id", "nmr_client_gone"),
            ])
            .send()
            .await
            .unwrap();
    assert_eq!(resp.status().as_u16(), 401);
    assert_eq!(
        resp.json::<Value>().await.unwrap()["error"],
        "invalid_client"
    );
}

#[tokio::test]
async fn refresh_reuse_after_grace_revokes_the_family() {
    let fake = notion_fake::FakeNotion::start(Fixture::sample())
        .await
        .unwrap();
    let s = start_on(fake, notion_mcp_remote::store::Store::in_memory(), |a| {
        a.oauth.refresh_reuse_grace_secs = 0
    })
    .await;
    let (c, _, refresh) = s.connect(None).await;
    let (status, t2) = s
        .token(
            &c,
            &[("grant_type", "refresh_token"), ("refresh_token", &refresh)],
        )
        .await;
    assert_eq!(status, 200);
    let access2 = t2["access_token"].as_str().unwrap().to_string();
    let refresh2 = t2["refresh_token"].as_str().unwrap().to_string();
    // Replay of the rotated token: the whole family is revoked.
    let (status, e) = s
        .token(
            &c,
            &[("grant_type", "refresh_token"), ("refresh_token", &refresh)],
        )
        .await;
    assert_eq!((status, e["error"].as_str()), (400, Some("invalid_grant")));
    assert_eq!(mcp_status(&s, &access2).await.0, 401);
    let (status, _) = s
        .token(
            &c,
            &[
                ("grant_type", "refresh_token"),
                ("refresh_token", &refresh2),
            ],
        )
        .await;
    assert_eq!(status, 400);
    // A token for another audience is refused at refresh too.
    let (c, _, refresh) = s.connect(None).await;
    let (status, e) = s
        .token(
            &c,
            &[
                ("grant_type", "refresh_token"),
                ("refresh_token", &refresh),
                ("resource", "https://other.example/mcp"),
            ],
        )
        .await;
    assert_eq!((status, e["error"].as_str()), (400, Some("invalid_target")));
}

#[tokio::test]
async fn notion_token_expiry_is_refreshed_and_a_dead_grant_gets_401() {
    let s = start(Fixture::sample()).await;
    let (_, access, _) = s.connect(None).await;
    let before = s.h.fake().refresh_count();
    let notion_token = s.store.list::<Grant>().await.unwrap()[0]
        .1
        .notion
        .access_token
        .clone();
    s.h.fake().expire_token(&notion_token);
    // The call succeeds through a single refresh; the rotated Notion tokens are stored.
    let results = futures::future::join_all((0..5).map(|_| mcp_status(&s, &access))).await;
    for (status, body) in &results {
        assert_eq!(*status, 200, "{body}");
        assert_ne!(body["result"]["isError"], true, "{body}");
    }
    assert_eq!(
        s.h.fake().refresh_count(),
        before + 1,
        "single-flight refresh"
    );
    let stored = s.store.list::<Grant>().await.unwrap()[0].1.notion.clone();
    assert_ne!(stored.access_token, notion_token);

    // Notion refuses the refresh (the user removed the connection): the MCP client gets 401.
    s.h.fake().expire_token(&stored.access_token);
    s.h.fake().with_state(|st| {
        for r in st.oauth.refresh_tokens.values_mut() {
            r.used = true;
        }
    });
    let (status, _) = mcp_status(&s, &access).await;
    assert_eq!(status, 401);
    assert!(s.store.list::<Grant>().await.unwrap().is_empty());
}

#[tokio::test]
async fn remembered_consent_skips_the_page_for_the_same_user_and_client() {
    let s = start(Fixture::sample()).await;
    let c = s.register("none").await;
    let (_, challenge) = pkce();
    let url = s.authorize_url(&c, &challenge, "a");
    let mut b = Browser::new();
    s.login(&mut b, &url, None).await;
    // Same browser, same client: straight to Notion.
    let page = b.get(&url).await;
    assert_eq!(page.status, 303);
    assert!(page.location.unwrap().contains("/v1/oauth/authorize"));
    // Another client still needs consent.
    let other = s.register("none").await;
    let page = b.get(&s.authorize_url(&other, &challenge, "b")).await;
    assert_eq!(page.status, 200);
    // A user cancelling at Notion: the client gets access_denied, not a raw page.
    s.h.fake().set_oauth_deny(true);
    let page = b.get(&url).await;
    let at_notion = b.get(&page.location.unwrap()).await;
    let back = b.get(&at_notion.location.unwrap()).await;
    assert_eq!(back.status, 303);
    let q = query(&back.location.unwrap());
    assert_eq!(q["error"], "access_denied");
    assert_eq!(q["state"], "a");
}

#[tokio::test]
async fn registration_rules() {
    let s = start(Fixture::sample()).await;
    let post = |body: Value| {
        let s = &s;
        async move {
            let r =
                s.h.http
                    .post(format!("{}/register", s.base()))
                    .json(&body)
                    .send()
                    .await
                    .unwrap();
            (r.status().as_u16(), r.json::<Value>().await.unwrap())
        }
    };
    let (status, v) = post(json!({"redirect_uris": ["https://claude.ai/api/mcp/auth_callback"], "token_endpoint_auth_method": "client_secret_post", "client_name": "Claude"})).await;
    assert_eq!(status, 201);
    assert!(v["client_secret"].as_str().is_some());
    assert_eq!(v["client_secret_expires_at"], 0);
    let (status, v) = post(json!({"redirect_uris": ["http://127.0.0.1:33418/callback"], "token_endpoint_auth_method": "none"})).await;
    assert_eq!(status, 201);
    assert!(v.get("client_secret").is_none());
    let (status, v) = post(json!({"redirect_uris": ["http://evil.example/cb"]})).await;
    assert_eq!(
        (status, v["error"].as_str()),
        (400, Some("invalid_redirect_uri"))
    );
    let (status, v) = post(json!({"redirect_uris": ["https://a.example/cb"], "token_endpoint_auth_method": "private_key_jwt"})).await;
    assert_eq!(
        (status, v["error"].as_str()),
        (400, Some("invalid_client_metadata"))
    );
    let r =
        s.h.http
            .post(format!("{}/register", s.base()))
            .body("not json")
            .send()
            .await
            .unwrap();
    assert_eq!(r.status().as_u16(), 400);
}
