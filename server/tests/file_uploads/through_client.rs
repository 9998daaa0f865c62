//! Uploads go through the one Notion client: a grant's expired token is renewed in the middle of a
//! multi-part upload, part sends are counted in the Notion request metrics, a failing send is retried
//! while a failing create is not replayed, and a Notion that keeps failing sends opens the breaker.

use super::{T, b64, fixture};
use crate::oauth_support;
use http::Method;
use notion_fake::{FakeNotion, Fault, FaultRule, Fixture};
use notion_mcp_remote::metrics::Metrics;
use notion_mcp_remote::notion::client::{ClientConfig, NotionAuth, NotionClient, NotionVersion};
use notion_mcp_remote::notion::pacer::PacingConfig;
use notion_mcp_remote::notion::retry::RetryPolicy;
use notion_mcp_remote::notion::uploads::{self, FileContent};
use notion_mcp_remote::notion::{BreakerConfig, NotionError};
use notion_mcp_remote::store::records::Grant;
use std::time::{Duration, Instant};

const SEND: &str = "POST /v1/file_uploads/{id}/send";

/// 5000 bytes: three parts of at most 2048.
fn data() -> Vec<u8> {
    (0..5000u32).map(|i| (i % 251) as u8).collect()
}

/// Let the fake take parts as small as 1 KB, so a test file needs no megabytes.
fn small_parts(fake: &FakeNotion) {
    fake.with_state(|s| s.file_uploads.part_min = 1024);
}

fn client(base: &str, breaker: BreakerConfig) -> (NotionClient, Metrics) {
    let metrics = Metrics::new();
    let cfg = ClientConfig {
        base_url: url::Url::parse(base).unwrap(),
        attempt_timeout: Duration::from_secs(5),
        pacing: PacingConfig {
            enabled: false,
            ..Default::default()
        },
        retry: RetryPolicy {
            max_retries: 3,
            initial_backoff: Duration::from_millis(5),
            max_backoff: Duration::from_millis(20),
            max_total_wait: Duration::from_secs(2),
        },
        breaker,
        ..Default::default()
    };
    (NotionClient::new(cfg, metrics.clone()).unwrap(), metrics)
}

async fn upload(c: &NotionClient) -> Result<serde_json::Value, NotionError> {
    let file = FileContent {
        filename: "data.bin".into(),
        content_type: "application/octet-stream".into(),
        bytes: data().into(),
    };
    let auth = NotionAuth::new(T, NotionVersion::default());
    uploads::upload(c, &auth, &file, 2048, 2048).await
}

/// The value of `notion_mcp_notion_requests_total` for `endpoint` and `status`.
fn notion_requests(metrics: &Metrics, endpoint: &str, status: &str) -> u64 {
    let prefix =
        format!("notion_mcp_notion_requests_total{{endpoint=\"{endpoint}\",status=\"{status}\"}} ");
    metrics
        .render()
        .lines()
        .find_map(|l| l.strip_prefix(&prefix))
        .map_or(0, |v| v.trim().parse().unwrap())
}

fn unavailable() -> Fault {
    Fault::Status {
        status: 503,
        code: String::new(),
        retry_after: None,
    }
}

fn sends(fake: &FakeNotion) -> Vec<u16> {
    fake.requests()
        .iter()
        .filter(|r| r.path.ends_with("/send"))
        .map(|r| r.status)
        .collect()
}

#[tokio::test]
async fn an_expired_grant_token_is_renewed_during_a_multi_part_upload() {
    let s = oauth_support::start(Fixture::sample()).await;
    small_parts(s.h.fake());
    let (_, access, _) = s.connect(None).await;
    let grant_token = s.store.list::<Grant>().await.unwrap()[0]
        .1
        .notion
        .access_token
        .clone();
    let refreshes = s.h.fake().refresh_count();
    // Part 1 goes straight through; part 2 is held long enough for its token to expire meanwhile.
    let sends_prefix = "/v1/file_uploads/";
    for delay in [Duration::ZERO, Duration::from_millis(400)] {
        s.h.fake().push_fault(
            FaultRule::new(Fault::Delay(delay))
                .method(Method::POST)
                .path_prefix(sends_prefix)
                .times(1),
        );
    }
    let expire_after_part_one = async {
        let deadline = Instant::now() + Duration::from_secs(10);
        while !sends(s.h.fake()).contains(&200) {
            assert!(Instant::now() < deadline, "part 1 was never sent");
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
        s.h.fake().expire_token(&grant_token);
    };
    let args =
        serde_json::json!({"content": b64(&data()), "filename": "data.bin", "part_size": 2048});
    let (text, ()) = tokio::join!(
        s.h.text(&access, "upload_file", args),
        expire_after_part_one
    );
    assert!(
        text.contains("3 part(s)") && text.contains("5000 bytes"),
        "{text}"
    );
    assert_eq!(
        sends(s.h.fake()),
        [200, 401, 200, 200],
        "part 2 was refused once, then re-sent with the renewed token"
    );
    assert_eq!(s.h.fake().refresh_count(), refreshes + 1);
    let renewed = s.store.list::<Grant>().await.unwrap()[0]
        .1
        .notion
        .access_token
        .clone();
    assert_ne!(renewed, grant_token, "the rotated token is stored");
    let upload = crate::common::notion_data(&text)
        .split_whitespace()
        .nth(1)
        .unwrap()
        .to_string();
    let stored =
        s.h.fake()
            .with_state(|st| st.file_uploads.uploads[&upload.parse().unwrap()].content());
    assert_eq!(stored, data(), "every part arrived once");
}

#[tokio::test]
async fn part_sends_are_counted_and_retried_but_a_create_is_not_replayed() {
    let fake = FakeNotion::start(fixture()).await.unwrap();
    small_parts(&fake.fake);
    let (c, metrics) = client(fake.base_url(), BreakerConfig::disabled());

    // A send that meets a 503 is sent again (a part re-send replaces the part).
    fake.fake.push_fault(
        FaultRule::new(unavailable())
            .method(Method::POST)
            .path_prefix("/v1/file_uploads/")
            .times(1),
    );
    let done = upload(&c).await.unwrap();
    assert_eq!(done["status"], "uploaded", "{done}");
    assert_eq!(sends(&fake.fake), [503, 200, 200, 200]);
    assert_eq!(notion_requests(&metrics, SEND, "200"), 3);
    assert_eq!(notion_requests(&metrics, SEND, "503"), 1);
    assert_eq!(
        notion_requests(&metrics, "POST /v1/file_uploads/{id}/complete", "200"),
        1
    );

    // A create whose outcome is unknown is not sent twice: it could leave two uploads.
    fake.fake.reset_log();
    fake.fake.push_fault(
        FaultRule::new(unavailable())
            .method(Method::POST)
            .path_prefix("/v1/file_uploads")
            .times(1),
    );
    let e = upload(&c).await.unwrap_err();
    assert_eq!(e.status(), Some(503), "{e}");
    assert_eq!(fake.fake.requests().len(), 1, "one create, no send");
    fake.shutdown().await;
}

#[tokio::test]
async fn sends_that_keep_failing_open_the_breaker() {
    let fake = FakeNotion::start(fixture()).await.unwrap();
    small_parts(&fake.fake);
    let breaker = BreakerConfig {
        failures: 2,
        window: Duration::from_secs(60),
        open_for: Duration::from_secs(60),
    };
    let (c, metrics) = client(fake.base_url(), breaker);
    fake.fake.push_fault(
        FaultRule::new(Fault::Status {
            status: 502,
            code: String::new(),
            retry_after: None,
        })
        .method(Method::POST)
        .path_prefix("/v1/file_uploads/"),
    );
    let e = upload(&c).await.unwrap_err();
    assert_eq!(e.code(), "upstream_unavailable", "{e}");
    assert_eq!(
        sends(&fake.fake),
        [502, 502],
        "the third attempt was stopped by the open breaker"
    );
    assert_eq!(notion_requests(&metrics, SEND, "502"), 2);
    // While it is open nothing reaches Notion, not even the create.
    fake.fake.reset_log();
    let e = upload(&c).await.unwrap_err();
    assert_eq!(e.code(), "upstream_unavailable", "{e}");
    assert!(fake.fake.requests().is_empty());
    fake.shutdown().await;
}
