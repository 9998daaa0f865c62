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

fn with_index(replicas: i64, index: Value) -> Value {
    json!({"publicUrl": "https://m.example.com", "replicas": replicas, "contentIndex": index})
}

#[test]
fn the_crawl_share_is_a_share() {
    for good in [json!(0.3), json!(1.0), json!(1), json!(0.01)] {
        check(with_index(1, json!({"crawlShare": good}))).unwrap();
    }
    for bad in [json!(0), json!(0.0), json!(-0.5), json!(1.5), json!(2)] {
        refused(
            with_index(1, json!({"crawlShare": bad})),
            "contentIndex.crawlShare must be greater than 0 and at most 1",
        );
    }
}

#[test]
fn the_index_volume_is_one_kind() {
    check(with_index(
        3,
        json!({"volume": {"emptyDir": {"sizeLimit": "1Gi"}}}),
    ))
    .unwrap();
    check(with_index(
        1,
        json!({"volume": {"persistentVolumeClaim": {"size": "5Gi"}}}),
    ))
    .unwrap();
    refused(
        with_index(
            1,
            json!({"volume": {"emptyDir": {}, "persistentVolumeClaim": {"size": "5Gi"}}}),
        ),
        "contentIndex.volume takes one of emptyDir or persistentVolumeClaim, not both",
    );
}

#[test]
fn the_claim_size_is_a_positive_quantity() {
    for good in [json!("5Gi"), json!("500M"), json!("1073741824")] {
        check(with_index(
            1,
            json!({"volume": {"persistentVolumeClaim": {"size": good}}}),
        ))
        .unwrap();
    }
    for bad in ["five gigs", "0", "-1Gi", ""] {
        refused(
            with_index(
                1,
                json!({"volume": {"persistentVolumeClaim": {"size": bad}}}),
            ),
            "persistentVolumeClaim.size must be a positive quantity",
        );
        refused(
            with_index(1, json!({"volume": {"emptyDir": {"sizeLimit": bad}}})),
            "emptyDir.sizeLimit must be a positive quantity",
        );
    }
}

#[test]
fn a_claimed_index_serves_one_replica() {
    let claim = |modes: Value| json!({"volume": {"persistentVolumeClaim": {"size": "5Gi", "accessModes": modes}}});
    let message = "contentIndex.volume.persistentVolumeClaim serves one replica";
    check(with_index(1, claim(json!(["ReadWriteOnce"])))).unwrap();
    refused(with_index(2, claim(json!(["ReadWriteOnce"]))), message);
    refused(with_index(3, claim(json!(["ReadWriteMany"]))), message);
    // Without replicas (the default, 1) the claim is fine; with the index off no claim is made.
    check(json!({"publicUrl": "https://m.example.com", "contentIndex": claim(json!(["ReadWriteOncePod"]))}))
        .unwrap();
    let mut off = claim(json!(["ReadWriteOnce"]));
    off["enabled"] = json!(false);
    check(with_index(3, off)).unwrap();
}
