//! Single-flight: identical reads by one identity that are in flight at the same time go to Notion
//! once and share the answer. Works with the cache off too (it keeps nothing after the answer).
//!
//! A flight lives as long as someone waits for it: when every waiter is gone (a tool call timed
//! out) the request is dropped, and the next identical read starts a new one.

use crate::notion::{self, NotionError};
use futures::FutureExt;
use futures::future::{BoxFuture, Shared, WeakShared};
use std::collections::HashMap;
use std::future::Future;
use std::sync::{Arc, Mutex};
use tracing::Instrument;

type Answer = Result<Arc<notion::Answer>, NotionError>;
type Flight = Shared<BoxFuture<'static, Answer>>;
type Running = HashMap<Arc<str>, WeakShared<BoxFuture<'static, Answer>>>;

/// Reads in flight, by identity and request key.
#[derive(Default)]
pub struct Flights {
    running: Arc<Mutex<Running>>,
}

impl Flights {
    /// Run `start()` for `key` unless an identical read is in flight; the bool says whether this
    /// call joined one instead of sending its own request.
    pub async fn run<F>(&self, key: Arc<str>, start: impl FnOnce() -> F) -> (Answer, bool)
    where
        F: Future<Output = Answer> + Send + 'static,
    {
        let (flight, joined) = {
            let mut running = self.running.lock().unwrap_or_else(|p| p.into_inner());
            match running.get(&key).and_then(WeakShared::upgrade) {
                Some(flight) => (flight, true),
                None => {
                    let registry = Arc::downgrade(&self.running);
                    let done_key = key.clone();
                    // In the starter's span, whichever waiter happens to drive it.
                    let request = start().instrument(tracing::Span::current());
                    let flight: Flight = async move {
                        let answer = request.await;
                        if let Some(running) = registry.upgrade() {
                            running
                                .lock()
                                .unwrap_or_else(|p| p.into_inner())
                                .remove(&done_key);
                        }
                        answer
                    }
                    .boxed()
                    .shared();
                    if let Some(weak) = flight.downgrade() {
                        // Forget flights nobody waits for any more (their waiters were cancelled).
                        running.retain(|_, f| f.upgrade().is_some());
                        running.insert(key, weak);
                    }
                    (flight, false)
                }
            }
        };
        (flight.await, joined)
    }

    /// Flights currently registered (tests).
    pub fn len(&self) -> usize {
        self.running.lock().unwrap_or_else(|p| p.into_inner()).len()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;
    use std::sync::atomic::{AtomicUsize, Ordering};
    use std::time::Duration;

    #[tokio::test]
    async fn identical_reads_share_one_request() {
        let flights = Arc::new(Flights::default());
        let sent = Arc::new(AtomicUsize::new(0));
        let mut tasks = Vec::new();
        for _ in 0..5 {
            let (flights, sent) = (flights.clone(), sent.clone());
            tasks.push(tokio::spawn(async move {
                flights
                    .run(Arc::from("k"), move || async move {
                        sent.fetch_add(1, Ordering::SeqCst);
                        tokio::time::sleep(Duration::from_millis(50)).await;
                        Ok(notion::Answer::shared(serde_json::json!(1)))
                    })
                    .await
            }));
        }
        let mut joined = 0;
        for t in tasks {
            let (answer, j) = t.await.unwrap();
            assert_eq!(**answer.unwrap(), serde_json::json!(1));
            joined += usize::from(j);
        }
        assert_eq!(sent.load(Ordering::SeqCst), 1);
        assert_eq!(joined, 4);
        assert!(flights.is_empty(), "finished flights are forgotten");
    }

    #[tokio::test]
    async fn a_cancelled_flight_is_not_joined() {
        let flights = Flights::default();
        let slow = flights.run(Arc::from("k"), || async {
            tokio::time::sleep(Duration::from_secs(60)).await;
            Ok(notion::Answer::shared(serde_json::json!("old")))
        });
        assert!(
            tokio::time::timeout(Duration::from_millis(10), slow)
                .await
                .is_err()
        );
        let (answer, joined) = flights
            .run(Arc::from("k"), || async {
                Ok(notion::Answer::shared(serde_json::json!("new")))
            })
            .await;
        assert!(!joined);
        assert_eq!(**answer.unwrap(), serde_json::json!("new"));
    }
}
