//! The tools, grouped by Notion area. Each file defines its argument types and thin async functions:
//! validate → call `notion::endpoints` → render with `notion::markdown` (or slim JSON).

mod blocks;
mod blocks_write;
mod comments;
mod comments_write;
mod data;
mod data_write;
mod duplicate;
mod emojis;
mod fetch;
mod files;
mod join;
mod markdown;
mod meetings;
mod pages;
mod pages_write;
mod property_refs;
mod relation_titles;
mod relations;
mod search;
mod tasks;
mod users;
mod view_query;
mod views;

use super::error::ToolError;
use super::registry::ToolDef;
use notion_model::ids;
use schemars::JsonSchema;
use serde::Deserialize;

/// Every tool, in the order clients list them.
pub fn all() -> Vec<ToolDef> {
    let mut v = Vec::new();
    v.extend(search::tools());
    v.extend(fetch::tools());
    v.extend(data::tools());
    v.extend(pages::tools());
    v.extend(relations::tools());
    v.extend(join::tools());
    v.extend(blocks::tools());
    v.extend(users::tools());
    v.extend(comments::tools());
    v.extend(pages_write::tools());
    v.extend(markdown::tools());
    v.extend(blocks_write::tools());
    v.extend(data_write::tools());
    v.extend(comments_write::tools());
    v.extend(files::tools());
    v.extend(tasks::tools());
    v.extend(duplicate::tools());
    v.extend(meetings::tools());
    v.extend(views::tools());
    v
}

// Output format (default markdown). A plain comment: a doc comment would be repeated as the
// description of `format` in every tool's schema.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum Format {
    #[default]
    Markdown,
    Json,
}

/// Parse an id-or-URL argument, naming the field on error.
pub(crate) fn id_arg(field: &str, value: &str) -> Result<String, ToolError> {
    ids::parse_id(value).map_err(|e| ToolError::invalid(field, e.to_string()))
}

/// A page property by name or id; an unknown one is an error on `field` listing the page's properties.
pub(crate) fn find_property<'a>(
    page: &'a notion_model::types::Page,
    field: &str,
    wanted: &str,
) -> Result<(&'a String, &'a notion_model::types::PropertyValue), ToolError> {
    page.properties.find(wanted).ok_or_else(|| {
        let names: Vec<&str> = page.properties.iter().map(|(n, _)| n.as_str()).collect();
        ToolError::invalid(
            field,
            format!(
                "page has no property \"{wanted}\"; it has: {}",
                names.join(", ")
            ),
        )
    })
}

/// A result-count argument clamped to `1..=max`, defaulting to `default`.
pub(crate) fn limit_arg(
    value: Option<u32>,
    default: usize,
    max: usize,
) -> Result<usize, ToolError> {
    match value {
        None => Ok(default),
        Some(0) => Err(ToolError::invalid("limit", "must be at least 1")),
        Some(n) if n as usize > max => Err(ToolError::invalid(
            "limit",
            format!("must be at most {max}, got {n}"),
        )),
        Some(n) => Ok(n as usize),
    }
}

/// Slim JSON, pretty enough to read, compact enough to pay for.
pub(crate) fn json_out(value: &serde_json::Value) -> String {
    serde_json::to_string(&notion_model::slim::slim(value)).unwrap_or_default()
}

/// The line that tells the model how to continue a bounded listing.
pub(crate) fn more(tool: &str, cursor: Option<&str>) -> String {
    match cursor {
        Some(c) => format!(
            "\n\nMore results: call `{tool}` again with the same arguments and cursor=\"{c}\"."
        ),
        None => String::new(),
    }
}

/// A page's properties and content as Markdown, delimited as Notion data like tool output (used by
/// the `notion://page/{id}` resource).
pub(crate) async fn fetch_page_markdown(
    ctx: &super::context::ToolCtx,
    id_or_url: &str,
) -> Result<String, ToolError> {
    let id = id_arg("id", id_or_url)?;
    let opts = notion_markdown::RenderOptions {
        include_block_ids: false,
        max_chars: ctx.limits.max_output_chars,
    };
    let page = fetch::fetch_page(ctx, &id, None, &opts, false).await?;
    Ok(page.render(ctx.limits.max_output_chars))
}
