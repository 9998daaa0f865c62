//! ConfigMap `<name>-dashboard` with the Grafana dashboard of one instance, labelled for Grafana's dashboard
//! sidecar (`grafana_dashboard: "1"`), when `monitoring.grafanaDashboard` is on.
//!
//! The dashboard is deploy/monitoring/dashboard.json, embedded at build time (the file the Helm chart ships for
//! every instance). Each instance's copy gets its own uid and title, so several copies never clash in Grafana, and
//! its `namespace` and `job` variables preset to this instance; the data key names the instance too, since the
//! sidecar writes every dashboard of a folder under its key.

use super::{digest, meta};
use crate::crd::NotionMcpRemote;
use k8s_openapi::api::core::v1::ConfigMap;
use kube::ResourceExt;
use serde_json::{Value, json};
use std::collections::BTreeMap;

/// The dashboard, as committed.
pub const DASHBOARD: &str = include_str!("../../../deploy/monitoring/dashboard.json");
/// Label Grafana's dashboard sidecar (kube-prometheus-stack, the grafana chart) looks for, and its value.
pub const SIDECAR_LABEL: (&str, &str) = ("grafana_dashboard", "1");

/// Name of the dashboard ConfigMap.
pub fn dashboard_name(cr: &NotionMcpRemote) -> String {
    format!("{}-dashboard", cr.name_any())
}

/// The dashboard ConfigMap, when wanted.
pub fn dashboard(cr: &NotionMcpRemote) -> Option<ConfigMap> {
    if !cr.spec.monitoring.grafana_dashboard {
        return None;
    }
    let namespace = cr.namespace().unwrap_or_else(|| "default".into());
    let name = cr.name_any();
    let mut metadata = meta(cr, dashboard_name(cr));
    metadata
        .labels
        .get_or_insert_with(BTreeMap::new)
        .insert(SIDECAR_LABEL.0.into(), SIDECAR_LABEL.1.into());
    Some(ConfigMap {
        metadata,
        data: Some(BTreeMap::from([(
            format!("notion-mcp-remote-{namespace}-{name}.json"),
            dashboard_json(&namespace, &name),
        )])),
        ..ConfigMap::default()
    })
}

/// The dashboard for the instance `name` in `namespace`: its own uid (at most 40 characters, as Grafana wants)
/// and title, and the `namespace` and `job` variables set to it.
pub fn dashboard_json(namespace: &str, name: &str) -> String {
    let Ok(mut dashboard) = serde_json::from_str::<Value>(DASHBOARD) else {
        return DASHBOARD.to_string();
    };
    let uid = format!("nmr-{}", digest(format!("{namespace}/{name}").as_bytes()));
    dashboard["uid"] = json!(uid);
    dashboard["title"] = json!(format!("Notion MCP remote: {namespace}/{name}"));
    if let Some(variables) = dashboard
        .pointer_mut("/templating/list")
        .and_then(Value::as_array_mut)
    {
        for variable in variables {
            let value = match variable.get("name").and_then(Value::as_str) {
                Some("namespace") => namespace,
                Some("job") => name,
                _ => continue,
            };
            variable["current"] = json!({"selected": true, "text": [value], "value": [value]});
        }
    }
    serde_json::to_string(&dashboard).unwrap_or_else(|_| DASHBOARD.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_instance_gets_its_own_uid_title_and_preset_variables() {
        let a: Value =
            serde_json::from_str(&dashboard_json("team-a", "notion-mcp")).unwrap_or_default();
        let b: Value =
            serde_json::from_str(&dashboard_json("team-b", "notion-mcp")).unwrap_or_default();
        let source: Value = serde_json::from_str(DASHBOARD).unwrap_or_default();
        assert_ne!(a["uid"], b["uid"]);
        assert_ne!(a["uid"], source["uid"]);
        assert!(a["uid"].as_str().is_some_and(|u| u.len() <= 40));
        assert_eq!(a["title"], "Notion MCP remote: team-a/notion-mcp");
        let current = |d: &Value, var: &str| {
            d["templating"]["list"]
                .as_array()
                .and_then(|l| l.iter().find(|v| v["name"] == var))
                .map(|v| v["current"]["value"][0].clone())
        };
        assert_eq!(current(&a, "namespace"), Some(json!("team-a")));
        assert_eq!(current(&a, "job"), Some(json!("notion-mcp")));
        assert_eq!(a["panels"], source["panels"], "panels as committed");
    }
}
