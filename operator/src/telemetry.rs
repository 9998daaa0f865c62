//! Logging: JSON lines (the default, for log collectors) or human-readable text, filtered by an EnvFilter;
//! and, only when `--otlp-endpoint` is set, OpenTelemetry traces of the reconcile passes and applies exported
//! over OTLP/HTTP ([`notion_mcp_traces`]). The log filter does not limit the traces.

use notion_mcp_traces::Source;
pub use notion_mcp_traces::{TraceArgs, Traces};
use tracing_subscriber::layer::SubscriberExt;
use tracing_subscriber::util::SubscriberInitExt;
use tracing_subscriber::{EnvFilter, Layer, Registry};

/// Log output format.
#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
pub enum LogFormat {
    Json,
    Pretty,
}

/// Who the operator's spans come from: `service.name` `notion-mcp-operator` by default.
pub const SOURCE: Source = Source {
    default_name: "notion-mcp-operator",
    version: env!("CARGO_PKG_VERSION"),
    targets: &["notion_mcp_operator"],
};

/// Installs the global subscriber; `filter` uses EnvFilter syntax (e.g. `info,kube=warn`). With an endpoint in
/// `traces`, spans are exported too: the handle returned is shut down before exiting. Call inside the runtime.
pub fn init(filter: &str, format: LogFormat, traces: &TraceArgs) -> Result<Option<Traces>, String> {
    let filter =
        EnvFilter::try_new(filter).map_err(|e| format!("invalid log filter {filter:?}: {e}"))?;
    let layer = tracing_subscriber::fmt::layer().with_writer(std::io::stderr);
    let logs: Box<dyn Layer<Registry> + Send + Sync> = match format {
        LogFormat::Json => layer
            .json()
            .flatten_event(true)
            .with_current_span(false)
            .with_filter(filter)
            .boxed(),
        LogFormat::Pretty => layer.with_filter(filter).boxed(),
    };
    let exporting = notion_mcp_traces::layer(traces, SOURCE)?;
    let (exporting, handle) = match exporting {
        Some((layer, handle)) => (Some(layer), Some(handle)),
        None => (None, None),
    };
    tracing_subscriber::registry()
        .with(logs)
        .with(exporting)
        .try_init()
        .map_err(|e| format!("cannot install the logger: {e}"))?;
    Ok(handle)
}
