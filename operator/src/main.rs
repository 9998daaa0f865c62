//! notion-mcp-operator: `run` the controller, print the CRD (`crdgen`) or the children of a resource (`render`).

use anyhow::Context as _;
use clap::{Parser, Subcommand};
use kube::CustomResourceExt;
use notion_mcp_operator::builders::Facts;
use notion_mcp_operator::crd::NotionMcpRemote;
use notion_mcp_operator::{render, yaml};
use std::io::Read;
use std::path::PathBuf;

/// Kubernetes operator for notion-mcp-remote: one NotionMcpRemote resource in, a public MCP URL out.
#[derive(Debug, Parser)]
#[command(name = "notion-mcp-operator", version, about, long_about = None)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Print the CustomResourceDefinition as YAML.
    Crdgen,
    /// Print the objects the operator would apply for a NotionMcpRemote read from a file (`-` for stdin).
    Render(RenderArgs),
}

#[derive(Debug, clap::Args)]
struct RenderArgs {
    /// File holding one NotionMcpRemote (YAML), or `-` for stdin.
    #[arg(short = 'f', long = "filename")]
    file: PathBuf,
    /// Render as if the ServiceMonitor CRD were not installed.
    #[arg(long)]
    no_service_monitor: bool,
    /// Render as if the ingress controller had reported this host name.
    #[arg(long)]
    ingress_hostname: Option<String>,
}

fn main() -> anyhow::Result<()> {
    let cli = Cli::parse();
    match cli.command {
        Command::Crdgen => {
            print!("{}", yaml::to_yaml(&NotionMcpRemote::crd())?);
            Ok(())
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
    };
    print!("{}", render::render(&cr, &facts)?);
    Ok(())
}
