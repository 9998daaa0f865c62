//! From a bearer to Notion credentials, on every request: our access token names its grant, the
//! grant holds Notion's tokens. Nothing is captured in a session; a revoked or expired grant stops
//! working on the next request.
//!
//! When Notion refuses a grant's token (401), the grant's Notion refresh token is exchanged — one
//! refresh at a time per Notion bot (single-flight), the rotated tokens stored before the new access
//! token is used. If Notion refuses the refresh too, the grant is deleted and the MCP client is told to
//! log in again (HTTP 401).

use super::opaque_tokens::{self, TokenKind};
use crate::auth::{Principal, PrincipalKind, ToolAccess};
use crate::metrics::Metrics;
use crate::notion::{NotionAuth, NotionClient, NotionError, NotionVersion, TokenRenewer};
use crate::store::records::Grant;
use crate::store::{Decision, Store, StoreError, now_unix};
use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};

/// Why a bearer does not resolve to a grant.
#[derive(Debug, thiserror::Error)]
pub enum ResolveError {
    #[error("the bearer is not an access token issued by this server")]
    NotOurs,
    #[error("the access token is unknown, expired or revoked")]
    Invalid,
    #[error("the access token was issued for another resource ({0})")]
    Audience(String),
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// Set when a request's grant turned out to be dead, so the HTTP layer answers 401.
#[derive(Debug, Clone, Default)]
pub struct ReauthSignal(Arc<AtomicBool>);

impl ReauthSignal {
    pub fn raise(&self) {
        self.0.store(true, Ordering::SeqCst);
    }
    pub fn raised(&self) -> bool {
        self.0.load(Ordering::SeqCst)
    }
}

/// Resolves bearers to grants and keeps grants' Notion tokens fresh.
pub struct GrantService {
    store: Store,
    notion: NotionClient,
    notion_client_id: String,
    notion_client_secret: String,
    resource: String,
    version: NotionVersion,
    metrics: Metrics,
    flights: Mutex<HashMap<String, Arc<tokio::sync::Mutex<()>>>>,
    /// Whether revoking the last grant of a bot also revokes Notion's token.
    revoke_at_notion: bool,
}

impl GrantService {
    pub fn new(
        store: Store,
        notion: NotionClient,
        cfg: &super::OAuthConfig,
        version: NotionVersion,
        metrics: Metrics,
    ) -> Self {
        GrantService {
            store,
            notion,
            notion_client_id: cfg.notion_client_id.clone(),
            notion_client_secret: cfg.notion_client_secret.clone(),
            resource: cfg.resource.clone(),
            version,
            metrics,
            flights: Mutex::new(HashMap::new()),
            revoke_at_notion: true,
        }
    }

    /// Whether revocation also calls Notion's revoke (needs the integration's credentials).
    pub fn revoking_at_notion(mut self, yes: bool) -> Self {
        self.revoke_at_notion = yes;
        self
    }

    pub fn store(&self) -> &Store {
        &self.store
    }

    /// The principal an access token stands for.
    pub async fn resolve(
        self: &Arc<Self>,
        bearer: &str,
        signal: &ReauthSignal,
    ) -> Result<Principal, ResolveError> {
        let Some((TokenKind::Access, grant_id)) = opaque_tokens::parse(bearer) else {
            return Err(ResolveError::NotOurs);
        };
        let grant = self
            .store
            .get::<Grant>(grant_id)
            .await?
            .ok_or(ResolveError::Invalid)?;
        let now = now_unix();
        let hash = opaque_tokens::hash(bearer);
        if !grant
            .access
            .iter()
            .any(|t| t.expires_at > now && opaque_tokens::same(&t.hash, &hash))
        {
            return Err(ResolveError::Invalid);
        }
        if grant.audience.trim_end_matches('/') != self.resource.trim_end_matches('/') {
            return Err(ResolveError::Audience(grant.audience));
        }
        let notion = self.notion_auth(&grant, signal);
        Ok(Principal {
            kind: PrincipalKind::OAuth,
            subject: format!("grant:{}", grant.id),
            notion,
            client_id: Some(grant.client_id),
            workspace_id: Some(grant.notion.workspace_id),
            user_id: grant.notion.user_id,
            access: ToolAccess::all(),
        })
    }

    /// The Notion credentials of a grant, renewed through this service on a 401 (`signal` is raised
    /// when the grant turns out to be dead).
    pub fn notion_auth(self: &Arc<Self>, grant: &Grant, signal: &ReauthSignal) -> NotionAuth {
        let renewer = Arc::new(GrantRenewer {
            service: self.clone(),
            grant_id: grant.id.clone(),
            bot_id: grant.notion.bot_id.clone(),
            signal: signal.clone(),
        });
        NotionAuth::new(grant.notion.access_token.clone(), self.version)
            .with_pacing_key(format!("bot:{}", grant.notion.bot_id))
            .with_workspace(&grant.notion.workspace_id)
            .with_renewer(renewer)
    }

    fn flight(&self, bot_id: &str) -> Arc<tokio::sync::Mutex<()>> {
        let mut flights = self.flights.lock().unwrap_or_else(|p| p.into_inner());
        if flights.len() > 10_000 {
            flights.retain(|_, m| Arc::strong_count(m) > 1);
        }
        flights.entry(bot_id.to_string()).or_default().clone()
    }

    /// A fresh Notion token for a grant whose token `refused` got a 401.
    #[tracing::instrument(name = "oauth", skip_all, fields(otel.name = "oauth notion_refresh", oauth.step = "notion_refresh", oauth.outcome = tracing::field::Empty))]
    pub async fn renew_notion(
        &self,
        grant_id: &str,
        bot_id: &str,
        refused: &str,
    ) -> Result<String, RenewError> {
        let flight = self.flight(bot_id);
        let _one_at_a_time = flight.lock().await;
        // Someone (this replica or another) may have renewed it while we waited.
        let grant = self
            .store
            .get::<Grant>(grant_id)
            .await?
            .ok_or(RenewError::Gone)?;
        if grant.notion.access_token != refused {
            return Ok(grant.notion.access_token);
        }
        let Some(refresh_token) = grant.notion.refresh_token.clone() else {
            return Err(RenewError::Dead(
                "Notion issued no refresh token for this connection".into(),
            ));
        };
        let body =
            serde_json::json!({"grant_type": "refresh_token", "refresh_token": refresh_token});
        let answer = self
            .notion
            .oauth_token(&self.notion_client_id, &self.notion_client_secret, body)
            .await;
        let value = match answer {
            Ok(v) => v,
            Err(e) if e.status().is_some_and(|s| s == 400 || s == 401) => {
                // Another replica may have won the race with the same refresh token.
                if let Some(g) = self.store.get::<Grant>(grant_id).await?
                    && g.notion.access_token != refused
                {
                    return Ok(g.notion.access_token);
                }
                self.metrics.observe_oauth("notion_refresh", "refused");
                return Err(RenewError::Dead(format!(
                    "Notion refused to refresh the connection ({})",
                    e.code()
                )));
            }
            Err(e) => {
                self.metrics.observe_oauth("notion_refresh", "error");
                return Err(RenewError::Notion(e));
            }
        };
        let now = now_unix();
        let Some(fresh) = super::callback::credentials_from(&value, now) else {
            self.metrics.observe_oauth("notion_refresh", "error");
            return Err(RenewError::Notion(NotionError::Decode {
                endpoint: "POST /v1/oauth/token",
                message: "the refresh answer lacks access_token, bot_id or workspace_id".into(),
            }));
        };
        let token = fresh.access_token.clone();
        // Durably store the rotated pair before using it: the old refresh token no longer works.
        let stored = self
            .store
            .update::<Grant, _>(grant_id, |g| {
                g.notion.access_token = fresh.access_token.clone();
                if fresh.refresh_token.is_some() {
                    g.notion.refresh_token = fresh.refresh_token.clone();
                }
                g.notion.obtained_at = now;
                if fresh.workspace_name.is_some() {
                    g.notion.workspace_name = fresh.workspace_name.clone();
                }
                Decision::Write(())
            })
            .await?;
        if stored.is_none() {
            return Err(RenewError::Gone);
        }
        self.metrics.observe_oauth("notion_refresh", "ok");
        tracing::info!(grant_id, bot_id, "Notion token refreshed");
        Ok(token)
    }

    /// Delete a grant; revoke Notion's token when no other grant uses the same bot.
    pub async fn revoke(&self, grant_id: &str, reason: &str) {
        let grant = match self.store.get::<Grant>(grant_id).await {
            Ok(Some(g)) => g,
            Ok(None) => return,
            Err(e) => {
                tracing::error!(error = %e, grant_id, "cannot read a grant to revoke");
                return;
            }
        };
        match self.store.delete::<Grant>(grant_id).await {
            Ok(_) => tracing::info!(
                grant_id,
                reason,
                workspace_id = grant.notion.workspace_id,
                "grant revoked"
            ),
            Err(e) => {
                tracing::error!(error = %e, grant_id, "cannot delete a revoked grant");
                return;
            }
        }
        self.metrics.observe_oauth("grant_revoked", "ok");
        self.revoke_at_notion_if_last(&grant).await;
    }

    async fn revoke_at_notion_if_last(&self, grant: &Grant) {
        if !self.revoke_at_notion {
            return;
        }
        let others = match self.store.list::<Grant>().await {
            Ok(all) => all
                .iter()
                .any(|(_, g)| g.notion.bot_id == grant.notion.bot_id),
            Err(e) => {
                tracing::warn!(error = %e, "cannot list grants; Notion's token is kept");
                return;
            }
        };
        if others {
            return;
        }
        match self
            .notion
            .oauth_revoke(
                &self.notion_client_id,
                &self.notion_client_secret,
                &grant.notion.access_token,
            )
            .await
        {
            Ok(_) => tracing::info!(bot_id = grant.notion.bot_id, "Notion token revoked"),
            Err(e) => {
                tracing::warn!(error = %e, bot_id = grant.notion.bot_id, "Notion did not revoke the token")
            }
        }
    }
}

/// Why a Notion token could not be renewed.
#[derive(Debug, thiserror::Error)]
pub enum RenewError {
    #[error("the grant no longer exists")]
    Gone,
    #[error("{0}")]
    Dead(String),
    #[error(transparent)]
    Notion(NotionError),
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// Renews one grant's Notion token for the Notion client.
struct GrantRenewer {
    service: Arc<GrantService>,
    grant_id: String,
    bot_id: String,
    signal: ReauthSignal,
}

fn unauthorized(message: String) -> NotionError {
    NotionError::Api {
        status: 401,
        code: "unauthorized".into(),
        message,
        request_id: None,
        retry_after: None,
        additional_data: None,
    }
}

#[async_trait::async_trait]
impl TokenRenewer for GrantRenewer {
    async fn renew(&self, refused: &str) -> Result<String, NotionError> {
        match self
            .service
            .renew_notion(&self.grant_id, &self.bot_id, refused)
            .await
        {
            Ok(t) => Ok(t),
            Err(RenewError::Notion(e)) => Err(e),
            Err(RenewError::Store(e)) => {
                tracing::error!(error = %e, grant_id = self.grant_id, "grant store error while refreshing");
                Err(NotionError::Transport {
                    endpoint: "POST /v1/oauth/token",
                    message: "the grant store is unavailable; retry shortly".into(),
                    connect: true,
                })
            }
            Err(e @ (RenewError::Gone | RenewError::Dead(_))) => {
                tracing::warn!(grant_id = self.grant_id, reason = %e, "grant is dead; the client must log in again");
                if matches!(e, RenewError::Dead(_)) {
                    let _ = self.service.store.delete::<Grant>(&self.grant_id).await;
                }
                self.signal.raise();
                Err(unauthorized(format!(
                    "{e}: this connection to Notion must be authorized again (reconnect the MCP server)"
                )))
            }
        }
    }
}
