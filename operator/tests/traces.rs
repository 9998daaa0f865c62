//! Traces of the operator: with `--otlp-endpoint` pointed at a minimal OTLP/HTTP receiver started here, one
//! reconcile pass against the in-memory API server exports a `reconcile NotionMcpRemote` span (name, namespace,
//! outcome) with an `apply <Kind>` child per child object, and none of the Secrets' values.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod support;

use notion_mcp_operator::crd::NotionMcpRemote;
use notion_mcp_operator::reconcile::reconcile;
use notion_mcp_operator::telemetry::{self, LogFormat, TraceArgs};
use notion_mcp_traces::receiver::Receiver;
use serde_json::json;
use std::sync::Arc;
use std::time::Duration;
use support::FakeApi;

const NS: &str = "notion-mcp";
const CR_PATH: &str =
    "/apis/notionmcp.dev/v1alpha1/namespaces/notion-mcp/notionmcpremotes/notion-mcp";
/// The OAuth client secret in the referenced Secret ("oauth-client-secret", base64).
const CLIENT_SECRET_B64: &str = "b2F1dGgtY2xpZW50LXNlY3JldA==";

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_reconcile_pass_is_one_span_with_its_applies() {
    let receiver = Receiver::start().await.unwrap();
    let args = TraceArgs {
        otlp_endpoint: Some(receiver.endpoint.clone()),
        otel_service_name: None,
    };
    let traces = telemetry::init("warn", LogFormat::Json, &args)
        .unwrap()
        .expect("an endpoint turns traces on");

    let (fake, client) = FakeApi::start();
    fake.insert(
        &format!("/api/v1/namespaces/{NS}/secrets/notion-oauth"),
        json!({"apiVersion": "v1", "kind": "Secret",
            "metadata": {"name": "notion-oauth", "namespace": NS},
            "data": {"client_id": "aWQ=", "client_secret": CLIENT_SECRET_B64}}),
    );
    fake.insert(
        CR_PATH,
        json!({"apiVersion": "notionmcp.dev/v1alpha1", "kind": "NotionMcpRemote",
            "metadata": {"name": "notion-mcp", "namespace": NS,
                "uid": "6f1c2b9e-0000-4000-8000-000000000001", "generation": 1},
            "spec": {"ingress": {"host": "notion-mcp"},
                "notion": {"oauthSecretRef": {"name": "notion-oauth"}}}}),
    );
    let cr: Arc<NotionMcpRemote> =
        Arc::new(serde_json::from_value(fake.get(CR_PATH).unwrap()).unwrap());
    let ctx = support::context(client, false, false);
    reconcile(cr, ctx).await.unwrap();

    let spans = receiver
        .wait_for(&traces, Duration::from_secs(10), |spans| {
            spans.iter().any(|s| s.name == "reconcile NotionMcpRemote")
        })
        .await
        .unwrap();
    let pass = spans
        .iter()
        .find(|s| s.name == "reconcile NotionMcpRemote")
        .expect("one span per reconcile");
    assert_eq!(pass.service, "notion-mcp-operator");
    assert_eq!(pass.attr("k8s.notionmcpremote.name"), Some("notion-mcp"));
    assert_eq!(pass.attr("k8s.namespace.name"), Some(NS));
    assert_eq!(pass.attr("reconcile.outcome"), Some("ok"));
    let applies: Vec<(&str, Option<&str>)> = spans
        .iter()
        .filter(|s| s.parent == pass.id && s.name.starts_with("apply "))
        .map(|s| (s.name.as_str(), s.attr("apply.outcome")))
        .collect();
    for kind in ["ConfigMap", "Deployment", "Service", "Ingress"] {
        assert!(
            applies.contains(&(format!("apply {kind}").as_str(), Some("created"))),
            "{kind}: {applies:?}"
        );
    }
    let bytes = receiver.bytes();
    for secret in [CLIENT_SECRET_B64, "oauth-client-secret", "BwcHBwcH"] {
        assert!(
            !bytes.windows(secret.len()).any(|w| w == secret.as_bytes()),
            "{secret} was exported"
        );
    }
    traces.shutdown().await.unwrap();
}
