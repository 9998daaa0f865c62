//! The content index reaches the server: its settings in the ConfigMap, its volume mounted at the index
//! directory (an `emptyDir`, or the PersistentVolumeClaim the operator creates), the rollout strategy a
//! claim needs, and the per-workspace pacing.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use k8s_openapi::api::apps::v1::Deployment;
use k8s_openapi::api::core::v1::{PodSpec, Volume};
use notion_mcp_contract::env;
use notion_mcp_operator::builders::{self, Facts, INDEX_DIR};
use notion_mcp_operator::crd::NotionMcpRemote;
use notion_mcp_operator::render;
use std::collections::BTreeMap;

fn example(name: &str) -> NotionMcpRemote {
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/examples/");
    let text = std::fs::read_to_string(format!("{path}{name}")).unwrap();
    render::parse(&text).unwrap()
}

fn with_spec(extra: &str) -> NotionMcpRemote {
    render::parse(&format!(
        "apiVersion: notionmcp.dev/v1alpha1\nkind: NotionMcpRemote\nmetadata:\n  name: n\nspec:\n  publicUrl: https://m.example.com\n{extra}"
    ))
    .unwrap()
}

fn env_of(cr: &NotionMcpRemote) -> BTreeMap<String, String> {
    builders::config_map::server_env(cr, &Facts::default())
}

fn deployment(cr: &NotionMcpRemote) -> Deployment {
    builders::children(cr, &Facts::default()).deployment
}

fn pod(cr: &NotionMcpRemote) -> PodSpec {
    deployment(cr).spec.unwrap().template.spec.unwrap()
}

fn index_volume(cr: &NotionMcpRemote) -> Option<Volume> {
    let pod = pod(cr);
    let mount = pod.containers[0]
        .volume_mounts
        .iter()
        .flatten()
        .find(|m| m.mount_path == INDEX_DIR)
        .cloned();
    let volume = pod
        .volumes
        .unwrap_or_default()
        .into_iter()
        .find(|v| Some(&v.name) == mount.as_ref().map(|m| &m.name));
    assert_eq!(
        mount.is_some(),
        volume.is_some(),
        "a mount at {INDEX_DIR} has its volume"
    );
    if let Some(mount) = mount {
        assert_ne!(mount.read_only, Some(true), "the index is written");
    }
    volume
}

fn strategy(cr: &NotionMcpRemote) -> String {
    deployment(cr)
        .spec
        .unwrap()
        .strategy
        .unwrap()
        .type_
        .unwrap()
}

#[test]
fn the_index_is_on_by_default_in_a_scratch_volume() {
    let cr = with_spec("");
    let env = env_of(&cr);
    assert_eq!(env[env::INDEX_DIR], INDEX_DIR);
    assert_eq!(env[env::INDEX_CRAWL_SHARE], "0.3");
    assert!(!env.contains_key(env::NO_CONTENT_INDEX));
    let volume = index_volume(&cr).expect("an index volume");
    let empty_dir = volume.empty_dir.expect("an emptyDir");
    assert_eq!(empty_dir.size_limit, None);
    assert!(builders::index_claim::index_claim(&cr).is_none());
    assert_eq!(strategy(&cr), "RollingUpdate");
}

#[test]
fn a_bounded_scratch_volume_and_a_smaller_crawl_share() {
    let cr = example("replicas-3.yaml");
    let env = env_of(&cr);
    assert_eq!(env[env::INDEX_CRAWL_SHARE], "0.2");
    let volume = index_volume(&cr).unwrap();
    assert_eq!(volume.empty_dir.unwrap().size_limit.unwrap().0, "1Gi");
}

#[test]
fn turned_off_the_server_is_told_and_nothing_is_mounted() {
    let cr = with_spec(
        "  contentIndex:\n    enabled: false\n    volume:\n      persistentVolumeClaim: {size: 5Gi}\n",
    );
    let env = env_of(&cr);
    assert_eq!(env[env::NO_CONTENT_INDEX], "true");
    assert!(!env.contains_key(env::INDEX_DIR));
    assert!(!env.contains_key(env::INDEX_CRAWL_SHARE));
    assert!(index_volume(&cr).is_none());
    assert!(
        builders::index_claim::index_claim(&cr).is_none(),
        "no claim for an index that is off"
    );
    assert_eq!(strategy(&cr), "RollingUpdate");
}

#[test]
fn a_claimed_index_gets_its_claim_and_rolls_with_recreate() {
    let mut cr = example("persistent-index.yaml");
    cr.metadata.uid = Some("6f1c2b9e-0000-4000-8000-000000000001".into());
    let claim = builders::index_claim::index_claim(&cr).expect("a claim");
    assert_eq!(claim.metadata.name.as_deref(), Some("notion-mcp-index"));
    assert_eq!(claim.metadata.namespace.as_deref(), Some("notion-mcp"));
    let owner = &claim.metadata.owner_references.as_ref().unwrap()[0];
    assert_eq!(
        (owner.kind.as_str(), owner.controller),
        ("NotionMcpRemote", Some(true))
    );
    let spec = claim.spec.unwrap();
    assert_eq!(spec.storage_class_name.as_deref(), Some("standard"));
    assert_eq!(spec.access_modes.unwrap(), vec!["ReadWriteOnce"]);
    assert_eq!(
        spec.resources.unwrap().requests.unwrap()["storage"].0,
        "5Gi"
    );

    let volume = index_volume(&cr).unwrap();
    assert_eq!(
        volume.persistent_volume_claim.unwrap().claim_name,
        "notion-mcp-index"
    );
    assert!(volume.empty_dir.is_none());
    let deployment = deployment(&cr);
    let strategy = deployment.spec.unwrap().strategy.unwrap();
    assert_eq!(strategy.type_.as_deref(), Some("Recreate"));
    assert!(strategy.rolling_update.is_none());

    // The claim is applied before the Deployment that mounts it.
    let kinds: Vec<String> = builders::children(&cr, &Facts::default())
        .objects()
        .into_iter()
        .map(|o| o.resource.kind)
        .collect();
    let at = |kind: &str| kinds.iter().position(|k| k == kind).unwrap();
    assert!(at("PersistentVolumeClaim") < at("Deployment"), "{kinds:?}");
}

#[test]
fn the_claim_takes_its_size_and_leaves_the_class_to_the_cluster() {
    let small =
        with_spec("  contentIndex:\n    volume:\n      persistentVolumeClaim: {size: 5Gi}\n");
    let large =
        with_spec("  contentIndex:\n    volume:\n      persistentVolumeClaim: {size: 10Gi}\n");
    let claim = |cr: &NotionMcpRemote| {
        builders::index_claim::index_claim(cr)
            .unwrap()
            .spec
            .unwrap()
    };
    assert_eq!(
        claim(&large).resources.unwrap().requests.unwrap()["storage"].0,
        "10Gi"
    );
    // Unset, the cluster's default class fills it in: the operator never writes one.
    assert_eq!(claim(&small).storage_class_name, None);
    assert_eq!(claim(&small).access_modes.unwrap(), vec!["ReadWriteOnce"]);
}

#[test]
fn workspace_pacing_reaches_the_server_only_when_set() {
    let env = env_of(&example("replicas-3.yaml"));
    assert_eq!(env[env::WORKSPACE_PACING_RPS], "3");
    let env = env_of(&with_spec(
        "  notion:\n    pacing:\n      workspaceRequestsPerSecond: 0\n",
    ));
    assert_eq!(
        env[env::WORKSPACE_PACING_RPS],
        "0",
        "0: per connection only"
    );
    assert!(!env_of(&with_spec("")).contains_key(env::WORKSPACE_PACING_RPS));
}

#[test]
fn the_schema_bounds_workspace_pacing_like_the_server() {
    use kube::CustomResourceExt;
    let crd = serde_json::to_value(NotionMcpRemote::crd()).unwrap();
    let field = crd
        .pointer("/spec/versions/0/schema/openAPIV3Schema/properties/spec/properties/notion/properties/pacing/properties/workspaceRequestsPerSecond")
        .unwrap();
    assert_eq!(field["minimum"], 0.0);
    assert_eq!(field["maximum"], 100.0);
}
