//! The sample fixture loads and serves a realistic workspace.
#![allow(clippy::unwrap_used)]

mod common;

use common::{Api, title_of};
use notion_fake::{Fixture, stable_id};
use serde_json::json;

#[tokio::test]
async fn sample_workspace_is_served() {
    let api = Api::start(Fixture::sample(), "ntn_demo_acme").await;
    let home = stable_id("acme-home");
    let (status, page) = api.get(&format!("/v1/pages/{home}")).await;
    assert_eq!(status, 200, "{page}");
    assert_eq!(page["object"], "page");
    assert_eq!(page["id"], home.to_string());
    assert_eq!(title_of(&page), "Acme Home");
    assert_eq!(page["in_trash"], false);
    assert!(page.get("archived").is_none());
    assert_eq!(
        page["parent"],
        json!({"type": "workspace", "workspace": true})
    );
    assert_eq!(
        page["url"],
        format!("https://www.notion.so/Acme-Home-{}", home.simple())
    );
    assert_eq!(page["icon"], json!({"type": "emoji", "emoji": "🏠"}));
    assert!(page["request_id"].is_string());

    let blocks = api
        .get_all(&format!("/v1/blocks/{}/children", home.simple()))
        .await;
    let kinds: Vec<&str> = blocks.iter().map(|b| b["type"].as_str().unwrap()).collect();
    for kind in [
        "heading_1",
        "paragraph",
        "bulleted_list_item",
        "numbered_list_item",
        "to_do",
        "toggle",
        "code",
        "quote",
        "callout",
        "equation",
        "table",
        "child_page",
        "child_database",
        "divider",
    ] {
        assert!(kinds.contains(&kind), "missing {kind} in {kinds:?}");
    }
    let mention = blocks
        .iter()
        .find(|b| b["paragraph"]["rich_text"][1]["type"] == "mention")
        .unwrap();
    assert_eq!(
        mention["paragraph"]["rich_text"][1]["plain_text"],
        "@Alice Anders"
    );
    assert_eq!(
        mention["paragraph"]["rich_text"][3]["plain_text"],
        "Employee Handbook"
    );
    let toggle = blocks.iter().find(|b| b["type"] == "toggle").unwrap();
    assert_eq!(toggle["has_children"], true);
    let table = blocks.iter().find(|b| b["type"] == "table").unwrap();
    assert_eq!(table["table"]["table_width"], 3);
    let rows = api
        .get_all(&format!(
            "/v1/blocks/{}/children",
            table["id"].as_str().unwrap()
        ))
        .await;
    assert_eq!(rows.len(), 3);
    assert_eq!(rows[0]["table_row"]["cells"][0][0]["plain_text"], "Team");

    let (status, db) = api
        .get(&format!("/v1/databases/{}", stable_id("acme-projects")))
        .await;
    assert_eq!(status, 200, "{db}");
    let ds_id = db["data_sources"][0]["id"].as_str().unwrap().to_string();
    assert_eq!(ds_id, stable_id("acme-projects-ds").to_string());
    let (status, ds) = api.get(&format!("/v1/data_sources/{ds_id}")).await;
    assert_eq!(status, 200, "{ds}");
    assert_eq!(
        ds["properties"]["Tasks"]["relation"]["data_source_id"],
        stable_id("acme-tasks-ds").to_string()
    );
    assert_eq!(
        ds["properties"]["Tasks"]["relation"]["database_id"],
        stable_id("acme-tasks").to_string()
    );
    assert_eq!(
        ds["properties"]["Status"]["status"]["options"]
            .as_array()
            .unwrap()
            .len(),
        3
    );
    let (status, q) = api
        .post(&format!("/v1/data_sources/{ds_id}/query"), json!({}))
        .await;
    assert_eq!(status, 200, "{q}");
    assert_eq!(q["results"].as_array().unwrap().len(), 6);
    let first = &q["results"][0];
    assert_eq!(
        first["properties"]["Tasks"]["relation"]
            .as_array()
            .unwrap()
            .len(),
        3
    );
    assert_eq!(
        first["properties"]["Owner"]["people"][0]["name"],
        "Alice Anders"
    );
    assert_eq!(
        first["properties"]["Status"]["status"]["name"],
        "In progress"
    );
    assert_eq!(
        first["parent"]["database_id"],
        stable_id("acme-projects").to_string()
    );

    let (_, tasks) = api
        .post(
            &format!("/v1/data_sources/{}/query", stable_id("acme-tasks-ds")),
            json!({}),
        )
        .await;
    assert_eq!(tasks["results"].as_array().unwrap().len(), 12);

    let (status, users) = api.get("/v1/users").await;
    assert_eq!(status, 200);
    assert_eq!(
        users["results"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|u| u["type"] == "person")
            .count(),
        3
    );
    let (_, me) = api.get("/v1/users/me").await;
    assert_eq!(me["type"], "bot");
    assert_eq!(me["bot"]["workspace_name"], "Acme Demo");
    let (_, comments) = api.get(&format!("/v1/comments?block_id={home}")).await;
    assert_eq!(comments["results"].as_array().unwrap().len(), 2);
    assert_eq!(
        comments["results"][0]["discussion_id"],
        comments["results"][1]["discussion_id"]
    );
}

#[test]
fn sample_round_trips_through_json() {
    let sample = Fixture::sample();
    let json = serde_json::to_string(&sample).unwrap();
    let back = Fixture::from_json_str(&json).unwrap();
    assert_eq!(sample, back);
    assert!(notion_fake::FakeNotion::try_new(back).is_ok());
}
