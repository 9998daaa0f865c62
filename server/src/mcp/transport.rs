//! The `/mcp` endpoint: rmcp's Streamable HTTP service, stateless by default.
//!
//! Stateless serving needs no `Mcp-Session-Id`, so clients that drop or never send it (claude.ai does)
//! work, and any replica can answer any request. With `--sessions`, clients that initialize also get a
//! session (and GET streams); a request whose session is unknown or missing is still answered
//! statelessly instead of failing, since no state lives in the session anyway. Only a session the
//! client itself ended here (DELETE) is answered 404, as the transport requires, so it starts anew.
//!
//! A session is a record in [`SessionTable`] and its requests are answered by the stateless service.
//! Only a client that declares elicitation (a server→client request needs a live session to travel
//! in) gets rmcp's session worker (`LocalSessionManager`), which costs about 125 KB per session.

use super::server::{NotionMcp, Shared};
use super::sessions::{self, Declared, SessionTable};
use crate::oauth::grants::ReauthSignal;
use crate::web::{McpGuard, McpMessage};
use axum::body::Body;
use axum::extract::{Request, State};
use axum::response::{IntoResponse, Response};
use http::{HeaderValue, Method};
use http_body_util::BodyExt;
use rmcp::transport::streamable_http_server::session::SessionManager;
use rmcp::transport::streamable_http_server::session::local::LocalSessionManager;
use rmcp::transport::streamable_http_server::session::never::NeverSessionManager;
use rmcp::transport::streamable_http_server::{StreamableHttpServerConfig, StreamableHttpService};
use std::collections::VecDeque;
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tokio_util::sync::CancellationToken;

const SESSION_HEADER: &str = "mcp-session-id";
const PROTOCOL_HEADER: &str = "mcp-protocol-version";
/// Messages buffered per worker session.
const SESSION_CHANNEL_CAPACITY: usize = 8;
/// How long finished request streams stay available for a client that reconnects with Last-Event-ID.
const SESSION_REPLAY_TTL: Duration = Duration::from_secs(10);
/// How many client-ended session ids are remembered (to answer 404 for them); the oldest are forgotten.
const TERMINATED_SESSIONS_KEPT: usize = 1024;
/// Bodies of `initialize` answers are read to learn the negotiated version; they are a few KB.
const INITIALIZE_ANSWER_MAX_BYTES: usize = 1 << 20;

/// Ids of sessions clients ended with DELETE, newest last, bounded.
#[derive(Default)]
struct TerminatedSessions(Mutex<VecDeque<String>>);

impl TerminatedSessions {
    fn insert(&self, id: String) {
        let mut ids = self.0.lock().unwrap_or_else(|e| e.into_inner());
        if ids.len() >= TERMINATED_SESSIONS_KEPT {
            ids.pop_front();
        }
        ids.push_back(id);
    }

    fn contains(&self, id: &str) -> bool {
        let ids = self.0.lock().unwrap_or_else(|e| e.into_inner());
        ids.iter().any(|t| t == id)
    }
}

/// Lets a tool call end the SSE stream of its response before the result (SEP-1699): the client
/// reconnects with a GET and `Last-Event-ID` and gets the rest from the session's cache. Only POSTs
/// in rmcp's session workers carry one, since only those keep what a client missed.
#[derive(Debug, Clone, Default)]
pub struct StreamCloser(CancellationToken);

impl StreamCloser {
    /// Ends the response stream after what was already sent; the call goes on.
    pub fn close(&self) {
        self.0.cancel();
    }
}

/// What `--sessions` adds: the session table, rmcp's HTTP layer over it for GET streams and DELETE,
/// and rmcp's session workers for clients that declare elicitation.
struct Sessions {
    table: Arc<SessionTable>,
    table_http: StreamableHttpService<NotionMcp, SessionTable>,
    workers: StreamableHttpService<NotionMcp, LocalSessionManager>,
    worker_manager: Arc<LocalSessionManager>,
    terminated: TerminatedSessions,
}

/// The services behind `/mcp`.
pub struct McpEndpoint {
    /// `WWW-Authenticate` challenge for requests whose grant died during the call (OAuth mode).
    pub reauth_challenge: Option<String>,
    stateless: StreamableHttpService<NotionMcp, NeverSessionManager>,
    sessions: Option<Sessions>,
}

impl McpEndpoint {
    pub fn new(
        shared: Arc<Shared>,
        with_sessions: bool,
        guard: McpGuard,
        shutdown: CancellationToken,
    ) -> Self {
        let base = StreamableHttpServerConfig::default()
            // Host and Origin are checked by our own layer, which understands trusted proxies.
            .disable_allowed_hosts()
            .with_max_request_body_bytes(guard.max_body_bytes)
            .with_cancellation_token(shutdown.clone())
            .with_sse_keep_alive(Some(Duration::from_secs(15)));
        let factory = {
            let shared = shared.clone();
            move || Ok(NotionMcp::new(shared.clone()))
        };
        let stateless = StreamableHttpService::new(
            factory.clone(),
            Arc::new(NeverSessionManager::default()),
            base.clone()
                .with_legacy_session_mode(false)
                .with_json_response(true),
        );
        let sessions = with_sessions.then(|| {
            let mut manager = LocalSessionManager::default();
            // Worker sessions hold no state of ours: keep their buffers small.
            manager.session_config.channel_capacity = SESSION_CHANNEL_CAPACITY;
            manager.session_config.completed_cache_ttl = SESSION_REPLAY_TTL;
            manager.session_config.keep_alive = Some(sessions::IDLE_TIMEOUT);
            let worker_manager = Arc::new(manager);
            let table = SessionTable::new(sessions::IDLE_TIMEOUT, sessions::MAX_SESSIONS, shutdown);
            let config = base.with_legacy_session_mode(true);
            Sessions {
                table_http: StreamableHttpService::new(
                    factory.clone(),
                    table.clone(),
                    config.clone(),
                ),
                table,
                workers: StreamableHttpService::new(factory, worker_manager.clone(), config),
                worker_manager,
                terminated: TerminatedSessions::default(),
            }
        });
        McpEndpoint {
            reauth_challenge: None,
            stateless,
            sessions,
        }
    }
}

/// Route one `/mcp` request; when the caller's grant turned out to be dead during the call (Notion
/// refused its token and its refresh), answer 401 so the client logs in again.
pub async fn handle(State(ep): State<Arc<McpEndpoint>>, req: Request) -> Response {
    let signal = req.extensions().get::<ReauthSignal>().cloned();
    let resp = route(&ep, req).await;
    match (signal, &ep.reauth_challenge) {
        (Some(s), Some(challenge)) if s.raised() && resp.status().is_success() => {
            let mut r = crate::web::json_error(
                http::StatusCode::UNAUTHORIZED,
                "invalid_token",
                "Notion no longer accepts this connection; authorize again",
            );
            if let Ok(v) = http::HeaderValue::from_str(challenge) {
                r.headers_mut().insert(http::header::WWW_AUTHENTICATE, v);
            }
            r
        }
        _ => resp,
    }
}

async fn route(ep: &McpEndpoint, req: Request) -> Response {
    let Some(sessions) = &ep.sessions else {
        return stateless(ep, req).await;
    };
    let sid = req
        .headers()
        .get(SESSION_HEADER)
        .and_then(|v| v.to_str().ok())
        .map(str::to_string);
    let method = req
        .extensions()
        .get::<McpMessage>()
        .map(|m| m.method.as_str());
    let Some(id) = sid else {
        if req.method() == Method::POST && method == Some("initialize") {
            return initialize(ep, sessions, req).await;
        }
        return stateless(ep, req).await;
    };
    let deleting = req.method() == Method::DELETE;
    let resp = if let Some(facts) = sessions.table.touch(&id) {
        if req.method() == Method::POST {
            return in_table_session(ep, sessions, &id, facts, req).await;
        }
        sessions.table_http.handle(req).await.map(Body::new)
    } else if req.method() != Method::POST
        || sessions
            .worker_manager
            .has_session(&id.as_str().into())
            .await
            .unwrap_or(false)
    {
        if req.method() == Method::POST {
            return in_worker_session(sessions, req).await;
        }
        // GET and DELETE of an unknown session get rmcp's 404.
        sessions.workers.handle(req).await.map(Body::new)
    } else if sessions.terminated.contains(&id) {
        return session_ended(&id);
    } else {
        return stateless(ep, req).await;
    };
    if deleting && resp.status().is_success() {
        sessions.terminated.insert(id);
    }
    resp
}

async fn stateless(ep: &McpEndpoint, req: Request) -> Response {
    ep.stateless.handle(req).await.map(Body::new)
}

/// `initialize` without a session: a client that declared elicitation gets rmcp's session worker;
/// any other gets the stateless answer and a session in the table.
async fn initialize(ep: &McpEndpoint, sessions: &Sessions, req: Request) -> Response {
    let (parts, body) = req.into_parts();
    // The guard already holds the body in memory (bounded), so this only takes it back.
    let Ok(bytes) = axum::body::to_bytes(body, usize::MAX).await else {
        return stateless(ep, Request::from_parts(parts, Body::empty())).await;
    };
    let declared = Declared::from_initialize(&bytes);
    let req = Request::from_parts(parts, Body::from(bytes));
    let Some(declared) = declared else {
        return stateless(ep, req).await;
    };
    if declared.capabilities.elicitation {
        return sessions.workers.handle(req).await.map(Body::new);
    }
    let resp = ep.stateless.handle(req).await;
    let is_json = content_type_is(resp.headers(), "application/json");
    if !resp.status().is_success() || !is_json {
        return resp.map(Body::new);
    }
    let (mut parts, body) = resp.into_parts();
    let bytes = match http_body_util::Limited::new(body, INITIALIZE_ANSWER_MAX_BYTES)
        .collect()
        .await
    {
        Ok(b) => b.to_bytes(),
        Err(e) => {
            tracing::warn!(error = %e, "could not read the initialize answer");
            return crate::web::json_error(
                http::StatusCode::INTERNAL_SERVER_ERROR,
                "internal_error",
                "the initialize answer could not be read",
            );
        }
    };
    let negotiated = serde_json::from_slice::<serde_json::Value>(&bytes)
        .ok()
        .and_then(|v| v["result"]["protocolVersion"].as_str().map(str::to_string));
    if let Some(id) = negotiated.and_then(|v| sessions.table.open(&v, declared))
        && let Ok(v) = HeaderValue::from_str(&id)
    {
        parts.headers.insert(SESSION_HEADER, v);
    }
    Response::from_parts(parts, Body::from(bytes))
}

/// A POST in one of rmcp's session workers, with a [`StreamCloser`] its call may use: an SSE answer
/// ends when it does (the worker keeps the rest for the client's resumption).
async fn in_worker_session(sessions: &Sessions, mut req: Request) -> Response {
    use futures::StreamExt;
    let closer = StreamCloser::default();
    req.extensions_mut().insert(closer.clone());
    let resp = sessions.workers.handle(req).await;
    let is_sse = content_type_is(resp.headers(), "text/event-stream");
    if !is_sse {
        return resp.map(Body::new);
    }
    let (parts, body) = resp.into_parts();
    let events = http_body_util::BodyStream::new(body)
        .filter_map(|frame| async move {
            match frame {
                Ok(frame) => frame
                    .into_data()
                    .ok()
                    .map(Ok::<_, std::convert::Infallible>),
                Err(never) => match never {},
            }
        })
        .take_until(closer.0.cancelled_owned());
    Response::from_parts(parts, Body::from_stream(events))
}

/// A POST in a table session: answered statelessly, with the session's negotiated version when the
/// client sends none and its facts in the request extensions; a log level it sets is recorded.
async fn in_table_session(
    ep: &McpEndpoint,
    sessions: &Sessions,
    id: &str,
    facts: sessions::SessionFacts,
    mut req: Request,
) -> Response {
    if !req.headers().contains_key(PROTOCOL_HEADER)
        && let Ok(v) = HeaderValue::from_str(facts.protocol_version.as_str())
    {
        req.headers_mut().insert(PROTOCOL_HEADER, v);
    }
    req.extensions_mut().insert(facts);
    let sets_level = req
        .extensions()
        .get::<McpMessage>()
        .is_some_and(|m| m.method == "logging/setLevel");
    if !sets_level {
        return stateless(ep, req).await;
    }
    let (parts, body) = req.into_parts();
    let Ok(bytes) = axum::body::to_bytes(body, usize::MAX).await else {
        return stateless(ep, Request::from_parts(parts, Body::empty())).await;
    };
    let level = sessions::requested_log_level(&bytes);
    let resp = stateless(ep, Request::from_parts(parts, Body::from(bytes))).await;
    if let Some(level) = level
        && resp.status().is_success()
    {
        sessions.table.set_log_level(id, level);
    }
    resp
}

/// 404 for a request naming a session its client ended: it must initialize a new one.
fn session_ended(id: &str) -> Response {
    let body = serde_json::json!({
        "jsonrpc": "2.0",
        "id": null,
        "error": {
            "code": -32600,
            "message": format!("session '{id}' was ended by DELETE; send initialize to start a new one"),
        },
    });
    (http::StatusCode::NOT_FOUND, axum::Json(body)).into_response()
}

/// Whether a response's `Content-Type` is `media_type` (parameters aside).
fn content_type_is(headers: &http::HeaderMap, media_type: &str) -> bool {
    headers
        .get(http::header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.starts_with(media_type))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn terminated_sessions_are_remembered_and_bounded() {
        let t = TerminatedSessions::default();
        t.insert("first".into());
        assert!(t.contains("first"));
        assert!(!t.contains("other"));
        for i in 0..TERMINATED_SESSIONS_KEPT {
            t.insert(format!("s{i}"));
        }
        assert!(!t.contains("first"));
        assert!(t.contains(&format!("s{}", TERMINATED_SESSIONS_KEPT - 1)));
    }
}
