//! One measured run of one server: a fresh process, its idle footprint and tools/list, warm-up, the
//! load at each connection count (CPU per call, Notion requests per call) and the footprint after.

use anyhow::{Result, bail};
use notion_mcp_bench::load::{Budget, run};
use notion_mcp_bench::mcp::{McpClient, into_result};
use notion_mcp_bench::official::Official;
use notion_mcp_bench::process::{ServerProcess, process_cpu_ticks};
use notion_mcp_bench::{SAMPLE_TOKEN, http_client};
use serde_json::json;
use std::sync::Arc;
use std::time::Duration;

const READY_TIMEOUT: Duration = Duration::from_secs(60);

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    Ours,
    Official,
}

impl Kind {
    pub fn label(self) -> &'static str {
        match self {
            Kind::Ours => "notion-mcp-remote",
            Kind::Official => "official notion-mcp-server",
        }
    }
}

/// What one run of one server measured; `levels` follows `Args::connections`.
#[derive(Debug, Clone, Default)]
pub struct Sample {
    pub ready_ms: f64,
    pub idle_rss_kb: u64,
    pub loaded_rss_kb: u64,
    pub processes: u64,
    pub list_bytes: usize,
    pub tool_count: usize,
    pub notion_version: String,
    pub levels: Vec<Level>,
}

#[derive(Debug, Clone, Default)]
pub struct Level {
    pub throughput: f64,
    pub p50: f64,
    pub p99: f64,
    pub calls: usize,
    pub errors: usize,
    pub notion_per_call: f64,
    pub server_cpu_ms_per_call: f64,
    pub bench_cpu_ms_per_call: f64,
}

pub struct Ctx {
    pub fake: notion_fake::RunningFake,
    pub official: Official,
    pub page_id: String,
    pub connections: Vec<usize>,
    pub budget: Budget,
    pub warmup_calls: usize,
    pub ticks_per_ms: f64,
    /// Extra arguments for our server.
    pub ours_args: Vec<String>,
}

/// One fresh process of `kind`: start, idle footprint, tools/list, warm-up, load per connection
/// count, footprint after load, stop.
pub async fn run_server(ctx: &Ctx, kind: Kind) -> Result<Sample> {
    let http = http_client(1)?;
    let auth_token = format!("bench-{}", uuid_like());
    let (mut server, ready_path, bearer) = match kind {
        Kind::Ours => (
            ServerProcess::ours(
                ctx.fake.base_url(),
                &ctx.ours_args.iter().map(String::as_str).collect::<Vec<_>>(),
            )?,
            "/readyz",
            SAMPLE_TOKEN.to_string(),
        ),
        Kind::Official => (
            ctx.official
                .start(ctx.fake.base_url(), SAMPLE_TOKEN, &auth_token)?,
            "/health",
            auth_token.clone(),
        ),
    };
    let ready = server
        .wait_ready(&http, ready_path, false, READY_TIMEOUT)
        .await?;
    tokio::time::sleep(Duration::from_millis(500)).await;
    let idle = server.footprint()?;

    let max_conns = ctx.connections.iter().copied().max().unwrap_or(1);
    let mut clients = Vec::with_capacity(max_conns);
    for _ in 0..max_conns {
        let mut c = McpClient::new(http_client(1)?, &server.base, Some(&bearer));
        c.initialize().await?;
        clients.push(Arc::new(c));
    }
    let clients = Arc::new(clients);
    let list = clients[0].list_tools().await?;
    let result = into_result(list.message)?;
    let list_bytes = serde_json::to_string(&result)?.len();
    let tool_count = result["tools"].as_array().map_or(0, Vec::len);

    let (tool, arguments) = match kind {
        Kind::Ours => ("get_page", json!({"id": ctx.page_id})),
        Kind::Official => ("API-retrieve-a-page", json!({"page_id": ctx.page_id})),
    };
    let call = {
        let clients = clients.clone();
        move |worker: usize| {
            let (client, arguments) = (clients[worker].clone(), arguments.clone());
            async move {
                client.call_tool(tool, arguments).await?;
                Ok(())
            }
        }
    };

    let fake = &ctx.fake.fake;
    fake.reset_log();
    let warm = run(max_conns, Budget::Calls(ctx.warmup_calls), call.clone()).await?;
    if warm.errors > 0 {
        bail!(
            "{} of {} warm-up calls failed",
            warm.errors,
            ctx.warmup_calls
        );
    }
    let mut versions: Vec<String> = fake
        .requests()
        .iter()
        .filter_map(|r| r.notion_version().map(str::to_string))
        .collect();
    versions.sort();
    versions.dedup();

    let mut levels = Vec::new();
    for &conns in &ctx.connections {
        fake.reset_log();
        let server_before = server.footprint()?.cpu_ticks;
        let bench_before = process_cpu_ticks(std::process::id()).unwrap_or(0);
        let r = run(conns, ctx.budget, call.clone()).await?;
        let server_ticks = server.footprint()?.cpu_ticks.saturating_sub(server_before);
        let bench_ticks = process_cpu_ticks(std::process::id())
            .unwrap_or(0)
            .saturating_sub(bench_before);
        let ok = r.ok().max(1) as f64;
        let notion_requests = fake.count_status(200) + fake.count_status(0);
        levels.push(Level {
            throughput: r.throughput(),
            p50: r.percentile(0.5),
            p99: r.percentile(0.99),
            calls: r.ok(),
            errors: r.errors,
            notion_per_call: notion_requests as f64 / ok,
            server_cpu_ms_per_call: server_ticks as f64 / ctx.ticks_per_ms / ok,
            bench_cpu_ms_per_call: bench_ticks as f64 / ctx.ticks_per_ms / ok,
        });
    }
    let loaded = server.footprint()?;
    drop(clients);
    server.stop();
    fake.reset_log();
    Ok(Sample {
        ready_ms: ready.as_secs_f64() * 1e3,
        idle_rss_kb: idle.rss_kb,
        loaded_rss_kb: loaded.rss_kb,
        processes: loaded.processes,
        list_bytes,
        tool_count,
        notion_version: versions.join(", "),
        levels,
    })
}

/// A random hex string for the official server's HTTP auth token.
fn uuid_like() -> String {
    use std::hash::{BuildHasher, Hasher};
    let mut h = std::collections::hash_map::RandomState::new().build_hasher();
    h.write_u128(
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.as_nanos()),
    );
    format!("{:016x}", h.finish())
}
