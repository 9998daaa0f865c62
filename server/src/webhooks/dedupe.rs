//! Recognising a delivery seen before: Notion retries an event for about 24 hours and may deliver
//! it more than once, always with the same `id`. Ids are kept 25 hours, in this process and, with
//! shared state, across replicas (a replica that cannot reach it falls back to its own memory).

use async_trait::async_trait;
use std::sync::Arc;
use std::time::Duration;

/// How long an event id is remembered.
pub const WINDOW: Duration = Duration::from_secs(25 * 3600);
/// Ids remembered in this process at most (the oldest go first).
const MAX_IDS: u64 = 500_000;

/// A first-delivery claim shared by replicas.
#[async_trait]
pub trait SharedClaim: Send + Sync {
    /// True when no replica claimed `id` within `ttl`; an error when it cannot be told.
    async fn first_delivery(&self, id: &str, ttl: Duration) -> Result<bool, String>;
}

#[async_trait]
impl SharedClaim for crate::shared::SharedState {
    async fn first_delivery(&self, id: &str, ttl: Duration) -> Result<bool, String> {
        crate::shared::SharedState::first_delivery(self, id, ttl)
            .await
            .map_err(|e| e.to_string())
    }
}

pub struct Dedupe {
    local: moka::sync::Cache<String, ()>,
    shared: Option<Arc<dyn SharedClaim>>,
}

impl Default for Dedupe {
    fn default() -> Self {
        Self::new(None)
    }
}

impl Dedupe {
    pub fn new(shared: Option<Arc<dyn SharedClaim>>) -> Self {
        Dedupe {
            local: moka::sync::Cache::builder()
                .max_capacity(MAX_IDS)
                .time_to_live(WINDOW)
                .build(),
            shared,
        }
    }

    /// Whether this is the first delivery of event `id` (and remember it).
    pub async fn first_delivery(&self, id: &str) -> bool {
        if self.local.contains_key(id) {
            return false;
        }
        let first = match &self.shared {
            Some(shared) => match shared.first_delivery(id, WINDOW).await {
                Ok(first) => first,
                Err(e) => {
                    tracing::debug!(error = %e, "shared webhook dedupe unavailable; deciding locally");
                    true
                }
            },
            None => true,
        };
        self.local.insert(id.to_owned(), ());
        first
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::Mutex;

    #[tokio::test]
    async fn an_id_counts_once() {
        let d = Dedupe::default();
        assert!(d.first_delivery("e1").await);
        assert!(!d.first_delivery("e1").await);
        assert!(d.first_delivery("e2").await);
    }

    struct Seen(Mutex<Vec<String>>, bool);

    #[async_trait]
    impl SharedClaim for Seen {
        async fn first_delivery(&self, id: &str, _ttl: Duration) -> Result<bool, String> {
            if self.1 {
                return Err("down".into());
            }
            let mut seen = self.0.lock().unwrap_or_else(|p| p.into_inner());
            let first = !seen.iter().any(|s| s == id);
            seen.push(id.to_owned());
            Ok(first)
        }
    }

    #[tokio::test]
    async fn replicas_share_the_claim_and_survive_its_loss() {
        let shared: Arc<dyn SharedClaim> = Arc::new(Seen(Mutex::new(Vec::new()), false));
        let (a, b) = (Dedupe::new(Some(shared.clone())), Dedupe::new(Some(shared)));
        assert!(a.first_delivery("e1").await);
        assert!(!b.first_delivery("e1").await, "another replica saw it");
        let down = Dedupe::new(Some(Arc::new(Seen(Mutex::new(Vec::new()), true))));
        assert!(down.first_delivery("e1").await);
        assert!(!down.first_delivery("e1").await);
    }
}
