//! `duplicate_page` against the fake: Notion's template copy, the block-by-block copy (properties,
//! nested content, a table with its rows, a column list with its columns and deeper content, a
//! sub-page, mentions and `link_to_page` pointed at the copies, a Notion-hosted file uploaded
//! again, an inline database reported as not copied), a source too large refused before anything
//! is written, and the destination's listing read back at once through the cache.
#![allow(clippy::unwrap_used)]

mod common;

use common::{Harness, error_of, first_id, id};
use notion_fake::{Fixture, PageFixture};
use serde_json::{Value, json};

const T: &str = "ntn_workspace_duplicates";

fn fixture() -> Fixture {
    serde_json::from_value(json!({"workspaces": [{
        "name": "Dup",
        "tokens": [T],
        "pages": [
            {"id": "src", "title": "Source", "children": [
                {"paragraph": "Hello from the source"},
                {"toggle": "Details", "children": [{"paragraph": "Nested deep text"}]},
                {"table": [["a1", "b1"], ["a2", "b2"]]}
            ], "databases": [{"id": "inline", "title": "Inline DB", "data_source_id": "inline-ds",
                "properties": {"Name": "title"}, "rows": [{"title": "Row one"}]}]},
            {"id": "dest", "title": "Destination"}
        ]
    }]}))
    .unwrap()
}

/// A PATCH …/children straight to the fake with the same token (raw Notion JSON).
async fn append_raw(h: &Harness, parent: &str, children: Value) -> Value {
    let resp = h
        .http
        .patch(format!("{}/v1/blocks/{parent}/children", h.fake.base_url()))
        .bearer_auth(T)
        .header("Notion-Version", "2026-03-11")
        .json(&json!({ "children": children }))
        .send()
        .await
        .unwrap();
    let status = resp.status();
    let body: Value = resp.json().await.unwrap();
    assert!(status.is_success(), "{body}");
    body
}

fn text(s: &str) -> Value {
    json!({"rich_text": [{"type": "text", "text": {"content": s}}]})
}

/// Kinds and data of the live children of `id` in the fake.
fn children(h: &Harness, id: &str) -> Vec<(String, String, Value)> {
    let id: uuid::Uuid = id.parse().unwrap();
    h.fake().with_state(|s| {
        s.live_children(&id)
            .iter()
            .map(|k| match (s.blocks.get(k), s.pages.get(k)) {
                (Some(b), _) => (k.to_string(), b.kind.clone(), b.data.clone()),
                (None, Some(p)) => (
                    k.to_string(),
                    "child_page".into(),
                    json!({"title": s.page_title(p)}),
                ),
                _ => (k.to_string(), "child_database".into(), Value::Null),
            })
            .collect()
    })
}

#[tokio::test]
async fn a_block_by_block_copy_is_faithful_and_says_what_it_left_out() {
    let h = Harness::start(fixture()).await;
    let src = id("src");
    let sub = first_id(
        &h.text(
            T,
            "create_page",
            json!({"parent": src, "title": "Sub", "content": "Sub content here"}),
        )
        .await,
    );
    append_raw(
        &h,
        &src,
        json!([
            {"type": "column_list", "column_list": {"children": [
                {"type": "column", "column": {"children": [
                    {"type": "toggle", "toggle": {"rich_text": [{"type": "text", "text": {"content": "Col toggle"}}]}}]}},
                {"type": "column", "column": {"children": [{"type": "paragraph", "paragraph": text("Right column")}]}}
            ]}},
            {"type": "link_to_page", "link_to_page": {"type": "page_id", "page_id": sub}},
            {"type": "paragraph", "paragraph": {"rich_text": [
                {"type": "text", "text": {"content": "See "}},
                {"type": "mention", "mention": {"type": "page", "page": {"id": sub}}}]}}
        ]),
    )
    .await;
    // Content below a column's block: only reachable in a later request.
    let list = children(&h, &src)
        .into_iter()
        .find(|c| c.1 == "column_list")
        .unwrap();
    let columns = children(&h, &list.0);
    let toggle = children(&h, &columns[0].0)[0].0.clone();
    append_raw(
        &h,
        &toggle,
        json!([{"type": "paragraph", "paragraph": text("Inside a column, deeper")}]),
    )
    .await;
    h.text(
        T,
        "upload_file",
        json!({"content": "aGVsbG8gZmlsZQ==", "filename": "notes.txt", "attach_to": src}),
    )
    .await;

    let out = h
        .text(
            T,
            "duplicate_page",
            json!({"id": src, "parent": id("dest"), "mode": "copy", "title": "Copy of Source"}),
        )
        .await;
    assert!(out.contains("Copied 2 page(s)"), "{out}");
    assert!(out.contains("1 file(s) re-uploaded"), "{out}");
    assert!(
        out.contains("Not copied:") && out.contains("child_database"),
        "{out}"
    );
    let copy = first_id(out.split("as \"Copy of Source\" (").nth(1).unwrap());
    assert_ne!(copy, src);

    let kids = children(&h, &copy);
    let kinds: Vec<&str> = kids.iter().map(|(_, k, _)| k.as_str()).collect();
    assert_eq!(
        kinds,
        [
            "paragraph",
            "toggle",
            "table",
            "child_page",
            "column_list",
            "link_to_page",
            "paragraph",
            "file"
        ],
        "document order, the sub-page in its place"
    );
    let new_sub = &kids[3].0;
    assert_ne!(new_sub, &sub, "the sub-page was copied, not moved");
    assert_eq!(
        kids[5].2["page_id"],
        json!(new_sub),
        "link_to_page points at the copy"
    );
    let mention = &kids[6].2["rich_text"][1]["mention"]["page"]["id"];
    assert_eq!(mention, &json!(new_sub), "the mention points at the copy");
    assert_eq!(children(&h, &kids[2].0).len(), 2, "the table's rows");
    let columns = children(&h, &kids[4].0);
    assert_eq!(columns.len(), 2);
    let left = children(&h, &columns[0].0);
    assert_eq!(
        children(&h, &left[0].0)[0].2["rich_text"][0]["plain_text"],
        "Inside a column, deeper"
    );
    // The file is a new upload, attached to the copy.
    let src_file = children(&h, &src).last().unwrap().2.clone();
    let new_file = &kids[7].2;
    assert_ne!(src_file["file"]["url"], new_file["file"]["url"]);
    assert_eq!(new_file["type"], "file");
    let body = h.text(T, "fetch", json!({"id": copy})).await;
    assert!(
        body.contains("Nested deep text") && body.contains("a2"),
        "{body}"
    );
    let sub_body = h.text(T, "fetch", json!({"id": new_sub})).await;
    assert!(sub_body.contains("Sub content here"), "{sub_body}");
    // The source is untouched.
    assert_eq!(children(&h, &src).len(), 9);
    h.shutdown().await;
}

#[tokio::test]
async fn the_template_copy_lets_notion_copy_the_content() {
    let h = Harness::start(fixture()).await;
    let src = id("src");
    let out = h.text(T, "duplicate_page", json!({"id": src})).await;
    assert!(out.contains("template copy"), "{out}");
    let copy = first_id(out.split(" as ").nth(1).unwrap());
    let sent = h
        .fake()
        .requests()
        .into_iter()
        .find(|r| r.method == http::Method::POST && r.path == "/v1/pages")
        .unwrap();
    let sent = sent.body.unwrap();
    assert_eq!(sent["template"]["template_id"], json!(src), "{sent}");
    assert!(sent.get("children").is_none());
    let body = h.text(T, "fetch", json!({"id": copy})).await;
    assert!(
        body.contains("Hello from the source") && body.contains("Nested deep text"),
        "{body}"
    );
    // Next to the source (both in the workspace).
    let parent = h
        .fake()
        .with_state(|s| s.pages[&copy.parse().unwrap()].parent);
    assert_eq!(parent, notion_fake::state::Parent::Workspace);
    h.shutdown().await;
}

#[tokio::test]
async fn bad_input_and_a_source_too_large_are_refused_before_writing() {
    // Sub-pages four levels deep: one more than a block-by-block copy takes.
    let mut deep = PageFixture::new("Level 4").id("level4");
    for level in (0..4).rev() {
        deep = PageFixture::new(&format!("Level {level}"))
            .id(&format!("level{level}"))
            .subpage(deep);
    }
    let big = Fixture::builder()
        .workspace("Big", T)
        .page_with_blocks("Huge", 1001)
        .page(PageFixture::new("Small").id("small"))
        .page(deep)
        .build();
    let h = Harness::start(big).await;
    let pages_before = h.fake().with_state(|s| s.pages.len());
    let r = h
        .call(
            T,
            "duplicate_page",
            json!({"id": id("Huge"), "mode": "copy"}),
        )
        .await;
    let e = error_of(&r);
    assert_eq!(e["field"], "id", "{r}");
    let msg = e["message"].as_str().unwrap();
    assert!(
        msg.contains("too large")
            && msg.contains("1000 blocks")
            && msg.contains("nothing was written"),
        "{msg}"
    );
    assert_eq!(h.fake().with_state(|s| s.pages.len()), pages_before);
    assert!(
        !h.fake()
            .requests()
            .iter()
            .any(|r| r.method != http::Method::GET),
        "something was written"
    );
    let r = h
        .call(
            T,
            "duplicate_page",
            json!({"id": id("level0"), "mode": "copy"}),
        )
        .await;
    let msg = error_of(&r)["message"].as_str().unwrap().to_string();
    assert!(msg.contains("sub-pages more than 3 levels deep"), "{msg}");
    assert!(
        !h.fake()
            .requests()
            .iter()
            .any(|r| r.method != http::Method::GET)
    );
    let r = h
        .call(
            T,
            "duplicate_page",
            json!({"id": id("small"), "mode": "clone"}),
        )
        .await;
    assert_eq!(error_of(&r)["field"], "mode", "{r}");
    let r = h
        .call(T, "duplicate_page", json!({"id": "not an id"}))
        .await;
    assert_eq!(error_of(&r)["field"], "id", "{r}");
    h.shutdown().await;
}

#[tokio::test]
async fn the_destination_lists_the_copy_at_once_with_the_cache_on() {
    let h = Harness::start_with(fixture(), |a| {
        a.webhook_verification_token = vec![notion_mcp_remote::config::Redacted(
            "secret_duplicate".to_owned(),
        )];
    })
    .await;
    let dest = id("dest");
    let before = h.text(T, "get_block_children", json!({"id": dest})).await;
    assert!(!before.contains("Source"), "{before}");
    h.text(
        T,
        "duplicate_page",
        json!({"id": id("src"), "parent": dest, "mode": "copy"}),
    )
    .await;
    let after = h.text(T, "get_block_children", json!({"id": dest})).await;
    assert!(
        after.contains("Source"),
        "the cached listing missed the copy: {after}"
    );
    h.shutdown().await;
}
