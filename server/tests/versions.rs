//! The tools on every Notion-Version the server speaks: the same calls give the same rows and text
//! on 2025-09-03, 2026-03-11 and 2026-12-01 (where search and data source queries send only the
//! title unless `filter_properties` names more, and a person's name may be null), and every request
//! carries the configured version (the Markdown endpoints at least 2026-03-11).
#![allow(clippy::unwrap_used)]

mod common;

use common::{Harness, id};
use notion_fake::{Fixture, GeneratedIds, PageFixture};
use notion_mcp_remote::notion::NotionVersion;
use serde_json::json;

const T: &str = "ntn_workspace_w";

fn fixture() -> Fixture {
    Fixture::builder()
        .workspace("W", T)
        .user("Ann Lee", "ann@example.com")
        .user("", "nameless@example.com")
        .page(
            PageFixture::new("Notes")
                .id("notes")
                .child(json!({"paragraph": "draft text"})),
        )
        .database_with_rows("Tasks", 30)
        .build()
}

async fn exercise(version: NotionVersion) {
    let h = Harness::start_with(fixture(), |a| a.notion_version = version).await;
    let v = version.as_str();
    let ds = GeneratedIds::data_source("Tasks").to_string();
    let db = GeneratedIds::database("Tasks").to_string();

    // Rows keep every property: 2026-12-01 would send only titles without filter_properties.
    let rows = h
        .text(T, "query_data_source", json!({"id": db, "limit": 5, "sorts": [{"property": "Number", "direction": "ascending"}]}))
        .await;
    assert!(rows.contains("Tag") && rows.contains("Due"), "{v}: {rows}");
    assert!(
        rows.contains("| Row 0 ") && rows.contains("red"),
        "{v}: {rows}"
    );
    let picked = h
        .text(
            T,
            "query_data_source",
            json!({"id": ds, "limit": 3, "columns": ["Number"]}),
        )
        .await;
    assert!(picked.contains("Number"), "{v}: {picked}");
    let fetched = h
        .text(T, "fetch", json!({"id": ds, "type": "data_source"}))
        .await;
    assert!(
        fetched.contains("green"),
        "{v}: first rows with their values: {fetched}"
    );

    let found = h.text(T, "search", json!({"query": "Row 1"})).await;
    assert!(found.contains("Row 1"), "{v}: {found}");

    // A nameless person (null name on 2026-12-01) is listed, not an error.
    let users = h.text(T, "list_users", json!({})).await;
    assert!(
        users.contains("Ann Lee") && users.contains("(no name)"),
        "{v}: {users}"
    );

    // Markdown reads and edits (the Markdown endpoints need 2026-03-11 or later).
    let page = id("notes");
    let md = h.text(T, "get_page_markdown", json!({"id": page})).await;
    assert!(md.contains("draft text"), "{v}: {md}");
    h.text(
        T,
        "update_page_markdown",
        json!({"id": page, "edits": [["draft", "final"]]}),
    )
    .await;
    let md = h.text(T, "get_page_markdown", json!({"id": page})).await;
    assert!(md.contains("final text"), "{v}: {md}");

    // Views and a view's rows.
    let views = h.text(T, "get_views", json!({"database": db})).await;
    let view = common::first_id(&views);
    let view_rows = h
        .text(
            T,
            "get_views",
            json!({"view": view, "rows": true, "limit": 5}),
        )
        .await;
    assert!(
        view_rows.contains("Tag") && view_rows.contains("5 row(s) of 30."),
        "{v}: {view_rows}"
    );

    for r in h.fake().requests() {
        let sent = r.notion_version().unwrap_or_default();
        let want = if r.path.ends_with("/markdown") && version == NotionVersion::V2025_09_03 {
            "2026-03-11"
        } else {
            v
        };
        assert_eq!(sent, want, "{} {}", r.method, r.path);
    }
    if version.title_only_lists() {
        let queries: Vec<_> = h
            .fake()
            .requests()
            .into_iter()
            .filter(|r| r.path.ends_with("/query") && r.path.starts_with("/v1/data_sources/"))
            .collect();
        assert!(
            queries.iter().all(|r| r
                .query
                .as_deref()
                .is_some_and(|q| q.contains("filter_properties"))),
            "{:?}",
            queries.iter().map(|r| &r.query).collect::<Vec<_>>()
        );
    }
    h.shutdown().await;
}

#[tokio::test]
async fn the_tools_give_the_same_answers_on_every_version() {
    for version in NotionVersion::ALL {
        exercise(version).await;
    }
}

#[test]
fn an_unknown_version_names_the_choices() {
    let e = "2027-01-01"
        .parse::<NotionVersion>()
        .unwrap_err()
        .to_string();
    for v in NotionVersion::ALL {
        assert!(e.contains(v.as_str()), "{e}");
    }
    use clap::Parser;
    let err = notion_mcp_remote::config::Cli::try_parse_from([
        "notion-mcp-remote",
        "--notion-version",
        "2027-01-01",
    ])
    .err()
    .unwrap()
    .to_string();
    assert!(
        err.contains("2026-12-01") && err.contains("2025-09-03"),
        "{err}"
    );
}
