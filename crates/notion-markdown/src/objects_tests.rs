//! Tests for the object renderers (page headers, row tables, schemas, databases, users).
#![allow(clippy::unwrap_used)]

use super::*;
use serde_json::json;

fn title(text: &str) -> Value {
    json!({"id":"title","type":"title","title":[
        {"type":"text","text":{"content":text,"link":null},"plain_text":text,"href":null}]})
}

fn page(v: Value) -> Page {
    serde_json::from_value(v).unwrap()
}

#[test]
fn page_header_with_icon_properties_and_ids() {
    let p = page(json!({
        "object":"page","id":"11111111-2222-3333-4444-555555555555",
        "url":"https://www.notion.so/Plan-11111111222233334444555555555555",
        "icon":{"type":"emoji","emoji":"🚀"},
        "parent":{"type":"data_source_id","data_source_id":"ds-1","database_id":"db-1"},
        "properties":{
            "Status":{"id":"s","type":"status","status":{"id":"x","name":"Done","color":"green"}},
            "Name":title("Plan"),
            "Notes":{"id":"n","type":"rich_text","rich_text":[
                {"type":"text","text":{"content":"a|b"},"plain_text":"a|b"}]}
        }
    }));
    assert_eq!(
        page_header(&p),
        "# 🚀 Plan\n\n| Property | Value |\n|---|---|\n| Status | Done |\n| Notes | a\\|b |\n\n\
         id: 11111111-2222-3333-4444-555555555555 · parent: data_source_id ds-1 · \
         url: https://www.notion.so/Plan-11111111222233334444555555555555\n"
    );
}

#[test]
fn page_header_minimal() {
    let p =
        page(json!({"id":"ab-cd","in_trash":true,"parent":{"type":"workspace","workspace":true}}));
    assert_eq!(
        page_header(&p),
        "# Untitled\n\nid: ab-cd · parent: workspace · url: https://www.notion.so/abcd · in trash\n"
    );
    let p = page(json!({}));
    assert!(page_header(&p).starts_with("# Untitled"));
}

#[test]
fn rows_table_with_missing_properties() {
    let rows = vec![
        page(json!({"id":"r1","properties":{
            "Task":title("Write | docs"),
            "Due":{"id":"d","type":"date","date":{"start":"2024-05-01","end":null}},
            "Done":{"id":"c","type":"checkbox","checkbox":true}}})),
        page(json!({"id":"r2","properties":{
            "Task":title("Ship"),
            "Owner":{"id":"o","type":"people","people":[{"object":"user","id":"u1","name":"Ann"}]}}})),
    ];
    assert_eq!(
        rows_table(&rows, None),
        "| Task | Due | Done | Owner | id |\n|---|---|---|---|---|\n\
         | Write \\| docs | 2024-05-01 | yes | | r1 |\n| Ship | | | Ann | r2 |\n"
    );
    let cols = vec![
        "Owner".to_owned(),
        "Task".to_owned(),
        "c".to_owned(),
        "Nope".to_owned(),
    ];
    assert_eq!(
        rows_table(&rows, Some(&cols)),
        "| Task | Owner | Done | Nope | id |\n|---|---|---|---|---|\n\
         | Write \\| docs | | yes | | r1 |\n| Ship | Ann | | | r2 |\n"
    );
    assert_eq!(rows_table(&[], None), "");
    assert_eq!(
        rows_table(&[page(json!({"id":"x"}))], None),
        "| title | id |\n|---|---|\n| | x |\n"
    );
}

#[test]
fn schema_lists_types_and_details() {
    let ds: DataSource = serde_json::from_value(json!({
        "object":"data_source","id":"ds-1",
        "title":[{"type":"text","text":{"content":"Tasks"},"plain_text":"Tasks"}],
        "parent":{"type":"database_id","database_id":"db-1"},
        "properties":{
            "Name":{"id":"title","name":"Name","type":"title","title":{}},
            "Status":{"id":"s","name":"Status","type":"status","status":{"options":[
                {"id":"1","name":"Todo","color":"red"},{"id":"2","name":"Done","color":"green"}],"groups":[]}},
            "Tags":{"id":"t","name":"Tags","type":"multi_select","multi_select":{"options":[]}},
            "Project":{"id":"p","name":"Project","type":"relation","relation":{
                "database_id":"db-2","data_source_id":"ds-2","type":"dual_property",
                "dual_property":{"synced_property_name":"Tasks","synced_property_id":"x"}}},
            "Score":{"id":"f","name":"Score","type":"formula","formula":{"expression":"prop(\"A\") | 2"}},
            "Cost":{"id":"c","name":"Cost","type":"number","number":{"format":"dollar"}},
            "Count":{"id":"k","name":"Count","type":"number","number":{"format":"number"}},
            "Total":{"id":"r","name":"Total","type":"rollup","rollup":{"relation_property_name":"Project",
                "rollup_property_name":"Cost","function":"sum"}},
            "Key":{"id":"u","name":"Key","type":"unique_id","unique_id":{"prefix":"BUG"},
                "description":"ticket key"}
        }
    }))
    .unwrap();
    assert_eq!(
        data_source_schema(&ds),
        "## Tasks\ndata_source_id: ds-1 · database_id: db-1\n\n\
         | Property | Type | Details |\n|---|---|---|\n\
         | Name | title | |\n\
         | Status | status | options: Todo, Done |\n\
         | Tags | multi_select | |\n\
         | Project | relation | → data_source_id ds-2; synced with Tasks |\n\
         | Score | formula | `prop(\"A\") \\| 2` |\n\
         | Cost | number | format: dollar |\n\
         | Count | number | |\n\
         | Total | rollup | sum(Project.Cost) |\n\
         | Key | unique_id | prefix: BUG; ticket key |\n"
    );
    let empty: DataSource = serde_json::from_value(json!({})).unwrap();
    assert_eq!(
        data_source_schema(&empty),
        "## Untitled\ndata_source_id: \n\n| Property | Type | Details |\n|---|---|---|\n"
    );
}

#[test]
fn database_summary_lists_sources() {
    let db: Database = serde_json::from_value(json!({
        "object":"database","id":"db-1","url":"https://www.notion.so/db1",
        "title":[{"type":"text","text":{"content":"Projects"},"plain_text":"Projects"}],
        "description":[{"type":"text","text":{"content":"All *work*"},"plain_text":"All *work*"}],
        "data_sources":[{"id":"ds-1","name":"Main"},{"id":"ds-2","name":""}]
    }))
    .unwrap();
    assert_eq!(
        database_summary(&db),
        "## Projects\ndatabase_id: db-1 · url: https://www.notion.so/db1\nAll \\*work\\*\n\
         data sources (name: data_source_id):\n- Main: ds-1\n- Untitled: ds-2\n"
    );
    let empty: Database = serde_json::from_value(json!({})).unwrap();
    assert_eq!(
        database_summary(&empty),
        "## Untitled\ndatabase_id: \ndata sources: none\n"
    );
}

#[test]
fn user_lines() {
    let u: User = serde_json::from_value(json!({"object":"user","id":"u1","type":"person",
        "name":"Ann","person":{"email":"ann@x.io"}}))
    .unwrap();
    assert_eq!(user_line(&u), "Ann (person, ann@x.io) — u1");
    let b: User = serde_json::from_value(
        json!({"object":"user","id":"b1","type":"bot","name":"Bot","bot":{}}),
    )
    .unwrap();
    assert_eq!(user_line(&b), "Bot (bot) — b1");
    let n: User = serde_json::from_value(json!({"id":"x"})).unwrap();
    assert_eq!(user_line(&n), "(no name) (user) — x");
}
