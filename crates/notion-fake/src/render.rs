//! Rendering model objects as Notion JSON (pages, blocks, databases, data sources, users,
//! comments), in the shape of the requested Notion-Version.

use serde_json::{Map, Value, json};
use uuid::Uuid;

use crate::errors::{ApiError, ApiResult};
use crate::ids::{compact_id, fmt_id, parse_id};
use crate::properties::{plain_title_schema, render_value};
use crate::richtext::plain_text;
use crate::state::{Bot, BotOwner, Comment, DataSource, Database, Page, Parent, State, User};

/// Notion-Version of a request.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Version {
    /// `2025-09-03`: also emits `archived`, accepts `after` when appending.
    V2025_09_03,
    /// `2026-03-11` (default): `in_trash` only, `position` when appending.
    V2026_03_11,
    /// `2026-12-01`: search and data source queries return only the title property unless
    /// `filter_properties` is sent; `markdown_version: "v1"` is refused; a person's `name` may be null.
    V2026_12_01,
}

impl Version {
    pub fn parse(raw: &str) -> Option<Self> {
        match raw.trim() {
            "2025-09-03" => Some(Self::V2025_09_03),
            "2026-03-11" => Some(Self::V2026_03_11),
            "2026-12-01" => Some(Self::V2026_12_01),
            _ => None,
        }
    }

    pub fn as_str(&self) -> &'static str {
        match self {
            Self::V2025_09_03 => "2025-09-03",
            Self::V2026_03_11 => "2026-03-11",
            Self::V2026_12_01 => "2026-12-01",
        }
    }

    /// Every version the fake answers, oldest first.
    pub const ALL: [Version; 3] = [Self::V2025_09_03, Self::V2026_03_11, Self::V2026_12_01];

    /// Lists of pages (search, data source queries) carry only the title property unless
    /// `filter_properties` asks for more.
    pub fn title_only_lists(&self) -> bool {
        *self == Self::V2026_12_01
    }

    pub fn legacy(&self) -> bool {
        *self == Self::V2025_09_03
    }
}

/// RFC 3339 time with milliseconds, as Notion prints it.
pub fn time(unix: i64) -> String {
    let fmt =
        time::macros::format_description!("[year]-[month]-[day]T[hour]:[minute]:[second].000Z");
    time::OffsetDateTime::from_unix_timestamp(unix)
        .ok()
        .and_then(|t| t.format(&fmt).ok())
        .unwrap_or_else(|| "1970-01-01T00:00:00.000Z".into())
}

pub fn user_ref(id: &Uuid) -> Value {
    json!({"object": "user", "id": fmt_id(id)})
}

pub fn person(user: &User) -> Value {
    person_in(user, Version::V2026_03_11)
}

/// A person as `version` shows it: from 2026-12-01 a person without a name has `name: null`.
pub fn person_in(user: &User, version: Version) -> Value {
    let name = match user.name.as_str() {
        "" if version == Version::V2026_12_01 => Value::Null,
        n => json!(n),
    };
    json!({
        "object": "user",
        "id": fmt_id(&user.id),
        "name": name,
        "avatar_url": user.avatar_url,
        "type": "person",
        "person": {"email": user.email},
    })
}

/// The bot user object (as returned by `users/me`).
pub fn bot_user(state: &State, bot: &Bot) -> Value {
    let ws = state.workspaces.get(&bot.workspace_id);
    let owner = match bot.owner {
        BotOwner::Workspace => json!({"type": "workspace", "workspace": true}),
        BotOwner::User(uid) => json!({"type": "user", "user": user_by_id(state, &uid)}),
    };
    json!({
        "object": "user",
        "id": fmt_id(&bot.id),
        "name": bot.name,
        "avatar_url": null,
        "type": "bot",
        "bot": {
            "owner": owner,
            "workspace_id": fmt_id(&bot.workspace_id),
            "workspace_name": ws.map(|w| w.name.clone()),
            "workspace_limits": {"max_file_upload_size_in_bytes": ws.map(|w| w.max_file_upload_size_in_bytes).unwrap_or(5_368_709_120u64)},
        },
    })
}

/// A full user object when known, else a bare reference.
pub fn user_by_id(state: &State, id: &Uuid) -> Value {
    if let Some(u) = state.users.get(id) {
        return person(u);
    }
    if let Some(b) = state.bots.get(id) {
        return bot_user(state, b);
    }
    user_ref(id)
}

pub fn user_by_value(state: &State, id: &Value) -> Value {
    match id.as_str().and_then(parse_id) {
        Some(uid) => user_by_id(state, &uid),
        None => json!({"object": "user", "id": id}),
    }
}

pub fn parent(state: &State, parent: &Parent) -> Value {
    match parent {
        Parent::Workspace => json!({"type": "workspace", "workspace": true}),
        Parent::Page(id) => json!({"type": "page_id", "page_id": fmt_id(id)}),
        Parent::Block(id) => json!({"type": "block_id", "block_id": fmt_id(id)}),
        Parent::Database(id) => json!({"type": "database_id", "database_id": fmt_id(id)}),
        Parent::DataSource(id) => {
            let db = state.data_sources.get(id).map(|d| fmt_id(&d.database_id));
            json!({"type": "data_source_id", "data_source_id": fmt_id(id), "database_id": db})
        }
    }
}

/// Fills in mention `plain_text`/`href` from the current model.
pub fn rich_text(state: &State, items: &[Value]) -> Vec<Value> {
    items
        .iter()
        .map(|item| {
            let mut item = item.clone();
            if item["type"] == "mention" {
                let kind = item["mention"]["type"].as_str().unwrap_or("").to_string();
                let target = item["mention"][&kind]["id"].as_str().and_then(parse_id);
                let (text, href) = match (kind.as_str(), target) {
                    ("user", Some(id)) => (
                        format!(
                            "@{}",
                            state
                                .users
                                .get(&id)
                                .map(|u| u.name.as_str())
                                .unwrap_or("Anonymous")
                        ),
                        Value::Null,
                    ),
                    ("page", Some(id)) => (
                        state
                            .pages
                            .get(&id)
                            .map(|p| state.page_title(p))
                            .filter(|t| !t.is_empty())
                            .unwrap_or_else(|| "Untitled".into()),
                        json!(format!("https://www.notion.so/{}", compact_id(&id))),
                    ),
                    ("database", Some(id)) => (
                        state
                            .databases
                            .get(&id)
                            .map(|d| plain_text(&d.title))
                            .unwrap_or_else(|| "Untitled".into()),
                        json!(format!("https://www.notion.so/{}", compact_id(&id))),
                    ),
                    ("date", _) => (
                        item["mention"]["date"]["start"]
                            .as_str()
                            .unwrap_or("")
                            .to_string(),
                        Value::Null,
                    ),
                    _ => (
                        item["plain_text"].as_str().unwrap_or("").to_string(),
                        item["href"].clone(),
                    ),
                };
                if item["plain_text"].as_str().unwrap_or("").is_empty() {
                    item["plain_text"] = json!(text);
                }
                if item["href"].is_null() {
                    item["href"] = href;
                }
            }
            item
        })
        .collect()
}

/// `https://www.notion.so/<Title-slug>-<id without dashes>`.
pub fn page_url(title: &str, id: &Uuid) -> String {
    let slug: Vec<String> = title
        .split(|c: char| !c.is_alphanumeric())
        .filter(|w| !w.is_empty())
        .map(str::to_string)
        .collect();
    if slug.is_empty() {
        format!("https://www.notion.so/{}", compact_id(id))
    } else {
        format!(
            "https://www.notion.so/{}-{}",
            slug.join("-"),
            compact_id(id)
        )
    }
}

fn trash_fields(m: &mut Map<String, Value>, version: Version, in_trash: bool) {
    if version.legacy() {
        m.insert("archived".into(), json!(in_trash));
    }
    m.insert("in_trash".into(), json!(in_trash));
}

/// A page object; `filter` keeps only the listed property ids/names.
pub fn page(state: &State, version: Version, page: &Page, filter: Option<&[String]>) -> Value {
    let cap = Some(state.limits.reference_cap);
    let mut props = Map::new();
    let keep = |id: &str, name: &str| {
        filter.is_none_or(|f| {
            f.iter().any(|k| {
                k == id
                    || k == name
                    || crate::ids::percent_decode(k) == crate::ids::percent_decode(id)
            })
        })
    };
    match page.parent {
        Parent::DataSource(ds) if state.data_sources.contains_key(&ds) => {
            if let Some(ds) = state.data_sources.get(&ds) {
                for schema in &ds.properties {
                    if keep(&schema.id, &schema.name) {
                        props.insert(schema.name.clone(), render_value(state, page, schema, cap));
                    }
                }
            }
        }
        _ => {
            if keep("title", "title") {
                props.insert(
                    "title".into(),
                    render_value(state, page, &plain_title_schema(), cap),
                );
            }
        }
    }
    let mut m = Map::new();
    m.insert("object".into(), json!("page"));
    m.insert("id".into(), json!(fmt_id(&page.id)));
    m.insert("created_time".into(), json!(time(page.created.time)));
    m.insert("last_edited_time".into(), json!(time(page.edited.time)));
    m.insert("created_by".into(), user_ref(&page.created.by));
    m.insert("last_edited_by".into(), user_ref(&page.edited.by));
    m.insert("cover".into(), page.cover.clone().unwrap_or(Value::Null));
    m.insert("icon".into(), page.icon.clone().unwrap_or(Value::Null));
    m.insert("parent".into(), parent(state, &page.parent));
    trash_fields(&mut m, version, page.in_trash);
    m.insert("is_locked".into(), json!(page.is_locked));
    m.insert("properties".into(), Value::Object(props));
    m.insert(
        "url".into(),
        json!(page_url(&state.page_title(page), &page.id)),
    );
    m.insert("public_url".into(), Value::Null);
    Value::Object(m)
}

/// A page in a list answer (search, data source query): [`page`], but on versions whose lists
/// carry only the title property, just the title unless `filter` names properties.
pub fn list_page(state: &State, version: Version, p: &Page, filter: Option<&[String]>) -> Value {
    if filter.is_some() || !version.title_only_lists() {
        return page(state, version, p, filter);
    }
    let title = match p.parent {
        Parent::DataSource(ds) => state
            .data_sources
            .get(&ds)
            .and_then(|d| d.title_prop())
            .map(|t| t.id.clone())
            .unwrap_or_else(|| "title".into()),
        _ => "title".into(),
    };
    page(state, version, p, Some(&[title]))
}

/// Any block-like id (block, child page, child database) as a block object.
pub fn block(state: &State, version: Version, id: &Uuid) -> Option<Value> {
    let has_children = !state.live_children(id).is_empty();
    let (par, created, edited, in_trash, kind, data) = if let Some(b) = state.blocks.get(id) {
        let kind = if version.legacy() && b.kind == "meeting_notes" {
            "transcription".to_string()
        } else {
            b.kind.clone()
        };
        (
            b.parent,
            b.created,
            b.edited,
            b.in_trash,
            kind,
            b.data.clone(),
        )
    } else if let Some(p) = state.pages.get(id) {
        (
            p.parent,
            p.created,
            p.edited,
            p.in_trash,
            "child_page".into(),
            json!({"title": state.page_title(p)}),
        )
    } else if let Some(d) = state.databases.get(id) {
        (
            d.parent,
            d.created,
            d.edited,
            d.in_trash,
            "child_database".into(),
            json!({"title": plain_text(&d.title)}),
        )
    } else {
        return None;
    };
    let data = match (kind.as_str(), data) {
        (_, Value::Object(mut o)) => {
            for key in ["rich_text", "caption"] {
                if let Some(Value::Array(items)) = o.get(key) {
                    let rendered = rich_text(state, items);
                    o.insert(key.into(), Value::Array(rendered));
                }
            }
            Value::Object(o)
        }
        (_, other) => other,
    };
    let mut m = Map::new();
    m.insert("object".into(), json!("block"));
    m.insert("id".into(), json!(fmt_id(id)));
    m.insert("parent".into(), parent(state, &par));
    m.insert("created_time".into(), json!(time(created.time)));
    m.insert("last_edited_time".into(), json!(time(edited.time)));
    m.insert("created_by".into(), user_ref(&created.by));
    m.insert("last_edited_by".into(), user_ref(&edited.by));
    m.insert("has_children".into(), json!(has_children));
    trash_fields(&mut m, version, in_trash);
    m.insert("type".into(), json!(kind));
    m.insert(kind, data);
    Some(Value::Object(m))
}

pub fn database(state: &State, version: Version, db: &Database) -> Value {
    let sources: Vec<Value> = db
        .data_sources
        .iter()
        .filter_map(|id| state.data_sources.get(id))
        .filter(|ds| !ds.in_trash)
        .map(|ds| json!({"id": fmt_id(&ds.id), "name": plain_text(&ds.title)}))
        .collect();
    let mut m = Map::new();
    m.insert("object".into(), json!("database"));
    m.insert("id".into(), json!(fmt_id(&db.id)));
    m.insert("title".into(), Value::Array(rich_text(state, &db.title)));
    m.insert(
        "description".into(),
        Value::Array(rich_text(state, &db.description)),
    );
    m.insert("parent".into(), parent(state, &db.parent));
    m.insert("is_inline".into(), json!(db.is_inline));
    trash_fields(&mut m, version, db.in_trash);
    m.insert("is_locked".into(), json!(db.is_locked));
    m.insert("created_time".into(), json!(time(db.created.time)));
    m.insert("last_edited_time".into(), json!(time(db.edited.time)));
    m.insert("created_by".into(), user_ref(&db.created.by));
    m.insert("last_edited_by".into(), user_ref(&db.edited.by));
    m.insert("icon".into(), db.icon.clone().unwrap_or(Value::Null));
    m.insert("cover".into(), db.cover.clone().unwrap_or(Value::Null));
    m.insert(
        "url".into(),
        json!(page_url(&plain_text(&db.title), &db.id)),
    );
    m.insert("public_url".into(), Value::Null);
    m.insert("data_sources".into(), Value::Array(sources));
    Value::Object(m)
}

pub fn data_source(state: &State, version: Version, ds: &DataSource) -> Value {
    let db = state.databases.get(&ds.database_id);
    let props: Map<String, Value> = ds
        .properties
        .iter()
        .map(|p| (p.name.clone(), crate::properties::render_schema(p)))
        .collect();
    let mut m = Map::new();
    m.insert("object".into(), json!("data_source"));
    m.insert("id".into(), json!(fmt_id(&ds.id)));
    m.insert("created_time".into(), json!(time(ds.created.time)));
    m.insert("last_edited_time".into(), json!(time(ds.edited.time)));
    m.insert("created_by".into(), user_ref(&ds.created.by));
    m.insert("last_edited_by".into(), user_ref(&ds.edited.by));
    m.insert("title".into(), Value::Array(rich_text(state, &ds.title)));
    m.insert(
        "description".into(),
        Value::Array(rich_text(state, &ds.description)),
    );
    m.insert("icon".into(), ds.icon.clone().unwrap_or(Value::Null));
    m.insert("cover".into(), Value::Null);
    m.insert("properties".into(), Value::Object(props));
    m.insert(
        "parent".into(),
        json!({"type": "database_id", "database_id": fmt_id(&ds.database_id)}),
    );
    m.insert(
        "database_parent".into(),
        db.map(|d| parent(state, &d.parent)).unwrap_or(Value::Null),
    );
    m.insert(
        "is_inline".into(),
        json!(db.map(|d| d.is_inline).unwrap_or(false)),
    );
    trash_fields(&mut m, version, ds.in_trash);
    m.insert(
        "url".into(),
        json!(format!(
            "https://www.notion.so/{}",
            compact_id(&ds.database_id)
        )),
    );
    m.insert("public_url".into(), Value::Null);
    Value::Object(m)
}

pub fn comment(state: &State, c: &Comment) -> Value {
    let par = match c.parent {
        Parent::Block(id) => json!({"type": "block_id", "block_id": fmt_id(&id)}),
        other => parent(state, &other),
    };
    let resolved = c
        .display_name
        .clone()
        .or_else(|| state.bots.get(&c.created.by).map(|b| b.name.clone()))
        .or_else(|| state.users.get(&c.created.by).map(|u| u.name.clone()))
        .unwrap_or_default();
    let kind = if state.bots.contains_key(&c.created.by) {
        "integration"
    } else {
        "user"
    };
    json!({
        "object": "comment",
        "id": fmt_id(&c.id),
        "parent": par,
        "discussion_id": fmt_id(&c.discussion_id),
        "created_time": time(c.created.time),
        "last_edited_time": time(c.created.time),
        "created_by": user_ref(&c.created.by),
        "rich_text": rich_text(state, &c.rich_text),
        "display_name": {"type": kind, "resolved_name": resolved},
    })
}

/// An icon or cover in a request: `null` (remove) or an `emoji`, `external`, `file_upload`
/// (resolved to `file` before this point) or `custom_emoji` object. Anything else is a 400.
pub fn file_or_emoji(raw: &Value, path: &str) -> ApiResult<Option<Value>> {
    const KINDS: [&str; 5] = ["emoji", "external", "file", "file_upload", "custom_emoji"];
    let Some(obj) = raw.as_object() else {
        return match raw {
            Value::Null => Ok(None),
            _ => Err(ApiError::should_be(path, "an object or `null`", raw)),
        };
    };
    let kind = obj
        .get("type")
        .and_then(Value::as_str)
        .or_else(|| KINDS.into_iter().find(|k| obj.contains_key(*k)));
    match kind {
        Some(kind) if KINDS.contains(&kind) && obj.contains_key(kind) => {
            let mut out = obj.clone();
            out.insert("type".into(), json!(kind));
            Ok(Some(Value::Object(out)))
        }
        _ => Err(ApiError::should_be(
            path,
            "an `emoji`, `external` or `file_upload` object",
            raw,
        )),
    }
}
