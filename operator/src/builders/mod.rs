//! Pure builders: `NotionMcpRemote` (plus a few observed facts) → the typed objects the operator applies.
//!
//! Nothing here does I/O. Every builder is deterministic (maps are `BTreeMap`s, lists are in a fixed order), so
//! the same resource always renders the same YAML; snapshot tests and `notion-mcp-operator render` rely on it.

pub mod config_map;
pub mod dashboard;
pub mod deployment;
pub mod index_claim;
pub mod ingress;
pub mod key_secret;
pub mod network_policy;
pub mod pdb;
pub mod prometheus_rule;
pub mod role;
pub mod role_binding;
pub mod service;
pub mod service_account;
pub mod service_monitor;

use crate::crd::NotionMcpRemote;
use k8s_openapi::api::apps::v1::Deployment;
use k8s_openapi::api::core::v1::{ConfigMap, PersistentVolumeClaim, Service, ServiceAccount};
use k8s_openapi::api::networking::v1::{Ingress, NetworkPolicy};
use k8s_openapi::api::policy::v1::PodDisruptionBudget;
use k8s_openapi::api::rbac::v1::{Role, RoleBinding};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta;
use kube::api::DynamicObject;
use kube::{Resource, ResourceExt};
use notion_mcp_contract as contract;
use std::collections::BTreeMap;

/// Field manager of every server-side apply, and the `app.kubernetes.io/managed-by` label of every child.
pub const MANAGER: &str = "notion-mcp-operator";
/// `app.kubernetes.io/name` of the server's objects.
pub const APP_NAME: &str = "notion-mcp-remote";
/// Label naming the instance; also on grant Secrets written by the server.
pub const INSTANCE_LABEL: &str = contract::labels::INSTANCE;
/// Label telling grant Secrets (`grant`) from the generated key Secret (`encryption-keys`).
pub const KIND_LABEL: &str = contract::labels::KIND;
/// Annotation with a hash of what the operator last applied to a child (no-op detection).
pub const APPLIED_HASH_ANNOTATION: &str = "notionmcp.dev/applied-hash";
/// Pod-template annotation that changes whenever configuration or referenced Secrets change.
pub const CHECKSUM_ANNOTATION: &str = "notionmcp.dev/config-checksum";
/// Container port of the server (MCP, health and metrics).
pub const HTTP_PORT: i32 = contract::HTTP_PORT as i32;
/// Where the encryption-key Secret is mounted.
pub const KEYS_DIR: &str = "/etc/notion-mcp/keys";
/// Where the API-key Secret is mounted.
pub const API_KEYS_DIR: &str = "/etc/notion-mcp/api-keys";
/// Where the content-index volume is mounted (the server's index directory).
pub const INDEX_DIR: &str = "/var/lib/notion-mcp/index";

/// Facts the builders need that are not in the resource itself.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Facts {
    /// Host name the ingress controller reported in `Ingress.status` (the Tailscale operator writes one).
    pub ingress_hostname: Option<String>,
    /// Hash of the referenced Secrets' contents; part of the pod-template checksum so changes roll the pods.
    pub secrets_checksum: String,
    /// Whether the ServiceMonitor CRD (monitoring.coreos.com/v1) is installed.
    pub service_monitor_crd: bool,
    /// Whether the PrometheusRule CRD (monitoring.coreos.com/v1) is installed.
    pub prometheus_rule_crd: bool,
}

/// Everything the operator applies for one resource, except the generated key Secret (created once, never
/// re-rendered).
#[derive(Clone, Debug)]
pub struct Children {
    pub service_account: ServiceAccount,
    pub role: Role,
    pub role_binding: RoleBinding,
    pub config_map: ConfigMap,
    pub index_claim: Option<PersistentVolumeClaim>,
    pub deployment: Deployment,
    pub service: Service,
    pub ingress: Option<Ingress>,
    pub pdb: Option<PodDisruptionBudget>,
    pub network_policy: Option<NetworkPolicy>,
    pub service_monitor: Option<DynamicObject>,
    pub prometheus_rule: Option<DynamicObject>,
    pub dashboard: Option<ConfigMap>,
}

/// Renders every child of `cr`.
pub fn children(cr: &NotionMcpRemote, facts: &Facts) -> Children {
    let config_map = config_map::config_map(cr, facts);
    Children {
        service_account: service_account::service_account(cr),
        role: role::role(cr),
        role_binding: role_binding::role_binding(cr),
        index_claim: index_claim::index_claim(cr),
        deployment: deployment::deployment(cr, &config_map, facts),
        config_map,
        service: service::service(cr),
        ingress: ingress::ingress(cr),
        pdb: pdb::pdb(cr),
        network_policy: network_policy::network_policy(cr),
        service_monitor: service_monitor::service_monitor(cr, facts),
        prometheus_rule: prometheus_rule::prometheus_rule(cr, facts),
        dashboard: dashboard::dashboard(cr),
    }
}

/// Name of most children: the resource's own name.
pub fn base_name(cr: &NotionMcpRemote) -> String {
    cr.name_any()
}

/// Name of the ConfigMap.
pub fn config_map_name(cr: &NotionMcpRemote) -> String {
    format!("{}-config", cr.name_any())
}

/// Name of the content index's PersistentVolumeClaim.
pub fn index_claim_name(cr: &NotionMcpRemote) -> String {
    format!("{}-index", cr.name_any())
}

/// Name of the generated encryption-key Secret.
pub fn generated_key_secret_name(cr: &NotionMcpRemote) -> String {
    format!("{}-keys", cr.name_any())
}

/// Name of the key Secret in use: the referenced one, else the generated one.
pub fn key_secret_name(cr: &NotionMcpRemote) -> String {
    cr.spec
        .encryption
        .key_secret_ref
        .as_ref()
        .map(|r| r.name.clone())
        .unwrap_or_else(|| generated_key_secret_name(cr))
}

/// Labels that select the server pods (stable: part of immutable selectors).
pub fn selector_labels(cr: &NotionMcpRemote) -> BTreeMap<String, String> {
    BTreeMap::from([
        ("app.kubernetes.io/instance".to_string(), cr.name_any()),
        ("app.kubernetes.io/name".to_string(), APP_NAME.to_string()),
    ])
}

/// Labels of every child; `managed-by` + instance is the selector used to find and prune children.
pub fn labels(cr: &NotionMcpRemote) -> BTreeMap<String, String> {
    let mut labels = selector_labels(cr);
    labels.insert("app.kubernetes.io/component".into(), "mcp-server".into());
    labels.insert("app.kubernetes.io/managed-by".into(), MANAGER.into());
    labels.insert(INSTANCE_LABEL.into(), cr.name_any());
    labels
}

/// Label selector matching the children of `name` (not the grant Secrets, which the server manages).
pub fn children_selector(name: &str) -> String {
    format!("app.kubernetes.io/managed-by={MANAGER},{INSTANCE_LABEL}={name}")
}

/// Label selector matching the grant Secrets of `name`.
pub fn grants_selector(name: &str) -> String {
    format!(
        "{INSTANCE_LABEL}={name},{KIND_LABEL}={}",
        contract::labels::GRANT
    )
}

/// Metadata of a child named `name`: namespace, labels and a controller owner reference (when the resource has
/// a uid, i.e. it came from the API server).
pub fn meta(cr: &NotionMcpRemote, name: String) -> ObjectMeta {
    ObjectMeta {
        name: Some(name),
        namespace: cr.namespace(),
        labels: Some(labels(cr)),
        owner_references: cr.controller_owner_ref(&()).map(|r| vec![r]),
        ..ObjectMeta::default()
    }
}

/// Public base URL (no trailing slash): the ingress-reported host wins, then `publicUrl`, then a fully
/// qualified `ingress.host`.
pub fn public_base_url(cr: &NotionMcpRemote, facts: &Facts) -> Option<String> {
    if let Some(host) = facts.ingress_hostname.as_deref().filter(|h| !h.is_empty()) {
        return Some(format!("https://{host}"));
    }
    if let Some(url) = cr.spec.public_url.as_deref() {
        return Some(url.trim_end_matches('/').to_string());
    }
    cr.spec
        .ingress
        .as_ref()
        .and_then(|i| i.host.as_deref())
        .filter(|h| h.contains('.'))
        .map(|h| format!("https://{h}"))
}

/// Public MCP endpoint.
pub fn public_mcp_url(cr: &NotionMcpRemote, facts: &Facts) -> Option<String> {
    public_base_url(cr, facts).map(|base| format!("{base}/mcp"))
}

/// Short, stable hex digest of `bytes`.
pub fn digest(bytes: &[u8]) -> String {
    use sha2::{Digest, Sha256};
    let hash = Sha256::digest(bytes);
    hash.iter().take(16).map(|b| format!("{b:02x}")).collect()
}

/// One rendered child, kind-erased for applying and printing.
#[derive(Clone, Debug, PartialEq)]
pub struct ChildObject {
    pub resource: kube::api::ApiResource,
    pub name: String,
    pub object: serde_json::Value,
}

fn erased<K>(object: &K) -> Option<ChildObject>
where
    K: Resource<DynamicType = ()> + serde::Serialize,
{
    Some(ChildObject {
        resource: kube::api::ApiResource::erase::<K>(&()),
        name: object.meta().name.clone()?,
        object: serde_json::to_value(object).ok()?,
    })
}

/// Kinds of children, in apply order (the order also used to list and prune them); the Prometheus Operator's
/// kinds only when their CRDs are installed.
pub fn child_kinds(
    service_monitor_crd: bool,
    prometheus_rule_crd: bool,
) -> Vec<kube::api::ApiResource> {
    use kube::api::ApiResource;
    let mut kinds = vec![
        ApiResource::erase::<ServiceAccount>(&()),
        ApiResource::erase::<Role>(&()),
        ApiResource::erase::<RoleBinding>(&()),
        ApiResource::erase::<ConfigMap>(&()),
        ApiResource::erase::<PersistentVolumeClaim>(&()),
        ApiResource::erase::<Deployment>(&()),
        ApiResource::erase::<Service>(&()),
        ApiResource::erase::<Ingress>(&()),
        ApiResource::erase::<PodDisruptionBudget>(&()),
        ApiResource::erase::<NetworkPolicy>(&()),
    ];
    if service_monitor_crd {
        kinds.push(service_monitor::api_resource());
    }
    if prometheus_rule_crd {
        kinds.push(prometheus_rule::api_resource());
    }
    kinds
}

impl Children {
    /// The children in apply order.
    pub fn objects(&self) -> Vec<ChildObject> {
        let mut objects = vec![
            erased(&self.service_account),
            erased(&self.role),
            erased(&self.role_binding),
            erased(&self.config_map),
            self.index_claim.as_ref().and_then(erased),
            erased(&self.deployment),
            erased(&self.service),
        ];
        objects.push(self.ingress.as_ref().and_then(erased));
        objects.push(self.pdb.as_ref().and_then(erased));
        objects.push(self.network_policy.as_ref().and_then(erased));
        objects.push(self.service_monitor.as_ref().map(|monitor| ChildObject {
            resource: service_monitor::api_resource(),
            name: monitor.name_any(),
            object: serde_json::to_value(monitor).unwrap_or_default(),
        }));
        objects.push(self.prometheus_rule.as_ref().map(|rule| ChildObject {
            resource: prometheus_rule::api_resource(),
            name: rule.name_any(),
            object: serde_json::to_value(rule).unwrap_or_default(),
        }));
        objects.push(self.dashboard.as_ref().and_then(erased));
        objects.into_iter().flatten().collect()
    }
}
