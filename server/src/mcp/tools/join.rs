//! `join`: rows of a data source joined with the pages a relation property links to (one or two
//! hops) as one table. Related pages are fetched once each, with the relation resolver's strategy.

use super::relations::{
    TITLE, bounded_table, concurrency, relation_prop, requests_json, resolve_data_source,
    schema_columns, schema_opt,
};
use super::{Format, limit_arg};
use crate::mcp::context::ToolCtx;
use crate::mcp::error::ToolError;
use crate::mcp::registry::{Effect, ToolDef};
use crate::notion::relations::{self, FetchOptions, FetchStats, Fetched, id_key};
use crate::notion::{NotionError, endpoints, pagination};
use futures::{StreamExt, stream};
use notion_model::types::{DataSource, Page};
use schemars::JsonSchema;
use serde::Deserialize;
use serde_json::{Map, Value, json};
use std::collections::{HashMap, HashSet};

mod table;
use table::{Table, assemble};

pub fn tools() -> Vec<ToolDef> {
    vec![ToolDef::new(
        "join",
        "Join databases",
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
    #[schemars(with = "Option<Map<String, Value>>")]
    filter: Option<Value>,
    #[schemars(with = "Option<Vec<Map<String, Value>>>")]
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
    /// aggregate: a row per left row.
    mode: Option<Mode>,
    /// Max output rows (default 500, max 5000).
    max_rows: Option<u32>,
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

/// Plans the join (arguments, schemas), fetches the pages, assembles the table and renders it.
async fn join(ctx: ToolCtx, a: JoinArgs) -> Result<String, ToolError> {
    let plan = plan(&ctx, a).await?;
    let fetched = fetch(&ctx, &plan).await?;
    let table = assemble(&plan, &fetched);
    Ok(if plan.format == Some(Format::Json) {
        render_json(&fetched, table)
    } else {
        render_text(&plan, &fetched, &table, ctx.limits.max_output_chars)
    })
}

/// The checked arguments with the schemas they name: what to join and how to show it.
struct Plan {
    limit: usize,
    max_rows: usize,
    mode: Mode,
    format: Option<Format>,
    /// The left rows' query body (filter, sorts).
    body: Value,
    left_ds: DataSource,
    left: Side,
    /// The relation `via`: name and property id.
    via_name: String,
    via_id: String,
    /// The related data source: its id, and its schema when shared with the integration.
    right_id: String,
    right_ds: Option<DataSource>,
    right: Side,
    then: Option<Hop>,
}

/// The second hop: relation `then_via` of the related data source, and its target's side and schema.
struct Hop {
    name: String,
    pid: String,
    side: Side,
    ds: Option<DataSource>,
}

/// Checks the arguments and reads the schemas: left, related, and (two hops) the second related one.
async fn plan(ctx: &ToolCtx, a: JoinArgs) -> Result<Plan, ToolError> {
    let limit = limit_arg(a.limit, 100, 1000)?;
    let max_rows = limit_arg(a.max_rows, 500, 5000)
        .map_err(|_| ToolError::invalid("max_rows", "must be between 1 and 5000"))?;
    if a.filter.as_ref().is_some_and(|f| !f.is_object()) {
        return Err(ToolError::invalid(
            "filter",
            "must be a Notion filter object",
        ));
    }
    let left_ds = resolve_data_source(ctx, "id", &a.id).await?;
    let (via_name, via_id, right_id) = relation_prop(&left_ds, "via", &a.via)?;
    let left = Side {
        label: String::new(),
        columns: schema_columns(&left_ds, "columns", a.columns.as_deref())?,
    };
    let right_ds = schema_opt(ctx, &right_id).await?;
    let right = Side {
        label: via_name.clone(),
        columns: columns_or_names(right_ds.as_ref(), "related_columns", a.related_columns)?,
    };
    let then = match a.then_via.as_deref() {
        Some(tv) => {
            let right_ds = right_ds.as_ref().ok_or_else(|| {
                ToolError::invalid(
                    "then_via",
                    format!(
                        "the related data source {right_id} is not shared with this integration"
                    ),
                )
            })?;
            Some(second_hop(ctx, right_ds, &via_name, tv, a.then_columns).await?)
        }
        None if a.then_columns.is_some() => {
            return Err(ToolError::invalid(
                "then_columns",
                "needs `then_via` (the relation to follow from the related pages)",
            ));
        }
        None => None,
    };
    let mut body = json!({});
    if let Some(f) = a.filter {
        body["filter"] = f;
    }
    if let Some(s) = a.sorts {
        body["sorts"] = Value::Array(s);
    }
    Ok(Plan {
        limit,
        max_rows,
        mode: a.mode.unwrap_or_default(),
        format: a.format,
        body,
        left_ds,
        left,
        via_name,
        via_id,
        right_id,
        right_ds,
        right,
        then,
    })
}

/// Relation `then_via` of the related data source `right_ds`, with its target's columns and schema.
async fn second_hop(
    ctx: &ToolCtx,
    right_ds: &DataSource,
    via_name: &str,
    then_via: &str,
    then_columns: Option<Vec<String>>,
) -> Result<Hop, ToolError> {
    let (name, pid, target) = relation_prop(right_ds, "then_via", then_via)?;
    let ds = schema_opt(ctx, &target).await?;
    let side = Side {
        label: format!("{via_name}.{name}"),
        columns: columns_or_names(ds.as_ref(), "then_columns", then_columns)?,
    };
    Ok(Hop {
        name,
        pid,
        side,
        ds,
    })
}

/// What was read from Notion for a plan.
struct Fetch {
    /// The left rows (at most `limit`).
    rows: pagination::Collected<Page>,
    /// The related ids of each left row, in row order.
    lists: Vec<Vec<String>>,
    /// The related pages of the rows shown.
    related: Fetched,
    third: Option<Third>,
    /// Queries and page reads of both hops.
    stats: FetchStats,
    /// Relation-list (property-item) reads of both hops.
    item_reads: usize,
}

impl Fetch {
    /// Related and second-hop pages that could not be read.
    fn inaccessible(&self) -> usize {
        self.related.inaccessible.len()
            + self
                .third
                .as_ref()
                .map_or(0, |t| t.pages.inaccessible.len())
    }
}

/// The second hop as fetched.
struct Third {
    /// The pages the fetched related pages link to.
    pages: Fetched,
    /// Each fetched related page's second-hop ids, by id key.
    by_key: HashMap<String, Vec<String>>,
}

impl Third {
    /// The distinct second-hop ids of the related pages `list`.
    fn ids_of(&self, list: &[String]) -> Vec<String> {
        let lists = list.iter().filter_map(|r| self.by_key.get(&id_key(r)));
        distinct(lists.flatten(), usize::MAX)
    }
}

/// Reads the left rows, every related id of each (complete past 25 via the property-item
/// endpoint), the related pages of the rows shown and, with two hops, the second hop.
async fn fetch(ctx: &ToolCtx, plan: &Plan) -> Result<Fetch, ToolError> {
    let left_fp = wanted_ids(&plan.left, Some(&plan.left_ds), Some(&plan.via_id));
    let rows = query_rows(ctx, &plan.left_ds.id, &plan.body, &left_fp, plan.limit).await?;
    let (lists, mut item_reads) = relation_lists(ctx, &rows.items, &plan.via_name).await?;
    let needed = needed_ids(&lists, plan.mode, plan.max_rows);
    let then_pid = plan.then.as_ref().map(|h| h.pid.as_str());
    let opts = FetchOptions {
        data_source: Some(plan.right_id.clone()),
        filter_properties: wanted_ids(&plan.right, plan.right_ds.as_ref(), then_pid),
        concurrency: concurrency(ctx),
        per_page_only: false,
    };
    let related = relations::fetch_pages(&ctx.notion, &ctx.auth, &needed, &opts).await?;
    let mut stats = related.stats;
    let mut third = None;
    if let Some(hop) = &plan.then {
        let (t, reads) = fetch_second_hop(ctx, hop, &needed, &related).await?;
        item_reads += reads;
        stats.add(t.pages.stats);
        third = Some(t);
    }
    Ok(Fetch {
        rows,
        lists,
        related,
        third,
        stats,
        item_reads,
    })
}

/// The related ids to fetch (distinct, at most [`MAX_FETCH`]) for the rows shown: in aggregate
/// mode the first `max_rows` left rows, in pairs mode the first `max_rows` pairs (a left row
/// without related pages is one pair).
fn needed_ids(lists: &[Vec<String>], mode: Mode, max_rows: usize) -> Vec<String> {
    let shown_left = match mode {
        Mode::Pairs => lists.len(),
        Mode::Aggregate => lists.len().min(max_rows),
    };
    let mut shown: Vec<&String> = Vec::new();
    let mut pairs = 0usize;
    'outer: for list in lists.iter().take(shown_left) {
        for id in list {
            if mode == Mode::Pairs && pairs >= max_rows {
                break 'outer;
            }
            pairs += 1;
            shown.push(id);
        }
        pairs += usize::from(list.is_empty());
    }
    distinct(shown, MAX_FETCH)
}

/// The first `cap` distinct ids (by id key) of `ids`, in order.
fn distinct<'a>(ids: impl IntoIterator<Item = &'a String>, cap: usize) -> Vec<String> {
    let mut out = Vec::new();
    let mut seen = HashSet::new();
    for id in ids {
        if out.len() < cap && seen.insert(id_key(id)) {
            out.push(id.clone());
        }
    }
    out
}

/// The second hop: the relation lists of the fetched related pages, then their pages; and the
/// relation-list reads made.
async fn fetch_second_hop(
    ctx: &ToolCtx,
    hop: &Hop,
    needed: &[String],
    related: &Fetched,
) -> Result<(Third, usize), ToolError> {
    let pages: Vec<Page> = needed
        .iter()
        .filter_map(|id| related.page(id).cloned())
        .collect();
    let (then_lists, reads) = relation_lists(ctx, &pages, &hop.name).await?;
    let by_key: HashMap<String, Vec<String>> = pages
        .iter()
        .zip(then_lists)
        .map(|(p, l)| (id_key(&p.id), l))
        .collect();
    let ids = distinct(by_key.values().flatten(), MAX_FETCH);
    let opts = FetchOptions {
        data_source: hop.ds.as_ref().map(|d| d.id.clone()),
        filter_properties: wanted_ids(&hop.side, hop.ds.as_ref(), None),
        concurrency: concurrency(ctx),
        per_page_only: false,
    };
    let pages = relations::fetch_pages(&ctx.notion, &ctx.auth, &ids, &opts).await?;
    Ok((Third { pages, by_key }, reads))
}

/// The table as JSON: columns, rows (ids and cells) and the counts.
fn render_json(f: &Fetch, t: Table) -> String {
    let more = t.more();
    let rows_json: Vec<Value> = t
        .rows
        .iter()
        .zip(t.ids)
        .map(|(cells, mut ids)| {
            ids["cells"] = json!(cells);
            ids
        })
        .collect();
    serde_json::to_string(&json!({
        "columns": t.header, "rows": rows_json, "left_rows": f.rows.items.len(),
        "left_has_more": f.rows.has_more, "more_rows": more, "more_rows_exact": t.exact,
        "inaccessible": f.inaccessible(), "requests": requests_json(&f.stats, f.item_reads),
    }))
    .unwrap_or_default()
}

/// The table as text: a summary line, the table (within `max_chars`) and the footer notes.
fn render_text(plan: &Plan, f: &Fetch, t: &Table, max_chars: usize) -> String {
    let mut out = format!(
        "{} left row(s) joined via {}{}: {} output row(s).\n\n",
        f.rows.items.len(),
        plan.via_name,
        plan.then
            .as_ref()
            .map(|h| format!(" then {}", h.name))
            .unwrap_or_default(),
        t.total
    );
    if t.rows.is_empty() {
        out.push_str("No rows match.");
        return out;
    }
    out.push_str(&bounded_table(&t.header, &t.rows, max_chars));
    let inaccessible = f.inaccessible();
    if inaccessible > 0 {
        out.push_str(&format!(
            "\n{inaccessible} related page(s) are inaccessible (not shared with this integration, or deleted)."
        ));
    }
    let third_stats = f.third.as_ref().map(|t| t.pages.stats).unwrap_or_default();
    out.push_str(&format!(
        "\nFetched with {} data-source queries, {} page reads, {} relation-list reads ({} on the second hop).",
        f.stats.queries,
        f.stats.page_reads,
        f.item_reads,
        third_stats.requests()
    ));
    let more = t.more();
    if more > 0 {
        let at_least = if t.exact { "" } else { "at least " };
        out.push_str(&format!(
            "\n\ntruncated: {at_least}{more} more rows (raise `max_rows`, max 5000, or narrow `filter`)."
        ));
    }
    if f.rows.has_more {
        out.push_str(&format!(
            "\n\nOnly the first {} left rows were joined; raise `limit` (max 1000) or narrow `filter`.",
            plan.limit
        ));
    }
    out
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
