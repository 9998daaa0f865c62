//! Role of the server: Secrets in its own namespace only, for the Kubernetes grant store.
//!
//! RBAC cannot filter by label, so this is the narrowest grant RBAC can express; the server itself reads and
//! writes only Secrets labelled `notionmcp.dev/instance=<name>` (see docs/operator.md for an admission policy
//! that enforces it).

use super::{base_name, meta};
use crate::crd::NotionMcpRemote;
use k8s_openapi::api::rbac::v1::{PolicyRule, Role};

/// The server's Role.
pub fn role(cr: &NotionMcpRemote) -> Role {
    Role {
        metadata: meta(cr, base_name(cr)),
        rules: Some(vec![PolicyRule {
            api_groups: Some(vec![String::new()]),
            resources: Some(vec!["secrets".into()]),
            verbs: [
                "create", "delete", "get", "list", "patch", "update", "watch",
            ]
            .map(String::from)
            .to_vec(),
            ..PolicyRule::default()
        }]),
    }
}
