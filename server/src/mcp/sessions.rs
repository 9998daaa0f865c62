//! MCP sessions kept as records, not tasks: the session table behind `--sessions`.
//!
//! A session is a small record — the protocol version `initialize` negotiated, the client
//! capabilities it declared, the log level it asked for, when it was last seen — in a bounded map
//! with idle expiry. Its requests are answered by the stateless service like any other; the table
//! only says whether an id is live, fills in what the session negotiated, and ends sessions
//! (DELETE, idle expiry). rmcp's own session worker holds about 125 KB and three tasks per session
//! (benchmarks.md), so the transport keeps it only for clients that declare elicitation, the one
//! server→client request this server may make.
//!
//! GET streams and DELETE of these sessions go through rmcp's HTTP layer with [`SessionTable`] as
//! its `SessionManager`, so their validation, status codes and SSE framing are rmcp's. A GET stream
//! carries nothing but its priming event and keep-alives (the server sends nothing unprompted) and
//! ends when its session does.

use futures::{Stream, StreamExt};
use rmcp::model::{ClientJsonRpcMessage, ProtocolVersion, ServerJsonRpcMessage};
use rmcp::transport::streamable_http_server::session::never::NeverTransport;
use rmcp::transport::streamable_http_server::session::{
    ServerSseMessage, SessionId, SessionManager,
};
use serde::Deserialize;
use serde::de::IgnoredAny;
use std::collections::HashMap;
use std::future::Future;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, Weak};
use std::time::{Duration, Instant};
use tokio_util::sync::CancellationToken;

/// A session nobody used for this long is forgotten (rmcp's session worker uses the same).
pub const IDLE_TIMEOUT: Duration = Duration::from_secs(300);
/// Sessions kept at most; beyond it `initialize` is answered without a session.
pub const MAX_SESSIONS: usize = 100_000;
/// Log levels of `logging/setLevel`, least severe first.
const LOG_LEVELS: [&str; 8] = [
    "debug",
    "info",
    "notice",
    "warning",
    "error",
    "critical",
    "alert",
    "emergency",
];

/// What a client declared in `initialize` that the server may act on.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct DeclaredCapabilities {
    pub roots: bool,
    pub sampling: bool,
    pub elicitation: bool,
}

/// The parts of an `initialize` request the session table keeps.
#[derive(Debug, Clone, Copy)]
pub struct Declared {
    pub capabilities: DeclaredCapabilities,
}

impl Declared {
    /// Reads an `initialize` body; `None` when it is not one rmcp would accept either (rmcp then
    /// answers with the error).
    pub fn from_initialize(body: &[u8]) -> Option<Self> {
        #[derive(Deserialize)]
        struct Envelope {
            params: Params,
        }
        #[derive(Deserialize)]
        struct Params {
            #[serde(default)]
            capabilities: Caps,
        }
        #[derive(Deserialize, Default)]
        struct Caps {
            roots: Option<IgnoredAny>,
            sampling: Option<IgnoredAny>,
            elicitation: Option<IgnoredAny>,
        }
        let e: Envelope = serde_json::from_slice(body).ok()?;
        let c = e.params.capabilities;
        Some(Declared {
            capabilities: DeclaredCapabilities {
                roots: c.roots.is_some(),
                sampling: c.sampling.is_some(),
                elicitation: c.elicitation.is_some(),
            },
        })
    }
}

/// The level a `logging/setLevel` body asks for, if it names a known one.
pub fn requested_log_level(body: &[u8]) -> Option<&'static str> {
    #[derive(Deserialize)]
    struct Envelope {
        params: Params,
    }
    #[derive(Deserialize)]
    struct Params {
        level: String,
    }
    let e: Envelope = serde_json::from_slice(body).ok()?;
    LOG_LEVELS.iter().copied().find(|l| *l == e.params.level)
}

/// What a live session negotiated; put in the request extensions of its requests, so handlers can
/// read it from the HTTP request parts.
#[derive(Debug, Clone)]
pub struct SessionFacts {
    pub protocol_version: ProtocolVersion,
    pub capabilities: DeclaredCapabilities,
    /// The level the client last set with `logging/setLevel`.
    pub log_level: Option<&'static str>,
}

/// One session.
#[derive(Debug)]
struct Record {
    last_seen: Instant,
    /// Index into `ProtocolVersion::KNOWN_VERSIONS`.
    version: u8,
    capabilities: DeclaredCapabilities,
    /// Index into `LOG_LEVELS`.
    log_level: Option<u8>,
    /// Ends the session's GET streams; made when the first one opens.
    streams: Option<CancellationToken>,
}

impl Record {
    fn facts(&self) -> SessionFacts {
        SessionFacts {
            protocol_version: ProtocolVersion::KNOWN_VERSIONS[usize::from(self.version)].clone(),
            capabilities: self.capabilities,
            log_level: self.log_level.map(|i| LOG_LEVELS[usize::from(i)]),
        }
    }

    fn end(self) {
        if let Some(t) = self.streams {
            t.cancel();
        }
    }
}

/// Errors of the session table as rmcp's `SessionManager`.
#[derive(Debug, thiserror::Error)]
pub enum SessionError {
    /// rmcp asked for something only its own session worker does; the transport never routes such
    /// a request here.
    #[error("{0} is not offered by worker-less sessions")]
    NotOffered(&'static str),
    #[error("no live session with this id")]
    Unknown,
}

/// The live sessions, keyed by their id (128 random bits, sent as 32 lowercase hex digits).
pub struct SessionTable {
    records: Mutex<HashMap<u128, Record>>,
    idle: Duration,
    capacity: usize,
    sweeper: AtomicBool,
    shutdown: CancellationToken,
}

impl SessionTable {
    pub fn new(idle: Duration, capacity: usize, shutdown: CancellationToken) -> Arc<Self> {
        Arc::new(SessionTable {
            records: Mutex::default(),
            idle,
            capacity,
            sweeper: AtomicBool::new(false),
            shutdown,
        })
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<u128, Record>> {
        self.records.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Opens a session for a client that negotiated `version`; its id, or `None` when the version
    /// is not one rmcp knows or the table is full.
    pub fn open(self: &Arc<Self>, version: &str, declared: Declared) -> Option<String> {
        let version = ProtocolVersion::KNOWN_VERSIONS
            .iter()
            .position(|v| v.as_str() == version)?;
        self.start_sweeper();
        let now = Instant::now();
        let mut records = self.lock();
        if records.len() >= self.capacity {
            self.sweep_locked(&mut records, now);
            if records.len() >= self.capacity {
                tracing::warn!(
                    sessions = records.len(),
                    "session table full; answering initialize without a session"
                );
                return None;
            }
        }
        let key = loop {
            let key = rand::random::<u128>();
            if !records.contains_key(&key) {
                break key;
            }
        };
        records.insert(
            key,
            Record {
                last_seen: now,
                version: u8::try_from(version).ok()?,
                capabilities: declared.capabilities,
                log_level: None,
                streams: None,
            },
        );
        Some(format!("{key:032x}"))
    }

    /// The facts of a live session, marking it used; `None` for an id this table does not hold
    /// (or held until it expired).
    pub fn touch(&self, id: &str) -> Option<SessionFacts> {
        let key = parse_id(id)?;
        let now = Instant::now();
        let mut records = self.lock();
        let record = records.get_mut(&key)?;
        if now.duration_since(record.last_seen) > self.idle {
            if let Some(r) = records.remove(&key) {
                r.end();
            }
            return None;
        }
        record.last_seen = now;
        Some(record.facts())
    }

    /// Records the log level a session asked for.
    pub fn set_log_level(&self, id: &str, level: &str) {
        let (Some(key), Some(level)) = (parse_id(id), LOG_LEVELS.iter().position(|l| *l == level))
        else {
            return;
        };
        if let Some(r) = self.lock().get_mut(&key) {
            r.log_level = u8::try_from(level).ok();
        }
    }

    /// Ends a session; false if it was not live.
    pub fn close(&self, id: &str) -> bool {
        let removed = parse_id(id).and_then(|key| self.lock().remove(&key));
        removed.map(Record::end).is_some()
    }

    /// Live sessions.
    #[cfg(test)]
    fn len(&self) -> usize {
        self.lock().len()
    }

    /// Drops every session idle longer than the timeout.
    pub fn sweep(&self) {
        let mut records = self.lock();
        self.sweep_locked(&mut records, Instant::now());
    }

    fn sweep_locked(&self, records: &mut HashMap<u128, Record>, now: Instant) {
        let expired: Vec<u128> = records
            .iter()
            .filter(|(_, r)| now.duration_since(r.last_seen) > self.idle)
            .map(|(k, _)| *k)
            .collect();
        for key in expired {
            if let Some(r) = records.remove(&key) {
                r.end();
            }
        }
        // Give back the room a past crowd of sessions left behind.
        if records.capacity() > 1024 && records.len() < records.capacity() / 4 {
            records.shrink_to(records.len() * 2);
        }
    }

    /// Sweeps expired sessions in the background (so their GET streams end), from the first
    /// session on until shutdown or until the table is dropped.
    fn start_sweeper(self: &Arc<Self>) {
        if self.sweeper.swap(true, Ordering::Relaxed) {
            return;
        }
        let table: Weak<Self> = Arc::downgrade(self);
        let shutdown = self.shutdown.clone();
        let every = (self.idle / 4).max(Duration::from_millis(10));
        tokio::spawn(async move {
            let mut tick = tokio::time::interval(every);
            loop {
                tokio::select! {
                    () = shutdown.cancelled() => break,
                    _ = tick.tick() => match table.upgrade() {
                        Some(t) => t.sweep(),
                        None => break,
                    },
                }
            }
        });
    }

    /// The token that ends a live session's GET streams.
    fn stream_closer(&self, id: &str) -> Option<CancellationToken> {
        let key = parse_id(id)?;
        let mut records = self.lock();
        let record = records.get_mut(&key)?;
        Some(
            record
                .streams
                .get_or_insert_with(CancellationToken::new)
                .clone(),
        )
    }
}

/// The table key of a session id this table could have issued.
fn parse_id(id: &str) -> Option<u128> {
    if id.len() != 32 || !id.bytes().all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f')) {
        return None;
    }
    u128::from_str_radix(id, 16).ok()
}

/// rmcp's HTTP layer serves GET streams and DELETE of these sessions through this. Requests and
/// `initialize` never come here: the transport answers them with the stateless service.
impl SessionManager for SessionTable {
    type Error = SessionError;
    type Transport = NeverTransport;

    fn create_session(
        &self,
    ) -> impl Future<Output = Result<(SessionId, NeverTransport), SessionError>> + Send {
        futures::future::ready(Err(SessionError::NotOffered("a session worker")))
    }

    fn initialize_session(
        &self,
        _id: &SessionId,
        _message: ClientJsonRpcMessage,
    ) -> impl Future<Output = Result<ServerJsonRpcMessage, SessionError>> + Send {
        futures::future::ready(Err(SessionError::NotOffered("initialize in a session")))
    }

    fn has_session(
        &self,
        id: &SessionId,
    ) -> impl Future<Output = Result<bool, SessionError>> + Send {
        futures::future::ready(Ok(self.touch(id).is_some()))
    }

    fn close_session(
        &self,
        id: &SessionId,
    ) -> impl Future<Output = Result<(), SessionError>> + Send {
        self.close(id);
        futures::future::ready(Ok(()))
    }

    fn create_stream(
        &self,
        _id: &SessionId,
        _message: ClientJsonRpcMessage,
    ) -> impl Future<
        Output = Result<impl Stream<Item = ServerSseMessage> + Send + Sync + 'static, SessionError>,
    > + Send {
        futures::future::ready(Err::<futures::stream::Empty<ServerSseMessage>, _>(
            SessionError::NotOffered("a request stream"),
        ))
    }

    fn accept_message(
        &self,
        _id: &SessionId,
        _message: ClientJsonRpcMessage,
    ) -> impl Future<Output = Result<(), SessionError>> + Send {
        futures::future::ready(Err(SessionError::NotOffered("messages in a session")))
    }

    fn create_standalone_stream(
        &self,
        id: &SessionId,
    ) -> impl Future<
        Output = Result<impl Stream<Item = ServerSseMessage> + Send + Sync + 'static, SessionError>,
    > + Send {
        let stream = self.stream_closer(id).map(|closer| {
            // Nothing to send: the stream stays open (rmcp adds keep-alives) until the session ends.
            futures::stream::once(closer.cancelled_owned())
                .filter_map(|()| futures::future::ready(None::<ServerSseMessage>))
        });
        futures::future::ready(stream.ok_or(SessionError::Unknown))
    }

    fn resume(
        &self,
        _id: &SessionId,
        _last_event_id: String,
    ) -> impl Future<
        Output = Result<impl Stream<Item = ServerSseMessage> + Send + Sync + 'static, SessionError>,
    > + Send {
        // These sessions never send an event after the priming one, so nothing is missed.
        futures::future::ready(Ok(futures::stream::empty()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn table(idle: Duration, capacity: usize) -> Arc<SessionTable> {
        SessionTable::new(idle, capacity, CancellationToken::new())
    }

    const NONE: Declared = Declared {
        capabilities: DeclaredCapabilities {
            roots: false,
            sampling: false,
            elicitation: false,
        },
    };

    #[tokio::test]
    async fn sessions_open_live_and_close() {
        let t = table(Duration::from_secs(60), 10);
        let id = t.open("2025-06-18", NONE).expect("opened");
        assert_eq!(id.len(), 32);
        assert!(
            id.bytes()
                .all(|b| b.is_ascii_hexdigit() && (0x21..=0x7e).contains(&b))
        );
        let facts = t.touch(&id).expect("live");
        assert_eq!(facts.protocol_version.as_str(), "2025-06-18");
        assert_eq!(facts.log_level, None);
        t.set_log_level(&id, "warning");
        assert_eq!(t.touch(&id).expect("live").log_level, Some("warning"));
        assert!(t.touch("0123456789abcdef0123456789abcdef").is_none());
        assert!(t.touch("not-an-id").is_none());
        assert!(t.close(&id));
        assert!(t.touch(&id).is_none());
        assert!(!t.close(&id));
        assert!(t.open("1999-01-01", NONE).is_none(), "unknown version");
    }

    #[tokio::test]
    async fn idle_sessions_expire_and_end_their_streams() {
        let t = table(Duration::from_millis(50), 10);
        let id = t.open("2025-11-25", NONE).expect("opened");
        let closer = t.stream_closer(&id).expect("live");
        tokio::time::sleep(Duration::from_millis(80)).await;
        assert!(t.touch(&id).is_none(), "expired");
        assert!(closer.is_cancelled(), "its streams end");
        // The sweeper forgets sessions nobody asks about again.
        let other = t.open("2025-11-25", NONE).expect("opened");
        tokio::time::sleep(Duration::from_millis(200)).await;
        assert_eq!(t.len(), 0, "{other} swept");
    }

    #[tokio::test]
    async fn a_full_table_refuses_until_sessions_expire() {
        let t = table(Duration::from_millis(50), 2);
        assert!(t.open("2025-06-18", NONE).is_some());
        assert!(t.open("2025-06-18", NONE).is_some());
        assert!(t.open("2025-06-18", NONE).is_none(), "full");
        tokio::time::sleep(Duration::from_millis(80)).await;
        assert!(
            t.open("2025-06-18", NONE).is_some(),
            "expired ones make room"
        );
    }

    #[test]
    fn initialize_and_set_level_bodies_are_read() {
        let body = br#"{"jsonrpc":"2.0","id":1,"method":"initialize","params":{
            "protocolVersion":"2025-06-18","capabilities":{"elicitation":{},"roots":{"listChanged":true}},
            "clientInfo":{"name":"c","version":"1"}}}"#;
        let d = Declared::from_initialize(body).expect("parsed");
        assert!(d.capabilities.elicitation && d.capabilities.roots && !d.capabilities.sampling);
        let plain = br#"{"method":"initialize","params":{"protocolVersion":"2025-06-18"}}"#;
        let d = Declared::from_initialize(plain).expect("parsed");
        assert_eq!(d.capabilities, DeclaredCapabilities::default());
        assert!(Declared::from_initialize(br#"{"method":"initialize"}"#).is_none());
        assert_eq!(
            requested_log_level(br#"{"params":{"level":"error"}}"#),
            Some("error")
        );
        assert_eq!(requested_log_level(br#"{"params":{"level":"loud"}}"#), None);
    }
}
