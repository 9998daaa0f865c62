//! Turns recorded [`Change`]s into Notion webhook events: the event types and `data` shapes of a
//! subscription's API version (2025-09-03 and later, or the older `database.*` names), who can see
//! each entity (`accessible_by`), and the signed envelope's fields.

use serde_json::{Map, Value, json};
use uuid::Uuid;

use super::changes::Change;
use super::{Author, WebhookSubscription};
use crate::ids::fmt_id;
use crate::state::{NodeKind, Parent, State};

/// An event before its envelope: what happened to which entity, and who may see it.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Draft {
    pub event_type: String,
    pub entity_id: Uuid,
    pub entity_type: &'static str,
    pub workspace_id: Uuid,
    pub accessible_by: Vec<Uuid>,
    pub data: Option<Map<String, Value>>,
}

/// Who may see an entity.
enum Audience {
    /// Bots that can see this page, block, database or data source.
    Node(Uuid),
    /// Bots that can see the commented page or block and read comments.
    Comments(Uuid),
    /// Every bot of the workspace (file uploads).
    Workspace(Uuid),
}

/// The events of one request's changes, in order; repeats of one type on one entity are merged
/// (their `updated_blocks` / `updated_properties` joined), as Notion aggregates them.
pub(crate) fn drafts(state: &State, changes: &[Change], legacy: bool) -> Vec<Draft> {
    let mut b = Builder {
        state,
        legacy,
        out: Vec::new(),
    };
    for change in changes {
        b.change(change);
    }
    b.out
}

/// The JSON envelope of one delivery (`attempt_number` 1; deliveries set their own).
pub(crate) fn envelope(
    state: &State,
    draft: &Draft,
    sub: &WebhookSubscription,
    author: Author,
    timestamp: &str,
) -> Map<String, Value> {
    let workspace_name = state
        .workspaces
        .get(&draft.workspace_id)
        .map(|w| w.name.clone())
        .unwrap_or_default();
    let (author_id, author_type) = match author {
        Author::Bot(id) => (id, "bot"),
        Author::Person(id) => (id, "person"),
    };
    let accessible_by: Vec<Value> = draft
        .accessible_by
        .iter()
        .map(|id| json!({"id": fmt_id(id), "type": "bot"}))
        .collect();
    let mut env = Map::new();
    env.insert("id".into(), json!(fmt_id(&Uuid::new_v4())));
    env.insert("timestamp".into(), json!(timestamp));
    env.insert("workspace_id".into(), json!(fmt_id(&draft.workspace_id)));
    env.insert("workspace_name".into(), json!(workspace_name));
    env.insert(
        "subscription_id".into(),
        json!(fmt_id(&sub.subscription_id)),
    );
    env.insert("integration_id".into(), json!(fmt_id(&sub.integration_id)));
    env.insert("type".into(), json!(draft.event_type));
    env.insert(
        "authors".into(),
        json!([{"id": fmt_id(&author_id), "type": author_type}]),
    );
    env.insert("accessible_by".into(), Value::Array(accessible_by));
    env.insert("attempt_number".into(), json!(1));
    env.insert("api_version".into(), json!(sub.api_version));
    env.insert(
        "entity".into(),
        json!({"id": fmt_id(&draft.entity_id), "type": draft.entity_type}),
    );
    if let Some(data) = &draft.data {
        env.insert("data".into(), Value::Object(data.clone()));
    }
    env
}

struct Builder<'a> {
    state: &'a State,
    legacy: bool,
    out: Vec<Draft>,
}

impl Builder<'_> {
    fn change(&mut self, change: &Change) {
        let state = self.state;
        match change {
            Change::PageCreated(page) => {
                self.page("page.created", *page, None);
                self.row_of(*page);
            }
            Change::PageProperties { page, properties } => {
                self.page(
                    "page.properties_updated",
                    *page,
                    Some(("updated_properties", json!(properties))),
                );
                self.row_of(*page);
            }
            Change::PageAppearance(page) => {
                self.page(
                    "page.content_updated",
                    *page,
                    Some(("updated_blocks", json!([]))),
                );
            }
            Change::Trashed { id, in_trash } => match state.kind_of(id) {
                Some(NodeKind::Page) => {
                    let kind = if *in_trash {
                        "page.deleted"
                    } else {
                        "page.undeleted"
                    };
                    self.page(kind, *id, None);
                    self.row_of(*id);
                }
                Some(NodeKind::Database) => {
                    let kind = if *in_trash {
                        "database.deleted"
                    } else {
                        "database.undeleted"
                    };
                    self.database(kind, *id, None);
                }
                Some(NodeKind::DataSource) => {
                    let kind = if *in_trash {
                        "data_source.deleted"
                    } else {
                        "data_source.undeleted"
                    };
                    self.data_source(kind, *id, None);
                }
                Some(NodeKind::Block) => self.content(*id, &[*id]),
                None => {}
            },
            Change::PageLocked { page, locked } => {
                let kind = if *locked {
                    "page.locked"
                } else {
                    "page.unlocked"
                };
                self.page(kind, *page, None);
            }
            Change::PageMoved { page, from } => {
                self.page("page.moved", *page, None);
                if let Parent::DataSource(ds) = from {
                    self.rows_changed(*ds, *page);
                }
                self.row_of(*page);
            }
            Change::Content { within, blocks } => self.content(*within, blocks),
            Change::DatabaseCreated(db) => self.database("database.created", *db, None),
            Change::DatabaseMoved(db) => self.database("database.moved", *db, None),
            Change::DataSourceCreated(ds) => self.data_source("data_source.created", *ds, None),
            Change::DataSourceSchema {
                data_source,
                properties,
            } => {
                let updated: Vec<Value> = properties
                    .iter()
                    .map(|p| json!({"id": p.id, "name": p.name, "action": p.action.as_str()}))
                    .collect();
                let extra = (!updated.is_empty()).then(|| ("updated_properties", json!(updated)));
                self.data_source("data_source.schema_updated", *data_source, extra);
            }
            Change::CommentCreated(id) => self.comment(*id),
            Change::View {
                action,
                view,
                database,
                visible_via,
                view_type,
                updated_fields,
            } => {
                if self.legacy {
                    return;
                }
                let mut data = Map::new();
                data.insert(
                    "parent".into(),
                    json!({"id": fmt_id(database), "type": "database"}),
                );
                match *action {
                    "created" => {
                        data.insert("view_type".into(), json!(view_type));
                    }
                    "updated" => {
                        data.insert("updated_fields".into(), json!(updated_fields));
                    }
                    _ => {}
                }
                let kind = format!("view.{action}");
                self.add(
                    &kind,
                    *view,
                    "view",
                    Some(data),
                    Audience::Node(*visible_via),
                );
            }
            Change::FileUploadCreated(id) => self.upload("file_upload.created", *id),
            Change::FileUploadCompleted(id) => self.upload("file_upload.completed", *id),
        }
    }

    /// `data.parent` of a page or database living under `parent`.
    fn parent(&self, workspace: Uuid, parent: &Parent) -> Value {
        match parent {
            Parent::Workspace => json!({"id": fmt_id(&workspace), "type": "space"}),
            Parent::Page(id) => json!({"id": fmt_id(id), "type": "page"}),
            Parent::Block(id) => json!({"id": fmt_id(id), "type": "block"}),
            Parent::Database(id) => json!({"id": fmt_id(id), "type": "database"}),
            Parent::DataSource(ds) => {
                let db = self.database_of(*ds);
                if self.legacy {
                    json!({"id": fmt_id(&db), "type": "database"})
                } else {
                    json!({"id": fmt_id(&db), "type": "database", "data_source_id": fmt_id(ds)})
                }
            }
        }
    }

    fn database_of(&self, ds: Uuid) -> Uuid {
        self.state
            .data_sources
            .get(&ds)
            .map(|d| d.database_id)
            .unwrap_or(ds)
    }

    fn page(&mut self, kind: &str, id: Uuid, extra: Option<(&str, Value)>) {
        let Some(page) = self.state.pages.get(&id) else {
            return;
        };
        let parent = self.parent(page.workspace_id, &page.parent);
        self.push(kind, id, "page", parent, extra, Audience::Node(id));
    }

    fn database(&mut self, kind: &str, id: Uuid, extra: Option<(&str, Value)>) {
        let Some(db) = self.state.databases.get(&id) else {
            return;
        };
        let parent = self.parent(db.workspace_id, &db.parent);
        self.push(kind, id, "database", parent, extra, Audience::Node(id));
    }

    /// A `data_source.*` event, or on versions before 2025-09-03 the `database.*` event it
    /// replaced (`content_updated`, `schema_updated`; the others did not exist).
    fn data_source(&mut self, kind: &str, id: Uuid, extra: Option<(&str, Value)>) {
        let db = self.database_of(id);
        if self.legacy {
            let old = match kind {
                "data_source.content_updated" => "database.content_updated",
                "data_source.schema_updated" => "database.schema_updated",
                _ => return,
            };
            self.database(old, db, extra);
            return;
        }
        let parent = json!({"id": fmt_id(&db), "type": "database"});
        self.push(kind, id, "data_source", parent, extra, Audience::Node(id));
    }

    /// `data_source.content_updated` for the data source a page is a row of, if any.
    fn row_of(&mut self, page: Uuid) {
        if let Some(Parent::DataSource(ds)) = self.state.pages.get(&page).map(|p| p.parent) {
            self.rows_changed(ds, page);
        }
    }

    fn rows_changed(&mut self, ds: Uuid, page: Uuid) {
        let blocks = json!([{"id": fmt_id(&page), "type": "page"}]);
        self.data_source(
            "data_source.content_updated",
            ds,
            Some(("updated_blocks", blocks)),
        );
    }

    /// `page.content_updated` on the page nearest to `within` (itself or an ancestor).
    fn content(&mut self, within: Uuid, blocks: &[Uuid]) {
        let state = self.state;
        let Some(page) = state
            .ancestors(&within)
            .into_iter()
            .find(|a| state.pages.contains_key(a))
        else {
            return;
        };
        let updated: Vec<Value> = blocks
            .iter()
            .map(|b| {
                let kind = match state.kind_of(b) {
                    Some(NodeKind::Page) => "page",
                    Some(NodeKind::Database) => "database",
                    _ => "block",
                };
                json!({"id": fmt_id(b), "type": kind})
            })
            .collect();
        self.page(
            "page.content_updated",
            page,
            Some(("updated_blocks", json!(updated))),
        );
    }

    fn comment(&mut self, id: Uuid) {
        let state = self.state;
        let Some(comment) = state.comments.iter().find(|c| c.id == id) else {
            return;
        };
        let (target, kind) = match comment.parent {
            Parent::Page(p) => (p, "page"),
            Parent::Block(b) => (b, "block"),
            _ => return,
        };
        let Some(page_id) = state
            .ancestors(&target)
            .into_iter()
            .find(|a| state.pages.contains_key(a))
        else {
            return;
        };
        let mut data = Map::new();
        data.insert("page_id".into(), json!(fmt_id(&page_id)));
        data.insert(
            "parent".into(),
            json!({"id": fmt_id(&target), "type": kind}),
        );
        self.add(
            "comment.created",
            id,
            "comment",
            Some(data),
            Audience::Comments(target),
        );
    }

    fn upload(&mut self, kind: &str, id: Uuid) {
        let Some(upload) = self.state.file_uploads.uploads.get(&id) else {
            return;
        };
        let audience = Audience::Workspace(upload.workspace_id);
        self.add(kind, id, "file_upload", None, audience);
    }

    fn push(
        &mut self,
        kind: &str,
        id: Uuid,
        entity_type: &'static str,
        parent: Value,
        extra: Option<(&str, Value)>,
        audience: Audience,
    ) {
        let mut data = Map::new();
        data.insert("parent".into(), parent);
        if let Some((key, value)) = extra {
            data.insert(key.into(), value);
        }
        self.add(kind, id, entity_type, Some(data), audience);
    }

    /// Adds a draft, or merges it into the one already made for the same type and entity. An
    /// entity no bot can see gives no event (Notion sends none for objects it cannot access).
    fn add(
        &mut self,
        kind: &str,
        id: Uuid,
        entity_type: &'static str,
        data: Option<Map<String, Value>>,
        audience: Audience,
    ) {
        if let Some(existing) = self
            .out
            .iter_mut()
            .find(|d| d.event_type == kind && d.entity_id == id)
        {
            if let (Some(old), Some(new)) = (existing.data.as_mut(), data) {
                merge(old, new);
            }
            return;
        }
        let Some((workspace_id, accessible_by)) = self.audience(&audience) else {
            return;
        };
        self.out.push(Draft {
            event_type: kind.to_string(),
            entity_id: id,
            entity_type,
            workspace_id,
            accessible_by,
            data,
        });
    }

    /// The workspace and the bots (sorted) that can see an entity; `None` when no bot can.
    fn audience(&self, audience: &Audience) -> Option<(Uuid, Vec<Uuid>)> {
        let state = self.state;
        let (workspace, node, comments) = match audience {
            Audience::Node(id) => (state.workspace_of(id)?, Some(*id), false),
            Audience::Comments(id) => (state.workspace_of(id)?, Some(*id), true),
            Audience::Workspace(ws) => (*ws, None, false),
        };
        let mut bots: Vec<Uuid> = state
            .bots
            .values()
            .filter(|b| b.workspace_id == workspace)
            .filter(|b| node.is_none_or(|id| state.visible(b, &id)))
            .filter(|b| !comments || b.capabilities.read_comments)
            .map(|b| b.id)
            .collect();
        bots.sort();
        (!bots.is_empty()).then_some((workspace, bots))
    }
}

/// Joins the id lists of two drafts of one event; other fields take the newer value.
fn merge(old: &mut Map<String, Value>, new: Map<String, Value>) {
    for (key, value) in new {
        match (old.get_mut(&key), value) {
            (Some(Value::Array(list)), Value::Array(more)) => {
                for item in more {
                    if !list.contains(&item) {
                        list.push(item);
                    }
                }
            }
            (_, value) => {
                old.insert(key, value);
            }
        }
    }
}
