//! The authenticated caller of one request.

use crate::notion::NotionAuth;

/// How the caller was authenticated.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PrincipalKind {
    /// The caller sent its own Notion integration token.
    NotionToken,
    /// Demo mode: no bearer was sent, the demo workspace's token is used.
    Demo,
}

/// The authenticated caller of one HTTP request: the Notion credentials every tool call of that request
/// uses. `subject` is a stable, non-secret identifier (a token fingerprint) safe to log.
#[derive(Debug, Clone)]
pub struct Principal {
    pub kind: PrincipalKind,
    pub subject: String,
    pub notion: NotionAuth,
}
