//! MCP sessions over HTTP (`--sessions`): the lifecycle of a session kept as a record (initialize,
//! requests, GET stream, DELETE, 404 afterwards), and a client that declares elicitation getting
//! rmcp's session worker instead.
#![allow(clippy::unwrap_used)]

mod common;

use common::{Harness, parse_body};
use notion_fake::Fixture;
use serde_json::{Value, json};
use std::time::Duration;

const TOKEN: &str = "ntn_demo_acme";

fn initialize(capabilities: Value) -> Value {
    json!({"jsonrpc":"2.0","id":1,"method":"initialize","params":{
        "protocolVersion":"2025-06-18","capabilities":capabilities,
        "clientInfo":{"name":"sessions-test","version":"1"}}})
}

/// Initializes; the session id and the answer's content type.
async fn open(h: &Harness, capabilities: Value) -> (String, String) {
    let r = h
        .mcp_request(TOKEN)
        .body(initialize(capabilities).to_string())
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    let id = r.headers()["mcp-session-id"].to_str().unwrap().to_string();
    let ct = r.headers()["content-type"].to_str().unwrap().to_string();
    let v = parse_body(&r.text().await.unwrap());
    assert_eq!(v["result"]["protocolVersion"], "2025-06-18", "{v}");
    (id, ct)
}

async fn post_in(h: &Harness, id: &str, body: &Value) -> (u16, Value) {
    let r = h.session_post(TOKEN, id, body).await;
    let status = r.status().as_u16();
    (status, parse_body(&r.text().await.unwrap()))
}

fn get_stream(h: &Harness, id: &str) -> reqwest::RequestBuilder {
    h.http
        .get(&h.url)
        .bearer_auth(TOKEN)
        .header("mcp-session-id", id)
        .header("mcp-protocol-version", "2025-06-18")
}

async fn delete(h: &Harness, id: &str) -> u16 {
    h.http
        .delete(&h.url)
        .bearer_auth(TOKEN)
        .header("mcp-session-id", id)
        .send()
        .await
        .unwrap()
        .status()
        .as_u16()
}

#[tokio::test]
async fn a_session_lives_from_initialize_to_delete() {
    let h = Harness::start_with(Fixture::sample(), |a| a.sessions = true).await;
    let (id, ct) = open(&h, json!({"roots": {"listChanged": true}})).await;
    assert!(
        ct.starts_with("application/json"),
        "answered directly: {ct}"
    );
    assert!(
        id.len() == 32 && id.bytes().all(|b| b.is_ascii_hexdigit()),
        "{id}"
    );

    let note = json!({"jsonrpc":"2.0","method":"notifications/initialized"});
    assert_eq!(post_in(&h, &id, &note).await.0, 202);
    let (status, v) = post_in(
        &h,
        &id,
        &json!({"jsonrpc":"2.0","id":2,"method":"tools/list"}),
    )
    .await;
    assert_eq!(status, 200);
    assert!(v["result"]["tools"].as_array().unwrap().len() >= 13, "{v}");
    let set_level =
        json!({"jsonrpc":"2.0","id":3,"method":"logging/setLevel","params":{"level":"warning"}});
    let (status, v) = post_in(&h, &id, &set_level).await;
    assert_eq!((status, &v["result"]), (200, &json!({})), "{v}");
    // A tool call in the session, without a protocol header (the session's version applies).
    let r = h
        .mcp_request(TOKEN)
        .header("mcp-session-id", &id)
        .body(json!({"jsonrpc":"2.0","id":4,"method":"tools/call","params":{"name":"get_self","arguments":{}}}).to_string())
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    let v = parse_body(&r.text().await.unwrap());
    assert!(
        common::result_text(&v["result"]).contains("Acme Demo"),
        "{v}"
    );

    // A GET stream must accept SSE; it opens with a priming event and stays open.
    let r = get_stream(&h, &id).send().await.unwrap();
    assert_eq!(r.status(), 406, "no Accept: text/event-stream");
    let mut stream = get_stream(&h, &id)
        .header("accept", "text/event-stream")
        .send()
        .await
        .unwrap();
    assert_eq!(stream.status(), 200);
    assert!(
        stream.headers()["content-type"]
            .to_str()
            .unwrap()
            .starts_with("text/event-stream")
    );
    let first = tokio::time::timeout(Duration::from_secs(5), stream.chunk())
        .await
        .expect("priming event in time")
        .unwrap()
        .expect("a first event");
    let first = String::from_utf8_lossy(&first).to_string();
    assert!(
        first.contains("id: 0") || first.contains("id:0"),
        "{first:?}"
    );
    // Resuming finds nothing missed: an empty stream.
    let r = get_stream(&h, &id)
        .header("accept", "text/event-stream")
        .header("last-event-id", "0")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    assert_eq!(r.text().await.unwrap(), "");

    // DELETE ends the session and its stream; the id is then answered 404.
    assert_eq!(delete(&h, &id).await, 202);
    let ended = tokio::time::timeout(Duration::from_secs(5), async {
        while let Ok(Some(_)) = stream.chunk().await {}
    })
    .await;
    assert!(ended.is_ok(), "the GET stream ends with its session");
    let (status, v) = post_in(&h, &id, &json!({"jsonrpc":"2.0","id":5,"method":"ping"})).await;
    assert_eq!(status, 404, "{v}");
    let r = get_stream(&h, &id)
        .header("accept", "text/event-stream")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 404);
    h.shutdown().await;
}

#[tokio::test]
async fn unknown_ids_are_served_statelessly_or_not_found() {
    let h = Harness::start_with(Fixture::sample(), |a| a.sessions = true).await;
    let unknown = "0123456789abcdef0123456789abcdef";
    let (status, v) = post_in(
        &h,
        unknown,
        &json!({"jsonrpc":"2.0","id":1,"method":"ping"}),
    )
    .await;
    assert_eq!((status, &v["result"]), (200, &json!({})), "{v}");
    let r = get_stream(&h, unknown)
        .header("accept", "text/event-stream")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 404);
    // rmcp accepts DELETE of a session it does not hold; the id then counts as ended by its client.
    assert_eq!(delete(&h, unknown).await, 202);
    let (status, _) = post_in(
        &h,
        unknown,
        &json!({"jsonrpc":"2.0","id":2,"method":"ping"}),
    )
    .await;
    assert_eq!(status, 404);
    h.shutdown().await;
}

#[tokio::test]
async fn a_client_that_declares_elicitation_gets_a_session_worker() {
    let h = Harness::start_with(Fixture::sample(), |a| a.sessions = true).await;
    let (id, ct) = open(&h, json!({"elicitation": {}})).await;
    // rmcp's worker answers over SSE and names sessions by UUID.
    assert!(ct.starts_with("text/event-stream"), "{ct}");
    assert_eq!(id.len(), 36, "{id}");
    let note = json!({"jsonrpc":"2.0","method":"notifications/initialized"});
    assert_eq!(post_in(&h, &id, &note).await.0, 202);
    let (status, v) = post_in(&h, &id, &json!({"jsonrpc":"2.0","id":2,"method":"ping"})).await;
    assert_eq!((status, &v["result"]), (200, &json!({})), "{v}");
    assert!(
        (200..300).contains(&delete(&h, &id).await),
        "DELETE accepted"
    );
    let (status, _) = post_in(&h, &id, &json!({"jsonrpc":"2.0","id":3,"method":"ping"})).await;
    assert_eq!(status, 404);
    h.shutdown().await;
}
