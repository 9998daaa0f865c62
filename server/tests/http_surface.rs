//! The HTTP surface: health, metrics, authentication, Host/Origin checks, body limits, JSON-RPC errors.
#![allow(clippy::unwrap_used)]

mod common;

use common::{Harness, test_args};
use notion_fake::Fixture;
use serde_json::{Value, json};

const TOKEN: &str = "ntn_demo_acme";

async fn harness() -> Harness {
    Harness::start_with(Fixture::sample(), |a| {
        a.auth_mode = notion_mcp_remote::config::AuthMode::NotionToken
    })
    .await
}

#[tokio::test]
async fn health_ready_and_metrics() {
    let h = harness().await;
    let r = h
        .http
        .get(format!("{}/healthz", h.base))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    let r = h
        .http
        .get(format!("{}/readyz", h.base))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    h.text(TOKEN, "search", json!({"query": ""})).await;
    let m = h.metrics().await;
    assert!(
        m.contains("notion_mcp_tool_calls_total{outcome=\"ok\",tool=\"search\"} 1"),
        "{m}"
    );
    assert!(m.contains("notion_mcp_notion_requests_total"), "{m}");
    assert!(
        m.contains("notion_mcp_http_requests_total{route=\"/mcp\",status=\"200\"}"),
        "{m}"
    );
    h.shutdown().await;
}

#[tokio::test]
async fn missing_or_foreign_bearer_is_401_with_challenge() {
    let h = harness().await;
    let body = json!({"jsonrpc":"2.0","id":1,"method":"tools/list"});
    for token in [None, Some("eyJhbGciOiJIUzI1NiJ9.x.y")] {
        let mut req = h
            .http
            .post(&h.url)
            .header("content-type", "application/json")
            .body(body.to_string());
        if let Some(t) = token {
            req = req.bearer_auth(t);
        }
        let r = req.send().await.unwrap();
        assert_eq!(r.status(), 401);
        assert!(
            r.headers()["www-authenticate"]
                .to_str()
                .unwrap()
                .starts_with("Bearer ")
        );
        let v: Value = r.json().await.unwrap();
        assert_eq!(v["error"], "invalid_token");
    }
    h.shutdown().await;
}

#[tokio::test]
async fn invalid_notion_token_is_a_tool_error_not_a_crash() {
    let h = harness().await;
    let r = h
        .call("ntn_not_a_real_token_123", "search", json!({}))
        .await;
    assert_eq!(r["isError"], true);
    assert_eq!(r["structuredContent"]["error"]["code"], "unauthorized");
    assert!(
        !r.to_string().contains("ntn_not_a_real_token_123"),
        "token leaked: {r}"
    );
    h.shutdown().await;
}

#[tokio::test]
async fn wrong_host_and_origin_are_refused() {
    let h = harness().await;
    let body = json!({"jsonrpc":"2.0","id":1,"method":"ping"}).to_string();
    let send = |host: Option<&str>, origin: Option<&str>| {
        let mut req = h.mcp_request(TOKEN).body(body.clone());
        if let Some(v) = host {
            req = req.header("host", v);
        }
        if let Some(v) = origin {
            req = req.header("origin", v);
        }
        req.send()
    };
    assert_eq!(
        send(Some("evil.example"), None).await.unwrap().status(),
        403
    );
    assert_eq!(
        send(None, Some("https://evil.example"))
            .await
            .unwrap()
            .status(),
        403
    );
    let ok_origin = h.base.replace("127.0.0.1", "localhost");
    assert_eq!(
        send(Some("localhost"), Some(&ok_origin))
            .await
            .unwrap()
            .status(),
        200
    );
    h.shutdown().await;
}

#[tokio::test]
async fn forwarded_host_is_honoured_only_when_trusted() {
    let mut cases = Vec::new();
    for trusted in [false, true] {
        let h = Harness::start_with(Fixture::sample(), |a| {
            a.public_url = Some("https://notion.example.ts.net".parse().unwrap());
            a.trust_forwarded_headers = trusted;
        })
        .await;
        let r = h
            .mcp_request(TOKEN)
            .header("x-forwarded-host", "notion.example.ts.net")
            .header("x-forwarded-proto", "https")
            .body(json!({"jsonrpc":"2.0","id":1,"method":"ping"}).to_string())
            .send()
            .await
            .unwrap();
        cases.push(r.status().as_u16());
        h.shutdown().await;
    }
    // Host is 127.0.0.1:port, not the public host: refused unless the proxy is trusted.
    assert_eq!(cases, vec![403, 200]);
}

#[tokio::test]
async fn oversized_body_is_413_with_json() {
    let h = Harness::start_with(Fixture::sample(), |a| a.max_body_bytes = 64 * 1024).await;
    let big = "x".repeat(100 * 1024);
    let body = json!({"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"search","arguments":{"query": big}}});
    let r = h
        .http
        .post(&h.url)
        .bearer_auth(TOKEN)
        .header("content-type", "application/json")
        .body(body.to_string())
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 413);
    let v: Value = r.json().await.unwrap();
    assert_eq!(v["error"], "request_too_large");
    assert!(v["error_description"].as_str().unwrap().contains("65536"));
    h.shutdown().await;
}

#[tokio::test]
async fn malformed_json_and_batches_get_jsonrpc_errors() {
    let h = harness().await;
    let send = |body: &'static str| {
        h.http
            .post(&h.url)
            .bearer_auth(TOKEN)
            .header("content-type", "application/json")
            .body(body)
            .send()
    };
    let r = send("{\"jsonrpc\": \"2.0\", \"id\": 1, \"method\": ")
        .await
        .unwrap();
    assert_eq!(r.status(), 400);
    let v: Value = r.json().await.unwrap();
    assert_eq!(v["error"]["code"], -32700);
    let r = send("[{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"ping\"}]")
        .await
        .unwrap();
    assert_eq!(r.status(), 400);
    let v: Value = r.json().await.unwrap();
    assert_eq!(v["error"]["code"], -32600);
    h.shutdown().await;
}

#[tokio::test]
async fn unknown_method_and_unknown_tool_are_jsonrpc_errors() {
    let h = harness().await;
    let v = h.rpc(Some(TOKEN), "no/such/method", json!({})).await;
    assert_eq!(v["error"]["code"], -32601, "{v}");
    let v = h
        .rpc(
            Some(TOKEN),
            "tools/call",
            json!({"name": "no_such_tool", "arguments": {}}),
        )
        .await;
    assert_eq!(v["error"]["code"], -32602, "{v}");
    assert!(
        v["error"]["message"]
            .as_str()
            .unwrap()
            .contains("no_such_tool")
    );
    h.shutdown().await;
}

#[tokio::test]
async fn wrong_argument_types_name_the_field() {
    let h = harness().await;
    let r = h.call(TOKEN, "search", json!({"limit": "many"})).await;
    assert_eq!(r["isError"], true, "{r}");
    assert_eq!(r["structuredContent"]["error"]["field"], "limit");
    let r = h.call(TOKEN, "fetch", json!({"id": "not-an-id"})).await;
    assert_eq!(r["isError"], true);
    assert_eq!(r["structuredContent"]["error"]["field"], "id");
    let r = h
        .call(
            TOKEN,
            "query_data_source",
            json!({"id": "0123456789abcdef0123456789abcdef", "sorts": [{"property": 1}]}),
        )
        .await;
    assert_eq!(r["isError"], true);
    assert!(
        r["structuredContent"]["error"]["field"]
            .as_str()
            .unwrap()
            .starts_with("sorts"),
        "{r}"
    );
    h.shutdown().await;
}

#[tokio::test]
async fn protocol_version_quirks_are_tolerated() {
    let h = harness().await;
    for version in ["2025-06-18", "2025-11-25", "2026-07-28", "garbage"] {
        let r = h
            .mcp_request(TOKEN)
            .header("mcp-protocol-version", version)
            .body(json!({"jsonrpc":"2.0","id":1,"method":"tools/list"}).to_string())
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 200, "header {version}");
    }
    // initialize with any supported version answers with a session-less result.
    for v in ["2025-06-18", "2025-11-25"] {
        let (status, body) = h
            .post(Some(TOKEN), &json!({"jsonrpc":"2.0","id":1,"method":"initialize","params":{
                "protocolVersion": v, "capabilities": {}, "clientInfo": {"name":"t","version":"1"}}}))
            .await;
        assert_eq!(status, 200);
        assert_eq!(body["result"]["protocolVersion"], v);
        assert_eq!(body["result"]["serverInfo"]["name"], "notion-mcp-remote");
    }
    h.shutdown().await;
}

#[tokio::test]
async fn sessions_mode_serves_session_and_sessionless_clients() {
    let h = Harness::start_with(Fixture::sample(), |a| a.sessions = true).await;
    let init = json!({"jsonrpc":"2.0","id":1,"method":"initialize","params":{
        "protocolVersion": "2025-11-25", "capabilities": {}, "clientInfo": {"name":"t","version":"1"}}});
    let r = h
        .mcp_request(TOKEN)
        .body(init.to_string())
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    assert!(
        r.headers().get("mcp-session-id").is_some(),
        "a session is offered"
    );
    // A client that drops the session id is still served.
    let v = h.rpc(Some(TOKEN), "tools/list", json!({})).await;
    assert!(v["result"]["tools"].as_array().unwrap().len() >= 13);
    // An unknown session id is served statelessly rather than failing.
    let r = h
        .mcp_request(TOKEN)
        .header("mcp-session-id", "stale-session")
        .body(json!({"jsonrpc":"2.0","id":2,"method":"ping"}).to_string())
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    h.shutdown().await;
}

#[tokio::test]
async fn tools_list_is_compact_and_annotated() {
    let h = harness().await;
    let (_, v) = h
        .post(
            Some(TOKEN),
            &json!({"jsonrpc":"2.0","id":1,"method":"tools/list"}),
        )
        .await;
    let tools = v["result"]["tools"].as_array().unwrap();
    assert!(tools.len() >= 13, "{}", tools.len());
    for t in tools {
        assert!(t["title"].is_string(), "{t}");
        assert!(t["annotations"]["readOnlyHint"].is_boolean(), "{t}");
        assert!(t["description"].as_str().unwrap().len() < 400, "{t}");
    }
    let bytes = v["result"].to_string().len();
    println!("tools/list: {bytes} bytes, {} tools", tools.len());
    // The official npm server's list is 76,265 bytes for 24 tools; stay well under a quarter of it.
    assert!(bytes < 19_000, "tools/list is {bytes} bytes");
    let _ = test_args();
    h.shutdown().await;
}

#[tokio::test]
async fn shutdown_drains_in_flight_calls() {
    let h = harness().await;
    let mut slow = notion_fake::FaultRule::new(notion_fake::Fault::Delay(
        std::time::Duration::from_millis(700),
    ));
    slow.path_prefix = Some("/v1/users/me".into());
    h.fake().push_fault(slow);
    let (result, ()) = tokio::join!(h.call(TOKEN, "get_self", json!({})), async {
        tokio::time::sleep(std::time::Duration::from_millis(200)).await;
        h.begin_shutdown();
    });
    assert_ne!(
        result["isError"], true,
        "the in-flight call finished: {result}"
    );
    assert!(common::result_text(&result).contains("Acme Demo"));
    // After the drain the listener is closed.
    tokio::time::sleep(std::time::Duration::from_millis(300)).await;
    assert!(
        h.http
            .get(format!("{}/healthz", h.base))
            .send()
            .await
            .is_err(),
        "no new connections after shutdown"
    );
    h.shutdown().await;
}

#[tokio::test]
async fn stateless_2026_07_28_requests_are_served() {
    let h = harness().await;
    let meta = json!({
        "io.modelcontextprotocol/protocolVersion": "2026-07-28",
        "io.modelcontextprotocol/clientCapabilities": {},
        "io.modelcontextprotocol/clientInfo": {"name": "t", "version": "1"}
    });
    let send = |method: &'static str, name: Option<&'static str>, params: Value| {
        let mut req = h
            .mcp_request(TOKEN)
            .header("mcp-protocol-version", "2026-07-28")
            .header("mcp-method", method)
            .body(json!({"jsonrpc":"2.0","id":7,"method":method,"params":params}).to_string());
        if let Some(n) = name {
            req = req.header("mcp-name", n);
        }
        req.send()
    };
    let r = send("server/discover", None, json!({"_meta": meta}))
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    let v = common::parse_body(&r.text().await.unwrap());
    let versions = v["result"]["supportedVersions"].to_string();
    assert!(
        versions.contains("2026-07-28") && versions.contains("2025-06-18"),
        "{v}"
    );
    let r = send(
        "tools/call",
        Some("get_self"),
        json!({"name": "get_self", "arguments": {}, "_meta": meta}),
    )
    .await
    .unwrap();
    assert_eq!(r.status(), 200);
    let v = common::parse_body(&r.text().await.unwrap());
    assert!(
        common::result_text(&v["result"]).contains("Acme Demo"),
        "{v}"
    );
    h.shutdown().await;
}
