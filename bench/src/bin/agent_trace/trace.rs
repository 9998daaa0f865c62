//! The simulated users' calls: a mix of tools, Zipf-distributed choices of pages and rows (a few are
//! hot), each read checked against the edits before it, and what every call measured.

use crate::edits::{Edits, Freshness, Target};
use crate::workspace::{TOPICS, Workspace};
use anyhow::Result;
use notion_mcp_bench::mcp::McpClient;
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use serde_json::{Value, json};
use std::sync::Mutex;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

/// A call without an answer by then counts as failed (the server's own tool deadline is 240 s).
const CALL_TIMEOUT: Duration = Duration::from_secs(120);

/// The tools of the mix (`get_page` on a long page and on a row are told apart).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Tool {
    Fetch,
    GetRow,
    GetPage,
    Query,
    Search,
}

impl Tool {
    pub const ALL: [Tool; 5] = [
        Tool::Fetch,
        Tool::GetRow,
        Tool::GetPage,
        Tool::Query,
        Tool::Search,
    ];

    /// Share of the calls, in percent.
    pub fn weight(self) -> u32 {
        match self {
            Tool::Fetch => 45,
            Tool::GetRow => 20,
            Tool::GetPage => 13,
            Tool::Query => 12,
            Tool::Search => 10,
        }
    }

    pub fn label(self) -> &'static str {
        match self {
            Tool::Fetch => "fetch (long page)",
            Tool::GetRow => "get_page (row)",
            Tool::GetPage => "get_page (long page)",
            Tool::Query => "query_data_source",
            Tool::Search => "search (title)",
        }
    }
}

/// Zipf-distributed indexes `0..n`: index `k` drawn with weight `1 / (k + 1)^s`.
#[derive(Debug, Clone)]
pub struct Zipf {
    cdf: Vec<f64>,
}

impl Zipf {
    pub fn new(n: usize, s: f64) -> Self {
        let mut total = 0.0;
        let mut cdf: Vec<f64> = (0..n.max(1))
            .map(|k| {
                total += 1.0 / ((k + 1) as f64).powf(s);
                total
            })
            .collect();
        for c in &mut cdf {
            *c /= total;
        }
        Zipf { cdf }
    }

    pub fn sample(&self, rng: &mut impl Rng) -> usize {
        let u: f64 = rng.random();
        self.cdf.partition_point(|&c| c < u).min(self.cdf.len() - 1)
    }
}

/// One successful call.
#[derive(Debug, Clone, Copy)]
pub struct Sample {
    pub tool: Tool,
    /// A fetch of a page some user had fetched before (completed before this one started).
    pub repeated: bool,
    pub ms: f64,
}

/// Calls that failed, by cause.
#[derive(Debug, Clone, Default)]
pub struct Failures {
    /// Notion's rate limit outlasted the server's retries (`Error (rate_limited)`).
    pub rate_limited: usize,
    pub other: usize,
    pub first_other: Option<String>,
}

/// Everything the users share: their clients, the workspace, the edits, and what was measured.
pub struct Users {
    clients: Vec<McpClient>,
    rngs: Vec<Mutex<StdRng>>,
    pages: Vec<String>,
    rows: Vec<String>,
    data_source: String,
    page_zipf: Zipf,
    row_zipf: Zipf,
    fetched: Vec<AtomicBool>,
    think: Duration,
    pub edits: std::sync::Arc<Edits>,
    pub samples: Mutex<Vec<Sample>>,
    pub freshness: Mutex<Freshness>,
    pub failures: Mutex<Failures>,
}

impl Users {
    /// One client per user token against `base`; every user's choices come from `seed`.
    pub fn new(
        http: &reqwest::Client,
        base: &str,
        ws: &Workspace,
        edits: std::sync::Arc<Edits>,
        think: Duration,
        seed: u64,
    ) -> Self {
        Users {
            clients: ws
                .users
                .iter()
                .map(|t| McpClient::new(http.clone(), base, Some(t)))
                .collect(),
            rngs: (0..ws.users.len())
                .map(|u| Mutex::new(StdRng::seed_from_u64(seed ^ ((u as u64 + 1) * 0x9e37_79b9))))
                .collect(),
            pages: ws.pages.iter().map(ToString::to_string).collect(),
            rows: ws.rows.iter().map(ToString::to_string).collect(),
            data_source: ws.data_source.to_string(),
            page_zipf: Zipf::new(ws.pages.len(), 1.0),
            row_zipf: Zipf::new(ws.rows.len(), 1.0),
            fetched: ws.pages.iter().map(|_| AtomicBool::new(false)).collect(),
            think,
            edits,
            samples: Mutex::new(Vec::new()),
            freshness: Mutex::new(Freshness::default()),
            failures: Mutex::new(Failures::default()),
        }
    }

    /// Picks the next call of `user`: the tool, the page or row index, and the think time before it.
    fn pick(&self, user: usize) -> (Tool, usize, Duration) {
        let mut rng = self.rngs[user].lock().unwrap_or_else(|e| e.into_inner());
        let mut roll = rng.random_range(0..100u32);
        let mut tool = Tool::Search;
        for t in Tool::ALL {
            if roll < t.weight() {
                tool = t;
                break;
            }
            roll -= t.weight();
        }
        let index = match tool {
            Tool::Fetch | Tool::GetPage => self.page_zipf.sample(&mut *rng),
            Tool::GetRow => self.row_zipf.sample(&mut *rng),
            Tool::Search => rng.random_range(0..TOPICS.len()),
            Tool::Query => 0,
        };
        let think = if self.think.is_zero() {
            Duration::ZERO
        } else {
            self.think.mul_f64(rng.random_range(0.0..2.0))
        };
        (tool, index, think)
    }

    /// One call of `user`: think, call, check the answer against the edits, record it.
    pub async fn call(&self, user: usize) -> Result<()> {
        let (tool, i, think) = self.pick(user);
        if !think.is_zero() {
            tokio::time::sleep(think).await;
        }
        let (name, args) = match tool {
            Tool::Fetch => ("fetch", json!({"id": self.pages[i]})),
            Tool::GetPage => ("get_page", json!({"id": self.pages[i]})),
            Tool::GetRow => ("get_page", json!({"id": self.rows[i]})),
            Tool::Query => (
                "query_data_source",
                json!({"id": self.data_source, "limit": self.rows.len()}),
            ),
            Tool::Search => ("search", json!({"query": TOPICS[i], "limit": 10})),
        };
        let repeated = tool == Tool::Fetch && self.fetched[i].load(Ordering::SeqCst);
        let started = Instant::now();
        let call = self.clients[user].call_tool(name, args);
        let answer = match tokio::time::timeout(CALL_TIMEOUT, call).await {
            Ok(answer) => answer,
            Err(_) => Err(anyhow::anyhow!("{name}: no answer within {CALL_TIMEOUT:?}")),
        };
        let result = match answer {
            Ok(r) => r,
            Err(e) => {
                let mut f = self.failures.lock().unwrap_or_else(|e| e.into_inner());
                let text = format!("{e:#}");
                if text.contains("Error (rate_limited)") {
                    f.rate_limited += 1;
                } else {
                    f.other += 1;
                    f.first_other.get_or_insert(text);
                }
                return Err(e);
            }
        };
        let ms = started.elapsed().as_secs_f64() * 1e3;
        let text = text_of(&result);
        let f = match tool {
            Tool::Fetch => self.edits.check(Target::Page(i), started, &text, false),
            Tool::GetRow => self.edits.check(Target::Row(i), started, &text, false),
            Tool::Query => self.edits.check_rows(self.rows.len(), started, &text),
            Tool::GetPage | Tool::Search => Freshness::default(),
        };
        if tool == Tool::Fetch {
            self.fetched[i].store(true, Ordering::SeqCst);
        }
        *self.freshness.lock().unwrap_or_else(|e| e.into_inner()) += f;
        self.samples
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .push(Sample { tool, repeated, ms });
        Ok(())
    }
}

/// The text items of a `tools/call` result, joined.
fn text_of(result: &Value) -> String {
    result["content"]
        .as_array()
        .map(|items| {
            items
                .iter()
                .filter_map(|c| c["text"].as_str())
                .collect::<Vec<_>>()
                .join("\n")
        })
        .unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn zipf_favours_the_first_items_and_stays_in_range() {
        let z = Zipf::new(30, 1.0);
        let mut rng = StdRng::seed_from_u64(7);
        let mut counts = [0usize; 30];
        for _ in 0..30_000 {
            counts[z.sample(&mut rng)] += 1;
        }
        assert!(counts[0] > 5 * counts[29], "{counts:?}");
        assert!(counts[0] > counts[1] && counts[1] > counts[5]);
        assert_eq!(Zipf::new(1, 1.0).sample(&mut rng), 0);
    }

    #[test]
    fn weights_cover_every_call() {
        assert_eq!(Tool::ALL.iter().map(|t| t.weight()).sum::<u32>(), 100);
    }
}
