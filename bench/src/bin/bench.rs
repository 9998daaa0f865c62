//! `notion-mcp-bench`: load and footprint numbers for the server, printed as a table.
//!
//! Runs the real `notion-mcp-remote` binary (next to this one, or `$NOTION_MCP_BIN`) as a child process
//! against an in-process fake Notion with zero latency, then measures: start-to-ready time, idle RSS,
//! tools/list bytes, tools/call throughput and the latency the server adds over calling the fake
//! directly (p50/p99), and RSS per idle MCP session. Build with `--release` for meaningful numbers:
//! `cargo build --release -p notion-mcp-remote -p notion-mcp-bench && target/release/notion-mcp-bench`.

use anyhow::{Result, bail};
use notion_mcp_bench::load::{Budget, run};
use notion_mcp_bench::mcp::McpClient;
use notion_mcp_bench::process::ServerProcess;
use notion_mcp_bench::report::Table;
use notion_mcp_bench::stats::LoadResult;
use notion_mcp_bench::{SAMPLE_TOKEN, first_page_id, http_client};
use serde_json::json;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

const READY_TIMEOUT: Duration = Duration::from_secs(10);

#[tokio::main]
async fn main() -> Result<()> {
    let concurrency: usize = arg("--concurrency").unwrap_or(16);
    let calls: usize = arg("--calls").unwrap_or(20_000);
    let latency_calls: usize = arg("--latency-calls").unwrap_or(3_000);
    let sessions: usize = arg("--sessions").unwrap_or(1_000);

    let fake = notion_fake::FakeNotion::start(notion_fake::Fixture::sample()).await?;
    let http = http_client(concurrency)?;
    let page_id = first_page_id(&http, fake.base_url()).await?;

    let mut server = ServerProcess::ours(fake.base_url(), &[])?;
    let ready = server
        .wait_ready(&http, "/readyz", false, READY_TIMEOUT)
        .await?;
    tokio::time::sleep(Duration::from_millis(300)).await;
    let idle_rss = server.footprint()?.rss_kb;

    let lister = McpClient::new(http.clone(), &server.base, None);
    let list = lister.list_tools().await?.message;
    let list_bytes = serde_json::to_string(&list["result"])?.len();
    let tool_count = list["result"]["tools"].as_array().map_or(0, Vec::len);

    // Direct calls to the fake: the baseline the server's overhead is measured against. Latency is
    // measured one call at a time (no queueing on the 2 cores), throughput with `concurrency` clients.
    let direct_url = format!("{}/v1/pages/{page_id}", fake.base_url());
    let direct_call = {
        let http = http.clone();
        move |_| {
            let (http, url) = (http.clone(), direct_url.clone());
            async move {
                let r = http
                    .get(&url)
                    .bearer_auth(SAMPLE_TOKEN)
                    .header("Notion-Version", "2026-03-11")
                    .send()
                    .await?;
                if !r.status().is_success() {
                    bail!("fake answered {}", r.status());
                }
                r.bytes().await?;
                Ok(())
            }
        }
    };
    let direct = run(1, Budget::Calls(latency_calls), direct_call.clone()).await?;

    // The same Notion request through MCP (get_page = one Notion call), plus a mix.
    let client = Arc::new(McpClient::new(
        http.clone(),
        &server.base,
        Some(SAMPLE_TOKEN),
    ));
    let get_page_call = {
        let (client, page_id) = (client.clone(), page_id.clone());
        move |_| {
            let (client, id) = (client.clone(), page_id.clone());
            async move {
                client.call_tool("get_page", json!({"id": id})).await?;
                Ok(())
            }
        }
    };
    let single = run(1, Budget::Calls(latency_calls), get_page_call.clone()).await?;
    let direct_tp = run(concurrency, Budget::Calls(calls / 2), direct_call).await?;
    let single_tp = run(concurrency, Budget::Calls(calls), get_page_call).await?;
    let mix = run(concurrency, Budget::Calls(calls / 4), {
        let (client, page_id) = (client.clone(), page_id.clone());
        let n = Arc::new(AtomicUsize::new(0));
        move |_| {
            let (client, id, n) = (client.clone(), page_id.clone(), n.clone());
            async move {
                let (name, args) = match n.fetch_add(1, Ordering::Relaxed) % 4 {
                    0 => ("search", json!({"query": "Project"})),
                    1 => ("fetch", json!({"id": id})),
                    2 => ("list_users", json!({})),
                    _ => ("get_page", json!({"id": id})),
                };
                client.call_tool(name, args).await?;
                Ok(())
            }
        }
    })
    .await?;
    let loaded_rss = server.footprint()?.rss_kb;
    server.stop();

    // Sessions: a second server with sessions on; initialize N sessions and keep them idle.
    let mut server = ServerProcess::ours(fake.base_url(), &["--sessions"])?;
    server
        .wait_ready(&http, "/readyz", false, READY_TIMEOUT)
        .await?;
    tokio::time::sleep(Duration::from_millis(300)).await;
    let before = server.footprint()?.rss_kb;
    let mut opened = 0;
    for _ in 0..sessions {
        let mut c = McpClient::new(http.clone(), &server.base, Some(SAMPLE_TOKEN));
        c.initialize().await?;
        if c.session().is_some() {
            opened += 1;
        }
    }
    // Past the server's replay window for finished request streams, what remains is the idle cost.
    tokio::time::sleep(Duration::from_secs(11)).await;
    let after = server.footprint()?.rss_kb;
    server.stop();
    fake.shutdown().await;

    let added = |p: f64| (single.percentile(p) - direct.percentile(p)).max(0.0);
    println!(
        "notion-mcp-remote benchmark ({} cores, concurrency {concurrency})",
        std::thread::available_parallelism().map_or(0, |n| n.get())
    );
    let mut t = Table::new(["metric", "value"]);
    t.row([
        "start to ready".into(),
        format!("{:.1} ms", ready.as_secs_f64() * 1e3),
    ]);
    t.row([
        "idle RSS".into(),
        format!("{:.1} MB", idle_rss as f64 / 1024.0),
    ]);
    t.row([
        "RSS after load".into(),
        format!("{:.1} MB", loaded_rss as f64 / 1024.0),
    ]);
    t.row([
        "tools/list".into(),
        format!("{list_bytes} bytes, {tool_count} tools"),
    ]);
    let cell = |r: &LoadResult, with_tp: bool| {
        let tp = if with_tp {
            format!("{:.0}/s, ", r.throughput())
        } else {
            String::new()
        };
        format!(
            "{tp}p50 {:.3} ms, p99 {:.3} ms",
            r.percentile(0.5),
            r.percentile(0.99)
        )
    };
    t.row([
        "fake direct, 1 client (GET page)".into(),
        cell(&direct, false),
    ]);
    t.row(["get_page via MCP, 1 client".into(), cell(&single, false)]);
    t.row([
        "added latency (MCP − direct)".into(),
        format!("p50 {:.3} ms, p99 {:.3} ms", added(0.5), added(0.99)),
    ]);
    t.row([
        format!("fake direct, {concurrency} clients"),
        cell(&direct_tp, true),
    ]);
    t.row([
        format!("get_page via MCP, {concurrency} clients"),
        cell(&single_tp, true),
    ]);
    t.row([
        format!("mixed tools via MCP, {concurrency} clients"),
        cell(&mix, true),
    ]);
    t.row([
        "idle sessions (--sessions)".into(),
        format!(
            "{opened} opened, {:.1} KB each",
            (after.saturating_sub(before)) as f64 / opened.max(1) as f64
        ),
    ]);
    let errors = direct.errors + single.errors + direct_tp.errors + single_tp.errors + mix.errors;
    t.row(["errors".into(), errors.to_string()]);
    t.print();
    Ok(())
}

fn arg<T: std::str::FromStr>(name: &str) -> Option<T> {
    let args: Vec<String> = std::env::args().collect();
    args.iter()
        .position(|a| a == name)
        .and_then(|i| args.get(i + 1))
        .and_then(|v| v.parse().ok())
}
