//! The alerting rules and the Grafana dashboard (deploy/monitoring/) query only metrics this server
//! really exports: every `notion_mcp_*` name they use is a registered family of a running server,
//! spelt the same, and the everyday ones show up in a real `/metrics` scrape after some traffic.
#![allow(clippy::unwrap_used)]

mod common;

use common::{id, test_args};
use notion_fake::{FakeNotion, Fixture, sign};
use notion_mcp_remote::app;
use notion_mcp_remote::config::{Redacted, Settings};
use serde_json::json;
use std::collections::BTreeSet;
use tokio::net::TcpListener;
use tokio_util::sync::CancellationToken;

/// `notion_mcp_*` names in the rules and the dashboard (histogram suffixes stripped; the operator's
/// own names and recorded `notion_mcp:*` series left out).
fn used_names() -> BTreeSet<String> {
    let root = concat!(env!("CARGO_MANIFEST_DIR"), "/../deploy/monitoring/");
    let mut names = BTreeSet::new();
    for file in ["rules.yaml", "dashboard.json"] {
        let text = std::fs::read_to_string(format!("{root}{file}")).unwrap();
        let bytes = text.as_bytes();
        let mut i = 0;
        while let Some(at) = text[i..].find("notion_mcp_") {
            let start = i + at;
            let preceded = start > 0
                && (bytes[start - 1].is_ascii_alphanumeric()
                    || bytes[start - 1] == b'_'
                    || bytes[start - 1] == b':');
            let end = start
                + text[start..]
                    .find(|c: char| !(c.is_ascii_alphanumeric() || c == '_'))
                    .unwrap_or(text.len() - start);
            i = end;
            // `notion_mcp_*` in a comment is a pattern, not a name.
            if preceded || text[end..].starts_with(':') || text[start..end].ends_with('_') {
                continue;
            }
            let mut name = text[start..end].to_string();
            for suffix in ["_bucket", "_sum", "_count"] {
                if let Some(base) = name.strip_suffix(suffix) {
                    name = base.to_string();
                }
            }
            if !name.starts_with("notion_mcp_operator_") {
                names.insert(name);
            }
        }
    }
    names
}

#[tokio::test]
async fn rules_and_dashboard_use_only_exported_metrics() {
    let used = used_names();
    assert!(used.len() >= 20, "found only {used:?}");

    let fixture = Fixture::sample();
    let running = FakeNotion::new(fixture).serve("127.0.0.1:0").await.unwrap();
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let mut args = test_args();
    args.listen = addr;
    args.notion_base_url = running.base_url().parse().unwrap();
    args.webhook_verification_token = vec![Redacted("secret_names".into())];
    let built = app::build(
        Settings::from_args(args).unwrap(),
        Some("ntn_demo_acme".into()),
    )
    .await
    .unwrap();
    let metrics = built.state.metrics.clone();
    let stop = CancellationToken::new();
    let task = tokio::spawn(app::serve(built, listener, stop.clone()));
    let base = format!("http://127.0.0.1:{}", addr.port());
    let h = common::Harness::from_parts(running, format!("{base}/mcp"), base.clone(), stop, task);

    // Some everyday traffic: tool calls (cache, Notion), a webhook event, a refused delivery.
    h.text("ntn_demo_acme", "search", json!({"query": "Tasks"}))
        .await;
    let home = id("acme-home");
    h.text("ntn_demo_acme", "fetch", json!({"id": home})).await;
    h.text("ntn_demo_acme", "fetch", json!({"id": home})).await;
    let event = serde_json::to_vec(&json!({"id": "e1", "type": "page.deleted",
        "entity": {"id": home, "type": "page"}, "data": {}}))
    .unwrap();
    for signature in [sign("secret_names", &event), "sha256=00".into()] {
        h.http
            .post(format!("{base}/webhooks/notion"))
            .header("X-Notion-Signature", signature)
            .body(event.clone())
            .send()
            .await
            .unwrap();
    }
    let scrape = h.metrics().await;
    let exported: BTreeSet<&str> = scrape
        .lines()
        .filter_map(|l| l.strip_prefix("# HELP "))
        .filter_map(|l| l.split(' ').next())
        .collect();

    let registered: BTreeSet<String> = metrics.family_names().into_iter().collect();
    let unknown: Vec<&String> = used.iter().filter(|n| !registered.contains(*n)).collect();
    assert!(
        unknown.is_empty(),
        "rules or dashboard use metrics the server does not have: {unknown:?}"
    );
    // Whatever the traffic above touched is in the scrape under the same name.
    for everyday in [
        "notion_mcp_tool_calls_total",
        "notion_mcp_tool_call_duration_seconds",
        "notion_mcp_notion_requests_total",
        "notion_mcp_http_requests_total",
        "notion_mcp_cache_lookups_total",
        "notion_mcp_webhook_events_total",
        "notion_mcp_webhook_signature_failures_total",
        "notion_mcp_process_resident_memory_bytes",
    ] {
        assert!(
            used.contains(everyday),
            "{everyday} is not used by the rules or dashboard"
        );
        assert!(
            exported.contains(everyday),
            "{everyday} missing from /metrics"
        );
    }
    h.shutdown().await;
}
