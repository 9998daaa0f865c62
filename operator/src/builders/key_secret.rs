//! The generated encryption-key Secret: created once, extended with newly declared key ids, never rewritten.
//!
//! Re-rendering random keys on every reconcile would rotate them each time (and make GitOps tools report drift),
//! so the decision "create, add keys, or leave alone" is a pure plan over what exists; the randomness is
//! injected by the caller.

use super::{KIND_LABEL, generated_key_secret_name, meta};
use crate::crd::NotionMcpRemote;
use k8s_openapi::ByteString;
use k8s_openapi::api::core::v1::Secret;
use std::collections::BTreeMap;

/// Length of a generated key in bytes (AES-256 / ChaCha20-Poly1305).
pub const KEY_LEN: usize = 32;

/// What to do about the generated key Secret.
#[derive(Clone, Debug, PartialEq)]
pub enum KeyPlan {
    /// Nothing: every declared key id exists.
    Keep,
    /// Create the Secret with these keys.
    Create(Box<Secret>),
    /// Add these keys (id → key) to the existing Secret; existing keys are untouched.
    AddKeys(BTreeMap<String, ByteString>),
}

/// Key ids the resource declares: the active one first, then the previous ones.
pub fn declared_key_ids(cr: &NotionMcpRemote) -> Vec<String> {
    let mut ids = vec![cr.spec.encryption.active_key_id.clone()];
    for id in &cr.spec.encryption.previous_key_ids {
        if !ids.contains(id) {
            ids.push(id.clone());
        }
    }
    ids
}

/// The generated key Secret holding `keys`.
pub fn key_secret(cr: &NotionMcpRemote, keys: BTreeMap<String, ByteString>) -> Secret {
    let mut metadata = meta(cr, generated_key_secret_name(cr));
    if let Some(labels) = metadata.labels.as_mut() {
        labels.insert(KIND_LABEL.into(), "encryption-keys".into());
    }
    metadata.annotations = Some(BTreeMap::from([(
        "argocd.argoproj.io/compare-options".to_string(),
        "IgnoreExtraneous".to_string(),
    )]));
    Secret {
        metadata,
        type_: Some("Opaque".into()),
        data: Some(keys),
        ..Secret::default()
    }
}

/// Plans the generated key Secret given the existing one (if any); `new_key` makes a fresh random key.
pub fn plan(
    cr: &NotionMcpRemote,
    existing: Option<&Secret>,
    mut new_key: impl FnMut() -> Vec<u8>,
) -> KeyPlan {
    let have = existing.and_then(|s| s.data.as_ref());
    let missing: BTreeMap<String, ByteString> = declared_key_ids(cr)
        .into_iter()
        .filter(|id| !have.is_some_and(|data| data.contains_key(id)))
        .map(|id| (id, ByteString(new_key())))
        .collect();
    match existing {
        None => KeyPlan::Create(Box::new(key_secret(cr, missing))),
        Some(_) if missing.is_empty() => KeyPlan::Keep,
        Some(_) => KeyPlan::AddKeys(missing),
    }
}
