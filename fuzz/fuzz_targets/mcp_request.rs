//! A POST /mcp body through the real router in-process: host check, the request guard's body
//! reading and message sniffing, authentication (a Notion-token bearer), the per-caller limit,
//! rmcp's JSON-RPC decoding and dispatch, tool lookup and argument coercion/decoding. Notion is
//! unreachable, so a call that gets that far fails fast in the client instead of leaving the box.
//! The body length picks one of four header variants (the guard rewrites each differently).
#![no_main]

use axum::Router;
use axum::body::Body;
use libfuzzer_sys::fuzz_target;
use notion_mcp_remote_fuzz::{HOST, assert_not_internal_error, base_args, router, send};
use std::sync::OnceLock;

fn app() -> &'static Router {
    static APP: OnceLock<Router> = OnceLock::new();
    APP.get_or_init(|| router(base_args()))
}

fuzz_target!(|data: &[u8]| {
    let mut req = http::Request::post("/mcp")
        .header(http::header::HOST, HOST)
        .header(http::header::AUTHORIZATION, "Bearer ntn_fuzz_token_0000");
    req = match data.len() % 4 {
        0 => req
            .header(http::header::CONTENT_TYPE, "application/json")
            .header(http::header::ACCEPT, "application/json, text/event-stream"),
        // A lenient client: no Accept, no Content-Type.
        1 => req,
        // The stateless revision header (needs per-request `_meta`).
        2 => req
            .header(http::header::CONTENT_TYPE, "application/json")
            .header(http::header::ACCEPT, "application/json")
            .header("mcp-protocol-version", "2026-07-28"),
        _ => req
            .header(http::header::CONTENT_TYPE, "text/plain")
            .header(http::header::ACCEPT, "text/event-stream")
            .header("mcp-protocol-version", "2025-06-18"),
    };
    let req = req.body(Body::from(data.to_vec())).expect("request");
    let (status, body) = send(app(), req);
    assert_not_internal_error(status, &body);
});
