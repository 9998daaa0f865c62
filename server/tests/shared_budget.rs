//! Three server processes with `--replicas 3` share one workspace's Notion budget through Redis.
//!
//! The fake Notion limits the sample workspace to 3 requests/s with a burst of 10, like Notion; Redis
//! wants a password, given in the URL (and never logged). One continuous load of `search` calls (one
//! Notion request each, all for that workspace, 12 at a time):
//! 1. all of it to ONE process for 6 s: with the shared budget that process gets (nearly) the whole
//!    budget, not a third of it: the requests granted from the first one on are ≥ 95 % of the
//!    `10 + 3/s × d` the fake's bucket allows in those `d` seconds, and no 429;
//! 2. spread over the three for 6 s: still no 429, and the total stays within the budget;
//! 3. spread, with redis-server killed and restarted on the same port 4 s later: every call still
//!    succeeds (the processes pace at 1/3 each while Redis is away) and still no 429.
#![allow(clippy::unwrap_used)]

mod common;

use common::child::ChildServer;
use common::mcp::{Mcp, Reply};
use common::redis::RedisServer;
use notion_fake::{FakeNotion, Fixture, RateLimit, RunningFake};
use serde_json::json;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

const TOKEN: &str = "ntn_demo_acme";
/// Redis's password: in the URL the servers get, never in what they log.
const PASSWORD: &str = "budget-pw-3c9d";
const RATE: f64 = 3.0;
const BURST: u32 = 10;
/// Concurrent callers: enough to keep the budget busy at all times.
const WORKERS: usize = 12;

async fn replica(fake: &RunningFake, redis_url: &str) -> ChildServer {
    let args: Vec<String> = [
        "--auth-mode",
        "notion-token",
        "--notion-base-url",
        fake.base_url(),
        "--redis-url",
        redis_url,
        "--replicas",
        "3",
        "--pacing-rps",
        "3",
        "--pacing-burst",
        "10",
        "--rate-limit-per-minute",
        "0",
        "--log-format",
        "json",
    ]
    .iter()
    .map(|s| s.to_string())
    .collect();
    ChildServer::start(&args, &[]).await
}

async fn redis_degraded(http: &reqwest::Client, server: &ChildServer) -> Option<f64> {
    let text = http
        .get(format!("{}/metrics", server.base))
        .send()
        .await
        .ok()?
        .text()
        .await
        .ok()?;
    text.lines()
        .find_map(|l| l.strip_prefix("notion_mcp_redis_degraded "))
        .and_then(|v| v.trim().parse().ok())
}

/// When the fake granted requests (200) and refused them (429).
#[derive(Default)]
struct Arrivals {
    /// (seconds since the start, granted requests) at every change.
    changes: Mutex<Vec<(f64, usize)>>,
    /// When 429s were answered (seconds since the start).
    limited: Mutex<Vec<f64>>,
}

impl Arrivals {
    /// When the first requests arrived (the fake's bucket was full then).
    fn first(&self) -> f64 {
        self.changes.lock().unwrap().first().map_or(0.0, |c| c.0)
    }

    /// The last change at or before `t` seconds.
    fn at(&self, t: f64) -> (f64, usize) {
        self.changes
            .lock()
            .unwrap()
            .iter()
            .rev()
            .find(|(at, _)| *at <= t)
            .copied()
            .unwrap_or((0.0, 0))
    }
}

/// Who gets the calls.
const TO_FIRST: u64 = 0;
const SPREAD: u64 = 1;
const STOP: u64 = 2;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn replicas_share_one_workspace_budget_through_redis() {
    let Some(mut redis) =
        RedisServer::start_or_skip("shared_budget", &["--requirepass", PASSWORD]).await
    else {
        return;
    };
    let url = format!("redis://:{PASSWORD}@127.0.0.1:{}", redis.port);
    let fake = FakeNotion::start(Fixture::sample()).await.unwrap();
    let servers = vec![
        replica(&fake, &url).await,
        replica(&fake, &url).await,
        replica(&fake, &url).await,
    ];
    let http = reqwest::Client::new();
    for s in &servers {
        let deadline = Instant::now() + Duration::from_secs(10);
        while redis_degraded(&http, s).await != Some(0.0) {
            assert!(
                Instant::now() < deadline,
                "{} never reached Redis:\n{}",
                s.base,
                s.log()
            );
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }
    // A full bucket at the fake when the load starts.
    fake.set_workspace_rate_limit(Some(RateLimit::workspace(RATE, BURST)));
    fake.reset_log();

    let clients: Arc<Vec<Mcp>> = Arc::new(
        servers
            .iter()
            .map(|s| Mcp::stateless(http.clone(), &s.mcp_url(), TOKEN, Duration::from_secs(120)))
            .collect(),
    );
    let mode = Arc::new(AtomicU64::new(TO_FIRST));
    let next_call = Arc::new(AtomicUsize::new(0));
    let failures: Arc<Mutex<Vec<String>>> = Arc::default();
    let calls_per_server: Arc<Vec<AtomicUsize>> =
        Arc::new((0..servers.len()).map(|_| AtomicUsize::new(0)).collect());
    let arrivals = Arc::new(Arrivals::default());
    let started = Instant::now();

    // Sampler: when the fake's count of granted requests changes.
    let sampler = {
        let (arrivals, fake, mode) = (arrivals.clone(), fake.fake.clone(), mode.clone());
        tokio::spawn(async move {
            let (mut last, mut last_limited) = (0, 0);
            while mode.load(Ordering::SeqCst) != STOP {
                let (n, limited) = (fake.count_status(200), fake.count_status(429));
                let at = started.elapsed().as_secs_f64();
                if n != last {
                    last = n;
                    arrivals.changes.lock().unwrap().push((at, n));
                }
                if limited != last_limited {
                    last_limited = limited;
                    arrivals.limited.lock().unwrap().push(at);
                }
                tokio::time::sleep(Duration::from_millis(5)).await;
            }
        })
    };
    let mut workers = Vec::new();
    for _ in 0..WORKERS {
        let (clients, mode, next_call) = (clients.clone(), mode.clone(), next_call.clone());
        let (failures, per_server) = (failures.clone(), calls_per_server.clone());
        workers.push(tokio::spawn(async move {
            loop {
                let m = mode.load(Ordering::SeqCst);
                if m == STOP {
                    return;
                }
                let i = next_call.fetch_add(1, Ordering::SeqCst);
                let target = if m == TO_FIRST { 0 } else { i % clients.len() };
                per_server[target].fetch_add(1, Ordering::SeqCst);
                // Distinct queries: no two calls can be answered by one Notion request.
                let args = json!({"query": format!("budget-probe-{i}"), "limit": 5});
                match clients[target].call(i as u64, "search", &args).await {
                    Reply::Result(r) if r["isError"] != json!(true) => {}
                    other => failures
                        .lock()
                        .unwrap()
                        .push(format!("call {i} to server {target}: {other:?}")),
                }
            }
        }));
    }

    // 1. Everything to one process.
    tokio::time::sleep(Duration::from_secs(6)).await;
    // The fake's bucket allows `burst + rate × d` requests in the `d` seconds from the first one.
    let (t1, n1) = arrivals.at(6.0);
    let d1 = t1 - arrivals.first();
    let allowed1 = RATE * d1 + f64::from(BURST);
    let use1 = n1 as f64 / allowed1;
    eprintln!(
        "one process: {n1} requests granted in {d1:.2} s from the first = {:.1} % of the workspace budget ({allowed1:.1} allowed), {} × 429",
        use1 * 100.0,
        fake.count_status(429)
    );
    assert_eq!(
        fake.count_status(429),
        0,
        "no 429 with all calls on one process; at {:?} s",
        arrivals.limited.lock().unwrap()
    );
    assert!(
        use1 >= 0.95,
        "one process used {:.1} % of the budget",
        use1 * 100.0
    );

    // 2. Spread over the three.
    mode.store(SPREAD, Ordering::SeqCst);
    tokio::time::sleep(Duration::from_secs(6)).await;
    let (t2, n2) = arrivals.at(12.0);
    let d2 = t2 - arrivals.first();
    let allowed2 = RATE * d2 + f64::from(BURST);
    eprintln!(
        "spread over 3: {n2} requests granted in {d2:.2} s from the first ({:.1} % of {allowed2:.1} allowed), {} × 429",
        n2 as f64 / allowed2 * 100.0,
        fake.count_status(429)
    );
    assert_eq!(
        fake.count_status(429),
        0,
        "no 429 with calls spread; at {:?} s",
        arrivals.limited.lock().unwrap()
    );
    assert!(n2 as f64 <= allowed2, "{n2} granted, {allowed2} allowed");
    let per: Vec<usize> = calls_per_server
        .iter()
        .map(|c| c.load(Ordering::SeqCst))
        .collect();
    assert!(per.iter().all(|&c| c > 0), "calls per server {per:?}");

    // 3. Redis killed mid-load, back 4 s later.
    tokio::time::sleep(Duration::from_secs(1)).await;
    redis.kill();
    let killed_at = started.elapsed().as_secs_f64();
    tokio::time::sleep(Duration::from_secs(2)).await;
    for s in &servers {
        assert_eq!(
            redis_degraded(&http, s).await,
            Some(1.0),
            "{} noticed",
            s.base
        );
    }
    tokio::time::sleep(Duration::from_secs(2)).await;
    redis.restart().await;
    let restarted_at = started.elapsed().as_secs_f64();
    tokio::time::sleep(Duration::from_secs(5)).await;
    mode.store(STOP, Ordering::SeqCst);
    for w in workers {
        w.await.unwrap();
    }
    sampler.await.unwrap();
    fake.fake.idle().await;
    let total = started.elapsed().as_secs_f64() - arrivals.first();
    let (granted, limited) = (fake.count_status(200), fake.count_status(429));
    let calls = next_call.load(Ordering::SeqCst);
    eprintln!(
        "Redis killed at {killed_at:.1} s, back at {restarted_at:.1} s: {calls} calls, {granted} requests granted in {total:.1} s ({:.1} allowed), {limited} × 429, {} failed calls",
        RATE * total + f64::from(BURST),
        failures.lock().unwrap().len()
    );
    for s in &servers {
        assert_eq!(
            redis_degraded(&http, s).await,
            Some(0.0),
            "{} recovered",
            s.base
        );
    }
    let failed = failures.lock().unwrap().clone();
    assert!(
        failed.is_empty(),
        "{} calls failed: {:#?}",
        failed.len(),
        &failed[..failed.len().min(5)]
    );
    // Each replica asks Notion once which workspace the token belongs to (its workspace budget).
    let questions = fake
        .requests()
        .iter()
        .filter(|r| r.path == "/v1/users/me" && r.status == 200)
        .count();
    assert_eq!(questions, 3, "one workspace question per replica");
    assert_eq!(
        granted,
        calls + questions,
        "one Notion request per call, besides the questions"
    );
    assert_eq!(fake.requests().len(), granted + limited);
    assert_eq!(
        limited,
        0,
        "no 429, Redis outage included; at {:?} s",
        arrivals.limited.lock().unwrap()
    );
    assert!(granted as f64 <= RATE * total + f64::from(BURST));
    for s in servers {
        let log = s.kill9();
        assert!(
            log.contains("Redis unreachable"),
            "the outage was logged:\n{log}"
        );
        assert!(log.contains("Redis reachable"), "the recovery was logged");
        assert!(
            !log.contains(PASSWORD),
            "the Redis password was logged:\n{log}"
        );
    }
    fake.shutdown().await;
}
