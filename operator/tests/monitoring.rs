//! Alerts and dashboard: the PrometheusRule built from deploy/monitoring/rules.yaml (only with its CRD, scoped to
//! the instance) and the Grafana dashboard ConfigMap, then their reconcile against the in-memory API server:
//! created in order, left alone when unchanged, pruned when switched off.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod support;

use notion_mcp_operator::builders::{self, Facts, dashboard, prometheus_rule};
use notion_mcp_operator::crd::NotionMcpRemote;
use notion_mcp_operator::reconcile::{Context, reconcile};
use notion_mcp_operator::render;
use serde_json::{Value, json};
use std::collections::BTreeSet;
use std::sync::Arc;
use support::FakeApi;

const NS: &str = "notion-mcp";
const UID: &str = "6f1c2b9e-0000-4000-8000-000000000001";
const CR_PATH: &str =
    "/apis/notionmcp.dev/v1alpha1/namespaces/notion-mcp/notionmcpremotes/notion-mcp";
const MONITORING: &str = "/apis/monitoring.coreos.com/v1/namespaces/notion-mcp";
const DASHBOARD: &str = "/api/v1/namespaces/notion-mcp/configmaps/notion-mcp-dashboard";

fn example() -> NotionMcpRemote {
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/examples/minimal.yaml");
    let mut cr = render::parse(&std::fs::read_to_string(path).unwrap()).unwrap();
    cr.metadata.uid = Some(UID.into());
    cr
}

fn facts(prometheus_rule_crd: bool) -> Facts {
    Facts {
        service_monitor_crd: true,
        prometheus_rule_crd,
        ..Facts::default()
    }
}

fn alerts(groups: &Value) -> BTreeSet<String> {
    groups
        .as_array()
        .unwrap()
        .iter()
        .flat_map(|g| g["rules"].as_array().unwrap().clone())
        .filter_map(|r| r["alert"].as_str().map(String::from))
        .collect()
}

#[test]
fn prometheus_rule_only_with_its_crd_and_when_wanted() {
    let mut cr = example();
    assert!(prometheus_rule::prometheus_rule(&cr, &facts(true)).is_some());
    assert!(prometheus_rule::prometheus_rule(&cr, &facts(false)).is_none());
    cr.spec.monitoring.prometheus_rule = false;
    assert!(prometheus_rule::prometheus_rule(&cr, &facts(true)).is_none());

    let kinds = |cr: &NotionMcpRemote, facts: &Facts| -> Vec<String> {
        builders::children(cr, facts)
            .objects()
            .iter()
            .map(|o| o.resource.kind.clone())
            .collect()
    };
    let all = kinds(&example(), &facts(true));
    assert_eq!(
        all[all.len() - 2..],
        ["ServiceMonitor".to_string(), "PrometheusRule".to_string()]
    );
    assert!(!kinds(&example(), &facts(false)).contains(&"PrometheusRule".to_string()));
    let listed: Vec<String> = builders::child_kinds(true, true)
        .into_iter()
        .map(|k| k.kind)
        .collect();
    assert_eq!(listed.last().map(String::as_str), Some("PrometheusRule"));
    assert!(
        !builders::child_kinds(true, false)
            .iter()
            .any(|k| k.kind == "PrometheusRule")
    );
}

#[test]
fn prometheus_rule_holds_the_server_alerts_scoped_to_the_instance() {
    let cr = example();
    let rule = prometheus_rule::prometheus_rule(&cr, &facts(true)).unwrap();
    let object = serde_json::to_value(&rule).unwrap();
    assert_eq!(object["apiVersion"], "monitoring.coreos.com/v1");
    assert_eq!(object["kind"], "PrometheusRule");
    assert_eq!(object["metadata"]["name"], "notion-mcp");
    assert_eq!(object["metadata"]["namespace"], NS);
    assert_eq!(object["metadata"]["ownerReferences"][0]["uid"], UID);
    assert_eq!(
        object["metadata"]["labels"]["app.kubernetes.io/managed-by"],
        "notion-mcp-operator"
    );
    let groups = &object["spec"]["groups"];
    let expected: BTreeSet<String> = [
        "NotionBreakerOpen",
        "NotionRateLimitedSustained",
        "NotionServerErrorsSustained",
        "GrantStoreErrors",
        "NotionRefreshFailures",
        "WebhookSignatureFailures",
        "RedisDegraded",
        "NotionMcpPodsNotReady",
        "ToolCallErrorBudgetBurn",
    ]
    .map(String::from)
    .into();
    assert_eq!(
        alerts(groups),
        expected,
        "the operator's own alert stays in the chart"
    );
    for rule in groups
        .as_array()
        .unwrap()
        .iter()
        .flat_map(|g| g["rules"].as_array().unwrap())
    {
        let expr = rule["expr"].as_str().unwrap();
        assert!(
            expr.contains(r#"{namespace="notion-mcp",job="notion-mcp""#),
            "{expr}"
        );
        if rule.get("alert").is_some() {
            assert!(rule["labels"]["severity"].is_string());
            let runbook = rule["annotations"]["runbook_url"].as_str().unwrap();
            assert!(runbook.contains("docs/alerts.md#"), "{runbook}");
        }
    }
    // The embedded file is the committed one, operator group included.
    let source: Value = serde_yaml::from_str(prometheus_rule::RULES).unwrap();
    assert!(alerts(&source["groups"]).contains("OperatorReconcileErrors"));
}

#[test]
fn dashboard_config_map_only_when_wanted() {
    let mut cr = example();
    assert!(dashboard::dashboard(&cr).is_none());
    cr.spec.monitoring.grafana_dashboard = true;
    let map = dashboard::dashboard(&cr).unwrap();
    assert_eq!(map.metadata.name.as_deref(), Some("notion-mcp-dashboard"));
    let labels = map.metadata.labels.as_ref().unwrap();
    assert_eq!(labels["grafana_dashboard"], "1");
    assert_eq!(
        labels["app.kubernetes.io/managed-by"],
        "notion-mcp-operator"
    );
    assert_eq!(map.metadata.owner_references.as_ref().unwrap()[0].uid, UID);
    let data = map.data.unwrap();
    let json: Value =
        serde_json::from_str(&data["notion-mcp-remote-notion-mcp-notion-mcp.json"]).unwrap();
    assert_eq!(json["title"], "Notion MCP remote: notion-mcp/notion-mcp");
    assert_eq!(json["schemaVersion"], 39);
    let kinds = builders::children(&cr, &facts(true)).objects();
    assert_eq!(kinds.last().unwrap().name, "notion-mcp-dashboard");
}

fn spec(prometheus_rule: bool, grafana_dashboard: bool) -> Value {
    json!({
        "ingress": {"host": "notion-mcp"},
        "notion": {"oauthSecretRef": {"name": "notion-oauth"}},
        "monitoring": {"prometheusRule": prometheus_rule, "grafanaDashboard": grafana_dashboard},
    })
}

/// Stores `spec` (bumping the generation on a change), reconciles once and returns the request log.
async fn run(fake: &FakeApi, ctx: &Arc<Context>, spec: Value) -> Vec<String> {
    let mut cr = fake.get(CR_PATH).unwrap_or_else(|| {
        json!({"apiVersion": "notionmcp.dev/v1alpha1", "kind": "NotionMcpRemote",
            "metadata": {"name": "notion-mcp", "namespace": NS, "uid": UID, "generation": 0}})
    });
    if cr["spec"] != spec {
        cr["spec"] = spec;
        cr["metadata"]["generation"] = json!(cr["metadata"]["generation"].as_i64().unwrap() + 1);
        fake.insert(CR_PATH, cr);
    }
    let mut value = fake.get(CR_PATH).unwrap();
    value["metadata"]["uid"] = json!(UID);
    fake.take_log();
    reconcile(
        Arc::new(serde_json::from_value(value).unwrap()),
        ctx.clone(),
    )
    .await
    .unwrap();
    fake.take_log()
}

fn writes(log: &[String]) -> Vec<String> {
    log.iter()
        .filter(|l| {
            !l.starts_with("GET ") && !l.starts_with("LIST ") && !l.starts_with("POST /apis/events")
        })
        .cloned()
        .collect()
}

fn start() -> (FakeApi, Arc<Context>) {
    let (fake, client) = FakeApi::start();
    fake.insert(
        &format!("/api/v1/namespaces/{NS}/secrets/notion-oauth"),
        json!({"apiVersion": "v1", "kind": "Secret", "metadata": {"name": "notion-oauth", "namespace": NS},
            "data": {"client_id": "aWQ=", "client_secret": "c2VjcmV0"}}),
    );
    (fake, support::context(client, true, true))
}

#[tokio::test]
async fn rule_and_dashboard_are_applied_then_left_alone() {
    let (fake, ctx) = start();
    let log = run(&fake, &ctx, spec(true, true)).await;
    for list in ["servicemonitors", "prometheusrules"] {
        assert!(
            log.contains(&format!("LIST {MONITORING}/{list}")),
            "{log:?}"
        );
    }
    let applied: Vec<&String> = log.iter().filter(|l| l.starts_with("APPLY ")).collect();
    let tail: Vec<String> = applied[applied.len() - 4..]
        .iter()
        .map(|s| s.to_string())
        .collect();
    assert_eq!(
        tail,
        [
            format!("APPLY {MONITORING}/servicemonitors/notion-mcp"),
            format!("APPLY {MONITORING}/prometheusrules/notion-mcp"),
            format!("APPLY {DASHBOARD}"),
            format!("APPLY {CR_PATH}/status"),
        ]
    );
    let rule = fake
        .get(&format!("{MONITORING}/prometheusrules/notion-mcp"))
        .unwrap();
    assert_eq!(rule["metadata"]["ownerReferences"][0]["uid"], UID);
    assert_eq!(rule["spec"]["groups"].as_array().unwrap().len(), 2);
    assert_eq!(
        fake.get(DASHBOARD).unwrap()["metadata"]["labels"]["grafana_dashboard"],
        "1"
    );

    // The status settles on the second pass; the third writes nothing.
    run(&fake, &ctx, spec(true, true)).await;
    let log = run(&fake, &ctx, spec(true, true)).await;
    assert!(
        writes(&log).is_empty(),
        "unexpected writes: {:?}",
        writes(&log)
    );
}

#[tokio::test]
async fn switched_off_they_are_pruned() {
    let (fake, ctx) = start();
    run(&fake, &ctx, spec(true, true)).await;
    let log = run(&fake, &ctx, spec(false, false)).await;
    let deleted: Vec<&String> = log.iter().filter(|l| l.starts_with("DELETE ")).collect();
    assert_eq!(
        deleted,
        [
            &format!("DELETE {DASHBOARD}"),
            &format!("DELETE {MONITORING}/prometheusrules/notion-mcp"),
        ]
    );
    assert!(
        fake.get(&format!("{MONITORING}/prometheusrules/notion-mcp"))
            .is_none()
    );
    assert!(fake.get(DASHBOARD).is_none());
    assert!(
        fake.get(&format!("{MONITORING}/servicemonitors/notion-mcp"))
            .is_some()
    );
}

#[tokio::test]
async fn without_the_crd_no_rule_is_listed_or_applied() {
    let (fake, client) = FakeApi::start();
    fake.insert(
        &format!("/api/v1/namespaces/{NS}/secrets/notion-oauth"),
        json!({"apiVersion": "v1", "kind": "Secret", "metadata": {"name": "notion-oauth", "namespace": NS},
            "data": {"client_id": "aWQ=", "client_secret": "c2VjcmV0"}}),
    );
    let mut ctx = support::context(client, true, true);
    Arc::get_mut(&mut ctx).unwrap().prometheus_rule_crd = false;
    let log = run(&fake, &ctx, spec(true, false)).await;
    assert!(
        !log.iter().any(|l| l.contains("prometheusrules")),
        "{log:?}"
    );
    assert!(log.contains(&format!("APPLY {MONITORING}/servicemonitors/notion-mcp")));
}
