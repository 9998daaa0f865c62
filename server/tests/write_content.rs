//! The write tools through MCP against the stateful fake: appending, updating and deleting blocks;
//! databases, schemas and data sources; comments and replies.
#![allow(clippy::unwrap_used)]

mod common;
mod write_support;

use common::{Harness, error_of, first_id, id, json_data, result_text};
use serde_json::{Value, json};
use write_support::{T, fixture};

#[tokio::test]
async fn append_update_and_delete_blocks() {
    let h = Harness::start(fixture()).await;
    let home = id("home");
    let t = h
        .text(
            T,
            "append_blocks",
            json!({"id": home, "content": "At the end"}),
        )
        .await;
    assert!(t.contains("Added 1 block"), "{t}");
    let end_block = first_id(t.split("ids:").nth(1).unwrap());
    h.text(
        T,
        "append_blocks",
        json!({"id": home, "content": "At the start", "position": "start"}),
    )
    .await;
    h.text(
        T,
        "append_blocks",
        json!({"id": home, "position": id("second"), "blocks": [
            {"type": "to_do", "to_do": {"rich_text": [{"type": "text", "text": {"content": "After second"}}]}}]}),
    )
    .await;
    let kids = h.text(T, "get_block_children", json!({"id": home})).await;
    let order: Vec<usize> = [
        "At the start",
        "First",
        "Second",
        "After second",
        "At the end",
    ]
    .iter()
    .map(|s| {
        kids.find(s)
            .unwrap_or_else(|| panic!("{s} missing: {kids}"))
    })
    .collect();
    assert!(order.windows(2).all(|w| w[0] < w[1]), "{kids}");

    // Update text, checked, color; the to-do is found by its id in the listing.
    let t = h
        .text(
            T,
            "update_block",
            json!({"id": end_block, "text": "Changed text", "color": "red"}),
        )
        .await;
    assert!(t.contains("Changed text"), "{t}");
    let kids = h
        .text(
            T,
            "get_block_children",
            json!({"id": home, "format": "json"}),
        )
        .await;
    let v: Value = json_data(&kids);
    let todo = v["results"]
        .as_array()
        .unwrap()
        .iter()
        .find(|b| b["type"] == "to_do")
        .unwrap()["id"]
        .as_str()
        .unwrap()
        .to_string();
    h.text(T, "update_block", json!({"id": todo, "checked": true}))
        .await;
    let b = h
        .fake()
        .with_state(|s| s.blocks[&todo.parse().unwrap()].data.clone());
    assert_eq!(b["checked"], true);
    let r = h
        .call(T, "update_block", json!({"id": end_block, "checked": true}))
        .await;
    assert_eq!(error_of(&r)["field"], "checked");
    let r = h.call(T, "update_block", json!({"id": end_block})).await;
    assert_eq!(error_of(&r)["field"], "arguments");

    // Delete moves to the trash.
    let r = h
        .call(T, "update_block", json!({"id": todo, "delete": true}))
        .await;
    assert_eq!(r["isError"], true, "update_block no longer deletes: {r}");
    let t = h.text(T, "delete_block", json!({"id": todo})).await;
    assert!(t.contains("trash"), "{t}");
    let kids = h.text(T, "get_block_children", json!({"id": home})).await;
    assert!(!kids.contains("After second"), "{kids}");
    let r = h.call(T, "delete_block", json!({"id": id("ghost")})).await;
    let e = error_of(&r);
    assert_eq!(e["status"], 404);
    assert!(e["message"].as_str().unwrap().contains("block"), "{e}");
    let r = h
        .call(
            T,
            "append_blocks",
            json!({"id": home, "position": "middle"}),
        )
        .await;
    assert_eq!(error_of(&r)["field"], "position");
    h.shutdown().await;
}

#[tokio::test]
async fn databases_schemas_and_data_sources() {
    let h = Harness::start(fixture()).await;
    // A relation given by database id resolves to its data source.
    let t = h
        .text(
            T,
            "create_database",
            json!({"parent": id("home"), "title": "Projects", "description": "All of them",
                "properties": {"Name": "title", "Status": {"select": ["Todo", "Done"]}, "Due": "date",
                    "Task": {"relation": id("tasks")}}}),
        )
        .await;
    let db = first_id(&t);
    let ds = first_id(t.split("Data source:").nth(1).unwrap());
    let schema = h.text(T, "get_data_source", json!({"id": ds})).await;
    for p in ["Status", "Due", "Task", "Todo"] {
        assert!(schema.contains(p), "{p}: {schema}");
    }
    let stored = h.fake().with_state(|s| {
        s.data_sources[&ds.parse().unwrap()]
            .prop("Task")
            .map(|p| p.config["data_source_id"].clone())
    });
    assert_eq!(stored, Some(json!(id("tasks-ds"))));

    // add / rename / remove, addressed by the database id.
    let t = h
        .text(
            T,
            "update_data_source",
            json!({"id": db, "add": {"Budget": {"number": "dollar"}}, "rename": {"Due": "Deadline"},
                   "remove": ["Status"]}),
        )
        .await;
    assert!(
        t.contains("Budget") && t.contains("Deadline") && !t.contains("Status"),
        "{t}"
    );
    let r = h
        .call(
            T,
            "update_data_source",
            json!({"id": ds, "rename": {"Nope": "X"}}),
        )
        .await;
    assert_eq!(error_of(&r)["field"], "rename.Nope");
    let r = h
        .call(
            T,
            "update_data_source",
            json!({"id": ds, "remove": ["Ghost"]}),
        )
        .await;
    assert_eq!(error_of(&r)["field"], "remove[0]");
    let r = h
        .call(
            T,
            "update_data_source",
            json!({"id": ds, "add": {"X": "colour"}}),
        )
        .await;
    assert_eq!(error_of(&r)["field"], "add.X");
    let r = h.call(T, "update_data_source", json!({"id": ds})).await;
    assert_eq!(error_of(&r)["field"], "arguments");
    let r = h
        .call(
            T,
            "update_data_source",
            json!({"id": id("ghost"), "title": "X"}),
        )
        .await;
    assert_eq!(error_of(&r)["code"], "object_not_found");
    let t = h
        .text(
            T,
            "update_data_source",
            json!({"id": ds, "title": "Main table", "rename": {"Deadline": "Due date"}}),
        )
        .await;
    assert!(t.contains("Main table") && t.contains("Due date"), "{t}");
    // The schema is no longer changed through update_database.
    let r = h
        .call(
            T,
            "update_database",
            json!({"id": db, "add": {"Y": "number"}}),
        )
        .await;
    assert_eq!(r["isError"], true, "{r}");

    // A second data source; then title, lock and trash of the container.
    let t = h
        .text(
            T,
            "create_data_source",
            json!({"database": db, "title": "Archive", "properties": {"Title": "title", "Year": "number"}}),
        )
        .await;
    assert!(t.contains("Archive") && t.contains(&db), "{t}");
    let n = h
        .fake()
        .with_state(|s| s.databases[&db.parse().unwrap()].data_sources.len());
    assert_eq!(n, 2);
    let t = h
        .text(
            T,
            "update_database",
            json!({"id": db, "title": "Projects 2", "locked": true}),
        )
        .await;
    assert!(t.contains("Projects 2") && t.contains("locked"), "{t}");
    // A data source id names its database.
    let t = h
        .text(
            T,
            "update_database",
            json!({"id": ds, "description": "Renamed"}),
        )
        .await;
    assert!(t.contains(&db), "{t}");
    let r = h.call(T, "update_database", json!({"id": db})).await;
    assert_eq!(error_of(&r)["field"], "arguments");
    let t = h
        .text(T, "update_database", json!({"id": db, "trash": true}))
        .await;
    assert!(t.contains("trash"), "{t}");
    let r = h
        .call(
            T,
            "create_database",
            json!({"parent": id("home"), "title": "X",
            "properties": {"R": {"relation": id("ghost")}}}),
        )
        .await;
    assert_eq!(error_of(&r)["field"], "properties.R");
    let r = h
        .call(
            T,
            "create_data_source",
            json!({"database": id("ghost"), "properties": {}}),
        )
        .await;
    assert_eq!(error_of(&r)["code"], "object_not_found");
    let r = h
        .call(
            T,
            "create_data_source",
            json!({"database": db, "properties": {"X": "colour"}}),
        )
        .await;
    assert_eq!(error_of(&r)["field"], "properties.X");
    let r = h
        .call(T, "create_database", json!({"parent": id("home")}))
        .await;
    assert!(result_text(&r).contains("title"), "{r}");
    h.shutdown().await;
}

#[tokio::test]
async fn comments_and_replies() {
    let h = Harness::start(fixture()).await;
    let t = h
        .text(
            T,
            "create_comment",
            json!({"on": id("home"), "text": "Looks **good**"}),
        )
        .await;
    let discussion = first_id(t.split("discussion").nth(1).unwrap());
    h.text(
        T,
        "create_comment",
        json!({"discussion": discussion, "text": "Thanks"}),
    )
    .await;
    h.text(
        T,
        "create_comment",
        json!({"on": id("second"), "text": "On a block"}),
    )
    .await;
    let list = h.text(T, "list_comments", json!({"id": id("home")})).await;
    assert!(
        list.contains("**good**") && list.contains("Thanks"),
        "{list}"
    );
    assert_eq!(list.matches("Discussion").count(), 1, "{list}");
    let on_block = h
        .text(T, "list_comments", json!({"id": id("second")}))
        .await;
    assert!(on_block.contains("On a block"), "{on_block}");
    let r = h
        .call(T, "create_comment", json!({"text": "no target"}))
        .await;
    assert_eq!(error_of(&r)["field"], "on");
    let r = h
        .call(
            T,
            "create_comment",
            json!({"discussion": id("nope"), "text": "x"}),
        )
        .await;
    assert_eq!(error_of(&r)["code"], "object_not_found");
    h.shutdown().await;
}
