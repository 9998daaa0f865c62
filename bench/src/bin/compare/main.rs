//! `notion-mcp-compare`: the same load against notion-mcp-remote and the official Notion MCP server
//! (`@notionhq/notion-mcp-server`, Streamable HTTP), both calling one in-process fake Notion with zero
//! latency, driven by the same client code.
//!
//! Servers take turns (ours, official, ours, official… for `--rounds` rounds), each a fresh process:
//! start, idle RSS, `tools/list` size, warm-up, then closed-loop `tools/call` load at each connection
//! count (one MCP session per connection where the server uses sessions) for the equivalent read —
//! our `get_page` and its `API-retrieve-a-page`, one Notion request each — and RSS of the process
//! tree after load. Medians across rounds are compared against the targets (≥ 10× throughput, ≥ 12×
//! and at most 0.10 ms of our server's CPU per call at 32 connections, ≤ 1/5 memory) and optionally
//! plotted to a PNG.
//!
//! `cargo build --release -p notion-mcp-remote -p notion-mcp-bench`, then
//! `target/release/notion-mcp-compare --plot docs/img/compare.png`; `--quick` checks it end to end.

mod run;
mod summary;

use anyhow::{Context, Result, bail};
use clap::Parser;
use notion_mcp_bench::load::Budget;
use notion_mcp_bench::official::Official;
use notion_mcp_bench::plot;
use notion_mcp_bench::process::{clock_ticks_per_second, server_binary};
use notion_mcp_bench::{Enforce, first_page_id, http_client};
use run::{Ctx, Kind, Sample, run_server};
use std::path::PathBuf;
use std::time::Duration;
use summary::{Summary, brief, per_round_table};

#[derive(Debug, Parser)]
#[command(
    name = "notion-mcp-compare",
    about = "notion-mcp-remote vs the official Notion MCP server"
)]
struct Args {
    /// A smoke run: 1 round, a few calls per step, both servers.
    #[arg(long)]
    quick: bool,
    /// Exit non-zero when a target is missed (full runs of a release build only; quick runs and debug
    /// builds print the verdict and exit 0).
    #[arg(long)]
    enforce: bool,
    /// Rounds (each runs both servers, ours first).
    #[arg(long, default_value_t = 5)]
    rounds: usize,
    /// Seconds of load per connection count.
    #[arg(long, default_value_t = 10.0)]
    seconds: f64,
    /// Concurrent connections (comma separated).
    #[arg(long, value_delimiter = ',', default_values_t = [8, 32])]
    connections: Vec<usize>,
    /// Calls before measuring (JIT and connection warm-up).
    #[arg(long, default_value_t = 500)]
    warmup_calls: usize,
    /// Write the plot (PNG) here.
    #[arg(long)]
    plot: Option<PathBuf>,
    /// Where the official server is installed (default: `official-mcp` in the target directory).
    #[arg(long)]
    official_dir: Option<PathBuf>,
    /// The Node.js that runs the official server (default: the pinned one it installs, else `node`).
    #[arg(long, env = "NOTION_MCP_BENCH_NODE")]
    node: Option<PathBuf>,
    /// An extra argument for our server, repeatable (e.g. `--ours-arg=--cache-max-age-secs=600`).
    #[arg(long = "ours-arg", allow_hyphen_values = true)]
    ours_args: Vec<String>,
}

#[tokio::main]
async fn main() -> Result<()> {
    let mut args = Args::parse();
    if args.quick {
        args.rounds = 1;
        args.warmup_calls = args.warmup_calls.min(20);
    }
    if args.connections.is_empty() || args.connections.contains(&0) || args.rounds == 0 {
        bail!("--connections needs positive counts and --rounds at least 1");
    }
    let budget = if args.quick {
        Budget::Calls(200)
    } else {
        Budget::Duration(Duration::from_secs_f64(args.seconds.max(0.1)))
    };
    let ours_bin = server_binary()?;
    if !ours_bin.exists() {
        bail!(
            "{} not found: cargo build --release -p notion-mcp-remote -p notion-mcp-bench",
            ours_bin.display()
        );
    }
    let official_dir = match args.official_dir.clone() {
        Some(d) => d,
        None => Official::default_dir()?,
    };
    let official = Official::ensure(&official_dir, args.node.clone())?;

    let fake = notion_fake::FakeNotion::start(notion_fake::Fixture::sample()).await?;
    let page_id = first_page_id(&http_client(1)?, fake.base_url()).await?;
    let ctx = Ctx {
        fake,
        page_id,
        connections: args.connections.clone(),
        budget,
        warmup_calls: args.warmup_calls,
        ticks_per_ms: clock_ticks_per_second() as f64 / 1000.0,
        official,
        ours_args: args.ours_args.clone(),
    };
    eprintln!(
        "comparing {} with @notionhq/notion-mcp-server {} (Node {}): {} round(s), connections {:?}, {}",
        ours_bin.display(),
        ctx.official.version(),
        ctx.official.node_version(),
        args.rounds,
        args.connections,
        match budget {
            Budget::Calls(n) => format!("{n} calls per step"),
            Budget::Duration(d) => format!("{:.1} s per step", d.as_secs_f64()),
        }
    );

    let mut samples: Vec<(Kind, Sample)> = Vec::new();
    for round in 1..=args.rounds {
        for kind in [Kind::Ours, Kind::Official] {
            let s = run_server(&ctx, kind)
                .await
                .with_context(|| format!("round {round}, {}", kind.label()))?;
            eprintln!("round {round} {}: {}", kind.label(), brief(&s));
            samples.push((kind, s));
        }
    }

    let summary = Summary::new(&samples, &args.connections);
    println!(
        "notion-mcp-remote vs @notionhq/notion-mcp-server {} (Node {}), {} cores, {} round(s), medians",
        ctx.official.version(),
        ctx.official.node_version(),
        std::thread::available_parallelism().map_or(0, |n| n.get()),
        args.rounds
    );
    println!();
    summary.table(&args.connections).print();
    println!();
    per_round_table(&samples, &args.connections).print();
    println!();
    let missed = summary.verdict(&args.connections);
    if let Some(path) = &args.plot {
        if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
            std::fs::create_dir_all(dir)?;
        }
        let font = plot::find_font();
        let title = format!(
            "notion-mcp-remote vs official notion-mcp-server {} — same fake Notion, same client, medians of {} round(s)",
            ctx.official.version(),
            args.rounds
        );
        let text = plot::render(
            path,
            &title,
            &summary.panels(&args.connections),
            font.as_deref(),
        )?;
        println!(
            "plot: {}{}",
            path.display(),
            if text {
                ""
            } else {
                " (no TTF font found: drawn without text)"
            }
        );
    }
    let errors: usize = samples
        .iter()
        .flat_map(|(_, s)| &s.levels)
        .map(|l| l.errors)
        .sum();
    ctx.fake.shutdown().await;
    if errors > 0 {
        bail!("{errors} calls failed");
    }
    println!(
        "targets {}",
        if missed.is_empty() { "met" } else { "missed" }
    );
    Enforce::new(args.enforce, args.quick).check(&missed)
}
