//! RoleBinding of the server's Role to its ServiceAccount.

use super::{base_name, meta};
use crate::crd::NotionMcpRemote;
use k8s_openapi::api::rbac::v1::{RoleBinding, RoleRef, Subject};
use kube::ResourceExt;

/// The server's RoleBinding.
pub fn role_binding(cr: &NotionMcpRemote) -> RoleBinding {
    RoleBinding {
        metadata: meta(cr, base_name(cr)),
        role_ref: RoleRef {
            api_group: "rbac.authorization.k8s.io".into(),
            kind: "Role".into(),
            name: base_name(cr),
        },
        subjects: Some(vec![Subject {
            kind: "ServiceAccount".into(),
            name: base_name(cr),
            namespace: cr.namespace(),
            ..Subject::default()
        }]),
    }
}
