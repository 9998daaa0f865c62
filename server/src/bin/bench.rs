//! `notion-mcp-bench`: load and footprint numbers for the server, printed as a table.
//!
//! Runs the real `notion-mcp-remote` binary (next to this one) as a child process against an
//! in-process fake Notion with zero latency, then measures: start-to-ready time, idle RSS, tools/list
//! bytes, tools/call throughput and the latency the server adds over calling the fake directly
//! (p50/p99), and RSS per idle MCP session. Build with `--release` for meaningful numbers:
//! `cargo build --release -p notion-mcp-remote && target/release/notion-mcp-bench`.

use anyhow::{Context, Result, bail};
use serde_json::{Value, json};
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::time::{Duration, Instant};

const TOKEN: &str = "ntn_demo_acme";

#[tokio::main]
async fn main() -> Result<()> {
    let concurrency: usize = arg("--concurrency").unwrap_or(16);
    let calls: usize = arg("--calls").unwrap_or(20_000);
    let latency_calls: usize = arg("--latency-calls").unwrap_or(3_000);
    let sessions: usize = arg("--sessions").unwrap_or(1_000);
    notion_mcp_remote::notion::client::install_crypto_provider();

    let fake = notion_fake::FakeNotion::start(notion_fake::Fixture::sample()).await?;
    let http = reqwest::Client::builder()
        .pool_max_idle_per_host(concurrency * 2)
        .build()?;
    let page_id = first_page_id(&http, fake.base_url()).await?;

    let port = free_port()?;
    let started = Instant::now();
    let mut server = spawn_server(fake.base_url(), port)?;
    let base = format!("http://127.0.0.1:{port}");
    wait_ready(&http, &base).await?;
    let ready = started.elapsed();
    tokio::time::sleep(Duration::from_millis(300)).await;
    let idle_rss = rss_kb(server.id())?;

    let list = post(
        &http,
        &base,
        &json!({"jsonrpc":"2.0","id":1,"method":"tools/list"}),
        None,
    )
    .await?;
    let list_bytes = serde_json::to_string(&list["result"])?.len();
    let tool_count = list["result"]["tools"].as_array().map_or(0, Vec::len);

    // Direct calls to the fake: the baseline the server's overhead is measured against. Latency is
    // measured one call at a time (no queueing on the 2 cores), throughput with `concurrency` clients.
    let direct_url = format!("{}/v1/pages/{page_id}", fake.base_url());
    let direct_call = {
        let http = http.clone();
        move || {
            let http = http.clone();
            let url = direct_url.clone();
            async move {
                let r = http
                    .get(&url)
                    .bearer_auth(TOKEN)
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
    let direct = run_load(1, latency_calls, direct_call.clone()).await?;

    // The same Notion request through MCP (get_page = one Notion call), plus a mix.
    let get_page_call = {
        let (http, base, page_id) = (http.clone(), base.clone(), page_id.clone());
        move || {
            let (http, base, id) = (http.clone(), base.clone(), page_id.clone());
            async move {
                let body = json!({"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"get_page","arguments":{"id": id}}});
                let v = post(&http, &base, &body, Some(TOKEN)).await?;
                if v["result"]["isError"] == json!(true) || v.get("error").is_some() {
                    bail!("tool failed: {v}");
                }
                Ok(())
            }
        }
    };
    let single = run_load(1, latency_calls, get_page_call.clone()).await?;
    let direct_tp = run_load(concurrency, calls / 2, direct_call).await?;
    let single_tp = run_load(concurrency, calls, get_page_call).await?;
    let mix = run_load(concurrency, calls / 4, {
        let (http, base, page_id) = (http.clone(), base.clone(), page_id.clone());
        let n = Arc::new(std::sync::atomic::AtomicUsize::new(0));
        move || {
            let (http, base, id, n) = (http.clone(), base.clone(), page_id.clone(), n.clone());
            async move {
                let (name, args) = match n.fetch_add(1, std::sync::atomic::Ordering::Relaxed) % 4 {
                    0 => ("search", json!({"query": "Project"})),
                    1 => ("fetch", json!({"id": id})),
                    2 => ("list_users", json!({})),
                    _ => ("get_page", json!({"id": id})),
                };
                let body = json!({"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":name,"arguments":args}});
                let v = post(&http, &base, &body, Some(TOKEN)).await?;
                if v["result"]["isError"] == json!(true) || v.get("error").is_some() {
                    bail!("{name} failed: {v}");
                }
                Ok(())
            }
        }
    })
    .await?;
    let loaded_rss = rss_kb(server.id())?;
    let _ = server.kill();
    let _ = server.wait();

    // Sessions: a second server with sessions on; initialize N sessions and keep them idle.
    let port = free_port()?;
    let mut server = spawn_server_with(fake.base_url(), port, &["--sessions"])?;
    let base2 = format!("http://127.0.0.1:{port}");
    wait_ready(&http, &base2).await?;
    tokio::time::sleep(Duration::from_millis(300)).await;
    let before = rss_kb(server.id())?;
    let init = json!({"jsonrpc":"2.0","id":1,"method":"initialize","params":{"protocolVersion":"2025-11-25","capabilities":{},"clientInfo":{"name":"bench","version":"1"}}});
    let mut opened = 0;
    for _ in 0..sessions {
        let r = http
            .post(format!("{base2}/mcp"))
            .bearer_auth(TOKEN)
            .header("content-type", "application/json")
            .header("accept", "application/json, text/event-stream")
            .body(init.to_string())
            .send()
            .await?;
        if r.headers().contains_key("mcp-session-id") {
            opened += 1;
        }
        r.bytes().await?;
    }
    // Past the server's replay window for finished request streams, what remains is the idle cost.
    tokio::time::sleep(Duration::from_secs(11)).await;
    let after = rss_kb(server.id())?;
    let _ = server.kill();
    let _ = server.wait();
    fake.shutdown().await;

    let added = |p: f64| (single.percentile(p) - direct.percentile(p)).max(0.0);
    println!(
        "notion-mcp-remote benchmark ({} cores, concurrency {concurrency})",
        std::thread::available_parallelism().map_or(0, |n| n.get())
    );
    println!("| metric | value |\n|---|---|");
    println!("| start to ready | {:.1} ms |", ready.as_secs_f64() * 1e3);
    println!("| idle RSS | {:.1} MB |", idle_rss as f64 / 1024.0);
    println!("| RSS after load | {:.1} MB |", loaded_rss as f64 / 1024.0);
    println!("| tools/list | {list_bytes} bytes, {tool_count} tools |");
    let row = |name: String, r: &LoadResult, with_tp: bool| {
        let tp = if with_tp {
            format!("{:.0}/s, ", r.throughput())
        } else {
            String::new()
        };
        println!(
            "| {name} | {tp}p50 {:.3} ms, p99 {:.3} ms |",
            r.percentile(0.5),
            r.percentile(0.99)
        );
    };
    row("fake direct, 1 client (GET page)".into(), &direct, false);
    row("get_page via MCP, 1 client".into(), &single, false);
    println!(
        "| added latency (MCP − direct) | p50 {:.3} ms, p99 {:.3} ms |",
        added(0.5),
        added(0.99)
    );
    row(
        format!("fake direct, {concurrency} clients"),
        &direct_tp,
        true,
    );
    row(
        format!("get_page via MCP, {concurrency} clients"),
        &single_tp,
        true,
    );
    row(
        format!("mixed tools via MCP, {concurrency} clients"),
        &mix,
        true,
    );
    println!(
        "| idle sessions (--sessions) | {opened} opened, {:.1} KB each |",
        (after.saturating_sub(before)) as f64 / opened.max(1) as f64
    );
    let errors = direct.errors + single.errors + direct_tp.errors + single_tp.errors + mix.errors;
    println!("| errors | {errors} |");
    Ok(())
}

struct LoadResult {
    latencies_ms: Vec<f64>,
    elapsed: Duration,
    errors: usize,
}

impl LoadResult {
    fn percentile(&self, p: f64) -> f64 {
        if self.latencies_ms.is_empty() {
            return 0.0;
        }
        let i = ((self.latencies_ms.len() as f64 - 1.0) * p).round() as usize;
        self.latencies_ms[i.min(self.latencies_ms.len() - 1)]
    }
    fn throughput(&self) -> f64 {
        self.latencies_ms.len() as f64 / self.elapsed.as_secs_f64()
    }
}

async fn run_load<F, Fut>(concurrency: usize, total: usize, make: F) -> Result<LoadResult>
where
    F: Fn() -> Fut + Send + Sync + 'static,
    Fut: std::future::Future<Output = Result<()>> + Send + 'static,
{
    let make = Arc::new(make);
    let remaining = Arc::new(std::sync::atomic::AtomicUsize::new(total));
    let started = Instant::now();
    let mut workers = Vec::new();
    for _ in 0..concurrency {
        let (make, remaining) = (make.clone(), remaining.clone());
        workers.push(tokio::spawn(async move {
            let mut lat = Vec::new();
            let mut errors = 0;
            while remaining
                .fetch_update(
                    std::sync::atomic::Ordering::SeqCst,
                    std::sync::atomic::Ordering::SeqCst,
                    |n| n.checked_sub(1),
                )
                .is_ok()
            {
                let t = Instant::now();
                match make().await {
                    Ok(()) => lat.push(t.elapsed().as_secs_f64() * 1e3),
                    Err(e) => {
                        errors += 1;
                        if errors == 1 {
                            eprintln!("call failed: {e:#}");
                        }
                    }
                }
            }
            (lat, errors)
        }));
    }
    let mut latencies_ms = Vec::with_capacity(total);
    let mut errors = 0;
    for w in workers {
        let (l, e) = w.await?;
        latencies_ms.extend(l);
        errors += e;
    }
    let elapsed = started.elapsed();
    latencies_ms.sort_by(|a, b| a.total_cmp(b));
    Ok(LoadResult {
        latencies_ms,
        elapsed,
        errors,
    })
}

async fn post(
    http: &reqwest::Client,
    base: &str,
    body: &Value,
    token: Option<&str>,
) -> Result<Value> {
    let mut req = http
        .post(format!("{base}/mcp"))
        .header("content-type", "application/json")
        .header("accept", "application/json, text/event-stream")
        .body(body.to_string());
    if let Some(t) = token {
        req = req.bearer_auth(t);
    }
    let text = req.send().await?.text().await?;
    serde_json::from_str(&text)
        .with_context(|| format!("not JSON: {}", &text[..text.len().min(200)]))
}

async fn first_page_id(http: &reqwest::Client, fake: &str) -> Result<String> {
    let v: Value = http
        .post(format!("{fake}/v1/search"))
        .bearer_auth(TOKEN)
        .header("Notion-Version", "2026-03-11")
        .json(&json!({"filter": {"property": "object", "value": "page"}}))
        .send()
        .await?
        .json()
        .await?;
    v["results"][0]["id"]
        .as_str()
        .map(str::to_string)
        .context("the sample workspace has no page")
}

fn spawn_server(fake: &str, port: u16) -> Result<Child> {
    spawn_server_with(fake, port, &[])
}

fn spawn_server_with(fake: &str, port: u16, extra: &[&str]) -> Result<Child> {
    let exe = std::env::current_exe()?.with_file_name("notion-mcp-remote");
    Command::new(&exe)
        .args([
            "--listen",
            &format!("127.0.0.1:{port}"),
            "--notion-base-url",
            fake,
            "--auth-mode",
            "demo",
        ])
        .args([
            "--pacing-rps",
            "100000",
            "--pacing-burst",
            "100000",
            "--log",
            "warn",
        ])
        .args(extra)
        .stdout(Stdio::null())
        .stderr(Stdio::inherit())
        .spawn()
        .with_context(|| format!("starting {} (build it first)", exe.display()))
}

async fn wait_ready(http: &reqwest::Client, base: &str) -> Result<()> {
    let deadline = Instant::now() + Duration::from_secs(10);
    while Instant::now() < deadline {
        if let Ok(r) = http.get(format!("{base}/readyz")).send().await
            && r.status().is_success()
        {
            return Ok(());
        }
        tokio::time::sleep(Duration::from_millis(1)).await;
    }
    bail!("server not ready within 10 s")
}

fn rss_kb(pid: u32) -> Result<u64> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status"))?;
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmRSS:"))
        .and_then(|v| v.split_whitespace().next())
        .and_then(|v| v.parse().ok())
        .context("no VmRSS")
}

fn free_port() -> Result<u16> {
    Ok(std::net::TcpListener::bind("127.0.0.1:0")?
        .local_addr()?
        .port())
}

fn arg<T: std::str::FromStr>(name: &str) -> Option<T> {
    let args: Vec<String> = std::env::args().collect();
    args.iter()
        .position(|a| a == name)
        .and_then(|i| args.get(i + 1))
        .and_then(|v| v.parse().ok())
}
