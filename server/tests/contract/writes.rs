//! The write tools' half of the contract test: every write tool runs against the fake (pages under
//! each parent kind with readable properties and Markdown, updates, moves, trash and restore,
//! blocks, comments, databases and data sources, page Markdown edits, file uploads attached each
//! way), and every request the server sent is checked against the spec like the reads are.

use base64::Engine;
use notion_fake::GeneratedIds;

use super::common::{first_id, id};
use super::write_support::{T, fixture};
use super::*;

/// Spec operations the write tools are expected to exercise (the writes the spec describes).
const EXPECTED_WRITES: [&str; 10] = [
    "create-a-comment",
    "create-a-data-source",
    "delete-a-block",
    "move-page",
    "patch-block-children",
    "patch-page",
    "post-page",
    "update-a-block",
    "update-a-data-source",
    "update-page-markdown",
];

const MARKDOWN: &str = "# Plan\n\nSome **bold**, *italic*, `code` and a [link](https://example.com).\n\n\
    - one\n- two\n  - nested\n\n1. first\n\n- [ ] open\n- [x] done\n\n> quoted\n\n\
    ```rust\nfn main() {}\n```\n\n---\n\n| a | b |\n|---|---|\n| 1 | 2 |\n\n$$e=mc^2$$\n";

fn b64(bytes: &[u8]) -> String {
    base64::engine::general_purpose::STANDARD.encode(bytes)
}

/// Calls every write tool with realistic arguments; returns the requests the fake saw.
async fn exercise_write_tools(version: &str) -> Vec<RecordedRequest> {
    let v: NotionVersion = version.parse().unwrap();
    let h = Harness::start_with(fixture(), |a| a.notion_version = v).await;
    let owner = GeneratedIds::owner("W").to_string();
    let long = "x".repeat(4500);

    // Pages: under a page (Markdown, long text, icon), a database (readable properties, blocks)
    // and the workspace.
    let page = first_id(
        &h.text(
            T,
            "create_page",
            json!({"parent": id("home"), "title": "Plan", "content": format!("{MARKDOWN}\n{long}"), "icon": "📝"}),
        )
        .await,
    );
    let row = first_id(
        &h.text(
            T,
            "create_page",
            json!({"parent": id("tasks"), "title": "Ship it", "properties": {"Status": "Done",
                "Tags": ["a", "b"], "Due": "2025-01-02/2025-01-05", "Owner": owner, "Done": true,
                "Points": "3", "Files": ["https://example.com/spec.pdf"]},
                "blocks": [{"type": "to_do", "to_do": {"rich_text": [{"type": "text", "text": {"content": "check"}}]}}]}),
        )
        .await,
    );
    let top = first_id(
        &h.text(
            T,
            "create_page",
            json!({"parent": "workspace", "title": "Top level", "cover": "https://example.com/c.png"}),
        )
        .await,
    );

    // Updates, move, trash and restore.
    h.text(
        T,
        "update_page",
        json!({"id": row, "title": "Renamed", "properties": {"Status": "Todo", "Tags": "a, c",
            "Due": null, "Points": 5}, "icon": "🚀", "cover": "https://example.com/c.png"}),
    )
    .await;
    h.text(
        T,
        "update_page",
        json!({"id": row, "icon": "none", "locked": false}),
    )
    .await;
    h.text(T, "move_page", json!({"id": top, "parent": id("archive")}))
        .await;
    h.text(T, "trash_page", json!({"id": top})).await;
    h.text(T, "trash_page", json!({"id": top, "restore": true}))
        .await;

    // Blocks: Markdown at the end and the start, raw blocks after a block, edits, delete.
    let home = id("home");
    h.text(T, "append_blocks", json!({"id": home, "content": MARKDOWN}))
        .await;
    h.text(
        T,
        "append_blocks",
        json!({"id": home, "content": "At the start", "position": "start"}),
    )
    .await;
    h.text(
        T,
        "append_blocks",
        json!({"id": home, "position": id("second"), "blocks": [
            {"type": "to_do", "to_do": {"rich_text": [{"type": "text", "text": {"content": "After second"}}]}}]}),
    )
    .await;
    let todo = h.fake().with_state(|s| {
        s.blocks
            .values()
            .find(|b| b.data.pointer("/rich_text/0/plain_text") == Some(&json!("After second")))
            .map(|b| b.id.to_string())
            .unwrap()
    });
    h.text(
        T,
        "update_block",
        json!({"id": id("second"), "text": "Changed **text**", "color": "red"}),
    )
    .await;
    h.text(T, "update_block", json!({"id": todo, "checked": true}))
        .await;
    h.text(T, "delete_block", json!({"id": todo})).await;

    // Comments: a new discussion, then a reply.
    let made = h
        .text(
            T,
            "create_comment",
            json!({"on": page, "text": "Looks **good**"}),
        )
        .await;
    let discussion = h.fake().with_state(|s| {
        s.comments
            .last()
            .map(|c| c.discussion_id.to_string())
            .unwrap()
    });
    assert!(!made.is_empty());
    h.text(
        T,
        "create_comment",
        json!({"discussion": discussion, "text": "Thanks"}),
    )
    .await;

    // Databases and data sources.
    let db = first_id(
        &h.text(
            T,
            "create_database",
            json!({"parent": home, "title": "Projects", "description": "All of them", "icon": "📁",
                "properties": {"Name": "title", "Status": {"select": ["Todo", "Done"]}, "Due": "date",
                    "Tags": {"multi_select": "x, y"}, "Task": {"relation": id("tasks")}}}),
        )
        .await,
    );
    h.text(
        T,
        "update_data_source",
        json!({"id": db, "add": {"Budget": {"number": "dollar"}}, "rename": {"Due": "Deadline"},
            "remove": ["Status"]}),
    )
    .await;
    h.text(
        T,
        "update_database",
        json!({"id": db, "title": "Projects 2", "description": "Renamed", "locked": true}),
    )
    .await;
    h.text(
        T,
        "create_data_source",
        json!({"database": db, "title": "Archive", "properties": {"Title": "title", "Year": "number"}}),
    )
    .await;

    // Page Markdown: find-and-replace edits, then new content.
    h.text(
        T,
        "update_page_markdown",
        json!({"id": page, "edits": [["Plan", "Roadmap"]]}),
    )
    .await;
    h.text(
        T,
        "update_page_markdown",
        json!({"id": page, "content": "Fresh **start**"}),
    )
    .await;

    // File uploads, attached as a block, the cover and a files property; and a URL import.
    h.text(
        T,
        "upload_file",
        json!({"content": b64(b"%PDF-1.4 tiny"), "filename": "doc.pdf", "attach_to": home}),
    )
    .await;
    h.text(
        T,
        "upload_file",
        json!({"content": b64(b"\x89PNG tiny"), "filename": "c.png", "attach_to": page, "attach_as": "cover"}),
    )
    .await;
    h.text(
        T,
        "upload_file",
        json!({"content": b64(b"a,b"), "filename": "t.csv", "attach_to": row, "attach_as": "Files"}),
    )
    .await;
    h.text(
        T,
        "upload_file",
        json!({"url": "https://img.example/pics/cat.png", "attach_to": home}),
    )
    .await;

    // Duplicates: Notion's template copy, then block by block (appends placed with `position`,
    // the attached files uploaded again).
    h.text(T, "duplicate_page", json!({"id": page, "mode": "template"}))
        .await;
    h.text(
        T,
        "duplicate_page",
        json!({"id": home, "mode": "copy", "parent": page}),
    )
    .await;
    // A large Markdown body goes out with `allow_async` and is followed to its end.
    let long: String = (0..600)
        .map(|i| format!("Line {i} of a long body.\n\n"))
        .collect();
    h.text(
        T,
        "update_page_markdown",
        json!({"id": page, "content": long, "allow_deleting_content": true}),
    )
    .await;
    // Meeting notes: a query with a filter and sort.
    h.text(
        T,
        "list_meeting_notes",
        json!({"query": "standup", "sort": [{"property": "created_time", "direction": "descending"}], "limit": 5}),
    )
    .await;

    let requests = h.fake().requests();
    h.shutdown().await;
    // Reads may 404 (the tools probe whether an id is a page, a data source or a database).
    let failed: Vec<String> = requests
        .iter()
        .filter(|r| r.status >= 400 && r.method != http::Method::GET)
        .map(|r| format!("{} {} → {}", r.method, r.path, r.status))
        .collect();
    assert!(failed.is_empty(), "the fake refused writes: {failed:?}");
    requests
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn write_tool_requests_match_notions_openapi_spec() {
    let spec = Spec::load();
    let mut report = Report::default();
    let mut requests = Vec::new();
    for version in KNOWN_VERSIONS {
        requests.extend(exercise_write_tools(version).await);
    }
    let writes: Vec<RecordedRequest> = requests
        .into_iter()
        .filter(|r| r.method != http::Method::GET)
        .collect();
    check_all(&spec, &writes, &mut report);
    assert_report(&report, writes.len(), &EXPECTED_WRITES, Tools::Write);
}
