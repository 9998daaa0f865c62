//! Notion's one-time verification request: answered 200, its token kept sealed in the store for
//! `webhooks pending`, never used as a signing key by itself; the command opens only an existing store.
#![allow(clippy::unwrap_used)]

mod common;

use clap::Parser;
use common::Harness;
use notion_fake::{Fixture, WebhookSubscription, sign};
use notion_mcp_remote::config::{Cli, Command, StoreKind};
use std::path::PathBuf;

fn temp_dir() -> PathBuf {
    std::env::temp_dir().join(format!("nmr-webhooks-{}", uuid::Uuid::new_v4()))
}

async fn pending(dir: &std::path::Path) -> anyhow::Result<String> {
    let cli = Cli::try_parse_from([
        "notion-mcp-remote",
        "webhooks",
        "--store",
        "file",
        "--store-dir",
        dir.to_str().unwrap(),
        "pending",
    ])
    .unwrap();
    let Some(Command::Webhooks(args)) = cli.command else {
        panic!("not the webhooks command")
    };
    let mut out = Vec::new();
    notion_mcp_remote::admin::webhooks(*args, &mut out).await?;
    Ok(String::from_utf8(out).unwrap())
}

#[tokio::test]
async fn the_token_waits_for_an_operator_and_signs_nothing_by_itself() {
    let dir = temp_dir();
    let store_dir = dir.clone();
    let h = Harness::start_with(Fixture::sample(), move |a| {
        a.store.kind = Some(StoreKind::File);
        a.store.store_dir = store_dir;
    })
    .await;
    let token = "secret_fresh_subscription_token";
    h.fake().subscribe_webhooks(WebhookSubscription::new(
        format!("{}/webhooks/notion", h.base),
        token,
    ));
    h.fake().send_webhook_verification();
    h.fake().webhooks_idle().await;
    let deliveries = h.fake().webhook_deliveries();
    assert_eq!(
        deliveries.last().unwrap().status,
        Some(200),
        "{deliveries:?}"
    );

    let shown = pending(&dir).await.unwrap();
    assert!(shown.contains(token), "{shown}");

    // Not configured, so an event signed with it is still refused.
    let body = br#"{"id":"e1","type":"page.deleted","entity":{"id":"x","type":"page"}}"#;
    let status = h
        .http
        .post(format!("{}/webhooks/notion", h.base))
        .header("X-Notion-Signature", sign(token, body))
        .body(body.to_vec())
        .send()
        .await
        .unwrap()
        .status();
    assert_eq!(status, 401);
    h.shutdown().await;
    let _ = std::fs::remove_dir_all(&dir);
}

#[tokio::test]
async fn pending_on_a_missing_store_creates_nothing() {
    let dir = temp_dir();
    let err = pending(&dir).await.unwrap_err();
    assert!(
        format!("{err:#}").contains(dir.to_str().unwrap()),
        "{err:#}"
    );
    assert!(!dir.exists(), "the command created {}", dir.display());
}
