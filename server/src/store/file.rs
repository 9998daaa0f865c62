//! The file backend: the local default. One file per record under `<dir>/<kind>/<key>`, so a change
//! rewrites one small file, never the whole store.
//!
//! Writes go to a temporary file that is fsynced and renamed over the record (atomic on POSIX), then
//! the directory is fsynced; a crash leaves either the old or the new record, never a torn one. Every
//! write holds an exclusive lock on `<dir>/.lock`, and version checks happen under it, so several
//! processes can share one directory. Reads take no lock.

use super::{Backend, Entry, Kind, NewEntry, StoreError, Version};
use async_trait::async_trait;
use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use serde::{Deserialize, Serialize};
use std::fs::{self, File, OpenOptions};
use std::io::{ErrorKind, Write};
use std::path::{Path, PathBuf};
use std::sync::Arc;

const TMP_PREFIX: &str = ".tmp-";

/// Records in a directory. Cheap to clone; blocking file I/O runs on tokio's blocking pool.
#[derive(Clone)]
pub struct FileBackend {
    dir: Arc<PathBuf>,
}

#[derive(Serialize, Deserialize)]
struct OnDisk {
    version: String,
    #[serde(default)]
    expires_at: Option<i64>,
    sealed: String,
}

fn unavailable(what: &str, path: &Path, e: std::io::Error) -> StoreError {
    StoreError::Unavailable(format!("{what} {}: {e}", path.display()))
}

impl FileBackend {
    /// Open (creating if needed) a store directory, readable by its owner only.
    pub fn open(dir: impl Into<PathBuf>) -> Result<Self, StoreError> {
        let dir = dir.into();
        fs::create_dir_all(&dir).map_err(|e| unavailable("creating", &dir, e))?;
        restrict_permissions(&dir, 0o700);
        for kind in Kind::ALL {
            let d = dir.join(kind.as_str());
            fs::create_dir_all(&d).map_err(|e| unavailable("creating", &d, e))?;
        }
        let backend = FileBackend { dir: Arc::new(dir) };
        backend.remove_leftovers()?;
        Ok(backend)
    }

    /// Remove the temporary files of writes interrupted by a crash. Under the lock: every writer holds
    /// it from creating its temporary file to renaming it, so another process sharing the directory is
    /// never mid-write here and only true leftovers are removed.
    fn remove_leftovers(&self) -> Result<(), StoreError> {
        let _lock = self.lock()?;
        for kind in Kind::ALL {
            let Ok(entries) = fs::read_dir(self.dir.join(kind.as_str())) else {
                continue;
            };
            for e in entries.flatten() {
                if e.file_name().to_string_lossy().starts_with(TMP_PREFIX) {
                    let _ = fs::remove_file(e.path());
                }
            }
        }
        Ok(())
    }

    /// Whether `dir` holds a file store (its layout exists), without creating anything.
    pub fn exists_in(dir: &Path) -> bool {
        dir.join(Kind::Grant.as_str()).is_dir()
    }

    pub fn dir(&self) -> &Path {
        &self.dir
    }

    fn path(&self, kind: Kind, key: &str) -> PathBuf {
        self.dir.join(kind.as_str()).join(key)
    }

    fn lock(&self) -> Result<File, StoreError> {
        let path = self.dir.join(".lock");
        let file = OpenOptions::new()
            .create(true)
            .truncate(false)
            .write(true)
            .open(&path)
            .map_err(|e| unavailable("opening", &path, e))?;
        file.lock().map_err(|e| unavailable("locking", &path, e))?;
        Ok(file)
    }

    fn read(&self, kind: Kind, key: &str) -> Result<Option<Entry>, StoreError> {
        read_entry(kind, key, &self.path(kind, key))
    }

    fn write(&self, kind: Kind, key: &str, entry: NewEntry) -> Result<Version, StoreError> {
        let version = Version(format!("{:016x}", rand::random::<u64>()));
        let body = serde_json::to_vec(&OnDisk {
            version: version.0.clone(),
            expires_at: entry.expires_at,
            sealed: STANDARD.encode(&entry.sealed),
        })
        .map_err(|e| StoreError::Unavailable(format!("encoding {kind} '{key}': {e}")))?;
        let dir = self.dir.join(kind.as_str());
        let tmp = dir.join(format!("{TMP_PREFIX}{:016x}", rand::random::<u64>()));
        let result = (|| {
            let mut f = OpenOptions::new().create_new(true).write(true).open(&tmp)?;
            restrict_file(&f);
            f.write_all(&body)?;
            f.sync_all()?;
            fs::rename(&tmp, dir.join(key))?;
            File::open(&dir)?.sync_all()
        })();
        if let Err(e) = result {
            let _ = fs::remove_file(&tmp);
            return Err(unavailable("writing", &dir.join(key), e));
        }
        Ok(version)
    }

    fn remove(&self, kind: Kind, key: &str) -> Result<(), StoreError> {
        let path = self.path(kind, key);
        fs::remove_file(&path).map_err(|e| unavailable("removing", &path, e))?;
        if let Some(dir) = path.parent() {
            let _ = File::open(dir).and_then(|d| d.sync_all());
        }
        Ok(())
    }

    async fn blocking<T: Send + 'static>(
        &self,
        f: impl FnOnce(&FileBackend) -> Result<T, StoreError> + Send + 'static,
    ) -> Result<T, StoreError> {
        let this = self.clone();
        tokio::task::spawn_blocking(move || f(&this))
            .await
            .map_err(|e| StoreError::Unavailable(format!("store task failed: {e}")))?
    }
}

fn read_entry(kind: Kind, key: &str, path: &Path) -> Result<Option<Entry>, StoreError> {
    let bytes = match fs::read(path) {
        Ok(b) => b,
        Err(e) if e.kind() == ErrorKind::NotFound => return Ok(None),
        Err(e) => return Err(unavailable("reading", path, e)),
    };
    let corrupt = |reason: String| StoreError::Corrupt {
        kind,
        key: key.to_string(),
        reason,
    };
    let disk: OnDisk = serde_json::from_slice(&bytes).map_err(|e| corrupt(e.to_string()))?;
    let sealed = STANDARD
        .decode(disk.sealed)
        .map_err(|e| corrupt(e.to_string()))?;
    Ok(Some(Entry {
        version: Version(disk.version),
        sealed,
        expires_at: disk.expires_at,
    }))
}

#[cfg(unix)]
fn restrict_permissions(path: &Path, mode: u32) {
    use std::os::unix::fs::PermissionsExt;
    let _ = fs::set_permissions(path, fs::Permissions::from_mode(mode));
}

#[cfg(not(unix))]
fn restrict_permissions(_path: &Path, _mode: u32) {}

#[cfg(unix)]
fn restrict_file(f: &File) {
    use std::os::unix::fs::PermissionsExt;
    let _ = f.set_permissions(fs::Permissions::from_mode(0o600));
}

#[cfg(not(unix))]
fn restrict_file(_f: &File) {}

#[async_trait]
impl Backend for FileBackend {
    fn name(&self) -> &'static str {
        "file"
    }

    async fn get(&self, kind: Kind, key: &str) -> Result<Option<Entry>, StoreError> {
        let key = key.to_string();
        self.blocking(move |b| b.read(kind, &key)).await
    }

    async fn create(&self, kind: Kind, key: &str, entry: NewEntry) -> Result<Version, StoreError> {
        let key = key.to_string();
        self.blocking(move |b| {
            let _lock = b.lock()?;
            if b.path(kind, &key).exists() {
                return Err(StoreError::AlreadyExists { kind, key });
            }
            b.write(kind, &key, entry)
        })
        .await
    }

    async fn replace(
        &self,
        kind: Kind,
        key: &str,
        entry: NewEntry,
        expected: &Version,
    ) -> Result<Version, StoreError> {
        let key = key.to_string();
        let expected = expected.clone();
        self.blocking(move |b| {
            let _lock = b.lock()?;
            match b.read(kind, &key)? {
                None => Err(StoreError::NotFound { kind, key }),
                Some(cur) if cur.version != expected => Err(StoreError::Conflict { kind, key }),
                Some(_) => b.write(kind, &key, entry),
            }
        })
        .await
    }

    async fn delete(
        &self,
        kind: Kind,
        key: &str,
        expected: Option<&Version>,
    ) -> Result<bool, StoreError> {
        let key = key.to_string();
        let expected = expected.cloned();
        self.blocking(move |b| {
            let _lock = b.lock()?;
            match (b.read(kind, &key)?, expected) {
                (None, _) => Ok(false),
                (Some(cur), Some(v)) if cur.version != v => Err(StoreError::Conflict { kind, key }),
                _ => b.remove(kind, &key).map(|()| true),
            }
        })
        .await
    }

    async fn list(&self, kind: Kind) -> Result<Vec<(String, Entry)>, StoreError> {
        self.blocking(move |b| {
            let dir = b.dir.join(kind.as_str());
            let mut out = Vec::new();
            let entries = fs::read_dir(&dir).map_err(|e| unavailable("listing", &dir, e))?;
            for e in entries.flatten() {
                let name = e.file_name().to_string_lossy().to_string();
                if name.starts_with('.') {
                    continue;
                }
                if let Some(entry) = read_entry(kind, &name, &e.path())? {
                    out.push((name, entry));
                }
            }
            Ok(out)
        })
        .await
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;
    use std::time::Duration;

    /// A second process opening the directory while the first is mid-write must not delete the first
    /// one's temporary file (its rename would fail and the write be lost); true leftovers still go.
    #[test]
    fn opening_removes_leftovers_but_never_a_write_in_progress() {
        let dir = std::env::temp_dir().join(format!("nmr-file-{}", uuid::Uuid::new_v4()));
        let first = FileBackend::open(&dir).unwrap();
        let grants = dir.join(Kind::Grant.as_str());
        let in_flight = grants.join(format!("{TMP_PREFIX}in-flight"));
        let writing = first.lock().unwrap();
        fs::write(&in_flight, b"half a record").unwrap();
        let opener = std::thread::spawn({
            let dir = dir.clone();
            move || FileBackend::open(dir).map(|_| ())
        });
        std::thread::sleep(Duration::from_millis(200));
        assert!(in_flight.exists(), "a write in progress was removed");
        fs::rename(&in_flight, grants.join("landed")).unwrap();
        drop(writing);
        opener.join().unwrap().unwrap();
        assert!(grants.join("landed").exists());

        let leftover = grants.join(format!("{TMP_PREFIX}crashed"));
        fs::write(&leftover, b"torn").unwrap();
        FileBackend::open(&dir).unwrap();
        assert!(!leftover.exists(), "a crash leftover survived opening");
        let _ = fs::remove_dir_all(&dir);
    }
}
