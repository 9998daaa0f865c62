//! Liveness, readiness and the Prometheus endpoint.
//!
//! `/healthz` answers while the process serves HTTP. `/readyz` answers 200 only when the configuration
//! was valid, the grant store (when one is configured) is reachable and the server is not draining
//! for shutdown, so Kubernetes stops routing to a pod before it exits.

use crate::metrics::Metrics;
use axum::Json;
use axum::extract::State;
use axum::response::{IntoResponse, Response};
use http::{StatusCode, header};
use serde_json::json;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

/// Readiness state shared with the shutdown path.
#[derive(Debug, Default)]
pub struct Health {
    draining: AtomicBool,
}

impl Health {
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
    Json(json!({"status": "ready", "checks": {"config": "ok", "store": "not used"}}))
        .into_response()
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
