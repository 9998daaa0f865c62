//! Webhook delivery behaviours: duplicates, reordering, loss, retries and give-up, the
//! verification request, delay, unsubscribe, and the binary's webhook flags.
#![allow(clippy::unwrap_used)]

mod common;

use std::time::{Duration, Instant};

use common::Api;
use common::webhooks::{Receiver, TOKEN, fixture, id, setup, text, verify};
use notion_fake::WebhookSubscription;
use serde_json::{Value, json};

#[tokio::test]
async fn duplicates_keep_the_id_with_attempt_two() {
    let (api, rx) = setup(|s| s.duplicate(true)).await;
    api.patch(
        &format!("/v1/blocks/{}", id("b1")),
        json!({"paragraph": {"rich_text": text("x")}}),
    )
    .await;
    api.fake().webhooks_idle().await;
    let raw = rx.raw();
    assert_eq!(raw.len(), 2);
    let bodies = rx.bodies();
    assert_eq!(bodies[0]["id"], bodies[1]["id"]);
    assert_eq!(
        (
            bodies[0]["attempt_number"].clone(),
            bodies[1]["attempt_number"].clone()
        ),
        (json!(1), json!(2))
    );
    let (sig1, sig2) = (
        &raw[0].0["x-notion-signature"],
        &raw[1].0["x-notion-signature"],
    );
    assert_ne!(sig1, sig2);
    assert!(verify(TOKEN, &raw[1].1, sig2.to_str().unwrap()));
}

#[tokio::test]
async fn reorder_reverses_a_window() {
    let (api, rx) = setup(|s| s.reorder(true).reorder_window(Duration::from_millis(300))).await;
    let b1 = format!("/v1/blocks/{}", id("b1"));
    api.patch(&b1, json!({"paragraph": {"rich_text": text("x")}}))
        .await;
    api.post(
        "/v1/comments",
        json!({"parent": {"page_id": id("doc")}, "rich_text": text("hi")}),
    )
    .await;
    api.post(
        "/v1/pages",
        json!({"parent": {"page_id": id("other")}, "properties": {"title": {"title": text("P")}}}),
    )
    .await;
    api.fake().webhooks_idle().await;
    assert_eq!(
        rx.types(),
        ["page.created", "comment.created", "page.content_updated"]
    );
    let stamps: Vec<String> = rx
        .bodies()
        .iter()
        .map(|b| b["timestamp"].to_string())
        .collect();
    assert!(
        stamps[0] >= stamps[1] && stamps[1] >= stamps[2],
        "{stamps:?}"
    );
}

#[tokio::test]
async fn loss_and_drop_next_drop_events() {
    let (api, rx) = setup(|s| s).await;
    api.fake().drop_next_webhooks(1);
    for t in ["dropped", "kept"] {
        api.patch(
            &format!("/v1/blocks/{}", id("b1")),
            json!({"paragraph": {"rich_text": text(t)}}),
        )
        .await;
    }
    api.fake().webhooks_idle().await;
    assert_eq!(rx.raw().len(), 1);
    let log = api.fake().webhook_deliveries();
    assert_eq!(log.len(), 2);
    assert!(log[0].dropped && log[0].status.is_none() && log[0].attempt == 0);
    assert!(!log[1].dropped);

    let (api, rx) = setup(|s| s.loss(1.0, 7)).await;
    api.patch(
        &format!("/v1/blocks/{}", id("b1")),
        json!({"paragraph": {"rich_text": text("x")}}),
    )
    .await;
    api.fake().webhooks_idle().await;
    assert!(rx.raw().is_empty());
    assert!(api.fake().webhook_deliveries().iter().all(|d| d.dropped));

    // The same seed drops the same events.
    let mut patterns = Vec::new();
    for _ in 0..2 {
        let (api, _rx) = setup(|s| s.loss(0.5, 42)).await;
        for i in 0..12 {
            let body = json!({"paragraph": {"rich_text": text(&i.to_string())}});
            api.patch(&format!("/v1/blocks/{}", id("b1")), body).await;
            api.fake().webhooks_idle().await;
        }
        let dropped: Vec<bool> = api
            .fake()
            .webhook_deliveries()
            .iter()
            .map(|d| d.dropped)
            .collect();
        assert_eq!(dropped.len(), 12);
        patterns.push(dropped);
    }
    assert_eq!(patterns[0], patterns[1]);
    assert!(patterns[0].contains(&true) && patterns[0].contains(&false));
}

#[tokio::test]
async fn retries_until_acknowledged() {
    let (api, rx) = setup(|s| s.retry_base(Duration::from_millis(20))).await;
    rx.answer(&[500, 503]);
    api.patch(
        &format!("/v1/blocks/{}", id("b1")),
        json!({"paragraph": {"rich_text": text("x")}}),
    )
    .await;
    api.fake().webhooks_idle().await;
    let bodies = rx.bodies();
    assert_eq!(bodies.len(), 3);
    assert!(bodies.iter().all(|b| b["id"] == bodies[0]["id"]));
    let attempts: Vec<Value> = bodies.iter().map(|b| b["attempt_number"].clone()).collect();
    assert_eq!(attempts, [json!(1), json!(2), json!(3)]);
    for (headers, body) in rx.raw() {
        assert!(verify(
            TOKEN,
            &body,
            headers["x-notion-signature"].to_str().unwrap()
        ));
    }
    let log: Vec<(u32, Option<u16>)> = api
        .fake()
        .webhook_deliveries()
        .iter()
        .map(|d| (d.attempt, d.status))
        .collect();
    assert_eq!(log, [(1, Some(500)), (2, Some(503)), (3, Some(200))]);
}

#[tokio::test]
async fn unreachable_receivers_get_every_attempt() {
    let api = Api::start(fixture(), "ntn_w").await;
    let closed = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}/webhooks/notion", closed.local_addr().unwrap());
    drop(closed);
    let sub = WebhookSubscription::new(url, TOKEN).retry_base(Duration::from_millis(2));
    api.fake().subscribe_webhooks(sub);
    api.patch(
        &format!("/v1/blocks/{}", id("b1")),
        json!({"paragraph": {"rich_text": text("x")}}),
    )
    .await;
    api.fake().webhooks_idle().await;
    let log = api.fake().webhook_deliveries();
    let attempts: Vec<u32> = log.iter().map(|d| d.attempt).collect();
    assert_eq!(attempts, (1..=8).collect::<Vec<_>>());
    assert!(log.iter().all(|d| d.status.is_none() && !d.dropped));
}

#[tokio::test]
async fn verification_request_is_signed() {
    let (api, rx) = setup(|s| s).await;
    api.fake().send_webhook_verification();
    api.fake().webhooks_idle().await;
    let raw = rx.raw();
    assert_eq!(raw.len(), 1);
    let (headers, body) = &raw[0];
    assert_eq!(
        &body[..],
        format!(r#"{{"verification_token":"{TOKEN}"}}"#).as_bytes()
    );
    assert!(verify(
        TOKEN,
        body,
        headers["x-notion-signature"].to_str().unwrap()
    ));
    let log = api.fake().webhook_deliveries();
    assert_eq!(log[0].event_type, "verification");
    assert_eq!((log[0].event_id, log[0].status), (None, Some(200)));
}

#[tokio::test]
async fn delay_and_unsubscribe() {
    let (api, rx) = setup(|s| s.delay(Duration::from_millis(300))).await;
    let started = Instant::now();
    api.patch(
        &format!("/v1/blocks/{}", id("b1")),
        json!({"paragraph": {"rich_text": text("x")}}),
    )
    .await;
    tokio::time::sleep(Duration::from_millis(100)).await;
    assert!(rx.raw().is_empty());
    api.fake().webhooks_idle().await;
    assert!(started.elapsed() >= Duration::from_millis(300));
    assert_eq!(rx.raw().len(), 1);

    // Queued events are abandoned, and later writes send nothing.
    api.patch(
        &format!("/v1/blocks/{}", id("b1")),
        json!({"paragraph": {"rich_text": text("y")}}),
    )
    .await;
    api.fake().unsubscribe_webhooks();
    api.patch(
        &format!("/v1/blocks/{}", id("b1")),
        json!({"paragraph": {"rich_text": text("z")}}),
    )
    .await;
    api.fake().webhooks_idle().await;
    tokio::time::sleep(Duration::from_millis(400)).await;
    assert_eq!(rx.raw().len(), 1);
}

#[tokio::test]
async fn the_binary_delivers_to_a_receiver() {
    use std::io::{BufRead, BufReader};
    use std::process::{Command, Stdio};
    let rx = Receiver::start().await;
    let mut child = Command::new(env!("CARGO_BIN_EXE_notion-fake"))
        .args(["--listen", "127.0.0.1:0", "--webhook-url", &rx.url])
        .args([
            "--webhook-token",
            TOKEN,
            "--webhook-delay-ms",
            "1",
            "--webhook-verify",
        ])
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let mut line = String::new();
    BufReader::new(child.stdout.take().unwrap())
        .read_line(&mut line)
        .unwrap();
    let base = line
        .trim()
        .strip_prefix("notion-fake listening on ")
        .unwrap();
    let resp = common::client()
        .post(format!("{base}/v1/search"))
        .bearer_auth("ntn_demo_acme")
        .header("Notion-Version", "2026-03-11")
        .json(&json!({"filter": {"property": "object", "value": "page"}}))
        .send()
        .await
        .unwrap();
    let found: Value = resp.json().await.unwrap();
    let page = found["results"][0]["id"].as_str().unwrap().to_string();
    let resp = common::client()
        .patch(format!("{base}/v1/blocks/{page}/children"))
        .bearer_auth("ntn_demo_acme")
        .header("Notion-Version", "2026-03-11")
        .json(&json!({"children": [{"paragraph": {"rich_text": text("hi")}}]}))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 200);
    let deadline = Instant::now() + Duration::from_secs(5);
    while rx.raw().len() < 2 && Instant::now() < deadline {
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    child.kill().unwrap();
    child.wait().unwrap();
    let raw = rx.raw();
    assert_eq!(raw.len(), 2);
    for (headers, body) in &raw {
        assert!(verify(
            TOKEN,
            body,
            headers["x-notion-signature"].to_str().unwrap()
        ));
    }
    let bodies = rx.bodies();
    assert_eq!(bodies[0], json!({"verification_token": TOKEN}));
    assert_eq!(bodies[1]["type"], "page.content_updated");
    assert_eq!(bodies[1]["entity"]["id"], page);
}
