//! `parent` arguments in the object shapes models often send instead of a plain id: every tool with a
//! parent accepts `{"page_id": …}`, `{"database_id": …}`, `{"data_source_id": …}`, the Notion API's
//! `{"type": "page_id", "page_id": …}` and `{"workspace": true}`, and refuses other shapes saying what
//! to send.
#![allow(clippy::unwrap_used)]

mod common;
mod write_support;

use common::{Harness, error_of, first_id, id, result_text};
use serde_json::json;
use write_support::{T, fixture};

#[tokio::test]
async fn tools_with_a_parent_accept_its_object_shapes() {
    let h = Harness::start(fixture()).await;
    let t = h
        .text(
            T,
            "create_page",
            json!({"parent": {"page_id": id("home")}, "title": "Under home"}),
        )
        .await;
    let under_home = first_id(&t);
    let children = h
        .text(T, "get_block_children", json!({"id": id("home")}))
        .await;
    assert!(children.contains("Under home"), "{children}");

    let t = h
        .text(
            T,
            "create_page",
            json!({"parent": {"type": "database_id", "database_id": id("tasks")}, "title": "Row A"}),
        )
        .await;
    let row = first_id(&t);
    let t = h
        .text(
            T,
            "create_page",
            json!({"parent": {"data_source_id": id("tasks-ds")}, "title": "Row B"}),
        )
        .await;
    assert!(!first_id(&t).is_empty());
    let rows = h
        .text(T, "query_data_source", json!({"id": id("tasks-ds")}))
        .await;
    assert!(rows.contains("Row A") && rows.contains("Row B"), "{rows}");

    let t = h
        .text(
            T,
            "create_page",
            json!({"parent": {"workspace": true}, "title": "Top"}),
        )
        .await;
    let top = first_id(&t);
    let at_top = h.fake().with_state(|s| {
        s.pages
            .get(&top.parse().unwrap())
            .map(|p| p.parent == notion_fake::state::Parent::Workspace)
    });
    assert_eq!(at_top, Some(true));

    let t = h
        .text(
            T,
            "move_page",
            json!({"id": under_home, "parent": {"type": "page_id", "page_id": id("archive")}}),
        )
        .await;
    assert!(!t.is_empty());
    let archive = h
        .text(T, "get_block_children", json!({"id": id("archive")}))
        .await;
    assert!(archive.contains("Under home"), "{archive}");

    let r = h
        .call(
            T,
            "duplicate_page",
            json!({"id": row, "parent": {"page_id": id("home")}, "mode": "copy"}),
        )
        .await;
    assert_ne!(r["isError"], true, "{r}");

    let r = h
        .call(
            T,
            "create_database",
            json!({"parent": {"page_id": id("home")}, "title": "Projects"}),
        )
        .await;
    assert_ne!(r["isError"], true, "{r}");
    h.shutdown().await;
}

#[tokio::test]
async fn other_parent_shapes_are_refused_with_what_to_send() {
    let h = Harness::start(fixture()).await;
    for tool in ["create_page", "create_database"] {
        let r = h
            .call(
                T,
                tool,
                json!({"parent": {"block_id": id("home")}, "title": "X"}),
            )
            .await;
        assert_eq!(error_of(&r)["field"], "parent", "{tool}: {r}");
        let text = result_text(&r);
        assert!(
            text.contains("not a parent")
                && text.contains("send the parent's id or URL as a string"),
            "{tool}: {text}"
        );
    }
    h.shutdown().await;
}
