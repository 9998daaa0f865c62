//! The Kubernetes backend: the in-cluster default. One Secret per record in the server's namespace, so
//! replicas share grants without a database and the operator can count, adopt and garbage-collect them.
//!
//! - **Objects.** A record lives in Secret `nmr-<kind>-<40 hex of sha256(instance/kind/key)>` (record keys
//!   may hold upper case and `_`, so they never appear in the name), labelled
//!   `app.kubernetes.io/managed-by=notion-mcp-remote`, `notionmcp.dev/instance=<instance>` and
//!   `notionmcp.dev/kind=<kind>` (the operator's grant selector), annotated with the record key and its
//!   expiry, holding the sealed bytes in `data.record`. The [`Version`] is the Secret's `resourceVersion`.
//! - **Reads** come from a watch cache (a kube-runtime reflector on this instance's Secrets), so a tool call
//!   never waits for the API server. Because the cache lags behind writes, a replica remembers what it just
//!   wrote, deleted or read directly (an overlay keyed by Secret name) until the watch has delivered an event
//!   at least that new; a `get` that misses both may look the Secret up directly (rate-limited, so lookups
//!   of keys that do not exist cannot flood the API server), which covers records another replica wrote a
//!   moment ago. [`Backend::get_fresh`] always asks the API server.
//! - **Writes** are preconditioned on `resourceVersion` (replace and delete); a 409 becomes `Conflict` or
//!   `AlreadyExists` and is never retried here (the [`super::Store`] re-reads and decides). 5xx, 429 and
//!   connection errors are retried a few times with backoff; when a retried write then meets a 409, the
//!   Secret is read back: if it holds our record, our earlier attempt landed; if not, the outcome is
//!   unknown (it may have landed and been overwritten since) and the write fails as `Unavailable` —
//!   never as `Conflict`, which would make the [`super::Store`] apply the update again. A replace starts from
//!   the object at the expected version, so metadata this server does not own (the owner reference the
//!   operator adds, foreign labels) survives.
//! - The sealed bytes are encrypted already; they are never logged or put into an error message.

use super::{Backend, Entry, Kind, NewEntry, StoreError, Version, check_key};
use async_trait::async_trait;
use futures::StreamExt;
use k8s_openapi::api::core::v1::Secret;
use kube::api::{Api, DeleteParams, PostParams, Preconditions};
use kube::runtime::reflector::{self, ObjectRef};
use kube::runtime::{WatchStreamExt, watcher};
use std::collections::HashMap;
use std::future::Future;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;
use tokio::task::JoinHandle;
use tokio::time::Instant;

mod overlay;
mod secrets;

use overlay::{Overlay, View};

pub use secrets::{
    EXPIRES_ANNOTATION, INSTANCE_LABEL, KEY_ANNOTATION, KIND_LABEL, MANAGED_BY_LABEL, MANAGER,
    RECORD_FIELD, secret_name, selector,
};
use secrets::{
    describe, entry_of, fill, is_status, new_secret, rv_num, rv_of, same_record, transient,
};

/// How long [`KubernetesBackend::start`] waits for the initial list.
const START_TIMEOUT: Duration = Duration::from_secs(30);
/// Attempts per write (and per direct read) when the API server fails transiently.
const ATTEMPTS: u32 = 4;
/// First retry delay; each further one is four times longer.
const RETRY_BASE: Duration = Duration::from_millis(100);
/// Upper bound for a server-requested `Retry-After`.
const RETRY_AFTER_CAP: Duration = Duration::from_secs(10);
/// Direct lookups after a cache miss: sustained rate per second and burst.
const MISS_LOOKUPS_PER_SEC: f64 = 10.0;
const MISS_LOOKUP_BURST: f64 = 20.0;

/// Where records live and who owns them.
#[derive(Debug, Clone)]
pub struct KubernetesConfig {
    /// The namespace of the Secrets (the server's own).
    pub namespace: String,
    /// The NotionMcpRemote instance name (value of [`INSTANCE_LABEL`]).
    pub instance: String,
    /// Set as a non-controller owner on every Secret this server creates, so deleting the instance removes
    /// its records. Only on create: the operator strips it from grants it must retain.
    pub owner: Option<OwnerRef>,
}

/// The owner of created Secrets (the instance's NotionMcpRemote resource).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OwnerRef {
    pub api_version: String,
    pub kind: String,
    pub name: String,
    pub uid: String,
}

/// One Secret per record, read through a watch cache.
pub struct KubernetesBackend {
    api: Api<Secret>,
    config: KubernetesConfig,
    cache: reflector::Store<Secret>,
    /// Highest resourceVersion the cache has applied (0 when unknown or non-numeric).
    seen: Arc<AtomicU64>,
    overlay: Overlay,
    miss_lookups: Mutex<(f64, Instant)>,
    /// First retry delay after a transient failure.
    retry_base: Duration,
    _watch: AbortOnDrop,
}

struct AbortOnDrop(JoinHandle<()>);

impl Drop for AbortOnDrop {
    fn drop(&mut self) {
        self.0.abort();
    }
}

/// The outcome of a call that may have been retried.
struct Attempted<T> {
    result: kube::Result<T>,
    /// Whether an earlier attempt failed in a way that may still have applied it.
    retried: bool,
}

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|p| p.into_inner())
}

impl KubernetesBackend {
    /// Start the watch cache on `config.namespace` and wait (at most 30 s) for the initial list.
    pub async fn start(
        client: kube::Client,
        config: KubernetesConfig,
    ) -> Result<KubernetesBackend, StoreError> {
        let api: Api<Secret> = Api::namespaced(client, &config.namespace);
        let (cache, writer) = reflector::store::<Secret>();
        let watch_config = watcher::Config::default().labels(&selector(&config.instance));
        let stream =
            reflector::reflector(writer, watcher(api.clone(), watch_config).default_backoff());
        let seen = Arc::new(AtomicU64::new(0));
        let last_error: Arc<Mutex<Option<String>>> = Arc::default();
        let task = tokio::spawn({
            let (cache, seen, last_error) = (cache.clone(), seen.clone(), last_error.clone());
            let namespace = config.namespace.clone();
            async move {
                let mut stream = std::pin::pin!(stream);
                while let Some(event) = stream.next().await {
                    match event {
                        Ok(watcher::Event::Apply(s) | watcher::Event::Delete(s)) => {
                            if let Some(rv) = rv_of(&s).and_then(rv_num) {
                                seen.fetch_max(rv, Ordering::AcqRel);
                            }
                        }
                        Ok(watcher::Event::InitDone) => {
                            let newest = cache
                                .state()
                                .iter()
                                .filter_map(|s| rv_of(s).and_then(rv_num))
                                .max()
                                .unwrap_or(0);
                            seen.fetch_max(newest, Ordering::AcqRel);
                            *lock(&last_error) = None;
                        }
                        Ok(_) => {}
                        Err(e) => {
                            tracing::warn!(namespace = %namespace, error = %e, "watching the grant store's Secrets failed; retrying");
                            *lock(&last_error) = Some(e.to_string());
                        }
                    }
                }
            }
        });
        let watch = AbortOnDrop(task);
        if tokio::time::timeout(START_TIMEOUT, cache.wait_until_ready())
            .await
            .map_or(true, |r| r.is_err())
        {
            let cause = lock(&last_error)
                .clone()
                .map(|e| format!(" (last error: {e})"))
                .unwrap_or_default();
            return Err(StoreError::Unavailable(format!(
                "could not list the Secrets in namespace '{}' within {} s; is the RBAC for secrets in place?{cause}",
                config.namespace,
                START_TIMEOUT.as_secs()
            )));
        }
        tracing::info!(namespace = %config.namespace, instance = %config.instance, records = cache.len(), "grant store: watching Secrets");
        Ok(KubernetesBackend {
            api,
            config,
            cache,
            seen,
            overlay: Overlay::default(),
            miss_lookups: Mutex::new((MISS_LOOKUP_BURST, Instant::now())),
            retry_base: RETRY_BASE,
            _watch: watch,
        })
    }

    /// Number of record Secrets in the watch cache (all kinds), for metrics.
    pub fn cached_len(&self) -> usize {
        self.cache.len()
    }

    pub fn namespace(&self) -> &str {
        &self.config.namespace
    }

    fn name(&self, kind: Kind, key: &str) -> String {
        secret_name(&self.config.instance, kind, key)
    }

    fn cached(&self, name: &str) -> Option<Arc<Secret>> {
        self.cache
            .get(&ObjectRef::new(name).within(&self.config.namespace))
    }

    /// The newest view of a Secret: the overlay while the cache lags, the cache otherwise.
    fn resolve(&self, name: &str) -> View {
        self.overlay
            .resolve(name, self.cached(name), self.seen.load(Ordering::Acquire))
    }

    /// Remember an object this replica wrote or read directly, unless it already knows a newer one.
    fn remember(&self, name: &str, object: Option<Arc<Secret>>, rv: String) {
        self.overlay
            .remember(name, object, rv, self.seen.load(Ordering::Acquire), |n| {
                self.cached(n)
            });
    }

    fn remember_object(&self, name: &str, object: Secret) {
        if let Some(rv) = rv_of(&object).map(str::to_string) {
            self.remember(name, Some(Arc::new(object)), rv);
        }
    }

    /// Remember that a Secret is gone (`rv`: the last version known before it went).
    fn remember_deleted(&self, name: &str, rv: Option<String>) {
        let rv = rv.or_else(|| {
            self.cached(name)
                .and_then(|s| rv_of(&s).map(str::to_string))
        });
        match rv {
            Some(rv) => self.remember(name, None, rv),
            None => self.overlay.forget(name),
        }
    }

    /// A token bucket for direct lookups after cache misses.
    fn may_look_up(&self) -> bool {
        let mut bucket = lock(&self.miss_lookups);
        let (tokens, at) = &mut *bucket;
        let now = Instant::now();
        *tokens = (*tokens + now.duration_since(*at).as_secs_f64() * MISS_LOOKUPS_PER_SEC)
            .min(MISS_LOOKUP_BURST);
        *at = now;
        if *tokens >= 1.0 {
            *tokens -= 1.0;
            true
        } else {
            false
        }
    }

    /// Run an API call, retrying transient failures with backoff.
    async fn retrying<T, F, Fut>(&self, op: &'static str, name: &str, mut call: F) -> Attempted<T>
    where
        F: FnMut() -> Fut,
        Fut: Future<Output = kube::Result<T>>,
    {
        let mut attempt = 1;
        let mut delay = self.retry_base;
        loop {
            match call().await {
                Ok(t) => {
                    return Attempted {
                        result: Ok(t),
                        retried: attempt > 1,
                    };
                }
                Err(e) => match transient(&e) {
                    Some(retry_after) if attempt < ATTEMPTS => {
                        let wait = retry_after.map_or(delay, |r| r.min(RETRY_AFTER_CAP));
                        tracing::warn!(operation = op, secret = %name, namespace = %self.config.namespace, attempt, error = %describe(&e), "grant store: retrying after a transient API failure");
                        tokio::time::sleep(wait).await;
                        attempt += 1;
                        delay *= 4;
                    }
                    _ => {
                        return Attempted {
                            result: Err(e),
                            retried: attempt > 1,
                        };
                    }
                },
            }
        }
    }

    fn unavailable(&self, op: &str, name: &str, e: &kube::Error) -> StoreError {
        StoreError::Unavailable(format!(
            "{op} Secret {}/{name}: {}",
            self.config.namespace,
            describe(e)
        ))
    }

    /// A direct GET (bypassing the cache); the answer goes into the overlay.
    async fn fetch(&self, name: &str) -> Result<Option<Arc<Secret>>, StoreError> {
        let attempted = self
            .retrying("reading", name, || self.api.get_opt(name))
            .await;
        match attempted.result {
            Ok(Some(secret)) => {
                let secret = Arc::new(secret);
                if let Some(rv) = rv_of(&secret) {
                    self.remember(name, Some(secret.clone()), rv.to_string());
                }
                Ok(Some(secret))
            }
            Ok(None) => {
                self.remember_deleted(name, None);
                Ok(None)
            }
            Err(e) => Err(self.unavailable("reading", name, &e)),
        }
    }

    /// After a retried write met a 409: if the current object is ours, our earlier attempt landed;
    /// otherwise whether it did is unknown.
    async fn landed(&self, op: &str, name: &str, sealed: &[u8]) -> Result<Version, StoreError> {
        self.fetch(name)
            .await?
            .filter(|s| same_record(s, sealed))
            .and_then(|s| rv_of(&s).map(|v| Version(v.to_string())))
            .ok_or_else(|| {
                StoreError::Unavailable(format!(
                    "{op} Secret {}/{name}: the API server failed mid-write and the Secret has changed since; whether this write landed is unknown",
                    self.config.namespace
                ))
            })
    }

    fn written(&self, name: &str, secret: Secret) -> Result<Version, StoreError> {
        let version = rv_of(&secret)
            .map(|v| Version(v.to_string()))
            .ok_or_else(|| {
                StoreError::Unavailable(format!(
                    "writing Secret {}/{name}: the API server returned no resourceVersion",
                    self.config.namespace
                ))
            })?;
        self.remember_object(name, secret);
        Ok(version)
    }
}

#[async_trait]
impl Backend for KubernetesBackend {
    fn name(&self) -> &'static str {
        "kubernetes"
    }

    /// From the cache (and the overlay); on a miss, a rate-limited direct GET, since the record may have
    /// been written by another replica a moment ago.
    async fn get(&self, kind: Kind, key: &str) -> Result<Option<Entry>, StoreError> {
        check_key(key)?;
        let name = self.name(kind, key);
        match self.resolve(&name) {
            View::Known(secret) => entry_of(kind, key, &secret).map(Some),
            View::Deleted => Ok(None),
            View::Unknown if self.may_look_up() => self
                .fetch(&name)
                .await?
                .map(|s| entry_of(kind, key, &s))
                .transpose(),
            View::Unknown => Ok(None),
        }
    }

    async fn get_fresh(&self, kind: Kind, key: &str) -> Result<Option<Entry>, StoreError> {
        check_key(key)?;
        let name = self.name(kind, key);
        self.fetch(&name)
            .await?
            .map(|s| entry_of(kind, key, &s))
            .transpose()
    }

    async fn create(&self, kind: Kind, key: &str, entry: NewEntry) -> Result<Version, StoreError> {
        check_key(key)?;
        let name = self.name(kind, key);
        let secret = new_secret(&name, &self.config, kind, key, &entry);
        let params = PostParams::default();
        let attempted = self
            .retrying("creating", &name, || self.api.create(&params, &secret))
            .await;
        match attempted.result {
            Ok(created) => self.written(&name, created),
            Err(e) if is_status(&e, 409, "AlreadyExists") => {
                if attempted.retried {
                    return self.landed("creating", &name, &entry.sealed).await;
                }
                Err(StoreError::AlreadyExists {
                    kind,
                    key: key.to_string(),
                })
            }
            Err(e) => Err(self.unavailable("creating", &name, &e)),
        }
    }

    async fn replace(
        &self,
        kind: Kind,
        key: &str,
        entry: NewEntry,
        expected: &Version,
    ) -> Result<Version, StoreError> {
        check_key(key)?;
        let name = self.name(kind, key);
        let (conflict, not_found) = (
            || StoreError::Conflict {
                kind,
                key: key.to_string(),
            },
            || StoreError::NotFound {
                kind,
                key: key.to_string(),
            },
        );
        // Start from the object at `expected` (read directly when this replica does not have it).
        let base = match self.resolve(&name) {
            View::Known(s) if rv_of(&s) == Some(expected.0.as_str()) => s,
            _ => match self.fetch(&name).await? {
                Some(s) if rv_of(&s) == Some(expected.0.as_str()) => s,
                Some(_) => return Err(conflict()),
                None => return Err(not_found()),
            },
        };
        let mut secret = (*base).clone();
        fill(&mut secret, &self.config.instance, kind, key, &entry);
        secret.metadata.resource_version = Some(expected.0.clone());
        let params = PostParams::default();
        let attempted = self
            .retrying("replacing", &name, || {
                self.api.replace(&name, &params, &secret)
            })
            .await;
        match attempted.result {
            Ok(updated) => self.written(&name, updated),
            Err(e) if is_status(&e, 409, "Conflict") => {
                if attempted.retried {
                    return self.landed("replacing", &name, &entry.sealed).await;
                }
                Err(conflict())
            }
            Err(e) if is_status(&e, 404, "NotFound") => {
                self.remember_deleted(&name, Some(expected.0.clone()));
                Err(not_found())
            }
            Err(e) => Err(self.unavailable("replacing", &name, &e)),
        }
    }

    /// After a retried DELETE (whose first attempt may have landed), a 404 is reported as `Ok(false)`:
    /// never claiming a deletion that may have been someone else's keeps `take` exactly-once.
    async fn delete(
        &self,
        kind: Kind,
        key: &str,
        expected: Option<&Version>,
    ) -> Result<bool, StoreError> {
        check_key(key)?;
        let name = self.name(kind, key);
        let params = DeleteParams {
            preconditions: expected.map(|v| Preconditions {
                resource_version: Some(v.0.clone()),
                uid: None,
            }),
            ..DeleteParams::default()
        };
        let attempted = self
            .retrying("deleting", &name, || self.api.delete(&name, &params))
            .await;
        match attempted.result {
            Ok(deleted) => {
                let rv = deleted
                    .left()
                    .and_then(|s| rv_of(&s).map(str::to_string))
                    .or_else(|| expected.map(|v| v.0.clone()));
                self.remember_deleted(&name, rv);
                Ok(true)
            }
            Err(e) if is_status(&e, 404, "NotFound") => {
                self.remember_deleted(&name, None);
                Ok(false)
            }
            Err(e) if is_status(&e, 409, "Conflict") => Err(StoreError::Conflict {
                kind,
                key: key.to_string(),
            }),
            Err(e) => Err(self.unavailable("deleting", &name, &e)),
        }
    }

    /// Every record of a kind in the cache, corrected by the overlay. Secrets whose name does not match
    /// their labels (not written by this backend) are ignored.
    async fn list(&self, kind: Kind) -> Result<Vec<(String, Entry)>, StoreError> {
        let mut names: HashMap<String, Arc<Secret>> = self
            .cache
            .state()
            .into_iter()
            .filter_map(|s| s.metadata.name.clone().map(|n| (n, s)))
            .collect();
        self.overlay
            .correct(&mut names, self.seen.load(Ordering::Acquire), |n| {
                self.cached(n)
            });
        let mut out = Vec::new();
        for (name, secret) in names {
            let meta = &secret.metadata;
            let Some(key) = meta
                .annotations
                .as_ref()
                .and_then(|a| a.get(KEY_ANNOTATION))
            else {
                continue;
            };
            let labelled = meta.labels.as_ref().and_then(|l| l.get(KIND_LABEL));
            if labelled.map(String::as_str) != Some(kind.as_str())
                || check_key(key).is_err()
                || name != self.name(kind, key)
            {
                continue;
            }
            out.push((key.clone(), entry_of(kind, key, &secret)?));
        }
        out.sort_by(|a, b| a.0.cmp(&b.0));
        Ok(out)
    }
}

#[cfg(test)]
mod fake;
#[cfg(test)]
mod faults;
#[cfg(test)]
mod tests;
