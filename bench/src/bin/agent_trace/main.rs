//! `notion-mcp-agent-trace`: what the read cache saves on a realistic mix of tool calls, and whether
//! any read through it shows content that an edit in Notion has made stale.
//!
//! Setup: an in-process fake Notion with a generated workspace (30 pages of 275 blocks with nested
//! toggles, a data source of 200 rows), limited to 3 requests/s with a burst of 10 for the whole
//! workspace (`--notion-limit bot`: for each token on its own); one `notion-mcp-remote` in
//! `--auth-mode notion-token`; 20 simulated users, each with its own integration token of that
//! workspace (its own identity, like per-authorization OAuth tokens).
//!
//! The trace: for a fixed time each user calls tools one after the other, pausing 0–200 ms before
//! each (`--think-ms`): `fetch` of a long page, `get_page` of a row or of a long page,
//! `query_data_source` of the data source, `search` by title; pages and rows are chosen
//! Zipf-distributed, so a few are hot. Meanwhile a person edits straight on the fake's API with a
//! token of its own (a paragraph appended to a hot page, a row's number changed), and the fake
//! announces each edit by a signed webhook to the server's `/webhooks/notion`.
//!
//! Stale reads are measured (see `edits.rs`): once the server has answered an edit's webhooks, every
//! read of that page or row started afterwards must show it; with the cache off, every read started
//! after the edit's write was answered.
//!
//! It runs twice, each time with a fresh fake and server: cache off (`--cache-max-age-secs 0`, no
//! webhooks) and cache on (`--webhook-verification-token`, default settings). Reported per run: tool
//! calls, Notion requests per call (from the fake's request log, the editor's own requests left
//! out; over the run and over its second half) and by endpoint, latency p50/p95 overall, per tool
//! and for repeated reads (a `fetch` of a page some user had fetched before), 429s, stale reads,
//! and the cache's hit/proof/coalesced/miss counts from `/metrics`. Then, with `--redis-url` or a
//! `redis-server` on `$PATH` (started on a free port, stopped at exit), the budget part
//! (`budget.rs`). `--quick` (8 pages of 50 blocks, 40 rows, 4 s per run) is the CI run.
//!
//! Exit status 1 on a stale read or a failed call. Timing targets (≤ 0.25 Notion requests per call
//! and repeated-read p50 ≤ 5 ms with the cache on, budget use ≥ 95 % and no 429 across replicas)
//! fail the run only with `--enforce` on a full run of a release build.

mod budget;
mod edits;
mod report;
mod trace;
mod workspace;

use anyhow::Result;
use clap::Parser;
use edits::{Editing, Edits, Reference};
use notion_fake::{FakeNotion, RateLimit, WebhookSubscription};
use notion_mcp_bench::load::{self, Budget};
use notion_mcp_bench::process::ServerProcess;
use notion_mcp_bench::scrape::{fetch_metrics, metric_sum, metric_sum_where};
use notion_mcp_bench::{Enforce, http_client};
use report::{ENDPOINTS, Outcome, RESULTS, Settings, endpoint, server_requests};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;
use trace::Users;
use workspace::{Shape, Workspace};

/// The workspace's Notion budget, as the fake enforces it and the server paces.
pub const RATE: f64 = 3.0;
pub const BURST: u32 = 10;
/// The webhook subscription's verification token, given to the fake and the server.
const WEBHOOK_TOKEN: &str = "secret_agent_trace_webhooks";

/// Replay a mix of agent tool calls with the read cache off and on; count Notion requests and stale reads.
#[derive(Debug, Parser)]
#[command(name = "notion-mcp-agent-trace")]
struct Opts {
    /// CI run: a small workspace, 4 s per run (about 20 s in all).
    #[arg(long)]
    quick: bool,
    /// Exit non-zero when a timing target is missed (full runs of a release build only). Stale reads
    /// and failed calls fail every run.
    #[arg(long)]
    enforce: bool,
    /// Seconds of calls per run (default 60; 4 with --quick).
    #[arg(long)]
    seconds: Option<f64>,
    /// Simulated users, one token each (default 20).
    #[arg(long)]
    users: Option<usize>,
    /// Mean pause of a user before each call, in ms (uniform in 0..2×; 0: back to back).
    #[arg(long, default_value_t = 100)]
    think_ms: u64,
    /// An edit every this many ms (default 2000; 1000 with --quick).
    #[arg(long)]
    edit_every_ms: Option<u64>,
    /// Delay of each webhook delivery, in ms.
    #[arg(long, default_value_t = 100)]
    webhook_delay_ms: u64,
    /// Redis for the budget part (default: start a redis-server from $PATH if there is one).
    #[arg(long)]
    redis_url: Option<String>,
    /// Skip the budget part.
    #[arg(long)]
    no_budget: bool,
    /// Seconds of the budget part's window (default 10; 4 with --quick).
    #[arg(long)]
    budget_seconds: Option<f64>,
    /// Notion's request budget as the fake enforces it: per workspace (all users' tokens share
    /// one) or per bot (each token has its own). The budget part uses one token.
    #[arg(long, value_enum, default_value_t = Limit::Workspace)]
    notion_limit: Limit,
    /// Seed of the users' choices.
    #[arg(long, default_value_t = 42)]
    seed: u64,
}

/// Whose requests share one Notion budget of 3/s with a burst of 10.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
enum Limit {
    Workspace,
    Bot,
}

impl Limit {
    fn apply(self, fake: &FakeNotion) {
        match self {
            Limit::Workspace => {
                fake.set_workspace_rate_limit(Some(RateLimit::workspace(RATE, BURST)))
            }
            Limit::Bot => fake.set_rate_limit(Some(RateLimit::new(RATE, BURST))),
        }
    }
}

/// The settings of one run.
struct Run<'a> {
    ws: &'a Workspace,
    cache: bool,
    seconds: f64,
    think: Duration,
    edit_every: Duration,
    webhook_delay: Duration,
    limit: Limit,
    seed: u64,
}

#[tokio::main]
async fn main() -> Result<()> {
    let opts = Opts::parse();
    let mut shape = if opts.quick {
        Shape::QUICK
    } else {
        Shape::FULL
    };
    if let Some(u) = opts.users {
        shape.users = u.max(1);
    }
    let ws = Workspace::new(shape);
    let seconds = opts.seconds.unwrap_or(if opts.quick { 4.0 } else { 60.0 });
    let edit_every = opts
        .edit_every_ms
        .unwrap_or(if opts.quick { 1000 } else { 2000 });
    let mut outcomes = Vec::new();
    for cache in [false, true] {
        let run = Run {
            ws: &ws,
            cache,
            seconds,
            think: Duration::from_millis(opts.think_ms),
            edit_every: Duration::from_millis(edit_every.max(1)),
            webhook_delay: Duration::from_millis(opts.webhook_delay_ms),
            limit: opts.notion_limit,
            seed: opts.seed,
        };
        let o = run_trace(&run).await?;
        eprintln!(
            "agent-trace: cache {}: {} calls, {} failed, {} Notion requests, {} stale",
            if cache { "on" } else { "off" },
            o.calls(),
            o.errors,
            o.requests,
            o.freshness.stale
        );
        outcomes.push(o);
    }
    let budget_secs = opts
        .budget_seconds
        .unwrap_or(if opts.quick { 4.0 } else { 10.0 });
    let budget = if opts.no_budget {
        Ok(None)
    } else {
        budget_part(&ws, opts.redis_url.as_deref(), budget_secs).await
    };

    let settings = Settings {
        seconds,
        think_ms: opts.think_ms,
        edit_every_ms: edit_every,
        webhook_delay_ms: opts.webhook_delay_ms,
        limit: match opts.notion_limit {
            Limit::Workspace => "workspace",
            Limit::Bot => "bot (token)",
        },
    };
    report::print_header(&ws, shape, &settings);
    let (off, on) = (&outcomes[0], &outcomes[1]);
    report::print_table(off, on);
    report::print_tools(off, on);
    let mut missed = Vec::new();
    if on.per_call() > 0.25 {
        missed.push(format!(
            "Notion requests per call with the cache on {:.3} (target ≤ 0.25)",
            on.per_call()
        ));
    }
    if on.repeated_p50() > 5.0 {
        missed.push(format!(
            "repeated-read p50 with the cache on {:.2} ms (target ≤ 5 ms)",
            on.repeated_p50()
        ));
    }
    let budget_failed = match &budget {
        Err(e) => {
            println!("\nbudget part failed: {e:#}");
            true
        }
        Ok(None) if !opts.no_budget => {
            println!("\nbudget part skipped: no --redis-url and no redis-server on PATH");
            false
        }
        _ => false,
    };
    if let Ok(Some(b)) = &budget {
        report::print_budget(b);
        if b.budget_use() < 0.95 {
            missed.push(format!(
                "budget use across 3 replicas {:.1} % (target ≥ 95 %)",
                b.budget_use() * 100.0
            ));
        }
        if b.rate_limited > 0 {
            missed.push(format!(
                "{} × 429 across 3 replicas (target 0)",
                b.rate_limited
            ));
        }
    }
    let stale: usize = outcomes.iter().map(|o| o.freshness.stale).sum();
    let failed: usize = outcomes.iter().map(|o| o.errors).sum::<usize>()
        + budget
            .as_ref()
            .map_or(0, |b| b.as_ref().map_or(0, |b| b.errors));
    let rate_limited: usize = outcomes.iter().map(|o| o.failures.rate_limited).sum();
    if rate_limited > 0 && opts.notion_limit == Limit::Workspace {
        println!(
            "\nnote: {rate_limited} calls failed on Notion's rate limit. The fake gives the {} users' tokens one \
             budget for the workspace; the server paces each token (--pacing-rps) and their workspace \
             (--workspace-pacing-rps), and the editing person's requests draw on the same budget unpaced. \
             --notion-limit bot gives each token its own budget.",
            ws.users.len()
        );
    }
    let ok = stale == 0 && failed == 0 && !budget_failed;
    println!(
        "\nverdict: {} (0 stale reads: {}; 0 failed calls: {}; timing targets met: {})",
        if ok { "PASS" } else { "FAIL" },
        yes(stale == 0),
        yes(failed == 0 && !budget_failed),
        if missed.is_empty() {
            "yes".to_string()
        } else {
            format!("no — {}", missed.join("; "))
        }
    );
    if !ok {
        std::process::exit(1);
    }
    Enforce::new(opts.enforce, opts.quick).check(&missed)
}

/// The budget part against `--redis-url` or a Redis started here; `None` when there is no Redis.
async fn budget_part(
    ws: &Workspace,
    redis_url: Option<&str>,
    seconds: f64,
) -> Result<Option<budget::Outcome>> {
    let Some(redis) = budget::Redis::find(redis_url).await? else {
        return Ok(None);
    };
    let outcome = budget::run(ws, redis.url(), seconds).await?;
    eprintln!(
        "agent-trace: budget: {} granted, {} × 429, {} failed",
        outcome.granted, outcome.rate_limited, outcome.errors
    );
    Ok(Some(outcome))
}

fn yes(b: bool) -> &'static str {
    if b { "yes" } else { "no" }
}

/// One run: a fresh fake and server, the users and the editor for `run.seconds`.
async fn run_trace(run: &Run<'_>) -> Result<Outcome> {
    let ws = run.ws;
    let fake = FakeNotion::start(ws.fixture.clone()).await?;
    let http = http_client(ws.users.len() + 2)?;
    let mut extra: Vec<&str> = if run.cache {
        vec!["--webhook-verification-token", WEBHOOK_TOKEN]
    } else {
        vec!["--cache-max-age-secs", "0"]
    };
    if run.limit == Limit::Bot {
        // Each token has a budget of its own here: nothing to share per workspace.
        extra.extend(["--workspace-pacing-rps", "0"]);
    }
    let mut server =
        ServerProcess::ours_auth(fake.base_url(), "notion-token", RATE, BURST, &extra)?;
    server
        .wait_ready(&http, "/readyz", false, Duration::from_secs(20))
        .await?;
    if run.cache {
        let url = format!("{}/webhooks/notion", server.base);
        fake.subscribe_webhooks(
            WebhookSubscription::new(url, WEBHOOK_TOKEN).delay(run.webhook_delay),
        );
    }
    // A full bucket and an empty log when the users start.
    run.limit.apply(&fake);
    fake.reset_log();
    let reference = if run.cache {
        Reference::Webhook
    } else {
        Reference::Commit
    };
    let edits = Arc::new(Edits::new(reference));
    let users = Arc::new(Users::new(
        &http,
        &server.base,
        ws,
        edits.clone(),
        run.think,
        run.seed,
    ));
    let stop = Arc::new(AtomicBool::new(false));
    let editor = tokio::spawn(
        Editing {
            fake: fake.fake.clone(),
            base: fake.base_url().to_string(),
            ws: ws.clone(),
            edits: edits.clone(),
            webhooks: run.cache,
            every: run.edit_every,
            seed: run.seed,
        }
        .run(stop.clone()),
    );
    // Halfway through: requests and calls so far, for the second half's requests per call.
    let halfway = {
        let (fake, users, editor_bot) = (fake.fake.clone(), users.clone(), ws.editor_bot());
        let half = Duration::from_secs_f64(run.seconds / 2.0);
        tokio::spawn(async move {
            tokio::time::sleep(half).await;
            let calls = users
                .samples
                .lock()
                .unwrap_or_else(|e| e.into_inner())
                .len();
            (server_requests(&fake, &editor_bot).len(), calls)
        })
    };
    let load = load::run(
        ws.users.len(),
        Budget::Duration(Duration::from_secs_f64(run.seconds)),
        {
            let users = users.clone();
            move |u| {
                let users = users.clone();
                async move { users.call(u).await }
            }
        },
    )
    .await?;
    stop.store(true, Ordering::SeqCst);
    let editor = editor.await??;
    if let Some(e) = &editor.first_error {
        eprintln!(
            "agent-trace: {} edits failed, the first: {e}",
            editor.failed
        );
    }
    if tokio::time::timeout(Duration::from_secs(30), fake.webhooks_idle())
        .await
        .is_err()
    {
        eprintln!("agent-trace: webhook deliveries still pending after 30 s");
    }
    let metrics = fetch_metrics(&http, &server.base).await.unwrap_or_default();
    let editor_bot = ws.editor_bot();
    let sent = server_requests(&fake, &editor_bot);
    let (half_requests, half_calls) = halfway.await?;
    let mut lookups = [0.0; 5];
    for (slot, result) in lookups.iter_mut().zip(RESULTS) {
        *slot = metric_sum_where(
            &metrics,
            "notion_mcp_cache_lookups_total",
            &[("result", result)],
        )
        .unwrap_or(0.0);
    }
    let (edits_made, edits_unacked) = edits.counts();
    let samples = std::mem::take(&mut *users.samples.lock().unwrap_or_else(|e| e.into_inner()));
    let outcome = Outcome {
        wall: load.elapsed,
        second_half: (
            sent.len().saturating_sub(half_requests),
            samples.len().saturating_sub(half_calls),
        ),
        samples,
        errors: load.errors,
        failures: users
            .failures
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .clone(),
        requests: sent.len(),
        rate_limited: sent.iter().filter(|r| r.status == 429).count(),
        by_endpoint: ENDPOINTS.map(|e| sent.iter().filter(|r| endpoint(r) == e).count()),
        editor,
        retries: metric_sum(&metrics, "notion_mcp_notion_retries_total").unwrap_or(0.0),
        edits: edits_made,
        edits_unacked: if run.cache { edits_unacked } else { 0 },
        freshness: *users.freshness.lock().unwrap_or_else(|e| e.into_inner()),
        lookups,
    };
    drop(server);
    fake.shutdown().await;
    Ok(outcome)
}
