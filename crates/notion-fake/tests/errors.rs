//! Header checks, error shapes, malformed input, size limits and version differences.
#![allow(clippy::unwrap_used)]

mod common;

use common::{Api, assert_error};
use notion_fake::{Fixture, PageFixture, stable_id};
use reqwest::Method;
use serde_json::json;

fn fixture() -> Fixture {
    Fixture::builder()
        .workspace("W", "ntn_w")
        .page(
            PageFixture::new("Doc")
                .id("doc")
                .child(json!({"paragraph": "first"}))
                .child(json!({"paragraph": "second"})),
        )
        .build()
}

#[tokio::test]
async fn headers_are_checked() {
    let api = Api::start(fixture(), "ntn_w").await;
    let path = format!("/v1/pages/{}", stable_id("doc"));
    let (s, b) = api
        .call_with(Method::GET, &path, None, Some("ntn_w"), None)
        .await;
    assert_error(s, &b, 400, "missing_version");
    let (s, b) = api
        .call_with(Method::GET, &path, None, Some("ntn_w"), Some("2022-06-28"))
        .await;
    assert_error(s, &b, 400, "validation_error");
    assert!(b["message"].as_str().unwrap().contains("Notion-Version"));
    let (s, b) = api
        .call_with(Method::GET, &path, None, None, Some("2026-03-11"))
        .await;
    assert_error(s, &b, 401, "unauthorized");
    assert_eq!(b["message"], "API token is invalid.");
    let (s, b) = api
        .call_with(
            Method::GET,
            &path,
            None,
            Some("ntn_nope"),
            Some("2026-03-11"),
        )
        .await;
    assert_error(s, &b, 401, "unauthorized");
    api.fake().revoke_token("ntn_w");
    let (s, b) = api.get(&path).await;
    assert_error(s, &b, 401, "unauthorized");
    let recorded = api.fake().requests();
    assert_eq!(
        recorded.last().unwrap().authorization(),
        Some(format!("Bearer {}", notion_fake::token_fingerprint("ntn_w")).as_str())
    );
    assert_eq!(
        recorded.last().unwrap().notion_version(),
        Some("2026-03-11")
    );
    assert_eq!(api.fake().count_status(401), 3);
}

#[tokio::test]
async fn malformed_requests() {
    let api = Api::start(fixture(), "ntn_w").await;
    let resp = api
        .http
        .post(api.url("/v1/pages"))
        .bearer_auth("ntn_w")
        .header("Notion-Version", "2026-03-11")
        .header("content-type", "application/json")
        .body("{not json")
        .send()
        .await
        .unwrap();
    let s = resp.status();
    let b: serde_json::Value = resp.json().await.unwrap();
    assert_error(s, &b, 400, "invalid_json");
    let (s, b) = api.get("/v1/nothing/here").await;
    assert_error(s, &b, 400, "invalid_request_url");
    let (s, b) = api.call(Method::PUT, "/v1/pages", None).await;
    assert_error(s, &b, 400, "invalid_request_url");
    let (s, b) = api
        .post(
            "/v1/pages",
            json!({"parent": {"page_id": stable_id("doc").to_string()}}),
        )
        .await;
    assert_error(s, &b, 400, "validation_error");
    assert_eq!(
        b["message"],
        "body failed validation: body.properties should be defined, instead was `undefined`."
    );
    let (s, b) = api.get("/v1/comments").await;
    assert_error(s, &b, 400, "validation_error");
}

#[tokio::test]
async fn size_limits_on_append() {
    let api = Api::start(fixture(), "ntn_w").await;
    let path = format!("/v1/blocks/{}/children", stable_id("doc"));
    let long = "x".repeat(2001);
    let (s, b) = api
        .patch(&path, json!({"children": [{"paragraph": {"rich_text": []}}, {"paragraph": {"rich_text": [{"text": {"content": long}}]}}]}))
        .await;
    assert_error(s, &b, 400, "validation_error");
    assert_eq!(
        b["message"],
        "body failed validation: body.children[1].paragraph.rich_text[0].text.content.length should be ≤ `2000`, instead was `2001`."
    );
    let many: Vec<_> = (0..101)
        .map(|_| json!({"paragraph": {"rich_text": []}}))
        .collect();
    let (s, b) = api.patch(&path, json!({"children": many})).await;
    assert_error(s, &b, 400, "validation_error");
    assert!(
        b["message"]
            .as_str()
            .unwrap()
            .contains("body.children.length should be ≤ `100`"),
        "{b}"
    );
    let deep = json!({"children": [{"toggle": {"rich_text": [], "children": [{"toggle": {"rich_text": [], "children": [{"toggle": {"rich_text": [], "children": [{"paragraph": {"rich_text": []}}]}}]}}]}}]});
    let (s, b) = api.patch(&path, deep).await;
    assert_error(s, &b, 400, "validation_error");
    assert!(
        b["message"]
            .as_str()
            .unwrap()
            .contains("should be not present"),
        "{b}"
    );
    // A column list arrives with two columns holding a child each, not empty to be filled later.
    let empty_list =
        json!({"children": [{"type": "column_list", "column_list": {"children": []}}]});
    let (s, b) = api.patch(&path, empty_list).await;
    assert_error(s, &b, 400, "validation_error");
    assert_eq!(
        b["message"],
        "body failed validation: body.children[0].column_list.children.length should be ≥ `2`, instead was `0`."
    );
    // 11 toggles x 100 children = 1111 blocks in one request.
    let kids: Vec<_> = (0..100)
        .map(|_| json!({"paragraph": {"rich_text": []}}))
        .collect();
    let heavy: Vec<_> = (0..11)
        .map(|_| json!({"toggle": {"rich_text": [], "children": kids.clone()}}))
        .collect();
    let (s, b) = api.patch(&path, json!({"children": heavy})).await;
    assert_error(s, &b, 400, "validation_error");
    assert!(b["message"].as_str().unwrap().contains("1000"), "{b}");
    let (s, b) = api
        .patch(&path, json!({"children": [{"child_page": {"title": "x"}}]}))
        .await;
    assert_error(s, &b, 400, "validation_error");
    // Nothing was written by the failed requests.
    assert_eq!(api.get_all(&path).await.len(), 2);
}

#[tokio::test]
async fn legacy_version_shapes() {
    let mut api = Api::start(fixture(), "ntn_w").await;
    let doc = stable_id("doc");
    let path = format!("/v1/blocks/{doc}/children");
    let first = api.get_all(&path).await[0]["id"]
        .as_str()
        .unwrap()
        .to_string();
    // 2026-03-11 rejects `after` and `archived`.
    let (s, b) = api
        .patch(
            &path,
            json!({"children": [{"paragraph": {"rich_text": []}}], "after": first}),
        )
        .await;
    assert_error(s, &b, 400, "validation_error");
    let (s, b) = api
        .patch(&format!("/v1/pages/{doc}"), json!({"archived": true}))
        .await;
    assert_error(s, &b, 400, "validation_error");
    api.version = "2025-09-03".into();
    let (s, page) = api.get(&format!("/v1/pages/{doc}")).await;
    assert_eq!(s, 200);
    assert_eq!(page["archived"], false);
    assert_eq!(page["in_trash"], false);
    let (s, b) = api.patch(&path, json!({"children": [{"paragraph": {"rich_text": [{"text": {"content": "legacy"}}]}}], "after": first})).await;
    assert_eq!(s, 200, "{b}");
    let texts: Vec<String> = api
        .get_all(&path)
        .await
        .iter()
        .map(|b| {
            b["paragraph"]["rich_text"][0]["plain_text"]
                .as_str()
                .unwrap_or("")
                .to_string()
        })
        .collect();
    assert_eq!(texts, vec!["first", "legacy", "second"]);
    let (s, page) = api
        .patch(&format!("/v1/pages/{doc}"), json!({"archived": true}))
        .await;
    assert_eq!(s, 200, "{page}");
    assert_eq!(page["archived"], true);
    assert_eq!(page["in_trash"], true);
}
