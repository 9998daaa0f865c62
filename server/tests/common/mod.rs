//! The helpers shared by the server's integration tests: a fake Notion plus our server on loopback
//! (in process) with a tiny JSON-RPC client, the server binary as a child process ([`child`]), an
//! MCP client that classifies every reply ([`mcp`]), a real redis-server ([`redis`]), and small readers
//! of tool results.
#![allow(dead_code, clippy::unwrap_used)]

pub mod child;
pub mod mcp;
pub mod redis;

use clap::Parser;
use notion_fake::{FakeNotion, Fixture, RunningFake};
use notion_mcp_remote::app;
use notion_mcp_remote::config::{Cli, ServeArgs, Settings};
use serde_json::{Value, json};
use tokio::net::TcpListener;
use tokio_util::sync::CancellationToken;

pub struct Harness {
    pub fake: RunningFake,
    pub url: String,
    pub base: String,
    pub http: reqwest::Client,
    stop: CancellationToken,
    task: tokio::task::JoinHandle<anyhow::Result<()>>,
}

/// Default settings for tests: fast retries, generous pacing.
pub fn test_args() -> ServeArgs {
    let mut a = Cli::try_parse_from(["notion-mcp-remote"]).unwrap().serve;
    a.pacing_rps = 1000.0;
    a.pacing_burst = 1000;
    // No workspace lane: tests that count Notion requests would see each token's workspace
    // question (workspace_budget.rs turns it on).
    a.workspace_pacing_rps = Some(0.0);
    // No content index: tests that count Notion requests would see its crawler and access checks
    // (content_search.rs turns it on).
    a.no_content_index = true;
    a.retry_max_wait_secs = 10;
    a.shutdown_grace_secs = 1;
    a.auth_mode = notion_mcp_remote::config::AuthMode::NotionToken;
    a.store.kind = Some(notion_mcp_remote::config::StoreKind::Memory);
    // Tests of the per-caller limit turn it on themselves.
    a.oauth.rate_limit_per_minute = 0;
    a
}

impl Harness {
    pub async fn start(fixture: Fixture) -> Self {
        Self::start_with(fixture, |_| {}).await
    }

    pub async fn start_with(fixture: Fixture, tweak: impl FnOnce(&mut ServeArgs)) -> Self {
        let fake = FakeNotion::try_new(fixture).unwrap();
        Self::serving(&fake, tweak).await
    }

    /// A server on `fake`'s state, through a listener of its own on it: several of these on one
    /// fake are replicas of one deployment in front of one Notion.
    pub async fn serving(fake: &FakeNotion, tweak: impl FnOnce(&mut ServeArgs)) -> Self {
        let fake = fake.serve("127.0.0.1:0").await.unwrap();
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let mut args = test_args();
        args.listen = addr;
        args.notion_base_url = fake.base_url().parse().unwrap();
        tweak(&mut args);
        let settings = Settings::from_args(args).unwrap();
        let built = app::build(settings, Some("ntn_demo_acme".into()))
            .await
            .unwrap();
        let stop = CancellationToken::new();
        let task = tokio::spawn(app::serve(built, listener, stop.clone()));
        let base = format!("http://127.0.0.1:{}", addr.port());
        Harness {
            fake,
            url: format!("{base}/mcp"),
            base,
            http: reqwest::Client::new(),
            stop,
            task,
        }
    }

    /// Waits (at most 10 s) until this server's shared state on Redis is up.
    pub async fn redis_connected(&self) {
        let started = std::time::Instant::now();
        while !self.metrics().await.contains("notion_mcp_redis_degraded 0") {
            assert!(
                started.elapsed() < std::time::Duration::from_secs(10),
                "Redis never connected"
            );
            tokio::time::sleep(std::time::Duration::from_millis(50)).await;
        }
    }

    /// A harness around a server started elsewhere.
    pub fn from_parts(
        fake: RunningFake,
        url: String,
        base: String,
        stop: CancellationToken,
        task: tokio::task::JoinHandle<anyhow::Result<()>>,
    ) -> Self {
        Harness {
            fake,
            url,
            base,
            http: reqwest::Client::new(),
            stop,
            task,
        }
    }

    pub fn fake(&self) -> &FakeNotion {
        &self.fake.fake
    }

    /// A POST to `/mcp` with the headers MCP clients send and `token` as the bearer.
    pub fn mcp_request(&self, token: &str) -> reqwest::RequestBuilder {
        self.mcp_post().bearer_auth(token)
    }

    /// A 2026-07-28 request (`params` already carrying its `_meta`): the version, `Mcp-Method` and,
    /// for a tool call or a task, `Mcp-Name` headers, and the JSON-RPC body with id 1.
    pub fn stateless_request(
        &self,
        token: &str,
        method: &str,
        params: &Value,
    ) -> reqwest::RequestBuilder {
        let mut req = self
            .mcp_request(token)
            .header("mcp-protocol-version", "2026-07-28")
            .header("mcp-method", method);
        // `Mcp-Name` repeats the tool's name, or the task's id.
        let name = params.get("name").or_else(|| params.get("taskId"));
        if let Some(name) = name.and_then(Value::as_str) {
            req = req.header("mcp-name", name);
        }
        req.body(json!({"jsonrpc": "2.0", "id": 1, "method": method, "params": params}).to_string())
    }

    /// A 2025-06-18 POST of `body` in session `id`.
    pub async fn session_post(&self, token: &str, id: &str, body: &Value) -> reqwest::Response {
        self.mcp_request(token)
            .header("mcp-session-id", id)
            .header("mcp-protocol-version", "2025-06-18")
            .body(body.to_string())
            .send()
            .await
            .unwrap()
    }

    fn mcp_post(&self) -> reqwest::RequestBuilder {
        self.http
            .post(&self.url)
            .header("content-type", "application/json")
            .header("accept", "application/json, text/event-stream")
    }

    /// POST one JSON-RPC message; returns the HTTP status and the parsed JSON body (SSE unwrapped).
    pub async fn post(&self, token: Option<&str>, body: &Value) -> (u16, Value) {
        let mut req = self.mcp_post().body(body.to_string());
        if let Some(t) = token {
            req = req.bearer_auth(t);
        }
        let resp = req.send().await.unwrap();
        let status = resp.status().as_u16();
        let text = resp.text().await.unwrap();
        (status, parse_body(&text))
    }

    /// A JSON-RPC request; returns the whole response object.
    pub async fn rpc(&self, token: Option<&str>, method: &str, params: Value) -> Value {
        let (status, v) = self
            .post(
                token,
                &json!({"jsonrpc":"2.0","id":1,"method":method,"params":params}),
            )
            .await;
        assert!(
            status == 200 || status == 400 || status == 404,
            "unexpected status {status}: {v}"
        );
        v
    }

    /// Call a tool; returns the `result` object (panics on a JSON-RPC error).
    pub async fn call(&self, token: &str, tool: &str, args: Value) -> Value {
        let v = self
            .rpc(
                Some(token),
                "tools/call",
                json!({"name": tool, "arguments": args}),
            )
            .await;
        assert!(v.get("error").is_none(), "JSON-RPC error from {tool}: {v}");
        v["result"].clone()
    }

    /// Call a tool that must succeed; returns its text.
    pub async fn text(&self, token: &str, tool: &str, args: Value) -> String {
        let r = self.call(token, tool, args.clone()).await;
        assert_ne!(r["isError"], json!(true), "{tool}({args}) failed: {r}");
        result_text(&r)
    }

    /// Start a graceful shutdown, as SIGTERM would.
    /// The server's `/metrics` text.
    pub async fn metrics(&self) -> String {
        self.http
            .get(format!("{}/metrics", self.base))
            .send()
            .await
            .unwrap()
            .text()
            .await
            .unwrap()
    }

    pub fn begin_shutdown(&self) {
        self.stop.cancel();
    }

    /// Stops the server as SIGTERM would and waits for it; fails the test if serving ended with an
    /// error or a panic.
    pub async fn shutdown(self) {
        self.stop.cancel();
        match self.task.await {
            Ok(Ok(())) => {}
            Ok(Err(e)) => panic!("the server stopped with an error: {e:#}"),
            Err(e) if e.is_panic() => std::panic::resume_unwind(e.into_panic()),
            Err(e) => panic!("the server task did not finish: {e}"),
        }
        self.fake.shutdown().await;
    }
}

/// The id the fake gives the fixture object named `name`.
pub fn id(name: &str) -> String {
    notion_fake::stable_id(name).to_string()
}

/// The first UUID in a tool's text (the id of what it created).
pub fn first_id(text: &str) -> String {
    let hex = |c: char| c.is_ascii_hexdigit() || c == '-';
    text.split(|c: char| !hex(c))
        .find(|w| w.len() == 36 && w.matches('-').count() == 4)
        .unwrap_or_else(|| panic!("no id in {text}"))
        .to_string()
}

/// The `error` object of a tool result that must be an error.
pub fn error_of(r: &Value) -> &Value {
    assert_eq!(r["isError"], true, "expected an error: {r}");
    &r["structuredContent"]["error"]
}

/// The text blocks of a tool result, joined.
pub fn result_text(r: &Value) -> String {
    r["content"]
        .as_array()
        .map(|c| {
            c.iter()
                .filter_map(|b| b["text"].as_str())
                .collect::<Vec<_>>()
                .join("\n")
        })
        .unwrap_or_default()
}

/// The Notion content of a tool result's text: what sits between the `<notion-data>` line and the
/// `</notion-data>` line, which must both be there.
pub fn notion_data(text: &str) -> &str {
    let inner = text
        .strip_prefix("<notion-data>\n")
        .unwrap_or_else(|| panic!("no <notion-data> line first in: {text}"));
    let end = inner
        .find("\n</notion-data>")
        .unwrap_or_else(|| panic!("no </notion-data> line in: {text}"));
    &inner[..end]
}

/// A tool's JSON output (`format: "json"`), read from between the `<notion-data>` lines.
pub fn json_data(text: &str) -> Value {
    serde_json::from_str(notion_data(text)).unwrap_or_else(|e| panic!("not JSON ({e}): {text}"))
}

/// Parse a JSON body or the last `data:` event of an SSE body.
pub fn parse_body(text: &str) -> Value {
    if let Ok(v) = serde_json::from_str(text) {
        return v;
    }
    text.lines()
        .rev()
        .filter_map(|l| l.strip_prefix("data:"))
        .find_map(|d| serde_json::from_str::<Value>(d.trim()).ok())
        .unwrap_or(Value::Null)
}
