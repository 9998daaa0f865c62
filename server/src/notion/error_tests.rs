//! Tests of the Notion error type: parsing, wording, retry hints and redaction.

#![allow(clippy::unwrap_used)]
use super::*;
use serde_json::json;

fn body(v: Value) -> Vec<u8> {
    serde_json::to_vec(&v).unwrap()
}

#[test]
fn parses_notion_error_shape() {
    let e = parse_error_body(
        404,
        &body(
            json!({"object":"error","status":404,"code":"object_not_found",
            "message":"Could not find page with ID: abc.","request_id":"r-1"}),
        ),
    );
    assert_eq!(e.code(), "object_not_found");
    assert_eq!(e.status(), Some(404));
    assert_eq!(e.request_id(), Some("r-1"));
    let shown = e.to_string();
    assert!(shown.starts_with("Notion says object_not_found: Could not find page with ID: abc."));
    assert!(shown.contains("shared with the integration"), "{shown}");
    assert!(shown.contains("request_id r-1"));
    assert!(!e.is_retryable());
}

#[test]
fn parses_oauth_error_shape() {
    let e = parse_error_body(
        400,
        &body(json!({"error":"invalid_grant","error_description":"Code expired"})),
    );
    assert_eq!(e.code(), "invalid_grant");
    assert_eq!(e.to_string(), "Notion says invalid_grant: Code expired.");
}

#[test]
fn non_json_body_names_status() {
    let e = parse_error_body(502, b"<html>Bad Gateway</html>");
    assert_eq!(e.code(), "bad_gateway");
    assert!(e.to_string().contains("HTTP 502"), "{e}");
    let e = parse_error_body(418, b"");
    assert_eq!(e.code(), "http_error");
    assert!(e.to_string().contains("HTTP 418 with an empty body"));
}

#[test]
fn rate_limit_fields_and_retry_after() {
    let mut headers = http::HeaderMap::new();
    headers.insert(
        http::header::RETRY_AFTER,
        http::HeaderValue::from_static("7"),
    );
    let e = NotionError::from_response(
        429,
        &headers,
        &body(
            json!({"object":"error","status":429,"code":"rate_limited","message":"Slow down",
            "additional_data":{"rate_limit_reason":"public_api_request_rate_limit"}}),
        ),
    );
    assert_eq!(e.retry_after_seconds(), Some(7));
    assert_eq!(e.rate_limit_reason(), Some("public_api_request_rate_limit"));
    assert!(e.is_retryable());
    assert!(e.to_string().contains("Retry after 7 s."));
}

#[test]
fn additional_data_retry_after_string_or_number() {
    let e = parse_error_body(
        529,
        &body(
            json!({"code":"service_overload","message":"x","additional_data":{"retry_after":"2"}}),
        ),
    );
    assert_eq!(e.retry_after(), Some(Duration::from_secs(2)));
    let e = parse_error_body(
        529,
        &body(
            json!({"code":"service_overload","message":"x","additional_data":{"retry_after":1.5}}),
        ),
    );
    assert_eq!(e.retry_after(), Some(Duration::from_millis(1500)));
    assert_eq!(e.retry_after_seconds(), Some(2));
}

#[test]
fn server_errors_name_the_cause_whatever_the_body() {
    for (status, body) in [
        (
            500,
            body(json!({"code":"internal_server_error","message":"Unexpected error occurred."})),
        ),
        (502, b"<html>Bad Gateway</html>".to_vec()),
        (503, Vec::new()),
        (504, body(json!({"code":"gateway_timeout","message":"x"}))),
    ] {
        let e = NotionError::from_response(status, &http::HeaderMap::new(), &body);
        let shown = e.to_string();
        assert!(
            shown.contains(&format!(
                "Notion is temporarily unavailable (HTTP {status})"
            )),
            "{shown}"
        );
    }
    let e = parse_error_body(
        529,
        &body(
            json!({"code":"service_overload","message":"x","additional_data":{"retry_after":"2"}}),
        ),
    );
    assert!(
        e.to_string()
            .contains("Notion is overloaded. Retry after 2 s."),
        "{e}"
    );
    let e = parse_error_body(
        429,
        &body(json!({"code":"rate_limited","message":"Slow down"})),
    );
    assert!(
        e.to_string()
            .contains("Notion is rate limiting this integration. Retry later."),
        "{e}"
    );
}

#[test]
fn rate_limits_without_a_wait_get_the_suggested_one() {
    let wait = Duration::from_millis(1500);
    let plain = parse_error_body(429, &body(json!({"code":"rate_limited","message":"m"})));
    let e = plain.with_suggested_wait(wait);
    assert_eq!(e.retry_after_seconds(), Some(2));
    assert!(e.to_string().contains("Retry after 2 s."), "{e}");
    let e = parse_error_body(529, &body(json!({"code":"service_overload","message":"m"})))
        .with_suggested_wait(Duration::ZERO);
    assert_eq!(e.retry_after_seconds(), Some(1));
    // A wait Notion named is kept; a blocked integration and other errors get none.
    let mut headers = http::HeaderMap::new();
    headers.insert(
        http::header::RETRY_AFTER,
        http::HeaderValue::from_static("7"),
    );
    let e = NotionError::from_response(429, &headers, &body(json!({"code":"rate_limited"})))
        .with_suggested_wait(wait);
    assert_eq!(e.retry_after_seconds(), Some(7));
    let e = parse_error_body(
        429,
        &body(json!({"code":"rate_limited","message":"Blocked",
            "additional_data":{"rate_limit_reason":"public_api_request_blocked"}})),
    )
    .with_suggested_wait(wait);
    assert_eq!(e.retry_after_seconds(), None);
    let e = parse_error_body(500, &body(json!({"code":"internal_server_error"})))
        .with_suggested_wait(wait);
    assert_eq!(e.retry_after_seconds(), None);
}

#[test]
fn blocked_is_not_retryable() {
    let e = parse_error_body(
        429,
        &body(json!({"code":"rate_limited","message":"Blocked",
            "additional_data":{"rate_limit_reason":"public_api_request_blocked"}})),
    );
    assert!(e.is_blocked());
    assert!(!e.is_retryable());
    assert!(e.to_string().contains("do not retry"));
}

#[test]
fn committed_write_exposes_ids() {
    let e = parse_error_body(
        503,
        &body(json!({"code":"service_unavailable","message":"Timed out",
            "additional_data":{"retry_guidance":"Do not repeat the write.",
            "committed_resource_id":"p-1","committed_child_ids":["b-1","b-2"]}})),
    );
    assert!(e.is_committed_write());
    assert_eq!(e.committed_resource_id(), Some("p-1"));
    assert_eq!(e.committed_child_ids(), vec!["b-1", "b-2"]);
    assert!(!e.is_retryable());
    assert!(e.to_string().contains("committed resource p-1"));
}

#[test]
fn retry_after_header_forms() {
    let now = SystemTime::UNIX_EPOCH + Duration::from_secs(1_445_412_480); // 2015-10-21 07:28:00 UTC
    assert_eq!(
        parse_retry_after("120", now),
        Some(Duration::from_secs(120))
    );
    assert_eq!(parse_retry_after(" 0 ", now), Some(Duration::ZERO));
    assert_eq!(
        parse_retry_after("0.5", now),
        Some(Duration::from_millis(500))
    );
    assert_eq!(
        parse_retry_after("Wed, 21 Oct 2015 07:28:30 GMT", now),
        Some(Duration::from_secs(30))
    );
    assert_eq!(
        parse_retry_after("Wed, 21 Oct 2015 07:00:00 GMT", now),
        Some(Duration::ZERO)
    );
    assert_eq!(parse_retry_after("soon", now), None);
    assert_eq!(parse_retry_after("", now), None);
    assert_eq!(parse_retry_after("-3", now), None);
    assert_eq!(parse_retry_after("1.2.3", now), None);
    assert_eq!(parse_retry_after("99999999999999999999", now), None);
}

#[test]
fn redaction_scrubs_secrets() {
    let e = NotionError::Transport {
        endpoint: "GET /v1/users/me",
        message: "bad header ntn_secret_value".into(),
        connect: false,
    }
    .redact("ntn_secret_value");
    assert!(!format!("{e} {e:?}").contains("ntn_secret_value"));
}

#[test]
fn model_errors_become_invalid_input() {
    let e: NotionError = notion_model::parse_id("nope").unwrap_err().into();
    assert_eq!(e.code(), "invalid_argument");
    assert!(e.to_string().contains("invalid id"), "{e}");
    let e: NotionError = notion_model::InputError::new("properties.Due", "not a date").into();
    assert_eq!(e.code(), "invalid_argument");
    assert_eq!(
        e.to_string(),
        "invalid properties.Due (invalid_argument): not a date"
    );
}
