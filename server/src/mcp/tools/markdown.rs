//! Body edits through Notion's page-Markdown endpoint, for `update_page`: the request (replace
//! everything, or exact find-and-replace) and its application, with the page's current Markdown
//! attached to a failed edit so it can be retried exactly.

use crate::mcp::context::ToolCtx;
use crate::mcp::error::ToolError;
use crate::notion::{NotionError, content_in, writes};
use serde_json::{Value, json};

/// Most edits one call may apply (Notion's limit).
const MAX_EDITS: usize = 100;

/// Most characters of the page's Markdown shown after a failed edit.
const SHOWN_ON_ERROR: usize = 8_000;

/// Apply a body edit. When Notion rejects find/replace edits (text not found or not unique), the error
/// carries the page's current Markdown so the next attempt can quote it exactly.
pub(crate) async fn apply(ctx: &ToolCtx, id: &str, body: Value) -> Result<usize, NotionError> {
    let edits = body.get("type") == Some(&json!("update_content"));
    match content_in::update_page_markdown(&ctx.notion, &ctx.auth, id, body).await {
        Ok(v) => Ok(v
            .get("markdown")
            .and_then(Value::as_str)
            .map_or(0, |m| m.chars().count())),
        Err(e) if edits && e.status() == Some(400) => {
            let Ok(current) = content_in::page_markdown(&ctx.notion, &ctx.auth, id).await else {
                return Err(e);
            };
            let md = current
                .get("markdown")
                .and_then(Value::as_str)
                .unwrap_or("");
            let mut shown: String = md.chars().take(SHOWN_ON_ERROR).collect();
            if shown.len() < md.len() {
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

/// The `PATCH /v1/pages/{id}/markdown` body for new content or find/replace edits, if any.
pub(crate) fn edit_body(
    content: Option<String>,
    edits: Option<Vec<Vec<String>>>,
    all: bool,
    allow_deleting: bool,
) -> Result<Option<Value>, ToolError> {
    match (content, edits) {
        (Some(_), Some(_)) => Err(ToolError::invalid(
            "edits",
            "give `content` (new body) or `edits`, not both",
        )),
        (None, None) => Ok(None),
        (Some(md), None) => Ok(Some(json!({
            "type": "replace_content",
            "replace_content": {"new_str": md, "allow_deleting_content": allow_deleting},
        }))),
        (None, Some(edits)) => {
            if edits.is_empty() || edits.len() > MAX_EDITS {
                return Err(ToolError::invalid(
                    "edits",
                    format!("give 1 to {MAX_EDITS} edits, got {}", edits.len()),
                ));
            }
            let mut updates = Vec::with_capacity(edits.len());
            for (i, pair) in edits.into_iter().enumerate() {
                let [old, new]: [String; 2] = pair.try_into().map_err(|_| {
                    ToolError::invalid(format!("edits[{i}]"), "expected [old text, new text]")
                })?;
                if old.is_empty() {
                    return Err(ToolError::invalid(
                        format!("edits[{i}][0]"),
                        "the text to find must not be empty",
                    ));
                }
                let mut u = json!({"old_str": old, "new_str": new});
                if all {
                    u["replace_all_matches"] = json!(true);
                }
                updates.push(u);
            }
            Ok(Some(json!({
                "type": "update_content",
                "update_content": {"content_updates": updates, "allow_deleting_content": allow_deleting},
            })))
        }
    }
}
