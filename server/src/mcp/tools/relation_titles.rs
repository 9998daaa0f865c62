//! `relations: "titles"` on row listings: each related page's title next to its id. Every distinct
//! related page is read once per call (the cached page read, so pages read before cost nothing),
//! a few at a time under the pacer, up to [`MAX_TITLES`]; the rest keep their bare ids.

use super::relations::concurrency;
use crate::mcp::context::ToolCtx;
use crate::mcp::error::ToolError;
use crate::notion::relations::{self, FetchOptions, id_key};
use notion_model::types::Page;
use schemars::JsonSchema;
use serde::Deserialize;
use serde_json::{Value, json};
use std::collections::HashSet;

/// Most related pages whose titles one call looks up.
pub(crate) const MAX_TITLES: usize = 200;

// How relation cells show related pages (a plain comment: the schema repeats doc comments).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum RelationsAs {
    #[default]
    Ids,
    Titles,
}

/// Adds `title` to the relation items of `rows` (the shown `columns`, or all), which the Markdown
/// tables render as `Title (id)`. Returns a note when some titles were not looked up.
pub(crate) async fn add_titles(
    ctx: &ToolCtx,
    rows: &mut [Page],
    columns: Option<&[String]>,
) -> Result<Option<String>, ToolError> {
    let shown =
        |name: &str, id: &str| columns.is_none_or(|c| c.iter().any(|c| c == name || c == id));
    let mut seen = HashSet::new();
    let mut ids = Vec::new();
    for row in rows.iter() {
        for (name, p) in row.properties.iter() {
            if p.kind != "relation" || !shown(name, &p.id) {
                continue;
            }
            for item in p.value().and_then(Value::as_array).into_iter().flatten() {
                if let Some(id) = item.get("id").and_then(Value::as_str)
                    && seen.insert(id_key(id))
                {
                    ids.push(id.to_string());
                }
            }
        }
    }
    let skipped = ids.len().saturating_sub(MAX_TITLES);
    ids.truncate(MAX_TITLES);
    if ids.is_empty() {
        return Ok(None);
    }
    let opts = FetchOptions {
        concurrency: concurrency(ctx),
        per_page_only: true,
        ..FetchOptions::default()
    };
    let fetched = relations::fetch_pages(&ctx.notion, &ctx.auth, &ids, &opts).await?;
    for row in rows.iter_mut() {
        for (name, p) in row.properties.0.iter_mut() {
            if p.kind != "relation" || !shown(name, &p.id) {
                continue;
            }
            let Some(Value::Array(items)) = p.rest.get_mut(p.kind.as_str()) else {
                continue;
            };
            for item in items.iter_mut() {
                let title = item
                    .get("id")
                    .and_then(Value::as_str)
                    .and_then(|id| fetched.page(id))
                    .map(|page| page.title().trim().to_string());
                if let (Some(t), Some(o)) = (title, item.as_object_mut()) {
                    o.insert("title".into(), json!(t));
                }
            }
        }
    }
    Ok((skipped > 0).then(|| {
        format!(
            "\n\nTitles of {skipped} more related page(s) were not looked up (at most {MAX_TITLES} per \
             call); they show as ids."
        )
    }))
}
