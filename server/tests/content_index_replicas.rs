//! The content index across replicas sharing one Redis and one Notion: only the replica holding a
//! workspace's crawl lease crawls it (each page's content is read from Notion once, not once per
//! replica); the others receive what it indexed through the workspace's shared log, so a word in a
//! page is found on every replica — never by a caller whose own integration cannot read the page; a
//! page trashed through a webhook at one replica leaves every replica's results; a replica started
//! after the crawl catches up from the log without reading pages; when the lease holder is killed,
//! another replica takes the crawl over without reading again what was already indexed. A replica
//! whose position was trimmed from the log, and every replica after a Redis outage, crawls once on its
//! own for what it missed; with Redis unreachable a replica indexes alone.
#![allow(clippy::unwrap_used)]

mod common;

use common::child::ChildServer;
use common::redis::RedisServer;
use common::{Harness, first_id, id, parse_body, result_text, test_args};
use notion_fake::{FakeNotion, Fixture, RecordedRequest, WebhookSubscription, token_fingerprint};
use notion_mcp_remote::app;
use notion_mcp_remote::config::{AuthMode, Redacted, ServeArgs, Settings};
use serde_json::{Value, json};
use std::collections::{HashMap, HashSet};
use std::time::{Duration, Instant};
use tokio::net::TcpListener;
use tokio_util::sync::CancellationToken;

const SECRET: &str = "secret_index_replicas";
/// The server's own token (the demo token): what the crawler reads with.
const CRAWLER: &str = "ntn_demo_acme";
/// Generous: the machine running the tests may be loaded.
const DEADLINE: Duration = Duration::from_secs(60);

fn fixture() -> Fixture {
    serde_json::from_value(json!({"workspaces": [{
        "name": "Acme",
        "tokens": [CRAWLER, "ntn_editor", {"token": "ntn_limited", "shared": ["public"]}],
        "pages": [
            {"id": "plan", "title": "Plan", "children": [
                {"toggle": "Details", "children": [
                    {"id": "deep", "paragraph": "The zanzibarite deposits lie under the old quarry."}
                ]}
            ]},
            {"id": "public", "title": "Public notes", "children": [
                {"paragraph": "Everyone may read about quokkas and their quarry."}
            ], "databases": [{
                "id": "tasks", "title": "Tasks", "data_source_id": "tasks-ds",
                "properties": {"Name": "title", "Status": {"select": ["Todo", "Blocked"]}},
                "rows": [
                    {"id": "t1", "title": "Order parts", "properties": {"Status": "Blocked"}},
                    {"id": "t2", "title": "Paint walls", "properties": {"Status": "Todo"}}
                ]
            }]},
            {"id": "ledger", "title": "Ledger", "children": [
                {"paragraph": "Accounts of the narwhal fund."}
            ]}
        ]
    }]}))
    .unwrap()
}

/// A replica (in this process) on `fake` and `redis`, crawling with the demo token.
async fn replica(fake: &FakeNotion, redis: &str, tweak: impl FnOnce(&mut ServeArgs)) -> Harness {
    let running = fake.serve("127.0.0.1:0").await.unwrap();
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let mut args = test_args();
    args.listen = addr;
    args.notion_base_url = running.base_url().parse().unwrap();
    args.auth_mode = AuthMode::Demo;
    args.no_content_index = false;
    args.webhook_verification_token = vec![Redacted(SECRET.to_owned())];
    args.redis_url = Some(Redacted(redis.to_owned()));
    tweak(&mut args);
    let built = app::build(Settings::from_args(args).unwrap(), Some(CRAWLER.into()))
        .await
        .unwrap();
    let stop = CancellationToken::new();
    let task = tokio::spawn(app::serve(built, listener, stop.clone()));
    let base = format!("http://127.0.0.1:{}", addr.port());
    Harness::from_parts(running, format!("{base}/mcp"), base, stop, task)
}

/// The value of the first sample of `name` in a `/metrics` text.
fn metric(text: &str, name: &str) -> Option<f64> {
    text.lines()
        .find(|l| l.starts_with(name) && l[name.len()..].starts_with([' ', '{']))
        .and_then(|l| l.rsplit(' ').next())
        .and_then(|v| v.parse().ok())
}

async fn metrics_of(base: &str) -> String {
    reqwest::get(format!("{base}/metrics"))
        .await
        .unwrap()
        .text()
        .await
        .unwrap()
}

async fn leases(base: &str) -> f64 {
    metric(
        &metrics_of(base).await,
        "notion_mcp_content_index_crawl_leases_held",
    )
    .unwrap_or(0.0)
}

/// Wait until `check` holds, polling; fail with `what` after [`DEADLINE`].
async fn eventually<F, Fut>(what: &str, mut check: F)
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = bool>,
{
    let started = Instant::now();
    while !check().await {
        assert!(started.elapsed() < DEADLINE, "gave up waiting: {what}");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// A tool call to the server at `mcp`; the result's text.
async fn call(mcp: &str, token: &str, tool: &str, args: Value) -> String {
    let body = json!({"jsonrpc": "2.0", "id": 1, "method": "tools/call",
                      "params": {"name": tool, "arguments": args}});
    let text = reqwest::Client::new()
        .post(mcp)
        .bearer_auth(token)
        .header("accept", "application/json, text/event-stream")
        .json(&body)
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    let result = &parse_body(&text)["result"];
    assert_ne!(result["isError"], json!(true), "{tool}({args}): {result}");
    result_text(result)
}

async fn search(mcp: &str, token: &str, query: &str) -> String {
    call(mcp, token, "search", json!({"query": query})).await
}

/// The completeness line of a `search` answer.
fn completeness(text: &str) -> String {
    text.lines()
        .find(|l| l.contains("Content index:"))
        .map(|l| l[l.find("Content index:").unwrap()..].trim().to_owned())
        .unwrap_or_default()
}

/// Pages whose content the crawler read (Notion's markdown endpoint with the server's token).
fn content_reads(log: &[RecordedRequest]) -> Vec<String> {
    let crawler = format!("Bearer {}", token_fingerprint(CRAWLER));
    log.iter()
        .filter(|r| {
            r.authorization() == Some(&crawler) && r.path.ends_with("/markdown") && r.status == 200
        })
        .map(|r| r.path.clone())
        .collect()
}

/// A request straight to Notion (the fake) as another integration.
async fn notion(fake: &str, method: http::Method, path: &str, body: Value) -> Value {
    let resp = reqwest::Client::new()
        .request(method, format!("{fake}{path}"))
        .bearer_auth("ntn_editor")
        .header("Notion-Version", "2026-03-11")
        .json(&body)
        .send()
        .await
        .unwrap();
    let ok = resp.status().is_success();
    let v: Value = resp.json().await.unwrap();
    assert!(ok, "{path}: {v}");
    v
}

async fn connected(base: &str) {
    eventually("Redis connected", || async {
        metric(&metrics_of(base).await, "notion_mcp_redis_degraded") == Some(0.0)
    })
    .await;
}

/// Wait until the replica at `mcp` answers `query` with `page` and the completeness line `line`.
async fn finds(mcp: &str, query: &str, page: &str, line: &str) -> String {
    let started = Instant::now();
    loop {
        let last = search(mcp, "ntn_editor", query).await;
        if last.contains(page) && completeness(&last) == line {
            return last;
        }
        assert!(
            started.elapsed() < DEADLINE,
            "{mcp} never found {query} in {page} with {line:?}; last answer: {last}"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn one_replica_crawls_and_every_replica_finds_what_it_indexed() {
    let Some(redis) = RedisServer::start_or_skip("one_replica_crawls", &[]).await else {
        return;
    };
    let fake = FakeNotion::new(fixture());
    let mut replicas = Vec::new();
    for _ in 0..3 {
        replicas.push(replica(&fake, &redis.url(), |_| {}).await);
    }
    for r in &replicas {
        connected(&r.base).await;
    }
    fake.subscribe_webhooks(WebhookSubscription::new(
        format!("{}/webhooks/notion", replicas[0].base),
        SECRET,
    ));

    // (a) One holder of the workspace's crawl lease.
    let started = Instant::now();
    let holder = loop {
        let mut held = Vec::new();
        for (i, r) in replicas.iter().enumerate() {
            if leases(&r.base).await == 1.0 {
                held.push(i);
            }
        }
        assert!(held.len() <= 1, "several replicas hold the lease: {held:?}");
        if let [one] = held[..] {
            break one;
        }
        assert!(started.elapsed() < DEADLINE, "no replica took the lease");
        tokio::time::sleep(Duration::from_millis(100)).await;
    };
    // Plan, Public notes, Ledger, two rows.
    let line = "Content index: indexed 5 of 5 pages.";
    let plan = id("plan");
    finds(&replicas[holder].url, "zanzibarite", &plan, line).await;

    // (b) Every other replica finds the word, with a snippet and the same completeness, from what
    // the holder indexed.
    for (i, r) in replicas.iter().enumerate() {
        let found = finds(&r.url, "zanzibarite", &plan, line).await;
        assert!(
            found.contains("zanzibarite deposits"),
            "snippet on {i}: {found}"
        );
        if i != holder {
            let m = r.metrics().await;
            assert_eq!(
                metric(&m, "notion_mcp_content_index_crawl_leases_held"),
                Some(0.0)
            );
            assert!(
                m.contains("notion_mcp_content_index_shared_entries_total{direction=\"received\"}"),
                "replica {i} received nothing"
            );
        }
    }
    let reads = content_reads(&fake.requests());
    let mut per_page: HashMap<&String, usize> = HashMap::new();
    for p in &reads {
        *per_page.entry(p).or_default() += 1;
    }
    let crawler_requests = fake
        .requests()
        .iter()
        .filter(|r| r.authorization() == Some(&format!("Bearer {}", token_fingerprint(CRAWLER))))
        .count();
    eprintln!(
        "3 replicas: {} content reads of {} pages, {crawler_requests} crawler requests in all",
        reads.len(),
        per_page.len()
    );
    assert_eq!(per_page.len(), 5, "every page read: {reads:?}");
    assert!(
        per_page.values().all(|n| *n == 1),
        "a page read more than once: {per_page:?}"
    );

    // The access proofs still apply on every replica: the limited integration never sees the plan.
    for r in &replicas {
        let limited = search(&r.url, "ntn_limited", "zanzibarite").await;
        assert!(
            !limited.contains(&plan) && !limited.contains("zanzibarite deposits"),
            "{limited}"
        );
        let public = search(&r.url, "ntn_limited", "quokkas").await;
        assert!(public.contains(&id("public")), "{public}");
    }

    // (c) Trashed in Notion, announced by webhook to replica 0: gone from another replica's results
    // through the log (not by that replica finding the trash itself when proving access).
    let other = if holder == 1 { 2 } else { 1 };
    let public = id("public");
    search(&replicas[other].url, "ntn_editor", "quokkas").await;
    fake.reset_log();
    notion(
        replicas[0].fake.base_url(),
        http::Method::PATCH,
        &format!("/v1/pages/{public}"),
        json!({"in_trash": true}),
    )
    .await;
    fake.webhooks_idle().await;
    let mcp = replicas[other].url.clone();
    eventually("the trashed page leaves the other replica", || {
        let mcp = mcp.clone();
        let public = public.clone();
        async move {
            !search(&mcp, "ntn_editor", "quokkas")
                .await
                .contains(&public)
        }
    })
    .await;
    let editor = format!("Bearer {}", token_fingerprint("ntn_editor"));
    let proved: Vec<String> = fake
        .requests()
        .iter()
        .filter(|r| {
            r.method == http::Method::GET
                && r.authorization() == Some(&editor)
                && r.path.contains(&public)
        })
        .map(|r| format!("{} {}", r.method, r.path))
        .collect();
    assert!(
        proved.is_empty(),
        "the other replica had to ask Notion about the trashed page: {proved:?}"
    );

    // (d) A replica started after the crawl catches up from the log, reading no page from Notion.
    let line = "Content index: indexed 4 of 4 pages.";
    finds(&replicas[holder].url, "zanzibarite", &plan, line).await;
    fake.reset_log();
    let dir = common::child::tempdir::Dir::new("index-replica");
    let index_dir = dir.path().join("index");
    let late = replica(&fake, &redis.url(), |a| {
        a.index_dir = Some(index_dir.clone())
    })
    .await;
    connected(&late.base).await;
    let found = finds(&late.url, "narwhal", &id("ledger"), line).await;
    assert!(found.contains("narwhal fund"), "{found}");
    let quokkas = search(&late.url, "ntn_editor", "quokkas").await;
    assert!(
        !quokkas.contains(&public),
        "the trash reached the late one too: {quokkas}"
    );
    assert_eq!(
        content_reads(&fake.requests()),
        Vec::<String>::new(),
        "the late replica read pages from Notion"
    );
    assert_eq!(leases(&late.base).await, 0.0);
    late.shutdown().await;
    let state = std::fs::read_to_string(index_dir.join("crawl-state.json")).unwrap();
    assert!(
        state.contains("\"log\":{\"generation\""),
        "the log position is kept with the crawl state: {state}"
    );
    for r in replicas {
        r.shutdown().await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn another_replica_takes_the_crawl_over_when_the_holder_dies() {
    let Some(redis) = RedisServer::start_or_skip("crawl_takeover", &[]).await else {
        return;
    };
    let fake = FakeNotion::new(fixture());
    let running = fake.serve("127.0.0.1:0").await.unwrap();
    let args: Vec<String> = [
        "--auth-mode",
        "demo",
        "--store",
        "memory",
        "--notion-base-url",
        running.base_url(),
        "--redis-url",
        &redis.url(),
        "--pacing-rps",
        "1000",
        "--pacing-burst",
        "1000",
        "--workspace-pacing-rps",
        "0",
        "--rate-limit-per-minute",
        "0",
    ]
    .iter()
    .map(|s| s.to_string())
    .collect();
    // The first replica, a process of its own, takes the lease and crawls everything.
    let first = ChildServer::start(&args, &[]).await;
    connected(&first.base).await;
    eventually("the first replica holds the lease", || async {
        leases(&first.base).await == 1.0
    })
    .await;
    let line = "Content index: indexed 5 of 5 pages.";
    let plan = id("plan");
    finds(&first.mcp_url(), "zanzibarite", &plan, line).await;
    let second = replica(&fake, &redis.url(), |_| {}).await;
    connected(&second.base).await;
    finds(&second.url, "zanzibarite", &plan, line).await;
    assert_eq!(leases(&second.base).await, 0.0);

    // Killed: no release; the lease expires and the second replica takes it.
    fake.reset_log();
    first.kill9();
    let created = notion(
        running.base_url(),
        http::Method::POST,
        "/v1/pages",
        json!({
            "parent": {"page_id": id("ledger")},
            "properties": {"title": {"title": [{"text": {"content": "Late news"}}]}},
            "children": [{"object": "block", "type": "paragraph", "paragraph": {
                "rich_text": [{"type": "text", "text": {"content": "A wombatfish was seen."}}]}}]
        }),
    )
    .await;
    let news = first_id(&created["id"].to_string());
    eventually("the second replica takes the lease", || async {
        leases(&second.base).await == 1.0
    })
    .await;
    let found = finds(
        &second.url,
        "wombatfish",
        &news,
        "Content index: indexed 6 of 6 pages.",
    )
    .await;
    assert!(found.contains("wombatfish"), "{found}");
    let reads = content_reads(&fake.requests());
    eprintln!("after the takeover: content reads {reads:?}");
    let distinct: HashSet<&String> = reads.iter().collect();
    assert!(
        reads.iter().any(|p| p.contains(&news)),
        "the new page was read: {reads:?}"
    );
    for old in ["plan", "public", "t1", "t2"] {
        assert!(
            !reads.iter().any(|p| p.contains(&id(old))),
            "{old} was read again after the takeover: {reads:?}"
        );
    }
    assert_eq!(distinct.len(), reads.len(), "a page read twice: {reads:?}");
    second.shutdown().await;
    running.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_replica_whose_position_was_trimmed_away_crawls_what_it_lacks() {
    let Some(redis) = RedisServer::start_or_skip("trimmed_catch_up", &[]).await else {
        return;
    };
    let fake = FakeNotion::new(fixture());
    let first = replica(&fake, &redis.url(), |_| {}).await;
    connected(&first.base).await;
    let line = "Content index: indexed 5 of 5 pages.";
    let plan = id("plan");
    finds(&first.url, "zanzibarite", &plan, line).await;
    // The log keeps a bounded number of entries: trim every one away.
    let mut conn = redis::Client::open(redis.url())
        .unwrap()
        .get_multiplexed_async_connection()
        .await
        .unwrap();
    let topics: Vec<String> = redis::cmd("SMEMBERS")
        .arg("notion-mcp:log:index:topics")
        .query_async(&mut conn)
        .await
        .unwrap();
    assert_eq!(topics.len(), 1, "one workspace, one log: {topics:?}");
    let trimmed: i64 = redis::cmd("XTRIM")
        .arg(format!("notion-mcp:log:index:stream:{}", topics[0]))
        .arg("MAXLEN")
        .arg(0)
        .query_async(&mut conn)
        .await
        .unwrap();
    assert!(trimmed > 0);
    fake.reset_log();
    let late = replica(&fake, &redis.url(), |_| {}).await;
    connected(&late.base).await;
    finds(&late.url, "zanzibarite", &plan, line).await;
    // It crawled on its own (without the lease).
    let reads = content_reads(&fake.requests());
    let distinct: HashSet<&String> = reads.iter().collect();
    // What the log lost had to be read again (entries the first replica sent after the trim, if
    // any, were not), each page once.
    assert!(!reads.is_empty(), "nothing read: the gap went unnoticed");
    assert_eq!(distinct.len(), reads.len(), "{reads:?}");
    assert_eq!(leases(&late.base).await, 0.0);
    assert_eq!(leases(&first.base).await, 1.0);
    late.shutdown().await;
    first.shutdown().await;
    // A stopping holder gives its lease up at once (it would expire only 10 s later).
    let held: Vec<String> = redis::cmd("KEYS")
        .arg("notion-mcp:lease:index-crawl:*")
        .query_async(&mut conn)
        .await
        .unwrap();
    assert!(held.is_empty(), "not released: {held:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn with_redis_unreachable_a_replica_indexes_alone() {
    // Port 1 on loopback: nothing listens.
    let fake = FakeNotion::new(fixture());
    let alone = replica(&fake, "redis://127.0.0.1:1", |_| {}).await;
    let found = finds(
        &alone.url,
        "zanzibarite",
        &id("plan"),
        "Content index: indexed 5 of 5 pages.",
    )
    .await;
    assert!(found.contains("zanzibarite deposits"), "{found}");
    let crawler = format!("Bearer {}", token_fingerprint(CRAWLER));
    eprintln!(
        "1 replica: {} content reads, {} crawler requests in all",
        content_reads(&fake.requests()).len(),
        fake.requests()
            .iter()
            .filter(|r| r.authorization() == Some(&crawler))
            .count()
    );
    let m = alone.metrics().await;
    assert_eq!(metric(&m, "notion_mcp_redis_degraded"), Some(1.0));
    assert_eq!(
        metric(&m, "notion_mcp_content_index_crawl_leases_held"),
        Some(0.0)
    );
    alone.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn after_a_redis_outage_the_replicas_catch_up_on_what_they_missed() {
    let Some(mut redis) = RedisServer::start_or_skip("outage_catch_up", &[]).await else {
        return;
    };
    let fake = FakeNotion::new(fixture());
    let replicas = [
        replica(&fake, &redis.url(), |_| {}).await,
        replica(&fake, &redis.url(), |_| {}).await,
    ];
    for r in &replicas {
        connected(&r.base).await;
    }
    let line = "Content index: indexed 5 of 5 pages.";
    let plan = id("plan");
    for r in &replicas {
        finds(&r.url, "zanzibarite", &plan, line).await;
    }
    let holder = if leases(&replicas[0].base).await == 1.0 {
        0
    } else {
        1
    };
    let other = 1 - holder;
    assert_eq!(leases(&replicas[other].base).await, 0.0);
    // Webhooks reach the replica that does not crawl.
    fake.subscribe_webhooks(WebhookSubscription::new(
        format!("{}/webhooks/notion", replicas[other].base),
        SECRET,
    ));

    redis.kill();
    for r in &replicas {
        eventually("the outage noticed", || async {
            metric(&metrics_of(&r.base).await, "notion_mcp_redis_degraded") == Some(1.0)
        })
        .await;
    }
    // A row's property changes (its last edit moves on, as a listing shows; Notion's own search
    // matches titles only, so only the index can find it).
    let row = id("t2");
    notion(
        replicas[0].fake.base_url(),
        http::Method::PATCH,
        &format!("/v1/pages/{row}"),
        json!({"properties": {"Status": {"select": {"name": "Blocked"}}}}),
    )
    .await;
    fake.webhooks_idle().await;
    // The replica that got the webhook re-read the page; it could not share it.
    finds(&replicas[other].url, "Blocked", &row, line).await;
    let base = replicas[other].base.clone();
    eventually("the change counted as not shared", || async {
        metrics_of(&base)
            .await
            .contains("notion_mcp_content_index_shared_entries_total{direction=\"unpublished\"}")
    })
    .await;
    let before = search(&replicas[holder].url, "ntn_editor", "Blocked").await;
    assert!(!before.contains(&row), "{before}");

    // Back: the crawl holder notices the outage and lists once for what it missed.
    redis.restart().await;
    for r in &replicas {
        connected(&r.base).await;
    }
    finds(&replicas[holder].url, "Blocked", &row, line).await;
    for r in replicas {
        r.shutdown().await;
    }
}
