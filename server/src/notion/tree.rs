//! Fetching a page's (or block's) content as a tree of blocks, bounded in size and depth.
//!
//! Blocks are budgeted in document order: each top-level block takes one unit, then its subtree takes
//! what it needs. Sibling subtrees are fetched concurrently (bounded) and every child list is fully
//! paginated. When the budget runs out, the result ends with the last top-level block whose subtree is
//! complete (or with the first block, partially, so a call always makes progress), and `next_cursor`
//! resumes right after it — if that is inside a Notion page, one extra request with
//! `page_size = <blocks kept>` obtains an exact cursor. Nodes whose children were not fetched (depth
//! bound, budget, or unreadable) get `children_omitted`.

use super::client::{NotionAuth, NotionClient};
use super::endpoints::list_block_children;
use super::error::NotionError;
use super::pagination::MAX_PAGE_SIZE;
use futures::future::BoxFuture;
use futures::{StreamExt, TryStreamExt, stream};
use notion_model::types::{Block, BlockNode, ListResponse};
use serde_json::Value;
use std::collections::HashMap;
use std::sync::atomic::{AtomicUsize, Ordering};
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
    /// Set when the block budget stopped the fetch before the end: pass it as `start_cursor` to
    /// continue right after the last top-level block in `nodes`.
    pub next_cursor: Option<String>,
    /// The block budget ran out (some content is missing). Depth cuts alone do not set it; they show
    /// as `children_omitted` on the nodes.
    pub truncated: bool,
    /// Blocks included, over all levels.
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
    let ctx = Ctx::new(c, auth, limits);
    let mut tree = BlockTree::default();
    let mut cursor = start_cursor;
    loop {
        let left = ctx.budget.load(Ordering::SeqCst);
        if left == 0 {
            tree.truncated = true;
            tree.next_cursor = cursor;
            break;
        }
        let page = ctx
            .list(
                root_id,
                cursor.as_deref(),
                left.min(MAX_PAGE_SIZE as usize),
                false,
            )
            .await?;
        let ListResponse {
            results,
            next_cursor,
            has_more,
            ..
        } = page;
        let in_page = results.len();
        let mut kept = 0;
        let mut cut = false;
        {
            // In document order; dropping the stream at a cut cancels the subtrees still in flight.
            let mut nodes = stream::iter(results.into_iter().map(|b| ctx.top_node(b)))
                .buffered(ctx.concurrency);
            while let Some(next) = nodes.next().await {
                let Some((node, complete)) = next? else {
                    cut = true; // no budget left even for the block itself
                    break;
                };
                if !complete && !tree.nodes.is_empty() {
                    cut = true; // leave it for the next call, which can fetch it whole
                    break;
                }
                tree.nodes.push(node);
                kept += 1;
                if !complete {
                    cut = true; // the first block alone exceeds the budget: keep it partially
                    break;
                }
            }
        }
        let next = next_cursor.filter(|n| has_more && !n.is_empty());
        if cut {
            tree.truncated = true;
            tree.next_cursor = if kept == 0 {
                cursor
            } else if kept == in_page {
                next
            } else {
                // Notion cursors mark page ends: ask for a page ending after the last kept block.
                ctx.list(root_id, cursor.as_deref(), kept, false)
                    .await?
                    .next_cursor
            };
            break;
        }
        match next {
            Some(n) if cursor.as_deref() != Some(n.as_str()) => cursor = Some(n),
            _ => break,
        }
    }
    tree.fetched = tree.nodes.iter().map(count).sum();
    Ok(tree)
}

/// A meeting note (or any block) with its content as [`fetch_block_tree`] reads it inside a page:
/// a note's summary, notes and transcript under headings.
pub async fn fetch_block_node(
    c: &NotionClient,
    auth: &NotionAuth,
    block: Block,
    limits: TreeLimits,
) -> Result<BlockNode, NotionError> {
    let ctx = Ctx::new(c, auth, limits);
    ctx.claim(1);
    ctx.node(block, 1).await.map(|(node, _)| node)
}

fn count(node: &BlockNode) -> usize {
    usize::from(node.block.is_some()) + node.children.iter().map(count).sum::<usize>()
}

struct Ctx<'a> {
    c: &'a NotionClient,
    auth: &'a NotionAuth,
    /// Blocks that may still be included.
    budget: AtomicUsize,
    requests: Semaphore,
    max_depth: usize,
    concurrency: usize,
    /// Pages of synced blocks' children already read in this fetch: a synced original shown twice is
    /// read once.
    pages: std::sync::Mutex<HashMap<PageKey, ListResponse<Block>>>,
}

/// A page of children: parent id, cursor and page size.
type PageKey = (String, Option<String>, u32);

/// A node and whether its subtree is complete (nothing left out for lack of budget).
type Fetched = (BlockNode, bool);

impl<'a> Ctx<'a> {
    fn new(c: &'a NotionClient, auth: &'a NotionAuth, limits: TreeLimits) -> Self {
        let concurrency = limits.concurrency.max(1);
        Ctx {
            c,
            auth,
            budget: AtomicUsize::new(limits.max_blocks.max(1)),
            requests: Semaphore::new(concurrency),
            max_depth: limits.max_depth.max(1),
            concurrency,
            pages: std::sync::Mutex::new(HashMap::new()),
        }
    }

    /// Take up to `want` blocks from the budget; returns how many were granted.
    fn claim(&self, want: usize) -> usize {
        let mut granted = 0;
        let _ = self
            .budget
            .fetch_update(Ordering::SeqCst, Ordering::SeqCst, |left| {
                granted = want.min(left);
                Some(left - granted)
            });
        granted
    }

    /// One page of `id`'s children. With `memo` (the children of a synced block, which a page may
    /// show more than once) the page is kept for the rest of this fetch; other lists are read once
    /// and not copied.
    async fn list(
        &self,
        id: &str,
        cursor: Option<&str>,
        size: usize,
        memo: bool,
    ) -> Result<ListResponse<Block>, NotionError> {
        let _permit = self
            .requests
            .acquire()
            .await
            .map_err(|_| NotionError::Config {
                message: "tree fetch request limiter closed".into(),
            })?;
        let size = u32::try_from(size.max(1)).unwrap_or(MAX_PAGE_SIZE);
        if !memo {
            return list_block_children(self.c, self.auth, id, cursor, Some(size)).await;
        }
        let key = (id.to_owned(), cursor.map(str::to_owned), size);
        let read = self
            .pages
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .get(&key)
            .cloned();
        if let Some(page) = read {
            return Ok(page);
        }
        let page = list_block_children(self.c, self.auth, id, cursor, Some(size)).await?;
        self.pages
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .insert(key, page.clone());
        Ok(page)
    }

    /// A top-level block: takes one unit of budget, then fetches its subtree. `None` without budget.
    async fn top_node(&self, block: Block) -> Result<Option<Fetched>, NotionError> {
        if self.claim(1) == 0 {
            return Ok(None);
        }
        self.node(block, 1).await.map(Some)
    }

    /// One (already budgeted) block with its subtree; depth 1 is the top level.
    fn node(&self, block: Block, depth: usize) -> BoxFuture<'_, Result<Fetched, NotionError>> {
        Box::pin(async move {
            let leaf = |block, omitted| {
                let node = BlockNode {
                    block: Some(block),
                    children: Vec::new(),
                    children_omitted: omitted,
                };
                Ok((node, true))
            };
            // A meeting note's summary, notes and transcript live under its tab blocks.
            if matches!(block.kind.as_str(), "meeting_notes" | "transcription") {
                if depth >= self.max_depth {
                    return leaf(block, true);
                }
                let (children, complete) = self.meeting_tabs(&block, depth).await?;
                let node = BlockNode {
                    block: Some(block),
                    children,
                    children_omitted: !complete,
                };
                return Ok((node, complete));
            }
            // Child pages and databases are links to other documents, not content of this one.
            if !block.has_children || matches!(block.kind.as_str(), "child_page" | "child_database")
            {
                return leaf(block, false);
            }
            if depth >= self.max_depth {
                return leaf(block, true);
            }
            // A synced-block reference holds no children of its own: read the original's.
            let source = synced_source(&block).unwrap_or_else(|| block.id.clone());
            let synced = block.kind == "synced_block";
            let (children, fetched_all, complete) =
                self.children(&source, depth + 1, synced).await?;
            let node = BlockNode {
                block: Some(block),
                children,
                children_omitted: !fetched_all,
            };
            Ok((node, complete))
        })
    }

    /// The tabs of a meeting note (summary, notes, transcript), each as a heading followed by the
    /// tab's content; whether all of it was fetched.
    async fn meeting_tabs(
        &self,
        block: &Block,
        depth: usize,
    ) -> Result<(Vec<BlockNode>, bool), NotionError> {
        let mut out = Vec::new();
        let mut complete = true;
        for (label, key) in [
            ("Summary", "summary_block_id"),
            ("Notes", "notes_block_id"),
            ("Transcript", "transcript_block_id"),
        ] {
            let Some(tab) = block
                .data()
                .and_then(|d| d.get("children"))
                .and_then(|c| c.get(key))
                .and_then(Value::as_str)
                .filter(|s| !s.is_empty())
            else {
                continue;
            };
            let (children, fetched_all, tab_complete) =
                self.children(tab, depth + 1, false).await?;
            complete &= fetched_all && tab_complete;
            let heading: Block = serde_json::from_value(serde_json::json!({
                "id": tab, "type": "heading_3", "has_children": false,
                "heading_3": {"rich_text": [{"type": "text", "text": {"content": label}, "plain_text": label}]}
            }))
            .map_err(|e| NotionError::Decode {
                endpoint: "GET /v1/blocks/{id}/children",
                message: e.to_string(),
            })?;
            out.push(BlockNode {
                block: Some(heading),
                children: Vec::new(),
                children_omitted: false,
            });
            out.extend(children);
        }
        Ok((out, complete))
    }

    /// All children of `id` (each at `depth`), paginated. Returns the nodes, whether every child
    /// was fetched, and whether the subtree is complete as far as the budget is concerned.
    async fn children(
        &self,
        id: &str,
        depth: usize,
        memo: bool,
    ) -> Result<(Vec<BlockNode>, bool, bool), NotionError> {
        let mut out = Vec::new();
        let mut complete = true;
        let mut cursor: Option<String> = None;
        loop {
            // Ask for what the budget allows now; claim what arrived (siblings may have used some).
            let size = self
                .budget
                .load(Ordering::SeqCst)
                .min(MAX_PAGE_SIZE as usize);
            if size == 0 {
                return Ok((out, false, false));
            }
            let page = match self.list(id, cursor.as_deref(), size, memo).await {
                Ok(p) => p,
                // An unshared synced original or a block we may not read: keep the rest of the tree.
                Err(e) if matches!(e.code(), "object_not_found" | "restricted_resource") => {
                    tracing::debug!(code = e.code(), "block children not readable; omitted");
                    return Ok((out, false, complete));
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
            let nodes: Vec<Fetched> =
                stream::iter(results.into_iter().map(|b| self.node(b, depth)))
                    .buffered(self.concurrency)
                    .try_collect()
                    .await?;
            for (node, node_complete) in nodes {
                complete &= node_complete;
                out.push(node);
            }
            if granted < wanted {
                return Ok((out, false, false));
            }
            match next_cursor.filter(|n| has_more && !n.is_empty()) {
                Some(n) if cursor.as_deref() != Some(n.as_str()) => cursor = Some(n),
                Some(_) => return Ok((out, false, complete)),
                None => return Ok((out, true, complete)),
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
        let p: Block = serde_json::from_value(json!({"id":"p","type":"paragraph"})).unwrap();
        assert_eq!(synced_source(&p), None);
    }

    #[test]
    fn counts_nodes() {
        let leaf = || BlockNode {
            block: serde_json::from_value(json!({"id":"x","type":"paragraph"})).ok(),
            ..Default::default()
        };
        let n = BlockNode {
            children: vec![leaf(), leaf()],
            ..leaf()
        };
        assert_eq!(count(&n), 3);
    }
}
