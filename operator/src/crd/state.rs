//! Spec types of the server's read cache, Notion's webhooks and the state replicas share: references to the
//! Secrets holding the webhook verification token and the Redis URL, and the cache bounds.

use kube::KubeSchema;
use serde::{Deserialize, Serialize};

/// Reference to one key of a Secret in the resource's namespace. The value reaches the server as an
/// environment variable from a `secretKeyRef`; it never appears in the Deployment or the ConfigMap.
#[derive(KubeSchema, Serialize, Deserialize, Clone, Debug, PartialEq)]
pub struct SecretKeyRef {
    /// Name of the Secret.
    #[schemars(length(min = 1))]
    pub name: String,
    /// Key of the value in the Secret.
    #[schemars(length(min = 1))]
    pub key: String,
}

/// State the replicas share.
#[derive(KubeSchema, Serialize, Deserialize, Clone, Debug, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct SharedStateSpec {
    /// Existing Secret holding the URL of a Redis (≥ 7) or Valkey the replicas share: `redis://` or `rediss://`
    /// (TLS), credentials included. Through it the replicas pace against one Notion budget per workspace, and
    /// share cache invalidations and webhook dedupe. Bring your own; the operator does not deploy one.
    pub redis_secret_ref: SecretKeyRef,
    /// TCP port of that Redis, allowed as egress by the NetworkPolicy (`spec.networkPolicy`); the URL itself
    /// stays in the Secret.
    #[serde(default = "default_redis_port")]
    #[schemars(range(min = 1, max = 65535))]
    pub redis_port: i32,
}

/// Bounds of the server's read cache (Notion answers kept for repeated reads). Unset fields keep the server's
/// defaults.
#[derive(KubeSchema, Serialize, Deserialize, Clone, Debug, Default, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct CacheSpec {
    /// Largest size of the cache in bytes; `0` turns it off. Server default: 64 MiB.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(range(min = 0))]
    pub max_bytes: Option<i64>,
    /// Longest time a cached answer is served, in seconds. Server default: 600 with
    /// `notion.webhookSecretRef` (webhook events keep the cache exact; the age is a safety net), else 0
    /// (nothing kept between calls). Set without webhooks, reads may be up to this old.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(range(min = 0))]
    pub max_age_seconds: Option<i64>,
}

fn default_redis_port() -> i32 {
    6379
}
