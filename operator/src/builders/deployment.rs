//! Deployment of the MCP server: restricted security context, health probes, zero-downtime rolling updates and
//! a checksum annotation that rolls the pods when configuration or referenced Secrets change.

use super::config_map::SHUTDOWN_GRACE_SECS;
use super::key_secret::declared_key_ids;
use super::{
    API_KEYS_DIR, CHECKSUM_ANNOTATION, Facts, HTTP_PORT, INDEX_DIR, KEYS_DIR, base_name,
    config_map_name, digest, index_claim_name, key_secret_name, meta, selector_labels,
};
use crate::crd::NotionMcpRemote;
use k8s_openapi::api::apps::v1::{
    Deployment, DeploymentSpec, DeploymentStrategy, RollingUpdateDeployment,
};
use k8s_openapi::api::core::v1::{
    Capabilities, ConfigMap, ConfigMapEnvSource, Container, ContainerPort, EmptyDirVolumeSource,
    EnvFromSource, EnvVar, EnvVarSource, HTTPGetAction, KeyToPath, LocalObjectReference,
    PersistentVolumeClaimVolumeSource, PodSecurityContext, PodSpec, PodTemplateSpec, Probe,
    ResourceRequirements, SeccompProfile, SecretKeySelector, SecretVolumeSource, SecurityContext,
    Volume, VolumeMount,
};
use k8s_openapi::apimachinery::pkg::api::resource::Quantity;
use k8s_openapi::apimachinery::pkg::apis::meta::v1::{LabelSelector, ObjectMeta};
use k8s_openapi::apimachinery::pkg::util::intstr::IntOrString;
use notion_mcp_contract::{env, paths};
use std::collections::BTreeMap;

/// Non-root user and group of the server (the distroless `nonroot` user).
const RUN_AS: i64 = 65532;

/// Image reference: `repository@digest` when pinned, else `repository:tag`.
pub fn image(cr: &NotionMcpRemote) -> String {
    let image = &cr.spec.image;
    match &image.digest {
        Some(digest) => format!("{}@{digest}", image.repository),
        None => format!("{}:{}", image.repository, image.tag),
    }
}

/// Checksum of everything that must roll the pods when it changes: the ConfigMap data and the referenced
/// Secrets (as a hash of their contents, never the contents).
pub fn config_checksum(config_map: &ConfigMap, facts: &Facts) -> String {
    let mut input = serde_json::to_vec(&config_map.data).unwrap_or_default();
    input.extend_from_slice(facts.secrets_checksum.as_bytes());
    digest(&input)
}

fn default_resources() -> ResourceRequirements {
    ResourceRequirements {
        requests: Some(BTreeMap::from([
            ("cpu".to_string(), Quantity("50m".into())),
            ("memory".to_string(), Quantity("64Mi".into())),
        ])),
        limits: Some(BTreeMap::from([(
            "memory".to_string(),
            Quantity("256Mi".into()),
        )])),
        ..ResourceRequirements::default()
    }
}

fn secret_env(name: &str, secret: &str, key: &str) -> EnvVar {
    EnvVar {
        name: name.into(),
        value_from: Some(EnvVarSource {
            secret_key_ref: Some(SecretKeySelector {
                name: secret.into(),
                key: key.into(),
                optional: Some(false),
            }),
            ..EnvVarSource::default()
        }),
        ..EnvVar::default()
    }
}

fn http_probe(path: &str, period: i32, failures: i32) -> Probe {
    Probe {
        http_get: Some(HTTPGetAction {
            path: Some(path.into()),
            port: IntOrString::String("http".into()),
            scheme: Some("HTTP".into()),
            ..HTTPGetAction::default()
        }),
        period_seconds: Some(period),
        timeout_seconds: Some(2),
        failure_threshold: Some(failures),
        ..Probe::default()
    }
}

fn volumes(cr: &NotionMcpRemote) -> (Vec<Volume>, Vec<VolumeMount>) {
    let keys = declared_key_ids(cr)
        .into_iter()
        .map(|id| KeyToPath {
            key: id.clone(),
            path: id,
            ..KeyToPath::default()
        })
        .collect();
    let mut volumes = vec![
        Volume {
            name: "encryption-keys".into(),
            secret: Some(SecretVolumeSource {
                secret_name: Some(key_secret_name(cr)),
                items: Some(keys),
                default_mode: Some(0o440),
                ..SecretVolumeSource::default()
            }),
            ..Volume::default()
        },
        Volume {
            name: "tmp".into(),
            empty_dir: Some(EmptyDirVolumeSource {
                size_limit: Some(Quantity("64Mi".into())),
                ..EmptyDirVolumeSource::default()
            }),
            ..Volume::default()
        },
    ];
    let mut mounts = vec![
        VolumeMount {
            name: "encryption-keys".into(),
            mount_path: KEYS_DIR.into(),
            read_only: Some(true),
            ..VolumeMount::default()
        },
        VolumeMount {
            name: "tmp".into(),
            mount_path: "/tmp".into(),
            ..VolumeMount::default()
        },
    ];
    if let Some(api_keys) = &cr.spec.auth.api_key_secret_ref {
        volumes.push(Volume {
            name: "api-keys".into(),
            secret: Some(SecretVolumeSource {
                secret_name: Some(api_keys.name.clone()),
                items: Some(vec![KeyToPath {
                    key: api_keys.key.clone(),
                    path: api_keys.key.clone(),
                    ..KeyToPath::default()
                }]),
                default_mode: Some(0o440),
                ..SecretVolumeSource::default()
            }),
            ..Volume::default()
        });
        mounts.push(VolumeMount {
            name: "api-keys".into(),
            mount_path: API_KEYS_DIR.into(),
            read_only: Some(true),
            ..VolumeMount::default()
        });
    }
    if let Some(volume) = index_volume(cr) {
        volumes.push(volume);
        mounts.push(VolumeMount {
            name: INDEX_VOLUME.into(),
            mount_path: INDEX_DIR.into(),
            ..VolumeMount::default()
        });
    }
    (volumes, mounts)
}

/// Name of the content index's volume in the pod.
const INDEX_VOLUME: &str = "content-index";

/// The content index's volume: the operator's claim, or an `emptyDir`; none when the index is off.
fn index_volume(cr: &NotionMcpRemote) -> Option<Volume> {
    let index = &cr.spec.content_index;
    if !index.enabled {
        return None;
    }
    let mut volume = Volume {
        name: INDEX_VOLUME.into(),
        ..Volume::default()
    };
    if index.claim().is_some() {
        volume.persistent_volume_claim = Some(PersistentVolumeClaimVolumeSource {
            claim_name: index_claim_name(cr),
            read_only: None,
        });
    } else {
        volume.empty_dir = Some(EmptyDirVolumeSource {
            size_limit: index
                .volume
                .empty_dir
                .as_ref()
                .and_then(|e| e.size_limit.clone())
                .map(Quantity),
            ..EmptyDirVolumeSource::default()
        });
    }
    Some(volume)
}

/// Rolling update with a surge pod, except with the index on a claim: a ReadWriteOnce volume cannot be
/// attached to the old and the new pod on different nodes, so the old pod goes first (`Recreate`).
fn strategy(cr: &NotionMcpRemote) -> DeploymentStrategy {
    if cr.spec.content_index.claim().is_some() {
        return DeploymentStrategy {
            type_: Some("Recreate".into()),
            rolling_update: None,
        };
    }
    DeploymentStrategy {
        type_: Some("RollingUpdate".into()),
        rolling_update: Some(RollingUpdateDeployment {
            max_surge: Some(IntOrString::Int(1)),
            max_unavailable: Some(IntOrString::Int(0)),
        }),
    }
}

fn container(cr: &NotionMcpRemote, mounts: Vec<VolumeMount>) -> Container {
    let spec = &cr.spec;
    let mut env = Vec::new();
    if let Some(oauth) = &spec.notion.oauth_secret_ref {
        env.push(secret_env(
            env::NOTION_OAUTH_CLIENT_ID,
            &oauth.name,
            &oauth.client_id_key,
        ));
        env.push(secret_env(
            env::NOTION_OAUTH_CLIENT_SECRET,
            &oauth.name,
            &oauth.client_secret_key,
        ));
    }
    if let Some(webhook) = &spec.notion.webhook_secret_ref {
        env.push(secret_env(
            env::WEBHOOK_VERIFICATION_TOKEN,
            &webhook.name,
            &webhook.key,
        ));
    }
    if let Some(shared) = &spec.shared_state {
        let redis = &shared.redis_secret_ref;
        env.push(secret_env(env::REDIS_URL, &redis.name, &redis.key));
    }
    env.extend(spec.env.iter().cloned());
    Container {
        name: "server".into(),
        image: Some(image(cr)),
        image_pull_policy: Some(spec.image.pull_policy.as_str().into()),
        env_from: Some(vec![EnvFromSource {
            config_map_ref: Some(ConfigMapEnvSource {
                name: config_map_name(cr),
                optional: Some(false),
            }),
            ..EnvFromSource::default()
        }]),
        env: (!env.is_empty()).then_some(env),
        ports: Some(vec![ContainerPort {
            name: Some("http".into()),
            container_port: HTTP_PORT,
            protocol: Some("TCP".into()),
            ..ContainerPort::default()
        }]),
        liveness_probe: Some(http_probe(paths::HEALTHZ, 10, 3)),
        readiness_probe: Some(http_probe(paths::READYZ, 5, 2)),
        resources: Some(spec.resources.clone().unwrap_or_else(default_resources)),
        security_context: Some(SecurityContext {
            allow_privilege_escalation: Some(false),
            read_only_root_filesystem: Some(true),
            run_as_non_root: Some(true),
            capabilities: Some(Capabilities {
                drop: Some(vec!["ALL".into()]),
                ..Capabilities::default()
            }),
            ..SecurityContext::default()
        }),
        volume_mounts: Some(mounts),
        ..Container::default()
    }
}

/// The server's Deployment; `config_map` is the rendered ConfigMap (its data feeds the checksum).
pub fn deployment(cr: &NotionMcpRemote, config_map: &ConfigMap, facts: &Facts) -> Deployment {
    let spec = &cr.spec;
    let (volumes, mounts) = volumes(cr);
    let mut pod_labels = selector_labels(cr);
    pod_labels.insert("app.kubernetes.io/component".into(), "mcp-server".into());
    let pull_secrets: Vec<LocalObjectReference> = spec
        .image
        .pull_secrets
        .iter()
        .map(|name| LocalObjectReference { name: name.clone() })
        .collect();
    Deployment {
        metadata: meta(cr, base_name(cr)),
        spec: Some(DeploymentSpec {
            replicas: Some(spec.replicas),
            revision_history_limit: Some(5),
            selector: LabelSelector {
                match_labels: Some(selector_labels(cr)),
                ..LabelSelector::default()
            },
            strategy: Some(strategy(cr)),
            template: PodTemplateSpec {
                metadata: Some(ObjectMeta {
                    labels: Some(pod_labels),
                    annotations: Some(BTreeMap::from([(
                        CHECKSUM_ANNOTATION.to_string(),
                        config_checksum(config_map, facts),
                    )])),
                    ..ObjectMeta::default()
                }),
                spec: Some(PodSpec {
                    service_account_name: Some(base_name(cr)),
                    automount_service_account_token: Some(true),
                    enable_service_links: Some(false),
                    termination_grace_period_seconds: Some(SHUTDOWN_GRACE_SECS + 5),
                    security_context: Some(PodSecurityContext {
                        run_as_non_root: Some(true),
                        run_as_user: Some(RUN_AS),
                        run_as_group: Some(RUN_AS),
                        fs_group: Some(RUN_AS),
                        seccomp_profile: Some(SeccompProfile {
                            type_: "RuntimeDefault".into(),
                            ..SeccompProfile::default()
                        }),
                        ..PodSecurityContext::default()
                    }),
                    containers: vec![container(cr, mounts)],
                    volumes: Some(volumes),
                    image_pull_secrets: (!pull_secrets.is_empty()).then_some(pull_secrets),
                    node_selector: (!spec.node_selector.is_empty())
                        .then(|| spec.node_selector.clone()),
                    tolerations: (!spec.tolerations.is_empty()).then(|| spec.tolerations.clone()),
                    affinity: spec.affinity.clone(),
                    ..PodSpec::default()
                }),
            },
            ..DeploymentSpec::default()
        }),
        status: None,
    }
}
