//! Views and view queries over HTTP: the default view, create/update/delete, the last-view
//! refusal, unknown types, dashboards and linked databases, view queries (paging, expiry, the row
//! cap), custom emojis and the `view.*` webhook events.
#![allow(clippy::unwrap_used)]

mod common;

use common::Api;
use common::webhooks::setup;
use notion_fake::{Fixture, GeneratedIds, PageFixture};
use serde_json::{Value, json};

const T: &str = "ntn_w";

fn fixture() -> Fixture {
    Fixture::builder()
        .workspace("W", T)
        .page(PageFixture::new("Home").id("home"))
        .database_with_rows("Tasks", 150)
        .build()
}

fn db() -> String {
    GeneratedIds::database("Tasks").to_string()
}

fn ds() -> String {
    GeneratedIds::data_source("Tasks").to_string()
}

async fn view_ids(api: &Api) -> Vec<String> {
    let (s, list) = api.get(&format!("/v1/views?database_id={}", db())).await;
    assert_eq!(s, 200, "{list}");
    assert_eq!(list["object"], "list");
    assert_eq!(list["type"], "view");
    list["results"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| {
            assert_eq!(v.as_object().unwrap().len(), 2, "ids only: {v}");
            v["id"].as_str().unwrap().to_string()
        })
        .collect()
}

#[tokio::test]
async fn a_database_has_its_default_view_and_never_loses_the_last_one() {
    let api = Api::start(fixture(), T).await;
    let ids = view_ids(&api).await;
    assert_eq!(ids.len(), 1);
    let (_, v) = api.get(&format!("/v1/views/{}", ids[0])).await;
    assert_eq!(v["object"], "view");
    assert_eq!(v["name"], "Default view");
    assert_eq!(v["type"], "table");
    assert_eq!(v["data_source_id"], ds());
    assert_eq!(
        v["parent"],
        json!({"type": "database_id", "database_id": db()})
    );
    assert!(v["configuration"].is_null());

    let (s, e) = api.delete(&format!("/v1/views/{}", ids[0])).await;
    assert_eq!(s, 400, "{e}");
    assert_eq!(e["code"], "validation_error");
    assert!(e["message"].as_str().unwrap().contains("last view"), "{e}");

    // With a second tab, the first can go; then the second is the last.
    let (s, board) = api
        .post(
            "/v1/views",
            json!({"database_id": db(), "data_source_id": ds(), "name": "Board", "type": "board",
                   "configuration": {"type": "board", "group_by": {"property_id": "Tag", "sort": {"type": "manual"}}},
                   "position": {"type": "start"}}),
        )
        .await;
    assert_eq!(s, 200, "{board}");
    assert_eq!(
        view_ids(&api).await[0],
        board["id"].as_str().unwrap(),
        "position start"
    );
    let (s, mut gone) = api.delete(&format!("/v1/views/{}", ids[0])).await;
    assert_eq!(s, 200, "{gone}");
    gone.as_object_mut().unwrap().remove("request_id");
    assert_eq!(
        gone,
        json!({"object": "view", "id": ids[0], "parent": {"type": "database_id", "database_id": db()}, "type": "table"})
    );
    let (s, _) = api
        .delete(&format!("/v1/views/{}", board["id"].as_str().unwrap()))
        .await;
    assert_eq!(s, 400);
    let (s, _) = api.get(&format!("/v1/views/{}", ids[0])).await;
    assert_eq!(s, 404);
}

#[tokio::test]
async fn bad_views_are_validation_errors() {
    let api = Api::start(fixture(), T).await;
    let base = json!({"database_id": db(), "data_source_id": ds(), "name": "X"});
    let with = |extra: Value| {
        let mut b = base.clone();
        b.as_object_mut()
            .unwrap()
            .extend(extra.as_object().unwrap().clone());
        b
    };
    for (body, needle) in [
        (with(json!({"type": "kanban"})), "body.type"),
        (
            with(json!({"type": "board", "configuration": {"type": "board"}})),
            "group_by",
        ),
        (
            with(json!({"type": "table", "configuration": {"type": "board"}})),
            "configuration.type",
        ),
        (
            json!({"data_source_id": ds(), "name": "X", "type": "table"}),
            "exactly one of",
        ),
    ] {
        let (s, e) = api.post("/v1/views", body.clone()).await;
        assert_eq!(s, 400, "{body} → {e}");
        assert_eq!(e["code"], "validation_error");
        assert!(
            e["message"].as_str().unwrap().contains(needle),
            "{needle}: {e}"
        );
    }
    let id = &view_ids(&api).await[0];
    let (s, e) = api
        .patch(&format!("/v1/views/{id}"), json!({"type": "board"}))
        .await;
    assert_eq!(s, 400, "{e}");
    let (s, e) = api.get("/v1/views").await;
    assert_eq!(s, 400, "{e}");
}

#[tokio::test]
async fn updates_merge_quick_filters_and_configuration() {
    let api = Api::start(fixture(), T).await;
    let id = view_ids(&api).await.remove(0);
    let path = format!("/v1/views/{id}");
    let (s, v) = api
        .patch(&path, json!({"name": "Open", "filter": {"property": "Done", "checkbox": {"equals": false}},
            "quick_filters": {"Tag": {"select": {"equals": "red"}}, "Done": {"checkbox": {"equals": true}}},
            "configuration": {"type": "table", "wrap_cells": true}}))
        .await;
    assert_eq!(s, 200, "{v}");
    let (_, v) = api
        .patch(&path, json!({"quick_filters": {"Done": null}, "configuration": {"type": "table", "frozen_column_index": 1}}))
        .await;
    assert_eq!(v["name"], "Open");
    assert_eq!(
        v["quick_filters"],
        json!({"Tag": {"select": {"equals": "red"}}})
    );
    assert_eq!(
        v["configuration"],
        json!({"type": "table", "wrap_cells": true, "frozen_column_index": 1})
    );
    let (_, v) = api
        .patch(&path, json!({"filter": null, "quick_filters": null}))
        .await;
    assert!(v["filter"].is_null() && v["quick_filters"].is_null(), "{v}");
}

#[tokio::test]
async fn view_queries_page_expire_and_stop_at_the_cap() {
    let api = Api::start(fixture(), T).await;
    let id = view_ids(&api).await.remove(0);
    api.patch(
        &format!("/v1/views/{id}"),
        json!({"filter": {"property": "Done", "checkbox": {"equals": true}},
               "sorts": [{"property": "Number", "direction": "descending"}]}),
    )
    .await;
    let (s, q) = api
        .post(&format!("/v1/views/{id}/queries"), json!({"page_size": 50}))
        .await;
    assert_eq!(s, 200, "{q}");
    assert_eq!(q["object"], "view_query");
    assert_eq!(q["view_id"], id);
    assert_eq!(q["total_count"], 75);
    assert!(q["expires_at"].is_string());
    assert_eq!(q["results"].as_array().unwrap().len(), 50);
    assert_eq!(
        q["results"][0],
        json!({"object": "page", "id": GeneratedIds::row("Tasks", 148).to_string()})
    );
    let qid = q["id"].as_str().unwrap();
    let cursor = q["next_cursor"].as_str().unwrap();
    let (s, page) = api
        .get(&format!(
            "/v1/views/{id}/queries/{qid}?start_cursor={cursor}&page_size=100"
        ))
        .await;
    assert_eq!(s, 200, "{page}");
    assert_eq!(page["type"], "page");
    assert_eq!(page["results"].as_array().unwrap().len(), 25);
    assert_eq!(page["has_more"], false);

    // Only page_size may be sent.
    let (s, e) = api
        .post(&format!("/v1/views/{id}/queries"), json!({"filter": {}}))
        .await;
    assert_eq!(s, 400, "{e}");

    // Past expiry: Notion's 404 shape; deleting still succeeds.
    api.fake().with_state(|s| s.views.expire_queries());
    let (s, e) = api.get(&format!("/v1/views/{id}/queries/{qid}")).await;
    assert_eq!(s, 404, "{e}");
    assert_eq!(e["object"], "error");
    assert_eq!(e["code"], "object_not_found");
    let (s, d) = api.delete(&format!("/v1/views/{id}/queries/{qid}")).await;
    assert_eq!((s.as_u16(), &d["deleted"]), (200, &json!(true)), "{d}");

    // The row cap: total_count is the truncated size and the status says why.
    api.fake().with_state(|s| s.limits.query_result_cap = 10);
    let (_, q) = api
        .post(&format!("/v1/views/{id}/queries"), json!({}))
        .await;
    assert_eq!(q["total_count"], 10);
    assert_eq!(
        q["request_status"]["incomplete_reason"],
        "query_result_limit_reached"
    );
}

#[tokio::test]
async fn dashboards_widgets_and_linked_databases() {
    let api = Api::start(fixture(), T).await;
    let (s, dash) = api
        .post("/v1/views", json!({"database_id": db(), "data_source_id": ds(), "name": "Dash", "type": "dashboard"}))
        .await;
    assert_eq!(s, 200, "{dash}");
    assert!(dash["data_source_id"].is_null());
    let dash_id = dash["id"].as_str().unwrap();
    let (s, w) = api
        .post(
            "/v1/views",
            json!({"view_id": dash_id, "data_source_id": ds(), "name": "Chart", "type": "chart",
            "configuration": {"type": "chart", "chart_type": "donut"}}),
        )
        .await;
    assert_eq!(s, 200, "{w}");
    assert_eq!(w["dashboard_view_id"], dash_id);
    let (_, d) = api.get(&format!("/v1/views/{dash_id}")).await;
    assert_eq!(
        d["configuration"]["rows"][0]["widgets"][0]["view_id"],
        w["id"]
    );
    let (s, e) = api
        .post(
            "/v1/views",
            json!({"view_id": dash_id, "data_source_id": ds(), "name": "D2", "type": "dashboard"}),
        )
        .await;
    assert_eq!(s, 400, "nested dashboards: {e}");
    let (s, _) = api
        .delete(&format!("/v1/views/{}", w["id"].as_str().unwrap()))
        .await;
    assert_eq!(s, 200);
    let (_, d) = api.get(&format!("/v1/views/{dash_id}")).await;
    assert_eq!(d["configuration"]["rows"], json!([]));

    let home = notion_fake::stable_id("home").to_string();
    let (s, linked) = api
        .post(
            "/v1/views",
            json!({"create_database": {"parent": {"type": "page_id", "page_id": home}},
            "data_source_id": ds(), "name": "Linked", "type": "list"}),
        )
        .await;
    assert_eq!(s, 200, "{linked}");
    assert_ne!(linked["parent"]["database_id"], db());
    let (_, by_source) = api.get(&format!("/v1/views?data_source_id={}", ds())).await;
    let listed: Vec<&Value> = by_source["results"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| &v["id"])
        .collect();
    assert!(
        listed.contains(&&linked["id"]),
        "linked views are found by data source: {by_source}"
    );
}

#[tokio::test]
async fn custom_emojis_are_listed_per_workspace() {
    let api = Api::start(fixture(), T).await;
    let id = api
        .fake()
        .with_state(|s| s.add_custom_emoji("W", "parrot"))
        .unwrap();
    api.fake().with_state(|s| s.add_custom_emoji("W", "shipit"));
    let (s, list) = api.get("/v1/custom_emojis").await;
    assert_eq!(s, 200, "{list}");
    assert_eq!(list["type"], "custom_emoji");
    assert!(
        list.get("custom_emoji").is_none(),
        "no type-named key: {list}"
    );
    assert_eq!(list["results"].as_array().unwrap().len(), 2);
    let (_, one) = api.get("/v1/custom_emojis?name=parrot").await;
    assert_eq!(one["results"][0]["id"], id.to_string());
    assert_eq!(one["results"].as_array().unwrap().len(), 1);
}

#[tokio::test]
async fn view_writes_emit_view_events() {
    let (api, rx) = setup(|s| s).await;
    let db = GeneratedIds::database("T").to_string();
    let ds = GeneratedIds::data_source("T").to_string();
    let (s, v) = api
        .post(
            "/v1/views",
            json!({"database_id": db, "data_source_id": ds, "name": "B", "type": "gallery"}),
        )
        .await;
    assert_eq!(s, 200, "{v}");
    let id = v["id"].as_str().unwrap();
    api.patch(&format!("/v1/views/{id}"), json!({"name": "C"}))
        .await;
    api.delete(&format!("/v1/views/{id}")).await;
    api.fake().webhooks_idle().await;
    let created = rx.one("view.created");
    assert_eq!(created["entity"], json!({"id": id, "type": "view"}));
    assert_eq!(
        created["data"]["parent"],
        json!({"id": db, "type": "database"})
    );
    assert_eq!(created["data"]["view_type"], "gallery");
    assert_eq!(
        rx.one("view.updated")["data"]["updated_fields"],
        json!(["name"])
    );
    assert_eq!(rx.one("view.deleted")["entity"]["id"], id);
}
