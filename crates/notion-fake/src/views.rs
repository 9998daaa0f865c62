//! The model of database views and view queries: tabs on a database, linked views on pages,
//! dashboard widgets, the view-query cache with its expiry, and the workspace's custom emojis.

use std::collections::HashMap;
use std::time::{Duration, Instant};

use serde_json::{Value, json};
use uuid::Uuid;

use crate::ids::fmt_id;
use crate::render;
use crate::state::Stamp;

pub use notion_model::view_kinds::VIEW_TYPES;

/// One view of a database.
#[derive(Debug, Clone)]
pub struct View {
    pub id: Uuid,
    pub workspace_id: Uuid,
    /// The database the view is a tab of (for linked views: the linked database block).
    pub database_id: Uuid,
    /// `None` for dashboards.
    pub data_source_id: Option<Uuid>,
    /// The page holding a linked database block, for linked views.
    pub host_page: Option<Uuid>,
    pub name: String,
    pub kind: String,
    pub filter: Value,
    pub sorts: Value,
    pub quick_filters: Value,
    pub configuration: Value,
    pub dashboard_view_id: Option<Uuid>,
    pub created: Stamp,
    pub edited: Stamp,
}

impl View {
    /// The view object as Notion answers it.
    pub fn render(&self) -> Value {
        let mut v = json!({
            "object": "view",
            "id": fmt_id(&self.id),
            "parent": {"type": "database_id", "database_id": fmt_id(&self.database_id)},
            "name": self.name,
            "type": self.kind,
            "data_source_id": self.data_source_id.map(|d| fmt_id(&d)),
            "filter": self.filter,
            "sorts": self.sorts,
            "quick_filters": self.quick_filters,
            "configuration": self.configuration,
            "url": format!("https://app.notion.com/p/{}?v={}", self.database_id.simple(), self.id.simple()),
            "created_time": render::time(self.created.time),
            "last_edited_time": render::time(self.edited.time),
            "created_by": render::user_ref(&self.created.by),
            "last_edited_by": render::user_ref(&self.edited.by),
        });
        if let Some(d) = self.dashboard_view_id {
            v["dashboard_view_id"] = json!(fmt_id(&d));
        }
        v
    }

    /// The partial object `DELETE /v1/views/{id}` answers.
    pub fn render_deleted(&self) -> Value {
        json!({
            "object": "view",
            "id": fmt_id(&self.id),
            "parent": {"type": "database_id", "database_id": fmt_id(&self.database_id)},
            "type": self.kind,
        })
    }
}

/// A cached run of a view: its rows at creation time, until it expires.
#[derive(Debug, Clone)]
pub struct ViewQuery {
    pub id: Uuid,
    pub view_id: Uuid,
    pub bot_id: Uuid,
    pub rows: Vec<Uuid>,
    /// The result was cut at the row cap.
    pub truncated: bool,
    pub expires: Instant,
    /// `expires_at` as shown (fake clock).
    pub expires_at: i64,
}

/// A workspace's custom emoji.
#[derive(Debug, Clone)]
pub struct CustomEmoji {
    pub id: Uuid,
    pub workspace_id: Uuid,
    pub name: String,
    pub url: String,
}

impl CustomEmoji {
    pub fn render(&self) -> Value {
        json!({"id": fmt_id(&self.id), "name": self.name, "url": self.url})
    }
}

/// Views, view queries and custom emojis of every workspace.
#[derive(Debug, Clone)]
pub struct Views {
    /// In tab order.
    pub views: Vec<View>,
    pub queries: HashMap<Uuid, ViewQuery>,
    /// How long a view query lives (Notion: about 15 minutes).
    pub query_ttl: Duration,
    pub custom_emojis: Vec<CustomEmoji>,
}

impl Default for Views {
    fn default() -> Self {
        Self {
            views: Vec::new(),
            queries: HashMap::new(),
            query_ttl: Duration::from_secs(15 * 60),
            custom_emojis: Vec::new(),
        }
    }
}

impl Views {
    pub fn get(&self, id: &Uuid) -> Option<&View> {
        self.views.iter().find(|v| v.id == *id)
    }

    pub fn get_mut(&mut self, id: &Uuid) -> Option<&mut View> {
        self.views.iter_mut().find(|v| v.id == *id)
    }

    /// Tabs of a database (dashboard widgets excluded).
    pub fn tabs_of(&self, database: &Uuid) -> Vec<&View> {
        self.views
            .iter()
            .filter(|v| v.database_id == *database && v.dashboard_view_id.is_none())
            .collect()
    }

    /// Makes every view query expired (tests of the expiry path).
    pub fn expire_queries(&mut self) {
        let past = Instant::now()
            .checked_sub(Duration::from_secs(1))
            .unwrap_or_else(Instant::now);
        for q in self.queries.values_mut() {
            q.expires = past;
        }
    }
}

impl crate::state::State {
    /// Adds a custom emoji to the workspace named `workspace` (or with that id); returns its id.
    pub fn add_custom_emoji(&mut self, workspace: &str, name: &str) -> Option<Uuid> {
        let ws = self
            .workspaces
            .values()
            .find(|w| w.name == workspace || fmt_id(&w.id) == workspace)?
            .id;
        let id = self.new_id();
        self.views.custom_emojis.push(CustomEmoji {
            id,
            workspace_id: ws,
            name: name.to_string(),
            url: format!("https://files.example.invalid/emoji/{}.png", id.simple()),
        });
        Some(id)
    }
}
