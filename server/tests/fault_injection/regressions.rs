//! Regressions the fault-injection suite found, pinned down one fault at a time against an
//! in-process server.

use crate::common;
use crate::common::{error_of, result_text};
use crate::plan::TOKEN;
use notion_fake::{FaultRule, Fixture};
use serde_json::json;
use std::time::Duration;

fn always(fault: notion_fake::Fault) -> FaultRule {
    FaultRule::new(fault).path_prefix("/v1/")
}

#[tokio::test]
async fn rate_limits_without_retry_after_still_carry_retry_after_seconds() {
    let h = common::Harness::start_with(Fixture::sample(), |a| {
        a.retry_max = 1;
        a.retry_max_wait_secs = 2;
    })
    .await;
    for (fault, code) in [
        (
            notion_fake::Fault::Status {
                status: 429,
                code: "rate_limited".into(),
                retry_after: None,
            },
            "rate_limited",
        ),
        (
            notion_fake::Fault::Overloaded { retry_after: None },
            "service_overload",
        ),
    ] {
        h.fake().push_fault(always(fault));
        let r = h.call(TOKEN, "get_self", json!({})).await;
        h.fake().clear_faults();
        let e = error_of(&r);
        assert_eq!(e["code"], code, "{r}");
        let secs = e["retry_after_seconds"]
            .as_u64()
            .expect("retry_after_seconds");
        assert!(secs >= 1, "{r}");
        let text = result_text(&r);
        assert_eq!(
            text.matches(&format!("Retry after {secs} s.")).count(),
            1,
            "{text}"
        );
    }
    h.shutdown().await;
}

#[tokio::test]
async fn server_errors_name_the_cause_in_the_text() {
    let h = common::Harness::start_with(Fixture::sample(), |a| a.retry_max = 0).await;
    for status in [500, 502, 503, 504] {
        h.fake().push_fault(always(notion_fake::Fault::Status {
            status,
            code: String::new(),
            retry_after: None,
        }));
        let r = h.call(TOKEN, "get_self", json!({})).await;
        h.fake().clear_faults();
        error_of(&r);
        let text = result_text(&r);
        assert!(
            text.contains(&format!(
                "Notion is temporarily unavailable (HTTP {status})"
            )),
            "{text}"
        );
    }
    h.shutdown().await;
}

#[tokio::test]
async fn a_create_that_times_out_is_sent_once_and_reported_as_unknown() {
    let h = common::Harness::start_with(Fixture::sample(), |a| a.notion_timeout_secs = 1).await;
    h.fake().push_fault(
        FaultRule::new(notion_fake::Fault::Delay(Duration::from_millis(1800)))
            .method(http::Method::POST)
            .path_prefix("/v1/pages")
            .times(1),
    );
    let title = "Slow create";
    let parent = notion_fake::stable_id("acme-handbook").to_string();
    let r = h
        .call(
            TOKEN,
            "create_page",
            json!({"parent": parent, "title": title, "content": "Body."}),
        )
        .await;
    let e = error_of(&r);
    assert_eq!(e["code"], "timeout", "{r}");
    assert_eq!(e["write_outcome"], "unknown", "{r}");
    assert!(
        result_text(&r).contains("may or may not have been applied"),
        "{r}"
    );
    // The fake applies the write once its delay is over, though the server stopped waiting: it was
    // committed once, and nobody sent it again.
    h.fake().idle().await;
    let posts: Vec<u16> = h
        .fake()
        .requests()
        .iter()
        .filter(|q| q.method == http::Method::POST && q.path == "/v1/pages")
        .map(|q| q.status)
        .collect();
    assert_eq!(posts, [200], "sent once, applied once");
    let pages = h.fake().with_state(|s| {
        s.pages
            .values()
            .filter(|p| {
                serde_json::to_string(&p.properties)
                    .unwrap()
                    .contains(&format!("\"{title}\""))
            })
            .count()
    });
    assert_eq!(pages, 1, "'{title}' exists once");
    // A read that times out carries no such note.
    h.fake()
        .push_fault(always(notion_fake::Fault::Delay(Duration::from_millis(
            1800,
        ))));
    let r = h.call(TOKEN, "get_self", json!({})).await;
    h.fake().clear_faults();
    let e = error_of(&r);
    assert!(e["write_outcome"].is_null(), "{r}");
    h.shutdown().await;
}

#[tokio::test]
async fn a_database_id_whose_lookup_fails_reports_that_failure_not_the_first_404() {
    // A database id given where a data source's is expected: the data-source read answers 404, and
    // the tool looks the id up as a database. When that lookup meets a passing fault, the caller
    // must hear about the fault (worth retrying), not the 404 (which says the id is wrong).
    let h = common::Harness::start_with(Fixture::sample(), |a| a.retry_max = 0).await;
    let db = notion_fake::stable_id("acme-tasks").to_string();
    for (tool, args) in [
        ("get_data_source", json!({"id": db})),
        ("query_data_source", json!({"id": db})),
    ] {
        h.fake().push_fault(
            always(notion_fake::Fault::Status {
                status: 503,
                code: String::new(),
                retry_after: None,
            })
            .path_prefix("/v1/databases/"),
        );
        let r = h.call(TOKEN, tool, args.clone()).await;
        h.fake().clear_faults();
        let e = error_of(&r);
        assert_eq!(e["code"], "service_unavailable", "{tool}: {r}");
        // Without the fault the same call finds the database's data source.
        let r = h.call(TOKEN, tool, args).await;
        assert_ne!(r["isError"], true, "{tool}: {r}");
    }
    h.shutdown().await;
}
