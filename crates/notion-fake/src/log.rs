//! The request log: what each request looked like and what status it got, for assertions.

use std::collections::{BTreeMap, HashMap, VecDeque};

use serde_json::Value;

/// One handled request. `status` is 0 when the connection was dropped by a fault.
#[derive(Debug, Clone, PartialEq)]
pub struct RecordedRequest {
    pub method: http::Method,
    pub path: String,
    pub query: Option<String>,
    /// Headers of interest: `notion-version`, `authorization` (redacted to a fingerprint, see
    /// [`token_fingerprint`]), `content-type`, `user-agent`.
    pub headers: BTreeMap<String, String>,
    pub body: Option<Value>,
    pub status: u16,
    pub bot_id: Option<String>,
    pub request_id: String,
}

impl RecordedRequest {
    pub fn notion_version(&self) -> Option<&str> {
        self.headers.get("notion-version").map(String::as_str)
    }

    pub fn authorization(&self) -> Option<&str> {
        self.headers.get("authorization").map(String::as_str)
    }
}

/// A short, non-secret fingerprint of a token: `ntn_…wxyz` (prefix up to `_`, last 4 chars).
pub fn token_fingerprint(token: &str) -> String {
    let prefix: String = token.chars().take_while(|c| *c != '_').take(8).collect();
    let chars: Vec<char> = token.chars().collect();
    let tail: String = chars[chars.len().saturating_sub(4)..].iter().collect();
    format!("{prefix}_…{tail}")
}

/// Redacts an `Authorization` header value.
pub fn redact_authorization(value: &str) -> String {
    if let Some(token) = value
        .strip_prefix("Bearer ")
        .or_else(|| value.strip_prefix("bearer "))
    {
        format!("Bearer {}", token_fingerprint(token.trim()))
    } else if value.starts_with("Basic ") || value.starts_with("basic ") {
        "Basic <redacted>".to_string()
    } else {
        "<redacted>".to_string()
    }
}

/// Bounded log plus exact per-status counters.
#[derive(Debug)]
pub struct Log {
    pub entries: VecDeque<RecordedRequest>,
    pub counts: HashMap<u16, usize>,
    pub capacity: usize,
}

impl Default for Log {
    fn default() -> Self {
        Self {
            entries: VecDeque::new(),
            counts: HashMap::new(),
            capacity: 100_000,
        }
    }
}

impl Log {
    pub fn push(&mut self, entry: RecordedRequest) {
        *self.counts.entry(entry.status).or_default() += 1;
        if self.entries.len() >= self.capacity {
            self.entries.pop_front();
        }
        self.entries.push_back(entry);
    }

    pub fn clear(&mut self) {
        self.entries.clear();
        self.counts.clear();
    }
}
