//! Tenancy: tokens see only their workspace (404 elsewhere), sharing subsets, capabilities,
//! id forms.
#![allow(clippy::unwrap_used)]

mod common;

use common::{Api, assert_error};
use notion_fake::fixture::TokenSpec;
use notion_fake::state::Capabilities;
use notion_fake::{Fixture, GeneratedIds, PageFixture, TokenFixture, stable_id};
use reqwest::Method;
use serde_json::json;

fn two_workspaces() -> Fixture {
    Fixture::builder()
        .workspace("One", "ntn_one")
        .page(
            PageFixture::new("Secret one")
                .id("one-page")
                .child(json!({"paragraph": "one"})),
        )
        .database_with_rows("One DB", 3)
        .token(TokenFixture::Spec(TokenSpec {
            token: "ntn_one_limited".into(),
            shared: Some(vec!["one-page".into()]),
            ..TokenSpec::default()
        }))
        .token(TokenFixture::Spec(TokenSpec {
            token: "ntn_one_readonly".into(),
            capabilities: Some(Capabilities {
                insert_content: false,
                update_content: false,
                read_users: false,
                ..Capabilities::default()
            }),
            ..TokenSpec::default()
        }))
        .workspace("Two", "ntn_two")
        .page(PageFixture::new("Secret two").id("two-page"))
        .build()
}

#[tokio::test]
async fn other_workspace_objects_are_not_found() {
    let api = Api::start(two_workspaces(), "ntn_two").await;
    let one_page = stable_id("one-page");
    let (s, b) = api.get(&format!("/v1/pages/{one_page}")).await;
    assert_error(s, &b, 404, "object_not_found");
    assert!(
        b["message"]
            .as_str()
            .unwrap()
            .contains(&one_page.to_string())
    );
    let (s, b) = api.get(&format!("/v1/blocks/{one_page}/children")).await;
    assert_error(s, &b, 404, "object_not_found");
    let (s, b) = api
        .post(
            &format!(
                "/v1/data_sources/{}/query",
                GeneratedIds::data_source("One DB")
            ),
            json!({}),
        )
        .await;
    assert_error(s, &b, 404, "object_not_found");
    let (s, b) = api
        .patch(&format!("/v1/pages/{one_page}"), json!({"in_trash": true}))
        .await;
    assert_error(s, &b, 404, "object_not_found");
    let (s, b) = api
        .get(&format!("/v1/users/{}", GeneratedIds::owner("One")))
        .await;
    assert_error(s, &b, 404, "object_not_found");
    let (_, found) = api.post("/v1/search", json!({"query": "secret"})).await;
    let titles: Vec<String> = found["results"]
        .as_array()
        .unwrap()
        .iter()
        .map(common::title_of)
        .collect();
    assert_eq!(titles, vec!["Secret two".to_string()]);
    let (_, me) = api.get("/v1/users/me").await;
    assert_eq!(me["bot"]["workspace_name"], "Two");
    assert_eq!(
        me["bot"]["workspace_id"],
        GeneratedIds::workspace("Two").to_string()
    );
    // The page is still there for its own workspace.
    let (s, _) = api
        .call_with(
            Method::GET,
            &format!("/v1/pages/{one_page}"),
            None,
            Some("ntn_one"),
            Some("2026-03-11"),
        )
        .await;
    assert_eq!(s, 200);
}

#[tokio::test]
async fn shared_subset_limits_visibility() {
    let api = Api::start(two_workspaces(), "ntn_one_limited").await;
    let (s, _) = api
        .get(&format!("/v1/pages/{}", stable_id("one-page")))
        .await;
    assert_eq!(s, 200);
    let (s, b) = api
        .get(&format!(
            "/v1/databases/{}",
            GeneratedIds::database("One DB")
        ))
        .await;
    assert_error(s, &b, 404, "object_not_found");
    let kids = api
        .get_all(&format!("/v1/blocks/{}/children", stable_id("one-page")))
        .await;
    let (s, _) = api
        .get(&format!("/v1/blocks/{}", kids[0]["id"].as_str().unwrap()))
        .await;
    assert_eq!(s, 200);
}

#[tokio::test]
async fn missing_capabilities_are_restricted() {
    let api = Api::start(two_workspaces(), "ntn_one_readonly").await;
    let page = stable_id("one-page");
    let (s, _) = api.get(&format!("/v1/pages/{page}")).await;
    assert_eq!(s, 200);
    let (s, b) = api
        .patch(
            &format!("/v1/blocks/{page}/children"),
            json!({"children": [{"paragraph": {"rich_text": []}}]}),
        )
        .await;
    assert_error(s, &b, 403, "restricted_resource");
    let (s, b) = api.get("/v1/users").await;
    assert_error(s, &b, 403, "restricted_resource");
}

#[tokio::test]
async fn ids_with_or_without_dashes() {
    let api = Api::start(two_workspaces(), "ntn_one").await;
    let id = stable_id("one-page");
    let (s, a) = api.get(&format!("/v1/pages/{}", id.simple())).await;
    assert_eq!(s, 200);
    assert_eq!(a["id"], id.hyphenated().to_string());
    let (s, b) = api
        .get(&format!(
            "/v1/pages/{}",
            id.hyphenated().to_string().to_uppercase()
        ))
        .await;
    assert_eq!(s, 200);
    assert_eq!(b["id"], id.hyphenated().to_string());
    let (s, b) = api.get("/v1/pages/not-an-id").await;
    assert_error(s, &b, 400, "validation_error");
}
