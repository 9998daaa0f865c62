//! Argument completion: page and database arguments complete to matching Notion URLs (one search).

use super::context::ToolCtx;
use crate::notion::endpoints;
use rmcp::model::{CompleteRequestParams, CompleteResult, CompletionInfo, Reference};
use serde_json::{Value, json};

const MAX_VALUES: usize = 10;

pub async fn complete(request: &CompleteRequestParams, ctx: Option<ToolCtx>) -> CompleteResult {
    let filter = match (&request.r#ref, request.argument.name.as_str()) {
        (Reference::Prompt(_), "page") | (Reference::Resource(_), "id") => Some("page"),
        (Reference::Prompt(_), "database") => Some("data_source"),
        _ => None,
    };
    let (Some(filter), Some(ctx)) = (filter, ctx) else {
        return CompleteResult::default();
    };
    let query = request.argument.value.trim();
    let mut body = json!({"filter": {"property": "object", "value": filter}});
    if !query.is_empty() {
        body["query"] = json!(query);
    }
    let Ok(found) =
        endpoints::search(&ctx.notion, &ctx.auth, body, None, Some(MAX_VALUES as u32)).await
    else {
        return CompleteResult::default();
    };
    let values: Vec<String> = found
        .results
        .iter()
        .filter_map(|r| {
            r.get("url")
                .and_then(Value::as_str)
                .or_else(|| r.get("id").and_then(Value::as_str))
        })
        .map(str::to_string)
        .take(MAX_VALUES)
        .collect();
    let has_more = found.has_more;
    match CompletionInfo::new(values) {
        Ok(mut info) => {
            info.has_more = Some(has_more);
            CompleteResult::new(info)
        }
        Err(_) => CompleteResult::default(),
    }
}
