//! `list_comments`: the open discussions on a page or block.

use super::{Format, id_arg, json_out, limit_arg, more};
use crate::mcp::context::ToolCtx;
use crate::mcp::error::ToolError;
use crate::mcp::output::ToolOutput;
use crate::mcp::registry::{Effect, ToolDef};
use crate::notion::{endpoints, pagination};
use notion_markdown as markdown;
use notion_model::types::RichText;
use schemars::JsonSchema;
use serde::Deserialize;
use serde_json::{Value, json};

pub fn tools() -> Vec<ToolDef> {
    vec![ToolDef::new(
        "list_comments",
        "List comments",
        "Unresolved comments on a page or block, grouped by discussion, with authors and times.",
        Effect::Read,
        list_comments,
    )]
}

#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct CommentArgs {
    /// Page or block id/URL.
    id: String,
    /// Max comments (default 100, max 1000).
    limit: Option<u32>,
    cursor: Option<String>,
    format: Option<Format>,
}

async fn list_comments(ctx: ToolCtx, a: CommentArgs) -> Result<ToolOutput, ToolError> {
    let id = id_arg("id", &a.id)?;
    let limit = limit_arg(a.limit, 100, 1000)?;
    let got = pagination::collect(limit, a.cursor, |cursor, page_size| {
        let ctx = ctx.clone();
        let id = id.clone();
        async move {
            endpoints::list_comments(
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
    if a.format == Some(Format::Json) {
        return Ok(json_out(&json!({"results": got.items, "next_cursor": got.next_cursor})).into());
    }
    if got.items.is_empty() {
        return Ok(format!("No open comments on {id}.").into());
    }
    // Group by discussion, keeping first-seen order.
    let mut groups: Vec<(String, Vec<&Value>)> = Vec::new();
    for c in &got.items {
        let d = c
            .get("discussion_id")
            .and_then(Value::as_str)
            .unwrap_or("")
            .to_string();
        match groups.iter_mut().find(|(k, _)| *k == d) {
            Some((_, v)) => v.push(c),
            None => groups.push((d, vec![c])),
        }
    }
    let mut out = String::new();
    for (discussion, comments) in groups {
        out.push_str(&format!("Discussion {discussion}:\n"));
        for c in comments {
            let text: Vec<RichText> = c
                .get("rich_text")
                .and_then(|r| serde_json::from_value(r.clone()).ok())
                .unwrap_or_default();
            let author = c
                .pointer("/created_by/name")
                .and_then(Value::as_str)
                .or_else(|| c.pointer("/created_by/id").and_then(Value::as_str))
                .unwrap_or("unknown");
            let when = c.get("created_time").and_then(Value::as_str).unwrap_or("");
            let cid = c.get("id").and_then(Value::as_str).unwrap_or("");
            out.push_str(&format!(
                "- {author} ({when}, {cid}): {}\n",
                markdown::rich_text(&text)
            ));
        }
        out.push('\n');
    }
    Ok(ToolOutput::data(out.trim_end())
        .with_note(more("list_comments", got.next_cursor.as_deref())))
}
