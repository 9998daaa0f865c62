//! The cache and the other replicas: local invalidations (webhooks, writes) are published on the
//! shared bus, and theirs are applied here. While the bus is not flowing, an invalidation could be
//! missed, so the cache serves and stores nothing until it flows again (and then starts empty).

use super::{ReadCache, Source, tags};
use crate::shared::{BusEvent, SharedState};
use std::sync::Arc;
use tokio::sync::broadcast::error::RecvError;

/// Connect `cache` to the replicas' bus on `shared`; runs for the life of the process.
pub fn connect(cache: Arc<ReadCache>, shared: SharedState) {
    let publisher = shared.clone();
    cache.set_publisher(Arc::new(move |message: String| {
        let shared = publisher.clone();
        tokio::spawn(async move {
            if let Err(e) = shared.publish(message.as_bytes()).await {
                tracing::warn!(error = %e, "an invalidation could not be sent to the other replicas");
            }
        });
    }));
    // Subscribe before reading the state, so no change between the two is missed.
    let mut events = shared.subscribe();
    cache.set_trusted(shared.bus_flowing());
    tokio::spawn(async move {
        loop {
            match events.recv().await {
                Ok(BusEvent::Message(payload)) => match std::str::from_utf8(&payload) {
                    Ok(text) => cache.apply(&tags::decode_plan(text), Source::Bus),
                    Err(_) => cache.clear(),
                },
                Ok(BusEvent::Lost) => {
                    tracing::debug!("invalidation bus lost: cache not trusted");
                    cache.set_trusted(false);
                }
                Ok(BusEvent::Restored) => {
                    tracing::debug!("invalidation bus restored: cache trusted again, empty");
                    cache.set_trusted(true);
                }
                // Messages were dropped on the way: whatever they said, nothing cached is trusted.
                Err(RecvError::Lagged(_)) => cache.clear(),
                Err(RecvError::Closed) => {
                    cache.set_trusted(false);
                    return;
                }
            }
        }
    });
}
