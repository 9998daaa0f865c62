//! The cache stays exact with Notion's webhooks: someone edits the workspace in "Notion" (the fake,
//! through its own API, with another integration's token), the fake announces it by signed webhook
//! — on time, twice, out of order, or not at all — and no read through the server returns what the
//! edit replaced: a property, a block's text, a child list, a query row, a schema, a comment.
#![allow(clippy::unwrap_used)]

mod common;

use common::{Harness, id};
use notion_fake::{Fixture, WebhookSubscription};
use notion_mcp_remote::config::Redacted;
use serde_json::{Value, json};
use std::time::Duration;

const SECRET: &str = "secret_exactness_token";

fn fixture() -> Fixture {
    serde_json::from_value(json!({"workspaces": [{
        "name": "Acme",
        "tokens": ["ntn_reader", "ntn_editor"],
        "users": [{"id": "alice", "name": "Alice"}],
        "pages": [
            {"id": "plan", "title": "Plan", "children": [
                {"id": "intro", "paragraph": "Original intro"},
                {"toggle": "Details", "children": [{"id": "deep", "paragraph": "Original deep text"}]}
            ],
             "databases": [{
                "id": "tasks", "title": "Tasks", "data_source_id": "tasks-ds",
                "properties": {"Name": "title", "Status": {"select": ["Todo", "Done"]}},
                "rows": [
                    {"id": "t1", "title": "Write intro", "properties": {"Status": "Todo"}},
                    {"id": "t2", "title": "Ship it", "properties": {"Status": "Todo"}}
                ]
            }]}
        ]
    }]}))
    .unwrap()
}

async fn start(
    subscription: impl FnOnce(String) -> WebhookSubscription,
    max_age: Option<u64>,
) -> Harness {
    let h = Harness::start_with(fixture(), |a| {
        a.webhook_verification_token = vec![Redacted(SECRET.to_owned())];
        a.cache_max_age_secs = max_age;
    })
    .await;
    h.fake()
        .subscribe_webhooks(subscription(format!("{}/webhooks/notion", h.base)));
    h
}

/// A request straight to Notion (the fake) as the other integration: an edit by someone else.
async fn notion(h: &Harness, method: http::Method, path: &str, body: Value) {
    let resp = h
        .http
        .request(method, format!("{}{path}", h.fake.base_url()))
        .bearer_auth("ntn_editor")
        .header("Notion-Version", "2026-03-11")
        .json(&body)
        .send()
        .await
        .unwrap();
    let status = resp.status();
    assert!(
        status.is_success(),
        "{path}: {status} {}",
        resp.text().await.unwrap()
    );
}

fn paragraph(text: &str) -> Value {
    json!({"rich_text": [{"type": "text", "text": {"content": text}}]})
}

/// Every read the test checks, as the reader sees it through the server.
async fn reads(h: &Harness) -> String {
    let mut all = String::new();
    for (tool, args) in [
        ("fetch", json!({"id": id("plan")})),
        ("query_data_source", json!({"id": id("tasks-ds")})),
        ("get_data_source", json!({"id": id("tasks-ds")})),
        ("get_page", json!({"id": id("t1")})),
        ("list_comments", json!({"id": id("plan")})),
    ] {
        all.push_str(&h.text("ntn_reader", tool, args).await);
        all.push('\n');
    }
    all
}

/// Make five kinds of change in Notion; after each one's webhook, no read shows the old state.
async fn edit_and_check(h: &Harness, settle: impl AsyncFn(&Harness)) {
    let before = reads(h).await;
    assert!(
        before.contains("Original deep text") && before.contains("Todo"),
        "{before}"
    );
    let (t1, deep, intro) = (id("t1"), id("deep"), id("intro"));
    notion(
        h,
        http::Method::PATCH,
        &format!("/v1/pages/{t1}"),
        json!({"properties": {"Status": {"select": {"name": "Done"}}}}),
    )
    .await;
    notion(
        h,
        http::Method::PATCH,
        &format!("/v1/blocks/{deep}"),
        json!({"paragraph": paragraph("Edited deep text")}),
    )
    .await;
    notion(h, http::Method::PATCH, &format!("/v1/blocks/{}/children", id("plan")),
        json!({"children": [{"object": "block", "type": "paragraph", "paragraph": paragraph("A new last line")}]})).await;
    notion(
        h,
        http::Method::DELETE,
        &format!("/v1/blocks/{intro}"),
        json!({}),
    )
    .await;
    notion(
        h,
        http::Method::PATCH,
        &format!("/v1/data_sources/{}", id("tasks-ds")),
        json!({"properties": {"Priority": {"number": {}}}}),
    )
    .await;
    notion(h, http::Method::POST, "/v1/comments",
        json!({"parent": {"page_id": id("plan")}, "rich_text": [{"type": "text", "text": {"content": "A fresh comment"}}]})).await;
    settle(h).await;
    let after = reads(h).await;
    for gone in ["Original deep text", "Original intro"] {
        assert!(
            !after.contains(gone),
            "stale read: '{gone}' still shown\n{after}"
        );
    }
    for new in [
        "Edited deep text",
        "A new last line",
        "Priority",
        "A fresh comment",
        "Done",
    ] {
        assert!(after.contains(new), "'{new}' missing\n{after}");
    }
}

async fn deliveries_settled(h: &Harness) {
    h.fake().webhooks_idle().await;
}

#[tokio::test]
async fn every_kind_of_change_is_seen_after_its_event() {
    let h = start(|url| WebhookSubscription::new(url, SECRET), None).await;
    edit_and_check(&h, deliveries_settled).await;
    // Each delivery was answered 200.
    let deliveries = h.fake().webhook_deliveries();
    assert!(!deliveries.is_empty());
    assert!(
        deliveries.iter().all(|d| d.status == Some(200)),
        "{deliveries:?}"
    );
    h.shutdown().await;
}

#[tokio::test]
async fn duplicated_and_reordered_events_change_nothing() {
    let h = start(
        |url| {
            WebhookSubscription::new(url, SECRET)
                .duplicate(true)
                .reorder(true)
        },
        None,
    )
    .await;
    edit_and_check(&h, deliveries_settled).await;
    let metrics = h.metrics().await;
    assert!(
        metrics.contains("outcome=\"duplicate\""),
        "duplicates were not recognised"
    );
    h.shutdown().await;
}

#[tokio::test]
async fn lost_events_are_stale_at_most_the_max_age() {
    let h = start(
        |url| WebhookSubscription::new(url, SECRET).loss(1.0, 7),
        Some(1),
    )
    .await;
    edit_and_check(&h, async |h: &Harness| {
        h.fake().webhooks_idle().await;
        // Control: with every event lost, the cache still shows the old page (so this test, and
        // the ones above, would see a stale read if invalidation failed).
        let stale = reads(h).await;
        assert!(stale.contains("Original deep text"), "{stale}");
        tokio::time::sleep(Duration::from_millis(1100)).await;
    })
    .await;
    h.shutdown().await;
}

#[tokio::test]
async fn an_edit_and_its_event_are_visible_within_a_second() {
    let h = start(|url| WebhookSubscription::new(url, SECRET), None).await;
    h.text("ntn_reader", "fetch", json!({"id": id("plan")}))
        .await;
    let started = std::time::Instant::now();
    notion(
        &h,
        http::Method::PATCH,
        &format!("/v1/blocks/{}", id("deep")),
        json!({"paragraph": paragraph("Seen quickly")}),
    )
    .await;
    loop {
        let t = h
            .text("ntn_reader", "fetch", json!({"id": id("plan")}))
            .await;
        if t.contains("Seen quickly") {
            break;
        }
        assert!(
            started.elapsed() < Duration::from_secs(1),
            "not visible within a second"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    h.shutdown().await;
}
