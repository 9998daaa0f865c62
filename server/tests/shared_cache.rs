//! Two replicas, one Redis: a webhook delivered to one replica clears the cached page on the other
//! within 100 ms, and while Redis is down neither serves from its cache (an invalidation could be
//! missed) — reads stay correct and are answered by Notion until Redis is back.
#![allow(clippy::unwrap_used)]

mod common;

use common::redis::RedisServer;
use common::{Harness, id};
use notion_fake::{FakeNotion, Fixture, WebhookSubscription};
use notion_mcp_remote::config::Redacted;
use serde_json::json;
use std::time::{Duration, Instant};

const SECRET: &str = "secret_shared_cache_token";

fn fixture() -> Fixture {
    serde_json::from_value(json!({"workspaces": [{
        "name": "Acme",
        "tokens": ["ntn_reader", "ntn_editor"],
        "pages": [{"id": "plan", "title": "Plan", "children": [{"id": "line", "paragraph": "Version one"}]}]
    }]}))
    .unwrap()
}

/// A replica serving `fake`, sharing state on `redis`.
async fn replica(fake: &FakeNotion, redis: &str) -> Harness {
    Harness::serving(fake, |args| {
        args.webhook_verification_token = vec![Redacted(SECRET.to_owned())];
        args.redis_url = Some(Redacted(redis.to_owned()));
    })
    .await
}

/// Wait until the replica's shared state is up (its cache is trusted from then on).
async fn connected(h: &Harness) {
    h.redis_connected().await;
    tokio::time::sleep(Duration::from_millis(300)).await;
}

async fn edit(h: &Harness, text: &str) {
    let status = h
        .http
        .patch(format!("{}/v1/blocks/{}", h.fake.base_url(), id("line")))
        .bearer_auth("ntn_editor")
        .header("Notion-Version", "2026-03-11")
        .json(&json!({"paragraph": {"rich_text": [{"type": "text", "text": {"content": text}}]}}))
        .send()
        .await
        .unwrap()
        .status();
    assert_eq!(status, 200);
}

async fn page(h: &Harness) -> String {
    h.text("ntn_reader", "fetch", json!({"id": id("plan")}))
        .await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_webhook_at_one_replica_clears_the_other() {
    let Some(mut redis) =
        RedisServer::start_or_skip("a_webhook_at_one_replica_clears_the_other", &[]).await
    else {
        return;
    };
    let fake = FakeNotion::new(fixture());
    let (a, b) = (
        replica(&fake, &redis.url()).await,
        replica(&fake, &redis.url()).await,
    );
    connected(&a).await;
    connected(&b).await;
    fake.subscribe_webhooks(WebhookSubscription::new(
        format!("{}/webhooks/notion", a.base),
        SECRET,
    ));

    assert!(page(&a).await.contains("Version one"));
    assert!(page(&b).await.contains("Version one"));
    // B's copy is cached: a second read costs Notion nothing.
    fake.reset_log();
    page(&b).await;
    assert!(fake.requests().is_empty(), "B did not cache the page");

    edit(&a, "Version two").await;
    fake.webhooks_idle().await; // delivered to A and answered
    let delivered = Instant::now();
    loop {
        if page(&b).await.contains("Version two") {
            break;
        }
        assert!(
            delivered.elapsed() < Duration::from_millis(100),
            "B still stale after 100 ms"
        );
        tokio::time::sleep(Duration::from_millis(5)).await;
    }

    // Redis down: B can no longer hear A's invalidations, so it answers from Notion, correctly.
    redis.kill();
    let started = Instant::now();
    while !b.metrics().await.contains("notion_mcp_redis_degraded 1") {
        assert!(
            started.elapsed() < Duration::from_secs(5),
            "degradation not noticed"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    edit(&a, "Version three").await;
    fake.webhooks_idle().await;
    assert!(
        page(&b).await.contains("Version three"),
        "B served a stale page while Redis was down"
    );
    assert!(b.metrics().await.contains("result=\"bypass\""));

    // Back: both trust (empty) caches again.
    redis.restart().await;
    connected(&b).await;
    assert!(page(&b).await.contains("Version three"));
    fake.reset_log();
    assert!(page(&b).await.contains("Version three"));
    assert!(
        fake.requests().is_empty(),
        "B did not cache again after Redis came back"
    );
    a.shutdown().await;
    b.shutdown().await;
}
