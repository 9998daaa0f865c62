//! The index across several replicas sharing a Redis (`--redis-url`): one replica crawls a workspace
//! and the others receive what it indexed, so no page is read from Notion once per replica.
//!
//! - [`gate`]: a lease per workspace; only its holder's crawler runs (while Redis is unreachable for
//!   longer than a lease lasts, every replica crawls on its own again).
//! - Every change the index takes in — a page document from the crawler, a read, a webhook re-read;
//!   a removal; the crawler's listing notes — is appended by the worker to the workspace's shared log
//!   ([`crate::shared::stream`]) as an [`Entry`]; [`follow`] reads every workspace's log and hands
//!   other replicas' entries to the worker, which applies them without asking Notion. The position
//!   reached is kept in the crawl state, so a restart reads on from there.
//! - A replica whose position is older than what the log still holds (trimmed, or lost with Redis)
//!   applies what is left, then crawls once on its own to read what it still lacks.

pub mod follow;
pub mod gate;

use super::ContentIndex;
use super::document::PageDoc;
use crate::shared::SharedState;
use serde::{Deserialize, Serialize};
use std::collections::HashMap;
use std::sync::Arc;
use uuid::Uuid;

/// The family of the index's logs (one topic per workspace).
pub const FAMILY: &str = "index";
/// Entries a workspace's log keeps, about (`MAXLEN ~`): older ones are trimmed away.
pub const LOG_LENGTH: usize = 10_000;

/// A page document as the index stores it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SharedDoc {
    pub id: Uuid,
    #[serde(default)]
    pub title: String,
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub properties: String,
    #[serde(default)]
    pub body: String,
    #[serde(default)]
    pub url: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub parent: Option<Uuid>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub data_source: Option<Uuid>,
    #[serde(default)]
    pub edited: i64,
    /// The body is current as of `edited` (else it was kept from an older version).
    #[serde(default)]
    pub indexed: bool,
}

impl SharedDoc {
    pub fn of(doc: &PageDoc, indexed: bool) -> Self {
        SharedDoc {
            id: doc.id,
            title: doc.title.clone(),
            properties: doc.properties.clone(),
            body: doc.body.clone().unwrap_or_default(),
            url: doc.url.clone(),
            parent: doc.parent_page,
            data_source: doc.data_source,
            edited: doc.edited,
            indexed,
        }
    }

    pub fn into_doc(self, workspace: &Arc<str>) -> PageDoc {
        PageDoc {
            id: self.id,
            workspace: workspace.clone(),
            title: self.title,
            properties: self.properties,
            body: Some(self.body),
            url: self.url,
            parent_page: self.parent,
            data_source: self.data_source,
            edited: self.edited,
            in_trash: false,
        }
    }
}

/// A page the crawler's listing showed (its content not read yet).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Note {
    pub id: Uuid,
    #[serde(default)]
    pub title: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub parent: Option<Uuid>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub data_source: Option<Uuid>,
    #[serde(default)]
    pub edited: i64,
}

impl Note {
    pub fn of(doc: &PageDoc) -> Self {
        Note {
            id: doc.id,
            title: doc.title.clone(),
            parent: doc.parent_page,
            data_source: doc.data_source,
            edited: doc.edited,
        }
    }
}

/// A data source: the page above it and its title.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Source {
    pub id: Uuid,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub page: Option<Uuid>,
    #[serde(default)]
    pub title: String,
}

#[derive(Debug, Serialize, Deserialize)]
struct Id {
    id: Uuid,
}

/// One change of a workspace's index, as its log carries it.
#[derive(Debug, Clone, PartialEq)]
pub enum Entry {
    /// A page document, written whole.
    Add(SharedDoc),
    /// A page trashed, deleted or no longer shared.
    Remove(Uuid),
    /// A data source deleted: its rows leave.
    RemoveSource(Uuid),
    /// Pages a listing showed.
    Known(Vec<Note>),
    /// Where data sources are.
    Sources(Vec<Source>),
    /// A full listing of the workspace finished.
    Listed,
    /// Who may read what may have changed (a move, the trash): prove access again.
    Access,
}

/// Why a log entry was not understood.
#[derive(Debug, thiserror::Error)]
pub enum EntryError {
    #[error("unknown entry kind {0:?}")]
    Kind(String),
    #[error("entry {kind}: {source}")]
    Json {
        kind: &'static str,
        source: serde_json::Error,
    },
}

impl Entry {
    pub fn kind(&self) -> &'static str {
        match self {
            Entry::Add(_) => "add",
            Entry::Remove(_) => "remove",
            Entry::RemoveSource(_) => "remove_source",
            Entry::Known(_) => "known",
            Entry::Sources(_) => "sources",
            Entry::Listed => "listed",
            Entry::Access => "access",
        }
    }

    /// The entry's data: compact JSON.
    pub fn data(&self) -> Vec<u8> {
        let json = match self {
            Entry::Add(doc) => serde_json::to_vec(doc),
            Entry::Remove(id) | Entry::RemoveSource(id) => serde_json::to_vec(&Id { id: *id }),
            Entry::Known(notes) => serde_json::to_vec(notes),
            Entry::Sources(sources) => serde_json::to_vec(sources),
            Entry::Listed | Entry::Access => Ok(b"{}".to_vec()),
        };
        json.unwrap_or_default()
    }

    /// The entry of `kind` with `data`.
    pub fn decode(kind: &str, data: &[u8]) -> Result<Entry, EntryError> {
        fn json<T: serde::de::DeserializeOwned>(
            kind: &'static str,
            data: &[u8],
        ) -> Result<T, EntryError> {
            serde_json::from_slice(data).map_err(|source| EntryError::Json { kind, source })
        }
        Ok(match kind {
            "add" => Entry::Add(json("add", data)?),
            "remove" => Entry::Remove(json::<Id>("remove", data)?.id),
            "remove_source" => Entry::RemoveSource(json::<Id>("remove_source", data)?.id),
            "known" => Entry::Known(json("known", data)?),
            "sources" => Entry::Sources(json("sources", data)?),
            "listed" => Entry::Listed,
            "access" => Entry::Access,
            other => return Err(EntryError::Kind(other.to_owned())),
        })
    }
}

/// This replica's part in sharing the index.
pub struct Replica {
    pub(crate) shared: SharedState,
    /// Marks this replica's entries (random per process), so it skips its own.
    pub(crate) origin: String,
    pub(crate) gate: Arc<gate::CrawlGate>,
}

impl std::fmt::Debug for Replica {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Replica")
            .field("origin", &self.origin)
            .finish_non_exhaustive()
    }
}

impl Replica {
    pub fn new(shared: SharedState, index: &ContentIndex) -> Arc<Self> {
        let origin = Uuid::new_v4().simple().to_string();
        Arc::new(Replica {
            gate: gate::CrawlGate::new(shared.clone(), origin.clone(), index.metrics.clone()),
            shared,
            origin,
        })
    }

    /// Append `entries` to their workspaces' logs (one round trip per workspace). Entries Redis
    /// cannot take now are counted and dropped: the other replicas notice the outage and catch up.
    pub async fn publish(&self, index: &ContentIndex, entries: Vec<(Arc<str>, Entry)>) {
        let mut by_workspace: HashMap<Arc<str>, Vec<Entry>> = HashMap::new();
        for (ws, entry) in entries {
            by_workspace.entry(ws).or_default().push(entry);
        }
        for (ws, entries) in by_workspace {
            let fields: Vec<Vec<(&str, Vec<u8>)>> = entries
                .iter()
                .map(|e| {
                    vec![
                        ("origin", self.origin.as_bytes().to_vec()),
                        ("kind", e.kind().as_bytes().to_vec()),
                        ("doc", e.data()),
                    ]
                })
                .collect();
            match self
                .shared
                .append_log(FAMILY, &ws, LOG_LENGTH, &fields)
                .await
            {
                Ok(()) => index.metrics.shared("published", fields.len()),
                Err(e) => {
                    index.metrics.shared("unpublished", fields.len());
                    tracing::debug!(error = %e, "content index changes not shared");
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn entries_round_trip_as_compact_json() {
        let doc = SharedDoc {
            id: Uuid::from_u128(1),
            title: "Plan".into(),
            properties: String::new(),
            body: "Words".into(),
            url: "https://www.notion.so/1".into(),
            parent: Some(Uuid::from_u128(2)),
            data_source: None,
            edited: 42,
            indexed: true,
        };
        let entries = [
            Entry::Add(doc),
            Entry::Remove(Uuid::from_u128(3)),
            Entry::RemoveSource(Uuid::from_u128(4)),
            Entry::Known(vec![Note {
                id: Uuid::from_u128(5),
                title: "T".into(),
                parent: None,
                data_source: Some(Uuid::from_u128(6)),
                edited: 7,
            }]),
            Entry::Sources(vec![Source {
                id: Uuid::from_u128(6),
                page: None,
                title: "Tasks".into(),
            }]),
            Entry::Listed,
            Entry::Access,
        ];
        for e in entries {
            let data = e.data();
            assert!(!data.contains(&b'\n'), "compact");
            assert_eq!(Entry::decode(e.kind(), &data).unwrap(), e);
        }
        let add = String::from_utf8(
            Entry::Add(SharedDoc::of(
                &PageDoc {
                    id: Uuid::from_u128(1),
                    workspace: Arc::from("w"),
                    title: "t".into(),
                    properties: String::new(),
                    body: None,
                    url: String::new(),
                    parent_page: None,
                    data_source: None,
                    edited: 1,
                    in_trash: false,
                },
                false,
            ))
            .data(),
        )
        .unwrap();
        assert!(
            !add.contains("properties") && !add.contains("parent"),
            "{add}"
        );
        assert!(matches!(
            Entry::decode("later", b"{}"),
            Err(EntryError::Kind(_))
        ));
        assert!(matches!(
            Entry::decode("remove", b"{}"),
            Err(EntryError::Json { .. })
        ));
    }
}
