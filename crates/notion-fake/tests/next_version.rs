//! Notion-Version 2026-12-01 against 2026-03-11: page lists carry only the title unless
//! `filter_properties` names more, a nameless person has `name: null`, Markdown v1 is refused, and
//! an unknown version is refused naming the three the fake answers.
#![allow(clippy::unwrap_used)]

mod common;

use common::Api;
use notion_fake::{Fixture, GeneratedIds, PageFixture};
use reqwest::Method;
use serde_json::{Value, json};

const T: &str = "ntn_w";
const NEXT: &str = "2026-12-01";

fn fixture() -> Fixture {
    Fixture::builder()
        .workspace("W", T)
        .user("", "nameless@example.com")
        .page(
            PageFixture::new("Notes")
                .id("notes")
                .child(json!({"paragraph": "text"})),
        )
        .database_with_rows("Tasks", 3)
        .build()
}

async fn on(
    api: &Api,
    version: &str,
    method: Method,
    path: &str,
    body: Option<Value>,
) -> (u16, Value) {
    let (s, v) = api
        .call_with(method, path, body, Some(T), Some(version))
        .await;
    (s.as_u16(), v)
}

fn property_names(page: &Value) -> Vec<String> {
    let mut names: Vec<String> = page["properties"]
        .as_object()
        .unwrap()
        .keys()
        .cloned()
        .collect();
    names.sort();
    names
}

#[tokio::test]
async fn lists_carry_only_the_title_unless_asked() {
    let api = Api::start(fixture(), T).await;
    let ds = GeneratedIds::data_source("Tasks");
    let path = format!("/v1/data_sources/{ds}/query");
    let (_, old) = on(&api, "2026-03-11", Method::POST, &path, Some(json!({}))).await;
    assert_eq!(property_names(&old["results"][0]).len(), 5, "{old}");
    let (s, new) = on(&api, NEXT, Method::POST, &path, Some(json!({}))).await;
    assert_eq!(s, 200, "{new}");
    assert_eq!(property_names(&new["results"][0]), ["Name"]);
    let (_, some) = on(
        &api,
        NEXT,
        Method::POST,
        &format!("{path}?filter_properties[]=Tag&filter_properties[]=Name"),
        Some(json!({})),
    )
    .await;
    assert_eq!(property_names(&some["results"][0]), ["Name", "Tag"]);

    let (_, found) = on(
        &api,
        NEXT,
        Method::POST,
        "/v1/search",
        Some(json!({"query": "Row 1"})),
    )
    .await;
    let row = found["results"]
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["object"] == "page")
        .unwrap();
    assert_eq!(property_names(row), ["Name"]);
    // A single page read is unchanged.
    let (_, page) = on(
        &api,
        NEXT,
        Method::GET,
        &format!("/v1/pages/{}", row["id"].as_str().unwrap()),
        None,
    )
    .await;
    assert_eq!(property_names(&page).len(), 5);
}

#[tokio::test]
async fn nameless_people_markdown_v1_and_unknown_versions() {
    let api = Api::start(fixture(), T).await;
    let nameless = |list: &Value| {
        list["results"]
            .as_array()
            .unwrap()
            .iter()
            .find(|u| u["person"]["email"] == "nameless@example.com")
            .unwrap()["name"]
            .clone()
    };
    let (_, old) = on(&api, "2026-03-11", Method::GET, "/v1/users", None).await;
    assert_eq!(nameless(&old), json!(""));
    let (_, new) = on(&api, NEXT, Method::GET, "/v1/users", None).await;
    assert_eq!(nameless(&new), Value::Null);

    let page = notion_fake::stable_id("notes");
    let md = format!("/v1/pages/{page}/markdown");
    let (s, _) = on(
        &api,
        "2026-03-11",
        Method::GET,
        &format!("{md}?markdown_version=v1"),
        None,
    )
    .await;
    assert_eq!(s, 200);
    let (s, e) = on(
        &api,
        NEXT,
        Method::GET,
        &format!("{md}?markdown_version=v1"),
        None,
    )
    .await;
    assert_eq!(
        (s, e["code"].as_str()),
        (400, Some("validation_error")),
        "{e}"
    );
    let (s, _) = on(
        &api,
        NEXT,
        Method::GET,
        &format!("{md}?markdown_version=v2"),
        None,
    )
    .await;
    assert_eq!(s, 200);

    let (s, e) = on(&api, "2027-01-01", Method::GET, "/v1/users", None).await;
    assert_eq!(s, 400);
    let m = e["message"].as_str().unwrap();
    assert!(
        m.contains("2025-09-03") && m.contains("2026-03-11") && m.contains(NEXT),
        "{m}"
    );
}
