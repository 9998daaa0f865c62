//! AI meeting notes against the fake: listing only the meetings the integration attended, with a
//! title query, Notion's filters and the 50-result cap said plainly; a bad filter named; reading a
//! note's summary, notes and transcript through `fetch`; creating one from an uploaded recording,
//! seen at once by a cached read of its page.
#![allow(clippy::unwrap_used)]

mod common;

use common::{Harness, error_of, first_id, id};
use notion_fake::Fixture;
use notion_fake::routes::meeting_notes::{MeetingNoteSeed, add_meeting_note};
use serde_json::json;

const T: &str = "ntn_workspace_meetings";

fn fixture() -> Fixture {
    serde_json::from_value(json!({"workspaces": [{
        "name": "Meet",
        "tokens": [T],
        "users": [{"id": "zoe", "name": "Zoe"}],
        "pages": [{"id": "notes", "title": "Meetings", "children": [{"paragraph": "Our meetings"}]}]
    }]}))
    .unwrap()
}

/// Seeds three notes in the Meetings page: two the integration attended, one it did not.
async fn start(cache: bool) -> (Harness, String) {
    let h = Harness::start_with(fixture(), |a| {
        if cache {
            a.webhook_verification_token = vec![notion_mcp_remote::config::Redacted(
                "secret_meetings".to_owned(),
            )];
        }
    })
    .await;
    let page = id("notes");
    let standup = h.fake().with_state(|s| {
        let me = s.bot_for_token(T).unwrap().id;
        let page = page.parse().unwrap();
        let zoe = notion_fake::stable_id("zoe");
        let standup = add_meeting_note(
            s,
            page,
            MeetingNoteSeed {
                title: "Weekly standup".into(),
                attendees: vec![me, zoe],
                summary: "We agreed to ship on Friday.".into(),
                notes: "- Ship on Friday\n- Zoe writes the changelog".into(),
                transcript: "Zoe: shall we ship?\n\nMe: Friday.".into(),
                ..Default::default()
            },
        );
        add_meeting_note(
            s,
            page,
            MeetingNoteSeed {
                title: "Design review".into(),
                attendees: vec![me],
                summary: "Colours settled.".into(),
                ..Default::default()
            },
        );
        add_meeting_note(
            s,
            page,
            MeetingNoteSeed {
                title: "Board meeting".into(),
                attendees: vec![zoe],
                summary: "Confidential.".into(),
                ..Default::default()
            },
        );
        standup.to_string()
    });
    (h, standup)
}

#[tokio::test]
async fn lists_only_attended_meetings_with_queries_filters_and_the_cap() {
    let (h, standup) = start(false).await;
    let all = h.text(T, "list_meeting_notes", json!({})).await;
    assert!(
        common::notion_data(&all).starts_with("2 meeting note(s)"),
        "{all}"
    );
    assert!(
        all.contains("Weekly standup") && all.contains(&standup) && all.contains("Design review"),
        "{all}"
    );
    assert!(
        !all.contains("Board meeting"),
        "a meeting the integration did not attend: {all}"
    );
    assert!(!all.contains("no cursor"), "{all}");

    let q = h
        .text(T, "list_meeting_notes", json!({"query": "standup"}))
        .await;
    assert!(
        q.contains("Weekly standup") && !q.contains("Design review"),
        "{q}"
    );
    let f = h
        .text(
            T,
            "list_meeting_notes",
            json!({"filter": {"property": "title", "filter": {"operator": "string_starts_with",
                "value": {"type": "exact", "value": "Design"}}}}),
        )
        .await;
    assert!(
        f.contains("Design review") && !f.contains("Weekly standup"),
        "{f}"
    );
    let one = h.text(T, "list_meeting_notes", json!({"limit": 1})).await;
    assert!(
        common::notion_data(&one).starts_with("1 meeting note(s)"),
        "{one}"
    );
    assert!(one.contains("at most 1 and has no cursor"), "{one}");

    // Bad input: Notion's refusal is named with what it accepts; a limit over the cap is ours.
    let r = h
        .call(
            T,
            "list_meeting_notes",
            json!({"filter": {"property": "Status", "filter": {"operator": "string_is", "value": {"type": "exact", "value": "x"}}}}),
        )
        .await;
    let e = error_of(&r);
    assert_eq!(e["field"], "filter", "{r}");
    assert!(
        e["message"].as_str().unwrap().contains("created_time"),
        "{r}"
    );
    let r = h
        .call(
            T,
            "list_meeting_notes",
            json!({"filter": {"property": "title", "filter": {"operator": "date_is", "value": {"type": "exact", "value": "2025-01-01"}}}}),
        )
        .await;
    assert_eq!(error_of(&r)["field"], "filter", "{r}");
    let r = h.call(T, "list_meeting_notes", json!({"limit": 51})).await;
    assert_eq!(error_of(&r)["field"], "limit", "{r}");
    h.shutdown().await;
}

#[tokio::test]
async fn fetch_reads_summary_notes_and_transcript() {
    let (h, standup) = start(false).await;
    let page = h.text(T, "fetch", json!({"id": id("notes")})).await;
    for part in [
        "Weekly standup",
        "Summary",
        "We agreed to ship on Friday.",
        "Zoe writes the changelog",
        "Transcript",
        "shall we ship?",
    ] {
        assert!(page.contains(part), "{part} missing:\n{page}");
    }
    let one = h
        .text(T, "fetch", json!({"id": standup, "type": "block"}))
        .await;
    assert!(
        one.contains("meeting_notes") && one.contains("Ship on Friday") && one.contains("Friday."),
        "{one}"
    );
    assert!(!one.contains("Colours settled"), "{one}");
    h.shutdown().await;
}

#[tokio::test]
async fn creates_a_note_from_an_upload_and_the_cached_page_shows_it() {
    let (h, _) = start(true).await;
    let page = id("notes");
    let before = h.text(T, "fetch", json!({"id": page})).await;
    let up = h
        .text(
            T,
            "upload_file",
            json!({"content": "AAAAGGZ0eXBNNEEg", "filename": "call.m4a"}),
        )
        .await;
    let upload = common::notion_data(&up)
        .split_whitespace()
        .nth(1)
        .unwrap()
        .to_string();
    let out = h
        .text(
            T,
            "create_meeting_note",
            json!({"upload_id": upload, "page": page, "title": "Call with Zoe"}),
        )
        .await;
    assert!(
        out.contains("Created meeting note") && out.contains("Do not repeat"),
        "{out}"
    );
    let note = first_id(&out);
    let after = h.text(T, "fetch", json!({"id": page})).await;
    assert_ne!(before, after);
    assert!(
        after.contains("Call with Zoe") && after.contains(&note),
        "the cached page missed the note: {after}"
    );
    let listed = h
        .text(T, "list_meeting_notes", json!({"query": "Zoe"}))
        .await;
    assert!(listed.contains(&note), "{listed}");
    let r = h
        .call(T, "create_meeting_note", json!({"upload_id": upload}))
        .await;
    assert_eq!(error_of(&r)["field"], "page", "{r}");
    h.shutdown().await;
}
