//! Request guard in front of the MCP transport.
//!
//! It reads the POST body once (bounded: oversize → 413 with a JSON error), answers malformed JSON with
//! a JSON-RPC parse error, and smooths over header quirks of real clients instead of failing them:
//! a missing or partial `Accept`, a missing `Content-Type`, and `MCP-Protocol-Version` values that
//! disagree with the request (claude.ai sends a newer header than it negotiated, or none at all). Each
//! rewrite is logged at debug level. It also records what the message is, for session routing.

use super::json_error;
use axum::body::{Body, to_bytes};
use axum::extract::{Request, State};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use http::{HeaderValue, Method, StatusCode, header};
use serde_json::{Value, json};

/// Versions the transport negotiates with an `initialize` handshake.
const HANDSHAKE_VERSIONS: &[&str] = &["2024-11-05", "2025-03-26", "2025-06-18", "2025-11-25"];
/// The stateless revision, valid only with per-request `_meta`.
const STATELESS_VERSION: &str = "2026-07-28";
const META_VERSION_KEY: &str = "io.modelcontextprotocol/protocolVersion";
const PROTOCOL_HEADER: &str = "mcp-protocol-version";
/// JSON-RPC: the method does not exist.
const METHOD_NOT_FOUND: i64 = -32601;
/// MCP (2026-07-28): an HTTP header disagrees with the JSON-RPC body.
const HEADER_MISMATCH: i64 = -32020;

/// Settings of the guard.
#[derive(Debug, Clone, Copy)]
pub struct McpGuard {
    pub max_body_bytes: usize,
}

/// What the guard learnt about a POSTed message; used to route it to a session or not, and by the
/// per-caller rate limit (which counts tool calls only).
#[derive(Debug, Clone, Default)]
pub struct McpMessage {
    pub is_initialize: bool,
    /// The JSON-RPC method (empty for a response the client sends back).
    pub method: String,
    /// For `tools/call`: the tool's name.
    pub tool: Option<String>,
    /// The JSON-RPC request id (absent for notifications and responses), so a refusal can answer
    /// the request in JSON-RPC.
    pub id: Option<Value>,
}

impl McpMessage {
    /// Whether the message calls a tool.
    pub fn is_tool_call(&self) -> bool {
        self.method == "tools/call"
    }
}

/// Middleware for `/mcp`.
pub async fn mcp_guard(State(guard): State<McpGuard>, req: Request, next: Next) -> Response {
    if req.method() != Method::POST {
        return next.run(req).await;
    }
    let declared = req
        .headers()
        .get(header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<u64>().ok());
    if declared.is_some_and(|n| n > guard.max_body_bytes as u64) {
        return too_large(guard.max_body_bytes);
    }
    let (mut parts, body) = req.into_parts();
    let bytes = match to_bytes(body, guard.max_body_bytes).await {
        Ok(b) => b,
        Err(e) => {
            // axum reports a length-limit overflow through the error's source chain.
            if is_length_limit(&e) {
                return too_large(guard.max_body_bytes);
            }
            return json_error(
                StatusCode::BAD_REQUEST,
                "invalid_request",
                &format!("could not read the request body: {e}"),
            );
        }
    };
    let message: Value = match serde_json::from_slice(&bytes) {
        Ok(v) => v,
        Err(e) => {
            return jsonrpc_error(
                StatusCode::BAD_REQUEST,
                -32700,
                &format!("Parse error: the body is not valid JSON ({e})"),
            );
        }
    };
    let Some(obj) = message.as_object() else {
        let why = if message.is_array() {
            "Invalid Request: JSON-RPC batches are not supported; send one message per POST"
        } else {
            "Invalid Request: the body must be a JSON-RPC 2.0 object"
        };
        return jsonrpc_error(StatusCode::BAD_REQUEST, -32600, why);
    };
    let method = obj.get("method").and_then(Value::as_str).unwrap_or("");
    let is_initialize = method == "initialize";

    if let Some(refusal) = stateless_refusal(&parts.headers, obj, is_initialize) {
        return refusal;
    }
    ensure_media_types(&mut parts.headers);
    normalise_protocol_header(&mut parts.headers, obj, is_initialize);
    let tool = (method == "tools/call")
        .then(|| obj.get("params")?.get("name")?.as_str().map(str::to_string))
        .flatten();
    parts.extensions.insert(McpMessage {
        is_initialize,
        method: method.to_string(),
        tool,
        id: obj.get("id").filter(|id| !id.is_null()).cloned(),
    });

    let req = Request::from_parts(parts, Body::from(bytes));
    next.run(req).await
}

/// The version the message's per-request `_meta` names, if any.
fn meta_version(msg: &serde_json::Map<String, Value>) -> Option<&str> {
    msg.get("params")
        .and_then(|p| p.get("_meta"))
        .and_then(|m| m.get(META_VERSION_KEY))
        .and_then(Value::as_str)
}

/// Errors the stateless revision requires before any leniency applies: `initialize` does not exist
/// under it (404, method not found), and a client that declares it in `MCP-Protocol-Version` must
/// name the same version in the body (400, header mismatch). Clients of the handshake revisions never
/// send per-request `_meta` versions, so the header quirks below are unaffected.
fn stateless_refusal(
    headers: &http::HeaderMap,
    msg: &serde_json::Map<String, Value>,
    is_initialize: bool,
) -> Option<Response> {
    let meta = meta_version(msg)?;
    let id = msg.get("id").cloned().unwrap_or(Value::Null);
    if is_initialize && meta == STATELESS_VERSION {
        return Some(jsonrpc_error_for(
            StatusCode::NOT_FOUND,
            id,
            METHOD_NOT_FOUND,
            "Method not found: initialize does not exist in protocol 2026-07-28; call server/discover instead",
        ));
    }
    let header = headers.get(PROTOCOL_HEADER).and_then(|v| v.to_str().ok())?;
    if header == STATELESS_VERSION && meta != header {
        return Some(jsonrpc_error_for(
            StatusCode::BAD_REQUEST,
            id,
            HEADER_MISMATCH,
            &format!(
                "Header mismatch: MCP-Protocol-Version is {header} but the request's _meta names {meta}; send the same version in both"
            ),
        ));
    }
    None
}

/// Clients must accept JSON and SSE and send JSON; fill in what lenient clients leave out.
fn ensure_media_types(headers: &mut http::HeaderMap) {
    let accept = headers
        .get(header::ACCEPT)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("")
        .to_ascii_lowercase();
    let wants_json = accept.contains("application/json");
    let wants_sse = accept.contains("text/event-stream");
    if !(wants_json && wants_sse) {
        tracing::debug!(%accept, "rewriting Accept to application/json, text/event-stream");
        headers.insert(
            header::ACCEPT,
            HeaderValue::from_static("application/json, text/event-stream"),
        );
    }
    let ct = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("");
    if !ct.to_ascii_lowercase().starts_with("application/json") {
        tracing::debug!(content_type = %ct, "body is JSON; setting Content-Type: application/json");
        headers.insert(
            header::CONTENT_TYPE,
            HeaderValue::from_static("application/json"),
        );
    }
}

/// Make `MCP-Protocol-Version` consistent with the message, per the quirks real clients show.
fn normalise_protocol_header(
    headers: &mut http::HeaderMap,
    msg: &serde_json::Map<String, Value>,
    is_initialize: bool,
) {
    let header_value = headers
        .get(PROTOCOL_HEADER)
        .and_then(|v| v.to_str().ok())
        .map(str::to_string);
    if is_initialize {
        // The body carries the version being negotiated; a header can only contradict it.
        if header_value.is_some() {
            headers.remove(PROTOCOL_HEADER);
        }
        return;
    }
    let wanted = match (meta_version(msg), header_value.as_deref()) {
        // Per-request metadata is authoritative.
        (Some(meta), h) if Some(meta) != h => Some(meta.to_string()),
        (Some(_), _) => return,
        (None, None) => return,
        (None, Some(h)) if HANDSHAKE_VERSIONS.contains(&h) => return,
        // A stateless or unknown version without per-request metadata: fall back to the newest
        // handshake revision rather than refusing the request.
        (None, Some(h)) if h == STATELESS_VERSION || looks_like_version(h) => {
            Some("2025-11-25".to_string())
        }
        (None, Some(_)) => None,
    };
    tracing::debug!(from = ?header_value, to = ?wanted, "normalising MCP-Protocol-Version");
    match wanted.and_then(|w| HeaderValue::from_str(&w).ok()) {
        Some(v) => {
            headers.insert(PROTOCOL_HEADER, v);
        }
        None => {
            headers.remove(PROTOCOL_HEADER);
        }
    }
}

fn looks_like_version(v: &str) -> bool {
    v.len() == 10
        && v.bytes().enumerate().all(|(i, b)| {
            if i == 4 || i == 7 {
                b == b'-'
            } else {
                b.is_ascii_digit()
            }
        })
}

fn is_length_limit(e: &axum::Error) -> bool {
    let mut source: Option<&(dyn std::error::Error + 'static)> = Some(e);
    while let Some(s) = source {
        if s.is::<http_body_util::LengthLimitError>() {
            return true;
        }
        source = s.source();
    }
    false
}

fn too_large(limit: usize) -> Response {
    json_error(
        StatusCode::PAYLOAD_TOO_LARGE,
        "request_too_large",
        &format!("the request body exceeds the limit of {limit} bytes"),
    )
}

fn jsonrpc_error(status: StatusCode, code: i64, message: &str) -> Response {
    jsonrpc_error_for(status, Value::Null, code, message)
}

fn jsonrpc_error_for(status: StatusCode, id: Value, code: i64, message: &str) -> Response {
    let body = json!({"jsonrpc": "2.0", "id": id, "error": {"code": code, "message": message}});
    (status, axum::Json(body)).into_response()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn headers_with(version: Option<&str>) -> http::HeaderMap {
        let mut h = http::HeaderMap::new();
        if let Some(v) = version {
            h.insert(PROTOCOL_HEADER, HeaderValue::from_str(v).expect("header"));
        }
        h
    }

    fn msg(v: Value) -> serde_json::Map<String, Value> {
        v.as_object().cloned().expect("object")
    }

    fn version(h: &http::HeaderMap) -> Option<&str> {
        h.get(PROTOCOL_HEADER).and_then(|v| v.to_str().ok())
    }

    #[test]
    fn meta_version_wins_over_header() {
        let mut h = headers_with(Some("2025-11-25"));
        let m =
            msg(json!({"method":"tools/list","params":{"_meta":{META_VERSION_KEY:"2026-07-28"}}}));
        normalise_protocol_header(&mut h, &m, false);
        assert_eq!(version(&h), Some("2026-07-28"));
    }

    #[test]
    fn stateless_header_without_meta_falls_back() {
        let mut h = headers_with(Some("2026-07-28"));
        normalise_protocol_header(&mut h, &msg(json!({"method":"tools/list"})), false);
        assert_eq!(version(&h), Some("2025-11-25"));
        let mut h = headers_with(Some("2031-01-01"));
        normalise_protocol_header(&mut h, &msg(json!({"method":"tools/list"})), false);
        assert_eq!(version(&h), Some("2025-11-25"));
    }

    #[test]
    fn garbage_header_is_dropped_and_known_ones_kept() {
        let mut h = headers_with(Some("latest"));
        normalise_protocol_header(&mut h, &msg(json!({"method":"ping"})), false);
        assert_eq!(version(&h), None);
        let mut h = headers_with(Some("2025-06-18"));
        normalise_protocol_header(&mut h, &msg(json!({"method":"ping"})), false);
        assert_eq!(version(&h), Some("2025-06-18"));
    }

    #[test]
    fn initialize_drops_header() {
        let mut h = headers_with(Some("2026-07-28"));
        normalise_protocol_header(&mut h, &msg(json!({"method":"initialize"})), true);
        assert_eq!(version(&h), None);
    }

    #[test]
    fn stateless_initialize_is_not_found() {
        let m = msg(json!({"jsonrpc":"2.0","id":7,"method":"initialize",
            "params":{"_meta":{META_VERSION_KEY:"2026-07-28"}}}));
        let r = stateless_refusal(&headers_with(Some("2026-07-28")), &m, true).expect("refused");
        assert_eq!(r.status(), StatusCode::NOT_FOUND);
        // A handshake-era initialize is left alone.
        let m = msg(json!({"method":"initialize","params":{"protocolVersion":"2025-11-25"}}));
        assert!(stateless_refusal(&headers_with(Some("2026-07-28")), &m, true).is_none());
    }

    #[test]
    fn stateless_header_must_match_meta() {
        let m = msg(
            json!({"method":"server/discover","params":{"_meta":{META_VERSION_KEY:"v999.0.0"}}}),
        );
        let r = stateless_refusal(&headers_with(Some("2026-07-28")), &m, false).expect("refused");
        assert_eq!(r.status(), StatusCode::BAD_REQUEST);
        // An older header with a newer _meta stays lenient (the _meta wins, see above).
        let m =
            msg(json!({"method":"tools/list","params":{"_meta":{META_VERSION_KEY:"2026-07-28"}}}));
        assert!(stateless_refusal(&headers_with(Some("2025-11-25")), &m, false).is_none());
    }

    #[test]
    fn accept_is_completed() {
        let mut h = http::HeaderMap::new();
        h.insert(header::ACCEPT, HeaderValue::from_static("application/json"));
        ensure_media_types(&mut h);
        assert_eq!(h[header::ACCEPT], "application/json, text/event-stream");
        assert_eq!(h[header::CONTENT_TYPE], "application/json");
    }
}
