//! Spec type of the server's OpenTelemetry traces: where the server exports its spans.

use kube::KubeSchema;
use serde::{Deserialize, Serialize};

/// OpenTelemetry traces of the server (off unless `otlpEndpoint` is set).
#[derive(KubeSchema, Serialize, Deserialize, Clone, Debug, Default, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct ObservabilitySpec {
    /// OTLP/HTTP endpoint of an OpenTelemetry collector, e.g. `http://otel-collector.observability:4318`: the
    /// server's `OTEL_EXPORTER_OTLP_ENDPOINT`; spans go to `<otlpEndpoint>/v1/traces` as protobuf. With
    /// `networkPolicy`, egress to its port is allowed. Collector headers (an API key) go in `env` as
    /// `OTEL_EXPORTER_OTLP_HEADERS`, from a Secret.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[x_kube(validation = Rule::new("self.matches('^https?://[^/?#]+(/[^?#]*)?$')")
        .message("otlpEndpoint must be an http(s) URL without query or fragment, e.g. http://otel-collector:4318"))]
    pub otlp_endpoint: Option<String>,
}

impl ObservabilitySpec {
    /// The TCP port of the endpoint: explicit, else the scheme's (443 for https, 80 for http).
    pub fn otlp_port(&self) -> Option<i32> {
        let endpoint = self.otlp_endpoint.as_deref()?;
        let (scheme, rest) = endpoint.split_once("://")?;
        let authority = rest.split('/').next().unwrap_or_default();
        let explicit = authority
            .rsplit_once(':')
            .and_then(|(_, p)| p.parse::<i32>().ok());
        Some(explicit.unwrap_or(if scheme == "https" { 443 } else { 80 }))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_port_is_explicit_or_the_schemes() {
        let port = |e: &str| {
            ObservabilitySpec {
                otlp_endpoint: Some(e.into()),
            }
            .otlp_port()
        };
        assert_eq!(port("http://otel-collector:4318"), Some(4318));
        assert_eq!(port("https://otlp.example.com/otlp"), Some(443));
        assert_eq!(port("http://collector"), Some(80));
        assert_eq!(port("http://[::1]:4318/"), Some(4318));
        assert_eq!(port("http://[::1]"), Some(80));
        assert_eq!(ObservabilitySpec::default().otlp_port(), None);
    }
}
