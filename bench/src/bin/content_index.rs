//! `notion-mcp-bench-content-index`: the workspace content index behind `search`, on a generated
//! workspace in the fake (default 5,000 pages of ~50 blocks; `--quick`: 300).
//!
//! A full crawl runs with the server's own code (listing + one Markdown read per page) against an
//! unthrottled fake; the time a real workspace at 3 req/s would take is computed from the request
//! count (running it for real would take hours), both at the whole budget and at the crawler's
//! default share (0.3). Then: index size on disk, search latency p50/p99 over the index (in
//! process, before the per-caller access check, which is one Notion read per unproven hit), recall
//! of phrases planted in some pages, and the resident memory the index added.
//! Run: `cargo run --release -p notion-mcp-bench --bin notion-mcp-bench-content-index [-- --quick]`.

use anyhow::{Context, Result, bail};
use clap::Parser;
use notion_fake::{FakeNotion, Fixture, PageFixture};
use notion_mcp_bench::process::tree_footprint;
use notion_mcp_bench::stats::percentile_sorted;
use notion_mcp_remote::content_index::credentials::Credentials;
use notion_mcp_remote::content_index::engine::Filters;
use notion_mcp_remote::content_index::{IndexConfig, Runtime, query};
use notion_mcp_remote::metrics::Metrics;
use notion_mcp_remote::notion::{
    ClientConfig, NotionAuth, NotionClient, NotionVersion, PacingConfig,
};
use serde_json::json;
use std::time::{Duration, Instant};
use tokio_util::sync::CancellationToken;

const TOKEN: &str = "ntn_bench";
const WORDS: &[&str] = &[
    "project",
    "budget",
    "review",
    "meeting",
    "design",
    "roadmap",
    "customer",
    "launch",
    "metric",
    "hiring",
    "release",
    "feedback",
    "quarter",
    "planning",
    "incident",
    "summary",
    "research",
    "support",
    "pricing",
    "contract",
    "onboarding",
    "security",
    "migration",
    "analytics",
];

#[derive(Parser)]
struct Args {
    /// Pages in the generated workspace.
    #[arg(long, default_value_t = 5000)]
    pages: usize,
    /// Blocks per page (paragraphs, with a toggle holding some of them).
    #[arg(long, default_value_t = 50)]
    blocks: usize,
    /// Pages holding a unique planted phrase (recall is measured on them).
    #[arg(long, default_value_t = 200)]
    planted: usize,
    /// Searches timed.
    #[arg(long, default_value_t = 2000)]
    queries: usize,
    /// A small run (300 pages, 20 planted, 300 searches) for a quick check.
    #[arg(long)]
    quick: bool,
}

/// Deterministic filler text for block `b` of page `p`.
fn sentence(p: usize, b: usize) -> String {
    let w = |k: usize| WORDS[(p * 31 + b * 7 + k * 13) % WORDS.len()];
    format!(
        "The {} {} covers {} and {} for team {}.",
        w(0),
        w(1),
        w(2),
        w(3),
        (p + b) % 97
    )
}

fn planted_phrase(i: usize) -> String {
    format!(
        "zephyr {} marker{i}",
        ["amber", "cobalt", "indigo", "saffron"][i % 4]
    )
}

fn workspace(pages: usize, blocks: usize, planted: usize) -> Fixture {
    let mut b = Fixture::builder().workspace("Bench", TOKEN);
    for p in 0..pages {
        let mut children: Vec<serde_json::Value> = (0..blocks.saturating_sub(5))
            .map(|i| json!({"paragraph": sentence(p, i)}))
            .collect();
        let mut nested: Vec<serde_json::Value> = (0..4)
            .map(|i| json!({"paragraph": sentence(p, 100 + i)}))
            .collect();
        if p < planted {
            nested.push(json!({"paragraph": format!("Hidden: {}.", planted_phrase(p))}));
        }
        children.push(json!({"toggle": "Details", "children": nested}));
        b = b.page(
            PageFixture::new(&format!("Page {p}"))
                .id(&format!("bench-{p}"))
                .children(children),
        );
    }
    b.build()
}

fn rss_kib() -> u64 {
    tree_footprint(std::process::id()).map_or(0, |f| f.rss_kb)
}

#[tokio::main]
async fn main() -> Result<()> {
    let mut args = Args::parse();
    if args.quick {
        args.pages = 300;
        args.planted = 20;
        args.queries = 300;
    }
    let args = args;
    let built = Instant::now();
    let fake = FakeNotion::start(workspace(args.pages, args.blocks, args.planted)).await?;
    eprintln!(
        "workspace of {} pages generated in {:.1}s",
        args.pages,
        built.elapsed().as_secs_f64()
    );
    let metrics = Metrics::new();
    let client = NotionClient::new(
        ClientConfig {
            base_url: fake.base_url().parse()?,
            // Unthrottled: the crawler's share is taken of these rates.
            pacing: PacingConfig {
                enabled: false,
                per_second: 1e6,
                workspace_per_second: 1e6,
                ..PacingConfig::default()
            },
            ..ClientConfig::default()
        },
        metrics.clone(),
    )?;
    let dir = std::env::temp_dir().join(format!("bench-content-index-{}", std::process::id()));
    let rss_before = rss_kib();
    let runtime = Runtime::open(
        IndexConfig {
            dir: Some(dir.clone()),
            crawl_share: 1.0,
            ..IndexConfig::default()
        },
        &client,
        &metrics,
    )?
    .with_credentials(Credentials::new(
        None,
        vec![NotionAuth::new(TOKEN, NotionVersion::default())],
    ));
    let index = runtime.index.clone();
    let workspace_id = client
        .workspace_id(&NotionAuth::new(TOKEN, NotionVersion::default()))
        .await
        .context("the fake names no workspace")?;
    fake.fake.reset_log();
    let stop = CancellationToken::new();
    let started = Instant::now();
    let task = runtime.start(stop.clone());
    loop {
        let p = index.progress(&workspace_id);
        if p.listed && p.indexed >= args.pages {
            break;
        }
        if started.elapsed() > Duration::from_secs(3600) {
            bail!("the crawl did not finish within an hour: {p:?}");
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let crawl = started.elapsed();
    // Let the worker commit what it has.
    tokio::time::sleep(Duration::from_millis(500)).await;
    let log = fake.fake.requests();
    let lists = log.iter().filter(|r| r.path == "/v1/search").count();
    let contents = log.iter().filter(|r| r.path.ends_with("/markdown")).count();
    let requests = log.len();
    let rss_after = rss_kib();

    let mut latencies = Vec::with_capacity(args.queries);
    let mut found = 0usize;
    let none = Filters::default();
    for i in 0..args.queries {
        let text = match i % 4 {
            0 if args.planted > 0 => format!("\"{}\"", planted_phrase(i % args.planted)),
            1 => format!(
                "{} {}",
                WORDS[i % WORDS.len()],
                WORDS[(i * 5 + 3) % WORDS.len()]
            ),
            2 => format!("{}*", &WORDS[i % WORDS.len()][..4]),
            _ => format!(
                "\"{} {}\"",
                WORDS[i % WORDS.len()],
                WORDS[(i + 1) % WORDS.len()]
            ),
        };
        let clauses = query::parse(&text)?;
        let t = Instant::now();
        let hits = index.search(&workspace_id, &clauses, &none, 20)?;
        latencies.push(t.elapsed().as_secs_f64() * 1000.0);
        if i % 4 == 0 && args.planted > 0 {
            let want = notion_fake::stable_id(&format!("bench-{}", i % args.planted));
            found += usize::from(hits.first().is_some_and(|h| h.id == want));
        }
    }
    latencies.sort_by(f64::total_cmp);
    let planted_queries = if args.planted > 0 {
        args.queries.div_ceil(4)
    } else {
        0
    };
    stop.cancel();
    let _ = task.await;
    let disk = index.disk_bytes();
    fake.shutdown().await;
    std::fs::remove_dir_all(&dir).ok();

    let at = |rate: f64| requests as f64 / rate;
    println!("| Measure | Value |");
    println!("|---|---|");
    println!(
        "| Workspace | {} pages × ~{} blocks ({} with a planted phrase) |",
        args.pages, args.blocks, args.planted
    );
    println!(
        "| Full-crawl Notion requests | {requests} ({lists} listings, {contents} page contents) |"
    );
    println!(
        "| Full crawl, measured (unthrottled fake) | {:.1} s |",
        crawl.as_secs_f64()
    );
    println!(
        "| Full crawl at 3 req/s (computed) | {:.0} s ({:.1} min) |",
        at(3.0),
        at(3.0) / 60.0
    );
    println!(
        "| Full crawl at the default share, 0.3 × 3 req/s (computed) | {:.0} s ({:.1} min) |",
        at(0.9),
        at(0.9) / 60.0
    );
    println!(
        "| Index on disk (with crawl state) | {:.1} MiB |",
        disk as f64 / 1_048_576.0
    );
    println!(
        "| Search p50 / p99 ({} queries) | {:.2} / {:.2} ms |",
        args.queries,
        percentile_sorted(&latencies, 0.5),
        percentile_sorted(&latencies, 0.99)
    );
    println!("| Recall of planted phrases (top hit) | {found} / {planted_queries} |");
    println!(
        "| RSS added by the index (after the crawl) | {:.1} MiB |",
        rss_after.saturating_sub(rss_before) as f64 / 1024.0
    );
    Ok(())
}
