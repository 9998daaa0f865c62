//! Verification tokens Notion sent for new subscriptions, kept for an operator to copy.
//!
//! The token is the subscription's signing key, so it is kept sealed in the grant store (the
//! same file or Kubernetes Secrets the grants live in; in other auth modes the configured store is
//! opened when the first token arrives) and shown only by `notion-mcp-remote webhooks pending`.
//! The log names it by its first characters, never whole.

use crate::config::StoreArgs;
use crate::store::records::WebhookVerification;
use crate::store::{Store, now_unix};
use sha2::{Digest, Sha256};
use tokio::sync::OnceCell;

/// How long a received token is kept for `webhooks pending`.
const KEEP_SECS: i64 = 7 * 86_400;

/// Where received tokens go.
pub struct PendingTokens {
    store: OnceCell<Option<Store>>,
    open_args: Option<StoreArgs>,
}

impl PendingTokens {
    /// Keep tokens in `store`.
    pub fn in_store(store: Store) -> Self {
        PendingTokens {
            store: OnceCell::new_with(Some(Some(store))),
            open_args: None,
        }
    }

    /// Open the store of `args` when the first token arrives.
    pub fn open_on_demand(args: StoreArgs) -> Self {
        PendingTokens {
            store: OnceCell::new(),
            open_args: Some(args),
        }
    }

    /// A key naming the token without revealing it.
    pub fn fingerprint(token: &str) -> String {
        let digest = Sha256::digest(token.as_bytes());
        digest.iter().take(8).map(|b| format!("{b:02x}")).collect()
    }

    /// A verification request arrived with `token`.
    pub async fn received(&self, token: String) {
        let shown: String = token.chars().take(10).collect();
        let store = self
            .store
            .get_or_init(|| async {
                let args = self.open_args.as_ref()?;
                match crate::store::open::open(args).await {
                    Ok(s) => Some(s),
                    Err(e) => {
                        tracing::error!(error = %format!("{e:#}"), "cannot open the store to keep a webhook verification token");
                        None
                    }
                }
            })
            .await;
        let Some(store) = store else {
            tracing::warn!(
                token_starts = %shown,
                "Notion sent a webhook verification token but no store can keep it: press \
                 'Resend token' in Notion's Webhooks tab once the store works"
            );
            return;
        };
        let now = now_unix();
        let record = WebhookVerification {
            token: token.clone(),
            received_at: now,
            expires_at: now + KEEP_SECS,
        };
        let key = Self::fingerprint(&token);
        let _ = store.delete::<WebhookVerification>(&key).await;
        match store.create(&key, &record).await {
            Ok(()) => tracing::warn!(
                token_starts = %shown,
                "Notion sent a webhook verification token: run `notion-mcp-remote webhooks pending` \
                 to see it, paste it into Notion's Verify dialog and into \
                 NOTION_WEBHOOK_VERIFICATION_TOKEN, then restart"
            ),
            Err(e) => tracing::error!(error = %e, "keeping the webhook verification token failed"),
        }
    }
}

/// `webhooks pending`: the tokens received, newest first.
pub async fn list(store: &Store) -> anyhow::Result<Vec<WebhookVerification>> {
    let mut tokens: Vec<WebhookVerification> = store
        .list::<WebhookVerification>()
        .await?
        .into_iter()
        .map(|(_, t)| t)
        .filter(|t| t.expires_at > now_unix())
        .collect();
    tokens.sort_by_key(|t| std::cmp::Reverse(t.received_at));
    Ok(tokens)
}
