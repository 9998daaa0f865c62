//! Cursor pagination with a caller bound. Notion cursors mark page boundaries, so to stop at exactly
//! `bound` items without skipping any, the last request asks for `page_size = remaining`: the page then
//! ends at the bound and its `next_cursor` continues right after the last returned item.

use super::error::NotionError;
use notion_model::types::ListResponse;
use serde_json::Value;
use std::future::Future;

/// Notion's maximum page size.
pub const MAX_PAGE_SIZE: u32 = 100;

/// Items gathered by [`collect`].
#[derive(Debug, Clone)]
pub struct Collected<T> {
    pub items: Vec<T>,
    /// Where to continue: set whenever more items may exist (the bound was reached or Notion has more).
    pub next_cursor: Option<String>,
    /// Notion reported more items beyond `items` (or nothing was fetched because the bound was 0).
    pub has_more: bool,
    /// The last page's `request_status` (e.g. `{type:"incomplete", incomplete_reason:...}`).
    pub request_status: Option<Value>,
}

impl<T> Collected<T> {
    /// True when the caller's bound (not the end of the list) stopped collection.
    pub fn truncated(&self) -> bool {
        self.has_more
    }
}

/// Fetch pages through `fetch(cursor, page_size)` until the list ends or `bound` items are collected.
///
/// Every page is asked for `min(100, remaining)` items. A server that returns more than asked is not
/// cut (cutting would lose items behind the returned cursor), so `items` can then exceed `bound`.
/// A cursor that does not advance is reported as an `invalid_response` error instead of looping.
pub async fn collect<T, F, Fut>(
    bound: usize,
    start_cursor: Option<String>,
    mut fetch: F,
) -> Result<Collected<T>, NotionError>
where
    F: FnMut(Option<String>, u32) -> Fut,
    Fut: Future<Output = Result<ListResponse<T>, NotionError>>,
{
    let mut out = Collected {
        items: Vec::new(),
        next_cursor: start_cursor.clone(),
        has_more: true,
        request_status: None,
    };
    let mut cursor = start_cursor;
    let mut empty_pages = 0u32;
    loop {
        let remaining = bound.saturating_sub(out.items.len());
        if remaining == 0 {
            out.next_cursor = cursor;
            return Ok(out);
        }
        let page_size = u32::try_from(remaining)
            .unwrap_or(MAX_PAGE_SIZE)
            .min(MAX_PAGE_SIZE);
        let page = fetch(cursor.clone(), page_size).await?;
        if let Some(status) = page.rest.get("request_status").filter(|v| !v.is_null()) {
            out.request_status = Some(status.clone());
        }
        empty_pages = if page.results.is_empty() {
            empty_pages + 1
        } else {
            0
        };
        out.items.extend(page.results);
        let next = page.next_cursor.filter(|c| !c.is_empty());
        match next {
            Some(next) if page.has_more => {
                if cursor.as_deref() == Some(next.as_str()) || empty_pages > 10 {
                    return Err(NotionError::Decode {
                        endpoint: "pagination",
                        message: format!("the list cursor did not advance ({next})"),
                    });
                }
                cursor = Some(next);
            }
            _ => {
                out.has_more = false;
                out.next_cursor = None;
                return Ok(out);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;
    use serde_json::Map;
    use std::sync::{Arc, Mutex};

    /// A list of `n` numbered items served with cursors `"c<index>"` like Notion's (the cursor names the
    /// first item of the next page). Records every (cursor, page_size) request.
    type Log = Arc<Mutex<Vec<(Option<String>, u32)>>>;

    fn server(
        n: usize,
        log: Log,
    ) -> impl FnMut(Option<String>, u32) -> std::future::Ready<Result<ListResponse<usize>, NotionError>>
    {
        move |cursor, size| {
            log.lock().unwrap().push((cursor.clone(), size));
            let start = cursor.map_or(0, |c| c[1..].parse::<usize>().unwrap());
            let end = (start + size as usize).min(n);
            let has_more = end < n;
            std::future::ready(Ok(ListResponse {
                results: (start..end).collect(),
                next_cursor: has_more.then(|| format!("c{end}")),
                has_more,
                rest: Map::new(),
            }))
        }
    }

    #[tokio::test]
    async fn collects_everything_under_the_bound() {
        let log = Arc::default();
        let c = collect(1000, None, server(250, Arc::clone(&log)))
            .await
            .unwrap();
        assert_eq!(c.items, (0..250).collect::<Vec<_>>());
        assert!(!c.has_more);
        assert_eq!(c.next_cursor, None);
        let sizes: Vec<u32> = log.lock().unwrap().iter().map(|(_, s)| *s).collect();
        assert_eq!(sizes, [100, 100, 100]);
    }

    #[tokio::test]
    async fn bound_cuts_and_continuation_resumes_without_skipping() {
        let log = Arc::default();
        let first = collect(130, None, server(250, Arc::clone(&log)))
            .await
            .unwrap();
        assert_eq!(first.items, (0..130).collect::<Vec<_>>());
        assert!(first.has_more);
        assert_eq!(first.next_cursor.as_deref(), Some("c130"));
        let sizes: Vec<u32> = log.lock().unwrap().iter().map(|(_, s)| *s).collect();
        assert_eq!(
            sizes,
            [100, 30],
            "the second page asks for exactly the remainder"
        );

        let second = collect(1000, first.next_cursor, server(250, Arc::default()))
            .await
            .unwrap();
        assert_eq!(second.items, (130..250).collect::<Vec<_>>());
        assert!(!second.has_more);
    }

    #[tokio::test]
    async fn chunks_of_any_bound_reassemble_the_whole_list() {
        for bound in [1, 7, 99, 100, 101, 249, 250] {
            let mut all = Vec::new();
            let mut cursor = None;
            loop {
                let c = collect(bound, cursor, server(250, Arc::default()))
                    .await
                    .unwrap();
                assert!(c.items.len() <= bound);
                all.extend(c.items);
                if !c.has_more {
                    break;
                }
                cursor = c.next_cursor;
            }
            assert_eq!(all, (0..250).collect::<Vec<_>>(), "bound {bound}");
        }
    }

    #[tokio::test]
    async fn exact_bound_at_list_end_and_zero_bound() {
        let c = collect(250, None, server(250, Arc::default()))
            .await
            .unwrap();
        assert_eq!(c.items.len(), 250);
        assert!(!c.has_more);
        let log: Log = Arc::default();
        let z = collect(0, Some("c5".into()), server(250, Arc::clone(&log)))
            .await
            .unwrap();
        assert!(z.items.is_empty());
        assert_eq!(z.next_cursor.as_deref(), Some("c5"));
        assert!(log.lock().unwrap().is_empty());
    }

    #[tokio::test]
    async fn request_status_and_stuck_cursor() {
        let c = collect(10, None, |_, _| {
            let mut rest = Map::new();
            rest.insert(
                "request_status".into(),
                serde_json::json!({"type":"incomplete"}),
            );
            std::future::ready(Ok(ListResponse::<u8> {
                results: vec![1],
                next_cursor: None,
                has_more: false,
                rest,
            }))
        })
        .await
        .unwrap();
        assert_eq!(c.request_status.unwrap()["type"], "incomplete");

        let stuck = collect(10, Some("x".into()), |_, _| {
            std::future::ready(Ok(ListResponse::<u8> {
                results: vec![],
                next_cursor: Some("x".into()),
                has_more: true,
                rest: Map::new(),
            }))
        })
        .await;
        assert_eq!(stuck.unwrap_err().code(), "invalid_response");
    }

    #[tokio::test]
    async fn errors_propagate() {
        let r = collect(10, None, |_, _| {
            std::future::ready(Err::<ListResponse<u8>, _>(NotionError::invalid("x", "y")))
        })
        .await;
        assert_eq!(r.unwrap_err().code(), "invalid_argument");
    }
}
