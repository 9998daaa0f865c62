//! NetworkPolicy of the server pods (opt-in): ingress from the ingress controller's namespace and Prometheus,
//! egress to DNS, HTTPS (Notion and the Kubernetes API) and, with shared state, the Redis port; with traces, the
//! OTLP collector's port.

use super::{base_name, meta, selector_labels};
use crate::crd::NotionMcpRemote;
use k8s_openapi::api::networking::v1::{
    NetworkPolicy, NetworkPolicyEgressRule, NetworkPolicyIngressRule, NetworkPolicyPeer,
    NetworkPolicyPort, NetworkPolicySpec,
};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::LabelSelector;
use k8s_openapi::apimachinery::pkg::util::intstr::IntOrString;
use std::collections::BTreeMap;

/// Namespace of the ingress controller's pods: explicit, else the usual one for well-known classes.
pub fn controller_namespace(cr: &NotionMcpRemote) -> Option<String> {
    let ingress = cr.spec.ingress.as_ref()?;
    if let Some(ns) = &ingress.controller_namespace {
        return Some(ns.clone());
    }
    match ingress.class_name.as_str() {
        "tailscale" => Some("tailscale".into()),
        "nginx" => Some("ingress-nginx".into()),
        "traefik" => Some("traefik".into()),
        _ => None,
    }
}

fn namespace_peer(namespace: &str) -> NetworkPolicyPeer {
    NetworkPolicyPeer {
        namespace_selector: Some(LabelSelector {
            match_labels: Some(BTreeMap::from([(
                "kubernetes.io/metadata.name".to_string(),
                namespace.to_string(),
            )])),
            ..LabelSelector::default()
        }),
        ..NetworkPolicyPeer::default()
    }
}

fn port(protocol: &str, port: IntOrString) -> NetworkPolicyPort {
    NetworkPolicyPort {
        protocol: Some(protocol.into()),
        port: Some(port),
        ..NetworkPolicyPort::default()
    }
}

/// The server's NetworkPolicy, when `spec.networkPolicy` is true.
pub fn network_policy(cr: &NotionMcpRemote) -> Option<NetworkPolicy> {
    if !cr.spec.network_policy {
        return None;
    }
    let http = || vec![port("TCP", IntOrString::String("http".into()))];
    let mut ingress = Vec::new();
    match controller_namespace(cr) {
        Some(ns) => ingress.push(NetworkPolicyIngressRule {
            from: Some(vec![namespace_peer(&ns)]),
            ports: Some(http()),
        }),
        // Unknown controller location: allow the port from anywhere rather than cut the service off.
        None if cr.spec.ingress.is_some() => ingress.push(NetworkPolicyIngressRule {
            from: None,
            ports: Some(http()),
        }),
        None => {}
    }
    if cr.spec.monitoring.service_monitor {
        ingress.push(NetworkPolicyIngressRule {
            from: Some(vec![namespace_peer(
                &cr.spec.monitoring.prometheus_namespace,
            )]),
            ports: Some(http()),
        });
    }
    let mut egress = vec![
        NetworkPolicyEgressRule {
            to: None,
            ports: Some(vec![
                port("UDP", IntOrString::Int(53)),
                port("TCP", IntOrString::Int(53)),
            ]),
        },
        NetworkPolicyEgressRule {
            to: None,
            ports: Some(vec![
                port("TCP", IntOrString::Int(443)),
                port("TCP", IntOrString::Int(6443)),
            ]),
        },
    ];
    if let Some(shared) = &cr.spec.shared_state {
        egress.push(NetworkPolicyEgressRule {
            to: None,
            ports: Some(vec![port("TCP", IntOrString::Int(shared.redis_port))]),
        });
    }
    if let Some(otlp) = cr.spec.observability.as_ref().and_then(|o| o.otlp_port()) {
        egress.push(NetworkPolicyEgressRule {
            to: None,
            ports: Some(vec![port("TCP", IntOrString::Int(otlp))]),
        });
    }
    Some(NetworkPolicy {
        metadata: meta(cr, base_name(cr)),
        spec: Some(NetworkPolicySpec {
            pod_selector: Some(LabelSelector {
                match_labels: Some(selector_labels(cr)),
                ..LabelSelector::default()
            }),
            policy_types: Some(vec!["Ingress".into(), "Egress".into()]),
            ingress: Some(ingress),
            egress: Some(egress),
        }),
    })
}
