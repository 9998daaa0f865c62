//! Webhook events → index work: the pages an event names are read again (by the worker, after the
//! webhook was answered) or dropped. Events carry no content, so nothing is indexed from them directly.

use super::{ContentIndex, Job};
use crate::webhooks::events::Event;
use serde_json::Value;
use std::sync::Arc;
use uuid::Uuid;

/// The work an event asks for.
pub fn jobs(event: &Event, workspace: Option<Arc<str>>) -> Vec<Job> {
    let Ok(id) = Uuid::try_parse(event.entity.id.trim()) else {
        return Vec::new();
    };
    let refresh = |id| {
        workspace
            .clone()
            .map(|workspace| Job::Refresh { workspace, id })
    };
    match event.kind.as_str() {
        "page.deleted" => vec![Job::Remove(id)],
        "page.created"
        | "page.content_updated"
        | "page.properties_updated"
        | "page.moved"
        | "page.undeleted" => refresh(id).into_iter().collect(),
        "data_source.deleted" => vec![Job::RemoveDataSource(id)],
        // Rows added or removed: read each again (a removed one is dropped when its read fails).
        "data_source.content_updated" | "database.content_updated" => event
            .data
            .get("updated_blocks")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
            .filter(|b| b.get("type").and_then(Value::as_str) == Some("page"))
            .filter_map(|b| b.get("id").and_then(Value::as_str))
            .filter_map(|s| Uuid::try_parse(s.trim()).ok())
            .filter_map(refresh)
            .collect(),
        _ => Vec::new(),
    }
}

impl ContentIndex {
    /// Queue what a webhook event asks for (never waits, never asks Notion).
    pub fn on_event(&self, event: &Event) {
        let workspace = event
            .workspace_id
            .as_deref()
            .map(str::trim)
            .filter(|w| !w.is_empty())
            .map(Arc::from)
            .or_else(|| {
                Uuid::try_parse(event.entity.id.trim())
                    .ok()
                    .and_then(|id| self.catalog.workspace_of(id))
                    .map(Arc::from)
            });
        if matches!(
            event.kind.as_str(),
            "page.moved" | "page.deleted" | "data_source.moved"
        ) {
            // Who may read what can change with a move or the trash: prove access again (on every
            // replica: only this one received the event).
            self.proofs.invalidate_all();
            if let Some(ws) = &workspace {
                self.share(ws, super::replica::Entry::Access);
            }
        }
        for job in jobs(event, workspace) {
            self.enqueue(job);
        }
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;
    use serde_json::json;

    fn event(kind: &str, data: Value) -> Event {
        serde_json::from_value(json!({
            "id": "e", "type": kind, "workspace_id": "w",
            "entity": {"id": "1f2e3d4c-5b6a-4978-8a9b-0c1d2e3f4a5b", "type": "page"},
            "data": data
        }))
        .unwrap()
    }

    #[test]
    fn pages_named_are_read_again_or_dropped() {
        let ws = Some(Arc::from("w"));
        let edit = jobs(&event("page.content_updated", json!({})), ws.clone());
        assert!(matches!(edit.as_slice(), [Job::Refresh { .. }]));
        assert!(matches!(
            jobs(&event("page.deleted", json!({})), ws.clone()).as_slice(),
            [Job::Remove(_)]
        ));
        let rows = jobs(
            &event(
                "data_source.content_updated",
                json!({"updated_blocks": [
                    {"id": "2f2e3d4c-5b6a-4978-8a9b-0c1d2e3f4a5b", "type": "page"},
                    {"id": "3f2e3d4c-5b6a-4978-8a9b-0c1d2e3f4a5b", "type": "block"}
                ]}),
            ),
            ws.clone(),
        );
        assert_eq!(rows.len(), 1);
        assert!(jobs(&event("comment.created", json!({})), ws).is_empty());
        assert!(
            jobs(&event("page.created", json!({})), None).is_empty(),
            "no workspace: nothing to read with"
        );
    }
}
