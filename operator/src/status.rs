//! Status of a `NotionMcpRemote`: `Ready`, `Progressing` and `Degraded` conditions with reasons and messages a
//! person can act on, warnings about the spec (`SharedStateMissing`, `StaleReadsPossible`), the public URL,
//! ready replicas and the number of stored grants.

use crate::crd::{NotionMcpRemote, NotionMcpRemoteStatus};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::{Condition, Time};
use kube::ResourceExt;

/// A problem the user has to fix (a missing Secret or key); it makes the resource `Degraded`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Problem {
    /// CamelCase reason, e.g. `SecretMissing`.
    pub reason: &'static str,
    /// What is wrong and where, e.g. "Secret notion-oauth missing key client_secret".
    pub message: String,
}

/// What one reconcile saw and did.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Observation {
    /// Problems with referenced Secrets; when any, nothing else was applied.
    pub problems: Vec<Problem>,
    /// Kinds and names of children written in this reconcile (e.g. "Deployment notion-mcp").
    pub written: Vec<String>,
    /// Ready pods of the Deployment.
    pub ready_replicas: i32,
    /// Whether the Deployment has rolled out the current spec (observed generation, updated and ready pods).
    pub rolled_out: bool,
    /// Public MCP URL, if known.
    pub url: Option<String>,
    /// Name of the Ingress, when there is one.
    pub ingress: Option<String>,
    /// Number of grant Secrets.
    pub grants: i32,
}

fn condition(
    cr: &NotionMcpRemote,
    type_: &str,
    ok: bool,
    reason: &str,
    message: String,
) -> Condition {
    let status = if ok { "True" } else { "False" };
    // Keep the transition time while the status does not change.
    let last_transition_time = cr
        .status
        .as_ref()
        .and_then(|s| s.conditions.iter().find(|c| c.type_ == type_))
        .filter(|c| c.status == status)
        .map(|c| c.last_transition_time.clone())
        .unwrap_or_else(|| Time(k8s_openapi::jiff::Timestamp::now()));
    Condition {
        type_: type_.into(),
        status: status.into(),
        reason: reason.into(),
        message,
        observed_generation: cr.metadata.generation,
        last_transition_time,
    }
}

/// Condition type: `True` when several replicas run without `spec.sharedState`.
pub const SHARED_STATE_MISSING: &str = "SharedStateMissing";
/// Condition type: `True` when the read cache keeps answers for a while and no webhook keeps it exact.
pub const STALE_READS_POSSIBLE: &str = "StaleReadsPossible";

/// Warnings about the spec itself (`True` means: read the message); they do not affect `Ready`.
fn spec_warnings(cr: &NotionMcpRemote) -> Vec<Condition> {
    let spec = &cr.spec;
    let replicas = spec.replicas;
    let shared_state = match (&spec.shared_state, replicas > 1) {
        (None, true) => condition(
            cr,
            SHARED_STATE_MISSING,
            true,
            "ReplicasWithoutSharedState",
            format!(
                "{replicas} replicas without spec.sharedState: each paces at 1/{replicas} of Notion's request budget per workspace, and a Notion webhook invalidation reaches only the pod that received it; set spec.sharedState.redisSecretRef to a Redis or Valkey they share"
            ),
        ),
        (Some(shared), _) => condition(
            cr,
            SHARED_STATE_MISSING,
            false,
            "AsExpected",
            format!(
                "the replicas share state through the Redis URL in Secret {}",
                shared.redis_secret_ref.name
            ),
        ),
        (None, false) => condition(
            cr,
            SHARED_STATE_MISSING,
            false,
            "AsExpected",
            "one replica: it has the whole Notion budget and sees every webhook delivery".into(),
        ),
    };
    let max_age = spec
        .cache
        .as_ref()
        .and_then(|c| c.max_age_seconds)
        .filter(|secs| *secs > 0);
    let stale_reads = match (max_age, spec.notion.webhook_secret_ref.is_some()) {
        (Some(secs), false) => condition(
            cr,
            STALE_READS_POSSIBLE,
            true,
            "MaxAgeWithoutWebhooks",
            format!(
                "spec.cache.maxAgeSeconds is {secs} without spec.notion.webhookSecretRef: cached reads may be up to {secs} s old, since no webhook event invalidates them"
            ),
        ),
        (_, true) => condition(
            cr,
            STALE_READS_POSSIBLE,
            false,
            "AsExpected",
            "Notion webhook events keep the read cache exact; its max age is a safety net".into(),
        ),
        (None, false) => condition(
            cr,
            STALE_READS_POSSIBLE,
            false,
            "AsExpected",
            "without webhooks and a cache max age, Notion answers are not kept between calls"
                .into(),
        ),
    };
    vec![shared_state, stale_reads]
}

/// The status that describes `observation`.
pub fn desired_status(cr: &NotionMcpRemote, observation: &Observation) -> NotionMcpRemoteStatus {
    let replicas = cr.spec.replicas;
    let ready = observation.ready_replicas;
    let mut conditions = if let Some(first) = observation.problems.first() {
        let messages: Vec<&str> = observation
            .problems
            .iter()
            .map(|p| p.message.as_str())
            .collect();
        let message = messages.join("; ");
        vec![
            condition(cr, "Ready", false, first.reason, message.clone()),
            condition(
                cr,
                "Progressing",
                false,
                "Blocked",
                "changes are held back until the Degraded condition is fixed; the operator retries as soon as the Secret changes".into(),
            ),
            condition(cr, "Degraded", true, first.reason, message),
        ]
    } else {
        let settled = observation.rolled_out && observation.written.is_empty();
        let (ready_ok, ready_reason, ready_message) = match (&observation.url, settled) {
            (Some(url), true) => (
                true,
                "Available",
                format!("{ready}/{replicas} replicas ready; MCP endpoint {url}"),
            ),
            (None, true) => (
                false,
                "WaitingForUrl",
                match &observation.ingress {
                    Some(name) => format!(
                        "{ready}/{replicas} replicas ready; waiting for the ingress controller to report a host name in Ingress {name} status (or set spec.publicUrl)"
                    ),
                    None => format!(
                        "{ready}/{replicas} replicas ready; set spec.publicUrl or spec.ingress so clients can reach the server"
                    ),
                },
            ),
            (_, false) => (
                false,
                "RollingOut",
                format!("{ready}/{replicas} replicas ready"),
            ),
        };
        let (progressing, progressing_reason, progressing_message) =
            if !observation.written.is_empty() {
                (
                    true,
                    "Applied",
                    format!("applied {}", observation.written.join(", ")),
                )
            } else if !observation.rolled_out {
                (
                    true,
                    "RollingOut",
                    format!(
                        "Deployment {} is rolling out: {ready}/{replicas} replicas ready",
                        cr.name_any()
                    ),
                )
            } else {
                (false, "Complete", "all children are up to date".to_string())
            };
        vec![
            condition(cr, "Ready", ready_ok, ready_reason, ready_message),
            condition(
                cr,
                "Progressing",
                progressing,
                progressing_reason,
                progressing_message,
            ),
            condition(
                cr,
                "Degraded",
                false,
                "AsExpected",
                "all referenced Secrets and keys are present".into(),
            ),
        ]
    };
    conditions.extend(spec_warnings(cr));
    NotionMcpRemoteStatus {
        observed_generation: cr.metadata.generation,
        conditions,
        url: observation.url.clone(),
        ready_replicas: ready,
        grants: observation.grants,
    }
}

/// Whether `new` differs from the current status, ignoring condition transition times.
pub fn changed(current: Option<&NotionMcpRemoteStatus>, new: &NotionMcpRemoteStatus) -> bool {
    let strip = |s: &NotionMcpRemoteStatus| {
        let mut s = s.clone();
        for c in &mut s.conditions {
            c.last_transition_time = Time(k8s_openapi::jiff::Timestamp::UNIX_EPOCH);
        }
        s
    };
    current.map(strip) != Some(strip(new))
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    fn resource(spec: serde_json::Value) -> NotionMcpRemote {
        serde_json::from_value(serde_json::json!({
            "apiVersion": "notionmcp.dev/v1alpha1", "kind": "NotionMcpRemote",
            "metadata": {"name": "n", "namespace": "ns", "generation": 1},
            "spec": spec,
        }))
        .unwrap()
    }

    fn find(status: &NotionMcpRemoteStatus, type_: &str) -> Condition {
        status
            .conditions
            .iter()
            .find(|c| c.type_ == type_)
            .cloned()
            .unwrap()
    }

    fn both_paths(cr: &NotionMcpRemote, type_: &str) -> Condition {
        let healthy = find(&desired_status(cr, &Observation::default()), type_);
        let degraded = Observation {
            problems: vec![Problem {
                reason: "SecretMissing",
                message: "Secret x not found".into(),
            }],
            ..Observation::default()
        };
        let blocked = find(&desired_status(cr, &degraded), type_);
        assert_eq!(
            (&healthy.status, &healthy.reason, &healthy.message),
            (&blocked.status, &blocked.reason, &blocked.message),
            "spec warnings do not depend on the observation"
        );
        healthy
    }

    #[test]
    fn replicas_without_shared_state_warn() {
        let cr = resource(serde_json::json!({"publicUrl": "https://m.example.com", "replicas": 3}));
        let c = both_paths(&cr, SHARED_STATE_MISSING);
        assert_eq!(c.status, "True");
        assert_eq!(c.reason, "ReplicasWithoutSharedState");
        assert!(
            c.message.contains("1/3 of Notion's request budget"),
            "{}",
            c.message
        );
        assert!(
            c.message.contains("only the pod that received it"),
            "{}",
            c.message
        );
        // A warning, not a fault: the resource is not Degraded by it.
        let status = desired_status(&cr, &Observation::default());
        assert_eq!(find(&status, "Degraded").status, "False");
    }

    #[test]
    fn shared_state_or_one_replica_do_not_warn() {
        let shared = resource(
            serde_json::json!({"publicUrl": "https://m.example.com", "replicas": 3,
            "sharedState": {"redisSecretRef": {"name": "redis", "key": "url"}}}),
        );
        let c = both_paths(&shared, SHARED_STATE_MISSING);
        assert_eq!(
            (c.status.as_str(), c.reason.as_str()),
            ("False", "AsExpected")
        );
        assert!(c.message.contains("Secret redis"), "{}", c.message);
        let one = resource(serde_json::json!({"publicUrl": "https://m.example.com"}));
        assert_eq!(both_paths(&one, SHARED_STATE_MISSING).status, "False");
    }

    #[test]
    fn a_max_age_without_webhooks_warns_of_stale_reads() {
        let cr = resource(serde_json::json!({"publicUrl": "https://m.example.com",
            "cache": {"maxAgeSeconds": 300}}));
        let c = both_paths(&cr, STALE_READS_POSSIBLE);
        assert_eq!(c.status, "True");
        assert_eq!(c.reason, "MaxAgeWithoutWebhooks");
        assert!(
            c.message.contains("may be up to 300 s old"),
            "{}",
            c.message
        );

        let with_webhooks = resource(serde_json::json!({"publicUrl": "https://m.example.com",
            "cache": {"maxAgeSeconds": 300},
            "notion": {"webhookSecretRef": {"name": "webhook", "key": "token"}}}));
        assert_eq!(
            both_paths(&with_webhooks, STALE_READS_POSSIBLE).status,
            "False"
        );
        for cache in [
            serde_json::json!({}),
            serde_json::json!({"maxAgeSeconds": 0}),
        ] {
            let cr =
                resource(serde_json::json!({"publicUrl": "https://m.example.com", "cache": cache}));
            assert_eq!(both_paths(&cr, STALE_READS_POSSIBLE).status, "False");
        }
    }
}
