//! The fake Notion answers the requests the official Notion MCP server sends (as observed from
//! `@notionhq/notion-mcp-server` 2.5.2 with `BASE_URL` pointing at the fake): Notion-Version 2025-09-03,
//! the paths of its OpenAPI spec, JSON bodies from axios. The comparison bench relies on these.

use notion_mcp_bench::{SAMPLE_TOKEN, http_client};
use serde_json::{Value, json};

const OFFICIAL_VERSION: &str = "2025-09-03";

async fn call(
    http: &reqwest::Client,
    method: reqwest::Method,
    url: String,
    body: Option<Value>,
) -> (u16, Value) {
    let mut req = http
        .request(method, url)
        .bearer_auth(SAMPLE_TOKEN)
        .header("Notion-Version", OFFICIAL_VERSION)
        .header("user-agent", "notion-mcp-server")
        .header("accept", "application/json");
    if let Some(b) = body {
        req = req.json(&b);
    }
    let r = req.send().await.expect("request");
    let status = r.status().as_u16();
    (status, r.json().await.unwrap_or(Value::Null))
}

#[tokio::test]
async fn answers_the_official_servers_read_requests() {
    let fake = notion_fake::FakeNotion::start(notion_fake::Fixture::sample())
        .await
        .expect("fake");
    let base = fake.base_url().to_string();
    let http = http_client(1).expect("client");

    let (status, found) = call(
        &http,
        reqwest::Method::POST,
        format!("{base}/v1/search"),
        Some(json!({"query": "", "filter": {"property": "object", "value": "page"}})),
    )
    .await;
    assert_eq!(status, 200, "{found}");
    let page_id = found["results"][0]["id"]
        .as_str()
        .expect("a page")
        .to_string();

    // API-retrieve-a-page: the call the comparison measures.
    let (status, page) = call(
        &http,
        reqwest::Method::GET,
        format!("{base}/v1/pages/{page_id}"),
        None,
    )
    .await;
    assert_eq!(
        (status, page["object"].as_str()),
        (200, Some("page")),
        "{page}"
    );
    assert_eq!(page["id"].as_str(), Some(page_id.as_str()));

    for (path, object) in [
        ("/v1/users/me", "user"),
        ("/v1/users", "list"),
        (&*format!("/v1/blocks/{page_id}/children"), "list"),
        (&*format!("/v1/pages/{page_id}/properties/title"), "list"),
    ] {
        let (status, v) = call(&http, reqwest::Method::GET, format!("{base}{path}"), None).await;
        assert_eq!(
            (status, v["object"].as_str()),
            (200, Some(object)),
            "{path}: {v}"
        );
    }

    let versions: Vec<String> = fake
        .fake
        .requests()
        .iter()
        .filter_map(|r| r.notion_version().map(str::to_string))
        .collect();
    assert_eq!(versions.len(), 6);
    assert!(versions.iter().all(|v| v == OFFICIAL_VERSION));
    fake.shutdown().await;
}
