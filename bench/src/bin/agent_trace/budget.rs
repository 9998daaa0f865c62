//! The second part: three replicas sharing one workspace's Notion budget through Redis, with an
//! uneven load balancer sending every call of that workspace to one of them.
//!
//! The calls miss the cache (cache off, `get_page` of a different row each time), so each costs one
//! Notion request; a few are kept in flight so the replica always has a request waiting for its
//! budget. Budget use is the requests the fake answered during the window ÷ what the workspace's
//! bucket allows in it (`rate × window + burst`).

use crate::workspace::Workspace;
use crate::{BURST, RATE};
use anyhow::{Context, Result};
use notion_fake::{FakeNotion, RateLimit};
use notion_mcp_bench::load::{self, Budget};
use notion_mcp_bench::mcp::McpClient;
use notion_mcp_bench::process::{ServerProcess, on_path};
use serde_json::json;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

/// Calls in flight at once: enough to keep the replica's pacer busy, few enough that the calls
/// still queued when the window closes finish soon.
const IN_FLIGHT: usize = 6;
const REPLICAS: u32 = 3;

/// Where the Redis comes from.
pub enum Redis {
    /// `--redis-url`: an existing one.
    Given(String),
    /// Started by the bench (stopped when dropped).
    Started(ServerProcess),
}

impl Redis {
    /// `--redis-url` if given, else a `redis-server` from `$PATH` on a free port; `None` when neither.
    pub async fn find(url: Option<&str>) -> Result<Option<Redis>> {
        if let Some(u) = url {
            return Ok(Some(Redis::Given(u.to_string())));
        }
        let Some(exe) = on_path("redis-server") else {
            return Ok(None);
        };
        let mut p = ServerProcess::redis(&exe)?;
        p.wait_listening(Duration::from_secs(10)).await?;
        Ok(Some(Redis::Started(p)))
    }

    pub fn url(&self) -> &str {
        match self {
            Redis::Given(u) => u,
            Redis::Started(p) => &p.base,
        }
    }
}

/// What the window measured.
#[derive(Debug)]
pub struct Outcome {
    pub window: Duration,
    /// Requests the fake answered without a 429 while the window was open.
    pub granted: usize,
    pub rate_limited: usize,
    pub calls: usize,
    pub errors: usize,
}

impl Outcome {
    /// Granted ÷ `(rate × window + burst)`.
    pub fn budget_use(&self) -> f64 {
        let allowed = RATE * self.window.as_secs_f64() + f64::from(BURST);
        self.granted as f64 / allowed
    }
}

/// Runs the window: `seconds` of calls from user 0 of `ws`, all to the first of three replicas.
pub async fn run(ws: &Workspace, redis_url: &str, seconds: f64) -> Result<Outcome> {
    let fake = FakeNotion::start(ws.fixture.clone()).await?;
    fake.set_workspace_rate_limit(Some(RateLimit::workspace(RATE, BURST)));
    let http = notion_mcp_bench::http_client(IN_FLIGHT)?;
    let replicas = REPLICAS.to_string();
    let extra = [
        "--replicas",
        replicas.as_str(),
        "--redis-url",
        redis_url,
        "--cache-max-age-secs",
        "0",
    ];
    let mut servers = Vec::new();
    for _ in 0..REPLICAS {
        servers.push(ServerProcess::ours_auth(
            fake.base_url(),
            "notion-token",
            RATE,
            BURST,
            &extra,
        )?);
    }
    for s in &mut servers {
        s.wait_ready(&http, "/readyz", false, Duration::from_secs(20))
            .await?;
    }
    // A fresh bucket when the window opens.
    fake.set_workspace_rate_limit(Some(RateLimit::workspace(RATE, BURST)));
    fake.reset_log();
    let client = Arc::new(McpClient::new(
        http.clone(),
        &servers[0].base,
        Some(&ws.users[0]),
    ));
    let rows: Arc<Vec<String>> = Arc::new(ws.rows.iter().map(ToString::to_string).collect());
    let next = Arc::new(AtomicUsize::new(0));
    let window = Duration::from_secs_f64(seconds);
    let opened = std::time::Instant::now();
    let counter = {
        let fake = fake.fake.clone();
        tokio::spawn(async move {
            tokio::time::sleep_until((opened + window).into()).await;
            fake.requests().iter().filter(|r| r.status != 429).count()
        })
    };
    let result = load::run(IN_FLIGHT, Budget::Duration(window), move |_| {
        let (client, rows, next) = (client.clone(), rows.clone(), next.clone());
        async move {
            let i = next.fetch_add(1, Ordering::Relaxed) % rows.len();
            client
                .call_tool("get_page", json!({"id": rows[i]}))
                .await
                .map(drop)
        }
    })
    .await?;
    let granted = counter.await.context("the window's counter")?;
    let outcome = Outcome {
        window,
        granted,
        rate_limited: fake.count_status(429),
        calls: result.ok(),
        errors: result.errors,
    };
    drop(servers);
    fake.shutdown().await;
    Ok(outcome)
}
