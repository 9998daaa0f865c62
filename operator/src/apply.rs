//! Writing children: server-side apply under one field manager with no-op detection, and pruning of children
//! no longer rendered by label selector (the Stackable "delete orphaned resources" pattern).
//!
//! No-op detection: every applied object carries a hash of what was applied (`notionmcp.dev/applied-hash`).
//! An object is left alone when the observed copy has the same hash *and* still contains every desired field
//! with the desired value (so manual edits of managed fields are reverted, while fields defaulted by the API
//! server are ignored). A reconcile of an unchanged resource therefore makes no write at all.

use crate::builders::{APPLIED_HASH_ANNOTATION, ChildObject, MANAGER, digest};
use kube::api::{ApiResource, DeleteParams, DynamicObject, ListParams, Patch, PatchParams};
use kube::{Api, Client};
use serde_json::Value;
use tracing::Instrument;
use tracing::field::Empty;

/// What happened to one child.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Outcome {
    Created,
    Updated,
    Unchanged,
}

impl Outcome {
    pub fn as_str(self) -> &'static str {
        match self {
            Outcome::Created => "created",
            Outcome::Updated => "updated",
            Outcome::Unchanged => "unchanged",
        }
    }
}

/// Adds the applied-hash annotation to a desired object.
pub fn with_applied_hash(mut object: Value) -> Value {
    let hash = digest(&serde_json::to_vec(&object).unwrap_or_default());
    if let Some(meta) = object.get_mut("metadata").and_then(Value::as_object_mut) {
        let annotations = meta
            .entry("annotations")
            .or_insert_with(|| Value::Object(serde_json::Map::new()));
        if let Some(map) = annotations.as_object_mut() {
            map.insert(APPLIED_HASH_ANNOTATION.into(), Value::String(hash));
        }
    }
    object
}

/// True when every field of `desired` is present in `observed` with an equal value (lists must have the same
/// length and match element by element).
pub fn is_subset(desired: &Value, observed: &Value) -> bool {
    match (desired, observed) {
        (Value::Object(d), Value::Object(o)) => d
            .iter()
            .all(|(k, dv)| o.get(k).is_some_and(|ov| is_subset(dv, ov))),
        (Value::Array(d), Value::Array(o)) => {
            d.len() == o.len() && d.iter().zip(o).all(|(dv, ov)| is_subset(dv, ov))
        }
        (Value::Number(d), Value::Number(o)) => d.as_f64() == o.as_f64(),
        _ => desired == observed,
    }
}

/// Whether `desired` (with its applied hash) must be applied over `observed`.
pub fn needs_apply(desired: &Value, observed: Option<&DynamicObject>) -> bool {
    let Some(observed) = observed else {
        return true;
    };
    let hash = |meta: Option<&Value>| {
        meta.and_then(|m| {
            m.pointer(&format!(
                "/annotations/{}",
                APPLIED_HASH_ANNOTATION.replace('/', "~1")
            ))
        })
        .cloned()
    };
    let observed_value = serde_json::to_value(observed).unwrap_or_default();
    if hash(desired.get("metadata")) != hash(observed_value.get("metadata")) {
        return true;
    }
    // List items come without apiVersion/kind; compare everything else.
    let mut desired = desired.clone();
    if let Some(map) = desired.as_object_mut() {
        map.remove("apiVersion");
        map.remove("kind");
    }
    !is_subset(&desired, &observed_value)
}

fn api(client: &Client, namespace: &str, resource: &ApiResource) -> Api<DynamicObject> {
    Api::namespaced_with(client.clone(), namespace, resource)
}

/// Lists the objects of one kind matching `selector`.
pub async fn list(
    client: &Client,
    namespace: &str,
    resource: &ApiResource,
    selector: &str,
) -> Result<Vec<DynamicObject>, kube::Error> {
    let list = api(client, namespace, resource)
        .list(&ListParams::default().labels(selector))
        .await?;
    Ok(list.items)
}

/// Applies `child` unless the observed copy already matches it, in a span (`apply <Kind>`: the
/// child's kind and name, and whether it was created, updated or left unchanged).
pub async fn apply(
    client: &Client,
    namespace: &str,
    child: &ChildObject,
    observed: Option<&DynamicObject>,
) -> Result<Outcome, kube::Error> {
    let span = tracing::info_span!(
        "apply",
        otel.name = %format_args!("apply {}", child.resource.kind),
        k8s.object.kind = %child.resource.kind,
        k8s.object.name = %child.name,
        k8s.namespace.name = namespace,
        apply.outcome = Empty,
        error.type = Empty,
        otel.status_code = Empty,
    );
    let result = apply_unless_unchanged(client, namespace, child, observed)
        .instrument(span.clone())
        .await;
    match &result {
        Ok(outcome) => {
            span.record("apply.outcome", outcome.as_str());
        }
        Err(e) => {
            span.record("error.type", error_type(e));
            span.record("otel.status_code", "error");
        }
    }
    result
}

async fn apply_unless_unchanged(
    client: &Client,
    namespace: &str,
    child: &ChildObject,
    observed: Option<&DynamicObject>,
) -> Result<Outcome, kube::Error> {
    let desired = with_applied_hash(child.object.clone());
    if !needs_apply(&desired, observed) {
        return Ok(Outcome::Unchanged);
    }
    api(client, namespace, &child.resource)
        .patch(
            &child.name,
            &PatchParams::apply(MANAGER).force(),
            &Patch::Apply(&desired),
        )
        .await?;
    Ok(if observed.is_some() {
        Outcome::Updated
    } else {
        Outcome::Created
    })
}

/// A short, bounded name of a Kubernetes API failure for `error.type`: the status reason
/// (`Conflict`, `Forbidden`, ...) or the kind of failure.
pub fn error_type(e: &kube::Error) -> &'static str {
    match e {
        kube::Error::Api(status) if status.is_conflict() => "Conflict",
        kube::Error::Api(status) if status.is_forbidden() => "Forbidden",
        kube::Error::Api(status) if status.is_not_found() => "NotFound",
        kube::Error::Api(_) => "ApiError",
        _ => "ClientError",
    }
}

/// Deletes one child (already gone counts as deleted).
pub async fn delete(
    client: &Client,
    namespace: &str,
    resource: &ApiResource,
    name: &str,
) -> Result<(), kube::Error> {
    match api(client, namespace, resource)
        .delete(name, &DeleteParams::background())
        .await
    {
        Ok(_) => Ok(()),
        Err(kube::Error::Api(status)) if status.is_not_found() => Ok(()),
        Err(e) => Err(e),
    }
}

/// Whether `object` is controlled by the owner with `uid` (pruning never touches anything else).
pub fn is_owned_by(object: &DynamicObject, uid: &str) -> bool {
    object
        .metadata
        .owner_references
        .as_ref()
        .is_some_and(|refs| refs.iter().any(|r| r.uid == uid))
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;
    use serde_json::json;

    #[test]
    fn subset_ignores_server_defaults_but_not_changed_values() {
        let desired = json!({"spec": {"replicas": 2, "ports": [{"port": 80}]}});
        let observed =
            json!({"spec": {"replicas": 2, "ports": [{"port": 80, "protocol": "TCP"}], "x": 1}});
        assert!(is_subset(&desired, &observed));
        assert!(!is_subset(&json!({"spec": {"replicas": 3}}), &observed));
        assert!(!is_subset(&json!({"spec": {"ports": []}}), &observed));
        assert!(is_subset(&json!({"a": 1.0}), &json!({"a": 1})));
    }

    #[test]
    fn needs_apply_when_the_hash_differs() {
        let desired = with_applied_hash(json!({"apiVersion": "v1", "kind": "ConfigMap",
            "metadata": {"name": "a"}, "data": {"x": "1"}}));
        let mut observed: DynamicObject = serde_json::from_value(desired.clone()).unwrap();
        assert!(!needs_apply(&desired, Some(&observed)));
        observed.data["data"]["x"] = json!("2");
        assert!(needs_apply(&desired, Some(&observed)));
        let other = with_applied_hash(json!({"apiVersion": "v1", "kind": "ConfigMap",
            "metadata": {"name": "a"}, "data": {}}));
        let observed: DynamicObject = serde_json::from_value(desired.clone()).unwrap();
        assert!(
            needs_apply(&other, Some(&observed)),
            "a removed field is applied away"
        );
        assert!(needs_apply(&desired, None));
    }
}
