//! Shared fixture and helpers of the write-tool tests.
#![allow(dead_code, clippy::unwrap_used)]

use notion_fake::{DatabaseFixture, Fixture, PageFixture, stable_id};
use serde_json::{Value, json};

pub const T: &str = "ntn_workspace_w";

pub fn fixture() -> Fixture {
    Fixture::builder()
        .workspace("W", T)
        .page(
            PageFixture::new("Home")
                .id("home")
                .child(json!({"paragraph": "First"}))
                .child(json!({"id": "second", "paragraph": "Second"})),
        )
        .page(PageFixture::new("Archive").id("archive"))
        .database(
            DatabaseFixture::new("Tasks")
                .id("tasks")
                .data_source_id("tasks-ds")
                .parent_page("home")
                .property("Name", json!("title"))
                .property("Status", json!({"status": ["Todo", "Done"]}))
                .property("Tags", json!({"multi_select": ["a"]}))
                .property("Due", json!("date"))
                .property("Owner", json!("people"))
                .property("Done", json!("checkbox"))
                .property("Points", json!({"number": {"format": "number"}}))
                .property("Files", json!("files"))
                .property("Made", json!("created_time")),
        )
        .build()
}

pub fn id(name: &str) -> String {
    stable_id(name).to_string()
}

/// The first UUID in a tool's text (the id of what it created).
pub fn first_id(text: &str) -> String {
    let hex = |c: char| c.is_ascii_hexdigit() || c == '-';
    text.split(|c: char| !hex(c))
        .find(|w| w.len() == 36 && w.matches('-').count() == 4)
        .unwrap_or_else(|| panic!("no id in {text}"))
        .to_string()
}

pub fn error_of(r: &Value) -> &Value {
    assert_eq!(r["isError"], true, "expected an error: {r}");
    &r["structuredContent"]["error"]
}
