//! notion-mcp-operator: `run` the controller, print the CRD (`crdgen`) or the children of a resource (`render`).

use anyhow::Context as _;
use clap::{Parser, Subcommand};
use kube::CustomResourceExt;
use kube::api::ListParams;
use kube::runtime::events::{Recorder, Reporter};
use kube::{Api, Client};
use notion_mcp_operator::builders::Facts;
use notion_mcp_operator::controller;
use notion_mcp_operator::crd::NotionMcpRemote;
use notion_mcp_operator::http::{self, HttpState};
use notion_mcp_operator::leader::{self, LeaseConfig};
use notion_mcp_operator::metrics::Metrics;
use notion_mcp_operator::reconcile::{Context, random_key};
use notion_mcp_operator::telemetry::{self, LogFormat};
use notion_mcp_operator::{render, yaml};
use std::io::{Read, Write};
use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use tokio::sync::watch;

/// Kubernetes operator for notion-mcp-remote: one NotionMcpRemote resource in, a public MCP URL out.
#[derive(Debug, Parser)]
#[command(name = "notion-mcp-operator", version, about, long_about = None)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Run the controller (with leader election, health and metrics server).
    Run(Box<RunArgs>),
    /// Print the CustomResourceDefinition as YAML.
    Crdgen,
    /// Print the objects the operator would apply for a NotionMcpRemote read from a file (`-` for stdin).
    Render(RenderArgs),
}

#[derive(Debug, clap::Args)]
struct RunArgs {
    /// Namespaces to watch (comma separated); all namespaces when empty.
    #[arg(long, env = "NOTION_MCP_OPERATOR_NAMESPACES", value_delimiter = ',')]
    namespaces: Vec<String>,
    /// Address of the health and metrics server.
    #[arg(
        long,
        env = "NOTION_MCP_OPERATOR_LISTEN",
        default_value = "0.0.0.0:8080"
    )]
    listen: SocketAddr,
    /// Elect a leader on a Lease so several replicas are safe (turn off only for a single replica).
    #[arg(long, env = "NOTION_MCP_OPERATOR_LEADER_ELECTION", default_value_t = true, action = clap::ArgAction::Set)]
    leader_election: bool,
    /// Name of the leader Lease.
    #[arg(
        long,
        env = "NOTION_MCP_OPERATOR_LEASE_NAME",
        default_value = "notion-mcp-operator"
    )]
    lease_name: String,
    /// Namespace of the leader Lease (the operator's own namespace).
    #[arg(long, env = "POD_NAMESPACE", default_value = "default")]
    lease_namespace: String,
    /// Identity in the Lease (the pod name).
    #[arg(long, env = "POD_NAME")]
    identity: Option<String>,
    /// Resources reconciled in parallel.
    #[arg(long, env = "NOTION_MCP_OPERATOR_CONCURRENCY", default_value_t = 4)]
    concurrency: u16,
    /// Log filter (tracing EnvFilter syntax).
    #[arg(
        long,
        env = "NOTION_MCP_OPERATOR_LOG",
        default_value = "info,kube=warn"
    )]
    log: String,
    /// Log format.
    #[arg(long, env = "NOTION_MCP_OPERATOR_LOG_FORMAT", value_enum, default_value_t = LogFormat::Json)]
    log_format: LogFormat,
    // OpenTelemetry traces: --otlp-endpoint, --otel-service-name (off unless the endpoint is set).
    #[command(flatten)]
    traces: telemetry::TraceArgs,
}

#[derive(Debug, clap::Args)]
struct RenderArgs {
    /// File holding one NotionMcpRemote (YAML), or `-` for stdin.
    #[arg(short = 'f', long = "filename")]
    file: PathBuf,
    /// Render as if the ServiceMonitor CRD were not installed.
    #[arg(long)]
    no_service_monitor: bool,
    /// Render as if the PrometheusRule CRD were not installed.
    #[arg(long)]
    no_prometheus_rule: bool,
    /// Render as if the ingress controller had reported this host name.
    #[arg(long)]
    ingress_hostname: Option<String>,
}

fn main() -> anyhow::Result<()> {
    let cli = Cli::parse();
    match cli.command {
        Command::Run(args) => tokio::runtime::Builder::new_multi_thread()
            .enable_all()
            .build()?
            .block_on(run(*args)),
        Command::Crdgen => {
            let text = yaml::to_yaml(&NotionMcpRemote::crd())?;
            match std::io::stdout().lock().write_all(text.as_bytes()) {
                Err(e) if e.kind() != std::io::ErrorKind::BrokenPipe => Err(e.into()),
                _ => Ok(()),
            }
        }
        Command::Render(args) => render_file(&args),
    }
}

fn render_file(args: &RenderArgs) -> anyhow::Result<()> {
    let text = if args.file.as_os_str() == "-" {
        let mut text = String::new();
        std::io::stdin().read_to_string(&mut text)?;
        text
    } else {
        std::fs::read_to_string(&args.file)
            .with_context(|| format!("cannot read {}", args.file.display()))?
    };
    let cr = render::parse(&text)?;
    let facts = Facts {
        ingress_hostname: args.ingress_hostname.clone(),
        secrets_checksum: String::new(),
        service_monitor_crd: !args.no_service_monitor,
        prometheus_rule_crd: !args.no_prometheus_rule,
    };
    let text = format!(
        "{}{}",
        render::summary(&cr, &facts),
        render::render(&cr, &facts)?
    );
    // A reader that stops early (`| head`) is not an error.
    match std::io::stdout().lock().write_all(text.as_bytes()) {
        Err(e) if e.kind() != std::io::ErrorKind::BrokenPipe => Err(e.into()),
        _ => Ok(()),
    }
}

/// Resolves when SIGTERM or Ctrl-C arrives.
async fn termination() {
    let ctrl_c = tokio::signal::ctrl_c();
    #[cfg(unix)]
    {
        let mut term =
            match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
                Ok(term) => term,
                Err(_) => {
                    let _ = ctrl_c.await;
                    return;
                }
            };
        tokio::select! {
            _ = ctrl_c => {}
            _ = term.recv() => {}
        }
    }
    #[cfg(not(unix))]
    let _ = ctrl_c.await;
}

/// Resolves once `rx` holds `value` (or its sender is gone).
async fn wait_for(mut rx: watch::Receiver<bool>, value: bool) {
    let _ = rx.wait_for(|v| *v == value).await;
}

async fn run(args: RunArgs) -> anyhow::Result<()> {
    let traces =
        telemetry::init(&args.log, args.log_format, &args.traces).map_err(anyhow::Error::msg)?;
    let result = control(args).await;
    if let Some(traces) = traces
        && let Err(e) = traces.shutdown().await
    {
        tracing::warn!(error = %e, "traces were not all exported");
    }
    result
}

async fn control(args: RunArgs) -> anyhow::Result<()> {
    let client = Client::try_default()
        .await
        .context("cannot configure the Kubernetes client (in-cluster or KUBECONFIG)")?;

    // Fail early and clearly when the CRD is missing.
    let probe: Api<NotionMcpRemote> = match args.namespaces.first() {
        Some(ns) => Api::namespaced(client.clone(), ns),
        None => Api::all(client.clone()),
    };
    probe.list(&ListParams::default().limit(1)).await.context(
        "cannot list NotionMcpRemote resources: is the CRD installed (notion-mcp-operator crdgen | kubectl apply -f -) and may this ServiceAccount list them?",
    )?;
    // The Prometheus Operator's kinds the operator creates when they are served.
    let monitoring: Vec<String> = client
        .list_api_group_resources("monitoring.coreos.com/v1")
        .await
        .map(|list| list.resources.into_iter().map(|r| r.name).collect())
        .unwrap_or_default();
    let service_monitor_crd = monitoring.iter().any(|r| r == "servicemonitors");
    let prometheus_rule_crd = monitoring.iter().any(|r| r == "prometheusrules");
    tracing::info!(service_monitor_crd, prometheus_rule_crd, namespaces = ?args.namespaces, "starting");

    let metrics = Metrics::new()?;
    let ready = Arc::new(AtomicBool::new(false));
    let (stop_tx, stop_rx) = watch::channel(false);
    tokio::spawn(async move {
        termination().await;
        tracing::info!("shutting down");
        let _ = stop_tx.send(true);
    });
    let http_state = HttpState {
        metrics: metrics.clone(),
        ready: ready.clone(),
    };
    let http = tokio::spawn(http::serve(
        args.listen,
        http_state,
        wait_for(stop_rx.clone(), true),
    ));

    let identity = args.identity.clone().unwrap_or_else(|| {
        std::env::var("HOSTNAME")
            .unwrap_or_else(|_| format!("notion-mcp-operator-{}", std::process::id()))
    });
    let ctx = Arc::new(Context {
        recorder: Recorder::new(
            client.clone(),
            Reporter {
                controller: notion_mcp_operator::builders::MANAGER.into(),
                instance: Some(identity.clone()),
            },
        ),
        client: client.clone(),
        metrics: metrics.clone(),
        service_monitor_crd,
        prometheus_rule_crd,
        new_key: random_key,
    });
    let leadership = if args.leader_election {
        let config = LeaseConfig {
            name: args.lease_name.clone(),
            namespace: args.lease_namespace.clone(),
            identity: identity.clone(),
            duration_secs: 15,
            grace_secs: 5,
        };
        Some(leader::elect(client.clone(), &config).await?)
    } else {
        None
    };
    ready.store(true, Ordering::Relaxed);

    loop {
        if *stop_rx.borrow() {
            break;
        }
        if let Some(leading) = &leadership {
            tracing::info!(%identity, "waiting for leadership");
            tokio::select! {
                _ = wait_for(leading.clone(), true) => {}
                _ = wait_for(stop_rx.clone(), true) => break,
            }
            tracing::info!(%identity, "leading");
        }
        metrics.leader.set(1);
        let lost = leadership.clone();
        let stop = stop_rx.clone();
        // Stop on termination, or when leadership is lost.
        let (halt_tx, halt_rx) = watch::channel(false);
        let halter = tokio::spawn(async move {
            match lost {
                Some(lost) => tokio::select! {
                    _ = wait_for(lost, false) => {}
                    _ = wait_for(stop, true) => {}
                },
                None => wait_for(stop, true).await,
            }
            let _ = halt_tx.send(true);
        });
        let namespaces: Vec<Option<String>> = if args.namespaces.is_empty() {
            vec![None]
        } else {
            args.namespaces.iter().cloned().map(Some).collect()
        };
        let runs = namespaces.into_iter().map(|ns| {
            controller::run(
                client.clone(),
                ns,
                ctx.clone(),
                args.concurrency,
                wait_for(halt_rx.clone(), true),
            )
        });
        futures::future::join_all(runs).await;
        halter.abort();
        metrics.leader.set(0);
        if leadership.is_none() {
            break;
        }
        tracing::warn!("lost leadership; controller stopped");
    }
    drop(leadership);
    let _ = http.await;
    Ok(())
}
