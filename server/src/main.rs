//! The `notion-mcp-remote` binary: `serve` (default), `demo`, `grants list|revoke` or `check-config`.

use clap::Parser;
use notion_mcp_remote::config::{AuthMode, Cli, Command, DEMO_TOKEN, Settings};
use notion_mcp_remote::{app, telemetry};
use std::process::ExitCode;

/// mimalloc instead of the system allocator: about a fifth less CPU per tool call than glibc's malloc
/// under load (docs/benchmarks.md).
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn main() -> ExitCode {
    let cli = Cli::parse();
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("error: cannot start the async runtime: {e}");
            return ExitCode::FAILURE;
        }
    };
    let result = runtime.block_on(async move {
        match cli.command {
            #[cfg(feature = "demo")]
            Some(Command::Demo(args)) => {
                telemetry::init(args.log_format, &args.log);
                notion_mcp_remote::demo::run(args).await
            }
            Some(Command::Serve(args)) => serve(*args).await,
            Some(Command::Grants(args)) => {
                admin_logging();
                let mut out = std::io::stdout().lock();
                notion_mcp_remote::admin::run(*args, &mut out).await
            }
            Some(Command::Webhooks(args)) => {
                admin_logging();
                let mut out = std::io::stdout().lock();
                notion_mcp_remote::admin::webhooks(*args, &mut out).await
            }
            Some(Command::CheckConfig(args)) => {
                notion_mcp_remote::check::run(*args, &mut std::io::stdout().lock())
            }
            None => serve(cli.serve).await,
        }
    });
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            tracing::error!(error = format!("{e:#}"), "exiting");
            eprintln!("error: {e:#}");
            ExitCode::FAILURE
        }
    }
}

async fn serve(args: notion_mcp_remote::config::ServeArgs) -> anyhow::Result<()> {
    let traces = telemetry::init_with_traces(args.log_format, &args.log, &args.traces)
        .map_err(anyhow::Error::msg)?;
    // In demo auth mode, callers without a bearer use the sample workspace's token.
    let demo_token = (args.auth_mode == AuthMode::Demo).then(|| DEMO_TOKEN.to_string());
    let result = match Settings::from_args(args) {
        Ok(settings) => app::run(settings, demo_token).await,
        Err(e) => Err(e.into()),
    };
    // The spans of the last requests (the drain included) go out before the process ends.
    if let Some(traces) = traces
        && let Err(e) = traces.shutdown().await
    {
        tracing::warn!(error = %e, "traces were not all exported");
    }
    result
}

/// Admin commands log like `serve` does: `NOTION_MCP_LOG_FORMAT` (default auto: JSON when stderr is not
/// a terminal) and `NOTION_MCP_LOG` (default `warn`, so their output is only what they print).
fn admin_logging() {
    use clap::ValueEnum;
    use notion_mcp_remote::config::LogFormat;
    let format = std::env::var(notion_mcp_contract::env::LOG_FORMAT)
        .ok()
        .and_then(|f| LogFormat::from_str(&f, true).ok())
        .unwrap_or(LogFormat::Auto);
    let filter = std::env::var(notion_mcp_contract::env::LOG).unwrap_or_else(|_| "warn".into());
    telemetry::init(format, &filter);
}
