//! ServiceAccount the server pods run as (its Role lets it keep grant Secrets).

use super::{base_name, meta};
use crate::crd::NotionMcpRemote;
use k8s_openapi::api::core::v1::ServiceAccount;

/// The server's ServiceAccount.
pub fn service_account(cr: &NotionMcpRemote) -> ServiceAccount {
    ServiceAccount {
        metadata: meta(cr, base_name(cr)),
        automount_service_account_token: Some(true),
        ..ServiceAccount::default()
    }
}
