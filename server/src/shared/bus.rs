//! Invalidation fan-out between replicas: one Redis pub/sub channel, `notion-mcp:invalidate`.
//!
//! A dedicated subscriber connection (pub/sub needs its own) relays every message to the process's
//! [`BusEvent`] receivers and reconnects by itself. Pub/sub keeps nothing for a subscriber that is
//! away, so receivers are told when messages may have been missed ([`BusEvent::Lost`]: the
//! subscription dropped or Redis is degraded) and when they flow again ([`BusEvent::Restored`]).

use super::{KEY_PREFIX, OP_TIMEOUT, Op, SharedError, SharedState, lock};
use bytes::Bytes;
use futures::StreamExt;
use redis::aio::{PubSub, PubSubSink, PubSubStream};
use std::sync::Mutex;
use std::time::Duration;
use tokio::sync::broadcast;
use tokio_util::sync::CancellationToken;

/// Events buffered per receiver; one that falls further behind gets `RecvError::Lagged` (treat it as
/// [`BusEvent::Lost`]).
const CAPACITY: usize = 1024;
/// Pause before reconnecting the subscriber, doubled per failure up to [`MAX_BACKOFF`].
const MIN_BACKOFF: Duration = Duration::from_millis(50);
const MAX_BACKOFF: Duration = Duration::from_secs(1);
/// How often the subscriber connection is pinged, so a silent one is noticed.
const PING_EVERY: Duration = Duration::from_secs(1);
/// Deadline of connecting and subscribing.
const SUBSCRIBE_TIMEOUT: Duration = Duration::from_secs(2);

fn channel() -> String {
    format!("{KEY_PREFIX}invalidate")
}

/// What a bus receiver gets.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum BusEvent {
    /// A payload some replica (this one included) published.
    Message(Bytes),
    /// Messages may be missed from now on (the subscription dropped or Redis is degraded): drop what
    /// only an invalidation would correct.
    Lost,
    /// Subscribed again (or for the first time) with Redis healthy: messages flow.
    Restored,
}

/// The process side of the bus: the receivers' channel and whether messages flow.
pub(super) struct Hub {
    tx: broadcast::Sender<BusEvent>,
    state: Mutex<Flow>,
}

struct Flow {
    subscribed: bool,
    degraded: bool,
    /// What the receivers were last told: messages flow.
    flowing: bool,
}

impl Hub {
    pub(super) fn new() -> Self {
        Hub {
            tx: broadcast::channel(CAPACITY).0,
            state: Mutex::new(Flow {
                subscribed: false,
                degraded: true,
                flowing: false,
            }),
        }
    }

    pub(super) fn set_degraded(&self, degraded: bool) {
        self.update(|f| f.degraded = degraded);
    }

    fn set_subscribed(&self, subscribed: bool) {
        self.update(|f| f.subscribed = subscribed);
    }

    /// Applies `change`; tells the receivers when messages stop or start flowing.
    fn update(&self, change: impl FnOnce(&mut Flow)) {
        let mut flow = lock(&self.state);
        change(&mut flow);
        let flowing = flow.subscribed && !flow.degraded;
        if flowing != flow.flowing {
            flow.flowing = flowing;
            let event = if flowing {
                BusEvent::Restored
            } else {
                BusEvent::Lost
            };
            // No receiver is fine.
            let _ = self.tx.send(event);
        }
    }
}

impl SharedState {
    /// Sends `payload` to every replica's bus receivers (this one's included). Fails at once while
    /// Redis is degraded.
    pub async fn publish(&self, payload: &[u8]) -> Result<(), SharedError> {
        let mut conn = self.ready()?;
        let mut cmd = redis::cmd("PUBLISH");
        cmd.arg(channel()).arg(payload);
        self.run(Op::Publish, cmd.query_async::<i64>(&mut conn))
            .await
            .map(|_receivers| ())
    }

    /// A receiver of the bus. It sees events from now on: whether messages flow at this moment is
    /// [`Self::bus_flowing`]; after that, `Lost` and `Restored` say when it changes.
    pub fn subscribe(&self) -> broadcast::Receiver<BusEvent> {
        self.inner.bus.tx.subscribe()
    }

    /// Whether messages reach this replica now: subscribed, and Redis not degraded.
    pub fn bus_flowing(&self) -> bool {
        lock(&self.inner.bus.state).flowing
    }
}

/// The subscriber: subscribe, relay until the connection is lost, wait a little, again; until `stop`.
pub(super) async fn relay(
    client: redis::Client,
    hub: std::sync::Arc<Hub>,
    stop: CancellationToken,
) {
    let mut backoff = MIN_BACKOFF;
    loop {
        let subscribed = tokio::select! {
            () = stop.cancelled() => return,
            r = tokio::time::timeout(SUBSCRIBE_TIMEOUT, subscribe(&client)) => r,
        };
        match subscribed {
            Ok(Ok(pubsub)) => {
                backoff = MIN_BACKOFF;
                let (mut sink, mut stream) = pubsub.split();
                hub.set_subscribed(true);
                let why = forward(&mut sink, &mut stream, &hub, &stop).await;
                hub.set_subscribed(false);
                if stop.is_cancelled() {
                    return;
                }
                tracing::debug!(reason = why, "invalidation subscription lost");
            }
            // Reachability is reported by the main connection; the details are in its log line.
            Ok(Err(e)) => tracing::debug!(kind = ?e.kind(), "cannot subscribe to invalidations"),
            Err(_) => tracing::debug!("subscribing to invalidations timed out"),
        }
        tokio::select! {
            () = stop.cancelled() => return,
            () = tokio::time::sleep(backoff) => {}
        }
        backoff = (backoff * 2).min(MAX_BACKOFF);
    }
}

async fn subscribe(client: &redis::Client) -> redis::RedisResult<PubSub> {
    let mut pubsub = client.get_async_pubsub().await?;
    pubsub.subscribe(channel()).await?;
    Ok(pubsub)
}

/// Relays messages until the connection ends, a ping fails or `stop`; returns why it ended.
async fn forward(
    sink: &mut PubSubSink,
    stream: &mut PubSubStream,
    hub: &Hub,
    stop: &CancellationToken,
) -> &'static str {
    let mut tick = tokio::time::interval(PING_EVERY);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    tick.tick().await;
    loop {
        tokio::select! {
            () = stop.cancelled() => return "stopped",
            msg = stream.next() => match msg {
                Some(msg) => {
                    let payload = Bytes::copy_from_slice(msg.get_payload_bytes());
                    let _ = hub.tx.send(BusEvent::Message(payload));
                }
                None => return "connection closed",
            },
            _ = tick.tick() => {
                let pong = tokio::time::timeout(OP_TIMEOUT, sink.ping::<redis::Value>()).await;
                if !matches!(pong, Ok(Ok(_))) {
                    return "ping failed";
                }
            }
        }
    }
}
