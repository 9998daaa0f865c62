//! A backend that counts its failures: `notion_mcp_grant_store_errors_total{op, error}` says when the
//! grant store cannot be read or written (the API server or disk is away, a record cannot be opened),
//! which an alert can watch. Ordinary outcomes (not found, already exists, a conflict that the store
//! retries) are not failures.

use super::{Backend, Entry, Kind, NewEntry, StoreError, Version};
use crate::metrics::Metrics;
use async_trait::async_trait;
use prometheus::IntCounterVec;
use std::sync::Arc;

/// `inner`, with its failures counted.
pub struct Instrumented {
    inner: Arc<dyn Backend>,
    errors: IntCounterVec,
}

impl Instrumented {
    pub fn new(inner: Arc<dyn Backend>, metrics: &Metrics) -> Self {
        let errors = metrics.grant_store_errors();
        Instrumented { inner, errors }
    }

    /// The counter, for errors found above the backend (records that cannot be opened).
    pub fn errors(&self) -> IntCounterVec {
        self.errors.clone()
    }

    fn count<T>(&self, op: &str, result: Result<T, StoreError>) -> Result<T, StoreError> {
        if let Err(e) = &result {
            let error = match e {
                StoreError::Unavailable(_) => Some("unavailable"),
                StoreError::Sealed { .. } => Some("sealed"),
                StoreError::Corrupt { .. } => Some("corrupt"),
                _ => None,
            };
            if let Some(error) = error {
                self.errors.with_label_values(&[op, error]).inc();
            }
        }
        result
    }
}

#[async_trait]
impl Backend for Instrumented {
    fn name(&self) -> &'static str {
        self.inner.name()
    }
    async fn get(&self, kind: Kind, key: &str) -> Result<Option<Entry>, StoreError> {
        self.count("get", self.inner.get(kind, key).await)
    }
    async fn get_fresh(&self, kind: Kind, key: &str) -> Result<Option<Entry>, StoreError> {
        self.count("get", self.inner.get_fresh(kind, key).await)
    }
    async fn create(&self, kind: Kind, key: &str, entry: NewEntry) -> Result<Version, StoreError> {
        self.count("create", self.inner.create(kind, key, entry).await)
    }
    async fn replace(
        &self,
        kind: Kind,
        key: &str,
        entry: NewEntry,
        expected: &Version,
    ) -> Result<Version, StoreError> {
        self.count(
            "replace",
            self.inner.replace(kind, key, entry, expected).await,
        )
    }
    async fn delete(
        &self,
        kind: Kind,
        key: &str,
        expected: Option<&Version>,
    ) -> Result<bool, StoreError> {
        self.count("delete", self.inner.delete(kind, key, expected).await)
    }
    async fn list(&self, kind: Kind) -> Result<Vec<(String, Entry)>, StoreError> {
        self.count("list", self.inner.list(kind).await)
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;
    use crate::store::memory::Unreachable;
    use crate::store::records::Consent;
    use crate::store::{KeyRing, Store};

    #[tokio::test]
    async fn failures_are_counted_and_ordinary_outcomes_are_not() {
        let metrics = Metrics::new();
        let down = Store::new(
            Arc::new(Unreachable::default()),
            Arc::new(KeyRing::random()),
        )
        .instrumented(&metrics);
        assert!(down.get::<Consent>("k").await.is_err());
        assert!(down.list::<Consent>().await.is_err());
        let text = metrics.render();
        assert!(
            text.contains(
                "notion_mcp_grant_store_errors_total{error=\"unavailable\",op=\"get\"} 1"
            ),
            "{text}"
        );
        assert!(
            text.contains(
                "notion_mcp_grant_store_errors_total{error=\"unavailable\",op=\"list\"} 1"
            )
        );

        let metrics = Metrics::new();
        let up = Store::in_memory().instrumented(&metrics);
        assert!(up.get::<Consent>("missing").await.unwrap().is_none());
        assert!(!metrics.render().contains("grant_store_errors_total{"));
    }
}
