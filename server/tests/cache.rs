//! The read cache end to end: repeated reads cost Notion nothing, a second identity pays one small
//! proof and an identity without access gets Notion's refusal, writes through the server are seen at
//! once, a change nobody announced is stale at most the max age, and signed webhook events clear
//! exactly what they name.
#![allow(clippy::unwrap_used)]

mod common;

use common::{Harness, id};
use notion_fake::Fixture;
use notion_fake::sign;
use serde_json::{Value, json};
use std::time::Duration;

const SECRET: &str = "secret_cache_test_token";

fn fixture() -> Fixture {
    serde_json::from_value(json!({"workspaces": [{
        "name": "Acme",
        "tokens": [
            "ntn_alice",
            "ntn_carol",
            {"token": "ntn_bobby", "shared": ["other"]}
        ],
        "pages": [
            {"id": "plan", "title": "Plan", "children": [
                "First line",
                {"toggle": "Details", "children": ["Nested secret words"]}
            ]},
            {"id": "other", "title": "Other", "children": ["Not the plan"]}
        ]
    }]}))
    .unwrap()
}

/// Requests the fake received since the last reset, as "METHOD path" lines.
fn notion_requests(h: &Harness) -> Vec<String> {
    h.fake()
        .requests()
        .iter()
        .map(|r| format!("{} {}", r.method, r.path))
        .collect()
}

/// Append a paragraph the way another Notion user would (straight to Notion, not through us).
async fn edit_in_notion(h: &Harness, page: &str, text: &str) {
    let status = h
        .http
        .patch(format!("{}/v1/blocks/{page}/children", h.fake.base_url()))
        .bearer_auth("ntn_carol")
        .header("Notion-Version", "2026-03-11")
        .json(
            &json!({"children": [{"object": "block", "type": "paragraph",
            "paragraph": {"rich_text": [{"type": "text", "text": {"content": text}}]}}]}),
        )
        .send()
        .await
        .unwrap()
        .status();
    assert_eq!(status, 200);
}

async fn deliver(h: &Harness, body: &Value) -> u16 {
    let body = serde_json::to_vec(body).unwrap();
    h.http
        .post(format!("{}/webhooks/notion", h.base))
        .header("X-Notion-Signature", sign(SECRET, &body))
        .header("Content-Type", "application/json")
        .body(body)
        .send()
        .await
        .unwrap()
        .status()
        .as_u16()
}

fn event(event_id: &str, kind: &str, page: &str) -> Value {
    json!({"id": event_id, "timestamp": "2026-12-01T12:00:00.000Z",
        "workspace_id": id("Acme"), "workspace_name": "Acme",
        "subscription_id": "29d75c0d-5546-4414-8459-7b7a92f1fc4b",
        "integration_id": "0ef2e755-4912-8096-91c1-00376a88a5ca", "type": kind,
        "authors": [{"id": "c7c11cca-1d73-471d-9b6e-bdef51470190", "type": "person"}],
        "attempt_number": 1, "api_version": "2025-09-03",
        "entity": {"id": page, "type": "page"},
        "data": {"parent": {"id": id("Acme"), "type": "space"}, "updated_blocks": []}})
}

async fn with_webhooks() -> Harness {
    Harness::start_with(fixture(), |a| {
        a.webhook_verification_token = vec![notion_mcp_remote::config::Redacted(SECRET.to_owned())];
    })
    .await
}

#[tokio::test]
async fn repeated_reads_cost_nothing_and_a_second_identity_one_proof() {
    let h = with_webhooks().await;
    let plan = id("plan");
    let first = h.text("ntn_alice", "fetch", json!({"id": plan})).await;
    assert!(first.contains("Nested secret words"), "{first}");
    h.fake().reset_log();
    let again = h.text("ntn_alice", "fetch", json!({"id": plan})).await;
    assert_eq!(again, first);
    assert_eq!(
        notion_requests(&h),
        Vec::<String>::new(),
        "a repeated read went to Notion"
    );
    // It was the page as rendered before, not decoded and rendered again.
    assert!(
        h.metrics().await.contains(
            "notion_mcp_cache_lookups_total{endpoint=\"rendered page\",result=\"hit\"} 1"
        )
    );

    // Carol can see the page: one small request (the page itself, which proves her access to its
    // whole block tree), then the same answer.
    let carol = h.text("ntn_carol", "fetch", json!({"id": plan})).await;
    assert_eq!(carol, first);
    assert_eq!(notion_requests(&h), vec![format!("GET /v1/pages/{plan}")]);
    // Reading a nested block's children directly costs her nothing more.
    h.fake().reset_log();
    h.text("ntn_carol", "fetch", json!({"id": plan})).await;
    assert_eq!(notion_requests(&h), Vec::<String>::new());

    // Bob cannot: he gets Notion's refusal, never the cached page.
    h.fake().reset_log();
    let bob = h.call("ntn_bobby", "fetch", json!({"id": plan})).await;
    let text = common::result_text(&bob);
    assert!(!text.contains("Nested secret words"), "{text}");
    assert!(
        text.contains("object_not_found") || text.contains("not found"),
        "{text}"
    );
    h.shutdown().await;
}

#[tokio::test]
async fn writes_through_the_server_are_read_back_at_once() {
    let h = with_webhooks().await;
    let plan = id("plan");
    h.text("ntn_alice", "fetch", json!({"id": plan})).await;
    let out = h
        .call(
            "ntn_alice",
            "append_blocks",
            json!({"id": plan, "content": "Written through the server"}),
        )
        .await;
    assert!(
        !out["result"]["isError"].as_bool().unwrap_or(false),
        "{out}"
    );
    let after = h.text("ntn_alice", "fetch", json!({"id": plan})).await;
    assert!(after.contains("Written through the server"), "{after}");
    h.shutdown().await;
}

#[tokio::test]
async fn a_signed_event_clears_what_it_names_and_only_once() {
    let h = with_webhooks().await;
    let plan = id("plan");
    h.text("ntn_alice", "fetch", json!({"id": plan})).await;
    edit_in_notion(&h, &plan, "Edited in Notion").await;
    // No event yet: the cache still holds the page as it was (exact only with events).
    let before = h.text("ntn_alice", "fetch", json!({"id": plan})).await;
    assert!(!before.contains("Edited in Notion"));
    let e = event(
        "0b3f6c1e-1111-4c3a-9d7e-000000000001",
        "page.content_updated",
        &plan,
    );
    assert_eq!(deliver(&h, &e).await, 200);
    let after = h.text("ntn_alice", "fetch", json!({"id": plan})).await;
    assert!(after.contains("Edited in Notion"), "{after}");
    // The same event again (a retry): accepted, counted as a duplicate.
    let mut retry = e.clone();
    retry["attempt_number"] = json!(2);
    assert_eq!(deliver(&h, &retry).await, 200);
    // Unknown types are accepted; malformed events are 400.
    let odd = event(
        "0b3f6c1e-1111-4c3a-9d7e-000000000002",
        "page.teleported",
        &plan,
    );
    assert_eq!(deliver(&h, &odd).await, 200);
    assert_eq!(deliver(&h, &json!({"hello": 1})).await, 400);
    let metrics = h.metrics().await;
    for line in [
        "notion_mcp_webhook_events_total{outcome=\"applied\",type=\"page.content_updated\"} 1",
        "notion_mcp_webhook_events_total{outcome=\"duplicate\",type=\"page.content_updated\"} 1",
        "notion_mcp_webhook_events_total{outcome=\"ignored\",type=\"other\"} 1",
    ] {
        assert!(metrics.contains(line), "missing {line}");
    }
    assert!(metrics.contains(
        "notion_mcp_cache_lookups_total{endpoint=\"GET /v1/blocks/{id}/children\",result=\"hit\"}"
    ));
    h.shutdown().await;
}

#[tokio::test]
async fn unsigned_and_missigned_deliveries_are_refused() {
    let h = with_webhooks().await;
    let url = format!("{}/webhooks/notion", h.base);
    let body = serde_json::to_vec(&event("e1", "page.deleted", &id("plan"))).unwrap();
    let missing = h.http.post(&url).body(body.clone()).send().await.unwrap();
    assert_eq!(missing.status(), 401);
    let text = missing.text().await.unwrap();
    assert!(
        text.contains("X-Notion-Signature header is missing"),
        "{text}"
    );
    let wrong = h
        .http
        .post(&url)
        .header("X-Notion-Signature", sign("secret_wrong", &body))
        .body(body.clone())
        .send()
        .await
        .unwrap();
    assert_eq!(wrong.status(), 401);
    let big = vec![b' '; 300 * 1024];
    let too_big = h
        .http
        .post(&url)
        .header("X-Notion-Signature", sign(SECRET, &big))
        .body(big)
        .send()
        .await
        .unwrap();
    assert_eq!(too_big.status(), 413);
    h.shutdown().await;
}

#[tokio::test]
async fn without_webhooks_nothing_is_kept_and_an_opted_in_max_age_bounds_staleness() {
    // Default without a subscription: every read is fresh.
    let h = Harness::start(fixture()).await;
    let plan = id("plan");
    h.text("ntn_alice", "fetch", json!({"id": plan})).await;
    edit_in_notion(&h, &plan, "Fresh at once").await;
    let t = h.text("ntn_alice", "fetch", json!({"id": plan})).await;
    assert!(t.contains("Fresh at once"));
    h.shutdown().await;

    // Opted into 1 s: a change nobody announced is seen within a second.
    let h = Harness::start_with(fixture(), |a| a.cache_max_age_secs = Some(1)).await;
    h.text("ntn_alice", "fetch", json!({"id": plan})).await;
    edit_in_notion(&h, &plan, "Seen after the max age").await;
    let stale = h.text("ntn_alice", "fetch", json!({"id": plan})).await;
    assert!(!stale.contains("Seen after the max age"));
    tokio::time::sleep(Duration::from_millis(1200)).await;
    let fresh = h.text("ntn_alice", "fetch", json!({"id": plan})).await;
    assert!(fresh.contains("Seen after the max age"), "{fresh}");
    h.shutdown().await;
}
