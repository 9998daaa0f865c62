//! The server behaviour the MCP conformance suite's diagnostic tools (`demo --conformance-tools`)
//! expose: a tool that needs a client capability is refused with -32021 (HTTP 400) to a client that
//! did not declare it; log messages go out only at or above the level the client asked for; tools
//! marked as long become tasks at once, cancellable, failing as `completed` with an isError result,
//! or as `failed` when the call breaks inside the server;
//! a tool that asks first answers `input_required`; a session stream closed mid-call is resumed
//! with Last-Event-ID. Without the flag none of these tools exists, and `serve` has no such flag.
#![allow(clippy::unwrap_used)]

mod common;

use clap::Parser;
use common::mcp::Mcp;
use common::{Harness, parse_body};
use notion_fake::Fixture;
use serde_json::{Value, json};
use std::time::{Duration, Instant};

const TOKEN: &str = "ntn_conformance";
const TASKS: &str = "io.modelcontextprotocol/tasks";

fn fixture() -> Fixture {
    Fixture::builder()
        .workspace("Conformance", TOKEN)
        .pages(1, "Alpha")
        .build()
}

async fn harness() -> Harness {
    Harness::start_with(fixture(), |a| a.conformance_tools = true).await
}

/// A 2026-07-28 request with `capabilities` and extra `_meta` entries: HTTP status, content type and
/// the raw body.
async fn send(
    h: &Harness,
    method: &str,
    mut params: Value,
    capabilities: Value,
    extra_meta: Value,
) -> (u16, String, String) {
    let mut meta = json!({
        "io.modelcontextprotocol/protocolVersion": "2026-07-28",
        "io.modelcontextprotocol/clientCapabilities": capabilities,
        "io.modelcontextprotocol/clientInfo": {"name": "conformance-tools-test", "version": "1"}
    });
    if let Value::Object(extra) = extra_meta {
        meta.as_object_mut().unwrap().extend(extra);
    }
    params["_meta"] = meta;
    let r = h
        .stateless_request(TOKEN, method, &params)
        .send()
        .await
        .unwrap();
    let status = r.status().as_u16();
    let ct = r
        .headers()
        .get("content-type")
        .map(|v| v.to_str().unwrap().to_string())
        .unwrap_or_default();
    (status, ct, r.text().await.unwrap())
}

async fn call(h: &Harness, tool: &str, args: Value, capabilities: Value) -> Value {
    let (_, _, body) = send(
        h,
        "tools/call",
        json!({"name": tool, "arguments": args}),
        capabilities,
        json!({}),
    )
    .await;
    parse_body(&body)
}

/// Every JSON-RPC message of a JSON or SSE body.
fn messages(body: &str) -> Vec<Value> {
    if let Ok(v) = serde_json::from_str::<Value>(body) {
        return vec![v];
    }
    body.lines()
        .filter_map(|l| l.strip_prefix("data:"))
        .filter_map(|d| serde_json::from_str::<Value>(d.trim()).ok())
        .collect()
}

fn log_levels(body: &str) -> Vec<String> {
    messages(body)
        .iter()
        .filter(|m| m["method"] == "notifications/message")
        .map(|m| m["params"]["level"].as_str().unwrap().to_string())
        .collect()
}

#[tokio::test]
async fn a_tool_needing_a_capability_the_client_did_not_declare_is_refused_with_32021() {
    let h = harness().await;
    let (status, _, body) = send(
        &h,
        "tools/call",
        json!({"name": "test_missing_capability", "arguments": {}}),
        json!({}),
        json!({}),
    )
    .await;
    let v = parse_body(&body);
    assert_eq!(status, 400, "{v}");
    assert_eq!(v["error"]["code"], -32021, "{v}");
    assert!(
        v["error"]["data"]["requiredCapabilities"]["sampling"].is_object(),
        "{v}"
    );
    // Declared: it runs.
    let v = call(
        &h,
        "test_missing_capability",
        json!({}),
        json!({"sampling": {}}),
    )
    .await;
    assert_eq!(v["result"]["isError"], false, "{v}");
    // An extension is required the same way.
    let v = call(&h, "failing_job", json!({}), json!({"sampling": {}})).await;
    assert_eq!(v["error"]["code"], -32021, "{v}");
    assert!(
        v["error"]["data"]["requiredCapabilities"]["extensions"][TASKS].is_object(),
        "{v}"
    );
    h.shutdown().await;
}

#[tokio::test]
async fn log_messages_go_out_only_at_or_above_the_level_the_request_asked_for() {
    let h = harness().await;
    let logging = |level: Option<&str>| {
        let extra = match level {
            Some(l) => json!({"io.modelcontextprotocol/logLevel": l}),
            None => json!({}),
        };
        send(
            &h,
            "tools/call",
            json!({"name": "test_logging_tool", "arguments": {}}),
            json!({}),
            extra,
        )
    };
    // No level: no log message, and a plain JSON answer.
    let (status, ct, body) = logging(None).await;
    assert_eq!(status, 200);
    assert!(ct.starts_with("application/json"), "{ct}: {body}");
    assert!(log_levels(&body).is_empty(), "{body}");
    assert_eq!(messages(&body).len(), 1, "{body}");
    let (_, _, body) = logging(Some("info")).await;
    assert_eq!(log_levels(&body), ["info"], "{body}");
    let (_, _, body) = logging(Some("debug")).await;
    assert_eq!(log_levels(&body), ["info", "debug"], "{body}");
    let (_, _, body) = logging(Some("error")).await;
    assert!(log_levels(&body).is_empty(), "{body}");
    let last = messages(&body).pop().unwrap();
    assert!(
        last["result"]["content"][0]["text"]
            .as_str()
            .unwrap()
            .contains("Sent 0 of 2"),
        "{last}"
    );
    h.shutdown().await;
}

/// A 2025-06-18 session kept as a record (no elicitation); its id.
async fn open_session(h: &Harness, capabilities: Value) -> String {
    let session = Mcp::session_declaring(
        h.http.clone(),
        &h.url,
        TOKEN,
        Duration::from_secs(10),
        capabilities,
    )
    .await;
    session.session_id().expect("a session").to_string()
}

async fn post_in(h: &Harness, id: &str, body: &Value) -> (u16, String) {
    let r = h.session_post(TOKEN, id, body).await;
    (r.status().as_u16(), r.text().await.unwrap())
}

#[tokio::test]
async fn a_session_gets_log_messages_from_the_level_it_set_on() {
    let h = Harness::start_with(fixture(), |a| {
        a.conformance_tools = true;
        a.sessions = true;
    })
    .await;
    let log_call = json!({"jsonrpc":"2.0","id":2,"method":"tools/call",
        "params":{"name":"test_logging_tool","arguments":{}}});
    let id = open_session(&h, json!({})).await;
    let (_, body) = post_in(&h, &id, &log_call).await;
    assert!(log_levels(&body).is_empty(), "no level set yet: {body}");
    let (status, body) = post_in(
        &h,
        &id,
        &json!({"jsonrpc":"2.0","id":3,"method":"logging/setLevel","params":{"level":"info"}}),
    )
    .await;
    assert_eq!(status, 200, "{body}");
    let (_, body) = post_in(&h, &id, &log_call).await;
    assert_eq!(log_levels(&body), ["info"], "{body}");
    // Another session did not set a level.
    let other = open_session(&h, json!({})).await;
    let (_, body) = post_in(&h, &other, &log_call).await;
    assert!(log_levels(&body).is_empty(), "{body}");
    // A session in rmcp's worker (it declared elicitation) keeps its level too.
    let worker = open_session(&h, json!({"elicitation": {}})).await;
    let (_, body) = post_in(&h, &worker, &log_call).await;
    assert!(log_levels(&body).is_empty(), "no level set yet: {body}");
    let (status, body) = post_in(
        &h,
        &worker,
        &json!({"jsonrpc":"2.0","id":3,"method":"logging/setLevel","params":{"level":"debug"}}),
    )
    .await;
    assert_eq!(status, 200, "{body}");
    // rmcp's worker sends notifications unrelated to a request on the session's GET stream.
    let stream = h
        .http
        .get(&h.url)
        .bearer_auth(TOKEN)
        .header("accept", "text/event-stream")
        .header("mcp-session-id", &worker)
        .header("mcp-protocol-version", "2025-06-18")
        .send()
        .await
        .unwrap();
    assert_eq!(stream.status(), 200);
    let (_, body) = post_in(&h, &worker, &log_call).await;
    assert!(body.contains("Sent 2 of 2"), "{body}");
    let logged = read_sse(stream, Duration::from_secs(5), |t| log_levels(t).len() >= 2).await;
    assert_eq!(log_levels(&logged), ["info", "debug"], "{logged}");
    h.shutdown().await;
}

async fn task_status(h: &Harness, id: &str) -> Value {
    let (_, _, body) = send(
        h,
        "tasks/get",
        json!({"taskId": id}),
        json!({"extensions": {TASKS: {}}}),
        json!({}),
    )
    .await;
    parse_body(&body)
}

/// Polls `tasks/get` until the task leaves `working` (at most 10 s).
async fn settled(h: &Harness, id: &str) -> Value {
    let started = Instant::now();
    loop {
        let v = task_status(h, id).await;
        if v["result"]["status"] != "working" {
            return v;
        }
        assert!(started.elapsed() < Duration::from_secs(10), "{v}");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

#[tokio::test]
async fn long_tools_become_tasks_at_once_and_others_never() {
    let h = harness().await;
    let tasks = json!({"extensions": {TASKS: {}}});
    let started = Instant::now();
    let v = call(&h, "slow_compute", json!({"seconds": 60}), tasks.clone()).await;
    assert!(
        started.elapsed() < Duration::from_secs(5),
        "answered at once"
    );
    assert_eq!(v["result"]["resultType"], "task", "{v}");
    let id = v["result"]["taskId"].as_str().unwrap().to_string();
    assert_eq!(task_status(&h, &id).await["result"]["status"], "working");
    let (_, _, body) = send(
        &h,
        "tasks/cancel",
        json!({"taskId": id}),
        tasks.clone(),
        json!({}),
    )
    .await;
    assert_eq!(
        parse_body(&body)["result"]["resultType"],
        "complete",
        "{body}"
    );
    assert_eq!(settled(&h, &id).await["result"]["status"], "cancelled");

    // Without the extension the same tool answers inline.
    let v = call(
        &h,
        "slow_compute",
        json!({"seconds": 0, "label": "x"}),
        json!({}),
    )
    .await;
    assert_eq!(v["result"]["resultType"], "complete", "{v}");
    assert!(
        v["result"]["content"][0]["text"]
            .as_str()
            .unwrap()
            .contains("Computed x in 0 s"),
        "{v}"
    );
    // `greet` is never a task.
    let v = call(&h, "greet", json!({"name": "Ada"}), tasks.clone()).await;
    assert_eq!(v["result"]["resultType"], "complete", "{v}");
    assert_eq!(v["result"]["content"][0]["text"], "Hello, Ada!", "{v}");

    // A call that breaks inside the server (it panics) settles its task as `failed`, with a
    // JSON-RPC error and no result; inline it is answered with that error, and the server lives on.
    let v = call(&h, "protocol_error_job", json!({}), tasks.clone()).await;
    let id = v["result"]["taskId"].as_str().unwrap().to_string();
    let done = settled(&h, &id).await;
    assert_eq!(done["result"]["status"], "failed", "{done}");
    assert_eq!(done["result"]["error"]["code"], -32603, "{done}");
    assert!(done["result"].get("result").is_none(), "{done}");
    let v = call(&h, "protocol_error_job", json!({}), json!({})).await;
    assert_eq!(v["error"]["code"], -32603, "{v}");
    let v = call(&h, "greet", json!({"name": "again"}), json!({})).await;
    assert_eq!(v["result"]["content"][0]["text"], "Hello, again!", "{v}");

    // A tool error ends the task as `completed`, with the isError result inlined.
    let v = call(&h, "failing_job", json!({}), tasks.clone()).await;
    let id = v["result"]["taskId"].as_str().unwrap().to_string();
    let done = settled(&h, &id).await;
    assert_eq!(done["result"]["status"], "completed", "{done}");
    assert_eq!(done["result"]["result"]["isError"], true, "{done}");
    h.shutdown().await;
}

#[tokio::test]
async fn a_tool_that_asks_first_answers_input_required_then_runs_when_confirmed() {
    let h = harness().await;
    let caps = json!({"elicitation": {}});
    let v = call(&h, "test_streaming_elicitation", json!({}), caps.clone()).await;
    let r = &v["result"];
    assert_eq!(r["resultType"], "input_required", "{v}");
    assert_eq!(
        r["inputRequests"]["confirm"]["method"], "elicitation/create",
        "{v}"
    );
    let state = r["requestState"].as_str().unwrap().to_string();
    let (_, _, body) = send(
        &h,
        "tools/call",
        json!({"name": "test_streaming_elicitation", "arguments": {},
            "requestState": state,
            "inputResponses": {"confirm": {"action": "accept", "content": {"confirm": true}}}}),
        caps.clone(),
        json!({}),
    )
    .await;
    let v = parse_body(&body);
    assert_eq!(v["result"]["resultType"], "complete", "{v}");
    assert!(
        v["result"]["content"][0]["text"]
            .as_str()
            .unwrap()
            .starts_with("Confirmed"),
        "{v}"
    );
    // Without elicitation it cannot ask, so it is refused.
    let v = call(&h, "test_streaming_elicitation", json!({}), json!({})).await;
    assert_eq!(v["error"]["code"], -32021, "{v}");
    h.shutdown().await;
}

/// Reads SSE text from `resp` until `done` holds for it or `wait` passes.
async fn read_sse(
    mut resp: reqwest::Response,
    wait: Duration,
    done: impl Fn(&str) -> bool,
) -> String {
    let mut text = String::new();
    let until = Instant::now() + wait;
    while !done(&text) {
        let left = until.saturating_duration_since(Instant::now());
        match tokio::time::timeout(left, resp.chunk()).await {
            Ok(Ok(Some(bytes))) => text.push_str(&String::from_utf8_lossy(&bytes)),
            _ => break,
        }
    }
    text
}

#[tokio::test]
async fn a_session_stream_closed_mid_call_is_resumed_with_last_event_id() {
    let h = Harness::start_with(fixture(), |a| {
        a.conformance_tools = true;
        a.sessions = true;
    })
    .await;
    // Elicitation: the session gets rmcp's worker, which keeps what a client missed.
    let id = open_session(&h, json!({"elicitation": {}})).await;
    let r = h
        .mcp_request(TOKEN)
        .header("mcp-session-id", &id)
        .header("mcp-protocol-version", "2025-06-18")
        .body(
            json!({"jsonrpc":"2.0","id":5,"method":"tools/call",
                "params":{"name":"test_reconnection","arguments":{}}})
            .to_string(),
        )
        .send()
        .await
        .unwrap();
    assert!(
        r.headers()["content-type"]
            .to_str()
            .unwrap()
            .starts_with("text/event-stream")
    );
    // The stream ends (closed by the call) before the result.
    let first = read_sse(r, Duration::from_secs(5), |_| false).await;
    assert!(
        !messages(&first).iter().any(|m| m["id"] == 5),
        "no result on the closed stream: {first}"
    );
    let last_id = first
        .lines()
        .rev()
        .find_map(|l| l.strip_prefix("id:"))
        .map(|s| s.trim().to_string())
        .expect("the stream carried an event id");
    let resumed = h
        .http
        .get(&h.url)
        .bearer_auth(TOKEN)
        .header("accept", "text/event-stream")
        .header("mcp-session-id", &id)
        .header("mcp-protocol-version", "2025-06-18")
        .header("last-event-id", &last_id)
        .send()
        .await
        .unwrap();
    assert_eq!(resumed.status(), 200);
    let rest = read_sse(resumed, Duration::from_secs(5), |t| {
        messages(t).iter().any(|m| m["id"] == 5)
    })
    .await;
    let result = messages(&rest).into_iter().find(|m| m["id"] == 5);
    let result = result.unwrap_or_else(|| panic!("the result after resuming: {rest}"));
    assert_eq!(result["result"]["isError"], false, "{result}");
    h.shutdown().await;
}

#[tokio::test]
async fn without_the_flag_there_are_no_conformance_tools_and_serve_has_no_such_flag() {
    let h = Harness::start_with(fixture(), |_| {}).await;
    let (_, _, body) = send(&h, "tools/list", json!({}), json!({}), json!({})).await;
    let v = parse_body(&body);
    let names: Vec<&str> = v["result"]["tools"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| t["name"].as_str().unwrap())
        .collect();
    assert!(names.contains(&"search"), "{names:?}");
    for tool in [
        "greet",
        "slow_compute",
        "test_logging_tool",
        "test_reconnection",
    ] {
        assert!(!names.contains(&tool), "{tool} listed: {names:?}");
    }
    h.shutdown().await;
    use notion_mcp_remote::config::Cli;
    assert!(Cli::try_parse_from(["notion-mcp-remote", "serve", "--conformance-tools"]).is_err());
    assert!(Cli::try_parse_from(["notion-mcp-remote", "demo", "--conformance-tools"]).is_ok());
}
