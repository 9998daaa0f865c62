//! Liveness, readiness and the Prometheus endpoint.
//!
//! `/healthz` answers while the process serves HTTP. `/readyz` answers 200 only when the configuration
//! was valid, the grant store (when one is configured) is reachable and the server is not draining
//! for shutdown, so Kubernetes stops routing to a pod before it exits. The store is probed at most
//! every few seconds (the answer is cached) and each probe is bounded, so probes never pile up on a
//! slow API server.

use crate::metrics::Metrics;
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
    /// The last probe: when, and its error if it failed.
    last: tokio::sync::Mutex<Option<(Instant, Result<(), String>)>>,
}

impl Health {
    /// Readiness that also checks `store`.
    pub fn with_store(store: Option<Store>) -> Self {
        Health {
            store,
            ..Health::default()
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
    match health.store_check().await {
        None => Json(json!({"status": "ready", "checks": {"config": "ok", "store": "not used"}}))
            .into_response(),
        Some(Ok(())) => Json(json!({"status": "ready", "checks": {"config": "ok", "store": "ok"}}))
            .into_response(),
        Some(Err(e)) => (
            StatusCode::SERVICE_UNAVAILABLE,
            Json(json!({"status": "not ready", "checks": {"config": "ok", "store": format!("unreachable: {e}")}})),
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
