//! What a tool call gets: the caller's Notion credentials, the shared Notion client, the limits and
//! the client's log.

use crate::notion::{NotionAuth, NotionClient};
use tokio_util::sync::CancellationToken;

/// Bounds on what one tool call may fetch and return.
#[derive(Debug, Clone, Copy)]
pub struct Limits {
    /// Most characters of output before a continuation marker.
    pub max_output_chars: usize,
    /// Most blocks `fetch` reads from Notion per call.
    pub max_blocks: usize,
    /// Deepest block nesting `fetch` follows.
    pub max_depth: usize,
    /// Concurrent Notion requests one call may have in flight.
    pub concurrency: usize,
    /// How long a write waits for its Notion async task before handing back the task id.
    pub async_wait: std::time::Duration,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            max_output_chars: 100_000,
            max_blocks: 1_000,
            max_depth: 8,
            concurrency: 4,
            async_wait: std::time::Duration::from_secs(60),
        }
    }
}

/// The context of one tool call. Cheap to clone.
#[derive(Clone)]
pub struct ToolCtx {
    pub notion: NotionClient,
    /// The caller's credentials, resolved from this request's authentication.
    pub auth: NotionAuth,
    /// The workspace content index (words inside pages), when on.
    pub index: Option<std::sync::Arc<crate::content_index::ContentIndex>>,
    pub limits: Limits,
    /// Fires when the client cancels or disconnects.
    pub cancel: CancellationToken,
    /// Log messages for the client, at the level it asked for (none if it asked for none).
    pub log: super::client_log::ClientLog,
    /// Ends this call's SSE response stream early, when the client can resume it (session workers).
    pub stream: Option<super::transport::StreamCloser>,
}
