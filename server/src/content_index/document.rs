//! What the index keeps of one page or data-source row: its title, the text of its other
//! properties, its body (Markdown, as `fetch` renders it or Notion's markdown endpoint returns it),
//! where it lives and when it was last edited. Built from Notion's decoded page objects with the
//! existing renderers (`notion_markdown::property_value`), never a renderer of its own.

use notion_model::types::Page;
use std::sync::Arc;
use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;
use uuid::Uuid;

/// One page as the index sees it.
#[derive(Debug, Clone, PartialEq)]
pub struct PageDoc {
    pub id: Uuid,
    pub workspace: Arc<str>,
    pub title: String,
    /// `Name: value` lines of the properties other than the title.
    pub properties: String,
    /// The body as Markdown; `None`: keep what the index has (a read that showed only properties).
    pub body: Option<String>,
    pub url: String,
    /// The page this one is under, when its parent is a page.
    pub parent_page: Option<Uuid>,
    /// The data source this row belongs to, when it is a row.
    pub data_source: Option<Uuid>,
    /// `last_edited_time` in Unix seconds (0 when Notion did not say).
    pub edited: i64,
    pub in_trash: bool,
}

impl PageDoc {
    /// The index's view of a page object; `None` for something that is not a page.
    pub fn from_page(workspace: &Arc<str>, page: &Page) -> Option<PageDoc> {
        if page.rest.get("object").and_then(|o| o.as_str()) != Some("page") {
            return None;
        }
        let id = Uuid::try_parse(page.id.trim()).ok()?;
        let mut properties = String::new();
        for (name, value) in page.properties.iter() {
            if value.kind == "title" {
                continue;
            }
            let text = notion_markdown::property_value(value);
            if text.trim().is_empty() {
                continue;
            }
            properties.push_str(name);
            properties.push_str(": ");
            properties.push_str(&text);
            properties.push('\n');
        }
        let parent_id = |key: &str| {
            page.parent
                .get(key)
                .and_then(|v| v.as_str())
                .and_then(|s| Uuid::try_parse(s.trim()).ok())
        };
        Some(PageDoc {
            id,
            workspace: workspace.clone(),
            title: page.title(),
            properties,
            body: None,
            url: page.url.clone().unwrap_or_default(),
            parent_page: parent_id("page_id"),
            data_source: parent_id("data_source_id"),
            edited: page
                .rest
                .get("last_edited_time")
                .and_then(|v| v.as_str())
                .map_or(0, parse_time),
            in_trash: page.in_trash
                || page.rest.get("archived").and_then(|v| v.as_bool()) == Some(true),
        })
    }

    /// The same page with its body.
    pub fn with_body(mut self, body: String) -> Self {
        self.body = Some(body);
        self
    }
}

/// Unix seconds of an RFC 3339 time (0 when it does not parse).
pub fn parse_time(text: &str) -> i64 {
    OffsetDateTime::parse(text.trim(), &Rfc3339).map_or(0, OffsetDateTime::unix_timestamp)
}

/// RFC 3339 (UTC, seconds) of Unix seconds; empty for 0.
pub fn format_time(secs: i64) -> String {
    if secs == 0 {
        return String::new();
    }
    OffsetDateTime::from_unix_timestamp(secs)
        .ok()
        .and_then(|t| t.format(&Rfc3339).ok())
        .unwrap_or_default()
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;
    use serde_json::json;

    #[test]
    fn a_row_with_properties_and_its_data_source() {
        let page: Page = serde_json::from_value(json!({
            "object": "page", "id": "1f2e3d4c-5b6a-4978-8a9b-0c1d2e3f4a5b",
            "url": "https://www.notion.so/x",
            "last_edited_time": "2026-01-02T03:04:05.000Z",
            "parent": {"type": "data_source_id", "data_source_id": "2f2e3d4c-5b6a-4978-8a9b-0c1d2e3f4a5b"},
            "properties": {
                "Name": {"id": "title", "type": "title", "title": [{"type": "text", "text": {"content": "Ship"}, "plain_text": "Ship"}]},
                "Status": {"id": "s", "type": "select", "select": {"name": "Done"}}
            }
        }))
        .unwrap();
        let ws: Arc<str> = Arc::from("w");
        let doc = PageDoc::from_page(&ws, &page).unwrap();
        assert_eq!(doc.title, "Ship");
        assert!(
            doc.properties.contains("Status: Done"),
            "{}",
            doc.properties
        );
        assert_eq!(
            doc.data_source.unwrap().to_string(),
            "2f2e3d4c-5b6a-4978-8a9b-0c1d2e3f4a5b"
        );
        assert_eq!(doc.parent_page, None);
        assert_eq!(format_time(doc.edited), "2026-01-02T03:04:05Z");
        let db: Page = serde_json::from_value(
            json!({"object": "database", "id": "1f2e3d4c-5b6a-4978-8a9b-0c1d2e3f4a5b"}),
        )
        .unwrap();
        assert!(PageDoc::from_page(&ws, &db).is_none());
    }
}
