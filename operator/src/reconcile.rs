//! The reconcile loop: referenced Secrets → observed children → apply what changed → prune what is no longer
//! wanted → adopt grant Secrets → status; plus the error policy and the `Retain` finalizer. Each pass is
//! one span (exported when the operator's traces are on).

use crate::apply::{self, Outcome};
use crate::builders::{
    self, Children, Facts, MANAGER, child_kinds, children_selector, generated_key_secret_name,
    grants_selector,
};
use crate::crd::{DeletionPolicy, NotionMcpRemote, RETAIN_FINALIZER};
use crate::metrics::Metrics;
use crate::secrets::{self, KeySecretWrite};
use crate::status::{self, Observation, Problem};
use k8s_openapi::api::core::v1::ObjectReference;
use k8s_openapi::api::core::v1::Secret;
use kube::api::{ApiResource, DynamicObject, ListParams, Patch, PatchParams};
use kube::runtime::controller::Action;
use kube::runtime::events::{Event, EventType, Recorder};
use kube::{Api, Client, Resource, ResourceExt};
use serde_json::json;
use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;
use std::time::Duration;
use tracing::Instrument;
use tracing::field::Empty;

/// Shared state of the reconciler.
pub struct Context {
    pub client: Client,
    pub recorder: Recorder,
    pub metrics: Metrics,
    /// Whether the ServiceMonitor CRD is installed (checked at start-up).
    pub service_monitor_crd: bool,
    /// Whether the PrometheusRule CRD is installed (checked at start-up).
    pub prometheus_rule_crd: bool,
    /// Source of fresh encryption keys (random in production, fixed in tests).
    pub new_key: fn() -> Vec<u8>,
}

/// A fresh random 32-byte key.
pub fn random_key() -> Vec<u8> {
    use rand::RngCore;
    let mut key = vec![0u8; builders::key_secret::KEY_LEN];
    rand::rng().fill_bytes(&mut key);
    key
}

/// Reconcile errors (each becomes a Warning event and a retry with backoff).
#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error("Kubernetes API: {0}")]
    Kube(#[from] kube::Error),
    #[error("NotionMcpRemote {0} has no namespace")]
    MissingNamespace(String),
}

impl Error {
    /// Short label for the error metric.
    pub fn metric_label(&self) -> &'static str {
        match self {
            Error::Kube(kube::Error::Api(status)) if status.is_conflict() => "conflict",
            Error::Kube(kube::Error::Api(status)) if status.is_forbidden() => "forbidden",
            Error::Kube(_) => "kube",
            Error::MissingNamespace(_) => "invalid",
        }
    }
}

/// How often a healthy resource is looked at again even without a change.
const RESYNC: Duration = Duration::from_secs(300);

async fn publish(
    ctx: &Context,
    cr: &NotionMcpRemote,
    type_: EventType,
    reason: &str,
    action: &str,
    note: String,
) {
    publish_about(ctx, cr, type_, reason, action, note, None).await;
}

/// Publishes an event on `cr`; `related` names the child it is about, which also keeps events about different
/// children apart (repeats of the same event become a series).
async fn publish_about(
    ctx: &Context,
    cr: &NotionMcpRemote,
    type_: EventType,
    reason: &str,
    action: &str,
    note: String,
    related: Option<ObjectReference>,
) {
    let event = Event {
        type_,
        reason: reason.into(),
        note: Some(note),
        action: action.into(),
        secondary: related,
    };
    if let Err(e) = ctx.recorder.publish(&event, &cr.object_ref(&())).await {
        tracing::warn!(error = %e, "cannot publish event");
    }
}

/// Reconciles one resource; errors are also published as Warning events. One span per pass
/// (`reconcile NotionMcpRemote`: the resource's name and namespace, the outcome), the parent of the
/// `apply` spans of its children.
pub async fn reconcile(cr: Arc<NotionMcpRemote>, ctx: Arc<Context>) -> Result<Action, Error> {
    let name = cr.name_any();
    let _timer = ctx.metrics.reconcile(&name);
    let deleting = cr.metadata.deletion_timestamp.is_some();
    let span = tracing::info_span!(
        "reconcile",
        otel.name = "reconcile NotionMcpRemote",
        k8s.notionmcpremote.name = %name,
        k8s.namespace.name = cr.namespace().as_deref().unwrap_or_default(),
        reconcile.action = if deleting { "cleanup" } else { "apply" },
        reconcile.outcome = Empty,
        error.type = Empty,
        otel.status_code = Empty,
    );
    let result = if deleting {
        cleanup(&cr, &ctx).instrument(span.clone()).await
    } else {
        apply_all(&cr, &ctx).instrument(span.clone()).await
    };
    span.record(
        "reconcile.outcome",
        if result.is_ok() { "ok" } else { "error" },
    );
    if let Err(e) = &result {
        span.record("error.type", e.metric_label());
        span.record("otel.status_code", "error");
        ctx.metrics.error(&name, e.metric_label());
        publish(
            &ctx,
            &cr,
            EventType::Warning,
            "ReconcileFailed",
            "Reconcile",
            e.to_string(),
        )
        .await;
    }
    result
}

/// Error policy: log, and retry with a growing delay (the controller's own backoff adds to it on repeats).
pub fn error_policy(cr: Arc<NotionMcpRemote>, error: &Error, _ctx: Arc<Context>) -> Action {
    tracing::warn!(instance = %cr.name_any(), error = %error, "reconcile failed");
    let delay = match error.metric_label() {
        "conflict" => Duration::from_secs(2),
        "forbidden" | "invalid" => Duration::from_secs(120),
        _ => Duration::from_secs(15),
    };
    Action::requeue(delay)
}

fn child_ref(resource: &ApiResource, namespace: &str, name: &str) -> Option<ObjectReference> {
    Some(ObjectReference {
        api_version: Some(resource.api_version.clone()),
        kind: Some(resource.kind.clone()),
        name: Some(name.into()),
        namespace: Some(namespace.into()),
        ..ObjectReference::default()
    })
}

fn namespace(cr: &NotionMcpRemote) -> Result<String, Error> {
    cr.namespace()
        .ok_or_else(|| Error::MissingNamespace(cr.name_any()))
}

/// Adds the finalizer under `Retain` and removes it under `Delete` (merge patch guarded by resourceVersion).
async fn sync_finalizer(cr: &NotionMcpRemote, ctx: &Context, ns: &str) -> Result<(), Error> {
    let wanted = cr.spec.token_store.deletion_policy == DeletionPolicy::Retain;
    let finalizers = cr.finalizers();
    let has = finalizers.iter().any(|f| f == RETAIN_FINALIZER);
    if wanted == has {
        return Ok(());
    }
    let mut next: Vec<String> = finalizers
        .iter()
        .filter(|f| *f != RETAIN_FINALIZER)
        .cloned()
        .collect();
    if wanted {
        next.push(RETAIN_FINALIZER.into());
    }
    patch_finalizers(cr, ctx, ns, next).await
}

async fn patch_finalizers(
    cr: &NotionMcpRemote,
    ctx: &Context,
    ns: &str,
    finalizers: Vec<String>,
) -> Result<(), Error> {
    let api: Api<NotionMcpRemote> = Api::namespaced(ctx.client.clone(), ns);
    let patch =
        json!({"metadata": {"finalizers": finalizers, "resourceVersion": cr.resource_version()}});
    api.patch(
        &cr.name_any(),
        &PatchParams::default(),
        &Patch::Merge(&patch),
    )
    .await?;
    ctx.metrics.write(&cr.name_any(), "finalizer");
    Ok(())
}

/// One pass for a live resource: the finalizer, then the steps of the module docs.
async fn apply_all(cr: &NotionMcpRemote, ctx: &Context) -> Result<Action, Error> {
    let ns = namespace(cr)?;
    let name = cr.name_any();
    sync_finalizer(cr, ctx, &ns).await?;

    // 1. Referenced Secrets.
    let check = secrets::check(&ctx.client, &ns, cr, ctx.new_key).await?;
    report_key_secret_write(cr, ctx, check.key_secret_write.as_ref()).await;
    if !check.problems.is_empty() {
        report_problems(cr, ctx, &ns, &check.problems).await?;
        return Ok(Action::requeue(RESYNC));
    }

    // 2. Observe the children.
    let observed = Observed::list(ctx, &ns, &name).await?;
    let facts = Facts {
        ingress_hostname: observed.ingress_hostname(cr),
        secrets_checksum: check.checksum.clone(),
        service_monitor_crd: ctx.service_monitor_crd,
        prometheus_rule_crd: ctx.prometheus_rule_crd,
    };
    let children = builders::children(cr, &facts);

    // 3. Apply what changed.
    let (mut written, wanted) = apply_children(cr, ctx, &ns, &children, &observed).await?;

    // 4. Prune children no longer rendered (only those this resource controls).
    written.extend(prune(cr, ctx, &ns, &observed, &wanted).await?);

    // 5. Grants: count them and make sure each is owned by this resource.
    let grants = adopt_grants(cr, ctx, &ns).await?;

    // 6. Status.
    let rollout = Rollout::of(cr, observed.find("Deployment", &builders::base_name(cr)));
    let observation = Observation {
        problems: Vec::new(),
        written,
        ready_replicas: rollout.ready_replicas,
        rolled_out: rollout.rolled_out,
        url: builders::public_mcp_url(cr, &facts),
        ingress: children
            .ingress
            .as_ref()
            .and_then(|i| i.metadata.name.clone()),
        grants,
    };
    write_status(cr, ctx, &ns, &observation).await?;
    Ok(Action::requeue(RESYNC))
}

/// Records (metric and event) a write to the generated key Secret, if the Secret check made one.
async fn report_key_secret_write(
    cr: &NotionMcpRemote,
    ctx: &Context,
    write: Option<&KeySecretWrite>,
) {
    let (metric, reason, action, note) = match write {
        Some(KeySecretWrite::Created(secret)) => (
            "create",
            "Created",
            "Create",
            format!("created Secret {secret} with a new encryption key"),
        ),
        Some(KeySecretWrite::KeysAdded(secret, ids)) => (
            "update",
            "Updated",
            "Update",
            format!("added encryption key {} to Secret {secret}", ids.join(", ")),
        ),
        None => return,
    };
    ctx.metrics.write(&cr.name_any(), metric);
    publish(ctx, cr, EventType::Normal, reason, action, note).await;
}

/// Publishes the Secret problems as one Warning event and writes them to the status.
async fn report_problems(
    cr: &NotionMcpRemote,
    ctx: &Context,
    ns: &str,
    problems: &[Problem],
) -> Result<(), Error> {
    let observation = Observation {
        problems: problems.to_vec(),
        ..Observation::default()
    };
    let messages: Vec<String> = problems.iter().map(|p| p.message.clone()).collect();
    publish(
        ctx,
        cr,
        EventType::Warning,
        problems[0].reason,
        "Reconcile",
        messages.join("; "),
    )
    .await;
    write_status(cr, ctx, ns, &observation).await
}

/// The existing children of a resource, by kind and name.
struct Observed(Vec<(ApiResource, BTreeMap<String, DynamicObject>)>);

impl Observed {
    /// Lists the children of resource `name` of every child kind.
    async fn list(ctx: &Context, ns: &str, name: &str) -> Result<Self, Error> {
        let selector = children_selector(name);
        let mut observed = Vec::new();
        for kind in child_kinds(ctx.service_monitor_crd, ctx.prometheus_rule_crd) {
            let objects = apply::list(&ctx.client, ns, &kind, &selector).await?;
            observed.push((
                kind,
                objects.into_iter().map(|o| (o.name_any(), o)).collect(),
            ));
        }
        Ok(Observed(observed))
    }

    /// The child of `kind` named `name`, if it exists.
    fn find(&self, kind: &str, name: &str) -> Option<&DynamicObject> {
        self.0
            .iter()
            .find(|(k, _)| k.kind == kind)
            .and_then(|(_, objects)| objects.get(name))
    }

    /// The hostname the load balancer gave the Ingress, once it has one.
    fn ingress_hostname(&self, cr: &NotionMcpRemote) -> Option<String> {
        self.find("Ingress", &builders::base_name(cr))
            .and_then(|i| i.data.pointer("/status/loadBalancer/ingress/0/hostname"))
            .and_then(|h| h.as_str())
            .map(String::from)
    }
}

/// Applies every wanted child; returns what was written (in order) and the wanted (kind, name) pairs.
async fn apply_children(
    cr: &NotionMcpRemote,
    ctx: &Context,
    ns: &str,
    children: &Children,
    observed: &Observed,
) -> Result<(Vec<String>, BTreeSet<(String, String)>), Error> {
    let name = cr.name_any();
    let mut written = Vec::new();
    let mut wanted: BTreeSet<(String, String)> = BTreeSet::new();
    for child in children.objects() {
        wanted.insert((child.resource.kind.clone(), child.name.clone()));
        let outcome = apply::apply(
            &ctx.client,
            ns,
            &child,
            observed.find(&child.resource.kind, &child.name),
        )
        .await?;
        let what = format!("{} {}", child.resource.kind, child.name);
        let (metric, reason, verb) = match outcome {
            Outcome::Unchanged => continue,
            Outcome::Created => ("create", "Created", "created"),
            Outcome::Updated => ("update", "Updated", "updated"),
        };
        ctx.metrics.write(&name, metric);
        let related = child_ref(&child.resource, ns, &child.name);
        publish_about(
            ctx,
            cr,
            EventType::Normal,
            reason,
            "Apply",
            format!("{verb} {what}"),
            related,
        )
        .await;
        written.push(what);
    }
    Ok((written, wanted))
}

/// Deletes the observed children this resource controls that are not `wanted`; returns what was deleted.
async fn prune(
    cr: &NotionMcpRemote,
    ctx: &Context,
    ns: &str,
    observed: &Observed,
    wanted: &BTreeSet<(String, String)>,
) -> Result<Vec<String>, Error> {
    let name = cr.name_any();
    let uid = cr.uid().unwrap_or_default();
    let mut deleted = Vec::new();
    for (kind, objects) in &observed.0 {
        for (child_name, object) in objects {
            if wanted.contains(&(kind.kind.clone(), child_name.clone()))
                || !apply::is_owned_by(object, &uid)
            {
                continue;
            }
            apply::delete(&ctx.client, ns, kind, child_name).await?;
            ctx.metrics.write(&name, "delete");
            let what = format!("{} {child_name}", kind.kind);
            let related = child_ref(kind, ns, child_name);
            publish_about(
                ctx,
                cr,
                EventType::Normal,
                "Deleted",
                "Prune",
                format!("deleted {what}: no longer wanted"),
                related,
            )
            .await;
            deleted.push(format!("deleted {what}"));
        }
    }
    Ok(deleted)
}

/// How far the Deployment has rolled out the current spec.
struct Rollout {
    ready_replicas: i32,
    /// The Deployment exists and has all `spec.replicas` updated and ready for its latest generation.
    rolled_out: bool,
}

impl Rollout {
    /// Reads the rollout from the observed `deployment` (none yet: nothing ready).
    fn of(cr: &NotionMcpRemote, deployment: Option<&DynamicObject>) -> Self {
        let int = |path: &str| {
            deployment
                .and_then(|d| d.data.pointer(path))
                .and_then(|v| v.as_i64())
                .unwrap_or(0)
        };
        let generation = deployment.and_then(|d| d.metadata.generation).unwrap_or(0);
        let replicas = i64::from(cr.spec.replicas);
        Rollout {
            ready_replicas: i32::try_from(int("/status/readyReplicas")).unwrap_or(i32::MAX),
            rolled_out: deployment.is_some()
                && int("/status/observedGeneration") >= generation
                && int("/status/updatedReplicas") >= replicas
                && int("/status/readyReplicas") >= replicas,
        }
    }
}

async fn write_status(
    cr: &NotionMcpRemote,
    ctx: &Context,
    ns: &str,
    observation: &Observation,
) -> Result<(), Error> {
    let desired = status::desired_status(cr, observation);
    if !status::changed(cr.status.as_ref(), &desired) {
        return Ok(());
    }
    let api: Api<NotionMcpRemote> = Api::namespaced(ctx.client.clone(), ns);
    let patch = json!({
        "apiVersion": NotionMcpRemote::api_version(&()),
        "kind": NotionMcpRemote::kind(&()),
        "status": desired,
    });
    api.patch_status(
        &cr.name_any(),
        &PatchParams::apply(MANAGER).force(),
        &Patch::Apply(&patch),
    )
    .await?;
    ctx.metrics.write(&cr.name_any(), "status");
    Ok(())
}

/// Counts the grant Secrets and adds this resource as an owner of those that lack it, so the garbage collector
/// deletes them with it (`Delete`) and the finalizer can find them (`Retain`).
async fn adopt_grants(cr: &NotionMcpRemote, ctx: &Context, ns: &str) -> Result<i32, Error> {
    let api: Api<Secret> = Api::namespaced(ctx.client.clone(), ns);
    let grants = api
        .list_metadata(&ListParams::default().labels(&grants_selector(&cr.name_any())))
        .await?;
    let uid = cr.uid().unwrap_or_default();
    let Some(owner) = cr.owner_ref(&()) else {
        return Ok(i32::try_from(grants.items.len()).unwrap_or(i32::MAX));
    };
    for grant in &grants.items {
        let mut refs = grant.metadata.owner_references.clone().unwrap_or_default();
        if refs.iter().any(|r| r.uid == uid) {
            continue;
        }
        refs.push(owner.clone());
        let patch = json!({"metadata": {"ownerReferences": refs, "resourceVersion": grant.metadata.resource_version}});
        api.patch_metadata(
            &grant.name_any(),
            &PatchParams::default(),
            &Patch::Merge(&patch),
        )
        .await?;
        ctx.metrics.write(&cr.name_any(), "adopt");
    }
    Ok(i32::try_from(grants.items.len()).unwrap_or(i32::MAX))
}

/// Removes this resource from the owner references of `secret` (so the garbage collector keeps it).
async fn release(
    api: &Api<Secret>,
    uid: &str,
    name: &str,
    refs: Option<&Vec<k8s_openapi::apimachinery::pkg::apis::meta::v1::OwnerReference>>,
    rv: Option<&String>,
) -> Result<bool, Error> {
    let refs = refs.cloned().unwrap_or_default();
    if !refs.iter().any(|r| r.uid == uid) {
        return Ok(false);
    }
    let kept: Vec<_> = refs.into_iter().filter(|r| r.uid != uid).collect();
    let patch = json!({"metadata": {"ownerReferences": kept, "resourceVersion": rv}});
    api.patch_metadata(name, &PatchParams::default(), &Patch::Merge(&patch))
        .await?;
    Ok(true)
}

/// Deletion. Under `Retain` the finalizer is ours: release the grant Secrets and the generated key Secret from
/// this resource's ownership, then remove the finalizer. Everything else goes with the owner references.
async fn cleanup(cr: &NotionMcpRemote, ctx: &Context) -> Result<Action, Error> {
    if !cr.finalizers().iter().any(|f| f == RETAIN_FINALIZER) {
        return Ok(Action::await_change());
    }
    let ns = namespace(cr)?;
    let uid = cr.uid().unwrap_or_default();
    let api: Api<Secret> = Api::namespaced(ctx.client.clone(), &ns);
    let grants = api
        .list_metadata(&ListParams::default().labels(&grants_selector(&cr.name_any())))
        .await?;
    let mut kept = 0;
    for grant in &grants.items {
        let m = &grant.metadata;
        release(
            &api,
            &uid,
            &grant.name_any(),
            m.owner_references.as_ref(),
            m.resource_version.as_ref(),
        )
        .await?;
        kept += 1;
    }
    let key_secret = generated_key_secret_name(cr);
    let mut kept_keys = String::new();
    if cr.spec.encryption.key_secret_ref.is_none()
        && let Some(secret) = api.get_metadata_opt(&key_secret).await?
    {
        let m = &secret.metadata;
        if release(
            &api,
            &uid,
            &key_secret,
            m.owner_references.as_ref(),
            m.resource_version.as_ref(),
        )
        .await?
        {
            kept_keys = format!(" and Secret {key_secret}");
        }
    }
    publish(
        ctx,
        cr,
        EventType::Normal,
        "Retained",
        "Delete",
        format!("kept {kept} grant Secrets{kept_keys} (tokenStore.deletionPolicy: Retain)"),
    )
    .await;
    let finalizers: Vec<String> = cr
        .finalizers()
        .iter()
        .filter(|f| *f != RETAIN_FINALIZER)
        .cloned()
        .collect();
    patch_finalizers(cr, ctx, &ns, finalizers).await?;
    Ok(Action::await_change())
}
