//! Closed-loop load: `connections` workers each issue one call at a time, back to back, until a total
//! number of calls is used up or a duration has passed; per-call latency is recorded.

use crate::stats::LoadResult;
use anyhow::Result;
use std::future::Future;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

/// When a load run stops.
#[derive(Debug, Clone, Copy)]
pub enum Budget {
    /// This many calls in total, shared by all workers.
    Calls(usize),
    /// Calls start until this much time has passed (calls in flight then still finish).
    Duration(Duration),
}

/// Runs `make(worker)` from `connections` concurrent workers (numbered from 0, so each can use its own
/// connection) until `budget` is spent. A failing call counts as an error (the first one is printed to
/// stderr) and its latency is not recorded.
pub async fn run<F, Fut>(connections: usize, budget: Budget, make: F) -> Result<LoadResult>
where
    F: Fn(usize) -> Fut + Send + Sync + 'static,
    Fut: Future<Output = Result<()>> + Send + 'static,
{
    let make = Arc::new(make);
    let remaining = Arc::new(AtomicUsize::new(match budget {
        Budget::Calls(n) => n,
        Budget::Duration(_) => usize::MAX,
    }));
    let started = Instant::now();
    let deadline = match budget {
        Budget::Calls(_) => None,
        Budget::Duration(d) => Some(started + d),
    };
    let printed = Arc::new(AtomicUsize::new(0));
    let mut workers = Vec::with_capacity(connections);
    for worker in 0..connections.max(1) {
        let (make, remaining, printed) = (make.clone(), remaining.clone(), printed.clone());
        workers.push(tokio::spawn(async move {
            let mut lat = Vec::new();
            let mut errors = 0;
            while deadline.is_none_or(|d| Instant::now() < d)
                && remaining
                    .fetch_update(Ordering::SeqCst, Ordering::SeqCst, |n| n.checked_sub(1))
                    .is_ok()
            {
                let t = Instant::now();
                match make(worker).await {
                    Ok(()) => lat.push(t.elapsed().as_secs_f64() * 1e3),
                    Err(e) => {
                        errors += 1;
                        if printed.fetch_add(1, Ordering::Relaxed) == 0 {
                            eprintln!("call failed: {e:#}");
                        }
                    }
                }
            }
            (lat, errors)
        }));
    }
    let mut latencies_ms = Vec::new();
    let mut errors = 0;
    for w in workers {
        let (l, e) = w.await?;
        latencies_ms.extend(l);
        errors += e;
    }
    Ok(LoadResult::new(latencies_ms, started.elapsed(), errors))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn calls_budget_is_spent_exactly_and_errors_are_counted() {
        let n = Arc::new(AtomicUsize::new(0));
        let r = run(4, Budget::Calls(100), {
            let n = n.clone();
            move |_| {
                let i = n.fetch_add(1, Ordering::SeqCst);
                async move {
                    if i.is_multiple_of(10) {
                        anyhow::bail!("every tenth call fails")
                    }
                    Ok(())
                }
            }
        })
        .await
        .unwrap_or_default();
        assert_eq!(n.load(Ordering::SeqCst), 100);
        assert_eq!(r.ok(), 90);
        assert_eq!(r.errors, 10);
    }

    #[tokio::test]
    async fn duration_budget_stops() {
        let r = run(2, Budget::Duration(Duration::from_millis(50)), |_| async {
            tokio::time::sleep(Duration::from_millis(1)).await;
            Ok(())
        })
        .await
        .unwrap_or_default();
        assert!(r.ok() > 0);
        assert_eq!(r.errors, 0);
    }
}
