//! Notion integration webhooks sent by the fake: subscriptions, the events that API writes emit,
//! their signature (`X-Notion-Signature: sha256=<HMAC-SHA256 of the body>`), the one-time
//! verification request, and delivery behaviour for tests (delay, duplicates, reordering, loss,
//! retries with `attempt_number`), with a log of every delivery attempt.
//!
//! ```no_run
//! # async fn demo() -> anyhow::Result<()> {
//! use notion_fake::{FakeNotion, Fixture, WebhookSubscription};
//! let running = FakeNotion::start(Fixture::sample()).await?;
//! running.subscribe_webhooks(WebhookSubscription::new(
//!     "http://127.0.0.1:8080/webhooks/notion",
//!     "secret_test_token",
//! ));
//! // ... API writes through running.base_url() ...
//! running.webhooks_idle().await;
//! let log = running.webhook_deliveries();
//! # let _ = log; Ok(()) }
//! ```

pub mod changes;
mod delivery;
mod events;

use std::sync::Arc;
use std::time::Duration;

use hmac::{Hmac, Mac};
use sha2::Sha256;
use uuid::Uuid;

pub use changes::{Change, PropAction, PropChange};
pub(crate) use delivery::Hub;

use crate::state::State;
use crate::{FakeNotion, lock};

/// The subscription API version the fake uses unless told otherwise.
pub const DEFAULT_API_VERSION: &str = "2025-09-03";

/// `X-Notion-Signature` for `body`: `sha256=` and the lowercase hex HMAC-SHA256 of the exact
/// bytes, keyed by the subscription's verification token (`secret_` prefix included).
pub fn sign(token: &str, body: &[u8]) -> String {
    // HMAC accepts keys of any length, so this never takes the `else` branch.
    let Ok(mut mac) = Hmac::<Sha256>::new_from_slice(token.as_bytes()) else {
        return "sha256=".to_string();
    };
    mac.update(body);
    let digest = mac.finalize().into_bytes();
    let mut out = String::with_capacity(7 + 2 * digest.len());
    out.push_str("sha256=");
    for byte in digest {
        out.push_str(&format!("{byte:02x}"));
    }
    out
}

/// Who made a change, as named in an event's `authors`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Author {
    /// An integration's bot (every write made through the API).
    Bot(Uuid),
    /// A workspace member (for changes a test makes "in the app").
    Person(Uuid),
}

/// A webhook subscription of the fake and how its deliveries behave.
#[derive(Debug, Clone)]
pub struct WebhookSubscription {
    /// Receiver URL (`http://` only), e.g. `http://127.0.0.1:PORT/webhooks/notion`.
    pub url: String,
    /// `secret_…`: sent in the verification request and the HMAC key of every signature.
    pub verification_token: String,
    /// Payload shape: `2025-09-03` (default) or later, or `2022-06-28` for the older
    /// `database.content_updated` / `database.schema_updated` events without `data_source_id`.
    pub api_version: String,
    pub subscription_id: Uuid,
    pub integration_id: Uuid,
    /// Wait before the first attempt of each event.
    pub delay: Duration,
    /// Deliver every acknowledged event a second time: same `id`, next `attempt_number`.
    pub duplicate: bool,
    /// Deliver the events of each `reorder_window` in reverse order.
    pub reorder: bool,
    pub reorder_window: Duration,
    /// Probability (0..1) that an event is silently dropped, drawn from an RNG seeded by `seed`.
    pub loss: f64,
    pub seed: u64,
    /// Backoff before attempt n ≥ 2 is `retry_base × 2^(n-2)`.
    pub retry_base: Duration,
    /// Attempts in total per event (Notion: 8).
    pub max_attempts: u32,
    /// How long one attempt may take before it counts as failed.
    pub timeout: Duration,
}

impl WebhookSubscription {
    /// A subscription with the defaults: API version 2025-09-03, no delay, duplicates,
    /// reordering or loss, 8 attempts with a 50 ms backoff base, 5 s per attempt. Its ids derive
    /// from the token, so they stay the same across restarts.
    pub fn new(url: impl Into<String>, verification_token: impl Into<String>) -> Self {
        let verification_token = verification_token.into();
        Self {
            url: url.into(),
            subscription_id: crate::stable_id(&format!(
                "webhook-subscription:{verification_token}"
            )),
            integration_id: crate::stable_id(&format!("webhook-integration:{verification_token}")),
            verification_token,
            api_version: DEFAULT_API_VERSION.to_string(),
            delay: Duration::ZERO,
            duplicate: false,
            reorder: false,
            reorder_window: Duration::from_millis(100),
            loss: 0.0,
            seed: 0,
            retry_base: Duration::from_millis(50),
            max_attempts: 8,
            timeout: Duration::from_secs(5),
        }
    }

    pub fn api_version(mut self, version: impl Into<String>) -> Self {
        self.api_version = version.into();
        self
    }

    pub fn delay(mut self, delay: Duration) -> Self {
        self.delay = delay;
        self
    }

    pub fn duplicate(mut self, on: bool) -> Self {
        self.duplicate = on;
        self
    }

    pub fn reorder(mut self, on: bool) -> Self {
        self.reorder = on;
        self
    }

    pub fn reorder_window(mut self, window: Duration) -> Self {
        self.reorder_window = window;
        self
    }

    /// Drop each event with probability `probability`, reproducibly for a given `seed`.
    pub fn loss(mut self, probability: f64, seed: u64) -> Self {
        self.loss = probability;
        self.seed = seed;
        self
    }

    pub fn retry_base(mut self, base: Duration) -> Self {
        self.retry_base = base;
        self
    }

    pub fn max_attempts(mut self, attempts: u32) -> Self {
        self.max_attempts = attempts.max(1);
        self
    }

    pub fn timeout(mut self, timeout: Duration) -> Self {
        self.timeout = timeout;
        self
    }

    /// Whether payloads use the shapes from before 2025-09-03.
    pub(crate) fn legacy(&self) -> bool {
        self.api_version.as_str() < DEFAULT_API_VERSION
    }
}

/// One delivery attempt (or one dropped event) in [`FakeNotion::webhook_deliveries`].
#[derive(Debug, Clone, PartialEq)]
pub struct WebhookDelivery {
    pub subscription_id: Uuid,
    /// The event's `id`; `None` for the verification request.
    pub event_id: Option<Uuid>,
    /// The event's `type`, or `verification` for the verification request.
    pub event_type: String,
    /// `entity.id` (`None` for the verification request).
    pub entity_id: Option<Uuid>,
    /// `attempt_number` sent (0 for a dropped event).
    pub attempt: u32,
    /// Status the receiver answered; `None` when it could not be reached, timed out, or the
    /// event was dropped.
    pub status: Option<u16>,
    /// Dropped by `loss` or [`FakeNotion::drop_next_webhooks`]: never sent.
    pub dropped: bool,
}

impl FakeNotion {
    /// Adds a subscription: from now on every write through the API sends its events there.
    /// Returns the subscription id.
    pub fn subscribe_webhooks(&self, subscription: WebhookSubscription) -> Uuid {
        let id = subscription.subscription_id;
        lock(&self.inner.webhooks.subs).push(Arc::new(delivery::Sub::new(subscription)));
        id
    }

    /// Removes every subscription; queued events and pending retries are abandoned.
    pub fn unsubscribe_webhooks(&self) {
        let subs = std::mem::take(&mut *lock(&self.inner.webhooks.subs));
        for sub in subs {
            sub.cancel();
        }
    }

    /// Drops the next `n` events (of any subscription) without sending them.
    pub fn drop_next_webhooks(&self, n: usize) {
        *lock(&self.inner.webhooks.drop_next) += n;
    }

    /// Sends each subscription's one-time verification request,
    /// `{"verification_token":"secret_…"}`, signed like every delivery.
    pub fn send_webhook_verification(&self) {
        let subs = lock(&self.inner.webhooks.subs).clone();
        for sub in subs {
            self.enqueue(&sub, delivery::Payload::Verification);
        }
    }

    /// Sends the events of `changes` as if `author` had made them (e.g. a person editing in the
    /// app after a test changed the model with [`FakeNotion::with_state`]).
    pub fn emit_webhook_changes(&self, author: Author, changes: &[Change]) {
        let state = lock(&self.inner.state);
        self.emit(&state, author, changes);
    }

    /// Waits until every API request has been handled and every event delivered, given up or
    /// dropped (retries included).
    pub async fn webhooks_idle(&self) {
        self.idle().await;
        let mut rx = self.inner.webhooks.pending.subscribe();
        let _ = rx.wait_for(|n| *n == 0).await;
    }

    /// Every delivery attempt so far, oldest first.
    pub fn webhook_deliveries(&self) -> Vec<WebhookDelivery> {
        lock(&self.inner.webhooks.log).clone()
    }

    /// Queues the events of one request's changes for every subscription.
    pub(crate) fn emit(&self, state: &State, author: Author, changes: &[Change]) {
        if changes.is_empty() {
            return;
        }
        let subs = lock(&self.inner.webhooks.subs).clone();
        if subs.is_empty() {
            return;
        }
        let timestamp = delivery::now_rfc3339();
        for sub in subs {
            for draft in events::drafts(state, changes, sub.config.legacy()) {
                let env = events::envelope(state, &draft, &sub.config, author, &timestamp);
                self.enqueue(&sub, delivery::Payload::Event(env));
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn signature_matches_notions_sample() {
        let token = "secret_tMrlL1qK5vuQAh1b6cZGhFChZTSYJlce98V0pYn7yBl";
        let body = format!(r#"{{"verification_token":"{token}"}}"#);
        assert_eq!(
            sign(token, body.as_bytes()),
            "sha256=461e8cbcba8a75c3edd866f0e71280f5a85cbf21eff040ebd10fe266df38a735"
        );
    }

    #[test]
    fn older_versions_are_legacy() {
        let sub = WebhookSubscription::new("http://127.0.0.1:1/", "secret_x");
        assert!(!sub.legacy());
        assert!(sub.clone().api_version("2022-06-28").legacy());
        assert!(!sub.api_version("2026-03-11").legacy());
    }
}
