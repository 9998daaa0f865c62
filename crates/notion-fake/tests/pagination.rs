//! Cursor pagination on every list endpoint, page_size limits, and the query result cap.
#![allow(clippy::unwrap_used)]

mod common;

use common::{Api, assert_error};
use notion_fake::{Fixture, GeneratedIds, stable_id};
use serde_json::{Value, json};

fn big() -> Fixture {
    Fixture::builder()
        .workspace("Big", "ntn_big")
        .page_with_blocks("Long page", 250)
        .pages(130, "Doc")
        .database_with_rows("Tracker", 230)
        .build()
}

#[tokio::test]
async fn block_children_paginate_past_100() {
    let api = Api::start(big(), "ntn_big").await;
    let page = stable_id("Long page");
    let (status, first) = api.get(&format!("/v1/blocks/{page}/children")).await;
    assert_eq!(status, 200);
    assert_eq!(first["object"], "list");
    assert_eq!(first["type"], "block");
    assert_eq!(first["block"], json!({}));
    assert_eq!(first["results"].as_array().unwrap().len(), 100);
    assert_eq!(first["has_more"], true);
    let all = api
        .get_all(&format!("/v1/blocks/{page}/children?page_size=37"))
        .await;
    assert_eq!(all.len(), 250);
    let texts: Vec<String> = all
        .iter()
        .map(|b| {
            b["paragraph"]["rich_text"][0]["plain_text"]
                .as_str()
                .unwrap()
                .to_string()
        })
        .collect();
    assert_eq!(texts[0], "Paragraph 0");
    assert_eq!(texts[249], "Paragraph 249");
}

#[tokio::test]
async fn page_size_limits_and_bad_cursors() {
    let api = Api::start(big(), "ntn_big").await;
    let page = stable_id("Long page");
    for bad in ["101", "0", "-3", "abc"] {
        let (s, b) = api
            .get(&format!("/v1/blocks/{page}/children?page_size={bad}"))
            .await;
        assert_error(s, &b, 400, "validation_error");
    }
    let (s, b) = api
        .get(&format!(
            "/v1/blocks/{page}/children?start_cursor=not-a-cursor"
        ))
        .await;
    assert_error(s, &b, 400, "validation_error");
    let ds = GeneratedIds::data_source("Tracker");
    let (s, b) = api
        .post(
            &format!("/v1/data_sources/{ds}/query"),
            json!({"page_size": 500}),
        )
        .await;
    assert_error(s, &b, 400, "validation_error");
    assert!(b["message"].as_str().unwrap().contains("page_size"), "{b}");
}

async fn collect_post(api: &Api, path: &str, mut body: Value) -> Vec<Value> {
    let mut out = Vec::new();
    loop {
        let (s, page) = api.post(path, body.clone()).await;
        assert_eq!(s, 200, "{page}");
        out.extend(page["results"].as_array().unwrap().iter().cloned());
        if page["has_more"] == false {
            return out;
        }
        body["start_cursor"] = page["next_cursor"].clone();
    }
}

#[tokio::test]
async fn query_and_search_paginate() {
    let api = Api::start(big(), "ntn_big").await;
    let ds = GeneratedIds::data_source("Tracker");
    let rows = collect_post(&api, &format!("/v1/data_sources/{ds}/query"), json!({})).await;
    assert_eq!(rows.len(), 230);
    assert_eq!(
        rows[229]["id"],
        GeneratedIds::row("Tracker", 229).to_string()
    );
    let found = collect_post(
        &api,
        "/v1/search",
        json!({"query": "doc", "filter": {"property": "object", "value": "page"}}),
    )
    .await;
    assert_eq!(found.len(), 130);
    let (_, first) = api.post("/v1/search", json!({"page_size": 5})).await;
    assert_eq!(first["type"], "page_or_data_source");
    assert_eq!(first["page_or_data_source"], json!({}));
}

#[tokio::test]
async fn query_result_cap_reports_incomplete() {
    let api = Api::start(big(), "ntn_big").await;
    api.fake().with_state(|s| s.limits.query_result_cap = 150);
    let ds = GeneratedIds::data_source("Tracker");
    let path = format!("/v1/data_sources/{ds}/query");
    let (_, first) = api.post(&path, json!({})).await;
    assert!(first.get("request_status").is_none());
    assert_eq!(first["has_more"], true);
    let (_, second) = api
        .post(&path, json!({"start_cursor": first["next_cursor"]}))
        .await;
    assert_eq!(second["results"].as_array().unwrap().len(), 50);
    assert_eq!(second["has_more"], false);
    assert!(second["next_cursor"].is_null());
    assert_eq!(
        second["request_status"],
        json!({"type": "incomplete", "incomplete_reason": "query_result_limit_reached"})
    );
}

#[tokio::test]
async fn users_list_paginates() {
    let fixture = Fixture::builder()
        .workspace("W", "ntn_w")
        .relation_fanout("Fan", 120)
        .build();
    let api = Api::start(fixture, "ntn_w").await;
    let users = api.get_all("/v1/users?page_size=50").await;
    // 1 owner + 120 generated + 1 bot
    assert_eq!(users.len(), 122);
}

#[tokio::test]
async fn real_ten_thousand_cap() {
    let fixture = Fixture::builder()
        .workspace("Huge", "ntn_huge")
        .database_with_rows("Huge", 10_050)
        .build();
    let api = Api::start(fixture, "ntn_huge").await;
    let ds = GeneratedIds::data_source("Huge");
    let path = format!("/v1/data_sources/{ds}/query?filter_properties=title");
    let mut body = json!({});
    let mut seen = 0;
    let mut last = Value::Null;
    for _ in 0..200 {
        let (s, page) = api.post(&path, body.clone()).await;
        assert_eq!(s, 200);
        seen += page["results"].as_array().unwrap().len();
        if page["has_more"] == false {
            last = page;
            break;
        }
        body["start_cursor"] = page["next_cursor"].clone();
    }
    assert_eq!(seen, 10_000);
    assert_eq!(
        last["request_status"]["incomplete_reason"],
        "query_result_limit_reached"
    );
}
