//! The Notion webhook receiver at `POST /webhooks/notion`: checks the signature before anything
//! else, answers at once, and turns each new event into cache invalidations (never a Notion call).
//!
//! - A delivery must be signed with a configured verification token (401 otherwise, counted, logged
//!   without the body); malformed JSON is 400; bodies over 256 KiB are 413.
//! - Notion's one-time verification request (`{"verification_token": …}`) is answered 200 and its
//!   token kept, sealed, in the grant store for `notion-mcp-remote webhooks pending`; it never becomes
//!   a signing key by itself.
//! - Events are deduplicated by `id` for 25 hours (Notion retries for about 24), across replicas
//!   when shared state is configured.

pub mod dedupe;
pub mod events;
pub mod pending;
pub mod signature;

use crate::cache::{ReadCache, Source};
use crate::metrics::Metrics;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use bytes::Bytes;
use prometheus::{IntCounterVec, Opts};
use std::sync::Arc;

/// Largest delivery accepted (Notion's events are a few KiB).
pub const MAX_BODY_BYTES: usize = 256 * 1024;

/// The receiver's state.
pub struct WebhookReceiver {
    tokens: Vec<String>,
    cache: Arc<ReadCache>,
    dedupe: dedupe::Dedupe,
    pending: pending::PendingTokens,
    events: IntCounterVec,
    refused: IntCounterVec,
    /// Told which pages events name (read again or dropped later, by its worker).
    content: Option<Arc<crate::content_index::ContentIndex>>,
}

impl std::fmt::Debug for WebhookReceiver {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("WebhookReceiver")
            .field("tokens", &self.tokens.len())
            .finish_non_exhaustive()
    }
}

impl WebhookReceiver {
    pub fn new(
        tokens: Vec<String>,
        cache: Arc<ReadCache>,
        dedupe: dedupe::Dedupe,
        pending: pending::PendingTokens,
        metrics: &Metrics,
    ) -> Self {
        let counter = |name: &str, help: &str, labels: &[&str]| {
            metrics.register(
                IntCounterVec::new(Opts::new(name, help), labels)
                    .expect("static metric definition"),
            )
        };
        WebhookReceiver {
            tokens,
            cache,
            dedupe,
            pending,
            events: counter(
                "webhook_events_total",
                "Notion webhook deliveries, by event type (known types, or 'other') and outcome: \
                 applied (cache invalidated), duplicate (an id seen before), ignored (a type this \
                 server does not know), verification (a subscription's verification request).",
                &["type", "outcome"],
            ),
            refused: counter(
                "webhook_signature_failures_total",
                "Webhook deliveries refused for their signature, by reason (missing, malformed, \
                 mismatch, no_token).",
                &["reason"],
            ),
            content: None,
        }
    }

    /// Also hand events to the content index.
    pub fn with_content_index(
        mut self,
        index: Option<Arc<crate::content_index::ContentIndex>>,
    ) -> Self {
        self.content = index;
        self
    }

    /// Whether a subscription is configured (the cache may then keep entries until events).
    pub fn is_configured(&self) -> bool {
        !self.tokens.is_empty()
    }
}

fn answer(status: StatusCode, error: &str, message: &str) -> Response {
    let body = serde_json::json!({ "error": error, "message": message });
    (status, axum::Json(body)).into_response()
}

/// A verification request: a small JSON object whose only key is `verification_token`.
fn verification_token(body: &[u8]) -> Option<String> {
    if body.len() > 1024 {
        return None;
    }
    let value: serde_json::Map<String, serde_json::Value> = serde_json::from_slice(body).ok()?;
    if value.len() != 1 {
        return None;
    }
    value
        .get("verification_token")?
        .as_str()
        .filter(|t| !t.trim().is_empty() && t.len() <= 256)
        .map(str::to_owned)
}

/// `POST /webhooks/notion`.
pub async fn receive(
    State(rx): State<Arc<WebhookReceiver>>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let header = headers
        .get("x-notion-signature")
        .map(axum::http::HeaderValue::as_bytes);
    // The signature is checked first, in constant time; only then is anything parsed.
    let signed = signature::verify(&rx.tokens, &body, header);
    // Notion's verification request, signed or not (its key is the token it carries).
    if let Some(token) = verification_token(&body) {
        rx.events
            .with_label_values(&["verification", "verification"])
            .inc();
        rx.pending.received(token).await;
        return StatusCode::OK.into_response();
    }
    if let Err(refused) = signed {
        rx.refused.with_label_values(&[refused.reason()]).inc();
        tracing::warn!(
            reason = refused.reason(),
            bytes = body.len(),
            "webhook delivery refused: {refused}"
        );
        return answer(
            StatusCode::UNAUTHORIZED,
            "invalid_signature",
            &refused.to_string(),
        );
    }
    let event: events::Event = match serde_json::from_slice(&body) {
        Ok(e) => e,
        Err(e) => {
            tracing::warn!(error = %e, "webhook delivery is not a Notion event");
            return answer(
                StatusCode::BAD_REQUEST,
                "invalid_event",
                &format!("the body is not a Notion webhook event: {e}"),
            );
        }
    };
    let label = events::label(&event.kind);
    if !rx.dedupe.first_delivery(&event.id).await {
        rx.events.with_label_values(&[label, "duplicate"]).inc();
        tracing::debug!(id = %event.id, kind = %event.kind, "duplicate webhook event");
        return StatusCode::OK.into_response();
    }
    if let Some(index) = &rx.content {
        index.on_event(&event);
    }
    match events::plan(&event) {
        Some(plan) => {
            rx.cache.apply(&plan, Source::Webhook);
            rx.events.with_label_values(&[label, "applied"]).inc();
            tracing::debug!(
                id = %event.id,
                kind = %event.kind,
                attempt = event.attempt_number.unwrap_or(1),
                invalidations = plan.len(),
                "webhook event applied"
            );
        }
        None => {
            rx.events.with_label_values(&[label, "ignored"]).inc();
            tracing::info!(kind = %event.kind, "webhook event of an unknown type accepted");
        }
    }
    StatusCode::OK.into_response()
}
