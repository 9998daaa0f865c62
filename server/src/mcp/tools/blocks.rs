//! `get_block_children`: the blocks under a page or block, with their ids.

use super::{Format, id_arg, json_out, limit_arg, more};
use crate::mcp::context::ToolCtx;
use crate::mcp::error::ToolError;
use crate::mcp::output::ToolOutput;
use crate::mcp::registry::{Effect, ToolDef};
use crate::notion::tree::{self, TreeLimits};
use crate::notion::{endpoints, pagination};
use notion_markdown::{self as markdown, RenderOptions};
use notion_model::types::BlockNode;
use schemars::JsonSchema;
use serde::Deserialize;
use serde_json::json;

pub fn tools() -> Vec<ToolDef> {
    vec![ToolDef::new(
        "get_block_children",
        "List child blocks",
        "The blocks inside a page or block, tagged with their ids (for edits and comments).",
        Effect::Read,
        get_block_children,
    )]
}

#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ChildrenArgs {
    /// Page or block id/URL.
    id: String,
    /// Also nested blocks.
    recursive: Option<bool>,
    /// Max top-level blocks (default 100, max 1000).
    limit: Option<u32>,
    cursor: Option<String>,
    format: Option<Format>,
}

async fn get_block_children(ctx: ToolCtx, a: ChildrenArgs) -> Result<ToolOutput, ToolError> {
    let id = id_arg("id", &a.id)?;
    let limit = limit_arg(a.limit, 100, 1000)?;
    let (nodes, next) = if a.recursive.unwrap_or(false) {
        let limits = TreeLimits {
            max_blocks: ctx.limits.max_blocks.max(limit),
            max_depth: ctx.limits.max_depth,
            concurrency: ctx.limits.concurrency,
        };
        let t = tree::fetch_block_tree(&ctx.notion, &ctx.auth, &id, limits, a.cursor).await?;
        (t.nodes, t.next_cursor)
    } else {
        let got = pagination::collect(limit, a.cursor, |cursor, page_size| {
            let ctx = ctx.clone();
            let id = id.clone();
            async move {
                endpoints::list_block_children(
                    &ctx.notion,
                    &ctx.auth,
                    &id,
                    cursor.as_deref(),
                    Some(page_size),
                )
                .await
            }
        })
        .await?;
        let nodes = got
            .items
            .into_iter()
            .map(|b| BlockNode {
                children_omitted: b.has_children,
                block: Some(b),
                children: Vec::new(),
            })
            .collect();
        (nodes, got.next_cursor)
    };
    if a.format == Some(Format::Json) {
        let blocks: Vec<_> = nodes
            .iter()
            .map(|n| serde_json::to_value(&n.block).unwrap_or_default())
            .collect();
        return Ok(json_out(&json!({"results": blocks, "next_cursor": next})).into());
    }
    if nodes.is_empty() {
        return Ok(format!("{id} has no child blocks.").into());
    }
    let opts = RenderOptions {
        include_block_ids: true,
        max_chars: ctx.limits.max_output_chars,
    };
    let rendered = markdown::blocks(&nodes, &opts);
    Ok(ToolOutput::data(rendered.markdown).with_note(more("get_block_children", next.as_deref())))
}
