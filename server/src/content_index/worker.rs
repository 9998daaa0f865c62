//! The background worker: applies queued [`Job`]s to the index in batches (one commit per batch,
//! so an edit shows in searches within moments of its webhook), hands webhook-named pages to the
//! crawler to be read again, and saves the crawl state now and then. With Redis it also shares
//! every change of a batch once committed, and applies what other replicas shared
//! ([`super::replica`]).

use super::catalog::LogPosition;
use super::crawler::Crawler;
use super::document::PageDoc;
use super::replica::{Entry, Replica, SharedDoc};
use super::{ContentIndex, Job};
use std::collections::HashMap;
use std::sync::Arc;
use std::time::{Duration, Instant};
use tokio::sync::mpsc::UnboundedReceiver;
use tokio_util::sync::CancellationToken;
use uuid::Uuid;

/// Jobs applied at most per commit.
const BATCH: usize = 512;
/// How long a stopping worker waits for content reads under way.
const STOP_WAIT: Duration = Duration::from_secs(3);
/// How often the crawl state is written while it changes.
const SAVE_EVERY: Duration = Duration::from_secs(2);

/// Run until `stop` fires (then commit and save once more).
pub async fn run(
    index: Arc<ContentIndex>,
    mut jobs: UnboundedReceiver<Job>,
    crawler: Option<Arc<Crawler>>,
    replica: Option<Arc<Replica>>,
    stop: CancellationToken,
) {
    let mut last_save = Instant::now();
    loop {
        let first = tokio::select! {
            job = jobs.recv() => job,
            () = stop.cancelled() => None,
        };
        let Some(first) = first else { break };
        let mut batch = Batch::default();
        batch.apply(&index, crawler.as_ref(), first);
        while batch.applied < BATCH {
            match jobs.try_recv() {
                Ok(job) => batch.apply(&index, crawler.as_ref(), job),
                Err(_) => break,
            }
        }
        if batch.changed {
            commit(&index).await;
        }
        share(&index, replica.as_deref(), &mut batch).await;
        if last_save.elapsed() >= SAVE_EVERY {
            save(&index).await;
            last_save = Instant::now();
        }
    }
    // Stopping: apply what is queued, and what reads under way still bring (bounded).
    let deadline = Instant::now() + STOP_WAIT;
    let mut batch = Batch::default();
    loop {
        while let Ok(job) = jobs.try_recv() {
            batch.apply(&index, None, job);
        }
        let reading = crawler.as_ref().is_some_and(|c| c.is_reading());
        if !reading || Instant::now() >= deadline {
            break;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    commit(&index).await;
    share(&index, replica.as_deref(), &mut batch).await;
    save(&index).await;
    if let Some(replica) = &replica {
        replica.gate.release_all().await;
    }
}

/// Send the batch's changes to the other replicas (after its commit).
async fn share(index: &ContentIndex, replica: Option<&Replica>, batch: &mut Batch) {
    let outgoing = std::mem::take(&mut batch.outgoing);
    if let Some(replica) = replica
        && !outgoing.is_empty()
    {
        replica.publish(index, outgoing).await;
    }
}

async fn commit(index: &Arc<ContentIndex>) {
    let idx = index.clone();
    match tokio::task::spawn_blocking(move || idx.engine.commit()).await {
        Ok(Ok(())) => {}
        Ok(Err(e)) => tracing::warn!(error = %e, "content index commit failed"),
        Err(e) => tracing::warn!(error = %e, "content index commit did not finish"),
    }
    index.publish_progress();
}

async fn save(index: &Arc<ContentIndex>) {
    let idx = index.clone();
    if let Ok(Err(e)) = tokio::task::spawn_blocking(move || idx.catalog.save()).await {
        tracing::warn!(error = %e, "content index crawl state not saved");
    }
}

/// One batch: documents written in it (not yet visible to [`crate::content_index::engine::Engine::stored`]).
#[derive(Default)]
struct Batch {
    written: HashMap<Uuid, PageDoc>,
    applied: usize,
    changed: bool,
    /// Changes to share with the other replicas.
    outgoing: Vec<(Arc<str>, Entry)>,
    /// Applying another replica's change (not shared again).
    receiving: bool,
}

impl Batch {
    fn apply(&mut self, index: &Arc<ContentIndex>, crawler: Option<&Arc<Crawler>>, job: Job) {
        self.applied += 1;
        match job {
            Job::Page(doc) => self.page(index, *doc),
            Job::Body {
                workspace,
                id,
                markdown,
            } => {
                let known = index.catalog.read(&workspace, |ws| {
                    ws.and_then(|ws| ws.pages.get(&id).cloned())
                });
                let base = self.current(index, id).unwrap_or_else(|| PageDoc {
                    id,
                    workspace: workspace.clone(),
                    title: known.as_ref().map(|k| k.title.clone()).unwrap_or_default(),
                    properties: String::new(),
                    body: None,
                    url: format!("https://www.notion.so/{}", id.simple()),
                    parent_page: known.as_ref().and_then(|k| k.parent),
                    data_source: known.as_ref().and_then(|k| k.data_source),
                    edited: known.as_ref().map_or(0, |k| k.edited),
                    in_trash: false,
                });
                let edited = base.edited.max(known.map_or(0, |k| k.edited));
                let doc = PageDoc {
                    edited,
                    ..base.with_body(markdown)
                };
                self.write(index, doc);
            }
            Job::Refresh { workspace, id } => {
                index.catalog.mark_stale(&workspace, id);
                if let Some(crawler) = crawler {
                    crawler.refresh(workspace, id);
                }
            }
            Job::Remove(id) => {
                if let Some(ws) = index.catalog.workspace_of(id) {
                    self.send(Arc::from(ws), Entry::Remove(id));
                }
                index.engine.delete(id);
                index.catalog.remove(id);
                self.written.remove(&id);
                self.changed = true;
            }
            Job::RemoveDataSource(ds) => {
                if let Some(ws) = index.catalog.workspace_of_source(ds) {
                    self.send(Arc::from(ws), Entry::RemoveSource(ds));
                }
                index.engine.delete_data_source(ds);
                self.written.retain(|_, d| d.data_source != Some(ds));
                self.changed = true;
            }
            Job::Share { workspace, entry } => self.send(workspace, entry),
            Job::Received {
                workspace,
                at,
                generation,
                entry,
            } => {
                if let Some(entry) = entry {
                    self.receiving = true;
                    self.receive(index, &workspace, entry);
                    self.receiving = false;
                }
                index.catalog.update(&workspace, |ws| {
                    ws.log = Some(LogPosition {
                        generation: generation.to_string(),
                        id: at.to_string(),
                    });
                });
            }
        }
    }

    /// Queue a change for the other replicas (unless it came from one).
    fn send(&mut self, workspace: Arc<str>, entry: Entry) {
        if !self.receiving {
            self.outgoing.push((workspace, entry));
        }
    }

    /// Apply another replica's change, as if this replica had made it (nothing is asked of Notion).
    fn receive(&mut self, index: &Arc<ContentIndex>, ws: &Arc<str>, entry: Entry) {
        match entry {
            Entry::Add(doc) => {
                let newer_here = index
                    .catalog
                    .read(ws, |s| s.and_then(|s| s.pages.get(&doc.id)?.indexed))
                    .is_some_and(|at| at > doc.edited);
                if newer_here {
                    return;
                }
                let indexed = doc.indexed;
                let doc = doc.into_doc(ws);
                index.catalog.note_page(&doc);
                if indexed {
                    self.write(index, doc);
                } else {
                    self.upsert(index, doc);
                }
            }
            Entry::Remove(id) => {
                // Who may read what may have changed with the trash: prove access again.
                index.proofs.invalidate_all();
                self.apply(index, None, Job::Remove(id));
            }
            Entry::RemoveSource(ds) => self.apply(index, None, Job::RemoveDataSource(ds)),
            Entry::Known(notes) => {
                for n in notes {
                    index
                        .catalog
                        .note(ws, n.id, &n.title, n.parent, n.data_source, n.edited);
                }
            }
            Entry::Sources(sources) => index.catalog.update(ws, |s| {
                for src in sources {
                    s.sources.insert(src.id, (src.page, src.title));
                }
            }),
            Entry::Listed => index.catalog.update(ws, |s| s.passes += 1),
            Entry::Access => index.proofs.invalidate_all(),
        }
    }

    /// The newest version of a page: written in this batch, else in the index.
    fn current(&self, index: &ContentIndex, id: Uuid) -> Option<PageDoc> {
        if let Some(doc) = self.written.get(&id) {
            return Some(doc.clone());
        }
        let stored = index.engine.stored(id).ok()??;
        let workspace = index.catalog.workspace_of(id)?;
        let known = index
            .catalog
            .read(&workspace, |ws| {
                ws.and_then(|ws| ws.pages.get(&id).cloned())
            })
            .unwrap_or_default();
        Some(PageDoc {
            id,
            workspace: Arc::from(workspace),
            title: stored.title,
            properties: stored.properties,
            body: Some(stored.body),
            url: stored.url,
            parent_page: known.parent,
            data_source: known.data_source,
            edited: stored.edited,
            in_trash: false,
        })
    }

    fn page(&mut self, index: &Arc<ContentIndex>, doc: PageDoc) {
        if doc.in_trash {
            return self.apply(index, None, Job::Remove(doc.id));
        }
        index.catalog.note_page(&doc);
        if doc.body.is_some() {
            return self.write(index, doc);
        }
        // Properties only: keep the body the index has (the crawler reads it again if it changed).
        match self.current(index, doc.id) {
            Some(old)
                if old.edited >= doc.edited
                    && old.title == doc.title
                    && old.properties == doc.properties => {}
            Some(old) => {
                let body = old.body.unwrap_or_default();
                self.upsert(index, doc.with_body(body));
            }
            None => self.upsert(index, doc.with_body(String::new())),
        }
    }

    /// Write a page whose body is current as of its `edited`.
    fn write(&mut self, index: &ContentIndex, doc: PageDoc) {
        index.catalog.indexed(&doc.workspace, doc.id, doc.edited);
        self.store(index, doc, true);
    }

    /// Write a page whose body may be older than its `edited`.
    fn upsert(&mut self, index: &ContentIndex, doc: PageDoc) {
        self.store(index, doc, false);
    }

    fn store(&mut self, index: &ContentIndex, doc: PageDoc, indexed: bool) {
        let path = index.catalog.path(&doc.workspace, doc.id);
        match index.engine.upsert(&doc, &path) {
            Ok(()) => {
                self.changed = true;
                self.send(
                    doc.workspace.clone(),
                    Entry::Add(SharedDoc::of(&doc, indexed)),
                );
                self.written.insert(doc.id, doc);
            }
            Err(e) => tracing::warn!(error = %e, "page not indexed"),
        }
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;
    use crate::content_index::IndexConfig;
    use crate::metrics::Metrics;
    use crate::shared::stream::EntryId;

    fn received(at: u64, entry: Entry) -> Job {
        Job::Received {
            workspace: Arc::from("w"),
            at: EntryId { ms: at, seq: 0 },
            generation: Arc::from("g"),
            entry: Some(entry),
        }
    }

    fn doc(body: &str, edited: i64) -> Entry {
        Entry::Add(SharedDoc {
            id: Uuid::from_u128(1),
            title: "Plan".into(),
            properties: String::new(),
            body: body.into(),
            url: String::new(),
            parent: None,
            data_source: None,
            edited,
            indexed: true,
        })
    }

    #[test]
    fn received_changes_are_applied_once_and_never_sent_back() {
        let (index, _jobs) = ContentIndex::open(IndexConfig::default(), &Metrics::new()).unwrap();
        let mut batch = Batch::default();
        batch.apply(&index, None, received(1, doc("newer words", 20)));
        // An older version arriving later (another replica's slower read) does not win.
        batch.apply(&index, None, received(2, doc("older words", 10)));
        index.engine.commit().unwrap();
        assert_eq!(
            index
                .engine
                .stored(Uuid::from_u128(1))
                .unwrap()
                .unwrap()
                .body,
            "newer words"
        );
        let p = index.progress("w");
        assert_eq!((p.known, p.indexed), (1, 1));
        assert_eq!(
            index.catalog.read("w", |s| s.unwrap().log.clone()),
            Some(LogPosition {
                generation: "g".into(),
                id: "2-0".into()
            })
        );
        batch.apply(&index, None, received(3, Entry::Remove(Uuid::from_u128(1))));
        assert_eq!(index.progress("w").known, 0);
        assert!(batch.outgoing.is_empty(), "echoed: {:?}", batch.outgoing);

        // This replica's own change is sent.
        let own = SharedDoc {
            id: Uuid::from_u128(2),
            title: "Own".into(),
            properties: String::new(),
            body: "mine".into(),
            url: String::new(),
            parent: None,
            data_source: None,
            edited: 5,
            indexed: true,
        };
        batch.apply(
            &index,
            None,
            Job::Page(Box::new(own.into_doc(&Arc::from("w")))),
        );
        assert!(
            matches!(batch.outgoing.as_slice(), [(ws, Entry::Add(d))] if &**ws == "w" && d.body == "mine" && d.indexed),
            "{:?}",
            batch.outgoing
        );
    }
}
