//! MCP resources: any page as Markdown (`notion://page/{id}`) and a guide to our Markdown dialect.

use super::cache_hints;
use super::context::ToolCtx;
use super::error::ToolError;
use super::tools::fetch_page_markdown;
use rmcp::ErrorData as McpError;
use rmcp::model::{ReadResourceResult, Resource, ResourceContents, ResourceTemplate};

const GUIDE_URI: &str = "notion://guide/markdown";
const PAGE_PREFIX: &str = "notion://page/";

/// The Markdown dialect our tools read and write.
pub const MARKDOWN_GUIDE: &str = include_str!("markdown_guide.md");

pub fn list() -> Vec<Resource> {
    vec![
        Resource::new(GUIDE_URI, "markdown-guide")
            .with_title("Notion Markdown guide")
            .with_description(
                "How this server renders Notion blocks, properties and mentions as Markdown.",
            )
            .with_mime_type("text/markdown")
            .with_size(MARKDOWN_GUIDE.len() as u64),
    ]
}

pub fn templates() -> Vec<ResourceTemplate> {
    vec![
        ResourceTemplate::new("notion://page/{id}", "page")
            .with_title("Notion page")
            .with_description("A page's properties and content as Markdown; {id} is a page id or URL-encoded Notion URL.")
            .with_mime_type("text/markdown"),
    ]
}

pub async fn read(uri: &str, ctx: Option<ToolCtx>) -> Result<ReadResourceResult, McpError> {
    if uri == GUIDE_URI {
        let (ttl, scope) = cache_hints::GUIDE;
        return Ok(ReadResourceResult::new(vec![
            ResourceContents::text(MARKDOWN_GUIDE, uri).with_mime_type("text/markdown"),
        ])
        .with_ttl_ms(ttl)
        .with_cache_scope(scope));
    }
    let Some(raw_id) = uri.strip_prefix(PAGE_PREFIX) else {
        return Err(McpError::resource_not_found(
            format!("unknown resource '{uri}': use {PAGE_PREFIX}{{id}} or {GUIDE_URI}"),
            Some(serde_json::json!({ "uri": uri })),
        ));
    };
    let Some(ctx) = ctx else {
        return Err(McpError::invalid_request(
            "reading Notion pages needs an authenticated request",
            None,
        ));
    };
    let id = percent_decode(raw_id);
    match fetch_page_markdown(&ctx, &id).await {
        Ok(md) => {
            let (ttl, scope) = cache_hints::PAGE;
            Ok(ReadResourceResult::new(vec![
                ResourceContents::text(md, uri).with_mime_type("text/markdown"),
            ])
            .with_ttl_ms(ttl)
            .with_cache_scope(scope))
        }
        Err(ToolError::Notion(e)) if e.status() == Some(404) => Err(McpError::resource_not_found(
            e.to_string(),
            Some(serde_json::json!({ "uri": uri })),
        )),
        Err(ToolError::InvalidArgument { message, .. }) => {
            Err(McpError::invalid_params(message, None))
        }
        Err(e) => Err(McpError::internal_error(e.to_string(), None)),
    }
}

/// Decode `%XX` escapes (a Notion URL passed as the template variable).
fn percent_decode(s: &str) -> String {
    url::form_urlencoded::parse(format!("x={}", s.replace('+', "%2B")).as_bytes())
        .next()
        .map(|(_, v)| v.into_owned())
        .unwrap_or_else(|| s.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn decodes_url_encoded_ids() {
        assert_eq!(
            percent_decode("https%3A%2F%2Fwww.notion.so%2FX-abc"),
            "https://www.notion.so/X-abc"
        );
        assert_eq!(percent_decode("0123"), "0123");
    }
}
