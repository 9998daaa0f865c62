//! Block writes: `append_blocks` (Markdown or blocks, any length, at start/end/after a block),
//! `update_block` (text, checked, color or any type field) and `delete_block` (to the trash).

use super::id_arg;
use super::pages_write::{arg_error, body_blocks};
use crate::mcp::context::ToolCtx;
use crate::mcp::error::ToolError;
use crate::mcp::registry::{Effect, ToolDef};
use crate::notion::append::{self, AppendPosition};
use crate::notion::content_in;
use crate::notion::{endpoints, writes};
use notion_model::block_kinds;
use schemars::JsonSchema;
use serde::Deserialize;
use serde_json::{Map, Value, json};

pub fn tools() -> Vec<ToolDef> {
    vec![
        ToolDef::new(
            "append_blocks",
            "Append content",
            "Add Markdown `content` or Notion `blocks` to a page/block at the end, start, or after a block id. Any \
             length.",
            Effect::Write {
                destructive: false,
                idempotent: false,
            },
            append_blocks,
        ),
        ToolDef::new(
            "update_block",
            "Edit block",
            "Change a block's text (Markdown), checked, color or `set` type fields ({\"language\":\"go\"}).",
            Effect::Write {
                destructive: true,
                idempotent: true,
            },
            update_block,
        ),
        ToolDef::new(
            "delete_block",
            "Delete block",
            "Delete a block: moves it (and its children) to the trash.",
            Effect::Write {
                destructive: true,
                idempotent: true,
            },
            delete_block,
        ),
    ]
}

#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct AppendArgs {
    /// Page or block id/URL.
    id: String,
    /// Markdown.
    content: Option<String>,
    #[schemars(with = "Option<Vec<Map<String, Value>>>")]
    blocks: Option<Vec<Value>>,
    /// end (default), start or a block id.
    position: Option<String>,
}

async fn append_blocks(ctx: ToolCtx, a: AppendArgs) -> Result<String, ToolError> {
    let id = id_arg("id", &a.id)?;
    let position = match a.position.as_deref().map(str::trim) {
        None | Some("end") => AppendPosition::End,
        Some("start") => AppendPosition::Start,
        Some(other) => AppendPosition::AfterBlock(id_arg("position", other)?),
    };
    let blocks = body_blocks(a.content.as_deref(), a.blocks)?;
    if blocks.is_empty() {
        return Err(ToolError::invalid(
            "content",
            "nothing to add: give `content` (Markdown) or `blocks`",
        ));
    }
    let done = append::append_blocks(&ctx.notion, &ctx.auth, &id, blocks, position)
        .await
        .map_err(arg_error)?;
    Ok(format!(
        "Added {} block(s) to {id} in {} request(s). New block ids: {}",
        done.first_level_ids.len(),
        done.requests,
        done.first_level_ids.join(", ")
    ))
}

#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct UpdateArgs {
    id: String,
    text: Option<String>,
    checked: Option<bool>,
    /// e.g. red, blue_background.
    color: Option<String>,
    set: Option<Map<String, Value>>,
}

#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct DeleteArgs {
    id: String,
}

/// A block id from an id or a URL (a URL's `#block` anchor wins).
fn block_id(raw: &str) -> Result<String, ToolError> {
    let r =
        notion_model::ids::parse_ref(raw).map_err(|e| ToolError::invalid("id", e.to_string()))?;
    Ok(r.block_id.unwrap_or(r.id))
}

async fn update_block(ctx: ToolCtx, a: UpdateArgs) -> Result<String, ToolError> {
    let id = block_id(&a.id)?;
    if a.text.is_none() && a.checked.is_none() && a.color.is_none() && a.set.is_none() {
        return Err(ToolError::invalid(
            "arguments",
            "nothing to change: give text, checked, color or set (delete_block removes a block)",
        ));
    }
    let block = endpoints::retrieve_block(&ctx.notion, &ctx.auth, &id).await?;
    let kind = block.kind.clone();
    let mut data = a.set.unwrap_or_default();
    if let Some(md) = &a.text {
        if !block_kinds::TEXT_TYPES.contains(&kind.as_str()) {
            return Err(ToolError::invalid(
                "text",
                format!("block {id} is a {kind} block, which has no text; use `set`"),
            ));
        }
        let rich = if kind == "code" {
            notion_model::readable::plain_rich_text(md)
        } else {
            content_in::inline_rich_text("text", md).map_err(arg_error)?
        };
        data.insert("rich_text".into(), Value::Array(rich));
    }
    if let Some(c) = a.checked {
        if kind != "to_do" {
            return Err(ToolError::invalid(
                "checked",
                format!("block {id} is a {kind} block, not a to_do"),
            ));
        }
        data.insert("checked".into(), json!(c));
    }
    if let Some(c) = a.color {
        data.insert("color".into(), json!(c.trim()));
    }
    let updated =
        writes::update_block(&ctx.notion, &ctx.auth, &id, json!({ kind.clone(): data })).await?;
    let text: String = updated
        .pointer(&format!("/{kind}/rich_text"))
        .and_then(Value::as_array)
        .map(|items| {
            items
                .iter()
                .filter_map(|t| t.get("plain_text").and_then(Value::as_str))
                .collect()
        })
        .unwrap_or_default();
    let mut out = format!("Updated {kind} block {id}");
    if !text.is_empty() {
        let short: String = text.chars().take(80).collect();
        out.push_str(&format!(": \"{short}\""));
    }
    Ok(out)
}

async fn delete_block(ctx: ToolCtx, a: DeleteArgs) -> Result<String, ToolError> {
    let id = block_id(&a.id)?;
    let b = writes::delete_block(&ctx.notion, &ctx.auth, &id).await?;
    let kind = b.get("type").and_then(Value::as_str).unwrap_or("block");
    Ok(format!("Deleted {kind} block {id} (moved to the trash)."))
}
