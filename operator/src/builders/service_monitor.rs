//! ServiceMonitor (Prometheus Operator, monitoring.coreos.com/v1) scraping `/metrics`, only when its CRD is
//! installed. Built as a `DynamicObject` so the operator does not depend on the Prometheus Operator's types.

use super::{Facts, base_name, meta, selector_labels};
use crate::crd::NotionMcpRemote;
use kube::api::{ApiResource, DynamicObject, GroupVersionKind};
use serde_json::json;

/// API resource of `ServiceMonitor`.
pub fn api_resource() -> ApiResource {
    ApiResource::from_gvk_with_plural(
        &GroupVersionKind::gvk("monitoring.coreos.com", "v1", "ServiceMonitor"),
        "servicemonitors",
    )
}

/// The server's ServiceMonitor, when wanted and its CRD exists.
pub fn service_monitor(cr: &NotionMcpRemote, facts: &Facts) -> Option<DynamicObject> {
    if !(cr.spec.monitoring.service_monitor && facts.service_monitor_crd) {
        return None;
    }
    let mut object = DynamicObject::new(&base_name(cr), &api_resource());
    object.metadata = meta(cr, base_name(cr));
    object.data = json!({
        "spec": {
            "selector": { "matchLabels": selector_labels(cr) },
            "endpoints": [{
                "port": "http",
                "path": notion_mcp_contract::paths::METRICS,
                "interval": cr.spec.monitoring.interval,
            }],
        }
    });
    Some(object)
}
