//! Stateless `tools/call` without an rmcp service per POST.
//!
//! rmcp's stateless transport serves each POST by building a whole service around it: a peer with its
//! channels, a serve loop task, a one-shot transport, a task for the handler and one waiting for the
//! loop. For the request that matters most — a `tools/call` from a client of a handshake revision —
//! none of that is needed: the message is decoded once, handed to the same handler rmcp would call
//! (with the same request context: the HTTP parts in its extensions, a peer whose info carries the
//! protocol version from the header, a cancellation token that fires when the client goes away) and
//! its answer is written as rmcp writes it (`application/json`, status 200).
//!
//! Only requests that every check of rmcp's stateless path would let through take this path; anything
//! else (another method, a per-request `_meta` version, an unusual `Accept`, a body rmcp would refuse)
//! goes to rmcp unchanged, so its answers stay its own.

use super::server::NotionMcp;
use axum::body::Body;
use axum::response::Response;
use bytes::Bytes;
use http::{HeaderMap, StatusCode, header};
use rmcp::Service;
use rmcp::model::{
    ClientCapabilities, ClientJsonRpcMessage, ClientRequest, GetExtensions, GetMeta,
    Implementation, InitializeRequestParams, ProtocolVersion, ServerJsonRpcMessage,
};
use rmcp::service::{Peer, RequestContext, RoleServer, RxJsonRpcMessage, TxJsonRpcMessage};
use rmcp::transport::Transport;
use std::sync::Mutex;
use tokio_util::sync::CancellationToken;

const PROTOCOL_HEADER: &str = "mcp-protocol-version";
const JSON: &str = "application/json";
const EVENT_STREAM: &str = "text/event-stream";

/// The protocol versions served here: those negotiated with `initialize`, before the revision that
/// requires standard headers and per-request metadata.
const VERSIONS: [ProtocolVersion; 4] = [
    ProtocolVersion::V_2024_11_05,
    ProtocolVersion::V_2025_03_26,
    ProtocolVersion::V_2025_06_18,
    ProtocolVersion::V_2025_11_25,
];

/// A decoded `tools/call` that may be served here, with what it needs.
pub struct Direct {
    request: rmcp::model::JsonRpcRequest<ClientRequest>,
    version: usize,
}

/// Whether `parts` and `body` make a request this path serves exactly as rmcp would; `None` sends it
/// to rmcp.
pub fn eligible(headers: &HeaderMap, body: &[u8]) -> Option<Direct> {
    let version = match headers.get(PROTOCOL_HEADER) {
        // rmcp assumes 2025-03-26 for a request without the header.
        None => 1,
        Some(v) => {
            let v = v.to_str().ok()?;
            VERSIONS.iter().position(|known| known.as_str() == v)?
        }
    };
    if !accepts_json_and_sse(headers) || !sends_json(headers) {
        return None;
    }
    // The guard has already read the body within the same limit rmcp applies.
    let ClientJsonRpcMessage::Request(request) =
        serde_json::from_slice::<ClientJsonRpcMessage>(body).ok()?
    else {
        return None;
    };
    let ClientRequest::CallToolRequest(_) = &request.request else {
        return None;
    };
    if request.request.get_meta().protocol_version().is_some() {
        return None;
    }
    Some(Direct { request, version })
}

/// `Accept` names both media types plainly (no parameters, which rmcp would weigh).
fn accepts_json_and_sse(headers: &HeaderMap) -> bool {
    let mut json = false;
    let mut sse = false;
    for value in headers.get_all(header::ACCEPT) {
        let Ok(value) = value.to_str() else {
            return false;
        };
        for item in value.split(',') {
            let item = item.trim();
            if item.contains(';') {
                return false;
            }
            json |= item.eq_ignore_ascii_case(JSON);
            sse |= item.eq_ignore_ascii_case(EVENT_STREAM);
        }
    }
    json && sse
}

/// `Content-Type` is JSON, as rmcp checks it.
fn sends_json(headers: &HeaderMap) -> bool {
    headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| {
            let essence = v.split_once(';').map_or(v, |(essence, _)| essence);
            essence.trim().eq_ignore_ascii_case(JSON)
        })
}

/// Peers for the handlers' request contexts, one per protocol version, made once. Handlers here never
/// send to the client, so a peer is only the carrier of the client's protocol version.
#[derive(Default)]
pub struct Peers(Mutex<[Option<Peer<RoleServer>>; VERSIONS.len()]>);

impl Peers {
    fn get(&self, version: usize, service: &NotionMcp) -> Peer<RoleServer> {
        let mut peers = self.0.lock().unwrap_or_else(|e| e.into_inner());
        peers[version]
            .get_or_insert_with(|| mint_peer(service, VERSIONS[version].clone()))
            .clone()
    }
}

/// A peer whose info is what rmcp's stateless path gives a request of `version`.
fn mint_peer(service: &NotionMcp, version: ProtocolVersion) -> Peer<RoleServer> {
    let mut info =
        InitializeRequestParams::new(ClientCapabilities::default(), Implementation::default());
    info.protocol_version = version;
    let running = rmcp::service::serve_directly::<RoleServer, _, _, _, _>(
        service.clone(),
        Closed,
        Some(info),
    );
    running.peer().clone()
}

/// A transport with nothing to read: the serve loop that mints a peer ends at once.
struct Closed;

impl Transport<RoleServer> for Closed {
    type Error = std::io::Error;

    fn send(
        &mut self,
        _item: TxJsonRpcMessage<RoleServer>,
    ) -> impl Future<Output = Result<(), Self::Error>> + Send + 'static {
        std::future::ready(Ok(()))
    }

    fn receive(&mut self) -> impl Future<Output = Option<RxJsonRpcMessage<RoleServer>>> + Send {
        std::future::ready(None)
    }

    fn close(&mut self) -> impl Future<Output = Result<(), Self::Error>> + Send {
        std::future::ready(Ok(()))
    }
}

/// Serve `call` with the HTTP request's `parts`: the handler runs in a task of its own, cancelled if
/// the client goes away first; at shutdown the answer is rmcp's 500.
pub async fn serve(
    call: Direct,
    parts: http::request::Parts,
    service: NotionMcp,
    peers: &Peers,
    shutdown: &CancellationToken,
) -> Response {
    let Direct {
        mut request,
        version,
    } = call;
    let peer = peers.get(version, &service);
    let id = request.id.clone();
    request.request.extensions_mut().insert(parts);
    let cancel = CancellationToken::new();
    let mut context = RequestContext::new(id.clone(), peer);
    context.ct = cancel.child_token();
    context.meta = std::mem::take(request.request.get_meta_mut());
    context.extensions = std::mem::take(request.request.extensions_mut());
    let handler =
        tokio::spawn(async move { service.handle_request(request.request, context).await });
    // Dropped before the answer (the client went away): cancel the handler, as rmcp does.
    let on_drop = cancel.drop_guard();
    let result = tokio::select! {
        joined = handler => joined,
        () = shutdown.cancelled() => return shutting_down(),
    };
    on_drop.disarm();
    let message = match result {
        Ok(Ok(result)) => ServerJsonRpcMessage::response(result, id),
        Ok(Err(error)) => ServerJsonRpcMessage::error(error, Some(id)),
        // The handler panicked: no message, as when rmcp's handler task dies.
        Err(_) => return shutting_down(),
    };
    match serde_json::to_vec(&message) {
        Ok(body) => Response::builder()
            .status(StatusCode::OK)
            .header(header::CONTENT_TYPE, JSON)
            .body(Body::from(Bytes::from(body)))
            .unwrap_or_default(),
        Err(e) => internal_error("serialize json response", &e),
    }
}

/// rmcp's answer when the handler gave no message (shutdown, or the handler died).
fn shutting_down() -> Response {
    internal_error(
        "empty response",
        &std::io::Error::new(
            std::io::ErrorKind::UnexpectedEof,
            "no response message received from handler",
        ),
    )
}

fn internal_error(context: &str, error: &dyn std::fmt::Display) -> Response {
    tracing::error!("Internal server error when {context}: {error}");
    Response::builder()
        .status(StatusCode::INTERNAL_SERVER_ERROR)
        .body(Body::from(format!(
            "Encounter an error when {context}: {error}"
        )))
        .unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;
    use http::HeaderValue;

    fn headers(accept: &str, version: Option<&str>) -> HeaderMap {
        let mut h = HeaderMap::new();
        h.insert(
            header::ACCEPT,
            HeaderValue::from_str(accept).expect("header"),
        );
        h.insert(
            header::CONTENT_TYPE,
            HeaderValue::from_static("application/json"),
        );
        if let Some(v) = version {
            h.insert(PROTOCOL_HEADER, HeaderValue::from_str(v).expect("header"));
        }
        h
    }

    const CALL: &[u8] =
        br#"{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"get_self","arguments":{}}}"#;

    #[test]
    fn plain_tool_calls_are_served_here() {
        let h = headers("application/json, text/event-stream", Some("2025-06-18"));
        let d = eligible(&h, CALL).expect("eligible");
        assert_eq!(VERSIONS[d.version].as_str(), "2025-06-18");
        let d =
            eligible(&headers("text/event-stream,application/json", None), CALL).expect("eligible");
        assert_eq!(VERSIONS[d.version].as_str(), "2025-03-26");
    }

    #[test]
    fn everything_else_goes_to_rmcp() {
        let ok = "application/json, text/event-stream";
        // Weighted media types, a missing one, other versions.
        assert!(
            eligible(
                &headers("application/json;q=0, text/event-stream", None),
                CALL
            )
            .is_none()
        );
        assert!(eligible(&headers("application/json", None), CALL).is_none());
        assert!(eligible(&headers(ok, Some("2026-07-28")), CALL).is_none());
        assert!(eligible(&headers(ok, Some("1999-01-01")), CALL).is_none());
        // Other methods, notifications, per-request versions, bodies rmcp refuses.
        let list = br#"{"jsonrpc":"2.0","id":1,"method":"tools/list"}"#;
        assert!(eligible(&headers(ok, None), list).is_none());
        let note = br#"{"jsonrpc":"2.0","method":"notifications/initialized"}"#;
        assert!(eligible(&headers(ok, None), note).is_none());
        let meta = br#"{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"x","_meta":{"io.modelcontextprotocol/protocolVersion":"2025-06-18"}}}"#;
        assert!(eligible(&headers(ok, None), meta).is_none());
        assert!(
            eligible(
                &headers(ok, None),
                b"{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"tools/call\"}"
            )
            .is_none()
        );
        let mut plain = headers(ok, None);
        plain.insert(header::CONTENT_TYPE, HeaderValue::from_static("text/plain"));
        assert!(eligible(&plain, CALL).is_none());
    }
}
