//! A minimal OTLP/HTTP receiver for tests (feature `receiver`): it accepts `POST /v1/traces` on loopback,
//! keeps every export's bytes, and decodes the spans (`ExportTraceServiceRequest`, protobuf) into plain
//! values with hex ids and attribute values as text.

use crate::Traces;
use axum::routing::post;
use opentelemetry_proto::tonic::collector::trace::v1::ExportTraceServiceRequest;
use opentelemetry_proto::tonic::common::v1::{AnyValue, KeyValue, any_value};
use prost::Message;
use std::collections::BTreeMap;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

/// The running receiver.
#[derive(Clone)]
pub struct Receiver {
    /// The OTLP endpoint to configure (`http://127.0.0.1:<port>`, without `/v1/traces`).
    pub endpoint: String,
    exports: Arc<Mutex<Vec<Vec<u8>>>>,
}

/// One exported span.
#[derive(Debug, Clone)]
pub struct Span {
    pub trace: String,
    pub id: String,
    /// Empty for a root span.
    pub parent: String,
    pub name: String,
    /// `SpanKind` as a number (1 internal, 2 server, 3 client).
    pub kind: i32,
    pub attrs: BTreeMap<String, String>,
    /// Events: name and attributes.
    pub events: Vec<(String, BTreeMap<String, String>)>,
    /// `service.name` of the span's resource.
    pub service: String,
}

impl Span {
    pub fn attr(&self, key: &str) -> Option<&str> {
        self.attrs.get(key).map(String::as_str)
    }
}

/// `SpanKind::Server`.
pub const SERVER: i32 = 2;
/// `SpanKind::Client`.
pub const CLIENT: i32 = 3;

impl Receiver {
    /// Start on 127.0.0.1 (a free port), answering every export with 200.
    pub async fn start() -> std::io::Result<Self> {
        let exports: Arc<Mutex<Vec<Vec<u8>>>> = Arc::default();
        let sink = exports.clone();
        let app = axum::Router::new().route(
            "/v1/traces",
            post(move |body: axum::body::Bytes| {
                let sink = sink.clone();
                async move {
                    sink.lock()
                        .unwrap_or_else(PoisonError::into_inner)
                        .push(body.to_vec());
                    // An empty ExportTraceServiceResponse: everything accepted.
                    http::StatusCode::OK
                }
            }),
        );
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
        let endpoint = format!("http://{}", listener.local_addr()?);
        tokio::spawn(async move { axum::serve(listener, app).await });
        Ok(Receiver { endpoint, exports })
    }

    /// Every byte received so far (all exports, concatenated).
    pub fn bytes(&self) -> Vec<u8> {
        self.exports
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .concat()
    }

    /// Every span received so far.
    pub fn spans(&self) -> Result<Vec<Span>, prost::DecodeError> {
        let exports = self
            .exports
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .clone();
        let mut spans = Vec::new();
        for body in exports {
            let export = ExportTraceServiceRequest::decode(body.as_slice())?;
            for rs in export.resource_spans {
                let resource = attrs(&rs.resource.map(|r| r.attributes).unwrap_or_default());
                let service = resource.get("service.name").cloned().unwrap_or_default();
                for s in rs.scope_spans.into_iter().flat_map(|ss| ss.spans) {
                    spans.push(Span {
                        trace: hex(&s.trace_id),
                        id: hex(&s.span_id),
                        parent: hex(&s.parent_span_id),
                        name: s.name,
                        kind: s.kind,
                        attrs: attrs(&s.attributes),
                        events: s
                            .events
                            .iter()
                            .map(|e| (e.name.clone(), attrs(&e.attributes)))
                            .collect(),
                        service: service.clone(),
                    });
                }
            }
        }
        Ok(spans)
    }

    /// Flush `traces` until `ready` holds for the spans received (spans end when their last handle is
    /// dropped, a moment after the work they cover), for at most `patience`; the spans received then.
    pub async fn wait_for(
        &self,
        traces: &Traces,
        patience: Duration,
        ready: impl Fn(&[Span]) -> bool,
    ) -> Result<Vec<Span>, String> {
        let deadline = tokio::time::Instant::now() + patience;
        loop {
            traces.flush().await?;
            let spans = self.spans().map_err(|e| e.to_string())?;
            if ready(&spans) || tokio::time::Instant::now() >= deadline {
                return Ok(spans);
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

fn text(v: Option<&AnyValue>) -> String {
    match v.and_then(|v| v.value.as_ref()) {
        Some(any_value::Value::StringValue(s)) => s.clone(),
        Some(any_value::Value::IntValue(i)) => i.to_string(),
        Some(any_value::Value::BoolValue(b)) => b.to_string(),
        Some(any_value::Value::DoubleValue(d)) => d.to_string(),
        other => format!("{other:?}"),
    }
}

fn attrs(kvs: &[KeyValue]) -> BTreeMap<String, String> {
    kvs.iter()
        .map(|kv| (kv.key.clone(), text(kv.value.as_ref())))
        .collect()
}
