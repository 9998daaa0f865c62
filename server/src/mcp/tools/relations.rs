//! `resolve_relation`: every page a relation property points at (past the 25-reference cap), with
//! chosen properties, as one table; plus the schema and column functions `join` shares.

use super::{Format, find_property, id_arg, limit_arg};
use crate::mcp::context::ToolCtx;
use crate::mcp::error::ToolError;
use crate::mcp::registry::{Effect, ToolDef};
use crate::notion::relations::{self, FetchOptions, FetchStats, Fetched, SCAN_MIN_IDS};
use crate::notion::{NotionError, endpoints};
use notion_markdown::{pipe_table, property_value};
use notion_model::types::{DataSource, Database, Page};
use schemars::JsonSchema;
use serde::Deserialize;
use serde_json::{Value, json};

pub fn tools() -> Vec<ToolDef> {
    vec![ToolDef::new(
        "resolve_relation",
        "Resolve a relation",
        "All pages a relation property links to (past the 25 cap), with chosen properties, as a table.",
        Effect::Read,
        resolve_relation,
    )]
}

#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ResolveArgs {
    page_id: String,
    /// Name or id.
    property: String,
    /// Related-page properties to show besides the title.
    properties: Option<Vec<String>>,
    /// Max related pages (default 500, max 5000).
    limit: Option<u32>,
    format: Option<Format>,
}

async fn resolve_relation(ctx: ToolCtx, a: ResolveArgs) -> Result<String, ToolError> {
    let page_id = id_arg("page_id", &a.page_id)?;
    let limit = limit_arg(a.limit, 500, 5000)?;
    let page: Page = endpoints::retrieve_page(&ctx.notion, &ctx.auth, &page_id, &[]).await?;
    let (name, prop) = find_property(&page, "property", &a.property)?;
    if prop.kind != "relation" {
        return Err(ToolError::invalid(
            "property",
            format!("\"{name}\" is a {} property, not a relation", prop.kind),
        ));
    }
    let rel = relations::relation_ids(&ctx.notion, &ctx.auth, &page.id, prop, limit).await?;
    if rel.ids.is_empty() && a.format != Some(Format::Json) {
        return Ok(format!(
            "{name} of \"{}\" links to no pages.",
            page.title().trim()
        ));
    }
    // The related data source enables the scan; only worth a schema read when a scan may happen.
    let mut data_source = None;
    if rel.ids.len() >= SCAN_MIN_IDS
        && let Some(ds_id) = relations::parent_data_source(&page)
        && let Some(schema) = schema_opt(&ctx, &ds_id).await?
    {
        data_source = schema
            .properties
            .values()
            .find(|p| p.get("id").and_then(Value::as_str) == Some(prop.id.as_str()))
            .and_then(relations::relation_target);
    }
    let opts = FetchOptions {
        data_source: data_source.clone(),
        concurrency: concurrency(&ctx),
        ..FetchOptions::default()
    };
    let fetched = relations::fetch_pages(&ctx.notion, &ctx.auth, &rel.ids, &opts).await?;
    let columns = related_columns(&fetched, a.properties.as_deref())?;
    let title_header = fetched
        .pages
        .values()
        .find_map(title_name)
        .unwrap_or_else(|| "Title".to_owned());
    let rows: Vec<(String, Vec<String>)> = rel
        .ids
        .iter()
        .map(|id| (id.clone(), page_cells(&fetched, id, &columns)))
        .collect();
    let inaccessible = rel
        .ids
        .iter()
        .filter(|id| fetched.inaccessible(id).is_some())
        .count();
    let truncation = rel.truncated.then(|| {
        format!("truncated: showing the first {limit} related pages; more exist (raise `limit`, max 5000).")
    });
    if a.format == Some(Format::Json) {
        let pages: Vec<Value> = rows
            .iter()
            .map(|(id, cells)| match fetched.inaccessible(id) {
                Some(code) => json!({"id": id, "inaccessible": code}),
                None => {
                    let mut props = serde_json::Map::new();
                    for (c, v) in columns.iter().zip(cells) {
                        props.insert(c.clone(), json!(v));
                    }
                    json!({"id": id, "properties": props})
                }
            })
            .collect();
        return Ok(serde_json::to_string(&json!({
            "property": name, "data_source_id": data_source, "count": rel.ids.len(),
            "inaccessible": inaccessible, "truncated": rel.truncated, "pages": pages,
            "requests": requests_json(&fetched.stats, rel.requests),
        }))
        .unwrap_or_default());
    }
    let mut header: Vec<String> = columns
        .iter()
        .map(|c| {
            if c == TITLE {
                title_header.clone()
            } else {
                c.clone()
            }
        })
        .collect();
    header.push("id".into());
    let mut out = format!(
        "{name} of \"{}\": {} related page(s)",
        page.title().trim(),
        rel.ids.len()
    );
    if inaccessible > 0 {
        out.push_str(&format!(
            ", {inaccessible} inaccessible (not shared with this integration, or deleted)"
        ));
    }
    out.push_str(".\n\n");
    let body: Vec<Vec<String>> = rows
        .into_iter()
        .map(|(id, mut cells)| {
            cells.push(id);
            cells
        })
        .collect();
    out.push_str(&bounded_table(&header, &body, ctx.limits.max_output_chars));
    out.push_str(&format!(
        "\nFetched with {} data-source queries and {} page reads.",
        fetched.stats.queries, fetched.stats.page_reads
    ));
    if let Some(t) = truncation {
        out.push_str("\n\n");
        out.push_str(&t);
    }
    Ok(out)
}

// ----------------------------------------------------------------------------- shared with join

/// The column name meaning "the title property, whatever it is called".
pub(super) const TITLE: &str = "title";

/// Concurrent page reads per call: enough to keep the pacer busy, never a burst past it.
pub(super) fn concurrency(ctx: &ToolCtx) -> usize {
    ctx.limits.concurrency.clamp(4, 8)
}

pub(super) fn requests_json(stats: &FetchStats, property_item_requests: usize) -> Value {
    json!({"queries": stats.queries, "page_reads": stats.page_reads,
        "property_item_reads": property_item_requests, "rows_scanned": stats.rows_scanned})
}

/// A data source's schema, or `None` when it is not shared (403/404).
pub(super) async fn schema_opt(ctx: &ToolCtx, id: &str) -> Result<Option<DataSource>, ToolError> {
    match endpoints::retrieve_data_source(&ctx.notion, &ctx.auth, id).await {
        Ok(ds) => Ok(Some(ds)),
        Err(e) if matches!(e.status(), Some(403 | 404)) => Ok(None),
        Err(e) => Err(e.into()),
    }
}

/// A data source by data-source id, or a database id/URL (its first data source).
pub(super) async fn resolve_data_source(
    ctx: &ToolCtx,
    field: &str,
    value: &str,
) -> Result<DataSource, ToolError> {
    let id = id_arg(field, value)?;
    match endpoints::retrieve_data_source(&ctx.notion, &ctx.auth, &id).await {
        Ok(ds) => Ok(ds),
        Err(e) if e.status() == Some(404) => {
            let db: Database = endpoints::retrieve_database(&ctx.notion, &ctx.auth, &id)
                .await
                .map_err(|second: NotionError| ToolError::Notion(e.or_transient(second)))?;
            let first = db.data_sources.first().ok_or_else(|| {
                ToolError::invalid(
                    field,
                    format!("database {id} has no data sources shared with this integration"),
                )
            })?;
            Ok(endpoints::retrieve_data_source(&ctx.notion, &ctx.auth, &first.id).await?)
        }
        Err(e) => Err(e.into()),
    }
}

/// A schema property by name or property id: `(name, entry)`.
pub(super) fn schema_prop<'a>(
    ds: &'a DataSource,
    name_or_id: &str,
) -> Option<(&'a String, &'a Value)> {
    ds.properties.iter().find(|(n, v)| {
        n.as_str() == name_or_id || v.get("id").and_then(Value::as_str) == Some(name_or_id)
    })
}

fn ds_title(ds: &DataSource) -> String {
    notion_model::types::plain_text(&ds.title)
}

fn prop_names(ds: &DataSource) -> String {
    ds.properties.keys().cloned().collect::<Vec<_>>().join(", ")
}

/// A relation property of `ds`: `(name, property id, related data source)`.
pub(super) fn relation_prop(
    ds: &DataSource,
    field: &str,
    name_or_id: &str,
) -> Result<(String, String, String), ToolError> {
    let Some((name, entry)) = schema_prop(ds, name_or_id) else {
        return Err(ToolError::invalid(
            field,
            format!(
                "data source \"{}\" has no property \"{name_or_id}\"; it has: {}",
                ds_title(ds),
                prop_names(ds)
            ),
        ));
    };
    let kind = entry.get("type").and_then(Value::as_str).unwrap_or("");
    if kind != "relation" {
        return Err(ToolError::invalid(
            field,
            format!("\"{name}\" is a {kind} property, not a relation"),
        ));
    }
    let target = relations::relation_target(entry).ok_or_else(|| {
        ToolError::invalid(field, format!("relation \"{name}\" names no data source"))
    })?;
    let id = entry
        .get("id")
        .and_then(Value::as_str)
        .unwrap_or(name)
        .to_owned();
    Ok((name.clone(), id, target))
}

/// Columns of `ds` by name or id (default: the title): `(name, property id)`; `title` is the title.
pub(super) fn schema_columns(
    ds: &DataSource,
    field: &str,
    names: Option<&[String]>,
) -> Result<Vec<(String, String)>, ToolError> {
    let default = [TITLE.to_owned()];
    let names = names.filter(|n| !n.is_empty()).unwrap_or(&default);
    names
        .iter()
        .map(|n| {
            let found = if n == TITLE {
                ds.properties
                    .iter()
                    .find(|(_, v)| v.get("type").and_then(Value::as_str) == Some("title"))
            } else {
                schema_prop(ds, n)
            };
            let (name, entry) = found.ok_or_else(|| {
                ToolError::invalid(
                    field,
                    format!(
                        "data source \"{}\" has no property \"{n}\"; it has: {}",
                        ds_title(ds),
                        prop_names(ds)
                    ),
                )
            })?;
            let id = entry.get("id").and_then(Value::as_str).unwrap_or(name);
            Ok((name.clone(), id.to_owned()))
        })
        .collect()
}

/// The title plus the requested columns, checked against the fetched pages: a column no page has is
/// an error naming `properties`. Without any accessible page nothing can be checked.
fn related_columns(fetched: &Fetched, names: Option<&[String]>) -> Result<Vec<String>, ToolError> {
    let Some(names) = names.filter(|n| !n.is_empty()) else {
        return Ok(vec![TITLE.to_owned()]);
    };
    let pages: Vec<&Page> = fetched.pages.values().collect();
    for n in names {
        if n != TITLE && !pages.is_empty() && !pages.iter().any(|p| p.properties.find(n).is_some())
        {
            let mut have: Vec<&str> = pages[0]
                .properties
                .iter()
                .map(|(k, _)| k.as_str())
                .collect();
            have.sort_unstable();
            return Err(ToolError::invalid(
                "properties",
                format!(
                    "the related pages have no property \"{n}\"; they have: {}",
                    have.join(", ")
                ),
            ));
        }
    }
    // Titles always come first.
    let names_title = |n: &String| {
        n == TITLE
            || pages
                .iter()
                .any(|p| p.properties.get(n).is_some_and(|v| v.kind == "title"))
    };
    let mut cols = Vec::with_capacity(names.len() + 1);
    if !names.iter().any(names_title) {
        cols.push(TITLE.to_owned());
    }
    cols.extend(names.iter().cloned());
    Ok(cols)
}

/// The name of a page's title property.
fn title_name(p: &Page) -> Option<String> {
    p.properties
        .iter()
        .find(|(_, v)| v.kind == "title")
        .map(|(k, _)| k.clone())
}

/// One cell: the rendered value of `column` (a name, a property id, or `title`).
pub(super) fn cell(page: &Page, column: &str) -> String {
    let found = if column == TITLE {
        page.properties.iter().find(|(_, v)| v.kind == "title")
    } else {
        page.properties.find(column)
    };
    found.map(|(_, p)| property_value(p)).unwrap_or_default()
}

/// Marker for a related page Notion would not show.
pub(super) fn inaccessible_text(code: &str) -> String {
    format!("(inaccessible: {code})")
}

/// The cells of related page `id`: values, or an inaccessible marker in the first column.
pub(super) fn page_cells(fetched: &Fetched, id: &str, columns: &[String]) -> Vec<String> {
    match fetched.page(id) {
        Some(p) => columns.iter().map(|c| cell(p, c)).collect(),
        None => {
            let mut cells = vec![String::new(); columns.len()];
            if let Some(first) = cells.first_mut() {
                *first = inaccessible_text(fetched.inaccessible(id).unwrap_or("not fetched"));
            }
            cells
        }
    }
}

/// A pipe table cut to `max_chars`, ending with a `truncated: N more rows` line when cut.
pub(super) fn bounded_table(header: &[String], rows: &[Vec<String>], max_chars: usize) -> String {
    let full = pipe_table(header, rows);
    if full.len() <= max_chars {
        return full;
    }
    let mut lines = full.lines();
    let mut out = String::new();
    let mut shown = 0usize;
    for line in lines.by_ref().take(2) {
        out.push_str(line);
        out.push('\n');
    }
    for line in lines {
        if out.len() + line.len() + 1 > max_chars.saturating_sub(200) {
            break;
        }
        out.push_str(line);
        out.push('\n');
        shown += 1;
    }
    out.push_str(&format!(
        "\ntruncated: {} more rows not shown (output size limit); ask for fewer columns or rows.\n",
        rows.len().saturating_sub(shown)
    ));
    out
}
