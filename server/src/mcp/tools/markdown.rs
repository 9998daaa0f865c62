//! Body edits through Notion's page-Markdown endpoint, for `update_page`: the request (replace
//! everything, or exact find-and-replace) and its application, with the page's current Markdown
//! attached to a failed edit so it can be retried exactly.

use crate::mcp::context::ToolCtx;
use crate::mcp::error::ToolError;
use crate::notion::append::{self, ContentUpdate, MarkdownUpdate};
use crate::notion::{NotionError, writes};

/// Most edits one call may apply (Notion's limit).
const MAX_EDITS: usize = 100;

/// Most characters of the page's Markdown shown after a failed edit.
const SHOWN_ON_ERROR: usize = 8_000;

/// Apply a body edit; returns the new body's length in characters. When Notion rejects find/replace
/// edits (text not found or not unique), the error carries the page's current Markdown so the next
/// attempt can quote it exactly.
pub(crate) async fn apply(
    ctx: &ToolCtx,
    id: &str,
    update: MarkdownUpdate,
) -> Result<usize, NotionError> {
    let edits = matches!(update, MarkdownUpdate::Edits { .. });
    match append::update_page_markdown(&ctx.notion, &ctx.auth, id, update).await {
        Ok(page) => Ok(page.markdown.chars().count()),
        Err(e) if edits && e.status() == Some(400) => {
            let Ok(current) = append::page_markdown(&ctx.notion, &ctx.auth, id).await else {
                return Err(e);
            };
            let mut shown: String = current.markdown.chars().take(SHOWN_ON_ERROR).collect();
            if shown.len() < current.markdown.len() {
                shown.push_str("\n…");
            }
            Err(writes::with_note(
                e,
                &format!("The page's Markdown, which `edits` must quote exactly:\n{shown}"),
            ))
        }
        Err(e) => Err(e),
    }
}

/// The body edit for new content or find/replace edits, if any.
pub(crate) fn edit_body(
    content: Option<String>,
    edits: Option<Vec<Vec<String>>>,
    all: bool,
    allow_deleting: bool,
) -> Result<Option<MarkdownUpdate>, ToolError> {
    match (content, edits) {
        (Some(_), Some(_)) => Err(ToolError::invalid(
            "edits",
            "give `content` (new body) or `edits`, not both",
        )),
        (None, None) => Ok(None),
        (Some(md), None) => Ok(Some(MarkdownUpdate::Replace {
            new_str: md,
            allow_deleting_content: allow_deleting,
        })),
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
            Ok(Some(MarkdownUpdate::Edits {
                content_updates: updates,
                allow_deleting_content: allow_deleting,
            }))
        }
    }
}
