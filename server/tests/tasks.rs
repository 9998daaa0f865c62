//! Tool calls as MCP tasks (the `io.modelcontextprotocol/tasks` extension): a call from a client that
//! declared the extension and still running after `--task-after-secs` is handed over to a task, run
//! once, and its result fetched with `tasks/get`; only its caller can see or cancel it; clients
//! without the extension, and servers started with `--no-tasks`, never get a task.
#![allow(clippy::unwrap_used)]

mod common;

use common::{Harness, parse_body, result_text};
use notion_fake::{Fault, FaultRule, Fixture, GeneratedIds};
use serde_json::{Value, json};
use std::time::{Duration, Instant};

const OWNER: &str = "ntn_tasks_a";
const OTHER: &str = "ntn_tasks_b";
/// How long the fake takes to answer a slowed read: well past the hand-over after 1 s.
const SLOW: Duration = Duration::from_millis(2500);

fn fixture() -> Fixture {
    Fixture::builder()
        .workspace("Tasks A", OWNER)
        .pages(2, "Alpha")
        .workspace("Tasks B", OTHER)
        .pages(2, "Beta")
        .build()
}

async fn harness(tweak: impl FnOnce(&mut notion_mcp_remote::config::ServeArgs)) -> Harness {
    Harness::start_with(fixture(), |a| {
        a.task_after_secs = 1;
        tweak(a);
    })
    .await
}

fn page() -> String {
    GeneratedIds::page("Alpha", 0).to_string()
}

/// A 2026-07-28 request; `tasks`: whether the client declares the tasks extension.
async fn send(h: &Harness, token: &str, method: &str, params: Value, tasks: bool) -> Value {
    let caps = if tasks {
        json!({"extensions": {"io.modelcontextprotocol/tasks": {}}})
    } else {
        json!({})
    };
    let mut params = params;
    params["_meta"] = json!({
        "io.modelcontextprotocol/protocolVersion": "2026-07-28",
        "io.modelcontextprotocol/clientCapabilities": caps,
        "io.modelcontextprotocol/clientInfo": {"name": "tasks-test", "version": "1"}
    });
    let r = h
        .stateless_request(token, method, &params)
        .send()
        .await
        .unwrap();
    parse_body(&r.text().await.unwrap())
}

/// The next page read at the fake takes `delay`.
fn slow_page_read(h: &Harness, delay: Duration) {
    h.fake().push_fault(
        FaultRule::new(Fault::Delay(delay))
            .method(http::Method::GET)
            .path_prefix("/v1/pages/")
            .times(1),
    );
}

/// `get_page` of the first page by `token`; `tasks`: whether the client declares the extension.
async fn get_page(h: &Harness, token: &str, tasks: bool) -> Value {
    let call = json!({"name": "get_page", "arguments": {"id": page()}});
    send(h, token, "tools/call", call, tasks).await
}

fn page_reads(h: &Harness) -> usize {
    let path = format!("/v1/pages/{}", page());
    h.fake()
        .requests()
        .iter()
        .filter(|q| q.method == http::Method::GET && q.path == path)
        .count()
}

/// Polls `tasks/get` until the task leaves `working`.
async fn settled(h: &Harness, token: &str, id: &str) -> Value {
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let v = send(h, token, "tasks/get", json!({"taskId": id}), true).await;
        let status = v["result"]["status"]
            .as_str()
            .unwrap_or_default()
            .to_string();
        if status != "working" || Instant::now() > deadline {
            return v;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

#[tokio::test]
async fn a_call_still_running_becomes_a_task_whose_result_its_caller_fetches() {
    let h = harness(|_| {}).await;
    // The server says it takes tasks.
    let v = send(&h, OWNER, "server/discover", json!({}), true).await;
    assert!(
        v["result"]["capabilities"]["extensions"]["io.modelcontextprotocol/tasks"].is_object(),
        "{v}"
    );
    // A quick call answers as usual.
    let quick = get_page(&h, OWNER, true).await;
    assert_eq!(quick["result"]["isError"], json!(false), "{quick}");
    let expected = result_text(&quick["result"]);
    assert!(expected.contains("Alpha 0"), "{expected}");

    // A slow one is handed over: the task id comes back long before Notion answers.
    slow_page_read(&h, SLOW);
    let before = page_reads(&h);
    let started = Instant::now();
    let v = get_page(&h, OWNER, true).await;
    assert!(
        started.elapsed() < SLOW,
        "answered after {:?}: {v}",
        started.elapsed()
    );
    assert_eq!(v["result"]["resultType"], "task", "{v}");
    assert_eq!(v["result"]["status"], "working", "{v}");
    let id = v["result"]["taskId"].as_str().unwrap().to_string();
    assert!(v["result"]["pollIntervalMs"].as_u64().is_some(), "{v}");

    // Nobody else can see it, or cancel it: to them it does not exist.
    for method in ["tasks/get", "tasks/cancel"] {
        let other = send(&h, OTHER, method, json!({"taskId": id}), true).await;
        assert_eq!(other["error"]["code"], -32602, "{method}: {other}");
        assert!(other.to_string().contains("no task"), "{other}");
    }

    // Its caller gets the very result a quick call gives.
    let done = settled(&h, OWNER, &id).await;
    assert_eq!(done["result"]["status"], "completed", "{done}");
    assert_eq!(result_text(&done["result"]["result"]), expected, "{done}");
    // The call ran once: one page read for it.
    assert_eq!(page_reads(&h) - before, 1);
    // The tool metric counted it once, when it finished: the quick call and this one.
    let metrics = h.metrics().await;
    assert!(
        metrics.contains("notion_mcp_tool_calls_total{outcome=\"ok\",tool=\"get_page\"} 2"),
        "tool calls are counted: {metrics}"
    );
    h.shutdown().await;
}

#[tokio::test]
async fn a_task_can_be_cancelled_by_its_caller() {
    let h = harness(|_| {}).await;
    slow_page_read(&h, Duration::from_secs(20));
    let v = get_page(&h, OWNER, true).await;
    let id = v["result"]["taskId"].as_str().unwrap().to_string();
    let ack = send(&h, OWNER, "tasks/cancel", json!({"taskId": id}), true).await;
    assert!(ack.get("error").is_none(), "{ack}");
    let done = settled(&h, OWNER, &id).await;
    assert_eq!(done["result"]["status"], "cancelled", "{done}");
    h.shutdown().await;
}

#[tokio::test]
async fn clients_without_the_extension_wait_for_the_result() {
    let h = harness(|_| {}).await;
    slow_page_read(&h, SLOW);
    let v = get_page(&h, OWNER, false).await;
    assert_eq!(v["result"]["isError"], json!(false), "{v}");
    assert!(v["result"].get("taskId").is_none(), "{v}");
    assert!(result_text(&v["result"]).contains("Alpha 0"), "{v}");
    // A 2025-11-25 client (no per-request capabilities) likewise.
    slow_page_read(&h, SLOW);
    let r = h.call(OWNER, "get_page", json!({"id": page()})).await;
    assert!(result_text(&r).contains("Alpha 0"), "{r}");
    h.shutdown().await;
}

#[tokio::test]
async fn no_tasks_means_no_task_even_for_clients_that_take_them() {
    let h = harness(|a| a.no_tasks = true).await;
    let v = send(&h, OWNER, "server/discover", json!({}), true).await;
    assert!(
        v["result"]["capabilities"]["extensions"]["io.modelcontextprotocol/tasks"].is_null(),
        "{v}"
    );
    slow_page_read(&h, SLOW);
    let v = get_page(&h, OWNER, true).await;
    assert!(result_text(&v["result"]).contains("Alpha 0"), "{v}");
    h.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn with_shared_state_any_replica_answers_for_a_task() {
    let Some(redis) = common::redis::RedisServer::start_or_skip(
        "with_shared_state_any_replica_answers_for_a_task",
        &[],
    )
    .await
    else {
        return;
    };
    let fake = notion_fake::FakeNotion::try_new(fixture()).unwrap();
    let url = redis.url();
    let tweak = |a: &mut notion_mcp_remote::config::ServeArgs| {
        a.task_after_secs = 1;
        a.redis_url = Some(notion_mcp_remote::config::Redacted(url.clone()));
    };
    let a = Harness::serving(&fake, tweak).await;
    let b = Harness::serving(&fake, tweak).await;
    a.redis_connected().await;
    b.redis_connected().await;

    // Started at A, fetched at B.
    slow_page_read(&a, SLOW);
    let v = get_page(&a, OWNER, true).await;
    let id = v["result"]["taskId"].as_str().unwrap().to_string();
    let seen = send(&b, OWNER, "tasks/get", json!({"taskId": id}), true).await;
    assert_eq!(seen["result"]["taskId"], id.as_str(), "{seen}");
    assert!(seen["result"]["ttlMs"].as_u64().is_some(), "{seen}");
    let other = send(&b, OTHER, "tasks/get", json!({"taskId": id}), true).await;
    assert_eq!(
        other["error"]["code"], -32602,
        "another caller at B: {other}"
    );
    let done = settled(&b, OWNER, &id).await;
    assert_eq!(done["result"]["status"], "completed", "{done}");
    assert!(
        result_text(&done["result"]["result"]).contains("Alpha 0"),
        "{done}"
    );

    // Started at A, cancelled at B: A stops it.
    slow_page_read(&a, Duration::from_secs(20));
    let v = get_page(&a, OWNER, true).await;
    let id = v["result"]["taskId"].as_str().unwrap().to_string();
    let refused = send(&b, OTHER, "tasks/cancel", json!({"taskId": id}), true).await;
    assert_eq!(refused["error"]["code"], -32602, "{refused}");
    let ack = send(&b, OWNER, "tasks/cancel", json!({"taskId": id}), true).await;
    assert!(ack.get("error").is_none(), "{ack}");
    let done = settled(&a, OWNER, &id).await;
    assert_eq!(done["result"]["status"], "cancelled", "{done}");
    let seen = settled(&b, OWNER, &id).await;
    assert_eq!(
        seen["result"]["status"], "cancelled",
        "B sees the end too: {seen}"
    );
    a.shutdown().await;
    b.shutdown().await;
}
