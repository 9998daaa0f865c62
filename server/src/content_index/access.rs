//! Who may see a hit: the index holds a whole workspace, but a hit reaches a caller only after the
//! caller's own token has read the page — Notion's title search just listed it to the caller, a
//! proof the read cache already holds, one this index remembered (for a few minutes, forgotten when
//! pages move or are trashed), or else a cheap `GET /v1/pages/{id}` with the caller's token now. Notion's 404/403 drops the hit; a page found
//! in the trash is dropped from the index too.

use super::engine::Hit;
use super::{ContentIndex, Job};
use crate::notion::{NotionAuth, NotionClient, endpoints};
use futures::{StreamExt, stream};
use notion_model::types::Page;
use serde::Deserialize;
use std::collections::HashSet;
use std::sync::Arc;
use uuid::Uuid;

/// Proof reads in flight at once for one search.
const CONCURRENT_PROOFS: usize = 4;

impl ContentIndex {
    /// The hits `auth` may see, in their order; `listed`: pages Notion just listed to `auth`.
    pub async fn visible_to(
        &self,
        client: &NotionClient,
        auth: &NotionAuth,
        hits: Vec<Hit>,
        listed: &HashSet<Uuid>,
    ) -> Vec<Hit> {
        let identity: Arc<str> = Arc::from(auth.identity());
        let checks = hits.into_iter().map(|hit| {
            let identity = identity.clone();
            async move {
                let key = (identity.clone(), hit.id);
                if listed.contains(&hit.id)
                    || client.cache().proven(&identity, hit.id)
                    || self.proofs.contains_key(&key)
                {
                    return Some(hit);
                }
                match endpoints::retrieve_page_raw(client, auth, &hit.id.to_string(), &[]).await {
                    Ok(v) => {
                        let trashed = Page::deserialize(&v).map(|p| p.in_trash).unwrap_or(false)
                            || v.get("archived").and_then(|a| a.as_bool()) == Some(true);
                        if trashed {
                            self.enqueue(Job::Remove(hit.id));
                            return None;
                        }
                        self.proofs.insert(key, ());
                        Some(hit)
                    }
                    Err(e) => {
                        self.proofs.invalidate(&key);
                        if !matches!(e.status(), Some(403 | 404)) {
                            tracing::debug!(code = e.code(), "content hit not verified; left out");
                        }
                        None
                    }
                }
            }
        });
        stream::iter(checks)
            .buffered(CONCURRENT_PROOFS)
            .filter_map(|h| async move { h })
            .collect()
            .await
    }
}
