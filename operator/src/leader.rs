//! Leader election on a `coordination.k8s.io` Lease (kube-lease-manager), so several operator replicas are safe:
//! only the holder of the Lease runs the controller; the others wait and take over when it goes away.

use kube::Client;
use kube_lease_manager::LeaseManagerBuilder;
use tokio::sync::watch;

/// Lease settings.
#[derive(Clone, Debug)]
pub struct LeaseConfig {
    pub name: String,
    pub namespace: String,
    pub identity: String,
    /// Seconds a Lease stays valid without renewal.
    pub duration_secs: u64,
    /// Seconds before expiry at which the holder renews it.
    pub grace_secs: u64,
}

/// Errors of leader election.
#[derive(Debug, thiserror::Error)]
pub enum LeaderError {
    #[error("leader election: {0}")]
    Lease(#[from] kube_lease_manager::LeaseManagerError),
    #[error("lease grace ({grace}s) must be shorter than its duration ({duration}s)")]
    Timing { grace: u64, duration: u64 },
}

/// Starts contending for the Lease; the receiver is `true` while this replica leads. The background task
/// releases the Lease when every receiver is dropped.
pub async fn elect(
    client: Client,
    config: &LeaseConfig,
) -> Result<watch::Receiver<bool>, LeaderError> {
    if config.grace_secs == 0 || config.grace_secs >= config.duration_secs {
        return Err(LeaderError::Timing {
            grace: config.grace_secs,
            duration: config.duration_secs,
        });
    }
    let manager = LeaseManagerBuilder::new(client, &config.name)
        .with_namespace(&config.namespace)
        .with_identity(&config.identity)
        .with_duration(config.duration_secs)
        .with_grace(config.grace_secs)
        .with_field_manager(format!("notion-mcp-operator-{}", config.identity))
        .build()
        .await?;
    let (receiver, _task) = manager.watch().await;
    Ok(receiver)
}
