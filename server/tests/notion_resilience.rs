//! Pacing and retries seen from the tools: a burst never trips the fake's limiter, transient errors are
//! retried, blocked requests are not, and long waits surface `retry_after_seconds`.
#![allow(clippy::unwrap_used)]

mod common;

use common::Harness;
use futures::StreamExt;
use notion_fake::{Fault, FaultRule, Fixture, RateLimit};
use serde_json::json;

const T: &str = "ntn_demo_acme";

fn rule(path: &str, fault: Fault, times: u32) -> FaultRule {
    let mut r = FaultRule::new(fault);
    r.path_prefix = Some(path.to_string());
    r.times = Some(times);
    r
}

fn me_requests(h: &Harness) -> usize {
    h.fake()
        .requests()
        .iter()
        .filter(|r| r.path == "/v1/users/me")
        .count()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn pacing_keeps_a_burst_of_50_calls_under_the_rate_limit() {
    let h = Harness::start_with(Fixture::sample(), |a| {
        a.pacing_rps = 20.0;
        a.pacing_burst = 5;
    })
    .await;
    h.fake().set_rate_limit(Some(RateLimit::new(25.0, 5)));
    let ok = std::sync::atomic::AtomicUsize::new(0);
    futures::stream::iter(0..50)
        .for_each_concurrent(50, |_| async {
            let r = h.call(T, "get_self", json!({})).await;
            if r["isError"] != true {
                ok.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
            }
        })
        .await;
    assert_eq!(ok.into_inner(), 50);
    assert_eq!(
        h.fake().count_status(429),
        0,
        "the fake's limiter never answered 429"
    );
    h.shutdown().await;
}

#[tokio::test]
async fn transient_failures_are_retried() {
    let h = Harness::start(Fixture::sample()).await;
    for fault in [
        Fault::RateLimited {
            retry_after: Some(1),
            reason: "public_api_request_rate_limit".into(),
        },
        Fault::Overloaded {
            retry_after: Some(1),
        },
        Fault::Status {
            status: 503,
            code: "service_unavailable".into(),
            retry_after: None,
        },
        Fault::Status {
            status: 502,
            code: "bad_gateway".into(),
            retry_after: None,
        },
        Fault::DropConnection,
    ] {
        h.fake().reset_log();
        h.fake().push_fault(rule("/v1/users/me", fault.clone(), 1));
        let r = h.call(T, "get_self", json!({})).await;
        assert_ne!(r["isError"], true, "{fault:?} was not retried: {r}");
        assert_eq!(me_requests(&h), 2, "{fault:?}: one failure, one success");
    }
    h.shutdown().await;
}

#[tokio::test]
async fn blocked_requests_are_never_retried() {
    let h = Harness::start(Fixture::sample()).await;
    h.fake().push_fault(rule(
        "/v1/users/me",
        Fault::RateLimited {
            retry_after: Some(1),
            reason: "public_api_request_blocked".into(),
        },
        1,
    ));
    let r = h.call(T, "get_self", json!({})).await;
    assert_eq!(r["isError"], true);
    assert_eq!(r["structuredContent"]["error"]["code"], "rate_limited");
    assert_eq!(me_requests(&h), 1);
    h.shutdown().await;
}

#[tokio::test]
async fn a_wait_longer_than_the_budget_returns_retry_after_seconds() {
    let h = Harness::start(Fixture::sample()).await;
    h.fake().push_fault(rule(
        "/v1/users/me",
        Fault::RateLimited {
            retry_after: Some(120),
            reason: "public_api_space_request_rate_limit".into(),
        },
        1,
    ));
    let started = std::time::Instant::now();
    let r = h.call(T, "get_self", json!({})).await;
    assert_eq!(r["isError"], true);
    assert_eq!(
        r["structuredContent"]["error"]["retry_after_seconds"], 120,
        "{r}"
    );
    assert!(
        started.elapsed() < std::time::Duration::from_secs(30),
        "gave up at once instead of waiting"
    );
    h.shutdown().await;
}

#[tokio::test]
async fn persistent_server_errors_end_as_tool_errors() {
    let h = Harness::start_with(Fixture::sample(), |a| a.retry_max = 2).await;
    let mut r = FaultRule::new(Fault::Status {
        status: 500,
        code: "internal_server_error".into(),
        retry_after: None,
    });
    r.path_prefix = Some("/v1/users/me".into());
    h.fake().push_fault(r);
    let res = h.call(T, "get_self", json!({})).await;
    assert_eq!(res["isError"], true);
    assert_eq!(res["structuredContent"]["error"]["status"], 500);
    assert_eq!(me_requests(&h), 3, "first try + 2 retries");
    h.shutdown().await;
}
