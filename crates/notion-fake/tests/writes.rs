//! Writes: pages, blocks (append positions, update, delete), move, databases, data sources,
//! comments, templates.
#![allow(clippy::unwrap_used)]

mod common;

use common::{Api, assert_error, title_of};
use notion_fake::{Fixture, GeneratedIds, PageFixture, stable_id};
use serde_json::{Value, json};

fn fixture() -> Fixture {
    Fixture::builder()
        .workspace("W", "ntn_w")
        .page(
            PageFixture::new("Doc")
                .id("doc")
                .child(json!({"id": "b1", "paragraph": "one"}))
                .child(json!({"id": "b2", "paragraph": "two"})),
        )
        .page(PageFixture::new("Other").id("other"))
        .database_with_rows("T", 3)
        .build()
}

fn para(text: &str) -> Value {
    json!({"paragraph": {"rich_text": [{"type": "text", "text": {"content": text}}]}})
}

async fn texts(api: &Api, id: &str) -> Vec<String> {
    api.get_all(&format!("/v1/blocks/{id}/children"))
        .await
        .iter()
        .map(|b| {
            let kind = b["type"].as_str().unwrap();
            b[kind]["rich_text"]
                .as_array()
                .map(|r| {
                    r.iter()
                        .map(|t| t["plain_text"].as_str().unwrap())
                        .collect()
                })
                .unwrap_or_else(|| kind.to_string())
        })
        .collect()
}

#[tokio::test]
async fn append_positions() {
    let api = Api::start(fixture(), "ntn_w").await;
    let doc = stable_id("doc").to_string();
    let path = format!("/v1/blocks/{doc}/children");
    let (s, b) = api
        .patch(
            &path,
            json!({"children": [para("start")], "position": {"type": "start"}}),
        )
        .await;
    assert_eq!(s, 200, "{b}");
    assert_eq!(b["object"], "list");
    assert_eq!(b["results"][0]["type"], "paragraph");
    assert_eq!(
        b["results"][0]["parent"],
        json!({"type": "page_id", "page_id": doc})
    );
    api.patch(&path, json!({"children": [para("after one")], "position": {"type": "after_block", "after_block": {"id": stable_id("b1").to_string()}}})).await;
    api.patch(&path, json!({"children": [para("end")]})).await;
    assert_eq!(
        texts(&api, &doc).await,
        vec!["start", "one", "after one", "two", "end"]
    );
    let (s, b) = api.patch(&path, json!({"children": [para("x")], "position": {"type": "after_block", "after_block": {"id": stable_id("other").to_string()}}})).await;
    assert_error(s, &b, 400, "validation_error");
    // Nested children (two levels) are created and reported through has_children.
    let (s, b) = api
        .patch(
            &path,
            json!({"children": [{"toggle": {"rich_text": [], "children": [para("inner")]}}]}),
        )
        .await;
    assert_eq!(s, 200);
    assert_eq!(b["results"][0]["has_children"], true);
    let toggle = b["results"][0]["id"].as_str().unwrap().to_string();
    assert_eq!(texts(&api, &toggle).await, vec!["inner"]);
    let (_, inner) = api.get(&format!("/v1/blocks/{toggle}/children")).await;
    assert_eq!(
        inner["results"][0]["parent"],
        json!({"type": "block_id", "block_id": toggle})
    );
}

#[tokio::test]
async fn update_and_delete_blocks() {
    let api = Api::start(fixture(), "ntn_w").await;
    let b1 = stable_id("b1").to_string();
    let (s, b) = api.patch(&format!("/v1/blocks/{b1}"), json!({"paragraph": {"rich_text": [{"text": {"content": "edited"}, "annotations": {"bold": true}}]}})).await;
    assert_eq!(s, 200, "{b}");
    assert_eq!(b["paragraph"]["rich_text"][0]["plain_text"], "edited");
    assert_eq!(b["paragraph"]["rich_text"][0]["annotations"]["bold"], true);
    assert_eq!(b["paragraph"]["color"], "default");
    let (s, b) = api
        .patch(
            &format!("/v1/blocks/{b1}"),
            json!({"to_do": {"rich_text": []}}),
        )
        .await;
    assert_error(s, &b, 400, "validation_error");
    let (s, b) = api.delete(&format!("/v1/blocks/{b1}")).await;
    assert_eq!(s, 200);
    assert_eq!(b["in_trash"], true);
    assert_eq!(
        texts(&api, &stable_id("doc").to_string()).await,
        vec!["two"]
    );
    let (s, b) = api
        .patch(
            &format!("/v1/blocks/{b1}"),
            json!({"paragraph": {"rich_text": []}}),
        )
        .await;
    assert_error(s, &b, 400, "validation_error");
    let (s, b) = api
        .patch(&format!("/v1/blocks/{b1}"), json!({"in_trash": false}))
        .await;
    assert_eq!(s, 200, "{b}");
    assert_eq!(
        texts(&api, &stable_id("doc").to_string()).await,
        vec!["edited", "two"]
    );
    // A page deleted through the blocks endpoint goes to the trash.
    let (s, b) = api
        .delete(&format!("/v1/blocks/{}", stable_id("other")))
        .await;
    assert_eq!(s, 200);
    assert_eq!(b["type"], "child_page");
    let (_, page) = api.get(&format!("/v1/pages/{}", stable_id("other"))).await;
    assert_eq!(page["in_trash"], true);
}

#[tokio::test]
async fn create_update_and_move_pages() {
    let api = Api::start(fixture(), "ntn_w").await;
    let doc = stable_id("doc").to_string();
    let (s, page) = api
        .post(
            "/v1/pages",
            json!({
                "parent": {"page_id": doc},
                "properties": {"title": {"title": [{"text": {"content": "Child"}}]}},
                "icon": {"type": "emoji", "emoji": "🧪"},
                "children": [para("body")]
            }),
        )
        .await;
    assert_eq!(s, 200, "{page}");
    let id = page["id"].as_str().unwrap().to_string();
    assert_eq!(page["parent"], json!({"type": "page_id", "page_id": doc}));
    assert_eq!(texts(&api, &id).await, vec!["body"]);
    let kids = api.get_all(&format!("/v1/blocks/{doc}/children")).await;
    assert_eq!(kids.last().unwrap()["type"], "child_page");
    assert_eq!(kids.last().unwrap()["child_page"]["title"], "Child");

    let ds = GeneratedIds::data_source("T").to_string();
    let (s, row) = api
        .post(
            "/v1/pages",
            json!({"parent": {"data_source_id": ds}, "properties": {
                "Name": {"title": [{"text": {"content": "New row"}}]},
                "Number": {"number": 42},
                "Tag": {"select": {"name": "purple"}},
                "Done": {"checkbox": true},
                "Due": {"date": {"start": "2025-07-01"}}
            }}),
        )
        .await;
    assert_eq!(s, 200, "{row}");
    assert_eq!(row["parent"]["type"], "data_source_id");
    assert_eq!(
        row["parent"]["database_id"],
        GeneratedIds::database("T").to_string()
    );
    assert_eq!(row["properties"]["Tag"]["select"]["name"], "purple");
    let (_, schema) = api.get(&format!("/v1/data_sources/{ds}")).await;
    assert_eq!(
        schema["properties"]["Tag"]["select"]["options"]
            .as_array()
            .unwrap()
            .len(),
        4
    );
    let row_id = row["id"].as_str().unwrap().to_string();
    let (s, b) = api
        .patch(
            &format!("/v1/pages/{row_id}"),
            json!({"properties": {"Number": {"number": "x"}}}),
        )
        .await;
    assert_error(s, &b, 400, "validation_error");
    let (s, b) = api
        .patch(
            &format!("/v1/pages/{row_id}"),
            json!({"properties": {"Missing": {"number": 1}}}),
        )
        .await;
    assert_error(s, &b, 400, "validation_error");
    let (s, b) = api
        .patch(
            &format!("/v1/pages/{row_id}"),
            json!({"properties": {"Number": {"number": 7}}, "is_locked": true}),
        )
        .await;
    assert_eq!(s, 200, "{b}");
    assert_eq!(b["properties"]["Number"]["number"], 7);
    assert_eq!(b["is_locked"], true);
    // Via database_id parent (single data source).
    let (s, b) = api.post("/v1/pages", json!({"parent": {"database_id": GeneratedIds::database("T").to_string()}, "properties": {"Name": {"title": []}}})).await;
    assert_eq!(s, 200, "{b}");

    let (s, moved) = api
        .post(
            &format!("/v1/pages/{id}/move"),
            json!({"parent": {"type": "data_source_id", "data_source_id": ds}}),
        )
        .await;
    assert_eq!(s, 200, "{moved}");
    assert_eq!(title_of(&moved), "Child");
    assert_eq!(moved["parent"]["data_source_id"], ds);
    let kids = api.get_all(&format!("/v1/blocks/{doc}/children")).await;
    assert!(kids.iter().all(|k| k["type"] != "child_page"));
    let (s, b) = api
        .post(
            &format!("/v1/pages/{doc}/move"),
            json!({"parent": {"page_id": doc}}),
        )
        .await;
    assert_error(s, &b, 400, "validation_error");
}

#[tokio::test]
async fn databases_and_data_sources() {
    let api = Api::start(fixture(), "ntn_w").await;
    let doc = stable_id("doc").to_string();
    let target_ds = GeneratedIds::data_source("T").to_string();
    let (s, db) = api
        .post("/v1/databases", json!({
            "parent": {"type": "page_id", "page_id": doc},
            "title": [{"text": {"content": "Bugs"}}],
            "is_inline": true,
            "initial_data_source": {"properties": {
                "Title": {"title": {}},
                "Severity": {"select": {"options": [{"name": "P1", "color": "red"}, {"name": "P2"}]}},
                "Related": {"relation": {"data_source_id": target_ds, "type": "single_property", "single_property": {}}}
            }}
        }))
        .await;
    assert_eq!(s, 200, "{db}");
    assert_eq!(db["object"], "database");
    assert_eq!(db["is_inline"], true);
    let ds_id = db["data_sources"][0]["id"].as_str().unwrap().to_string();
    assert_eq!(db["data_sources"][0]["name"], "Bugs");
    let kids = api.get_all(&format!("/v1/blocks/{doc}/children")).await;
    assert_eq!(kids.last().unwrap()["type"], "child_database");
    let (_, ds) = api.get(&format!("/v1/data_sources/{ds_id}")).await;
    assert_eq!(ds["object"], "data_source");
    assert_eq!(
        ds["parent"],
        json!({"type": "database_id", "database_id": db["id"]})
    );
    assert_eq!(
        ds["database_parent"],
        json!({"type": "page_id", "page_id": doc})
    );
    assert_eq!(ds["properties"]["Title"]["id"], "title");
    assert_eq!(
        ds["properties"]["Severity"]["select"]["options"][0]["color"],
        "red"
    );
    assert_eq!(
        ds["properties"]["Related"]["relation"]["database_id"],
        GeneratedIds::database("T").to_string()
    );

    let (s, ds) = api
        .patch(
            &format!("/v1/data_sources/{ds_id}"),
            json!({"properties": {
            "Severity": {"name": "Priority"},
            "Points": {"number": {"format": "number"}},
            "Related": null
        }, "title": [{"text": {"content": "Bug list"}}]}),
        )
        .await;
    assert_eq!(s, 200, "{ds}");
    let names: Vec<&String> = ds["properties"].as_object().unwrap().keys().collect();
    assert_eq!(names, vec!["Title", "Priority", "Points"]);
    let (s, b) = api
        .patch(
            &format!("/v1/data_sources/{ds_id}"),
            json!({"properties": {"Title": null}}),
        )
        .await;
    assert_error(s, &b, 400, "validation_error");
    let (s, b) = api.patch(&format!("/v1/data_sources/{ds_id}"), json!({"properties": {"Bad": {"relation": {"data_source_id": stable_id("nowhere").to_string()}}}})).await;
    assert_error(s, &b, 400, "validation_error");

    let db_id = db["id"].as_str().unwrap().to_string();
    let (s, second) = api.post("/v1/data_sources", json!({"parent": {"type": "database_id", "database_id": db_id}, "title": [{"text": {"content": "Archive"}}], "properties": {"Name": {"title": {}}}})).await;
    assert_eq!(s, 200, "{second}");
    let (_, db) = api.get(&format!("/v1/databases/{db_id}")).await;
    assert_eq!(db["data_sources"].as_array().unwrap().len(), 2);
    let (s, b) = api
        .post(
            "/v1/pages",
            json!({"parent": {"database_id": db_id}, "properties": {}}),
        )
        .await;
    assert_error(s, &b, 400, "validation_error");
    let (s, db) = api
        .patch(
            &format!("/v1/databases/{db_id}"),
            json!({"title": [{"text": {"content": "Renamed"}}], "in_trash": true}),
        )
        .await;
    assert_eq!(s, 200, "{db}");
    assert_eq!(db["in_trash"], true);
    let (s, t) = api
        .get(&format!("/v1/data_sources/{target_ds}/templates"))
        .await;
    assert_eq!(s, 200);
    assert_eq!(t["templates"], json!([]));
}

#[tokio::test]
async fn comments_threads_and_templates() {
    let api = Api::start(Fixture::sample(), "ntn_demo_acme").await;
    let home = stable_id("acme-home").to_string();
    let (s, c) = api.post("/v1/comments", json!({"parent": {"page_id": home}, "rich_text": [{"text": {"content": "New thread"}}]})).await;
    assert_eq!(s, 200, "{c}");
    assert_eq!(c["object"], "comment");
    assert_eq!(c["display_name"]["type"], "integration");
    let (s, reply) = api.post("/v1/comments", json!({"discussion_id": stable_id("discussion-home").to_string(), "rich_text": [{"text": {"content": "Reply"}}]})).await;
    assert_eq!(s, 200, "{reply}");
    assert_eq!(reply["parent"], json!({"type": "page_id", "page_id": home}));
    let all = api.get_all(&format!("/v1/comments?block_id={home}")).await;
    assert_eq!(all.len(), 4);
    let (s, one) = api
        .get(&format!("/v1/comments/{}", stable_id("comment-1")))
        .await;
    assert_eq!(s, 200);
    assert_eq!(one["rich_text"][1]["annotations"]["bold"], true);
    let (s, t) = api
        .get(&format!(
            "/v1/data_sources/{}/templates",
            stable_id("acme-projects-ds")
        ))
        .await;
    assert_eq!(s, 200, "{t}");
    assert_eq!(t["templates"][0]["name"], "Project brief");
    assert_eq!(t["templates"][0]["is_default"], true);
}
