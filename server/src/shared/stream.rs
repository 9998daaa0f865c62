//! Logs the replicas share: per topic of a family, one Redis stream that every replica appends to
//! and reads from (`XADD … MAXLEN ~ n`, `XREAD BLOCK`), so what one replica learnt reaches the others,
//! also those that start later, as long as the stream still holds it.
//!
//! Keys of family `f`, topic `t`: the stream `notion-mcp:log:f:stream:t`; its generation
//! `notion-mcp:log:f:generation:t`, a random value set when the stream is first written (a reader
//! that kept a position in an older generation knows the stream was lost, e.g. Redis restarted
//! empty); and the set `notion-mcp:log:f:topics` of every topic written. Blocking reads use a
//! connection of their own, so they never hold up the shared connection's short calls.

use super::{CONNECT_TIMEOUT, KEY_PREFIX, OP_TIMEOUT, Op, SharedError, SharedState};
use redis::aio::MultiplexedConnection;
use redis::{AsyncConnectionConfig, Value};
use std::collections::HashMap;
use std::fmt;
use std::time::{Duration, Instant};

/// A stream entry id (`<ms>-<seq>`), ordered as Redis orders them.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct EntryId {
    pub ms: u64,
    pub seq: u64,
}

impl EntryId {
    /// Before every entry.
    pub const START: EntryId = EntryId { ms: 0, seq: 0 };

    pub fn parse(text: &str) -> Option<EntryId> {
        let (ms, seq) = text.trim().split_once('-')?;
        Some(EntryId {
            ms: ms.parse().ok()?,
            seq: seq.parse().ok()?,
        })
    }
}

impl fmt::Display for EntryId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}-{}", self.ms, self.seq)
    }
}

/// One entry read from a log.
#[derive(Debug, Clone, PartialEq)]
pub struct LogEntry {
    pub id: EntryId,
    pub fields: HashMap<String, Vec<u8>>,
}

/// What a log looks like now.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct LogInfo {
    /// `None`: nothing was ever written (or Redis lost it).
    pub generation: Option<String>,
    /// The newest entry id ever given out (trimmed or not).
    pub last: EntryId,
    /// The oldest entry still held; `None` when the stream is empty.
    pub first: Option<EntryId>,
    /// Entries held now.
    pub length: u64,
    /// Entries ever added (held or trimmed away).
    pub added: u64,
}

impl LogInfo {
    /// Whether a reader that applied every entry up to `position` can no longer read all that came
    /// after it (trimming removes the oldest entries first). When the last entry trimmed away is
    /// exactly `position`, this says so too: Redis does not tell the id of the last entry trimmed.
    pub fn missed_after(&self, position: EntryId) -> bool {
        if self.added <= self.length {
            return false;
        }
        match self.first {
            Some(first) => position < first,
            None => position < self.last,
        }
    }
}

fn stream_key(family: &str, topic: &str) -> String {
    format!("{KEY_PREFIX}log:{family}:stream:{topic}")
}

fn generation_key(family: &str, topic: &str) -> String {
    format!("{KEY_PREFIX}log:{family}:generation:{topic}")
}

fn topics_key(family: &str) -> String {
    format!("{KEY_PREFIX}log:{family}:topics")
}

impl SharedState {
    /// Appends `entries` (each a list of field/value pairs) to `topic`'s log in one round trip,
    /// trimming it to about `max_len` entries. Fails at once while Redis is degraded.
    pub async fn append_log(
        &self,
        family: &str,
        topic: &str,
        max_len: usize,
        entries: &[Vec<(&str, Vec<u8>)>],
    ) -> Result<(), SharedError> {
        if entries.is_empty() {
            return Ok(());
        }
        let mut conn = self.ready()?;
        let mut pipe = redis::pipe();
        pipe.cmd("SET")
            .arg(generation_key(family, topic))
            .arg(uuid::Uuid::new_v4().simple().to_string())
            .arg("NX")
            .ignore();
        pipe.cmd("SADD").arg(topics_key(family)).arg(topic).ignore();
        let stream = stream_key(family, topic);
        for fields in entries {
            let cmd = pipe
                .cmd("XADD")
                .arg(&stream)
                .arg("MAXLEN")
                .arg("~")
                .arg(max_len.max(1))
                .arg("*");
            for (name, value) in fields {
                cmd.arg(*name).arg(value.as_slice());
            }
            cmd.ignore();
        }
        self.run(Op::Stream, pipe.query_async::<()>(&mut conn))
            .await
    }

    /// Every topic of `family` some replica wrote.
    pub async fn log_topics(&self, family: &str) -> Result<Vec<String>, SharedError> {
        let mut conn = self.ready()?;
        let mut cmd = redis::cmd("SMEMBERS");
        cmd.arg(topics_key(family));
        self.run(Op::Stream, cmd.query_async(&mut conn)).await
    }

    /// The generation, newest id and newest trimmed id of `topic`'s log.
    pub async fn log_info(&self, family: &str, topic: &str) -> Result<LogInfo, SharedError> {
        let mut conn = self.ready()?;
        let mut pipe = redis::pipe();
        pipe.cmd("GET").arg(generation_key(family, topic));
        pipe.cmd("EXISTS").arg(stream_key(family, topic));
        let (generation, exists): (Option<String>, bool) =
            self.run(Op::Stream, pipe.query_async(&mut conn)).await?;
        if !exists {
            return Ok(LogInfo {
                generation,
                ..LogInfo::default()
            });
        }
        let mut cmd = redis::cmd("XINFO");
        cmd.arg("STREAM").arg(stream_key(family, topic));
        let info: HashMap<String, Value> = self.run(Op::Stream, cmd.query_async(&mut conn)).await?;
        let id = |name: &str| {
            info.get(name)
                .and_then(|v| redis::from_redis_value_ref::<String>(v).ok())
                .and_then(|s| EntryId::parse(&s))
        };
        let count = |name: &str| {
            info.get(name)
                .and_then(|v| redis::from_redis_value_ref::<u64>(v).ok())
                .unwrap_or(0)
        };
        let length = count("length");
        Ok(LogInfo {
            generation,
            last: id("last-generated-id").unwrap_or_default(),
            first: if length > 0 {
                id("recorded-first-entry-id")
            } else {
                None
            },
            length,
            added: count("entries-added"),
        })
    }

    /// A reader of `family`'s logs on a connection of its own.
    pub async fn log_reader(&self, family: &str) -> Result<LogReader, SharedError> {
        if self.is_degraded() {
            return Err(SharedError::Degraded);
        }
        let Some(client) = &self.inner.client else {
            return Err(SharedError::Degraded);
        };
        let config = AsyncConnectionConfig::new()
            .set_connection_timeout(Some(CONNECT_TIMEOUT))
            .set_response_timeout(None);
        let conn = tokio::time::timeout(
            CONNECT_TIMEOUT,
            client.get_multiplexed_async_connection_with_config(&config),
        )
        .await
        .map_err(|_| SharedError::Timeout {
            op: Op::Stream,
            after: CONNECT_TIMEOUT,
        })?
        .map_err(|e| SharedError::Redis {
            op: Op::Stream,
            message: self.inner.scrubbed(e.to_string()),
        })?;
        Ok(LogReader {
            conn,
            family: family.to_owned(),
            state: self.clone(),
        })
    }
}

/// Reads logs, waiting for new entries; see [`SharedState::log_reader`].
pub struct LogReader {
    conn: MultiplexedConnection,
    family: String,
    state: SharedState,
}

impl fmt::Debug for LogReader {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("LogReader")
            .field("family", &self.family)
            .finish_non_exhaustive()
    }
}

/// Entries of one topic, oldest first.
pub type TopicEntries = (String, Vec<LogEntry>);

impl LogReader {
    /// Up to `count` entries per topic after each given position, waiting up to `block` for some;
    /// empty when none came. A failure means this reader's connection is unusable: open another.
    pub async fn read(
        &mut self,
        from: &[(String, EntryId)],
        block: Duration,
        count: usize,
    ) -> Result<Vec<TopicEntries>, SharedError> {
        if from.is_empty() {
            return Ok(Vec::new());
        }
        let mut cmd = redis::cmd("XREAD");
        cmd.arg("COUNT")
            .arg(count.max(1))
            .arg("BLOCK")
            .arg(u64::try_from(block.as_millis()).unwrap_or(u64::MAX))
            .arg("STREAMS");
        for (topic, _) in from {
            cmd.arg(stream_key(&self.family, topic));
        }
        for (_, id) in from {
            cmd.arg(id.to_string());
        }
        let started = Instant::now();
        let deadline = block + OP_TIMEOUT * 4;
        let metrics = &self.state.inner.metrics;
        let reply = tokio::time::timeout(
            deadline,
            cmd.query_async::<Option<Vec<(String, Vec<(String, HashMap<String, Vec<u8>>)>)>>>(
                &mut self.conn,
            ),
        )
        .await;
        let reply = match reply {
            Ok(Ok(reply)) => reply.unwrap_or_default(),
            Ok(Err(e)) => {
                metrics.observe_redis_error(Op::Stream.as_str());
                return Err(SharedError::Redis {
                    op: Op::Stream,
                    message: self.state.inner.scrubbed(e.to_string()),
                });
            }
            Err(_) => {
                metrics.observe_redis_error(Op::Stream.as_str());
                return Err(SharedError::Timeout {
                    op: Op::Stream,
                    after: deadline,
                });
            }
        };
        // A blocked read's time is mostly waiting: only answers that brought entries are timed.
        if !reply.is_empty() {
            metrics.observe_redis(Op::Stream.as_str(), started.elapsed());
        }
        let prefix = stream_key(&self.family, "");
        Ok(reply
            .into_iter()
            .map(|(key, entries)| {
                let topic = key.strip_prefix(&prefix).unwrap_or(&key).to_owned();
                let entries = entries
                    .into_iter()
                    .filter_map(|(id, fields)| {
                        Some(LogEntry {
                            id: EntryId::parse(&id)?,
                            fields,
                        })
                    })
                    .collect();
                (topic, entries)
            })
            .collect())
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn entry_ids_parse_print_and_order_as_redis_does() {
        let a = EntryId::parse("1700000000000-3").unwrap();
        let b = EntryId::parse("1700000000000-12").unwrap();
        assert!(a < b && EntryId::START < a);
        assert_eq!(b.to_string(), "1700000000000-12");
        assert_eq!(EntryId::parse("nope"), None);
        assert_eq!(EntryId::parse("1-x"), None);
    }

    #[test]
    fn a_position_before_what_was_trimmed_missed_entries() {
        let id = |ms| EntryId { ms, seq: 0 };
        let never_trimmed = LogInfo {
            generation: Some("g".into()),
            last: id(30),
            first: Some(id(10)),
            length: 3,
            added: 3,
        };
        assert!(!never_trimmed.missed_after(EntryId::START));
        let trimmed = LogInfo {
            added: 5,
            ..never_trimmed.clone()
        };
        assert!(trimmed.missed_after(EntryId::START));
        assert!(trimmed.missed_after(id(5)));
        assert!(!trimmed.missed_after(id(10)), "still holds what follows");
        let emptied = LogInfo {
            first: None,
            length: 0,
            ..trimmed
        };
        assert!(emptied.missed_after(id(20)));
        assert!(
            !emptied.missed_after(id(30)),
            "read everything before it went"
        );
    }
}
