//! `notion-mcp-bench-relations`: how close the relation resolver runs to a Notion rate limit.
//!
//! Against an in-process fake Notion limited to 3 req/s with a burst of 10 (Notion's classic
//! average), the resolver's own steps (page read, complete relation ids, relation schema, page
//! fetch) run with the client pacing at the same budget. For each scenario it prints the requests
//! made, the 429s the fake answered, the elapsed time, the limit-bound minimum
//! (`(requests - burst) / rate`) and the overhead over that minimum. Scenarios: 250 related pages via
//! the data-source scan, the same 250 forced page by page (the pacer keeps one request of its burst
//! as headroom), and 40 sparse targets in a 4,000-row data source (probe, then page reads).
//! Run: `cargo run --release -p notion-mcp-bench --bin notion-mcp-bench-relations`.

use anyhow::{Context, Result, anyhow};
use notion_fake::{DatabaseFixture, FakeNotion, Fixture, GeneratedIds, PageFixture, RateLimit};
use notion_mcp_remote::metrics::Metrics;
use notion_mcp_remote::notion::relations::{self, FetchOptions};
use notion_mcp_remote::notion::{
    ClientConfig, NotionAuth, NotionClient, NotionVersion, PacingConfig, endpoints,
};
use serde_json::{Value, json};
use std::time::Instant;

const TOKEN: &str = "ntn_bench";
const RATE: f64 = 3.0;
const BURST: u32 = 10;

struct Row {
    scenario: String,
    requests: usize,
    rate_limited: usize,
    elapsed: f64,
    minimum: f64,
}

#[tokio::main]
async fn main() -> Result<()> {
    let fanout = Fixture::builder()
        .workspace("Bench", TOKEN)
        .relation_fanout("Fan", 250)
        .build();
    let fan_src = GeneratedIds::source_row("Fan").to_string();
    let sparse_src = notion_fake::stable_id("src").to_string();
    let mut rows = Vec::new();
    {
        let fake = FakeNotion::start(fanout).await?;
        rows.push(
            run(
                &fake,
                "250 targets, data-source scan",
                &fan_src,
                false,
                BURST,
            )
            .await?,
        );
        rows.push(run(&fake, "250 targets, forced per page", &fan_src, true, BURST).await?);
        fake.shutdown().await;
    }
    {
        let fake = FakeNotion::start(sparse()).await?;
        rows.push(
            run(
                &fake,
                "40 of 4,000 rows (probe + reads)",
                &sparse_src,
                false,
                BURST,
            )
            .await?,
        );
        fake.shutdown().await;
    }
    println!("relation resolver vs a {RATE} req/s (burst {BURST}) limit");
    println!(
        "| scenario | requests | 429s | elapsed | limit-bound minimum | overhead |\n|---|---|---|---|---|---|"
    );
    for r in rows {
        let overhead = if r.minimum > 0.0 {
            format!("{:+.1} %", (r.elapsed - r.minimum) / r.minimum * 100.0)
        } else {
            "n/a (within the burst)".into()
        };
        println!(
            "| {} | {} | {} | {:.2} s | {:.2} s | {overhead} |",
            r.scenario, r.requests, r.rate_limited, r.elapsed, r.minimum
        );
    }
    Ok(())
}

/// A 4,000-row data source and a row linking to every 100th of them.
fn sparse() -> Fixture {
    let ids: Vec<Value> = (0..40)
        .map(|i| json!(GeneratedIds::row("Big", i * 100 + 7).to_string()))
        .collect();
    Fixture::builder()
        .workspace("Bench", TOKEN)
        .database_with_rows("Big", 4000)
        .database(
            DatabaseFixture::new("Source")
                .id("src-db")
                .data_source_id("src-ds")
                .property("Name", json!("title"))
                .property(
                    "Links",
                    json!({"relation": GeneratedIds::data_source("Big").to_string()}),
                )
                .row(
                    PageFixture::new("Src")
                        .id("src")
                        .property("Links", Value::Array(ids)),
                ),
        )
        .build()
}

/// Resolve `Links` of `page` with a fresh client (full pacing bucket) and a fresh fake limit.
async fn run(
    fake: &notion_fake::RunningFake,
    scenario: &str,
    page: &str,
    per_page_only: bool,
    pacer_burst: u32,
) -> Result<Row> {
    let cfg = ClientConfig {
        base_url: fake.base_url().parse()?,
        pacing: PacingConfig {
            per_second: RATE,
            burst: pacer_burst,
            replicas: 1,
            enabled: true,
            workspace_per_second: 0.0,
        },
        ..ClientConfig::default()
    };
    let client = NotionClient::new(cfg, Metrics::new())?;
    let auth = NotionAuth::new(TOKEN, NotionVersion::default());
    fake.fake.set_rate_limit(Some(RateLimit::new(RATE, BURST)));
    fake.fake.reset_log();
    let started = Instant::now();
    let src = endpoints::retrieve_page(&client, &auth, page, &[]).await?;
    let (_, prop) = src
        .properties
        .find("Links")
        .context("the source row has no Links property")?;
    let rel = relations::relation_ids(&client, &auth, &src.id, prop, 5000).await?;
    let ds = relations::parent_data_source(&src).context("the source is not a row")?;
    let schema = endpoints::retrieve_data_source(&client, &auth, &ds).await?;
    let target = schema
        .properties
        .get("Links")
        .and_then(relations::relation_target);
    let opts = FetchOptions {
        data_source: target,
        concurrency: 4,
        per_page_only,
        ..FetchOptions::default()
    };
    let fetched = relations::fetch_pages(&client, &auth, &rel.ids, &opts).await?;
    let elapsed = started.elapsed().as_secs_f64();
    if fetched.pages.len() != rel.ids.len() {
        return Err(anyhow!(
            "{scenario}: {} of {} pages fetched",
            fetched.pages.len(),
            rel.ids.len()
        ));
    }
    let log = fake.fake.requests();
    let requests = log.iter().filter(|r| r.status != 429).count();
    let minimum = (requests.saturating_sub(BURST as usize) as f64 / RATE).max(0.0);
    fake.fake.set_rate_limit(None);
    Ok(Row {
        scenario: scenario.into(),
        requests,
        rate_limited: log.len() - requests,
        elapsed,
        minimum,
    })
}
