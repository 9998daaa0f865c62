//! `notion-mcp-soak`: hold many idle MCP sessions open on the real server binary while a steady
//! tools/call load runs, sample its footprint every few seconds, and judge whether it stays flat.
//!
//! The server (`notion-mcp-remote --sessions`, demo auth) runs as a child process against an
//! in-process fake Notion. Each idle session is kept the way a real client keeps it: an open GET event
//! stream plus a `ping` every `--ping-secs` (well inside the server's 5-minute idle timeout); a
//! session the server forgot anyway is counted as expired and initialized again. Samples: RSS, open
//! fds and threads of the server, its alive tokio tasks (`notion_mcp_runtime_alive_tasks` on
//! /metrics, when the server exports it) and the p99 of the calls in each interval. After the run
//! every session is deleted and the server is sampled once more: fds and tasks must return to the
//! level they had before the sessions were opened.
//!
//! `--quick` (100 sessions, 20 s) is the CI smoke run; the default is 1,000 sessions for 10 minutes.
//! Exits with status 1 when a check fails.

use anyhow::{Context, Result, bail};
use clap::Parser;
use futures::StreamExt;
use notion_mcp_bench::mcp::McpClient;
use notion_mcp_bench::process::{Footprint, ServerProcess};
use notion_mcp_bench::report::{Table, mb};
use notion_mcp_bench::scrape::fetch_metric;
use notion_mcp_bench::session::{KeepAlive, SessionStats, spawn_kept_alive};
use notion_mcp_bench::stats::{percentile_sorted, slope};
use notion_mcp_bench::{SAMPLE_TOKEN, http_client};
use serde_json::{Value, json};
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use tokio::sync::watch;

/// Hold idle MCP sessions open under a steady tool-call load and check that the server stays flat.
#[derive(Debug, Parser)]
#[command(name = "notion-mcp-soak")]
struct Opts {
    /// CI smoke run: 100 sessions, 20 s, 20 calls/s, loose thresholds.
    #[arg(long)]
    quick: bool,
    /// Idle sessions to hold (default 1000; 100 with --quick).
    #[arg(long)]
    sessions: Option<usize>,
    /// Duration of the loaded run in minutes (default 10; 1/3 with --quick).
    #[arg(long)]
    minutes: Option<f64>,
    /// Tool calls per second (default 50; 20 with --quick).
    #[arg(long)]
    rate: Option<f64>,
    /// Seconds between samples (default 5; 2 with --quick).
    #[arg(long)]
    sample_secs: Option<f64>,
    /// Seconds at the start left out of the RSS slope and the first-third figures (default 60; 6
    /// with --quick).
    #[arg(long)]
    warmup_secs: Option<f64>,
    /// Seconds between pings on each idle session; 0 never pings (sessions then expire after the
    /// server's idle timeout and are counted and re-initialized).
    #[arg(long, default_value_t = 60)]
    ping_secs: u64,
    /// Do not hold a GET event stream open per session.
    #[arg(long)]
    no_streams: bool,
}

/// The resolved run plan and its pass/fail bounds.
#[derive(Debug, Clone)]
struct Plan {
    sessions: usize,
    run: Duration,
    rate: f64,
    sample: Duration,
    warmup: Duration,
    keep: KeepAlive,
    /// Largest accepted RSS slope after warm-up, KiB per minute.
    rss_slope_kib_min: f64,
    /// Accepted growth of fds / tasks / threads between the first and last third (medians).
    growth_slack: f64,
    /// Accepted factor between the p99 of the last and the first third (plus `p99_floor_ms`).
    p99_factor: f64,
    p99_floor_ms: f64,
}

impl Plan {
    fn from(o: &Opts) -> Self {
        let (sessions, minutes, rate, sample, warmup) = if o.quick {
            (100, 1.0 / 3.0, 20.0, 2.0, 6.0)
        } else {
            (1000, 10.0, 50.0, 5.0, 60.0)
        };
        let sessions = o.sessions.unwrap_or(sessions);
        Plan {
            sessions,
            run: Duration::from_secs_f64(o.minutes.unwrap_or(minutes).max(0.05) * 60.0),
            rate: o.rate.unwrap_or(rate).max(0.1),
            sample: Duration::from_secs_f64(o.sample_secs.unwrap_or(sample).max(0.5)),
            warmup: Duration::from_secs_f64(o.warmup_secs.unwrap_or(warmup).max(0.0)),
            keep: KeepAlive {
                stream: !o.no_streams,
                ping_every: (o.ping_secs > 0).then(|| Duration::from_secs(o.ping_secs)),
            },
            // A leak of one small allocation per call (≥ 48 bytes at 50 calls/s) grows RSS by over
            // 140 KiB/min; allocator noise on a flat server stays well below 128 KiB/min after warm-up.
            // A 20-second run cannot tell a leak from allocator warm-up, so --quick only catches gross
            // growth.
            rss_slope_kib_min: if o.quick { 8192.0 } else { 128.0 },
            // Connections of in-flight calls come and go: allow 16 plus 1 % of the sessions.
            growth_slack: 16.0 + sessions as f64 / 100.0,
            p99_factor: 2.0,
            // Other processes on a small machine move p99 by milliseconds; a 20-second run has few calls per
            // third, so its p99 is nearly a maximum.
            p99_floor_ms: if o.quick { 250.0 } else { 20.0 },
        }
    }
}

/// One sample of the server.
#[derive(Debug, Clone)]
struct Sample {
    /// Seconds since the load started.
    t: f64,
    fp: Footprint,
    tasks: Option<f64>,
    /// Sorted latencies (ms) of the calls that finished in this interval.
    lat: Vec<f64>,
    errors: u64,
    live_streams: i64,
}

#[tokio::main]
async fn main() -> Result<()> {
    let opts = Opts::parse();
    let plan = Plan::from(&opts);
    check_fd_limit(plan.sessions)?;
    let verdict = soak(&plan).await?;
    if !verdict {
        std::process::exit(1);
    }
    Ok(())
}

async fn soak(plan: &Plan) -> Result<bool> {
    let fake = notion_fake::FakeNotion::start(notion_fake::Fixture::sample()).await?;
    // Sessions and load share one client; samples use another, so that dropping the first closes
    // every connection the run opened before the final sample.
    let http = http_client(64)?;
    let probe = http_client(1)?;
    let pages = page_ids(&probe, fake.base_url()).await?;
    let mut server = ServerProcess::ours(fake.base_url(), &["--sessions"])?;
    server
        .wait_ready(&probe, "/readyz", false, Duration::from_secs(20))
        .await?;
    tokio::time::sleep(Duration::from_millis(500)).await;
    let baseline = (server.footprint()?, alive_tasks(&probe, &server.base).await);
    eprintln!(
        "soak: {} sessions (stream {}, ping {:?}), {:.0} calls/s for {:?}; baseline {} fds, tasks {}",
        plan.sessions,
        plan.keep.stream,
        plan.keep.ping_every,
        plan.rate,
        plan.run,
        baseline.0.fds,
        fmt_opt(baseline.1)
    );

    // Open the idle sessions, 32 at a time.
    let stats = Arc::new(SessionStats::default());
    let (stop_tx, stop_rx) = watch::channel(false);
    let opened_at = Instant::now();
    let results: Vec<Result<tokio::task::JoinHandle<()>>> = futures::stream::iter(0..plan.sessions)
        .map(|i| {
            spawn_kept_alive(
                i as f64 / plan.sessions as f64,
                http.clone(),
                server.base.clone(),
                Some(SAMPLE_TOKEN.to_string()),
                plan.keep,
                stats.clone(),
                stop_rx.clone(),
            )
        })
        .buffer_unordered(32)
        .collect()
        .await;
    let open_failures = results.iter().filter(|r| r.is_err()).count();
    if let Some(Err(e)) = results.iter().find(|r| r.is_err()) {
        eprintln!("soak: opening a session failed: {e:#}");
    }
    let handles: Vec<_> = results.into_iter().filter_map(Result::ok).collect();
    eprintln!(
        "soak: {} sessions open in {:.1} s",
        handles.len(),
        opened_at.elapsed().as_secs_f64()
    );

    // The steady load, open loop: one call every 1/rate s, whatever the previous ones do.
    let latencies = Arc::new(Mutex::new(Vec::<f64>::new()));
    let call_errors = Arc::new(AtomicU64::new(0));
    let shed = Arc::new(AtomicU64::new(0));
    let load = tokio::spawn(steady_load(
        load_clients(&http, &server.base).await?,
        pages,
        plan.rate,
        latencies.clone(),
        call_errors.clone(),
        shed.clone(),
        stop_rx.clone(),
    ));

    let started = Instant::now();
    let mut samples = Vec::new();
    while started.elapsed() < plan.run {
        tokio::time::sleep(plan.sample).await;
        let fp = server.footprint()?;
        let tasks = alive_tasks(&probe, &server.base).await;
        let mut lat = std::mem::take(&mut *latencies.lock().unwrap_or_else(|e| e.into_inner()));
        lat.sort_by(f64::total_cmp);
        let s = Sample {
            t: started.elapsed().as_secs_f64(),
            fp,
            tasks,
            errors: call_errors.load(Ordering::Relaxed),
            live_streams: stats.live_streams.load(Ordering::Relaxed),
            lat,
        };
        eprintln!(
            "t={:6.1}s rss={} fds={} threads={} tasks={} calls={} p99={:.2}ms errors={} streams={} expired={}",
            s.t,
            mb(s.fp.rss_kb),
            s.fp.fds,
            s.fp.threads,
            fmt_opt(s.tasks),
            s.lat.len(),
            percentile_sorted(&s.lat, 0.99),
            s.errors,
            s.live_streams,
            SessionStats::get(&stats.expired)
        );
        samples.push(s);
    }

    // Stop the load, delete every session, and give the server its replay window to drop buffers.
    stop_tx.send_replace(true);
    let _ = tokio::time::timeout(Duration::from_secs(60), load).await;
    for h in handles {
        let _ = tokio::time::timeout(Duration::from_secs(10), h).await;
    }
    drop(http);
    tokio::time::sleep(Duration::from_secs(12)).await;
    let after = (server.footprint()?, alive_tasks(&probe, &server.base).await);
    server.stop();
    fake.shutdown().await;

    Ok(report(
        plan,
        &samples,
        baseline,
        after,
        &stats,
        open_failures,
        shed.load(Ordering::Relaxed),
    ))
}

/// Clients the load alternates between: one stateless (no session) and four with their own session.
async fn load_clients(http: &reqwest::Client, base: &str) -> Result<Vec<Arc<McpClient>>> {
    let mut out = vec![Arc::new(McpClient::new(
        http.clone(),
        base,
        Some(SAMPLE_TOKEN),
    ))];
    for _ in 0..4 {
        let mut c = McpClient::new(http.clone(), base, Some(SAMPLE_TOKEN));
        c.initialize().await?;
        out.push(Arc::new(c));
    }
    Ok(out)
}

/// Calls in flight at most; beyond it a tick is shed (counted) rather than piling up.
const MAX_IN_FLIGHT: usize = 256;

async fn steady_load(
    clients: Vec<Arc<McpClient>>,
    pages: Vec<String>,
    rate: f64,
    latencies: Arc<Mutex<Vec<f64>>>,
    errors: Arc<AtomicU64>,
    shed: Arc<AtomicU64>,
    stop: watch::Receiver<bool>,
) {
    let mut tick = tokio::time::interval(Duration::from_secs_f64(1.0 / rate));
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    let in_flight = Arc::new(AtomicUsize::new(0));
    let printed = Arc::new(AtomicUsize::new(0));
    let mut calls = Vec::new();
    for i in 0usize.. {
        tick.tick().await;
        if *stop.borrow() {
            break;
        }
        if in_flight.load(Ordering::Relaxed) >= MAX_IN_FLIGHT {
            shed.fetch_add(1, Ordering::Relaxed);
            continue;
        }
        let client = clients[i % clients.len()].clone();
        let page = pages[(i / 7) % pages.len()].clone();
        let (name, args) = match i % 6 {
            0 => ("get_page", json!({"id": page})),
            1 => ("search", json!({"query": "Project"})),
            2 => ("get_block_children", json!({"id": page})),
            3 => ("list_users", json!({})),
            4 => ("fetch", json!({"id": page})),
            _ => ("get_self", json!({})),
        };
        let (latencies, errors, in_flight, printed) = (
            latencies.clone(),
            errors.clone(),
            in_flight.clone(),
            printed.clone(),
        );
        in_flight.fetch_add(1, Ordering::Relaxed);
        calls.push(tokio::spawn(async move {
            let t = Instant::now();
            match client.call_tool(name, args).await {
                Ok(_) => latencies
                    .lock()
                    .unwrap_or_else(|e| e.into_inner())
                    .push(t.elapsed().as_secs_f64() * 1e3),
                Err(e) => {
                    errors.fetch_add(1, Ordering::Relaxed);
                    if printed.fetch_add(1, Ordering::Relaxed) < 3 {
                        eprintln!("soak: {name} failed: {e:#}");
                    }
                }
            }
            in_flight.fetch_sub(1, Ordering::Relaxed);
        }));
        calls.retain(|h| !h.is_finished());
    }
    for h in calls {
        let _ = h.await;
    }
}

/// Prints the samples and the verdict; true when every check passed.
fn report(
    plan: &Plan,
    samples: &[Sample],
    baseline: (Footprint, Option<f64>),
    after: (Footprint, Option<f64>),
    stats: &SessionStats,
    open_failures: usize,
    shed: u64,
) -> bool {
    let warm = plan.warmup.as_secs_f64();
    let steady: Vec<&Sample> = samples.iter().filter(|s| s.t >= warm).collect();
    let steady = if steady.len() >= 3 {
        steady
    } else {
        samples.iter().collect()
    };
    let third = (steady.len() / 3).max(1);
    let (first, last) = (&steady[..third], &steady[steady.len() - third..]);
    let med = |xs: &[&Sample], f: &dyn Fn(&Sample) -> Option<f64>| {
        notion_mcp_bench::stats::median(&xs.iter().filter_map(|s| f(s)).collect::<Vec<_>>())
    };
    let p99 = |xs: &[&Sample]| {
        let mut all: Vec<f64> = xs.iter().flat_map(|s| s.lat.iter().copied()).collect();
        all.sort_by(f64::total_cmp);
        percentile_sorted(&all, 0.99)
    };
    let rss_slope = slope(
        &steady
            .iter()
            .map(|s| (s.t / 60.0, s.fp.rss_kb as f64))
            .collect::<Vec<_>>(),
    );
    let fds = (
        med(first, &|s| Some(s.fp.fds as f64)),
        med(last, &|s| Some(s.fp.fds as f64)),
    );
    let threads = (
        med(first, &|s| Some(s.fp.threads as f64)),
        med(last, &|s| Some(s.fp.threads as f64)),
    );
    let has_tasks = samples.iter().any(|s| s.tasks.is_some());
    let tasks = (med(first, &|s| s.tasks), med(last, &|s| s.tasks));
    let p99s = (p99(first), p99(last));
    let calls: usize = samples.iter().map(|s| s.lat.len()).sum();
    let errors = samples.last().map_or(0, |s| s.errors);
    let expired = SessionStats::get(&stats.expired);
    let expected_expiry = plan.keep.ping_every.is_none();

    let mut samples_table = Table::new([
        "t (s)", "RSS", "fds", "threads", "tasks", "calls", "p99 (ms)", "streams",
    ]);
    let step = samples.len().div_ceil(20).max(1);
    for (i, s) in samples.iter().enumerate() {
        if i % step == 0 || i + 1 == samples.len() {
            samples_table.row([
                format!("{:.0}", s.t),
                mb(s.fp.rss_kb),
                s.fp.fds.to_string(),
                s.fp.threads.to_string(),
                fmt_opt(s.tasks),
                s.lat.len().to_string(),
                format!("{:.2}", percentile_sorted(&s.lat, 0.99)),
                s.live_streams.to_string(),
            ]);
        }
    }
    println!(
        "notion-mcp-soak: {} sessions, {:.0} calls/s, {:.1} min, samples every {:?}, warm-up {:?}",
        plan.sessions,
        plan.rate,
        plan.run.as_secs_f64() / 60.0,
        plan.sample,
        plan.warmup
    );
    samples_table.print();
    println!();

    let mut checks = Table::new(["check", "measured", "bound", "result"]);
    let mut all_ok = true;
    let mut check = |name: &str, measured: String, bound: String, ok: bool| {
        all_ok &= ok;
        checks.row([
            name.to_string(),
            measured,
            bound,
            if ok { "PASS" } else { "FAIL" }.to_string(),
        ]);
    };
    check(
        "sessions opened",
        format!("{} of {}", plan.sessions - open_failures, plan.sessions),
        "all".into(),
        open_failures == 0,
    );
    check(
        "session expiries / stream ends",
        format!(
            "{expired} / {} ({} pings, {} session errors)",
            SessionStats::get(&stats.stream_ends),
            SessionStats::get(&stats.pings_ok),
            SessionStats::get(&stats.errors)
        ),
        if expected_expiry {
            "reported (no pings)".into()
        } else {
            "0 expiries, 0 errors".into()
        },
        expected_expiry || (expired == 0 && SessionStats::get(&stats.errors) == 0),
    );
    check(
        "tool calls: ok / errors / shed",
        format!("{calls} / {errors} / {shed}"),
        "0 errors, 0 shed".into(),
        errors == 0 && shed == 0 && calls > 0,
    );
    check(
        "RSS slope after warm-up",
        format!("{rss_slope:.1} KiB/min"),
        format!("< {:.0} KiB/min", plan.rss_slope_kib_min),
        rss_slope < plan.rss_slope_kib_min,
    );
    let growth = |name: &str, (a, b): (f64, f64)| {
        (
            format!("{name} first → last third"),
            format!("{a:.0} → {b:.0}"),
            format!("+{:.0} at most", plan.growth_slack),
            b - a <= plan.growth_slack,
        )
    };
    for (n, m, b, ok) in [growth("fds", fds), growth("threads", threads)] {
        check(&n, m, b, ok);
    }
    if has_tasks {
        let (n, m, b, ok) = growth("tasks", tasks);
        check(&n, m, b, ok);
    } else {
        check(
            "tasks first → last third",
            "n/a (no notion_mcp_runtime_alive_tasks on /metrics)".into(),
            "-".into(),
            true,
        );
    }
    check(
        "p99 first → last third",
        format!("{:.2} → {:.2} ms", p99s.0, p99s.1),
        format!("≤ {}× first + {} ms", plan.p99_factor, plan.p99_floor_ms),
        p99s.1 <= p99s.0 * plan.p99_factor + plan.p99_floor_ms,
    );
    check(
        "fds after closing all sessions",
        format!("{} (before opening: {})", after.0.fds, baseline.0.fds),
        "≤ before + 16".into(),
        after.0.fds <= baseline.0.fds + 16,
    );
    match (baseline.1, after.1) {
        (Some(b), Some(a)) => check(
            "tasks after closing all sessions",
            format!("{a:.0} (before opening: {b:.0})"),
            "≤ before + 16".into(),
            a <= b + 16.0,
        ),
        _ => check(
            "tasks after closing all sessions",
            "n/a".into(),
            "-".into(),
            true,
        ),
    }
    check(
        "RSS before / loaded / after closing",
        format!(
            "{} / {} / {}",
            mb(baseline.0.rss_kb),
            mb(last.last().map_or(0, |s| s.fp.rss_kb)),
            mb(after.0.rss_kb)
        ),
        "(reported)".into(),
        true,
    );
    checks.print();
    println!("\nverdict: {}", if all_ok { "PASS" } else { "FAIL" });
    all_ok
}

/// The server's alive tokio tasks from /metrics, when it exports the gauge.
async fn alive_tasks(http: &reqwest::Client, base: &str) -> Option<f64> {
    fetch_metric(http, base, "notion_mcp_runtime_alive_tasks").await
}

/// Ids of the sample workspace's pages (the load cycles through them).
async fn page_ids(http: &reqwest::Client, fake: &str) -> Result<Vec<String>> {
    let v: Value = http
        .post(format!("{fake}/v1/search"))
        .bearer_auth(SAMPLE_TOKEN)
        .header("Notion-Version", "2026-03-11")
        .json(&json!({"filter": {"property": "object", "value": "page"}, "page_size": 10}))
        .send()
        .await?
        .json()
        .await?;
    let ids: Vec<String> = v["results"]
        .as_array()
        .context("search answered without results")?
        .iter()
        .filter_map(|p| p["id"].as_str().map(str::to_string))
        .collect();
    if ids.is_empty() {
        bail!("the sample workspace has no page");
    }
    Ok(ids)
}

/// Both this process and the server hold one socket per session stream: fail early, with the fix,
/// when the open-files limit cannot take them.
fn check_fd_limit(sessions: usize) -> Result<()> {
    let limits = std::fs::read_to_string("/proc/self/limits").unwrap_or_default();
    let soft = limits
        .lines()
        .find(|l| l.starts_with("Max open files"))
        .and_then(|l| l.split_whitespace().nth(3))
        .and_then(|v| v.parse::<usize>().ok());
    let need = sessions + 512;
    match soft {
        Some(n) if n < need => bail!(
            "the open-files limit is {n}, {sessions} sessions need about {need}: run `ulimit -n {need}` first"
        ),
        _ => Ok(()),
    }
}

fn fmt_opt(v: Option<f64>) -> String {
    v.map_or_else(|| "n/a".into(), |v| format!("{v:.0}"))
}
