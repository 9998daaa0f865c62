//! The authenticated caller of one request.

use crate::notion::NotionAuth;
use std::collections::BTreeSet;
use std::sync::Arc;

/// How the caller was authenticated.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PrincipalKind {
    /// The caller sent its own Notion integration token.
    NotionToken,
    /// Demo mode: no bearer was sent, the demo workspace's token is used.
    Demo,
    /// An access token this server issued through OAuth, standing for a stored grant.
    OAuth,
    /// A static API key configured for a service (no browser involved).
    ApiKey,
}

impl PrincipalKind {
    pub fn as_str(self) -> &'static str {
        match self {
            PrincipalKind::NotionToken => "notion-token",
            PrincipalKind::Demo => "demo",
            PrincipalKind::OAuth => "oauth",
            PrincipalKind::ApiKey => "api-key",
        }
    }
}

/// Which tools a caller may use.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ToolAccess {
    /// Only tools that do not write to Notion.
    pub read_only: bool,
    /// When set, only these tools (by name).
    pub tools: Option<Arc<BTreeSet<String>>>,
}

impl ToolAccess {
    /// Every tool.
    pub fn all() -> Self {
        ToolAccess::default()
    }

    /// Whether a tool (that writes, or not) may be called.
    pub fn allows(&self, tool: &str, writes: bool) -> bool {
        !(self.read_only && writes) && self.tools.as_ref().is_none_or(|t| t.contains(tool))
    }
}

/// The authenticated caller of one HTTP request: the Notion credentials every tool call of that request
/// uses, and who it is for audit and rate limiting. Every field is safe to log: `subject` is a stable,
/// non-secret identifier (a token fingerprint, a grant id or an API key id); the token inside `notion`
/// is redacted from `Debug`.
#[derive(Debug, Clone)]
pub struct Principal {
    pub kind: PrincipalKind,
    pub subject: String,
    pub notion: NotionAuth,
    /// The OAuth client (or API key name) acting.
    pub client_id: Option<String>,
    /// The Notion workspace reached, when known.
    pub workspace_id: Option<String>,
    /// The Notion user who authorized, when known.
    pub user_id: Option<String>,
    pub access: ToolAccess,
}

impl Principal {
    /// A principal with only credentials and a subject (every tool allowed, nothing else known).
    pub fn new(kind: PrincipalKind, subject: impl Into<String>, notion: NotionAuth) -> Self {
        Principal {
            kind,
            subject: subject.into(),
            notion,
            client_id: None,
            workspace_id: None,
            user_id: None,
            access: ToolAccess::all(),
        }
    }
}
