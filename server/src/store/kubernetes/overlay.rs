//! What this replica wrote, deleted or read directly, kept until the watch cache has caught up with
//! it. The cache lags behind writes; the overlay makes a replica read its own writes (and its own
//! deletions) at once, and forgets each entry as soon as the cache shows it or something newer.
//!
//! Versions are compared as numbers when the API server's resourceVersions are numeric (they are on
//! etcd); otherwise an entry is kept until the cache shows the same version, or for [`OVERLAY_TTL`].

use super::secrets::{rv_num, rv_of};
use k8s_openapi::api::core::v1::Secret;
use std::collections::HashMap;
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;
use tokio::time::Instant;

/// Overlay entries with a non-numeric resourceVersion (which cannot be compared with the watch's
/// progress) are kept this long.
const OVERLAY_TTL: Duration = Duration::from_secs(30);

/// What this replica knows about a Secret that the cache may not show yet.
#[derive(Clone)]
struct Local {
    /// The object as written or read directly; `None` once deleted.
    object: Option<Arc<Secret>>,
    /// The object's resourceVersion, or for a deletion the last version known before it.
    rv: String,
    since: Instant,
}

/// The newest view of a Secret.
pub(super) enum View {
    Known(Arc<Secret>),
    /// Neither the cache nor the overlay has it (it may still exist).
    Unknown,
    /// This replica deleted it (or saw it missing) and the cache has not caught up.
    Deleted,
}

/// Secrets by name, as this replica last knew them.
#[derive(Default)]
pub(super) struct Overlay(Mutex<HashMap<String, Local>>);

impl Overlay {
    fn entries(&self) -> MutexGuard<'_, HashMap<String, Local>> {
        self.0.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// The overlay's entry while the cache lags (`cached` is the cache's object, `seen` the highest
    /// resourceVersion it has applied), the cache's object otherwise.
    pub(super) fn resolve(&self, name: &str, cached: Option<Arc<Secret>>, seen: u64) -> View {
        let mut entries = self.entries();
        match entries.get(name) {
            Some(local) if !superseded(local, cached.as_deref(), seen) => {
                return local.object.clone().map_or(View::Deleted, View::Known);
            }
            Some(_) => {
                entries.remove(name);
            }
            None => {}
        }
        cached.map_or(View::Unknown, View::Known)
    }

    /// Remember an object (`None`: its deletion) at version `rv`, unless a newer one is known; then
    /// forget every entry the cache (looked up with `cached`) has caught up with.
    pub(super) fn remember(
        &self,
        name: &str,
        object: Option<Arc<Secret>>,
        rv: String,
        seen: u64,
        cached: impl Fn(&str) -> Option<Arc<Secret>>,
    ) {
        let mut entries = self.entries();
        if let Some(existing) = entries.get(name)
            && let (Some(old), Some(new)) = (rv_num(&existing.rv), rv_num(&rv))
            && (old > new || (old == new && existing.object.is_none()))
        {
            return;
        }
        entries.insert(
            name.to_string(),
            Local {
                object,
                rv,
                since: Instant::now(),
            },
        );
        entries.retain(|n, l| !superseded(l, cached(n).as_deref(), seen));
    }

    /// Forget what is known about `name`.
    pub(super) fn forget(&self, name: &str) {
        self.entries().remove(name);
    }

    /// Apply the entries the cache has not caught up with to `objects` (the cache's, by name).
    pub(super) fn correct(
        &self,
        objects: &mut HashMap<String, Arc<Secret>>,
        seen: u64,
        cached: impl Fn(&str) -> Option<Arc<Secret>>,
    ) {
        let pending: Vec<(String, Local)> = self
            .entries()
            .iter()
            .map(|(n, l)| (n.clone(), l.clone()))
            .collect();
        for (name, local) in pending {
            if !superseded(&local, cached(&name).as_deref(), seen) {
                match local.object {
                    Some(object) => objects.insert(name, object),
                    None => objects.remove(&name),
                };
            }
        }
    }
}

/// Whether the cache (its object `cached`, its progress `seen`) now shows `local` or something newer.
fn superseded(local: &Local, cached: Option<&Secret>, seen: u64) -> bool {
    let cached_rv = cached.and_then(rv_of);
    match rv_num(&local.rv) {
        Some(rv) => match local.object {
            Some(_) => seen >= rv,
            // The deletion itself has a newer version than the object it removed.
            None => seen > rv && cached_rv.and_then(rv_num).is_none_or(|c| c > rv),
        },
        None => {
            local.since.elapsed() > OVERLAY_TTL
                || match local.object {
                    Some(_) => cached_rv == Some(local.rv.as_str()),
                    None => cached.is_none(),
                }
        }
    }
}
