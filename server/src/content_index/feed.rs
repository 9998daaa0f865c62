//! Reads the server makes anyway feed the index: a page read, the rows of a data-source query, a
//! page's Markdown, a page `fetch` rendered. Nothing here asks Notion for anything; answers are
//! turned into [`Job`]s for the worker.

use super::document::PageDoc;
use super::{ContentIndex, Job};
use crate::notion::Answer;
use crate::notion::read_through::ReadObserver;
use notion_model::types::Page;
use serde::Deserialize;
use serde_json::Value;
use std::sync::Arc;
use uuid::Uuid;

const PAGE: &str = "GET /v1/pages/{id}";
const QUERY: &str = "POST /v1/data_sources/{id}/query";
const MARKDOWN: &str = "GET /v1/pages/{id}/markdown";

impl ReadObserver for ContentIndex {
    fn wants(&self, endpoint: &'static str) -> bool {
        matches!(endpoint, PAGE | QUERY | MARKDOWN)
    }

    fn observed(&self, workspace: &Arc<str>, endpoint: &'static str, path: &str, answer: &Answer) {
        match endpoint {
            // Decoded as the tool that made the read decodes it, which then finds it done.
            PAGE => {
                if let Ok(page) = answer.view(|json| Page::deserialize(json)) {
                    self.page_read(workspace, &page, None);
                }
            }
            QUERY => {
                for row in answer
                    .get("results")
                    .and_then(Value::as_array)
                    .into_iter()
                    .flatten()
                {
                    self.page_json(workspace, row);
                }
            }
            MARKDOWN => {
                let id = path
                    .trim_start_matches("/v1/pages/")
                    .split('/')
                    .next()
                    .and_then(|s| Uuid::try_parse(s).ok());
                let markdown = answer.get("markdown").and_then(Value::as_str);
                let truncated = answer.get("truncated").and_then(Value::as_bool) == Some(true);
                if let (Some(id), Some(markdown), false) = (id, markdown, truncated) {
                    self.enqueue(Job::Body {
                        workspace: workspace.clone(),
                        id,
                        markdown: markdown.to_owned(),
                    });
                }
            }
            _ => {}
        }
    }
}

impl ContentIndex {
    fn page_json(&self, workspace: &Arc<str>, value: &Value) {
        let Ok(page) = Page::deserialize(value) else {
            return;
        };
        self.page_read(workspace, &page, None);
    }

    /// A page a tool read, with its rendered body when the tool read the whole of it.
    pub fn page_read(&self, workspace: &Arc<str>, page: &Page, body: Option<String>) {
        if let Some(mut doc) = PageDoc::from_page(workspace, page) {
            doc.body = body;
            self.enqueue(Job::Page(Box::new(doc)));
        }
    }
}
