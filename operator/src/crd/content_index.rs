//! Spec types of the server's content index: whether it runs, the share of each workspace's Notion budget its
//! background crawl may use, and the volume that holds it (an `emptyDir` per pod, or one PersistentVolumeClaim
//! the operator creates and owns).

use kube::KubeSchema;
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

/// The content index: the server crawls the pages each grant can see and answers searches from a local index.
#[derive(KubeSchema, Serialize, Deserialize, Clone, Debug, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct ContentIndexSpec {
    /// Build and use the content index. When false the server searches through Notion's API only.
    #[serde(default = "default_enabled")]
    pub enabled: bool,

    /// Share of each workspace's Notion request budget the background crawl may use, in (0, 1]; the rest stays
    /// for tool calls.
    #[serde(default = "default_crawl_share")]
    #[x_kube(validation = Rule::new("self > 0.0 && self <= 1.0")
        .message("contentIndex.crawlShare must be greater than 0 and at most 1 (a share of each workspace's Notion budget, e.g. 0.3)"))]
    pub crawl_share: f64,

    /// Where the index lives: an `emptyDir` of each pod (default; rebuilt by a crawl after a restart) or one
    /// PersistentVolumeClaim (kept across restarts and rollouts; one replica).
    #[serde(default)]
    pub volume: IndexVolumeSpec,
}

impl Default for ContentIndexSpec {
    fn default() -> Self {
        Self {
            enabled: default_enabled(),
            crawl_share: default_crawl_share(),
            volume: IndexVolumeSpec::default(),
        }
    }
}

/// The index volume: at most one of `emptyDir` and `persistentVolumeClaim`; neither means an `emptyDir` without
/// a size limit.
#[derive(KubeSchema, Serialize, Deserialize, Clone, Debug, Default, PartialEq)]
#[x_kube(validation = Rule::new("!(has(self.emptyDir) && has(self.persistentVolumeClaim))")
    .message("contentIndex.volume takes one of emptyDir or persistentVolumeClaim, not both"))]
#[serde(rename_all = "camelCase")]
pub struct IndexVolumeSpec {
    /// A scratch volume of each pod: every replica builds its own index, and a restarted pod crawls again.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub empty_dir: Option<IndexEmptyDir>,

    /// One PersistentVolumeClaim `<name>-index`, created and owned by the operator (deleted with the
    /// resource). The index survives restarts and rollouts; the Deployment then rolls with `Recreate`, since a
    /// ReadWriteOnce volume cannot be attached to the old and the new pod at once.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub persistent_volume_claim: Option<IndexClaim>,
}

/// An `emptyDir` index volume.
#[derive(KubeSchema, Serialize, Deserialize, Clone, Debug, Default, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct IndexEmptyDir {
    /// Largest size of the volume (e.g. `1Gi`); the kubelet evicts a pod that exceeds it. Unlimited when unset.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[x_kube(validation = Rule::new("isQuantity(self) && quantity(self).sign() == 1")
        .message("contentIndex.volume.emptyDir.sizeLimit must be a positive quantity, e.g. 1Gi"))]
    pub size_limit: Option<String>,
}

/// The PersistentVolumeClaim of the index. A claim's class and access modes cannot change once it exists;
/// its size can grow when the storage class allows expansion.
#[derive(KubeSchema, Serialize, Deserialize, Clone, Debug, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct IndexClaim {
    /// StorageClass of the claim; the cluster's default class when unset.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub storage_class_name: Option<String>,

    /// Requested size, e.g. `5Gi`.
    #[x_kube(validation = Rule::new("isQuantity(self) && quantity(self).sign() == 1")
        .message("contentIndex.volume.persistentVolumeClaim.size must be a positive quantity, e.g. 5Gi"))]
    pub size: String,

    /// Access modes of the claim. Default: `[ReadWriteOnce]`.
    #[serde(default = "default_access_modes")]
    #[schemars(length(min = 1))]
    pub access_modes: Vec<AccessMode>,
}

/// Access mode of a PersistentVolumeClaim.
#[derive(JsonSchema, Serialize, Deserialize, Clone, Copy, Debug, PartialEq, Eq)]
pub enum AccessMode {
    ReadWriteOnce,
    ReadWriteOncePod,
    ReadWriteMany,
}

impl AccessMode {
    /// The value Kubernetes expects.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::ReadWriteOnce => "ReadWriteOnce",
            Self::ReadWriteOncePod => "ReadWriteOncePod",
            Self::ReadWriteMany => "ReadWriteMany",
        }
    }
}

impl ContentIndexSpec {
    /// The claim the operator creates, when the index is on and kept on a PersistentVolumeClaim.
    pub fn claim(&self) -> Option<&IndexClaim> {
        self.enabled
            .then_some(self.volume.persistent_volume_claim.as_ref())
            .flatten()
    }
}

fn default_enabled() -> bool {
    true
}
fn default_crawl_share() -> f64 {
    0.3
}
fn default_access_modes() -> Vec<AccessMode> {
    vec![AccessMode::ReadWriteOnce]
}
