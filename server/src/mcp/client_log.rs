//! Log messages for the client (`notifications/message`), sent only at or above the level the client
//! asked for: `io.modelcontextprotocol/logLevel` in a 2026-07-28 request's `_meta`, or
//! `logging/setLevel` in a session. A client that asked for no level gets no log messages at all
//! (SEP-2575), so a plain request is answered with its result alone.
// Logging is deprecated by SEP-2577 but remains part of the revisions this server speaks.
#![allow(deprecated)]

use rmcp::model::{LoggingLevel, LoggingMessageNotificationParam};
use rmcp::{Peer, RoleServer};
use serde_json::Value;

/// Where a tool call's log messages go, and from which level on. Cheap to clone.
#[derive(Clone, Default)]
pub struct ClientLog {
    to: Option<(Peer<RoleServer>, LoggingLevel)>,
}

impl ClientLog {
    /// Messages to `peer` at `level` and above; `None`: the client asked for none.
    pub fn new(peer: Peer<RoleServer>, level: Option<LoggingLevel>) -> Self {
        ClientLog {
            to: level.map(|l| (peer, l)),
        }
    }

    /// The least severe level the client wants, if it wants any.
    pub fn level(&self) -> Option<LoggingLevel> {
        self.to.as_ref().map(|(_, l)| *l)
    }

    /// Whether a message at `level` would be sent.
    pub fn enabled(&self, level: LoggingLevel) -> bool {
        self.level().is_some_and(|min| rank(level) >= rank(min))
    }

    /// Sends `data` at `level` from `logger` if the client asked for that level; returns whether it
    /// went out. A client that went away only loses the message.
    pub async fn send(&self, level: LoggingLevel, logger: &str, data: Value) -> bool {
        let Some((peer, _)) = self.to.as_ref().filter(|_| self.enabled(level)) else {
            return false;
        };
        let mut param = LoggingMessageNotificationParam::new(level, data);
        param.logger = Some(logger.to_string());
        peer.notify_logging_message(param).await.is_ok()
    }
}

/// A level's severity, least severe (debug) first.
fn rank(level: LoggingLevel) -> u8 {
    level as u8
}

/// A level named as `logging/setLevel` names it (`"warning"`).
pub fn parse_level(name: &str) -> Option<LoggingLevel> {
    serde_json::from_value(Value::String(name.to_string())).ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn levels_are_ordered_by_severity() {
        assert!(rank(LoggingLevel::Debug) < rank(LoggingLevel::Info));
        assert!(rank(LoggingLevel::Warning) < rank(LoggingLevel::Error));
        assert!(rank(LoggingLevel::Alert) < rank(LoggingLevel::Emergency));
        assert_eq!(parse_level("warning"), Some(LoggingLevel::Warning));
        assert_eq!(parse_level("loud"), None);
    }

    #[test]
    fn nothing_is_enabled_without_a_level() {
        let log = ClientLog::default();
        assert!(!log.enabled(LoggingLevel::Emergency));
    }
}
