//! The client against the stateful Notion fake (`notion-fake`, sample workspace): typed decoding of
//! real response shapes, pagination, the block tree, pacing under the fake's rate limit, and retries
//! of injected faults.

use crate::common::id;
use crate::{client_with, fast_retry, no_pacing};
use http::Method;
use notion_fake::{FakeNotion, Fault, FaultRule, Fixture, RateLimit, RunningFake};
use notion_mcp_remote::cache::CacheConfig;
use notion_mcp_remote::metrics::Metrics;
use notion_mcp_remote::notion::Answer;
use notion_mcp_remote::notion::client::{
    ClientConfig, NotionAuth, NotionClient, NotionRequest, NotionVersion,
};
use notion_mcp_remote::notion::endpoints;
use notion_mcp_remote::notion::pacer::PacingConfig;
use notion_mcp_remote::notion::pagination::collect;
use notion_mcp_remote::notion::read_through::ReadObserver;
use notion_mcp_remote::notion::retry::RetryPolicy;
use notion_mcp_remote::notion::tree::{TreeLimits, fetch_block_tree};
use serde_json::json;
use std::sync::Arc;
use std::time::{Duration, Instant};

const DEMO_TOKEN: &str = "ntn_demo_acme";

fn demo() -> NotionAuth {
    NotionAuth::new(DEMO_TOKEN, NotionVersion::default())
}

async fn start(retry: RetryPolicy) -> (RunningFake, NotionClient) {
    let running = FakeNotion::start(Fixture::sample())
        .await
        .expect("fake starts");
    let (client, _) = client_with(running.base_url(), no_pacing(), retry);
    (running, client)
}

fn rule(fault: Fault, method: Method, path: &str, times: u32) -> FaultRule {
    FaultRule::new(fault)
        .method(method)
        .path_prefix(path)
        .times(times)
}

#[tokio::test]
async fn fake_typed_reads() {
    let (_fake, c) = start(fast_retry()).await;
    let a = demo();
    let me = endpoints::retrieve_bot_user(&c, &a).await.unwrap();
    assert_eq!(me["type"], "bot");

    let home = endpoints::retrieve_page(&c, &a, &id("acme-home"), &[])
        .await
        .unwrap();
    assert_eq!(home.title(), "Acme Home");
    let raw = endpoints::retrieve_page_raw(&c, &a, &id("acme-home").replace('-', ""), &[])
        .await
        .unwrap();
    assert_eq!(raw["object"], "page");

    let db = endpoints::retrieve_database(&c, &a, &id("acme-tasks"))
        .await
        .unwrap();
    assert_eq!(db.data_sources.len(), 1);
    let ds = endpoints::retrieve_data_source(&c, &a, &db.data_sources[0].id)
        .await
        .unwrap();
    assert!(ds.properties.contains_key("Assignee"));

    let users = endpoints::list_users(&c, &a, None, Some(100))
        .await
        .unwrap();
    assert!(
        users
            .results
            .iter()
            .any(|u| u.name.as_deref() == Some("Alice Anders"))
    );
    let comments = endpoints::list_comments(&c, &a, &id("acme-home"), None, None)
        .await
        .unwrap();
    assert_eq!(comments.results.len(), 2);
    let found = endpoints::search(&c, &a, json!({"query":"Handbook"}), None, Some(10))
        .await
        .unwrap();
    assert!(!found.results.is_empty());
    let templates =
        endpoints::list_data_source_templates(&c, &a, &id("acme-projects-ds"), None, None, None)
            .await
            .unwrap();
    assert_eq!(templates["templates"][0]["name"], "Project brief");

    let missing = endpoints::retrieve_page(&c, &a, &id("no-such-page"), &[])
        .await
        .unwrap_err();
    assert_eq!(missing.code(), "object_not_found");
    assert_eq!(missing.status(), Some(404));
}

#[tokio::test]
async fn fake_query_pagination_and_property_items() {
    let (_fake, c) = start(fast_retry()).await;
    let a = demo();
    let ds = id("acme-tasks-ds");
    let fetch = |cursor: Option<String>, size: u32| {
        let (c, a, ds) = (c.clone(), a.clone(), ds.clone());
        async move {
            endpoints::query_data_source(&c, &a, &ds, json!({}), &[], cursor.as_deref(), Some(size))
                .await
        }
    };
    let first = collect(5, None, fetch).await.unwrap();
    assert_eq!(first.items.len(), 5);
    assert!(first.has_more);
    let rest = collect(100, first.next_cursor.clone(), fetch)
        .await
        .unwrap();
    let mut ids: Vec<String> = first
        .items
        .iter()
        .chain(&rest.items)
        .map(|p| p.id.clone())
        .collect();
    assert_eq!(ids.len(), 12);
    ids.sort();
    ids.dedup();
    assert_eq!(ids.len(), 12, "no row repeated or skipped");

    let page = endpoints::retrieve_page(&c, &a, &id("project-website"), &[])
        .await
        .unwrap();
    let (_, tasks) = page.properties.find("Tasks").unwrap();
    let items = endpoints::all_property_items(&c, &a, &page.id, &tasks.id, 100)
        .await
        .unwrap();
    assert_eq!(items.property_type, "relation");
    assert_eq!(items.items.len(), 3);
    assert!(!items.truncated);
    let (_, budget) = page.properties.find("Budget").unwrap();
    let one = endpoints::all_property_items(&c, &a, &page.id, &budget.id, 100)
        .await
        .unwrap();
    assert_eq!(one.items.len(), 1);
    assert_eq!(one.property_type, "number");
}

#[tokio::test]
async fn fake_block_tree_and_continuation() {
    let (_fake, c) = start(fast_retry()).await;
    let a = demo();
    let home = id("acme-home");
    let full = TreeLimits {
        max_blocks: 10_000,
        max_depth: 10,
        concurrency: 3,
    };
    let tree = fetch_block_tree(&c, &a, &home, full, None).await.unwrap();
    assert!(!tree.truncated && tree.next_cursor.is_none());
    let kinds: Vec<&str> = tree
        .nodes
        .iter()
        .map(|n| n.block.as_ref().unwrap().kind.as_str())
        .collect();
    assert!(
        kinds.contains(&"child_page") && kinds.contains(&"toggle"),
        "{kinds:?}"
    );
    let toggle = tree
        .nodes
        .iter()
        .find(|n| n.block.as_ref().unwrap().kind == "toggle")
        .unwrap();
    assert_eq!(toggle.children.len(), 2);
    let child_page = tree
        .nodes
        .iter()
        .find(|n| n.block.as_ref().unwrap().kind == "child_page")
        .unwrap();
    assert!(child_page.children.is_empty() && !child_page.children_omitted);

    // Small budgets reassemble the same top-level sequence.
    let all: Vec<String> = tree
        .nodes
        .iter()
        .map(|n| n.block.as_ref().unwrap().id.clone())
        .collect();
    let mut seen = Vec::new();
    let mut cursor = None;
    for _ in 0..100 {
        let small = TreeLimits {
            max_blocks: 4,
            max_depth: 10,
            concurrency: 2,
        };
        let part = fetch_block_tree(&c, &a, &home, small, cursor)
            .await
            .unwrap();
        assert!(part.fetched <= 4);
        seen.extend(
            part.nodes
                .iter()
                .map(|n| n.block.as_ref().unwrap().id.clone()),
        );
        cursor = part.next_cursor;
        if cursor.is_none() {
            break;
        }
    }
    assert_eq!(seen, all);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn fake_pacing_avoids_429s() {
    let running = FakeNotion::start(Fixture::sample()).await.unwrap();
    running.fake.set_rate_limit(Some(RateLimit::new(50.0, 10)));
    let pacing = PacingConfig {
        per_second: 25.0,
        burst: 5,
        replicas: 1,
        enabled: true,
        workspace_per_second: 0.0,
    };
    let (c, _) = client_with(running.base_url(), pacing, RetryPolicy::none());
    let calls = (0..50).map(|_| {
        let c = c.clone();
        // The uncached path: identical reads in flight would otherwise be sent once.
        tokio::spawn(async move {
            c.send_to_notion(
                &demo(),
                NotionRequest::get("GET /v1/users/me", "/v1/users/me"),
            )
            .await
        })
    });
    for r in futures::future::join_all(calls).await {
        r.unwrap().unwrap();
    }
    assert_eq!(running.fake.count_status(429), 0);
    assert_eq!(running.fake.count_status(200), 50);
}

#[tokio::test]
async fn fake_retries_injected_faults() {
    let (running, c) = start(fast_retry()).await;
    let (fake, a) = (&running.fake, demo());
    let me = || NotionRequest::get("GET /v1/users/me", "/v1/users/me");

    let limited = Fault::RateLimited {
        retry_after: Some(1),
        reason: "public_api_request_rate_limit".into(),
    };
    fake.push_fault(rule(limited, Method::GET, "/v1/users/me", 1));
    let started = Instant::now();
    c.send(&a, me()).await.unwrap();
    assert!(started.elapsed() >= Duration::from_millis(950));
    assert_eq!(fake.count_status(429), 1);
    assert_eq!(fake.count_status(200), 1);

    fake.reset_log();
    fake.push_fault(rule(
        Fault::Overloaded {
            retry_after: Some(0),
        },
        Method::POST,
        "/v1/search",
        2,
    ));
    endpoints::search(&c, &a, json!({}), None, None)
        .await
        .unwrap();
    assert_eq!(fake.count_status(529), 2);

    fake.reset_log();
    let unavailable = Fault::Status {
        status: 503,
        code: String::new(),
        retry_after: None,
    };
    fake.push_fault(rule(unavailable, Method::GET, "/v1/users/me", 1));
    c.send(&a, me()).await.unwrap();
    assert_eq!(fake.requests().len(), 2);

    fake.reset_log();
    fake.push_fault(rule(Fault::DropConnection, Method::GET, "/v1/users/me", 1));
    c.send(&a, me()).await.unwrap();
    assert_eq!(fake.requests().len(), 2);

    fake.reset_log();
    let blocked = Fault::RateLimited {
        retry_after: Some(1),
        reason: "public_api_request_blocked".into(),
    };
    fake.push_fault(rule(blocked, Method::GET, "/v1/users/me", 1));
    let err = c.send(&a, me()).await.unwrap_err();
    assert!(err.is_blocked());
    assert_eq!(fake.requests().len(), 1);

    fake.reset_log();
    let long = Fault::RateLimited {
        retry_after: Some(120),
        reason: "public_api_request_rate_limit".into(),
    };
    fake.push_fault(rule(long, Method::GET, "/v1/users/me", 1));
    let err = c.send(&a, me()).await.unwrap_err();
    assert_eq!(err.code(), "rate_limited");
    assert_eq!(err.retry_after_seconds(), Some(120));
    assert_eq!(fake.requests().len(), 1);
}

#[tokio::test]
async fn fake_committed_write_is_reported_not_replayed() {
    let (running, c) = start(fast_retry()).await;
    let (fake, a) = (&running.fake, demo());
    fake.push_fault(rule(
        Fault::CommittedThenUnavailable,
        Method::POST,
        "/v1/pages",
        1,
    ));
    let body = json!({"parent":{"page_id": id("acme-home")},
        "properties":{"title":{"title":[{"text":{"content":"Created once"}}]}}});
    let req = NotionRequest::post("POST /v1/pages", "/v1/pages")
        .json(body)
        .idempotent(true);
    let err = c.send(&a, req).await.unwrap_err();
    assert_eq!(err.status(), Some(503));
    assert!(err.is_committed_write());
    let created = err
        .committed_resource_id()
        .expect("committed id")
        .to_owned();
    assert_eq!(fake.requests().len(), 1, "never replayed");
    let page = endpoints::retrieve_page(&c, &a, &created, &[])
        .await
        .unwrap();
    assert_eq!(page.title(), "Created once");
}

#[tokio::test]
async fn fake_sends_version_and_never_logs_the_token() {
    let (running, c) = start(fast_retry()).await;
    let old = demo().with_version(NotionVersion::V2025_09_03);
    endpoints::retrieve_bot_user(&c, &old).await.unwrap();
    let bad = NotionAuth::new("ntn_not_a_real_token_42", NotionVersion::default());
    let err = endpoints::retrieve_bot_user(&c, &bad).await.unwrap_err();
    assert!(err.is_unauthorized());
    assert!(!format!("{err} {err:?}").contains("ntn_not_a_real_token_42"));
    let reqs = running.fake.requests();
    assert_eq!(reqs[0].notion_version(), Some("2025-09-03"));
    assert_eq!(
        reqs[1].notion_version(),
        Some(NotionVersion::default().as_str())
    );
}

/// Records what the client shows a read observer (the content index's feed).
#[derive(Default)]
struct Seen(std::sync::Mutex<Vec<String>>);

impl ReadObserver for Seen {
    fn wants(&self, endpoint: &'static str) -> bool {
        endpoint == "GET /v1/pages/{id}"
    }
    fn observed(&self, workspace: &Arc<str>, _endpoint: &'static str, path: &str, _: &Answer) {
        self.0.lock().unwrap().push(format!("{workspace} {path}"));
    }
}

#[tokio::test]
async fn the_read_observer_sees_answers_from_notion_not_cache_hits() {
    let running = FakeNotion::start(Fixture::sample()).await.unwrap();
    let cfg = ClientConfig {
        base_url: url::Url::parse(running.base_url()).unwrap(),
        pacing: no_pacing(),
        retry: fast_retry(),
        cache: CacheConfig {
            max_bytes: 1 << 20,
            max_age: Duration::from_secs(60),
        },
        ..Default::default()
    };
    let c = NotionClient::new(cfg, Metrics::new()).unwrap();
    let seen = Arc::new(Seen::default());
    c.set_read_observer(seen.clone());
    let a = demo().with_workspace("acme");
    let home = id("acme-home");
    for _ in 0..3 {
        let page = endpoints::retrieve_page(&c, &a, &home, &[]).await.unwrap();
        assert_eq!(page.title(), "Acme Home");
    }
    let path = format!("/v1/pages/{home}");
    let reads = || {
        let log = running.fake.requests();
        log.iter().filter(|r| r.path == path).count()
    };
    assert_eq!(reads(), 1, "the cache answers the second and third read");
    assert_eq!(*seen.0.lock().unwrap(), [format!("acme {path}")]);

    // Once the cache no longer holds it, Notion's new answer is shown again.
    c.cache().set_trusted(false);
    c.cache().set_trusted(true);
    endpoints::retrieve_page(&c, &a, &home, &[]).await.unwrap();
    assert_eq!(reads(), 2);
    assert_eq!(seen.0.lock().unwrap().len(), 2);
}
