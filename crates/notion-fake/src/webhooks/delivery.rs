//! Webhook delivery: one queue and background worker per subscription, signed HTTP/1 POSTs, the
//! test behaviours (delay, duplicates, reordering, loss), retries with exponential backoff, the
//! delivery log and the pending count behind [`FakeNotion::webhooks_idle`].

use std::collections::VecDeque;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use hyper_util::rt::TokioIo;
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use serde_json::{Map, Value, json};
use tokio::sync::watch;

use super::{WebhookDelivery, WebhookSubscription, sign};
use crate::ids::parse_id;
use crate::{FakeNotion, lock};

/// Webhook state shared by all clones of a fake.
pub(crate) struct Hub {
    pub(crate) subs: Mutex<Vec<Arc<Sub>>>,
    pub(crate) drop_next: Mutex<usize>,
    pub(crate) log: Mutex<Vec<WebhookDelivery>>,
    /// Events queued, being sent or waiting for a retry.
    pub(crate) pending: Arc<watch::Sender<usize>>,
}

impl Default for Hub {
    fn default() -> Self {
        Self {
            subs: Mutex::new(Vec::new()),
            drop_next: Mutex::new(0),
            log: Mutex::new(Vec::new()),
            pending: Arc::new(watch::Sender::new(0)),
        }
    }
}

/// A subscription with its queue.
pub(crate) struct Sub {
    pub(crate) config: WebhookSubscription,
    queue: Mutex<Queue>,
    cancelled: watch::Sender<bool>,
}

struct Queue {
    items: VecDeque<Outgoing>,
    /// A worker is draining `items`.
    running: bool,
    rng: StdRng,
}

impl Sub {
    pub(crate) fn new(config: WebhookSubscription) -> Self {
        let rng = StdRng::seed_from_u64(config.seed);
        Self {
            config,
            queue: Mutex::new(Queue {
                items: VecDeque::new(),
                running: false,
                rng,
            }),
            cancelled: watch::Sender::new(false),
        }
    }

    /// Stops its worker and retries and forgets what is queued.
    pub(crate) fn cancel(&self) {
        self.cancelled.send_replace(true);
        lock(&self.queue).items.clear();
    }

    fn is_cancelled(&self) -> bool {
        *self.cancelled.borrow()
    }
}

/// What a delivery sends.
pub(crate) enum Payload {
    /// An event envelope; each attempt sets its own `attempt_number`.
    Event(Map<String, Value>),
    /// `{"verification_token":"…"}`.
    Verification,
}

/// One event (or verification request) on its way; dropping it ends its pending count.
struct Outgoing {
    payload: Payload,
    queued_at: Instant,
    _pending: Pending,
}

impl Outgoing {
    fn log_entry(&self, sub: &Sub, attempt: u32, status: Option<u16>) -> WebhookDelivery {
        let (event_id, event_type, entity_id) = match &self.payload {
            Payload::Event(env) => (
                env.get("id").and_then(Value::as_str).and_then(parse_id),
                env.get("type")
                    .and_then(Value::as_str)
                    .unwrap_or_default()
                    .to_string(),
                env.get("entity")
                    .and_then(|e| e.get("id"))
                    .and_then(Value::as_str)
                    .and_then(parse_id),
            ),
            Payload::Verification => (None, "verification".to_string(), None),
        };
        WebhookDelivery {
            subscription_id: sub.config.subscription_id,
            event_id,
            event_type,
            entity_id,
            attempt,
            status,
            dropped: false,
        }
    }

    /// The exact bytes of one attempt.
    fn body(&mut self, token: &str, attempt: u32) -> Vec<u8> {
        match &mut self.payload {
            Payload::Event(env) => {
                env.insert("attempt_number".into(), json!(attempt));
                serde_json::to_vec(env).unwrap_or_default()
            }
            Payload::Verification => {
                serde_json::to_vec(&json!({"verification_token": token})).unwrap_or_default()
            }
        }
    }
}

/// Counts one event as pending from creation until dropped.
struct Pending(Arc<watch::Sender<usize>>);

impl Pending {
    fn new(count: &Arc<watch::Sender<usize>>) -> Self {
        count.send_modify(|n| *n += 1);
        Self(count.clone())
    }
}

impl Drop for Pending {
    fn drop(&mut self) {
        self.0.send_modify(|n| *n = n.saturating_sub(1));
    }
}

/// `timestamp` of events: now, RFC 3339 in UTC with milliseconds.
pub(crate) fn now_rfc3339() -> String {
    let fmt = time::macros::format_description!(
        "[year]-[month]-[day]T[hour]:[minute]:[second].[subsecond digits:3]Z"
    );
    time::OffsetDateTime::now_utc()
        .format(&fmt)
        .unwrap_or_default()
}

impl FakeNotion {
    /// Queues a delivery (events may be dropped by `loss` or `drop_next_webhooks`) and makes sure
    /// a worker drains the queue.
    pub(super) fn enqueue(&self, sub: &Arc<Sub>, payload: Payload) {
        let outgoing = Outgoing {
            payload,
            queued_at: Instant::now(),
            _pending: Pending::new(&self.inner.webhooks.pending),
        };
        if matches!(outgoing.payload, Payload::Event(_)) && self.should_drop(sub) {
            let mut entry = outgoing.log_entry(sub, 0, None);
            entry.dropped = true;
            lock(&self.inner.webhooks.log).push(entry);
            return;
        }
        let mut queue = lock(&sub.queue);
        if sub.is_cancelled() {
            return;
        }
        queue.items.push_back(outgoing);
        if queue.running {
            return;
        }
        match tokio::runtime::Handle::try_current() {
            Ok(runtime) => {
                queue.running = true;
                runtime.spawn(run(self.clone(), sub.clone()));
            }
            Err(_) => {
                tracing::warn!("webhook events need a tokio runtime; dropping them");
                queue.items.clear();
            }
        }
    }

    fn should_drop(&self, sub: &Sub) -> bool {
        let loss = sub.config.loss;
        let roll: f64 = lock(&sub.queue).rng.random();
        let mut next = lock(&self.inner.webhooks.drop_next);
        if *next > 0 {
            *next -= 1;
            return true;
        }
        roll < loss
    }

    fn log_delivery(&self, entry: WebhookDelivery) {
        lock(&self.inner.webhooks.log).push(entry);
    }
}

/// `at + wait`, capped at a year (huge settings must not overflow).
fn later(at: Instant, wait: Duration) -> Instant {
    const YEAR: Duration = Duration::from_secs(365 * 24 * 3600);
    at.checked_add(wait.min(YEAR)).unwrap_or(at)
}

/// Sleeps until `at`; `false` when the subscription was cancelled meanwhile.
async fn sleep_until(at: Instant, cancelled: &mut watch::Receiver<bool>) -> bool {
    let slept = tokio::select! {
        _ = tokio::time::sleep_until(at.into()) => true,
        _ = cancelled.wait_for(|c| *c) => false,
    };
    slept && !*cancelled.borrow()
}

/// Drains a subscription's queue in order (or each reorder window in reverse order).
async fn run(fake: FakeNotion, sub: Arc<Sub>) {
    let mut cancelled = sub.cancelled.subscribe();
    loop {
        let first = {
            let mut queue = lock(&sub.queue);
            match queue.items.front() {
                Some(o) => o.queued_at,
                None => {
                    queue.running = false;
                    return;
                }
            }
        };
        let batch: Vec<Outgoing> = if sub.config.reorder {
            let cut = later(first, sub.config.reorder_window);
            if !sleep_until(cut, &mut cancelled).await {
                return;
            }
            let mut queue = lock(&sub.queue);
            let mut batch = Vec::new();
            while queue.items.front().is_some_and(|o| o.queued_at <= cut) {
                batch.extend(queue.items.pop_front());
            }
            batch.reverse();
            batch
        } else {
            lock(&sub.queue).items.pop_front().into_iter().collect()
        };
        for item in batch {
            if !sleep_until(later(item.queued_at, sub.config.delay), &mut cancelled).await {
                return;
            }
            first_attempt(&fake, &sub, item).await;
        }
    }
}

/// Sends attempt 1 (and its duplicate); a failure hands the event to a retry task so the events
/// after it are not held up.
async fn first_attempt(fake: &FakeNotion, sub: &Arc<Sub>, mut item: Outgoing) {
    if attempt(fake, sub, &mut item, 1).await {
        return;
    }
    if sub.config.max_attempts > 1 {
        tokio::spawn(retry(fake.clone(), sub.clone(), item));
    }
}

async fn retry(fake: FakeNotion, sub: Arc<Sub>, mut item: Outgoing) {
    let mut cancelled = sub.cancelled.subscribe();
    for n in 2..=sub.config.max_attempts {
        let backoff = sub.config.retry_base.saturating_mul(1 << (n - 2).min(20));
        if !sleep_until(later(Instant::now(), backoff), &mut cancelled).await {
            return;
        }
        if attempt(&fake, &sub, &mut item, n).await {
            return;
        }
    }
}

/// One attempt (plus the duplicate copy when it succeeds); whether the receiver acknowledged.
async fn attempt(fake: &FakeNotion, sub: &Sub, item: &mut Outgoing, n: u32) -> bool {
    let status = send(sub, item, n).await;
    fake.log_delivery(item.log_entry(sub, n, status));
    let ok = status.is_some_and(|s| (200..300).contains(&s));
    let event = matches!(item.payload, Payload::Event(_));
    if ok && sub.config.duplicate && event && n < sub.config.max_attempts {
        let status = send(sub, item, n + 1).await;
        fake.log_delivery(item.log_entry(sub, n + 1, status));
    }
    ok
}

/// Posts one attempt, unless the subscription is cancelled first (then `None`).
async fn send(sub: &Sub, item: &mut Outgoing, n: u32) -> Option<u16> {
    let token = &sub.config.verification_token;
    let body = item.body(token, n);
    let signature = sign(token, &body);
    let mut cancelled = sub.cancelled.subscribe();
    if *cancelled.borrow() {
        return None;
    }
    tokio::select! {
        r = tokio::time::timeout(sub.config.timeout, post(&sub.config.url, &signature, body)) => {
            r.ok().flatten()
        }
        _ = cancelled.wait_for(|c| *c) => None,
    }
}

/// A signed JSON POST over HTTP/1.1; the status answered, or `None` when unreachable.
async fn post(url: &str, signature: &str, body: Vec<u8>) -> Option<u16> {
    let url = url::Url::parse(url).ok().filter(|u| u.scheme() == "http")?;
    let host = match url.host()? {
        url::Host::Domain(d) => d.to_string(),
        url::Host::Ipv4(a) => a.to_string(),
        url::Host::Ipv6(a) => a.to_string(),
    };
    let port = url.port_or_known_default()?;
    let stream = tokio::net::TcpStream::connect((host.as_str(), port))
        .await
        .ok()?;
    let (mut sender, connection) = hyper::client::conn::http1::handshake(TokioIo::new(stream))
        .await
        .ok()?;
    let connection = AbortOnDrop(tokio::spawn(connection));
    let authority = &url[url::Position::BeforeHost..url::Position::AfterPort];
    let path = &url[url::Position::BeforePath..url::Position::AfterQuery];
    let request = http::Request::post(path)
        .header(http::header::HOST, authority)
        .header(http::header::CONTENT_TYPE, "application/json")
        .header(http::header::USER_AGENT, "notion-fake-webhooks")
        .header(http::header::CONNECTION, "close")
        .header("x-notion-signature", signature)
        .body(Full::new(Bytes::from(body)))
        .ok()?;
    let response = sender.send_request(request).await.ok()?;
    let status = response.status().as_u16();
    let _ = response.into_body().collect().await;
    drop(connection);
    Some(status)
}

/// Aborts a spawned task when dropped.
struct AbortOnDrop(tokio::task::JoinHandle<Result<(), hyper::Error>>);

impl Drop for AbortOnDrop {
    fn drop(&mut self) {
        self.0.abort();
    }
}
