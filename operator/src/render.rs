//! `render`: what the operator would apply for a resource read from a file, for GitOps review and CI schema
//! checks. The generated key Secret is not rendered as an object: it is created once at run time with random
//! keys. [`summary`] shows it (values redacted) with the public URL in a comment header, so the output stays
//! safe to apply and to validate.

use crate::builders::{self, Facts};
use crate::crd::NotionMcpRemote;
use k8s_openapi::apiextensions_apiserver::pkg::apis::apiextensions::v1::{
    JSONSchemaProps, JSONSchemaPropsOrArray, JSONSchemaPropsOrBool,
};
use kube::CustomResourceExt;
use serde_json::Value;

/// Errors of `render`.
#[derive(Debug, thiserror::Error)]
pub enum RenderError {
    #[error("cannot parse the NotionMcpRemote: {0}")]
    Parse(#[from] serde_yaml::Error),
    #[error("expected kind NotionMcpRemote (apiVersion notionmcp.dev/v1alpha1), found {0}")]
    WrongKind(String),
    #[error("unknown field(s) {}: the CRD's schema has no such field (misspelt?), and the API server would drop or refuse it", .0.join(", "))]
    UnknownFields(Vec<String>),
}

/// Parses a `NotionMcpRemote` from YAML; a missing namespace becomes `default`.
pub fn parse(yaml: &str) -> Result<NotionMcpRemote, RenderError> {
    let value: serde_yaml::Value = serde_yaml::from_str(yaml)?;
    let kind = value.get("kind").and_then(|k| k.as_str()).unwrap_or("");
    if kind != "NotionMcpRemote" {
        return Err(RenderError::WrongKind(format!("{kind:?}")));
    }
    let spec = serde_json::to_value(value.get("spec")).unwrap_or_default();
    let mut unknown = unknown_fields(&spec, &spec_schema(), "spec");
    unknown.sort();
    if !unknown.is_empty() {
        return Err(RenderError::UnknownFields(unknown));
    }
    let mut cr: NotionMcpRemote = serde_yaml::from_value(value)?;
    if cr.metadata.namespace.is_none() {
        cr.metadata.namespace = Some("default".into());
    }
    Ok(cr)
}

/// Renders the children of `cr` as a multi-document YAML stream.
pub fn render(cr: &NotionMcpRemote, facts: &Facts) -> Result<String, serde_yaml::Error> {
    let objects: Vec<serde_json::Value> = builders::children(cr, facts)
        .objects()
        .into_iter()
        .map(|child| child.object)
        .collect();
    crate::yaml::to_yaml_stream(&objects)
}

/// A YAML comment block: the public URL the server will announce and the key Secret the operator would
/// create (values redacted), or the referenced one it would read.
pub fn summary(cr: &NotionMcpRemote, facts: &Facts) -> String {
    use kube::ResourceExt;
    let namespace = cr.namespace().unwrap_or_else(|| "default".into());
    let mut out = String::new();
    match builders::public_mcp_url(cr, facts) {
        Some(url) => out.push_str(&format!("# Public MCP URL: {url}\n")),
        None => out.push_str(
            "# Public MCP URL: not known yet (set spec.publicUrl or spec.ingress.host, or let the ingress \
             controller report its host)\n",
        ),
    }
    let ids = builders::key_secret::declared_key_ids(cr);
    match &cr.spec.encryption.key_secret_ref {
        Some(r) => out.push_str(&format!(
            "# Sealing keys: read from the existing Secret {namespace}/{} (key ids: {})\n",
            r.name,
            ids.join(", ")
        )),
        None => {
            out.push_str(
                "# Created once at the first reconcile, never rewritten (not rendered: random keys):\n",
            );
            let secret = builders::key_secret::key_secret(cr, Default::default());
            let mut shown = serde_json::to_value(&secret).unwrap_or_default();
            shown["apiVersion"] = "v1".into();
            shown["kind"] = "Secret".into();
            shown["data"] = ids
                .iter()
                .map(|id| (id.clone(), "<redacted: 32 random bytes>".into()))
                .collect::<serde_json::Map<_, _>>()
                .into();
            let yaml = crate::yaml::to_yaml(&shown).unwrap_or_default();
            for line in yaml.lines() {
                out.push_str("#   ");
                out.push_str(line);
                out.push('\n');
            }
        }
    }
    out
}

/// The `spec` schema of the CRD's served version (what the API server validates against).
fn spec_schema() -> JSONSchemaProps {
    NotionMcpRemote::crd()
        .spec
        .versions
        .into_iter()
        .find(|v| v.served)
        .and_then(|v| v.schema)
        .and_then(|s| s.open_api_v3_schema)
        .and_then(|s| s.properties)
        .and_then(|mut p| p.remove("spec"))
        .unwrap_or_default()
}

/// Paths of the fields of `value` that `schema` does not declare, as a structural schema prunes them
/// (objects with `properties` and neither `additionalProperties` nor preserve-unknown-fields).
fn unknown_fields(value: &Value, schema: &JSONSchemaProps, path: &str) -> Vec<String> {
    let mut unknown = Vec::new();
    let open = schema.x_kubernetes_preserve_unknown_fields == Some(true);
    match value {
        Value::Object(map) if !open => {
            for (key, child) in map {
                let here = format!("{path}.{key}");
                match (&schema.properties, &schema.additional_properties) {
                    (Some(props), _) if props.contains_key(key) => {
                        unknown.extend(unknown_fields(child, &props[key], &here));
                    }
                    (_, Some(JSONSchemaPropsOrBool::Schema(extra))) => {
                        unknown.extend(unknown_fields(child, extra, &here));
                    }
                    (_, Some(JSONSchemaPropsOrBool::Bool(true))) => {}
                    (Some(_), _) => unknown.push(here),
                    (None, _) => {}
                }
            }
        }
        Value::Array(items) => {
            if let Some(JSONSchemaPropsOrArray::Schema(item)) = &schema.items {
                for (i, child) in items.iter().enumerate() {
                    unknown.extend(unknown_fields(child, item, &format!("{path}[{i}]")));
                }
            }
        }
        _ => {}
    }
    unknown
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    const CR: &str =
        "apiVersion: notionmcp.dev/v1alpha1\nkind: NotionMcpRemote\nmetadata:\n  name: n\nspec:\n";

    fn facts() -> Facts {
        Facts {
            ingress_hostname: None,
            secrets_checksum: String::new(),
            service_monitor_crd: false,
            prometheus_rule_crd: false,
        }
    }

    #[test]
    fn the_summary_names_the_url_and_the_key_secret_without_values() {
        let cr = parse(&format!(
            "{CR}  publicUrl: https://mcp.example.com/\n  encryption:\n    activeKeyId: k2\n    previousKeyIds: [k1]\n"
        ))
        .unwrap();
        let text = summary(&cr, &facts());
        assert!(
            text.contains("# Public MCP URL: https://mcp.example.com/mcp"),
            "{text}"
        );
        assert!(
            text.contains("name: n-keys") && text.contains("namespace: default"),
            "{text}"
        );
        assert!(
            text.contains("k2: '<redacted: 32 random bytes>'") && text.contains("k1: '<redacted"),
            "{text}"
        );
        assert!(
            text.lines().all(|l| l.starts_with('#')),
            "comments only: safe to apply"
        );
        let reported = Facts {
            ingress_hostname: Some("n.tail1234.ts.net".into()),
            ..facts()
        };
        assert!(summary(&cr, &reported).contains("https://n.tail1234.ts.net/mcp"));

        let referenced = parse(&format!(
            "{CR}  encryption:\n    keySecretRef: {{name: my-keys}}\n"
        ))
        .unwrap();
        let text = summary(&referenced, &facts());
        assert!(
            text.contains("read from the existing Secret default/my-keys (key ids: k1)"),
            "{text}"
        );
        assert!(text.contains("not known yet"), "{text}");
    }

    #[test]
    fn misspelt_fields_are_named() {
        let err = parse(&format!("{CR}  replica: 3\n  ingres:\n    enabled: true\n")).unwrap_err();
        assert_eq!(
            err.to_string().split(':').next().unwrap(),
            "unknown field(s) spec.ingres, spec.replica"
        );
    }

    #[test]
    fn misspelt_shared_state_fields_are_named() {
        let err = parse(&format!(
            "{CR}  sharedState:\n    redisSecretRf:\n      name: redis\n      key: url\n"
        ))
        .unwrap_err();
        assert_eq!(
            err.to_string().split(':').next().unwrap(),
            "unknown field(s) spec.sharedState.redisSecretRf"
        );
        let err = parse(&format!(
            "{CR}  notion:\n    webhookSecretRef:\n      name: w\n      keys: token\n"
        ))
        .unwrap_err();
        assert!(
            err.to_string()
                .contains("spec.notion.webhookSecretRef.keys"),
            "{err}"
        );
    }

    #[test]
    fn secret_references_render_as_references() {
        let cr = parse(&format!(
            "{CR}  publicUrl: https://m.example.com\n  notion:\n    webhookSecretRef: {{name: notion-webhook, key: token}}\n  sharedState:\n    redisSecretRef: {{name: redis, key: url}}\n"
        ))
        .unwrap();
        let out = render(&cr, &Facts::default()).unwrap();
        for (var, secret, key) in [
            (
                "NOTION_WEBHOOK_VERIFICATION_TOKEN",
                "notion-webhook",
                "token",
            ),
            ("NOTION_MCP_REDIS_URL", "redis", "url"),
        ] {
            let at = out.find(&format!("name: {var}")).unwrap();
            let entry = &out[at..(at + 160).min(out.len())];
            assert!(entry.contains("secretKeyRef:"), "{entry}");
            assert!(entry.contains(&format!("name: {secret}")), "{entry}");
            assert!(entry.contains(&format!("key: {key}")), "{entry}");
            assert!(!entry.contains("value:"), "{entry}");
        }
    }

    #[test]
    fn every_example_has_only_known_fields() {
        let dir = concat!(env!("CARGO_MANIFEST_DIR"), "/examples");
        for entry in std::fs::read_dir(dir).unwrap().flatten() {
            let text = std::fs::read_to_string(entry.path()).unwrap();
            parse(&text).unwrap_or_else(|e| panic!("{}: {e}", entry.path().display()));
        }
    }
}
