//! Snapshot tests of the pure builders: each case renders a resource and compares the YAML with a committed
//! file under tests/snapshots/. Run with `UPDATE_SNAPSHOTS=1` to rewrite the files, then review the diff.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use k8s_openapi::ByteString;
use k8s_openapi::api::core::v1::Secret;
use kube::CustomResourceExt;
use notion_mcp_operator::builders::key_secret::{KeyPlan, plan};
use notion_mcp_operator::builders::{self, Facts};
use notion_mcp_operator::crd::NotionMcpRemote;
use notion_mcp_operator::{render, yaml};
use std::collections::BTreeMap;
use std::path::PathBuf;

fn manifest_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

fn example(name: &str) -> NotionMcpRemote {
    let text = std::fs::read_to_string(manifest_dir().join("examples").join(name)).unwrap();
    let mut cr = render::parse(&text).unwrap();
    cr.metadata.uid = Some("6f1c2b9e-0000-4000-8000-000000000001".into());
    cr
}

fn facts() -> Facts {
    Facts {
        ingress_hostname: None,
        secrets_checksum: "secrets-v1".into(),
        service_monitor_crd: true,
        prometheus_rule_crd: false,
    }
}

fn check_snapshot(name: &str, actual: &str) {
    let path = manifest_dir().join("tests/snapshots").join(name);
    if std::env::var_os("UPDATE_SNAPSHOTS").is_some() {
        std::fs::write(&path, actual).unwrap();
        return;
    }
    let expected = std::fs::read_to_string(&path).unwrap_or_else(|_| {
        panic!(
            "missing snapshot {}; run with UPDATE_SNAPSHOTS=1",
            path.display()
        )
    });
    if expected != actual {
        let line = expected
            .lines()
            .zip(actual.lines())
            .position(|(a, b)| a != b)
            .unwrap_or(expected.lines().count().min(actual.lines().count()));
        panic!(
            "snapshot {name} differs at line {}:\n  expected: {:?}\n  actual:   {:?}\n(UPDATE_SNAPSHOTS=1 to accept)",
            line + 1,
            expected.lines().nth(line),
            actual.lines().nth(line)
        );
    }
}

fn render_snapshot(name: &str, cr: &NotionMcpRemote, facts: &Facts) -> String {
    let out = render::render(cr, facts).unwrap();
    check_snapshot(name, &out);
    out
}

fn kinds(cr: &NotionMcpRemote, facts: &Facts) -> Vec<String> {
    builders::children(cr, facts)
        .objects()
        .iter()
        .map(|o| o.resource.kind.clone())
        .collect()
}

#[test]
fn minimal_tailscale_without_funnel() {
    let cr = example("minimal.yaml");
    let out = render_snapshot("minimal.yaml", &cr, &facts());
    let ingress = builders::ingress::ingress(&cr).unwrap();
    assert_eq!(
        ingress.spec.as_ref().unwrap().ingress_class_name.as_deref(),
        Some("tailscale")
    );
    assert!(
        ingress.metadata.annotations.is_none(),
        "no funnel annotation"
    );
    let tls = ingress.spec.unwrap().tls.unwrap();
    assert_eq!(tls[0].hosts.as_ref().unwrap()[0], "notion-mcp");
    assert!(out.contains("ownerReferences"));
    assert!(!kinds(&cr, &facts()).contains(&"PodDisruptionBudget".to_string()));
    assert!(!kinds(&cr, &facts()).contains(&"NetworkPolicy".to_string()));
}

#[test]
fn funnel_network_policy_and_digest() {
    let cr = example("funnel.yaml");
    render_snapshot("funnel.yaml", &cr, &facts());
    let ingress = builders::ingress::ingress(&cr).unwrap();
    let annotations = ingress.metadata.annotations.unwrap();
    assert_eq!(annotations["tailscale.com/funnel"], "true");
    assert_eq!(annotations["tailscale.com/tags"], "tag:k8s");
    assert_eq!(
        ingress.metadata.labels.unwrap()["tailscale.com/proxy-class"],
        "funnel-proxies"
    );
    assert_eq!(
        builders::deployment::image(&cr),
        "ghcr.io/notion-mcp-remote/notion-mcp-remote@sha256:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"
    );
    let policy = builders::network_policy::network_policy(&cr).unwrap();
    let yaml = yaml::to_yaml(&policy).unwrap();
    assert!(yaml.contains("kubernetes.io/metadata.name: tailscale"));
}

#[test]
fn nginx_ingress_uses_rules_and_tls_secret() {
    let cr = example("nginx.yaml");
    render_snapshot("nginx.yaml", &cr, &facts());
    let spec = builders::ingress::ingress(&cr).unwrap().spec.unwrap();
    assert!(spec.default_backend.is_none());
    let rules = spec.rules.unwrap();
    assert_eq!(rules[0].host.as_deref(), Some("mcp.example.com"));
    assert_eq!(
        spec.tls.unwrap()[0].secret_name.as_deref(),
        Some("notion-mcp-tls")
    );
    let env = builders::config_map::server_env(&cr, &facts());
    assert_eq!(env["NOTION_MCP_PUBLIC_URL"], "https://mcp.example.com");
    assert_eq!(
        env["NOTION_MCP_API_KEYS_FILE"],
        "/etc/notion-mcp/api-keys/api-keys"
    );
    assert_eq!(env["NOTION_MCP_RATE_LIMIT_PER_MINUTE"], "120");
}

#[test]
fn traefik_class_and_funnel_flag_ignored_outside_tailscale() {
    let mut cr = example("minimal.yaml");
    let ingress = cr.spec.ingress.as_mut().unwrap();
    ingress.class_name = "traefik".into();
    ingress.funnel = true;
    ingress.host = Some("mcp.example.org".into());
    ingress.annotations.insert(
        "traefik.ingress.kubernetes.io/router.entrypoints".into(),
        "websecure".into(),
    );
    let rendered = builders::ingress::ingress(&cr).unwrap();
    let yaml = yaml::to_yaml(&rendered).unwrap();
    check_snapshot("traefik-ingress.yaml", &yaml);
    assert!(!yaml.contains("tailscale.com/funnel"));
    assert!(yaml.contains("ingressClassName: traefik"));
}

#[test]
fn three_replicas_get_a_pdb_and_share_the_budget() {
    let cr = example("replicas-3.yaml");
    render_snapshot("replicas-3.yaml", &cr, &facts());
    assert!(kinds(&cr, &facts()).contains(&"PodDisruptionBudget".to_string()));
    let env = builders::config_map::server_env(&cr, &facts());
    assert_eq!(env["NOTION_MCP_REPLICAS"], "3");
    let deployment = builders::deployment::deployment(
        &cr,
        &builders::config_map::config_map(&cr, &facts()),
        &facts(),
    );
    let container = &deployment.spec.unwrap().template.spec.unwrap().containers[0];
    let resources = container.resources.as_ref().unwrap();
    assert_eq!(resources.limits.as_ref().unwrap()["memory"].0, "512Mi");
    // The key volume carries the active and the previous key.
    let one = example("minimal.yaml");
    assert!(builders::pdb::pdb(&one).is_none());
}

fn server_env(cr: &NotionMcpRemote) -> Vec<k8s_openapi::api::core::v1::EnvVar> {
    let cm = builders::config_map::config_map(cr, &facts());
    let deployment = builders::deployment::deployment(cr, &cm, &facts());
    let pod = deployment.spec.unwrap().template.spec.unwrap();
    pod.containers[0].env.clone().unwrap_or_default()
}

/// The (Secret, key) an env var of the server container takes its value from; it never has a literal value.
fn secret_source(env: &[k8s_openapi::api::core::v1::EnvVar], name: &str) -> (String, String) {
    let var = env
        .iter()
        .find(|v| v.name == name)
        .unwrap_or_else(|| panic!("no {name}"));
    assert!(var.value.is_none(), "{name} must not carry a value");
    let selector = var
        .value_from
        .as_ref()
        .and_then(|f| f.secret_key_ref.as_ref())
        .unwrap();
    assert_eq!(selector.optional, Some(false));
    (selector.name.clone(), selector.key.clone())
}

#[test]
fn webhook_token_and_redis_url_come_from_secret_key_refs() {
    let cr = example("replicas-3.yaml");
    let env = server_env(&cr);
    assert_eq!(
        secret_source(&env, "NOTION_WEBHOOK_VERIFICATION_TOKEN"),
        ("notion-webhook".into(), "verification-token".into())
    );
    assert_eq!(
        secret_source(&env, "NOTION_MCP_REDIS_URL"),
        ("notion-mcp-redis".into(), "url".into())
    );
    // The extra env of the spec still comes last, so it wins.
    assert_eq!(env.last().unwrap().name, "NOTION_MCP_MAX_ACTIVE_TOKENS");
    // Neither lands in the ConfigMap; the cache bounds do, as plain values.
    let config = builders::config_map::server_env(&cr, &facts());
    assert!(!config.contains_key("NOTION_WEBHOOK_VERIFICATION_TOKEN"));
    assert!(!config.contains_key("NOTION_MCP_REDIS_URL"));
    assert_eq!(config["NOTION_MCP_CACHE_MAX_BYTES"], "134217728");
    assert_eq!(config["NOTION_MCP_CACHE_MAX_AGE_SECS"], "900");

    // Without them: no such env, no cache settings (the server's defaults apply).
    let minimal = example("minimal.yaml");
    let env = server_env(&minimal);
    assert!(
        env.iter()
            .all(|v| v.name.starts_with("NOTION_OAUTH_CLIENT_")),
        "{env:?}"
    );
    let config = builders::config_map::server_env(&minimal, &facts());
    assert!(!config.keys().any(|k| k.starts_with("NOTION_MCP_CACHE_")));

    // Only the bound that is set is passed on.
    let mut age_only = minimal.clone();
    age_only.spec.cache = Some(notion_mcp_operator::crd::CacheSpec {
        max_bytes: None,
        max_age_seconds: Some(0),
    });
    let config = builders::config_map::server_env(&age_only, &facts());
    assert_eq!(config["NOTION_MCP_CACHE_MAX_AGE_SECS"], "0");
    assert!(!config.contains_key("NOTION_MCP_CACHE_MAX_BYTES"));
}

#[test]
fn read_only_and_tool_selection_reach_the_server() {
    let minimal = example("minimal.yaml");
    let config = builders::config_map::server_env(&minimal, &facts());
    assert!(
        !config.contains_key("NOTION_MCP_READ_ONLY")
            && !config.contains_key("NOTION_MCP_TOOLS")
            && !config.contains_key("NOTION_MCP_NO_CONFIRM_DESTRUCTIVE")
    );
    let mut narrowed = minimal.clone();
    narrowed.spec.read_only = true;
    narrowed.spec.tools = vec!["search".into(), "fetch".into(), "-get_self".into()];
    narrowed.spec.no_confirm_destructive = true;
    let config = builders::config_map::server_env(&narrowed, &facts());
    assert_eq!(config["NOTION_MCP_READ_ONLY"], "true");
    assert_eq!(config["NOTION_MCP_TOOLS"], "search,fetch,-get_self");
    assert_eq!(config["NOTION_MCP_NO_CONFIRM_DESTRUCTIVE"], "true");
}

#[test]
fn webhook_and_redis_secret_changes_roll_the_pods() {
    // Env from a secretKeyRef is read at container start: the pod-template checksum covers the referenced
    // Secrets (Facts::secrets_checksum, computed from every referenced Secret by the reconciler).
    let cr = example("replicas-3.yaml");
    let cm = builders::config_map::config_map(&cr, &facts());
    let rotated = Facts {
        secrets_checksum: "secrets-v2".into(),
        ..facts()
    };
    assert_ne!(
        builders::deployment::config_checksum(&cm, &facts()),
        builders::deployment::config_checksum(&cm, &rotated)
    );
}

#[test]
fn network_policy_lets_the_pods_reach_redis_and_the_collector() {
    let cr = example("replicas-3.yaml");
    let policy = builders::network_policy::network_policy(&cr).unwrap();
    let ports: Vec<String> = policy
        .spec
        .unwrap()
        .egress
        .unwrap()
        .iter()
        .flat_map(|rule| rule.ports.clone().unwrap_or_default())
        .map(|p| format!("{:?}", p.port.unwrap()))
        .collect();
    assert!(ports.contains(&"Int(6380)".to_string()), "{ports:?}");
    assert!(
        ports.contains(&"Int(4318)".to_string()),
        "the collector: {ports:?}"
    );
    let funnel = example("funnel.yaml");
    let yaml = yaml::to_yaml(&builders::network_policy::network_policy(&funnel).unwrap()).unwrap();
    assert!(!yaml.contains("6379") && !yaml.contains("6380"), "{yaml}");
    assert!(!yaml.contains("4318"), "{yaml}");
}

#[test]
fn the_collector_endpoint_reaches_the_server() {
    let config = builders::config_map::server_env(&example("replicas-3.yaml"), &facts());
    assert_eq!(
        config["OTEL_EXPORTER_OTLP_ENDPOINT"],
        "http://otel-collector.observability:4318"
    );
    let config = builders::config_map::server_env(&example("minimal.yaml"), &facts());
    assert!(
        !config.keys().any(|k| k.starts_with("OTEL_")),
        "traces are off by default"
    );
}

/// Whether `ingress` sends requests for `path` on its host to the server's Service, by the Ingress API's
/// matching rules (default backend, `Exact` and element-wise `Prefix` paths).
fn routes(ingress: &k8s_openapi::api::networking::v1::Ingress, path: &str) -> bool {
    let spec = ingress.spec.as_ref().unwrap();
    let to_server = |b: &k8s_openapi::api::networking::v1::IngressBackend| {
        let service = b.service.as_ref().unwrap();
        service.name == "notion-mcp"
            && service.port.as_ref().unwrap().name.as_deref() == Some("http")
    };
    let matched = spec
        .rules
        .iter()
        .flatten()
        .flat_map(|r| r.http.iter())
        .flat_map(|h| &h.paths)
        .find(|p| {
            let rule = p.path.as_deref().unwrap_or("/");
            match p.path_type.as_str() {
                "Exact" => rule == path,
                "Prefix" => {
                    let prefix = rule.trim_end_matches('/');
                    path == prefix || path.starts_with(&format!("{prefix}/"))
                }
                _ => false,
            }
        });
    match matched {
        Some(p) => to_server(&p.backend),
        None => spec.default_backend.as_ref().is_some_and(to_server),
    }
}

#[test]
fn the_ingress_serves_the_webhook_path() {
    let webhooks = notion_mcp_contract::paths::WEBHOOKS;
    assert_eq!(webhooks, "/webhooks/notion");
    let mut traefik = example("minimal.yaml");
    traefik.spec.ingress.as_mut().unwrap().class_name = "traefik".into();
    for (name, cr) in [
        ("funnel", example("funnel.yaml")),
        ("nginx", example("nginx.yaml")),
        ("traefik", traefik),
    ] {
        let ingress = builders::ingress::ingress(&cr).unwrap();
        for path in [webhooks, "/mcp", "/oauth/callback"] {
            assert!(routes(&ingress, path), "{name}: {path} is not routed");
        }
        // Nothing the operator adds rewrites or strips the path.
        let annotations = ingress.metadata.annotations.clone().unwrap_or_default();
        assert!(
            !annotations
                .keys()
                .any(|k| k.contains("rewrite") || k.contains("strip")),
            "{name}: {annotations:?}"
        );
    }
}

#[test]
fn replica_change_rolls_the_pods() {
    let one = example("minimal.yaml");
    let mut three = one.clone();
    three.spec.replicas = 3;
    let checksum = |cr: &NotionMcpRemote| {
        let cm = builders::config_map::config_map(cr, &facts());
        builders::deployment::config_checksum(&cm, &facts())
    };
    assert_ne!(checksum(&one), checksum(&three));
    let mut other_secret = facts();
    other_secret.secrets_checksum = "secrets-v2".into();
    let cm = builders::config_map::config_map(&one, &facts());
    assert_ne!(
        builders::deployment::config_checksum(&cm, &facts()),
        builders::deployment::config_checksum(&cm, &other_secret)
    );
}

#[test]
fn ingress_status_hostname_wins_for_the_public_url() {
    let cr = example("replicas-3.yaml");
    assert_eq!(
        builders::public_mcp_url(&cr, &facts()).as_deref(),
        Some("https://notion-mcp.example.ts.net/mcp")
    );
    let seen = Facts {
        ingress_hostname: Some("notion-mcp.tail1234.ts.net".into()),
        ..facts()
    };
    assert_eq!(
        builders::public_mcp_url(&cr, &seen).as_deref(),
        Some("https://notion-mcp.tail1234.ts.net/mcp")
    );
    assert_eq!(
        builders::public_mcp_url(&example("minimal.yaml"), &facts()),
        None
    );
}

#[test]
fn service_monitor_only_with_its_crd() {
    let cr = example("minimal.yaml");
    let without = Facts {
        service_monitor_crd: false,
        ..facts()
    };
    assert!(kinds(&cr, &facts()).contains(&"ServiceMonitor".to_string()));
    assert!(!kinds(&cr, &without).contains(&"ServiceMonitor".to_string()));
}

#[test]
fn key_secret_is_generated_once_and_extended_never_rewritten() {
    let cr = example("minimal.yaml");
    let calls = std::cell::Cell::new(0u8);
    let new_key = || {
        calls.set(calls.get() + 1);
        vec![calls.get(); 32]
    };
    let KeyPlan::Create(secret) = plan(&cr, None, new_key) else {
        panic!("expected Create");
    };
    let mut redacted = secret.clone();
    redacted.data = Some(
        secret
            .data
            .as_ref()
            .unwrap()
            .keys()
            .map(|k| (k.clone(), ByteString(b"<32 random bytes>".to_vec())))
            .collect(),
    );
    check_snapshot("key-secret.yaml", &yaml::to_yaml(&redacted).unwrap());
    let data = secret.data.clone().unwrap();
    assert_eq!(data.keys().collect::<Vec<_>>(), ["k1"]);
    assert_eq!(data["k1"].0.len(), 32);

    // Existing Secret with every declared key: nothing to do, no new randomness used.
    assert_eq!(plan(&cr, Some(&secret), new_key), KeyPlan::Keep);
    assert_eq!(calls.get(), 1);

    // Rotation: k2 becomes active, k1 stays readable; only k2 is added.
    let mut rotated = cr.clone();
    rotated.spec.encryption.active_key_id = "k2".into();
    rotated.spec.encryption.previous_key_ids = vec!["k1".into()];
    let KeyPlan::AddKeys(added) = plan(&rotated, Some(&secret), new_key) else {
        panic!("expected AddKeys");
    };
    assert_eq!(added.keys().collect::<Vec<_>>(), ["k2"]);
    let empty = Secret {
        data: Some(BTreeMap::new()),
        ..Secret::default()
    };
    assert!(matches!(plan(&rotated, Some(&empty), new_key), KeyPlan::AddKeys(k) if k.len() == 2));
}

#[test]
fn restricted_security_context_and_probes() {
    let cr = example("minimal.yaml");
    let cm = builders::config_map::config_map(&cr, &facts());
    let pod = builders::deployment::deployment(&cr, &cm, &facts())
        .spec
        .unwrap()
        .template
        .spec
        .unwrap();
    let pod_sc = pod.security_context.unwrap();
    assert_eq!(pod_sc.run_as_non_root, Some(true));
    assert_eq!(pod_sc.seccomp_profile.unwrap().type_, "RuntimeDefault");
    let c = &pod.containers[0];
    let sc = c.security_context.as_ref().unwrap();
    assert_eq!(sc.allow_privilege_escalation, Some(false));
    assert_eq!(sc.read_only_root_filesystem, Some(true));
    assert_eq!(
        sc.capabilities.as_ref().unwrap().drop.as_deref(),
        Some(&["ALL".to_string()][..])
    );
    assert_eq!(
        c.liveness_probe
            .as_ref()
            .unwrap()
            .http_get
            .as_ref()
            .unwrap()
            .path
            .as_deref(),
        Some("/healthz")
    );
    assert_eq!(
        c.readiness_probe
            .as_ref()
            .unwrap()
            .http_get
            .as_ref()
            .unwrap()
            .path
            .as_deref(),
        Some("/readyz")
    );
}

#[test]
fn rendering_is_deterministic() {
    let cr = example("funnel.yaml");
    assert_eq!(
        render::render(&cr, &facts()).unwrap(),
        render::render(&cr, &facts()).unwrap()
    );
}

#[test]
fn committed_crds_match_crdgen() {
    let generated = yaml::to_yaml(&NotionMcpRemote::crd()).unwrap();
    let root = manifest_dir().join("..");
    for path in [
        "charts/notion-mcp-operator/crds/notionmcpremotes.yaml",
        "kustomize/base/crd.yaml",
    ] {
        let committed = std::fs::read_to_string(root.join(path)).unwrap();
        assert!(
            committed == generated,
            "{path} is stale: notion-mcp-operator crdgen > {path}"
        );
    }
}

#[test]
fn the_resource_is_the_one_the_contract_names() {
    use kube::Resource;
    use notion_mcp_contract::resource;
    assert_eq!(NotionMcpRemote::group(&()), resource::GROUP);
    assert_eq!(NotionMcpRemote::version(&()), resource::VERSION);
    assert_eq!(NotionMcpRemote::api_version(&()), resource::API_VERSION);
    assert_eq!(NotionMcpRemote::kind(&()), resource::KIND);
}
