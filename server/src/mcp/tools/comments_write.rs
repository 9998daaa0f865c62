//! `create_comment`: start a discussion on a page or block, or reply in one, with Markdown text.

use super::id_arg;
use crate::mcp::context::ToolCtx;
use crate::mcp::error::ToolError;
use crate::mcp::registry::{Effect, ToolDef};
use crate::notion::writes;
use notion_model::ids;
use schemars::JsonSchema;
use serde::Deserialize;
use serde_json::{Value, json};

pub fn tools() -> Vec<ToolDef> {
    vec![ToolDef::new(
        "create_comment",
        "Add comment",
        "Comment on a page/block (`on`) or reply in a `discussion`. Markdown text.",
        Effect::Write {
            destructive: false,
            idempotent: false,
        },
        create_comment,
    )]
}

#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct CommentArgs {
    /// Page or block id/URL.
    on: Option<String>,
    discussion: Option<String>,
    text: String,
}

async fn create_comment(ctx: ToolCtx, a: CommentArgs) -> Result<String, ToolError> {
    if a.text.trim().is_empty() {
        return Err(ToolError::invalid("text", "must not be empty"));
    }
    let text = json!(a.text);
    let comment = match (a.on.as_deref(), a.discussion.as_deref()) {
        (Some(_), Some(_)) | (None, None) => {
            return Err(ToolError::invalid(
                "on",
                "give exactly one of `on` (page or block) or `discussion`",
            ));
        }
        (None, Some(d)) => {
            let body = json!({"discussion_id": id_arg("discussion", d)?, "markdown": text});
            writes::create_comment(&ctx.notion, &ctx.auth, body).await?
        }
        (Some(on), None) => {
            let r = ids::parse_ref(on).map_err(|e| ToolError::invalid("on", e.to_string()))?;
            match r.block_id {
                Some(b) => {
                    let body = json!({"parent": {"block_id": b}, "markdown": text});
                    writes::create_comment(&ctx.notion, &ctx.auth, body).await?
                }
                None => {
                    let body = json!({"parent": {"page_id": r.id}, "markdown": text});
                    match writes::create_comment(&ctx.notion, &ctx.auth, body).await {
                        // Not a page: nothing was written, so asking again as a block is safe.
                        Err(e) if e.status() == Some(404) => {
                            let body = json!({"parent": {"block_id": r.id}, "markdown": text});
                            writes::create_comment(&ctx.notion, &ctx.auth, body).await?
                        }
                        other => other?,
                    }
                }
            }
        }
    };
    let s = |k: &str| comment.get(k).and_then(Value::as_str).unwrap_or("");
    Ok(format!(
        "Added comment {} in discussion {}.",
        s("id"),
        s("discussion_id")
    ))
}
