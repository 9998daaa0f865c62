//! Edits by a person outside the server, and whether reads through the server show them.
//!
//! The editor writes straight to the fake's API with its own token (a paragraph appended to a
//! page, a row's `Number` changed to a unique value), so the server learns of the change only from
//! the fake's signed webhook. After each write it watches the fake's delivery log until the
//! server has answered every event of that write with 2xx, and notes the time. From then on every
//! read of that page or row through the server must show the edit (or a later one); a read that
//! started after that moment and shows older content is stale. Without webhooks (the cache off),
//! the reference is the write's own answer: every read started after it must show the edit.

use crate::trace::Zipf;
use crate::workspace::Workspace;
use anyhow::{Context, Result, bail};
use notion_fake::FakeNotion;
use rand::SeedableRng;
use rand::rngs::StdRng;
use serde_json::{Value, json};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use uuid::Uuid;

/// What an edit changed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Target {
    /// A paragraph appended to page `i` of the workspace's pages.
    Page(usize),
    /// Row `i`'s `Number` set to a new value.
    Row(usize),
}

/// One edit and the moments it must be visible from.
#[derive(Debug, Clone)]
struct Edit {
    target: Target,
    /// What reads must contain to show it.
    marker: String,
    /// The write was answered.
    committed: Instant,
    /// The server answered the webhook of the page or row (rows: `page.properties_updated`).
    object_acked: Option<Instant>,
    /// Rows: the server also answered `data_source.content_updated` (queries of the source).
    query_acked: Option<Instant>,
}

/// When an edit must show in reads.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Reference {
    /// Once the server answered its webhook (cache on).
    Webhook,
    /// Once the write was answered (cache off, no webhooks).
    Commit,
}

/// How a read compared with the edits before it.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Freshness {
    /// Reads that showed content older than an edit they had to show.
    pub stale: usize,
    /// Reads that showed content older than a committed edit whose webhook had not been answered
    /// yet when they started (allowed).
    pub early: usize,
    /// Reads checked against at least one edit.
    pub checked: usize,
}

impl std::ops::AddAssign for Freshness {
    fn add_assign(&mut self, o: Freshness) {
        self.stale += o.stale;
        self.early += o.early;
        self.checked += o.checked;
    }
}

/// Every edit so far, in order.
#[derive(Debug)]
pub struct Edits {
    reference: Reference,
    log: Mutex<Vec<Edit>>,
}

impl Edits {
    pub fn new(reference: Reference) -> Self {
        Self {
            reference,
            log: Mutex::new(Vec::new()),
        }
    }

    fn log(&self) -> std::sync::MutexGuard<'_, Vec<Edit>> {
        self.log.lock().unwrap_or_else(|e| e.into_inner())
    }

    fn must_show_from(&self, e: &Edit, query: bool) -> Option<Instant> {
        match self.reference {
            Reference::Commit => Some(e.committed),
            Reference::Webhook if query => e.object_acked.zip(e.query_acked).map(|(a, b)| a.max(b)),
            Reference::Webhook => e.object_acked,
        }
    }

    /// Checks a read of `target` that started at `started` and returned `output` (`query`: the
    /// read was a data-source query, which must show a row once both of its events were answered).
    pub fn check(&self, target: Target, started: Instant, output: &str, query: bool) -> Freshness {
        let log = self.log();
        let of: Vec<&Edit> = log.iter().filter(|e| e.target == target).collect();
        let mut f = Freshness::default();
        let shows_from = |i: usize| of[i..].iter().any(|e| output.contains(&e.marker));
        let required = of
            .iter()
            .rposition(|e| self.must_show_from(e, query).is_some_and(|t| t <= started));
        if let Some(i) = required {
            f.checked = 1;
            if !shows_from(i) {
                f.stale = 1;
                return f;
            }
        }
        if let Some(i) = of.iter().rposition(|e| e.committed <= started)
            && required.is_none_or(|r| r < i)
        {
            f.checked = 1;
            if !shows_from(i) {
                f.early = 1;
            }
        }
        f
    }

    /// Checks a query answer against the edits of every row.
    pub fn check_rows(&self, rows: usize, started: Instant, output: &str) -> Freshness {
        let edited: Vec<usize> = {
            let mut v: Vec<usize> = self
                .log()
                .iter()
                .filter_map(|e| match e.target {
                    Target::Row(i) if i < rows => Some(i),
                    _ => None,
                })
                .collect();
            v.sort_unstable();
            v.dedup();
            v
        };
        let mut total = Freshness::default();
        for i in edited {
            let f = self.check(Target::Row(i), started, output, true);
            // One query is one read: stale if any row is.
            total.stale = total.stale.max(f.stale);
            total.early = total.early.max(f.early);
            total.checked = total.checked.max(f.checked);
        }
        total
    }

    /// Edits made, and those whose webhooks were not all answered with 2xx in time.
    pub fn counts(&self) -> (usize, usize) {
        let log = self.log();
        let unacked = log
            .iter()
            .filter(|e| match e.target {
                Target::Page(_) => e.object_acked.is_none(),
                Target::Row(_) => e.object_acked.is_none() || e.query_acked.is_none(),
            })
            .count();
        (log.len(), unacked)
    }
}

/// The marker of edit `seq`: the appended paragraph's text, or the row's new `Number`.
fn marker(target: Target, seq: u64) -> String {
    match target {
        Target::Page(_) => format!("Edit #{seq} by the editor"),
        // Seven digits, unlike every other number in the rows; delimited as in a Markdown table.
        Target::Row(_) => format!("| {} |", 1_000_000 + seq),
    }
}

/// The person editing, and how often.
pub struct Editing {
    pub fake: FakeNotion,
    /// The fake's base URL.
    pub base: String,
    pub ws: Workspace,
    pub edits: Arc<Edits>,
    /// Wait for the server's answers to each edit's webhooks.
    pub webhooks: bool,
    pub every: Duration,
    pub seed: u64,
}

impl Editing {
    /// Every `every`, a paragraph appended to a hot page or a hot row's number changed, alternately,
    /// until `stop`.
    pub async fn run(self, stop: Arc<AtomicBool>) -> Result<EditorStats> {
        let http = notion_mcp_bench::http_client(1)?;
        let ws = &self.ws;
        let mut editor = Editor {
            http: &http,
            fake: &self.fake,
            base: &self.base,
            token: &ws.editor,
            data_source: ws.data_source,
            webhooks: self.webhooks,
            stats: EditorStats::default(),
        };
        let mut rng = StdRng::seed_from_u64(self.seed.wrapping_add(17));
        let (pages, rows) = (
            Zipf::new(ws.pages.len(), 1.0),
            Zipf::new(ws.rows.len(), 1.0),
        );
        let every = self.every;
        let mut seq = 0u64;
        let mut next = Instant::now() + every;
        loop {
            while Instant::now() < next && !stop.load(Ordering::SeqCst) {
                tokio::time::sleep(Duration::from_millis(10).min(every)).await;
            }
            if stop.load(Ordering::SeqCst) {
                return Ok(editor.stats);
            }
            // An edit that waited long for its webhooks does not make the next ones back to back.
            next = (next + every).max(Instant::now());
            seq += 1;
            let (target, id) = if seq % 2 == 1 {
                let i = pages.sample(&mut rng);
                (Target::Page(i), ws.pages[i])
            } else {
                let i = rows.sample(&mut rng);
                (Target::Row(i), ws.rows[i])
            };
            if let Err(e) = editor.edit(&self.edits, seq, target, id).await {
                editor.stats.failed += 1;
                editor.stats.first_error.get_or_insert(format!("{e:#}"));
            }
        }
    }
}

/// The person editing: writes with `token` to the fake at `base`.
struct Editor<'a> {
    http: &'a reqwest::Client,
    fake: &'a FakeNotion,
    base: &'a str,
    token: &'a str,
    data_source: Uuid,
    /// Wait for the server's answers to the webhooks of each edit.
    webhooks: bool,
    stats: EditorStats,
}

/// What the editor met.
#[derive(Debug, Clone, Default)]
pub struct EditorStats {
    /// 429s the fake answered the editor (each retried after `Retry-After`).
    pub rate_limited: usize,
    /// Edits never made (still rate limited after 20 tries, or refused).
    pub failed: usize,
    pub first_error: Option<String>,
}

impl Editor<'_> {
    /// Makes edit `seq` of `target` (`id`: the page or row), records it in `edits` and, with webhooks,
    /// waits (up to 10 s) until the server answered all its events.
    async fn edit(&mut self, edits: &Edits, seq: u64, target: Target, id: Uuid) -> Result<()> {
        let text = marker(target, seq);
        let (path, body, events) = match target {
            Target::Page(_) => (
                format!("/v1/blocks/{id}/children"),
                json!({"children": [{"object": "block", "type": "paragraph",
                    "paragraph": {"rich_text": [{"type": "text", "text": {"content": text}}]}}]}),
                vec![("page.content_updated", id)],
            ),
            Target::Row(_) => (
                format!("/v1/pages/{id}"),
                json!({"properties": {"Number": {"number": 1_000_000 + seq}}}),
                vec![
                    ("page.properties_updated", id),
                    ("data_source.content_updated", self.data_source),
                ],
            ),
        };
        let seen = self.fake.webhook_deliveries().len();
        self.write(&path, &body).await?;
        let committed = Instant::now();
        let index = {
            let mut log = edits.log();
            log.push(Edit {
                target,
                marker: text,
                committed,
                object_acked: None,
                query_acked: None,
            });
            log.len() - 1
        };
        if !self.webhooks {
            return Ok(());
        }
        let deadline = committed + Duration::from_secs(10);
        let mut acked: Vec<Option<Instant>> = vec![None; events.len()];
        while acked.iter().any(Option::is_none) && Instant::now() < deadline {
            let log = self.fake.webhook_deliveries();
            for d in log.iter().skip(seen) {
                let ok = d.status.is_some_and(|s| (200..300).contains(&s));
                for (k, (kind, entity)) in events.iter().enumerate() {
                    if ok
                        && acked[k].is_none()
                        && d.event_type == *kind
                        && d.entity_id == Some(*entity)
                    {
                        acked[k] = Some(Instant::now());
                    }
                }
            }
            tokio::time::sleep(Duration::from_millis(1)).await;
        }
        let mut log = edits.log();
        log[index].object_acked = acked[0];
        log[index].query_acked = acked.get(1).copied().flatten();
        Ok(())
    }

    /// One write, retried after `Retry-After` when the workspace's budget is spent.
    async fn write(&mut self, path: &str, body: &Value) -> Result<()> {
        for _ in 0..20 {
            let r = self
                .http
                .patch(format!("{}{path}", self.base))
                .bearer_auth(self.token)
                .header("Notion-Version", "2026-03-11")
                .json(body)
                .send()
                .await
                .with_context(|| format!("edit PATCH {path}"))?;
            let status = r.status();
            if status.as_u16() == 429 {
                self.stats.rate_limited += 1;
                let wait = r
                    .headers()
                    .get("retry-after")
                    .and_then(|v| v.to_str().ok()?.parse::<u64>().ok())
                    .unwrap_or(1);
                tokio::time::sleep(Duration::from_secs(wait)).await;
                continue;
            }
            let text = r.text().await.unwrap_or_default();
            if !status.is_success() {
                bail!("edit PATCH {path}: HTTP {status}: {text}");
            }
            return Ok(());
        }
        bail!("edit PATCH {path}: still rate limited after 20 tries")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn edit(seq: u64, target: Target, at: Instant, acked: Option<Instant>) -> Edit {
        Edit {
            target,
            marker: marker(target, seq),
            committed: at,
            object_acked: acked,
            query_acked: acked,
        }
    }

    #[test]
    fn stale_only_after_the_webhook_was_answered() {
        let t0 = Instant::now();
        let s = |ms| t0 + Duration::from_millis(ms);
        let edits = Edits::new(Reference::Webhook);
        edits
            .log()
            .push(edit(1, Target::Page(0), s(10), Some(s(20))));
        let old = "page text";
        let new = "page text Edit #1 by the editor";
        let check = |at, out| edits.check(Target::Page(0), s(at), out, false);
        assert_eq!(check(5, old), Freshness::default());
        assert_eq!(check(15, old).early, 1);
        assert_eq!(check(15, old).stale, 0);
        assert_eq!(check(25, old).stale, 1);
        assert_eq!(
            check(25, new),
            Freshness {
                stale: 0,
                early: 0,
                checked: 1
            }
        );
        assert_eq!(edits.check(Target::Page(1), s(25), old, false).checked, 0);
    }

    #[test]
    fn a_later_row_value_is_not_stale_and_commit_reference_is_stricter() {
        let t0 = Instant::now();
        let s = |ms| t0 + Duration::from_millis(ms);
        for reference in [Reference::Webhook, Reference::Commit] {
            let edits = Edits::new(reference);
            edits
                .log()
                .push(edit(1, Target::Row(3), s(10), Some(s(20))));
            edits.log().push(edit(2, Target::Row(3), s(30), None));
            let v2 = "| Number | 1000002 |";
            let v0 = "| Number | 3 |";
            assert_eq!(edits.check(Target::Row(3), s(25), v2, false).stale, 0);
            assert_eq!(edits.check(Target::Row(3), s(25), v0, false).stale, 1);
            let late = edits.check(Target::Row(3), s(35), "| 1000001 |", false);
            match reference {
                Reference::Webhook => assert_eq!((late.stale, late.early), (0, 1)),
                Reference::Commit => assert_eq!(late.stale, 1),
            }
            assert_eq!(edits.check_rows(10, s(25), v0).stale, 1);
            assert_eq!(edits.counts(), (2, 1));
        }
    }
}
