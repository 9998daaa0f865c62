//! The workspace the write-tool tests run against.
#![allow(dead_code, clippy::unwrap_used)]

use notion_fake::{DatabaseFixture, Fixture, PageFixture};
use serde_json::json;

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
