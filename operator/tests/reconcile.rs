//! Reconcile tests against an in-memory API server (tower-test mock service): exact request sequences for first
//! creation, an idempotent second pass with zero writes, a changed spec, a missing OAuth Secret, grant adoption
//! and deletion under `Retain`.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod support;

use notion_mcp_operator::crd::NotionMcpRemote;
use notion_mcp_operator::reconcile::{Context, reconcile};
use serde_json::{Value, json};
use std::sync::Arc;
use support::FakeApi;

const NS: &str = "notion-mcp";
const CR_PATH: &str =
    "/apis/notionmcp.dev/v1alpha1/namespaces/notion-mcp/notionmcpremotes/notion-mcp";
const UID: &str = "6f1c2b9e-0000-4000-8000-000000000001";

fn secrets(name: &str) -> String {
    format!("/api/v1/namespaces/{NS}/secrets/{name}")
}

fn resource(spec: Value) -> Value {
    json!({
        "apiVersion": "notionmcp.dev/v1alpha1",
        "kind": "NotionMcpRemote",
        "metadata": {"name": "notion-mcp", "namespace": NS, "uid": UID, "generation": 1},
        "spec": spec,
    })
}

fn base_spec() -> Value {
    json!({"ingress": {"host": "notion-mcp"}, "notion": {"oauthSecretRef": {"name": "notion-oauth"}}})
}

fn oauth_secret(with_secret: bool) -> Value {
    let mut data = json!({"client_id": "aWQ="});
    if with_secret {
        data["client_secret"] = json!("c2VjcmV0");
    }
    json!({"apiVersion": "v1", "kind": "Secret", "metadata": {"name": "notion-oauth", "namespace": NS}, "data": data})
}

/// Stores the resource in the fake and returns it as the controller would see it.
fn stored(fake: &FakeApi, spec: Value) -> Arc<NotionMcpRemote> {
    if fake.get(CR_PATH).is_none() {
        fake.insert(CR_PATH, resource(spec.clone()));
    } else {
        let mut cr = fake.get(CR_PATH).unwrap();
        if cr["spec"] != spec {
            cr["spec"] = spec;
            let generation = cr["metadata"]["generation"].as_i64().unwrap() + 1;
            cr["metadata"]["generation"] = json!(generation);
            fake.insert(CR_PATH, cr);
        }
    }
    current(fake)
}

fn current(fake: &FakeApi) -> Arc<NotionMcpRemote> {
    let mut value = fake.get(CR_PATH).unwrap();
    value["metadata"]["uid"] = json!(UID);
    Arc::new(serde_json::from_value(value).unwrap())
}

fn writes(log: &[String]) -> Vec<String> {
    log.iter()
        .filter(|l| !l.starts_with("GET ") && !l.starts_with("LIST "))
        .cloned()
        .collect()
}

const EVENTS: &str = "POST /apis/events.k8s.io/v1/namespaces/notion-mcp/events";

fn lists() -> Vec<String> {
    [
        "/api/v1/namespaces/notion-mcp/serviceaccounts",
        "/apis/rbac.authorization.k8s.io/v1/namespaces/notion-mcp/roles",
        "/apis/rbac.authorization.k8s.io/v1/namespaces/notion-mcp/rolebindings",
        "/api/v1/namespaces/notion-mcp/configmaps",
        "/api/v1/namespaces/notion-mcp/persistentvolumeclaims",
        "/apis/apps/v1/namespaces/notion-mcp/deployments",
        "/api/v1/namespaces/notion-mcp/services",
        "/apis/networking.k8s.io/v1/namespaces/notion-mcp/ingresses",
        "/apis/policy/v1/namespaces/notion-mcp/poddisruptionbudgets",
        "/apis/networking.k8s.io/v1/namespaces/notion-mcp/networkpolicies",
    ]
    .map(|p| format!("LIST {p}"))
    .to_vec()
}

fn condition(fake: &FakeApi, type_: &str) -> Value {
    let cr = fake.get(CR_PATH).unwrap();
    cr["status"]["conditions"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["type"] == type_)
        .cloned()
        .unwrap()
}

async fn run(fake: &FakeApi, ctx: &Arc<Context>, spec: Value) -> Vec<String> {
    let cr = stored(fake, spec);
    fake.take_log();
    reconcile(cr, ctx.clone()).await.unwrap();
    fake.take_log()
}

#[tokio::test]
async fn first_creation_applies_every_child_in_order() {
    let (fake, client) = FakeApi::start();
    fake.insert(&secrets("notion-oauth"), oauth_secret(true));
    let ctx = support::context(client, false, false);
    let log = run(&fake, &ctx, base_spec()).await;

    let mut expected = vec![
        format!("GET {}", secrets("notion-oauth")),
        format!("GET {}", secrets("notion-mcp-keys")),
        "POST /api/v1/namespaces/notion-mcp/secrets".to_string(),
        EVENTS.to_string(),
    ];
    expected.extend(lists());
    for path in [
        "/api/v1/namespaces/notion-mcp/serviceaccounts/notion-mcp",
        "/apis/rbac.authorization.k8s.io/v1/namespaces/notion-mcp/roles/notion-mcp",
        "/apis/rbac.authorization.k8s.io/v1/namespaces/notion-mcp/rolebindings/notion-mcp",
        "/api/v1/namespaces/notion-mcp/configmaps/notion-mcp-config",
        "/apis/apps/v1/namespaces/notion-mcp/deployments/notion-mcp",
        "/api/v1/namespaces/notion-mcp/services/notion-mcp",
        "/apis/networking.k8s.io/v1/namespaces/notion-mcp/ingresses/notion-mcp",
    ] {
        expected.push(format!("APPLY {path}"));
        expected.push(EVENTS.to_string());
    }
    expected.push("LIST /api/v1/namespaces/notion-mcp/secrets".into());
    expected.push(format!("APPLY {CR_PATH}/status"));
    assert_eq!(log, expected);

    // The generated key Secret holds the injected key and is owned by the resource.
    let keys = fake.get(&secrets("notion-mcp-keys")).unwrap();
    assert_eq!(
        keys["data"]["k1"],
        json!("BwcHBwcHBwcHBwcHBwcHBwcHBwcHBwcHBwcHBwcHBwc=")
    );
    assert_eq!(keys["metadata"]["ownerReferences"][0]["uid"], json!(UID));
    let deployment = fake
        .get("/apis/apps/v1/namespaces/notion-mcp/deployments/notion-mcp")
        .unwrap();
    assert_eq!(
        deployment["metadata"]["ownerReferences"][0]["kind"],
        json!("NotionMcpRemote")
    );
    assert_eq!(condition(&fake, "Ready")["reason"], json!("RollingOut"));
    assert_eq!(condition(&fake, "Progressing")["status"], json!("True"));
    assert_eq!(condition(&fake, "Degraded")["status"], json!("False"));
    let status = fake.get(CR_PATH).unwrap()["status"].clone();
    assert_eq!(status["observedGeneration"], json!(1));
}

#[tokio::test]
async fn unchanged_resource_makes_no_writes() {
    let (fake, client) = FakeApi::start();
    fake.insert(&secrets("notion-oauth"), oauth_secret(true));
    let ctx = support::context(client, false, false);
    run(&fake, &ctx, base_spec()).await;
    // The status written by the first pass reports "applied …"; the second pass settles it once.
    run(&fake, &ctx, base_spec()).await;
    let log = run(&fake, &ctx, base_spec()).await;

    let mut expected = vec![
        format!("GET {}", secrets("notion-oauth")),
        format!("GET {}", secrets("notion-mcp-keys")),
    ];
    expected.extend(lists());
    expected.push("LIST /api/v1/namespaces/notion-mcp/secrets".into());
    assert_eq!(log, expected);
    assert!(
        writes(&log).is_empty(),
        "unexpected writes: {:?}",
        writes(&log)
    );
}

#[tokio::test]
async fn second_pass_only_updates_the_status() {
    let (fake, client) = FakeApi::start();
    fake.insert(&secrets("notion-oauth"), oauth_secret(true));
    let ctx = support::context(client, false, false);
    run(&fake, &ctx, base_spec()).await;
    let log = run(&fake, &ctx, base_spec()).await;
    assert_eq!(writes(&log), vec![format!("APPLY {CR_PATH}/status")]);
    assert_eq!(
        condition(&fake, "Progressing")["reason"],
        json!("RollingOut")
    );
}

#[tokio::test]
async fn changed_spec_updates_config_deployment_and_adds_a_pdb() {
    let (fake, client) = FakeApi::start();
    fake.insert(&secrets("notion-oauth"), oauth_secret(true));
    let ctx = support::context(client, false, false);
    run(&fake, &ctx, base_spec()).await;
    run(&fake, &ctx, base_spec()).await;
    let before = fake
        .get("/apis/apps/v1/namespaces/notion-mcp/deployments/notion-mcp")
        .unwrap();

    let mut spec = base_spec();
    spec["replicas"] = json!(3);
    let log = run(&fake, &ctx, spec).await;
    assert_eq!(
        writes(&log),
        vec![
            "APPLY /api/v1/namespaces/notion-mcp/configmaps/notion-mcp-config".to_string(),
            EVENTS.to_string(),
            "APPLY /apis/apps/v1/namespaces/notion-mcp/deployments/notion-mcp".to_string(),
            EVENTS.to_string(),
            "APPLY /apis/policy/v1/namespaces/notion-mcp/poddisruptionbudgets/notion-mcp"
                .to_string(),
            EVENTS.to_string(),
            format!("APPLY {CR_PATH}/status"),
        ]
    );
    let config = fake
        .get("/api/v1/namespaces/notion-mcp/configmaps/notion-mcp-config")
        .unwrap();
    assert_eq!(config["data"]["NOTION_MCP_REPLICAS"], json!("3"));
    let after = fake
        .get("/apis/apps/v1/namespaces/notion-mcp/deployments/notion-mcp")
        .unwrap();
    let checksum = "/spec/template/metadata/annotations/notionmcp.dev~1config-checksum";
    assert_ne!(
        before.pointer(checksum),
        after.pointer(checksum),
        "scaling rolls the pods"
    );
    assert_eq!(after["spec"]["replicas"], json!(3));

    // Back to one replica: the PodDisruptionBudget is pruned.
    let log = run(&fake, &ctx, base_spec()).await;
    assert!(log.contains(
        &"DELETE /apis/policy/v1/namespaces/notion-mcp/poddisruptionbudgets/notion-mcp".to_string()
    ));
    assert!(
        fake.get("/apis/policy/v1/namespaces/notion-mcp/poddisruptionbudgets/notion-mcp")
            .is_none()
    );
}

#[tokio::test]
async fn a_claimed_index_creates_its_claim_first_and_prunes_it_when_moved() {
    let (fake, client) = FakeApi::start();
    fake.insert(&secrets("notion-oauth"), oauth_secret(true));
    let ctx = support::context(client, false, false);
    let claim_path = "/api/v1/namespaces/notion-mcp/persistentvolumeclaims/notion-mcp-index";
    let deployment_path = "/apis/apps/v1/namespaces/notion-mcp/deployments/notion-mcp";
    let mut spec = base_spec();
    spec["contentIndex"] = json!({"volume": {"persistentVolumeClaim": {"size": "5Gi"}}});
    let log = run(&fake, &ctx, spec).await;
    let at = |line: &str| log.iter().position(|l| l == line).unwrap();
    assert!(at(&format!("APPLY {claim_path}")) < at(&format!("APPLY {deployment_path}")));
    let claim = fake.get(claim_path).unwrap();
    assert_eq!(
        claim["spec"]["resources"]["requests"]["storage"],
        json!("5Gi")
    );
    assert_eq!(claim["metadata"]["ownerReferences"][0]["uid"], json!(UID));
    let deployment = fake.get(deployment_path).unwrap();
    assert_eq!(deployment["spec"]["strategy"]["type"], json!("Recreate"));
    let volumes = deployment["spec"]["template"]["spec"]["volumes"]
        .as_array()
        .unwrap();
    assert!(
        volumes
            .iter()
            .any(|v| v["persistentVolumeClaim"]["claimName"] == "notion-mcp-index")
    );

    // Back to a scratch volume: the claim is pruned and the pods roll again with a surge pod.
    let log = run(&fake, &ctx, base_spec()).await;
    assert!(log.contains(&format!("DELETE {claim_path}")), "{log:#?}");
    assert!(fake.get(claim_path).is_none());
    let deployment = fake.get(deployment_path).unwrap();
    assert_eq!(
        deployment["spec"]["strategy"]["type"],
        json!("RollingUpdate")
    );
}

#[tokio::test]
async fn missing_oauth_secret_degrades_with_an_event_and_heals() {
    let (fake, client) = FakeApi::start();
    let ctx = support::context(client, false, false);
    let log = run(&fake, &ctx, base_spec()).await;
    assert_eq!(
        log,
        vec![
            format!("GET {}", secrets("notion-oauth")),
            format!("GET {}", secrets("notion-mcp-keys")),
            "POST /api/v1/namespaces/notion-mcp/secrets".to_string(),
            EVENTS.to_string(),
            EVENTS.to_string(),
            format!("APPLY {CR_PATH}/status"),
        ]
    );
    let degraded = condition(&fake, "Degraded");
    assert_eq!(degraded["status"], json!("True"));
    assert_eq!(degraded["reason"], json!("SecretMissing"));
    assert_eq!(
        degraded["message"],
        json!(
            "Secret notion-oauth not found in namespace notion-mcp (it needs key client_id and client_secret)"
        )
    );
    assert_eq!(condition(&fake, "Ready")["status"], json!("False"));
    let events: Vec<Value> = fake
        .state
        .lock()
        .unwrap()
        .objects
        .iter()
        .filter(|(p, _)| p.contains("/events/"))
        .map(|(_, e)| e.clone())
        .collect();
    assert!(
        events
            .iter()
            .any(|e| e["type"] == "Warning" && e["reason"] == "SecretMissing")
    );

    // A Secret without the client secret names the missing key.
    fake.insert(&secrets("notion-oauth"), oauth_secret(false));
    run(&fake, &ctx, base_spec()).await;
    assert_eq!(
        condition(&fake, "Degraded")["message"],
        json!("Secret notion-oauth missing key client_secret (the Notion OAuth client secret)")
    );

    // Once complete, the next reconcile (triggered by the Secret watch) applies everything.
    fake.insert(&secrets("notion-oauth"), oauth_secret(true));
    let log = run(&fake, &ctx, base_spec()).await;
    assert!(
        log.contains(
            &"APPLY /apis/apps/v1/namespaces/notion-mcp/deployments/notion-mcp".to_string()
        )
    );
    assert_eq!(condition(&fake, "Degraded")["status"], json!("False"));
}

fn grant(name: &str) -> Value {
    json!({"apiVersion": "v1", "kind": "Secret", "metadata": {"name": name, "namespace": NS,
        "labels": {"notionmcp.dev/instance": "notion-mcp", "notionmcp.dev/kind": "grant",
                   "app.kubernetes.io/managed-by": "notion-mcp-remote"}},
        "data": {"grant": "c2VhbGVk"}})
}

#[tokio::test]
async fn grants_are_counted_and_adopted() {
    let (fake, client) = FakeApi::start();
    fake.insert(&secrets("notion-oauth"), oauth_secret(true));
    fake.insert(&secrets("grant-a"), grant("grant-a"));
    fake.insert(&secrets("grant-b"), grant("grant-b"));
    let ctx = support::context(client, false, false);
    let log = run(&fake, &ctx, base_spec()).await;
    assert!(log.contains(&format!("MERGE {}", secrets("grant-a"))));
    assert!(log.contains(&format!("MERGE {}", secrets("grant-b"))));
    assert_eq!(
        fake.get(&secrets("grant-a")).unwrap()["metadata"]["ownerReferences"][0]["uid"],
        json!(UID)
    );
    assert_eq!(fake.get(CR_PATH).unwrap()["status"]["grants"], json!(2));
}

#[tokio::test]
async fn ingress_hostname_becomes_the_public_url() {
    let (fake, client) = FakeApi::start();
    fake.insert(&secrets("notion-oauth"), oauth_secret(true));
    let ctx = support::context(client, false, false);
    run(&fake, &ctx, base_spec()).await;
    let path = "/apis/networking.k8s.io/v1/namespaces/notion-mcp/ingresses/notion-mcp";
    let mut ingress = fake.get(path).unwrap();
    ingress["status"] = json!({"loadBalancer": {"ingress": [{"hostname": "notion-mcp.tail1234.ts.net", "ports": [{"port": 443, "protocol": "TCP"}]}]}});
    fake.insert(path, ingress);
    run(&fake, &ctx, base_spec()).await;
    let config = fake
        .get("/api/v1/namespaces/notion-mcp/configmaps/notion-mcp-config")
        .unwrap();
    assert_eq!(
        config["data"]["NOTION_MCP_PUBLIC_URL"],
        json!("https://notion-mcp.tail1234.ts.net")
    );
    assert_eq!(
        fake.get(CR_PATH).unwrap()["status"]["url"],
        json!("https://notion-mcp.tail1234.ts.net/mcp")
    );
}

#[tokio::test]
async fn retain_policy_adds_a_finalizer_and_releases_grants_on_deletion() {
    let (fake, client) = FakeApi::start();
    fake.insert(&secrets("notion-oauth"), oauth_secret(true));
    fake.insert(&secrets("grant-a"), grant("grant-a"));
    let ctx = support::context(client, false, false);
    let mut spec = base_spec();
    spec["tokenStore"] = json!({"deletionPolicy": "Retain"});
    let log = run(&fake, &ctx, spec.clone()).await;
    assert_eq!(log[0], format!("MERGE {CR_PATH}"));
    assert_eq!(
        fake.get(CR_PATH).unwrap()["metadata"]["finalizers"],
        json!(["notionmcp.dev/retain-grants"])
    );
    run(&fake, &ctx, spec.clone()).await;

    // Delete: the API server sets deletionTimestamp and keeps the object until the finalizer is gone.
    let mut cr = fake.get(CR_PATH).unwrap();
    cr["metadata"]["deletionTimestamp"] = json!("2026-01-01T00:00:00Z");
    fake.insert(CR_PATH, cr);
    fake.take_log();
    reconcile(current(&fake), ctx.clone()).await.unwrap();
    let log = fake.take_log();
    assert_eq!(
        log,
        vec![
            "LIST /api/v1/namespaces/notion-mcp/secrets".to_string(),
            format!("MERGE {}", secrets("grant-a")),
            format!("GET {}", secrets("notion-mcp-keys")),
            format!("MERGE {}", secrets("notion-mcp-keys")),
            EVENTS.to_string(),
            format!("MERGE {CR_PATH}"),
        ]
    );
    assert_eq!(
        fake.get(&secrets("grant-a")).unwrap()["metadata"]["ownerReferences"],
        json!([])
    );
    assert_eq!(
        fake.get(&secrets("notion-mcp-keys")).unwrap()["metadata"]["ownerReferences"],
        json!([])
    );
    assert_eq!(
        fake.get(CR_PATH).unwrap()["metadata"]["finalizers"],
        json!([])
    );
}

#[tokio::test]
async fn delete_policy_needs_no_finalizer() {
    let (fake, client) = FakeApi::start();
    fake.insert(&secrets("notion-oauth"), oauth_secret(true));
    let ctx = support::context(client, false, false);
    run(&fake, &ctx, base_spec()).await;
    assert!(
        fake.get(CR_PATH).unwrap()["metadata"]
            .get("finalizers")
            .is_none()
    );
    let mut cr = fake.get(CR_PATH).unwrap();
    cr["metadata"]["deletionTimestamp"] = json!("2026-01-01T00:00:00Z");
    fake.insert(CR_PATH, cr);
    fake.take_log();
    reconcile(current(&fake), ctx.clone()).await.unwrap();
    assert!(
        fake.take_log().is_empty(),
        "owner references do the cleanup"
    );
}

fn secret(name: &str, key: &str, value: &str) -> Value {
    json!({"apiVersion": "v1", "kind": "Secret", "metadata": {"name": name, "namespace": NS},
        "data": {key: value}})
}

#[tokio::test]
async fn webhook_and_redis_secrets_are_required_watched_and_roll_the_pods() {
    let (fake, client) = FakeApi::start();
    fake.insert(&secrets("notion-oauth"), oauth_secret(true));
    fake.insert(
        &secrets("notion-webhook"),
        secret("notion-webhook", "token", "c2VjcmV0X2E="),
    );
    let ctx = support::context(client, false, false);
    let mut spec = base_spec();
    spec["replicas"] = json!(3);
    spec["notion"]["webhookSecretRef"] = json!({"name": "notion-webhook", "key": "token"});
    spec["sharedState"] = json!({"redisSecretRef": {"name": "notion-mcp-redis", "key": "url"}});

    // The Redis Secret is missing: Degraded, nothing applied.
    let log = run(&fake, &ctx, spec.clone()).await;
    assert_eq!(
        &log[..3],
        &[
            format!("GET {}", secrets("notion-oauth")),
            format!("GET {}", secrets("notion-webhook")),
            format!("GET {}", secrets("notion-mcp-redis")),
        ]
    );
    assert_eq!(
        condition(&fake, "Degraded")["message"],
        json!("Secret notion-mcp-redis not found in namespace notion-mcp (it needs key url)")
    );
    assert_eq!(
        condition(&fake, "SharedStateMissing")["status"],
        json!("False")
    );

    // Once it exists, everything is applied; the env refers to both Secrets.
    fake.insert(
        &secrets("notion-mcp-redis"),
        secret("notion-mcp-redis", "url", "cmVkaXM6Ly9yZWRpcw=="),
    );
    run(&fake, &ctx, spec.clone()).await;
    assert_eq!(condition(&fake, "Degraded")["status"], json!("False"));
    let deployment_path = "/apis/apps/v1/namespaces/notion-mcp/deployments/notion-mcp";
    let deployment = fake.get(deployment_path).unwrap();
    let env = deployment
        .pointer("/spec/template/spec/containers/0/env")
        .unwrap()
        .to_string();
    assert!(env.contains(r#"{"name":"NOTION_MCP_REDIS_URL","valueFrom":{"secretKeyRef":{"key":"url","name":"notion-mcp-redis","optional":false}}}"#), "{env}");
    assert!(
        env.contains(r#""name":"NOTION_WEBHOOK_VERIFICATION_TOKEN""#),
        "{env}"
    );
    assert!(!env.contains("cmVkaXM6Ly9yZWRpcw==") && !env.contains("redis://redis"));

    // A new verification token (a re-created subscription) rolls the pods.
    fake.insert(
        &secrets("notion-webhook"),
        secret("notion-webhook", "token", "c2VjcmV0X2Esc2VjcmV0X2I="),
    );
    let log = run(&fake, &ctx, spec.clone()).await;
    assert!(log.contains(&format!("APPLY {deployment_path}")), "{log:?}");
    let checksum = "/spec/template/metadata/annotations/notionmcp.dev~1config-checksum";
    assert_ne!(
        deployment.pointer(checksum),
        fake.get(deployment_path).unwrap().pointer(checksum)
    );

    // Three replicas without shared state: a warning condition, not a fault.
    spec.as_object_mut().unwrap().remove("sharedState");
    run(&fake, &ctx, spec).await;
    let warning = condition(&fake, "SharedStateMissing");
    assert_eq!(warning["status"], json!("True"));
    assert_eq!(warning["reason"], json!("ReplicasWithoutSharedState"));
    assert_eq!(condition(&fake, "Degraded")["status"], json!("False"));
}
