//! Tests of the readable-input conversions.

#![allow(clippy::unwrap_used)]

use super::*;

fn schema_fixture() -> Map<String, Value> {
    json!({
        "Name": {"id": "title", "name": "Name", "type": "title", "title": {}},
        "Status": {"id": "s%3A", "name": "Status", "type": "status", "status": {}},
        "Tags": {"id": "t", "name": "Tags", "type": "multi_select", "multi_select": {}},
        "Due": {"id": "d", "name": "Due", "type": "date", "date": {}},
        "Owner": {"id": "o", "name": "Owner", "type": "people", "people": {}},
        "Done": {"id": "x", "name": "Done", "type": "checkbox", "checkbox": {}},
        "Points": {"id": "p", "name": "Points", "type": "number", "number": {}},
        "Made": {"id": "m", "name": "Made", "type": "created_time", "created_time": {}},
        "Files": {"id": "f", "name": "Files", "type": "files", "files": {}}
    })
    .as_object()
    .cloned()
    .unwrap()
}

#[test]
fn readable_values_become_notion_values() {
    let owner = "a1b2c3d4-e5f6-4a5b-8c9d-0e1f2a3b4c5d";
    let input = json!({"Name": "Title", "Status": "Done", "Tags": ["a", "b"],
        "Due": "2025-01-02", "Owner": owner, "Done": "yes", "Points": "3.5",
        "Files": "https://x.io/a.pdf?sig=1"});
    let out = property_values(&schema_fixture(), input.as_object().unwrap()).unwrap();
    assert_eq!(out["Name"]["title"][0]["text"]["content"], "Title");
    assert_eq!(out["Status"], json!({"status": {"name": "Done"}}));
    assert_eq!(
        out["Tags"],
        json!({"multi_select": [{"name": "a"}, {"name": "b"}]})
    );
    assert_eq!(
        out["Due"],
        json!({"date": {"start": "2025-01-02", "end": null}})
    );
    assert_eq!(out["Owner"], json!({"people": [{"id": owner}]}));
    assert_eq!(out["Done"], json!({"checkbox": true}));
    assert_eq!(out["Points"], json!({"number": 3.5}));
    assert_eq!(out["Files"]["files"][0]["name"], "a.pdf");
}

#[test]
fn raw_values_pass_and_errors_name_the_field() {
    let input = json!({"s%3A": {"status": {"name": "X"}}});
    let out = property_values(&schema_fixture(), input.as_object().unwrap()).unwrap();
    assert_eq!(out["Status"], json!({"status": {"name": "X"}}));
    let e =
        property_values(&schema_fixture(), json!({"Nope": 1}).as_object().unwrap()).unwrap_err();
    assert!(e.to_string().contains("properties.Nope"), "{e}");
    assert!(e.to_string().contains("Status"), "{e}");
    let e =
        property_values(&schema_fixture(), json!({"Made": "x"}).as_object().unwrap()).unwrap_err();
    assert!(e.to_string().contains("computes"), "{e}");
    let e = property_values(
        &schema_fixture(),
        json!({"Due": "soon"}).as_object().unwrap(),
    )
    .unwrap_err();
    assert!(e.to_string().contains("properties.Due"), "{e}");
    let e = property_values(
        &schema_fixture(),
        json!({"Owner": ["nope"]}).as_object().unwrap(),
    )
    .unwrap_err();
    assert!(e.to_string().contains("properties.Owner[0]"), "{e}");
}

#[test]
fn readable_schema_becomes_notion_schema() {
    let ds = "a1b2c3d4e5f64a5b8c9d0e1f2a3b4c5d";
    let input = json!({"Name": "title", "Notes": "text", "Status": {"select": ["Todo", "Done"]},
        "Price": {"number": "dollar"}, "Project": {"relation": ds}, "Calc": {"formula": "1+1"},
        "Raw": {"type": "checkbox", "checkbox": {}}});
    let out = schema("properties", input.as_object().unwrap()).unwrap();
    assert_eq!(out["Name"], json!({"title": {}}));
    assert_eq!(out["Notes"], json!({"rich_text": {}}));
    assert_eq!(
        out["Status"],
        json!({"select": {"options": [{"name": "Todo"}, {"name": "Done"}]}})
    );
    assert_eq!(out["Price"], json!({"number": {"format": "dollar"}}));
    assert_eq!(
        out["Project"]["relation"]["data_source_id"],
        "a1b2c3d4-e5f6-4a5b-8c9d-0e1f2a3b4c5d"
    );
    assert_eq!(out["Calc"], json!({"formula": {"expression": "1+1"}}));
    assert_eq!(out["Raw"], json!({"checkbox": {}}));
    assert_eq!(relation_targets(&out).len(), 1);
    let e = schema("add", json!({"X": "colour"}).as_object().unwrap()).unwrap_err();
    assert!(e.to_string().contains("add.X"), "{e}");
}

#[test]
fn icons_covers_and_long_text() {
    assert_eq!(icon("icon", "🚀").unwrap()["emoji"], "🚀");
    assert_eq!(
        icon("icon", "https://x.io/i.png").unwrap()["type"],
        "external"
    );
    assert!(icon("icon", "rocket").is_err());
    assert_eq!(
        cover("cover", "file_upload:a1b2c3d4e5f64a5b8c9d0e1f2a3b4c5d").unwrap()["type"],
        "file_upload"
    );
    assert!(cover("cover", "x").is_err());
    assert_eq!(plain_rich_text(&"a".repeat(4001)).len(), 3);
    assert!(is_removal("none") && !is_removal("🚀"));
}
