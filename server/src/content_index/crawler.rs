//! The background crawler: per workspace the server holds credentials for, lists the workspace's
//! pages (Notion's search, 100 a request, every property included) and reads the content of each
//! page that is new or changed since it was indexed (`GET /v1/pages/{id}/markdown`: one request a
//! page). Its requests are background requests: at most `--index-crawl-share` of the workspace's
//! pacing, and none while a tool call of the workspace waits for the budget. The listing cursor
//! and what was indexed are in the crawl state, so a restart goes on where it stopped. With Redis,
//! only the replica holding a workspace's crawl lease crawls it ([`super::replica::gate`]) and what
//! its listing learnt is shared with the others.

use super::credentials::Credentials;
use super::document::PageDoc;
use super::replica::gate::CrawlGate;
use super::replica::{Entry, Note, Source};
use super::{ContentIndex, Job};
use crate::notion::append::page_markdown;
use crate::notion::{NotionAuth, NotionClient, NotionError, endpoints};
use governor::{DefaultDirectRateLimiter, Quota, RateLimiter};
use notion_model::types::Page;
use serde::Deserialize;
use serde_json::json;
use std::collections::{HashMap, HashSet};
use std::num::NonZeroU32;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tokio::sync::Semaphore;
use tokio_util::sync::CancellationToken;
use uuid::Uuid;

/// How often the set of workspaces with credentials is looked at again.
const CREDENTIALS_RECHECK: Duration = Duration::from_secs(60);
/// Wait after a failed listing.
const ERROR_BACKOFF: Duration = Duration::from_secs(5);
/// Pages re-read for webhooks at once.
const REFRESHES: usize = 4;
/// Pages a listing request asks for.
const LIST_PAGE: u32 = 100;
/// How often a replica that may not crawl a workspace (another holds its lease) looks again.
const GATE_WAIT: Duration = Duration::from_millis(500);

/// A workspace, and whether this replica is its only crawler.
type ShareKey = (Arc<str>, bool);

/// The crawler of every workspace.
pub struct Crawler {
    index: Arc<ContentIndex>,
    client: NotionClient,
    credentials: Credentials,
    /// The background connection of each workspace.
    auths: Mutex<HashMap<Arc<str>, NotionAuth>>,
    /// Each workspace's share of its pacing: as the only crawler of the workspace (the lease
    /// holder), or as one of `--replicas` crawling it each.
    shares: Mutex<HashMap<ShareKey, Arc<DefaultDirectRateLimiter>>>,
    running: Mutex<HashSet<Arc<str>>>,
    refreshes: Arc<Semaphore>,
    /// Content reads under way (their results are still to be queued).
    reading: Arc<AtomicUsize>,
    /// With Redis: which workspaces this replica may crawl.
    gate: Option<Arc<CrawlGate>>,
    stop: CancellationToken,
}

/// Counts a content read while it lives.
struct Reading(Arc<AtomicUsize>);

impl Reading {
    fn start(count: &Arc<AtomicUsize>) -> Self {
        count.fetch_add(1, Ordering::SeqCst);
        Reading(count.clone())
    }
}

impl Drop for Reading {
    fn drop(&mut self) {
        self.0.fetch_sub(1, Ordering::SeqCst);
    }
}

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|p| p.into_inner())
}

impl Crawler {
    pub fn new(
        index: Arc<ContentIndex>,
        client: NotionClient,
        credentials: Credentials,
        gate: Option<Arc<CrawlGate>>,
        stop: CancellationToken,
    ) -> Arc<Self> {
        Arc::new(Crawler {
            index,
            client,
            credentials,
            auths: Mutex::new(HashMap::new()),
            shares: Mutex::new(HashMap::new()),
            running: Mutex::new(HashSet::new()),
            refreshes: Arc::new(Semaphore::new(REFRESHES)),
            reading: Arc::new(AtomicUsize::new(0)),
            gate,
            stop,
        })
    }

    /// Whether this replica crawls `workspace` now (always without Redis).
    fn may_crawl(&self, workspace: &str) -> bool {
        self.gate.as_ref().is_none_or(|g| g.may_crawl(workspace))
    }

    /// Start crawling every workspace with credentials (and any that gets some later).
    pub fn start(self: &Arc<Self>) -> tokio::task::JoinHandle<()> {
        let me = self.clone();
        tokio::spawn(async move {
            if me.credentials.is_empty() {
                return;
            }
            loop {
                let found = me.credentials.by_workspace(&me.client).await;
                for (ws, auth) in found {
                    lock(&me.auths).insert(ws.clone(), auth.clone());
                    if lock(&me.running).insert(ws.clone()) {
                        tokio::spawn(me.clone().crawl(ws, auth));
                    }
                }
                tokio::select! {
                    () = me.stop.cancelled() => return,
                    () = tokio::time::sleep(CREDENTIALS_RECHECK) => {}
                }
            }
        })
    }

    /// The crawler's rate for a workspace: its share of the workspace's pacing (divided between the
    /// replicas unless this one crawls for all of them).
    fn share(&self, workspace: &Arc<str>) -> Arc<DefaultDirectRateLimiter> {
        let alone = self.gate.as_ref().is_some_and(|g| g.holds(workspace));
        lock(&self.shares)
            .entry((workspace.clone(), alone))
            .or_insert_with(|| {
                let p = &self.client.config().pacing;
                let rate = if p.workspace_per_second > 0.0 {
                    p.workspace_per_second
                } else {
                    p.per_second
                };
                let crawlers = if alone { 1 } else { p.replicas.max(1) };
                let per_second =
                    (rate / f64::from(crawlers) * self.index.config.crawl_share).max(1e-3);
                let quota = Quota::with_period(Duration::from_secs_f64(1.0 / per_second))
                    .unwrap_or_else(|| Quota::per_second(NonZeroU32::MIN))
                    .allow_burst(NonZeroU32::MIN);
                Arc::new(RateLimiter::direct(quota))
            })
            .clone()
    }

    /// Wait for a turn: within the share, and after every waiting tool call of the workspace.
    async fn turn(&self, workspace: &Arc<str>) {
        self.share(workspace).until_ready().await;
        self.client.pacer().yield_to_foreground(workspace).await;
    }

    async fn crawl(self: Arc<Self>, ws: Arc<str>, auth: NotionAuth) {
        if let Some(gate) = &self.gate {
            tokio::spawn(gate.clone().keep(ws.clone(), self.stop.clone()));
        }
        let catalog = &self.index.catalog;
        while !self.stop.is_cancelled() {
            if !self.may_crawl(&ws) {
                if self.pause(GATE_WAIT).await {
                    return;
                }
                continue;
            }
            let cursor = catalog.read(&ws, |s| s.and_then(|s| s.cursor.clone()));
            self.turn(&ws).await;
            self.index.metrics.request("list");
            let body = json!({
                "filter": {"property": "object", "value": "page"},
                "sort": {"timestamp": "last_edited_time", "direction": "ascending"}
            });
            let listed = endpoints::search(
                &self.client,
                &auth,
                body,
                cursor.as_deref(),
                Some(LIST_PAGE),
            )
            .await;
            let list = match listed {
                Ok(list) => list,
                Err(e) if e.status() == Some(400) && cursor.is_some() => {
                    // The cursor expired: list again from the start (indexed pages are not read again).
                    catalog.update(&ws, |s| s.cursor = None);
                    continue;
                }
                Err(e) => {
                    tracing::debug!(code = e.code(), "content index listing failed");
                    if self.pause(ERROR_BACKOFF).await {
                        return;
                    }
                    continue;
                }
            };
            let docs: Vec<PageDoc> = list
                .results
                .iter()
                .filter_map(|v| Page::deserialize(v).ok())
                .filter_map(|p| PageDoc::from_page(&ws, &p))
                .collect();
            let mut notes = Vec::new();
            for doc in &docs {
                if doc.in_trash {
                    self.index.enqueue(Job::Remove(doc.id));
                } else {
                    catalog.note_page(doc);
                    notes.push(Note::of(doc));
                }
            }
            if !notes.is_empty() {
                self.index.share(&ws, Entry::Known(notes));
            }
            let mut handed_over = false;
            for doc in docs.into_iter().filter(|d| !d.in_trash) {
                if self.stop.is_cancelled() {
                    return;
                }
                if !self.may_crawl(&ws) {
                    // Another replica crawls now: it lists this part again itself.
                    handed_over = true;
                    break;
                }
                if catalog.needs_indexing(&ws, doc.id) {
                    self.read_content(&ws, &auth, doc).await;
                }
            }
            if handed_over {
                continue;
            }
            let done = list.next_cursor.is_none();
            catalog.update(&ws, |s| {
                s.cursor = list.next_cursor.clone();
                if done {
                    s.passes += 1;
                }
            });
            if done {
                self.list_sources(&ws, &auth).await;
                self.index.share(&ws, Entry::Listed);
                if let Some(gate) = &self.gate {
                    gate.caught_up(&ws);
                }
                if self.rest(&ws).await {
                    return;
                }
            }
        }
    }

    /// Learn where the workspace's data sources are (the page above each), for parent paths and
    /// "under this page" filters over rows.
    async fn list_sources(&self, ws: &Arc<str>, auth: &NotionAuth) {
        let mut cursor: Option<String> = None;
        loop {
            self.turn(ws).await;
            self.index.metrics.request("list");
            let body = json!({"filter": {"property": "object", "value": "data_source"}});
            let Ok(list) =
                endpoints::search(&self.client, auth, body, cursor.as_deref(), Some(LIST_PAGE))
                    .await
            else {
                return;
            };
            let mut shared = Vec::new();
            self.index.catalog.update(ws, |s| {
                for source in &list.results {
                    let id = source
                        .get("id")
                        .and_then(|v| v.as_str())
                        .and_then(|v| Uuid::try_parse(v).ok());
                    let page = source
                        .pointer("/database_parent/page_id")
                        .and_then(|v| v.as_str())
                        .and_then(|v| Uuid::try_parse(v).ok());
                    let title = source
                        .get("title")
                        .and_then(|t| {
                            serde_json::from_value::<Vec<notion_model::types::RichText>>(t.clone())
                                .ok()
                        })
                        .map(|t| notion_model::types::plain_text(&t))
                        .unwrap_or_default();
                    if let Some(id) = id {
                        shared.push(Source {
                            id,
                            page,
                            title: title.clone(),
                        });
                        s.sources.insert(id, (page, title));
                    }
                }
            });
            if !shared.is_empty() {
                self.index.share(ws, Entry::Sources(shared));
            }
            match list.next_cursor {
                Some(next) if !self.stop.is_cancelled() => cursor = Some(next),
                _ => return,
            }
        }
    }

    /// Wait for the next listing (the rescan interval), or until the workspace needs a catch-up crawl;
    /// whether it was stopped.
    async fn rest(&self, ws: &str) -> bool {
        let until = tokio::time::Instant::now() + self.index.config.rescan;
        loop {
            let now = tokio::time::Instant::now();
            if now >= until || self.gate.as_ref().is_some_and(|g| g.catching_up(ws)) {
                return false;
            }
            if self.pause(GATE_WAIT.min(until - now)).await {
                return true;
            }
        }
    }

    /// Sleep unless stopped; whether it was stopped.
    async fn pause(&self, wait: Duration) -> bool {
        tokio::select! {
            () = self.stop.cancelled() => true,
            () = tokio::time::sleep(wait) => false,
        }
    }

    /// Whether content reads are under way (the worker waits for them before it stops).
    pub fn is_reading(&self) -> bool {
        self.reading.load(Ordering::SeqCst) > 0
    }

    /// Read a page's content and queue it with `doc`'s properties.
    async fn read_content(&self, ws: &Arc<str>, auth: &NotionAuth, doc: PageDoc) {
        let _reading = Reading::start(&self.reading);
        self.turn(ws).await;
        self.index.metrics.request("content");
        match page_markdown(&self.client, auth, &doc.id.to_string()).await {
            Ok(md) => self
                .index
                .enqueue(Job::Page(Box::new(doc.with_body(md.markdown)))),
            Err(e) if gone(&e) => self.index.enqueue(Job::Remove(doc.id)),
            Err(e) => tracing::debug!(code = e.code(), "content index: page content not read"),
        }
    }

    /// Read a page a webhook named again, in the background (the page stays marked stale when the
    /// server holds no credentials for its workspace).
    pub fn refresh(self: &Arc<Self>, ws: Arc<str>, id: Uuid) {
        let me = self.clone();
        tokio::spawn(async move {
            let Some(auth) = lock(&me.auths).get(&ws).cloned() else {
                return;
            };
            let Ok(_permit) = me.refreshes.clone().acquire_owned().await else {
                return;
            };
            me.turn(&ws).await;
            me.index.metrics.request("refresh");
            let page = endpoints::retrieve_page_raw(&me.client, &auth, &id.to_string(), &[]).await;
            match page {
                Ok(v) => {
                    let doc = Page::deserialize(&v)
                        .ok()
                        .and_then(|p| PageDoc::from_page(&ws, &p));
                    match doc {
                        Some(doc) if doc.in_trash => me.index.enqueue(Job::Remove(id)),
                        Some(doc) => me.read_content(&ws, &auth, doc).await,
                        None => {}
                    }
                }
                Err(e) if gone(&e) => me.index.enqueue(Job::Remove(id)),
                Err(e) => tracing::debug!(code = e.code(), "content index: page not read again"),
            }
        });
    }
}

/// Notion no longer shows the page to the crawler's connection.
fn gone(e: &NotionError) -> bool {
    matches!(e.status(), Some(404) | Some(403))
}
