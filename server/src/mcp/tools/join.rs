//! `join`: rows of a data source joined with the pages a relation property links to (one or two
//! hops) as one table. Related pages are fetched once each, with the relation resolver's strategy.

use super::relations::{
    TITLE, bounded_table, cell, concurrency, inaccessible_text, page_cells, relation_prop,
    requests_json, resolve_data_source, schema_columns, schema_opt,
};
use super::{Format, limit_arg};
use crate::mcp::context::ToolCtx;
use crate::mcp::error::ToolError;
use crate::mcp::registry::{Effect, ToolDef};
use crate::notion::relations::{self, FetchOptions, Fetched, id_key};
use crate::notion::{NotionError, endpoints, pagination};
use futures::{StreamExt, stream};
use notion_model::types::{DataSource, Page};
use schemars::JsonSchema;
use serde::Deserialize;
use serde_json::{Value, json};
use std::collections::{HashMap, HashSet};

pub fn tools() -> Vec<ToolDef> {
    vec![ToolDef::new(
        "join",
        "Join related databases",
        "A data source's rows joined with the pages relation `via` (then `then_via`) links to, in \
         one table.",
        Effect::Read,
        join,
    )]
}

/// Most distinct pages fetched per hop.
const MAX_FETCH: usize = 5000;

#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct JoinArgs {
    /// Data source or database id/URL.
    id: String,
    /// Relation property (name or id).
    via: String,
    /// Notion filter for left rows.
    filter: Option<Value>,
    sorts: Option<Vec<Value>>,
    /// Max left rows (default 100, max 1000).
    limit: Option<u32>,
    /// Left columns; default title.
    columns: Option<Vec<String>>,
    /// Related columns; default title.
    related_columns: Option<Vec<String>>,
    /// Relation to follow from the related rows.
    then_via: Option<String>,
    /// Second-hop columns; default title.
    then_columns: Option<Vec<String>>,
    /// pairs (default) or aggregate (a row per left row).
    mode: Option<Mode>,
    /// Max output rows (default 500, max 5000).
    max_rows: Option<u32>,
    /// markdown (default) or json.
    format: Option<Format>,
}

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
enum Mode {
    #[default]
    Pairs,
    Aggregate,
}

/// One side of the join: its columns (display name, property id).
struct Side {
    label: String,
    columns: Vec<(String, String)>,
}

impl Side {
    fn names(&self) -> Vec<String> {
        self.columns.iter().map(|(n, _)| n.clone()).collect()
    }
    fn header(&self) -> Vec<String> {
        self.columns
            .iter()
            .map(|(n, _)| match self.label.as_str() {
                "" => n.clone(),
                l => format!("{l}.{n}"),
            })
            .collect()
    }
}

/// Property ids to ask Notion for: the columns (and the title) plus `extra`.
fn wanted_ids(side: &Side, schema: Option<&DataSource>, extra: Option<&str>) -> Vec<String> {
    let Some(schema) = schema else {
        return Vec::new();
    };
    let mut ids: Vec<String> = side.columns.iter().map(|(_, id)| id.clone()).collect();
    if let Some(t) = schema
        .properties
        .values()
        .find(|v| v.get("type").and_then(Value::as_str) == Some("title"))
        .and_then(|v| v.get("id").and_then(Value::as_str))
    {
        ids.push(t.to_owned());
    }
    ids.extend(extra.map(str::to_owned));
    ids.sort();
    ids.dedup();
    ids
}

async fn join(ctx: ToolCtx, a: JoinArgs) -> Result<String, ToolError> {
    let limit = limit_arg(a.limit, 100, 1000)?;
    let max_rows = limit_arg(a.max_rows, 500, 5000)
        .map_err(|_| ToolError::invalid("max_rows", "must be between 1 and 5000"))?;
    if a.filter.as_ref().is_some_and(|f| !f.is_object()) {
        return Err(ToolError::invalid(
            "filter",
            "must be a Notion filter object",
        ));
    }
    let mode = a.mode.unwrap_or_default();
    // Schemas: left, related, and (two hops) the second related data source.
    let left_ds = resolve_data_source(&ctx, "id", &a.id).await?;
    let (via_name, via_id, right_id) = relation_prop(&left_ds, "via", &a.via)?;
    let left = Side {
        label: String::new(),
        columns: schema_columns(&left_ds, "columns", a.columns.as_deref())?,
    };
    let right_ds = schema_opt(&ctx, &right_id).await?;
    let right = Side {
        label: via_name.clone(),
        columns: columns_or_names(right_ds.as_ref(), "related_columns", a.related_columns)?,
    };
    let mut then: Option<(String, String, Side, Option<DataSource>)> = None;
    if let Some(tv) = a.then_via.as_deref() {
        let ds = right_ds.as_ref().ok_or_else(|| {
            ToolError::invalid(
                "then_via",
                format!("the related data source {right_id} is not shared with this integration"),
            )
        })?;
        let (name, pid, target) = relation_prop(ds, "then_via", tv)?;
        let third_ds = schema_opt(&ctx, &target).await?;
        let side = Side {
            label: format!("{via_name}.{name}"),
            columns: columns_or_names(third_ds.as_ref(), "then_columns", a.then_columns)?,
        };
        then = Some((name, pid, side, third_ds));
    } else if a.then_columns.is_some() {
        return Err(ToolError::invalid(
            "then_columns",
            "needs `then_via` (the relation to follow from the related pages)",
        ));
    }

    // Left rows, then every related id of each (complete past 25 via the property-item endpoint).
    let mut body = json!({});
    if let Some(f) = a.filter {
        body["filter"] = f;
    }
    if let Some(s) = a.sorts {
        body["sorts"] = Value::Array(s);
    }
    let left_fp = wanted_ids(&left, Some(&left_ds), Some(&via_id));
    let rows = query_rows(&ctx, &left_ds.id, &body, &left_fp, limit).await?;
    let (lists, mut item_reads) = relation_lists(&ctx, &rows.items, &via_name).await?;

    // Related pages needed for the rows shown (pairs: the first `max_rows` pairs).
    let shown_left = match mode {
        Mode::Pairs => rows.items.len(),
        Mode::Aggregate => rows.items.len().min(max_rows),
    };
    let mut needed: Vec<String> = Vec::new();
    let mut seen = HashSet::new();
    let mut pairs = 0usize;
    'outer: for list in lists.iter().take(shown_left) {
        for id in list {
            if mode == Mode::Pairs && pairs >= max_rows {
                break 'outer;
            }
            pairs += 1;
            if needed.len() < MAX_FETCH && seen.insert(id_key(id)) {
                needed.push(id.clone());
            }
        }
        pairs += usize::from(list.is_empty());
    }
    let then_pid = then.as_ref().map(|(_, pid, _, _)| pid.as_str());
    let opts = FetchOptions {
        data_source: Some(right_id.clone()),
        filter_properties: wanted_ids(&right, right_ds.as_ref(), then_pid),
        concurrency: concurrency(&ctx),
        per_page_only: false,
    };
    let related = relations::fetch_pages(&ctx.notion, &ctx.auth, &needed, &opts).await?;
    let mut stats = related.stats;

    // Second hop: the relation lists of the fetched related pages, then their pages.
    let mut third: Option<(Fetched, HashMap<String, Vec<String>>)> = None;
    if let Some((then_name, _, side, third_ds)) = &then {
        let pages: Vec<Page> = needed
            .iter()
            .filter_map(|id| related.page(id).cloned())
            .collect();
        let (then_lists, reads) = relation_lists(&ctx, &pages, then_name).await?;
        item_reads += reads;
        let by_key: HashMap<String, Vec<String>> = pages
            .iter()
            .zip(then_lists)
            .map(|(p, l)| (id_key(&p.id), l))
            .collect();
        let mut ids3 = Vec::new();
        let mut seen3 = HashSet::new();
        for id in by_key.values().flatten() {
            if ids3.len() < MAX_FETCH && seen3.insert(id_key(id)) {
                ids3.push(id.clone());
            }
        }
        let opts3 = FetchOptions {
            data_source: third_ds.as_ref().map(|d| d.id.clone()),
            filter_properties: wanted_ids(side, third_ds.as_ref(), None),
            concurrency: concurrency(&ctx),
            per_page_only: false,
        };
        let f3 = relations::fetch_pages(&ctx.notion, &ctx.auth, &ids3, &opts3).await?;
        stats.add(f3.stats);
        third = Some((f3, by_key));
    }

    // Assemble.
    let third_side = then.as_ref().map(|(_, _, s, _)| s);
    let mut header = left.header();
    header.extend(right.header());
    if let Some(s) = third_side {
        header.extend(s.header());
    }
    let left_names = left.names();
    let right_names = right.names();
    let third_names = third_side.map(Side::names).unwrap_or_default();
    let mut out_rows: Vec<Vec<String>> = Vec::new();
    let mut out_ids: Vec<Value> = Vec::new();
    let mut total = 0usize;
    let mut exact = true;
    for (row, list) in rows.items.iter().zip(&lists) {
        let left_cells: Vec<String> = left_names.iter().map(|c| cell(row, c)).collect();
        if mode == Mode::Aggregate {
            total += 1;
            if out_rows.len() >= max_rows {
                continue;
            }
            let mut cells = left_cells;
            cells.extend(aggregate(&related, list, &right_names));
            if let Some((f3, by_key)) = &third {
                let mut ids3: Vec<String> = Vec::new();
                let mut seen3 = HashSet::new();
                for id in list.iter().filter_map(|r| by_key.get(&id_key(r))).flatten() {
                    if seen3.insert(id_key(id)) {
                        ids3.push(id.clone());
                    }
                }
                cells.extend(aggregate(f3, &ids3, &third_names));
            }
            out_rows.push(cells);
            out_ids.push(json!({"left": row.id, "related": list}));
            continue;
        }
        let empty_right = vec![String::new(); right_names.len()];
        let empty_third = vec![String::new(); third_names.len()];
        let rels: Vec<Option<&String>> = if list.is_empty() {
            vec![None]
        } else {
            list.iter().map(Some).collect()
        };
        for rid in rels {
            let right_cells = rid.map_or_else(
                || empty_right.clone(),
                |r| page_cells(&related, r, &right_names),
            );
            let thirds: Vec<Option<&String>> = match (&third, rid) {
                (Some((_, by_key)), Some(r)) => match by_key.get(&id_key(r)) {
                    Some(l) if !l.is_empty() => l.iter().map(Some).collect(),
                    Some(_) => vec![None],
                    None => {
                        // Beyond the fetched pages: counted as one row at least.
                        exact &= related.page(r).is_some() || related.inaccessible(r).is_some();
                        vec![None]
                    }
                },
                _ => vec![None],
            };
            for tid in thirds {
                total += 1;
                if out_rows.len() >= max_rows {
                    continue;
                }
                let mut cells = left_cells.clone();
                cells.extend(right_cells.iter().cloned());
                if let Some((f3, _)) = &third {
                    cells.extend(
                        tid.map_or_else(
                            || empty_third.clone(),
                            |t| page_cells(f3, t, &third_names),
                        ),
                    );
                }
                out_rows.push(cells);
                out_ids.push(json!({"left": row.id, "related": rid, "then": tid}));
            }
        }
    }
    let more = total.saturating_sub(out_rows.len());
    let third_stats = third.as_ref().map(|(f, _)| f.stats).unwrap_or_default();
    let inaccessible =
        related.inaccessible.len() + third.as_ref().map_or(0, |(f, _)| f.inaccessible.len());

    if a.format == Some(Format::Json) {
        let rows_json: Vec<Value> = out_rows
            .iter()
            .zip(out_ids)
            .map(|(cells, mut ids)| {
                ids["cells"] = json!(cells);
                ids
            })
            .collect();
        return Ok(serde_json::to_string(&json!({
            "columns": header, "rows": rows_json, "left_rows": rows.items.len(),
            "left_has_more": rows.has_more, "more_rows": more, "more_rows_exact": exact,
            "inaccessible": inaccessible, "requests": requests_json(&stats, item_reads),
        }))
        .unwrap_or_default());
    }
    let mut out = format!(
        "{} left row(s) joined via {via_name}{}: {} output row(s).\n\n",
        rows.items.len(),
        then.as_ref()
            .map(|(n, ..)| format!(" then {n}"))
            .unwrap_or_default(),
        total
    );
    if out_rows.is_empty() {
        out.push_str("No rows match.");
        return Ok(out);
    }
    out.push_str(&bounded_table(
        &header,
        &out_rows,
        ctx.limits.max_output_chars,
    ));
    if inaccessible > 0 {
        out.push_str(&format!(
            "\n{inaccessible} related page(s) are inaccessible (not shared with this integration, or deleted)."
        ));
    }
    out.push_str(&format!(
        "\nFetched with {} data-source queries, {} page reads, {} relation-list reads ({} on the second hop).",
        stats.queries,
        stats.page_reads,
        item_reads,
        third_stats.requests()
    ));
    if more > 0 {
        let at_least = if exact { "" } else { "at least " };
        out.push_str(&format!(
            "\n\ntruncated: {at_least}{more} more rows (raise `max_rows`, max 5000, or narrow `filter`)."
        ));
    }
    if rows.has_more {
        out.push_str(&format!(
            "\n\nOnly the first {limit} left rows were joined; raise `limit` (max 1000) or narrow `filter`."
        ));
    }
    Ok(out)
}

/// Schema-checked columns, or the names as given when the schema is not readable.
fn columns_or_names(
    ds: Option<&DataSource>,
    field: &str,
    names: Option<Vec<String>>,
) -> Result<Vec<(String, String)>, ToolError> {
    match ds {
        Some(ds) => schema_columns(ds, field, names.as_deref()),
        None => Ok(names
            .filter(|n| !n.is_empty())
            .unwrap_or_else(|| vec![TITLE.to_owned()])
            .into_iter()
            .map(|n| (n.clone(), n))
            .collect()),
    }
}

/// Related values aggregated into one cell per column (`; `-separated, empty values skipped).
fn aggregate(f: &Fetched, ids: &[String], columns: &[String]) -> Vec<String> {
    columns
        .iter()
        .enumerate()
        .map(|(i, c)| {
            ids.iter()
                .filter_map(|id| match f.page(id) {
                    Some(p) => Some(cell(p, c)),
                    None if i == 0 => Some(inaccessible_text(
                        f.inaccessible(id).unwrap_or("not fetched"),
                    )),
                    None => None,
                })
                .filter(|v| !v.is_empty())
                .collect::<Vec<_>>()
                .join("; ")
        })
        .collect()
}

/// Up to `limit` rows of data source `id`.
async fn query_rows(
    ctx: &ToolCtx,
    id: &str,
    body: &Value,
    fp: &[String],
    limit: usize,
) -> Result<pagination::Collected<Page>, ToolError> {
    let res = pagination::collect(limit, None, |cursor, size| {
        let (c, a, b) = (ctx.notion.clone(), ctx.auth.clone(), body.clone());
        let (id, fp) = (id.to_owned(), fp.to_vec());
        async move {
            endpoints::query_data_source(&c, &a, &id, b, &fp, cursor.as_deref(), Some(size)).await
        }
    })
    .await;
    res.map_err(|e: NotionError| e.into())
}

/// The complete related ids of `prop` on each page, in page order; and the property-item reads made.
async fn relation_lists(
    ctx: &ToolCtx,
    pages: &[Page],
    prop: &str,
) -> Result<(Vec<Vec<String>>, usize), ToolError> {
    let results: Vec<Result<relations::RelationIds, NotionError>> =
        stream::iter((0..pages.len()).map(|i| {
            let p = &pages[i];
            async move {
                match p.properties.find(prop) {
                    Some((_, v)) if v.kind == "relation" => {
                        relations::relation_ids(&ctx.notion, &ctx.auth, &p.id, v, MAX_FETCH).await
                    }
                    _ => Ok(relations::RelationIds::default()),
                }
            }
        }))
        .buffered(concurrency(ctx))
        .collect()
        .await;
    let mut lists = Vec::with_capacity(results.len());
    let mut reads = 0;
    for r in results {
        let r = r?;
        reads += r.requests;
        lists.push(r.ids);
    }
    Ok((lists, reads))
}
