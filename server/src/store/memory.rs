//! The in-memory backend: for tests and single-process experiments. Same semantics as the durable
//! backends (versions, conflicts), nothing survives a restart.

use super::{Backend, Entry, Kind, NewEntry, StoreError, Version};
use async_trait::async_trait;
use std::collections::HashMap;
use std::sync::Mutex;

type Records = HashMap<(Kind, String), Entry>;

#[derive(Default)]
pub struct MemoryBackend {
    /// A version counter and the records.
    records: Mutex<(u64, Records)>,
}

impl MemoryBackend {
    fn with<T>(&self, f: impl FnOnce(&mut u64, &mut Records) -> T) -> T {
        let mut guard = self.records.lock().unwrap_or_else(|p| p.into_inner());
        let (counter, map) = &mut *guard;
        f(counter, map)
    }
}

fn next(counter: &mut u64) -> Version {
    *counter += 1;
    Version(counter.to_string())
}

#[async_trait]
impl Backend for MemoryBackend {
    fn name(&self) -> &'static str {
        "memory"
    }

    async fn get(&self, kind: Kind, key: &str) -> Result<Option<Entry>, StoreError> {
        Ok(self.with(|_, m| m.get(&(kind, key.to_string())).cloned()))
    }

    async fn create(&self, kind: Kind, key: &str, entry: NewEntry) -> Result<Version, StoreError> {
        self.with(|c, m| {
            let slot = (kind, key.to_string());
            if m.contains_key(&slot) {
                return Err(StoreError::AlreadyExists {
                    kind,
                    key: key.into(),
                });
            }
            let version = next(c);
            m.insert(
                slot,
                Entry {
                    version: version.clone(),
                    sealed: entry.sealed,
                    expires_at: entry.expires_at,
                },
            );
            Ok(version)
        })
    }

    async fn replace(
        &self,
        kind: Kind,
        key: &str,
        entry: NewEntry,
        expected: &Version,
    ) -> Result<Version, StoreError> {
        self.with(|c, m| {
            let Some(current) = m.get_mut(&(kind, key.to_string())) else {
                return Err(StoreError::NotFound {
                    kind,
                    key: key.into(),
                });
            };
            if &current.version != expected {
                return Err(StoreError::Conflict {
                    kind,
                    key: key.into(),
                });
            }
            let version = next(c);
            *current = Entry {
                version: version.clone(),
                sealed: entry.sealed,
                expires_at: entry.expires_at,
            };
            Ok(version)
        })
    }

    async fn delete(
        &self,
        kind: Kind,
        key: &str,
        expected: Option<&Version>,
    ) -> Result<bool, StoreError> {
        self.with(|_, m| {
            let slot = (kind, key.to_string());
            match (m.get(&slot), expected) {
                (None, _) => Ok(false),
                (Some(cur), Some(v)) if &cur.version != v => Err(StoreError::Conflict {
                    kind,
                    key: key.into(),
                }),
                _ => {
                    m.remove(&slot);
                    Ok(true)
                }
            }
        })
    }

    async fn list(&self, kind: Kind) -> Result<Vec<(String, Entry)>, StoreError> {
        Ok(self.with(|_, m| {
            m.iter()
                .filter(|((k, _), _)| *k == kind)
                .map(|((_, key), e)| (key.clone(), e.clone()))
                .collect()
        }))
    }
}

/// A backend whose every call fails as an unreachable API server would, counting calls (tests).
#[cfg(test)]
#[derive(Default)]
pub struct Unreachable(std::sync::atomic::AtomicUsize);

#[cfg(test)]
impl Unreachable {
    pub fn calls(&self) -> usize {
        self.0.load(std::sync::atomic::Ordering::SeqCst)
    }

    fn fail<T>(&self) -> Result<T, StoreError> {
        self.0.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
        Err(StoreError::Unavailable("connection refused".into()))
    }
}

#[cfg(test)]
#[async_trait]
impl Backend for Unreachable {
    fn name(&self) -> &'static str {
        "unreachable"
    }
    async fn get(&self, _: Kind, _: &str) -> Result<Option<Entry>, StoreError> {
        self.fail()
    }
    async fn create(&self, _: Kind, _: &str, _: NewEntry) -> Result<Version, StoreError> {
        self.fail()
    }
    async fn replace(
        &self,
        _: Kind,
        _: &str,
        _: NewEntry,
        _: &Version,
    ) -> Result<Version, StoreError> {
        self.fail()
    }
    async fn delete(&self, _: Kind, _: &str, _: Option<&Version>) -> Result<bool, StoreError> {
        self.fail()
    }
    async fn list(&self, _: Kind) -> Result<Vec<(String, Entry)>, StoreError> {
        self.fail()
    }
}
