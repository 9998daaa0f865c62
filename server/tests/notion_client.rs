//! Integration tests of the Notion client against a small in-process stub server: pacing, retries,
//! error mapping, headers, OAuth, endpoints, pagination and the block-tree fetcher.
//!
//! Assertions are on counts and outcomes; time bounds are generous sanity checks only.

#![allow(clippy::unwrap_used)]

use axum::body::{Body, Bytes};
use axum::extract::State;
use axum::http::{HeaderMap, Method, StatusCode, Uri};
use axum::response::Response;
use notion_mcp_remote::metrics::Metrics;
use notion_mcp_remote::notion::client::{
    ClientConfig, NotionAuth, NotionClient, NotionRequest, NotionVersion,
};
use notion_mcp_remote::notion::endpoints;
use notion_mcp_remote::notion::pacer::PacingConfig;
use notion_mcp_remote::notion::pagination::collect;
use notion_mcp_remote::notion::retry::RetryPolicy;
use notion_mcp_remote::notion::tree::{TreeLimits, fetch_block_tree};
use serde_json::{Value, json};
use std::collections::{HashMap, VecDeque};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

const TOKEN: &str = "ntn_test_secret_token_0123456789";

// ------------------------------------------------------------------------------------------- stub

/// A scripted failure for the next request matching `method` and `path_prefix`.
#[derive(Clone)]
enum Fault {
    /// Status, JSON body, `Retry-After` header.
    Status(u16, Value, Option<&'static str>),
    /// Send headers, then break the connection in the middle of the body.
    Drop,
    /// Sleep before answering normally.
    Delay(Duration),
}

#[derive(Clone, Debug)]
struct Recorded {
    method: Method,
    path: String,
    query: String,
    headers: HeaderMap,
    body: Bytes,
}

#[derive(Default)]
struct Stub {
    faults: Mutex<VecDeque<(Method, &'static str, Fault)>>,
    /// Token bucket per Authorization header: (per_second, burst).
    limit: Mutex<Option<(f64, f64)>>,
    buckets: Mutex<HashMap<String, (f64, Instant)>>,
    log: Mutex<Vec<Recorded>>,
    statuses: Mutex<Vec<u16>>,
    /// Block id → children (for `GET /v1/blocks/{id}/children`).
    blocks: Mutex<HashMap<String, Vec<Value>>>,
}

impl Stub {
    fn fault(&self, method: Method, prefix: &'static str, fault: Fault) {
        self.faults
            .lock()
            .unwrap()
            .push_back((method, prefix, fault));
    }
    fn requests(&self) -> Vec<Recorded> {
        self.log.lock().unwrap().clone()
    }
    fn count(&self) -> usize {
        self.log.lock().unwrap().len()
    }
    fn count_status(&self, s: u16) -> usize {
        self.statuses
            .lock()
            .unwrap()
            .iter()
            .filter(|&&x| x == s)
            .count()
    }

    /// Consume a token of the caller's bucket; false when the bucket is empty.
    fn admit(&self, key: &str) -> bool {
        let Some((rate, burst)) = *self.limit.lock().unwrap() else {
            return true;
        };
        let mut buckets = self.buckets.lock().unwrap();
        let now = Instant::now();
        let (tokens, last) = buckets.entry(key.to_owned()).or_insert((burst, now));
        *tokens = (*tokens + now.duration_since(*last).as_secs_f64() * rate).min(burst);
        *last = now;
        if *tokens >= 1.0 {
            *tokens -= 1.0;
            true
        } else {
            false
        }
    }
}

fn error_body(status: u16, code: &str, message: &str, data: Option<Value>) -> Value {
    let mut v = json!({"object":"error","status":status,"code":code,"message":message,"request_id":"req-1"});
    if let Some(d) = data {
        v["additional_data"] = d;
    }
    v
}

fn json_response(status: u16, body: &Value, retry_after: Option<&str>) -> Response {
    let mut r = Response::builder()
        .status(StatusCode::from_u16(status).unwrap())
        .header("content-type", "application/json");
    if let Some(ra) = retry_after {
        r = r.header("retry-after", ra);
    }
    r.body(Body::from(serde_json::to_vec(body).unwrap()))
        .unwrap()
}

async fn handle(
    State(stub): State<Arc<Stub>>,
    method: Method,
    uri: Uri,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let path = uri.path().to_owned();
    let query = uri.query().unwrap_or_default().to_owned();
    stub.log.lock().unwrap().push(Recorded {
        method: method.clone(),
        path: path.clone(),
        query: query.clone(),
        headers: headers.clone(),
        body: body.clone(),
    });
    let resp = answer(&stub, &method, &path, &query, &headers, &body).await;
    stub.statuses.lock().unwrap().push(resp.status().as_u16());
    resp
}

async fn answer(
    stub: &Stub,
    method: &Method,
    path: &str,
    query: &str,
    headers: &HeaderMap,
    body: &[u8],
) -> Response {
    let fault = {
        let mut faults = stub.faults.lock().unwrap();
        let pos = faults
            .iter()
            .position(|(m, p, _)| m == method && path.starts_with(p));
        pos.and_then(|i| faults.remove(i)).map(|(_, _, f)| f)
    };
    match fault {
        Some(Fault::Status(s, b, ra)) => return json_response(s, &b, ra),
        Some(Fault::Drop) => {
            let broken = futures::stream::iter([
                Ok(Bytes::from_static(b"{\"partial\":")),
                Err(std::io::Error::other("connection dropped")),
            ]);
            return Response::builder()
                .status(200)
                .body(Body::from_stream(broken))
                .unwrap();
        }
        Some(Fault::Delay(d)) => tokio::time::sleep(d).await,
        None => {}
    }
    let auth = headers
        .get("authorization")
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default();
    if !stub.admit(auth) {
        let data = json!({"rate_limit_reason":"public_api_request_rate_limit"});
        return json_response(
            429,
            &error_body(429, "rate_limited", "Slow down.", Some(data)),
            Some("1"),
        );
    }
    let q: HashMap<String, String> = url::form_urlencoded::parse(query.as_bytes())
        .into_owned()
        .collect();
    if path.starts_with("/v1/oauth/") {
        let basic = format!("Basic {}", b64("client-1:secret-1"));
        if auth != basic {
            return json_response(
                401,
                &json!({"error":"invalid_client","error_description":"Bad client"}),
                None,
            );
        }
        let req: Value = serde_json::from_slice(body).unwrap_or_default();
        if req["code"] == "used" {
            let e = json!({"error":"invalid_grant","error_description":"Code already used"});
            return json_response(400, &e, None);
        }
        return json_response(
            200,
            &json!({"access_token":"ntn_new","bot_id":"bot-1"}),
            None,
        );
    }
    if auth != format!("Bearer {TOKEN}") && !auth.starts_with("Bearer ntn_other") {
        let msg = format!(
            "API token {} is invalid.",
            auth.trim_start_matches("Bearer ")
        );
        return json_response(401, &error_body(401, "unauthorized", &msg, None), None);
    }
    if let Some(id) = path
        .strip_prefix("/v1/blocks/")
        .and_then(|p| p.strip_suffix("/children"))
    {
        let blocks = stub.blocks.lock().unwrap();
        let Some(all) = blocks.get(id) else {
            let msg = format!("Could not find block with ID: {id}.");
            return json_response(404, &error_body(404, "object_not_found", &msg, None), None);
        };
        let start: usize = q.get("start_cursor").map_or(0, |c| c.parse().unwrap());
        let size: usize = q.get("page_size").map_or(100, |s| s.parse().unwrap());
        assert!(size <= 100);
        let end = (start + size).min(all.len());
        let has_more = end < all.len();
        let page = json!({"object":"list","results":all[start..end],"has_more":has_more,
            "next_cursor": if has_more { Value::from(end.to_string()) } else { Value::Null },
            "type":"block","block":{}});
        return json_response(200, &page, None);
    }
    if path.starts_with("/v1/pages/p1/properties/") {
        let total = 60;
        let start: usize = q.get("start_cursor").map_or(0, |c| c.parse().unwrap());
        let size: usize = q.get("page_size").map_or(100, |s| s.parse().unwrap());
        let end = (start + size).min(total);
        let results: Vec<Value> = (start..end)
            .map(|i| json!({"object":"property_item","type":"relation","relation":{"id":format!("r{i}")}}))
            .collect();
        let has_more = end < total;
        return json_response(
            200,
            &json!({"object":"list","results":results,"has_more":has_more,
                "next_cursor": if has_more { Value::from(end.to_string()) } else { Value::Null },
                "type":"property_item","property_item":{"id":"rel","type":"relation","relation":{}}}),
            None,
        );
    }
    let echo = json!({"object":"echo","method":method.as_str(),"path":path,"query":query,
        "body": serde_json::from_slice::<Value>(body).unwrap_or(Value::Null)});
    json_response(200, &echo, None)
}

fn b64(s: &str) -> String {
    const T: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let b = s.as_bytes();
    let mut out = String::new();
    for chunk in b.chunks(3) {
        let n = chunk
            .iter()
            .enumerate()
            .fold(0u32, |acc, (i, &x)| acc | (u32::from(x) << (16 - 8 * i)));
        for i in 0..4 {
            if i <= chunk.len() {
                out.push(char::from(T[((n >> (18 - 6 * i)) & 63) as usize]));
            } else {
                out.push('=');
            }
        }
    }
    out
}

async fn start_stub() -> (Arc<Stub>, String) {
    let stub = Arc::new(Stub::default());
    let app = axum::Router::new()
        .fallback(handle)
        .with_state(Arc::clone(&stub));
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move {
        let _ = axum::serve(listener, app).await;
    });
    (stub, format!("http://{addr}"))
}

fn fast_retry() -> RetryPolicy {
    RetryPolicy {
        max_retries: 3,
        initial_backoff: Duration::from_millis(10),
        max_backoff: Duration::from_millis(50),
        max_total_wait: Duration::from_secs(5),
    }
}

fn client_with(base: &str, pacing: PacingConfig, retry: RetryPolicy) -> (NotionClient, Metrics) {
    let metrics = Metrics::new();
    let cfg = ClientConfig {
        base_url: url::Url::parse(base).unwrap(),
        attempt_timeout: Duration::from_secs(5),
        pacing,
        retry,
        ..Default::default()
    };
    (NotionClient::new(cfg, metrics.clone()).unwrap(), metrics)
}

fn no_pacing() -> PacingConfig {
    PacingConfig {
        enabled: false,
        ..Default::default()
    }
}

fn auth() -> NotionAuth {
    NotionAuth::new(TOKEN, NotionVersion::default())
}

fn me() -> NotionRequest {
    NotionRequest::get("GET /v1/users/me", "/v1/users/me")
}

fn create_page() -> NotionRequest {
    NotionRequest::post("POST /v1/pages", "/v1/pages").json(json!({"parent":{"page_id":"p"}}))
}

// ------------------------------------------------------------------------------------------ pacing

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn pacing_keeps_a_burst_under_the_server_limit() {
    let (stub, base) = start_stub().await;
    *stub.limit.lock().unwrap() = Some((50.0, 10.0));
    let pacing = PacingConfig {
        per_second: 25.0,
        burst: 5,
        replicas: 1,
        enabled: true,
    };
    // No retries: a single 429 would fail a request.
    let (client, metrics) = client_with(&base, pacing, RetryPolicy::none());
    let started = Instant::now();
    let calls = (0..50).map(|_| {
        let client = client.clone();
        tokio::spawn(async move { client.send(&auth(), me()).await })
    });
    for r in futures::future::join_all(calls).await {
        r.unwrap().unwrap();
    }
    assert_eq!(stub.count(), 50);
    assert_eq!(stub.count_status(429), 0);
    assert!(started.elapsed() < Duration::from_secs(60));
    assert!(
        metrics
            .render()
            .contains("notion_mcp_notion_pacing_wait_seconds_count{kind=\"pacing\"}")
    );
}

#[tokio::test]
async fn without_pacing_the_same_burst_is_rate_limited() {
    // Control for the test above: the stub really does limit.
    let (stub, base) = start_stub().await;
    *stub.limit.lock().unwrap() = Some((50.0, 10.0));
    let (client, _) = client_with(&base, no_pacing(), RetryPolicy::none());
    let calls = (0..50).map(|_| {
        let client = client.clone();
        async move { client.send(&auth(), me()).await }
    });
    let results = futures::future::join_all(calls).await;
    assert!(stub.count_status(429) > 0);
    assert!(
        results
            .iter()
            .any(|r| r.as_ref().is_err_and(|e| e.code() == "rate_limited"))
    );
}

#[tokio::test]
async fn keys_are_paced_independently() {
    let (_stub, base) = start_stub().await;
    // One request per 5 s after a burst of 2: a shared bucket would stall the 3rd request for 5 s.
    let pacing = PacingConfig {
        per_second: 0.2,
        burst: 2,
        replicas: 1,
        enabled: true,
    };
    let (client, _) = client_with(&base, pacing, RetryPolicy::none());
    let a = NotionAuth::new(TOKEN, NotionVersion::default());
    let b = NotionAuth::new("ntn_other_token", NotionVersion::default());
    assert_ne!(a.pacing_key, b.pacing_key);
    let started = Instant::now();
    for auth in [&a, &a, &b, &b] {
        client.send(auth, me()).await.unwrap();
    }
    assert!(
        started.elapsed() < Duration::from_secs(4),
        "keys shared a bucket"
    );
    assert_eq!(client.pacer().tracked_keys(), 2);
}

// ----------------------------------------------------------------------------------------- retries

#[tokio::test]
async fn retries_429_honouring_retry_after() {
    let (stub, base) = start_stub().await;
    let data = json!({"rate_limit_reason":"public_api_request_rate_limit"});
    stub.fault(
        Method::POST,
        "/v1/pages",
        Fault::Status(
            429,
            error_body(429, "rate_limited", "Slow", Some(data)),
            Some("1"),
        ),
    );
    let (client, metrics) = client_with(&base, no_pacing(), fast_retry());
    let started = Instant::now();
    // Rate-limited requests are retried even when not idempotent (nothing was done).
    client.send(&auth(), create_page()).await.unwrap();
    assert!(
        started.elapsed() >= Duration::from_millis(950),
        "waited what Notion asked"
    );
    assert_eq!(stub.count(), 2);
    let text = metrics.render();
    assert!(
        text.contains("notion_mcp_notion_retries_total{reason=\"rate_limited\"} 1"),
        "{text}"
    );
    assert!(text.contains("notion_mcp_notion_pacing_wait_seconds_count{kind=\"retry_after\"} 1"));
}

#[tokio::test]
async fn retries_529_for_any_method() {
    let (stub, base) = start_stub().await;
    let body = error_body(
        529,
        "service_overload",
        "Busy",
        Some(json!({"retry_after":"0"})),
    );
    stub.fault(
        Method::POST,
        "/v1/pages",
        Fault::Status(529, body.clone(), Some("0")),
    );
    stub.fault(Method::POST, "/v1/pages", Fault::Status(529, body, None));
    let (client, metrics) = client_with(&base, no_pacing(), fast_retry());
    client.send(&auth(), create_page()).await.unwrap();
    assert_eq!(stub.count(), 3);
    assert!(
        metrics
            .render()
            .contains("notion_mcp_notion_retries_total{reason=\"overloaded\"} 2")
    );
}

#[tokio::test]
async fn retries_5xx_only_when_idempotent() {
    let (stub, base) = start_stub().await;
    let (client, _) = client_with(&base, no_pacing(), fast_retry());
    for s in [500, 502, 503] {
        stub.fault(
            Method::GET,
            "/v1/users/me",
            Fault::Status(s, error_body(s, "x", "down", None), None),
        );
    }
    client.send(&auth(), me()).await.unwrap();
    assert_eq!(stub.count(), 4, "three retries");
    for _ in 0..4 {
        stub.fault(
            Method::GET,
            "/v1/users/me",
            Fault::Status(504, error_body(504, "gateway_timeout", "slow", None), None),
        );
    }
    let err = client.send(&auth(), me()).await.unwrap_err();
    assert_eq!(err.code(), "gateway_timeout");
    assert_eq!(stub.count(), 8, "gave up after max_retries");

    let (stub, base) = start_stub().await;
    let (client, _) = client_with(&base, no_pacing(), fast_retry());
    let body = error_body(503, "service_unavailable", "Unavailable", None);
    stub.fault(Method::POST, "/v1/pages", Fault::Status(503, body, None));
    let err = client.send(&auth(), create_page()).await.unwrap_err();
    assert_eq!(err.code(), "service_unavailable");
    assert_eq!(err.status(), Some(503));
    assert_eq!(stub.count(), 1, "a POST is not replayed after a 503");

    // A read sent as POST (data-source query) is marked idempotent and retried.
    let body = error_body(502, "bad_gateway", "Bad gateway", None);
    stub.fault(
        Method::POST,
        "/v1/data_sources/",
        Fault::Status(502, body, None),
    );
    let rows =
        endpoints::query_data_source_raw(&client, &auth(), "ds1", json!({}), &[], None, None).await;
    assert!(
        rows.is_err(),
        "the echo is not a list, but the call must have been retried"
    );
    assert_eq!(stub.count(), 3);
}

#[tokio::test]
async fn committed_write_is_never_replayed() {
    let (stub, base) = start_stub().await;
    let (client, _) = client_with(&base, no_pacing(), fast_retry());
    let data = json!({"retry_guidance":"Do not repeat the write.","committed_resource_id":"page-9",
        "committed_child_ids":["b1"],"elapsed_ms":61000,"deadline_ms":60000});
    let body = error_body(503, "service_unavailable", "Request timed out", Some(data));
    stub.fault(
        Method::PATCH,
        "/v1/blocks/",
        Fault::Status(503, body.clone(), None),
    );
    let req = NotionRequest::patch("PATCH /v1/blocks/{id}/children", "/v1/blocks/x/children")
        .json(json!({"children":[]}))
        .idempotent(true);
    let err = client.send(&auth(), req).await.unwrap_err();
    assert_eq!(stub.count(), 1);
    assert_eq!(err.committed_resource_id(), Some("page-9"));
    assert_eq!(err.committed_child_ids(), ["b1"]);
    assert!(!err.is_retryable());
    assert!(err.to_string().contains("do not repeat it"), "{err}");
}

#[tokio::test]
async fn blocked_integration_is_not_retried() {
    let (stub, base) = start_stub().await;
    let (client, _) = client_with(&base, no_pacing(), fast_retry());
    let data = json!({"rate_limit_reason":"public_api_request_blocked"});
    stub.fault(
        Method::GET,
        "/v1/users/me",
        Fault::Status(
            429,
            error_body(429, "rate_limited", "Blocked.", Some(data)),
            Some("1"),
        ),
    );
    let err = client.send(&auth(), me()).await.unwrap_err();
    assert_eq!(stub.count(), 1);
    assert!(err.is_blocked());
    assert_eq!(err.code(), "rate_limited");
}

#[tokio::test]
async fn dropped_connection_is_retried_for_reads_only() {
    let (stub, base) = start_stub().await;
    let (client, _) = client_with(&base, no_pacing(), fast_retry());
    stub.fault(Method::GET, "/v1/users/me", Fault::Drop);
    let v = client.send(&auth(), me()).await.unwrap();
    assert_eq!(v["object"], "echo");
    assert_eq!(stub.count(), 2);

    stub.fault(Method::POST, "/v1/pages", Fault::Drop);
    let err = client.send(&auth(), create_page()).await.unwrap_err();
    assert_eq!(err.code(), "connection_error");
    assert_eq!(stub.count(), 3);
}

#[tokio::test]
async fn connect_errors_are_retried_then_reported() {
    // Nothing listens on this port (bound, then released).
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let (client, metrics) = client_with(
        &format!("http://127.0.0.1:{port}"),
        no_pacing(),
        fast_retry(),
    );
    let err = client.send(&auth(), create_page()).await.unwrap_err();
    assert_eq!(err.code(), "connection_error");
    assert!(
        metrics
            .render()
            .contains("notion_mcp_notion_retries_total{reason=\"connection\"} 3")
    );
    let shown = format!("{err} {err:?}");
    assert!(!shown.contains(TOKEN));
}

#[tokio::test]
async fn attempt_timeout_retries_reads_not_writes() {
    let (stub, base) = start_stub().await;
    let metrics = Metrics::new();
    let cfg = ClientConfig {
        base_url: url::Url::parse(&base).unwrap(),
        attempt_timeout: Duration::from_millis(300),
        pacing: no_pacing(),
        retry: fast_retry(),
        ..Default::default()
    };
    let client = NotionClient::new(cfg, metrics).unwrap();
    stub.fault(
        Method::GET,
        "/v1/users/me",
        Fault::Delay(Duration::from_secs(3)),
    );
    client.send(&auth(), me()).await.unwrap();
    assert_eq!(stub.count(), 2);
    stub.fault(
        Method::POST,
        "/v1/pages",
        Fault::Delay(Duration::from_secs(3)),
    );
    let err = client.send(&auth(), create_page()).await.unwrap_err();
    assert_eq!(err.code(), "timeout");
    assert_eq!(stub.count(), 3);
}

#[tokio::test]
async fn retry_budget_exhausted_returns_the_rate_limit() {
    let (stub, base) = start_stub().await;
    let (client, _) = client_with(&base, no_pacing(), fast_retry()); // 5 s budget
    stub.fault(
        Method::GET,
        "/v1/users/me",
        Fault::Status(
            429,
            error_body(429, "rate_limited", "Slow down.", None),
            Some("30"),
        ),
    );
    let started = Instant::now();
    let err = client.send(&auth(), me()).await.unwrap_err();
    assert!(
        started.elapsed() < Duration::from_secs(4),
        "gave up at once"
    );
    assert_eq!(stub.count(), 1);
    assert_eq!(err.code(), "rate_limited");
    assert_eq!(err.retry_after_seconds(), Some(30));
    assert!(err.to_string().contains("Retry after 30 s."), "{err}");

    // Attempts run out: the last 429 is returned.
    for _ in 0..4 {
        stub.fault(
            Method::GET,
            "/v1/users/me",
            Fault::Status(
                429,
                error_body(429, "rate_limited", "Slow", None),
                Some("0"),
            ),
        );
    }
    let err = client.send(&auth(), me()).await.unwrap_err();
    assert_eq!(err.code(), "rate_limited");
    assert_eq!(stub.count(), 1 + 4);
}

// --------------------------------------------------------------------------------- errors, headers

#[tokio::test]
async fn token_never_appears_in_errors() {
    let (stub, base) = start_stub().await;
    let (client, _) = client_with(&base, no_pacing(), fast_retry());
    let bad = NotionAuth::new("ntn_wrong_secret_abcdef", NotionVersion::default());
    let err = client.send(&bad, me()).await.unwrap_err();
    assert!(err.is_unauthorized());
    let shown = format!("{err} | {err:?} | {bad:?}");
    assert!(!shown.contains("ntn_wrong_secret_abcdef"), "{shown}");
    assert!(shown.contains("[redacted]"));
    assert_eq!(stub.count(), 1);
}

#[tokio::test]
async fn sends_auth_version_content_type_and_query() {
    let (stub, base) = start_stub().await;
    // A base URL with a path prefix keeps it.
    let (client, _) = client_with(&format!("{base}/notion/"), no_pacing(), fast_retry());
    let old = auth().with_version(NotionVersion::V2025_09_03);
    let req = NotionRequest::post("POST /v1/search", "/v1/search").json(json!({"query":"x"}));
    let v = client.send(&old, req).await.unwrap();
    assert_eq!(v["path"], "/notion/v1/search");
    client
        .send(&auth(), me().query("a b", "c&d"))
        .await
        .unwrap();
    let reqs = stub.requests();
    let h = |i: usize, k: &str| {
        reqs[i]
            .headers
            .get(k)
            .map(|v| v.to_str().unwrap().to_owned())
    };
    assert_eq!(h(0, "authorization").unwrap(), format!("Bearer {TOKEN}"));
    assert_eq!(h(0, "notion-version").unwrap(), "2025-09-03");
    assert_eq!(h(0, "content-type").unwrap(), "application/json");
    assert_eq!(
        serde_json::from_slice::<Value>(&reqs[0].body).unwrap(),
        json!({"query":"x"})
    );
    assert_eq!(h(1, "notion-version").unwrap(), "2026-03-11");
    assert_eq!(h(1, "content-type"), None);
    assert_eq!(reqs[1].query, "a+b=c%26d");
    assert_eq!(reqs[1].method, Method::GET);
}

#[tokio::test]
async fn oauth_uses_basic_auth_and_maps_oauth_errors() {
    let (stub, base) = start_stub().await;
    let (client, _) = client_with(&base, no_pacing(), fast_retry());
    let ok = client
        .oauth_token(
            "client-1",
            "secret-1",
            json!({"grant_type":"authorization_code","code":"c"}),
        )
        .await
        .unwrap();
    assert_eq!(ok["bot_id"], "bot-1");
    let err = client
        .oauth_token(
            "client-1",
            "secret-1",
            json!({"grant_type":"authorization_code","code":"used"}),
        )
        .await
        .unwrap_err();
    assert_eq!(err.code(), "invalid_grant");
    assert_eq!(err.status(), Some(400));
    let err = client
        .oauth_introspect("client-1", "wrong-secret", "ntn_x")
        .await
        .unwrap_err();
    assert_eq!(err.code(), "invalid_client");
    assert!(!format!("{err:?}").contains("wrong-secret"));
    client
        .oauth_revoke("client-1", "secret-1", "ntn_x")
        .await
        .unwrap();
    let reqs = stub.requests();
    assert_eq!(reqs[0].path, "/v1/oauth/token");
    assert!(reqs[0].headers.contains_key("notion-version"));
    assert_eq!(reqs[3].path, "/v1/oauth/revoke");
    assert_eq!(
        serde_json::from_slice::<Value>(&reqs[3].body).unwrap(),
        json!({"token":"ntn_x"})
    );
}

// ------------------------------------------------------------------------------ endpoints and trees

fn para(id: &str, has_children: bool) -> Value {
    json!({"object":"block","id":id,"type":"paragraph","has_children":has_children,
        "paragraph":{"rich_text":[],"color":"default"}})
}

#[tokio::test]
async fn block_children_paginate_exactly_with_collect() {
    let (stub, base) = start_stub().await;
    let (client, _) = client_with(&base, no_pacing(), fast_retry());
    let all: Vec<Value> = (0..250).map(|i| para(&format!("b{i}"), false)).collect();
    stub.blocks.lock().unwrap().insert("root".into(), all);
    let a = auth();
    let fetch = |cursor: Option<String>, size: u32| {
        let (client, a) = (client.clone(), a.clone());
        async move {
            endpoints::list_block_children(&client, &a, "root", cursor.as_deref(), Some(size)).await
        }
    };
    let first = collect(130, None, fetch).await.unwrap();
    assert_eq!(first.items.len(), 130);
    assert!(first.has_more);
    let rest = collect(1000, first.next_cursor.clone(), fetch)
        .await
        .unwrap();
    let ids: Vec<String> = first
        .items
        .iter()
        .chain(&rest.items)
        .map(|b| b.id.clone())
        .collect();
    assert_eq!(ids, (0..250).map(|i| format!("b{i}")).collect::<Vec<_>>());
    assert!(!rest.has_more);
}

#[tokio::test]
async fn property_items_page_past_the_reference_cap() {
    let (_stub, base) = start_stub().await;
    let (client, _) = client_with(&base, no_pacing(), fast_retry());
    let all = endpoints::all_property_items(&client, &auth(), "p1", "rel", 1000)
        .await
        .unwrap();
    assert_eq!(all.property_type, "relation");
    assert_eq!(all.items.len(), 60);
    assert!(!all.truncated);
    let cut = endpoints::all_property_items(&client, &auth(), "p1", "rel", 25)
        .await
        .unwrap();
    assert_eq!(cut.items.len(), 25);
    assert!(cut.truncated);
    assert_eq!(cut.next_cursor.as_deref(), Some("25"));
}

/// root: t0..t9 top level; t1 has 3 children (c1..), c1a has 2 grandchildren; t3 is a child page;
/// t5 is a synced reference to `orig` (2 children); t7's children are missing (404).
fn seed_tree(stub: &Stub) {
    let mut blocks = stub.blocks.lock().unwrap();
    let mut top: Vec<Value> = (0..10).map(|i| para(&format!("t{i}"), false)).collect();
    top[1]["has_children"] = json!(true);
    top[3] = json!({"object":"block","id":"t3","type":"child_page","has_children":true,"child_page":{"title":"Sub"}});
    top[5] = json!({"object":"block","id":"t5","type":"synced_block","has_children":true,
        "synced_block":{"synced_from":{"type":"block_id","block_id":"orig"}}});
    top[7]["has_children"] = json!(true);
    blocks.insert("root".into(), top);
    blocks.insert(
        "t1".into(),
        vec![para("c1a", true), para("c1b", false), para("c1c", false)],
    );
    blocks.insert("c1a".into(), vec![para("g1", false), para("g2", false)]);
    blocks.insert("orig".into(), vec![para("o1", false), para("o2", false)]);
}

#[tokio::test]
async fn block_tree_full_fetch() {
    let (stub, base) = start_stub().await;
    seed_tree(&stub);
    let (client, _) = client_with(&base, no_pacing(), fast_retry());
    let limits = TreeLimits {
        max_blocks: 1000,
        max_depth: 10,
        concurrency: 3,
    };
    let tree = fetch_block_tree(&client, &auth(), "root", limits, None)
        .await
        .unwrap();
    assert_eq!(tree.nodes.len(), 10);
    assert_eq!(tree.fetched, 10 + 3 + 2 + 2);
    assert!(!tree.truncated);
    assert_eq!(tree.next_cursor, None);
    let t1 = &tree.nodes[1];
    assert_eq!(t1.children.len(), 3);
    assert_eq!(t1.children[0].children.len(), 2);
    assert!(
        !tree.nodes[3].children_omitted && tree.nodes[3].children.is_empty(),
        "child pages are links"
    );
    let synced: Vec<_> = tree.nodes[5]
        .children
        .iter()
        .map(|n| n.block.as_ref().unwrap().id.clone())
        .collect();
    assert_eq!(synced, ["o1", "o2"]);
    assert!(
        tree.nodes[7].children_omitted,
        "unreadable children are marked, not fatal"
    );
    assert!(!stub.requests().iter().any(|r| r.path.contains("/t3/")));
}

#[tokio::test]
async fn block_tree_depth_limit_marks_omitted_children() {
    let (stub, base) = start_stub().await;
    seed_tree(&stub);
    let (client, _) = client_with(&base, no_pacing(), fast_retry());
    let limits = TreeLimits {
        max_blocks: 1000,
        max_depth: 2,
        concurrency: 2,
    };
    let tree = fetch_block_tree(&client, &auth(), "root", limits, None)
        .await
        .unwrap();
    let c1a = &tree.nodes[1].children[0];
    assert!(c1a.children.is_empty() && c1a.children_omitted);
    assert!(!tree.truncated);
    assert_eq!(tree.fetched, 10 + 3 + 2);
}

#[tokio::test]
async fn block_tree_budget_cut_resumes_after_last_top_level_block() {
    let (stub, base) = start_stub().await;
    // 250 top-level blocks, every 10th with two children.
    {
        let mut blocks = stub.blocks.lock().unwrap();
        let top: Vec<Value> = (0..250)
            .map(|i| para(&format!("t{i}"), i % 10 == 0))
            .collect();
        for i in (0..250).step_by(10) {
            blocks.insert(
                format!("t{i}"),
                vec![
                    para(&format!("t{i}.a"), false),
                    para(&format!("t{i}.b"), false),
                ],
            );
        }
        blocks.insert("root".into(), top);
    }
    let (client, _) = client_with(&base, no_pacing(), fast_retry());
    let mut seen = Vec::new();
    let mut cursor = None;
    let mut rounds = 0;
    loop {
        rounds += 1;
        let limits = TreeLimits {
            max_blocks: 70,
            max_depth: 3,
            concurrency: 4,
        };
        let tree = fetch_block_tree(&client, &auth(), "root", limits, cursor)
            .await
            .unwrap();
        assert!(tree.fetched <= 70, "budget respected: {}", tree.fetched);
        assert_eq!(
            tree.fetched,
            tree.nodes.len() + tree.nodes.iter().map(|n| n.children.len()).sum::<usize>()
        );
        for n in &tree.nodes {
            let b = n.block.as_ref().unwrap();
            assert!(
                !n.children_omitted,
                "every kept top-level block is complete"
            );
            assert_eq!(n.children.len(), if b.has_children { 2 } else { 0 });
        }
        seen.extend(
            tree.nodes
                .iter()
                .map(|n| n.block.as_ref().unwrap().id.clone()),
        );
        if tree.next_cursor.is_none() {
            break;
        }
        assert!(tree.truncated);
        cursor = tree.next_cursor;
        assert!(rounds < 20);
    }
    assert_eq!(
        seen,
        (0..250).map(|i| format!("t{i}")).collect::<Vec<_>>(),
        "no top-level block skipped or repeated"
    );
}

#[tokio::test]
async fn block_tree_keeps_an_oversized_first_block_partially() {
    let (stub, base) = start_stub().await;
    {
        let mut blocks = stub.blocks.lock().unwrap();
        blocks.insert("root".into(), vec![para("big", true), para("next", false)]);
        blocks.insert(
            "big".into(),
            (0..10).map(|i| para(&format!("k{i}"), false)).collect(),
        );
    }
    let (client, _) = client_with(&base, no_pacing(), fast_retry());
    // One request at a time makes the budget split deterministic.
    let limits = TreeLimits {
        max_blocks: 5,
        max_depth: 3,
        concurrency: 1,
    };
    let tree = fetch_block_tree(&client, &auth(), "root", limits, None)
        .await
        .unwrap();
    assert_eq!(tree.nodes.len(), 1);
    assert_eq!(tree.nodes[0].children.len(), 4);
    assert!(tree.nodes[0].children_omitted);
    assert!(tree.truncated);
    assert_eq!(tree.fetched, 5);
    let rest = fetch_block_tree(&client, &auth(), "root", limits, tree.next_cursor)
        .await
        .unwrap();
    assert_eq!(rest.nodes.len(), 1);
    assert_eq!(rest.nodes[0].block.as_ref().unwrap().id, "next");
    assert!(!rest.truncated && rest.next_cursor.is_none());
}
