//! The newer surfaces: asynchronous writes (202 with an `async_task` that progresses, succeeds or
//! fails with Notion's error object, visible only to its connection), pages made from another page
//! as a template, and meeting notes (query with filters and the attendee rule, create, errors).
#![allow(clippy::unwrap_used)]

mod common;

use common::{Api, assert_error};
use notion_fake::routes::meeting_notes::{MeetingNoteSeed, add_meeting_note};
use notion_fake::{Fixture, PageFixture, stable_id};
use reqwest::Method;
use serde_json::json;

fn fixture() -> Fixture {
    Fixture::builder()
        .workspace("W", "ntn_w")
        .page(
            PageFixture::new("Doc")
                .id("doc")
                .child(json!({"paragraph": "one"}))
                .child(json!({"toggle": "more", "children": [{"paragraph": "inner"}]})),
        )
        .build()
}

#[tokio::test]
async fn async_writes_answer_202_and_progress_to_their_outcome() {
    let api = Api::start(fixture(), "ntn_w").await;
    let doc = stable_id("doc").to_string();
    let path = format!("/v1/pages/{doc}/markdown");
    let (status, task) = api
        .patch(&path, json!({"type": "replace_content", "replace_content": {"new_str": "Replaced"}, "allow_async": true}))
        .await;
    assert_eq!(status.as_u16(), 202, "{task}");
    assert_eq!(task["object"], "async_task");
    assert_eq!(task["status"], "queued");
    assert_eq!(task["operation"]["name"], "PATCH /v1/pages/{id}/markdown");
    let id = task["id"].as_str().unwrap();
    assert!(id.starts_with("task_"), "{id}");
    let poll = format!("/v1/async_tasks/{id}");
    let (s, running) = api.get(&poll).await;
    assert_eq!(
        (s.as_u16(), running["status"].as_str()),
        (200, Some("running"))
    );
    let (_, done) = api.get(&poll).await;
    assert_eq!(done["status"], "succeeded", "{done}");
    assert_eq!(done["result"]["object"], "page_markdown");
    assert!(
        done["result"]["markdown"]
            .as_str()
            .unwrap()
            .contains("Replaced")
    );

    // Content matching fails only when the task runs: a `failed` task with Notion's error.
    let (status, task) = api
        .patch(
            &path,
            json!({"type": "update_content", "update_content": {"content_updates": [
            {"old_str": "absent text", "new_str": "x"}]}, "allow_async": true}),
        )
        .await;
    assert_eq!(status.as_u16(), 202);
    let poll = format!("/v1/async_tasks/{}", task["id"].as_str().unwrap());
    api.get(&poll).await;
    let (_, failed) = api.get(&poll).await;
    assert_eq!(failed["status"], "failed");
    assert_eq!(failed["error"]["code"], "validation_error");
    assert_eq!(failed["error"]["status"], 400);

    // Access is checked before the 202; allow_async needs markdown on a page create.
    let (s, e) = api
        .patch("/v1/pages/00000000-0000-4000-8000-000000000000/markdown",
            json!({"type": "replace_content", "replace_content": {"new_str": "x"}, "allow_async": true}))
        .await;
    assert_error(s, &e, 404, "object_not_found");
    let (s, e) = api
        .post(
            "/v1/pages",
            json!({"parent": {"page_id": doc}, "properties": {}, "allow_async": true}),
        )
        .await;
    assert_error(s, &e, 400, "validation_error");
    let (s, e) = api.get("/v1/async_tasks/task_unknown").await;
    assert_error(s, &e, 404, "object_not_found");
}

#[tokio::test]
async fn a_page_can_serve_as_a_template_for_another() {
    let api = Api::start(fixture(), "ntn_w").await;
    let doc = stable_id("doc").to_string();
    let (s, page) = api
        .post(
            "/v1/pages",
            json!({"parent": {"type": "workspace", "workspace": true},
            "properties": {"title": {"title": [{"type": "text", "text": {"content": "Copy"}}]}},
            "template": {"type": "template_id", "template_id": doc}}),
        )
        .await;
    assert_eq!(s.as_u16(), 200, "{page}");
    let kids = api
        .get_all(&format!(
            "/v1/blocks/{}/children",
            page["id"].as_str().unwrap()
        ))
        .await;
    assert_eq!(kids.len(), 2);
    assert_eq!(kids[1]["has_children"], true);
    let (s, e) = api
        .post(
            "/v1/pages",
            json!({"parent": {"type": "workspace", "workspace": true}, "properties": {},
            "template": {"type": "template_id", "template_id": doc}, "children": []}),
        )
        .await;
    assert_error(s, &e, 400, "validation_error");
}

#[tokio::test]
async fn meeting_notes_query_filters_and_create() {
    let api = Api::start(fixture(), "ntn_w").await;
    let doc = stable_id("doc");
    let (me, note) = api.fake().with_state(|s| {
        let me = s.bot_for_token("ntn_w").unwrap().id;
        let seed = |title: &str, attendees| MeetingNoteSeed {
            title: title.into(),
            attendees,
            summary: "Summary text".into(),
            ..Default::default()
        };
        let note = add_meeting_note(s, doc, seed("Standup", vec![me]));
        add_meeting_note(s, doc, seed("Not mine", vec![]));
        (me, note)
    });
    let (s, found) = api.post("/v1/blocks/meeting_notes/query", json!({})).await;
    assert_eq!(s.as_u16(), 200);
    let results = found["results"].as_array().unwrap();
    assert_eq!(results.len(), 1, "{found}");
    assert_eq!(results[0]["id"], json!(note.to_string()));
    assert_eq!(found["has_more"], false);
    assert!(found.get("next_cursor").is_none());
    let tab = results[0]["meeting_notes"]["children"]["summary_block_id"]
        .as_str()
        .unwrap();
    let text = api.get_all(&format!("/v1/blocks/{tab}/children")).await;
    assert_eq!(
        text[0]["paragraph"]["rich_text"][0]["plain_text"],
        "Summary text"
    );
    let person = json!({"property": "attendees", "filter": {"operator": "person_contains",
        "value": [{"type": "exact", "value": {"table": "notion_user", "id": me.to_string()}}]}});
    let (_, by_person) = api
        .post("/v1/blocks/meeting_notes/query", json!({"filter": person}))
        .await;
    assert_eq!(by_person["results"].as_array().unwrap().len(), 1);
    for bad in [
        json!({"filter": {"property": "Status", "filter": {"operator": "string_is", "value": {"type": "exact", "value": "x"}}}}),
        json!({"filter": {"property": "title", "filter": {"operator": "date_is", "value": {"type": "exact", "value": "x"}}}}),
        json!({"limit": 51}),
        json!({"sort": [{"property": "title", "direction": "up"}]}),
    ] {
        let (s, e) = api
            .post("/v1/blocks/meeting_notes/query", bad.clone())
            .await;
        assert_error(s, &e, 400, "validation_error");
    }
    let (s, e) = api
        .post("/v1/blocks/meeting_notes", json!({"source": {"type": "file_upload",
            "file_upload_id": "00000000-0000-4000-8000-000000000000"}, "parent": {"type": "page_id", "page_id": doc.to_string()}}))
        .await;
    assert!(s.is_client_error(), "{e}");
    let (s, e) = api
        .call(
            Method::POST,
            "/v1/blocks/meeting_notes",
            Some(json!({"source": {"type": "link"}})),
        )
        .await;
    assert_error(s, &e, 400, "validation_error");
}
