//! Ingress exposing the Service. Defaults suit the Tailscale operator (class `tailscale`, optional Funnel);
//! nginx, traefik and others work by changing the class and annotations.

use super::{base_name, meta};
use crate::crd::NotionMcpRemote;
use k8s_openapi::api::networking::v1::{
    HTTPIngressPath, HTTPIngressRuleValue, Ingress, IngressBackend, IngressRule,
    IngressServiceBackend, IngressSpec, IngressTLS, ServiceBackendPort,
};

/// Ingress class of the Tailscale operator.
pub const TAILSCALE_CLASS: &str = "tailscale";
/// Annotation that turns on Tailscale Funnel (public internet access).
pub const FUNNEL_ANNOTATION: &str = "tailscale.com/funnel";
/// Label selecting the Tailscale ProxyClass of the ingress proxy.
pub const PROXY_CLASS_LABEL: &str = "tailscale.com/proxy-class";

fn backend(cr: &NotionMcpRemote) -> IngressBackend {
    IngressBackend {
        service: Some(IngressServiceBackend {
            name: base_name(cr),
            port: Some(ServiceBackendPort {
                name: Some("http".into()),
                ..ServiceBackendPort::default()
            }),
        }),
        ..IngressBackend::default()
    }
}

/// The server's Ingress, when `spec.ingress` is set.
pub fn ingress(cr: &NotionMcpRemote) -> Option<Ingress> {
    let spec = cr.spec.ingress.as_ref()?;
    let tailscale = spec.class_name == TAILSCALE_CLASS;
    let mut metadata = meta(cr, base_name(cr));
    let mut annotations = spec.annotations.clone();
    if tailscale && spec.funnel {
        annotations.insert(FUNNEL_ANNOTATION.into(), "true".into());
    }
    metadata.annotations = (!annotations.is_empty()).then_some(annotations);
    if let (Some(proxy_class), Some(labels)) = (&spec.proxy_class, metadata.labels.as_mut()) {
        labels.insert(PROXY_CLASS_LABEL.into(), proxy_class.clone());
    }
    let tls = spec.host.as_ref().map(|host| {
        vec![IngressTLS {
            hosts: Some(vec![host.clone()]),
            secret_name: spec.tls_secret_name.clone(),
        }]
    });
    // The Tailscale proxy serves the default backend on :443 of the TLS host; other controllers route by rule.
    let (default_backend, rules) = if tailscale {
        (Some(backend(cr)), None)
    } else {
        let rule = IngressRule {
            host: spec.host.clone(),
            http: Some(HTTPIngressRuleValue {
                paths: vec![HTTPIngressPath {
                    path: Some("/".into()),
                    path_type: "Prefix".into(),
                    backend: backend(cr),
                }],
            }),
        };
        (None, Some(vec![rule]))
    };
    Some(Ingress {
        metadata,
        spec: Some(IngressSpec {
            ingress_class_name: Some(spec.class_name.clone()),
            default_backend,
            rules,
            tls,
        }),
        status: None,
    })
}
