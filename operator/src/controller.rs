//! Controller wiring: watch `NotionMcpRemote`s (all namespaces or the configured ones), their children, and the
//! Secrets they reference, so an instance heals as soon as a missing Secret appears.

use crate::builders::{INSTANCE_LABEL, MANAGER, generated_key_secret_name};
use crate::crd::NotionMcpRemote;
use crate::reconcile::{Context, error_policy, reconcile};
use futures::StreamExt;
use k8s_openapi::api::apps::v1::Deployment;
use k8s_openapi::api::core::v1::{
    ConfigMap, PersistentVolumeClaim, Secret, Service, ServiceAccount,
};
use k8s_openapi::api::networking::v1::{Ingress, NetworkPolicy};
use k8s_openapi::api::policy::v1::PodDisruptionBudget;
use k8s_openapi::api::rbac::v1::{Role, RoleBinding};
use kube::core::PartialObjectMeta;
use kube::runtime::controller::Config;
use kube::runtime::reflector::{ObjectRef, Store};
use kube::runtime::{Controller, watcher};
use kube::{Api, Client, ResourceExt};
use std::future::Future;
use std::sync::Arc;

fn api<K>(client: &Client, namespace: Option<&str>) -> Api<K>
where
    K: kube::Resource<Scope = k8s_openapi::NamespaceResourceScope, DynamicType = ()>,
{
    match namespace {
        Some(ns) => Api::namespaced(client.clone(), ns),
        None => Api::all(client.clone()),
    }
}

/// Names of the Secrets `cr` depends on.
pub fn referenced_secrets(cr: &NotionMcpRemote) -> Vec<String> {
    let spec = &cr.spec;
    let mut names = vec![generated_key_secret_name(cr)];
    names.extend(
        spec.notion
            .oauth_secret_ref
            .as_ref()
            .map(|r| r.name.clone()),
    );
    names.extend(
        spec.auth
            .api_key_secret_ref
            .as_ref()
            .map(|r| r.name.clone()),
    );
    names.extend(
        spec.notion
            .webhook_secret_ref
            .as_ref()
            .map(|r| r.name.clone()),
    );
    names.extend(
        spec.shared_state
            .as_ref()
            .map(|s| s.redis_secret_ref.name.clone()),
    );
    names.extend(
        spec.encryption
            .key_secret_ref
            .as_ref()
            .map(|r| r.name.clone()),
    );
    names
}

/// Resources to reconcile when a Secret changes: those referencing it, and the instance a grant belongs to.
pub fn secret_mapper(
    store: &Store<NotionMcpRemote>,
    secret: &PartialObjectMeta<Secret>,
) -> Vec<ObjectRef<NotionMcpRemote>> {
    let ns = secret.namespace();
    let name = secret.name_any();
    let instance = secret.labels().get(INSTANCE_LABEL).cloned();
    store
        .state()
        .iter()
        .filter(|cr| cr.namespace() == ns)
        .filter(|cr| {
            instance.as_deref() == Some(cr.name_any().as_str())
                || referenced_secrets(cr).contains(&name)
        })
        .map(|cr| ObjectRef::from_obj(cr.as_ref()))
        .collect()
}

/// Runs the controller for one namespace (`None`: all) until `shutdown` completes.
pub async fn run(
    client: Client,
    namespace: Option<String>,
    ctx: Arc<Context>,
    concurrency: u16,
    shutdown: impl Future<Output = ()> + Send + Sync + 'static,
) {
    let ns = namespace.as_deref();
    let children =
        || watcher::Config::default().labels(&format!("app.kubernetes.io/managed-by={MANAGER}"));
    let controller = Controller::new(
        api::<NotionMcpRemote>(&client, ns),
        watcher::Config::default().any_semantic(),
    );
    let store = controller.store();
    // Metadata only: the operator never caches Secret contents.
    let secrets: Api<PartialObjectMeta<Secret>> = match ns {
        Some(ns) => Api::namespaced(client.clone(), ns),
        None => Api::all(client.clone()),
    };
    controller
        .owns(api::<ServiceAccount>(&client, ns), children())
        .owns(api::<Role>(&client, ns), children())
        .owns(api::<RoleBinding>(&client, ns), children())
        .owns(api::<ConfigMap>(&client, ns), children())
        .owns(api::<PersistentVolumeClaim>(&client, ns), children())
        .owns(api::<Deployment>(&client, ns), children())
        .owns(api::<Service>(&client, ns), children())
        .owns(api::<Ingress>(&client, ns), children())
        .owns(api::<PodDisruptionBudget>(&client, ns), children())
        .owns(api::<NetworkPolicy>(&client, ns), children())
        .watches(secrets, watcher::Config::default(), move |secret| {
            secret_mapper(&store, &secret)
        })
        .with_config(Config::default().concurrency(concurrency))
        .graceful_shutdown_on(shutdown)
        .run(reconcile, error_policy, ctx)
        .for_each(|result| async move {
            match result {
                Ok((object, _)) => tracing::debug!(instance = %object.name, "reconciled"),
                Err(e) => tracing::warn!(error = %e, "reconcile failed"),
            }
        })
        .await;
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;
    use kube::runtime::reflector;
    use kube::runtime::watcher::Event;

    #[test]
    fn secret_changes_map_to_the_instances_that_use_them() {
        let (store, mut writer) = reflector::store::<NotionMcpRemote>();
        let mut cr: NotionMcpRemote = serde_json::from_value(serde_json::json!({
            "apiVersion": "notionmcp.dev/v1alpha1", "kind": "NotionMcpRemote",
            "metadata": {"name": "a", "namespace": "ns"},
            "spec": {"publicUrl": "https://a.example.com",
                "notion": {"oauthSecretRef": {"name": "oauth"}, "webhookSecretRef": {"name": "webhook", "key": "token"}},
                "sharedState": {"redisSecretRef": {"name": "redis", "key": "url"}}}
        }))
        .unwrap();
        writer.apply_watcher_event(&Event::Apply(cr.clone()));
        cr.metadata.namespace = Some("other".into());
        writer.apply_watcher_event(&Event::Apply(cr));
        let meta = |name: &str, ns: &str, labels: serde_json::Value| -> PartialObjectMeta<Secret> {
            serde_json::from_value(
                serde_json::json!({"apiVersion": "meta.k8s.io/v1", "kind": "PartialObjectMetadata",
                "metadata": {"name": name, "namespace": ns, "labels": labels}}),
            )
            .unwrap()
        };
        let hits = secret_mapper(&store, &meta("oauth", "ns", serde_json::json!({})));
        assert_eq!(hits.len(), 1);
        assert_eq!(hits[0].namespace.as_deref(), Some("ns"));
        assert_eq!(
            secret_mapper(&store, &meta("a-keys", "ns", serde_json::json!({}))).len(),
            1
        );
        for name in ["webhook", "redis"] {
            assert_eq!(
                secret_mapper(&store, &meta(name, "ns", serde_json::json!({}))).len(),
                1,
                "{name}"
            );
        }
        assert!(secret_mapper(&store, &meta("unrelated", "ns", serde_json::json!({}))).is_empty());
        let grant = meta(
            "grant-1",
            "ns",
            serde_json::json!({"notionmcp.dev/instance": "a"}),
        );
        assert_eq!(secret_mapper(&store, &grant).len(), 1);
    }
}
