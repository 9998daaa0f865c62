//! PodDisruptionBudget, only with more than one replica (with one it would block node drains).

use super::{base_name, meta, selector_labels};
use crate::crd::NotionMcpRemote;
use k8s_openapi::api::policy::v1::{PodDisruptionBudget, PodDisruptionBudgetSpec};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::LabelSelector;
use k8s_openapi::apimachinery::pkg::util::intstr::IntOrString;

/// The server's PodDisruptionBudget, when `replicas > 1`.
pub fn pdb(cr: &NotionMcpRemote) -> Option<PodDisruptionBudget> {
    (cr.spec.replicas > 1).then(|| PodDisruptionBudget {
        metadata: meta(cr, base_name(cr)),
        spec: Some(PodDisruptionBudgetSpec {
            max_unavailable: Some(IntOrString::Int(1)),
            selector: Some(LabelSelector {
                match_labels: Some(selector_labels(cr)),
                ..LabelSelector::default()
            }),
            ..PodDisruptionBudgetSpec::default()
        }),
        status: None,
    })
}
