//! Fault injection and rate limiting.
#![allow(clippy::unwrap_used)]

mod common;

use std::time::{Duration, Instant};

use common::{Api, assert_error};
use notion_fake::{Fault, FaultRule, Fixture, PageFixture, RateLimit, stable_id};
use reqwest::Method;
use serde_json::json;

fn fixture() -> Fixture {
    Fixture::builder()
        .workspace("W", "ntn_w")
        .page(PageFixture::new("Doc").id("doc"))
        .build()
}

fn doc_path() -> String {
    format!("/v1/pages/{}", stable_id("doc"))
}

#[tokio::test]
async fn status_faults_fire_n_times_on_matching_routes() {
    let api = Api::start(fixture(), "ntn_w").await;
    api.fake().push_fault(
        FaultRule::new(Fault::Status {
            status: 502,
            code: String::new(),
            retry_after: None,
        })
        .method(Method::GET)
        .path_prefix("/v1/pages")
        .times(2),
    );
    let (s, b) = api.get("/v1/users/me").await;
    assert_eq!(s, 200, "{b}");
    for _ in 0..2 {
        let (s, b) = api.get(&doc_path()).await;
        assert_error(s, &b, 502, "bad_gateway");
    }
    let (s, _) = api.get(&doc_path()).await;
    assert_eq!(s, 200);
    api.fake().push_fault(FaultRule::new(Fault::Status {
        status: 409,
        code: "conflict_error".into(),
        retry_after: None,
    }));
    let (s, b) = api.get(&doc_path()).await;
    assert_error(s, &b, 409, "conflict_error");
    api.fake().clear_faults();
    let (s, _) = api.get(&doc_path()).await;
    assert_eq!(s, 200);
    assert_eq!(api.fake().count_status(502), 2);
    api.fake().reset_log();
    assert_eq!(api.fake().count_status(502), 0);
    assert!(api.fake().requests().is_empty());
}

#[tokio::test]
async fn rate_limited_and_blocked_faults() {
    let api = Api::start(fixture(), "ntn_w").await;
    api.fake().push_fault(
        FaultRule::new(Fault::RateLimited {
            retry_after: Some(7),
            reason: "public_api_request_rate_limit".into(),
        })
        .times(1),
    );
    let resp = api
        .http
        .get(api.url(&doc_path()))
        .bearer_auth("ntn_w")
        .header("Notion-Version", "2026-03-11")
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 429);
    assert_eq!(resp.headers()["retry-after"], "7");
    let b: serde_json::Value = resp.json().await.unwrap();
    assert_eq!(b["code"], "rate_limited");
    assert_eq!(
        b["additional_data"]["rate_limit_reason"],
        "public_api_request_rate_limit"
    );
    api.fake().push_fault(
        FaultRule::new(Fault::RateLimited {
            retry_after: None,
            reason: "public_api_request_blocked".into(),
        })
        .times(1),
    );
    let (s, b) = api.get(&doc_path()).await;
    assert_error(s, &b, 429, "rate_limited");
    assert_eq!(
        b["additional_data"]["rate_limit_reason"],
        "public_api_request_blocked"
    );
}

#[tokio::test]
async fn overloaded_repeats_retry_after_in_body() {
    let api = Api::start(fixture(), "ntn_w").await;
    api.fake().push_fault(
        FaultRule::new(Fault::Overloaded {
            retry_after: Some(3),
        })
        .times(1),
    );
    let resp = api
        .http
        .get(api.url(&doc_path()))
        .bearer_auth("ntn_w")
        .header("Notion-Version", "2026-03-11")
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status().as_u16(), 529);
    assert_eq!(resp.headers()["retry-after"], "3");
    let b: serde_json::Value = resp.json().await.unwrap();
    assert_eq!(b["code"], "service_overload");
    assert_eq!(b["additional_data"]["retry_after"], "3");
}

#[tokio::test]
async fn committed_then_unavailable_applies_the_write() {
    let api = Api::start(fixture(), "ntn_w").await;
    let doc = stable_id("doc");
    api.fake().push_fault(
        FaultRule::new(Fault::CommittedThenUnavailable)
            .method(Method::PATCH)
            .times(1),
    );
    let (s, b) = api
        .patch(&format!("/v1/blocks/{doc}/children"), json!({"children": [{"paragraph": {"rich_text": [{"text": {"content": "a"}}]}}, {"divider": {}}]}))
        .await;
    assert_error(s, &b, 503, "service_unavailable");
    assert_eq!(
        b["additional_data"]["retry_guidance"],
        "Do not repeat the write."
    );
    assert_eq!(
        b["additional_data"]["committed_resource_id"],
        doc.to_string()
    );
    let committed = b["additional_data"]["committed_child_ids"]
        .as_array()
        .unwrap()
        .clone();
    assert_eq!(committed.len(), 2);
    let kids = api.get_all(&format!("/v1/blocks/{doc}/children")).await;
    let ids: Vec<_> = kids.iter().map(|k| k["id"].clone()).collect();
    assert_eq!(ids, committed);

    api.fake().push_fault(
        FaultRule::new(Fault::CommittedThenUnavailable)
            .path_prefix("/v1/pages")
            .times(1),
    );
    let (s, b) = api.post("/v1/pages", json!({"parent": {"page_id": doc.to_string()}, "properties": {"title": {"title": [{"text": {"content": "New"}}]}}})).await;
    assert_error(s, &b, 503, "service_unavailable");
    let new_id = b["additional_data"]["committed_resource_id"]
        .as_str()
        .unwrap()
        .to_string();
    let (s, page) = api.get(&format!("/v1/pages/{new_id}")).await;
    assert_eq!(s, 200);
    assert_eq!(common::title_of(&page), "New");
}

#[tokio::test]
async fn delay_then_proceeds() {
    let api = Api::start(fixture(), "ntn_w").await;
    api.fake()
        .push_fault(FaultRule::new(Fault::Delay(Duration::from_millis(300))).times(1));
    let start = Instant::now();
    let (s, _) = api.get(&doc_path()).await;
    assert_eq!(s, 200);
    assert!(start.elapsed() >= Duration::from_millis(300));
}

#[tokio::test]
async fn a_delayed_write_commits_after_its_client_gave_up() {
    let api = Api::start(fixture(), "ntn_w").await;
    let doc = stable_id("doc");
    api.fake().push_fault(
        FaultRule::new(Fault::Delay(Duration::from_millis(500)))
            .method(Method::POST)
            .path_prefix("/v1/pages")
            .times(1),
    );
    let body = json!({"parent": {"page_id": doc.to_string()}, "properties": {"title": {"title": [{"text": {"content": "Late"}}]}}});
    let result = api
        .http
        .post(api.url("/v1/pages"))
        .bearer_auth("ntn_w")
        .header("Notion-Version", "2026-03-11")
        .json(&body)
        .timeout(Duration::from_millis(50))
        .send()
        .await;
    assert!(result.expect_err("the client gives up").is_timeout());
    // The request was received: it runs to the end without anyone waiting for the answer.
    api.fake().idle().await;
    assert_eq!(api.fake().in_flight(), 0);
    let posts: Vec<u16> = api
        .fake()
        .requests()
        .iter()
        .filter(|r| r.method == Method::POST && r.path == "/v1/pages")
        .map(|r| r.status)
        .collect();
    assert_eq!(posts, [200], "applied and recorded once");
    let late = api.fake().with_state(|s| {
        s.pages
            .values()
            .filter(|p| {
                serde_json::to_string(&p.properties)
                    .unwrap()
                    .contains("\"Late\"")
            })
            .count()
    });
    assert_eq!(late, 1, "the page exists once");
}

#[tokio::test]
async fn drop_connection_is_a_transport_error() {
    let api = Api::start(fixture(), "ntn_w").await;
    api.fake()
        .push_fault(FaultRule::new(Fault::DropConnection).times(1));
    let result = api
        .http
        .get(api.url(&doc_path()))
        .bearer_auth("ntn_w")
        .header("Notion-Version", "2026-03-11")
        .send()
        .await;
    let err = result.expect_err("the connection is dropped before a response");
    assert!(!err.is_status(), "{err:?}");
    assert_eq!(api.fake().count_status(0), 1);
    let (s, _) = api.get(&doc_path()).await;
    assert_eq!(s, 200);
}

#[tokio::test]
async fn probability_zero_never_fires() {
    let api = Api::start(fixture(), "ntn_w").await;
    api.fake().push_fault(
        FaultRule::new(Fault::Status {
            status: 500,
            code: String::new(),
            retry_after: None,
        })
        .probability(0.0),
    );
    for _ in 0..5 {
        assert_eq!(api.get(&doc_path()).await.0, 200);
    }
}

#[tokio::test]
async fn token_bucket_rate_limit() {
    let api = Api::start(fixture(), "ntn_w").await;
    api.fake().set_rate_limit(Some(RateLimit::new(0.5, 2)));
    assert_eq!(api.get(&doc_path()).await.0, 200);
    assert_eq!(api.get(&doc_path()).await.0, 200);
    let resp = api
        .http
        .get(api.url(&doc_path()))
        .bearer_auth("ntn_w")
        .header("Notion-Version", "2026-03-11")
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 429);
    let retry: u64 = resp.headers()["retry-after"]
        .to_str()
        .unwrap()
        .parse()
        .unwrap();
    assert!(retry >= 1);
    let b: serde_json::Value = resp.json().await.unwrap();
    assert_error(
        reqwest::StatusCode::TOO_MANY_REQUESTS,
        &b,
        429,
        "rate_limited",
    );
    assert_eq!(
        b["additional_data"]["rate_limit_reason"],
        "public_api_request_rate_limit"
    );
    assert_eq!(api.fake().count_status(429), 1);
    api.fake().set_rate_limit(None);
    api.fake()
        .set_workspace_rate_limit(Some(RateLimit::workspace(0.1, 1)));
    assert_eq!(api.get(&doc_path()).await.0, 200);
    let (s, b) = api.get(&doc_path()).await;
    assert_error(s, &b, 429, "rate_limited");
    assert_eq!(
        b["additional_data"]["rate_limit_reason"],
        "public_api_space_request_rate_limit"
    );
}
