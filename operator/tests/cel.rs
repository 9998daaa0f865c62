//! The CRD's CEL rules (`x-kubernetes-validations`) evaluated offline, as the API server would on
//! create: each rule lets a good resource through and refuses a bad one with its message, and every
//! example under `examples/` passes them all.
#![allow(clippy::unwrap_used)]

use kube::core::cel::validate_cel_schema;
use notion_mcp_operator::crd::NotionMcpRemoteSpec;
use serde_json::{Value, json};

fn check(spec: Value) -> Result<(), String> {
    validate_cel_schema::<NotionMcpRemoteSpec>(&spec, None).map_err(|e| format!("{e:?}"))
}

fn refused(spec: Value, message: &str) {
    let err = check(spec.clone()).expect_err(&format!("accepted {spec}"));
    assert!(
        err.contains(message),
        "{spec} refused without '{message}': {err}"
    );
}

#[test]
fn the_server_must_know_where_clients_reach_it() {
    check(json!({"publicUrl": "https://mcp.example.com"})).unwrap();
    check(json!({"ingress": {"host": "notion-mcp"}})).unwrap();
    refused(json!({}), "set publicUrl, ingress, or both");
}

#[test]
fn the_public_url_is_a_bare_origin() {
    for good in [
        "https://mcp.example.com",
        "https://mcp.example.com/",
        "http://localhost:8080",
    ] {
        check(json!({"publicUrl": good})).unwrap();
    }
    for bad in [
        "https://mcp.example.com/mcp",
        "mcp.example.com",
        "https://x.example?y=1",
        "ftp://x",
    ] {
        refused(
            json!({"publicUrl": bad}),
            "publicUrl must be scheme://host[:port] with no path",
        );
    }
}

#[test]
fn the_active_key_is_not_also_a_previous_one() {
    let spec = |previous: Value| {
        json!({"publicUrl": "https://m.example.com",
               "encryption": {"activeKeyId": "k2", "previousKeyIds": previous}})
    };
    check(spec(json!(["k1"]))).unwrap();
    refused(
        spec(json!(["k1", "k2"])),
        "activeKeyId must not also be listed in previousKeyIds",
    );
}

#[test]
fn every_example_passes_every_rule() {
    let dir = concat!(env!("CARGO_MANIFEST_DIR"), "/examples");
    let mut seen = 0;
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        let text = std::fs::read_to_string(&path).unwrap();
        let cr: serde_yaml::Value = serde_yaml::from_str(&text).unwrap();
        let spec = serde_json::to_value(&cr["spec"]).unwrap();
        check(spec).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
        seen += 1;
    }
    assert!(seen >= 4);
}
