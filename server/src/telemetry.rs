//! Logging and traces: JSON lines in production, human-readable output on a terminal; and, only when
//! `--otlp-endpoint` is set, OpenTelemetry spans exported over OTLP/HTTP ([`notion_mcp_traces`]).
//!
//! The log filter (`--log`) applies to the log output alone: traces always get the server's own spans
//! (one per HTTP request, tool call, Notion request and attempt, OAuth step), whatever the log level.

use crate::config::LogFormat;
use notion_mcp_traces::Source;
pub use notion_mcp_traces::{TraceArgs, Traces};
use std::io::IsTerminal;
use tracing_subscriber::layer::SubscriberExt;
use tracing_subscriber::util::SubscriberInitExt;
use tracing_subscriber::{EnvFilter, Layer, Registry};

/// Who the server's spans come from: `service.name` `notion-mcp-remote` by default.
pub const SOURCE: Source = Source {
    default_name: "notion-mcp-remote",
    version: env!("CARGO_PKG_VERSION"),
    targets: &["notion_mcp_remote"],
};

/// Install the global tracing subscriber, logs only. Safe to call once per process.
pub fn init(format: LogFormat, filter: &str) {
    // Already installed (tests, embedding): keep the existing subscriber.
    let _ = tracing_subscriber::registry()
        .with(log_layer(format, filter))
        .try_init();
}

/// Install logs and, when `traces` names an endpoint, the trace exporter; returns its handle, to
/// shut down before exiting. Must be called inside the Tokio runtime.
pub fn init_with_traces(
    format: LogFormat,
    filter: &str,
    traces: &TraceArgs,
) -> Result<Option<Traces>, String> {
    let logs = log_layer(format, filter);
    let Some((exporting, handle)) = notion_mcp_traces::layer(traces, SOURCE)? else {
        let _ = tracing_subscriber::registry().with(logs).try_init();
        return Ok(None);
    };
    tracing_subscriber::registry()
        .with(logs)
        .with(exporting)
        .try_init()
        .map_err(|e| format!("cannot install the trace exporter: {e}"))?;
    Ok(Some(handle))
}

/// The log output, filtered by `filter` (EnvFilter syntax; `info` when it does not parse).
fn log_layer(format: LogFormat, filter: &str) -> Box<dyn Layer<Registry> + Send + Sync> {
    let filter = EnvFilter::try_new(filter).unwrap_or_else(|e| {
        eprintln!("invalid log filter '{filter}' ({e}); using 'info'");
        EnvFilter::new("info")
    });
    let json = match format {
        LogFormat::Json => true,
        LogFormat::Pretty => false,
        LogFormat::Auto => !std::io::stderr().is_terminal(),
    };
    let layer = tracing_subscriber::fmt::layer().with_writer(std::io::stderr);
    if json {
        layer
            .json()
            .flatten_event(true)
            .with_current_span(true)
            .with_span_list(false)
            .with_filter(filter)
            .boxed()
    } else {
        layer.compact().with_filter(filter).boxed()
    }
}
