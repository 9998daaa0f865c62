//! Status of a `NotionMcpRemote`: `Ready`, `Progressing` and `Degraded` conditions with reasons and messages a
//! person can act on, the public URL, ready replicas and the number of stored grants.

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

/// The status that describes `observation`.
pub fn desired_status(cr: &NotionMcpRemote, observation: &Observation) -> NotionMcpRemoteStatus {
    let replicas = cr.spec.replicas;
    let ready = observation.ready_replicas;
    let conditions = if let Some(first) = observation.problems.first() {
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
