//! The `/mcp` endpoint: rmcp's Streamable HTTP service, stateless by default.
//!
//! Stateless serving needs no `Mcp-Session-Id`, so clients that drop or never send it (claude.ai does)
//! work, and any replica can answer any request. With `--sessions`, clients that initialize also get a
//! session (and GET streams); a request whose session is unknown or missing is still answered
//! statelessly instead of failing, since no state lives in the session anyway. Only a session the
//! client itself ended here (DELETE) is answered 404, as the transport requires, so it starts anew.

use super::server::{NotionMcp, Shared};
use crate::oauth::grants::ReauthSignal;
use crate::web::McpGuard;
use axum::body::Body;
use axum::extract::{Request, State};
use axum::response::{IntoResponse, Response};
use http::Method;
use rmcp::transport::streamable_http_server::session::SessionManager;
use rmcp::transport::streamable_http_server::session::local::LocalSessionManager;
use rmcp::transport::streamable_http_server::session::never::NeverSessionManager;
use rmcp::transport::streamable_http_server::{StreamableHttpServerConfig, StreamableHttpService};
use std::collections::VecDeque;
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tokio_util::sync::CancellationToken;

const SESSION_HEADER: &str = "mcp-session-id";
/// Messages buffered per session.
const SESSION_CHANNEL_CAPACITY: usize = 8;
/// How long finished request streams stay available for a client that reconnects with Last-Event-ID.
const SESSION_REPLAY_TTL: Duration = Duration::from_secs(10);
/// How many client-ended session ids are remembered (to answer 404 for them); the oldest are forgotten.
const TERMINATED_SESSIONS_KEPT: usize = 1024;

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

/// The services behind `/mcp`.
pub struct McpEndpoint {
    /// `WWW-Authenticate` challenge for requests whose grant died during the call (OAuth mode).
    pub reauth_challenge: Option<String>,
    stateless: StreamableHttpService<NotionMcp, NeverSessionManager>,
    sessions: Option<(
        StreamableHttpService<NotionMcp, LocalSessionManager>,
        Arc<LocalSessionManager>,
    )>,
    terminated: TerminatedSessions,
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
            .with_cancellation_token(shutdown)
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
            // Sessions hold no state of ours: keep their buffers small so idle sessions stay cheap.
            manager.session_config.channel_capacity = SESSION_CHANNEL_CAPACITY;
            manager.session_config.completed_cache_ttl = SESSION_REPLAY_TTL;
            let manager = Arc::new(manager);
            let svc = StreamableHttpService::new(
                factory,
                manager.clone(),
                base.with_legacy_session_mode(true),
            );
            (svc, manager)
        });
        McpEndpoint {
            reauth_challenge: None,
            stateless,
            sessions,
            terminated: TerminatedSessions::default(),
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
    if let Some((svc, manager)) = &ep.sessions {
        let sid = req
            .headers()
            .get(SESSION_HEADER)
            .and_then(|v| v.to_str().ok())
            .map(str::to_string);
        let initialize = req
            .extensions()
            .get::<crate::web::McpMessage>()
            .is_some_and(|m| m.is_initialize);
        let use_session = match (&sid, req.method()) {
            (None, &Method::POST) => initialize,
            (None, _) => false,
            (Some(_), &Method::GET) | (Some(_), &Method::DELETE) => true,
            (Some(id), _) => manager
                .has_session(&id.clone().into())
                .await
                .unwrap_or(false),
        };
        if let Some(id) = &sid
            && !use_session
            && ep.terminated.contains(id)
        {
            return session_ended(id);
        }
        if use_session {
            let deleting = req.method() == Method::DELETE;
            let resp = svc.handle(req).await.map(Body::new);
            if deleting
                && resp.status().is_success()
                && let Some(id) = sid
            {
                ep.terminated.insert(id);
            }
            return resp;
        }
    }
    ep.stateless.handle(req).await.map(Body::new)
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
