//! The read cache in front of the Notion client: repeated reads cost Notion nothing while nothing
//! changed, and no read returns what a known change made stale.
//!
//! - Answers are kept (bounded in bytes, at most `max_age` old) under keys of [`classify`]; each entry
//!   carries [`tags`] naming the objects it shows.
//! - Changes arrive as [`Invalidation`]s: from Notion's webhooks, from writes made through this server
//!   ([`writes`]), and from other replicas (the shared bus). Each one bumps an epoch; a read that was in
//!   flight while a change touching it happened does not store its (possibly old) answer.
//! - A shared answer reaches an identity only after that identity's own token has read the object
//!   once (a proof, remembered until an object moves or `max_age` passes).
//! - With `max_age` 0 nothing is kept; identical concurrent reads are still sent once ([`flight`]).
//! - While the bus to other replicas is lost, nothing is served from or stored in the cache: their
//!   invalidations could be missing.

pub mod bus;
pub mod classify;
pub mod derived;
pub mod flight;
pub mod metrics;
pub mod tags;
pub mod writes;

pub use classify::{Access, Class, Read, classify};
pub use metrics::CacheMetrics;
pub use tags::{Invalidation, Tag, TagKind};

use crate::metrics::Metrics;
use crate::notion::Answer;
use moka::notification::RemovalCause;
use serde_json::Value;
use std::collections::{HashMap, HashSet, VecDeque};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, OnceLock};
use std::time::Duration;
use uuid::Uuid;

/// How much the cache keeps and for how long.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CacheConfig {
    pub max_bytes: u64,
    pub max_age: Duration,
}

impl CacheConfig {
    /// Nothing kept: single-flight only.
    pub const OFF: CacheConfig = CacheConfig {
        max_bytes: 0,
        max_age: Duration::ZERO,
    };

    /// Whether answers are kept at all (else reads in flight are only shared).
    pub fn keeps_anything(&self) -> bool {
        self.max_bytes > 0 && !self.max_age.is_zero()
    }
}

/// Where a change came from (a metrics label; changes from the bus are not sent on again).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Source {
    Webhook,
    Write,
    Bus,
}

impl Source {
    fn as_str(self) -> &'static str {
        match self {
            Source::Webhook => "webhook",
            Source::Write => "write",
            Source::Bus => "bus",
        }
    }
}

/// One cached answer.
pub struct Entry {
    pub value: Arc<Answer>,
    tags: Box<[Tag]>,
    /// Nested blocks whose child lists belong to the same page (walked by `Subtree`).
    nested: Box<[Uuid]>,
    weight: u32,
}

/// Invalidations remembered to refuse answers of reads that were in flight meanwhile.
const RECENT: usize = 4096;
/// Proofs of access kept at most.
const MAX_PROOFS: u64 = 200_000;

/// Which keys carry which tag, and the latest invalidations.
#[derive(Default)]
struct Index {
    by_tag: HashMap<Tag, HashSet<Arc<str>>>,
    registrations: usize,
    epoch: u64,
    recent: VecDeque<(u64, Invalidation)>,
}

impl Index {
    /// Did an invalidation after `since` touch an answer with these tags (or can that no longer be told)?
    fn stale(&self, since: u64, tags: &[Tag], proof: bool) -> bool {
        if self.epoch == since {
            return false;
        }
        if self.recent.front().is_none_or(|(e, _)| *e > since + 1) {
            return true;
        }
        self.recent
            .iter()
            .filter(|(e, _)| *e > since)
            .any(|(_, inv)| match inv {
                Invalidation::Everything => true,
                Invalidation::Proofs => proof,
                _ if proof => false,
                Invalidation::Tag(t) => tags.contains(t),
                Invalidation::Subtree(_) => tags.iter().any(|t| t.kind == TagKind::Children),
                Invalidation::AllMarkdown => tags.iter().any(|t| t.kind == TagKind::Markdown),
            })
    }
}

struct Kept {
    entries: moka::sync::Cache<Arc<str>, Arc<Entry>>,
    proofs: moka::sync::Cache<(Arc<str>, Uuid), ()>,
    /// The page a nested block belongs to: access to a page is access to its blocks, so one proof
    /// per page covers its whole tree.
    owners: moka::sync::Cache<Uuid, Uuid>,
    /// Answers built from several entries ([`derived`]), with the entries they hold, in a quarter of
    /// the byte budget.
    derived: moka::sync::Cache<Arc<str>, Arc<derived::Derived>>,
}

/// The cache. One per server; cheap to share behind an `Arc`.
pub struct ReadCache {
    config: CacheConfig,
    kept: Option<Kept>,
    index: Mutex<Index>,
    pub flights: flight::Flights,
    metrics: CacheMetrics,
    trusted: AtomicBool,
    publisher: OnceLock<Arc<dyn Fn(String) + Send + Sync>>,
}

impl std::fmt::Debug for ReadCache {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ReadCache")
            .field("config", &self.config)
            .field("entries", &self.entry_count())
            .finish()
    }
}

impl ReadCache {
    pub fn new(config: CacheConfig, metrics: &Metrics) -> Self {
        let metrics = CacheMetrics::new(metrics);
        let kept = config.keeps_anything().then(|| {
            let evictions = metrics.clone();
            Kept {
                entries: moka::sync::Cache::builder()
                    .max_capacity(config.max_bytes - config.max_bytes / 4)
                    .weigher(|_k: &Arc<str>, e: &Arc<Entry>| e.weight)
                    .time_to_live(config.max_age)
                    .eviction_listener(move |_k, _v, cause| {
                        evictions.eviction(match cause {
                            RemovalCause::Size => "size",
                            RemovalCause::Expired => "expired",
                            RemovalCause::Explicit => "invalidated",
                            RemovalCause::Replaced => "replaced",
                        });
                    })
                    .build(),
                proofs: moka::sync::Cache::builder()
                    .max_capacity(MAX_PROOFS)
                    .time_to_live(config.max_age)
                    .build(),
                owners: moka::sync::Cache::builder()
                    .max_capacity(MAX_PROOFS)
                    .time_to_live(config.max_age)
                    .build(),
                derived: moka::sync::Cache::builder()
                    .max_capacity(config.max_bytes / 4)
                    .weigher(|_k: &Arc<str>, d: &Arc<derived::Derived>| d.weight)
                    .time_to_live(config.max_age)
                    .build(),
            }
        });
        ReadCache {
            config,
            kept,
            index: Mutex::new(Index::default()),
            flights: flight::Flights::default(),
            metrics,
            trusted: AtomicBool::new(true),
            publisher: OnceLock::new(),
        }
    }

    pub fn config(&self) -> CacheConfig {
        self.config
    }

    pub fn metrics(&self) -> &CacheMetrics {
        &self.metrics
    }

    /// Send local changes on to other replicas through `publish` (set once, at start-up).
    pub fn set_publisher(&self, publish: Arc<dyn Fn(String) + Send + Sync>) {
        let _ = self.publisher.set(publish);
    }

    /// Whether entries may be served and stored (false while invalidations could be missed).
    pub fn is_trusted(&self) -> bool {
        self.trusted.load(Ordering::Acquire)
    }

    /// Stop trusting (the bus is lost: drop everything) or trust again (restored: start empty).
    pub fn set_trusted(&self, trusted: bool) {
        self.clear();
        self.trusted.store(trusted, Ordering::Release);
        self.clear();
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Index> {
        self.index.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// The current epoch: pass it to [`Self::store`] and [`Self::prove`] after the read.
    pub fn begin(&self) -> u64 {
        self.lock().epoch
    }

    /// The cached answer for `key`, if any and trusted.
    pub fn get(&self, key: &str) -> Option<Arc<Answer>> {
        let kept = self.kept.as_ref()?;
        if !self.is_trusted() {
            return None;
        }
        kept.entries.get(key).map(|e| e.value.clone())
    }

    /// Whose access decides: the page a nested block belongs to, when known.
    pub fn access_of(&self, access: Access) -> Access {
        match (access, &self.kept) {
            (Access::Block(id), Some(kept)) => Access::Block(kept.owners.get(&id).unwrap_or(id)),
            _ => access,
        }
    }

    /// Whether `identity` has proven it may read `object`.
    pub fn proven(&self, identity: &str, object: Uuid) -> bool {
        self.kept
            .as_ref()
            .is_some_and(|k| k.proofs.contains_key(&(Arc::<str>::from(identity), object)))
    }

    /// Remember that `identity` read `object` with its own token (unless an object moved meanwhile).
    pub fn prove(&self, identity: &str, object: Uuid, since: u64) {
        let Some(kept) = &self.kept else { return };
        let index = self.lock();
        if !index.stale(since, &[], true) {
            kept.proofs.insert((Arc::from(identity), object), ());
        }
    }

    /// Remember that `identity` read every page, data source and database a list answer of its own
    /// token shows (see [`tags::listed_objects`]).
    pub fn prove_listed(&self, identity: &str, answer: &Value, since: u64) {
        let Some(kept) = &self.kept else { return };
        let listed = tags::listed_objects(answer);
        if listed.is_empty() {
            return;
        }
        let index = self.lock();
        if !index.stale(since, &[], true) {
            for object in listed {
                kept.proofs.insert((Arc::from(identity), object), ());
            }
        }
    }

    /// Forget a proof (Notion refused the identity this object).
    pub fn forget_proof(&self, identity: &str, object: Uuid) {
        if let Some(kept) = &self.kept {
            kept.proofs
                .invalidate(&(Arc::<str>::from(identity), object));
        }
    }

    /// Keep `answer` under `key`, unless a change touching it happened since `since`.
    pub fn store(&self, key: Arc<str>, answer: Arc<Answer>, request_tags: &[Tag], since: u64) {
        let Some(kept) = &self.kept else { return };
        if !self.is_trusted() {
            return;
        }
        let (mut tags, nested) = tags::from_answer(&answer);
        // Blocks listed under a block belong to that block's page.
        for parent in request_tags.iter().filter(|t| t.kind == TagKind::Children) {
            let page = kept.owners.get(&parent.id).unwrap_or(parent.id);
            for block in &nested {
                kept.owners.insert(*block, page);
            }
        }
        tags.extend_from_slice(request_tags);
        tags.sort();
        tags.dedup();
        // The JSON, and what is computed from it once a reader asks (`Answer::view`: the typed value,
        // about as large, and smaller renderings).
        let weight = u32::try_from(2 * approx_bytes(&answer) + key.len() + 64).unwrap_or(u32::MAX);
        if u64::from(weight) > self.config.max_bytes / 4 {
            return; // one answer may not push out most of the cache
        }
        let entry = Arc::new(Entry {
            value: answer,
            tags: tags.into_boxed_slice(),
            nested: nested.into_boxed_slice(),
            weight,
        });
        let mut index = self.lock();
        if index.stale(since, &entry.tags, false) {
            return;
        }
        // The same answer again (another identity's proof read): keep the entry that answers
        // built on it ([`derived`]) still point at.
        if kept
            .entries
            .get(&key)
            .is_some_and(|old| old.value == entry.value && old.tags == entry.tags)
        {
            return;
        }
        for tag in entry.tags.iter() {
            if index.by_tag.entry(*tag).or_default().insert(key.clone()) {
                index.registrations += 1;
            }
        }
        kept.entries.insert(key, entry);
        if index.registrations > 4 * (kept.entries.entry_count() as usize) + 10_000 {
            let entries = &kept.entries;
            index.by_tag.retain(|_, keys| {
                keys.retain(|k| entries.contains_key(k));
                !keys.is_empty()
            });
            index.registrations = index.by_tag.values().map(HashSet::len).sum();
        }
        drop(index);
        self.metrics
            .size(kept.entries.weighted_size(), kept.entries.entry_count());
    }

    /// Apply changes; local ones (webhook, write) are also sent to other replicas.
    pub fn apply(&self, plan: &[Invalidation], source: Source) {
        if plan.is_empty() {
            return;
        }
        {
            let mut index = self.lock();
            for inv in plan {
                index.epoch += 1;
                let epoch = index.epoch;
                index.recent.push_back((epoch, *inv));
                if index.recent.len() > RECENT {
                    index.recent.pop_front();
                }
                self.metrics.invalidation(source.as_str(), inv.kind());
                if let Some(kept) = &self.kept {
                    invalidate(kept, &mut index, inv);
                }
            }
        }
        if let Some(kept) = &self.kept {
            self.metrics
                .size(kept.entries.weighted_size(), kept.entries.entry_count());
        }
        if source != Source::Bus
            && let Some(publish) = self.publisher.get()
        {
            publish(tags::encode_plan(plan));
        }
    }

    /// Drop every entry and proof (not sent to other replicas).
    pub fn clear(&self) {
        let mut index = self.lock();
        index.epoch += 1;
        let epoch = index.epoch;
        index.recent.push_back((epoch, Invalidation::Everything));
        if let Some(kept) = &self.kept {
            invalidate(kept, &mut index, &Invalidation::Everything);
        }
    }

    /// Entries kept now (after pending maintenance).
    pub fn entry_count(&self) -> u64 {
        self.kept.as_ref().map_or(0, |k| {
            k.entries.run_pending_tasks();
            k.entries.entry_count()
        })
    }
}

fn invalidate(kept: &Kept, index: &mut Index, inv: &Invalidation) {
    match inv {
        Invalidation::Tag(tag) => {
            for key in index.by_tag.remove(tag).unwrap_or_default() {
                kept.entries.invalidate(&key);
            }
        }
        Invalidation::Subtree(root) => {
            let mut queue = vec![*root];
            let mut seen = HashSet::new();
            while let Some(block) = queue.pop() {
                if !seen.insert(block) {
                    continue;
                }
                for key in index
                    .by_tag
                    .remove(&Tag::children(block))
                    .unwrap_or_default()
                {
                    if let Some(entry) = kept.entries.get(&key) {
                        queue.extend(entry.nested.iter().copied());
                    }
                    kept.entries.invalidate(&key);
                }
            }
        }
        Invalidation::AllMarkdown => {
            index.by_tag.retain(|tag, keys| {
                if tag.kind != TagKind::Markdown {
                    return true;
                }
                for key in keys.iter() {
                    kept.entries.invalidate(key);
                }
                false
            });
        }
        Invalidation::Proofs => kept.proofs.invalidate_all(),
        Invalidation::Everything => {
            kept.entries.invalidate_all();
            kept.derived.invalidate_all();
            kept.proofs.invalidate_all();
            index.by_tag.clear();
            index.registrations = 0;
        }
    }
}

/// Roughly how many bytes an answer takes in memory.
fn approx_bytes(v: &Value) -> usize {
    match v {
        Value::Null | Value::Bool(_) | Value::Number(_) => 16,
        Value::String(s) => 24 + s.len(),
        Value::Array(a) => 24 + a.iter().map(approx_bytes).sum::<usize>(),
        Value::Object(m) => {
            48 + m
                .iter()
                .map(|(k, v)| 32 + k.len() + approx_bytes(v))
                .sum::<usize>()
        }
    }
}

#[cfg(test)]
mod tests;
