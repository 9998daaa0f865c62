//! The negative matrix: every malformed or forbidden authorize, callback and token request is
//! rejected with the error the OAuth 2.1 and MCP authorization specs call for, and nothing is issued.

use crate::mcp_status;
use crate::oauth_support::*;
use notion_fake::Fixture;
use notion_mcp_remote::oauth::opaque_tokens as tokens;
use notion_mcp_remote::store::Decision;
use notion_mcp_remote::store::records::AuthCode;
use serde_json::json;

/// The authorize redirect back to the client, for checking errors.
async fn authorize_error(s: &OAuthServer, url: &str) -> std::collections::HashMap<String, String> {
    let mut b = Browser::new();
    let page = b.get(url).await;
    assert_eq!(page.status, 303, "{}", page.body);
    let q = query(&page.location.unwrap());
    assert_eq!(q.get("iss").map(String::as_str), Some(s.base()));
    q
}

#[tokio::test]
async fn negative_matrix_authorize() {
    let s = start(Fixture::sample()).await;
    let c = s.register("none").await;
    let (_, challenge) = pkce();
    let good = s.authorize_url(&c, &challenge, "st");
    // Missing PKCE.
    let no_pkce = good.replace(&format!("code_challenge={challenge}"), "x=1");
    let q = authorize_error(&s, &no_pkce).await;
    assert_eq!(q["error"], "invalid_request");
    assert_eq!(q["state"], "st");
    // plain PKCE is refused.
    let q = authorize_error(
        &s,
        &good.replace("code_challenge_method=S256", "code_challenge_method=plain"),
    )
    .await;
    assert_eq!(q["error"], "invalid_request");
    // A token for another audience is never issued.
    let q = authorize_error(
        &s,
        &good.replace(
            &urlencode(&s.h.url),
            &urlencode("https://other.example/mcp"),
        ),
    )
    .await;
    assert_eq!(q["error"], "invalid_target");
    // Redirect mismatch: an error page, never a redirect to the unregistered URI.
    let mut b = Browser::new();
    let page = b
        .get(&good.replace(
            &urlencode(&c.redirect_uri),
            &urlencode("http://127.0.0.1:9/evil"),
        ))
        .await;
    assert_eq!(page.status, 400);
    assert!(page.location.is_none());
    assert!(page.body.contains("Redirect URI mismatch"));
    // Unknown client: an error page.
    let page = b
        .get(&good.replace(&c.client_id, "nmr_client_unknown"))
        .await;
    assert_eq!(page.status, 400);

    // The consent page: no framing, no scripts, a CSRF cookie.
    let page = b.get(&good).await;
    assert_eq!(page.status, 200);
    assert_eq!(page.headers["x-frame-options"], "DENY");
    assert!(
        page.headers["content-security-policy"]
            .to_str()
            .unwrap()
            .contains("frame-ancestors 'none'")
    );
    assert!(page.body.contains("Test Client") && page.body.contains("127.0.0.1"));
    let request = form_field(&page.body, "request").unwrap();
    let csrf = form_field(&page.body, "csrf").unwrap();
    let consent = format!("{}/authorize/consent", s.base());
    // Forged CSRF token, missing token, missing cookie: 403.
    for (req, tok, keep_cookie) in [
        (&request, "forged", true),
        (&request, "", true),
        (&request, csrf.as_str(), false),
    ] {
        let mut other = Browser::new();
        if keep_cookie {
            other.cookies = b.cookies.clone();
        }
        let page = other
            .post_form(
                &consent,
                &[("request", req), ("csrf", tok), ("decision", "approve")],
            )
            .await;
        assert_eq!(page.status, 403, "{tok}");
    }
    // A tampered request blob: 403.
    let page = b
        .post_form(
            &consent,
            &[
                ("request", &format!("{request}x")),
                ("csrf", &csrf),
                ("decision", "approve"),
            ],
        )
        .await;
    assert_eq!(page.status, 403);
    // A cross-site post: 403.
    let resp = b
        .http
        .post(&consent)
        .header("origin", "https://evil.example")
        .header("cookie", format!("nmr-csrf={csrf}"))
        .form(&[
            ("request", request.as_str()),
            ("csrf", csrf.as_str()),
            ("decision", "approve"),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status().as_u16(), 403);
    // Deny: back to the client with access_denied.
    let page = b
        .post_form(
            &consent,
            &[("request", &request), ("csrf", &csrf), ("decision", "deny")],
        )
        .await;
    assert_eq!(page.status, 303);
    assert_eq!(query(&page.location.unwrap())["error"], "access_denied");
}

#[tokio::test]
async fn negative_matrix_callback_and_token() {
    let s = start(Fixture::sample()).await;
    let c = s.register("none").await;
    let (verifier, challenge) = pkce();
    let url = s.authorize_url(&c, &challenge, "st");

    // State replay at the callback: the second use of Notion's redirect is refused with a page.
    let mut b = Browser::new();
    let page = b.get(&url).await;
    let request = form_field(&page.body, "request").unwrap();
    let csrf = form_field(&page.body, "csrf").unwrap();
    let to_notion = b
        .post_form(
            &format!("{}/authorize/consent", s.base()),
            &[
                ("request", &request),
                ("csrf", &csrf),
                ("decision", "approve"),
            ],
        )
        .await;
    let at_notion = b.get(&to_notion.location.unwrap()).await;
    let callback_url = at_notion.location.unwrap();
    let first = b.get(&callback_url).await;
    assert_eq!(first.status, 303);
    let replay = b.get(&callback_url).await;
    assert_eq!(replay.status, 400);
    assert!(replay.body.contains("expired or already used"));
    let code = query(&first.location.unwrap())["code"].clone();

    let exchange = |code: String, verifier: String, redirect: String| {
        let c = c.clone();
        let s = &s;
        async move {
            s.token(
                &c,
                &[
                    ("grant_type", "authorization_code"),
                    ("code", &code),
                    ("redirect_uri", &redirect),
                    ("code_verifier", &verifier),
                ],
            )
            .await
        }
    };
    // A foreign client cannot use (or spoil) the code.
    let other = s.register("none").await;
    let (status, e) = s
        .token(
            &other,
            &[
                ("grant_type", "authorization_code"),
                ("code", &code),
                ("redirect_uri", &other.redirect_uri),
                ("code_verifier", &verifier),
            ],
        )
        .await;
    assert_eq!((status, e["error"].as_str()), (400, Some("invalid_grant")));
    // Missing verifier.
    let (status, e) = s
        .token(
            &c,
            &[
                ("grant_type", "authorization_code"),
                ("code", &code),
                ("redirect_uri", &c.redirect_uri),
            ],
        )
        .await;
    assert_eq!(
        (status, e["error"].as_str()),
        (400, Some("invalid_request"))
    );
    // Wrong verifier (burns the code).
    let (wrong, _) = pkce();
    let (status, e) = exchange(code.clone(), wrong, c.redirect_uri.clone()).await;
    assert_eq!((status, e["error"].as_str()), (400, Some("invalid_grant")));
    // Code reuse after that: refused.
    let (status, _) = exchange(code.clone(), verifier.clone(), c.redirect_uri.clone()).await;
    assert_eq!(status, 400);

    // Redirect mismatch at the token endpoint.
    let mut b = Browser::new();
    let back = s.login(&mut b, &url, None).await;
    let code2 = query(&back)["code"].clone();
    let (status, e) = exchange(
        code2.clone(),
        verifier.clone(),
        "http://127.0.0.1:9/other".into(),
    )
    .await;
    assert_eq!((status, e["error"].as_str()), (400, Some("invalid_grant")));

    // Code reuse after a successful exchange revokes what the code issued.
    let back = s.login(&mut b, &url, None).await;
    let code3 = query(&back)["code"].clone();
    let (status, t) = exchange(code3.clone(), verifier.clone(), c.redirect_uri.clone()).await;
    assert_eq!(status, 200);
    let access = t["access_token"].as_str().unwrap().to_string();
    assert_eq!(mcp_status(&s, &access).await.0, 200);
    let (status, e) = exchange(code3, verifier.clone(), c.redirect_uri.clone()).await;
    assert_eq!((status, e["error"].as_str()), (400, Some("invalid_grant")));
    assert_eq!(mcp_status(&s, &access).await.0, 401);

    // An expired code.
    let back = s.login(&mut b, &url, None).await;
    let code4 = query(&back)["code"].clone();
    s.store
        .update::<AuthCode, _>(&tokens::hash(&code4), |c| {
            c.expires_at -= 3600;
            Decision::Write(())
        })
        .await
        .unwrap();
    let (status, e) = exchange(code4, verifier.clone(), c.redirect_uri.clone()).await;
    assert_eq!((status, e["error"].as_str()), (400, Some("invalid_grant")));
    assert!(e["error_description"].as_str().unwrap().contains("expired"));

    // Unsupported grant type, wrong content type.
    let (status, e) = s.token(&c, &[("grant_type", "client_credentials")]).await;
    assert_eq!(
        (status, e["error"].as_str()),
        (400, Some("unsupported_grant_type"))
    );
    let resp =
        s.h.http
            .post(format!("{}/token", s.base()))
            .json(&json!({"grant_type": "authorization_code"}))
            .send()
            .await
            .unwrap();
    assert_eq!(resp.status().as_u16(), 400);
}
