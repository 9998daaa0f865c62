#![allow(clippy::unwrap_used)]
use super::*;
use serde_json::json;

const PAGE: &str = "1f2e3d4c-5b6a-4978-8a9b-0c1d2e3f4a5b";
const CHILD: &str = "2f2e3d4c-5b6a-4978-8a9b-0c1d2e3f4a5b";
const DEEP: &str = "3f2e3d4c-5b6a-4978-8a9b-0c1d2e3f4a5b";

fn id(s: &str) -> Uuid {
    tags::parse_id(s).unwrap()
}

fn cache() -> ReadCache {
    ReadCache::new(
        CacheConfig {
            max_bytes: 1 << 20,
            max_age: Duration::from_secs(60),
        },
        &Metrics::new(),
    )
}

fn children(parent: &str, kids: &[(&str, bool)]) -> Arc<Answer> {
    let results: Vec<Value> = kids
        .iter()
        .map(|(k, nested)| json!({"object": "block", "id": k, "type": "toggle", "has_children": nested}))
        .collect();
    let _ = parent;
    Answer::shared(json!({"object": "list", "results": results}))
}

#[test]
fn a_change_to_a_listed_block_drops_the_list() {
    let c = cache();
    let since = c.begin();
    c.store(
        Arc::from("k"),
        children(PAGE, &[(CHILD, false)]),
        &[Tag::children(id(PAGE))],
        since,
    );
    assert!(c.get("k").is_some());
    c.apply(
        &[Invalidation::Tag(Tag::object(id(CHILD)))],
        Source::Webhook,
    );
    assert!(c.get("k").is_none());
}

#[test]
fn a_subtree_walk_reaches_nested_lists_but_not_other_pages() {
    let c = cache();
    let since = c.begin();
    c.store(
        Arc::from("top"),
        children(PAGE, &[(CHILD, true)]),
        &[Tag::children(id(PAGE))],
        since,
    );
    c.store(
        Arc::from("mid"),
        children(CHILD, &[(DEEP, true)]),
        &[Tag::children(id(CHILD))],
        since,
    );
    c.store(
        Arc::from("deep"),
        children(DEEP, &[]),
        &[Tag::children(id(DEEP))],
        since,
    );
    c.store(
        Arc::from("other"),
        children(CHILD, &[]),
        &[Tag::children(Uuid::nil())],
        since,
    );
    c.apply(&[Invalidation::Subtree(id(PAGE))], Source::Webhook);
    for k in ["top", "mid", "deep"] {
        assert!(c.get(k).is_none(), "{k} survived");
    }
    assert!(c.get("other").is_some());
}

#[test]
fn an_answer_read_while_a_change_happened_is_not_kept() {
    let c = cache();
    let since = c.begin();
    c.apply(
        &[Invalidation::Tag(Tag::children(id(PAGE)))],
        Source::Webhook,
    );
    c.store(
        Arc::from("k"),
        children(PAGE, &[]),
        &[Tag::children(id(PAGE))],
        since,
    );
    assert!(c.get("k").is_none(), "raced with an invalidation");
    // An unrelated change does not block it.
    let since = c.begin();
    c.apply(
        &[Invalidation::Tag(Tag::children(Uuid::nil()))],
        Source::Webhook,
    );
    c.store(
        Arc::from("k"),
        children(PAGE, &[]),
        &[Tag::children(id(PAGE))],
        since,
    );
    assert!(c.get("k").is_some());
    // Too many changes to tell: not kept.
    let since = c.begin();
    for _ in 0..=RECENT {
        c.apply(
            &[Invalidation::Tag(Tag::children(Uuid::nil()))],
            Source::Webhook,
        );
    }
    c.store(
        Arc::from("k2"),
        children(PAGE, &[]),
        &[Tag::children(id(PAGE))],
        since,
    );
    assert!(c.get("k2").is_none());
}

#[test]
fn proofs_are_per_identity_and_dropped_by_moves() {
    let c = cache();
    let since = c.begin();
    c.prove("bot:a", id(PAGE), since);
    assert!(c.proven("bot:a", id(PAGE)));
    assert!(!c.proven("bot:b", id(PAGE)));
    c.apply(&[Invalidation::Proofs], Source::Webhook);
    assert!(!c.proven("bot:a", id(PAGE)));
    let since = c.begin();
    c.apply(&[Invalidation::Proofs], Source::Bus);
    c.prove("bot:a", id(PAGE), since);
    assert!(
        !c.proven("bot:a", id(PAGE)),
        "a proof that raced a move is not kept"
    );
}

#[test]
fn local_changes_are_published_and_bus_changes_are_not() {
    let c = cache();
    let sent = Arc::new(Mutex::new(Vec::new()));
    let s2 = sent.clone();
    c.set_publisher(Arc::new(move |m| s2.lock().unwrap().push(m)));
    c.apply(&[Invalidation::Tag(Tag::object(id(PAGE)))], Source::Write);
    c.apply(&[Invalidation::Everything], Source::Bus);
    let sent = sent.lock().unwrap();
    assert_eq!(sent.len(), 1);
    assert_eq!(
        tags::decode_plan(&sent[0]),
        vec![Invalidation::Tag(Tag::object(id(PAGE)))]
    );
}

#[test]
fn untrusted_cache_serves_and_keeps_nothing() {
    let c = cache();
    let since = c.begin();
    c.store(Arc::from("k"), children(PAGE, &[]), &[], since);
    c.set_trusted(false);
    assert!(c.get("k").is_none());
    c.store(Arc::from("k"), children(PAGE, &[]), &[], c.begin());
    c.set_trusted(true);
    assert!(c.get("k").is_none(), "restored empty");
}

#[test]
fn off_keeps_nothing_and_size_is_bounded() {
    let off = ReadCache::new(CacheConfig::OFF, &Metrics::new());
    off.store(Arc::from("k"), children(PAGE, &[]), &[], off.begin());
    assert!(off.get("k").is_none());
    let small = ReadCache::new(
        CacheConfig {
            max_bytes: 64 * 1024,
            max_age: Duration::from_secs(60),
        },
        &Metrics::new(),
    );
    let big = Answer::shared(json!({"object": "block", "id": PAGE, "text": "x".repeat(20_000)}));
    small.store(Arc::from("big"), big, &[], small.begin());
    assert!(
        small.get("big").is_none(),
        "an answer over a quarter of the cache is not kept"
    );
    for i in 0..200 {
        let v = Answer::shared(json!({"object": "block", "id": PAGE, "text": "x".repeat(1000)}));
        small.store(Arc::from(format!("k{i}")), v, &[], small.begin());
    }
    assert!(small.entry_count() < 200);
}

/// Keep a derived answer built from the entry under `key`, as the fetch tool does.
fn derive(c: &ReadCache, key: &str, object: Uuid) {
    let (_, deps) = futures::executor::block_on(derived::record(async {
        derived::used(&Arc::from(key), c.entry(key), Some(object));
    }));
    c.store_derived("rendered", "page text".to_string(), 9, deps);
}

#[test]
fn a_derived_answer_lives_only_while_what_it_was_built_from_is_unchanged() {
    let c = cache();
    let since = c.begin();
    c.store(
        Arc::from("k"),
        children(PAGE, &[(CHILD, false)]),
        &[Tag::children(id(PAGE))],
        since,
    );
    c.prove("alice", id(PAGE), since);
    derive(&c, "k", id(PAGE));
    assert_eq!(
        c.derived::<String>("rendered", "alice").as_deref(),
        Some("page text")
    );
    // An identity that has not proven access to the page gets nothing.
    assert!(c.derived::<String>("rendered", "bob").is_none());
    // The same answer stored again (a proof read) keeps the entry, and the derived answer.
    c.store(
        Arc::from("k"),
        children(PAGE, &[(CHILD, false)]),
        &[Tag::children(id(PAGE))],
        c.begin(),
    );
    assert!(c.derived::<String>("rendered", "alice").is_some());
    // A changed answer replaces the entry: the derived one is gone.
    c.store(
        Arc::from("k"),
        children(PAGE, &[(CHILD, false), (DEEP, false)]),
        &[Tag::children(id(PAGE))],
        c.begin(),
    );
    assert!(c.derived::<String>("rendered", "alice").is_none());
    // Built again, then an invalidation of a block it shows drops it.
    derive(&c, "k", id(PAGE));
    assert!(c.derived::<String>("rendered", "alice").is_some());
    c.apply(&[Invalidation::Tag(Tag::object(id(DEEP)))], Source::Webhook);
    assert!(c.derived::<String>("rendered", "alice").is_none());
}

#[test]
fn a_derived_answer_built_on_a_read_that_was_not_kept_is_not_kept() {
    let c = cache();
    let (_, deps) = futures::executor::block_on(derived::record(async {
        derived::used(&Arc::from("k"), None, Some(id(PAGE)));
    }));
    c.store_derived("rendered", "page text".to_string(), 9, deps);
    c.prove("alice", id(PAGE), c.begin());
    assert!(c.derived::<String>("rendered", "alice").is_none());
    // Reads outside a recording are not noted anywhere (and do not panic).
    derived::used(&Arc::from("k"), None, None);
    derived::uncached();
}
