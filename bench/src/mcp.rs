//! A minimal MCP client over Streamable HTTP (JSON-RPC over POST): `initialize` (keeping the
//! `Mcp-Session-Id` the server hands out, if any), `tools/list` and `tools/call`. Answers may come as
//! a JSON body or as an SSE stream; both are read. The same client drives every server under test.

use anyhow::{Context, Result, bail};
use serde_json::{Value, json};
use std::sync::atomic::{AtomicU64, Ordering};

/// The protocol version the bench asks for.
pub const PROTOCOL_VERSION: &str = "2025-06-18";

/// An answer to one request: the JSON-RPC message and the size of the HTTP body it came in.
#[derive(Debug, Clone)]
pub struct Answer {
    pub message: Value,
    pub body_bytes: usize,
}

/// One MCP connection to `{base}/mcp`: a bearer token, extra headers, and the session once initialized.
#[derive(Debug)]
pub struct McpClient {
    http: reqwest::Client,
    url: String,
    bearer: Option<String>,
    headers: Vec<(String, String)>,
    session: Option<String>,
    next_id: AtomicU64,
}

impl McpClient {
    /// A client for the MCP endpoint `{base}/mcp`, sending `Authorization: Bearer {bearer}` if given.
    pub fn new(http: reqwest::Client, base: &str, bearer: Option<&str>) -> Self {
        Self {
            http,
            url: format!("{}/mcp", base.trim_end_matches('/')),
            bearer: bearer.map(str::to_string),
            headers: Vec::new(),
            session: None,
            next_id: AtomicU64::new(1),
        }
    }

    /// Adds a header sent with every request.
    pub fn with_header(mut self, name: &str, value: &str) -> Self {
        self.headers.push((name.to_string(), value.to_string()));
        self
    }

    /// The session id the server assigned at `initialize`, if it uses sessions.
    pub fn session(&self) -> Option<&str> {
        self.session.as_deref()
    }

    /// `initialize` then `notifications/initialized`; keeps the session id if the server sent one.
    pub async fn initialize(&mut self) -> Result<Value> {
        let params = json!({
            "protocolVersion": PROTOCOL_VERSION,
            "capabilities": {},
            "clientInfo": {"name": "notion-mcp-bench", "version": env!("CARGO_PKG_VERSION")}
        });
        let (answer, session) = self.send("initialize", &params).await?;
        if let Some(s) = session {
            self.session = Some(s);
        }
        let result = into_result(answer.message)?;
        self.notify("notifications/initialized").await?;
        Ok(result)
    }

    /// `tools/list`: the result, and the HTTP body size.
    pub async fn list_tools(&self) -> Result<Answer> {
        let (answer, _) = self.send("tools/list", &json!({})).await?;
        Ok(answer)
    }

    /// `tools/call`; fails on a JSON-RPC error or a result with `isError: true`.
    pub async fn call_tool(&self, name: &str, arguments: Value) -> Result<Value> {
        let params = json!({"name": name, "arguments": arguments});
        let (answer, _) = self.send("tools/call", &params).await?;
        let result = into_result(answer.message)?;
        if result["isError"] == json!(true) {
            bail!(
                "{name} returned an error: {}",
                truncate(&result.to_string())
            );
        }
        Ok(result)
    }

    /// Sends a notification (no id, no answer expected).
    pub async fn notify(&self, method: &str) -> Result<()> {
        let body = json!({"jsonrpc": "2.0", "method": method});
        let r = self.post(&body).send().await?;
        let status = r.status();
        r.bytes().await?;
        if !status.is_success() {
            bail!("{method}: HTTP {status}");
        }
        Ok(())
    }

    fn post(&self, body: &Value) -> reqwest::RequestBuilder {
        let mut req = self
            .http
            .post(&self.url)
            .header("content-type", "application/json")
            .header("accept", "application/json, text/event-stream")
            .header("mcp-protocol-version", PROTOCOL_VERSION)
            .body(body.to_string());
        if let Some(t) = &self.bearer {
            req = req.bearer_auth(t);
        }
        if let Some(s) = &self.session {
            req = req.header("mcp-session-id", s);
        }
        for (k, v) in &self.headers {
            req = req.header(k, v);
        }
        req
    }

    /// Sends a request and reads its answer; returns it with the session header (if any).
    async fn send(&self, method: &str, params: &Value) -> Result<(Answer, Option<String>)> {
        let id = self.next_id.fetch_add(1, Ordering::Relaxed);
        let body = json!({"jsonrpc": "2.0", "id": id, "method": method, "params": params});
        let r = self
            .post(&body)
            .send()
            .await
            .with_context(|| format!("{method}: sending"))?;
        let status = r.status();
        let session = r
            .headers()
            .get("mcp-session-id")
            .and_then(|v| v.to_str().ok())
            .map(str::to_string);
        let sse = r
            .headers()
            .get("content-type")
            .and_then(|v| v.to_str().ok())
            .is_some_and(|v| v.starts_with("text/event-stream"));
        let bytes = r
            .bytes()
            .await
            .with_context(|| format!("{method}: reading"))?;
        let text = String::from_utf8_lossy(&bytes);
        if !status.is_success() {
            bail!("{method}: HTTP {status}: {}", truncate(&text));
        }
        let message = if sse {
            answer_in_sse(&text, id).with_context(|| {
                format!("{method}: no answer in the SSE stream: {}", truncate(&text))
            })?
        } else {
            serde_json::from_str(&text)
                .with_context(|| format!("{method}: not JSON: {}", truncate(&text)))?
        };
        Ok((
            Answer {
                message,
                body_bytes: bytes.len(),
            },
            session,
        ))
    }
}

/// The JSON-RPC response with `id` among the `data:` events of an SSE body (multi-line data joined).
pub fn answer_in_sse(text: &str, id: u64) -> Option<Value> {
    let mut data = String::new();
    let mut found = None;
    let mut flush = |data: &mut String| {
        if !data.is_empty()
            && let Ok(v) = serde_json::from_str::<Value>(data)
            && v["id"] == json!(id)
        {
            found = Some(v);
        }
        data.clear();
    };
    for line in text.lines() {
        if line.is_empty() {
            flush(&mut data);
        } else if let Some(d) = line.strip_prefix("data:") {
            if !data.is_empty() {
                data.push('\n');
            }
            data.push_str(d.strip_prefix(' ').unwrap_or(d));
        }
    }
    flush(&mut data);
    found
}

/// The `result` of a JSON-RPC response, or its `error` as an error.
pub fn into_result(message: Value) -> Result<Value> {
    if let Some(e) = message.get("error") {
        bail!("JSON-RPC error: {e}");
    }
    match message {
        Value::Object(mut m) => m.remove("result").context("a response without result"),
        other => bail!("not a JSON-RPC response: {}", truncate(&other.to_string())),
    }
}

fn truncate(s: &str) -> &str {
    let mut end = s.len().min(300);
    while !s.is_char_boundary(end) {
        end -= 1;
    }
    &s[..end]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn finds_the_answer_among_sse_events() {
        let text = "event: message\ndata: {\"jsonrpc\":\"2.0\",\"method\":\"notifications/progress\"}\n\n\
                    id: 7\nevent: message\ndata: {\"jsonrpc\":\"2.0\",\n\
                    data: \"id\":3,\"result\":{\"ok\":true}}\n\n";
        let v = answer_in_sse(text, 3).expect("answer");
        assert_eq!(v["result"]["ok"], json!(true));
        assert!(answer_in_sse(text, 4).is_none());
        assert!(answer_in_sse("data: not json\n\n", 1).is_none());
        assert!(answer_in_sse("", 1).is_none());
    }

    #[test]
    fn results_and_errors() {
        let ok = into_result(json!({"jsonrpc":"2.0","id":1,"result":{"tools":[]}}));
        assert_eq!(ok.ok(), Some(json!({"tools": []})));
        assert!(into_result(json!({"jsonrpc":"2.0","id":1,"error":{"code":-32601}})).is_err());
        assert!(into_result(json!([1, 2])).is_err());
        assert_eq!(truncate("é".repeat(400).as_str()).len(), 300);
    }
}
