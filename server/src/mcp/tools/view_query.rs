//! A view's rows (`get_views` with `rows: true`) with the view's own filter and sorts, as a
//! Markdown table like `query_data_source`. Notion runs the view into a view query (≤10,000 rows, kept ~15 minutes);
//! this pages through it, reads each row, and deletes the query once the last row was read. A
//! continuation cursor keeps the query alive until it expires.

use super::relation_titles::{self, RelationsAs};
use super::{Format, json_out, limit_arg, more};
use crate::mcp::context::ToolCtx;
use crate::mcp::error::ToolError;
use crate::notion::views as api;
use crate::notion::{NotionError, endpoints};
use futures::{StreamExt, TryStreamExt};
use notion_markdown as markdown;
use notion_model::types::Page;
use serde_json::{Value, json};

/// What to read of a view's rows.
pub(crate) struct RowsRequest {
    pub view: String,
    pub columns: Option<Vec<String>>,
    pub limit: Option<u32>,
    pub cursor: Option<String>,
    pub relations: Option<RelationsAs>,
    pub format: Option<Format>,
}

/// Where one call starts: a new view query, or a page of a live one.
struct Position {
    query_id: String,
    cursor: Option<String>,
}

/// The tool cursor is `<view query id>:<Notion cursor>`.
fn parse_cursor(raw: &str) -> Result<Position, ToolError> {
    match raw.split_once(':') {
        Some((q, c)) if !q.trim().is_empty() && !c.trim().is_empty() => Ok(Position {
            query_id: q.trim().to_string(),
            cursor: Some(c.trim().to_string()),
        }),
        _ => Err(ToolError::invalid(
            "cursor",
            "not a view-rows cursor; pass the cursor a previous get_views call with rows:true printed, or omit it",
        )),
    }
}

fn expired(view: &str) -> ToolError {
    ToolError::invalid(
        "cursor",
        format!(
            "the view query behind this cursor has expired (Notion keeps a view's query about 15 minutes) \
             or the view is gone; \
             call get_views for view {view} with rows:true again, without `cursor`, to start over"
        ),
    )
}

fn page_ids(list: &Value) -> Vec<String> {
    list["results"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|r| r.get("id").and_then(Value::as_str).map(str::to_string))
        .collect()
}

fn next_cursor(list: &Value) -> Option<String> {
    list.get("next_cursor")
        .and_then(Value::as_str)
        .filter(|c| !c.is_empty() && list["has_more"] == json!(true))
        .map(str::to_string)
}

/// A view's rows (`get_views` with `rows: true`); `view` is already a parsed id.
pub(crate) async fn view_rows(ctx: ToolCtx, a: RowsRequest) -> Result<String, ToolError> {
    let view = a.view.clone();
    let limit = limit_arg(a.limit, 50, 500)?;
    let page_size = |remaining: usize| u32::try_from(remaining.min(100)).unwrap_or(100);
    let (query_id, mut cursor, mut ids, header) = match a.cursor.as_deref() {
        Some(raw) => {
            let p = parse_cursor(raw)?;
            (p.query_id, p.cursor, Vec::new(), Value::Null)
        }
        None => {
            let q = api::create_view_query(&ctx.notion, &ctx.auth, &view, page_size(limit)).await?;
            let qid = q
                .get("id")
                .and_then(Value::as_str)
                .unwrap_or_default()
                .to_string();
            if qid.is_empty() {
                return Err(ToolError::Notion(NotionError::Decode {
                    endpoint: "POST /v1/views/{id}/queries",
                    message: "no query id in the response".into(),
                }));
            }
            (qid, next_cursor(&q), page_ids(&q), q)
        }
    };
    let mut status = header
        .get("request_status")
        .filter(|s| !s.is_null())
        .cloned();
    while ids.len() < limit {
        let Some(c) = cursor.take() else { break };
        let page = api::view_query_results(
            &ctx.notion,
            &ctx.auth,
            &view,
            &query_id,
            Some(&c),
            Some(page_size(limit - ids.len())),
        )
        .await
        .map_err(|e| match e.status() {
            Some(404) if a.cursor.is_some() => expired(&view),
            _ => ToolError::Notion(e),
        })?;
        ids.extend(page_ids(&page));
        if let Some(s) = page.get("request_status").filter(|s| !s.is_null()) {
            status = Some(s.clone());
        }
        cursor = next_cursor(&page);
    }
    if cursor.is_none() {
        // Read to the end: drop Notion's copy now instead of letting it expire.
        let _ = api::delete_view_query(&ctx.notion, &ctx.auth, &view, &query_id).await;
    }
    let (mut rows, gone) = read_rows(&ctx, &ids).await?;
    let titles_note = match a.relations {
        Some(RelationsAs::Titles) => {
            relation_titles::add_titles(&ctx, &mut rows, a.columns.as_deref()).await?
        }
        _ => None,
    };
    let tool_cursor = cursor.as_ref().map(|c| format!("{query_id}:{c}"));
    if a.format == Some(Format::Json) {
        return Ok(json_out(&json!({
            "view_id": view, "total_count": header.get("total_count"),
            "results": rows, "next_cursor": tool_cursor, "request_status": status,
            "note": titles_note.map(|n| n.trim().to_string()),
        })));
    }
    let mut out = render(
        &a,
        &header,
        &rows,
        gone,
        status.as_ref(),
        tool_cursor.as_deref(),
    );
    out.push_str(&titles_note.unwrap_or_default());
    Ok(out)
}

/// Reads each row (a few at a time, in order); rows trashed or unshared since the query are counted.
async fn read_rows(ctx: &ToolCtx, ids: &[String]) -> Result<(Vec<Page>, usize), ToolError> {
    let fetched: Vec<Option<Page>> = futures::stream::iter(ids.iter().cloned())
        .map(|id| {
            let ctx = ctx.clone();
            async move {
                match endpoints::retrieve_page(&ctx.notion, &ctx.auth, &id, &[]).await {
                    Ok(p) => Ok(Some(p)),
                    Err(e) if e.status() == Some(404) => Ok(None),
                    Err(e) => Err(ToolError::Notion(e)),
                }
            }
        })
        .buffered(ctx.limits.concurrency.max(1))
        .try_collect()
        .await?;
    let gone = fetched.iter().filter(|p| p.is_none()).count();
    Ok((fetched.into_iter().flatten().collect(), gone))
}

fn render(
    a: &RowsRequest,
    header: &Value,
    rows: &[Page],
    gone: usize,
    status: Option<&Value>,
    cursor: Option<&str>,
) -> String {
    let mut out = String::new();
    if rows.is_empty() {
        out.push_str("No rows in this view.");
    } else {
        out.push_str(&markdown::rows_table(rows, a.columns.as_deref()));
        out.push_str(&format!("\n\n{} row(s)", rows.len()));
        if let Some(t) = header.get("total_count").and_then(Value::as_u64) {
            out.push_str(&format!(" of {t}"));
        }
        out.push('.');
    }
    if gone > 0 {
        out.push_str(&format!(
            " {gone} row(s) were trashed or unshared since the view ran."
        ));
    }
    if status
        .and_then(|s| s.get("incomplete_reason"))
        .and_then(Value::as_str)
        == Some("query_result_limit_reached")
    {
        out.push_str(
            " Notion stopped this view at its 10,000-row limit, so rows past it are missing; \
             narrow the view's filter or use query_data_source with a narrower filter.",
        );
    }
    if let Some(c) = cursor {
        let until = header
            .get("expires_at")
            .and_then(Value::as_str)
            .map(|t| format!(" (the view query expires at {t})"))
            .unwrap_or_else(|| " (within about 15 minutes)".into());
        out.push_str(&more("get_views", Some(c)));
        out.push_str(&until);
    }
    out
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn cursors_carry_the_query_and_notion_cursor() {
        let p = parse_cursor("q1:abc").unwrap();
        assert_eq!(
            (p.query_id.as_str(), p.cursor.as_deref()),
            ("q1", Some("abc"))
        );
        assert!(parse_cursor("abc").is_err());
        assert!(parse_cursor(":abc").is_err());
    }
}
