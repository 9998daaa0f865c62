//! Shared pieces of the notion-mcp-remote benchmarks: child processes and their footprint, a minimal
//! MCP client over Streamable HTTP, a closed-loop load runner, statistics and table output.

pub mod load;
pub mod mcp;
pub mod official;
pub mod plot;
pub mod process;
pub mod report;
pub mod scrape;
pub mod session;
pub mod stats;

/// Every bench binary (load client plus in-process fake) allocates with mimalloc, which keeps the load
/// generator's share of a small machine low; the servers under test choose their own allocator.
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

/// The bearer token of the fake Notion's sample workspace (`Fixture::sample`).
pub const SAMPLE_TOKEN: &str = "ntn_demo_acme";

/// One HTTP client for every bench: plain HTTP on loopback, connection pool sized for `connections`.
pub fn http_client(connections: usize) -> anyhow::Result<reqwest::Client> {
    // reqwest is built without a default TLS provider; loopback HTTP never uses it, but the builder
    // needs one installed.
    let _ = rustls::crypto::ring::default_provider().install_default();
    // Idle connections are dropped before the 5 s keep-alive timeout of Node's HTTP server, so no
    // request is sent on a connection the server is closing (a reset, not a retryable error, for POST).
    Ok(reqwest::Client::builder()
        .pool_max_idle_per_host(connections.max(1) * 2)
        .pool_idle_timeout(std::time::Duration::from_secs(2))
        .build()?)
}

/// The id of the first page of the fake's sample workspace (what the benches read with `get_page`).
pub async fn first_page_id(http: &reqwest::Client, fake: &str) -> anyhow::Result<String> {
    use anyhow::Context;
    let v: serde_json::Value = http
        .post(format!("{fake}/v1/search"))
        .bearer_auth(SAMPLE_TOKEN)
        .header("Notion-Version", "2026-03-11")
        .json(&serde_json::json!({"filter": {"property": "object", "value": "page"}}))
        .send()
        .await?
        .json()
        .await?;
    v["results"][0]["id"]
        .as_str()
        .map(str::to_string)
        .context("the sample workspace has no page")
}
