//! Webhook events of API writes: signatures, the envelope, and the event of each kind of change
//! (pages, blocks, databases and data sources, comments, file uploads; older subscription versions).
#![allow(clippy::unwrap_used)]

mod common;

use common::Api;
use common::webhooks::{TOKEN, id, setup, text, verify};
use notion_fake::{Author, Change, GeneratedIds, WebhookSubscription, sign, stable_id};
use serde_json::{Value, json};

async fn bot_id(api: &Api) -> String {
    let (_, me) = api.get("/v1/users/me").await;
    me["id"].as_str().unwrap().to_string()
}

#[tokio::test]
async fn events_are_signed_and_carry_the_envelope() {
    let (api, rx) = setup(|s| s).await;
    let (s, page) = api
        .post(
            "/v1/pages",
            json!({"parent": {"page_id": id("doc")}, "properties": {"title": {"title": text("New")}}}),
        )
        .await;
    assert_eq!(s, 200, "{page}");
    api.fake().webhooks_idle().await;
    let raw = rx.raw();
    assert_eq!(raw.len(), 1);
    let (headers, body) = &raw[0];
    assert_eq!(headers["content-type"], "application/json");
    let signature = headers["x-notion-signature"].to_str().unwrap();
    assert_eq!(signature.len(), 7 + 64);
    assert!(verify(TOKEN, body, signature));
    assert!(!verify("secret_other", body, signature));
    assert_eq!(signature, sign(TOKEN, body));

    let event: Value = serde_json::from_slice(body).unwrap();
    let sub = WebhookSubscription::new(&rx.url, TOKEN);
    let bot = bot_id(&api).await;
    assert!(event["id"].as_str().unwrap().parse::<uuid::Uuid>().is_ok());
    let ts = event["timestamp"].as_str().unwrap();
    assert!(ts.ends_with('Z') && ts.len() == 24, "{ts}");
    assert!(
        time::OffsetDateTime::parse(ts, &time::format_description::well_known::Rfc3339).is_ok()
    );
    assert_eq!(
        event["workspace_id"],
        GeneratedIds::workspace("W").to_string()
    );
    assert_eq!(event["workspace_name"], "W");
    assert_eq!(event["subscription_id"], sub.subscription_id.to_string());
    assert_eq!(event["integration_id"], sub.integration_id.to_string());
    assert_eq!(event["type"], "page.created");
    assert_eq!(event["authors"], json!([{"id": bot, "type": "bot"}]));
    assert_eq!(event["accessible_by"], json!([{"id": bot, "type": "bot"}]));
    assert_eq!(event["attempt_number"], 1);
    assert_eq!(event["api_version"], "2025-09-03");
    assert_eq!(event["entity"], json!({"id": page["id"], "type": "page"}));
    assert_eq!(
        event["data"],
        json!({"parent": {"id": id("doc"), "type": "page"}})
    );

    let log = api.fake().webhook_deliveries();
    assert_eq!(log.len(), 1);
    assert_eq!(log[0].event_type, "page.created");
    assert_eq!(log[0].event_id.unwrap().to_string(), event["id"]);
    assert_eq!(log[0].entity_id.unwrap().to_string(), page["id"]);
    assert_eq!(
        (log[0].attempt, log[0].status, log[0].dropped),
        (1, Some(200), false)
    );
}

#[tokio::test]
async fn page_writes_emit_page_and_data_source_events() {
    let (api, rx) = setup(|s| s).await;
    let (db, ds) = (GeneratedIds::database("T"), GeneratedIds::data_source("T"));
    let parent =
        json!({"id": db.to_string(), "type": "database", "data_source_id": ds.to_string()});
    let (_, created) = api
        .post(
            "/v1/pages",
            json!({"parent": {"data_source_id": ds}, "properties": {"Name": {"title": text("Row")}}}),
        )
        .await;
    api.fake().webhooks_idle().await;
    assert_eq!(rx.types(), ["page.created", "data_source.content_updated"]);
    assert_eq!(rx.one("page.created")["data"]["parent"], parent);
    let content = rx.one("data_source.content_updated");
    assert_eq!(
        content["entity"],
        json!({"id": ds.to_string(), "type": "data_source"})
    );
    assert_eq!(
        content["data"],
        json!({"parent": {"id": db.to_string(), "type": "database"},
               "updated_blocks": [{"id": created["id"], "type": "page"}]})
    );

    rx.clear();
    let row = GeneratedIds::row("T", 0).to_string();
    let (_, schema) = api.get(&format!("/v1/data_sources/{ds}")).await;
    let number = schema["properties"]["Number"]["id"].clone();
    let path = format!("/v1/pages/{row}");
    let (s, b) = api
        .patch(&path, json!({"properties": {"Number": {"number": 42}}}))
        .await;
    assert_eq!(s, 200, "{b}");
    api.fake().webhooks_idle().await;
    assert_eq!(
        rx.types(),
        ["page.properties_updated", "data_source.content_updated"]
    );
    let props = rx.one("page.properties_updated");
    assert_eq!(props["entity"], json!({"id": row, "type": "page"}));
    assert_eq!(props["data"]["updated_properties"], json!([number]));
    assert_eq!(props["data"]["parent"], parent);

    for (body, kind) in [
        (json!({"is_locked": true}), "page.locked"),
        (json!({"is_locked": false}), "page.unlocked"),
        (json!({"in_trash": true}), "page.deleted"),
        (json!({"in_trash": false}), "page.undeleted"),
    ] {
        rx.clear();
        api.patch(&path, body).await;
        api.fake().webhooks_idle().await;
        assert_eq!(rx.one(kind)["entity"]["id"], row);
    }

    rx.clear();
    let (s, b) = api
        .post(
            &format!("/v1/pages/{row}/move"),
            json!({"parent": {"page_id": id("doc")}}),
        )
        .await;
    assert_eq!(s, 200, "{b}");
    api.fake().webhooks_idle().await;
    assert_eq!(rx.types(), ["page.moved", "data_source.content_updated"]);
    let moved = rx.one("page.moved");
    assert_eq!(
        moved["data"]["parent"],
        json!({"id": id("doc"), "type": "page"})
    );

    rx.clear();
    api.post(
        "/v1/pages",
        json!({"parent": {"workspace": true}, "properties": {"title": {"title": text("Root")}}}),
    )
    .await;
    api.fake().webhooks_idle().await;
    let root = rx.one("page.created");
    assert_eq!(
        root["data"]["parent"],
        json!({"id": root["workspace_id"], "type": "space"})
    );
}

#[tokio::test]
async fn block_writes_emit_content_updated_on_the_nearest_page() {
    let (api, rx) = setup(|s| s).await;
    let doc = id("doc");
    let para = json!({"paragraph": {"rich_text": text("added")}});
    let (_, appended) = api
        .patch(
            &format!("/v1/blocks/{doc}/children"),
            json!({"children": [para.clone(), para.clone()]}),
        )
        .await;
    let new_ids: Vec<Value> = appended["results"]
        .as_array()
        .unwrap()
        .iter()
        .map(|b| json!({"id": b["id"], "type": "block"}))
        .collect();
    api.patch(
        &format!("/v1/blocks/{}/children", id("b2")),
        json!({"children": [para]}),
    )
    .await;
    api.patch(
        &format!("/v1/blocks/{}", id("b1")),
        json!({"paragraph": {"rich_text": text("edited")}}),
    )
    .await;
    api.delete(&format!("/v1/blocks/{}", id("b1"))).await;
    api.fake().webhooks_idle().await;
    let events = rx.bodies();
    assert_eq!(events.len(), 4, "{:?}", rx.types());
    for e in &events {
        assert_eq!(e["type"], "page.content_updated");
        assert_eq!(e["entity"], json!({"id": doc, "type": "page"}));
        assert_eq!(
            e["data"]["parent"],
            json!({"id": e["workspace_id"], "type": "space"})
        );
    }
    assert_eq!(events[0]["data"]["updated_blocks"], json!(new_ids));
    assert_eq!(
        events[1]["data"]["updated_blocks"]
            .as_array()
            .unwrap()
            .len(),
        1
    );
    let b1 = json!([{"id": id("b1"), "type": "block"}]);
    assert_eq!(events[2]["data"]["updated_blocks"], b1);
    assert_eq!(events[3]["data"]["updated_blocks"], b1);

    rx.clear();
    let (s, b) = api
        .patch(
            &format!("/v1/pages/{doc}/markdown"),
            json!({"type": "replace_content", "replace_content": {"new_str": "Just this."}}),
        )
        .await;
    assert_eq!(s, 200, "{b}");
    api.fake().webhooks_idle().await;
    let replaced = rx.one("page.content_updated");
    assert!(replaced["data"]["updated_blocks"].as_array().unwrap().len() >= 2);
}

#[tokio::test]
async fn schema_database_comment_and_upload_events() {
    let (api, rx) = setup(|s| s).await;
    let (_, db) = api
        .post(
            "/v1/databases",
            json!({"parent": {"page_id": id("doc")}, "title": text("Fresh"),
                   "initial_data_source": {"properties": {"Name": {"title": {}}}}}),
        )
        .await;
    api.fake().webhooks_idle().await;
    assert_eq!(rx.types(), ["database.created", "data_source.created"]);
    let created = rx.one("database.created");
    assert_eq!(
        created["entity"],
        json!({"id": db["id"], "type": "database"})
    );
    assert_eq!(
        created["data"]["parent"],
        json!({"id": id("doc"), "type": "page"})
    );
    let ds_created = rx.one("data_source.created");
    assert_eq!(ds_created["entity"]["id"], db["data_sources"][0]["id"]);
    assert_eq!(
        ds_created["data"]["parent"],
        json!({"id": db["id"], "type": "database"})
    );

    rx.clear();
    let ds = GeneratedIds::data_source("T");
    let (_, before) = api.get(&format!("/v1/data_sources/{ds}")).await;
    let (s, after) = api
        .patch(
            &format!("/v1/data_sources/{ds}"),
            json!({"properties": {"Points": {"number": {}}, "Number": {"name": "Count"}, "Tag": null}}),
        )
        .await;
    assert_eq!(s, 200, "{after}");
    api.fake().webhooks_idle().await;
    let schema = rx.one("data_source.schema_updated");
    assert_eq!(
        schema["entity"],
        json!({"id": ds.to_string(), "type": "data_source"})
    );
    assert_eq!(
        schema["data"]["updated_properties"],
        json!([
            {"id": before["properties"]["Number"]["id"], "name": "Count", "action": "updated"},
            {"id": after["properties"]["Points"]["id"], "name": "Points", "action": "created"},
            {"id": before["properties"]["Tag"]["id"], "name": null, "action": "deleted"},
        ])
    );

    rx.clear();
    api.patch(
        &format!("/v1/data_sources/{ds}"),
        json!({"title": text("Renamed")}),
    )
    .await;
    api.fake().webhooks_idle().await;
    let renamed = rx.one("data_source.schema_updated");
    assert_eq!(
        renamed["data"],
        json!({"parent": {"id": GeneratedIds::database("T").to_string(), "type": "database"}})
    );

    rx.clear();
    api.patch(
        &format!("/v1/databases/{}", db["id"].as_str().unwrap()),
        json!({"in_trash": true}),
    )
    .await;
    let (_, comment) = api
        .post(
            "/v1/comments",
            json!({"parent": {"page_id": id("doc")}, "rich_text": text("hi")}),
        )
        .await;
    api.post(
        "/v1/comments",
        json!({"parent": {"block_id": id("b1")}, "rich_text": text("on a block")}),
    )
    .await;
    let (_, upload) = api
        .post(
            "/v1/file_uploads",
            json!({"mode": "external_url", "filename": "a.png", "external_url": "https://example.com/a.png"}),
        )
        .await;
    api.fake().webhooks_idle().await;
    assert_eq!(
        rx.types(),
        [
            "database.deleted",
            "comment.created",
            "comment.created",
            "file_upload.created",
            "file_upload.completed"
        ]
    );
    let comments: Vec<Value> = rx
        .bodies()
        .into_iter()
        .filter(|b| b["type"] == "comment.created")
        .collect();
    assert_eq!(
        comments[0]["entity"],
        json!({"id": comment["id"], "type": "comment"})
    );
    assert_eq!(
        comments[0]["data"],
        json!({"page_id": id("doc"), "parent": {"id": id("doc"), "type": "page"}})
    );
    assert_eq!(
        comments[1]["data"],
        json!({"page_id": id("doc"), "parent": {"id": id("b1"), "type": "block"}})
    );
    let done = rx.one("file_upload.completed");
    assert_eq!(
        done["entity"],
        json!({"id": upload["id"], "type": "file_upload"})
    );
    assert!(done.get("data").is_none());
}

#[tokio::test]
async fn older_subscriptions_get_database_events() {
    let (api, rx) = setup(|s| s.api_version("2022-06-28")).await;
    let (db, row) = (GeneratedIds::database("T"), GeneratedIds::row("T", 1));
    api.patch(
        &format!("/v1/pages/{row}"),
        json!({"properties": {"Done": {"checkbox": true}}}),
    )
    .await;
    api.fake().webhooks_idle().await;
    assert_eq!(
        rx.types(),
        ["page.properties_updated", "database.content_updated"]
    );
    let page = rx.one("page.properties_updated");
    assert_eq!(page["api_version"], "2022-06-28");
    assert_eq!(
        page["data"]["parent"],
        json!({"id": db.to_string(), "type": "database"})
    );
    let content = rx.one("database.content_updated");
    assert_eq!(
        content["entity"],
        json!({"id": db.to_string(), "type": "database"})
    );
}

#[tokio::test]
async fn failed_requests_and_reads_emit_nothing() {
    let (api, rx) = setup(|s| s).await;
    let (s, _) = api
        .patch(
            &format!("/v1/pages/{}", id("doc")),
            json!({"properties": {"Nope": {"number": 1}}}),
        )
        .await;
    assert_eq!(s, 400);
    api.get(&format!("/v1/pages/{}", id("doc"))).await;
    api.fake().webhooks_idle().await;
    assert!(rx.raw().is_empty());
    assert!(api.fake().webhook_deliveries().is_empty());
}

#[tokio::test]
async fn changes_made_in_the_app_name_a_person() {
    let (api, rx) = setup(|s| s).await;
    let alice = GeneratedIds::owner("W");
    let doc = stable_id("doc");
    api.fake()
        .emit_webhook_changes(Author::Person(alice), &[Change::PageAppearance(doc)]);
    api.fake().webhooks_idle().await;
    let event = rx.one("page.content_updated");
    assert_eq!(
        event["authors"],
        json!([{"id": alice.to_string(), "type": "person"}])
    );
    assert_eq!(event["entity"]["id"], doc.to_string());
}
