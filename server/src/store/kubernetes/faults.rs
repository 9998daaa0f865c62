//! The Kubernetes store under faults of its API server (the in-memory fake): several replicas write
//! concurrently through 409 conflicts, lost answers, slow answers and an outage (errors, then refused
//! connections). Every operation succeeds or fails with a clear error, no update is lost or applied
//! twice, no record is corrupt, writes succeed again after the outage and every replica's watch cache
//! catches up. And refresh-token rotation across two replicas hands out one rotation per token.

use super::KubernetesBackend;
use super::fake::FakeApiServer;
use super::tests::config;
use crate::oauth::rotation::{self, Fresh, Outcome, RETRIES_HONOURED};
use crate::store::records::Grant;
use crate::store::{Decision, KeyRing, Kind, Record, Store, StoreError, now_unix};
use serde::{Deserialize, Serialize};
use std::collections::BTreeSet;
use std::sync::Arc;
use std::time::Duration;
use tokio::time::Instant;

const REPLICAS: usize = 3;
const WRITERS_PER_REPLICA: usize = 4;
const OPS_PER_WRITER: usize = 15;
const KEYS: usize = 3;

/// A record that remembers every update applied to it.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
struct Tally {
    ops: Vec<String>,
}

impl Record for Tally {
    const KIND: Kind = Kind::Consent;
    fn expires_at(&self) -> Option<i64> {
        None
    }
}

async fn replica(fake: &FakeApiServer, keys: &Arc<KeyRing>) -> (Store, Arc<KubernetesBackend>) {
    let mut backend = KubernetesBackend::start(fake.client(), config(false))
        .await
        .expect("start");
    backend.retry_base = Duration::from_millis(20);
    let backend = Arc::new(backend);
    (Store::new(backend.clone(), keys.clone()), backend)
}

/// A record read from the API server itself (not a cache), which must open.
async fn fresh<R: Record>(store: &Store, key: &str) -> R {
    let entry = store
        .backend
        .get_fresh(R::KIND, key)
        .await
        .expect("read")
        .expect("present");
    store.open(key, &entry).expect("the record opens")
}

/// What one writer saw: ops that succeeded, ops that failed (and may or may not have landed).
#[derive(Default)]
struct Seen {
    ok: Vec<String>,
    failed: Vec<String>,
}

async fn writer(store: Store, id: String) -> Seen {
    let mut seen = Seen::default();
    for n in 0..OPS_PER_WRITER {
        let op = format!("{id}-{n}");
        let key = format!("tally-{}", n % KEYS);
        let result = store
            .update::<Tally, _>(&key, |t| {
                t.ops.push(op.clone());
                Decision::Write(())
            })
            .await;
        match result {
            Ok(Some(())) => seen.ok.push(op),
            Ok(None) => panic!("{key} vanished"),
            Err(e @ (StoreError::Unavailable(_) | StoreError::Contended { .. })) => {
                assert!(!e.to_string().is_empty());
                seen.failed.push(op);
            }
            Err(e) => panic!("unexpected store error: {e}"),
        }
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    seen
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn replicas_lose_no_update_through_conflicts_lost_answers_and_an_outage() {
    let fake = FakeApiServer::new(true);
    let keys = Arc::new(KeyRing::random());
    let mut replicas = Vec::new();
    for _ in 0..REPLICAS {
        replicas.push(replica(&fake, &keys).await);
    }
    for k in 0..KEYS {
        replicas[0]
            .0
            .create(&format!("tally-{k}"), &Tally { ops: Vec::new() })
            .await
            .expect("create");
    }
    let mut tasks = Vec::new();
    for (r, (store, _)) in replicas.iter().enumerate() {
        for w in 0..WRITERS_PER_REPLICA {
            tasks.push(tokio::spawn(writer(store.clone(), format!("r{r}w{w}"))));
        }
    }
    // The fault schedule, while the writers run.
    fake.inject(|f| {
        f.conflicts = 30;
        f.lost_answers = 10;
    });
    tokio::time::sleep(Duration::from_millis(300)).await;
    fake.inject(|f| f.delay = Duration::from_millis(30));
    tokio::time::sleep(Duration::from_millis(300)).await;
    fake.inject(|f| {
        f.delay = Duration::ZERO;
        f.outage = Some((Instant::now() + Duration::from_millis(600), 503));
    });
    tokio::time::sleep(Duration::from_millis(700)).await;
    fake.inject(|f| f.outage = Some((Instant::now() + Duration::from_millis(600), 0)));
    tokio::time::sleep(Duration::from_millis(700)).await;
    fake.inject(|f| {
        f.conflicts = 20;
        f.lost_answers = 5;
    });
    let mut ok = BTreeSet::new();
    let mut failed = BTreeSet::new();
    for t in tasks {
        let seen = t.await.expect("writer");
        ok.extend(seen.ok);
        failed.extend(seen.failed);
    }

    // After the API server is back, every replica writes again.
    fake.inject(|f| {
        f.conflicts = 0;
        f.lost_answers = 0;
        f.outage = None;
    });
    for (r, (store, _)) in replicas.iter().enumerate() {
        let op = format!("after-{r}");
        store
            .update::<Tally, _>("tally-0", |t| {
                t.ops.push(op.clone());
                Decision::Write(())
            })
            .await
            .expect("write after the outage")
            .expect("present");
        ok.insert(op);
    }

    // Every record opens; every op that succeeded is there exactly once, failed ones at most once,
    // nothing else.
    let mut landed = Vec::new();
    for k in 0..KEYS {
        let t = fresh::<Tally>(&replicas[1].0, &format!("tally-{k}")).await;
        landed.extend(t.ops);
    }
    let unique: BTreeSet<String> = landed.iter().cloned().collect();
    assert_eq!(unique.len(), landed.len(), "an update was applied twice");
    assert!(ok.is_subset(&unique), "lost: {:?}", ok.difference(&unique));
    assert!(
        unique
            .iter()
            .all(|op| ok.contains(op) || failed.contains(op))
    );

    // Every replica's watch cache catches up with the final records.
    let deadline = Instant::now() + Duration::from_secs(60);
    for (store, _) in &replicas {
        for k in 0..KEYS {
            let key = format!("tally-{k}");
            let want = fresh::<Tally>(&replicas[0].0, &key).await;
            loop {
                let cached = store
                    .get::<Tally>(&key)
                    .await
                    .expect("get")
                    .expect("present");
                if cached == want {
                    break;
                }
                assert!(Instant::now() < deadline, "a watch cache never resynced");
                tokio::time::sleep(Duration::from_millis(50)).await;
            }
        }
    }
    let f = fake.with_faults(Clone::clone);
    assert!(f.injected_conflicts > 0 && f.injected_lost_answers > 0 && f.injected_failures > 0);
    println!(
        "kubernetes store faults: {REPLICAS} replicas x {WRITERS_PER_REPLICA} writers, {} ops succeeded, {} failed with a clear error, {} conflicts, {} lost answers, {} requests failed by the outage",
        ok.len(),
        failed.len(),
        f.injected_conflicts,
        f.injected_lost_answers,
        f.injected_failures
    );
}

fn fresh_pair(now: i64) -> Fresh {
    Fresh {
        access: rotation::tests::token(&crate::oauth::opaque_tokens::random_secret(), now),
        refresh: rotation::tests::token(&crate::oauth::opaque_tokens::random_secret(), now),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_replicas_rotate_a_refresh_token_once_through_conflicts() {
    const ROUNDS: usize = 10;
    const CONCURRENT: usize = 8;
    let fake = FakeApiServer::new(true);
    let keys = Arc::new(KeyRing::random());
    let (a, _) = replica(&fake, &keys).await;
    let (b, _) = replica(&fake, &keys).await;
    let now = now_unix();
    let mut current = crate::oauth::opaque_tokens::random_secret();
    let mut g = rotation::tests::grant(&current);
    g.refresh = Some(rotation::tests::token(&current, now));
    g.expires_at = now + 1000;
    a.create("grant-1", &g).await.expect("create");
    let mut issued = BTreeSet::new();
    let (mut rotations, mut unknown_outcomes) = (0, 0);
    for _ in 0..ROUNDS {
        fake.inject(|f| {
            f.conflicts = 4;
            f.lost_answers = 2;
        });
        let attempts = (0..CONCURRENT).map(|i| {
            let store = if i % 2 == 0 { a.clone() } else { b.clone() };
            let presented = current.clone();
            async move {
                let fresh = fresh_pair(now_unix());
                let outcome = store
                    .update::<Grant, _>("grant-1", |g| {
                        let o = rotation::apply(g, &presented, &fresh, now_unix(), 600);
                        if o.changed() {
                            Decision::Write(o)
                        } else {
                            Decision::Keep(o)
                        }
                    })
                    .await;
                let outcome = match outcome {
                    Ok(o) => Some(o.expect("present")),
                    Err(StoreError::Unavailable(_)) => None,
                    Err(e) => panic!("unexpected store error: {e}"),
                };
                (outcome, fresh.refresh.hash)
            }
        });
        let results = futures::future::join_all(attempts).await;
        let count = |o| results.iter().filter(|(r, _)| *r == Some(o)).count();
        let unknown: BTreeSet<String> = results
            .iter()
            .filter(|(o, _)| o.is_none())
            .map(|(_, h)| h.clone())
            .collect();
        unknown_outcomes += unknown.len();
        assert!(count(Outcome::Rotated) <= 1, "{results:?}");
        assert!(count(Outcome::Retried) <= RETRIES_HONOURED, "{results:?}");
        let handed_out: BTreeSet<String> = results
            .iter()
            .filter(|(o, _)| o.is_some_and(Outcome::changed))
            .map(|(_, h)| h.clone())
            .collect();
        for h in &handed_out {
            assert!(issued.insert(h.clone()), "a refresh token was issued twice");
        }
        // The stored family holds every pair handed out, plus at most pairs whose write failed
        // with an unknown outcome; one rotation happened.
        let g = fresh::<Grant>(&b, "grant-1").await;
        let stored: BTreeSet<String> = g
            .refresh
            .iter()
            .chain(&g.refresh_retries)
            .map(|t| t.hash.clone())
            .collect();
        assert!(handed_out.is_subset(&stored), "a pair handed out was lost");
        assert!(
            stored
                .iter()
                .all(|h| handed_out.contains(h) || unknown.contains(h))
        );
        assert!(stored.len() <= 1 + RETRIES_HONOURED);
        assert_eq!(g.refresh_parent.as_deref(), Some(current.as_str()));
        rotations += 1;
        // The client goes on with a pair it received (or, if every answer failed, retries later
        // with whatever the store holds).
        current = handed_out
            .into_iter()
            .next()
            .or_else(|| stored.into_iter().next())
            .expect("a current token");
    }
    let f = fake.with_faults(Clone::clone);
    println!(
        "kubernetes store, two replicas rotating: {rotations} rotations of {CONCURRENT} concurrent presentations, {} refresh tokens handed out (all distinct), {unknown_outcomes} writes with an unknown outcome, {} conflicts and {} lost answers injected",
        issued.len(),
        f.injected_conflicts,
        f.injected_lost_answers
    );
}
