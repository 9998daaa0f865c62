//! `notion-mcp-rate-budget`: how much of one Notion workspace's request budget 1, 2 and 3 server
//! replicas use together, and whether they stay inside it.
//!
//! The in-process fake Notion limits the sample workspace to 3 requests/s with a burst of 10, like
//! Notion. N `notion-mcp-remote` processes run with `--replicas N` and the default pacing
//! (`--pacing-rps 3 --pacing-burst 10`), all with the same token; a burst of calls (`get_page`, one
//! Notion request each) is sent at once, round-robin over the replicas as a load balancer would.
//!
//! Reported per N: wall time from the first call sent to the last answer, the ideal time for the
//! budget — `(granted − burst) / rate`, where `granted` is the number of requests the fake answered
//! without a 429 (each took one token; the first `burst` were in the bucket already) — budget use
//! (ideal ÷ wall), the 429s the fake answered, the servers' retries and client-visible errors.
//! `--quick` (40 calls, 1 and 2 replicas) is the CI run. Exits with status 1 when a replica set
//! collected a 429 or a call failed.

use anyhow::Result;
use clap::Parser;
use futures::StreamExt;
use notion_fake::{FakeNotion, Fixture, RateLimit};
use notion_mcp_bench::mcp::McpClient;
use notion_mcp_bench::process::ServerProcess;
use notion_mcp_bench::report::Table;
use notion_mcp_bench::scrape::fetch_metric;
use notion_mcp_bench::{Enforce, SAMPLE_TOKEN, first_page_id, http_client};
use serde_json::{Value, json};
use std::sync::Arc;
use std::time::{Duration, Instant};

/// Notion's budget per workspace, as the fake enforces it.
const RATE: f64 = 3.0;
const BURST: u32 = 10;

/// Share one workspace's Notion budget between 1–3 replicas and measure how well they use it.
#[derive(Debug, Parser)]
#[command(name = "notion-mcp-rate-budget")]
struct Opts {
    /// CI run: 40 calls, 1 and 2 replicas.
    #[arg(long)]
    quick: bool,
    /// Exit non-zero when budget use misses 95 % (full runs of a release build only; quick runs and
    /// debug builds print the verdict and exit 0). 429s and errors fail every run.
    #[arg(long)]
    enforce: bool,
    /// Tool calls in the burst (default 300; 40 with --quick).
    #[arg(long)]
    calls: Option<usize>,
    /// Replica counts to try, comma separated (default 1,2,3; 1,2 with --quick).
    #[arg(long, value_delimiter = ',')]
    replicas: Vec<u32>,
}

/// What one replica set did.
#[derive(Debug)]
struct Outcome {
    replicas: u32,
    wall: Duration,
    granted: usize,
    rate_limited: usize,
    retries: f64,
    errors: usize,
    p50_s: f64,
    max_s: f64,
}

impl Outcome {
    /// `(granted − burst) / rate`: the shortest time the fake's bucket allows for these requests.
    fn ideal(&self) -> f64 {
        (self.granted.saturating_sub(BURST as usize)) as f64 / RATE
    }

    fn budget_use(&self) -> f64 {
        let wall = self.wall.as_secs_f64();
        if wall > 0.0 { self.ideal() / wall } else { 0.0 }
    }
}

#[tokio::main]
async fn main() -> Result<()> {
    let opts = Opts::parse();
    let calls = opts.calls.unwrap_or(if opts.quick { 40 } else { 300 });
    let replicas = if !opts.replicas.is_empty() {
        opts.replicas.clone()
    } else if opts.quick {
        vec![1, 2]
    } else {
        vec![1, 2, 3]
    };
    let mut outcomes = Vec::new();
    for &n in &replicas {
        let o = run(n.max(1), calls).await?;
        eprintln!(
            "rate-budget: {n} replica(s): {:.1} s, {} granted, {} × 429, {} errors",
            o.wall.as_secs_f64(),
            o.granted,
            o.rate_limited,
            o.errors
        );
        outcomes.push(o);
    }

    println!(
        "notion-mcp-rate-budget: {calls} get_page calls at once, fake Notion {RATE}/s burst {BURST} per \
         workspace, servers --pacing-rps {RATE} --pacing-burst {BURST} --replicas N"
    );
    let mut t = Table::new([
        "replicas",
        "wall",
        "ideal",
        "budget use",
        "Notion requests granted",
        "429s",
        "retries",
        "client errors",
        "call latency p50 / max",
    ]);
    for o in &outcomes {
        t.row([
            o.replicas.to_string(),
            format!("{:.1} s", o.wall.as_secs_f64()),
            format!("{:.1} s", o.ideal()),
            format!("{:.1} %", o.budget_use() * 100.0),
            o.granted.to_string(),
            o.rate_limited.to_string(),
            format!("{:.0}", o.retries),
            o.errors.to_string(),
            format!("{:.1} s / {:.1} s", o.p50_s, o.max_s),
        ]);
    }
    t.print();
    let ok = outcomes
        .iter()
        .all(|o| o.rate_limited == 0 && o.errors == 0);
    let use_ok = outcomes.iter().all(|o| o.budget_use() >= 0.95);
    println!(
        "\nverdict: {} (0 × 429 and 0 errors: {}; budget use ≥ 95 %: {})",
        if ok { "PASS" } else { "FAIL" },
        if ok { "yes" } else { "no" },
        if use_ok { "yes" } else { "no" }
    );
    if !ok {
        std::process::exit(1);
    }
    let missed: Vec<String> = outcomes
        .iter()
        .filter(|o| o.budget_use() < 0.95)
        .map(|o| {
            format!(
                "budget use with {} replica(s) {:.1} % (target ≥ 95 %)",
                o.replicas,
                o.budget_use() * 100.0
            )
        })
        .collect();
    Enforce::new(opts.enforce, opts.quick).check(&missed)
}

/// One replica set against a fresh fake (a full bucket), `calls` calls sent at once.
async fn run(replicas: u32, calls: usize) -> Result<Outcome> {
    let fake = FakeNotion::start(Fixture::sample()).await?;
    let http = http_client(calls)?;
    let page = first_page_id(&http, fake.base_url()).await?;
    // Arm the limit after looking up the page, so the bucket is full when the burst starts.
    fake.set_workspace_rate_limit(Some(RateLimit::workspace(RATE, BURST)));
    fake.reset_log();

    let mut servers = Vec::new();
    for _ in 0..replicas {
        servers.push(replica(fake.base_url(), replicas)?);
    }
    for s in &mut servers {
        s.wait_ready(&http, "/readyz", false, Duration::from_secs(20))
            .await?;
    }
    let clients: Vec<Arc<McpClient>> = servers
        .iter()
        .map(|s| Arc::new(McpClient::new(http.clone(), &s.base, Some(SAMPLE_TOKEN))))
        .collect();

    let started = Instant::now();
    let results: Vec<(Result<Value>, Duration)> = futures::stream::iter(0..calls)
        .map(|i| {
            let client = clients[i % clients.len()].clone();
            let page = page.clone();
            async move {
                let t = Instant::now();
                let r = client.call_tool("get_page", json!({"id": page})).await;
                (r, t.elapsed())
            }
        })
        .buffer_unordered(calls)
        .collect()
        .await;
    let wall = started.elapsed();

    let errors: Vec<&anyhow::Error> = results
        .iter()
        .filter_map(|(r, _)| r.as_ref().err())
        .collect();
    if let Some(e) = errors.first() {
        eprintln!("rate-budget: a call failed: {e:#}");
    }
    let mut lat: Vec<f64> = results.iter().map(|(_, d)| d.as_secs_f64()).collect();
    lat.sort_by(f64::total_cmp);
    let mut retries = 0.0;
    for s in &servers {
        retries += fetch_metric(&http, &s.base, "notion_mcp_notion_retries_total")
            .await
            .unwrap_or(0.0);
    }
    let granted = fake.requests().iter().filter(|r| r.status != 429).count();
    let outcome = Outcome {
        replicas,
        wall,
        granted,
        rate_limited: fake.count_status(429),
        retries,
        errors: errors.len(),
        p50_s: notion_mcp_bench::stats::percentile_sorted(&lat, 0.5),
        max_s: lat.last().copied().unwrap_or(0.0),
    };
    drop(servers);
    fake.shutdown().await;
    Ok(outcome)
}

/// One replica: default pacing, sharing the budget with `replicas − 1` others; no per-caller limit
/// (the burst comes from one caller).
fn replica(notion_base_url: &str, replicas: u32) -> Result<ServerProcess> {
    let replicas = replicas.to_string();
    ServerProcess::ours_paced(notion_base_url, RATE, BURST, &["--replicas", &replicas])
}
