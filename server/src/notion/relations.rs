//! Relation resolution: complete relation id lists (past the 25-reference cap of page objects) and
//! fetching many related pages at the lowest request cost the pacing budget allows.
//!
//! Fetch strategy ([`fetch_pages`]), for ids whose pages live in one known data source:
//!
//! - Fewer than [`SCAN_MIN_IDS`] ids, or no known data source: one `GET /v1/pages/{id}` per id.
//! - Otherwise the data source is scanned 100 rows per query request, keeping the rows whose ids are
//!   wanted. The first query is the probe. Scanning continues only while it pays at least twice
//!   over: the wanted rows found so far must average at least [`SCAN_MIN_HITS_PER_PAGE`] per scanned
//!   page (a page read costs one request per id, so a scan page finding fewer than 2 is not worth
//!   its larger payload). A data source much larger than the id set therefore costs one probe, then
//!   page reads.
//! - Ids the scan did not find (trashed, elsewhere, scan stopped) are read one by one.
//!
//! Page reads run with bounded concurrency, so the client's per-workspace pacer (not a burst) sets
//! the pace. Pages answering 404/403 are reported as inaccessible, not as a failure.

use super::client::{NotionAuth, NotionClient};
use super::endpoints;
use super::error::NotionError;
use super::pagination::MAX_PAGE_SIZE;
use futures::{StreamExt, stream};
use notion_model::types::{Page, PropertyValue};
use serde_json::{Value, json};
use std::collections::{HashMap, HashSet};

/// Below this many ids, pages are read one by one (a probe could save at most two requests).
pub const SCAN_MIN_IDS: usize = 4;
/// A data-source scan continues while its pages average at least this many wanted rows.
pub const SCAN_MIN_HITS_PER_PAGE: usize = 2;

/// Normalised id for matching: lowercase hex without dashes.
pub fn id_key(id: &str) -> String {
    id.chars()
        .filter(|c| *c != '-')
        .flat_map(char::to_lowercase)
        .collect()
}

/// The related data source of a relation property's schema entry (`relation.data_source_id`).
pub fn relation_target(schema_entry: &Value) -> Option<String> {
    schema_entry
        .get("relation")?
        .get("data_source_id")?
        .as_str()
        .filter(|s| !s.is_empty())
        .map(str::to_owned)
}

/// A page's data source (`parent.data_source_id`), if it is a data-source row.
pub fn parent_data_source(page: &Page) -> Option<String> {
    page.parent
        .get("data_source_id")
        .and_then(Value::as_str)
        .filter(|s| !s.is_empty())
        .map(str::to_owned)
}

/// Related page ids of a relation value, in order, with whether `bound` cut the list.
#[derive(Debug, Clone, Default)]
pub struct RelationIds {
    pub ids: Vec<String>,
    pub truncated: bool,
    /// Property-item requests made (0 when the page object already held the whole list).
    pub requests: usize,
}

/// Every related page id of `prop` on page `page_id`: from the value itself when it is complete,
/// else paged through the property-item endpoint (past the 25-reference cap), up to `bound` ids.
pub async fn relation_ids(
    c: &NotionClient,
    auth: &NotionAuth,
    page_id: &str,
    prop: &PropertyValue,
    bound: usize,
) -> Result<RelationIds, NotionError> {
    if !prop.has_more() {
        let mut ids: Vec<String> = prop
            .value()
            .and_then(Value::as_array)
            .map(|a| {
                a.iter()
                    .filter_map(|r| r.get("id").and_then(Value::as_str))
                    .map(str::to_owned)
                    .collect()
            })
            .unwrap_or_default();
        let truncated = ids.len() > bound;
        ids.truncate(bound);
        return Ok(RelationIds {
            ids,
            truncated,
            requests: 0,
        });
    }
    let items = endpoints::all_property_items(c, auth, page_id, &prop.id, bound).await?;
    let requests = items.items.len().div_ceil(MAX_PAGE_SIZE as usize).max(1);
    let mut ids: Vec<String> = items
        .items
        .iter()
        .filter_map(|i| i.get("relation")?.get("id")?.as_str())
        .map(str::to_owned)
        .collect();
    let truncated = items.truncated || ids.len() > bound;
    ids.truncate(bound);
    Ok(RelationIds {
        ids,
        truncated,
        requests,
    })
}

/// How the pages were fetched.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct FetchStats {
    /// Data-source query requests (100 rows each).
    pub queries: usize,
    /// `GET /v1/pages/{id}` requests.
    pub page_reads: usize,
    /// Rows the scan looked at.
    pub rows_scanned: usize,
}

impl FetchStats {
    pub fn requests(&self) -> usize {
        self.queries + self.page_reads
    }

    pub fn add(&mut self, other: FetchStats) {
        self.queries += other.queries;
        self.page_reads += other.page_reads;
        self.rows_scanned += other.rows_scanned;
    }
}

/// Pages fetched by [`fetch_pages`], keyed by [`id_key`].
#[derive(Debug, Clone, Default)]
pub struct Fetched {
    pub pages: HashMap<String, Page>,
    /// Ids Notion would not show (key → error code, e.g. `object_not_found`).
    pub inaccessible: HashMap<String, String>,
    pub stats: FetchStats,
}

impl Fetched {
    pub fn page(&self, id: &str) -> Option<&Page> {
        self.pages.get(&id_key(id))
    }

    pub fn inaccessible(&self, id: &str) -> Option<&str> {
        self.inaccessible.get(&id_key(id)).map(String::as_str)
    }
}

/// How to fetch.
#[derive(Debug, Clone, Default)]
pub struct FetchOptions {
    /// The data source the pages belong to (from the relation schema), enabling the scan.
    pub data_source: Option<String>,
    /// Property ids to return (empty: all). Must include what the caller renders.
    pub filter_properties: Vec<String>,
    /// Concurrent page reads.
    pub concurrency: usize,
    /// Never scan; read every page (for measurements).
    pub per_page_only: bool,
}

/// Fetch the pages `ids` (duplicates ignored) per the strategy in the module docs.
pub async fn fetch_pages(
    c: &NotionClient,
    auth: &NotionAuth,
    ids: &[String],
    opts: &FetchOptions,
) -> Result<Fetched, NotionError> {
    let mut seen = HashSet::new();
    let wanted: Vec<&String> = ids.iter().filter(|i| seen.insert(id_key(i))).collect();
    let mut out = Fetched::default();
    if let Some(ds) = opts.data_source.as_deref()
        && !opts.per_page_only
        && wanted.len() >= SCAN_MIN_IDS
    {
        scan(c, auth, ds, &seen, opts, &mut out).await?;
    }
    let rest: Vec<String> = wanted
        .into_iter()
        .filter(|i| !out.pages.contains_key(&id_key(i)))
        .cloned()
        .collect();
    read_pages(c, auth, &rest, opts, &mut out).await?;
    Ok(out)
}

/// Scan `ds` 100 rows per request while it pays; found rows go into `out.pages`.
async fn scan(
    c: &NotionClient,
    auth: &NotionAuth,
    ds: &str,
    wanted: &HashSet<String>,
    opts: &FetchOptions,
    out: &mut Fetched,
) -> Result<(), NotionError> {
    let mut cursor: Option<String> = None;
    loop {
        let res = endpoints::query_data_source(
            c,
            auth,
            ds,
            json!({}),
            &opts.filter_properties,
            cursor.as_deref(),
            Some(MAX_PAGE_SIZE),
        )
        .await;
        let list = match res {
            Ok(l) => l,
            // The data source is not shared (or gone): the page reads will tell page by page.
            Err(e) if matches!(e.status(), Some(403 | 404)) => return Ok(()),
            Err(e) => return Err(e),
        };
        out.stats.queries += 1;
        out.stats.rows_scanned += list.results.len();
        for page in list.results {
            let k = id_key(&page.id);
            if wanted.contains(&k) {
                out.pages.insert(k, page);
            }
        }
        let found = out.pages.len();
        let next = list.next_cursor.filter(|n| list.has_more && !n.is_empty());
        match next {
            Some(n)
                if found < wanted.len()
                    && found >= SCAN_MIN_HITS_PER_PAGE * out.stats.queries
                    && cursor.as_deref() != Some(n.as_str()) =>
            {
                cursor = Some(n);
            }
            _ => return Ok(()),
        }
    }
}

/// Read `ids` one request each, `opts.concurrency` at a time.
async fn read_pages(
    c: &NotionClient,
    auth: &NotionAuth,
    ids: &[String],
    opts: &FetchOptions,
    out: &mut Fetched,
) -> Result<(), NotionError> {
    let fp = &opts.filter_properties;
    // Indexing (not `iter().map(|id| …)`) keeps the futures free of higher-ranked borrows.
    let mut results = stream::iter((0..ids.len()).map(|i| {
        let id = &ids[i];
        async move {
            (
                id,
                endpoints::retrieve_page(c, auth, id, fp.as_slice()).await,
            )
        }
    }))
    .buffer_unordered(opts.concurrency.max(1));
    while let Some((id, res)) = results.next().await {
        out.stats.page_reads += 1;
        match res {
            Ok(page) => {
                out.pages.insert(id_key(id), page);
            }
            Err(e) if matches!(e.status(), Some(403 | 404)) => {
                out.inaccessible.insert(id_key(id), e.code().to_owned());
            }
            Err(e) => return Err(e),
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn keys_and_targets() {
        assert_eq!(id_key("AB-cd-12"), "abcd12");
        let entry = json!({"type": "relation", "relation": {"data_source_id": "ds1", "database_id": "db1"}});
        assert_eq!(relation_target(&entry).as_deref(), Some("ds1"));
        assert_eq!(relation_target(&json!({"relation": {}})), None);
    }

    #[tokio::test]
    async fn complete_values_need_no_requests() {
        let prop: PropertyValue = serde_json::from_value(json!({
            "id": "r", "type": "relation", "relation": [{"id": "a"}, {"id": "b"}, {"id": "c"}], "has_more": false
        }))
        .unwrap();
        let client = NotionClient::new(Default::default(), crate::metrics::Metrics::new()).unwrap();
        let auth = NotionAuth::new("t", Default::default());
        let r = relation_ids(&client, &auth, "p", &prop, 2).await.unwrap();
        assert_eq!(r.ids, ["a", "b"]);
        assert!(r.truncated);
        assert_eq!(r.requests, 0);
    }
}
