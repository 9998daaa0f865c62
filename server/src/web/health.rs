//! Liveness, readiness and the Prometheus endpoint.
//!
//! `/healthz` answers while the process serves HTTP. `/readyz` answers 200 only when the configuration
//! was valid, the grant store (when one is configured) is reachable and the server is not draining
//! for shutdown, so Kubernetes stops routing to a pod before it exits. The store is probed at most
//! every few seconds (the answer is cached) and each probe is bounded, so probes never pile up on a
//! slow API server.

use crate::metrics::Metrics;
use crate::shared::SharedState;
use crate::store::Store;
use axum::Json;
use axum::extract::State;
use axum::response::{IntoResponse, Response};
use http::{StatusCode, header};
use serde_json::json;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

/// How long a store probe's answer is reused.
const PROBE_EVERY: Duration = Duration::from_secs(5);
/// Longest a store probe may take before the store counts as unreachable.
const PROBE_TIMEOUT: Duration = Duration::from_secs(2);

/// Readiness state shared with the shutdown path.
#[derive(Debug, Default)]
pub struct Health {
    draining: AtomicBool,
    store: Option<Store>,
    /// Reported, never a condition: tool calls go on with local pacing while Redis is away.
    shared: Option<SharedState>,
    /// The last probe: when, and its error if it failed.
    last: tokio::sync::Mutex<Option<(Instant, Result<(), String>)>>,
}

impl Health {
    /// Readiness that also checks `store` and reports `shared`.
    pub fn new(store: Option<Store>, shared: Option<SharedState>) -> Self {
        Health {
            store,
            shared,
            ..Health::default()
        }
    }

    /// `ok`, `degraded: …` or `not used`.
    fn redis_check(&self) -> &'static str {
        match &self.shared {
            None => "not used",
            Some(s) if s.is_degraded() => {
                "degraded: pacing locally at 1/N, cache not trusted until it is back"
            }
            Some(_) => "ok",
        }
    }

    /// The store's state: `None` when no store is used, else the (cached) probe's outcome.
    async fn store_check(&self) -> Option<Result<(), String>> {
        let store = self.store.as_ref()?;
        let mut last = self.last.lock().await;
        if let Some((at, outcome)) = &*last
            && at.elapsed() < PROBE_EVERY
        {
            return Some(outcome.clone());
        }
        let outcome = match tokio::time::timeout(PROBE_TIMEOUT, store.probe()).await {
            Ok(Ok(())) => Ok(()),
            Ok(Err(e)) => Err(e.to_string()),
            Err(_) => Err(format!("no answer within {} s", PROBE_TIMEOUT.as_secs())),
        };
        if let Err(e) = &outcome {
            tracing::warn!(backend = store.backend_name(), error = %e, "grant store unreachable: not ready");
        }
        *last = Some((Instant::now(), outcome.clone()));
        Some(outcome)
    }

    pub fn start_draining(&self) {
        self.draining.store(true, Ordering::SeqCst);
    }
    pub fn is_draining(&self) -> bool {
        self.draining.load(Ordering::SeqCst)
    }
}

pub async fn healthz() -> Response {
    Json(json!({"status": "ok"})).into_response()
}

pub async fn readyz(State(health): State<Arc<Health>>) -> Response {
    if health.is_draining() {
        return (StatusCode::SERVICE_UNAVAILABLE, Json(json!({"status": "draining", "checks": {"config": "ok", "shutdown": "in progress"}})))
            .into_response();
    }
    // The configuration was validated at start-up (the process does not start otherwise). No grant
    // store is used in token pass-through modes.
    let redis = health.redis_check();
    match health.store_check().await {
        None => Json(json!({"status": "ready", "checks": {"config": "ok", "store": "not used", "redis": redis}}))
            .into_response(),
        Some(Ok(())) => Json(json!({"status": "ready", "checks": {"config": "ok", "store": "ok", "redis": redis}}))
            .into_response(),
        Some(Err(e)) => (
            StatusCode::SERVICE_UNAVAILABLE,
            Json(json!({"status": "not ready", "checks": {"config": "ok", "store": format!("unreachable: {e}"), "redis": redis}})),
        )
            .into_response(),
    }
}

pub async fn metrics(State(metrics): State<Metrics>) -> Response {
    (
        [(
            header::CONTENT_TYPE,
            "text/plain; version=0.0.4; charset=utf-8",
        )],
        metrics.render(),
    )
        .into_response()
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;
    use crate::store::KeyRing;
    use crate::store::memory::Unreachable;

    async fn body(r: Response) -> (u16, serde_json::Value) {
        let status = r.status().as_u16();
        let bytes = axum::body::to_bytes(r.into_body(), 1 << 16).await.unwrap();
        (status, serde_json::from_slice(&bytes).unwrap())
    }

    #[tokio::test]
    async fn an_unreachable_store_is_not_ready_and_probes_are_cached() {
        let down = Arc::new(Unreachable::default());
        let store = Store::new(down.clone(), Arc::new(KeyRing::random()));
        let health = Arc::new(Health::new(Some(store), None));
        let (status, v) = body(readyz(State(health.clone())).await).await;
        assert_eq!(status, 503);
        assert!(
            v["checks"]["store"]
                .as_str()
                .unwrap()
                .contains("connection refused"),
            "{v}"
        );
        assert_eq!(v["checks"]["redis"], "not used");
        for _ in 0..10 {
            body(readyz(State(health.clone())).await).await;
        }
        assert_eq!(down.calls(), 1, "probes were not cached");
    }

    #[tokio::test]
    async fn a_reachable_store_is_ready_and_draining_is_not() {
        let health = Arc::new(Health::new(Some(Store::in_memory()), None));
        let (status, v) = body(readyz(State(health.clone())).await).await;
        assert_eq!((status, v["checks"]["store"].as_str()), (200, Some("ok")));
        health.start_draining();
        assert_eq!(body(readyz(State(health)).await).await.0, 503);
    }
}
