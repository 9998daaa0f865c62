//! Writes Notion runs asynchronously: a large Markdown replace or page create is sent with
//! `allow_async`, answered 202 with a task, polled until it finishes; a task that outlives the
//! call's wait is handed back for `get_task`; a task that fails after its 202 is the write's error;
//! and the read cache shows the write as soon as its task is known to have finished.
#![allow(clippy::unwrap_used)]

mod common;
mod write_support;

use common::{Harness, error_of, first_id, id, result_text};
use serde_json::json;
use write_support::{T, fixture};

/// Markdown long enough to be sent with `allow_async`.
fn long_markdown(tag: &str) -> String {
    (0..600)
        .map(|i| format!("Paragraph {i} of the {tag} body, long enough to matter.\n\n"))
        .collect()
}

fn polls(h: &Harness) -> usize {
    h.fake()
        .requests()
        .iter()
        .filter(|r| r.path.starts_with("/v1/async_tasks/"))
        .count()
}

fn accepted(h: &Harness) -> usize {
    h.fake().count_status(202)
}

#[tokio::test]
async fn a_large_replace_runs_as_a_task_and_is_followed_to_the_end() {
    let h = Harness::start(fixture()).await;
    let page = id("archive");
    let md = long_markdown("new");
    let out = h
        .text(
            T,
            "update_page_markdown",
            json!({"id": page, "content": md}),
        )
        .await;
    assert!(out.contains("content replaced"), "{out}");
    assert_eq!(accepted(&h), 1, "the write was not sent with allow_async");
    assert!(polls(&h) >= 2, "the task was not polled to its end");
    let body = h.text(T, "get_page_markdown", json!({"id": page})).await;
    assert!(
        body.contains("Paragraph 599 of the new body"),
        "{}",
        &body[..200]
    );
    h.shutdown().await;
}

#[tokio::test]
async fn a_large_page_create_runs_as_a_task() {
    let h = Harness::start(fixture()).await;
    let out = h
        .text(
            T,
            "create_page",
            json!({"parent": id("home"), "title": "Long read", "content": long_markdown("created")}),
        )
        .await;
    assert!(out.contains("Long read"), "{out}");
    assert_eq!(accepted(&h), 1);
    let page = first_id(&out);
    let body = h.text(T, "get_page_markdown", json!({"id": page})).await;
    assert!(
        body.contains("Paragraph 599 of the created body"),
        "{}",
        &body[..200]
    );
    // Small bodies stay synchronous.
    h.text(
        T,
        "create_page",
        json!({"parent": id("home"), "title": "Short", "content": "just this"}),
    )
    .await;
    assert_eq!(accepted(&h), 1);
    h.shutdown().await;
}

#[tokio::test]
async fn a_task_that_fails_after_its_202_is_the_writes_error() {
    let h = Harness::start(fixture()).await;
    // Home holds a database: replacing its body without allow_deleting_content fails, but only
    // when Notion runs the task (the 202 checks access alone).
    let home = id("home");
    let r = h
        .call(
            T,
            "update_page_markdown",
            json!({"id": home, "content": long_markdown("doomed")}),
        )
        .await;
    let e = error_of(&r);
    assert_eq!(e["code"], "validation_error", "{r}");
    let msg = e["message"].as_str().unwrap();
    assert!(
        msg.contains("task_") && msg.contains("nothing was changed"),
        "{msg}"
    );
    assert!(msg.contains("allow_deleting_content"), "{msg}");
    assert_eq!(accepted(&h), 1);
    let body = h.text(T, "get_page_markdown", json!({"id": home})).await;
    assert!(!body.contains("doomed"), "{body}");
    assert!(body.contains("First"), "{body}");
    // An unknown task id is Notion's 404, named.
    let r = h.call(T, "get_task", json!({"task_id": "task_nope"})).await;
    assert_eq!(error_of(&r)["code"], "object_not_found", "{r}");
    let r = h.call(T, "get_task", json!({"task_id": "a/b"})).await;
    assert_eq!(error_of(&r)["field"], "task_id", "{r}");
    h.shutdown().await;
}

#[tokio::test]
async fn a_task_outliving_the_call_is_handed_back_and_the_cache_follows_it() {
    // A 2 s call deadline leaves one second of waiting; the task needs six polls.
    let h = Harness::start_with(fixture(), |a| {
        a.tool_timeout_secs = 2;
        a.webhook_verification_token = vec![notion_mcp_remote::config::Redacted(
            "secret_async_tasks".to_owned(),
        )];
    })
    .await;
    h.fake()
        .with_state(|s| s.async_tasks.settings.polls_before_run = 6);
    let page = id("archive");
    let before = h.text(T, "fetch", json!({"id": page})).await;
    assert!(!before.contains("Paragraph 1 of"), "{before}");
    let out = h
        .text(
            T,
            "update_page_markdown",
            json!({"id": page, "content": long_markdown("later")}),
        )
        .await;
    assert!(out.contains("get_task"), "{out}");
    let task = out
        .split("task_id=\"")
        .nth(1)
        .and_then(|r| r.split('"').next())
        .unwrap()
        .to_string();
    // While it runs, reads show the page as Notion has it (the cache may keep that).
    let during = h.text(T, "fetch", json!({"id": page})).await;
    assert!(
        !during.contains("Paragraph 1 of the later body"),
        "{during}"
    );
    let mut finished = None;
    for _ in 0..10 {
        let r = h.call(T, "get_task", json!({"task_id": task})).await;
        let text = result_text(&r);
        assert_ne!(r["isError"], true, "{r}");
        if text.contains("succeeded") {
            finished = Some(text);
            break;
        }
        assert!(
            text.contains("running") || text.contains("queued"),
            "{text}"
        );
    }
    let finished = finished.expect("the task never finished");
    assert!(finished.contains("characters of Markdown"), "{finished}");
    // No webhook was delivered: only the finished task's invalidation makes this read fresh.
    let after = h.text(T, "fetch", json!({"id": page})).await;
    assert!(
        after.contains("Paragraph 599 of the later body"),
        "stale after the task finished"
    );
    h.shutdown().await;
}
