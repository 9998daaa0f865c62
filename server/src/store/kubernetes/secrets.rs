//! The Secret of one record: its name, labels and annotations, how a record goes in and comes out, and
//! which API failures are worth retrying.

use super::KubernetesConfig;
use crate::store::{Entry, Kind, NewEntry, StoreError, Version};
use k8s_openapi::ByteString;
use k8s_openapi::api::core::v1::Secret;
use k8s_openapi::apimachinery::pkg::apis::meta::v1::{ObjectMeta, OwnerReference};
use sha2::{Digest, Sha256};
use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::time::Duration;

/// Label naming the program that manages a Secret.
pub const MANAGED_BY_LABEL: &str = "app.kubernetes.io/managed-by";
/// Value of [`MANAGED_BY_LABEL`] on every record Secret.
pub const MANAGER: &str = "notion-mcp-remote";
/// Label naming the NotionMcpRemote instance a record belongs to.
pub const INSTANCE_LABEL: &str = notion_mcp_contract::labels::INSTANCE;
/// Label holding [`Kind::as_str`]; `grant` Secrets are what the operator counts and adopts.
pub const KIND_LABEL: &str = notion_mcp_contract::labels::KIND;
/// Annotation holding the record key.
pub const KEY_ANNOTATION: &str = "notionmcp.dev/key";
/// Annotation holding the expiry in Unix seconds (absent for records that do not expire).
pub const EXPIRES_ANNOTATION: &str = "notionmcp.dev/expires-at";
/// The `data` field holding the sealed record.
pub const RECORD_FIELD: &str = "record";

/// The label selector of one instance's record Secrets (all kinds).
pub fn selector(instance: &str) -> String {
    format!("{MANAGED_BY_LABEL}={MANAGER},{INSTANCE_LABEL}={instance}")
}

/// The Secret name of a record: deterministic, DNS-1123 and at most 52 characters.
pub fn secret_name(instance: &str, kind: Kind, key: &str) -> String {
    let short = match kind {
        Kind::Grant => "grant",
        Kind::Client => "client",
        Kind::Pending => "pending",
        Kind::Code => "code",
        Kind::Consent => "consent",
        Kind::WebhookVerification => "webhook",
    };
    let digest = Sha256::digest(format!("{instance}/{}/{key}", kind.as_str()).as_bytes());
    let mut name = format!("nmr-{short}-");
    for b in digest.iter().take(20) {
        let _ = write!(name, "{b:02x}");
    }
    name
}

pub(super) fn rv_of(secret: &Secret) -> Option<&str> {
    secret.metadata.resource_version.as_deref()
}

pub(super) fn rv_num(rv: &str) -> Option<u64> {
    rv.parse().ok()
}

pub(super) fn status_of(e: &kube::Error) -> Option<&kube::core::Status> {
    match e {
        kube::Error::Api(s) => Some(s),
        _ => None,
    }
}

pub(super) fn is_status(e: &kube::Error, code: u16, reason: &str) -> bool {
    status_of(e).is_some_and(|s| s.code == code || (s.code == 0 && s.reason == reason))
}

/// `Some(retry-after)` when a failure is worth retrying.
pub(super) fn transient(e: &kube::Error) -> Option<Option<Duration>> {
    match e {
        kube::Error::Api(s) => {
            let retryable = matches!(s.code, 429 | 500 | 502 | 503 | 504)
                || (s.code == 0
                    && matches!(
                        s.reason.as_str(),
                        "TooManyRequests" | "InternalError" | "ServiceUnavailable" | "Timeout"
                    ));
            retryable.then(|| {
                s.details
                    .as_ref()
                    .filter(|d| d.retry_after_seconds > 0)
                    .map(|d| Duration::from_secs(u64::from(d.retry_after_seconds)))
            })
        }
        kube::Error::HyperError(_) | kube::Error::Service(_) | kube::Error::ReadEvents(_) => {
            Some(None)
        }
        _ => None,
    }
}

/// A failure for logs and errors: the API status or the transport error, never a request body.
pub(super) fn describe(e: &kube::Error) -> String {
    match status_of(e) {
        Some(s) => {
            let mut text = format!("{} {}: {}", s.code, s.reason, s.message);
            if s.code == 403 {
                text.push_str(" (is the RBAC for secrets in place?)");
            }
            text
        }
        None => e.to_string(),
    }
}

pub(super) fn corrupt(kind: Kind, key: &str, reason: impl Into<String>) -> StoreError {
    StoreError::Corrupt {
        kind,
        key: key.to_string(),
        reason: reason.into(),
    }
}

/// The record a Secret holds, checked against the slot it was found in.
pub(super) fn entry_of(kind: Kind, key: &str, secret: &Secret) -> Result<Entry, StoreError> {
    let annotations = secret.metadata.annotations.as_ref();
    let labels = secret.metadata.labels.as_ref();
    let name = secret.metadata.name.as_deref().unwrap_or_default();
    if labels.and_then(|l| l.get(KIND_LABEL)).map(String::as_str) != Some(kind.as_str())
        || annotations
            .and_then(|a| a.get(KEY_ANNOTATION))
            .map(String::as_str)
            != Some(key)
    {
        return Err(corrupt(
            kind,
            key,
            format!("Secret {name} is labelled for another record"),
        ));
    }
    let version = rv_of(secret)
        .ok_or_else(|| corrupt(kind, key, format!("Secret {name} has no resourceVersion")))?;
    let sealed = secret
        .data
        .as_ref()
        .and_then(|d| d.get(RECORD_FIELD))
        .ok_or_else(|| {
            corrupt(
                kind,
                key,
                format!("Secret {name} has no data.{RECORD_FIELD}"),
            )
        })?;
    let expires_at = match annotations.and_then(|a| a.get(EXPIRES_ANNOTATION)) {
        None => None,
        Some(v) => Some(v.parse::<i64>().map_err(|_| {
            corrupt(
                kind,
                key,
                format!("Secret {name} has an invalid {EXPIRES_ANNOTATION} annotation"),
            )
        })?),
    };
    Ok(Entry {
        version: Version(version.to_string()),
        sealed: sealed.0.clone(),
        expires_at,
    })
}

pub(super) fn same_record(secret: &Secret, sealed: &[u8]) -> bool {
    secret
        .data
        .as_ref()
        .and_then(|d| d.get(RECORD_FIELD))
        .is_some_and(|b| b.0 == sealed)
}

fn our_labels(instance: &str, kind: Kind) -> BTreeMap<String, String> {
    BTreeMap::from([
        (MANAGED_BY_LABEL.to_string(), MANAGER.to_string()),
        (INSTANCE_LABEL.to_string(), instance.to_string()),
        (KIND_LABEL.to_string(), kind.as_str().to_string()),
    ])
}

/// Put a record into a Secret (keeping metadata this server does not own).
pub(super) fn fill(secret: &mut Secret, instance: &str, kind: Kind, key: &str, entry: &NewEntry) {
    let labels = secret.metadata.labels.get_or_insert_with(BTreeMap::new);
    labels.extend(our_labels(instance, kind));
    let annotations = secret
        .metadata
        .annotations
        .get_or_insert_with(BTreeMap::new);
    annotations.insert(KEY_ANNOTATION.to_string(), key.to_string());
    match entry.expires_at {
        Some(t) => annotations.insert(EXPIRES_ANNOTATION.to_string(), t.to_string()),
        None => annotations.remove(EXPIRES_ANNOTATION),
    };
    secret.data = Some(BTreeMap::from([(
        RECORD_FIELD.to_string(),
        ByteString(entry.sealed.clone()),
    )]));
    secret.string_data = None;
    secret.type_ = Some("Opaque".to_string());
}

pub(super) fn new_secret(
    name: &str,
    config: &KubernetesConfig,
    kind: Kind,
    key: &str,
    entry: &NewEntry,
) -> Secret {
    let owner_references = config.owner.as_ref().map(|o| {
        vec![OwnerReference {
            api_version: o.api_version.clone(),
            kind: o.kind.clone(),
            name: o.name.clone(),
            uid: o.uid.clone(),
            controller: Some(false),
            block_owner_deletion: Some(false),
        }]
    });
    let mut secret = Secret {
        metadata: ObjectMeta {
            name: Some(name.to_string()),
            namespace: Some(config.namespace.clone()),
            owner_references,
            ..ObjectMeta::default()
        },
        ..Secret::default()
    };
    fill(&mut secret, &config.instance, kind, key, entry);
    secret
}
