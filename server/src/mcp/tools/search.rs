//! `search`: find pages and data sources by title words (Notion's search) and by the words inside
//! pages (the workspace content index, [`merged`]); `mode: "title"` is Notion's search alone.

mod merged;

use super::{Format, json_out, limit_arg, more};
use crate::mcp::context::ToolCtx;
use crate::mcp::error::ToolError;
use crate::mcp::output::ToolOutput;
use crate::mcp::registry::{Effect, ToolDef};
use crate::notion::{endpoints, pagination};
use notion_markdown::pipe_table;
use notion_model::types::{DataSource, Page, plain_text};
use schemars::JsonSchema;
use serde::Deserialize;
use serde_json::{Value, json};

pub fn tools() -> Vec<ToolDef> {
    vec![ToolDef::new(
        "search",
        "Search Notion",
        "Pages by title and content words (\"a phrase\", prefix*), best first, with snippets and ids for \
         `fetch`; mode=title: titles only; no `query`: recent edits.",
        Effect::Read,
        search,
    )]
}

#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct SearchArgs {
    query: Option<String>,
    mode: Option<Mode>,
    /// Only pages in this page/data source (id).
    under: Option<String>,
    /// Edited after (YYYY-MM-DD).
    edited_after: Option<String>,
    #[serde(rename = "type")]
    kind: Option<Kind>,
    // By last edit: newest first (default) or oldest first.
    sort: Option<Sort>,
    /// Max results (default 20, max 500).
    limit: Option<u32>,
    cursor: Option<String>,
    format: Option<Format>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
enum Kind {
    Page,
    DataSource,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
enum Mode {
    Title,
}

#[derive(Debug, Clone, Copy, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
enum Sort {
    Newest,
    Oldest,
}

async fn search(ctx: ToolCtx, a: SearchArgs) -> Result<ToolOutput, ToolError> {
    let Some(plan) = merged::plan(&ctx, &a)? else {
        return title_search(ctx, a).await;
    };
    if let Some(answer) = merged::search(&ctx, &a, &plan).await? {
        return Ok(answer);
    }
    // Nothing from the content index: Notion's title search, saying how complete the index is.
    let note = merged::completeness_note(&ctx, &plan);
    let answer = title_search(ctx, a).await?;
    Ok(match note {
        Some(note) => answer.with_note(format!("\n\n{note}")),
        None => answer,
    })
}

/// Notion's search (titles only), as it always was.
async fn title_search(ctx: ToolCtx, a: SearchArgs) -> Result<ToolOutput, ToolError> {
    let limit = limit_arg(a.limit, 20, 500)?;
    let mut body = json!({});
    if let Some(q) = a.query.as_deref().map(str::trim).filter(|q| !q.is_empty()) {
        body["query"] = json!(q);
    }
    if let Some(k) = a.kind {
        let value = match k {
            Kind::Page => "page",
            Kind::DataSource => "data_source",
        };
        body["filter"] = json!({"property": "object", "value": value});
    }
    body["sort"] = sort_json(a.sort);
    let found = collect_title_matches(&ctx, body, limit, a.cursor.clone()).await?;
    if a.format == Some(Format::Json) {
        return Ok(
            json_out(&json!({"results": found.items, "next_cursor": found.next_cursor})).into(),
        );
    }
    if found.items.is_empty() {
        return Ok(ToolOutput::data(match a.query {
            Some(q) => format!("No pages or data sources shared with this integration match \"{q}\". Search matches titles only; try fewer or other words."),
            None => "Nothing is shared with this integration yet: share pages with it in Notion (⋯ → Connections).".into(),
        }));
    }
    let header = ["Title", "Type", "Id", "Last edited"].map(String::from);
    let rows: Vec<Vec<String>> = found
        .items
        .iter()
        .map(|item| {
            let (title, kind) = describe(item);
            let id = item.get("id").and_then(Value::as_str).unwrap_or("");
            let edited = item
                .get("last_edited_time")
                .and_then(Value::as_str)
                .unwrap_or("");
            vec![
                title,
                kind.to_string(),
                id.to_string(),
                edited.get(..10).unwrap_or(edited).to_string(),
            ]
        })
        .collect();
    Ok(ToolOutput::data(pipe_table(&header, &rows))
        .with_note(more("search", found.next_cursor.as_deref())))
}

/// `sort` of a Notion search by last edit.
fn sort_json(sort: Option<Sort>) -> Value {
    let direction = match sort.unwrap_or(Sort::Newest) {
        Sort::Newest => "descending",
        Sort::Oldest => "ascending",
    };
    json!({"timestamp": "last_edited_time", "direction": direction})
}

/// Up to `limit` results of Notion's search for `body`.
async fn collect_title_matches(
    ctx: &ToolCtx,
    body: Value,
    limit: usize,
    cursor: Option<String>,
) -> Result<pagination::Collected<Value>, ToolError> {
    Ok(pagination::collect(limit, cursor, |cursor, page_size| {
        let (ctx, b) = (ctx.clone(), body.clone());
        async move {
            endpoints::search(
                &ctx.notion,
                &ctx.auth,
                b,
                cursor.as_deref(),
                Some(page_size),
            )
            .await
        }
    })
    .await?)
}

/// Title and kind of one search result.
fn describe(item: &Value) -> (String, &'static str) {
    let untitled = |t: String| {
        if t.trim().is_empty() {
            "(untitled)".to_string()
        } else {
            t
        }
    };
    match item.get("object").and_then(Value::as_str) {
        Some("data_source") => {
            let title = serde_json::from_value::<DataSource>(item.clone())
                .map(|d| plain_text(&d.title))
                .unwrap_or_default();
            (untitled(title), "data source")
        }
        Some("database") => {
            let title = item
                .get("title")
                .and_then(|t| serde_json::from_value(t.clone()).ok())
                .map(|t: Vec<notion_model::types::RichText>| plain_text(&t))
                .unwrap_or_default();
            (untitled(title), "database")
        }
        _ => {
            let title = serde_json::from_value::<Page>(item.clone())
                .map(|p| p.title())
                .unwrap_or_default();
            (untitled(title), "page")
        }
    }
}
