//! Destructive tools ask the user to confirm where the client can be asked, over real MCP traffic
//! against the stateful fake: 2026-07-28 clients through `input_required` results and a sealed
//! `requestState` (accepted, declined, tampered, for other arguments or another caller, expired, from
//! a replica with the same keys or another key). Clients without elicitation, stateless older
//! requests and `--no-confirm-destructive` run at once. Sessions: `confirmation_sessions.rs`.
#![allow(clippy::unwrap_used)]

mod common;
mod confirm_support;

use common::{Harness, error_of, id, result_text};
use confirm_support::{OTHER, T, accept, block_trashed, harness, page_trashed};
use notion_mcp_remote::config::ServeArgs;
use notion_mcp_remote::mcp::confirm::ConfirmTiming;
use serde_json::{Value, json};
use std::time::Duration;

/// The per-request `_meta` of a 2026-07-28 client, declaring form elicitation or not.
fn meta(elicitation: bool) -> Value {
    let caps = if elicitation {
        json!({"elicitation": {"form": {}}})
    } else {
        json!({})
    };
    json!({
        "io.modelcontextprotocol/protocolVersion": "2026-07-28",
        "io.modelcontextprotocol/clientCapabilities": caps,
        "io.modelcontextprotocol/clientInfo": {"name": "confirm-test", "version": "1"}
    })
}

/// One 2026-07-28 `tools/call` (`round`: the answer and the echoed state); returns the result.
async fn call_2026(
    h: &Harness,
    token: &str,
    elicitation: bool,
    tool: &str,
    args: Value,
    round: Option<(Value, &str)>,
) -> Value {
    let mut params = json!({"name": tool, "arguments": args, "_meta": meta(elicitation)});
    if let Some((answer, state)) = round {
        params["inputResponses"] = json!({ "confirm": answer });
        params["requestState"] = json!(state);
    }
    let resp = h
        .mcp_request(token)
        .header("mcp-protocol-version", "2026-07-28")
        .header("mcp-method", "tools/call")
        .header("mcp-name", tool)
        .body(json!({"jsonrpc":"2.0","id":3,"method":"tools/call","params":params}).to_string())
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 200);
    let v = common::parse_body(&resp.text().await.unwrap());
    assert!(v.get("error").is_none(), "JSON-RPC error: {v}");
    v["result"].clone()
}
/// The question and state of an `input_required` result.
fn asked(r: &Value) -> (String, String) {
    assert_eq!(r["resultType"], "input_required", "{r}");
    let ask = &r["inputRequests"]["confirm"];
    assert_eq!(ask["method"], "elicitation/create", "{r}");
    let schema = &ask["params"]["requestedSchema"];
    assert_eq!(schema["properties"]["confirm"]["type"], "boolean", "{r}");
    assert_eq!(schema["required"], json!(["confirm"]), "{r}");
    (
        ask["params"]["message"].as_str().unwrap().to_string(),
        r["requestState"].as_str().unwrap().to_string(),
    )
}

#[tokio::test]
async fn a_confirmed_trash_moves_the_page_and_a_declined_one_does_not() {
    let h = harness(|_| {}).await;
    let args = json!({"id": id("plan")});
    let first = call_2026(&h, T, true, "trash_page", args.clone(), None).await;
    let (question, state) = asked(&first);
    assert!(
        question.contains("“Q3 plan”") && question.contains(&id("plan")),
        "{question}"
    );
    assert!(question.contains("trash"), "{question}");
    assert!(
        !page_trashed(&h, "plan"),
        "nothing happens before the answer"
    );

    // Declined, or accepted without ticking confirm: a normal result, nothing changed.
    for answer in [
        json!({"action": "decline"}),
        accept(false),
        json!({"action": "cancel"}),
    ] {
        let r = call_2026(
            &h,
            T,
            true,
            "trash_page",
            args.clone(),
            Some((answer, &state)),
        )
        .await;
        assert_ne!(r["isError"], true, "{r}");
        let text = result_text(&r);
        assert!(text.contains("Nothing was changed"), "{text}");
        assert!(!page_trashed(&h, "plan"));
    }

    // Confirmed: done. Restoring is not asked about.
    let r = call_2026(
        &h,
        T,
        true,
        "trash_page",
        args.clone(),
        Some((accept(true), &state)),
    )
    .await;
    assert_ne!(r["isError"], true, "{r}");
    assert!(result_text(&r).contains("Moved page"), "{r}");
    assert!(page_trashed(&h, "plan"));
    let r = call_2026(
        &h,
        T,
        true,
        "trash_page",
        json!({"id": id("plan"), "restore": true}),
        None,
    )
    .await;
    assert!(result_text(&r).contains("Restored"), "{r}");
    assert!(!page_trashed(&h, "plan"));
    h.shutdown().await;
}

#[tokio::test]
async fn deleting_a_block_and_replacing_a_page_are_asked_about_with_what_they_do() {
    let h = harness(|_| {}).await;
    let args = json!({"id": id("second")});
    let (question, state) =
        asked(&call_2026(&h, T, true, "delete_block", args.clone(), None).await);
    assert!(
        question.contains("paragraph block") && question.contains("“Second paragraph”"),
        "{question}"
    );
    let r = call_2026(
        &h,
        T,
        true,
        "delete_block",
        args.clone(),
        Some((json!({"action": "decline"}), &state)),
    )
    .await;
    assert!(result_text(&r).contains("was not deleted"), "{r}");
    assert!(!block_trashed(&h, "second"));
    let r = call_2026(
        &h,
        T,
        true,
        "delete_block",
        args,
        Some((accept(true), &state)),
    )
    .await;
    assert!(result_text(&r).contains("Deleted"), "{r}");
    assert!(block_trashed(&h, "second"));

    let before = h
        .text(T, "get_page_markdown", json!({"id": id("home")}))
        .await;
    let args = json!({"id": id("home"), "content": "Only this"});
    let (question, state) =
        asked(&call_2026(&h, T, true, "update_page_markdown", args.clone(), None).await);
    assert!(
        question.contains("“Home”")
            && question.contains("whole content")
            && question.contains("9 characters"),
        "{question}"
    );
    assert!(
        question.contains("current") && question.contains("characters of Markdown"),
        "{question}"
    );
    let r = call_2026(
        &h,
        T,
        true,
        "update_page_markdown",
        args.clone(),
        Some((accept(false), &state)),
    )
    .await;
    assert!(result_text(&r).contains("was not replaced"), "{r}");
    let unchanged = h
        .text(T, "get_page_markdown", json!({"id": id("home")}))
        .await;
    assert_eq!(unchanged, before);
    let r = call_2026(
        &h,
        T,
        true,
        "update_page_markdown",
        args,
        Some((accept(true), &state)),
    )
    .await;
    assert_ne!(r["isError"], true, "{r}");
    let after = h
        .text(T, "get_page_markdown", json!({"id": id("home")}))
        .await;
    assert!(
        after.contains("Only this") && !after.contains("First paragraph"),
        "{after}"
    );

    // Find-and-replace edits are not asked about.
    let r = call_2026(
        &h,
        T,
        true,
        "update_page_markdown",
        json!({"id": id("home"), "edits": [["Only this", "Just this"]]}),
        None,
    )
    .await;
    assert_ne!(r["resultType"], "input_required", "{r}");
    assert_ne!(r["isError"], true, "{r}");
    h.shutdown().await;
}

#[tokio::test]
async fn a_state_that_was_altered_or_made_for_another_call_or_caller_is_refused() {
    let h = harness(|_| {}).await;
    let args = json!({"id": id("plan")});
    let (_, state) = asked(&call_2026(&h, T, true, "trash_page", args.clone(), None).await);

    // Altered: one character of the tag changed.
    let mut altered = state.clone();
    let last = altered.pop().unwrap();
    altered.push(if last == 'A' { 'B' } else { 'A' });
    let r = call_2026(
        &h,
        T,
        true,
        "trash_page",
        args.clone(),
        Some((accept(true), &altered)),
    )
    .await;
    assert_eq!(error_of(&r)["code"], "confirmation_invalid", "{r}");
    assert!(result_text(&r).contains("nothing was changed"), "{r}");
    let r = call_2026(
        &h,
        T,
        true,
        "trash_page",
        args.clone(),
        Some((accept(true), "made-up")),
    )
    .await;
    assert_eq!(error_of(&r)["code"], "confirmation_invalid", "{r}");

    // The state of one page's trash does not trash another page, nor the same page via another tool.
    let r = call_2026(
        &h,
        T,
        true,
        "trash_page",
        json!({"id": id("old")}),
        Some((accept(true), &state)),
    )
    .await;
    assert_eq!(error_of(&r)["code"], "confirmation_mismatch", "{r}");
    assert!(result_text(&r).contains("different call"), "{r}");
    assert!(!page_trashed(&h, "old"));
    let r = call_2026(
        &h,
        T,
        true,
        "delete_block",
        args.clone(),
        Some((accept(true), &state)),
    )
    .await;
    assert_eq!(error_of(&r)["code"], "confirmation_mismatch", "{r}");

    // Another caller cannot use it.
    let r = call_2026(
        &h,
        OTHER,
        true,
        "trash_page",
        args.clone(),
        Some((accept(true), &state)),
    )
    .await;
    assert_eq!(error_of(&r)["code"], "confirmation_mismatch", "{r}");
    assert!(result_text(&r).contains("another caller"), "{r}");

    // An answer without the state's answer key is refused too.
    let r = call_2026(
        &h,
        T,
        true,
        "trash_page",
        args.clone(),
        Some((json!("yes"), &state)),
    )
    .await;
    assert_eq!(error_of(&r)["code"], "confirmation_missing", "{r}");
    assert!(
        !page_trashed(&h, "plan"),
        "nothing was changed by any of them"
    );

    // The same arguments in another key order are the same call.
    let reordered = json!({"restore": false, "id": id("plan")});
    let (_, state) = asked(
        &call_2026(
            &h,
            T,
            true,
            "trash_page",
            json!({"id": id("plan"), "restore": false}),
            None,
        )
        .await,
    );
    let r = call_2026(
        &h,
        T,
        true,
        "trash_page",
        reordered,
        Some((accept(true), &state)),
    )
    .await;
    assert_ne!(r["isError"], true, "{r}");
    assert!(page_trashed(&h, "plan"));
    h.shutdown().await;
}

#[tokio::test]
async fn an_expired_state_is_refused() {
    let h = harness(|a| {
        a.confirm_timing = ConfirmTiming {
            state_ttl: Duration::from_secs(1),
            ..ConfirmTiming::default()
        }
    })
    .await;
    let args = json!({"id": id("plan")});
    let (_, state) = asked(&call_2026(&h, T, true, "trash_page", args.clone(), None).await);
    tokio::time::sleep(Duration::from_millis(1300)).await;
    let r = call_2026(
        &h,
        T,
        true,
        "trash_page",
        args,
        Some((accept(true), &state)),
    )
    .await;
    assert_eq!(error_of(&r)["code"], "confirmation_expired", "{r}");
    assert!(!page_trashed(&h, "plan"));
    h.shutdown().await;
}

#[tokio::test]
async fn clients_that_cannot_be_asked_and_the_switch_run_at_once() {
    let h = harness(|_| {}).await;
    // A 2026-07-28 client without elicitation.
    let r = call_2026(&h, T, false, "trash_page", json!({"id": id("plan")}), None).await;
    assert_ne!(r["resultType"], "input_required", "{r}");
    assert!(result_text(&r).contains("Moved page"), "{r}");
    assert!(page_trashed(&h, "plan"));
    // A stateless 2025-11-25 request.
    let r = h.call(T, "trash_page", json!({"id": id("old")})).await;
    assert!(result_text(&r).contains("Moved page"), "{r}");
    assert!(page_trashed(&h, "old"));
    // A call whose arguments the tool refuses is refused at once, not asked about.
    let r = call_2026(&h, T, true, "delete_block", json!({"id": 5}), None).await;
    assert_eq!(error_of(&r)["code"], "invalid_argument", "{r}");
    h.shutdown().await;

    let h = harness(|a| a.no_confirm_destructive = true).await;
    let r = call_2026(&h, T, true, "trash_page", json!({"id": id("plan")}), None).await;
    assert_ne!(r["resultType"], "input_required", "{r}");
    assert!(page_trashed(&h, "plan"));
    h.shutdown().await;
}
#[tokio::test]
async fn replicas_sharing_sealing_keys_accept_each_others_states_and_others_ask_again() {
    use base64::Engine;
    let keys = format!(
        "k1:{}",
        base64::engine::general_purpose::STANDARD.encode([7u8; 32])
    );
    let with_keys =
        |a: &mut ServeArgs| a.store.keys = Some(notion_mcp_remote::config::Redacted(keys.clone()));
    let a = harness(with_keys).await;
    let b = harness(with_keys).await;
    let c = harness(|_| {}).await;
    let args = json!({"id": id("plan")});
    let (_, state) = asked(&call_2026(&a, T, true, "trash_page", args.clone(), None).await);

    // A replica with its own key does not know the state: it asks again, changing nothing.
    let r = call_2026(
        &c,
        T,
        true,
        "trash_page",
        args.clone(),
        Some((accept(true), &state)),
    )
    .await;
    let (_, fresh) = asked(&r);
    assert_ne!(fresh, state);
    assert!(!page_trashed(&c, "plan"));

    // A replica with the same keys accepts it.
    let r = call_2026(
        &b,
        T,
        true,
        "trash_page",
        args,
        Some((accept(true), &state)),
    )
    .await;
    assert!(result_text(&r).contains("Moved page"), "{r}");
    assert!(page_trashed(&b, "plan"));
    for h in [a, b, c] {
        h.shutdown().await;
    }
}
