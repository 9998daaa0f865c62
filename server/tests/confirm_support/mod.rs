//! The workspace, server and checks the confirmation tests share.
#![allow(dead_code, clippy::unwrap_used)]

use super::common::{Harness, id};
use notion_fake::{Fixture, PageFixture, TokenFixture};
use notion_mcp_remote::config::ServeArgs;
use serde_json::{Value, json};

pub const T: &str = "ntn_workspace_w";
/// A second token of the same workspace: another caller.
pub const OTHER: &str = "ntn_workspace_w_other";

pub fn fixture() -> Fixture {
    Fixture::builder()
        .workspace("W", T)
        .token(TokenFixture::Plain(OTHER.into()))
        .page(
            PageFixture::new("Home")
                .id("home")
                .child(json!({"id": "first", "paragraph": "First paragraph"}))
                .child(json!({"id": "second", "paragraph": "Second paragraph"})),
        )
        .page(PageFixture::new("Q3 plan").id("plan"))
        .page(PageFixture::new("Old notes").id("old"))
        .build()
}

pub async fn harness(tweak: impl FnOnce(&mut ServeArgs)) -> Harness {
    Harness::start_with(fixture(), tweak).await
}

pub fn page_trashed(h: &Harness, name: &str) -> bool {
    let id = id(name).parse().unwrap();
    h.fake().with_state(|s| s.pages[&id].in_trash)
}

pub fn block_trashed(h: &Harness, name: &str) -> bool {
    let id = id(name).parse().unwrap();
    h.fake().with_state(|s| s.blocks[&id].in_trash)
}

/// An accepted confirmation form.
pub fn accept(confirm: bool) -> Value {
    json!({"action": "accept", "content": {"confirm": confirm}})
}
