//! Which tool calls the user is asked to confirm, and the words that name what they will do: moving
//! a page to the trash, deleting a block, replacing a page's whole content. Restoring a page and
//! find-and-replace edits are not asked about.

use crate::mcp::context::ToolCtx;
use crate::mcp::registry::Question;
use crate::mcp::tools::id_arg;
use crate::notion::{append, endpoints, writes};
use rmcp::model::JsonObject;
use serde_json::Value;
use std::time::Duration;

/// Longest a lookup for the message (a title, a length) may take; past it the message goes without.
const LOOKUP_WAIT: Duration = Duration::from_secs(10);

/// Most characters of a title or block text quoted in a message.
const QUOTED_CHARS: usize = 80;

/// A destructive call, as the user is asked about it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Action {
    /// `trash_page` without `restore`.
    TrashPage { id: String },
    /// `delete_block`.
    DeleteBlock { id: String },
    /// `update_page_markdown` with `content`: the whole body replaced.
    ReplaceContent {
        id: String,
        new_chars: usize,
        deleting_allowed: bool,
    },
    /// A call of a tool that names its own question ([`ToolDef::asks`](crate::mcp::registry::ToolDef)).
    Asked(Question),
}

/// Whether a loosely typed flag is set (the arguments are decoded leniently: `"true"` counts).
fn flag(args: &JsonObject, name: &str) -> bool {
    match args.get(name) {
        Some(Value::Bool(b)) => *b,
        Some(Value::String(s)) => s.trim().eq_ignore_ascii_case("true"),
        _ => false,
    }
}

fn present(args: &JsonObject, name: &str) -> bool {
    args.get(name).is_some_and(|v| !v.is_null())
}

impl Action {
    /// The action a call would take, when it is one to confirm. A call whose id does not parse is
    /// none: the tool reports the bad argument without changing anything.
    pub fn of(tool: &str, args: Option<&JsonObject>) -> Option<Action> {
        let args = args?;
        let raw_id = args.get("id")?.as_str()?;
        match tool {
            "trash_page" if !flag(args, "restore") => Some(Action::TrashPage {
                id: id_arg("id", raw_id).ok()?,
            }),
            "delete_block" => {
                let r = notion_model::ids::parse_ref(raw_id).ok()?;
                Some(Action::DeleteBlock {
                    id: r.block_id.unwrap_or(r.id),
                })
            }
            "update_page_markdown" if !present(args, "edits") => {
                let content = args.get("content")?.as_str()?;
                Some(Action::ReplaceContent {
                    id: id_arg("id", raw_id).ok()?,
                    new_chars: content.chars().count(),
                    deleting_allowed: flag(args, "allow_deleting_content"),
                })
            }
            _ => None,
        }
    }

    /// The question put to the user, naming what will happen (with the page's title and sizes
    /// when Notion tells them quickly).
    pub async fn question(&self, ctx: &ToolCtx) -> String {
        match self {
            Action::Asked(q) => q.text.clone(),
            Action::TrashPage { id } => {
                let title = page_title(ctx, id).await;
                format!(
                    "Move the page {} to the trash? It can be restored from the trash afterwards.",
                    named(title.as_deref(), id)
                )
            }
            Action::DeleteBlock { id } => {
                let what = match lookup(endpoints::retrieve_block(&ctx.notion, &ctx.auth, id)).await
                {
                    Some(b) => {
                        let text = block_text(&b);
                        let kind = b.kind.replace('_', " ");
                        if text.is_empty() {
                            format!("the {kind} block ({id})")
                        } else {
                            format!("the {kind} block “{}” ({id})", quoted(&text))
                        }
                    }
                    None => format!("the block {id}"),
                };
                format!("Delete {what} and everything nested in it? It moves to the trash.")
            }
            Action::ReplaceContent {
                id,
                new_chars,
                deleting_allowed,
            } => {
                let (title, current) = tokio::join!(
                    page_title(ctx, id),
                    lookup(append::page_markdown(&ctx.notion, &ctx.auth, id))
                );
                let now = match current {
                    Some(page) => format!(
                        "its current {} characters of Markdown",
                        page.markdown.chars().count()
                    ),
                    None => "its current content".to_string(),
                };
                let children = if *deleting_allowed {
                    "Child pages and databases in it may be deleted."
                } else {
                    "Child pages and databases in it are kept."
                };
                format!(
                    "Replace the whole content of the page {}? All of {now} will be replaced by \
                     {new_chars} characters of new Markdown. {children}",
                    named(title.as_deref(), id)
                )
            }
        }
    }

    /// What was not done, for the result of a call the user did not confirm.
    pub fn not_done(&self) -> String {
        match self {
            Action::Asked(q) => q.not_done.clone(),
            Action::TrashPage { id } => format!("page {id} was not moved to the trash"),
            Action::DeleteBlock { id } => format!("block {id} was not deleted"),
            Action::ReplaceContent { id, .. } => {
                format!("the content of page {id} was not replaced")
            }
        }
    }
}

/// A Notion read for a message, or nothing when it fails or is slow.
async fn lookup<T, E>(read: impl std::future::Future<Output = Result<T, E>>) -> Option<T> {
    tokio::time::timeout(LOOKUP_WAIT, read).await.ok()?.ok()
}

async fn page_title(ctx: &ToolCtx, id: &str) -> Option<String> {
    let page = lookup(endpoints::retrieve_page_raw(
        &ctx.notion,
        &ctx.auth,
        id,
        &[],
    ))
    .await?;
    let title = writes::plain_title(&page);
    (!title.trim().is_empty()).then_some(title)
}

/// “Title” (id), or the id alone.
fn named(title: Option<&str>, id: &str) -> String {
    match title {
        Some(t) => format!("“{}” ({id})", quoted(t)),
        None => id.to_string(),
    }
}

/// Workspace text fit for one line of a question: whitespace folded, cut with an ellipsis.
fn quoted(text: &str) -> String {
    let folded = text.split_whitespace().collect::<Vec<_>>().join(" ");
    if folded.chars().count() > QUOTED_CHARS {
        let mut cut: String = folded.chars().take(QUOTED_CHARS).collect();
        cut.push('…');
        cut
    } else {
        folded
    }
}

/// A block's own text: its rich text, or the title of a child page or database.
fn block_text(b: &notion_model::types::Block) -> String {
    let text: String = b
        .rich_text()
        .iter()
        .map(|t| t.plain_text.as_str())
        .collect();
    if text.trim().is_empty() {
        b.data()
            .and_then(|d| d.get("title"))
            .and_then(Value::as_str)
            .unwrap_or_default()
            .to_string()
    } else {
        text
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use serde_json::json;

    const PAGE: &str = "59833787-2cf9-4fdf-8782-e53db20768a5";

    fn of(tool: &str, v: Value) -> Option<Action> {
        Action::of(tool, Some(v.as_object().unwrap()))
    }

    #[test]
    fn only_destructive_calls_are_asked_about() {
        let page = || PAGE.to_string();
        assert_eq!(
            of("trash_page", json!({"id": PAGE})),
            Some(Action::TrashPage { id: page() })
        );
        assert_eq!(
            of("trash_page", json!({"id": PAGE, "restore": false})),
            Some(Action::TrashPage { id: page() })
        );
        assert_eq!(of("trash_page", json!({"id": PAGE, "restore": true})), None);
        assert_eq!(
            of("trash_page", json!({"id": PAGE, "restore": "true"})),
            None
        );
        assert_eq!(
            of("delete_block", json!({"id": PAGE})),
            Some(Action::DeleteBlock { id: page() })
        );
        assert_eq!(
            of(
                "update_page_markdown",
                json!({"id": PAGE, "content": "héllo"})
            ),
            Some(Action::ReplaceContent {
                id: page(),
                new_chars: 5,
                deleting_allowed: false
            })
        );
        assert_eq!(
            of(
                "update_page_markdown",
                json!({"id": PAGE, "edits": [["a", "b"]]})
            ),
            None
        );
        assert_eq!(of("update_page", json!({"id": PAGE})), None);
        // Arguments the tool itself refuses are not asked about.
        assert_eq!(of("trash_page", json!({"id": "not an id"})), None);
        assert_eq!(of("trash_page", json!({})), None);
        assert_eq!(Action::of("delete_block", None), None);
    }

    #[test]
    fn quoted_text_is_one_short_line() {
        assert_eq!(quoted("Q3\n  plan"), "Q3 plan");
        let long = "x".repeat(200);
        assert_eq!(quoted(&long).chars().count(), QUOTED_CHARS + 1);
    }
}
