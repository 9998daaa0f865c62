//! The server accepts what the operator renders: for every example resource under operator/examples,
//! the Deployment's container environment (its ConfigMap, plus placeholder values for Secret
//! references) and arguments go to the real binary's `check-config`, in a clean environment. An
//! environment name the server does not read, or a value it rejects, fails here.
#![allow(clippy::unwrap_used)]

use k8s_openapi::api::apps::v1::Deployment;
use k8s_openapi::api::core::v1::{ConfigMap, Container};
use notion_mcp_contract::env;
use notion_mcp_operator::builders::{self, Facts};
use notion_mcp_operator::render;
use std::collections::BTreeMap;
use std::path::PathBuf;
use std::process::Command;

fn examples() -> Vec<(String, String)> {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../operator/examples");
    let mut found: Vec<(String, String)> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|x| x == "yaml"))
        .map(|p| {
            let name = p.file_name().unwrap().to_string_lossy().into_owned();
            (name, std::fs::read_to_string(&p).unwrap())
        })
        .collect();
    found.sort();
    assert!(found.len() >= 4, "examples in {}: {found:?}", dir.display());
    found
}

/// What the operator may know when it renders: nothing yet, or an ingress that reported its host.
fn facts() -> [Facts; 2] {
    [
        Facts::default(),
        Facts {
            ingress_hostname: Some("notion-mcp.tailnet-1234.ts.net".into()),
            secrets_checksum: "secrets-v1".into(),
            service_monitor_crd: true,
            prometheus_rule_crd: true,
        },
    ]
}

fn server_container(deployment: &Deployment) -> &Container {
    let pod = deployment.spec.as_ref().unwrap().template.spec.as_ref();
    let containers = &pod.unwrap().containers;
    assert_eq!(containers.len(), 1, "one container");
    &containers[0]
}

/// The container's environment as the kubelet would build it, Secret values replaced by placeholders.
fn container_env(container: &Container, config_map: &ConfigMap) -> BTreeMap<String, String> {
    let mut env = BTreeMap::new();
    for source in container.env_from.iter().flatten() {
        let from = source.config_map_ref.as_ref().expect("only ConfigMaps");
        assert_eq!(Some(&from.name), config_map.metadata.name.as_ref());
        env.extend(config_map.data.clone().unwrap_or_default());
    }
    for var in container.env.iter().flatten() {
        let value = match (&var.value, &var.value_from) {
            (Some(v), _) => v.clone(),
            (None, Some(from)) => match &from.secret_key_ref {
                // The server parses this one: a URL of the shape the Secret must hold.
                Some(key) if var.name == env::REDIS_URL => {
                    format!("rediss://:placeholder@{}-{}:6380", key.name, key.key)
                }
                Some(key) => format!("placeholder-{}-{}", key.name, key.key),
                None => "placeholder".into(),
            },
            (None, None) => String::new(),
        };
        env.insert(var.name.clone(), value);
    }
    env
}

/// `check-config` with exactly `env` and `args`; its status and output.
fn check(env: &BTreeMap<String, String>, args: &[String]) -> (bool, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_notion-mcp-remote"))
        .env_clear()
        .envs(env)
        .arg("check-config")
        .args(args)
        .output()
        .unwrap();
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    (out.status.success(), text)
}

/// Every (example, facts) pair: its name, container environment and arguments.
fn rendered() -> Vec<(String, BTreeMap<String, String>, Vec<String>)> {
    let mut all = Vec::new();
    for (name, yaml) in examples() {
        let mut cr = render::parse(&yaml).unwrap();
        cr.metadata.uid = Some("6f1c2b9e-0000-4000-8000-000000000001".into());
        for (i, facts) in facts().iter().enumerate() {
            let children = builders::children(&cr, facts);
            let container = server_container(&children.deployment);
            assert!(
                container.command.is_none(),
                "{name}: the image's entrypoint runs the server"
            );
            let env = container_env(container, &children.config_map);
            let args = container.args.clone().unwrap_or_default();
            all.push((format!("{name} (facts {i})"), env, args));
        }
    }
    all
}

#[test]
fn the_server_accepts_every_deployment_the_operator_renders() {
    let known = notion_mcp_remote::check::env_names();
    let all = rendered();
    for name in [
        env::WEBHOOK_VERIFICATION_TOKEN,
        env::REDIS_URL,
        env::CACHE_MAX_BYTES,
        env::CACHE_MAX_AGE_SECS,
        env::WORKSPACE_PACING_RPS,
        env::INDEX_DIR,
        env::INDEX_CRAWL_SHARE,
    ] {
        assert!(
            all.iter().any(|(_, env, _)| env.contains_key(name)),
            "no example renders {name}"
        );
    }
    for (case, env, args) in all {
        for name in env.keys() {
            assert!(known.contains(name), "{case}: the server reads no {name}");
        }
        let (ok, out) = check(&env, &args);
        assert!(ok, "{case}: check-config refused {env:#?}:\n{out}");
        assert!(out.contains("settings are valid"), "{case}: {out}");
    }
}

#[test]
fn check_config_refuses_unknown_names_and_bad_values() {
    let (case, env, args) = rendered().remove(0);
    let mut misspelt = env.clone();
    misspelt.insert("NOTION_MCP_PACING_RATE".into(), "3".into());
    let (ok, out) = check(&misspelt, &args);
    assert!(
        !ok && out.contains("NOTION_MCP_PACING_RATE"),
        "{case}: {out}"
    );
    let mut bad = env.clone();
    bad.insert("NOTION_MCP_PACING_RPS".into(), "0".into());
    let (ok, out) = check(&bad, &args);
    assert!(!ok && out.contains("--pacing-rps"), "{case}: {out}");
    let mut unparsable = env;
    unparsable.insert("NOTION_MCP_AUTH_MODE".into(), "basic".into());
    let (ok, out) = check(&unparsable, &args);
    assert!(!ok && out.contains("basic"), "{case}: {out}");
}
