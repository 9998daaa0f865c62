//! The workspace content index behind `search`: the words inside pages and data-source rows, not
//! only titles (Notion's own search matches titles only).
//!
//! - [`engine`]: tantivy (BM25, English stems, phrases, prefixes, snippets), one index for every
//!   workspace, documents replaced whole by page id; [`document`] is what is kept of a page.
//! - Fed without extra Notion requests by reads the server makes anyway ([`feed`]: pages, rows of
//!   data-source queries, page Markdown, `fetch`'s rendered pages), and by webhook events
//!   ([`events`]) that name pages to read again or drop — queued, done by the [`worker`] after the
//!   webhook was answered.
//! - The [`crawler`] fills in the rest with the server's own credentials for a workspace
//!   ([`credentials`]) on a share of the workspace's pacing that tool calls always pre-empt; its
//!   state ([`catalog`]) lives next to the index, so a restart resumes it.
//! - A hit reaches a caller only once the caller's own token has read the page ([`access`]).
//! - With Redis, replicas share one crawl and what each indexed ([`replica`]).

pub mod access;
pub mod catalog;
pub mod crawler;
pub mod credentials;
pub mod document;
pub mod engine;
pub mod events;
pub mod feed;
pub mod metrics;
pub mod query;
pub mod replica;
pub mod worker;

use crate::metrics::Metrics;
use catalog::{Catalog, CatalogError, Progress};
use document::PageDoc;
use engine::{Engine, EngineError};
use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;
use tokio::sync::mpsc;
use uuid::Uuid;

/// How the index is set up.
#[derive(Debug, Clone, PartialEq)]
pub struct IndexConfig {
    /// Directory of the index and its crawl state; `None`: in memory.
    pub dir: Option<PathBuf>,
    /// Share of a workspace's pacing the crawler may use (0 < share ≤ 1).
    pub crawl_share: f64,
    /// Wait between two full listings of a workspace.
    pub rescan: Duration,
}

impl Default for IndexConfig {
    fn default() -> Self {
        IndexConfig {
            dir: None,
            crawl_share: 0.3,
            rescan: Duration::from_secs(600),
        }
    }
}

/// Why the index could not be opened.
#[derive(Debug, thiserror::Error)]
pub enum IndexError {
    #[error(transparent)]
    Engine(#[from] EngineError),
    #[error(transparent)]
    Catalog(#[from] CatalogError),
}

/// Work for the [`worker`].
#[derive(Debug, Clone)]
pub enum Job {
    /// A page as a read showed it (with its body when the read had it).
    Page(Box<PageDoc>),
    /// A page's body (`GET /v1/pages/{id}/markdown`) without its properties.
    Body {
        workspace: Arc<str>,
        id: Uuid,
        markdown: String,
    },
    /// A webhook named the page: read it again with the workspace's own credentials.
    Refresh { workspace: Arc<str>, id: Uuid },
    /// Trashed or deleted.
    Remove(Uuid),
    /// A data source was deleted: drop its rows.
    RemoveDataSource(Uuid),
    /// Share a change other than a document with the other replicas (the worker sends it).
    Share {
        workspace: Arc<str>,
        entry: replica::Entry,
    },
    /// An entry of a workspace's shared log, at `at` in its generation `generation`: another
    /// replica's change to apply (`None`: this replica's own, or not understood; only the position
    /// moves on).
    Received {
        workspace: Arc<str>,
        at: crate::shared::stream::EntryId,
        generation: Arc<str>,
        entry: Option<replica::Entry>,
    },
}

/// The index of every workspace. One per server.
pub struct ContentIndex {
    pub(crate) engine: Engine,
    pub(crate) catalog: Catalog,
    jobs: mpsc::UnboundedSender<Job>,
    pub(crate) metrics: metrics::IndexMetrics,
    pub(crate) config: IndexConfig,
    /// Pages each identity was found able to read (used when the read cache keeps no proofs).
    pub(crate) proofs: moka::sync::Cache<(Arc<str>, Uuid), ()>,
    /// Changes are shared with other replicas (Redis is configured).
    shared: AtomicBool,
}

impl std::fmt::Debug for ContentIndex {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ContentIndex")
            .field("config", &self.config)
            .finish_non_exhaustive()
    }
}

/// Proofs of access kept at most, and for how long.
const MAX_PROOFS: u64 = 100_000;
const PROOF_TTL: Duration = Duration::from_secs(600);

impl ContentIndex {
    /// Open (or create) the index; the receiver goes to [`worker::run`].
    pub fn open(
        config: IndexConfig,
        metrics: &Metrics,
    ) -> Result<(Arc<Self>, mpsc::UnboundedReceiver<Job>), IndexError> {
        let engine = Engine::open(config.dir.as_deref())?;
        let catalog = match &config.dir {
            Some(dir) => Catalog::open(dir.join("crawl-state.json"))?,
            None => Catalog::in_memory(),
        };
        let (tx, rx) = mpsc::unbounded_channel();
        let index = Arc::new(ContentIndex {
            engine,
            catalog,
            jobs: tx,
            metrics: metrics::IndexMetrics::new(metrics),
            config,
            proofs: moka::sync::Cache::builder()
                .max_capacity(MAX_PROOFS)
                .time_to_live(PROOF_TTL)
                .build(),
            shared: AtomicBool::new(false),
        });
        index.publish_progress();
        Ok((index, rx))
    }

    /// Queue work for the worker (never blocks; dropped only when the worker is gone).
    pub fn enqueue(&self, job: Job) {
        let _ = self.jobs.send(job);
    }

    /// Share `entry` with the other replicas (nothing without Redis).
    pub fn share(&self, workspace: &Arc<str>, entry: replica::Entry) {
        if self.shared.load(Ordering::Acquire) {
            self.enqueue(Job::Share {
                workspace: workspace.clone(),
                entry,
            });
        }
    }

    /// How complete one workspace's index is.
    pub fn progress(&self, workspace: &str) -> Progress {
        self.catalog.progress(workspace)
    }

    pub(crate) fn publish_progress(&self) {
        let t = self.catalog.totals();
        self.metrics.progress(t.known, t.indexed, t.stale);
    }

    /// The best `limit` pages of `workspace` for `clauses` within `filters` (not yet checked against
    /// any caller's access: see [`Self::visible_to`]).
    pub fn search(
        &self,
        workspace: &str,
        clauses: &[query::Clause],
        filters: &engine::Filters,
        limit: usize,
    ) -> Result<Vec<engine::Hit>, EngineError> {
        self.engine.search(workspace, clauses, filters, limit)
    }

    /// Bytes the index and its crawl state take on disk (0 in memory).
    pub fn disk_bytes(&self) -> u64 {
        self.dir().map_or(0, Engine::disk_bytes)
    }

    /// The index's directory, when on disk.
    pub fn dir(&self) -> Option<&std::path::Path> {
        self.config.dir.as_deref()
    }
}

/// The index with what it needs to run in the background: started by [`Runtime::start`] once the
/// server serves.
pub struct Runtime {
    pub index: Arc<ContentIndex>,
    jobs: mpsc::UnboundedReceiver<Job>,
    client: crate::notion::NotionClient,
    credentials: credentials::Credentials,
    shared: Option<crate::shared::SharedState>,
}

impl std::fmt::Debug for Runtime {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Runtime")
            .field("index", &self.index)
            .finish_non_exhaustive()
    }
}

impl Runtime {
    /// Open the index and let `client`'s reads feed it.
    pub fn open(
        config: IndexConfig,
        client: &crate::notion::NotionClient,
        metrics: &Metrics,
    ) -> Result<Self, IndexError> {
        let (index, jobs) = ContentIndex::open(config, metrics)?;
        client.set_read_observer(index.clone());
        Ok(Runtime {
            index,
            jobs,
            client: client.clone(),
            credentials: credentials::Credentials::default(),
            shared: None,
        })
    }

    /// The credentials the crawler and the re-index worker read with.
    pub fn with_credentials(mut self, credentials: credentials::Credentials) -> Self {
        self.credentials = credentials;
        self
    }

    /// Share the crawl and what is indexed with the replicas on this Redis.
    pub fn with_shared_state(mut self, shared: Option<crate::shared::SharedState>) -> Self {
        self.shared = shared;
        self
    }

    /// Start the worker and the crawler (and with Redis, the crawl leases and the log reader); the
    /// returned task ends (index committed, crawl state saved, leases released) after `stop` fires.
    pub fn start(self, stop: tokio_util::sync::CancellationToken) -> tokio::task::JoinHandle<()> {
        let replica = self
            .shared
            .map(|shared| replica::Replica::new(shared, &self.index));
        if let Some(r) = &replica {
            self.index.shared.store(true, Ordering::Release);
            tokio::spawn(replica::follow::run(
                self.index.clone(),
                r.clone(),
                stop.clone(),
            ));
        }
        let crawler = crawler::Crawler::new(
            self.index.clone(),
            self.client,
            self.credentials,
            replica.as_ref().map(|r| r.gate.clone()),
            stop.clone(),
        );
        crawler.start();
        tokio::spawn(worker::run(
            self.index,
            self.jobs,
            Some(crawler),
            replica,
            stop,
        ))
    }
}
