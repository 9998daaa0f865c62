//! Fault injection under load: the fake Notion answers 20 % of requests with a seeded random mix of
//! 429 (with and without Retry-After), 529, 500, 502, 503, 504, answers slower than the Notion timeout
//! and dropped connections, while 200 concurrent tool calls run against the real server binary.
//!
//! Every call must end before the tool deadline; every failure must be an `isError` result naming its
//! cause (with `retry_after_seconds` for rate limits); every success must equal the fault-free answer;
//! no page creation may be sent twice after an unknown outcome, and each exists exactly as often as
//! Notion applied it (the fake applies a slow write even after the server gave up on it). After every
//! faulty round alive tasks and open fds return to their baseline and resident memory stays near it;
//! at the end SIGTERM ends the process cleanly.
//! `FAULT_SEED=<n>` replays a run's fault sequence (the seed is printed).
#![allow(clippy::unwrap_used)]

mod common;
#[path = "fault_injection/plan.rs"]
mod plan;
#[path = "fault_injection/regressions.rs"]
mod regressions;

use common::child::ChildServer;
use common::mcp::{Mcp, Reply};
use common::result_text;
use notion_fake::{FakeNotion, FaultRule, Fixture, RunningFake};
use plan::{CallKind, TOKEN, Tally, Verdict};
use serde_json::json;
use std::time::{Duration, Instant};

/// Concurrent calls per round.
const CALLS: usize = 200;
/// Share of Notion requests that meet a fault.
const FAULT_RATE: f64 = 0.2;
/// Faulty rounds after the warm-up.
const ROUNDS: u32 = 3;
/// Faulty rounds before the baseline is taken (allocator pools and caches fill up).
const WARM_UP_ROUNDS: u32 = 2;
/// Sessions the calls are spread over in sessions mode.
const SESSIONS: usize = 8;
/// Server settings: a small Notion timeout, retry budget and tool deadline keep the suite fast.
const NOTION_TIMEOUT_SECS: u64 = 3;
const RETRY_MAX: u32 = 2;
const RETRY_MAX_WAIT_SECS: u64 = 3;
const TOOL_TIMEOUT_SECS: u64 = 15;
/// How much later than the tool deadline a reply may arrive (scheduling on a loaded machine).
const REPLY_SLACK: Duration = Duration::from_secs(10);
/// Resident memory may grow this much over the post-warm-up baseline.
const RSS_MARGIN_KB: u64 = 20 * 1024;

#[derive(Debug, Clone, Copy, PartialEq)]
enum Mode {
    Stateless,
    Sessions,
}

/// The fake on a fixed address, restartable so idle keep-alive connections can be closed.
struct Upstream {
    fake: FakeNotion,
    addr: String,
    running: Option<RunningFake>,
}

impl Upstream {
    async fn start() -> Self {
        let running = FakeNotion::start(Fixture::sample()).await.unwrap();
        let addr = running.base_url().trim_start_matches("http://").to_string();
        Upstream {
            fake: running.fake.clone(),
            addr,
            running: Some(running),
        }
    }

    fn base_url(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// Stops and restarts the listener: the server's pooled connections see the close and go.
    async fn recycle(&mut self) {
        if let Some(r) = self.running.take() {
            r.shutdown().await;
        }
        self.running = Some(self.fake.serve(&self.addr).await.unwrap());
    }
}

fn seed() -> u64 {
    let seed = std::env::var("FAULT_SEED")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or_else(rand::random::<u64>);
    eprintln!("fault injection seed: {seed} (replay with FAULT_SEED={seed})");
    seed
}

async fn start_server(upstream: &Upstream, mode: Mode) -> ChildServer {
    let mut args: Vec<String> = [
        "--auth-mode",
        "notion-token",
        "--store",
        "memory",
        "--notion-base-url",
        &upstream.base_url(),
        "--pacing-rps",
        "10000",
        "--pacing-burst",
        "10000",
        "--rate-limit-per-minute",
        "0",
        "--notion-timeout-secs",
        &NOTION_TIMEOUT_SECS.to_string(),
        "--retry-max",
        &RETRY_MAX.to_string(),
        "--retry-max-wait-secs",
        &RETRY_MAX_WAIT_SECS.to_string(),
        "--tool-timeout-secs",
        &TOOL_TIMEOUT_SECS.to_string(),
        "--breaker-failures",
        "10",
        "--breaker-open-secs",
        "1",
        "--shutdown-grace-secs",
        "5",
        "--log-format",
        "json",
        // Search answers are compared with the fault-free ones: a content index fed by the reads
        // would change them as it fills.
        "--no-content-index",
    ]
    .iter()
    .map(|s| s.to_string())
    .collect();
    if mode == Mode::Sessions {
        args.push("--sessions".into());
    }
    ChildServer::start(&args, &[]).await
}

/// Alive tasks (from `/metrics`), open fds and RSS of the server.
#[derive(Debug, Clone, Copy)]
struct Usage {
    tasks: i64,
    fds: usize,
    rss_kb: u64,
}

async fn usage(server: &ChildServer) -> Usage {
    // A fresh connection each time, closed after the answer, so scrapes add nothing that lingers.
    let http = reqwest::Client::builder()
        .pool_max_idle_per_host(0)
        .build()
        .unwrap();
    let text = http
        .get(format!("{}/metrics", server.base))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    let tasks = text
        .lines()
        .find_map(|l| l.strip_prefix("notion_mcp_runtime_alive_tasks "))
        .and_then(|v| v.trim().parse().ok())
        .expect("the alive-task gauge is exported");
    Usage {
        tasks,
        fds: server.open_fds(),
        rss_kb: server.rss_kb(),
    }
}

impl Usage {
    /// Whether tasks and fds are back to `base` and resident memory is near it.
    fn within(&self, base: &Usage) -> bool {
        self.tasks <= base.tasks
            && self.fds <= base.fds
            && self.rss_kb <= base.rss_kb + RSS_MARGIN_KB
    }
}

/// Waits (up to 15 s) until the usage is [`within`](Usage::within) `base`; returns the last reading.
async fn settle(server: &ChildServer, base: Usage) -> Usage {
    let deadline = Instant::now() + Duration::from_secs(15);
    loop {
        let now = usage(server).await;
        if now.within(&base) || Instant::now() > deadline {
            return now;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// Fails the test unless `now` is [`within`](Usage::within) `base`, naming what did not come back.
fn assert_within(now: Usage, base: Usage, when: &str, seed: u64) {
    assert!(
        now.tasks <= base.tasks,
        "alive tasks back to the baseline {when} (seed {seed}): {base:?} → {now:?}"
    );
    assert!(
        now.fds <= base.fds,
        "open fds back to the baseline {when} (seed {seed}): {base:?} → {now:?}"
    );
    assert!(
        now.rss_kb <= base.rss_kb + RSS_MARGIN_KB,
        "resident memory within {RSS_MARGIN_KB} KiB of the baseline {when} (seed {seed}): {base:?} → {now:?}"
    );
}

/// The fault-free answer of every read call, checked to be stable.
async fn expected_answers(server: &ChildServer) -> Vec<String> {
    let mcp = Mcp::stateless(
        reqwest::Client::new(),
        &server.mcp_url(),
        TOKEN,
        Duration::from_secs(60),
    );
    let mut out = Vec::new();
    for (i, (tool, args)) in plan::read_calls().iter().enumerate() {
        let mut texts = Vec::new();
        for _ in 0..2 {
            match mcp.call(i as u64, tool, args).await {
                Reply::Result(r) if r["isError"] != true => texts.push(result_text(&r)),
                other => panic!("{tool} {args} fails without faults: {other:?}"),
            }
        }
        assert_eq!(texts[0], texts[1], "{tool} {args} answers the same twice");
        out.push(texts.remove(0));
    }
    out
}

/// One round of [`CALLS`] concurrent calls, faulty or not; page creations are checked afterwards
/// (with faults off) against the fake's request log and workspace.
async fn round(
    server: &ChildServer,
    upstream: &Upstream,
    mode: Mode,
    round: u32,
    seed: Option<u64>,
    expected: &[String],
) -> Tally {
    let http = reqwest::Client::new();
    let deadline = Duration::from_secs(TOOL_TIMEOUT_SECS) + REPLY_SLACK + Duration::from_secs(20);
    let url = server.mcp_url();
    let clients: Vec<Mcp> = match mode {
        Mode::Stateless => vec![Mcp::stateless(http.clone(), &url, TOKEN, deadline)],
        Mode::Sessions => {
            let mut v = Vec::new();
            for _ in 0..SESSIONS {
                v.push(Mcp::session(http.clone(), &url, TOKEN, deadline).await);
            }
            v
        }
    };
    upstream.fake.reset_log();
    if let Some(seed) = seed {
        let slow = Duration::from_secs(NOTION_TIMEOUT_SECS) + Duration::from_millis(1500);
        upstream.fake.push_fault(
            FaultRule::new(plan::fault_mix(slow))
                .path_prefix("/v1/")
                .probability(FAULT_RATE)
                .seed(seed.wrapping_add(u64::from(round))),
        );
    }
    let calls = plan::round_plan(round, CALLS);
    let replies = futures::future::join_all(calls.iter().enumerate().map(|(i, call)| {
        let mcp = &clients[i % clients.len()];
        async move {
            let started = Instant::now();
            let reply = mcp.call(call.id, call.tool, &call.args).await;
            (reply, started.elapsed())
        }
    }))
    .await;
    upstream.fake.clear_faults();
    // Slow requests the server gave up on are still running in the fake; their effects count too.
    upstream.fake.idle().await;
    let mut tally = Tally::default();
    let check = clients.first().unwrap();
    for (call, (reply, elapsed)) in calls.iter().zip(replies) {
        let expect = match &call.kind {
            CallKind::Read(k) => Some(expected[*k].as_str()),
            CallKind::Create { .. } => None,
        };
        let mut verdict = plan::judge(call, &reply, expect);
        if let CallKind::Create { title, body } = &call.kind
            && let Err(why) = check_create(&upstream.fake, check, title, body, &verdict).await
        {
            verdict = Verdict::Wrong(why);
        }
        let limit = Duration::from_secs(TOOL_TIMEOUT_SECS) + REPLY_SLACK;
        if elapsed > limit {
            verdict = Verdict::Wrong(format!(
                "{} took {elapsed:?}, past the {limit:?} deadline",
                call.tool
            ));
        }
        tally.add(&verdict, elapsed);
    }
    for c in clients {
        c.close().await;
    }
    tally
}

/// A page creation reached Notion past rate limits at most once (never replayed after an unknown
/// outcome) and exactly once when the call succeeded (a failed call may have failed on a read before
/// it); the page exists exactly as often as Notion applied it (a 200 in the log, including writes
/// whose answer came after the server gave up), so once after a success.
async fn check_create(
    fake: &FakeNotion,
    mcp: &Mcp,
    title: &str,
    body: &str,
    verdict: &Verdict,
) -> Result<(), String> {
    // Quoted, so "… c9" does not match "… c99".
    let quoted = format!("\"{title}\"");
    let sent: Vec<u16> = fake
        .requests()
        .iter()
        .filter(|r| r.method == http::Method::POST && r.path == "/v1/pages")
        .filter(|r| {
            r.body
                .as_ref()
                .is_some_and(|b| b.to_string().contains(&quoted))
        })
        .map(|r| r.status)
        .collect();
    let past_rate_limit = sent.iter().filter(|s| !matches!(s, 429 | 529)).count();
    let applied = sent.iter().filter(|s| **s == 200).count();
    let pages: Vec<String> = fake.with_state(|s| {
        s.pages
            .values()
            .filter(|p| {
                !p.in_trash
                    && serde_json::to_string(&p.properties)
                        .unwrap()
                        .contains(&quoted)
            })
            .map(|p| p.id.to_string())
            .collect()
    });
    let succeeded = matches!(verdict, Verdict::Ok);
    if past_rate_limit > 1 || (succeeded && past_rate_limit != 1) {
        return Err(format!(
            "'{title}' ({verdict:?}) reached Notion {past_rate_limit} times past rate limits: \
             statuses {sent:?}"
        ));
    }
    if pages.len() != applied || applied > 1 {
        return Err(format!(
            "'{title}' ({verdict:?}) exists {} times, applied {applied} times: statuses {sent:?}",
            pages.len()
        ));
    }
    if succeeded {
        if applied != 1 {
            return Err(format!(
                "'{title}' succeeded but the log shows {sent:?} and {} pages",
                pages.len()
            ));
        }
        let md = match mcp
            .call(1, "get_page_markdown", &json!({"id": pages[0]}))
            .await
        {
            Reply::Result(r) if r["isError"] != true => result_text(&r),
            other => return Err(format!("reading back '{title}': {other:?}")),
        };
        if !md.contains(body) {
            return Err(format!("'{title}' was created without its content: {md}"));
        }
    }
    Ok(())
}

async fn suite(mode: Mode) {
    let seed = seed();
    let mut upstream = Upstream::start().await;
    let server = start_server(&upstream, mode).await;
    let expected = expected_answers(&server).await;
    // Warm-up: faulty rounds, so every path (retries, timeouts, pools) has run.
    let mut total = Tally::default();
    for r in 0..WARM_UP_ROUNDS {
        let t = round(&server, &upstream, mode, r, Some(seed), &expected).await;
        total.merge(&t);
    }
    upstream.recycle().await;
    tokio::time::sleep(Duration::from_millis(500)).await;
    let base = usage(&server).await;
    for r in WARM_UP_ROUNDS..WARM_UP_ROUNDS + ROUNDS {
        let t = round(&server, &upstream, mode, r, Some(seed), &expected).await;
        eprintln!(
            "{mode:?} round {r}: {} calls, {} ok, failures {:?}, max {:?}",
            t.calls, t.ok, t.failed, t.max_elapsed
        );
        total.merge(&t);
        upstream.recycle().await;
        let after = settle(&server, base).await;
        eprintln!("{mode:?} after round {r}: {after:?}");
        assert_within(after, base, &format!("after faulty round {r}"), seed);
    }
    // Faults off: everything answers again (the breaker, if it opened, has closed).
    let clean = round(
        &server,
        &upstream,
        mode,
        WARM_UP_ROUNDS + ROUNDS,
        None,
        &expected,
    )
    .await;
    upstream.recycle().await;
    let end = settle(&server, base).await;
    eprintln!(
        "{mode:?} totals: {} calls, {} ok, failures {:?}, max call {:?} (deadline {TOOL_TIMEOUT_SECS} s)",
        total.calls, total.ok, total.failed, total.max_elapsed
    );
    eprintln!("{mode:?} usage: baseline {base:?}, at the end {end:?}");
    assert!(
        total.wrong.is_empty(),
        "{} wrong replies (seed {seed}):\n{}",
        total.wrong.len(),
        total.wrong.join("\n")
    );
    assert!(
        clean.wrong.is_empty() && clean.ok == CALLS,
        "fault-free round: {clean:?}"
    );
    let faulty = total.calls - total.ok;
    assert!(faulty > 0, "faults were injected and some calls failed");
    assert!(
        total.ok > total.calls / 2,
        "retries absorb most faults: {total:?}"
    );
    assert_within(end, base, "at the end", seed);
    let (clean_exit, log) = server.stop();
    assert!(!log.contains("panicked"), "the server panicked:\n{log}");
    assert!(clean_exit, "SIGTERM ends the server cleanly:\n{log}");
    assert_eq!(
        log.matches("SIGTERM received").count(),
        1,
        "SIGTERM is logged once:\n{log}"
    );
    if let Some(r) = upstream.running.take() {
        r.shutdown().await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn faulty_notion_under_200_concurrent_stateless_calls() {
    suite(Mode::Stateless).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn faulty_notion_under_200_concurrent_calls_in_sessions() {
    suite(Mode::Sessions).await;
}
