//! A page's body as Notion-flavoured Markdown: `get_page_markdown` (read) and `update_page_markdown`
//! (replace everything, or exact find-and-replace edits), with the page's current Markdown attached
//! to a failed edit so it can be retried exactly.

use super::id_arg;
use crate::mcp::context::ToolCtx;
use crate::mcp::error::ToolError;
use crate::mcp::registry::{Effect, ToolDef};
use crate::notion::append::{self, ContentUpdate, MarkdownUpdate};
use crate::notion::async_tasks::{self, TaskState};
use crate::notion::{NotionError, NotionRequest, writes};
use schemars::JsonSchema;
use serde::Deserialize;

/// Most edits one call may apply (Notion's limit).
const MAX_EDITS: usize = 100;

/// Most characters of the page's Markdown shown after a failed edit.
const SHOWN_ON_ERROR: usize = 8_000;

pub fn tools() -> Vec<ToolDef> {
    vec![
        ToolDef::new(
            "get_page_markdown",
            "Get page Markdown",
            "A page's body as Notion Markdown, the exact text update_page_markdown edits must quote.",
            Effect::Read,
            get_page_markdown,
        ),
        ToolDef::new(
            "update_page_markdown",
            "Edit page Markdown",
            "Replace a page's body with Markdown `content`, or apply exact find/replace `edits` (≤100, all or none). \
             Child pages are kept unless allow_deleting_content.",
            Effect::Write {
                destructive: true,
                idempotent: false,
            },
            update_page_markdown,
        ),
    ]
}

#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct GetArgs {
    id: String,
}

async fn get_page_markdown(ctx: ToolCtx, a: GetArgs) -> Result<String, ToolError> {
    let id = id_arg("id", &a.id)?;
    let page = append::page_markdown(&ctx.notion, &ctx.auth, &id).await?;
    // Notes first, so they survive if the output is cut.
    let mut out = String::new();
    if page.truncated {
        out.push_str("[Truncated by Notion at its block limit.]\n");
    }
    if !page.unknown_block_ids.is_empty() {
        out.push_str(&format!(
            "[Not rendered (read each with get_page_markdown or fetch): {}]\n",
            page.unknown_block_ids.join(", ")
        ));
    }
    if !out.is_empty() {
        out.push('\n');
    }
    out.push_str(&page.markdown);
    if out.trim().is_empty() {
        out = format!("Page {id} has no content.");
    }
    Ok(out)
}

#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct UpdateArgs {
    id: String,
    /// New body (Markdown).
    content: Option<String>,
    /// [[old, new], …]
    edits: Option<Vec<Vec<String>>>,
    /// Edits replace every match.
    all: Option<bool>,
    allow_deleting_content: Option<bool>,
}

async fn update_page_markdown(ctx: ToolCtx, a: UpdateArgs) -> Result<String, ToolError> {
    let id = id_arg("id", &a.id)?;
    let update = edit_body(
        a.content,
        a.edits,
        a.all.unwrap_or(false),
        a.allow_deleting_content.unwrap_or(false),
    )?;
    let what = match &update {
        MarkdownUpdate::Replace { .. } => "replaced".to_string(),
        MarkdownUpdate::Edits {
            content_updates, ..
        } => format!("edited ({} edit(s))", content_updates.len()),
    };
    if let MarkdownUpdate::Replace { new_str, .. } = &update
        && new_str.chars().count() >= async_tasks::ASYNC_FROM_CHARS
    {
        return replace_async(&ctx, &id, &update).await;
    }
    let chars = apply(&ctx, &id, update).await?;
    Ok(format!(
        "Page {id} content {what}; now {chars} characters of Markdown."
    ))
}

/// A large replacement, run by Notion as an async task when it chooses to: followed until it
/// finishes or the call's wait is spent (then the task id is handed back).
async fn replace_async(
    ctx: &ToolCtx,
    id: &str,
    update: &MarkdownUpdate,
) -> Result<String, ToolError> {
    let first =
        append::update_page_markdown_allow_async(&ctx.notion, &ctx.auth, id, update).await?;
    let result = match async_tasks::await_task(&ctx.notion, &ctx.auth, first, ctx.limits.async_wait)
        .await?
    {
        TaskState::Done(v) | TaskState::Succeeded { result: v, .. } => v,
        TaskState::Pending { id: task, status } => {
            ctx.notion.invalidate_pending_write(&NotionRequest::patch(
                "PATCH /v1/pages/{id}/markdown",
                format!("/v1/pages/{id}/markdown"),
            ));
            return Ok(format!(
                "Page {id} content replacement accepted. {}",
                async_tasks::pending_note(&task, &status)
            ));
        }
    };
    let page: append::PageMarkdown =
        crate::notion::client::decode("PATCH /v1/pages/{id}/markdown", result)?;
    Ok(format!(
        "Page {id} content replaced; now {} characters of Markdown.",
        page.markdown.chars().count()
    ))
}

/// Apply a body edit; returns the new body's length in characters. When Notion rejects find/replace
/// edits, an edit whose text is absent is named; either way the error carries the page's current
/// Markdown so the next attempt can quote it exactly.
async fn apply(ctx: &ToolCtx, id: &str, update: MarkdownUpdate) -> Result<usize, ToolError> {
    let finds: Vec<String> = match &update {
        MarkdownUpdate::Edits {
            content_updates, ..
        } => content_updates.iter().map(|u| u.old_str.clone()).collect(),
        MarkdownUpdate::Replace { .. } => Vec::new(),
    };
    match append::update_page_markdown(&ctx.notion, &ctx.auth, id, update).await {
        Ok(page) => Ok(page.markdown.chars().count()),
        Err(e) if !finds.is_empty() && e.status() == Some(400) => {
            let Ok(current) = append::page_markdown(&ctx.notion, &ctx.auth, id).await else {
                return Err(e.into());
            };
            let mut shown: String = current.markdown.chars().take(SHOWN_ON_ERROR).collect();
            if shown.len() < current.markdown.len() {
                shown.push_str("\n…");
            }
            // Page text in an error is Notion content too: delimited like any result's.
            let note = format!(
                "The page's Markdown, which `edits` must quote exactly:\n{}",
                crate::mcp::notion_data::wrap(&shown)
            );
            match finds
                .iter()
                .position(|f| !current.markdown.contains(f.as_str()))
            {
                Some(i) if !current.truncated => Err(ToolError::invalid(
                    format!("edits[{i}][0]"),
                    format!(
                        "\"{}\" is not in the page; no edit was applied.\n\n{note}",
                        finds[i]
                    ),
                )),
                _ => Err(with_note(e, &note)),
            }
        }
        Err(e) => Err(e.into()),
    }
}

fn with_note(e: NotionError, note: &str) -> ToolError {
    ToolError::Notion(writes::with_note(e, note))
}

/// The body edit for new content or find/replace edits.
fn edit_body(
    content: Option<String>,
    edits: Option<Vec<Vec<String>>>,
    all: bool,
    allow_deleting: bool,
) -> Result<MarkdownUpdate, ToolError> {
    match (content, edits) {
        (Some(_), Some(_)) => Err(ToolError::invalid(
            "edits",
            "give `content` (new body) or `edits`, not both",
        )),
        (None, None) => Err(ToolError::invalid(
            "content",
            "nothing to change: give `content` (new body) or `edits`",
        )),
        (Some(md), None) => Ok(MarkdownUpdate::Replace {
            new_str: md,
            allow_deleting_content: allow_deleting,
        }),
        (None, Some(edits)) => {
            if edits.is_empty() || edits.len() > MAX_EDITS {
                return Err(ToolError::invalid(
                    "edits",
                    format!("give 1 to {MAX_EDITS} edits, got {}", edits.len()),
                ));
            }
            let mut updates = Vec::with_capacity(edits.len());
            for (i, pair) in edits.into_iter().enumerate() {
                let [old_str, new_str]: [String; 2] = pair.try_into().map_err(|_| {
                    ToolError::invalid(format!("edits[{i}]"), "expected [old text, new text]")
                })?;
                if old_str.is_empty() {
                    return Err(ToolError::invalid(
                        format!("edits[{i}][0]"),
                        "the text to find must not be empty",
                    ));
                }
                updates.push(ContentUpdate {
                    old_str,
                    new_str,
                    replace_all_matches: all,
                });
            }
            Ok(MarkdownUpdate::Edits {
                content_updates: updates,
                allow_deleting_content: allow_deleting,
            })
        }
    }
}
