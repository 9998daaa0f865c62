//! OpenTelemetry traces of the server and the operator: their settings (`--otlp-endpoint` /
//! `OTEL_EXPORTER_OTLP_ENDPOINT`, `OTEL_SERVICE_NAME`), the tracing layer that turns their spans into
//! OpenTelemetry spans and exports them over OTLP/HTTP (protobuf, batched on Tokio), and the W3C trace
//! context (`traceparent`, `tracestate`) of incoming requests.
//!
//! Off by default: without an endpoint no layer is installed and nothing is recorded or sent. What is
//! exported is decided here, not by the log filter: the spans of the program's own crates (at any
//! level), their warnings and errors, and their events given an explicit `name:` (such as the read
//! cache's hit or miss); nothing of the dependencies. A span's attributes are the fields it declares,
//! so "no token, secret, content, query text or URL query in a span" is kept where spans are declared,
//! and checked end to end by the server's tests.

use clap::Args;
use notion_mcp_contract::env;
use opentelemetry::KeyValue;
use opentelemetry::propagation::{Extractor, TextMapPropagator};
use opentelemetry::trace::TracerProvider as _;
use opentelemetry_otlp::{Protocol, SpanExporter, WithExportConfig};
use opentelemetry_sdk::Resource;
use opentelemetry_sdk::propagation::TraceContextPropagator;
use opentelemetry_sdk::runtime::Tokio;
use opentelemetry_sdk::trace::SdkTracerProvider;
use opentelemetry_sdk::trace::span_processor_with_async_runtime::BatchSpanProcessor;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;
use tracing::{Level, Metadata, Subscriber};
use tracing_opentelemetry::OpenTelemetrySpanExt;
use tracing_subscriber::Layer;
use tracing_subscriber::filter::filter_fn;
use tracing_subscriber::registry::LookupSpan;
use url::Url;

#[cfg(feature = "receiver")]
pub mod receiver;

/// Where traces go (both off unless the endpoint is set). An empty value counts as unset, as
/// OpenTelemetry's environment variables specify.
#[derive(Debug, Clone, Default, Args)]
pub struct TraceArgs {
    /// OTLP/HTTP endpoint of an OpenTelemetry collector, e.g. http://collector:4318: spans are sent
    /// as protobuf to <endpoint>/v1/traces. Unset: no traces are recorded or sent. Headers for the
    /// collector (an API key) are read from OTEL_EXPORTER_OTLP_HEADERS (`key=value,...`).
    #[arg(long, env = env::OTLP_ENDPOINT)]
    pub otlp_endpoint: Option<String>,

    /// `service.name` of the exported spans; default: the program's name.
    #[arg(long, env = env::OTEL_SERVICE_NAME)]
    pub otel_service_name: Option<String>,
}

impl TraceArgs {
    /// The endpoint, `None` when traces are off, or why it cannot work (the flag to fix, the reason).
    pub fn endpoint(&self) -> Result<Option<Url>, (&'static str, String)> {
        let Some(text) = self.otlp_endpoint.as_deref().map(str::trim) else {
            return Ok(None);
        };
        if text.is_empty() {
            return Ok(None);
        }
        let bad = |why: String| Err(("--otlp-endpoint", why));
        let url = match Url::parse(text) {
            Ok(url) => url,
            Err(e) => {
                return bad(format!(
                    "is not a URL ({e}); expected e.g. http://collector:4318"
                ));
            }
        };
        if !matches!(url.scheme(), "http" | "https") {
            return bad(format!(
                "scheme must be http or https (OTLP over HTTP), got '{}'",
                url.scheme()
            ));
        }
        if url.host_str().is_none_or(str::is_empty) {
            return bad("has no host".into());
        }
        if url.query().is_some() || url.fragment().is_some() {
            return bad("must not have a query or fragment".into());
        }
        Ok(Some(url))
    }

    /// Why these settings cannot work, if they cannot (the flag to fix, the reason).
    pub fn check(&self) -> Result<(), (&'static str, String)> {
        self.endpoint().map(drop)
    }

    /// Where spans are posted: `<endpoint>/v1/traces`, or `None` when traces are off or the
    /// endpoint is not usable (see [`Self::check`]).
    pub fn traces_url(&self) -> Option<String> {
        let url = self.endpoint().ok().flatten()?;
        Some(format!("{}/v1/traces", url.as_str().trim_end_matches('/')))
    }

    /// `service.name`: the one set, else `default`.
    fn service_name(&self, default: &str) -> String {
        self.otel_service_name
            .as_deref()
            .map(str::trim)
            .filter(|n| !n.is_empty())
            .unwrap_or(default)
            .to_string()
    }
}

/// Who the spans come from.
#[derive(Debug, Clone, Copy)]
pub struct Source {
    /// `service.name` unless `OTEL_SERVICE_NAME` / `--otel-service-name` says otherwise.
    pub default_name: &'static str,
    /// `service.version`.
    pub version: &'static str,
    /// Tracing targets (crate names) whose spans and events are exported.
    pub targets: &'static [&'static str],
}

/// Longest wait for the last export at exit.
pub const SHUTDOWN_WAIT: Duration = Duration::from_secs(5);

/// Whether a layer was installed in this process (so requests' trace context is worth reading).
static ON: AtomicBool = AtomicBool::new(false);

/// The exporting half of traces: flush it before exiting.
#[derive(Debug, Clone)]
pub struct Traces {
    provider: SdkTracerProvider,
}

impl Traces {
    /// Export every finished span now and wait for the collector's answer.
    pub async fn flush(&self) -> Result<(), String> {
        let provider = self.provider.clone();
        tokio::task::spawn_blocking(move || provider.force_flush())
            .await
            .map_err(|e| format!("the flush did not complete: {e}"))?
            .map_err(|e| format!("cannot export spans: {e}"))
    }

    /// Export what is left and stop exporting (at exit; spans ending later are dropped). Waits at
    /// most [`SHUTDOWN_WAIT`] for the collector, so a silent one cannot hold the process up.
    pub async fn shutdown(self) -> Result<(), String> {
        let provider = self.provider;
        let stopped = tokio::task::spawn_blocking(move || provider.shutdown());
        match tokio::time::timeout(SHUTDOWN_WAIT, stopped).await {
            Err(_) => Err(format!(
                "the collector did not take the last spans within {} s",
                SHUTDOWN_WAIT.as_secs()
            )),
            Ok(joined) => joined
                .map_err(|e| format!("the shutdown did not complete: {e}"))?
                .map_err(|e| format!("cannot export the last spans: {e}")),
        }
    }
}

/// The tracing layer exporting `source`'s spans to `args`' endpoint and its [`Traces`] handle, or
/// `None` when no endpoint is set. Must be called inside a Tokio runtime (the exporter runs on it).
pub fn layer<S>(
    args: &TraceArgs,
    source: Source,
) -> Result<Option<(impl Layer<S> + Send + Sync + 'static, Traces)>, String>
where
    S: Subscriber + for<'a> LookupSpan<'a> + Send + Sync,
{
    args.check()
        .map_err(|(flag, why)| format!("{flag} {why}"))?;
    let Some(endpoint) = args.traces_url() else {
        return Ok(None);
    };
    // The exporter's reqwest client uses rustls without a built-in provider, like the rest.
    let _ = rustls::crypto::ring::default_provider().install_default();
    let exporter = SpanExporter::builder()
        .with_http()
        .with_protocol(Protocol::HttpBinary)
        .with_endpoint(endpoint)
        .build()
        .map_err(|e| format!("cannot set up the OTLP exporter: {e}"))?;
    let name = args.service_name(source.default_name);
    let resource = Resource::builder()
        .with_service_name(name.clone())
        .with_attribute(KeyValue::new("service.version", source.version))
        .build();
    let provider = SdkTracerProvider::builder()
        .with_span_processor(BatchSpanProcessor::builder(exporter, Tokio).build())
        .with_resource(resource)
        .build();
    let tracer = provider.tracer(name);
    let targets = source.targets;
    let layer = tracing_opentelemetry::layer()
        .with_tracer(tracer)
        // Only the attributes the spans declare: no code location, thread, tracing target or
        // busy/idle times; and no OpenTelemetry context to activate (nothing else reads it).
        .with_location(false)
        .with_threads(false)
        .with_target(false)
        .with_tracked_inactivity(false)
        .with_context_activation(false)
        .with_filter(filter_fn(move |meta| exported(meta, targets)));
    ON.store(true, Ordering::Relaxed);
    Ok(Some((layer, Traces { provider })))
}

/// Spans of `targets`, their warnings and errors, and their events named on purpose.
fn exported(meta: &Metadata<'_>, targets: &[&str]) -> bool {
    let ours = targets.iter().any(|t| {
        meta.target()
            .strip_prefix(t)
            .is_some_and(|rest| rest.is_empty() || rest.starts_with("::"))
    });
    ours && (meta.is_span() || *meta.level() <= Level::WARN || !meta.name().starts_with("event "))
}

/// Makes `span` (not yet entered) the child of the W3C trace context in `headers` (`traceparent`,
/// `tracestate`), when traces are on and the request carries one.
pub fn adopt_remote_parent(span: &tracing::Span, headers: &http::HeaderMap) {
    if !ON.load(Ordering::Relaxed) || !headers.contains_key("traceparent") {
        return;
    }
    let parent = TraceContextPropagator::new().extract(&Headers(headers));
    // Fails only for a span already started or without the layer; it then keeps its own parent.
    let _ = span.set_parent(parent);
}

/// Reads propagation headers from an HTTP request.
struct Headers<'a>(&'a http::HeaderMap);

impl Extractor for Headers<'_> {
    fn get(&self, key: &str) -> Option<&str> {
        self.0.get(key).and_then(|v| v.to_str().ok())
    }

    fn keys(&self) -> Vec<&str> {
        self.0.keys().map(http::HeaderName::as_str).collect()
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;
    use clap::Parser;

    #[derive(Parser)]
    struct Cli {
        #[command(flatten)]
        traces: TraceArgs,
    }

    fn parse(args: &[&str]) -> TraceArgs {
        let mut argv = vec!["x"];
        argv.extend_from_slice(args);
        Cli::try_parse_from(argv).unwrap().traces
    }

    #[test]
    fn the_traces_url_is_under_the_endpoint() {
        assert_eq!(parse(&[]).traces_url(), None);
        for endpoint in ["http://collector:4318", "http://collector:4318/"] {
            let args = parse(&["--otlp-endpoint", endpoint]);
            assert_eq!(
                args.traces_url().as_deref(),
                Some("http://collector:4318/v1/traces")
            );
            assert!(args.check().is_ok());
        }
        let args = parse(&["--otlp-endpoint", "https://gw.example/otlp"]);
        assert_eq!(
            args.traces_url().as_deref(),
            Some("https://gw.example/otlp/v1/traces")
        );
    }

    #[test]
    fn without_an_endpoint_nothing_is_installed() {
        let source = Source {
            default_name: "x",
            version: "0",
            targets: &["x"],
        };
        let installed = layer::<tracing_subscriber::Registry>(&parse(&[]), source).unwrap();
        assert!(installed.is_none());
        assert!(
            !ON.load(Ordering::Relaxed),
            "trace context is not read either"
        );
    }

    #[test]
    fn bad_endpoints_name_the_flag() {
        for bad in [
            "grpc://collector:4317",
            "http://c:4318/?key=1",
            "collector:4318/x",
        ] {
            let (flag, _) = parse(&["--otlp-endpoint", bad]).check().unwrap_err();
            assert_eq!(flag, "--otlp-endpoint", "{bad}");
        }
    }

    #[test]
    fn empty_values_count_as_unset() {
        let args = parse(&["--otlp-endpoint", " ", "--otel-service-name", ""]);
        assert!(args.check().is_ok());
        assert_eq!(args.traces_url(), None);
        assert_eq!(args.service_name("default"), "default");
        let named = parse(&["--otel-service-name", "team-a"]);
        assert_eq!(named.service_name("default"), "team-a");
    }

    /// Keeps the metadata of every span and event it sees.
    struct Probe;

    thread_local! {
        static SEEN: std::cell::RefCell<Vec<&'static Metadata<'static>>> =
            const { std::cell::RefCell::new(Vec::new()) };
    }

    impl Subscriber for Probe {
        fn enabled(&self, _: &Metadata<'_>) -> bool {
            true
        }
        fn new_span(&self, span: &tracing::span::Attributes<'_>) -> tracing::span::Id {
            SEEN.with(|s| s.borrow_mut().push(span.metadata()));
            tracing::span::Id::from_u64(1)
        }
        fn record(&self, _: &tracing::span::Id, _: &tracing::span::Record<'_>) {}
        fn record_follows_from(&self, _: &tracing::span::Id, _: &tracing::span::Id) {}
        fn event(&self, event: &tracing::Event<'_>) {
            SEEN.with(|s| s.borrow_mut().push(event.metadata()));
        }
        fn enter(&self, _: &tracing::span::Id) {}
        fn exit(&self, _: &tracing::span::Id) {}
    }

    #[test]
    fn only_our_spans_warnings_and_named_events_are_exported() {
        tracing::subscriber::with_default(Probe, || {
            let _span = tracing::debug_span!(target: "app::deep", "ours at debug");
            let _span = tracing::info_span!(target: "dep", "a dependency's span");
            tracing::debug!(target: "app::x", "plain debug");
            tracing::info!(target: "app", "plain info");
            tracing::warn!(target: "app::x", "warning");
            tracing::debug!(name: "cache", target: "app::x", "named");
            tracing::warn!(target: "dep", "a dependency's warning");
            tracing::warn!(target: "apple", "another crate with the same prefix");
        });
        let kept: Vec<bool> =
            SEEN.with(|s| s.borrow().iter().map(|m| exported(m, &["app"])).collect());
        assert_eq!(kept, [true, false, false, false, true, true, false, false]);
    }
}
