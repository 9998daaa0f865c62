//! The sign-in page of `authorize` (on with `set_oauth_login_page`): names escaped, only offered pages
//! shared, Cancel refused with the client's state, a form answered once; off, `authorize` approves at once.
#![allow(clippy::unwrap_used)]

mod common;

use common::Api;
use notion_fake::{Fixture, PageFixture, stable_id};
use reqwest::StatusCode;

const REDIRECT: &str = "http://127.0.0.1:9999/callback";

fn fixture() -> Fixture {
    Fixture::builder()
        .workspace("Alpha <b>&", "ntn_alpha")
        .page(PageFixture::new("<script>alert(1)</script>").id("alpha-home"))
        .page(PageFixture::new("Alpha other").id("alpha-other"))
        .workspace("Beta", "ntn_beta")
        .page(PageFixture::new("Beta home").id("beta-home"))
        .oauth_client("client-1", "secret-1", &[REDIRECT])
        .build()
}

fn browser() -> reqwest::Client {
    let _ = common::client();
    reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap()
}

fn authorize_url(api: &Api) -> String {
    let redirect: String = url::form_urlencoded::byte_serialize(REDIRECT.as_bytes()).collect();
    api.url(&format!(
        "/v1/oauth/authorize?client_id=client-1&redirect_uri={redirect}&response_type=code&owner=user&state=xyz&fake_workspace=Alpha%20%3Cb%3E%26"
    ))
}

fn form_token(html: &str) -> String {
    let marker = "name=\"form_token\" value=\"";
    let start = html.find(marker).unwrap() + marker.len();
    html[start..start + html[start..].find('"').unwrap()].to_string()
}

async fn shown(api: &Api) -> String {
    let resp = browser().get(authorize_url(api)).send().await.unwrap();
    assert_eq!(resp.status(), StatusCode::OK);
    assert!(
        resp.headers()["content-type"]
            .to_str()
            .unwrap()
            .starts_with("text/html")
    );
    resp.text().await.unwrap()
}

async fn answer(api: &Api, form: &[(&str, &str)]) -> (StatusCode, String) {
    let resp = browser()
        .post(api.url("/v1/oauth/authorize"))
        .form(form)
        .send()
        .await
        .unwrap();
    let status = resp.status();
    let to = resp
        .headers()
        .get("location")
        .map(|l| l.to_str().unwrap().to_string());
    (status, to.unwrap_or(resp.text().await.unwrap()))
}

#[tokio::test]
async fn names_are_escaped_and_only_offered_pages_are_shared() {
    let api = Api::start(fixture(), "ntn_alpha").await;
    api.running.fake.set_oauth_login_page(true);
    let html = shown(&api).await;
    assert!(
        html.contains("&lt;script&gt;alert(1)&lt;/script&gt;"),
        "{html}"
    );
    assert!(html.contains("Alpha &lt;b&gt;&amp;"), "{html}");
    assert!(
        !html.contains("<script>") && !html.contains("<b>&"),
        "{html}"
    );
    assert!(
        !html.contains("Beta home"),
        "another workspace's page offered: {html}"
    );

    let home = stable_id("alpha-home").to_string();
    let beta = stable_id("beta-home").to_string();
    let token = form_token(&html);
    let (status, to) = answer(
        &api,
        &[
            ("form_token", &token),
            ("page", &home),
            ("page", &beta),
            ("decision", "allow"),
        ],
    )
    .await;
    assert_eq!(status, StatusCode::FOUND, "{to}");
    let code = url::Url::parse(&to)
        .unwrap()
        .query_pairs()
        .find(|(k, _)| k == "code")
        .map(|(_, v)| v.into_owned())
        .unwrap();
    let shared = api
        .running
        .fake
        .with_state(|s| s.oauth.codes[&code].shared.clone());
    assert_eq!(
        shared.unwrap().into_iter().collect::<Vec<_>>(),
        vec![stable_id("alpha-home")],
        "the other workspace's page is not shared"
    );

    let (status, body) = answer(&api, &[("form_token", &token), ("decision", "allow")]).await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{body}");
    assert!(body.contains("already answered"), "{body}");
}

#[tokio::test]
async fn cancel_refuses_with_the_clients_state() {
    let api = Api::start(fixture(), "ntn_alpha").await;
    api.running.fake.set_oauth_login_page(true);
    let token = form_token(&shown(&api).await);
    let (status, to) = answer(&api, &[("form_token", &token), ("decision", "cancel")]).await;
    assert_eq!(status, StatusCode::FOUND);
    assert_eq!(to, format!("{REDIRECT}?error=access_denied&state=xyz"));
    let (status, _) = answer(&api, &[("form_token", "made-up"), ("decision", "allow")]).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
}

#[tokio::test]
async fn off_authorize_approves_at_once() {
    let api = Api::start(fixture(), "ntn_alpha").await;
    let resp = browser().get(authorize_url(&api)).send().await.unwrap();
    assert_eq!(resp.status(), StatusCode::FOUND);
    let to = resp.headers()["location"].to_str().unwrap();
    assert!(to.starts_with(REDIRECT) && to.contains("code="), "{to}");
}
