//! Notion's webhook events and what each makes stale in the cache.
//!
//! Events carry no content, only "this object changed" (and for some, the parent and the blocks or
//! properties touched). Both payload shapes are read: subscriptions on 2025-09-03 or later
//! (`data_source.*`, `parent.data_source_id`) and older ones (`database.content_updated`,
//! `database.schema_updated`). A type this table does not know is accepted and counted, not failed.

use crate::cache::{Invalidation, Tag};
use serde::Deserialize;
use serde_json::Value;
use uuid::Uuid;

/// The envelope fields the receiver uses (the rest is ignored).
#[derive(Debug, Clone, Deserialize)]
pub struct Event {
    pub id: String,
    #[serde(rename = "type")]
    pub kind: String,
    #[serde(default)]
    pub workspace_id: Option<String>,
    #[serde(default)]
    pub attempt_number: Option<u32>,
    pub entity: Entity,
    #[serde(default)]
    pub data: Value,
}

#[derive(Debug, Clone, Deserialize)]
pub struct Entity {
    pub id: String,
    #[serde(rename = "type")]
    pub kind: String,
}

/// Event types this receiver knows (the metrics label of anything else is `other`).
pub const KNOWN: &[&str] = &[
    "page.created",
    "page.content_updated",
    "page.properties_updated",
    "page.moved",
    "page.deleted",
    "page.undeleted",
    "page.locked",
    "page.unlocked",
    "page.transcription_block.transcript_deleted",
    "database.created",
    "database.content_updated",
    "database.schema_updated",
    "database.moved",
    "database.deleted",
    "database.undeleted",
    "data_source.content_updated",
    "data_source.schema_updated",
    "data_source.created",
    "data_source.moved",
    "data_source.deleted",
    "data_source.undeleted",
    "comment.created",
    "comment.updated",
    "comment.deleted",
    "view.created",
    "view.updated",
    "view.deleted",
    "file_upload.created",
    "file_upload.completed",
    "file_upload.expired",
    "file_upload.upload_failed",
];

/// The label for an event type: itself when known, else `other`.
pub fn label(kind: &str) -> &'static str {
    KNOWN
        .iter()
        .find(|k| **k == kind)
        .copied()
        .unwrap_or("other")
}

fn uuid(v: Option<&Value>) -> Option<Uuid> {
    v.and_then(Value::as_str)
        .and_then(|s| Uuid::try_parse(s.trim()).ok())
}

/// `data.parent`: its own id (a page, block, database or the workspace) and its data source.
fn parents(data: &Value) -> Vec<Uuid> {
    let parent = data.get("parent");
    [
        uuid(parent.and_then(|p| p.get("id"))),
        uuid(parent.and_then(|p| p.get("data_source_id"))),
    ]
    .into_iter()
    .flatten()
    .collect()
}

/// Ids listed in `data.updated_blocks`.
fn updated_blocks(data: &Value) -> Vec<Uuid> {
    data.get("updated_blocks")
        .and_then(Value::as_array)
        .map(|blocks| blocks.iter().filter_map(|b| uuid(b.get("id"))).collect())
        .unwrap_or_default()
}

/// What the event makes stale; `None` for a type this receiver does not know.
pub fn plan(event: &Event) -> Option<Vec<Invalidation>> {
    let tag = |t: Tag| Invalidation::Tag(t);
    let Some(id) = Uuid::try_parse(event.entity.id.trim()).ok() else {
        // An entity without a readable id: nothing can be targeted, so trust nothing.
        return Some(vec![Invalidation::Everything]);
    };
    let data = &event.data;
    let children_of_parents = || {
        parents(data)
            .into_iter()
            .map(|p| tag(Tag::children(p)))
            .collect::<Vec<_>>()
    };
    let mut plan = Vec::new();
    match event.kind.as_str() {
        "page.properties_updated" | "page.locked" | "page.unlocked" => {
            plan.push(tag(Tag::object(id)));
            // Filters and sorts of the data source's queries may see the row differently now.
            plan.extend(children_of_parents());
        }
        "page.content_updated" => {
            // Title edits arrive here too: the page object as well as its content.
            plan.extend([
                tag(Tag::object(id)),
                tag(Tag::children(id)),
                tag(Tag::markdown(id)),
                Invalidation::Subtree(id),
            ]);
            for block in updated_blocks(data) {
                plan.extend([tag(Tag::object(block)), tag(Tag::children(block))]);
            }
        }
        "page.created" | "page.deleted" | "page.undeleted" => {
            plan.push(tag(Tag::object(id)));
            plan.extend(children_of_parents());
        }
        "page.moved" | "database.moved" | "data_source.moved" => {
            // The old parent is not named: lists showing the object carry its Object tag.
            plan.extend([tag(Tag::object(id)), Invalidation::Proofs]);
            plan.extend(children_of_parents());
            if event.kind != "page.moved" {
                plan.extend([tag(Tag::children(id)), tag(Tag::member(id))]);
            }
        }
        "page.transcription_block.transcript_deleted" => {
            let target = uuid(data.get("target").and_then(|t| t.get("id"))).unwrap_or(id);
            plan.extend([
                tag(Tag::object(target)),
                tag(Tag::children(target)),
                tag(Tag::markdown(id)),
                Invalidation::Subtree(id),
            ]);
        }
        "data_source.content_updated" | "database.content_updated" => {
            plan.push(tag(Tag::children(id)));
            for row in updated_blocks(data) {
                plan.push(tag(Tag::object(row)));
            }
        }
        "data_source.schema_updated" | "database.schema_updated" => {
            // The schema itself, every query, and every row whose properties it shapes.
            plan.extend([
                tag(Tag::object(id)),
                tag(Tag::children(id)),
                tag(Tag::member(id)),
            ]);
            plan.extend(parents(data).into_iter().map(|p| tag(Tag::object(p))));
        }
        "data_source.created"
        | "data_source.deleted"
        | "data_source.undeleted"
        | "database.created"
        | "database.deleted"
        | "database.undeleted" => {
            plan.extend([
                tag(Tag::object(id)),
                tag(Tag::children(id)),
                tag(Tag::member(id)),
            ]);
            // The parent database's list of data sources, or the parent page's child blocks.
            plan.extend(parents(data).into_iter().map(|p| tag(Tag::object(p))));
            plan.extend(children_of_parents());
        }
        "comment.created" | "comment.updated" | "comment.deleted" => {
            for on in [
                uuid(data.get("page_id")),
                uuid(data.get("parent").and_then(|p| p.get("id"))),
            ]
            .into_iter()
            .flatten()
            {
                plan.push(tag(Tag::comments(on)));
            }
            if plan.is_empty() {
                plan.push(Invalidation::Everything);
            }
        }
        // A view changed: the view and its database (view queries are never cached).
        "view.created" | "view.updated" | "view.deleted" => {
            plan.push(tag(Tag::object(id)));
            plan.extend(parents(data).into_iter().map(|p| tag(Tag::object(p))));
        }
        // Uploads are not cached: nothing to drop.
        k if KNOWN.contains(&k) => {}
        _ => return None,
    }
    Some(plan)
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;
    use serde_json::json;

    const PAGE: &str = "153104cd-477e-809d-8dc4-ff2d96ae3090";
    const DB: &str = "36cc9195-760f-4fff-a67e-3a46c559b176";
    const DS: &str = "98024f3c-b1d3-4aec-a301-f01e0dacf023";

    fn event(kind: &str, entity_type: &str, data: Value) -> Event {
        serde_json::from_value(json!({
            "id": "0b3f6c1e-1111-4c3a-9d7e-000000000001", "timestamp": "2026-05-01T12:00:00.000Z",
            "workspace_id": "13950b26-c203-4f3b-b97d-93ec06319565", "workspace_name": "Test WS",
            "subscription_id": "29d75c0d-5546-4414-8459-7b7a92f1fc4b",
            "integration_id": "0ef2e755-4912-8096-91c1-00376a88a5ca", "type": kind,
            "authors": [{"id": "c7c11cca-1d73-471d-9b6e-bdef51470190", "type": "person"}],
            "attempt_number": 1, "api_version": "2025-09-03",
            "entity": {"id": PAGE, "type": entity_type}, "data": data
        }))
        .unwrap()
    }

    fn u(s: &str) -> Uuid {
        Uuid::try_parse(s).unwrap()
    }

    #[test]
    fn a_row_property_change_reaches_the_row_and_its_queries() {
        let e = event(
            "page.properties_updated",
            "page",
            json!({"parent": {"id": DB, "type": "database", "data_source_id": DS},
                   "updated_properties": ["XGe%40", "title"]}),
        );
        let plan = plan(&e).unwrap();
        assert!(plan.contains(&Invalidation::Tag(Tag::object(u(PAGE)))));
        assert!(plan.contains(&Invalidation::Tag(Tag::children(u(DS)))));
    }

    #[test]
    fn parents_of_every_kind_and_none() {
        for parent in [
            json!({"id": "13950b26-c203-4f3b-b97d-93ec06319565", "type": "space"}),
            json!({"id": DB, "type": "team"}),
            json!({"id": DB, "type": "agent"}),
            json!({"id": DB, "type": "database", "data_source_id": DS}),
        ] {
            let plan = plan(&event("page.created", "page", json!({ "parent": parent }))).unwrap();
            assert!(
                plan.contains(&Invalidation::Tag(Tag::children(u(DB)))) || plan.len() == 2,
                "{plan:?}"
            );
        }
        let plan = plan(&event("page.deleted", "page", Value::Null)).unwrap();
        assert_eq!(plan, vec![Invalidation::Tag(Tag::object(u(PAGE)))]);
    }

    #[test]
    fn content_moves_comments_and_unknown_types() {
        let content = plan(&event(
            "page.content_updated",
            "page",
            json!({"updated_blocks": [{"id": DS, "type": "block"}]}),
        ))
        .unwrap();
        assert!(content.contains(&Invalidation::Subtree(u(PAGE))));
        assert!(content.contains(&Invalidation::Tag(Tag::object(u(DS)))));
        let moved = plan(&event(
            "page.moved",
            "page",
            json!({"parent": {"id": DB, "type": "page"}}),
        ))
        .unwrap();
        assert!(moved.contains(&Invalidation::Proofs));
        let comment = plan(&event(
            "comment.created",
            "comment",
            json!({"page_id": DB, "parent": {"id": DS, "type": "block"}}),
        ))
        .unwrap();
        assert_eq!(
            comment,
            vec![
                Invalidation::Tag(Tag::comments(u(DB))),
                Invalidation::Tag(Tag::comments(u(DS)))
            ]
        );
        assert_eq!(
            plan(&event(
                "view.updated",
                "view",
                json!({"parent": {"id": DB, "type": "database"}})
            )),
            Some(vec![
                Invalidation::Tag(Tag::object(u(PAGE))),
                Invalidation::Tag(Tag::object(u(DB)))
            ])
        );
        assert_eq!(plan(&event("page.teleported", "page", json!({}))), None);
        assert_eq!(label("page.teleported"), "other");
        assert_eq!(label("view.updated"), "view.updated");
    }
}
