//! What a run measured, and the tables printed from it.

use crate::budget;
use crate::edits::{EditorStats, Freshness};
use crate::trace::{Failures, Sample, Tool};
use crate::workspace::{Shape, Workspace};
use crate::{BURST, RATE};
use notion_fake::{FakeNotion, RecordedRequest};
use notion_mcp_bench::report::Table;
use notion_mcp_bench::stats::percentile_sorted;
use std::time::Duration;

/// The settings the header names.
pub struct Settings {
    pub seconds: f64,
    pub think_ms: u64,
    pub edit_every_ms: u64,
    pub webhook_delay_ms: u64,
    pub limit: &'static str,
}

/// What one run measured.
#[derive(Debug, Default)]
pub struct Outcome {
    pub wall: Duration,
    pub samples: Vec<Sample>,
    pub errors: usize,
    pub failures: Failures,
    /// Notion requests the server sent (the editor's left out), and the 429s among them.
    pub requests: usize,
    pub rate_limited: usize,
    pub editor: EditorStats,
    pub retries: f64,
    pub edits: usize,
    pub edits_unacked: usize,
    pub freshness: Freshness,
    /// Cache lookups by result: hit, proof, coalesced, miss, bypass.
    pub lookups: [f64; 5],
    /// The server's requests per [`ENDPOINTS`] entry.
    pub by_endpoint: [usize; 7],
    /// Requests and calls in the second half of the run.
    pub second_half: (usize, usize),
}

/// The `result` labels of `notion_mcp_cache_lookups_total`, in the order of [`Outcome::lookups`].
pub const RESULTS: [&str; 5] = ["hit", "proof", "coalesced", "miss", "bypass"];

impl Outcome {
    pub fn calls(&self) -> usize {
        self.samples.len()
    }

    pub fn per_call(&self) -> f64 {
        self.requests as f64 / self.calls().max(1) as f64
    }

    /// Sorted latencies (ms) of the samples `keep` selects.
    pub fn latencies(&self, keep: impl Fn(&Sample) -> bool) -> Vec<f64> {
        let mut v: Vec<f64> = self
            .samples
            .iter()
            .filter(|s| keep(s))
            .map(|s| s.ms)
            .collect();
        v.sort_by(f64::total_cmp);
        v
    }

    pub fn repeated_p50(&self) -> f64 {
        percentile_sorted(&self.latencies(|s| s.repeated), 0.5)
    }
}

/// The requests the fake received from the server (the editor's left out).
pub fn server_requests(fake: &FakeNotion, editor_bot: &str) -> Vec<RecordedRequest> {
    let mut log = fake.requests();
    log.retain(|r| r.bot_id.as_deref() != Some(editor_bot));
    log
}

/// Notion endpoints as the breakdown of requests names them.
pub const ENDPOINTS: [&str; 7] = [
    "POST search",
    "GET page",
    "GET block children",
    "GET block (proof)",
    "POST data source query",
    "GET data source (proof)",
    "other",
];

/// Which of [`ENDPOINTS`] a logged request is.
pub fn endpoint(r: &RecordedRequest) -> &'static str {
    let parts: Vec<&str> = r.path.trim_start_matches("/v1/").split('/').collect();
    match (r.method.as_str(), parts.as_slice()) {
        ("POST", ["search"]) => ENDPOINTS[0],
        ("GET", ["pages", _]) => ENDPOINTS[1],
        ("GET", ["blocks", _, "children"]) => ENDPOINTS[2],
        ("GET", ["blocks", _]) => ENDPOINTS[3],
        ("POST", ["data_sources", _, "query"]) => ENDPOINTS[4],
        ("GET", ["data_sources", _]) => ENDPOINTS[5],
        _ => ENDPOINTS[6],
    }
}

/// What was run: the users, the budget, the workspace, the edits and the mix.
pub fn print_header(ws: &Workspace, shape: Shape, settings: &Settings) {
    println!(
        "notion-mcp-agent-trace: {} users (one token each) of one workspace, {:.0} s per run, think time {} ms; \
         fake Notion {RATE}/s burst {BURST} per {}; server --auth-mode notion-token --pacing-rps {RATE} \
         --pacing-burst {BURST}",
        ws.users.len(),
        settings.seconds,
        settings.think_ms,
        settings.limit,
    );
    println!(
        "workspace: {} pages × {} blocks ({} Notion requests per uncached fetch), a data source of {} rows; \
         an edit every {} ms; webhook delivery delay {} ms (cache on)",
        shape.pages,
        shape.blocks_per_page(),
        shape.requests_per_fetch(),
        shape.rows,
        settings.edit_every_ms,
        settings.webhook_delay_ms
    );
    let mix: Vec<String> = Tool::ALL
        .iter()
        .map(|t| format!("{} {} %", t.label(), t.weight()))
        .collect();
    println!("mix: {}\n", mix.join(", "));
}

fn ms_pair(v: &[f64]) -> String {
    if v.is_empty() {
        return "—".into();
    }
    format!(
        "{:.1} / {:.1} ms",
        percentile_sorted(v, 0.5),
        percentile_sorted(v, 0.95)
    )
}

pub fn print_table(off: &Outcome, on: &Outcome) {
    let mut t = Table::new(["metric", "cache off", "cache on", "target (cache on)"]);
    let both = |f: &dyn Fn(&Outcome) -> String| [f(off), f(on)];
    let mut row = |name: &str, f: &dyn Fn(&Outcome) -> String, target: &str| {
        let [a, b] = both(f);
        t.row([name.to_string(), a, b, target.to_string()]);
    };
    row(
        "tool calls (failed: Notion rate limit / other)",
        &|o| {
            format!(
                "{} ({} / {})",
                o.calls(),
                o.failures.rate_limited,
                o.failures.other
            )
        },
        "0 failed",
    );
    row(
        "calls/s",
        &|o| format!("{:.1}", o.calls() as f64 / o.wall.as_secs_f64().max(1e-9)),
        "",
    );
    row(
        "Notion requests (per tool call)",
        &|o| format!("{} ({:.3})", o.requests, o.per_call()),
        "≤ 0.25 per call",
    );
    row(
        "… in the second half of the run",
        &|o| {
            let (r, c) = o.second_half;
            format!("{r} ({:.3})", r as f64 / c.max(1) as f64)
        },
        "",
    );
    row(
        "429s to the server / retries / to the editor",
        &|o| {
            format!(
                "{} / {:.0} / {}",
                o.rate_limited, o.retries, o.editor.rate_limited
            )
        },
        "",
    );
    row(
        "latency p50 / p95, all calls",
        &|o| ms_pair(&o.latencies(|_| true)),
        "",
    );
    row(
        "latency p50 / p95, repeated reads (count)",
        &|o| {
            let v = o.latencies(|s| s.repeated);
            format!("{} ({})", ms_pair(&v), v.len())
        },
        "p50 ≤ 5 ms",
    );
    row(
        "stale reads (reads checked against an edit)",
        &|o| format!("{} ({})", o.freshness.stale, o.freshness.checked),
        "0",
    );
    row(
        "old content before the webhook was answered (allowed)",
        &|o| o.freshness.early.to_string(),
        "",
    );
    row(
        "edits made (failed / webhooks not answered)",
        &|o| format!("{} ({} / {})", o.edits, o.editor.failed, o.edits_unacked),
        "",
    );
    row(
        "cache hit / proof / coalesced / miss / bypass",
        &|o| {
            o.lookups
                .iter()
                .map(|v| format!("{v:.0}"))
                .collect::<Vec<_>>()
                .join(" / ")
        },
        "",
    );
    t.print();
    println!();
    let mut t = Table::new(["Notion requests by endpoint", "cache off", "cache on"]);
    for (i, e) in ENDPOINTS.iter().enumerate() {
        t.row([
            e.to_string(),
            off.by_endpoint[i].to_string(),
            on.by_endpoint[i].to_string(),
        ]);
    }
    t.print();
}

pub fn print_tools(off: &Outcome, on: &Outcome) {
    println!();
    let mut t = Table::new(["tool", "calls off / on", "p50 / p95 off", "p50 / p95 on"]);
    for tool in Tool::ALL {
        let (a, b) = (
            off.latencies(|s| s.tool == tool),
            on.latencies(|s| s.tool == tool),
        );
        t.row([
            tool.label().to_string(),
            format!("{} / {}", a.len(), b.len()),
            ms_pair(&a),
            ms_pair(&b),
        ]);
    }
    t.print();
}

pub fn print_budget(b: &budget::Outcome) {
    println!(
        "\nbudget across replicas: 3 × notion-mcp-remote --replicas 3 --redis-url, every call of the workspace \
         sent to the first one, cache off, get_page of a different row each time, {:.0} s window",
        b.window.as_secs_f64()
    );
    let mut t = Table::new([
        "Notion requests granted in the window",
        "allowed (3/s × window + 10)",
        "budget use",
        "429s",
        "calls (failed)",
    ]);
    t.row([
        b.granted.to_string(),
        format!("{:.0}", RATE * b.window.as_secs_f64() + f64::from(BURST)),
        format!("{:.1} % (target ≥ 95 %)", b.budget_use() * 100.0),
        format!("{} (target 0)", b.rate_limited),
        format!("{} ({})", b.calls, b.errors),
    ]);
    t.print();
}
