//! Opening the configured store at start-up: pick the backend, load the key ring, and open every
//! record once so a wrong or missing key stops the server with a message naming the record and key —
//! never a silent reset.

use super::sealing::{KeyRing, generate_key_text};
use super::{Backend, Kind, Store, file, memory};
use crate::config::{StoreArgs, StoreKind};
use anyhow::{Context, bail};
use notion_mcp_contract::resource;
use std::path::Path;
use std::sync::Arc;

const SERVICE_ACCOUNT_NAMESPACE: &str = "/var/run/secrets/kubernetes.io/serviceaccount/namespace";

/// The backend in effect: the flag, else kubernetes inside a cluster, else file.
pub fn effective_kind(args: &StoreArgs) -> StoreKind {
    args.kind.unwrap_or_else(|| {
        if std::env::var_os("KUBERNETES_SERVICE_HOST").is_some() {
            StoreKind::Kubernetes
        } else {
            StoreKind::File
        }
    })
}

/// Whether the backend holds any record at all.
async fn has_records(backend: &dyn Backend) -> anyhow::Result<bool> {
    for kind in Kind::ALL {
        if !backend.list(kind).await?.is_empty() {
            return Ok(true);
        }
    }
    Ok(false)
}

/// The key ring from the settings; for the file store without keys, `<store-dir>/keys` (created with
/// one fresh key when the store is new).
async fn key_ring(
    args: &StoreArgs,
    kind: StoreKind,
    backend: &dyn Backend,
) -> anyhow::Result<KeyRing> {
    let active = args.active_key_id.as_deref();
    if let Some(pairs) = &args.keys {
        return KeyRing::from_pairs(&pairs.0, active)
            .context("reading the keys of --keys (NOTION_MCP_KEYS)");
    }
    if let Some(dir) = &args.keys_dir {
        return KeyRing::from_dir(dir, active)
            .with_context(|| format!("reading the keys in {} (--keys-dir)", dir.display()));
    }
    match kind {
        StoreKind::Memory => Ok(KeyRing::random()),
        StoreKind::Kubernetes => bail!(
            "the kubernetes store needs sealing keys: mount a Secret and set --keys-dir (NOTION_MCP_KEYS_DIR), or set NOTION_MCP_KEYS"
        ),
        StoreKind::File => {
            let dir = default_keys_dir(args);
            if dir.is_dir() {
                return KeyRing::from_dir(&dir, active)
                    .with_context(|| format!("reading the keys in {}", dir.display()));
            }
            if has_records(backend).await? {
                bail!(
                    "the store in {} has records but its keys are missing ({} does not exist): restore the keys or point --keys-dir at them; nothing was changed",
                    args.store_dir.display(),
                    dir.display()
                );
            }
            std::fs::create_dir_all(&dir).with_context(|| format!("creating {}", dir.display()))?;
            #[cfg(unix)]
            {
                use std::os::unix::fs::PermissionsExt;
                let _ = std::fs::set_permissions(
                    &args.store_dir,
                    std::fs::Permissions::from_mode(0o700),
                );
                let _ = std::fs::set_permissions(&dir, std::fs::Permissions::from_mode(0o700));
            }
            let path = dir.join("k1");
            write_private(&path, generate_key_text().as_bytes())
                .with_context(|| format!("writing {}", path.display()))?;
            tracing::warn!(path = %path.display(), "generated a new sealing key for the file store; back it up: without it the stored grants cannot be opened");
            KeyRing::from_dir(&dir, active).with_context(|| format!("reading {}", dir.display()))
        }
    }
}

fn write_private(path: &Path, bytes: &[u8]) -> std::io::Result<()> {
    use std::io::Write;
    let mut opts = std::fs::OpenOptions::new();
    opts.write(true).create_new(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        opts.mode(0o600);
    }
    let mut f = opts.open(path)?;
    f.write_all(bytes)?;
    f.sync_all()
}

/// Open the configured store and check that every record opens with the key ring.
pub async fn open(args: &StoreArgs) -> anyhow::Result<Store> {
    let kind = effective_kind(args);
    let backend: Arc<dyn Backend> = match kind {
        StoreKind::Memory => Arc::new(memory::MemoryBackend::default()),
        StoreKind::File => {
            Arc::new(file::FileBackend::open(&args.store_dir).with_context(|| {
                format!("opening the file store in {}", args.store_dir.display())
            })?)
        }
        StoreKind::Kubernetes => Arc::new(open_kubernetes(args).await?),
    };
    let keys = Arc::new(key_ring(args, kind, backend.as_ref()).await?);
    let store = Store::new(backend, keys);
    let checked = store.verify_keys().await.with_context(|| {
        format!(
            "the {} store holds a record the configured keys cannot open (keys: {}); fix the keys — nothing was changed",
            store.backend_name(),
            store.keys().ids().join(", ")
        )
    })?;
    tracing::info!(
        backend = store.backend_name(),
        records = checked,
        active_key = store.keys().active_id(),
        "grant store opened"
    );
    Ok(store)
}

/// Where the file store keeps its keys when neither `--keys` nor `--keys-dir` is given.
fn default_keys_dir(args: &StoreArgs) -> std::path::PathBuf {
    args.store_dir.join("keys")
}

/// Open a store that must already exist, for the `grants` commands: never creates a directory or a
/// sealing key. A wrong `--store-dir` is an error naming it, not a new empty store; the memory store
/// (which lives only inside a running server) is refused.
pub async fn open_existing(args: &StoreArgs) -> anyhow::Result<Store> {
    match effective_kind(args) {
        StoreKind::Memory => bail!(
            "the memory store lives only inside a running server: the grants commands need --store file or kubernetes"
        ),
        StoreKind::File => {
            let dir = &args.store_dir;
            if !file::FileBackend::exists_in(dir) {
                bail!(
                    "no grant store in {}: it has no {}/ directory (point --store-dir or NOTION_MCP_STORE_DIR at the server's store); nothing was created",
                    dir.display(),
                    Kind::Grant.as_str()
                );
            }
            let keys = default_keys_dir(args);
            if args.keys.is_none() && args.keys_dir.is_none() && !keys.is_dir() {
                bail!(
                    "the store in {} has no sealing keys ({} does not exist): point --keys-dir or NOTION_MCP_KEYS at the server's keys; nothing was created",
                    dir.display(),
                    keys.display()
                );
            }
            open(args).await
        }
        StoreKind::Kubernetes => open(args).await,
    }
}

async fn open_kubernetes(args: &StoreArgs) -> anyhow::Result<super::kubernetes::KubernetesBackend> {
    use super::kubernetes::{KubernetesBackend, KubernetesConfig, OwnerRef};
    let namespace = match &args.store_namespace {
        Some(ns) if !ns.trim().is_empty() => ns.trim().to_string(),
        _ => std::fs::read_to_string(SERVICE_ACCOUNT_NAMESPACE)
            .map(|s| s.trim().to_string())
            .context("the kubernetes store needs --store-namespace (NOTION_MCP_STORE_NAMESPACE) outside a pod")?,
    };
    let client = kube::Client::try_default()
        .await
        .context("connecting to the Kubernetes API server for the grant store")?;
    let owner = args
        .instance_uid
        .as_ref()
        .filter(|u| !u.is_empty())
        .map(|uid| OwnerRef {
            api_version: resource::API_VERSION.into(),
            kind: resource::KIND.into(),
            name: args.instance.clone(),
            uid: uid.clone(),
        });
    KubernetesBackend::start(
        client,
        KubernetesConfig {
            namespace: namespace.clone(),
            instance: args.instance.clone(),
            owner,
        },
    )
    .await
    .with_context(|| format!("starting the kubernetes grant store in namespace {namespace}"))
}
