//! What the Notion client decodes from Notion's answers. The first byte picks what the rest is:
//! 0. an error response (status from the next two bytes): `NotionError::from_response` /
//!    `parse_error_body` and every accessor the retry and breaker logic reads;
//! 1. a `Retry-After` header value (`parse_retry_after`);
//! 2. an id or Notion link (`parse_ref`, `parse_id`: the result must parse again to itself);
//! 3. a block list page, rendered to Markdown;
//! 4. a page, its header and every property value rendered; a page list as a rows table;
//! 5. a data source, database or user, rendered;
//! 6. a sequence of list pages (a JSON array) fed to the paginator with a bound from the next byte;
//! 7. any JSON through `slim` (the compact JSON view tools return).
#![no_main]

use libfuzzer_sys::fuzz_target;
use notion_mcp_remote::notion::error::{parse_error_body, parse_retry_after};
use notion_markdown::{
    RenderOptions, blocks, data_source_schema, database_summary, page_header, property_value,
    rows_table, user_line,
};
use notion_model::slim::slim;
use notion_model::types::{
    Block, BlockNode, DataSource, Database, ListResponse, Page, User,
};
use notion_mcp_remote::notion::{NotionError, collect, parse_id, parse_ref};
use serde_json::Value;
use std::time::{Duration, SystemTime};

fn exercise(e: &NotionError) {
    let _ = (
        e.code(),
        e.status(),
        e.retry_after_seconds(),
        e.retry_after(),
    );
    let _ = (e.request_id(), e.additional_data(), e.is_unauthorized());
    let _ = (
        e.rate_limit_reason(),
        e.is_blocked(),
        e.committed_resource_id(),
    );
    let _ = (
        e.committed_child_ids(),
        e.retry_guidance(),
        e.is_committed_write(),
    );
    let _ = (e.is_retryable(), e.to_string());
}

fuzz_target!(|data: &[u8]| {
    let Some((&pick, rest)) = data.split_first() else {
        return;
    };
    let text = || String::from_utf8_lossy(rest);
    match pick % 8 {
        0 => {
            let (status, body) = match rest {
                [a, b, body @ ..] => (u16::from_be_bytes([*a, *b]) % 600, body),
                _ => (500, rest),
            };
            exercise(&parse_error_body(status, body));
            let mut headers = http::HeaderMap::new();
            headers.insert("retry-after", http::HeaderValue::from_static("2"));
            headers.insert("x-request-id", http::HeaderValue::from_static("req-1"));
            exercise(&NotionError::from_response(status, &headers, body));
        }
        1 => {
            let now = SystemTime::UNIX_EPOCH + Duration::from_secs(1_700_000_000);
            let _ = parse_retry_after(&text(), now);
        }
        2 => {
            let input = text();
            if let Ok(r) = parse_ref(&input) {
                assert_eq!(r.id.len(), 36, "{r:?}");
                assert_eq!(parse_id(&r.id).as_deref(), Ok(r.id.as_str()));
                if let Some(b) = &r.block_id {
                    assert_eq!(parse_id(b).as_deref(), Ok(b.as_str()));
                }
            }
        }
        3 => {
            if let Ok(list) = serde_json::from_slice::<ListResponse<Block>>(rest) {
                let nodes: Vec<BlockNode> = list
                    .results
                    .into_iter()
                    .map(|b| BlockNode {
                        block: Some(b),
                        children: Vec::new(),
                        children_omitted: list.has_more,
                    })
                    .collect();
                for include_block_ids in [false, true] {
                    let opts = RenderOptions {
                        include_block_ids,
                        max_chars: 200,
                    };
                    let _ = blocks(&nodes, &opts);
                }
            }
        }
        4 => {
            if let Ok(page) = serde_json::from_slice::<Page>(rest) {
                let _ = page_header(&page);
                let _ = page.title();
                for (_, p) in page.properties.iter() {
                    let _ = property_value(p);
                }
            } else if let Ok(list) = serde_json::from_slice::<ListResponse<Page>>(rest) {
                let _ = rows_table(&list.results, None);
                let cols = vec!["Name".to_string(), "Status".to_string()];
                let _ = rows_table(&list.results, Some(&cols));
            }
        }
        5 => {
            if let Ok(ds) = serde_json::from_slice::<DataSource>(rest) {
                let _ = data_source_schema(&ds);
            }
            if let Ok(db) = serde_json::from_slice::<Database>(rest) {
                let _ = database_summary(&db);
            }
            if let Ok(u) = serde_json::from_slice::<User>(rest) {
                let _ = user_line(&u);
            }
        }
        6 => {
            let Some((&bound, body)) = rest.split_first() else {
                return;
            };
            let Ok(pages) = serde_json::from_slice::<Vec<ListResponse<Value>>>(body) else {
                return;
            };
            let bound = bound as usize * 3;
            let mut pages = pages.into_iter();
            let fetched = futures::executor::block_on(collect(bound, None, |_, size| {
                assert!((1..=100).contains(&size), "page size {size}");
                let next = pages.next();
                async move { next.ok_or_else(|| NotionError::invalid("cursor", "no more pages")) }
            }));
            if let Ok(c) = fetched
                && c.items.len() < bound
            {
                assert!(!c.has_more || c.next_cursor.is_some());
            }
        }
        _ => {
            if let Ok(v) = serde_json::from_slice::<Value>(rest) {
                let _ = slim(&v);
            }
        }
    }
});
