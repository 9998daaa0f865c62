//! Data-source query filters and sorts, and search.
#![allow(clippy::unwrap_used)]

mod common;

use common::{Api, assert_error, title_of};
use notion_fake::{Fixture, GeneratedIds, stable_id};
use serde_json::{Value, json};

async fn titles(api: &Api, ds: &str, body: Value) -> Vec<String> {
    let (s, b) = api
        .post(&format!("/v1/data_sources/{ds}/query"), body)
        .await;
    assert_eq!(s, 200, "{b}");
    b["results"]
        .as_array()
        .unwrap()
        .iter()
        .map(title_of)
        .collect()
}

#[tokio::test]
async fn filters_on_common_types() {
    let api = Api::start(Fixture::sample(), "ntn_demo_acme").await;
    let tasks = stable_id("acme-tasks-ds").to_string();
    let projects = stable_id("acme-projects-ds").to_string();
    let t = |body| titles(&api, &tasks, body);
    assert_eq!(
        t(json!({"filter": {"property": "Done", "checkbox": {"equals": true}}}))
            .await
            .len(),
        4
    );
    assert_eq!(
        t(json!({"filter": {"property": "Name", "title": {"contains": "mode"}}})).await,
        vec!["Offline mode"]
    );
    assert_eq!(
        t(json!({"filter": {"property": "Name", "rich_text": {"starts_with": "push"}}})).await,
        vec!["Push notifications"]
    );
    assert_eq!(
        t(json!({"filter": {"property": "Estimate", "number": {"greater_than_or_equal_to": 8}}}))
            .await
            .len(),
        3
    );
    assert_eq!(
        t(json!({"filter": {"property": "Kind", "select": {"equals": "Bug"}}})).await,
        vec!["Fix login redirect"]
    );
    assert_eq!(
        t(json!({"filter": {"property": "Notes", "rich_text": {"is_not_empty": true}}})).await,
        vec!["Write copy"]
    );
    assert_eq!(
        t(json!({"filter": {"property": "Due", "date": {"before": "2025-01-31"}}}))
            .await
            .len(),
        2
    );
    assert_eq!(
        t(json!({"filter": {"property": "Due", "date": {"on_or_before": "2025-01-31"}}}))
            .await
            .len(),
        3
    );
    assert_eq!(
        t(json!({"filter": {"property": "Due", "date": {"equals": "2025-02-10"}}})).await,
        vec!["Design mockups"]
    );
    let carol = stable_id("carol").to_string();
    assert_eq!(
        t(json!({"filter": {"property": "Assignee", "people": {"contains": carol}}}))
            .await
            .len(),
        4
    );
    let compound = json!({"filter": {"and": [
        {"property": "Done", "checkbox": {"equals": false}},
        {"or": [{"property": "Kind", "select": {"equals": "Chore"}}, {"property": "Estimate", "number": {"less_than": 3}}]}
    ]}});
    assert_eq!(
        t(compound).await,
        vec!["Launch checklist", "Terraform modules", "Job descriptions"]
    );
    let p = |body| titles(&api, &projects, body);
    assert_eq!(
        p(json!({"filter": {"property": "Status", "status": {"equals": "Done"}}})).await,
        vec!["Brand refresh"]
    );
    assert_eq!(
        p(json!({"filter": {"property": "Tags", "multi_select": {"contains": "Infra"}}}))
            .await
            .len(),
        2
    );
    let task1 = stable_id("task-1").to_string();
    assert_eq!(
        p(json!({"filter": {"property": "Tasks", "relation": {"contains": task1}}})).await,
        vec!["Website relaunch"]
    );
    assert_eq!(
        p(json!({"filter": {"property": "Tags", "multi_select": {"is_empty": true}}})).await,
        vec!["Hiring pipeline"]
    );
    assert_eq!(p(json!({"filter": {"timestamp": "created_time", "created_time": {"after": "2030-01-01"}}})).await.len(), 0);
    assert_eq!(p(json!({"filter": {"timestamp": "last_edited_time", "last_edited_time": {"past_year": {}}}})).await.len(), 6);
    let (s, b) = api
        .post(
            &format!("/v1/data_sources/{projects}/query"),
            json!({"filter": {"property": "Nope", "checkbox": {"equals": true}}}),
        )
        .await;
    assert_error(s, &b, 400, "validation_error");
    let (s, b) = api
        .post(
            &format!("/v1/data_sources/{projects}/query"),
            json!({"filter": {"property": "Budget", "number": {"bogus": 1}}}),
        )
        .await;
    assert_error(s, &b, 400, "validation_error");
}

#[tokio::test]
async fn sorts_by_property_and_timestamp() {
    let api = Api::start(Fixture::sample(), "ntn_demo_acme").await;
    let tasks = stable_id("acme-tasks-ds").to_string();
    let est = titles(&api, &tasks, json!({"sorts": [{"property": "Estimate", "direction": "descending"}, {"property": "Name", "direction": "ascending"}]})).await;
    assert_eq!(
        &est[..3],
        &["Terraform modules", "Dashboard UI", "Offline mode"]
    );
    let due = titles(
        &api,
        &tasks,
        json!({"sorts": [{"property": "Due", "direction": "ascending"}]}),
    )
    .await;
    assert_eq!(due[0], "Fix login redirect");
    let created = titles(
        &api,
        &tasks,
        json!({"sorts": [{"timestamp": "created_time", "direction": "descending"}]}),
    )
    .await;
    assert_eq!(created[0], "Fix login redirect");
    // Select sorts follow option order (Feature, Bug, Chore).
    let kind = titles(
        &api,
        &tasks,
        json!({"sorts": [{"property": "Kind", "direction": "ascending"}], "page_size": 100}),
    )
    .await;
    assert_eq!(kind[7], "Fix login redirect");
}

#[tokio::test]
async fn search_titles_filters_and_sort() {
    let api = Api::start(Fixture::sample(), "ntn_demo_acme").await;
    let (s, b) = api.post("/v1/search", json!({"query": "HANDBOOK"})).await;
    assert_eq!(s, 200);
    let results = b["results"].as_array().unwrap();
    assert_eq!(results.len(), 1);
    assert_eq!(results[0]["id"], stable_id("acme-handbook").to_string());
    let (_, b) = api
        .post(
            "/v1/search",
            json!({"query": "tasks", "filter": {"property": "object", "value": "data_source"}}),
        )
        .await;
    let results = b["results"].as_array().unwrap();
    assert_eq!(results.len(), 1);
    assert_eq!(results[0]["object"], "data_source");
    assert_eq!(results[0]["id"], stable_id("acme-tasks-ds").to_string());
    let (_, all) = api
        .post(
            "/v1/search",
            json!({"sort": {"timestamp": "last_edited_time", "direction": "ascending"}}),
        )
        .await;
    let times: Vec<&str> = all["results"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["last_edited_time"].as_str().unwrap())
        .collect();
    assert!(times.windows(2).all(|w| w[0] <= w[1]));
    assert_eq!(times.len(), 2 + 6 + 12 + 2);
    let (s, b) = api
        .post(
            "/v1/search",
            json!({"filter": {"property": "object", "value": "database"}}),
        )
        .await;
    assert_error(s, &b, 400, "validation_error");
}

#[tokio::test]
async fn filter_properties_limit_rendered_properties() {
    let api = Api::start(
        Fixture::builder()
            .workspace("W", "ntn_w")
            .database_with_rows("T", 2)
            .build(),
        "ntn_w",
    )
    .await;
    let ds = GeneratedIds::data_source("T");
    let (_, ds_obj) = api.get(&format!("/v1/data_sources/{ds}")).await;
    let num = ds_obj["properties"]["Number"]["id"].as_str().unwrap();
    let (s, b) = api
        .post(
            &format!("/v1/data_sources/{ds}/query?filter_properties[]={num}"),
            json!({}),
        )
        .await;
    assert_eq!(s, 200);
    let props = b["results"][0]["properties"].as_object().unwrap();
    assert_eq!(props.keys().collect::<Vec<_>>(), vec!["Number"]);
    let row = GeneratedIds::row("T", 1);
    let (_, page) = api
        .get(&format!("/v1/pages/{row}?filter_properties=title"))
        .await;
    assert_eq!(
        page["properties"]
            .as_object()
            .unwrap()
            .keys()
            .collect::<Vec<_>>(),
        vec!["Name"]
    );
}
