//! Copying a page. Notion has no copy endpoint; two routes exist:
//!
//! - **Template copy**: `POST /v1/pages` with the source as `template_id` (any page the integration
//!   can read in its workspace). Notion copies the content in the background; which sub-pages,
//!   inline databases and files it copies is not documented.
//! - **Faithful copy** ([`read_source`] then [`write::copy`]): the source is read whole first —
//!   properties, block tree, sub-pages to a bound — and refused before anything is written when it
//!   is over [`BOUNDS`]; then the copy is written: pages first (so mentions and `link_to_page`
//!   pointing inside the copied tree can name the copies), then content in document order, one
//!   level per request (≤ 100 blocks), `table` with its rows and `column_list` with its columns and
//!   their children in one request; Notion-hosted files are downloaded and uploaded again.

pub mod convert;
mod files;
mod request;
pub mod write;

use futures::future::BoxFuture;
use notion_model::types::{BlockNode, Page};

use super::client::{NotionAuth, NotionClient};
use super::error::NotionError;
use super::tree::{TreeLimits, fetch_block_tree};

/// What a faithful copy takes on at most.
#[derive(Debug, Clone, Copy)]
pub struct Bounds {
    /// Blocks over all copied pages.
    pub max_blocks: usize,
    /// Pages, the source included.
    pub max_pages: usize,
    /// Levels of sub-pages below the source.
    pub max_page_depth: usize,
    /// Block nesting within one page.
    pub max_block_depth: usize,
}

/// The documented bounds of `duplicate_page`.
pub const BOUNDS: Bounds = Bounds {
    max_blocks: 1000,
    max_pages: 20,
    max_page_depth: 3,
    max_block_depth: 12,
};

/// A page to copy, read whole before anything is written.
#[derive(Debug, Clone)]
pub struct SourcePage {
    pub page: Page,
    pub nodes: Vec<BlockNode>,
    /// Sub-pages (`child_page` blocks anywhere in `nodes`), in document order.
    pub subpages: Vec<SourcePage>,
}

impl SourcePage {
    /// Blocks in this page and its sub-pages.
    pub fn blocks(&self) -> usize {
        fn count(n: &[BlockNode]) -> usize {
            n.iter().map(|b| 1 + count(&b.children)).sum()
        }
        count(&self.nodes) + self.subpages.iter().map(SourcePage::blocks).sum::<usize>()
    }

    /// This page and its sub-pages.
    pub fn pages(&self) -> usize {
        1 + self.subpages.iter().map(SourcePage::pages).sum::<usize>()
    }
}

/// The refusal of a source over the bounds (nothing written).
fn too_large(id: &str, what: String) -> NotionError {
    NotionError::invalid(
        "id",
        format!(
            "page {id} is too large to copy block by block ({what}); nothing was written. \
             Use mode \"template\" (Notion copies it server-side) or duplicate a smaller page."
        ),
    )
}

struct Reading<'a> {
    c: &'a NotionClient,
    auth: &'a NotionAuth,
    root: String,
    bounds: Bounds,
    concurrency: usize,
    blocks: usize,
    pages: usize,
}

/// Read `id` whole (properties, content, sub-pages) or refuse it as too large.
pub async fn read_source(
    c: &NotionClient,
    auth: &NotionAuth,
    id: &str,
    bounds: Bounds,
    concurrency: usize,
) -> Result<SourcePage, NotionError> {
    let mut r = Reading {
        c,
        auth,
        root: id.to_string(),
        bounds,
        concurrency,
        blocks: 0,
        pages: 0,
    };
    read_page(&mut r, id.to_string(), 0).await
}

fn read_page<'a>(
    r: &'a mut Reading<'_>,
    id: String,
    depth: usize,
) -> BoxFuture<'a, Result<SourcePage, NotionError>> {
    Box::pin(async move {
        r.pages += 1;
        if r.pages > r.bounds.max_pages {
            return Err(too_large(
                &r.root,
                format!("more than {} pages", r.bounds.max_pages),
            ));
        }
        let page = super::endpoints::retrieve_page(r.c, r.auth, &id, &[]).await?;
        let left = r.bounds.max_blocks.saturating_sub(r.blocks);
        let limits = TreeLimits {
            max_blocks: left + 1,
            max_depth: r.bounds.max_block_depth + 1,
            concurrency: r.concurrency,
        };
        let tree = fetch_block_tree(r.c, r.auth, &id, limits, None).await?;
        r.blocks += tree.fetched;
        if tree.truncated || r.blocks > r.bounds.max_blocks {
            return Err(too_large(
                &r.root,
                format!("more than {} blocks", r.bounds.max_blocks),
            ));
        }
        if deeper_than(&tree.nodes, r.bounds.max_block_depth) {
            return Err(too_large(
                &r.root,
                format!(
                    "blocks nested more than {} levels",
                    r.bounds.max_block_depth
                ),
            ));
        }
        let mut child_ids = Vec::new();
        collect_child_pages(&tree.nodes, &mut child_ids);
        if !child_ids.is_empty() && depth >= r.bounds.max_page_depth {
            return Err(too_large(
                &r.root,
                format!(
                    "sub-pages more than {} levels deep",
                    r.bounds.max_page_depth
                ),
            ));
        }
        let mut subpages = Vec::with_capacity(child_ids.len());
        for child in child_ids {
            subpages.push(read_page(r, child, depth + 1).await?);
        }
        Ok(SourcePage {
            page,
            nodes: tree.nodes,
            subpages,
        })
    })
}

/// Whether the tree has more than `depth` levels.
fn deeper_than(nodes: &[BlockNode], depth: usize) -> bool {
    fn levels(nodes: &[BlockNode]) -> usize {
        nodes
            .iter()
            .map(|n| 1 + levels(&n.children))
            .max()
            .unwrap_or(0)
    }
    levels(nodes) > depth
}

/// Ids of `child_page` blocks in document order (at any depth).
fn collect_child_pages(nodes: &[BlockNode], out: &mut Vec<String>) {
    for n in nodes {
        if let Some(b) = &n.block
            && b.kind == "child_page"
        {
            out.push(b.id.clone());
        }
        collect_child_pages(&n.children, out);
    }
}
