//! Answers computed from several cached reads (a page rendered as Markdown from its page object and
//! child lists), kept so a repeated read neither decodes nor renders again.
//!
//! While such an answer is computed, [`record`] notes every cache entry the reads used and the object
//! each read needed access to. The answer is kept with those entries themselves, not copies: it is
//! served only while every one of them is still the very entry in the cache (an invalidation, an
//! expiry or a newer answer replaces or removes an entry, and with it every answer built on it), and
//! only to an identity that has proven access to every one of those objects. So it can never show
//! more than, or anything older than, what the reads it was built from would show now.

use super::{Entry, ReadCache};
use std::any::Any;
use std::cell::RefCell;
use std::future::Future;
use std::sync::Arc;
use uuid::Uuid;

/// Lookups of derived answers are counted under this endpoint label.
pub const LABEL: &str = "rendered page";

/// What the reads of one computation used.
#[derive(Default)]
pub struct Deps {
    entries: Vec<(Arc<str>, Arc<Entry>)>,
    objects: Vec<Uuid>,
    /// A read that was not kept (not cacheable, refused, or replaced meanwhile): nothing to keep.
    incomplete: bool,
}

tokio::task_local! {
    static DEPS: RefCell<Deps>;
}

/// Run `compute`, noting what its reads used (reads made by tasks it spawns are not seen: it must
/// read on its own task, as the tree fetch does).
pub async fn record<F: Future>(compute: F) -> (F::Output, Deps) {
    let (out, cell) = DEPS
        .scope(RefCell::new(Deps::default()), async move {
            let out = compute.await;
            (out, DEPS.with(|d| d.take()))
        })
        .await;
    (out, cell)
}

/// A read used this entry (kept under `key`) and needed access to `object`.
pub(crate) fn used(key: &Arc<str>, entry: Option<Arc<Entry>>, object: Option<Uuid>) {
    let _ = DEPS.try_with(|d| {
        let mut d = d.borrow_mut();
        match entry {
            Some(e) => d.entries.push((key.clone(), e)),
            None => d.incomplete = true,
        }
        if let Some(o) = object {
            d.objects.push(o);
        }
    });
}

/// A read went past the cache: an answer built on it cannot be kept.
pub(crate) fn uncached() {
    let _ = DEPS.try_with(|d| d.borrow_mut().incomplete = true);
}

/// Whether each of these entries is still the very one the cache holds under its key.
fn still_current(kept: &super::Kept, entries: &[(Arc<str>, Arc<Entry>)]) -> bool {
    entries
        .iter()
        .all(|(k, e)| kept.entries.get(k).is_some_and(|now| Arc::ptr_eq(&now, e)))
}

/// One kept derived answer.
pub(super) struct Derived {
    value: Arc<dyn Any + Send + Sync>,
    entries: Box<[(Arc<str>, Arc<Entry>)]>,
    objects: Box<[Uuid]>,
    pub(super) weight: u32,
}

impl ReadCache {
    /// The answer kept under `key` for `identity`, if every read it was built from is unchanged and
    /// the identity has proven access to everything it shows.
    pub fn derived<T: Any + Clone + Send + Sync>(&self, key: &str, identity: &str) -> Option<T> {
        let kept = self.kept.as_ref()?;
        if !self.is_trusted() {
            return None;
        }
        let d = kept.derived.get(key)?;
        if !still_current(kept, &d.entries) {
            kept.derived.invalidate(key);
            return None;
        }
        if !d.objects.iter().all(|o| self.proven(identity, *o)) {
            return None;
        }
        let value = d.value.downcast_ref::<T>()?.clone();
        self.metrics.lookup(LABEL, "hit");
        tracing::event!(
            name: "notion.cache",
            tracing::Level::DEBUG,
            notion.endpoint = LABEL,
            notion.cache.result = "hit",
            "notion cache"
        );
        Some(value)
    }

    /// Keep `value` (about `bytes` large) under `key`, built from the reads in `deps`.
    pub fn store_derived<T: Any + Send + Sync>(
        &self,
        key: &str,
        value: T,
        bytes: usize,
        deps: Deps,
    ) {
        let Some(kept) = &self.kept else { return };
        if deps.incomplete || deps.entries.is_empty() || !self.is_trusted() {
            return;
        }
        // Only if nothing it was built from changed while it was computed.
        if !still_current(kept, &deps.entries) {
            return;
        }
        let mut objects = deps.objects;
        objects.sort_unstable();
        objects.dedup();
        let mut entries = deps.entries;
        entries.sort_by(|a, b| a.0.cmp(&b.0));
        entries.dedup_by(|a, b| a.0 == b.0 && Arc::ptr_eq(&a.1, &b.1));
        // It holds its entries even after the cache dropped them: they count in its weight, so
        // the byte bound holds for what is kept in all.
        let held: u64 = entries.iter().map(|(_, e)| u64::from(e.weight)).sum();
        let weight = u32::try_from(held + (bytes + key.len() + 64 * entries.len() + 64) as u64)
            .unwrap_or(u32::MAX);
        if u64::from(weight) > self.config.max_bytes / 8 {
            return;
        }
        kept.derived.insert(
            Arc::from(key),
            Arc::new(Derived {
                value: Arc::new(value),
                entries: entries.into_boxed_slice(),
                objects: objects.into_boxed_slice(),
                weight,
            }),
        );
    }

    /// The entry kept under `key` now (to note it as used by a derived answer).
    pub(crate) fn entry(&self, key: &str) -> Option<Arc<Entry>> {
        let kept = self.kept.as_ref()?;
        if !self.is_trusted() {
            return None;
        }
        kept.entries.get(key)
    }
}
