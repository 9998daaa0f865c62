//! What the routes record when a write commits: a short list of [`Change`]s per request, turned
//! into webhook events once the request has succeeded (see `events.rs`).

use serde_json::{Map, Value};
use uuid::Uuid;

use crate::state::{DataSource, Page, Parent, PropSchema, State};

/// One committed mutation, as webhook events see it.
#[derive(Debug, Clone, PartialEq)]
pub enum Change {
    /// A page was created (under a page, a block, a data source or the workspace root).
    PageCreated(Uuid),
    /// Values of these properties of a page changed (ids as the API shows them).
    PageProperties {
        page: Uuid,
        properties: Vec<String>,
    },
    /// A page's own appearance changed (icon, cover): content of the page block itself.
    PageAppearance(Uuid),
    /// A page, database, data source or block went to the trash or came back.
    Trashed {
        id: Uuid,
        in_trash: bool,
    },
    /// A page was locked or unlocked.
    PageLocked {
        page: Uuid,
        locked: bool,
    },
    /// A page moved away from `from` (the new parent is the page's current one).
    PageMoved {
        page: Uuid,
        from: Parent,
    },
    /// Blocks added, edited or deleted under `within` (a page or a block; the event names the
    /// nearest page).
    Content {
        within: Uuid,
        blocks: Vec<Uuid>,
    },
    DatabaseCreated(Uuid),
    DatabaseMoved(Uuid),
    DataSourceCreated(Uuid),
    /// A data source's schema changed; no `properties` means only its title, description or
    /// icon did.
    DataSourceSchema {
        data_source: Uuid,
        properties: Vec<PropChange>,
    },
    CommentCreated(Uuid),
    /// A view was created, updated or deleted (`action`); `visible_via` is an object whose
    /// readers see the event (the view's source database).
    View {
        action: &'static str,
        view: Uuid,
        database: Uuid,
        visible_via: Uuid,
        view_type: String,
        updated_fields: Vec<String>,
    },
    FileUploadCreated(Uuid),
    FileUploadCompleted(Uuid),
}

/// One entry of `updated_properties` in a schema event.
#[derive(Debug, Clone, PartialEq)]
pub struct PropChange {
    pub id: String,
    /// `None` when the property was deleted.
    pub name: Option<String>,
    pub action: PropAction,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PropAction {
    Created,
    Updated,
    Deleted,
}

impl PropAction {
    pub fn as_str(self) -> &'static str {
        match self {
            PropAction::Created => "created",
            PropAction::Updated => "updated",
            PropAction::Deleted => "deleted",
        }
    }
}

impl State {
    /// Records a committed mutation of the current request (see [`Change`]).
    pub(crate) fn record(&mut self, change: Change) {
        self.changes.push(change);
    }

    pub(crate) fn record_all(&mut self, changes: impl IntoIterator<Item = Change>) {
        self.changes.extend(changes);
    }

    /// Takes the changes recorded since the last call.
    pub(crate) fn take_changes(&mut self) -> Vec<Change> {
        std::mem::take(&mut self.changes)
    }
}

impl Change {
    /// The changes of a page update: property values, icon or cover, lock, trash, and the
    /// blocks `erased` by `erase_content`.
    pub(crate) fn page_edits(before: &Page, after: &Page, erased: Vec<Uuid>) -> Vec<Change> {
        let mut out = Vec::new();
        let properties = changed_values(&before.properties, &after.properties);
        if !properties.is_empty() {
            out.push(Change::PageProperties {
                page: after.id,
                properties,
            });
        }
        if before.icon != after.icon || before.cover != after.cover {
            out.push(Change::PageAppearance(after.id));
        }
        if before.is_locked != after.is_locked {
            out.push(Change::PageLocked {
                page: after.id,
                locked: after.is_locked,
            });
        }
        if before.in_trash != after.in_trash {
            out.push(Change::Trashed {
                id: after.id,
                in_trash: after.in_trash,
            });
        }
        if !erased.is_empty() {
            out.push(Change::Content {
                within: after.id,
                blocks: erased,
            });
        }
        out
    }

    /// The changes of a data source update: its schema (or only its title or icon), and trash.
    pub(crate) fn data_source_edits(before: &DataSource, after: &DataSource) -> Vec<Change> {
        let mut out = Vec::new();
        let properties = schema_diff(&before.properties, &after.properties);
        if !properties.is_empty() || (&before.title, &before.icon) != (&after.title, &after.icon) {
            out.push(Change::DataSourceSchema {
                data_source: after.id,
                properties,
            });
        }
        if before.in_trash != after.in_trash {
            out.push(Change::Trashed {
                id: after.id,
                in_trash: after.in_trash,
            });
        }
        out
    }
}

/// Schema entries created, changed (name, type or configuration) or deleted between two schemas.
pub fn schema_diff(before: &[PropSchema], after: &[PropSchema]) -> Vec<PropChange> {
    let mut out = Vec::new();
    for p in after {
        match before.iter().find(|b| b.id == p.id) {
            None => out.push(PropChange {
                id: p.id.clone(),
                name: Some(p.name.clone()),
                action: PropAction::Created,
            }),
            Some(old) if old != p => out.push(PropChange {
                id: p.id.clone(),
                name: Some(p.name.clone()),
                action: PropAction::Updated,
            }),
            Some(_) => {}
        }
    }
    for old in before
        .iter()
        .filter(|b| !after.iter().any(|p| p.id == b.id))
    {
        out.push(PropChange {
            id: old.id.clone(),
            name: None,
            action: PropAction::Deleted,
        });
    }
    out
}

/// Ids of the stored property values that differ between two property maps.
pub fn changed_values(before: &Map<String, Value>, after: &Map<String, Value>) -> Vec<String> {
    let mut out: Vec<String> = after
        .iter()
        .filter(|(k, v)| before.get(*k) != Some(*v))
        .map(|(k, _)| k.clone())
        .collect();
    out.extend(before.keys().filter(|k| !after.contains_key(*k)).cloned());
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn prop(id: &str, name: &str, kind: &str) -> PropSchema {
        PropSchema {
            id: id.into(),
            name: name.into(),
            kind: kind.into(),
            config: json!({}),
        }
    }

    #[test]
    fn schema_diff_names_each_action() {
        let before = vec![prop("title", "Name", "title"), prop("a", "A", "number")];
        let after = vec![
            prop("title", "Title", "title"),
            prop("b%40", "B", "checkbox"),
        ];
        let diff = schema_diff(&before, &after);
        let summary: Vec<(&str, Option<&str>, &str)> = diff
            .iter()
            .map(|c| (c.id.as_str(), c.name.as_deref(), c.action.as_str()))
            .collect();
        assert_eq!(
            summary,
            vec![
                ("title", Some("Title"), "updated"),
                ("b%40", Some("B"), "created"),
                ("a", None, "deleted"),
            ]
        );
    }

    #[test]
    fn changed_values_ignores_equal_ones() {
        let before = json!({"title": [1], "x": 1, "gone": 2});
        let after = json!({"title": [1], "x": 2, "new": 3});
        let (Value::Object(b), Value::Object(a)) = (before, after) else {
            return;
        };
        assert_eq!(changed_values(&b, &a), vec!["x", "new", "gone"]);
    }
}
