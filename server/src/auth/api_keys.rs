//! Static API keys for services that call the server without a browser (no OAuth flow).
//!
//! A YAML or JSON file lists the keys: each has an `id` (a name, safe to log), `key_sha256` (the hex
//! SHA-256 of the key: keys are only ever stored hashed), the Notion integration token it stands for
//! (`notion_token`, or `notion_token_env` naming an environment variable that holds it), a `scope`
//! (`read-only` or `read-write`) and optionally the `tools` it may use. Keys look like
//! `nmr_ak_<43 characters>` (32 random bytes, base64url); a bearer is looked up by its hash.
//!
//! ```yaml
//! keys:
//!   - id: reporting-bot
//!     key_sha256: 9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08
//!     notion_token_env: REPORTING_NOTION_TOKEN
//!     scope: read-only
//!     tools: [search, fetch]
//! ```

use super::{Principal, PrincipalKind, TokenRegistry, ToolAccess};
use crate::notion::{NotionAuth, NotionVersion};
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use serde::Deserialize;
use serde_json::Value;
use sha2::{Digest, Sha256};
use std::collections::{BTreeSet, HashMap};
use std::path::{Path, PathBuf};
use std::sync::Arc;

/// Every API key starts with this, so the authentication layer can tell one from a Notion token.
pub const KEY_PREFIX: &str = "nmr_ak_";

/// Why the API keys file cannot be used. Messages name the file, the entry and the field, and never
/// contain a Notion token.
#[derive(Debug, thiserror::Error)]
pub enum ApiKeyError {
    #[error("cannot read the API keys file {}: {source}", .path.display())]
    Read {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("the API keys file {} is not valid {format}: {message}", .path.display())]
    Parse {
        path: PathBuf,
        format: &'static str,
        message: String,
    },
    #[error("the API keys file {}, entry {index}{}, field `{field}`: {message}",
        .path.display(), .id.as_ref().map(|i| format!(" ('{i}')")).unwrap_or_default())]
    Entry {
        path: PathBuf,
        /// Position in the list, from 0.
        index: usize,
        id: Option<String>,
        field: String,
        message: String,
    },
    #[error("the API keys file {} lists no keys", .path.display())]
    Empty { path: PathBuf },
}

/// What a key may do.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Scope {
    /// Only tools that do not change the workspace.
    ReadOnly,
    /// Every tool (within `tools`, when given).
    ReadWrite,
}

/// One configured key. `Debug` never shows the Notion token.
#[derive(Debug, Clone)]
pub struct ApiKeyEntry {
    /// The key's name (safe to log).
    pub id: String,
    pub scope: Scope,
    access: ToolAccess,
    notion: NotionAuth,
}

impl ApiKeyEntry {
    /// Which tools the key may use.
    pub fn access(&self) -> &ToolAccess {
        &self.access
    }

    /// The principal of a request authenticated with this key. Notion calls are paced by the
    /// integration token's fingerprint, the pacing key of any caller sending that token directly:
    /// Notion's limits are per integration, so everyone using one token shares its budget.
    pub fn principal(&self, version: NotionVersion) -> Principal {
        Principal {
            kind: PrincipalKind::ApiKey,
            subject: format!("api-key:{}", self.id),
            notion: self.notion.clone().with_version(version),
            client_id: Some(self.id.clone()),
            workspace_id: None,
            user_id: None,
            access: self.access.clone(),
        }
    }
}

/// The configured API keys, by the SHA-256 of the key.
#[derive(Debug, Clone, Default)]
pub struct ApiKeys {
    by_hash: HashMap<[u8; 32], ApiKeyEntry>,
}

impl ApiKeys {
    /// Read and validate the keys file. `known_tools` are the names of every tool this server offers;
    /// a `tools` entry naming another is an error.
    pub fn load(path: &Path, known_tools: &[&str]) -> Result<ApiKeys, ApiKeyError> {
        let text = std::fs::read_to_string(path).map_err(|source| ApiKeyError::Read {
            path: path.to_owned(),
            source,
        })?;
        parse(&text, path, known_tools, &|name| std::env::var(name).ok())
    }

    /// The entry of a bearer, if it is one of the configured API keys. Bearers not starting with
    /// [`KEY_PREFIX`] are never API keys.
    pub fn authenticate(&self, bearer: &str) -> Option<&ApiKeyEntry> {
        if !bearer.starts_with(KEY_PREFIX) || bearer.len() > 256 {
            return None;
        }
        // A lookup by hash: an attacker learns nothing from timing about any stored hash's preimage.
        self.by_hash.get(&sha256(bearer))
    }

    pub fn len(&self) -> usize {
        self.by_hash.len()
    }

    pub fn is_empty(&self) -> bool {
        self.by_hash.is_empty()
    }

    /// The Notion connections of the configured keys (one per distinct integration token).
    pub fn notion_auths(&self) -> Vec<NotionAuth> {
        let mut seen = std::collections::HashSet::new();
        self.by_hash
            .values()
            .filter(|e| seen.insert(e.notion.pacing_key.clone()))
            .map(|e| e.notion.clone())
            .collect()
    }

    /// The ids of the configured keys, sorted (for a start-up log line).
    pub fn ids(&self) -> Vec<&str> {
        let mut ids: Vec<&str> = self.by_hash.values().map(|e| e.id.as_str()).collect();
        ids.sort_unstable();
        ids
    }
}

/// A new random API key and the hex SHA-256 to put in the keys file.
pub fn generate() -> (String, String) {
    let bytes: [u8; 32] = rand::random();
    let key = format!("{KEY_PREFIX}{}", URL_SAFE_NO_PAD.encode(bytes));
    let hash = key_sha256(&key);
    (key, hash)
}

/// The hex SHA-256 of a key, as `key_sha256` stores it.
pub fn key_sha256(key: &str) -> String {
    sha256(key).iter().map(|b| format!("{b:02x}")).collect()
}

/// A keys-file entry to paste under `keys:` (read-only, token from an environment variable).
pub fn entry_yaml(id: &str, hash: &str) -> String {
    let env: String = id
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() {
                c.to_ascii_uppercase()
            } else {
                '_'
            }
        })
        .collect();
    format!(
        "  - id: {id}\n    key_sha256: {hash}\n    notion_token_env: NOTION_TOKEN_{env}\n    scope: read-only\n    # tools: [search, fetch]\n"
    )
}

fn sha256(text: &str) -> [u8; 32] {
    Sha256::digest(text.as_bytes()).into()
}

/// One entry as written in the file.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawEntry {
    id: String,
    key_sha256: String,
    #[serde(default)]
    notion_token: Option<String>,
    #[serde(default)]
    notion_token_env: Option<String>,
    scope: Scope,
    #[serde(default)]
    tools: Option<Vec<String>>,
}

/// Parse and validate the file's text; `env` resolves `notion_token_env`.
fn parse(
    text: &str,
    path: &Path,
    known_tools: &[&str],
    env: &dyn Fn(&str) -> Option<String>,
) -> Result<ApiKeys, ApiKeyError> {
    let entries = entries_of(text, path)?;
    if entries.is_empty() {
        return Err(ApiKeyError::Empty {
            path: path.to_owned(),
        });
    }
    let mut keys = ApiKeys::default();
    let mut ids = BTreeSet::new();
    for (index, value) in entries.into_iter().enumerate() {
        let id = value.get("id").and_then(Value::as_str).map(str::to_owned);
        let fail = |field: &str, message: String| ApiKeyError::Entry {
            path: path.to_owned(),
            index,
            id: id.clone(),
            field: field.to_owned(),
            message,
        };
        let entry = entry_of(value, known_tools, env).map_err(|(f, m)| fail(f, m))?;
        if !ids.insert(entry.1.id.clone()) {
            return Err(fail("id", "another entry has the same id".into()));
        }
        if keys.by_hash.insert(entry.0, entry.1).is_some() {
            return Err(fail(
                "key_sha256",
                "another entry has the same key hash; generate a key per entry".into(),
            ));
        }
    }
    Ok(keys)
}

/// The list of entries: the file is a list, or an object with a `keys` list. JSON when the text starts
/// with `{` or `[`, YAML otherwise.
fn entries_of(text: &str, path: &Path) -> Result<Vec<Value>, ApiKeyError> {
    let trimmed = text.trim_start_matches('\u{feff}').trim_start();
    let (format, parsed) = if trimmed.starts_with(['{', '[']) {
        (
            "JSON",
            serde_json::from_str::<Value>(trimmed).map_err(|e| e.to_string()),
        )
    } else {
        (
            "YAML",
            serde_yaml::from_str::<Value>(trimmed).map_err(|e| e.to_string()),
        )
    };
    let parse_error = |message: String| ApiKeyError::Parse {
        path: path.to_owned(),
        format,
        message,
    };
    match parsed.map_err(parse_error)? {
        Value::Array(entries) => Ok(entries),
        Value::Object(mut o) => {
            if let Some(other) = o.keys().find(|k| *k != "keys") {
                return Err(parse_error(format!(
                    "unknown top-level field `{other}`; expected only `keys`"
                )));
            }
            match o.remove("keys") {
                Some(Value::Array(entries)) => Ok(entries),
                Some(Value::Null) | None => Ok(Vec::new()),
                Some(_) => Err(parse_error("`keys` must be a list of entries".into())),
            }
        }
        Value::Null => Ok(Vec::new()),
        _ => Err(parse_error(
            "expected a list of keys, or an object with a `keys` list".into(),
        )),
    }
}

type FieldError = (&'static str, String);

/// Validate one entry: `(hash, entry)` or `(field, problem)`.
fn entry_of(
    value: Value,
    known_tools: &[&str],
    env: &dyn Fn(&str) -> Option<String>,
) -> Result<([u8; 32], ApiKeyEntry), FieldError> {
    if value.get("key").is_some() {
        return Err((
            "key",
            "never store a key itself: put its SHA-256 in `key_sha256` instead".into(),
        ));
    }
    // Scrub the token from decoding errors (serde quotes offending values).
    let secret = value
        .get("notion_token")
        .and_then(Value::as_str)
        .map(str::to_owned);
    let raw: RawEntry = serde_path_to_error::deserialize(value).map_err(|e| {
        let field = match e.path().to_string().as_str() {
            "id" => "id",
            "key_sha256" => "key_sha256",
            "notion_token" => "notion_token",
            "notion_token_env" => "notion_token_env",
            "scope" => "scope",
            p if p.starts_with("tools") => "tools",
            _ => "entry",
        };
        let mut message = e.into_inner().to_string();
        if let Some(s) = secret.as_deref().filter(|s| s.len() >= 4) {
            message = message.replace(s, "[redacted]");
        }
        (field, message)
    })?;
    let id = checked_id(&raw.id)?;
    let hash = checked_hash(&raw.key_sha256)?;
    let token = match (raw.notion_token, raw.notion_token_env) {
        (Some(t), None) => checked_token(t, "notion_token")?,
        (None, Some(var)) => {
            let t = env(&var).filter(|t| !t.trim().is_empty()).ok_or((
                "notion_token_env",
                format!("the environment variable {var} is not set or empty"),
            ))?;
            checked_token(t.trim().to_owned(), "notion_token_env")?
        }
        (Some(_), Some(_)) => {
            return Err((
                "notion_token",
                "give either notion_token or notion_token_env, not both".into(),
            ));
        }
        (None, None) => {
            return Err((
                "notion_token",
                "missing: give notion_token or notion_token_env (the Notion integration token this key stands for)".into(),
            ));
        }
    };
    let tools = raw
        .tools
        .map(|t| checked_tools(t, known_tools))
        .transpose()?;
    let access = ToolAccess {
        read_only: raw.scope == Scope::ReadOnly,
        tools: tools.map(Arc::new),
    };
    let entry = ApiKeyEntry {
        id,
        scope: raw.scope,
        access,
        notion: NotionAuth::new(token.clone(), NotionVersion::default())
            .with_pacing_key(TokenRegistry::fingerprint(&token)),
    };
    Ok((hash, entry))
}

fn checked_id(id: &str) -> Result<String, FieldError> {
    let ok = !id.is_empty()
        && id.len() <= 64
        && id
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.'));
    if ok {
        Ok(id.to_owned())
    } else {
        Err((
            "id",
            "must be 1 to 64 characters of letters, digits, '-', '_' or '.'".into(),
        ))
    }
}

fn checked_hash(hex: &str) -> Result<[u8; 32], FieldError> {
    let hex = hex.trim();
    let bad = || {
        (
            "key_sha256",
            "must be 64 hexadecimal characters: the SHA-256 of the key".to_owned(),
        )
    };
    if hex.len() != 64 || !hex.is_ascii() {
        return Err(bad());
    }
    let mut out = [0u8; 32];
    for (i, byte) in out.iter_mut().enumerate() {
        *byte = u8::from_str_radix(&hex[2 * i..2 * i + 2], 16).map_err(|_| bad())?;
    }
    Ok(out)
}

fn checked_token(token: String, field: &'static str) -> Result<String, FieldError> {
    if token.starts_with(KEY_PREFIX) {
        return Err((
            field,
            "this is an API key, not a Notion integration token".into(),
        ));
    }
    let ok = !token.is_empty() && token.len() <= 512 && token.bytes().all(|b| b.is_ascii_graphic());
    if ok {
        Ok(token)
    } else {
        Err((
            field,
            "is not a Notion integration token (expected printable ASCII without spaces)".into(),
        ))
    }
}

fn checked_tools(tools: Vec<String>, known: &[&str]) -> Result<BTreeSet<String>, FieldError> {
    if tools.is_empty() {
        return Err((
            "tools",
            "an empty list allows no tool; leave `tools` out to allow every tool".into(),
        ));
    }
    if let Some(unknown) = tools.iter().find(|t| !known.contains(&t.as_str())) {
        return Err((
            "tools",
            format!(
                "unknown tool '{unknown}'; known tools: {}",
                known.join(", ")
            ),
        ));
    }
    Ok(tools.into_iter().collect())
}

#[cfg(test)]
#[path = "api_keys_tests.rs"]
mod tests;
