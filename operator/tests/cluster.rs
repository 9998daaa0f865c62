//! End-to-end test against a real cluster (k3d/kind), opt-in: it needs KUBECONFIG, the CRD installed and the
//! operator running (see docs/operator.md). `cargo test -p notion-mcp-operator --test cluster -- --ignored`
#![allow(clippy::unwrap_used, clippy::expect_used)]

use k8s_openapi::api::apps::v1::Deployment;
use k8s_openapi::api::core::v1::{Namespace, Secret};
use kube::api::{DeleteParams, Patch, PatchParams};
use kube::{Api, Client};
use notion_mcp_operator::crd::NotionMcpRemote;
use serde_json::json;
use std::time::Duration;

const NS: &str = "notion-mcp-e2e";

async fn eventually<F, Fut>(what: &str, mut check: F)
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = bool>,
{
    for _ in 0..120 {
        if check().await {
            return;
        }
        tokio::time::sleep(Duration::from_secs(1)).await;
    }
    panic!("timed out waiting for {what}");
}

#[tokio::test]
#[ignore = "needs a cluster"]
async fn instance_gets_children_status_and_heals() {
    let client = Client::try_default()
        .await
        .expect("KUBECONFIG pointing at a test cluster");
    let pp = PatchParams::apply("notion-mcp-e2e").force();
    let namespaces: Api<Namespace> = Api::all(client.clone());
    namespaces
        .patch(
            NS,
            &pp,
            &Patch::Apply(
                json!({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": NS}}),
            ),
        )
        .await
        .unwrap();
    let crs: Api<NotionMcpRemote> = Api::namespaced(client.clone(), NS);
    let cr = json!({
        "apiVersion": "notionmcp.dev/v1alpha1", "kind": "NotionMcpRemote",
        "metadata": {"name": "e2e", "namespace": NS},
        "spec": {"publicUrl": "https://e2e.example.com", "replicas": 2,
                 "notion": {"oauthSecretRef": {"name": "e2e-oauth"}}}
    });
    crs.patch("e2e", &pp, &Patch::Apply(&cr)).await.unwrap();

    // Without the OAuth Secret the instance is Degraded with an actionable message.
    eventually("Degraded=True", || async {
        let cr = crs.get("e2e").await.unwrap();
        cr.status.is_some_and(|s| {
            s.conditions
                .iter()
                .any(|c| c.type_ == "Degraded" && c.status == "True")
        })
    })
    .await;

    // The Secret appears: the instance heals without touching the resource.
    let secrets: Api<Secret> = Api::namespaced(client.clone(), NS);
    let secret = json!({"apiVersion": "v1", "kind": "Secret", "metadata": {"name": "e2e-oauth"},
        "stringData": {"client_id": "id", "client_secret": "secret"}});
    secrets
        .patch("e2e-oauth", &pp, &Patch::Apply(&secret))
        .await
        .unwrap();
    let deployments: Api<Deployment> = Api::namespaced(client.clone(), NS);
    eventually("Deployment e2e", || async {
        deployments.get_opt("e2e").await.unwrap().is_some()
    })
    .await;
    eventually("Degraded=False", || async {
        let cr = crs.get("e2e").await.unwrap();
        cr.status.is_some_and(|s| {
            s.conditions
                .iter()
                .any(|c| c.type_ == "Degraded" && c.status == "False")
        })
    })
    .await;
    assert!(
        secrets.get_opt("e2e-keys").await.unwrap().is_some(),
        "generated key Secret"
    );

    crs.delete("e2e", &DeleteParams::default()).await.unwrap();
    namespaces
        .delete(NS, &DeleteParams::default())
        .await
        .unwrap();
}
