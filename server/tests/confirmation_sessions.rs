//! Destructive tools ask a 2025-11-25 session client that declared elicitation through an
//! `elicitation/create` request during the call, over real MCP traffic (the server's request read from
//! the call's SSE stream, the answer POSTed back in the session): answered, declined, unanswered; a
//! session client without elicitation is not asked.
#![allow(clippy::unwrap_used)]

mod common;
mod confirm_support;

use common::{Harness, error_of, id, result_text};
use confirm_support::{T, accept, block_trashed, harness, page_trashed};
use notion_mcp_remote::mcp::confirm::ConfirmTiming;
use serde_json::{Value, json};
use std::time::Duration;

/// A 2025-11-25 session; `elicitation`: whether `initialize` declares it.
struct Session<'a> {
    h: &'a Harness,
    id: String,
}

impl<'a> Session<'a> {
    async fn open(h: &'a Harness, elicitation: bool) -> Session<'a> {
        let caps = if elicitation {
            json!({"elicitation": {}})
        } else {
            json!({})
        };
        let init = json!({"jsonrpc":"2.0","id":0,"method":"initialize","params":{
            "protocolVersion":"2025-11-25","capabilities":caps,
            "clientInfo":{"name":"confirm-test","version":"1"}}});
        let resp = h
            .mcp_request(T)
            .body(init.to_string())
            .send()
            .await
            .unwrap();
        assert_eq!(resp.status(), 200);
        let id = resp.headers()["mcp-session-id"]
            .to_str()
            .unwrap()
            .to_string();
        let _ = resp.text().await;
        let s = Session { h, id };
        let resp = s
            .post(&json!({"jsonrpc":"2.0","method":"notifications/initialized"}))
            .await;
        assert!(resp.status().is_success());
        s
    }

    async fn post(&self, body: &Value) -> reqwest::Response {
        self.h
            .mcp_request(T)
            .header("mcp-session-id", &self.id)
            .header("mcp-protocol-version", "2025-11-25")
            .body(body.to_string())
            .send()
            .await
            .unwrap()
    }

    /// Call a tool; `answer` is what the user says to an `elicitation/create` request (None: the
    /// client never answers). Returns the requests the server made and the tool result.
    async fn call(&self, tool: &str, args: Value, answer: Option<Value>) -> (Vec<Value>, Value) {
        let body = json!({"jsonrpc":"2.0","id":9,"method":"tools/call",
            "params":{"name": tool, "arguments": args}});
        let mut resp = self.post(&body).await;
        assert_eq!(resp.status(), 200);
        // A session the server never needs to ask anything is answered with plain JSON.
        let json = resp
            .headers()
            .get("content-type")
            .is_some_and(|v| v.as_bytes().starts_with(b"application/json"));
        if json {
            let message: Value = resp.json().await.unwrap();
            return (Vec::new(), message["result"].clone());
        }
        let mut buffer = String::new();
        let mut asked = Vec::new();
        loop {
            let chunk = tokio::time::timeout(Duration::from_secs(30), resp.chunk())
                .await
                .expect("the server answers")
                .unwrap()
                .expect("the stream ends only after the result");
            buffer.push_str(&String::from_utf8_lossy(&chunk));
            while let Some(end) = buffer.find("\n\n") {
                let event: String = buffer.drain(..end + 2).collect();
                let Some(message) = event
                    .lines()
                    .filter_map(|l| l.strip_prefix("data:"))
                    .find_map(|d| serde_json::from_str::<Value>(d.trim()).ok())
                else {
                    continue;
                };
                if message["id"] == 9 {
                    return (asked, message["result"].clone());
                }
                if message["method"] == "elicitation/create" {
                    asked.push(message.clone());
                    if let Some(a) = &answer {
                        let reply = json!({"jsonrpc":"2.0","id":message["id"],"result":a});
                        let r = self.post(&reply).await;
                        assert!(r.status().is_success(), "answer: {}", r.status());
                    }
                }
            }
        }
    }
}

#[tokio::test]
async fn a_session_client_with_elicitation_is_asked_during_the_call() {
    let h = harness(|a| {
        a.sessions = true;
        a.confirm_timing = ConfirmTiming {
            answer_wait: Duration::from_secs(1),
            ..ConfirmTiming::default()
        };
    })
    .await;
    let s = Session::open(&h, true).await;

    let (asked, r) = s
        .call(
            "trash_page",
            json!({"id": id("plan")}),
            Some(json!({"action": "decline"})),
        )
        .await;
    assert_eq!(asked.len(), 1);
    let message = asked[0]["params"]["message"].as_str().unwrap();
    assert!(message.contains("“Q3 plan”"), "{message}");
    assert_eq!(
        asked[0]["params"]["requestedSchema"]["properties"]["confirm"]["type"],
        "boolean"
    );
    assert!(result_text(&r).contains("Nothing was changed"), "{r}");
    assert!(!page_trashed(&h, "plan"));

    // No answer within the wait: nothing changed, and the result says why.
    let (asked, r) = s.call("trash_page", json!({"id": id("plan")}), None).await;
    assert_eq!(asked.len(), 1);
    assert_eq!(error_of(&r)["code"], "confirmation_unanswered", "{r}");
    assert!(!page_trashed(&h, "plan"));

    let (_, r) = s
        .call("trash_page", json!({"id": id("plan")}), Some(accept(true)))
        .await;
    assert!(result_text(&r).contains("Moved page"), "{r}");
    assert!(page_trashed(&h, "plan"));

    // A session client that did not declare elicitation is not asked.
    let plain = Session::open(&h, false).await;
    let (asked, r) = plain
        .call("delete_block", json!({"id": id("first")}), None)
        .await;
    assert!(asked.is_empty());
    assert!(result_text(&r).contains("Deleted"), "{r}");
    assert!(block_trashed(&h, "first"));
    h.shutdown().await;
}
