//! Read endpoints, exact pagination and the block-tree fetcher against the stub.

use crate::stub::{Stub, start_stub};
use crate::{auth, client_with, fast_retry, no_pacing};
use notion_mcp_remote::notion::endpoints;
use notion_mcp_remote::notion::pagination::collect;
use notion_mcp_remote::notion::tree::{TreeLimits, fetch_block_tree};
use serde_json::{Value, json};

fn para(id: &str, has_children: bool) -> Value {
    json!({"object":"block","id":id,"type":"paragraph","has_children":has_children,
        "paragraph":{"rich_text":[],"color":"default"}})
}

#[tokio::test]
async fn block_children_paginate_exactly_with_collect() {
    let (stub, base) = start_stub().await;
    let (client, _) = client_with(&base, no_pacing(), fast_retry());
    let all: Vec<Value> = (0..250).map(|i| para(&format!("b{i}"), false)).collect();
    stub.blocks.lock().unwrap().insert("root".into(), all);
    let a = auth();
    let fetch = |cursor: Option<String>, size: u32| {
        let (client, a) = (client.clone(), a.clone());
        async move {
            endpoints::list_block_children(&client, &a, "root", cursor.as_deref(), Some(size)).await
        }
    };
    let first = collect(130, None, fetch).await.unwrap();
    assert_eq!(first.items.len(), 130);
    assert!(first.has_more);
    let rest = collect(1000, first.next_cursor.clone(), fetch)
        .await
        .unwrap();
    let ids: Vec<String> = first
        .items
        .iter()
        .chain(&rest.items)
        .map(|b| b.id.clone())
        .collect();
    assert_eq!(ids, (0..250).map(|i| format!("b{i}")).collect::<Vec<_>>());
    assert!(!rest.has_more);
}

#[tokio::test]
async fn property_items_page_past_the_reference_cap() {
    let (_stub, base) = start_stub().await;
    let (client, _) = client_with(&base, no_pacing(), fast_retry());
    let all = endpoints::all_property_items(&client, &auth(), "p1", "rel", 1000)
        .await
        .unwrap();
    assert_eq!(all.property_type, "relation");
    assert_eq!(all.items.len(), 60);
    assert!(!all.truncated);
    let cut = endpoints::all_property_items(&client, &auth(), "p1", "rel", 25)
        .await
        .unwrap();
    assert_eq!(cut.items.len(), 25);
    assert!(cut.truncated);
    assert_eq!(cut.next_cursor.as_deref(), Some("25"));
}

/// root: t0..t9 top level; t1 has 3 children (c1..), c1a has 2 grandchildren; t3 is a child page;
/// t5 is a synced reference to `orig` (2 children); t7's children are missing (404).
fn seed_tree(stub: &Stub) {
    let mut blocks = stub.blocks.lock().unwrap();
    let mut top: Vec<Value> = (0..10).map(|i| para(&format!("t{i}"), false)).collect();
    top[1]["has_children"] = json!(true);
    top[3] = json!({"object":"block","id":"t3","type":"child_page","has_children":true,"child_page":{"title":"Sub"}});
    top[5] = json!({"object":"block","id":"t5","type":"synced_block","has_children":true,
        "synced_block":{"synced_from":{"type":"block_id","block_id":"orig"}}});
    top[7]["has_children"] = json!(true);
    blocks.insert("root".into(), top);
    blocks.insert(
        "t1".into(),
        vec![para("c1a", true), para("c1b", false), para("c1c", false)],
    );
    blocks.insert("c1a".into(), vec![para("g1", false), para("g2", false)]);
    blocks.insert("orig".into(), vec![para("o1", false), para("o2", false)]);
}

#[tokio::test]
async fn a_synced_original_shown_twice_is_read_once_per_fetch() {
    let (stub, base) = start_stub().await;
    seed_tree(&stub);
    stub.blocks.lock().unwrap().get_mut("root").unwrap()[6] = json!({"object":"block","id":"t6",
        "type":"synced_block","has_children":true,
        "synced_block":{"synced_from":{"type":"block_id","block_id":"orig"}}});
    let (client, _) = client_with(&base, no_pacing(), fast_retry());
    let limits = TreeLimits {
        max_blocks: 1000,
        max_depth: 10,
        concurrency: 1,
    };
    let tree = fetch_block_tree(&client, &auth(), "root", limits, None)
        .await
        .unwrap();
    for i in [5, 6] {
        let ids: Vec<_> = tree.nodes[i]
            .children
            .iter()
            .map(|n| n.block.as_ref().unwrap().id.clone())
            .collect();
        assert_eq!(ids, ["o1", "o2"], "node {i}");
    }
    let reads = stub
        .requests()
        .iter()
        .filter(|r| r.path.contains("/orig/children"))
        .count();
    assert_eq!(reads, 1, "the original's children were read {reads} times");
}

#[tokio::test]
async fn block_tree_full_fetch() {
    let (stub, base) = start_stub().await;
    seed_tree(&stub);
    let (client, _) = client_with(&base, no_pacing(), fast_retry());
    let limits = TreeLimits {
        max_blocks: 1000,
        max_depth: 10,
        concurrency: 3,
    };
    let tree = fetch_block_tree(&client, &auth(), "root", limits, None)
        .await
        .unwrap();
    assert_eq!(tree.nodes.len(), 10);
    assert_eq!(tree.fetched, 10 + 3 + 2 + 2);
    assert!(!tree.truncated);
    assert_eq!(tree.next_cursor, None);
    let t1 = &tree.nodes[1];
    assert_eq!(t1.children.len(), 3);
    assert_eq!(t1.children[0].children.len(), 2);
    assert!(
        !tree.nodes[3].children_omitted && tree.nodes[3].children.is_empty(),
        "child pages are links"
    );
    let synced: Vec<_> = tree.nodes[5]
        .children
        .iter()
        .map(|n| n.block.as_ref().unwrap().id.clone())
        .collect();
    assert_eq!(synced, ["o1", "o2"]);
    assert!(
        tree.nodes[7].children_omitted,
        "unreadable children are marked, not fatal"
    );
    assert!(!stub.requests().iter().any(|r| r.path.contains("/t3/")));
}

#[tokio::test]
async fn block_tree_depth_limit_marks_omitted_children() {
    let (stub, base) = start_stub().await;
    seed_tree(&stub);
    let (client, _) = client_with(&base, no_pacing(), fast_retry());
    let limits = TreeLimits {
        max_blocks: 1000,
        max_depth: 2,
        concurrency: 2,
    };
    let tree = fetch_block_tree(&client, &auth(), "root", limits, None)
        .await
        .unwrap();
    let c1a = &tree.nodes[1].children[0];
    assert!(c1a.children.is_empty() && c1a.children_omitted);
    assert!(!tree.truncated);
    assert_eq!(tree.fetched, 10 + 3 + 2);
}

#[tokio::test]
async fn block_tree_budget_cut_resumes_after_last_top_level_block() {
    let (stub, base) = start_stub().await;
    // 250 top-level blocks, every 10th with two children.
    {
        let mut blocks = stub.blocks.lock().unwrap();
        let top: Vec<Value> = (0..250)
            .map(|i| para(&format!("t{i}"), i % 10 == 0))
            .collect();
        for i in (0..250).step_by(10) {
            blocks.insert(
                format!("t{i}"),
                vec![
                    para(&format!("t{i}.a"), false),
                    para(&format!("t{i}.b"), false),
                ],
            );
        }
        blocks.insert("root".into(), top);
    }
    let (client, _) = client_with(&base, no_pacing(), fast_retry());
    let mut seen = Vec::new();
    let mut cursor = None;
    let mut rounds = 0;
    loop {
        rounds += 1;
        let limits = TreeLimits {
            max_blocks: 70,
            max_depth: 3,
            concurrency: 4,
        };
        let tree = fetch_block_tree(&client, &auth(), "root", limits, cursor)
            .await
            .unwrap();
        assert!(tree.fetched <= 70, "budget respected: {}", tree.fetched);
        assert_eq!(
            tree.fetched,
            tree.nodes.len() + tree.nodes.iter().map(|n| n.children.len()).sum::<usize>()
        );
        for n in &tree.nodes {
            let b = n.block.as_ref().unwrap();
            assert!(
                !n.children_omitted,
                "every kept top-level block is complete"
            );
            assert_eq!(n.children.len(), if b.has_children { 2 } else { 0 });
        }
        seen.extend(
            tree.nodes
                .iter()
                .map(|n| n.block.as_ref().unwrap().id.clone()),
        );
        if tree.next_cursor.is_none() {
            break;
        }
        assert!(tree.truncated);
        cursor = tree.next_cursor;
        assert!(rounds < 20);
    }
    assert_eq!(
        seen,
        (0..250).map(|i| format!("t{i}")).collect::<Vec<_>>(),
        "no top-level block skipped or repeated"
    );
}

#[tokio::test]
async fn block_tree_keeps_an_oversized_first_block_partially() {
    let (stub, base) = start_stub().await;
    {
        let mut blocks = stub.blocks.lock().unwrap();
        blocks.insert("root".into(), vec![para("big", true), para("next", false)]);
        blocks.insert(
            "big".into(),
            (0..10).map(|i| para(&format!("k{i}"), false)).collect(),
        );
    }
    let (client, _) = client_with(&base, no_pacing(), fast_retry());
    // One request at a time makes the budget split deterministic.
    let limits = TreeLimits {
        max_blocks: 5,
        max_depth: 3,
        concurrency: 1,
    };
    let tree = fetch_block_tree(&client, &auth(), "root", limits, None)
        .await
        .unwrap();
    assert_eq!(tree.nodes.len(), 1);
    assert_eq!(tree.nodes[0].children.len(), 4);
    assert!(tree.nodes[0].children_omitted);
    assert!(tree.truncated);
    assert_eq!(tree.fetched, 5);
    let rest = fetch_block_tree(&client, &auth(), "root", limits, tree.next_cursor)
        .await
        .unwrap();
    assert_eq!(rest.nodes.len(), 1);
    assert_eq!(rest.nodes[0].block.as_ref().unwrap().id, "next");
    assert!(!rest.truncated && rest.next_cursor.is_none());
}
