//! What a write through this server makes stale, so the next read sees it (read-your-writes).
//!
//! Worked out from the request (endpoint, path id) and Notion's answer (the object written, with
//! its parent). A write whose outcome is unknown (timeout, 5xx, lost connection) may have changed
//! anything it could reach, so it clears everything; a write Notion refused changed nothing.

use super::tags::{Invalidation, Tag, id_of, parent_ids, parse_id};
use crate::notion::{NotionError, NotionRequest};
use serde_json::Value;

/// The invalidations for `req`, which Notion answered with `outcome`.
pub fn plan(req: &NotionRequest, outcome: Result<&Value, &NotionError>) -> Vec<Invalidation> {
    let answer = match outcome {
        Ok(v) => v,
        // Refused (4xx except a 409 conflict, which may follow a partly applied write): nothing changed.
        Err(e) if matches!(e.status(), Some(s) if (400..500).contains(&s) && s != 409) => {
            return Vec::new();
        }
        Err(NotionError::InvalidInput { .. } | NotionError::Config { .. }) => return Vec::new(),
        Err(NotionError::UpstreamUnavailable { .. }) => return Vec::new(),
        Err(_) => return vec![Invalidation::Everything],
    };
    let path_id = path_id(req);
    if answer.get("object").and_then(Value::as_str) == Some("async_task") {
        return pending_plan(req);
    }
    let mut plan = Vec::new();
    let touch = |plan: &mut Vec<Invalidation>, object: &Value| {
        if let Some(id) = id_of(object) {
            plan.push(Invalidation::Tag(Tag::object(id)));
        }
        for parent in parent_ids(object) {
            plan.push(Invalidation::Tag(Tag::children(parent)));
        }
    };
    match req.endpoint {
        // Pages: the page, the lists it appears in (its parent's children, its data source's rows).
        "POST /v1/pages" | "PATCH /v1/pages/{id}" | "POST /v1/pages/{id}/move" => {
            touch(&mut plan, answer);
            if let Some(id) = path_id {
                plan.push(Invalidation::Tag(Tag::object(id)));
            }
            if req.endpoint.ends_with("/move") {
                // Sharing follows the parent: who may read the page may have changed.
                plan.push(Invalidation::Proofs);
            }
        }
        // Whole-page Markdown: the page and everything below it.
        "PATCH /v1/pages/{id}/markdown" => {
            if let Some(id) = path_id {
                plan.extend([
                    Invalidation::Tag(Tag::object(id)),
                    Invalidation::Tag(Tag::children(id)),
                    Invalidation::Tag(Tag::markdown(id)),
                    Invalidation::Subtree(id),
                ]);
            }
        }
        // Blocks: the block, its parent's list, and any page rendered as Markdown (which page
        // holds a nested block is not known here).
        "PATCH /v1/blocks/{id}"
        | "DELETE /v1/blocks/{id}"
        | "PATCH /v1/blocks/{id}/children"
        | "POST /v1/blocks/meeting_notes" => {
            if let Some(id) = path_id {
                plan.push(Invalidation::Tag(Tag::object(id)));
                if req.endpoint.ends_with("/children") {
                    plan.push(Invalidation::Tag(Tag::children(id)));
                }
            }
            if req.endpoint.ends_with("/children") {
                // The answer lists the new blocks; their parent is the path's block.
            } else {
                touch(&mut plan, answer);
            }
            plan.push(Invalidation::AllMarkdown);
        }
        // Databases and data sources: the container, its rows and their shape.
        "POST /v1/databases"
        | "PATCH /v1/databases/{id}"
        | "POST /v1/data_sources"
        | "PATCH /v1/data_sources/{id}" => {
            touch(&mut plan, answer);
            let mut ids: Vec<_> = path_id.into_iter().chain(id_of(answer)).collect();
            if let Some(sources) = answer.get("data_sources").and_then(Value::as_array) {
                ids.extend(sources.iter().filter_map(id_of));
            }
            for id in ids {
                plan.extend([
                    Invalidation::Tag(Tag::object(id)),
                    Invalidation::Tag(Tag::children(id)),
                    Invalidation::Tag(Tag::member(id)),
                ]);
            }
        }
        "POST /v1/comments" => {
            for parent in parent_ids(answer) {
                plan.push(Invalidation::Tag(Tag::comments(parent)));
            }
            if plan.is_empty() {
                plan.push(Invalidation::Everything);
            }
        }
        // Views: the view and its database; a linked database also adds a block to its page.
        "POST /v1/views" | "PATCH /v1/views/{id}" | "DELETE /v1/views/{id}" => {
            let database = answer
                .get("parent")
                .and_then(|p| p.get("database_id"))
                .and_then(Value::as_str)
                .and_then(parse_id);
            for id in path_id.into_iter().chain(id_of(answer)).chain(database) {
                plan.push(Invalidation::Tag(Tag::object(id)));
            }
            let host = req
                .json_body()
                .and_then(|b| b.pointer("/create_database/parent/page_id"))
                .and_then(Value::as_str)
                .and_then(parse_id);
            if let Some(page) = host {
                plan.extend([
                    Invalidation::Tag(Tag::children(page)),
                    Invalidation::AllMarkdown,
                ]);
            }
        }
        // Uploads change no object a read shows until they are attached (by another write).
        e if e.contains("/v1/file_uploads") => {}
        // A write this table does not know: trust nothing.
        _ => plan.push(Invalidation::Everything),
    }
    plan.sort_by_key(Invalidation::encode);
    plan.dedup();
    plan
}

/// The object id in a request's path (`/v1/pages/{id}/…` → the page id).
fn path_id(req: &NotionRequest) -> Option<uuid::Uuid> {
    req.path
        .trim_start_matches("/v1/")
        .split('/')
        .nth(1)
        .and_then(parse_id)
}

/// What a write accepted as an async task may change before it is known to have finished: its
/// page (and everything below it) for a Markdown write, the parent's lists for a page create (the
/// new page's id is not known yet). Applied at the 202 and again when a task is handed back pending.
pub fn pending_plan(req: &NotionRequest) -> Vec<Invalidation> {
    let path_id = path_id(req);
    let mut plan = match (req.endpoint, path_id) {
        ("PATCH /v1/pages/{id}/markdown", Some(id)) => vec![
            Invalidation::Tag(Tag::object(id)),
            Invalidation::Tag(Tag::children(id)),
            Invalidation::Tag(Tag::markdown(id)),
            Invalidation::Subtree(id),
        ],
        ("POST /v1/pages", _) => {
            let parents = req.json_body().map(parent_ids).unwrap_or_default();
            if parents.is_empty() {
                // A workspace-level page: no list of ours shows it, but trust nothing about it.
                vec![Invalidation::Everything]
            } else {
                parents
                    .into_iter()
                    .map(|p| Invalidation::Tag(Tag::children(p)))
                    .collect()
            }
        }
        _ => vec![Invalidation::Everything],
    };
    plan.sort_by_key(Invalidation::encode);
    plan.dedup();
    plan
}

/// What a finished async task changed, read from its poll answer: the write's own plan on its
/// `result`; nothing for a task still going or one that failed (a failed task wrote nothing).
pub fn task_plan(task: &Value) -> Vec<Invalidation> {
    if task.get("status").and_then(Value::as_str) != Some("succeeded") {
        return Vec::new();
    }
    let result = task.get("result").cloned().unwrap_or(Value::Null);
    let name = task
        .pointer("/operation/name")
        .and_then(Value::as_str)
        .unwrap_or_default();
    let Some(id) = id_of(&result) else {
        return vec![Invalidation::Everything];
    };
    let req = match name {
        "POST /v1/pages" => NotionRequest::post("POST /v1/pages", "/v1/pages"),
        "PATCH /v1/pages/{id}/markdown" | "PATCH /v1/pages/{page_id}/markdown" => {
            NotionRequest::patch(
                "PATCH /v1/pages/{id}/markdown",
                format!("/v1/pages/{}/markdown", id.hyphenated()),
            )
        }
        _ => return vec![Invalidation::Everything],
    };
    plan(&req, Ok(&result))
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;
    use serde_json::json;

    const PAGE: &str = "1f2e3d4c-5b6a-4978-8a9b-0c1d2e3f4a5b";
    const DS: &str = "2f2e3d4c-5b6a-4978-8a9b-0c1d2e3f4a5b";
    const BLOCK: &str = "3f2e3d4c-5b6a-4978-8a9b-0c1d2e3f4a5b";

    fn id(s: &str) -> uuid::Uuid {
        parse_id(s).unwrap()
    }

    #[test]
    fn a_row_update_reaches_the_page_and_its_data_sources_rows() {
        let req = NotionRequest::patch("PATCH /v1/pages/{id}", format!("/v1/pages/{PAGE}"));
        let answer = json!({"object": "page", "id": PAGE,
            "parent": {"type": "data_source_id", "data_source_id": DS}});
        let plan = plan(&req, Ok(&answer));
        assert!(plan.contains(&Invalidation::Tag(Tag::object(id(PAGE)))));
        assert!(plan.contains(&Invalidation::Tag(Tag::children(id(DS)))));
        assert!(!plan.contains(&Invalidation::Everything));
    }

    #[test]
    fn block_edits_reach_the_parent_list_and_markdown() {
        let req = NotionRequest::delete("DELETE /v1/blocks/{id}", format!("/v1/blocks/{BLOCK}"));
        let answer = json!({"object": "block", "id": BLOCK,
            "parent": {"type": "page_id", "page_id": PAGE}});
        let plan = plan(&req, Ok(&answer));
        assert!(plan.contains(&Invalidation::Tag(Tag::object(id(BLOCK)))));
        assert!(plan.contains(&Invalidation::Tag(Tag::children(id(PAGE)))));
        assert!(plan.contains(&Invalidation::AllMarkdown));
    }

    #[test]
    fn async_writes_invalidate_when_accepted_and_when_finished() {
        let md = NotionRequest::patch(
            "PATCH /v1/pages/{id}/markdown",
            format!("/v1/pages/{PAGE}/markdown"),
        );
        let task = json!({"object": "async_task", "id": "task_1", "status": "queued"});
        let accepted = plan(&md, Ok(&task));
        assert!(accepted.contains(&Invalidation::Subtree(id(PAGE))));
        assert!(accepted.contains(&Invalidation::Tag(Tag::markdown(id(PAGE)))));
        let create = NotionRequest::post("POST /v1/pages", "/v1/pages")
            .json(json!({"parent": {"type": "page_id", "page_id": PAGE}, "markdown": "x"}));
        assert_eq!(
            plan(&create, Ok(&task)),
            vec![Invalidation::Tag(Tag::children(id(PAGE)))]
        );
        let done = json!({"object": "async_task", "status": "succeeded",
            "operation": {"surface": "rest", "name": "POST /v1/pages"},
            "result": {"object": "page", "id": BLOCK, "parent": {"type": "page_id", "page_id": PAGE}}});
        let finished = task_plan(&done);
        assert!(finished.contains(&Invalidation::Tag(Tag::object(id(BLOCK)))));
        assert!(finished.contains(&Invalidation::Tag(Tag::children(id(PAGE)))));
        let failed = json!({"object": "async_task", "status": "failed", "error": {}});
        assert!(task_plan(&failed).is_empty());
        let running = json!({"object": "async_task", "status": "running"});
        assert!(task_plan(&running).is_empty());
    }

    #[test]
    fn view_writes_reach_the_view_and_its_database_only() {
        let req = NotionRequest::patch("PATCH /v1/views/{id}", format!("/v1/views/{BLOCK}"));
        let answer = json!({"object": "view", "id": BLOCK,
            "parent": {"type": "database_id", "database_id": DS}});
        let plan = plan(&req, Ok(&answer));
        assert_eq!(plan.len(), 2, "{plan:?}");
        assert!(plan.contains(&Invalidation::Tag(Tag::object(id(DS)))));
        assert!(plan.contains(&Invalidation::Tag(Tag::object(id(BLOCK)))));
        let linked = NotionRequest::post("POST /v1/views", "/v1/views").json(json!({
            "create_database": {"parent": {"type": "page_id", "page_id": PAGE}}}));
        let plan2 = super::plan(&linked, Ok(&answer));
        assert!(plan2.contains(&Invalidation::Tag(Tag::children(id(PAGE)))));
        assert!(!plan2.contains(&Invalidation::Everything));
    }

    #[test]
    fn refused_writes_change_nothing_and_unknown_outcomes_everything() {
        let req = NotionRequest::patch("PATCH /v1/pages/{id}", format!("/v1/pages/{PAGE}"));
        let refused = NotionError::invalid("x", "y");
        assert!(plan(&req, Err(&refused)).is_empty());
        let lost = NotionError::Timeout {
            endpoint: "PATCH /v1/pages/{id}",
            after: std::time::Duration::from_secs(1),
        };
        assert_eq!(plan(&req, Err(&lost)), vec![Invalidation::Everything]);
        let moved =
            NotionRequest::post("POST /v1/pages/{id}/move", format!("/v1/pages/{PAGE}/move"));
        assert!(plan(&moved, Ok(&json!({}))).contains(&Invalidation::Proofs));
    }
}
