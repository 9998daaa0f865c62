//! The records the authorization server keeps. Every one is sealed as a whole by the [`Store`], so
//! Notion's tokens never reach a disk or the API server in the clear; our own tokens are kept only as
//! SHA-256 hashes.
//!
//! [`Store`]: super::Store

use super::{Kind, Record};
use serde::{Deserialize, Serialize};

/// Notion's side of a grant: what its token endpoint answered.
#[derive(Clone, Serialize, Deserialize)]
pub struct NotionCredentials {
    pub access_token: String,
    /// Notion rotates it on every refresh; always the newest.
    #[serde(default)]
    pub refresh_token: Option<String>,
    pub bot_id: String,
    pub workspace_id: String,
    #[serde(default)]
    pub workspace_name: Option<String>,
    #[serde(default)]
    pub workspace_icon: Option<String>,
    /// The Notion user who authorized (absent for workspace-owned bots).
    #[serde(default)]
    pub user_id: Option<String>,
    #[serde(default)]
    pub user_name: Option<String>,
    #[serde(default)]
    pub user_email: Option<String>,
    #[serde(default)]
    pub duplicated_template_id: Option<String>,
    /// When the access token was last obtained (code exchange or refresh), Unix seconds.
    pub obtained_at: i64,
}

impl std::fmt::Debug for NotionCredentials {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("NotionCredentials")
            .field("bot_id", &self.bot_id)
            .field("workspace_id", &self.workspace_id)
            .field("user_id", &self.user_id)
            .finish_non_exhaustive()
    }
}

/// One of our tokens, by hash.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct IssuedToken {
    /// URL-safe base64 of SHA-256 of the token.
    pub hash: String,
    pub issued_at: i64,
    pub expires_at: i64,
}

/// A refresh token that was exchanged (kept to detect replays).
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct RotatedToken {
    pub hash: String,
    pub rotated_at: i64,
}

/// One user's authorization of one Notion workspace for one MCP client: Notion's tokens and the
/// family of our access and refresh tokens that stand for them.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Grant {
    pub id: String,
    pub client_id: String,
    #[serde(default)]
    pub client_name: Option<String>,
    /// The resource (our MCP URL) tokens of this grant are valid for.
    pub audience: String,
    pub scope: String,
    pub notion: NotionCredentials,
    /// Live access tokens (a few overlap during refresh).
    #[serde(default)]
    pub access: Vec<IssuedToken>,
    /// The refresh token that may be used next.
    #[serde(default)]
    pub refresh: Option<IssuedToken>,
    /// Alternatives to `refresh` issued to honoured retries of the rotation that issued it (whose
    /// answer may have been lost); the first of the family to be used retires the others.
    #[serde(default)]
    pub refresh_retries: Vec<IssuedToken>,
    /// Hash of the refresh token whose exchange issued `refresh` (what a lost-answer retry presents).
    #[serde(default)]
    pub refresh_parent: Option<String>,
    /// Refresh tokens already exchanged or retired; presenting one again after the reuse grace
    /// revokes the grant.
    #[serde(default)]
    pub rotated: Vec<RotatedToken>,
    pub created_at: i64,
    /// Last token issuance (code exchange or refresh).
    pub last_used_at: i64,
    /// The grant dies if not refreshed by then.
    pub expires_at: i64,
}

impl Record for Grant {
    const KIND: Kind = Kind::Grant;
    fn expires_at(&self) -> Option<i64> {
        Some(self.expires_at)
    }
}

/// How a registered client authenticates at the token endpoint.
#[derive(Debug, Clone, Copy, Serialize, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "snake_case")]
pub enum ClientAuthMethod {
    /// Public client (PKCE only).
    None,
    ClientSecretPost,
    ClientSecretBasic,
}

impl ClientAuthMethod {
    pub fn as_str(self) -> &'static str {
        match self {
            ClientAuthMethod::None => "none",
            ClientAuthMethod::ClientSecretPost => "client_secret_post",
            ClientAuthMethod::ClientSecretBasic => "client_secret_basic",
        }
    }
}

/// A client registered through Dynamic Client Registration.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct RegisteredClient {
    pub client_id: String,
    #[serde(default)]
    pub client_name: Option<String>,
    pub redirect_uris: Vec<String>,
    pub auth_method: ClientAuthMethod,
    /// SHA-256 of the client secret (confidential clients only).
    #[serde(default)]
    pub secret_hash: Option<String>,
    /// The registration document as accepted (echoed back to the client).
    pub metadata: serde_json::Value,
    pub created_at: i64,
    pub last_used_at: i64,
    /// Unused clients are forgotten after this.
    pub expires_at: i64,
}

impl Record for RegisteredClient {
    const KIND: Kind = Kind::Client;
    fn expires_at(&self) -> Option<i64> {
        Some(self.expires_at)
    }
}

/// What the client asked for at `/authorize`, kept until Notion calls back.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct PendingAuthorization {
    pub client_id: String,
    #[serde(default)]
    pub client_name: Option<String>,
    pub redirect_uri: String,
    #[serde(default)]
    pub state: Option<String>,
    pub code_challenge: String,
    pub resource: String,
    pub scope: String,
    pub created_at: i64,
    pub expires_at: i64,
}

impl Record for PendingAuthorization {
    const KIND: Kind = Kind::Pending;
    fn expires_at(&self) -> Option<i64> {
        Some(self.expires_at)
    }
}

/// An authorization code we issued. Marked used rather than deleted, so a replay is recognised and
/// the tokens issued from it are revoked.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct AuthCode {
    pub grant_id: String,
    pub client_id: String,
    pub redirect_uri: String,
    pub code_challenge: String,
    pub resource: String,
    pub scope: String,
    pub expires_at: i64,
    #[serde(default)]
    pub used_at: Option<i64>,
}

impl Record for AuthCode {
    const KIND: Kind = Kind::Code;
    fn expires_at(&self) -> Option<i64> {
        // A used code is kept a little longer than its lifetime to recognise replays.
        Some(self.expires_at + 600)
    }
}

/// A user's remembered approval of a client.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Consent {
    pub user_id: String,
    pub client_id: String,
    pub granted_at: i64,
    pub expires_at: i64,
}

impl Record for Consent {
    const KIND: Kind = Kind::Consent;
    fn expires_at(&self) -> Option<i64> {
        Some(self.expires_at)
    }
}

/// A verification token Notion sent to `/webhooks/notion` when a subscription was created. Kept
/// (sealed) until an operator copies it with `webhooks pending`; never used to check signatures
/// by itself. Keyed by a fingerprint of the token.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct WebhookVerification {
    pub token: String,
    pub received_at: i64,
    pub expires_at: i64,
}

impl Record for WebhookVerification {
    const KIND: Kind = Kind::WebhookVerification;
    fn expires_at(&self) -> Option<i64> {
        Some(self.expires_at)
    }
}
