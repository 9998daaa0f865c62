//! Which tools this server exposes at all: `--read-only` keeps only the tools that do not write, and
//! `--tools` allows (`name`) or denies (`-name`) tools by name. A tool left out is neither listed nor
//! callable (calling it is answered like an unknown tool); API-key scopes then narrow further.

use super::registry::ToolDef;
use std::collections::BTreeSet;

/// Why the tool selection cannot be used.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum ToolPolicyError {
    #[error("--tools names unknown tools: {}; known tools: {}", .unknown.join(", "), .known.join(", "))]
    UnknownTools {
        unknown: Vec<String>,
        known: Vec<String>,
    },
    #[error("--tools has an empty entry; give tool names, `-name` to deny one")]
    EmptyEntry,
}

/// The server-wide tool selection.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ToolPolicy {
    read_only: bool,
    /// When non-empty, only these tools.
    allow: BTreeSet<String>,
    deny: BTreeSet<String>,
}

impl ToolPolicy {
    /// Read `--read-only` and the `--tools` entries, checking every name against `known`.
    pub fn parse(
        read_only: bool,
        entries: &[String],
        known: &[&str],
    ) -> Result<Self, ToolPolicyError> {
        let mut policy = ToolPolicy {
            read_only,
            ..ToolPolicy::default()
        };
        let mut unknown = Vec::new();
        for entry in entries {
            let entry = entry.trim();
            let (deny, name) = match entry.strip_prefix('-') {
                Some(name) => (true, name.trim()),
                None => (false, entry),
            };
            if name.is_empty() {
                // `--tools ""` (an empty variable) means no selection; a lone `-` is a mistake.
                if deny {
                    return Err(ToolPolicyError::EmptyEntry);
                }
                continue;
            }
            if !known.contains(&name) {
                unknown.push(name.to_string());
            } else if deny {
                policy.deny.insert(name.to_string());
            } else {
                policy.allow.insert(name.to_string());
            }
        }
        if !unknown.is_empty() {
            return Err(ToolPolicyError::UnknownTools {
                unknown,
                known: known.iter().map(|k| k.to_string()).collect(),
            });
        }
        Ok(policy)
    }

    /// Whether a tool (that writes, or not) is exposed.
    pub fn exposes(&self, tool: &str, writes: bool) -> bool {
        let hidden = (self.read_only && writes) || self.deny.contains(tool);
        !hidden && (self.allow.is_empty() || self.allow.contains(tool))
    }

    /// The exposed tools of `defs`, in order.
    pub fn apply(&self, defs: Vec<ToolDef>) -> Vec<ToolDef> {
        defs.into_iter()
            .filter(|d| self.exposes(&d.tool.name, d.writes))
            .collect()
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    const KNOWN: [&str; 3] = ["search", "fetch", "create_page"];

    fn parse(read_only: bool, entries: &[&str]) -> Result<ToolPolicy, ToolPolicyError> {
        let entries: Vec<String> = entries.iter().map(|e| e.to_string()).collect();
        ToolPolicy::parse(read_only, &entries, &KNOWN)
    }

    #[test]
    fn allow_deny_and_read_only_combine() {
        let p = parse(false, &[]).unwrap();
        assert!(KNOWN.iter().all(|t| p.exposes(t, false)) && p.exposes("create_page", true));
        let p = parse(true, &[]).unwrap();
        assert!(p.exposes("search", false) && !p.exposes("create_page", true));
        let p = parse(false, &["search", " create_page"]).unwrap();
        assert!(p.exposes("search", false) && p.exposes("create_page", true));
        assert!(!p.exposes("fetch", false));
        let p = parse(false, &["-fetch"]).unwrap();
        assert!(p.exposes("search", false) && !p.exposes("fetch", false));
        let p = parse(true, &["search", "create_page", "-search"]).unwrap();
        assert!(!p.exposes("search", false) && !p.exposes("create_page", true));
        assert_eq!(parse(false, &[""]).unwrap(), ToolPolicy::default());
    }

    #[test]
    fn unknown_names_are_named() {
        let e = parse(false, &["search", "serch", "-nope"]).unwrap_err();
        assert_eq!(
            e,
            ToolPolicyError::UnknownTools {
                unknown: vec!["serch".into(), "nope".into()],
                known: KNOWN.iter().map(|k| k.to_string()).collect(),
            }
        );
        assert!(
            e.to_string()
                .starts_with("--tools names unknown tools: serch, nope;"),
            "{e}"
        );
        assert_eq!(
            parse(false, &["-"]).unwrap_err(),
            ToolPolicyError::EmptyEntry
        );
    }
}
