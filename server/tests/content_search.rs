//! `search` finds words inside pages through the workspace content index: a word only in a nested
//! toggle is found with a snippet, but never shown to a caller whose integration cannot read that
//! page; phrases, prefixes and filters work; `mode: "title"` is Notion's title search as before;
//! an edit or a trashing announced by webhook changes the results; the crawler stays within its
//! share of a 3 req/s workspace while tool calls run (no 429, tool calls keep ≥ 70 %), and a restart
//! resumes its crawl instead of starting it over.
#![allow(clippy::unwrap_used)]

mod common;

use common::{Harness, id, parse_body, result_text, test_args};
use notion_fake::{
    FakeNotion, Fixture, FixtureBuilder, RateLimit, WebhookSubscription, token_fingerprint,
};
use notion_mcp_remote::app;
use notion_mcp_remote::config::{AuthMode, Redacted, ServeArgs, Settings};
use serde_json::{Value, json};
use std::collections::{HashMap, HashSet};
use std::time::{Duration, Instant};
use tokio::net::TcpListener;
use tokio_util::sync::CancellationToken;

const SECRET: &str = "secret_content_search";
/// The server's own token (the demo token the harness configures): what the crawler reads with.
const CRAWLER: &str = "ntn_demo_acme";

fn fixture() -> Fixture {
    serde_json::from_value(json!({"workspaces": [{
        "name": "Acme",
        "tokens": [CRAWLER, "ntn_editor", {"token": "ntn_limited", "shared": ["public"]}],
        "pages": [
            {"id": "plan", "title": "Plan", "children": [
                {"id": "intro", "paragraph": "An introduction about marmalade."},
                {"toggle": "Details", "children": [
                    {"toggle": "More", "children": [
                        {"id": "deep", "paragraph": "The zanzibarite deposits lie under the old quarry."}
                    ]}
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
            }]}
        ]
    }]}))
    .unwrap()
}

async fn start() -> Harness {
    let h = Harness::start_with(fixture(), |a| {
        a.no_content_index = false;
        a.auth_mode = AuthMode::Demo;
        a.webhook_verification_token = vec![Redacted(SECRET.to_owned())];
    })
    .await;
    h.fake().subscribe_webhooks(WebhookSubscription::new(
        format!("{}/webhooks/notion", h.base),
        SECRET,
    ));
    h
}

async fn search(h: &Harness, token: &str, args: Value) -> String {
    h.text(token, "search", args).await
}

/// Poll `search` until `check` holds (or fail after `deadline`).
async fn until(
    h: &Harness,
    token: &str,
    args: Value,
    deadline: Duration,
    check: impl Fn(&str) -> bool,
) -> String {
    let started = Instant::now();
    loop {
        let text = search(h, token, args.clone()).await;
        if check(&text) {
            return text;
        }
        assert!(
            started.elapsed() < deadline,
            "gave up after {deadline:?}; last answer: {text}"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// A request straight to Notion (the fake) as another integration: someone else's edit.
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
    assert!(
        resp.status().is_success(),
        "{path}: {}",
        resp.text().await.unwrap()
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn words_in_nested_toggles_are_found_only_by_those_who_can_read_them() {
    let h = start().await;
    let plan = id("plan");
    let found = until(
        &h,
        "ntn_editor",
        json!({"query": "zanzibarite"}),
        Duration::from_secs(20),
        |t| t.contains(&plan),
    )
    .await;
    assert!(found.contains("| content |"), "matched by content: {found}");
    assert!(
        found.contains("zanzibarite deposits"),
        "a snippet around the hit: {found}"
    );
    assert!(
        found.contains("Content index: indexed"),
        "says how complete: {found}"
    );
    // The limited integration sees the public page, never the plan.
    let limited = search(&h, "ntn_limited", json!({"query": "zanzibarite"})).await;
    assert!(
        !limited.contains(&plan) && !limited.contains("zanzibarite deposits"),
        "{limited}"
    );
    let public = until(
        &h,
        "ntn_limited",
        json!({"query": "quokkas"}),
        Duration::from_secs(5),
        |t| t.contains(&id("public")),
    )
    .await;
    assert!(public.contains("quokkas"), "{public}");
    let quarry = search(
        &h,
        "ntn_limited",
        json!({"query": "quarry", "format": "json"}),
    )
    .await;
    let ids: Vec<String> = common::json_data(&quarry)["results"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["id"].as_str().unwrap().to_owned())
        .collect();
    assert_eq!(
        ids,
        vec![id("public")],
        "only what the caller's own token reads"
    );

    // Phrases, prefixes.
    let phrase = search(
        &h,
        "ntn_editor",
        json!({"query": "\"zanzibarite deposits\""}),
    )
    .await;
    assert!(phrase.contains(&plan), "{phrase}");
    let reversed = search(
        &h,
        "ntn_editor",
        json!({"query": "\"deposits zanzibarite\""}),
    )
    .await;
    assert!(
        !reversed.contains(&plan),
        "a phrase keeps its order: {reversed}"
    );
    let prefix = search(&h, "ntn_editor", json!({"query": "zanzib*"})).await;
    assert!(prefix.contains(&plan), "{prefix}");
    let bad = h.call("ntn_editor", "search", json!({"query": "z*"})).await;
    assert_eq!(bad["isError"], json!(true), "{bad}");
    assert!(result_text(&bad).contains("prefix"), "{bad}");

    // Filters: under a page, in a data source, edited after a date.
    let under_public = search(
        &h,
        "ntn_editor",
        json!({"query": "quarry", "under": id("public")}),
    )
    .await;
    assert!(
        !under_public.contains(&id("public")) && !under_public.contains(&plan),
        "the page itself is not under itself: {under_public}"
    );
    let rows = until(
        &h,
        "ntn_editor",
        json!({"query": "Blocked", "under": id("public")}),
        Duration::from_secs(5),
        |t| t.contains(&id("t1")),
    )
    .await;
    assert!(!rows.contains(&id("t2")), "{rows}");
    let in_ds = search(
        &h,
        "ntn_editor",
        json!({"query": "Blocked", "under": id("tasks-ds")}),
    )
    .await;
    assert!(in_ds.contains(&id("t1")), "{in_ds}");
    let elsewhere = search(
        &h,
        "ntn_editor",
        json!({"query": "zanzibarite", "under": id("tasks-ds")}),
    )
    .await;
    assert!(!elsewhere.contains(&plan), "{elsewhere}");
    let future = search(
        &h,
        "ntn_editor",
        json!({"query": "zanzibarite", "edited_after": "2999-01-01"}),
    )
    .await;
    assert!(!future.contains(&plan), "{future}");
    let past = search(
        &h,
        "ntn_editor",
        json!({"query": "zanzibarite", "edited_after": "2000-01-01"}),
    )
    .await;
    assert!(past.contains(&plan), "{past}");
    let bad_date = h
        .call(
            "ntn_editor",
            "search",
            json!({"query": "x", "edited_after": "soon"}),
        )
        .await;
    assert_eq!(bad_date["isError"], json!(true));

    // mode "title": Notion's title search, as before.
    let titles = search(&h, "ntn_editor", json!({"query": "Plan", "mode": "title"})).await;
    assert!(
        titles.contains("| Title | Type | Id | Last edited |") && titles.contains(&plan),
        "{titles}"
    );
    let no_content = search(
        &h,
        "ntn_editor",
        json!({"query": "zanzibarite", "mode": "title"}),
    )
    .await;
    assert!(
        no_content.contains("Search matches titles only"),
        "{no_content}"
    );
    let filtered_title = h
        .call(
            "ntn_editor",
            "search",
            json!({"query": "Plan", "mode": "title", "under": plan}),
        )
        .await;
    assert_eq!(filtered_title["isError"], json!(true), "{filtered_title}");
    h.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn edits_and_trashing_reach_results_through_webhooks() {
    let h = start().await;
    let plan = id("plan");
    until(
        &h,
        "ntn_editor",
        json!({"query": "zanzibarite"}),
        Duration::from_secs(20),
        |t| t.contains(&plan),
    )
    .await;
    until(
        &h,
        "ntn_editor",
        json!({"query": "quokkas"}),
        Duration::from_secs(5),
        |t| t.contains(&id("public")),
    )
    .await;
    notion(
        &h,
        http::Method::PATCH,
        &format!("/v1/blocks/{}", id("deep")),
        json!({"paragraph": {"rich_text": [{"type": "text", "text": {"content": "A xylophonist moved in."}}]}}),
    )
    .await;
    let edited = until(
        &h,
        "ntn_editor",
        json!({"query": "xylophonist"}),
        Duration::from_secs(5),
        |t| t.contains(&plan),
    )
    .await;
    assert!(edited.contains("xylophonist"), "{edited}");
    until(
        &h,
        "ntn_editor",
        json!({"query": "zanzibarite"}),
        Duration::from_secs(5),
        |t| !t.contains(&plan),
    )
    .await;
    notion(
        &h,
        http::Method::PATCH,
        &format!("/v1/pages/{}", id("public")),
        json!({"in_trash": true}),
    )
    .await;
    until(
        &h,
        "ntn_editor",
        json!({"query": "quokkas"}),
        Duration::from_secs(5),
        |t| !t.contains(&id("public")),
    )
    .await;
    h.shutdown().await;
}

/// A server on a fake that outlives it (for the restart).
struct Server {
    url: String,
    stop: CancellationToken,
    task: tokio::task::JoinHandle<anyhow::Result<()>>,
}

impl Server {
    async fn start(fake: &str, tweak: impl FnOnce(&mut ServeArgs)) -> Server {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let mut args = test_args();
        args.listen = listener.local_addr().unwrap();
        args.notion_base_url = fake.parse().unwrap();
        args.auth_mode = AuthMode::Demo;
        args.no_content_index = false;
        tweak(&mut args);
        let built = app::build(Settings::from_args(args).unwrap(), Some(CRAWLER.into()))
            .await
            .unwrap();
        let stop = CancellationToken::new();
        let url = format!("http://{}/mcp", listener.local_addr().unwrap());
        let task = tokio::spawn(app::serve(built, listener, stop.clone()));
        Server { url, stop, task }
    }

    async fn call(&self, token: &str, tool: &str, args: Value) -> Value {
        let body = json!({"jsonrpc": "2.0", "id": 1, "method": "tools/call",
                          "params": {"name": tool, "arguments": args}});
        let text = reqwest::Client::new()
            .post(&self.url)
            .bearer_auth(token)
            .header("accept", "application/json, text/event-stream")
            .json(&body)
            .send()
            .await
            .unwrap()
            .text()
            .await
            .unwrap();
        parse_body(&text)["result"].clone()
    }

    async fn stop(self) {
        self.stop.cancel();
        self.task.await.unwrap().unwrap();
    }
}

fn many_pages(n: usize) -> Fixture {
    let mut b = FixtureBuilder::default()
        .workspace("Acme", CRAWLER)
        .token(notion_fake::TokenFixture::Plain("ntn_editor".into()));
    for i in 0..n {
        b = b.page_with_blocks(&format!("Doc {i}"), 3);
    }
    b.build()
}

fn by(token: &str) -> String {
    format!("Bearer {}", token_fingerprint(token))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_crawler_leaves_tool_calls_the_budget() {
    let running = FakeNotion::start(many_pages(60)).await.unwrap();
    running
        .fake
        .set_workspace_rate_limit(Some(RateLimit::workspace(3.0, 10)));
    let server = Server::start(running.base_url(), |a| {
        a.pacing_rps = 3.0;
        a.pacing_burst = 10;
        a.workspace_pacing_rps = Some(3.0);
        a.index_crawl_share = 0.3;
    })
    .await;
    // Let the crawler start, then keep two callers busy for a while.
    tokio::time::sleep(Duration::from_secs(2)).await;
    running.fake.reset_log();
    let busy_until = Instant::now() + Duration::from_secs(8);
    let caller = |n: usize| {
        let server = &server;
        async move {
            let mut i = n;
            while Instant::now() < busy_until {
                let page = id(&format!("Doc {}", i % 60));
                let r = server
                    .call("ntn_editor", "get_page", json!({"id": page}))
                    .await;
                assert_ne!(r["isError"], json!(true), "{r}");
                i += 2;
            }
        }
    };
    futures::future::join(caller(0), caller(1)).await;
    let log = running.fake.requests();
    let limited = log.iter().filter(|r| r.status == 429).count();
    let tools = log
        .iter()
        .filter(|r| r.authorization() == Some(&by("ntn_editor")))
        .count();
    let crawler = log
        .iter()
        .filter(|r| r.authorization() == Some(&by(CRAWLER)))
        .count();
    eprintln!("tool calls {tools}, crawler {crawler}, 429s {limited}");
    assert_eq!(limited, 0, "Notion answered 429");
    assert!(tools >= 10, "tool calls ran: {tools}");
    assert!(
        tools * 10 >= (tools + crawler) * 7,
        "tool calls kept {tools} of {} requests",
        tools + crawler
    );
    // Once tool calls stop, the crawler uses the idle budget (its share of it).
    running.fake.reset_log();
    tokio::time::sleep(Duration::from_secs(4)).await;
    let log = running.fake.requests();
    let idle = log
        .iter()
        .filter(|r| r.authorization() == Some(&by(CRAWLER)))
        .count();
    eprintln!("crawler while idle: {idle} requests in 4 s");
    assert!(idle >= 2, "the crawler uses idle budget: {idle}");
    assert!(idle <= 6, "within its share (0.3 × 3 req/s): {idle}");
    assert_eq!(log.iter().filter(|r| r.status == 429).count(), 0);
    server.stop().await;
    running.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_restart_resumes_the_crawl() {
    const PAGES: usize = 40;
    let running = FakeNotion::start(many_pages(PAGES)).await.unwrap();
    let dir = std::env::temp_dir().join(format!("content-index-{}", uuid::Uuid::new_v4()));
    let tweak = |a: &mut ServeArgs| {
        a.pacing_rps = 10.0;
        a.pacing_burst = 2;
        a.workspace_pacing_rps = Some(10.0);
        a.index_crawl_share = 0.5;
        a.index_dir = Some(dir.clone());
    };
    let content_reads = |log: &[notion_fake::RecordedRequest]| -> Vec<String> {
        log.iter()
            .filter(|r| {
                r.authorization() == Some(&by(CRAWLER))
                    && r.path.ends_with("/markdown")
                    && r.status == 200
            })
            .map(|r| r.path.clone())
            .collect()
    };
    let first = Server::start(running.base_url(), tweak).await;
    let started = Instant::now();
    while content_reads(&running.fake.requests()).len() < 10 {
        assert!(
            started.elapsed() < Duration::from_secs(30),
            "the crawl did not start"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    first.stop().await;
    let before = content_reads(&running.fake.requests());
    assert!(before.len() < PAGES, "stopped mid-crawl: {}", before.len());
    assert!(
        dir.join("crawl-state.json").exists(),
        "crawl state kept next to the index"
    );
    running.fake.reset_log();
    let second = Server::start(running.base_url(), tweak).await;
    let started = Instant::now();
    loop {
        let r = second
            .call("ntn_editor", "search", json!({"query": "Paragraph"}))
            .await;
        let text = result_text(&r);
        if text.contains(&format!("indexed {PAGES} of {PAGES} pages")) {
            break;
        }
        assert!(
            started.elapsed() < Duration::from_secs(30),
            "the crawl did not finish: {text}"
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    let after = content_reads(&running.fake.requests());
    let mut counts: HashMap<&String, usize> = HashMap::new();
    for p in before.iter().chain(&after) {
        *counts.entry(p).or_default() += 1;
    }
    let twice = counts.values().filter(|n| **n > 1).count();
    let distinct: HashSet<&String> = before.iter().chain(&after).collect();
    eprintln!(
        "read before {}, after {}, twice {twice}",
        before.len(),
        after.len()
    );
    assert_eq!(distinct.len(), PAGES, "every page read");
    assert!(
        twice <= 2,
        "a restart reads again only what was in flight: {twice} pages read twice"
    );
    second.stop().await;
    running.shutdown().await;
    std::fs::remove_dir_all(&dir).ok();
}

#[tokio::test]
async fn the_tool_list_stays_within_its_budget() {
    let h = start().await;
    let (_, v) = h
        .post(
            Some("ntn_editor"),
            &json!({"jsonrpc": "2.0", "id": 1, "method": "tools/list"}),
        )
        .await;
    let tools = v["result"]["tools"].as_array().unwrap();
    let search = tools.iter().find(|t| t["name"] == "search").unwrap();
    let bytes = v["result"].to_string().len();
    println!(
        "tools/list: {bytes} bytes; search: {} bytes",
        search.to_string().len()
    );
    if std::env::var("SHOW_TOOLS").is_ok() {
        for t in tools {
            println!("{} {}", t.to_string().len(), t);
        }
    }
    for field in ["mode", "under", "edited_after"] {
        assert!(
            search["inputSchema"]["properties"][field].is_object(),
            "{search}"
        );
    }
    assert!(bytes < 19_000, "tools/list is {bytes} bytes");
    h.shutdown().await;
}
