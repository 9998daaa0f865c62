//! The one error type of tool calls, and how it reaches the client.
//!
//! Every failure becomes a tool result with `isError: true`, a one-paragraph text an LLM can act on and
//! a structured body `{"error": {code, message, status?, retry_after_seconds?, request_id?, field?}}`.
//! Nothing here ever includes a token or a stack trace.

use crate::notion::NotionError;
use rmcp::model::{CallToolResult, ContentBlock};
use serde_json::{Map, Value, json};

/// Why a tool call failed.
#[derive(Debug, thiserror::Error)]
pub enum ToolError {
    /// An argument is missing, has the wrong type or an invalid value.
    #[error("invalid argument `{field}`: {message}")]
    InvalidArgument { field: String, message: String },
    /// Notion answered with an error, or could not be reached.
    #[error(transparent)]
    Notion(#[from] NotionError),
    /// The call ran past its deadline.
    #[error(
        "the tool call did not finish within {seconds} s; narrow the request (smaller limit, a filter, a sub-block) and retry"
    )]
    Deadline { seconds: u64 },
    /// The client cancelled the request or went away.
    #[error("the tool call was cancelled by the client")]
    Cancelled,
    /// The caller is not authenticated for this server.
    #[error("not authenticated: {0}")]
    Unauthenticated(String),
    /// The caller may not use this tool (read-only access, or a tool outside its list).
    #[error("not allowed: {0}")]
    Forbidden(String),
    /// This server's per-caller limit on tool calls was reached (not a Notion rate limit).
    #[error("{detail}")]
    CallerRateLimited {
        detail: String,
        retry_after_seconds: u64,
    },
    /// A destructive call the user was asked to confirm did not get a valid confirmation.
    #[error(transparent)]
    Confirmation(#[from] super::confirm::ConfirmError),
    /// The tool ran and its own work failed (not Notion, not the arguments).
    #[error("{0}")]
    Failed(String),
    /// The call broke inside the server (a defect: it panicked). Answered as a JSON-RPC internal
    /// error, or a task that settles as `failed`, never as a tool result.
    #[error("the tool call failed inside the server; nothing more is known about its effect")]
    Internal,
}

impl ToolError {
    pub fn invalid(field: impl Into<String>, message: impl Into<String>) -> Self {
        ToolError::InvalidArgument {
            field: field.into(),
            message: message.into(),
        }
    }

    /// A stable, machine-readable code.
    pub fn code(&self) -> String {
        match self {
            ToolError::InvalidArgument { .. } => "invalid_argument".into(),
            ToolError::Notion(e) => e.code().to_string(),
            ToolError::Deadline { .. } => "deadline_exceeded".into(),
            ToolError::Cancelled => "cancelled".into(),
            ToolError::Unauthenticated(_) => "unauthorized".into(),
            ToolError::Forbidden(_) => "forbidden".into(),
            ToolError::CallerRateLimited { .. } => "rate_limited".into(),
            ToolError::Confirmation(e) => e.code().into(),
            ToolError::Failed(_) => "failed".into(),
            ToolError::Internal => "internal_error".into(),
        }
    }

    /// The metrics outcome label.
    pub fn outcome(&self) -> &'static str {
        match self {
            ToolError::InvalidArgument { .. } => "invalid_arguments",
            ToolError::Notion(e) if e.status() == Some(429) => "rate_limited",
            ToolError::Notion(NotionError::UpstreamUnavailable { .. }) => "upstream_unavailable",
            ToolError::Notion(_) => "notion_error",
            ToolError::Deadline { .. } => "deadline",
            ToolError::Cancelled => "cancelled",
            ToolError::Unauthenticated(_) => "unauthenticated",
            ToolError::Forbidden(_) => "forbidden",
            ToolError::CallerRateLimited { .. } => "rate_limited",
            ToolError::Confirmation(_) => "unconfirmed",
            ToolError::Failed(_) => "failed",
            ToolError::Internal => "internal_error",
        }
    }

    /// Whether the failure leaves open whether Notion applied a change: a timeout, a connection
    /// lost after sending, a 5xx without a committed-write report, or the call's own deadline.
    pub fn outcome_unknown(&self) -> bool {
        match self {
            ToolError::Notion(e) => match e {
                NotionError::Timeout { .. } => true,
                NotionError::Transport { connect, .. } => !connect,
                NotionError::Api {
                    status: 500 | 502 | 503 | 504,
                    ..
                } => !e.is_committed_write(),
                _ => false,
            },
            ToolError::Deadline { .. } | ToolError::Cancelled | ToolError::Internal => true,
            _ => false,
        }
    }

    /// The `isError: true` result for the client.
    pub fn into_result(self) -> CallToolResult {
        self.into_result_for(false)
    }

    /// The `isError: true` result of a tool that changes the workspace (`writes`) or only reads.
    /// When a write tool fails with an unknown outcome, the result says so (`write_outcome:
    /// "unknown"`), so the caller checks before repeating a change that may have been applied.
    pub fn into_result_for(self, writes: bool) -> CallToolResult {
        let unknown_write = writes && self.outcome_unknown();
        let mut body = Map::new();
        body.insert("code".into(), json!(self.code()));
        body.insert("message".into(), json!(self.to_string()));
        match &self {
            ToolError::InvalidArgument { field, .. } => {
                body.insert("field".into(), json!(field));
            }
            ToolError::Notion(e) => {
                if let Some(s) = e.status() {
                    body.insert("status".into(), json!(s));
                }
                if let Some(s) = e.retry_after_seconds() {
                    body.insert("retry_after_seconds".into(), json!(s));
                }
                if let Some(id) = e.request_id() {
                    body.insert("request_id".into(), json!(id));
                }
                if let Some(id) = e.committed_resource_id() {
                    body.insert("committed_resource_id".into(), json!(id));
                }
            }
            ToolError::CallerRateLimited {
                retry_after_seconds,
                ..
            } => {
                body.insert("retry_after_seconds".into(), json!(retry_after_seconds));
            }
            ToolError::Deadline { .. }
            | ToolError::Cancelled
            | ToolError::Unauthenticated(_)
            | ToolError::Failed(_)
            | ToolError::Internal
            | ToolError::Forbidden(_)
            | ToolError::Confirmation(_) => {}
        }
        let mut text = format!("Error ({}): {}", self.code(), self);
        if let Some(s) = body.get("retry_after_seconds")
            && !text.contains(&format!("Retry after {s} s."))
        {
            text.push_str(&format!(" Retry after {s} s."));
        }
        if unknown_write {
            body.insert("write_outcome".into(), json!("unknown"));
            text.push_str(
                " The change may or may not have been applied: check (fetch or search) before repeating it.",
            );
        }
        let mut result = CallToolResult::error(vec![ContentBlock::text(text)]);
        result.structured_content = Some(json!({ "error": Value::Object(body) }));
        result
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn invalid_argument_names_the_field() {
        let r = ToolError::invalid("filter.and[0]", "expected an object").into_result();
        assert_eq!(r.is_error, Some(true));
        let s = r.structured_content.expect("structured");
        assert_eq!(s["error"]["code"], "invalid_argument");
        assert_eq!(s["error"]["field"], "filter.and[0]");
    }

    #[test]
    fn writes_with_an_unknown_outcome_say_so() {
        let timeout = || {
            ToolError::Notion(NotionError::Timeout {
                endpoint: "POST /v1/pages",
                after: std::time::Duration::from_secs(3),
            })
        };
        let r = timeout().into_result_for(true);
        let s = r.structured_content.clone().expect("structured");
        assert_eq!(s["error"]["write_outcome"], "unknown");
        let text = format!("{:?}", r.content);
        assert!(text.contains("may or may not have been applied"), "{text}");
        // Reads, and failures that prove nothing was sent or applied, carry no such note.
        let r = timeout().into_result_for(false);
        assert!(r.structured_content.expect("structured")["error"]["write_outcome"].is_null());
        let refused = ToolError::Notion(NotionError::Transport {
            endpoint: "POST /v1/pages",
            message: "connection refused".into(),
            connect: true,
        });
        assert!(!refused.outcome_unknown());
        let lost = ToolError::Notion(NotionError::Transport {
            endpoint: "POST /v1/pages",
            message: "connection closed".into(),
            connect: false,
        });
        assert!(lost.outcome_unknown());
        assert!(ToolError::Deadline { seconds: 5 }.outcome_unknown());
        assert!(!ToolError::invalid("title", "bad").outcome_unknown());
    }

    #[test]
    fn a_retry_hint_is_not_repeated() {
        let e = ToolError::Notion(NotionError::Api {
            status: 429,
            code: "rate_limited".into(),
            message: "Slow down".into(),
            request_id: None,
            retry_after: Some(std::time::Duration::from_secs(2)),
            additional_data: None,
        });
        let r = e.into_result();
        let text = format!("{:?}", r.content);
        assert_eq!(text.matches("Retry after 2 s.").count(), 1, "{text}");
    }

    #[test]
    fn forbidden_and_breaker_errors_have_their_codes() {
        let e = ToolError::Forbidden("read-only".into());
        assert_eq!((e.code().as_str(), e.outcome()), ("forbidden", "forbidden"));
        let e = ToolError::Notion(NotionError::UpstreamUnavailable {
            failures: 10,
            retry_after: std::time::Duration::from_secs(7),
        });
        assert_eq!(e.outcome(), "upstream_unavailable");
        let r = e.into_result();
        let s = r.structured_content.expect("structured");
        assert_eq!(s["error"]["code"], "upstream_unavailable");
        assert_eq!(s["error"]["retry_after_seconds"], 7);
    }
}
