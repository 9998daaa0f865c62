//! The view tools against the fake: `get_views`, `manage_view` (tabs, dashboards, linked
//! databases, updates, the last-view refusal), `get_views` with rows (paging, expiry, the row cap, the
//! cache left intact), and custom emojis (`get_self` with emojis, `:name:` icons).
#![allow(clippy::unwrap_used)]

mod common;

use common::{Harness, error_of, first_id, id};
use notion_fake::{Fixture, GeneratedIds, PageFixture};
use serde_json::{Value, json};

const T: &str = "ntn_workspace_w";
const SECRET: &str = "secret_views_test_token";

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

/// Table rows of a tool's Markdown output that start with "| Row ".
fn rows(text: &str) -> Vec<&str> {
    text.lines().filter(|l| l.starts_with("| Row ")).collect()
}

fn cursor_of(text: &str) -> Option<String> {
    let i = text.rfind("cursor=\"")? + 8;
    Some(text[i..].split('"').next()?.to_string())
}

fn message(r: &Value) -> String {
    error_of(r)["message"].as_str().unwrap().to_string()
}

/// The default view's id.
async fn default_view(h: &Harness) -> String {
    let t = h.text(T, "get_views", json!({"database": db()})).await;
    assert!(t.contains("**Default view** (table)"), "{t}");
    first_id(&t)
}

/// Requests the fake received since the last reset, as "METHOD path" lines.
fn notion_requests(h: &Harness) -> Vec<String> {
    h.fake()
        .requests()
        .iter()
        .map(|r| format!("{} {}", r.method, r.path))
        .collect()
}

#[tokio::test]
async fn views_are_listed_created_updated_and_deleted() {
    let h = Harness::start(fixture()).await;
    let default = default_view(&h).await;

    let created = h
        .text(
            T,
            "manage_view",
            json!({"action": "create", "database": db(), "data_source": ds(), "name": "By tag",
                   "type": "board", "configuration": {"group_by": {"property_id": "Tag", "sort": {"type": "manual"}}},
                   "sorts": [{"property": "Number", "direction": "ascending"}]}),
        )
        .await;
    assert!(created.contains("**By tag** (board view)"), "{created}");
    assert!(
        created.contains("\"group_by\""),
        "configuration shown: {created}"
    );
    let board = first_id(&created);

    let listed = h.text(T, "get_views", json!({"data_source": ds()})).await;
    assert!(
        common::notion_data(&listed).starts_with("2 view(s)"),
        "{listed}"
    );
    assert!(
        listed.contains("**By tag** (board)") && listed.contains("sorts: `[{"),
        "{listed}"
    );

    let updated = h
        .text(
            T,
            "manage_view",
            json!({"action": "update", "view": format!("https://www.notion.so/x/{}?v={}", db().replace('-', ""), board.replace('-', "")),
                   "name": "Open by tag", "filter": {"property": "Done", "checkbox": {"equals": false}},
                   "quick_filters": {"Tag": {"select": {"equals": "red"}}}}),
        )
        .await;
    assert!(
        updated.contains("**Open by tag**") && updated.contains("quick_filters"),
        "{updated}"
    );
    let one = h.text(T, "get_views", json!({"view": board})).await;
    assert!(one.contains("filter: `{\"property\":\"Done\""), "{one}");
    // Clearing with null.
    let cleared = h
        .text(
            T,
            "manage_view",
            json!({"action": "update", "view": board, "filter": "none"}),
        )
        .await;
    assert!(!cleared.contains("filter: "), "{cleared}");
    // `{}` and `[]` clear too (the schema types these settings as an object and an array).
    h.text(
        T,
        "manage_view",
        json!({"action": "update", "view": board, "filter": {"property": "Done", "checkbox": {"equals": true}}}),
    )
    .await;
    h.fake().reset_log();
    let cleared = h
        .text(
            T,
            "manage_view",
            json!({"action": "update", "view": board, "filter": {}, "sorts": []}),
        )
        .await;
    assert!(!cleared.contains("filter: "), "{cleared}");
    let sent = h.fake().requests();
    let patch = sent
        .iter()
        .find(|r| r.method == http::Method::PATCH)
        .and_then(|r| r.body.clone())
        .unwrap();
    assert_eq!(patch, json!({"filter": null, "sorts": null}), "{sent:?}");

    let json_out = h
        .text(T, "get_views", json!({"view": board, "format": "json"}))
        .await;
    let v: Value = common::json_data(&json_out);
    assert_eq!(v["type"], "board");

    let gone = h
        .text(
            T,
            "manage_view",
            json!({"action": "delete", "view": default}),
        )
        .await;
    assert!(gone.contains("Deleted view \"Default view\""), "{gone}");
    // The board is now the last view: refused with what to do instead, and Notion is not asked.
    h.fake().reset_log();
    let r = h
        .call(T, "manage_view", json!({"action": "delete", "view": board}))
        .await;
    let m = message(&r);
    assert!(m.contains("last view") && m.contains("trash"), "{m}");
    assert!(
        !notion_requests(&h).iter().any(|r| r.starts_with("DELETE")),
        "{:?}",
        notion_requests(&h)
    );
    h.shutdown().await;
}

#[tokio::test]
async fn bad_view_input_gets_clear_errors() {
    let h = Harness::start(fixture()).await;
    let base = json!({"action": "create", "database": db(), "data_source": ds(), "name": "X"});
    let with = |extra: Value| {
        let mut b = base.clone();
        b.as_object_mut()
            .unwrap()
            .extend(extra.as_object().unwrap().clone());
        b
    };
    let r = h
        .call(T, "manage_view", with(json!({"type": "kanban"})))
        .await;
    let m = message(&r);
    assert!(
        m.contains("unknown view type \"kanban\"") && m.contains("board"),
        "{m}"
    );
    let r = h
        .call(
            T,
            "manage_view",
            with(json!({"type": "table", "configuration": {"type": "board"}})),
        )
        .await;
    assert!(message(&r).contains("must match"), "{r}");
    let r = h
        .call(
            T,
            "manage_view",
            with(json!({"type": "table", "page": id("home")})),
        )
        .await;
    assert!(message(&r).contains("exactly one of"), "{r}");
    // Notion's own refusal (a board needs group_by) comes back as a tool error.
    let r = h
        .call(
            T,
            "manage_view",
            with(json!({"type": "board", "configuration": {}})),
        )
        .await;
    assert!(message(&r).contains("group_by"), "{r}");
    let view = default_view(&h).await;
    let r = h
        .call(
            T,
            "manage_view",
            json!({"action": "update", "view": view, "type": "board"}),
        )
        .await;
    assert!(message(&r).contains("cannot change"), "{r}");
    let r = h
        .call(T, "manage_view", json!({"action": "update", "view": view}))
        .await;
    assert!(message(&r).contains("nothing to change"), "{r}");
    let r = h.call(T, "get_views", json!({})).await;
    assert_eq!(error_of(&r)["field"], "database");
    h.shutdown().await;
}

#[tokio::test]
async fn dashboards_and_linked_databases() {
    let h = Harness::start(fixture()).await;
    let dash = h
        .text(T, "manage_view", json!({"action": "create", "database": db(), "data_source": ds(), "name": "Dash", "type": "dashboard"}))
        .await;
    let dash = first_id(&dash);
    let widget = h
        .text(T, "manage_view", json!({"action": "create", "dashboard": dash, "data_source": ds(), "name": "Mix", "type": "chart",
            "configuration": {"chart_type": "donut"}}))
        .await;
    assert!(widget.contains(&format!("dashboard: {dash}")), "{widget}");
    let linked = h
        .text(T, "manage_view", json!({"action": "create", "page": id("home"), "data_source": ds(), "name": "Linked", "type": "list"}))
        .await;
    assert!(linked.contains("**Linked** (list view)"), "{linked}");
    let listed = h.text(T, "get_views", json!({"data_source": ds()})).await;
    assert!(
        listed.contains("**Linked**") && listed.contains("widget of dashboard"),
        "{listed}"
    );
    h.shutdown().await;
}

#[tokio::test]
async fn view_rows_run_the_views_filter_and_sorts_and_pages() {
    let h = Harness::start(fixture()).await;
    let view = default_view(&h).await;
    h.text(
        T,
        "manage_view",
        json!({"action": "update", "view": view, "filter": {"property": "Done", "checkbox": {"equals": true}},
               "sorts": [{"property": "Number", "direction": "descending"}]}),
    )
    .await;
    let all = h
        .text(
            T,
            "get_views",
            json!({"rows": true, "view": view, "limit": 500}),
        )
        .await;
    assert_eq!(rows(&all).len(), 75, "{all}");
    assert!(rows(&all)[0].starts_with("| Row 148 "), "{}", rows(&all)[0]);
    assert!(all.contains("75 row(s) of 75."), "{all}");
    assert!(cursor_of(&all).is_none());
    assert!(
        h.fake().with_state(|s| s.views.queries.is_empty()),
        "a fully read view query is deleted"
    );

    let first = h
        .text(
            T,
            "get_views",
            json!({"rows": true, "view": view, "limit": 30}),
        )
        .await;
    assert_eq!(rows(&first).len(), 30);
    assert!(first.contains("expires at"), "{first}");
    let cursor = cursor_of(&first).unwrap();
    let second = h
        .text(
            T,
            "get_views",
            json!({"rows": true, "view": view, "limit": 30, "cursor": cursor}),
        )
        .await;
    assert!(
        rows(&second)[0].starts_with("| Row 88 "),
        "{}",
        rows(&second)[0]
    );
    let cursor = cursor_of(&second).unwrap();

    // The view query expired between calls: a tool error saying to start over.
    h.fake().with_state(|s| s.views.expire_queries());
    let r = h
        .call(
            T,
            "get_views",
            json!({"rows": true, "view": view, "cursor": cursor}),
        )
        .await;
    let m = message(&r);
    assert!(
        m.contains("expired") && m.contains("without `cursor`"),
        "{m}"
    );
    let r = h
        .call(
            T,
            "get_views",
            json!({"rows": true, "view": view, "cursor": "garbage"}),
        )
        .await;
    assert_eq!(error_of(&r)["field"], "cursor");

    // Notion's row cap is said, not hidden.
    h.fake().with_state(|s| s.limits.query_result_cap = 10);
    let capped = h
        .text(T, "get_views", json!({"rows": true, "view": view}))
        .await;
    assert_eq!(rows(&capped).len(), 10);
    assert!(capped.contains("10,000-row limit"), "{capped}");
    h.shutdown().await;
}

#[tokio::test]
async fn view_queries_and_view_writes_leave_cached_rows_alone() {
    let h = Harness::start_with(fixture(), |a| {
        a.webhook_verification_token = vec![notion_mcp_remote::config::Redacted(SECRET.to_owned())];
    })
    .await;
    let view = default_view(&h).await;
    let first = h
        .text(
            T,
            "get_views",
            json!({"rows": true, "view": view, "limit": 5}),
        )
        .await;
    h.fake().reset_log();
    let again = h
        .text(
            T,
            "get_views",
            json!({"rows": true, "view": view, "limit": 5}),
        )
        .await;
    assert_eq!(rows(&again), rows(&first));
    let sent = notion_requests(&h);
    assert!(
        sent.iter().all(|r| r.contains("/v1/views/")),
        "rows came from the cache: {sent:?}"
    );
    assert!(
        sent.iter().any(|r| r.starts_with("POST /v1/views/")),
        "{sent:?}"
    );
    // A view write invalidates the view and its database, not the rows.
    h.text(
        T,
        "manage_view",
        json!({"action": "update", "view": view, "name": "Renamed"}),
    )
    .await;
    h.fake().reset_log();
    h.text(
        T,
        "get_views",
        json!({"rows": true, "view": view, "limit": 5}),
    )
    .await;
    let sent = notion_requests(&h);
    assert!(
        !sent.iter().any(|r| r.starts_with("GET /v1/pages/")),
        "{sent:?}"
    );
    h.shutdown().await;
}

#[tokio::test]
async fn custom_emojis_are_listed_and_used_as_icons_by_name() {
    let h = Harness::start(fixture()).await;
    let parrot = h
        .fake()
        .with_state(|s| s.add_custom_emoji("W", "party-parrot"))
        .unwrap();
    h.fake().with_state(|s| s.add_custom_emoji("W", "shipit"));
    let list = h.text(T, "get_self", json!({"emojis": true})).await;
    assert!(
        list.contains(":party-parrot:") && list.contains(":shipit:"),
        "{list}"
    );
    assert!(
        common::notion_data(&list).starts_with("2 custom emoji(s)"),
        "{list}"
    );

    let created = h
        .text(
            T,
            "create_page",
            json!({"parent": id("home"), "title": "Party", "icon": ":party-parrot:"}),
        )
        .await;
    let page = first_id(&created);
    let icon = h
        .fake()
        .with_state(|s| s.pages[&page.parse().unwrap()].icon.clone().unwrap());
    assert_eq!(icon["type"], "custom_emoji");
    assert_eq!(icon["custom_emoji"]["id"], parrot.to_string());

    let r = h
        .call(
            T,
            "update_page",
            json!({"id": page, "icon": ":party-parot:"}),
        )
        .await;
    let m = message(&r);
    assert!(
        m.contains("no custom emoji named \"party-parot\"") && m.contains(":party-parrot:"),
        "{m}"
    );
    assert!(!m.contains("shipit"), "only close names: {m}");
    // Ordinary emojis still work and do not look up the list.
    h.text(T, "update_page", json!({"id": page, "icon": "🎉"}))
        .await;
    h.shutdown().await;
}
