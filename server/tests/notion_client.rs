//! Integration tests of the Notion client against a small in-process stub server: pacing, retries,
//! error mapping, headers, OAuth, endpoints, pagination and the block-tree fetcher.
//!
//! Assertions are on counts and outcomes; time bounds are generous sanity checks only.

#![allow(clippy::unwrap_used)]

mod common;
#[path = "notion_client/fake.rs"]
mod fake;
#[path = "notion_client/reads.rs"]
mod reads;
#[path = "notion_client/stub.rs"]
mod stub;

use axum::http::Method;
use notion_mcp_remote::metrics::Metrics;
use notion_mcp_remote::notion::client::{
    ClientConfig, NotionAuth, NotionClient, NotionRequest, NotionVersion,
};
use notion_mcp_remote::notion::endpoints;
use notion_mcp_remote::notion::pacer::PacingConfig;
use notion_mcp_remote::notion::retry::RetryPolicy;
use serde_json::{Value, json};
use std::time::{Duration, Instant};
use stub::{Fault, TOKEN, error_body, start_stub};

pub fn fast_retry() -> RetryPolicy {
    RetryPolicy {
        max_retries: 3,
        initial_backoff: Duration::from_millis(10),
        max_backoff: Duration::from_millis(50),
        max_total_wait: Duration::from_secs(5),
    }
}

pub fn client_with(
    base: &str,
    pacing: PacingConfig,
    retry: RetryPolicy,
) -> (NotionClient, Metrics) {
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

pub fn no_pacing() -> PacingConfig {
    PacingConfig {
        enabled: false,
        ..Default::default()
    }
}

pub fn auth() -> NotionAuth {
    NotionAuth::new(TOKEN, NotionVersion::default())
}

pub fn me() -> NotionRequest {
    NotionRequest::get("GET /v1/users/me", "/v1/users/me")
}

pub fn create_page() -> NotionRequest {
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
        workspace_per_second: 0.0,
    };
    // No retries: a single 429 would fail a request.
    let (client, metrics) = client_with(&base, pacing, RetryPolicy::none());
    let started = Instant::now();
    let calls = (0..50).map(|_| {
        let client = client.clone();
        // The uncached path: identical reads in flight would otherwise be sent once.
        tokio::spawn(async move { client.send_to_notion(&auth(), me()).await })
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
        async move { client.send_to_notion(&auth(), me()).await }
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
    // One request per 5 s after a burst of 2 (3 less one of headroom): a shared bucket would stall
    // the 3rd request for 5 s.
    let pacing = PacingConfig {
        per_second: 0.2,
        burst: 3,
        replicas: 1,
        enabled: true,
        workspace_per_second: 0.0,
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
    // (On 2026-03-11, where rows need no schema lookup first: one endpoint to count.)
    let v3 = auth().with_version(NotionVersion::V2026_03_11);
    let rows =
        endpoints::query_data_source_raw(&client, &v3, "ds1", json!({}), &[], None, None).await;
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
    assert_eq!(
        h(1, "notion-version").unwrap(),
        NotionVersion::default().as_str()
    );
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
