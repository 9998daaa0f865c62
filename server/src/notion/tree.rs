//! Fetching a page's (or block's) content as a tree of blocks, bounded in size and depth.
//!
//! Top-level children are fetched page by page, sequentially, so the returned cursor resumes exactly
//! after the last top-level block included. Below that, sibling subtrees are fetched concurrently
//! (bounded), every child list is fully paginated, and a shared block budget stops everything cleanly:
//! a node whose children were not (all) fetched gets `children_omitted`.

use super::client::{NotionAuth, NotionClient};
use super::endpoints::list_block_children;
use super::error::NotionError;
use super::pagination::MAX_PAGE_SIZE;
use super::types::{Block, BlockNode, ListResponse};
use futures::future::BoxFuture;
use futures::{StreamExt, TryStreamExt, stream};
use serde_json::Value;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use tokio::sync::Semaphore;

/// Bounds of one tree fetch.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TreeLimits {
    /// Blocks to include at most, over all levels (at least 1).
    pub max_blocks: usize,
    /// Levels to include: 1 = only the top-level blocks (at least 1).
    pub max_depth: usize,
    /// Child-list requests in flight at once (at least 1).
    pub concurrency: usize,
}

impl Default for TreeLimits {
    fn default() -> Self {
        TreeLimits {
            max_blocks: 1000,
            max_depth: 8,
            concurrency: 4,
        }
    }
}

/// The fetched tree.
#[derive(Debug, Clone, Default)]
pub struct BlockTree {
    /// Top-level blocks with their subtrees.
    pub nodes: Vec<BlockNode>,
    /// When the block budget ran out before the last top-level block: where to continue (pass it as
    /// `start_cursor`); it resumes right after the last top-level block in `nodes`.
    pub next_cursor: Option<String>,
    /// The block budget ran out somewhere (top level or a subtree). Depth cuts alone do not set it;
    /// they show as `children_omitted` on the nodes.
    pub truncated: bool,
    /// Blocks included.
    pub fetched: usize,
}

/// Fetch the children of `root_id` (a page or block) as a tree.
pub async fn fetch_block_tree(
    c: &NotionClient,
    auth: &NotionAuth,
    root_id: &str,
    limits: TreeLimits,
    start_cursor: Option<String>,
) -> Result<BlockTree, NotionError> {
    let max_blocks = limits.max_blocks.max(1);
    let concurrency = limits.concurrency.max(1);
    let ctx = Ctx {
        c,
        auth,
        budget: AtomicUsize::new(max_blocks),
        budget_hit: AtomicBool::new(false),
        requests: Semaphore::new(concurrency),
        max_depth: limits.max_depth.max(1),
        concurrency,
    };
    let mut tree = BlockTree::default();
    let mut cursor = start_cursor;
    let mut overflow = 0;
    loop {
        // Top-level pages are claimed in full before any subtree work, so a page always ends exactly
        // at the budget and its cursor is an exact continuation point.
        let size = ctx
            .budget
            .load(Ordering::SeqCst)
            .min(MAX_PAGE_SIZE as usize);
        if size == 0 {
            tree.truncated = true;
            tree.next_cursor = cursor;
            break;
        }
        let page = ctx.list(root_id, cursor.as_deref(), size).await?;
        let ListResponse {
            results,
            next_cursor,
            has_more,
            ..
        } = page;
        // If Notion ignored page_size, keep the surplus anyway: cutting it would make the cursor skip.
        overflow += results.len() - ctx.claim(results.len());
        let nodes: Vec<BlockNode> = stream::iter(results.into_iter().map(|b| ctx.node(b, 1)))
            .buffered(concurrency)
            .try_collect()
            .await?;
        tree.nodes.extend(nodes);
        match next_cursor.filter(|n| has_more && !n.is_empty()) {
            Some(n) if cursor.as_deref() != Some(n.as_str()) => cursor = Some(n),
            _ => break,
        }
    }
    tree.fetched = max_blocks - ctx.budget.load(Ordering::SeqCst) + overflow;
    tree.truncated |= ctx.budget_hit.load(Ordering::SeqCst);
    Ok(tree)
}

struct Ctx<'a> {
    c: &'a NotionClient,
    auth: &'a NotionAuth,
    /// Blocks that may still be included.
    budget: AtomicUsize,
    budget_hit: AtomicBool,
    requests: Semaphore,
    max_depth: usize,
    concurrency: usize,
}

impl Ctx<'_> {
    /// Take up to `want` blocks from the budget; returns how many were granted.
    fn claim(&self, want: usize) -> usize {
        let mut granted = 0;
        let _ = self
            .budget
            .fetch_update(Ordering::SeqCst, Ordering::SeqCst, |left| {
                granted = want.min(left);
                Some(left - granted)
            });
        if granted < want {
            self.budget_hit.store(true, Ordering::SeqCst);
        }
        granted
    }

    async fn list(
        &self,
        id: &str,
        cursor: Option<&str>,
        size: usize,
    ) -> Result<ListResponse<Block>, NotionError> {
        let _permit = self
            .requests
            .acquire()
            .await
            .map_err(|_| NotionError::Config {
                message: "tree fetch request limiter closed".into(),
            })?;
        let size = u32::try_from(size).unwrap_or(MAX_PAGE_SIZE);
        list_block_children(self.c, self.auth, id, cursor, Some(size)).await
    }

    /// One block with its subtree (depth 1 = top level).
    fn node(&self, block: Block, depth: usize) -> BoxFuture<'_, Result<BlockNode, NotionError>> {
        Box::pin(async move {
            let is_link = matches!(block.kind.as_str(), "child_page" | "child_database");
            if !block.has_children || is_link {
                return Ok(BlockNode {
                    block: Some(block),
                    children: Vec::new(),
                    children_omitted: false,
                });
            }
            if depth >= self.max_depth {
                return Ok(BlockNode {
                    block: Some(block),
                    children: Vec::new(),
                    children_omitted: true,
                });
            }
            // A synced-block reference holds no children of its own: read the original's.
            let source = synced_source(&block).unwrap_or_else(|| block.id.clone());
            let (children, complete) = self.children(&source, depth + 1).await?;
            Ok(BlockNode {
                block: Some(block),
                children,
                children_omitted: !complete,
            })
        })
    }

    /// All children of `id` (each at `depth`), paginated; `false` when some were left out.
    async fn children(
        &self,
        id: &str,
        depth: usize,
    ) -> Result<(Vec<BlockNode>, bool), NotionError> {
        let mut out = Vec::new();
        let mut cursor: Option<String> = None;
        loop {
            // Ask for what the budget allows now; claim what arrived (siblings may have used some).
            let size = self
                .budget
                .load(Ordering::SeqCst)
                .min(MAX_PAGE_SIZE as usize);
            if size == 0 {
                self.budget_hit.store(true, Ordering::SeqCst);
                return Ok((out, false));
            }
            let page = match self.list(id, cursor.as_deref(), size).await {
                Ok(p) => p,
                // An unshared synced original or a block we may not read: keep the rest of the tree.
                Err(e) if matches!(e.code(), "object_not_found" | "restricted_resource") => {
                    tracing::debug!(code = e.code(), "block children not readable; omitted");
                    return Ok((out, false));
                }
                Err(e) => return Err(e),
            };
            let ListResponse {
                mut results,
                next_cursor,
                has_more,
                ..
            } = page;
            let wanted = results.len();
            let granted = self.claim(wanted);
            results.truncate(granted);
            let nodes: Vec<BlockNode> =
                stream::iter(results.into_iter().map(|b| self.node(b, depth)))
                    .buffered(self.concurrency)
                    .try_collect()
                    .await?;
            out.extend(nodes);
            if granted < wanted {
                return Ok((out, false));
            }
            match next_cursor.filter(|n| has_more && !n.is_empty()) {
                Some(n) if cursor.as_deref() != Some(n.as_str()) => cursor = Some(n),
                Some(_) => return Ok((out, false)),
                None => return Ok((out, true)),
            }
        }
    }
}

/// `synced_block.synced_from.block_id` of a synced-block reference.
fn synced_source(block: &Block) -> Option<String> {
    if block.kind != "synced_block" {
        return None;
    }
    block
        .data()?
        .get("synced_from")?
        .get("block_id")
        .and_then(Value::as_str)
        .filter(|s| !s.is_empty())
        .map(str::to_owned)
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;
    use serde_json::json;

    #[test]
    fn synced_reference_points_at_original() {
        let b: Block =
            serde_json::from_value(json!({"id":"r","type":"synced_block","has_children":true,
            "synced_block":{"synced_from":{"type":"block_id","block_id":"orig"}}}))
            .unwrap();
        assert_eq!(synced_source(&b).as_deref(), Some("orig"));
        let b: Block =
            serde_json::from_value(json!({"id":"o","type":"synced_block","has_children":true,
            "synced_block":{"synced_from":null}}))
            .unwrap();
        assert_eq!(synced_source(&b), None);
    }
}
