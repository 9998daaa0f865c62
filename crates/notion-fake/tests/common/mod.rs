//! Shared test client: starts a fake and sends Notion-style requests with reqwest.
#![allow(dead_code, clippy::unwrap_used)]

pub mod webhooks;

use notion_fake::{FakeNotion, Fixture, RunningFake};
use reqwest::{Method, StatusCode};
use serde_json::Value;

pub const VERSION: &str = "2026-03-11";

/// A reqwest client (plain HTTP; the ring provider satisfies reqwest's rustls setup).
pub fn client() -> reqwest::Client {
    let _ = rustls::crypto::ring::default_provider().install_default();
    reqwest::Client::new()
}

pub struct Api {
    pub running: RunningFake,
    pub http: reqwest::Client,
    pub token: String,
    pub version: String,
}

impl Api {
    pub async fn start(fixture: Fixture, token: &str) -> Self {
        let running = FakeNotion::start(fixture).await.expect("fake starts");
        Self {
            running,
            http: client(),
            token: token.to_string(),
            version: VERSION.to_string(),
        }
    }

    pub fn fake(&self) -> &FakeNotion {
        &self.running.fake
    }

    pub fn url(&self, path: &str) -> String {
        format!("{}{}", self.running.base_url(), path)
    }

    pub async fn call(
        &self,
        method: Method,
        path: &str,
        body: Option<Value>,
    ) -> (StatusCode, Value) {
        self.call_with(method, path, body, Some(&self.token), Some(&self.version))
            .await
    }

    pub async fn call_with(
        &self,
        method: Method,
        path: &str,
        body: Option<Value>,
        token: Option<&str>,
        version: Option<&str>,
    ) -> (StatusCode, Value) {
        let mut req = self.http.request(method, self.url(path));
        if let Some(t) = token {
            req = req.bearer_auth(t);
        }
        if let Some(v) = version {
            req = req.header("Notion-Version", v);
        }
        if let Some(b) = body {
            req = req.json(&b);
        }
        let resp = req.send().await.expect("request sent");
        let status = resp.status();
        let text = resp.text().await.expect("body read");
        let json = if text.is_empty() {
            Value::Null
        } else {
            serde_json::from_str(&text).expect("json body")
        };
        (status, json)
    }

    pub async fn get(&self, path: &str) -> (StatusCode, Value) {
        self.call(Method::GET, path, None).await
    }

    pub async fn post(&self, path: &str, body: Value) -> (StatusCode, Value) {
        self.call(Method::POST, path, Some(body)).await
    }

    pub async fn patch(&self, path: &str, body: Value) -> (StatusCode, Value) {
        self.call(Method::PATCH, path, Some(body)).await
    }

    pub async fn delete(&self, path: &str) -> (StatusCode, Value) {
        self.call(Method::DELETE, path, None).await
    }

    /// Follows `next_cursor` through a GET list, collecting all results.
    pub async fn get_all(&self, path: &str) -> Vec<Value> {
        let mut out = Vec::new();
        let mut cursor: Option<String> = None;
        loop {
            let sep = if path.contains('?') { '&' } else { '?' };
            let p = match &cursor {
                Some(c) => format!("{path}{sep}start_cursor={c}"),
                None => path.to_string(),
            };
            let (status, body) = self.get(&p).await;
            assert_eq!(status, 200, "{body}");
            out.extend(body["results"].as_array().unwrap().iter().cloned());
            if !body["has_more"].as_bool().unwrap() {
                assert!(body["next_cursor"].is_null());
                return out;
            }
            cursor = Some(body["next_cursor"].as_str().unwrap().to_string());
        }
    }
}

/// Asserts a Notion error body.
pub fn assert_error(status: StatusCode, body: &Value, want_status: u16, want_code: &str) {
    assert_eq!(status.as_u16(), want_status, "{body}");
    assert_eq!(body["object"], "error", "{body}");
    assert_eq!(body["status"], want_status, "{body}");
    assert_eq!(body["code"], want_code, "{body}");
    assert!(
        body["message"].as_str().is_some_and(|m| !m.is_empty()),
        "{body}"
    );
    assert!(
        body["request_id"].as_str().is_some_and(|r| r.len() == 36),
        "{body}"
    );
}

/// Plain text of a title property in a page object.
pub fn title_of(page: &Value) -> String {
    page["properties"]
        .as_object()
        .unwrap()
        .values()
        .find(|p| p["type"] == "title")
        .map(|p| {
            p["title"]
                .as_array()
                .unwrap()
                .iter()
                .map(|t| t["plain_text"].as_str().unwrap())
                .collect()
        })
        .unwrap_or_default()
}
