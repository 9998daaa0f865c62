//! The audit trail: one structured line per tool call, on the tracing target `audit` so it can be
//! routed or filtered apart from operational logs (e.g. `RUST_LOG=info,audit=info`).
//!
//! A line says who (principal kind, client, workspace, user, subject), what (tool and the ids or URLs
//! it targeted), how it ended (`ok` or the error code) and how long it took. It never holds a token
//! or content: targets are read only from arguments named like references (`id`, `page_id`, `ids`,
//! `url`, `parent`, ...), are bounded in number and length, and URLs lose their query and fragment
//! (where signed links carry credentials).

use crate::auth::Principal;
use rmcp::model::JsonObject;
use serde_json::Value;
use std::time::Duration;

/// The tracing target of audit lines.
pub const TARGET: &str = "audit";
/// Most targets recorded per call.
const MAX_TARGETS: usize = 10;
/// Longest target recorded (characters).
const MAX_TARGET_CHARS: usize = 100;
/// Argument names that hold a reference although they do not end in `id` or `url`.
const REFERENCE_ARGS: &[&str] = &["parent", "database", "data_source", "discussion", "on"];

/// One finished (or refused) tool call.
#[derive(Debug, Clone, Copy)]
pub struct ToolCall<'a> {
    pub principal: Option<&'a Principal>,
    pub tool: &'a str,
    pub targets: &'a [String],
    /// `ok` or the error code.
    pub outcome: &'a str,
    pub elapsed: Duration,
}

/// Write the audit line of a call.
pub fn record(call: &ToolCall<'_>) {
    let p = call.principal;
    tracing::info!(
        target: TARGET,
        kind = p.map_or("none", |p| p.kind.as_str()),
        client_id = p.and_then(|p| p.client_id.as_deref()),
        workspace_id = p.and_then(|p| p.workspace_id.as_deref()),
        user_id = p.and_then(|p| p.user_id.as_deref()),
        subject = p.map(|p| p.subject.as_str()),
        tool = call.tool,
        targets = %call.targets.join(" "),
        outcome = call.outcome,
        latency_ms = (call.elapsed.as_secs_f64() * 1e4).round() / 10.0,
        "tool call"
    );
}

/// The ids and URLs a call's arguments point at (top-level reference arguments only).
pub fn target_ids(args: Option<&JsonObject>) -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    let Some(args) = args else { return out };
    let values = args
        .iter()
        .filter(|(name, _)| is_reference(name))
        .flat_map(|(_, v)| match v {
            Value::String(s) => vec![s.as_str()],
            Value::Array(items) => items.iter().filter_map(Value::as_str).collect(),
            _ => Vec::new(),
        });
    for value in values {
        if out.len() == MAX_TARGETS {
            break;
        }
        let target = clean(value);
        if !target.is_empty() && !out.contains(&target) {
            out.push(target);
        }
    }
    out
}

fn is_reference(name: &str) -> bool {
    matches!(name, "id" | "ids" | "url" | "urls")
        || ["_id", "_ids", "_url", "_urls"]
            .iter()
            .any(|s| name.ends_with(s))
        || REFERENCE_ARGS.contains(&name)
}

/// Trim, drop a URL's query and fragment, and bound the length.
fn clean(value: &str) -> String {
    let value = value.trim();
    let value = if value.starts_with("http://") || value.starts_with("https://") {
        value.split(['?', '#']).next().unwrap_or_default()
    } else {
        value
    };
    value
        .chars()
        .filter(|c| !c.is_control())
        .take(MAX_TARGET_CHARS)
        .collect()
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;
    use crate::auth::{PrincipalKind, ToolAccess};
    use crate::notion::{NotionAuth, NotionVersion};
    use serde_json::json;
    use std::io::Write;
    use std::sync::{Arc, Mutex};

    fn args(v: Value) -> JsonObject {
        v.as_object().cloned().unwrap()
    }

    #[test]
    fn targets_come_from_reference_arguments_only() {
        let a = args(json!({
            "id": "https://www.notion.so/acme/Roadmap-0123456789abcdef0123456789abcdef?pvs=4#frag",
            "page_id": "p1",
            "ids": ["a", "b", 3, "a"],
            "parent": "workspace",
            "markdown": "# secret plans",
            "title": "Secret title",
            "properties": {"Name": "x", "page_id": "nested"},
            "content": "text",
            "valid": "not-a-reference",
            "file_url": "https://s3.example/f.pdf?X-Amz-Signature=abc",
        }));
        assert_eq!(
            target_ids(Some(&a)),
            [
                "https://www.notion.so/acme/Roadmap-0123456789abcdef0123456789abcdef",
                "p1",
                "a",
                "b",
                "workspace",
                "https://s3.example/f.pdf",
            ]
        );
        assert!(target_ids(None).is_empty());
    }

    #[test]
    fn targets_are_bounded() {
        let many: Vec<String> = (0..50).map(|i| format!("id-{i}")).collect();
        let long = "x".repeat(500);
        let a = args(json!({"id": long, "ids": many}));
        let t = target_ids(Some(&a));
        assert_eq!(t.len(), MAX_TARGETS);
        assert_eq!(t[0].chars().count(), MAX_TARGET_CHARS);
        assert_eq!(t[9], "id-8");
    }

    /// A `MakeWriter` that keeps everything written.
    #[derive(Clone, Default)]
    struct Capture(Arc<Mutex<Vec<u8>>>);

    impl Write for Capture {
        fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
            self.0.lock().unwrap().extend_from_slice(buf);
            Ok(buf.len())
        }
        fn flush(&mut self) -> std::io::Result<()> {
            Ok(())
        }
    }

    fn captured(json: bool, f: impl FnOnce()) -> String {
        let cap = Capture::default();
        let writer = {
            let cap = cap.clone();
            move || cap.clone()
        };
        let builder = tracing_subscriber::fmt()
            .with_writer(writer)
            .with_ansi(false);
        if json {
            tracing::subscriber::with_default(builder.json().finish(), f);
        } else {
            tracing::subscriber::with_default(builder.finish(), f);
        }
        String::from_utf8(cap.0.lock().unwrap().clone()).unwrap()
    }

    #[test]
    fn the_line_names_the_caller_and_never_the_token_or_content() {
        const TOKEN: &str = "ntn_very_secret_token_value";
        let principal = Principal {
            kind: PrincipalKind::ApiKey,
            subject: "api-key:reporting".into(),
            notion: NotionAuth::new(TOKEN, NotionVersion::default()),
            client_id: Some("reporting".into()),
            workspace_id: Some("ws-1".into()),
            user_id: Some("user-1".into()),
            access: ToolAccess::all(),
        };
        let a = args(json!({"page_id": "page-1", "markdown": "CONFIDENTIAL body", "token": TOKEN}));
        let targets = target_ids(Some(&a));
        for json in [false, true] {
            let out = captured(json, || {
                record(&ToolCall {
                    principal: Some(&principal),
                    tool: "update_page",
                    targets: &targets,
                    outcome: "object_not_found",
                    elapsed: Duration::from_millis(12),
                })
            });
            for want in [
                "audit",
                "api-key",
                "reporting",
                "ws-1",
                "user-1",
                "api-key:reporting",
                "update_page",
                "page-1",
                "object_not_found",
                "latency_ms",
            ] {
                assert!(out.contains(want), "{want} missing from {out}");
            }
            assert!(!out.contains(TOKEN), "{out}");
            assert!(!out.contains("CONFIDENTIAL"), "{out}");
        }
    }

    #[test]
    fn a_call_without_principal_is_still_recorded() {
        let out = captured(false, || {
            record(&ToolCall {
                principal: None,
                tool: "search",
                targets: &[],
                outcome: "unauthorized",
                elapsed: Duration::ZERO,
            })
        });
        assert!(
            out.contains("kind=\"none\"") || out.contains("kind=none"),
            "{out}"
        );
        assert!(out.contains("unauthorized"), "{out}");
    }
}
