//! Durable, encrypted state of the authorization server: grants, registered clients, pending
//! authorizations, authorization codes and consent records.
//!
//! One [`Backend`] trait, three implementations — [`memory`] (tests), [`file`] (the local default) and
//! [`kubernetes`] (one Secret per record, the in-cluster default). Backends store opaque sealed bytes
//! plus an expiry; the [`Store`] in front of them seals every record with the [`KeyRing`] (AEAD, key id
//! in the header, the record's kind and key as associated data), so a backend never sees a token and a
//! record cannot be moved to another slot. Updates are optimistic: read a version, write only if it is
//! unchanged, re-read and retry on conflict.

pub mod file;
pub mod instrumented;
pub mod kubernetes;
pub mod memory;
pub mod open;
pub mod records;
pub mod sealing;

pub use records::{AuthCode, Consent, Grant, PendingAuthorization, RegisteredClient};
pub use sealing::{KeyRing, SealError};

use async_trait::async_trait;
use serde::Serialize;
use serde::de::DeserializeOwned;
use std::fmt;
use std::sync::Arc;
use time::OffsetDateTime;

/// What a record is. Each kind is a separate namespace of keys.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Kind {
    /// One user's authorization of one Notion workspace for one MCP client (holds Notion's tokens).
    Grant,
    /// A dynamically registered OAuth client.
    Client,
    /// An authorization waiting for Notion's callback, keyed by a hash of our upstream `state`.
    Pending,
    /// An authorization code we issued, keyed by its hash.
    Code,
    /// A user's remembered consent for one client.
    Consent,
    /// A verification token Notion sent for a new webhook subscription, waiting for an operator.
    WebhookVerification,
}

impl Kind {
    pub const ALL: [Kind; 6] = [
        Kind::Grant,
        Kind::Client,
        Kind::Pending,
        Kind::Code,
        Kind::Consent,
        Kind::WebhookVerification,
    ];

    /// Stable lower-case name (file directories, Kubernetes labels, associated data).
    pub fn as_str(self) -> &'static str {
        match self {
            Kind::Grant => notion_mcp_contract::labels::GRANT,
            Kind::Client => "oauth-client",
            Kind::Pending => "oauth-pending",
            Kind::Code => "oauth-code",
            Kind::Consent => "oauth-consent",
            Kind::WebhookVerification => "webhook-verification",
        }
    }

    pub fn parse(s: &str) -> Option<Kind> {
        Kind::ALL.into_iter().find(|k| k.as_str() == s)
    }
}

impl fmt::Display for Kind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// An opaque version token (a counter, or a Kubernetes `resourceVersion`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Version(pub String);

/// A stored record as a backend sees it.
#[derive(Debug, Clone)]
pub struct Entry {
    pub version: Version,
    pub sealed: Vec<u8>,
    /// Unix seconds after which the record is dead and may be deleted by anyone.
    pub expires_at: Option<i64>,
}

/// A record to write.
#[derive(Debug, Clone)]
pub struct NewEntry {
    pub sealed: Vec<u8>,
    pub expires_at: Option<i64>,
}

/// Why a store operation failed.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("{kind} '{key}' already exists")]
    AlreadyExists { kind: Kind, key: String },
    #[error("{kind} '{key}' was changed concurrently")]
    Conflict { kind: Kind, key: String },
    #[error("{kind} '{key}' does not exist")]
    NotFound { kind: Kind, key: String },
    #[error("invalid record key '{0}': keys are 1-128 characters of A-Z a-z 0-9 - _")]
    InvalidKey(String),
    #[error("the grant store is unavailable: {0}")]
    Unavailable(String),
    #[error("{kind} '{key}' cannot be opened: {source}")]
    Sealed {
        kind: Kind,
        key: String,
        #[source]
        source: SealError,
    },
    #[error("{kind} '{key}' is corrupt: {reason}")]
    Corrupt {
        kind: Kind,
        key: String,
        reason: String,
    },
    #[error("{kind} '{key}' is still being changed concurrently after {attempts} attempts")]
    Contended {
        kind: Kind,
        key: String,
        attempts: u32,
    },
}

/// Where sealed records live.
#[async_trait]
pub trait Backend: Send + Sync + 'static {
    /// A short name for logs and errors (`memory`, `file`, `kubernetes`).
    fn name(&self) -> &'static str;
    /// The record, if present (expired records may be returned; the [`Store`] hides them).
    async fn get(&self, kind: Kind, key: &str) -> Result<Option<Entry>, StoreError>;
    /// Like [`Backend::get`] but bypassing any cache: used after a conflict.
    async fn get_fresh(&self, kind: Kind, key: &str) -> Result<Option<Entry>, StoreError> {
        self.get(kind, key).await
    }
    /// Create a record; `AlreadyExists` if the key is taken.
    async fn create(&self, kind: Kind, key: &str, entry: NewEntry) -> Result<Version, StoreError>;
    /// Replace a record if it is still at `expected`; `Conflict` otherwise, `NotFound` if gone.
    async fn replace(
        &self,
        kind: Kind,
        key: &str,
        entry: NewEntry,
        expected: &Version,
    ) -> Result<Version, StoreError>;
    /// Delete a record (only if still at `expected`, when given). `Ok(false)` if it did not exist;
    /// `Conflict` if it changed.
    async fn delete(
        &self,
        kind: Kind,
        key: &str,
        expected: Option<&Version>,
    ) -> Result<bool, StoreError>;
    /// Every record of a kind.
    async fn list(&self, kind: Kind) -> Result<Vec<(String, Entry)>, StoreError>;
}

/// A record type with its kind and lifetime.
pub trait Record: Serialize + DeserializeOwned + Send + Sync {
    const KIND: Kind;
    /// Unix seconds after which the record may be deleted.
    fn expires_at(&self) -> Option<i64>;
}

/// What an update closure decided.
pub enum Decision<T> {
    /// Write the changed record.
    Write(T),
    /// Leave the record as it was.
    Keep(T),
    /// Delete the record.
    Delete(T),
}

/// How many times an update is retried on conflict before giving up.
const UPDATE_ATTEMPTS: u32 = 20;

/// The sealed, typed view of a backend.
#[derive(Clone)]
pub struct Store {
    backend: Arc<dyn Backend>,
    keys: Arc<KeyRing>,
    /// Counts records that could not be opened (with [`Store::instrumented`]).
    open_errors: Option<prometheus::IntCounterVec>,
}

impl fmt::Debug for Store {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Store")
            .field("backend", &self.backend.name())
            .field("keys", &self.keys)
            .finish()
    }
}

/// Current time in Unix seconds.
pub fn now_unix() -> i64 {
    OffsetDateTime::now_utc().unix_timestamp()
}

/// Keys are generated by us (ids, hashes); anything else is refused before it reaches a file name or a
/// Kubernetes object name.
pub fn check_key(key: &str) -> Result<(), StoreError> {
    let ok = !key.is_empty()
        && key.len() <= 128
        && key
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_');
    if ok {
        Ok(())
    } else {
        Err(StoreError::InvalidKey(key.chars().take(64).collect()))
    }
}

fn associated_data(kind: Kind, key: &str) -> Vec<u8> {
    format!("notion-mcp-remote/{}/{}", kind.as_str(), key).into_bytes()
}

fn is_live(entry: &Entry, now: i64) -> bool {
    entry.expires_at.is_none_or(|t| t > now)
}

impl Store {
    /// This store with its failures counted in `metrics` (`grant_store_errors_total`).
    pub fn instrumented(self, metrics: &crate::metrics::Metrics) -> Self {
        let backend = instrumented::Instrumented::new(self.backend, metrics);
        let open_errors = Some(backend.errors());
        Store {
            backend: Arc::new(backend),
            keys: self.keys,
            open_errors,
        }
    }

    pub fn new(backend: Arc<dyn Backend>, keys: Arc<KeyRing>) -> Self {
        Store {
            backend,
            keys,
            open_errors: None,
        }
    }

    /// An in-memory store with a random key (tests, demo).
    pub fn in_memory() -> Self {
        Store::new(
            Arc::new(memory::MemoryBackend::default()),
            Arc::new(KeyRing::random()),
        )
    }

    pub fn backend_name(&self) -> &'static str {
        self.backend.name()
    }

    pub fn keys(&self) -> &KeyRing {
        &self.keys
    }

    fn seal<R: Record>(&self, key: &str, record: &R) -> Result<NewEntry, StoreError> {
        let plain = serde_json::to_vec(record).map_err(|e| StoreError::Corrupt {
            kind: R::KIND,
            key: key.to_string(),
            reason: format!("cannot encode: {e}"),
        })?;
        Ok(NewEntry {
            sealed: self.keys.seal(&associated_data(R::KIND, key), &plain),
            expires_at: record.expires_at(),
        })
    }

    fn open<R: Record>(&self, key: &str, entry: &Entry) -> Result<R, StoreError> {
        let opened = self.open_unmetered(key, entry);
        if let (Err(e), Some(errors)) = (&opened, &self.open_errors) {
            let error = if matches!(e, StoreError::Sealed { .. }) {
                "sealed"
            } else {
                "corrupt"
            };
            errors.with_label_values(&["open", error]).inc();
        }
        opened
    }

    fn open_unmetered<R: Record>(&self, key: &str, entry: &Entry) -> Result<R, StoreError> {
        let plain = self
            .keys
            .open(&associated_data(R::KIND, key), &entry.sealed)
            .map_err(|source| StoreError::Sealed {
                kind: R::KIND,
                key: key.to_string(),
                source,
            })?;
        serde_json::from_slice(&plain).map_err(|e| StoreError::Corrupt {
            kind: R::KIND,
            key: key.to_string(),
            reason: e.to_string(),
        })
    }

    /// The live record under `key`.
    pub async fn get<R: Record>(&self, key: &str) -> Result<Option<R>, StoreError> {
        check_key(key)?;
        match self.backend.get(R::KIND, key).await? {
            Some(e) if is_live(&e, now_unix()) => self.open(key, &e).map(Some),
            _ => Ok(None),
        }
    }

    /// Store a new record; `AlreadyExists` if the key is taken by a live record. A dead (expired)
    /// record under the key is replaced.
    pub async fn create<R: Record>(&self, key: &str, record: &R) -> Result<(), StoreError> {
        check_key(key)?;
        let entry = self.seal(key, record)?;
        match self.backend.create(R::KIND, key, entry.clone()).await {
            Err(StoreError::AlreadyExists { .. }) => {
                let existing = self.backend.get_fresh(R::KIND, key).await?;
                match existing {
                    Some(old) if !is_live(&old, now_unix()) => {
                        self.backend
                            .replace(R::KIND, key, entry, &old.version)
                            .await?;
                        Ok(())
                    }
                    _ => Err(StoreError::AlreadyExists {
                        kind: R::KIND,
                        key: key.to_string(),
                    }),
                }
            }
            other => other.map(|_| ()),
        }
    }

    /// Read-modify-write with optimistic concurrency: `f` sees the current record and decides; on a
    /// conflict the record is read again (bypassing caches) and `f` runs again. `Ok(None)` when there is
    /// no live record.
    pub async fn update<R: Record, T>(
        &self,
        key: &str,
        mut f: impl FnMut(&mut R) -> Decision<T> + Send,
    ) -> Result<Option<T>, StoreError> {
        check_key(key)?;
        let mut fresh = false;
        for attempt in 0..UPDATE_ATTEMPTS {
            if attempt > 0 {
                // Jittered backoff so contending writers spread out instead of colliding again.
                let cap = 2u64 << attempt.min(6);
                tokio::time::sleep(std::time::Duration::from_millis(rand::random_range(
                    1..=cap,
                )))
                .await;
            }
            let entry = if fresh {
                self.backend.get_fresh(R::KIND, key).await?
            } else {
                self.backend.get(R::KIND, key).await?
            };
            let Some(entry) = entry.filter(|e| is_live(e, now_unix())) else {
                return Ok(None);
            };
            let mut record: R = self.open(key, &entry)?;
            let result = match f(&mut record) {
                Decision::Keep(t) => return Ok(Some(t)),
                Decision::Write(t) => {
                    let new = self.seal(key, &record)?;
                    self.backend
                        .replace(R::KIND, key, new, &entry.version)
                        .await
                        .map(|_| t)
                }
                Decision::Delete(t) => self
                    .backend
                    .delete(R::KIND, key, Some(&entry.version))
                    .await
                    .map(|_| t),
            };
            match result {
                Ok(t) => return Ok(Some(t)),
                Err(StoreError::Conflict { .. }) => fresh = true,
                Err(StoreError::NotFound { .. }) => return Ok(None),
                Err(e) => return Err(e),
            }
        }
        Err(StoreError::Contended {
            kind: R::KIND,
            key: key.to_string(),
            attempts: UPDATE_ATTEMPTS,
        })
    }

    /// Remove and return a record exactly once: of several concurrent callers only one gets it.
    pub async fn take<R: Record>(&self, key: &str) -> Result<Option<R>, StoreError> {
        check_key(key)?;
        let Some(entry) = self.backend.get_fresh(R::KIND, key).await? else {
            return Ok(None);
        };
        match self
            .backend
            .delete(R::KIND, key, Some(&entry.version))
            .await
        {
            Ok(true) if is_live(&entry, now_unix()) => self.open(key, &entry).map(Some),
            Ok(_) | Err(StoreError::Conflict { .. }) | Err(StoreError::NotFound { .. }) => Ok(None),
            Err(e) => Err(e),
        }
    }

    /// Delete a record; `Ok(false)` if there was none.
    pub async fn delete<R: Record>(&self, key: &str) -> Result<bool, StoreError> {
        check_key(key)?;
        self.backend.delete(R::KIND, key, None).await
    }

    /// Every live record of a type.
    /// Whether the backend answers (a read of a key that never exists, bypassing caches): the
    /// readiness probe.
    pub async fn probe(&self) -> Result<(), StoreError> {
        self.backend
            .get_fresh(Kind::Pending, "readiness-probe")
            .await
            .map(drop)
    }

    pub async fn list<R: Record>(&self) -> Result<Vec<(String, R)>, StoreError> {
        let now = now_unix();
        let mut out = Vec::new();
        for (key, entry) in self.backend.list(R::KIND).await? {
            if is_live(&entry, now) {
                out.push((key.clone(), self.open(&key, &entry)?));
            }
        }
        out.sort_by(|a, b| a.0.cmp(&b.0));
        Ok(out)
    }

    /// Open every live record of every kind, so a wrong or missing key fails loudly at start-up instead
    /// of showing up later as "invalid token". Returns the number of records checked.
    pub async fn verify_keys(&self) -> Result<usize, StoreError> {
        let now = now_unix();
        let mut checked = 0;
        for kind in Kind::ALL {
            for (key, entry) in self.backend.list(kind).await? {
                if !is_live(&entry, now) {
                    continue;
                }
                self.keys
                    .open(&associated_data(kind, &key), &entry.sealed)
                    .map_err(|source| StoreError::Sealed {
                        kind,
                        key: key.clone(),
                        source,
                    })?;
                checked += 1;
            }
        }
        Ok(checked)
    }

    /// Delete expired records of every kind. Returns how many were removed.
    pub async fn sweep_expired(&self) -> Result<usize, StoreError> {
        let now = now_unix();
        let mut removed = 0;
        for kind in Kind::ALL {
            for (key, entry) in self.backend.list(kind).await? {
                if is_live(&entry, now) {
                    continue;
                }
                match self.backend.delete(kind, &key, Some(&entry.version)).await {
                    Ok(true) => removed += 1,
                    Ok(false) | Err(StoreError::Conflict { .. }) => {}
                    Err(e) => return Err(e),
                }
            }
        }
        Ok(removed)
    }
}

#[cfg(test)]
mod tests;
