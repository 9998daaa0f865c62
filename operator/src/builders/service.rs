//! ClusterIP Service in front of the server pods (port 80 named `http`, so ingress proxies speak plain HTTP).

use super::{base_name, meta, selector_labels};
use crate::crd::NotionMcpRemote;
use k8s_openapi::api::core::v1::{Service, ServicePort, ServiceSpec};
use k8s_openapi::apimachinery::pkg::util::intstr::IntOrString;

/// The server's Service.
pub fn service(cr: &NotionMcpRemote) -> Service {
    Service {
        metadata: meta(cr, base_name(cr)),
        spec: Some(ServiceSpec {
            type_: Some("ClusterIP".into()),
            selector: Some(selector_labels(cr)),
            ports: Some(vec![ServicePort {
                name: Some("http".into()),
                port: 80,
                protocol: Some("TCP".into()),
                target_port: Some(IntOrString::String("http".into())),
                ..ServicePort::default()
            }]),
            ..ServiceSpec::default()
        }),
        status: None,
    }
}
