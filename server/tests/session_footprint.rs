//! What MCP sessions cost in memory (`--sessions`), counted by a global allocator that tracks the
//! bytes alive: an idle session must stay small, and requests in a session must not make it grow.
//!
//! Heap bytes, not RSS: deterministic enough to assert on, and free of the allocator's own caching.
//! The figures are printed (`-- --nocapture`); benchmarks.md has RSS measured on the release binary.

#![allow(clippy::unwrap_used)]

mod common;

use common::Harness;
use common::mcp::{Mcp, Reply};
use notion_fake::Fixture;
use serde_json::json;
use std::time::Duration;

#[global_allocator]
static ALLOC: dhat::Alloc = dhat::Alloc;

const TOKEN: &str = "ntn_demo_acme";
const DEADLINE: Duration = Duration::from_secs(30);

/// Bytes alive once the server has settled. The fake's request log is emptied first: it keeps every
/// request it answered (in this process, so the allocator counts it too).
async fn settled_live(h: &Harness) -> isize {
    tokio::time::sleep(Duration::from_secs(2)).await;
    h.fake().reset_log();
    dhat::HeapStats::get().curr_bytes as isize
}

async fn calls(mcp: &Mcp, n: u64, page: &str) {
    for i in 0..n {
        match mcp.call(i + 1, "get_page", &json!({"id": page})).await {
            Reply::Result(_) => {}
            other => panic!("get_page failed: {other:?}"),
        }
    }
}

/// Heap bytes left per call by the smaller of two batches of `n` calls.
async fn growth_per_call(h: &Harness, mcp: &Mcp, n: u64, page: &str) -> f64 {
    let start = settled_live(h).await;
    calls(mcp, n, page).await;
    let middle = settled_live(h).await;
    calls(mcp, n, page).await;
    let end = settled_live(h).await;
    (middle - start).min(end - middle) as f64 / n as f64
}

/// The id of a page of the sample workspace, asked of the fake directly.
async fn first_page(http: &reqwest::Client, h: &Harness) -> String {
    let v: serde_json::Value = http
        .post(format!("{}/v1/search", h.fake.base_url()))
        .bearer_auth(TOKEN)
        .header("Notion-Version", "2026-03-11")
        .json(&json!({"filter": {"property": "object", "value": "page"}, "page_size": 1}))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    v["results"][0]["id"].as_str().unwrap().to_string()
}

/// Heap bytes an idle session may hold. A session is a record in the session table (about 200
/// bytes with its share of the map); rmcp's session worker, kept for clients that declare
/// elicitation, holds about 125 KB (six Tokio channels, each allocating a block of 32 message slots
/// up front, and three tasks; see benchmarks.md).
const MAX_PER_SESSION: f64 = 20_000.0;
/// The same for a client that declares elicitation (rmcp's session worker).
const MAX_PER_WORKER_SESSION: f64 = 160_000.0;
/// Heap bytes a tool call may leave behind; a leak of one small allocation per call exceeds it.
const MAX_PER_CALL: f64 = 64.0;

/// Heap bytes per idle session of `n` sessions opened declaring `capabilities`; they stay open
/// (returned) until the caller closes them.
async fn idle_sessions(
    h: &Harness,
    http: &reqwest::Client,
    n: usize,
    capabilities: &serde_json::Value,
) -> (f64, Vec<Mcp>) {
    let before = settled_live(h).await;
    let mut open = Vec::with_capacity(n);
    for _ in 0..n {
        open.push(
            Mcp::session_declaring(http.clone(), &h.url, TOKEN, DEADLINE, capabilities.clone())
                .await,
        );
    }
    ((settled_live(h).await - before) as f64 / n as f64, open)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn idle_sessions_are_bounded_and_calls_do_not_grow_the_heap() {
    // With SESSION_FOOTPRINT_PROFILE=<file>, a DHAT heap profile is written once the idle sessions are
    // open (its bytes at t-end are what was alive then, by allocation site).
    let profile = std::env::var("SESSION_FOOTPRINT_PROFILE").ok();
    let mut profiler = Some(match &profile {
        Some(file) => dhat::Profiler::builder().file_name(file).build(),
        None => dhat::Profiler::builder().testing().build(),
    });
    let h = Harness::start_with(Fixture::sample(), |a| a.sessions = true).await;
    let http = reqwest::Client::new();
    let page = first_page(&http, &h).await;

    // Warm up every path (connection pools, lazily built state, the fake's log at its size).
    const CALLS: u64 = 300;
    let warm = Mcp::session(http.clone(), &h.url, TOKEN, DEADLINE).await;
    calls(&warm, CALLS, &page).await;
    let stateless = Mcp::stateless(http.clone(), &h.url, TOKEN, DEADLINE);
    calls(&stateless, CALLS, &page).await;

    // Requests in a session, then statelessly: two batches each, the smaller growth counts (a leak
    // grows both; a table or buffer that grows once to its working size only one).
    let per_session_call = growth_per_call(&h, &warm, CALLS, &page).await;
    let per_stateless_call = growth_per_call(&h, &stateless, CALLS, &page).await;

    // Idle sessions, measured before any session worker ran (a worker's replay buffers are freed
    // seconds after its calls, which would blur a reading of a few hundred bytes).
    const SESSIONS: usize = 1000;
    let (per_session, open) = idle_sessions(&h, &http, SESSIONS, &json!({})).await;

    // The same for clients that declare elicitation, which get rmcp's session worker.
    const WORKER_SESSIONS: usize = 100;
    let elicitation = json!({"elicitation": {}});
    let worker =
        Mcp::session_declaring(http.clone(), &h.url, TOKEN, DEADLINE, elicitation.clone()).await;
    calls(&worker, CALLS, &page).await;
    let per_worker_call = growth_per_call(&h, &worker, CALLS, &page).await;
    let (per_worker_session, workers) =
        idle_sessions(&h, &http, WORKER_SESSIONS, &elicitation).await;
    if profile.is_some() {
        drop(profiler.take());
    }
    println!(
        "heap per idle session: {per_session:.0} bytes ({SESSIONS} sessions), \
         {per_worker_session:.0} bytes with a session worker (elicitation declared, \
         {WORKER_SESSIONS} sessions); left per call: \
         {per_session_call:.1} bytes in a session, {per_worker_call:.1} in a worker session, \
         {per_stateless_call:.1} bytes stateless (the smaller of two batches of {CALLS})"
    );
    assert!(
        per_session_call < MAX_PER_CALL
            && per_worker_call < MAX_PER_CALL
            && per_stateless_call < MAX_PER_CALL,
        "tool calls grow the heap: {per_session_call:.1} bytes per call in a session, \
         {per_worker_call:.1} in a worker session, {per_stateless_call:.1} stateless"
    );
    assert!(
        per_session < MAX_PER_SESSION,
        "an idle session holds {per_session:.0} bytes"
    );
    assert!(
        per_worker_session < MAX_PER_WORKER_SESSION,
        "an idle worker session holds {per_worker_session:.0} bytes"
    );
    for s in open.into_iter().chain(workers) {
        s.close().await;
    }
    worker.close().await;
    warm.close().await;
    h.shutdown().await;
}
