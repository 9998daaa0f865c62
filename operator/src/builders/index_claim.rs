//! PersistentVolumeClaim of the content index, when `contentIndex.volume.persistentVolumeClaim` asks for one.
//! Owned by the resource like every child, so it goes with it (and is pruned when the index moves to an
//! `emptyDir` or is turned off: the index is rebuilt by a crawl, never the only copy of anything).

use super::{index_claim_name, meta};
use crate::crd::NotionMcpRemote;
use k8s_openapi::api::core::v1::{
    PersistentVolumeClaim, PersistentVolumeClaimSpec, VolumeResourceRequirements,
};
use k8s_openapi::apimachinery::pkg::api::resource::Quantity;
use std::collections::BTreeMap;

/// The claim, or `None` when the index is off or lives in an `emptyDir`.
pub fn index_claim(cr: &NotionMcpRemote) -> Option<PersistentVolumeClaim> {
    let claim = cr.spec.content_index.claim()?;
    Some(PersistentVolumeClaim {
        metadata: meta(cr, index_claim_name(cr)),
        spec: Some(PersistentVolumeClaimSpec {
            access_modes: Some(
                claim
                    .access_modes
                    .iter()
                    .map(|m| m.as_str().to_string())
                    .collect(),
            ),
            storage_class_name: claim.storage_class_name.clone(),
            resources: Some(VolumeResourceRequirements {
                requests: Some(BTreeMap::from([(
                    "storage".to_string(),
                    Quantity(claim.size.clone()),
                )])),
                ..VolumeResourceRequirements::default()
            }),
            ..PersistentVolumeClaimSpec::default()
        }),
        status: None,
    })
}
