//! A minimal MCP client for load and fault tests against a server started anywhere: stateless calls
//! or one MCP session (initialize, calls with `Mcp-Session-Id`, DELETE), each call classified by what
//! came back, whatever the server does.

use super::parse_body;
use serde_json::{Value, json};
use std::time::Duration;

/// What one `tools/call` came back as (the payloads are read through `Debug` in failure reports).
#[derive(Debug, Clone)]
#[allow(dead_code)]
pub enum Reply {
    /// A JSON-RPC result (a tool result, `isError` or not).
    Result(Value),
    /// A JSON-RPC error object.
    RpcError(Value),
    /// An HTTP status other than 200, with the body.
    Http(u16, String),
    /// The request failed at the transport level, or the client-side deadline passed.
    Transport(String),
}

/// One MCP connection: stateless, or bound to a session.
pub struct Mcp {
    http: reqwest::Client,
    url: String,
    token: String,
    /// Client-side deadline of one request.
    deadline: Duration,
    session: Option<String>,
}

impl Mcp {
    pub fn stateless(http: reqwest::Client, url: &str, token: &str, deadline: Duration) -> Self {
        Mcp {
            http,
            url: url.to_string(),
            token: token.to_string(),
            deadline,
            session: None,
        }
    }

    /// Initializes a session (and sends `notifications/initialized`).
    pub async fn session(
        http: reqwest::Client,
        url: &str,
        token: &str,
        deadline: Duration,
    ) -> Self {
        Self::session_declaring(http, url, token, deadline, json!({})).await
    }

    /// Initializes a session as a client that declares `capabilities`.
    pub async fn session_declaring(
        http: reqwest::Client,
        url: &str,
        token: &str,
        deadline: Duration,
        capabilities: Value,
    ) -> Self {
        let mut mcp = Self::stateless(http, url, token, deadline);
        let init = json!({"jsonrpc":"2.0","id":0,"method":"initialize","params":{
            "protocolVersion":"2025-06-18","capabilities":capabilities,
            "clientInfo":{"name":"fault-injection","version":"1"}}});
        let resp = mcp.post(&init).send().await.expect("initialize");
        assert_eq!(resp.status(), 200, "initialize");
        let sid = resp
            .headers()
            .get("mcp-session-id")
            .and_then(|v| v.to_str().ok())
            .expect("the server offers a session")
            .to_string();
        let _ = resp.text().await;
        mcp.session = Some(sid);
        let note = json!({"jsonrpc":"2.0","method":"notifications/initialized"});
        let resp = mcp.post(&note).send().await.expect("initialized");
        assert!(resp.status().is_success(), "initialized: {}", resp.status());
        mcp
    }

    fn post(&self, body: &Value) -> reqwest::RequestBuilder {
        let mut req = self
            .http
            .post(&self.url)
            .bearer_auth(&self.token)
            .header("content-type", "application/json")
            .header("accept", "application/json, text/event-stream")
            .timeout(self.deadline)
            .body(body.to_string());
        if let Some(s) = &self.session {
            req = req
                .header("mcp-session-id", s)
                .header("mcp-protocol-version", "2025-06-18");
        }
        req
    }

    /// `tools/call`; never panics, whatever the server does.
    /// The session this connection is bound to, if any.
    #[allow(dead_code)]
    pub fn session_id(&self) -> Option<&str> {
        self.session.as_deref()
    }

    pub async fn call(&self, id: u64, tool: &str, args: &Value) -> Reply {
        let body = json!({"jsonrpc":"2.0","id":id,"method":"tools/call",
            "params":{"name":tool,"arguments":args}});
        let resp = match self.post(&body).send().await {
            Ok(r) => r,
            Err(e) => return Reply::Transport(e.to_string()),
        };
        let status = resp.status().as_u16();
        let text = match resp.text().await {
            Ok(t) => t,
            Err(e) => return Reply::Transport(format!("reading the body: {e}")),
        };
        if status != 200 {
            return Reply::Http(status, text);
        }
        let v = parse_body(&text);
        if let Some(e) = v.get("error") {
            Reply::RpcError(e.clone())
        } else if let Some(r) = v.get("result") {
            Reply::Result(r.clone())
        } else {
            Reply::Http(status, text)
        }
    }

    /// Ends the session (DELETE), so the server can drop it.
    pub async fn close(self) {
        if let Some(s) = &self.session {
            let resp = self
                .http
                .delete(&self.url)
                .bearer_auth(&self.token)
                .header("mcp-session-id", s)
                .timeout(self.deadline)
                .send()
                .await
                .expect("DELETE session");
            assert!(
                resp.status().is_success(),
                "DELETE session: {}",
                resp.status()
            );
        }
    }
}
