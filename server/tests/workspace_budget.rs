//! Many tokens of one workspace share the workspace's Notion budget: Notion limits a whole workspace
//! as well as each connection, so the server paces per workspace too (`--workspace-pacing-rps`).
//!
//! The fake limits the workspace (10 requests/s, burst 5) and not the connections; the server paces
//! each connection at the same rate and does not retry, so every 429 would fail a call. Eight tokens
//! of the workspace each make three calls at once:
//! - with the workspace lane (the default): every call succeeds and Notion answers no 429, and each
//!   token's workspace was asked of Notion once (`/v1/users/me`);
//! - with `--workspace-pacing-rps 0` (per connection only) the same load meets 429s, so the first
//!   part can fail.
#![allow(clippy::unwrap_used)]

mod common;

use common::{Harness, result_text};
use notion_fake::{Fixture, RateLimit};
use serde_json::json;

const TOKENS: usize = 8;
const CALLS_PER_TOKEN: usize = 3;

fn fixture() -> Fixture {
    let tokens: Vec<String> = (0..TOKENS).map(|i| format!("ntn_member_{i}")).collect();
    let pages: Vec<_> = (0..CALLS_PER_TOKEN)
        .map(|i| json!({"id": format!("page{i}"), "title": format!("Page {i}"), "children": ["Text"]}))
        .collect();
    serde_json::from_value(json!({"workspaces": [{
        "name": "Acme",
        "tokens": tokens,
        "pages": pages,
    }]}))
    .unwrap()
}

/// Run the load; returns (calls that failed, 429s Notion answered, `/v1/users/me` requests).
async fn run(workspace_rps: Option<f64>) -> (usize, usize, usize) {
    let h = Harness::start_with(fixture(), |a| {
        a.pacing_rps = 10.0;
        a.pacing_burst = 5;
        a.workspace_pacing_rps = workspace_rps;
        a.retry_max = 0;
        // Every call goes to Notion.
        a.cache_max_bytes = 0;
    })
    .await;
    h.fake()
        .set_workspace_rate_limit(Some(RateLimit::workspace(10.0, 5)));
    let mut calls = Vec::new();
    for t in 0..TOKENS {
        for p in 0..CALLS_PER_TOKEN {
            let h = &h;
            calls.push(async move {
                let token = format!("ntn_member_{t}");
                let page = common::id(&format!("page{p}"));
                h.call(&token, "get_page", json!({"id": page})).await
            });
        }
    }
    let results = futures::future::join_all(calls).await;
    let failed = results
        .iter()
        .filter(|r| r["isError"] == json!(true))
        .inspect(|r| eprintln!("failed: {}", result_text(r)))
        .count();
    let log = h.fake().requests();
    let limited = log.iter().filter(|r| r.status == 429).count();
    let asked = log.iter().filter(|r| r.path == "/v1/users/me").count();
    h.shutdown().await;
    (failed, limited, asked)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn tokens_of_one_workspace_share_its_budget() {
    let (failed, limited, asked) = run(None).await;
    assert_eq!(failed, 0, "every call succeeds");
    assert_eq!(limited, 0, "Notion answered 429");
    assert_eq!(asked, TOKENS, "each token's workspace is asked once");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn pacing_per_connection_alone_meets_the_workspace_limit() {
    let (failed, limited, asked) = run(Some(0.0)).await;
    assert!(limited > 0, "no 429 without the workspace lane");
    assert!(failed > 0);
    assert_eq!(asked, 0, "no workspace to learn");
}
