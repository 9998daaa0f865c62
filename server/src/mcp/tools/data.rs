//! Databases and data sources: `query_data_source`, `get_data_source` (a database id gives the
//! database and its first source's schema), `list_data_source_templates`.

use super::relation_titles::{self, RelationsAs};
use super::{Format, id_arg, json_out, limit_arg, more};
use crate::mcp::context::ToolCtx;
use crate::mcp::error::ToolError;
use crate::mcp::output::ToolOutput;
use crate::mcp::registry::{Effect, ToolDef};
use crate::notion::{NotionError, endpoints, pagination};
use notion_markdown as markdown;
use notion_model::types::{Database, Page};
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value, json};

pub fn tools() -> Vec<ToolDef> {
    vec![
        ToolDef::new(
            "query_data_source",
            "Query rows",
            "Rows of a data source as a Markdown table. `filter`/`sorts` use Notion's \
             query JSON, e.g. {\"property\":\"Status\",\"status\":{\"equals\":\"Done\"}}.",
            Effect::Read,
            query_data_source,
        ),
        ToolDef::new(
            "get_data_source",
            "Get schema",
            "A data source's schema: property names, types, options, relation targets, formulas; for a \
             database id: its title, sources and the first one's schema.",
            Effect::Read,
            get_data_source,
        ),
        ToolDef::new(
            "list_data_source_templates",
            "List templates",
            "Page templates of a data source (ids for create_page's `template`).",
            Effect::Read,
            list_templates,
        ),
    ]
}

#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct QueryArgs {
    /// Data source or database id/URL.
    id: String,
    #[schemars(with = "Option<Map<String, Value>>")]
    filter: Option<Value>,
    sorts: Option<Vec<SortKey>>,
    /// Property names to show.
    columns: Option<Vec<String>>,
    /// Max rows (default 50, max 2000).
    limit: Option<u32>,
    cursor: Option<String>,
    relations: Option<RelationsAs>,
    format: Option<Format>,
}

// One sort key: a property (by name) or a timestamp (a plain comment: kept out of the schema).
#[derive(Debug, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields)]
struct SortKey {
    #[serde(skip_serializing_if = "Option::is_none")]
    property: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    timestamp: Option<Timestamp>,
    direction: Direction,
}

#[derive(Debug, Deserialize, Serialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
enum Timestamp {
    CreatedTime,
    LastEditedTime,
}

#[derive(Debug, Deserialize, Serialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
enum Direction {
    Ascending,
    Descending,
}

async fn query_data_source(ctx: ToolCtx, a: QueryArgs) -> Result<ToolOutput, ToolError> {
    let id = id_arg("id", &a.id)?;
    let limit = limit_arg(a.limit, 50, 2000)?;
    if a.filter.as_ref().is_some_and(|f| !f.is_object()) {
        return Err(ToolError::invalid(
            "filter",
            "must be a Notion filter object",
        ));
    }
    let mut body = json!({});
    if let Some(f) = a.filter {
        body["filter"] = f;
    }
    if let Some(sorts) = a.sorts {
        for (i, s) in sorts.iter().enumerate() {
            if s.property.is_some() == s.timestamp.is_some() {
                return Err(ToolError::invalid(
                    format!("sorts[{i}]"),
                    "give exactly one of `property` or `timestamp`",
                ));
            }
        }
        body["sorts"] = serde_json::to_value(sorts).unwrap_or_default();
    }
    let mut note = String::new();
    let (ds_id, mut rows) = match run_query(&ctx, &id, &body, limit, a.cursor.clone()).await {
        Ok(r) => (id.clone(), r),
        Err(ToolError::Notion(e)) if e.status() == Some(404) => {
            // Maybe a database id: resolve its data source(s).
            let db: Database = match endpoints::retrieve_database(&ctx.notion, &ctx.auth, &id).await
            {
                Ok(db) => db,
                Err(second) => return Err(ToolError::Notion(e.or_transient(second))),
            };
            let first = db.data_sources.first().ok_or_else(|| {
                ToolError::invalid(
                    "id",
                    format!("database {id} has no data sources shared with this integration"),
                )
            })?;
            if db.data_sources.len() > 1 {
                let others: Vec<String> = db
                    .data_sources
                    .iter()
                    .skip(1)
                    .map(|s| format!("{} ({})", s.name, s.id))
                    .collect();
                note = format!(
                    "Database has {} data sources; showing \"{}\". Others: {}.\n\n",
                    db.data_sources.len(),
                    first.name,
                    others.join(", ")
                );
            }
            let rows = run_query(&ctx, &first.id, &body, limit, a.cursor).await?;
            (first.id.clone(), rows)
        }
        Err(e) => return Err(e),
    };
    let titles_note = match a.relations {
        Some(RelationsAs::Titles) => {
            relation_titles::add_titles(&ctx, &mut rows.items, a.columns.as_deref()).await?
        }
        _ => None,
    };
    if a.format == Some(Format::Json) {
        let out = json_out(
            &json!({"data_source_id": ds_id, "results": rows.items, "next_cursor": rows.next_cursor}),
        );
        return Ok(ToolOutput::data(out).with_note(titles_note.unwrap_or_default()));
    }
    let mut out = note;
    if rows.items.is_empty() {
        out.push_str("No rows match.");
        return Ok(ToolOutput::data(out));
    }
    out.push_str(&markdown::rows_table(&rows.items, a.columns.as_deref()));
    out.push_str(&format!("\n\n{} row(s).", rows.items.len()));
    if let Some(r) = rows
        .request_status
        .as_ref()
        .and_then(|s| s.get("incomplete_reason"))
        .and_then(Value::as_str)
    {
        out.push_str(&format!(" Notion stopped early ({r}); narrow the filter."));
    }
    Ok(ToolOutput::data(out)
        .with_note(titles_note.unwrap_or_default())
        .with_note(more("query_data_source", rows.next_cursor.as_deref())))
}

async fn run_query(
    ctx: &ToolCtx,
    id: &str,
    body: &Value,
    limit: usize,
    cursor: Option<String>,
) -> Result<pagination::Collected<Page>, ToolError> {
    let res = pagination::collect(limit, cursor, |cursor, page_size| {
        let (ctx, b, id) = (ctx.clone(), body.clone(), id.to_string());
        async move {
            endpoints::query_data_source(
                &ctx.notion,
                &ctx.auth,
                &id,
                b,
                &[],
                cursor.as_deref(),
                Some(page_size),
            )
            .await
        }
    })
    .await;
    res.map_err(|e: NotionError| e.into())
}

#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct IdArgs {
    /// Id or Notion URL.
    id: String,
    format: Option<Format>,
}

async fn get_data_source(ctx: ToolCtx, a: IdArgs) -> Result<String, ToolError> {
    let id = id_arg("id", &a.id)?;
    let json = a.format == Some(Format::Json);
    let e = match endpoints::retrieve_data_source(&ctx.notion, &ctx.auth, &id).await {
        Ok(ds) if json => return Ok(json_out(&serde_json::to_value(&ds).unwrap_or_default())),
        Ok(ds) => return Ok(markdown::data_source_schema(&ds)),
        Err(e) if e.status() == Some(404) => e,
        Err(e) => return Err(e.into()),
    };
    // Maybe a database id: the database, and the schema of its first data source.
    let db: Database = endpoints::retrieve_database(&ctx.notion, &ctx.auth, &id)
        .await
        .map_err(|second| e.or_transient(second))?;
    let first = match db.data_sources.first() {
        Some(s) => Some(endpoints::retrieve_data_source(&ctx.notion, &ctx.auth, &s.id).await?),
        None => None,
    };
    if json {
        return Ok(json_out(&json!({"database": db, "data_source": first})));
    }
    let mut out = markdown::database_summary(&db);
    if let Some(ds) = first {
        out.push_str("\n\n");
        out.push_str(&markdown::data_source_schema(&ds));
    }
    Ok(out)
}

#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct TemplateArgs {
    /// Data source id/URL.
    id: String,
    /// Name contains this.
    name: Option<String>,
    cursor: Option<String>,
}

async fn list_templates(ctx: ToolCtx, a: TemplateArgs) -> Result<ToolOutput, ToolError> {
    let id = id_arg("id", &a.id)?;
    let v = endpoints::list_data_source_templates(
        &ctx.notion,
        &ctx.auth,
        &id,
        a.name.as_deref(),
        a.cursor.as_deref(),
        None,
    )
    .await?;
    let templates = v
        .get("templates")
        .and_then(Value::as_array)
        .cloned()
        .unwrap_or_default();
    if templates.is_empty() {
        return Ok(ToolOutput::data("This data source has no page templates."));
    }
    let mut out = String::new();
    for t in &templates {
        let name = t.get("name").and_then(Value::as_str).unwrap_or("(unnamed)");
        let tid = t.get("id").and_then(Value::as_str).unwrap_or("");
        let default = if t.get("is_default").and_then(Value::as_bool) == Some(true) {
            " (default)"
        } else {
            ""
        };
        out.push_str(&format!("- {name}{default} — {tid}\n"));
    }
    let next = v.get("next_cursor").and_then(Value::as_str);
    Ok(ToolOutput::data(out).with_note(more("list_data_source_templates", next)))
}
