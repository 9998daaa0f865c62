//! Every tool against the stateful fake: pagination past 100, relations past 25, deep trees,
//! databases, users, comments, and the error paths.
#![allow(clippy::unwrap_used)]

mod common;

use common::{Harness, json_data, result_text};
use notion_fake::{Fixture, GeneratedIds};
use serde_json::{Value, json};

const T: &str = "ntn_workspace_w";

fn workspace() -> notion_fake::FixtureBuilder {
    Fixture::builder().workspace("W", T)
}

/// Rows of a Markdown table in `text` whose first cell starts with `prefix`.
fn rows_starting(text: &str, prefix: &str) -> Vec<String> {
    text.lines()
        .filter(|l| l.starts_with(&format!("| {prefix}")))
        .map(str::to_string)
        .collect()
}

fn cursor_of(text: &str) -> Option<String> {
    let i = text.rfind("cursor=\"")? + 8;
    Some(text[i..].split('"').next()?.to_string())
}

#[tokio::test]
async fn search_paginates_past_100_and_continues_without_gaps() {
    let h = Harness::start(workspace().pages(250, "Doc").build()).await;
    let all = h
        .text(T, "search", json!({"query": "Doc", "limit": 500}))
        .await;
    assert_eq!(rows_starting(&all, "Doc ").len(), 250);
    assert!(
        cursor_of(&all).is_none(),
        "no cursor when everything was returned"
    );

    let first = h
        .text(T, "search", json!({"query": "Doc", "limit": 120}))
        .await;
    let first_rows = rows_starting(&first, "Doc ");
    assert_eq!(first_rows.len(), 120);
    let cursor = cursor_of(&first).expect("a continuation cursor");
    let rest = h
        .text(
            T,
            "search",
            json!({"query": "Doc", "limit": 500, "cursor": cursor}),
        )
        .await;
    let rest_rows = rows_starting(&rest, "Doc ");
    assert_eq!(rest_rows.len(), 130);
    let mut seen: Vec<String> = first_rows.into_iter().chain(rest_rows).collect();
    seen.sort();
    seen.dedup();
    assert_eq!(seen.len(), 250, "no duplicates, no gaps");
    // Every Notion request asked for at most 100 items.
    assert!(h.fake().requests().iter().all(|r| {
        r.body
            .as_ref()
            .and_then(|b| b["page_size"].as_u64())
            .unwrap_or(100)
            <= 100
    }));
    h.shutdown().await;
}

#[tokio::test]
async fn search_filters_and_reports_empty_results() {
    let h = Harness::start(Fixture::sample()).await;
    let t = h
        .text("ntn_demo_acme", "search", json!({"type": "data_source"}))
        .await;
    assert!(t.contains("data source"), "{t}");
    assert!(!t.contains("| page |"), "{t}");
    let t = h
        .text(
            "ntn_demo_acme",
            "search",
            json!({"query": "zzz-no-such-title"}),
        )
        .await;
    assert!(t.contains("No pages or data sources"), "{t}");
    let t = h
        .text(
            "ntn_demo_acme",
            "search",
            json!({"query": "", "format": "json"}),
        )
        .await;
    let v: Value = json_data(&t);
    assert!(v["results"].as_array().unwrap().len() > 3);
    h.shutdown().await;
}

#[tokio::test]
async fn fetch_renders_a_deep_block_tree() {
    let h = Harness::start(workspace().block_tree("Deep", 5, 2).build()).await;
    let id = GeneratedIds::named("Deep").to_string();
    let t = h.text(T, "fetch", json!({"id": id})).await;
    assert!(t.contains("# Deep"), "{t}");
    for label in ["1", "1.2", "1.2.1", "1.2.1.2", "2.2.2.2.2"] {
        assert!(
            t.contains(&format!("<summary>{label}</summary>")),
            "missing {label}: {t}"
        );
    }
    // 2 + 4 + 8 + 16 + 32 toggles.
    assert_eq!(t.matches("<summary>").count(), 62);
    // The same page by URL, and as JSON.
    let url = format!("https://www.notion.so/acme/Deep-{}", id.replace('-', ""));
    let by_url = h.text(T, "fetch", json!({"id": url})).await;
    assert_eq!(by_url, t);
    let j = h
        .text(T, "fetch", json!({"id": id, "format": "json"}))
        .await;
    let v: Value = json_data(&j);
    assert!(v["blocks"][0]["children"].is_array(), "{j}");
    h.shutdown().await;
}

#[tokio::test]
async fn fetch_long_page_continues_with_a_cursor() {
    let h = Harness::start_with(workspace().page_with_blocks("Long", 1500).build(), |_| {}).await;
    let id = GeneratedIds::named("Long").to_string();
    let first = h.text(T, "fetch", json!({"id": id})).await;
    assert!(first.contains("Paragraph 0"));
    let cursor = cursor_of(&first).expect("cursor");
    let second = h
        .text(T, "fetch", json!({"id": id, "cursor": cursor}))
        .await;
    assert!(
        second.contains("Paragraph 1499"),
        "{}",
        &second[second.len().saturating_sub(300)..]
    );
    let shown = |t: &str| {
        (0..1500)
            .filter(|i| t.contains(&format!("Paragraph {i}\n")))
            .count()
    };
    assert_eq!(
        shown(&first) + shown(&second),
        1500,
        "every paragraph exactly once"
    );
    h.shutdown().await;
}

#[tokio::test]
async fn relations_past_25_are_complete_with_get_page_property() {
    let h = Harness::start(workspace().relation_fanout("Rel", 60).build()).await;
    let id = GeneratedIds::source_row("Rel").to_string();
    let page = h.text(T, "get_page", json!({"id": id})).await;
    assert!(page.contains("at most 25"), "{page}");
    let all = h
        .text(
            T,
            "get_page_property",
            json!({"page_id": id, "property": "Links"}),
        )
        .await;
    assert!(all.contains("60 item(s)"), "{all}");
    for i in 0..60 {
        let target = GeneratedIds::row("Rel Targets", i).to_string();
        assert!(all.contains(&target), "missing relation target {i}");
    }
    let people = h
        .text(
            T,
            "get_page_property",
            json!({"page_id": id, "property": "People"}),
        )
        .await;
    assert!(
        people.contains("60 item(s)") && people.contains("Rel User 59"),
        "{people}"
    );
    let r = h
        .call(
            T,
            "get_page_property",
            json!({"page_id": id, "property": "Nope"}),
        )
        .await;
    assert_eq!(r["isError"], true);
    assert!(
        result_text(&r).contains("Links"),
        "lists the real properties"
    );
    h.shutdown().await;
}

#[tokio::test]
async fn query_data_source_filters_sorts_and_resolves_database_ids() {
    let h = Harness::start(workspace().database_with_rows("Tasks", 150).build()).await;
    let ds = GeneratedIds::data_source("Tasks").to_string();
    let db = GeneratedIds::database("Tasks").to_string();
    let t = h
        .text(
            T,
            "query_data_source",
            json!({
                "id": ds,
                "filter": {"property": "Done", "checkbox": {"equals": true}},
                "sorts": [{"property": "Number", "direction": "descending"}],
                "limit": 200
            }),
        )
        .await;
    let rows = rows_starting(&t, "Row ");
    assert_eq!(rows.len(), 75, "{t}");
    assert!(rows[0].starts_with("| Row 148 "), "{}", rows[0]);
    // A database id resolves to its data source; filters may arrive JSON-encoded.
    let t = h
        .text(T, "query_data_source", json!({"id": db, "filter": "{\"property\":\"Tag\",\"select\":{\"equals\":\"red\"}}", "limit": "1000"}))
        .await;
    assert_eq!(rows_starting(&t, "Row ").len(), 50, "{t}");
    // Bounded with a cursor.
    let t = h
        .text(T, "query_data_source", json!({"id": ds, "limit": 120}))
        .await;
    assert_eq!(rows_starting(&t, "Row ").len(), 120);
    assert!(cursor_of(&t).is_some());
    // Column choice and JSON output.
    let t = h
        .text(
            T,
            "query_data_source",
            json!({"id": ds, "limit": 2, "columns": ["Tag"]}),
        )
        .await;
    assert!(t.contains("Tag") && !t.contains("Due"), "{t}");
    let j = h
        .text(
            T,
            "query_data_source",
            json!({"id": ds, "limit": 3, "format": "json"}),
        )
        .await;
    let v: Value = json_data(&j);
    assert_eq!(v["results"].as_array().unwrap().len(), 3);
    // A bad filter is Notion's validation error, reported as a tool error.
    let r = h
        .call(
            T,
            "query_data_source",
            json!({"id": ds, "filter": {"property": "Nope", "checkbox": {"equals": true}}}),
        )
        .await;
    assert_eq!(r["isError"], true, "{r}");
    h.shutdown().await;
}

#[tokio::test]
async fn every_read_tool_works_on_the_sample_workspace() {
    let h = Harness::start(Fixture::sample()).await;
    let tok = "ntn_demo_acme";
    let search = h.text(tok, "search", json!({"format": "json"})).await;
    let v: Value = json_data(&search);
    let results = v["results"].as_array().unwrap().clone();
    let home: Value = json_data(
        &h.text(
            tok,
            "search",
            json!({"query": "Acme Home", "format": "json"}),
        )
        .await,
    );
    let page = &home["results"][0];
    let ds = results
        .iter()
        .find(|r| r["object"] == "data_source")
        .unwrap();
    let page_id = page["id"].as_str().unwrap();
    let ds_id = ds["id"].as_str().unwrap();
    let db_id = ds["parent"]["database_id"].as_str().unwrap();

    let fetched = h.text(tok, "fetch", json!({"id": page_id})).await;
    assert!(fetched.starts_with("<notion-data>\n# "), "{fetched}");
    assert!(fetched.ends_with("\n</notion-data>"), "{fetched}");
    let fetched_ds = h.text(tok, "fetch", json!({"id": ds_id})).await;
    assert!(
        fetched_ds.contains("First rows") || fetched_ds.contains('|'),
        "{fetched_ds}"
    );
    let fetched_db = h.text(tok, "fetch", json!({"id": db_id})).await;
    assert!(fetched_db.contains(ds_id), "{fetched_db}");
    let fetched_typed = h
        .text(tok, "fetch", json!({"id": db_id, "type": "database"}))
        .await;
    assert_eq!(fetched_typed, fetched_db);

    // A database id gives the database, its data sources and the first one's schema.
    let db = h.text(tok, "get_data_source", json!({"id": db_id})).await;
    assert!(db.contains(ds_id) && db.contains("title"), "{db}");
    let schema = h.text(tok, "get_data_source", json!({"id": ds_id})).await;
    assert!(schema.contains("title"), "{schema}");
    let _templates = h
        .text(tok, "list_data_source_templates", json!({"id": ds_id}))
        .await;
    let users = h.text(tok, "list_users", json!({})).await;
    assert!(users.lines().count() >= 3, "{users}");
    let users_json = h.text(tok, "list_users", json!({"format": "json"})).await;
    let uv: Value = json_data(&users_json);
    let user_id = uv["results"]
        .as_array()
        .unwrap()
        .iter()
        .find(|u| u["type"] == "person")
        .unwrap()["id"]
        .as_str()
        .unwrap()
        .to_string();
    let user = h.text(tok, "list_users", json!({"id": user_id})).await;
    assert!(user.contains(&user_id));
    let me = h.text(tok, "get_self", json!({})).await;
    assert!(me.contains("Acme Demo"), "{me}");
    let children = h
        .text(tok, "get_block_children", json!({"id": page_id}))
        .await;
    assert!(children.contains('^'), "block ids are shown: {children}");
    let rec = h
        .text(
            tok,
            "get_block_children",
            json!({"id": page_id, "recursive": true}),
        )
        .await;
    assert!(rec.len() >= children.len());
    let page_props = h.text(tok, "get_page", json!({"id": page_id})).await;
    assert!(page_props.contains(page_id), "{page_props}");
    // Comments: find a page that has some.
    let mut found_comment = false;
    for r in results.iter().filter(|r| r["object"] == "page") {
        let c = h.text(tok, "list_comments", json!({"id": r["id"]})).await;
        if common::notion_data(&c).starts_with("Discussion") {
            found_comment = true;
            break;
        }
    }
    assert!(found_comment, "the sample workspace has comments");
    // Resources and prompts.
    let v = h
        .rpc(
            Some(tok),
            "resources/read",
            json!({"uri": format!("notion://page/{page_id}")}),
        )
        .await;
    assert!(
        v["result"]["contents"][0]["text"]
            .as_str()
            .unwrap()
            .starts_with("<notion-data>\n#"),
        "{v}"
    );
    let v = h
        .rpc(
            Some(tok),
            "resources/read",
            json!({"uri": "notion://guide/markdown"}),
        )
        .await;
    assert!(
        v["result"]["contents"][0]["text"]
            .as_str()
            .unwrap()
            .contains("Notion Markdown")
    );
    let v = h
        .rpc(
            Some(tok),
            "prompts/get",
            json!({"name": "summarize_page", "arguments": {"page": page_id}}),
        )
        .await;
    assert!(
        v["result"]["messages"][0]["content"]["text"]
            .as_str()
            .unwrap()
            .contains(page_id)
    );
    let v = h
        .rpc(Some(tok), "completion/complete", json!({"ref": {"type": "ref/prompt", "name": "summarize_page"}, "argument": {"name": "page", "value": ""}}))
        .await;
    assert!(
        !v["result"]["completion"]["values"]
            .as_array()
            .unwrap()
            .is_empty(),
        "{v}"
    );
    h.shutdown().await;
}

#[tokio::test]
async fn not_found_and_unshared_objects_are_clear_tool_errors() {
    let h = Harness::start(Fixture::sample()).await;
    let r = h
        .call(
            "ntn_demo_acme",
            "fetch",
            json!({"id": "0123456789abcdef0123456789abcdef"}),
        )
        .await;
    assert_eq!(r["isError"], true);
    assert_eq!(r["structuredContent"]["error"]["code"], "object_not_found");
    assert_eq!(r["structuredContent"]["error"]["status"], 404);
    h.shutdown().await;
}
