//! OAuth: authorize redirects, code exchange, refresh rotation, revoke, introspect, errors.
#![allow(clippy::unwrap_used)]

mod common;

use common::Api;
use notion_fake::{Fixture, GeneratedIds, PageFixture, stable_id};
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

const REDIRECT: &str = "http://127.0.0.1:9999/callback";

fn fixture() -> Fixture {
    Fixture::builder()
        .workspace("Alpha", "ntn_alpha")
        .page(PageFixture::new("Alpha home").id("alpha-home"))
        .page(PageFixture::new("Alpha other").id("alpha-other"))
        .workspace("Beta", "ntn_beta")
        .user("Bea", "bea@beta.example")
        .page(PageFixture::new("Beta home").id("beta-home"))
        .oauth_client("client-1", "secret-1", &[REDIRECT])
        .build()
}

fn no_redirect_client() -> reqwest::Client {
    let _ = common::client();
    reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap()
}

async fn authorize(api: &Api, extra: &str) -> url::Url {
    let url = api.url(&format!(
        "/v1/oauth/authorize?client_id=client-1&redirect_uri={}&response_type=code&owner=user&state=xyz{extra}",
        url_escape(REDIRECT)
    ));
    let resp = no_redirect_client().get(url).send().await.unwrap();
    assert_eq!(resp.status(), StatusCode::FOUND);
    let loc = resp.headers()["location"].to_str().unwrap().to_string();
    url::Url::parse(&loc).unwrap()
}

fn url_escape(s: &str) -> String {
    url::form_urlencoded::byte_serialize(s.as_bytes()).collect()
}

fn param(u: &url::Url, key: &str) -> Option<String> {
    u.query_pairs()
        .find(|(k, _)| k == key)
        .map(|(_, v)| v.into_owned())
}

async fn token_call(api: &Api, path: &str, auth: (&str, &str), body: Value) -> (StatusCode, Value) {
    let resp = api
        .http
        .post(api.url(path))
        .basic_auth(auth.0, Some(auth.1))
        .header("Notion-Version", "2026-03-11")
        .json(&body)
        .send()
        .await
        .unwrap();
    (resp.status(), resp.json().await.unwrap())
}

#[tokio::test]
async fn code_exchange_refresh_rotation_and_revoke() {
    let api = Api::start(fixture(), "unused").await;
    let to = authorize(&api, "").await;
    assert!(to.as_str().starts_with(REDIRECT));
    assert_eq!(param(&to, "state").as_deref(), Some("xyz"));
    let code = param(&to, "code").unwrap();
    let auth = ("client-1", "secret-1");

    let (s, grant) = token_call(
        &api,
        "/v1/oauth/token",
        auth,
        json!({"grant_type": "authorization_code", "code": code, "redirect_uri": REDIRECT}),
    )
    .await;
    assert_eq!(s, 200, "{grant}");
    assert_eq!(grant["token_type"], "bearer");
    assert!(grant.get("expires_in").is_none());
    assert!(grant["access_token"].as_str().unwrap().starts_with("ntn_"));
    assert!(grant["refresh_token"].as_str().unwrap().starts_with("nrt_"));
    assert_eq!(
        grant["workspace_id"],
        GeneratedIds::workspace("Alpha").to_string()
    );
    assert_eq!(grant["workspace_name"], "Alpha");
    assert_eq!(grant["owner"]["type"], "user");
    assert_eq!(
        grant["owner"]["user"]["id"],
        GeneratedIds::owner("Alpha").to_string()
    );
    assert!(grant["duplicated_template_id"].is_null());
    assert!(grant["request_id"].is_string());
    assert!(grant["bot_id"].is_string());

    // The code is single-use.
    let (s, e) = token_call(
        &api,
        "/v1/oauth/token",
        auth,
        json!({"grant_type": "authorization_code", "code": code, "redirect_uri": REDIRECT}),
    )
    .await;
    assert_eq!(s, 400);
    assert_eq!(e["error"], "invalid_grant");

    let access = grant["access_token"].as_str().unwrap().to_string();
    let refresh = grant["refresh_token"].as_str().unwrap().to_string();
    let (s, me) = api
        .call_with(
            Method::GET,
            "/v1/users/me",
            None,
            Some(&access),
            Some("2026-03-11"),
        )
        .await;
    assert_eq!(s, 200);
    assert_eq!(me["id"], grant["bot_id"]);
    assert_eq!(me["bot"]["owner"]["type"], "user");

    let (s, rotated) = token_call(
        &api,
        "/v1/oauth/token",
        auth,
        json!({"grant_type": "refresh_token", "refresh_token": refresh}),
    )
    .await;
    assert_eq!(s, 200, "{rotated}");
    assert_eq!(rotated["bot_id"], grant["bot_id"]);
    assert_ne!(rotated["access_token"], grant["access_token"]);
    assert_ne!(rotated["refresh_token"], grant["refresh_token"]);
    assert_eq!(api.fake().refresh_count(), 1);
    let (s, e) = token_call(
        &api,
        "/v1/oauth/token",
        auth,
        json!({"grant_type": "refresh_token", "refresh_token": refresh}),
    )
    .await;
    assert_eq!(s, 400);
    assert_eq!(e["error"], "invalid_grant");
    assert!(e["error_description"].is_string());
    // The old access token stops working; the new one works.
    let (s, _) = api
        .call_with(
            Method::GET,
            "/v1/users/me",
            None,
            Some(&access),
            Some("2026-03-11"),
        )
        .await;
    assert_eq!(s, 401);
    let new_access = rotated["access_token"].as_str().unwrap().to_string();
    let (s, _) = api
        .call_with(
            Method::GET,
            "/v1/users/me",
            None,
            Some(&new_access),
            Some("2026-03-11"),
        )
        .await;
    assert_eq!(s, 200);

    let (s, info) = token_call(
        &api,
        "/v1/oauth/introspect",
        auth,
        json!({"token": new_access}),
    )
    .await;
    assert_eq!(s, 200);
    assert_eq!(info["active"], true);
    assert!(info["iat"].is_number());
    assert!(info["scope"].is_string());
    let (s, _) = token_call(&api, "/v1/oauth/revoke", auth, json!({"token": new_access})).await;
    assert_eq!(s, 200);
    let (_, info) = token_call(
        &api,
        "/v1/oauth/introspect",
        auth,
        json!({"token": new_access}),
    )
    .await;
    assert_eq!(info["active"], false);
    let (s, _) = api
        .call_with(
            Method::GET,
            "/v1/users/me",
            None,
            Some(&new_access),
            Some("2026-03-11"),
        )
        .await;
    assert_eq!(s, 401);
}

#[tokio::test]
async fn client_and_redirect_errors() {
    let api = Api::start(fixture(), "unused").await;
    let code = param(&authorize(&api, "").await, "code").unwrap();
    let (s, e) = token_call(
        &api,
        "/v1/oauth/token",
        ("client-1", "wrong"),
        json!({"grant_type": "authorization_code", "code": code}),
    )
    .await;
    assert_eq!(s, 401);
    assert_eq!(e["error"], "invalid_client");
    let (s, e) = token_call(&api, "/v1/oauth/token", ("client-1", "secret-1"), json!({"grant_type": "authorization_code", "code": code, "redirect_uri": "http://elsewhere/cb"})).await;
    assert_eq!(s, 400);
    assert_eq!(e["error"], "invalid_grant");
    let (s, e) = token_call(
        &api,
        "/v1/oauth/token",
        ("client-1", "secret-1"),
        json!({"grant_type": "password"}),
    )
    .await;
    assert_eq!(s, 400);
    assert_eq!(e["error"], "unsupported_grant_type");
    // Unregistered redirect: no redirect, an error body.
    let resp = no_redirect_client()
        .get(api.url("/v1/oauth/authorize?client_id=client-1&redirect_uri=http%3A%2F%2Fevil%2Fcb&response_type=code&owner=user"))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 400);
    let resp = no_redirect_client()
        .get(api.url("/v1/oauth/authorize?client_id=nobody&response_type=code&owner=user"))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 400);
    // Wrong response_type / owner redirect with an error.
    let to = authorize(&api, "&fake_deny=1").await;
    assert_eq!(param(&to, "error").as_deref(), Some("access_denied"));
    assert_eq!(param(&to, "state").as_deref(), Some("xyz"));
    api.fake().set_oauth_deny(true);
    let to = authorize(&api, "").await;
    assert_eq!(param(&to, "error").as_deref(), Some("access_denied"));
    assert!(param(&to, "code").is_none());
}

#[tokio::test]
async fn authorize_picks_workspace_user_and_shares() {
    let api = Api::start(fixture(), "unused").await;
    api.fake().register_oauth_client(
        "client-2",
        "s2",
        vec![REDIRECT.into(), "http://other/cb".into()],
    );
    let url = api.url(&format!(
        "/v1/oauth/authorize?client_id=client-2&redirect_uri={}&response_type=code&owner=user&fake_workspace=Beta&fake_user=Bea&fake_share=beta-home",
        url_escape(REDIRECT)
    ));
    let resp = no_redirect_client().get(url).send().await.unwrap();
    let to = url::Url::parse(resp.headers()["location"].to_str().unwrap()).unwrap();
    let code = param(&to, "code").unwrap();
    // Two URIs configured: redirect_uri is required at the token endpoint.
    let (s, e) = token_call(
        &api,
        "/v1/oauth/token",
        ("client-2", "s2"),
        json!({"grant_type": "authorization_code", "code": code}),
    )
    .await;
    assert_eq!(s, 400, "{e}");
    let resp = no_redirect_client()
        .get(api.url(&format!(
            "/v1/oauth/authorize?client_id=client-2&redirect_uri={}&response_type=code&owner=user&fake_workspace=Beta&fake_user=Bea&fake_share=beta-home",
            url_escape(REDIRECT)
        )))
        .send()
        .await
        .unwrap();
    let code = param(
        &url::Url::parse(resp.headers()["location"].to_str().unwrap()).unwrap(),
        "code",
    )
    .unwrap();
    let (s, grant) = token_call(
        &api,
        "/v1/oauth/token",
        ("client-2", "s2"),
        json!({"grant_type": "authorization_code", "code": code, "redirect_uri": REDIRECT}),
    )
    .await;
    assert_eq!(s, 200, "{grant}");
    assert_eq!(grant["workspace_name"], "Beta");
    assert_eq!(grant["owner"]["user"]["name"], "Bea");
    assert_eq!(
        grant["owner"]["user"]["person"]["email"],
        "bea@beta.example"
    );
    let token = grant["access_token"].as_str().unwrap();
    let (s, _) = api
        .call_with(
            Method::GET,
            &format!("/v1/pages/{}", stable_id("beta-home")),
            None,
            Some(token),
            Some("2026-03-11"),
        )
        .await;
    assert_eq!(s, 200);
    let (s, _) = api
        .call_with(
            Method::GET,
            &format!("/v1/pages/{}", stable_id("alpha-home")),
            None,
            Some(token),
            Some("2026-03-11"),
        )
        .await;
    assert_eq!(s, 404);
}

#[tokio::test]
async fn keep_old_access_toggle_and_revoke_hook() {
    let api = Api::start(fixture(), "unused").await;
    api.fake().set_keep_old_access_on_refresh(true);
    let code = param(&authorize(&api, "").await, "code").unwrap();
    let auth = ("client-1", "secret-1");
    let (_, grant) = token_call(
        &api,
        "/v1/oauth/token",
        auth,
        json!({"grant_type": "authorization_code", "code": code, "redirect_uri": REDIRECT}),
    )
    .await;
    let (_, rotated) = token_call(
        &api,
        "/v1/oauth/token",
        auth,
        json!({"grant_type": "refresh_token", "refresh_token": grant["refresh_token"]}),
    )
    .await;
    let old = grant["access_token"].as_str().unwrap();
    let (s, _) = api
        .call_with(
            Method::GET,
            "/v1/users/me",
            None,
            Some(old),
            Some("2026-03-11"),
        )
        .await;
    assert_eq!(s, 200);
    api.fake()
        .revoke_token(rotated["refresh_token"].as_str().unwrap());
    let (s, e) = token_call(
        &api,
        "/v1/oauth/token",
        auth,
        json!({"grant_type": "refresh_token", "refresh_token": rotated["refresh_token"]}),
    )
    .await;
    assert_eq!(s, 400);
    assert_eq!(e["error"], "invalid_grant");
}
