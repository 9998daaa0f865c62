//! Page properties: `get_page` and `get_page_property` (complete values past the 25-reference cap).

use super::{Format, find_property, id_arg, json_out, limit_arg};
use crate::mcp::context::ToolCtx;
use crate::mcp::error::ToolError;
use crate::mcp::registry::{Effect, ToolDef};
use crate::notion::endpoints;
use notion_markdown as markdown;
use notion_model::types::{Page, RichText};
use schemars::JsonSchema;
use serde::Deserialize;
use serde_json::{Value, json};

pub fn tools() -> Vec<ToolDef> {
    vec![
        ToolDef::new(
            "get_page",
            "Get page",
            "A page's title, properties, parent, icon and url (no content: use `fetch`).",
            Effect::Read,
            get_page,
        ),
        ToolDef::new(
            "get_page_property",
            "Get property value",
            "All items of one page property (relations, people, rollups, long text), past the 25 a page read \
             shows.",
            Effect::Read,
            get_page_property,
        ),
    ]
}

#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct GetPageArgs {
    id: String,
    format: Option<Format>,
}

/// A page's header, rendered once per page answer: callers that share the answer (a read in flight,
/// a cache entry) share the rendering, so a repeated read neither decodes nor renders again.
async fn get_page(ctx: ToolCtx, a: GetPageArgs) -> Result<String, ToolError> {
    let id = id_arg("id", &a.id)?;
    if a.format == Some(Format::Json) {
        let page: Page = endpoints::retrieve_page(&ctx.notion, &ctx.auth, &id, &[]).await?;
        return Ok(json_out(&serde_json::to_value(&page).unwrap_or_default()));
    }
    let header = endpoints::retrieve_page_view(&ctx.notion, &ctx.auth, &id, PageHeader::of).await?;
    Ok(header.0.clone())
}

/// [`get_page`]'s Markdown of a page (kept with the page's answer, see [`crate::notion::Answer::view`]).
struct PageHeader(String);

impl PageHeader {
    fn of(page: &Page) -> PageHeader {
        let mut out = markdown::page_header(page);
        let capped: Vec<&str> = page
            .properties
            .iter()
            .filter(|(_, p)| p.has_more())
            .map(|(n, _)| n.as_str())
            .collect();
        if !capped.is_empty() {
            out.push_str(&format!(
                "\n\nNotion shows at most 25 items of: {}. Use `get_page_property` for all of them.",
                capped.join(", ")
            ));
        }
        PageHeader(out)
    }
}

#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct GetPropertyArgs {
    page_id: String,
    /// Name or id.
    property: String,
    /// Max items (default 1000, max 10000).
    limit: Option<u32>,
    format: Option<Format>,
}

async fn get_page_property(ctx: ToolCtx, a: GetPropertyArgs) -> Result<String, ToolError> {
    let page_id = id_arg("page_id", &a.page_id)?;
    let limit = limit_arg(a.limit, 1000, 10_000)?;
    // Property names must be mapped to ids; the page read gives both.
    let page: Page = endpoints::retrieve_page(&ctx.notion, &ctx.auth, &page_id, &[]).await?;
    let (name, prop) = find_property(&page, "property", &a.property)?;
    let items =
        endpoints::all_property_items(&ctx.notion, &ctx.auth, &page_id, &prop.id, limit).await?;
    if a.format == Some(Format::Json) {
        return Ok(json_out(
            &json!({"property": name, "type": items.property_type, "items": items.items,
            "rollup": items.rollup, "truncated": items.truncated}),
        ));
    }
    let mut out = format!(
        "{name} ({}): {} item(s)\n\n",
        items.property_type,
        items.items.len()
    );
    for item in &items.items {
        out.push_str("- ");
        out.push_str(&item_text(item));
        out.push('\n');
    }
    if let Some(r) = &items.rollup {
        out.push_str(&format!("\nRollup value: {}\n", compact(r)));
    }
    if items.truncated {
        out.push_str(&format!(
            "\n… stopped at {limit} items; raise `limit` to read more."
        ));
    }
    Ok(out)
}

/// One property item as text: relation → page id, people → name, text → Markdown.
fn item_text(item: &Value) -> String {
    let kind = item.get("type").and_then(Value::as_str).unwrap_or("");
    let v = item.get(kind).unwrap_or(&Value::Null);
    match kind {
        "relation" => v
            .get("id")
            .and_then(Value::as_str)
            .unwrap_or("")
            .to_string(),
        "people" => {
            let name = v.get("name").and_then(Value::as_str);
            let id = v.get("id").and_then(Value::as_str).unwrap_or("");
            name.map_or_else(|| id.to_string(), |n| format!("{n} ({id})"))
        }
        "title" | "rich_text" => serde_json::from_value::<RichText>(v.clone())
            .map(|t| markdown::rich_text(std::slice::from_ref(&t)))
            .unwrap_or_default(),
        _ => compact(v),
    }
}

fn compact(v: &Value) -> String {
    match v {
        Value::String(s) => s.clone(),
        other => other.to_string(),
    }
}
