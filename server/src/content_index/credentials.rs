//! Whose tokens the crawler reads a workspace with: only credentials the server already holds for
//! it — OAuth grants in the store (each names its workspace), the integration tokens of configured
//! API keys, and the demo token — never a caller's own token. One connection per workspace.

use crate::notion::{NotionAuth, NotionClient, NotionVersion};
use crate::oauth::grants::{GrantService, ReauthSignal};
use crate::store::now_unix;
use crate::store::records::Grant;
use std::collections::HashMap;
use std::sync::Arc;

/// The server's own credentials, by workspace.
#[derive(Clone, Default)]
pub struct Credentials {
    grants: Option<Arc<GrantService>>,
    tokens: Vec<NotionAuth>,
}

impl std::fmt::Debug for Credentials {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Credentials")
            .field("grants", &self.grants.is_some())
            .field("tokens", &self.tokens.len())
            .finish()
    }
}

/// The version crawling speaks: listings carry every property (2026-12-01 lists titles only).
const CRAWL_VERSION: NotionVersion = NotionVersion::V2026_03_11;

impl Credentials {
    /// Grants of `grants`' store, plus `tokens` (API keys' and demo integration tokens).
    pub fn new(grants: Option<Arc<GrantService>>, tokens: Vec<NotionAuth>) -> Self {
        Credentials { grants, tokens }
    }

    pub fn is_empty(&self) -> bool {
        self.grants.is_none() && self.tokens.is_empty()
    }

    /// One background connection per workspace the server holds credentials for.
    pub async fn by_workspace(&self, client: &NotionClient) -> HashMap<Arc<str>, NotionAuth> {
        let mut found: HashMap<Arc<str>, NotionAuth> = HashMap::new();
        if let Some(grants) = &self.grants {
            match grants.store().list::<Grant>().await {
                Ok(list) => {
                    let now = now_unix();
                    for (_, grant) in list.into_iter().filter(|(_, g)| g.expires_at > now) {
                        let ws: Arc<str> = Arc::from(grant.notion.workspace_id.as_str());
                        found.entry(ws).or_insert_with(|| {
                            grants.notion_auth(&grant, &ReauthSignal::default())
                        });
                    }
                }
                Err(e) => tracing::warn!(error = %e, "content index: grants not listed"),
            }
        }
        for auth in &self.tokens {
            if let Some(ws) = client.workspace_id(auth).await {
                found.entry(ws).or_insert_with(|| auth.clone());
            }
        }
        found
            .into_iter()
            .map(|(ws, auth)| (ws, auth.with_version(CRAWL_VERSION).in_background()))
            .collect()
    }
}
