//! Traces end to end: the server exports to a minimal OTLP/HTTP receiver started here (POST
//! /v1/traces, protobuf decoded with opentelemetry-proto). A whole OAuth flow, tool calls carrying a
//! W3C `traceparent` (one answered by Notion, one from the read cache) and a Notion token refresh;
//! then: the tool call's spans share the caller's trace, the HTTP span is the child of the caller's
//! span, the tool, Notion and OAuth spans carry their attributes, a cache hit has no Notion span,
//! and no token, secret, code, query text or page content is anywhere in the exported bytes.
#![allow(clippy::unwrap_used)]

mod common;
mod oauth_support;

use notion_fake::{FakeNotion, Fixture};
use notion_mcp_remote::config::LogFormat;
use notion_mcp_remote::store::Store;
use notion_mcp_remote::store::records::Grant;
use notion_mcp_remote::telemetry::{self, TraceArgs};
use notion_mcp_traces::receiver::{CLIENT, Receiver, SERVER, Span};
use oauth_support::*;
use serde_json::{Value, json};
use std::time::Duration;

/// The caller's trace and span (W3C trace context).
const TRACE: &str = "4bf92f3577b34da6a3ce929d0e0e4736";
const PARENT: &str = "00f067aa0ba902b7";
/// The second call's trace (answered from the cache).
const CACHED_TRACE: &str = "0af7651916cd43dd8448eb211c80319c";
/// A query that must not reach the spans.
const QUERY: &str = "Handbook";

/// A tool call carrying a `traceparent`; the result object.
async fn traced_call(s: &OAuthServer, token: &str, trace: &str, tool: &str, args: Value) -> Value {
    let body = json!({"jsonrpc": "2.0", "id": 1, "method": "tools/call",
        "params": {"name": tool, "arguments": args}});
    let resp =
        s.h.mcp_request(token)
            .header("traceparent", format!("00-{trace}-{PARENT}-01"))
            .header("tracestate", "vendor=opaque")
            .body(body.to_string())
            .send()
            .await
            .unwrap();
    assert_eq!(resp.status().as_u16(), 200);
    let v = common::parse_body(&resp.text().await.unwrap());
    assert_ne!(v["result"]["isError"], json!(true), "{tool} failed: {v}");
    v["result"].clone()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn spans_follow_the_caller_and_hold_no_secret() {
    let receiver = Receiver::start().await.unwrap();
    let args = TraceArgs {
        otlp_endpoint: Some(receiver.endpoint.clone()),
        otel_service_name: None,
    };
    // Logs at warn: traces do not depend on the log filter.
    let traces = telemetry::init_with_traces(LogFormat::Json, "warn", &args)
        .unwrap()
        .expect("an endpoint turns traces on");

    let fake = FakeNotion::start(Fixture::sample()).await.unwrap();
    let s = start_on(fake, Store::in_memory(), |a| {
        a.cache_max_age_secs = Some(600)
    })
    .await;
    let mut secrets = vec![NOTION_CLIENT_SECRET.to_string()];
    let c = s.register("client_secret_post").await;
    secrets.push(c.client_secret.clone().unwrap());
    let (verifier, challenge) = pkce();
    let back = s
        .login(
            &mut Browser::new(),
            &s.authorize_url(&c, &challenge, "st"),
            None,
        )
        .await;
    let code = query(&back)["code"].clone();
    secrets.extend([code.clone(), verifier.clone()]);
    let form = [
        ("grant_type", "authorization_code"),
        ("code", code.as_str()),
        ("redirect_uri", c.redirect_uri.as_str()),
        ("code_verifier", verifier.as_str()),
    ];
    let (status, t) = s.token(&c, &form).await;
    assert_eq!(status, 200, "{t}");
    let access = t["access_token"].as_str().unwrap().to_string();
    let refresh = t["refresh_token"].as_str().unwrap().to_string();
    secrets.extend([access.clone(), refresh.clone()]);
    let grant = s.store.list::<Grant>().await.unwrap()[0].1.clone();
    secrets.push(grant.notion.access_token.clone());
    secrets.push(grant.notion.refresh_token.clone().unwrap());

    // The traced call: search (Notion answers), then the same page fetched twice (the second from
    // the cache, in a trace of its own).
    let found = traced_call(&s, &access, TRACE, "search", json!({"query": QUERY})).await;
    let page = common::first_id(&common::result_text(&found));
    let content =
        common::result_text(&traced_call(&s, &access, TRACE, "fetch", json!({"id": page})).await);
    traced_call(&s, &access, CACHED_TRACE, "fetch", json!({"id": page})).await;
    // A Notion token refresh in a tool call, our refresh, revocation.
    s.h.fake().expire_token(&grant.notion.access_token);
    s.h.text(&access, "get_self", json!({})).await;
    let renewed = s.store.list::<Grant>().await.unwrap()[0].1.notion.clone();
    secrets.push(renewed.access_token.clone());
    secrets.push(renewed.refresh_token.clone().unwrap());
    let (status, t2) = s
        .token(
            &c,
            &[("grant_type", "refresh_token"), ("refresh_token", &refresh)],
        )
        .await;
    assert_eq!(status, 200, "{t2}");
    let last_refresh = t2["refresh_token"].as_str().unwrap().to_string();
    secrets.extend([
        t2["access_token"].as_str().unwrap().to_string(),
        last_refresh.clone(),
    ]);
    let revoke_form = [
        ("token", last_refresh.as_str()),
        ("client_id", c.client_id.as_str()),
        ("client_secret", c.client_secret.as_deref().unwrap()),
    ];
    let resp =
        s.h.http
            .post(format!("{}/revoke", s.base()))
            .form(&revoke_form)
            .send();
    assert_eq!(resp.await.unwrap().status().as_u16(), 200);

    let spans = receiver
        .wait_for(&traces, Duration::from_secs(10), |spans| {
            let named = |n: &str| spans.iter().any(|s| s.name == n);
            named("oauth revoke")
                && named("oauth notion_refresh")
                && spans
                    .iter()
                    .filter(|s| s.name == "tools/call fetch")
                    .count()
                    == 2
        })
        .await
        .unwrap();
    assert!(spans.iter().all(|s| s.service == "notion-mcp-remote"));

    // The first call's trace: HTTP span under the caller's, tool span under it, Notion under that.
    let http = spans
        .iter()
        .find(|s| s.trace == TRACE && s.parent == PARENT && s.name == "POST /mcp")
        .expect("the HTTP span is the child of the caller's span");
    assert_eq!(http.kind, SERVER);
    assert_eq!(http.attr("http.request.method"), Some("POST"));
    assert_eq!(http.attr("http.route"), Some("/mcp"));
    assert_eq!(http.attr("http.response.status_code"), Some("200"));
    let in_trace: Vec<&Span> = spans.iter().filter(|s| s.trace == TRACE).collect();
    let search = in_trace
        .iter()
        .find(|s| s.name == "tools/call search")
        .expect("a tool span in the caller's trace");
    assert_eq!(search.attr("mcp.tool.name"), Some("search"));
    assert_eq!(search.attr("mcp.tool.outcome"), Some("ok"));
    assert!(
        in_trace
            .iter()
            .any(|s| s.id == search.parent && s.name == "POST /mcp")
    );
    let request = in_trace
        .iter()
        .find(|s| s.kind == CLIENT && s.name == "POST /v1/search")
        .expect("a client span per Notion request");
    assert_eq!(request.attr("notion.endpoint"), Some("POST /v1/search"));
    assert_eq!(request.attr("url.template"), Some("/v1/search"));
    assert_eq!(request.attr("http.response.status_code"), Some("200"));
    assert_eq!(request.attr("http.request.resend_count"), Some("0"));
    assert!(
        request.attr("notion.pacing.wait_ms").is_some(),
        "{request:?}"
    );
    let logical = in_trace.iter().find(|s| s.id == request.parent).unwrap();
    assert_eq!(logical.name, "notion POST /v1/search");
    assert_eq!(logical.parent, search.id);

    // The first fetch asked Notion (a miss), the second was answered from the cache: no Notion span.
    let cache_results = |trace: &str| -> Vec<String> {
        spans
            .iter()
            .filter(|s| s.trace == trace && s.name == "tools/call fetch")
            .flat_map(|s| s.events.iter())
            .filter(|(name, _)| name == "notion cache")
            .filter_map(|(_, a)| a.get("notion.cache.result").cloned())
            .collect()
    };
    assert!(
        cache_results(TRACE).iter().any(|r| r == "miss"),
        "{:?}",
        cache_results(TRACE)
    );
    assert!(cache_results(CACHED_TRACE).iter().all(|r| r == "hit"));
    assert!(!cache_results(CACHED_TRACE).is_empty());
    let cached: Vec<&str> = spans
        .iter()
        .filter(|s| s.trace == CACHED_TRACE)
        .map(|s| s.name.as_str())
        .collect();
    assert!(
        cached.iter().all(|n| !n.contains("/v1/")),
        "a cache hit sends nothing to Notion: {cached:?}"
    );

    // One span per OAuth step, with its outcome where it has one.
    for (step, outcome) in [
        ("register", Some("ok")),
        ("authorize", None),
        ("consent", Some("approved")),
        ("callback", Some("ok")),
        ("token", Some("ok")),
        ("notion_refresh", Some("ok")),
        ("revoke", Some("ok")),
    ] {
        let span = spans
            .iter()
            .find(|s| s.name == format!("oauth {step}"))
            .unwrap_or_else(|| panic!("no span for the OAuth step {step}"));
        assert_eq!(span.attr("oauth.step"), Some(step));
        assert_eq!(span.attr("oauth.outcome"), outcome, "{step}");
    }

    // Nothing secret or private anywhere in what was sent.
    let bytes = receiver.bytes();
    let contains = |needle: &str| bytes.windows(needle.len()).any(|w| w == needle.as_bytes());
    for secret in &secrets {
        assert!(
            !contains(secret),
            "a secret starting {} was exported",
            &secret[..8.min(secret.len())]
        );
    }
    for private in [QUERY, "Bearer", "authorization", "code=", "state="] {
        assert!(!contains(private), "'{private}' was exported");
    }
    let lines: Vec<&str> = content
        .lines()
        .map(str::trim)
        .filter(|l| l.len() >= 12 && !l.contains(&page))
        .collect();
    assert!(!lines.is_empty(), "the page has content: {content}");
    for line in lines {
        assert!(!contains(line), "page content was exported: {line}");
    }
    s.h.shutdown().await;
    traces.shutdown().await.unwrap();
}
