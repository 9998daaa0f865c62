//! The crawl state: per workspace, every page known (title, parent, data source, last edit seen and
//! last edit indexed) and the crawler's search cursor. Kept next to the index as one JSON file
//! (written to a temporary file, then renamed), so a restart resumes the crawl instead of starting it
//! over. Parent paths and "under this page" filters are answered from here.

use serde::{Deserialize, Serialize};
use std::collections::{HashMap, HashSet};
use std::path::PathBuf;
use std::sync::Mutex;
use std::sync::atomic::{AtomicBool, Ordering};
use uuid::Uuid;

/// Longest parent chain followed (pages nest deeper only in odd workspaces; cycles stop too).
const MAX_DEPTH: usize = 32;

/// What is known about one page.
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq)]
pub struct Known {
    #[serde(default)]
    pub title: String,
    #[serde(default)]
    pub parent: Option<Uuid>,
    #[serde(default)]
    pub data_source: Option<Uuid>,
    /// Last edit Notion showed (Unix seconds).
    #[serde(default)]
    pub edited: i64,
    /// Last edit whose content is in the index; `None`: not indexed yet.
    #[serde(default)]
    pub indexed: Option<i64>,
    /// A webhook said it changed after `indexed`.
    #[serde(default)]
    pub stale: bool,
}

impl Known {
    fn needs_indexing(&self) -> bool {
        self.stale || self.indexed.is_none_or(|at| at < self.edited)
    }
}

/// One workspace's crawl state.
#[derive(Debug, Default, Serialize, Deserialize)]
pub struct WorkspaceState {
    #[serde(default)]
    pub pages: HashMap<Uuid, Known>,
    /// Where the crawler's listing goes on (`None`: from the start).
    #[serde(default)]
    pub cursor: Option<String>,
    /// Full listings finished.
    #[serde(default)]
    pub passes: u64,
    /// Data sources: the page each is under (through its database), and its title.
    #[serde(default)]
    pub sources: HashMap<Uuid, (Option<Uuid>, String)>,
    /// How far the workspace's shared log (with Redis) has been applied.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub log: Option<LogPosition>,
}

/// The last entry applied of a workspace's shared log, and the log's generation.
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq)]
pub struct LogPosition {
    pub generation: String,
    pub id: String,
}

impl WorkspaceState {
    /// What `id` (a page or a data source) is directly under.
    fn up(&self, id: Uuid) -> Option<Uuid> {
        match self.pages.get(&id) {
            Some(k) => k.parent.or(k.data_source),
            None => self.sources.get(&id).and_then(|(page, _)| *page),
        }
    }

    fn title(&self, id: Uuid) -> Option<&str> {
        self.pages
            .get(&id)
            .map(|k| k.title.as_str())
            .or_else(|| self.sources.get(&id).map(|(_, t)| t.as_str()))
    }
}

#[derive(Debug, Default, Serialize, Deserialize)]
struct State {
    #[serde(default)]
    workspaces: HashMap<String, WorkspaceState>,
}

/// How complete one workspace's index is.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Progress {
    pub known: usize,
    pub indexed: usize,
    pub stale: usize,
    /// Whether the crawler has listed the whole workspace at least once.
    pub listed: bool,
}

/// Why the crawl state could not be read or written.
#[derive(Debug, thiserror::Error)]
pub enum CatalogError {
    #[error("crawl state {path}: {source}")]
    Io {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("crawl state {path} is not valid: {source}")]
    Decode {
        path: PathBuf,
        source: serde_json::Error,
    },
}

/// The crawl state of every workspace.
pub struct Catalog {
    file: Option<PathBuf>,
    state: Mutex<State>,
    dirty: AtomicBool,
}

impl Catalog {
    /// In memory only.
    pub fn in_memory() -> Self {
        Catalog {
            file: None,
            state: Mutex::new(State::default()),
            dirty: AtomicBool::new(false),
        }
    }

    /// Kept in `file`, read now if it exists.
    pub fn open(file: PathBuf) -> Result<Self, CatalogError> {
        let state = match std::fs::read(&file) {
            Ok(bytes) => serde_json::from_slice(&bytes).map_err(|source| CatalogError::Decode {
                path: file.clone(),
                source,
            })?,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => State::default(),
            Err(source) => return Err(CatalogError::Io { path: file, source }),
        };
        Ok(Catalog {
            file: Some(file),
            state: Mutex::new(state),
            dirty: AtomicBool::new(false),
        })
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Run `f` on one workspace's state (created when new) and remember to save.
    pub fn update<R>(&self, workspace: &str, f: impl FnOnce(&mut WorkspaceState) -> R) -> R {
        let mut state = self.lock();
        let ws = state.workspaces.entry(workspace.to_owned()).or_default();
        let r = f(ws);
        self.dirty.store(true, Ordering::Release);
        r
    }

    /// Read one workspace's state.
    pub fn read<R>(&self, workspace: &str, f: impl FnOnce(Option<&WorkspaceState>) -> R) -> R {
        let state = self.lock();
        f(state.workspaces.get(workspace))
    }

    /// Note a page seen in Notion (a listing, a read): its title, place and last edit.
    pub fn note(
        &self,
        workspace: &str,
        id: Uuid,
        title: &str,
        parent: Option<Uuid>,
        data_source: Option<Uuid>,
        edited: i64,
    ) {
        self.update(workspace, |ws| {
            let known = ws.pages.entry(id).or_default();
            known.title = title.to_owned();
            known.parent = parent;
            known.data_source = data_source;
            known.edited = known.edited.max(edited);
        });
    }

    /// Remember what a page document says of its place and edit time.
    pub fn note_page(&self, doc: &super::document::PageDoc) {
        self.note(
            &doc.workspace,
            doc.id,
            &doc.title,
            doc.parent_page,
            doc.data_source,
            doc.edited,
        );
    }

    /// The page's content as of `edited` is in the index.
    pub fn indexed(&self, workspace: &str, id: Uuid, edited: i64) {
        self.update(workspace, |ws| {
            let known = ws.pages.entry(id).or_default();
            known.edited = known.edited.max(edited);
            known.indexed = Some(edited.max(known.indexed.unwrap_or(0)));
            known.stale = known.indexed.is_some_and(|at| at < known.edited);
        });
    }

    /// A webhook says the page changed: index it again.
    pub fn mark_stale(&self, workspace: &str, id: Uuid) {
        self.update(workspace, |ws| ws.pages.entry(id).or_default().stale = true);
    }

    /// Forget a page (trashed or gone).
    pub fn remove(&self, id: Uuid) {
        let mut state = self.lock();
        for ws in state.workspaces.values_mut() {
            ws.pages.remove(&id);
        }
        self.dirty.store(true, Ordering::Release);
    }

    /// The workspace a page is known in.
    pub fn workspace_of(&self, id: Uuid) -> Option<String> {
        let state = self.lock();
        state
            .workspaces
            .iter()
            .find(|(_, ws)| ws.pages.contains_key(&id))
            .map(|(name, _)| name.clone())
    }

    /// The workspace a data source is known in (by its place, or by its rows).
    pub fn workspace_of_source(&self, ds: Uuid) -> Option<String> {
        let state = self.lock();
        state
            .workspaces
            .iter()
            .find(|(_, ws)| {
                ws.sources.contains_key(&ds) || ws.pages.values().any(|k| k.data_source == Some(ds))
            })
            .map(|(name, _)| name.clone())
    }

    /// Whether a page's content must be read (not indexed, or changed since).
    pub fn needs_indexing(&self, workspace: &str, id: Uuid) -> bool {
        self.read(workspace, |ws| {
            ws.and_then(|ws| ws.pages.get(&id))
                .is_none_or(Known::needs_indexing)
        })
    }

    /// Up to `n` pages of a workspace that need (re)indexing, most recently edited first.
    pub fn to_index(&self, workspace: &str, n: usize) -> Vec<Uuid> {
        self.read(workspace, |ws| {
            let Some(ws) = ws else { return Vec::new() };
            let mut due: Vec<(i64, Uuid)> = ws
                .pages
                .iter()
                .filter(|(_, k)| k.needs_indexing())
                .map(|(id, k)| (k.edited, *id))
                .collect();
            due.sort_unstable_by(|a, b| b.cmp(a));
            due.into_iter().take(n).map(|(_, id)| id).collect()
        })
    }

    /// Titles of the pages above `id`, outermost first.
    pub fn path(&self, workspace: &str, id: Uuid) -> Vec<String> {
        self.read(workspace, |ws| {
            let Some(ws) = ws else { return Vec::new() };
            let mut titles = Vec::new();
            let mut at = ws.up(id);
            let mut seen = HashSet::new();
            while let Some(parent) = at {
                if titles.len() >= MAX_DEPTH || !seen.insert(parent) {
                    break;
                }
                let Some(title) = ws.title(parent) else { break };
                titles.push(title.to_owned());
                at = ws.up(parent);
            }
            titles.reverse();
            titles
        })
    }

    /// Every known page under `ancestor` (pages, and rows of data sources under it), at any depth.
    pub fn descendants(&self, workspace: &str, ancestor: Uuid) -> HashSet<Uuid> {
        self.read(workspace, |ws| {
            let mut found = HashSet::new();
            let Some(ws) = ws else { return found };
            for id in ws.pages.keys() {
                let mut at = ws.up(*id);
                let mut depth = 0;
                while let Some(parent) = at {
                    if parent == ancestor {
                        found.insert(*id);
                        break;
                    }
                    depth += 1;
                    if depth > MAX_DEPTH {
                        break;
                    }
                    at = ws.up(parent);
                }
            }
            found
        })
    }

    pub fn progress(&self, workspace: &str) -> Progress {
        self.read(workspace, |ws| {
            let Some(ws) = ws else {
                return Progress::default();
            };
            let indexed = ws.pages.values().filter(|k| k.indexed.is_some()).count();
            let stale = ws
                .pages
                .values()
                .filter(|k| k.indexed.is_some() && k.needs_indexing())
                .count();
            Progress {
                known: ws.pages.len(),
                indexed,
                stale,
                listed: ws.passes > 0,
            }
        })
    }

    /// Totals over every workspace (for the metrics).
    pub fn totals(&self) -> Progress {
        let names: Vec<String> = self.lock().workspaces.keys().cloned().collect();
        names
            .iter()
            .map(|n| self.progress(n))
            .fold(Progress::default(), |a, p| Progress {
                known: a.known + p.known,
                indexed: a.indexed + p.indexed,
                stale: a.stale + p.stale,
                listed: a.listed || p.listed,
            })
    }

    /// Write the state if it changed since the last save.
    pub fn save(&self) -> Result<(), CatalogError> {
        let Some(file) = &self.file else {
            return Ok(());
        };
        if !self.dirty.swap(false, Ordering::AcqRel) {
            return Ok(());
        }
        let bytes = {
            let state = self.lock();
            serde_json::to_vec(&*state).map_err(|source| CatalogError::Decode {
                path: file.clone(),
                source,
            })?
        };
        let tmp = file.with_extension("json.tmp");
        let io = |source| CatalogError::Io {
            path: file.clone(),
            source,
        };
        std::fs::write(&tmp, bytes).map_err(io)?;
        std::fs::rename(&tmp, file).map_err(|source| CatalogError::Io {
            path: file.clone(),
            source,
        })
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    fn u(n: u128) -> Uuid {
        Uuid::from_u128(n)
    }

    #[test]
    fn paths_descendants_progress_and_resume() {
        let dir = std::env::temp_dir().join(format!("catalog-{}", Uuid::new_v4()));
        std::fs::create_dir_all(&dir).unwrap();
        let file = dir.join("crawl.json");
        let c = Catalog::open(file.clone()).unwrap();
        c.note("w", u(1), "Root", None, None, 10);
        c.note("w", u(2), "Child", Some(u(1)), None, 20);
        c.note("w", u(3), "Row", None, Some(u(9)), 30);
        c.update("w", |ws| {
            ws.sources.insert(u(9), (Some(u(2)), "Tasks".into()))
        });
        c.note("w", u(2), "Child", Some(u(1)), None, 20);
        assert_eq!(c.workspace_of_source(u(9)).as_deref(), Some("w"));
        assert_eq!(c.workspace_of_source(u(8)), None);
        assert_eq!(c.path("w", u(3)), vec!["Root", "Child", "Tasks"]);
        assert_eq!(c.descendants("w", u(1)), HashSet::from([u(2), u(3)]));
        assert_eq!(c.to_index("w", 2), vec![u(3), u(2)]);
        c.indexed("w", u(3), 30);
        c.update("w", |ws| ws.cursor = Some("next".into()));
        c.save().unwrap();
        let again = Catalog::open(file).unwrap();
        let p = again.progress("w");
        assert_eq!((p.known, p.indexed, p.stale), (3, 1, 0));
        assert_eq!(
            again.read("w", |ws| ws.unwrap().cursor.clone()),
            Some("next".into())
        );
        again.mark_stale("w", u(3));
        assert_eq!(again.progress("w").stale, 1);
        assert_eq!(again.workspace_of(u(2)).as_deref(), Some("w"));
        again.remove(u(2));
        assert_eq!(again.progress("w").known, 2);
        std::fs::remove_dir_all(dir).ok();
    }
}
