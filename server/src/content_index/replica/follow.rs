//! Reads every workspace's shared log and hands the other replicas' entries to the worker (this
//! replica's own are only stepped over). Starts each workspace's log at the position the crawl state
//! kept, or at its beginning; a position the log no longer covers (trimmed past it, or a log of
//! another generation: Redis lost it) and an outage of Redis (entries sent meanwhile never reached
//! it) are gaps: once the log's remaining entries are read, the crawler lists the workspace once on
//! its own and reads what is still missing.

use super::{Entry, FAMILY, Replica};
use crate::content_index::{ContentIndex, Job};
use crate::shared::SharedError;
use crate::shared::stream::{EntryId, LogEntry, LogReader};
use std::collections::HashMap;
use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};
use tokio_util::sync::CancellationToken;

/// Longest wait of one read for new entries.
const BLOCK: Duration = Duration::from_secs(1);
/// Entries read at most per workspace and read.
const COUNT: usize = 256;
/// How often the set of workspaces with a log is read again.
const TOPICS_EVERY: Duration = Duration::from_secs(2);
/// Pause after a failure, or while Redis is unreachable.
const RETRY: Duration = Duration::from_millis(500);

/// Where this replica is in one workspace's log.
#[derive(Debug)]
struct Followed {
    at: EntryId,
    generation: Arc<str>,
    /// A gap: catch up by a crawl once what the log still holds is read.
    gap: bool,
}

/// Follow the logs until `stop`.
pub async fn run(index: Arc<ContentIndex>, replica: Arc<Replica>, stop: CancellationToken) {
    let shared = replica.shared.clone();
    let mut followed: HashMap<Arc<str>, Followed> = HashMap::new();
    let mut reader: Option<LogReader> = None;
    let mut outages = shared.outages();
    let mut topics_read: Option<Instant> = None;
    loop {
        if stop.is_cancelled() {
            return;
        }
        if shared.is_degraded() {
            reader = None;
            if pause(&stop, RETRY).await {
                return;
            }
            continue;
        }
        let now_outages = shared.outages();
        if now_outages != outages {
            // What was sent while Redis was away never reached it: every workspace has a gap.
            for (ws, _) in followed.drain() {
                replica.gate.catch_up(&ws);
            }
            topics_read = None;
            outages = now_outages;
        }
        if topics_read.is_none_or(|t| t.elapsed() >= TOPICS_EVERY) {
            match shared.log_topics(FAMILY).await {
                Ok(topics) => {
                    for topic in topics {
                        if followed.contains_key(topic.as_str()) {
                            continue;
                        }
                        let ws: Arc<str> = Arc::from(topic);
                        match start(&index, &replica, &ws).await {
                            Ok(f) => {
                                followed.insert(ws, f);
                            }
                            Err(e) => tracing::debug!(error = %e, "shared index log not opened"),
                        }
                    }
                    topics_read = Some(Instant::now());
                }
                Err(e) => {
                    tracing::debug!(error = %e, "shared index logs not listed");
                    if pause(&stop, RETRY).await {
                        return;
                    }
                    continue;
                }
            }
        }
        if followed.is_empty() {
            if pause(&stop, BLOCK).await {
                return;
            }
            continue;
        }
        let mut current = match reader.take() {
            Some(r) => r,
            None => match shared.log_reader(FAMILY).await {
                Ok(r) => r,
                Err(e) => {
                    tracing::debug!(error = %e, "shared index log reader not connected");
                    if pause(&stop, RETRY).await {
                        return;
                    }
                    continue;
                }
            },
        };
        let from: Vec<(String, EntryId)> = followed
            .iter()
            .map(|(ws, f)| (ws.to_string(), f.at))
            .collect();
        let read = tokio::select! {
            () = stop.cancelled() => return,
            r = current.read(&from, BLOCK, COUNT) => r,
        };
        match read {
            Ok(topics) => {
                reader = Some(current);
                // Topics that may hold more entries than one read brings.
                let more: Vec<String> = topics
                    .iter()
                    .filter(|(_, entries)| entries.len() >= COUNT)
                    .map(|(topic, _)| topic.clone())
                    .collect();
                for (topic, entries) in topics {
                    let Some(ws) = followed.keys().find(|k| ***k == *topic).cloned() else {
                        continue;
                    };
                    let Some(f) = followed.get_mut(&ws) else {
                        continue;
                    };
                    for entry in entries {
                        receive(&index, &replica, &ws, f, entry);
                    }
                }
                caught_up(&replica, &mut followed, &more);
            }
            Err(e) => {
                tracing::debug!(error = %e, "reading the shared index logs failed");
                if pause(&stop, RETRY).await {
                    return;
                }
            }
        }
    }
}

/// Where to start `ws`'s log, and whether there is a gap.
async fn start(
    index: &ContentIndex,
    replica: &Replica,
    ws: &Arc<str>,
) -> Result<Followed, SharedError> {
    let info = replica.shared.log_info(FAMILY, ws).await?;
    let kept = index.catalog.read(ws, |s| s.and_then(|s| s.log.clone()));
    let generation = info.generation.clone().unwrap_or_default();
    let (at, mut gap) = match kept {
        Some(p) if p.generation == generation => {
            (EntryId::parse(&p.id).unwrap_or(EntryId::START), false)
        }
        // Read in a log that is gone: what it held after this replica's position is lost.
        Some(_) => (EntryId::START, true),
        None => (EntryId::START, false),
    };
    // Trimmed past the position: entries this replica never applied are gone.
    gap |= info.missed_after(at);
    Ok(Followed {
        at,
        generation: Arc::from(generation),
        gap,
    })
}

/// Workspaces with a gap whose log is read to its end (all but `more`): crawl them once now.
fn caught_up(replica: &Replica, followed: &mut HashMap<Arc<str>, Followed>, more: &[String]) {
    for (ws, f) in followed.iter_mut() {
        if f.gap && !more.iter().any(|m| **m == **ws) {
            f.gap = false;
            replica.gate.catch_up(ws);
        }
    }
}

fn receive(
    index: &ContentIndex,
    replica: &Replica,
    ws: &Arc<str>,
    f: &mut Followed,
    raw: LogEntry,
) {
    f.at = raw.id;
    let own = raw.fields.get("origin").map(Vec::as_slice) == Some(replica.origin.as_bytes());
    let entry = if own {
        None
    } else {
        let kind = raw
            .fields
            .get("kind")
            .map(|k| String::from_utf8_lossy(k).into_owned())
            .unwrap_or_default();
        let data = raw.fields.get("doc").map(Vec::as_slice).unwrap_or(b"{}");
        match Entry::decode(&kind, data) {
            Ok(entry) => {
                index.metrics.shared("received", 1);
                index.metrics.lag(lag_seconds(raw.id));
                Some(entry)
            }
            Err(e) => {
                tracing::debug!(error = %e, "shared index entry skipped");
                None
            }
        }
    };
    index.enqueue(Job::Received {
        workspace: ws.clone(),
        at: raw.id,
        generation: f.generation.clone(),
        entry,
    });
}

/// Age of an entry by its id (Redis's clock against this one's: approximate).
fn lag_seconds(id: EntryId) -> f64 {
    let now = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| u64::try_from(d.as_millis()).unwrap_or(u64::MAX));
    now.saturating_sub(id.ms) as f64 / 1000.0
}

/// Sleep unless stopped; whether it was stopped.
async fn pause(stop: &CancellationToken, wait: Duration) -> bool {
    tokio::select! {
        () = stop.cancelled() => true,
        () = tokio::time::sleep(wait) => false,
    }
}
