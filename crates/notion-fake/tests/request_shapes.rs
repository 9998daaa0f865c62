//! Write bodies are checked against Notion's request shapes: readable shorthand that Notion
//! refuses (property values, schema entries, block content, icons) is a 400 `validation_error`
//! naming the field, while the same write in Notion's shape succeeds; fixtures keep their
//! shorthand (converted by the loader).
#![allow(clippy::unwrap_used)]

mod common;

use common::{Api, assert_error};
use notion_fake::{DatabaseFixture, Fixture, PageFixture, stable_id};
use serde_json::{Value, json};

fn fixture() -> Fixture {
    Fixture::builder()
        .workspace("W", "ntn_w")
        .page(PageFixture::new("Doc").id("doc"))
        .database(
            DatabaseFixture::new("Tasks")
                .id("tasks")
                .data_source_id("tasks-ds")
                .parent_page("doc")
                .property("Name", json!("title"))
                .property("Status", json!({"status": ["Todo", "Done"]}))
                .property("Kind", json!({"select": ["Bug"]}))
                .property("Tags", json!({"multi_select": ["a"]}))
                .property("Due", json!("date"))
                .property("Owner", json!("people"))
                .property("Link", json!("url"))
                .property("Files", json!("files"))
                .rows(vec![
                    PageFixture::new("Fixture row")
                        .id("row")
                        .property("Status", json!("Done"))
                        .property("Tags", json!(["a", "b"]))
                        .property("Due", json!("2025-02-01"))
                        .property("Link", json!("https://example.com")),
                ]),
        )
        .build()
}

fn row(properties: Value) -> Value {
    json!({"parent": {"data_source_id": stable_id("tasks-ds").to_string()}, "properties": properties})
}

/// `(properties, text the message must contain)`: each is shorthand Notion refuses.
fn refused_values() -> Vec<(Value, &'static str)> {
    let owner = stable_id("owner").to_string();
    vec![
        (json!({"Status": "Done"}), "Status is expected to be status"),
        (
            json!({"Name": "Plain title"}),
            "Name is expected to be title",
        ),
        (
            json!({"Status": {"status": "Done"}}),
            "body.properties.Status.status should be an object",
        ),
        (
            json!({"Kind": {"select": "Bug"}}),
            "body.properties.Kind.select should be an object",
        ),
        (
            json!({"Tags": {"multi_select": ["a"]}}),
            "body.properties.Tags.multi_select[0] should be an object",
        ),
        (
            json!({"Due": {"date": "2025-01-02"}}),
            "body.properties.Due.date should be an object",
        ),
        (
            json!({"Owner": {"people": [owner]}}),
            "body.properties.Owner.people[0] should be an object",
        ),
        (
            json!({"Name": {"title": "x"}}),
            "body.properties.Name.title should be an array",
        ),
        (
            json!({"Files": {"files": ["https://example.com/a.pdf"]}}),
            "body.properties.Files.files[0] should be an object",
        ),
        (
            json!({"Files": {"files": [{"type": "external", "external": {"url": "https://e.x/a"}}]}}),
            "body.properties.Files.files[0].name should be defined",
        ),
        (
            json!({"Link": {"url": "x".repeat(2001)}}),
            "body.properties.Link.url.length should be ≤ `2000`",
        ),
        (
            json!({"Tags": {"multi_select": (0..101).map(|i| json!({"name": format!("t{i}")})).collect::<Vec<_>>()}}),
            "body.properties.Tags.multi_select.length should be ≤ `100`",
        ),
    ]
}

#[tokio::test]
async fn property_value_shorthand_is_refused() {
    let api = Api::start(fixture(), "ntn_w").await;
    for (properties, message) in refused_values() {
        let (s, b) = api.post("/v1/pages", row(properties.clone())).await;
        assert_error(s, &b, 400, "validation_error");
        let got = b["message"].as_str().unwrap();
        assert!(got.contains(message), "{properties}: {got}");
    }
    // The same values in Notion's shape are accepted.
    let owner = api
        .get("/v1/users")
        .await
        .1
        .pointer("/results/0/id")
        .cloned()
        .unwrap();
    let (s, b) = api
        .post(
            "/v1/pages",
            row(json!({
                "Name": {"title": [{"text": {"content": "Real shape"}}]},
                "Status": {"status": {"name": "Done"}},
                "Kind": {"select": {"name": "Feature"}},
                "Tags": {"multi_select": [{"name": "a"}, {"name": "new"}]},
                "Due": {"date": {"start": "2025-01-02"}},
                "Owner": {"people": [{"id": owner}]},
                "Files": {"files": [{"name": "a.pdf", "type": "external", "external": {"url": "https://e.x/a.pdf"}}]},
                "Link": {"url": null},
            })),
        )
        .await;
    assert_eq!(s, 200, "{b}");
    assert_eq!(b["properties"]["Kind"]["select"]["name"], "Feature");
    assert_eq!(b["properties"]["Due"]["date"]["start"], "2025-01-02");
}

#[tokio::test]
async fn fixtures_keep_their_shorthand() {
    let api = Api::start(fixture(), "ntn_w").await;
    let (s, b) = api.get(&format!("/v1/pages/{}", stable_id("row"))).await;
    assert_eq!(s, 200, "{b}");
    let p = &b["properties"];
    assert_eq!(p["Status"]["status"]["name"], "Done", "{b}");
    assert_eq!(p["Tags"]["multi_select"][1]["name"], "b");
    assert_eq!(p["Due"]["date"]["start"], "2025-02-01");
    assert_eq!(p["Link"]["url"], "https://example.com");
}

#[tokio::test]
async fn schema_and_block_shorthand_is_refused() {
    let api = Api::start(fixture(), "ntn_w").await;
    let doc = stable_id("doc").to_string();
    let ds = stable_id("tasks-ds").to_string();
    let cases = [
        (
            "PATCH",
            format!("/v1/data_sources/{ds}"),
            json!({"properties": {"Due2": "date"}}),
            "body.properties.Due2 should be an object",
        ),
        (
            "PATCH",
            format!("/v1/data_sources/{ds}"),
            json!({"properties": {"Pick": {"select": ["A", "B"]}}}),
            "body.properties.Pick.select should be an object",
        ),
        (
            "PATCH",
            format!("/v1/data_sources/{ds}"),
            json!({"properties": {"Pick": {"select": {"options": ["A"]}}}}),
            "body.properties.Pick.select.options[0].name should be defined",
        ),
        (
            "POST",
            "/v1/databases".to_string(),
            json!({"parent": {"page_id": doc}, "initial_data_source": {"properties": {"Name": "title"}}}),
            "body.properties.Name should be an object",
        ),
        (
            "PATCH",
            format!("/v1/blocks/{doc}/children"),
            json!({"children": [{"paragraph": {"text": [{"text": {"content": "old key"}}]}}]}),
            "body.children[0].paragraph.rich_text should be defined",
        ),
        (
            "PATCH",
            format!("/v1/blocks/{doc}/children"),
            json!({"children": [{"image": {"url": "https://e.x/a.png"}}]}),
            "body.children[0].image.external should be defined",
        ),
        (
            "PATCH",
            format!("/v1/blocks/{doc}/children"),
            json!({"children": [{"callout": {"rich_text": [], "icon": "💡"}}]}),
            "body.children[0].callout.icon should be an object",
        ),
        (
            "PATCH",
            format!("/v1/pages/{doc}"),
            json!({"icon": "📝"}),
            "body.icon should be an object",
        ),
        (
            "PATCH",
            format!("/v1/pages/{doc}"),
            json!({"cover": {"url": "https://e.x/c.png"}}),
            "body.cover should be an `emoji`, `external` or `file_upload` object",
        ),
    ];
    for (method, path, body, message) in cases {
        let (s, b) = if method == "POST" {
            api.post(&path, body.clone()).await
        } else {
            api.patch(&path, body.clone()).await
        };
        assert_error(s, &b, 400, "validation_error");
        let got = b["message"].as_str().unwrap();
        assert!(got.contains(message), "{method} {path} {body}: {got}");
    }
    let (s, b) = api
        .patch(
            &format!("/v1/data_sources/{ds}"),
            json!({"properties": {"Pick": {"select": {"options": [{"name": "A"}]}}, "Due2": {"date": {}}}}),
        )
        .await;
    assert_eq!(s, 200, "{b}");
    let (s, b) = api
        .patch(
            &format!("/v1/pages/{doc}"),
            json!({"icon": {"type": "emoji", "emoji": "📝"}, "cover": {"external": {"url": "https://e.x/c.png"}}}),
        )
        .await;
    assert_eq!(s, 200, "{b}");
    assert_eq!(b["cover"]["type"], "external");
}
