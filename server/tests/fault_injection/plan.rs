//! What the fault-injection suite sends and how it judges the answers: a mix of read calls over the
//! sample workspace plus page creations, the fault mix the fake answers with, and the checks every
//! reply must pass (a correct success, or an `isError` result naming its cause).

use crate::common::mcp::Reply;
use crate::common::result_text;
use notion_fake::{Fault, stable_id};
use serde_json::{Value, json};
use std::collections::BTreeMap;
use std::time::Duration;

/// The sample workspace's bearer token.
pub const TOKEN: &str = "ntn_demo_acme";

/// One planned tool call.
#[derive(Debug, Clone)]
pub struct Call {
    pub id: u64,
    pub tool: &'static str,
    pub args: Value,
    /// Index into [`read_calls`] (reads), or the unique title of a page creation (writes).
    pub kind: CallKind,
}

#[derive(Debug, Clone)]
pub enum CallKind {
    Read(usize),
    Create { title: String, body: String },
}

/// The read calls, cycled through by every round. Pages created by the writes go under the
/// Employee Handbook, which none of these read, so their answers never change.
pub fn read_calls() -> Vec<(&'static str, Value)> {
    let id = |name: &str| stable_id(name).to_string();
    vec![
        ("get_page", json!({"id": id("acme-home")})),
        ("search", json!({"query": "Acme"})),
        ("query_data_source", json!({"id": id("acme-tasks-ds")})),
        ("get_block_children", json!({"id": id("acme-home")})),
        ("get_page_markdown", json!({"id": id("acme-home")})),
        ("list_users", json!({})),
        ("fetch", json!({"id": id("acme-home")})),
        ("get_data_source", json!({"id": id("acme-tasks-ds")})),
        ("get_self", json!({})),
        ("list_comments", json!({"id": id("acme-home")})),
        ("list_users", json!({"id": id("alice")})),
        ("get_data_source", json!({"id": id("acme-tasks")})),
        (
            "query_data_source",
            json!({"id": id("acme-tasks-ds"), "filter": {"property": "Done", "checkbox": {"equals": false}}}),
        ),
        ("fetch", json!({"id": id("project-website")})),
    ]
}

/// `n` calls for round `round`: every tenth a page creation, the rest the read calls in turn.
pub fn round_plan(round: u32, n: usize) -> Vec<Call> {
    let reads = read_calls();
    let parent = stable_id("acme-handbook").to_string();
    (0..n)
        .map(|i| {
            let id = u64::from(round) * 10_000 + i as u64;
            if i % 10 == 9 {
                let title = format!("Fault run r{round} c{i}");
                let body = format!("Written by call {i} of round {round}.");
                Call {
                    id,
                    tool: "create_page",
                    args: json!({"parent": parent, "title": title, "content": body}),
                    kind: CallKind::Create { title, body },
                }
            } else {
                let k = i % reads.len();
                Call {
                    id,
                    tool: reads[k].0,
                    args: reads[k].1.clone(),
                    kind: CallKind::Read(k),
                }
            }
        })
        .collect()
}

/// The mix the fake answers a faulty call with, in equal parts.
pub fn fault_mix(slow: Duration) -> Fault {
    let status = |status: u16, code: &str| Fault::Status {
        status,
        code: code.into(),
        retry_after: None,
    };
    Fault::Mix(vec![
        (
            1,
            Fault::RateLimited {
                retry_after: Some(1),
                reason: String::new(),
            },
        ),
        (1, status(429, "rate_limited")),
        (
            1,
            Fault::Overloaded {
                retry_after: Some(1),
            },
        ),
        (1, status(500, "")),
        (1, status(502, "")),
        (1, status(503, "")),
        (1, status(504, "")),
        (1, Fault::Delay(slow)),
        (1, Fault::DropConnection),
    ])
}

/// How a failed call must name its cause: its `error.code`, and words its text must contain.
pub fn cause_words(code: &str) -> Option<&'static [&'static str]> {
    Some(match code {
        "rate_limited" => &["rate limit"],
        "service_overload" => &["overloaded"],
        "internal_server_error" | "bad_gateway" | "service_unavailable" | "gateway_timeout" => {
            &["unavailable"]
        }
        "timeout" => &["did not answer", "timeout"],
        "connection_error" => &["connection"],
        "upstream_unavailable" => &["failing"],
        "deadline_exceeded" => &["did not finish within"],
        _ => return None,
    })
}

/// The outcome of one call, judged.
#[derive(Debug)]
pub enum Verdict {
    Ok,
    /// `isError` with this code (already checked for shape and wording).
    Failed(String),
    /// Something the suite forbids, with the reason.
    Wrong(String),
}

/// Judges a reply: a success must match `expected` (reads); a failure must be an `isError` result
/// with a known cause code, named in its text, and `retry_after_seconds` for rate limits.
pub fn judge(call: &Call, reply: &Reply, expected: Option<&str>) -> Verdict {
    let r = match reply {
        Reply::Result(r) => r,
        other => return Verdict::Wrong(format!("{} {}: {other:?}", call.tool, call.args)),
    };
    let text = result_text(r);
    if r["isError"] != true {
        return match expected {
            Some(e) if e != text => Verdict::Wrong(format!(
                "{} {} succeeded with a different answer:\n{text}\n--- expected ---\n{e}",
                call.tool, call.args
            )),
            _ => Verdict::Ok,
        };
    }
    let err = &r["structuredContent"]["error"];
    let code = err["code"].as_str().unwrap_or("").to_string();
    let Some(words) = cause_words(&code) else {
        return Verdict::Wrong(format!("unexpected error code {code:?}: {r}"));
    };
    let lower = text.to_lowercase();
    if !text.starts_with(&format!("Error ({code})")) || !words.iter().any(|w| lower.contains(w)) {
        return Verdict::Wrong(format!("{code}: the text does not name the cause: {text}"));
    }
    if matches!(
        code.as_str(),
        "rate_limited" | "service_overload" | "upstream_unavailable"
    ) {
        let secs = err["retry_after_seconds"].as_u64().unwrap_or(0);
        if secs == 0 || !text.contains(&format!("Retry after {secs} s")) {
            return Verdict::Wrong(format!("{code} without retry_after_seconds: {r}"));
        }
    }
    let unknown = matches!(
        code.as_str(),
        "timeout"
            | "internal_server_error"
            | "bad_gateway"
            | "service_unavailable"
            | "gateway_timeout"
            | "deadline_exceeded"
    );
    if matches!(call.kind, CallKind::Create { .. }) && unknown && err["write_outcome"] != "unknown"
    {
        return Verdict::Wrong(format!("{code} on a create without write_outcome: {r}"));
    }
    Verdict::Failed(code)
}

/// Counts of one round.
#[derive(Debug, Default)]
pub struct Tally {
    pub calls: usize,
    pub ok: usize,
    pub failed: BTreeMap<String, usize>,
    pub wrong: Vec<String>,
    pub max_elapsed: Duration,
}

impl Tally {
    pub fn add(&mut self, verdict: &Verdict, elapsed: Duration) {
        self.calls += 1;
        self.max_elapsed = self.max_elapsed.max(elapsed);
        match verdict {
            Verdict::Ok => self.ok += 1,
            Verdict::Failed(code) => *self.failed.entry(code.clone()).or_default() += 1,
            Verdict::Wrong(why) => self.wrong.push(why.clone()),
        }
    }

    pub fn merge(&mut self, other: &Tally) {
        self.calls += other.calls;
        self.ok += other.ok;
        for (k, v) in &other.failed {
            *self.failed.entry(k.clone()).or_default() += v;
        }
        self.wrong.extend(other.wrong.iter().cloned());
        self.max_elapsed = self.max_elapsed.max(other.max_elapsed);
    }
}
