//! Per-token state with an idle timeout and a cap on concurrently active tokens.
//!
//! Each distinct Notion token seen gets one entry (its `NotionAuth`, whose pacing key groups the
//! token's requests into one budget). Entries unused for the idle timeout are dropped; when the cap is
//! reached the least recently used idle entry is evicted, and if none is idle the request is refused
//! with 503 rather than letting memory grow without bound.

use crate::notion::{NotionAuth, NotionVersion};
use sha2::{Digest, Sha256};
use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};

/// Why a token could not be admitted.
#[derive(Debug, thiserror::Error)]
pub enum RegistryError {
    #[error(
        "too many Notion tokens are active on this server ({cap}); retry in {retry_after_secs} s"
    )]
    Full { cap: usize, retry_after_secs: u64 },
}

struct Entry {
    auth: NotionAuth,
    last_seen: Instant,
}

/// Live per-token state, keyed by a fingerprint of the token (never the token itself).
pub struct TokenRegistry {
    entries: Mutex<HashMap<String, Entry>>,
    cap: usize,
    idle: Duration,
    version: NotionVersion,
}

impl TokenRegistry {
    pub fn new(cap: usize, idle: Duration, version: NotionVersion) -> Self {
        TokenRegistry {
            entries: Mutex::new(HashMap::new()),
            cap,
            idle,
            version,
        }
    }

    /// A short, non-reversible fingerprint of a token, safe for logs and map keys.
    pub fn fingerprint(token: &str) -> String {
        let digest = Sha256::digest(token.as_bytes());
        digest.iter().take(8).map(|b| format!("{b:02x}")).collect()
    }

    /// The state for `token`, creating it if needed. Returns the fingerprint and the Notion auth.
    pub fn admit(&self, token: &str) -> Result<(String, NotionAuth), RegistryError> {
        let fp = Self::fingerprint(token);
        let now = Instant::now();
        let mut entries = self.entries.lock().unwrap_or_else(|p| p.into_inner());
        if let Some(e) = entries.get_mut(&fp) {
            e.last_seen = now;
            return Ok((fp, e.auth.clone()));
        }
        if entries.len() >= self.cap {
            entries.retain(|_, e| now.duration_since(e.last_seen) < self.idle);
        }
        if entries.len() >= self.cap {
            // Evict the least recently used entry only if it has been quiet for a while; a burst of
            // distinct tokens must not starve the ones in active use.
            let lru = entries
                .iter()
                .min_by_key(|(_, e)| e.last_seen)
                .map(|(k, e)| (k.clone(), e.last_seen));
            match lru {
                Some((k, seen)) if now.duration_since(seen) >= Duration::from_secs(5) => {
                    entries.remove(&k);
                }
                _ => {
                    return Err(RegistryError::Full {
                        cap: self.cap,
                        retry_after_secs: 5,
                    });
                }
            }
        }
        let auth = NotionAuth::new(token.to_string(), self.version).with_pacing_key(fp.clone());
        entries.insert(
            fp.clone(),
            Entry {
                auth: auth.clone(),
                last_seen: now,
            },
        );
        Ok((fp, auth))
    }

    /// Number of tokens with live state.
    pub fn len(&self) -> usize {
        self.entries.lock().map(|e| e.len()).unwrap_or(0)
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Drop entries idle for longer than the timeout. Called periodically.
    pub fn sweep(&self) {
        let now = Instant::now();
        if let Ok(mut entries) = self.entries.lock() {
            entries.retain(|_, e| now.duration_since(e.last_seen) < self.idle);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn same_token_same_entry_and_fingerprint_hides_token() {
        let r = TokenRegistry::new(10, Duration::from_secs(60), NotionVersion::default());
        let (a, _) = r.admit("ntn_secret_a").expect("admitted");
        let (b, _) = r.admit("ntn_secret_a").expect("admitted");
        assert_eq!(a, b);
        assert!(!a.contains("secret"));
        assert_eq!(r.len(), 1);
    }

    #[test]
    fn cap_refuses_when_all_entries_are_busy() {
        let r = TokenRegistry::new(2, Duration::from_secs(60), NotionVersion::default());
        r.admit("t1").expect("admitted");
        r.admit("t2").expect("admitted");
        assert!(matches!(
            r.admit("t3"),
            Err(RegistryError::Full { cap: 2, .. })
        ));
        // Known tokens keep working.
        r.admit("t1").expect("still admitted");
    }

    #[test]
    fn idle_entries_make_room() {
        let r = TokenRegistry::new(1, Duration::from_millis(0), NotionVersion::default());
        r.admit("t1").expect("admitted");
        r.admit("t2").expect("idle entry evicted");
        assert_eq!(r.len(), 1);
    }
}
