//! The `NotionMcpRemote` custom resource: spec (what the user asks for) and status (what the operator saw).
//!
//! Every field carries a doc comment, which becomes its `kubectl explain` text. Defaults and validation live in
//! the generated OpenAPI schema (with CEL rules where a rule spans several fields), so the API server rejects a
//! bad resource before the operator ever sees it.

// The derive's repeated `printcolumn(...)` attributes look alike to this lint.
#![allow(clippy::duplicated_attributes)]

use k8s_openapi::api::core::v1::{Affinity, EnvVar, ResourceRequirements, Toleration};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::Condition;
use kube::{CustomResource, KubeSchema};
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

mod content_index;
mod observability;
mod state;
pub use content_index::{AccessMode, ContentIndexSpec, IndexClaim, IndexEmptyDir, IndexVolumeSpec};
pub use observability::ObservabilitySpec;
pub use state::{CacheSpec, SecretKeyRef, SharedStateSpec};

/// API group of the resource (the `kube` attribute below must spell it the same; a test checks).
pub use notion_mcp_contract::resource::GROUP;
/// Finalizer set only under `tokenStore.deletionPolicy: Retain`.
pub const RETAIN_FINALIZER: &str = "notionmcp.dev/retain-grants";

/// A remote MCP server for Notion: Deployment, Service, Ingress and everything they need, from one resource.
#[derive(CustomResource, KubeSchema, Serialize, Deserialize, Clone, Debug, Default, PartialEq)]
#[kube(
    group = "notionmcp.dev",
    version = "v1alpha1",
    kind = "NotionMcpRemote",
    plural = "notionmcpremotes",
    singular = "notionmcpremote",
    shortname = "nmr",
    namespaced,
    status = "NotionMcpRemoteStatus",
    derive = "Default",
    derive = "PartialEq",
    annotation("argocd.argoproj.io/sync-wave", "-1"),
    doc = "NotionMcpRemote runs one remote MCP server for Notion and exposes it at a public URL.",
    printcolumn(
        name = "Ready",
        type_ = "string",
        json_path = ".status.conditions[?(@.type==\"Ready\")].status"
    ),
    printcolumn(name = "URL", type_ = "string", json_path = ".status.url"),
    printcolumn(
        name = "Replicas",
        type_ = "integer",
        json_path = ".status.readyReplicas"
    ),
    printcolumn(
        name = "Age",
        type_ = "date",
        json_path = ".metadata.creationTimestamp"
    )
)]
#[x_kube(validation = Rule::new("has(self.publicUrl) || has(self.ingress)")
    .message("set publicUrl, ingress, or both: the server needs to know where clients reach it"))]
#[x_kube(validation = Rule::new("!has(self.replicas) || self.replicas == 1 || !has(self.contentIndex) \
    || (has(self.contentIndex.enabled) && !self.contentIndex.enabled) || !has(self.contentIndex.volume) \
    || !has(self.contentIndex.volume.persistentVolumeClaim)")
    .message("contentIndex.volume.persistentVolumeClaim serves one replica (one claim, one index writer): \
        set replicas: 1, or use contentIndex.volume.emptyDir so each replica builds its own index"))]
#[serde(rename_all = "camelCase")]
pub struct NotionMcpRemoteSpec {
    /// Container image of the MCP server.
    #[serde(default)]
    pub image: ImageSpec,

    /// Number of server pods. They share Notion's rate budget: without `sharedState`, each paces a workspace at
    /// 1/replicas of it.
    /// More than one replica also gets a PodDisruptionBudget.
    #[serde(default = "default_replicas")]
    #[schemars(range(min = 1, max = 50))]
    pub replicas: i32,

    /// CPU and memory requests and limits of the server container.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub resources: Option<ResourceRequirements>,

    /// Log filter of the server (tracing EnvFilter syntax), e.g. `info` or `notion_mcp_remote=debug`.
    #[serde(default = "default_log_level")]
    #[schemars(length(min = 1))]
    pub log_level: String,

    /// Node labels the server pods must run on.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub node_selector: BTreeMap<String, String>,

    /// Tolerations of the server pods.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub tolerations: Vec<Toleration>,

    /// Affinity rules of the server pods.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub affinity: Option<Affinity>,

    /// Extra environment variables of the server container; they win over the ones the operator sets.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub env: Vec<EnvVar>,

    /// Public base URL clients use (scheme://host[:port]); the MCP endpoint is `<publicUrl>/mcp`.
    /// Optional with an ingress: the host the ingress controller reports wins over it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[x_kube(validation = Rule::new("self.matches('^https?://[^/?#]+/?$')")
        .message("publicUrl must be scheme://host[:port] with no path, e.g. https://mcp.example.com"))]
    pub public_url: Option<String>,

    /// Ingress that exposes the server. Defaults suit the Tailscale operator (class `tailscale`); nginx, traefik
    /// and others work by changing `className` and `annotations`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ingress: Option<IngressSpec>,

    /// Notion settings: the OAuth client of the public integration, API version, pacing and webhooks.
    #[serde(default)]
    pub notion: NotionSpec,

    /// State the replicas share (Redis or Valkey). Without it, each of several replicas paces at 1/replicas of
    /// Notion's budget and a webhook invalidation reaches only the pod that received it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub shared_state: Option<SharedStateSpec>,

    /// Bounds of the server's read cache.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cache: Option<CacheSpec>,

    /// The server's content index (searches answered from a local index its background crawl keeps) and the
    /// volume it lives on.
    #[serde(default)]
    pub content_index: ContentIndexSpec,

    /// Where OAuth grants are stored.
    #[serde(default)]
    pub token_store: TokenStoreSpec,

    /// Keys that seal stored grants.
    #[serde(default)]
    pub encryption: EncryptionSpec,

    /// Client-facing authentication settings.
    #[serde(default)]
    pub auth: AuthSpec,

    /// Prometheus scraping, alerts and dashboard.
    #[serde(default)]
    pub monitoring: MonitoringSpec,

    /// OpenTelemetry traces of the server, exported over OTLP/HTTP (off unless `otlpEndpoint` is set).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub observability: Option<ObservabilitySpec>,

    /// Create a NetworkPolicy: ingress only from the ingress controller's namespace (and Prometheus), egress
    /// only to DNS and HTTPS (Notion, the Kubernetes API), and to the Redis and OTLP collector ports when set.
    #[serde(default)]
    pub network_policy: bool,

    /// Expose only the tools that do not write to Notion, for every caller.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub read_only: bool,

    /// Tools to expose: `name` allows a tool (then only allowed ones are exposed), `-name` denies one. API-key
    /// scopes narrow further. An unknown name stops the server at startup, naming it.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub tools: Vec<String>,

    /// Never ask users to confirm destructive tool calls (trash_page, delete_block, replacing a page's whole
    /// content); by default the server asks clients that support elicitation.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub no_confirm_destructive: bool,
}

/// Container image of the MCP server.
#[derive(KubeSchema, Serialize, Deserialize, Clone, Debug, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct ImageSpec {
    /// Image repository, without tag or digest.
    #[serde(default = "default_repository")]
    #[schemars(length(min = 1))]
    pub repository: String,

    /// Image tag; ignored when `digest` is set.
    #[serde(default = "default_tag")]
    #[schemars(length(min = 1))]
    pub tag: String,

    /// Image digest (`sha256:…`); pins the image and wins over `tag`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(regex(pattern = r"^sha256:[a-f0-9]{64}$"))]
    pub digest: Option<String>,

    /// Image pull policy: Always, IfNotPresent or Never.
    #[serde(default)]
    pub pull_policy: PullPolicy,

    /// Names of Secrets (type kubernetes.io/dockerconfigjson) used to pull the image.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub pull_secrets: Vec<String>,
}

impl Default for ImageSpec {
    fn default() -> Self {
        Self {
            repository: default_repository(),
            tag: default_tag(),
            digest: None,
            pull_policy: PullPolicy::default(),
            pull_secrets: Vec::new(),
        }
    }
}

/// Image pull policy.
#[derive(JsonSchema, Serialize, Deserialize, Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum PullPolicy {
    Always,
    #[default]
    IfNotPresent,
    Never,
}

impl PullPolicy {
    /// The value Kubernetes expects.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Always => "Always",
            Self::IfNotPresent => "IfNotPresent",
            Self::Never => "Never",
        }
    }
}

/// Ingress that exposes the server.
#[derive(KubeSchema, Serialize, Deserialize, Clone, Debug, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct IngressSpec {
    /// IngressClass name: `tailscale` (default), `nginx`, `traefik`, …
    #[serde(default = "default_ingress_class")]
    #[schemars(length(min = 1))]
    pub class_name: String,

    /// Expose the server to the public internet with Tailscale Funnel (annotation `tailscale.com/funnel`).
    /// Only meaningful with class `tailscale`.
    #[serde(default)]
    pub funnel: bool,

    /// Host name, written to `tls[0].hosts[0]` (and the rule host for classes other than tailscale). With
    /// Tailscale its first label becomes the machine name: `notion-mcp` serves
    /// `https://notion-mcp.<tailnet>.ts.net`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(regex(
        pattern = r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$"
    ))]
    pub host: Option<String>,

    /// Secret holding the TLS certificate for `host` (e.g. issued by cert-manager); not used with Tailscale.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tls_secret_name: Option<String>,

    /// Extra annotations of the Ingress (e.g. `cert-manager.io/cluster-issuer`, `tailscale.com/tags`).
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub annotations: BTreeMap<String, String>,

    /// Tailscale ProxyClass of the ingress proxy (label `tailscale.com/proxy-class`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub proxy_class: Option<String>,

    /// Namespace of the ingress controller's pods, allowed in by the NetworkPolicy. Defaults by class:
    /// tailscale → `tailscale`, nginx → `ingress-nginx`, traefik → `traefik`; otherwise any namespace.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub controller_namespace: Option<String>,
}

impl Default for IngressSpec {
    fn default() -> Self {
        Self {
            class_name: default_ingress_class(),
            funnel: false,
            host: None,
            tls_secret_name: None,
            annotations: BTreeMap::new(),
            proxy_class: None,
            controller_namespace: None,
        }
    }
}

/// Notion settings.
#[derive(KubeSchema, Serialize, Deserialize, Clone, Debug, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct NotionSpec {
    /// Existing Secret with the OAuth client id and secret of the Notion public integration. When set, the server
    /// runs in OAuth mode; when absent, each caller sends its own Notion integration token.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub oauth_secret_ref: Option<OAuthSecretRef>,

    /// Notion-Version header sent to Notion.
    #[serde(default)]
    pub api_version: NotionApiVersion,

    /// Base URL of the Notion API and its OAuth endpoints.
    #[serde(default = "default_notion_base_url")]
    #[schemars(regex(pattern = r"^https?://"))]
    pub base_url: String,

    /// Per-workspace pacing of Notion requests (the whole deployment; split across replicas).
    #[serde(default)]
    pub pacing: PacingSpec,

    /// Existing Secret holding the verification token of the Notion webhook subscription (two, comma-separated,
    /// while a subscription is re-created). When set, the server accepts Notion's deliveries at
    /// `/webhooks/notion` and keeps its read cache exact with them.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub webhook_secret_ref: Option<SecretKeyRef>,
}

impl Default for NotionSpec {
    fn default() -> Self {
        Self {
            oauth_secret_ref: None,
            api_version: NotionApiVersion::default(),
            base_url: default_notion_base_url(),
            pacing: PacingSpec::default(),
            webhook_secret_ref: None,
        }
    }
}

/// Reference to the Secret holding the Notion OAuth client.
#[derive(KubeSchema, Serialize, Deserialize, Clone, Debug, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct OAuthSecretRef {
    /// Name of the Secret, in the resource's namespace.
    #[schemars(length(min = 1))]
    pub name: String,
    /// Key of the OAuth client id.
    #[serde(default = "default_client_id_key")]
    pub client_id_key: String,
    /// Key of the OAuth client secret.
    #[serde(default = "default_client_secret_key")]
    pub client_secret_key: String,
}

/// Notion API version.
#[derive(JsonSchema, Serialize, Deserialize, Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum NotionApiVersion {
    #[default]
    #[serde(rename = "2026-12-01")]
    V2026_12_01,
    #[serde(rename = "2026-03-11")]
    V2026_03_11,
    #[serde(rename = "2025-09-03")]
    V2025_09_03,
}

impl NotionApiVersion {
    /// The header value.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::V2026_12_01 => "2026-12-01",
            Self::V2026_03_11 => "2026-03-11",
            Self::V2025_09_03 => "2025-09-03",
        }
    }
}

/// Pacing of Notion requests per workspace, for the whole deployment.
#[derive(KubeSchema, Serialize, Deserialize, Clone, Debug, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct PacingSpec {
    /// Average requests per second per workspace (Notion allows about 3).
    #[serde(default = "default_pacing_rps")]
    #[schemars(range(min = 0.1, max = 100.0))]
    pub requests_per_second: f64,
    /// Burst size per workspace.
    #[serde(default = "default_pacing_burst")]
    #[schemars(range(min = 1, max = 1000))]
    pub burst: i32,
    /// Average requests per second per workspace over all its connections: Notion limits a whole workspace
    /// too, so the tokens and grants of one workspace share this (burst as `burst`). `0` paces each
    /// connection only; unset, it equals `requestsPerSecond`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(range(min = 0.0, max = 100.0))]
    pub workspace_requests_per_second: Option<f64>,
}

impl Default for PacingSpec {
    fn default() -> Self {
        Self {
            requests_per_second: default_pacing_rps(),
            burst: default_pacing_burst(),
            workspace_requests_per_second: None,
        }
    }
}

/// Where OAuth grants are stored.
#[derive(KubeSchema, Serialize, Deserialize, Clone, Debug, Default, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct TokenStoreSpec {
    /// Store kind; `kubernetes` keeps one Secret per grant, owned by this resource.
    #[serde(default, rename = "type")]
    pub kind: TokenStoreKind,
    /// What happens to grant Secrets when this resource is deleted: `Delete` them (default) or `Retain` them
    /// (and the generated key Secret) for a later instance of the same name.
    #[serde(default)]
    pub deletion_policy: DeletionPolicy,
}

/// Token store kind.
#[derive(JsonSchema, Serialize, Deserialize, Clone, Copy, Debug, Default, PartialEq, Eq)]
#[serde(rename_all = "lowercase")]
pub enum TokenStoreKind {
    #[default]
    Kubernetes,
}

/// Deletion policy of grant Secrets.
#[derive(JsonSchema, Serialize, Deserialize, Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum DeletionPolicy {
    #[default]
    Delete,
    Retain,
}

/// Keys that seal stored grants.
#[derive(KubeSchema, Serialize, Deserialize, Clone, Debug, PartialEq)]
#[x_kube(validation = Rule::new("!has(self.previousKeyIds) || !(self.activeKeyId in self.previousKeyIds)")
    .message("activeKeyId must not also be listed in previousKeyIds"))]
#[serde(rename_all = "camelCase")]
pub struct EncryptionSpec {
    /// Existing Secret whose keys are key ids and values 32-byte keys. When absent the operator generates
    /// `<name>-keys` once and never overwrites a key in it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub key_secret_ref: Option<SecretRef>,
    /// Id of the key that seals new grants. To rotate, set a new id here and move the old one to
    /// `previousKeyIds` (the operator adds the new key to a generated Secret).
    #[serde(default = "default_key_id")]
    #[schemars(regex(pattern = r"^[a-z0-9]([-a-z0-9]{0,30}[a-z0-9])?$"))]
    pub active_key_id: String,
    /// Ids of older keys that stay readable, so grants sealed with them still open.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    #[schemars(length(max = 16))]
    pub previous_key_ids: Vec<String>,
}

impl Default for EncryptionSpec {
    fn default() -> Self {
        Self {
            key_secret_ref: None,
            active_key_id: default_key_id(),
            previous_key_ids: Vec::new(),
        }
    }
}

/// Reference to a Secret in the resource's namespace.
#[derive(KubeSchema, Serialize, Deserialize, Clone, Debug, PartialEq)]
pub struct SecretRef {
    /// Name of the Secret.
    #[schemars(length(min = 1))]
    pub name: String,
}

/// Client-facing authentication settings.
#[derive(KubeSchema, Serialize, Deserialize, Clone, Debug, Default, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct AuthSpec {
    /// Hosts MCP clients may use as OAuth redirect targets (e.g. `claude.ai`, `localhost`).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub allowed_redirect_hosts: Vec<String>,
    /// Existing Secret with static API keys (one per line), for clients that cannot do OAuth.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub api_key_secret_ref: Option<ApiKeySecretRef>,
    /// Per-client request rate limits at the MCP endpoint.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rate_limit: Option<RateLimitSpec>,
}

/// Reference to the API-key Secret.
#[derive(KubeSchema, Serialize, Deserialize, Clone, Debug, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct ApiKeySecretRef {
    /// Name of the Secret.
    #[schemars(length(min = 1))]
    pub name: String,
    /// Key holding the API keys.
    #[serde(default = "default_api_keys_key")]
    pub key: String,
}

/// Per-client rate limit.
#[derive(KubeSchema, Serialize, Deserialize, Clone, Debug, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct RateLimitSpec {
    /// Sustained requests per minute per client.
    #[schemars(range(min = 1))]
    pub requests_per_minute: i32,
    /// Burst size per client.
    #[serde(default = "default_rate_burst")]
    #[schemars(range(min = 1))]
    pub burst: i32,
}

/// Prometheus scraping, alerts and dashboard.
#[derive(KubeSchema, Serialize, Deserialize, Clone, Debug, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct MonitoringSpec {
    /// Create a ServiceMonitor (monitoring.coreos.com/v1) when that CRD is installed.
    #[serde(default = "default_true")]
    pub service_monitor: bool,
    /// Create a PrometheusRule (monitoring.coreos.com/v1) with the server's alerts and recording rules
    /// (docs/alerts.md), scoped to this instance's namespace and job, when that CRD is installed.
    #[serde(default = "default_true")]
    pub prometheus_rule: bool,
    /// Create a ConfigMap `<name>-dashboard` with a Grafana dashboard of this instance, labelled
    /// `grafana_dashboard: "1"` for Grafana's dashboard sidecar. Off by default: the Helm chart ships one dashboard
    /// for every instance.
    #[serde(default)]
    pub grafana_dashboard: bool,
    /// Scrape interval.
    #[serde(default = "default_interval")]
    #[schemars(regex(pattern = r"^[0-9]+(s|m)$"))]
    pub interval: String,
    /// Namespace of Prometheus, allowed in by the NetworkPolicy.
    #[serde(default = "default_prometheus_namespace")]
    pub prometheus_namespace: String,
}

impl Default for MonitoringSpec {
    fn default() -> Self {
        Self {
            service_monitor: true,
            prometheus_rule: true,
            grafana_dashboard: false,
            interval: default_interval(),
            prometheus_namespace: default_prometheus_namespace(),
        }
    }
}

/// What the operator observed.
#[derive(KubeSchema, Serialize, Deserialize, Clone, Debug, Default, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct NotionMcpRemoteStatus {
    /// The generation this status describes.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub observed_generation: Option<i64>,
    /// `Ready`, `Progressing` and `Degraded`, plus the warnings `SharedStateMissing` and `StaleReadsPossible`,
    /// with reasons and messages.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub conditions: Vec<Condition>,
    /// Public MCP URL (`<base>/mcp`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub url: Option<String>,
    /// Server pods that are ready.
    #[serde(default)]
    pub ready_replicas: i32,
    /// Number of stored OAuth grants.
    #[serde(default)]
    pub grants: i32,
}

fn default_replicas() -> i32 {
    1
}
fn default_log_level() -> String {
    "info".into()
}
fn default_repository() -> String {
    "ghcr.io/notion-mcp-remote/notion-mcp-remote".into()
}
fn default_tag() -> String {
    env!("CARGO_PKG_VERSION").into()
}
fn default_ingress_class() -> String {
    "tailscale".into()
}
fn default_notion_base_url() -> String {
    "https://api.notion.com".into()
}
fn default_client_id_key() -> String {
    "client_id".into()
}
fn default_client_secret_key() -> String {
    "client_secret".into()
}
fn default_pacing_rps() -> f64 {
    3.0
}
fn default_pacing_burst() -> i32 {
    10
}
fn default_key_id() -> String {
    "k1".into()
}
fn default_api_keys_key() -> String {
    "api-keys".into()
}
fn default_rate_burst() -> i32 {
    20
}
fn default_true() -> bool {
    true
}
fn default_interval() -> String {
    "30s".into()
}
fn default_prometheus_namespace() -> String {
    "monitoring".into()
}
