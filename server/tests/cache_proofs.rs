//! Proofs of access that cost nothing extra: what an identity's own token was shown proves its
//! access. A query read with one's own token proves every row it lists (and reading a query again
//! costs what proving access to its data source would); a search proves every page it found. An
//! identity that has seen nothing still pays its proof, and one without access gets Notion's refusal.
#![allow(clippy::unwrap_used)]

mod common;

use common::{Harness, id, result_text};
use notion_fake::Fixture;
use serde_json::json;

fn fixture() -> Fixture {
    serde_json::from_value(json!({"workspaces": [{
        "name": "Acme",
        "tokens": ["ntn_alice", "ntn_carol", "ntn_dave", {"token": "ntn_bobby", "shared": ["other"]}],
        "pages": [
            {"id": "plan", "title": "Launch plan", "children": ["First line", "Second line"],
             "databases": [{
                "id": "tasks", "title": "Tasks", "data_source_id": "tasks-ds",
                "properties": {"Name": "title"},
                "rows": [{"id": "t1", "title": "Write intro"}, {"id": "t2", "title": "Ship it"}]
            }]},
            {"id": "other", "title": "Other", "children": ["Not the plan"]}
        ]
    }]}))
    .unwrap()
}

async fn start() -> Harness {
    Harness::start_with(fixture(), |a| {
        a.webhook_verification_token = vec![notion_mcp_remote::config::Redacted(
            "secret_proofs_token".to_owned(),
        )];
    })
    .await
}

/// Requests the fake received since the last reset, as "METHOD path" lines.
fn notion_requests(h: &Harness) -> Vec<String> {
    h.fake()
        .requests()
        .iter()
        .map(|r| format!("{} {}", r.method, r.path))
        .collect()
}

#[tokio::test]
async fn an_own_query_proves_its_rows() {
    let h = start().await;
    let (ds, row) = (id("tasks-ds"), id("t1"));
    // Alice's reads fill the cache.
    let row_text = h.text("ntn_alice", "get_page", json!({"id": row})).await;
    let rows = h
        .text("ntn_alice", "query_data_source", json!({"id": ds}))
        .await;
    assert!(rows.contains("Write intro"), "{rows}");

    // Carol's first query costs one request with her token: on Notion-Version 2026-12-01 the
    // schema read (for `filter_properties`) proves the data source, so the cached rows are hers;
    // on older versions the query itself is read again, as a proof would cost.
    h.fake().reset_log();
    let carol_rows = h
        .text("ntn_carol", "query_data_source", json!({"id": ds}))
        .await;
    assert_eq!(carol_rows, rows);
    let sent = notion_requests(&h);
    let own_query = sent == vec![format!("POST /v1/data_sources/{ds}/query")];
    assert!(
        own_query || sent == vec![format!("GET /v1/data_sources/{ds}")],
        "{sent:?}"
    );
    // A query read with her token showed her the rows: reading one costs nothing. Rows served
    // from the cache on the data source's proof are not proven to her: one read each.
    h.fake().reset_log();
    assert_eq!(
        h.text("ntn_carol", "get_page", json!({"id": row})).await,
        row_text
    );
    let expected = if own_query {
        Vec::new()
    } else {
        vec![format!("GET /v1/pages/{row}")]
    };
    assert_eq!(notion_requests(&h), expected);

    // Dave has seen nothing: his read of the row is his proof.
    h.fake().reset_log();
    h.text("ntn_dave", "get_page", json!({"id": row})).await;
    assert_eq!(notion_requests(&h), vec![format!("GET /v1/pages/{row}")]);

    // Bob has no access: he gets Notion's refusal, not Alice's rows.
    let bob = h
        .call("ntn_bobby", "query_data_source", json!({"id": ds}))
        .await;
    let text = result_text(&bob);
    assert!(!text.contains("Write intro"), "{text}");
    assert_eq!(bob["isError"], json!(true), "{bob}");
    h.shutdown().await;
}

#[tokio::test]
async fn a_search_proves_the_pages_it_found() {
    let h = start().await;
    let plan = id("plan");
    let page = h.text("ntn_alice", "get_page", json!({"id": plan})).await;
    let found = h
        .text("ntn_carol", "search", json!({"query": "Launch"}))
        .await;
    assert!(found.contains(&plan), "{found}");
    h.fake().reset_log();
    assert_eq!(
        h.text("ntn_carol", "get_page", json!({"id": plan})).await,
        page
    );
    assert_eq!(
        notion_requests(&h),
        Vec::<String>::new(),
        "the search proved Carol's access"
    );
    // A search that found nothing proves nothing: Bob's read goes to Notion and is refused.
    h.text("ntn_bobby", "search", json!({"query": "Launch"}))
        .await;
    h.fake().reset_log();
    let bob = h.call("ntn_bobby", "get_page", json!({"id": plan})).await;
    assert_eq!(bob["isError"], json!(true), "{bob}");
    assert_eq!(notion_requests(&h), vec![format!("GET /v1/pages/{plan}")]);
    h.shutdown().await;
}
