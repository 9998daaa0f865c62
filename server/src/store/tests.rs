//! The behaviour every backend must have, run against each of them.

use super::*;
use serde::Deserialize;

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
struct Note {
    text: String,
    expires_at: i64,
}

impl Record for Note {
    const KIND: Kind = Kind::Consent;
    fn expires_at(&self) -> Option<i64> {
        Some(self.expires_at)
    }
}

/// One expiry for every note of the run, so a note built twice compares equal across a second boundary.
static IN_AN_HOUR: std::sync::LazyLock<i64> = std::sync::LazyLock::new(|| now_unix() + 3600);

fn note(text: &str) -> Note {
    Note {
        text: text.into(),
        expires_at: *IN_AN_HOUR,
    }
}

/// Create/get/update/take/delete/list/expiry/conflict semantics of a backend behind a [`Store`].
pub async fn contract(store: Store) {
    // Create and read back; a second create of the same key is refused.
    store.create("a1", &note("one")).await.expect("create");
    assert_eq!(
        store.get::<Note>("a1").await.expect("get"),
        Some(note("one"))
    );
    assert!(matches!(
        store.create("a1", &note("again")).await,
        Err(StoreError::AlreadyExists { .. })
    ));
    assert_eq!(store.get::<Note>("missing").await.expect("get"), None);

    // Update writes, Keep does not, Delete removes; a missing record gives None.
    let r = store
        .update::<Note, _>("a1", |n| {
            n.text = "two".into();
            Decision::Write(7)
        })
        .await
        .expect("update");
    assert_eq!(r, Some(7));
    assert_eq!(
        store.get::<Note>("a1").await.expect("get").map(|n| n.text),
        Some("two".into())
    );
    let r = store
        .update::<Note, _>("a1", |n| {
            n.text = "ignored".into();
            Decision::Keep(())
        })
        .await
        .expect("keep");
    assert_eq!(r, Some(()));
    assert_eq!(
        store.get::<Note>("a1").await.expect("get").map(|n| n.text),
        Some("two".into())
    );
    assert_eq!(
        store
            .update::<Note, _>("nope", |_| Decision::Write(()))
            .await
            .expect("update"),
        None
    );

    // Concurrent updates are all applied (optimistic retries).
    store.create("ctr", &note("")).await.expect("create");
    let mut tasks = Vec::new();
    for i in 0..8 {
        let s = store.clone();
        tasks.push(tokio::spawn(async move {
            s.update::<Note, _>("ctr", |n| {
                n.text.push_str(&i.to_string());
                Decision::Write(())
            })
            .await
        }));
    }
    for t in tasks {
        t.await.expect("join").expect("update").expect("present");
    }
    let text = store
        .get::<Note>("ctr")
        .await
        .expect("get")
        .expect("present")
        .text;
    assert_eq!(text.len(), 8, "every concurrent update applied: {text}");

    // take: exactly one of several concurrent takers gets the record.
    store.create("once", &note("x")).await.expect("create");
    let mut tasks = Vec::new();
    for _ in 0..6 {
        let s = store.clone();
        tasks.push(tokio::spawn(async move { s.take::<Note>("once").await }));
    }
    let mut got = 0;
    for t in tasks {
        if t.await.expect("join").expect("take").is_some() {
            got += 1;
        }
    }
    assert_eq!(got, 1);
    assert_eq!(store.get::<Note>("once").await.expect("get"), None);

    // Expired records are invisible, can be re-created, and are swept.
    let dead = Note {
        text: "old".into(),
        expires_at: now_unix() - 1,
    };
    store.create("dead", &dead).await.expect("create");
    assert_eq!(store.get::<Note>("dead").await.expect("get"), None);
    assert!(
        store
            .list::<Note>()
            .await
            .expect("list")
            .iter()
            .all(|(k, _)| k != "dead")
    );
    store.create("dead2", &dead).await.expect("create");
    store
        .create("dead2", &note("alive"))
        .await
        .expect("re-create over expired");
    assert_eq!(store.sweep_expired().await.expect("sweep"), 1);

    // Delete.
    assert!(store.delete::<Note>("a1").await.expect("delete"));
    assert!(!store.delete::<Note>("a1").await.expect("delete again"));
    let keys: Vec<String> = store
        .list::<Note>()
        .await
        .expect("list")
        .into_iter()
        .map(|(k, _)| k)
        .collect();
    assert_eq!(keys, vec!["ctr".to_string(), "dead2".to_string()]);

    // Keys that could escape a directory or an object name are refused.
    for bad in ["../x", "a/b", "", "a.b", &"k".repeat(129)] {
        assert!(matches!(
            store.get::<Note>(bad).await,
            Err(StoreError::InvalidKey(_))
        ));
    }
    assert_eq!(store.verify_keys().await.expect("verify"), 2);
}

#[tokio::test]
async fn memory_backend_contract() {
    contract(Store::in_memory()).await;
}

fn temp_dir() -> std::path::PathBuf {
    std::env::temp_dir().join(format!("nmr-store-{}", uuid::Uuid::new_v4()))
}

/// A key ring with fixed material, so a "restarted" store gets the same keys.
fn ring(ids: &[(&str, u8)], active: &str) -> KeyRing {
    KeyRing::new(
        ids.iter()
            .map(|(id, b)| (id.to_string(), [*b; 32]))
            .collect(),
        Some(active),
    )
    .expect("ring")
}

fn file_store(dir: &std::path::Path, keys: KeyRing) -> Store {
    Store::new(
        Arc::new(file::FileBackend::open(dir).expect("open")),
        Arc::new(keys),
    )
}

#[tokio::test]
async fn file_backend_contract() {
    let dir = temp_dir();
    contract(file_store(&dir, ring(&[("k1", 1)], "k1"))).await;
    let _ = std::fs::remove_dir_all(&dir);
}

#[tokio::test]
async fn file_store_survives_restart_and_key_rotation() {
    let dir = temp_dir();
    let first = file_store(&dir, ring(&[("k1", 1)], "k1"));
    first
        .create("old", &note("sealed with k1"))
        .await
        .expect("create");
    drop(first);

    // Restart with a second key that now seals: old records still open, new ones use k2.
    let second = file_store(&dir, ring(&[("k1", 1), ("k2", 2)], "k2"));
    assert_eq!(second.verify_keys().await.expect("verify"), 1);
    assert_eq!(
        second
            .get::<Note>("old")
            .await
            .expect("get")
            .map(|n| n.text),
        Some("sealed with k1".into())
    );
    second
        .create("new", &note("sealed with k2"))
        .await
        .expect("create");
    let raw = std::fs::read(dir.join(Kind::Consent.as_str()).join("new")).expect("read");
    let text = String::from_utf8_lossy(&raw);
    assert!(
        !text.contains("sealed with k2"),
        "records are encrypted on disk"
    );
    let entry = file::FileBackend::open(&dir)
        .expect("open")
        .get(Kind::Consent, "new")
        .await
        .expect("get")
        .expect("present");
    assert_eq!(KeyRing::key_id_of(&entry.sealed), Some("k2"));

    // Dropping k2 too early, or a wrong key, is a loud start-up error naming the record and key.
    let wrong = file_store(&dir, ring(&[("k1", 1)], "k1"));
    let err = wrong.verify_keys().await.expect_err("k2 missing");
    assert!(err.to_string().contains("'k2'"), "{err}");
    let wrong = file_store(&dir, ring(&[("k1", 9), ("k2", 2)], "k2"));
    let err = wrong.verify_keys().await.expect_err("wrong k1");
    assert!(
        err.to_string().contains("does not open with key 'k1'"),
        "{err}"
    );
    // ... and nothing was deleted by those attempts.
    assert_eq!(
        std::fs::read_dir(dir.join(Kind::Consent.as_str()))
            .expect("dir")
            .count(),
        2
    );
    let _ = std::fs::remove_dir_all(&dir);
}

/// Two stores over one backing (two processes, two replicas): 20 concurrent updates split between them
/// are all applied.
pub async fn two_stores_lose_no_update(a: Store, b: Store) {
    a.create("shared", &note("")).await.expect("create");
    let mut tasks = Vec::new();
    for i in 0..20 {
        let s = if i % 2 == 0 { a.clone() } else { b.clone() };
        tasks.push(tokio::spawn(async move {
            s.update::<Note, _>("shared", |n| {
                n.text.push('x');
                Decision::Write(())
            })
            .await
        }));
    }
    for t in tasks {
        t.await.expect("join").expect("update").expect("present");
    }
    let n = b
        .get::<Note>("shared")
        .await
        .expect("get")
        .expect("present");
    assert_eq!(n.text.len(), 20);
}

#[tokio::test]
async fn two_file_stores_on_one_directory_never_lose_an_update() {
    let dir = temp_dir();
    let a = file_store(&dir, ring(&[("k1", 1)], "k1"));
    let b = file_store(&dir, ring(&[("k1", 1)], "k1"));
    two_stores_lose_no_update(a, b).await;
    let _ = std::fs::remove_dir_all(&dir);
}
