//! The in-memory model of the fake: workspaces, users, bots and tokens, pages, blocks, databases,
//! data sources, comments and OAuth state, plus lookups that enforce tenancy and sharing.

use std::collections::{BTreeMap, HashMap, HashSet};

use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use serde_json::{Map, Value};
use uuid::Uuid;

use crate::errors::{ApiError, ApiResult};
use crate::ids::fmt_id;

/// Unix time (seconds) of the fake clock's start: 2025-01-01T00:00:00Z.
pub const CLOCK_BASE: i64 = 1_735_689_600;

/// A deterministic clock: every write advances it by one minute (Notion's timestamps have
/// minute precision), so created/edited times are distinct and ordered.
#[derive(Debug, Clone)]
pub struct Clock {
    pub now: i64,
}

impl Clock {
    pub fn tick(&mut self) -> i64 {
        self.now += 60;
        self.now
    }
}

/// Who did something, and when.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Stamp {
    pub time: i64,
    pub by: Uuid,
}

/// Where an object lives.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Parent {
    Workspace,
    Page(Uuid),
    Block(Uuid),
    Database(Uuid),
    DataSource(Uuid),
}

impl Parent {
    pub fn id(&self) -> Option<Uuid> {
        match self {
            Parent::Workspace => None,
            Parent::Page(id)
            | Parent::Block(id)
            | Parent::Database(id)
            | Parent::DataSource(id) => Some(*id),
        }
    }
}

#[derive(Debug, Clone)]
pub struct Workspace {
    pub id: Uuid,
    pub name: String,
    pub icon: Option<String>,
    pub user_ids: Vec<Uuid>,
    pub bot_ids: Vec<Uuid>,
    /// Plan-dependent upload cap reported by `users/me`.
    pub max_file_upload_size_in_bytes: u64,
}

#[derive(Debug, Clone)]
pub struct User {
    pub id: Uuid,
    pub workspace_id: Uuid,
    pub name: String,
    pub email: Option<String>,
    pub avatar_url: Option<String>,
}

/// Who owns a bot: the workspace (internal integration) or the authorizing user (OAuth).
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum BotOwner {
    Workspace,
    User(Uuid),
}

/// Integration capabilities; a missing one answers 403 `restricted_resource`.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
#[serde(default)]
pub struct Capabilities {
    pub read_content: bool,
    pub update_content: bool,
    pub insert_content: bool,
    pub read_comments: bool,
    pub insert_comments: bool,
    pub read_users: bool,
}

impl Default for Capabilities {
    fn default() -> Self {
        Self {
            read_content: true,
            update_content: true,
            insert_content: true,
            read_comments: true,
            insert_comments: true,
            read_users: true,
        }
    }
}

/// One connection (internal integration token or one OAuth grant).
#[derive(Debug, Clone)]
pub struct Bot {
    pub id: Uuid,
    pub workspace_id: Uuid,
    pub name: String,
    pub owner: BotOwner,
    /// `None`: everything in the workspace is shared; otherwise only these roots and their
    /// descendants.
    pub shared: Option<HashSet<Uuid>>,
    pub capabilities: Capabilities,
    pub client_id: Option<String>,
}

#[derive(Debug, Clone)]
pub struct AccessToken {
    pub bot_id: Uuid,
    pub revoked: bool,
    pub issued_at: i64,
}

#[derive(Debug, Clone)]
pub struct Page {
    pub id: Uuid,
    pub workspace_id: Uuid,
    pub parent: Parent,
    /// Stored values keyed by property id (`title` for plain pages).
    pub properties: Map<String, Value>,
    pub icon: Option<Value>,
    pub cover: Option<Value>,
    pub in_trash: bool,
    pub is_locked: bool,
    pub created: Stamp,
    pub edited: Stamp,
    pub seq: u64,
}

#[derive(Debug, Clone)]
pub struct Block {
    pub id: Uuid,
    pub workspace_id: Uuid,
    pub parent: Parent,
    pub kind: String,
    pub data: Value,
    pub in_trash: bool,
    pub created: Stamp,
    pub edited: Stamp,
}

#[derive(Debug, Clone)]
pub struct Database {
    pub id: Uuid,
    pub workspace_id: Uuid,
    pub parent: Parent,
    pub title: Vec<Value>,
    pub description: Vec<Value>,
    pub is_inline: bool,
    pub icon: Option<Value>,
    pub cover: Option<Value>,
    pub in_trash: bool,
    pub is_locked: bool,
    pub data_sources: Vec<Uuid>,
    pub created: Stamp,
    pub edited: Stamp,
}

/// One schema entry of a data source.
#[derive(Debug, Clone, PartialEq)]
pub struct PropSchema {
    pub id: String,
    pub name: String,
    pub kind: String,
    pub config: Value,
}

#[derive(Debug, Clone)]
pub struct Template {
    pub id: Uuid,
    pub name: String,
    pub is_default: bool,
}

#[derive(Debug, Clone)]
pub struct DataSource {
    pub id: Uuid,
    pub database_id: Uuid,
    pub workspace_id: Uuid,
    pub title: Vec<Value>,
    pub description: Vec<Value>,
    pub icon: Option<Value>,
    pub properties: Vec<PropSchema>,
    pub rows: Vec<Uuid>,
    pub templates: Vec<Template>,
    pub in_trash: bool,
    pub created: Stamp,
    pub edited: Stamp,
}

impl DataSource {
    /// Finds a schema entry by id or name (ids compared percent-decoded).
    pub fn prop(&self, key: &str) -> Option<&PropSchema> {
        self.prop_index(key).map(|i| &self.properties[i])
    }

    pub fn prop_index(&self, key: &str) -> Option<usize> {
        prop_index_in(&self.properties, key)
    }

    pub fn title_prop(&self) -> Option<&PropSchema> {
        self.properties.iter().find(|p| p.kind == "title")
    }
}

/// Index of a schema entry by id or name (ids compared percent-decoded too).
pub fn prop_index_in(properties: &[PropSchema], key: &str) -> Option<usize> {
    let decoded = crate::ids::percent_decode(key);
    {
        properties
            .iter()
            .position(|p| p.id == key || p.name == key)
            .or_else(|| {
                properties
                    .iter()
                    .position(|p| crate::ids::percent_decode(&p.id) == decoded)
            })
    }
}

#[derive(Debug, Clone)]
pub struct Comment {
    pub id: Uuid,
    pub workspace_id: Uuid,
    pub parent: Parent,
    pub discussion_id: Uuid,
    pub rich_text: Vec<Value>,
    pub created: Stamp,
    pub display_name: Option<String>,
}

/// A registered OAuth client (public integration).
#[derive(Debug, Clone)]
pub struct OAuthClient {
    pub client_id: String,
    pub client_secret: String,
    pub redirect_uris: Vec<String>,
    pub name: String,
}

/// A pending authorization code.
#[derive(Debug, Clone)]
pub struct AuthCode {
    pub client_id: String,
    pub redirect_uri: Option<String>,
    pub workspace_id: Uuid,
    pub user_id: Uuid,
    pub shared: Option<HashSet<Uuid>>,
    pub expires_at: std::time::Instant,
    pub used: bool,
}

#[derive(Debug, Clone)]
pub struct RefreshToken {
    pub bot_id: Uuid,
    pub client_id: String,
    pub used: bool,
}

/// OAuth settings and issued credentials.
#[derive(Debug, Clone, Default)]
pub struct OAuthState {
    pub clients: BTreeMap<String, OAuthClient>,
    pub codes: HashMap<String, AuthCode>,
    pub refresh_tokens: HashMap<String, RefreshToken>,
    /// The current access token of each OAuth bot.
    pub current_access: HashMap<Uuid, String>,
    pub refresh_count: usize,
    /// Authorize answers `error=access_denied` while set.
    pub deny: bool,
    /// Workspace granted by authorize when the request does not pick one (id or name).
    pub default_workspace: Option<String>,
    /// Keep the previous access token valid after a refresh.
    pub keep_old_access_on_refresh: bool,
    /// Lifetime of authorization codes.
    pub code_ttl: std::time::Duration,
    /// `authorize` shows a sign-in page with a page picker instead of approving at once.
    pub login_page: bool,
    /// Authorize requests shown on the sign-in page, by the page's single-use form token.
    pub pending_logins: HashMap<String, crate::login_page::PendingLogin>,
}

/// Tunable limits (small values make limit behaviour cheap to test).
#[derive(Debug, Clone)]
pub struct Limits {
    pub query_result_cap: usize,
    pub max_page_size: usize,
    pub reference_cap: usize,
}

impl Default for Limits {
    fn default() -> Self {
        Self {
            query_result_cap: 10_000,
            max_page_size: 100,
            reference_cap: 25,
        }
    }
}

/// Kind of object an id names.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum NodeKind {
    Page,
    Block,
    Database,
    DataSource,
}

/// The whole fake world.
#[derive(Debug, Clone)]
pub struct State {
    pub workspaces: BTreeMap<Uuid, Workspace>,
    pub users: HashMap<Uuid, User>,
    pub bots: HashMap<Uuid, Bot>,
    pub tokens: HashMap<String, AccessToken>,
    pub pages: HashMap<Uuid, Page>,
    pub blocks: HashMap<Uuid, Block>,
    pub databases: HashMap<Uuid, Database>,
    pub data_sources: HashMap<Uuid, DataSource>,
    pub comments: Vec<Comment>,
    /// Ordered children of pages and blocks: block ids, child page ids, child database ids.
    pub children: HashMap<Uuid, Vec<Uuid>>,
    pub oauth: OAuthState,
    pub clock: Clock,
    pub limits: Limits,
    pub seq: u64,
    /// File uploads and their limits.
    pub file_uploads: crate::uploads::FileUploads,
    /// Writes accepted with `allow_async` and how they progress.
    pub async_tasks: crate::routes::async_tasks::Tasks,
    /// Writes of the request being handled, for webhook events.
    pub(crate) changes: Vec<crate::webhooks::Change>,
    /// Database views, view queries and custom emojis.
    pub views: crate::views::Views,
    rng: StdRng,
}

impl State {
    pub fn empty(seed: u64) -> Self {
        Self {
            workspaces: BTreeMap::new(),
            users: HashMap::new(),
            bots: HashMap::new(),
            tokens: HashMap::new(),
            pages: HashMap::new(),
            blocks: HashMap::new(),
            databases: HashMap::new(),
            data_sources: HashMap::new(),
            comments: Vec::new(),
            children: HashMap::new(),
            oauth: OAuthState {
                code_ttl: std::time::Duration::from_secs(600),
                ..OAuthState::default()
            },
            clock: Clock { now: CLOCK_BASE },
            limits: Limits::default(),
            seq: 0,
            file_uploads: Default::default(),
            async_tasks: Default::default(),
            changes: Vec::new(),
            views: Default::default(),
            rng: StdRng::seed_from_u64(seed),
        }
    }

    /// A fresh random (seeded) v4 id.
    pub fn new_id(&mut self) -> Uuid {
        let bytes: [u8; 16] = self.rng.random();
        uuid::Builder::from_random_bytes(bytes).into_uuid()
    }

    /// A random token with a prefix (`ntn_`, `nrt_`, code prefixes).
    pub fn new_secret(&mut self, prefix: &str) -> String {
        const ALPHABET: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789";
        let mut out = String::from(prefix);
        for _ in 0..40 {
            let i = self.rng.random_range(0..ALPHABET.len());
            out.push(ALPHABET[i] as char);
        }
        out
    }

    pub fn next_seq(&mut self) -> u64 {
        self.seq += 1;
        self.seq
    }

    /// Advances the clock and returns a stamp for `by`.
    pub fn stamp(&mut self, by: Uuid) -> Stamp {
        Stamp {
            time: self.clock.tick(),
            by,
        }
    }

    pub fn kind_of(&self, id: &Uuid) -> Option<NodeKind> {
        if self.pages.contains_key(id) {
            Some(NodeKind::Page)
        } else if self.blocks.contains_key(id) {
            Some(NodeKind::Block)
        } else if self.databases.contains_key(id) {
            Some(NodeKind::Database)
        } else if self.data_sources.contains_key(id) {
            Some(NodeKind::DataSource)
        } else {
            None
        }
    }

    fn node_info(&self, id: &Uuid) -> Option<(Uuid, Parent)> {
        if let Some(p) = self.pages.get(id) {
            return Some((p.workspace_id, p.parent));
        }
        if let Some(b) = self.blocks.get(id) {
            return Some((b.workspace_id, b.parent));
        }
        if let Some(d) = self.databases.get(id) {
            return Some((d.workspace_id, d.parent));
        }
        if let Some(ds) = self.data_sources.get(id) {
            return Some((ds.workspace_id, Parent::Database(ds.database_id)));
        }
        None
    }

    pub fn workspace_of(&self, id: &Uuid) -> Option<Uuid> {
        self.node_info(id).map(|(ws, _)| ws)
    }

    /// `id` followed by its ancestors, nearest first (cycle-safe).
    pub fn ancestors(&self, id: &Uuid) -> Vec<Uuid> {
        let mut out = vec![*id];
        let mut current = *id;
        while let Some((_, parent)) = self.node_info(&current) {
            match parent.id() {
                Some(next) if !out.contains(&next) && out.len() < 10_000 => {
                    out.push(next);
                    current = next;
                }
                _ => break,
            }
        }
        out
    }

    /// Whether `bot` may see object `id` (same workspace and shared).
    pub fn visible(&self, bot: &Bot, id: &Uuid) -> bool {
        match self.workspace_of(id) {
            Some(ws) if ws == bot.workspace_id => match &bot.shared {
                None => true,
                Some(shared) => self.ancestors(id).iter().any(|a| shared.contains(a)),
            },
            _ => false,
        }
    }

    pub fn page(&self, bot: &Bot, id: &Uuid) -> ApiResult<&Page> {
        match self.pages.get(id) {
            Some(p) if self.visible(bot, id) => Ok(p),
            _ => Err(ApiError::not_found("page", &fmt_id(id))),
        }
    }

    pub fn database(&self, bot: &Bot, id: &Uuid) -> ApiResult<&Database> {
        match self.databases.get(id) {
            Some(d) if self.visible(bot, id) => Ok(d),
            _ => Err(ApiError::not_found("database", &fmt_id(id))),
        }
    }

    pub fn data_source(&self, bot: &Bot, id: &Uuid) -> ApiResult<&DataSource> {
        match self.data_sources.get(id) {
            Some(d) if self.visible(bot, id) => Ok(d),
            _ => Err(ApiError::not_found("data_source", &fmt_id(id))),
        }
    }

    /// A page, block or database id usable as a block (`GET /v1/blocks/{id}`).
    pub fn block_like(&self, bot: &Bot, id: &Uuid) -> ApiResult<NodeKind> {
        match self.kind_of(id) {
            Some(kind @ (NodeKind::Page | NodeKind::Block | NodeKind::Database))
                if self.visible(bot, id) =>
            {
                Ok(kind)
            }
            _ => Err(ApiError::not_found("block", &fmt_id(id))),
        }
    }

    /// Whether an object is in the trash (itself or, for blocks, any ancestor).
    pub fn trashed(&self, id: &Uuid) -> bool {
        self.ancestors(id).iter().any(|a| {
            self.pages.get(a).map(|p| p.in_trash).unwrap_or(false)
                || self.blocks.get(a).map(|b| b.in_trash).unwrap_or(false)
                || self.databases.get(a).map(|d| d.in_trash).unwrap_or(false)
        })
    }

    /// Visible (non-trashed) children of a page or block, in order.
    pub fn live_children(&self, id: &Uuid) -> Vec<Uuid> {
        self.children
            .get(id)
            .map(|kids| {
                kids.iter()
                    .filter(|k| !self.is_self_trashed(k))
                    .copied()
                    .collect()
            })
            .unwrap_or_default()
    }

    pub fn is_self_trashed(&self, id: &Uuid) -> bool {
        self.pages.get(id).map(|p| p.in_trash).unwrap_or(false)
            || self.blocks.get(id).map(|b| b.in_trash).unwrap_or(false)
            || self.databases.get(id).map(|d| d.in_trash).unwrap_or(false)
    }

    /// Plain-text title of a page (empty when untitled).
    pub fn page_title(&self, page: &Page) -> String {
        let key = match page.parent {
            Parent::DataSource(ds) => self
                .data_sources
                .get(&ds)
                .and_then(|d| d.title_prop())
                .map(|p| p.id.clone())
                .unwrap_or_else(|| "title".into()),
            _ => "title".into(),
        };
        page.properties
            .get(&key)
            .and_then(Value::as_array)
            .map(|items| crate::richtext::plain_text(items))
            .unwrap_or_default()
    }

    pub fn bot_for_token(&self, token: &str) -> Option<&Bot> {
        let t = self.tokens.get(token)?;
        if t.revoked {
            return None;
        }
        self.bots.get(&t.bot_id)
    }

    /// Removes `child` from its parent's children list.
    pub fn detach(&mut self, parent: &Parent, child: &Uuid) {
        match parent {
            Parent::Page(p) | Parent::Block(p) => {
                if let Some(kids) = self.children.get_mut(p) {
                    kids.retain(|k| k != child);
                }
            }
            Parent::DataSource(ds) => {
                if let Some(d) = self.data_sources.get_mut(ds) {
                    d.rows.retain(|k| k != child);
                }
            }
            Parent::Database(_) | Parent::Workspace => {}
        }
    }
}
