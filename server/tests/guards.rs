//! Guards around tool calls: the per-caller rate limit, the circuit breaker in front of Notion, tool
//! access by principal (API keys: read-only scope and tool lists) and the audit line of each call.
#![allow(clippy::unwrap_used)]

mod common;

use axum::Router;
use axum::body::{Body, to_bytes};
use axum::extract::{Request, State};
use axum::middleware::{Next, from_fn, from_fn_with_state};
use axum::response::{IntoResponse, Response};
use axum::routing::any;
use common::{Harness, parse_body};
use http::StatusCode;
use notion_fake::{FakeNotion, Fault, FaultRule, Fixture, RunningFake};
use notion_mcp_remote::auth::api_keys::{self, ApiKeys};
use notion_mcp_remote::auth::{Principal, PrincipalKind};
use notion_mcp_remote::mcp::transport::{self, McpEndpoint};
use notion_mcp_remote::mcp::{self, Limits, Shared};
use notion_mcp_remote::metrics::Metrics;
use notion_mcp_remote::notion::{
    BreakerConfig, ClientConfig, NotionAuth, NotionClient, NotionRequest, NotionVersion,
    PacingConfig, RetryPolicy,
};
use notion_mcp_remote::web::{CallerRateLimit, McpGuard, RateLimitConfig, mcp_guard, rate_limit};
use serde_json::{Value, json};
use std::sync::{Arc, Mutex, OnceLock};
use std::time::Duration;
use tokio_util::sync::CancellationToken;
use tower::ServiceExt;

const TOKEN: &str = "ntn_demo_acme";
const GUARD: McpGuard = McpGuard {
    max_body_bytes: 1 << 20,
};

fn rpc(method: &str, params: Value) -> String {
    json!({"jsonrpc": "2.0", "id": 1, "method": method, "params": params}).to_string()
}

fn post() -> http::request::Builder {
    Request::post("/mcp")
        .header("host", "localhost")
        .header("content-type", "application/json")
        .header("accept", "application/json, text/event-stream")
}

async fn send(router: &Router, req: http::Request<Body>) -> (StatusCode, http::HeaderMap, Value) {
    let resp = router.clone().oneshot(req).await.unwrap();
    let (parts, body) = resp.into_parts();
    let bytes = to_bytes(body, usize::MAX).await.unwrap();
    let text = String::from_utf8_lossy(&bytes);
    (parts.status, parts.headers, parse_body(&text))
}

// ------------------------------------------------------------------------------- rate limiting

/// Stands in for authentication: the `x-caller` header names the principal.
async fn caller_from_header(mut req: Request, next: Next) -> Response {
    if let Some(subject) = req.headers().get("x-caller").and_then(|v| v.to_str().ok()) {
        let p = Principal::new(
            PrincipalKind::ApiKey,
            subject,
            NotionAuth::new(TOKEN, NotionVersion::default()),
        );
        req.extensions_mut().insert(p);
    }
    next.run(req).await
}

#[tokio::test]
async fn rate_limit_refuses_tool_calls_over_budget_and_lets_the_rest_through() {
    let metrics = Metrics::new();
    let limit = CallerRateLimit::new(
        RateLimitConfig {
            per_minute: 60,
            burst: 2,
        },
        metrics.clone(),
    );
    let router = Router::new()
        .route("/mcp", any(|| async { "passed" }))
        .layer(from_fn_with_state(limit, rate_limit))
        .layer(from_fn(caller_from_header))
        .layer(from_fn_with_state(GUARD, mcp_guard));
    let call = |caller: &str| {
        let body = rpc("tools/call", json!({"name": "search", "arguments": {}}));
        post()
            .header("x-caller", caller)
            .body(Body::from(body))
            .unwrap()
    };
    for _ in 0..2 {
        assert_eq!(send(&router, call("a")).await.0, StatusCode::OK);
    }
    // Over the budget, a tool call is answered in JSON-RPC with a tool error the model can act on,
    // not with an HTTP error a client shows as a broken connection.
    let (status, headers, body) = send(&router, call("a")).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert!(headers.get("retry-after").is_none());
    assert_eq!(body["jsonrpc"], "2.0");
    assert_eq!(body["id"], 1);
    assert_eq!(body["result"]["isError"], true, "{body}");
    let error = &body["result"]["structuredContent"]["error"];
    assert_eq!(error["code"], "rate_limited");
    assert_eq!(error["retry_after_seconds"], 1);
    let text = body["result"]["content"][0]["text"].as_str().unwrap();
    assert!(
        text.contains("this server's per-caller limit")
            && text.contains("60 tool calls per minute for this caller")
            && text.contains("wait 1 s")
            && text.contains("not a Notion rate limit"),
        "{text}"
    );

    // A tool call without a request id cannot be answered in JSON-RPC: HTTP 429 with Retry-After.
    let no_id = json!({"jsonrpc": "2.0", "method": "tools/call", "params": {"name": "search"}});
    let req = post()
        .header("x-caller", "a")
        .body(Body::from(no_id.to_string()))
        .unwrap();
    let (status, headers, body) = send(&router, req).await;
    assert_eq!(status, StatusCode::TOO_MANY_REQUESTS);
    assert_eq!(headers["retry-after"], "1");
    assert_eq!(body["error"], "rate_limited");
    assert_eq!(body["retry_after_seconds"], 1);

    // Other messages of the same caller, and other callers, are not limited.
    for method in ["tools/list", "initialize", "ping", "resources/list"] {
        let body = rpc(method, json!({}));
        let req = post()
            .header("x-caller", "a")
            .body(Body::from(body))
            .unwrap();
        assert_eq!(send(&router, req).await.0, StatusCode::OK, "{method}");
    }
    let get = Request::get("/mcp")
        .header("x-caller", "a")
        .body(Body::empty())
        .unwrap();
    assert_eq!(send(&router, get).await.0, StatusCode::OK);
    assert_eq!(send(&router, call("b")).await.0, StatusCode::OK);
    assert!(
        metrics
            .render()
            .contains("notion_mcp_rate_limited_total{kind=\"api-key\"} 2")
    );

    // The bucket refills: one call a second.
    tokio::time::sleep(Duration::from_millis(1_050)).await;
    assert_eq!(send(&router, call("a")).await.0, StatusCode::OK);
}

// ----------------------------------------------------------------------------- circuit breaker

fn breaker_client(fake: &RunningFake, breaker: BreakerConfig) -> (NotionClient, Metrics) {
    let metrics = Metrics::new();
    let cfg = ClientConfig {
        base_url: fake.base_url.parse().unwrap(),
        attempt_timeout: Duration::from_secs(5),
        pacing: PacingConfig {
            enabled: false,
            ..Default::default()
        },
        retry: RetryPolicy::none(),
        breaker,
        ..Default::default()
    };
    (NotionClient::new(cfg, metrics.clone()).unwrap(), metrics)
}

fn me() -> NotionRequest {
    NotionRequest::get("GET /v1/users/me", "/v1/users/me")
}

#[tokio::test]
async fn breaker_fails_fast_without_calling_notion_then_recovers() {
    let fake = FakeNotion::start(Fixture::sample()).await.unwrap();
    let (client, metrics) = breaker_client(
        &fake,
        BreakerConfig {
            failures: 4,
            window: Duration::from_secs(60),
            open_for: Duration::from_millis(600),
        },
    );
    let auth = NotionAuth::new(TOKEN, NotionVersion::default());
    assert!(client.send(&auth, me()).await.is_ok());

    // Caller mistakes (404) are Notion answering: they never open the breaker.
    fake.fake.push_fault(
        FaultRule::new(Fault::Status {
            status: 404,
            code: String::new(),
            retry_after: None,
        })
        .times(10),
    );
    for _ in 0..10 {
        assert_eq!(
            client.send(&auth, me()).await.unwrap_err().status(),
            Some(404)
        );
    }

    // Outages do: 503s and dropped connections, four in a row.
    fake.fake.push_fault(
        FaultRule::new(Fault::Status {
            status: 503,
            code: "service_unavailable".into(),
            retry_after: None,
        })
        .times(2),
    );
    fake.fake.push_fault(FaultRule::new(Fault::DropConnection));
    for _ in 0..4 {
        let e = client.send(&auth, me()).await.unwrap_err();
        assert_ne!(e.code(), "upstream_unavailable", "{e}");
    }
    let reached = fake.fake.requests().len();
    for _ in 0..5 {
        let e = client.send(&auth, me()).await.unwrap_err();
        assert_eq!(e.code(), "upstream_unavailable");
        assert_eq!(e.retry_after_seconds(), Some(1));
        assert!(
            e.to_string()
                .starts_with("Notion is failing (4 consecutive errors); not calling it for"),
            "{e}"
        );
    }
    assert_eq!(
        fake.fake.requests().len(),
        reached,
        "open breaker called Notion"
    );
    assert!(
        metrics
            .render()
            .contains("notion_mcp_notion_circuit_open 1")
    );

    // After the cooldown one probe goes through; its success closes the breaker.
    fake.fake.clear_faults();
    tokio::time::sleep(Duration::from_millis(700)).await;
    assert!(client.send(&auth, me()).await.is_ok());
    assert!(client.send(&auth, me()).await.is_ok());
    assert_eq!(fake.fake.requests().len(), reached + 2);
    assert!(
        metrics
            .render()
            .contains("notion_mcp_notion_circuit_open 0")
    );
    fake.shutdown().await;
}

#[tokio::test]
async fn open_breaker_is_a_tool_error_with_retry_after() {
    let h = Harness::start_with(Fixture::sample(), |a| a.retry_max = 0).await;
    h.fake().push_fault(
        FaultRule::new(Fault::Status {
            status: 502,
            code: "bad_gateway".into(),
            retry_after: None,
        })
        .path_prefix("/v1/users/me"),
    );
    // The default threshold: ten consecutive failures.
    for _ in 0..10 {
        let r = h.call(TOKEN, "get_self", json!({})).await;
        assert_eq!(
            r["structuredContent"]["error"]["code"], "bad_gateway",
            "{r}"
        );
    }
    let reached = h.fake().requests().len();
    let r = h.call(TOKEN, "get_self", json!({})).await;
    assert_eq!(r["isError"], true);
    let error = &r["structuredContent"]["error"];
    assert_eq!(error["code"], "upstream_unavailable", "{r}");
    assert!(error["retry_after_seconds"].as_u64().unwrap() >= 29, "{r}");
    assert!(
        common::result_text(&r).contains("Notion is failing (10 consecutive errors)"),
        "{r}"
    );
    assert_eq!(h.fake().requests().len(), reached);
    h.shutdown().await;
}

// -------------------------------------------------------------------- tool access and auditing

/// Collects what the global subscriber writes (audit lines only).
#[derive(Clone, Default)]
struct Capture(Arc<Mutex<Vec<u8>>>);

impl std::io::Write for Capture {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

fn audit_log() -> &'static Capture {
    static CAPTURE: OnceLock<Capture> = OnceLock::new();
    CAPTURE.get_or_init(|| {
        let cap = Capture::default();
        let writer = cap.clone();
        tracing_subscriber::fmt()
            .with_env_filter("audit=info")
            .json()
            .with_writer(move || writer.clone())
            .try_init()
            .unwrap();
        cap
    })
}

/// Stands in for the authentication layer's API-key branch: the bearer is looked up in `keys`.
async fn api_key_auth(State(keys): State<Arc<ApiKeys>>, mut req: Request, next: Next) -> Response {
    let bearer = req
        .headers()
        .get("authorization")
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "))
        .unwrap_or_default();
    match keys.authenticate(bearer) {
        Some(entry) => {
            let principal = entry.principal(NotionVersion::default());
            req.extensions_mut().insert(principal);
            next.run(req).await
        }
        None => StatusCode::UNAUTHORIZED.into_response(),
    }
}

struct KeyedServer {
    fake: RunningFake,
    router: Router,
    reader: String,
    narrow: String,
    auditor: String,
}

/// The real MCP endpoint behind API-key authentication, with three keys: `reader` (read-only),
/// `narrow` (read-write, only search and fetch) and `auditor` (read-write, every tool).
async fn keyed_server() -> KeyedServer {
    let fake = FakeNotion::start(Fixture::sample()).await.unwrap();
    let (reader, reader_hash) = api_keys::generate();
    let (narrow, narrow_hash) = api_keys::generate();
    let (auditor, auditor_hash) = api_keys::generate();
    let file = format!(
        "keys:\n\
         - {{id: reader, key_sha256: {reader_hash}, notion_token: {TOKEN}, scope: read-only}}\n\
         - {{id: narrow, key_sha256: {narrow_hash}, notion_token: {TOKEN}, scope: read-write, tools: [search, fetch]}}\n\
         - {{id: auditor, key_sha256: {auditor_hash}, notion_token: {TOKEN}, scope: read-write}}\n"
    );
    let path = std::env::temp_dir().join(format!("nmr-guards-{}.yaml", rand::random::<u64>()));
    std::fs::write(&path, file).unwrap();
    let registry = mcp::registry();
    let names: Vec<String> = registry
        .tools()
        .iter()
        .map(|t| t.name.to_string())
        .collect();
    let known: Vec<&str> = names.iter().map(String::as_str).collect();
    let keys = ApiKeys::load(&path, &known).unwrap();
    std::fs::remove_file(&path).unwrap();

    let metrics = Metrics::new();
    let notion = NotionClient::new(
        ClientConfig {
            base_url: fake.base_url.parse().unwrap(),
            ..Default::default()
        },
        metrics.clone(),
    )
    .unwrap();
    let shared = Arc::new(Shared {
        registry,
        notion,
        index: None,
        limits: Limits::default(),
        metrics,
        tool_timeout: Duration::from_secs(30),
        tasks: None,
        confirm: Default::default(),
    });
    let endpoint = Arc::new(McpEndpoint::new(
        shared,
        false,
        GUARD,
        CancellationToken::new(),
    ));
    let router = Router::new()
        .route("/mcp", any(transport::handle))
        .with_state(endpoint)
        .layer(from_fn_with_state(Arc::new(keys), api_key_auth))
        .layer(from_fn_with_state(GUARD, mcp_guard));
    KeyedServer {
        fake,
        router,
        reader,
        narrow,
        auditor,
    }
}

impl KeyedServer {
    async fn rpc(&self, key: &str, method: &str, params: Value) -> Value {
        let body = rpc(method, params);
        let req = post()
            .header("authorization", format!("Bearer {key}"))
            .body(Body::from(body))
            .unwrap();
        let (status, _, v) = send(&self.router, req).await;
        assert_eq!(status, StatusCode::OK, "{v}");
        v["result"].clone()
    }

    async fn tool_names(&self, key: &str) -> Vec<String> {
        let r = self.rpc(key, "tools/list", json!({})).await;
        r["tools"]
            .as_array()
            .unwrap()
            .iter()
            .map(|t| t["name"].as_str().unwrap().to_string())
            .collect()
    }

    async fn call(&self, key: &str, tool: &str, args: Value) -> Value {
        self.rpc(key, "tools/call", json!({"name": tool, "arguments": args}))
            .await
    }
}

#[tokio::test]
async fn tools_list_shows_only_the_tools_a_key_may_use() {
    let s = keyed_server().await;
    let all = s.tool_names(&s.auditor).await;
    assert_eq!(all.len(), mcp::registry().tools().len());
    let read_only = s.tool_names(&s.reader).await;
    assert!(read_only.len() < all.len() && read_only.contains(&"fetch".to_string()));
    let listed = s.rpc(&s.reader, "tools/list", json!({})).await;
    for tool in listed["tools"].as_array().unwrap() {
        assert_eq!(tool["annotations"]["readOnlyHint"], true, "{tool}");
    }
    assert_eq!(s.tool_names(&s.narrow).await, ["search", "fetch"]);
    s.fake.shutdown().await;
}

#[tokio::test]
async fn tools_a_key_may_not_use_are_forbidden_before_reaching_notion() {
    let s = keyed_server().await;
    let before = s.fake.fake.requests().len();
    let r = s
        .call(
            &s.reader,
            "create_page",
            json!({"parent": "workspace", "title": "x"}),
        )
        .await;
    assert_eq!(r["isError"], true);
    assert_eq!(r["structuredContent"]["error"]["code"], "forbidden", "{r}");
    let text = common::result_text(&r);
    assert!(text.contains("read-only access"), "{text}");

    let r = s.call(&s.narrow, "get_self", json!({})).await;
    assert_eq!(r["structuredContent"]["error"]["code"], "forbidden", "{r}");
    assert!(
        common::result_text(&r).contains("not among the tools this caller may use"),
        "{r}"
    );
    assert_eq!(
        s.fake.fake.requests().len(),
        before,
        "a forbidden call reached Notion"
    );

    // Allowed tools work.
    let r = s.call(&s.narrow, "search", json!({})).await;
    assert_ne!(r["isError"], true, "{r}");
    let r = s.call(&s.reader, "get_self", json!({})).await;
    assert_ne!(r["isError"], true, "{r}");
    s.fake.shutdown().await;
}

#[tokio::test]
async fn every_call_leaves_an_audit_line_without_secrets() {
    let log = audit_log();
    let s = keyed_server().await;
    let marker = format!("{:032x}", rand::random::<u128>());
    let r = s
        .call(
            &s.auditor,
            "fetch",
            json!({"id": marker, "markdown": "CONFIDENTIAL page body"}),
        )
        .await;
    assert_eq!(r["isError"], true, "{r}");
    s.call(&s.reader, "trash_page", json!({"id": marker})).await;
    let out = String::from_utf8(log.0.lock().unwrap().clone()).unwrap();
    let lines: Vec<Value> = out
        .lines()
        .filter(|l| l.contains(&marker))
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(lines.len(), 2, "{out}");
    let fetch = &lines[0];
    assert_eq!(fetch["target"], "audit");
    let f = &fetch["fields"];
    assert_eq!(f["kind"], "api-key");
    assert_eq!(f["client_id"], "auditor");
    assert_eq!(f["subject"], "api-key:auditor");
    assert_eq!(f["tool"], "fetch");
    assert_eq!(f["targets"], marker);
    assert!(f["outcome"].as_str().is_some_and(|o| o != "ok"), "{fetch}");
    assert!(f["latency_ms"].is_number(), "{fetch}");
    assert_eq!(lines[1]["fields"]["outcome"], "forbidden");
    assert_eq!(lines[1]["fields"]["subject"], "api-key:reader");
    for secret in [TOKEN, s.auditor.as_str(), s.reader.as_str(), "CONFIDENTIAL"] {
        assert!(!out.contains(secret), "{secret} leaked into the audit log");
    }
    s.fake.shutdown().await;
}
