//! The write tools through MCP against the stateful fake: pages (any parent, readable properties,
//! long content), updates, moves, trash and restore; page Markdown; committed-then-503 safety; and
//! the size and annotations of the tool list. Blocks, databases and comments: `write_content.rs`.
#![allow(clippy::unwrap_used)]

mod common;
mod write_support;

use common::{Harness, error_of, first_id, id, json_data, result_text};
use notion_fake::{Fault, FaultRule, GeneratedIds};
use serde_json::{Value, json};
use write_support::{T, fixture};

#[tokio::test]
async fn create_page_under_a_page_a_database_and_the_workspace() {
    let h = Harness::start(fixture()).await;
    // Under a page, with Markdown content.
    let t = h
        .text(
            T,
            "create_page",
            json!({"parent": id("home"), "title": "Notes", "content": "Hello **world**\n\nSecond paragraph", "icon": "📝"}),
        )
        .await;
    let page = first_id(&t);
    let f = h.text(T, "fetch", json!({"id": page})).await;
    assert!(f.contains("Notes"), "{f}");
    assert!(f.contains("world") && f.contains("Second paragraph"), "{f}");
    let parent = h
        .text(T, "get_block_children", json!({"id": id("home")}))
        .await;
    assert!(parent.contains("Notes"), "{parent}");

    // Columns go in the create request itself, each column with its children (Notion's rule).
    let columns = "<columns>\n\t<column>\n\t\tLeft\n\t</column>\n\t<column>\n\t\tRight\n\t</column>\n</columns>";
    h.fake().reset_log();
    let t = h
        .text(
            T,
            "create_page",
            json!({"parent": id("home"), "title": "Split", "content": columns}),
        )
        .await;
    let created = h.fake().requests();
    let create = created
        .iter()
        .find(|r| r.method == http::Method::POST)
        .unwrap();
    let sent = &create.body.as_ref().unwrap()["children"][0]["column_list"]["children"];
    assert_eq!(
        sent[1]["column"]["children"][0]["paragraph"]["rich_text"][0]["text"]["content"],
        "Right"
    );
    assert!(
        !created.iter().any(|r| r.method == http::Method::PATCH),
        "one request"
    );
    let md = h
        .text(T, "get_page_markdown", json!({"id": first_id(&t)}))
        .await;
    assert!(md.contains("<columns>") && md.contains("Right"), "{md}");

    // Under a database: the data source is found, readable properties are converted.
    let owner = GeneratedIds::owner("W").to_string();
    let t = h
        .text(
            T,
            "create_page",
            json!({"parent": id("tasks"), "title": "Ship it", "properties": {"Status": "Done",
                "Tags": ["a", "b"], "Due": "2025-01-02", "Owner": owner, "Done": true, "Points": "3"},
                "blocks": [{"type": "to_do", "to_do": {"rich_text": [{"type": "text", "text": {"content": "check"}}]}}]}),
        )
        .await;
    let row = first_id(&t);
    let j: Value = json_data(
        &h.text(T, "get_page", json!({"id": row, "format": "json"}))
            .await,
    );
    let p = &j["properties"];
    assert_eq!(p["Status"]["status"]["name"], "Done", "{j}");
    assert_eq!(p["Tags"]["multi_select"].as_array().unwrap().len(), 2);
    assert_eq!(p["Due"]["date"]["start"], "2025-01-02");
    assert_eq!(p["Owner"]["people"][0]["id"], owner);
    assert_eq!(p["Done"]["checkbox"], true);
    assert_eq!(p["Points"]["number"], 3.0);
    let rows = h
        .text(T, "query_data_source", json!({"id": id("tasks-ds")}))
        .await;
    assert!(rows.contains("Ship it"), "{rows}");
    let body = h.text(T, "fetch", json!({"id": row})).await;
    assert!(body.contains("- [ ] check"), "{body}");

    // In the workspace.
    let t = h
        .text(
            T,
            "create_page",
            json!({"parent": "workspace", "title": "Top level"}),
        )
        .await;
    let top = first_id(&t);
    let v = h.fake().with_state(|s| {
        s.pages
            .get(&top.parse().unwrap())
            .map(|p| p.parent == notion_fake::state::Parent::Workspace)
    });
    assert_eq!(v, Some(true));
    h.shutdown().await;
}

#[tokio::test]
async fn create_page_errors_name_the_field() {
    let h = Harness::start(fixture()).await;
    let cases = [
        (
            json!({"parent": id("tasks"), "properties": {"Nope": 1}}),
            "properties.Nope",
        ),
        (
            json!({"parent": id("tasks"), "properties": {"Made": "x"}}),
            "properties.Made",
        ),
        (
            json!({"parent": id("tasks"), "properties": {"Due": "someday"}}),
            "properties.Due",
        ),
        (
            json!({"parent": id("home"), "properties": {"Status": "x"}}),
            "properties.Status",
        ),
        (
            json!({"parent": id("home"), "content": "x", "blocks": []}),
            "blocks",
        ),
        (json!({"parent": "not an id"}), "parent"),
        (json!({"parent": id("nowhere"), "title": "x"}), "parent"),
        (
            json!({"parent": id("tasks"), "position": "start"}),
            "position",
        ),
        (
            json!({"parent": id("home"), "template": "default", "content": "x"}),
            "template",
        ),
        (json!({"parent": id("home"), "icon": "rocket"}), "icon"),
    ];
    for (args, field) in cases {
        let r = h.call(T, "create_page", args.clone()).await;
        let e = error_of(&r);
        let text = result_text(&r);
        assert!(
            e["field"] == field || text.contains(field),
            "{args}: expected field {field}: {r}"
        );
    }
    // Notion's own validation errors come back with code and status.
    let r = h
        .call(
            T,
            "create_page",
            json!({"parent": id("home"), "blocks": [{"type": "nonsense", "nonsense": {}}]}),
        )
        .await;
    let e = error_of(&r);
    assert_eq!(e["code"], "validation_error", "{r}");
    assert_eq!(e["status"], 400);
    h.shutdown().await;
}

#[tokio::test]
async fn long_markdown_content_is_created_in_several_requests() {
    let h = Harness::start(fixture()).await;
    let md: Vec<String> = (1..=250).map(|i| format!("Paragraph {i}")).collect();
    h.fake().reset_log();
    let t = h
        .text(
            T,
            "create_page",
            json!({"parent": id("home"), "title": "Long", "content": md.join("\n\n")}),
        )
        .await;
    assert!(t.contains("250 top-level block(s) in 3 request(s)"), "{t}");
    let page = first_id(&t);
    let appends = h
        .fake()
        .requests()
        .iter()
        .filter(|r| r.method == "PATCH" && r.path.ends_with("/children"))
        .count();
    assert_eq!(appends, 2);
    let all = h
        .text(T, "get_block_children", json!({"id": page, "limit": 1000}))
        .await;
    assert!(
        all.contains("Paragraph 1\n") || all.contains("Paragraph 1 "),
        "{all}"
    );
    let pos_1 = all.find("Paragraph 100").unwrap();
    let pos_2 = all.find("Paragraph 101").unwrap();
    let pos_3 = all.find("Paragraph 250").unwrap();
    assert!(pos_1 < pos_2 && pos_2 < pos_3, "order kept");
    h.shutdown().await;
}

#[tokio::test]
async fn update_lock_move_trash_and_restore_a_page() {
    let h = Harness::start(fixture()).await;
    let t = h
        .text(
            T,
            "create_page",
            json!({"parent": id("tasks"), "title": "Row"}),
        )
        .await;
    let row = first_id(&t);
    let t = h
        .text(
            T,
            "update_page",
            json!({"id": row, "title": "Renamed", "properties": {"Status": "Todo", "Tags": "a, c"},
                   "icon": "🚀", "cover": "https://img.example/c.png", "locked": true}),
        )
        .await;
    assert!(t.contains("Renamed") && t.contains("locked"), "{t}");
    let j: Value = json_data(
        &h.text(T, "get_page", json!({"id": row, "format": "json"}))
            .await,
    );
    assert_eq!(j["properties"]["Status"]["status"]["name"], "Todo");
    assert_eq!(j["icon"]["emoji"], "🚀");
    assert_eq!(j["is_locked"], true);
    let t = h
        .text(
            T,
            "update_page",
            json!({"id": row, "icon": "none", "locked": false}),
        )
        .await;
    assert!(!t.contains("locked"), "{t}");
    let r = h.call(T, "update_page", json!({"id": row})).await;
    assert_eq!(error_of(&r)["field"], "arguments");
    let r = h
        .call(
            T,
            "update_page",
            json!({"id": row, "properties": {"Zap": 1}}),
        )
        .await;
    assert_eq!(error_of(&r)["field"], "properties.Zap");

    // Move a plain page under another page, then the row into a page.
    let t = h
        .text(
            T,
            "create_page",
            json!({"parent": id("home"), "title": "Mover"}),
        )
        .await;
    let mover = first_id(&t);
    let t = h
        .text(
            T,
            "move_page",
            json!({"id": mover, "parent": id("archive")}),
        )
        .await;
    assert!(t.contains("Moved") && t.contains(&id("archive")), "{t}");
    let kids = h
        .text(T, "get_block_children", json!({"id": id("archive")}))
        .await;
    assert!(kids.contains("Mover"), "{kids}");
    let r = h
        .call(
            T,
            "move_page",
            json!({"id": mover, "parent": id("missing")}),
        )
        .await;
    assert_eq!(error_of(&r)["field"], "parent");
    let r = h.call(T, "move_page", json!({"id": mover})).await;
    assert!(result_text(&r).contains("parent"), "{r}");
    // A row moves into another data source, given by its database id.
    h.text(T, "move_page", json!({"id": row, "parent": id("tasks")}))
        .await;
    // update_page no longer moves, trashes or edits the body.
    for extra in [
        json!({"parent": id("archive")}),
        json!({"trash": true}),
        json!({"content": "x"}),
    ] {
        let mut args = extra.clone();
        args["id"] = json!(mover);
        let r = h.call(T, "update_page", args).await;
        assert_eq!(r["isError"], true, "{extra}: {r}");
    }

    // Trash and restore.
    let t = h.text(T, "trash_page", json!({"id": mover})).await;
    assert!(t.contains("trash") && t.contains("restore: true"), "{t}");
    let trashed = h
        .fake()
        .with_state(|s| s.pages[&mover.parse().unwrap()].in_trash);
    assert!(trashed);
    let kids = h
        .text(T, "get_block_children", json!({"id": id("archive")}))
        .await;
    assert!(!kids.contains("Mover"), "{kids}");
    // Trashing twice is harmless.
    h.text(T, "trash_page", json!({"id": mover})).await;
    let t = h
        .text(T, "trash_page", json!({"id": mover, "restore": true}))
        .await;
    assert!(t.contains("Restored") && t.contains("Mover"), "{t}");
    let kids = h
        .text(T, "get_block_children", json!({"id": id("archive")}))
        .await;
    assert!(kids.contains("Mover"), "{kids}");
    let r = h.call(T, "trash_page", json!({"id": id("ghost")})).await;
    let e = error_of(&r);
    assert_eq!(e["code"], "object_not_found");
    assert!(result_text(&r).contains("page"), "{r}");
    let r = h
        .call(T, "trash_page", json!({"id": id("ghost"), "restore": true}))
        .await;
    assert_eq!(error_of(&r)["code"], "object_not_found");
    let r = h.call(T, "trash_page", json!({"id": "not an id"})).await;
    assert_eq!(error_of(&r)["field"], "id");
    h.shutdown().await;
}

#[tokio::test]
async fn page_markdown_is_read_replaced_and_edited() {
    let h = Harness::start(fixture()).await;
    let t = h
        .text(
            T,
            "create_page",
            json!({"parent": id("home"), "title": "Doc", "content": "# Plan\n\n- [ ] draft\n- [x] review\n\nSome **bold** text"}),
        )
        .await;
    let page = first_id(&t);
    let md = h.text(T, "get_page_markdown", json!({"id": page})).await;
    assert!(
        md.contains("- [ ] draft") && md.contains("**bold**"),
        "{md}"
    );
    assert!(
        !md.contains("Truncated") && !md.contains("Not rendered"),
        "{md}"
    );
    let t = h
        .text(
            T,
            "update_page_markdown",
            json!({"id": page, "edits": [["draft", "write"], ["bold", "strong"]]}),
        )
        .await;
    assert!(t.contains("2 edit(s)"), "{t}");
    let md = h.text(T, "get_page_markdown", json!({"id": page})).await;
    assert!(
        md.contains("- [ ] write") && md.contains("**strong**"),
        "{md}"
    );
    // An edit whose text is absent is named, with the Markdown it must match; nothing is applied.
    let r = h
        .call(
            T,
            "update_page_markdown",
            json!({"id": page, "edits": [["write", "x"], ["nowhere", "x"]]}),
        )
        .await;
    let e = error_of(&r);
    assert_eq!(e["field"], "edits[1][0]", "{r}");
    let text = result_text(&r);
    assert!(
        text.contains("\"nowhere\"") && text.contains("- [ ] write"),
        "{r}"
    );
    // The page's words in the error are delimited as Notion data too.
    assert!(
        text.contains("exactly:\n<notion-data>\n") && text.contains("\n</notion-data>"),
        "{text}"
    );
    let md = h.text(T, "get_page_markdown", json!({"id": page})).await;
    assert!(md.contains("- [ ] write"), "{md}");
    for (args, field) in [
        (json!({"id": page, "edits": [["only one"]]}), "edits[0]"),
        (json!({"id": page, "edits": [["", "x"]]}), "edits[0][0]"),
        (json!({"id": page, "edits": []}), "edits"),
        (json!({"id": page}), "content"),
        (
            json!({"id": page, "content": "a", "edits": [["a", "b"]]}),
            "edits",
        ),
    ] {
        let r = h.call(T, "update_page_markdown", args.clone()).await;
        assert_eq!(error_of(&r)["field"], field, "{args}: {r}");
    }
    let t = h
        .text(
            T,
            "update_page_markdown",
            json!({"id": page, "content": "Fresh start"}),
        )
        .await;
    assert!(t.contains("replaced"), "{t}");
    let f = h.text(T, "fetch", json!({"id": page})).await;
    assert!(
        f.contains("Fresh start") && !f.contains("review") && f.contains("Doc"),
        "{f}"
    );
    let r = h
        .call(T, "get_page_markdown", json!({"id": id("ghost")}))
        .await;
    assert_eq!(error_of(&r)["code"], "object_not_found", "{r}");
    let r = h
        .call(
            T,
            "update_page_markdown",
            json!({"id": id("ghost"), "content": "x"}),
        )
        .await;
    assert_eq!(error_of(&r)["code"], "object_not_found", "{r}");
    h.shutdown().await;
}

#[tokio::test]
async fn committed_then_503_on_create_page_names_the_page_and_is_not_repeated() {
    let h = Harness::start(fixture()).await;
    h.fake().push_fault(
        FaultRule::new(Fault::CommittedThenUnavailable)
            .method(http::Method::POST)
            .path_prefix("/v1/pages")
            .times(1),
    );
    let before = h.fake().with_state(|s| s.pages.len());
    let r = h
        .call(
            T,
            "create_page",
            json!({"parent": id("home"), "title": "Once"}),
        )
        .await;
    let e = error_of(&r);
    assert_eq!(e["code"], "service_unavailable", "{r}");
    let committed = e["committed_resource_id"].as_str().unwrap().to_string();
    assert!(result_text(&r).contains(&committed), "{r}");
    let after = h.fake().with_state(|s| {
        s.pages
            .values()
            .filter(|p| s.page_title(p) == "Once")
            .count()
    });
    assert_eq!(after, 1, "exactly one page created");
    assert_eq!(h.fake().with_state(|s| s.pages.len()), before + 1);
    let posts = h
        .fake()
        .requests()
        .iter()
        .filter(|r| r.method == "POST" && r.path == "/v1/pages")
        .count();
    assert_eq!(posts, 1, "the create was not replayed");
    h.shutdown().await;
}

#[tokio::test]
async fn tools_list_stays_compact_with_write_annotations() {
    let h = Harness::start(fixture()).await;
    let v = h.rpc(Some(T), "tools/list", json!({})).await;
    let tools = v["result"]["tools"].as_array().unwrap();
    let bytes = v["result"].to_string().len();
    println!("tools/list: {bytes} bytes for {} tools", tools.len());
    for t in tools {
        println!("  {:>5} {}", t.to_string().len(), t["name"]);
        if std::env::var("SHOW_TOOLS").is_ok() {
            println!("{t}");
        }
    }
    assert!(bytes < 19_000, "tools/list is {bytes} bytes");
    let hints = |name: &str| {
        let t = tools
            .iter()
            .find(|t| t["name"] == name)
            .unwrap_or_else(|| panic!("{name} missing"));
        let a = &t["annotations"];
        assert_eq!(a["readOnlyHint"], false, "{t}");
        (a["destructiveHint"] == true, a["idempotentHint"] == true)
    };
    for (name, destructive, idempotent) in [
        ("create_page", false, false),
        ("update_page", true, true),
        ("move_page", false, true),
        ("trash_page", true, true),
        ("update_page_markdown", true, false),
        ("append_blocks", false, false),
        ("update_block", true, true),
        ("delete_block", true, true),
        ("create_database", false, false),
        ("update_database", true, true),
        ("create_data_source", false, false),
        ("update_data_source", true, false),
        ("create_comment", false, false),
        ("upload_file", false, false),
    ] {
        assert_eq!(hints(name), (destructive, idempotent), "{name}");
    }
    for name in ["get_page_markdown", "get_file_upload"] {
        let t = tools.iter().find(|t| t["name"] == name).unwrap();
        assert_eq!(t["annotations"]["readOnlyHint"], true, "{t}");
    }
    let description = |name: &str| {
        let t = tools.iter().find(|t| t["name"] == name).unwrap();
        t["description"].as_str().unwrap().to_string()
    };
    let trash = description("trash_page");
    assert!(
        trash.contains("trash") && trash.contains("restore: true"),
        "{trash}"
    );
    assert!(description("delete_block").contains("trash"));
    h.shutdown().await;
}
