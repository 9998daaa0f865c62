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
        }
    }

    /// The `isError: true` result for the client.
    pub fn into_result(self) -> CallToolResult {
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
            ToolError::Deadline { .. }
            | ToolError::Cancelled
            | ToolError::Unauthenticated(_)
            | ToolError::Forbidden(_) => {}
        }
        let mut text = format!("Error ({}): {}", self.code(), self);
        if let Some(s) = body.get("retry_after_seconds") {
            text.push_str(&format!(" Retry after {s} s."));
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
