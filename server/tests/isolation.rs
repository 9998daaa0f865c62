//! Strict per-request isolation: many workspaces, many sessions, interleaved calls, zero leaks.
#![allow(clippy::unwrap_used)]

mod common;

use common::Harness;
use futures::StreamExt;
use notion_fake::{Fixture, GeneratedIds};
use serde_json::json;

const WORKSPACES: usize = 20;
const CALLS: usize = 1000;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn twenty_workspaces_thousand_interleaved_calls_zero_leaks() {
    let mut b = Fixture::builder();
    for i in 0..WORKSPACES {
        b = b
            .workspace(&format!("WS{i}"), &format!("ntn_ws{i}_token"))
            .pages(3, &format!("Secret{i}x"));
    }
    let h = Harness::start_with(b.build(), |a| a.sessions = true).await;

    // Half of the clients hold MCP sessions, half are stateless; each is bound to one workspace.
    let mut sessions = Vec::new();
    for i in 0..WORKSPACES {
        let (status, _) = h
            .post(Some(&format!("ntn_ws{i}_token")), &json!({"jsonrpc":"2.0","id":1,"method":"initialize","params":{
                "protocolVersion":"2025-11-25","capabilities":{},"clientInfo":{"name":"t","version":"1"}}}))
            .await;
        assert_eq!(status, 200);
        sessions.push(i);
    }

    let leaks = std::sync::atomic::AtomicUsize::new(0);
    let checked = std::sync::atomic::AtomicUsize::new(0);
    futures::stream::iter(0..CALLS)
        .for_each_concurrent(32, |n| {
            let h = &h;
            let (leaks, checked) = (&leaks, &checked);
            async move {
                let ws = (n * 7) % WORKSPACES;
                let token = format!("ntn_ws{ws}_token");
                let other = (ws + 1) % WORKSPACES;
                match n % 3 {
                    0 => {
                        let t = h.text(&token, "search", json!({"query": "Secret"})).await;
                        let own = t.matches(&format!("Secret{ws}x")).count();
                        let foreign = (0..WORKSPACES)
                            .filter(|&j| j != ws)
                            .map(|j| t.matches(&format!("Secret{j}x ")).count())
                            .sum::<usize>();
                        if own != 3 || foreign != 0 {
                            leaks.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
                        }
                    }
                    1 => {
                        let own_page =
                            GeneratedIds::page(&format!("Secret{ws}x"), n % 3).to_string();
                        let t = h.text(&token, "fetch", json!({"id": own_page})).await;
                        if !t.contains(&format!("Secret{ws}x")) {
                            leaks.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
                        }
                    }
                    _ => {
                        let foreign_page =
                            GeneratedIds::page(&format!("Secret{other}x"), 0).to_string();
                        let r = h
                            .call(&token, "fetch", json!({"id": foreign_page, "type": "page"}))
                            .await;
                        if r["isError"] != true
                            || r.to_string().contains(&format!("Secret{other}x"))
                        {
                            leaks.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
                        }
                    }
                }
                checked.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
            }
        })
        .await;
    assert_eq!(checked.load(std::sync::atomic::Ordering::SeqCst), CALLS);
    assert_eq!(
        leaks.load(std::sync::atomic::Ordering::SeqCst),
        0,
        "answers from another workspace"
    );
    // Every Notion request carried the caller's own token (the fake records which bot answered).
    let bots: std::collections::HashSet<_> = h
        .fake()
        .requests()
        .iter()
        .filter_map(|r| r.bot_id.clone())
        .collect();
    assert_eq!(bots.len(), WORKSPACES);
    assert_eq!(sessions.len(), WORKSPACES);
    h.shutdown().await;
}
