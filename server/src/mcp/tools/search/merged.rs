//! `search` over titles and content: Notion's title matches merged with the workspace content
//! index's hits (BM25, snippets), each hit shown only once the caller's own token has read it.
//! Says how complete the index is. Filters (`under` a page — at any depth — or a data source,
//! edited after) apply to both sides.

use super::{Format, Kind, Mode, SearchArgs, collect_title_matches, describe, json_out, sort_json};
use crate::content_index::ContentIndex;
use crate::content_index::document::{format_time, parse_time};
use crate::content_index::engine::Filters;
use crate::content_index::query::{self, Clause};
use crate::mcp::context::ToolCtx;
use crate::mcp::error::ToolError;
use crate::mcp::output::{ToolOutput, thousands};
use crate::mcp::tools::{id_arg, limit_arg};
use notion_markdown::pipe_table;
use serde_json::{Value, json};
use std::collections::HashSet;
use std::sync::Arc;
use uuid::Uuid;

/// Content hits shown at most (after the access check, each unproven one costs a read).
const MAX_CONTENT_HITS: usize = 20;

/// What a merged search needs, checked before anything is sent.
pub(super) struct Plan {
    index: Arc<ContentIndex>,
    clauses: Vec<Clause>,
    under: Option<Uuid>,
    edited_after: Option<i64>,
}

fn uuid_arg(field: &str, value: &str) -> Result<Uuid, ToolError> {
    let id = id_arg(field, value)?;
    Uuid::try_parse(&id).map_err(|e| ToolError::invalid(field, e.to_string()))
}

/// `edited_after`: a date (`2026-01-31`) or an RFC 3339 time.
fn date_arg(value: &str) -> Result<i64, ToolError> {
    let v = value.trim();
    let secs = if v.len() == 10 {
        parse_time(&format!("{v}T00:00:00Z"))
    } else {
        parse_time(v)
    };
    if secs == 0 {
        return Err(ToolError::invalid(
            "edited_after",
            format!(
                "'{value}' is not a date: send YYYY-MM-DD or an ISO 8601 time such as 2026-01-31T12:00:00Z"
            ),
        ));
    }
    Ok(secs)
}

/// The merged search to run, or `None` for Notion's title search as it always was (`mode: title`,
/// no `query`, data sources, a title-search cursor, or no content index without filters).
pub(super) fn plan(ctx: &ToolCtx, a: &SearchArgs) -> Result<Option<Plan>, ToolError> {
    let filtered = a.under.is_some() || a.edited_after.is_some();
    let query = a.query.as_deref().map(str::trim).filter(|q| !q.is_empty());
    let title_only =
        a.mode == Some(Mode::Title) || a.kind == Some(Kind::DataSource) || a.cursor.is_some();
    if title_only || query.is_none() || ctx.index.is_none() {
        if filtered {
            let why = if ctx.index.is_none() {
                "the content index is off on this server"
            } else if query.is_none() {
                "filters need a `query`"
            } else {
                "filters work on content search: leave out mode \"title\", type \"data_source\" and cursor"
            };
            let field = if a.under.is_some() {
                "under"
            } else {
                "edited_after"
            };
            return Err(ToolError::invalid(field, why));
        }
        return Ok(None);
    }
    let (Some(index), Some(query)) = (&ctx.index, query) else {
        return Ok(None);
    };
    let clauses = query::parse(query).map_err(|e| ToolError::invalid("query", e.to_string()))?;
    Ok(Some(Plan {
        index: index.clone(),
        clauses,
        under: a
            .under
            .as_deref()
            .map(|v| uuid_arg("under", v))
            .transpose()?,
        edited_after: a.edited_after.as_deref().map(date_arg).transpose()?,
    }))
}

/// One merged result.
struct Row {
    id: String,
    title: String,
    url: String,
    snippet: String,
    edited: String,
    matched: &'static str,
}

/// The words of the query as Notion's title search takes them.
fn title_words(clauses: &[Clause]) -> String {
    clauses
        .iter()
        .map(|c| match c {
            Clause::Word(w) | Clause::Phrase(w) | Clause::Prefix(w) => w.as_str(),
        })
        .collect::<Vec<_>>()
        .join(" ")
}

/// The merged answer; `None` when the index adds nothing and no filter was given: then the answer is
/// Notion's title search as it always was (its table, its cursor), plus the completeness line.
pub(super) async fn search(
    ctx: &ToolCtx,
    a: &SearchArgs,
    plan: &Plan,
) -> Result<Option<ToolOutput>, ToolError> {
    let limit = limit_arg(a.limit, 20, 500)?;
    let filtered = plan.under.is_some() || plan.edited_after.is_some();
    // Asking Notion for the caller's workspace is worth it only when the index holds something.
    let workspace = match ctx.notion.known_workspace(&ctx.auth) {
        Some(ws) => Some(ws),
        None if filtered || plan.index.catalog.totals().known > 0 => {
            ctx.notion.workspace_id(&ctx.auth).await
        }
        None => None,
    };
    let filters = Filters {
        pages: match (plan.under, &workspace) {
            (Some(root), Some(ws)) => Some(plan.index.catalog.descendants(ws, root)),
            (Some(_), None) => Some(HashSet::new()),
            (None, _) => None,
        },
        data_source: None,
        edited_after: plan.edited_after,
    };
    // A failing index leaves the title matches: the search still answers.
    let candidates = match &workspace {
        Some(ws) => plan
            .index
            .search(ws, &plan.clauses, &filters, limit.min(MAX_CONTENT_HITS))
            .unwrap_or_else(|e| {
                tracing::warn!(error = %e, "content index search failed");
                Vec::new()
            }),
        None => Vec::new(),
    };
    if candidates.is_empty() && !filtered {
        return Ok(None);
    }
    let mut body = json!({"query": title_words(&plan.clauses)});
    body["sort"] = sort_json(a.sort);
    let titles = collect_title_matches(ctx, body, limit, None).await?;
    // What Notion's search just showed the caller, the caller can read: no proof needed.
    let listed: HashSet<Uuid> = titles
        .items
        .iter()
        .filter_map(|item| item.get("id").and_then(Value::as_str))
        .filter_map(|id| Uuid::try_parse(id).ok())
        .collect();
    let hits = plan
        .index
        .visible_to(&ctx.notion, &ctx.auth, candidates, &listed)
        .await;
    let title_rows: Vec<Row> = titles
        .items
        .iter()
        .filter(|item| keeps(item, &filters))
        .map(|item| {
            let edited = item
                .get("last_edited_time")
                .and_then(Value::as_str)
                .unwrap_or("");
            Row {
                id: item
                    .get("id")
                    .and_then(Value::as_str)
                    .unwrap_or("")
                    .to_owned(),
                title: describe(item).0,
                url: item
                    .get("url")
                    .and_then(Value::as_str)
                    .unwrap_or("")
                    .to_owned(),
                snippet: String::new(),
                edited: edited.get(..10).unwrap_or(edited).to_owned(),
                matched: "title",
            }
        })
        .collect();
    let by_title: HashSet<String> = title_rows.iter().map(|r| r.id.clone()).collect();
    let mut rows: Vec<Row> = hits
        .into_iter()
        .map(|h| {
            let id = h.id.to_string();
            let in_title = h.in_title || by_title.contains(&id);
            let edited = format_time(h.edited);
            Row {
                matched: match (in_title, h.in_content) {
                    (true, true) => "both",
                    (true, false) => "title",
                    _ => "content",
                },
                id,
                title: if h.title.trim().is_empty() {
                    "(untitled)".into()
                } else {
                    h.title
                },
                url: h.url,
                snippet: h.snippet,
                edited: edited.get(..10).unwrap_or(&edited).to_owned(),
            }
        })
        .collect();
    let shown: HashSet<String> = rows.iter().map(|r| r.id.clone()).collect();
    rows.extend(title_rows.into_iter().filter(|r| !shown.contains(&r.id)));
    rows.truncate(limit);
    let completeness = workspace
        .as_deref()
        .map(|ws| completeness(&plan.index, ws))
        .unwrap_or_else(|| {
            "Content index: this connection's workspace is not known yet; title matches only."
                .into()
        });
    if a.format == Some(Format::Json) {
        let results: Vec<Value> = rows
            .iter()
            .map(|r| {
                json!({"id": r.id, "title": r.title, "url": r.url, "snippet": r.snippet,
                            "last_edited": r.edited, "matched": r.matched})
            })
            .collect();
        let progress = workspace
            .as_deref()
            .map(|ws| plan.index.progress(ws))
            .unwrap_or_default();
        return Ok(Some(
            json_out(&json!({"results": results, "index": {
            "indexed": progress.indexed, "known": progress.known, "listed": progress.listed}}))
            .into(),
        ));
    }
    if rows.is_empty() {
        let q = a.query.as_deref().unwrap_or("");
        return Ok(Some(
            ToolOutput::data(format!(
                "No pages this integration can read match \"{q}\" in titles or content. Try fewer or other words, or a prefix*."
            ))
            .with_note(format!("\n\n{completeness}")),
        ));
    }
    let header = ["Title", "Match", "Id", "Last edited", "Snippet", "Url"].map(String::from);
    let table: Vec<Vec<String>> = rows
        .into_iter()
        .map(|r| vec![r.title, r.matched.into(), r.id, r.edited, r.snippet, r.url])
        .collect();
    Ok(Some(
        ToolOutput::data(pipe_table(&header, &table)).with_note(format!("\n\n{completeness}")),
    ))
}

/// Whether a title match passes the filters.
fn keeps(item: &Value, f: &Filters) -> bool {
    let id = item
        .get("id")
        .and_then(Value::as_str)
        .and_then(|s| Uuid::try_parse(s).ok());
    if let Some(pages) = &f.pages
        && !id.is_some_and(|id| pages.contains(&id))
    {
        return false;
    }
    if let Some(after) = f.edited_after {
        let edited = item
            .get("last_edited_time")
            .and_then(Value::as_str)
            .map_or(0, parse_time);
        if edited <= after {
            return false;
        }
    }
    true
}

/// The completeness line, when the index knows the caller's workspace (for title-only answers).
pub(super) fn completeness_note(ctx: &ToolCtx, plan: &Plan) -> Option<String> {
    let ws = ctx.notion.known_workspace(&ctx.auth)?;
    (plan.index.progress(&ws).known > 0).then(|| completeness(&plan.index, &ws))
}

/// "Content index: indexed 1,234 of ~1,400 pages."
fn completeness(index: &ContentIndex, workspace: &str) -> String {
    let p = index.progress(workspace);
    if p.known == 0 {
        return "Content index: nothing indexed yet for this workspace; content matches may be missing.".into();
    }
    let approx = if p.listed { "" } else { "~" };
    let mut line = format!(
        "Content index: indexed {} of {approx}{} pages",
        thousands(p.indexed as u64),
        thousands(p.known as u64)
    );
    if p.stale > 0 {
        line.push_str(&format!(
            " ({} changed since, being read again)",
            thousands(p.stale as u64)
        ));
    }
    line.push('.');
    line
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dates_and_title_words() {
        assert!(date_arg("2026-01-31").is_ok());
        assert!(date_arg("2026-01-31T12:00:00Z").is_ok());
        assert!(date_arg("yesterday").is_err());
        let clauses = query::parse(r#"alpha "beta gamma" delt*"#).unwrap_or_default();
        assert_eq!(title_words(&clauses), "alpha beta gamma delt");
    }
}
