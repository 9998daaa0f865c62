//! `notion-fake` binary: serves the fake Notion API on a loopback address until SIGINT/SIGTERM,
//! optionally sending signed webhook events of every write to a receiver.

use anyhow::Context;
use clap::Parser;
use notion_fake::{FakeNotion, Fixture, RateLimit, WebhookSubscription};

/// A stateful, in-memory fake of the Notion REST API and its OAuth endpoints.
#[derive(Debug, Parser)]
#[command(name = "notion-fake", version)]
struct Args {
    /// Address to listen on.
    #[arg(long, default_value = "127.0.0.1:8787")]
    listen: String,
    /// Fixture file (JSON or YAML); default: the built-in "Acme Demo" sample.
    #[arg(long)]
    fixture: Option<std::path::PathBuf>,
    /// Per-connection rate limit (requests per second); off when absent.
    #[arg(long)]
    rate_limit_per_second: Option<f64>,
    /// Bucket size for --rate-limit-per-second.
    #[arg(long, default_value_t = 3)]
    burst: u32,
    /// Send signed webhook events of every write here (http only), e.g.
    /// http://127.0.0.1:8080/webhooks/notion.
    #[arg(long, requires = "webhook_token")]
    webhook_url: Option<String>,
    /// Verification token (`secret_…`) of the webhook subscription: the signing key.
    #[arg(long, requires = "webhook_url")]
    webhook_token: Option<String>,
    /// Wait before the first delivery attempt of each event.
    #[arg(long, default_value_t = 0)]
    webhook_delay_ms: u64,
    /// Payload shape of the webhook subscription (2025-09-03, 2026-03-11 or 2022-06-28).
    #[arg(long, default_value = notion_fake::webhooks::DEFAULT_API_VERSION)]
    webhook_api_version: String,
    /// Send the one-time verification request once listening.
    #[arg(long, requires = "webhook_url")]
    webhook_verify: bool,
}

async fn shutdown_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let term = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let term = std::future::pending::<()>();
    tokio::select! {
        _ = ctrl_c => {},
        _ = term => {},
    }
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env().unwrap_or_else(|_| "info".into()),
        )
        .with_writer(std::io::stderr)
        .init();
    let args = Args::parse();
    let fixture = match &args.fixture {
        Some(path) => Fixture::from_path(path)?,
        None => Fixture::sample(),
    };
    let fake = FakeNotion::try_new(fixture).context("building the fake from the fixture")?;
    if let Some(rps) = args.rate_limit_per_second {
        fake.set_rate_limit(Some(RateLimit::new(rps, args.burst)));
    }
    let listener = tokio::net::TcpListener::bind(&args.listen)
        .await
        .with_context(|| format!("binding {}", args.listen))?;
    let addr = listener.local_addr()?;
    println!("notion-fake listening on http://{addr}");
    if let (Some(url), Some(token)) = (&args.webhook_url, &args.webhook_token) {
        let subscription = WebhookSubscription::new(url, token)
            .api_version(&args.webhook_api_version)
            .delay(std::time::Duration::from_millis(args.webhook_delay_ms));
        fake.subscribe_webhooks(subscription);
        if args.webhook_verify {
            fake.send_webhook_verification();
        }
        tracing::info!(%url, "sending webhook events");
    }
    axum::serve(listener, fake.router())
        .with_graceful_shutdown(shutdown_signal())
        .await
        .context("serving")?;
    Ok(())
}
