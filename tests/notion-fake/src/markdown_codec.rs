//! The Markdown ↔ blocks conversion behind the markdown endpoints. The fake does not convert
//! Markdown itself: the embedding program installs a codec with
//! [`crate::FakeNotion::set_markdown_codec`] (the server crate provides one built on its own
//! renderer and parser). Without one, the markdown endpoints answer
//! `501 internal_server_error: markdown codec not configured`.

use std::future::Future;
use std::sync::Arc;

use serde_json::Value;

/// Converts between block JSON and Markdown.
///
/// Blocks are API block objects (`{"type": T, T: {…}, "id": …}`); their children, when any, are
/// in a `children` array on the block object (from [`MarkdownCodec::to_markdown`]'s input) or in
/// `T.children` (accepted from [`MarkdownCodec::from_markdown`]'s output), to any depth.
pub trait MarkdownCodec: Send + Sync {
    /// Renders block trees as Markdown.
    fn to_markdown(&self, blocks: &[Value]) -> String;
    /// Parses Markdown into block trees; the error is shown in a `validation_error`.
    #[allow(clippy::wrong_self_convention)]
    fn from_markdown(&self, md: &str) -> Result<Vec<Value>, String>;
}

tokio::task_local! {
    static CODEC: Option<Arc<dyn MarkdownCodec>>;
}

/// Runs one request with `codec` reachable through [`current`].
pub(crate) async fn scope<F: Future>(codec: Option<Arc<dyn MarkdownCodec>>, f: F) -> F::Output {
    CODEC.scope(codec, f).await
}

/// The codec of the request being handled, if one is installed.
pub fn current() -> Option<Arc<dyn MarkdownCodec>> {
    CODEC.try_with(Clone::clone).ok().flatten()
}
