//! Webhook test kit: a receiver on a loopback port that records each delivery (headers and raw
//! body) and answers as scripted, a signature check done independently of the fake, and a fake
//! with a subscription pointing at the receiver.

use std::collections::VecDeque;
use std::sync::{Arc, Mutex};

use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use hmac::{Hmac, Mac};
use notion_fake::{Fixture, PageFixture, WebhookSubscription, stable_id};
use serde_json::{Value, json};
use sha2::Sha256;

use super::Api;

pub const TOKEN: &str = "secret_webhook_test_token";

#[derive(Clone, Default)]
pub struct Script {
    received: Arc<Mutex<Vec<(HeaderMap, Bytes)>>>,
    /// Statuses to answer, in order; 200 once empty.
    answers: Arc<Mutex<VecDeque<u16>>>,
}

async fn record(State(s): State<Script>, headers: HeaderMap, body: Bytes) -> StatusCode {
    s.received.lock().unwrap().push((headers, body));
    let status = s.answers.lock().unwrap().pop_front().unwrap_or(200);
    StatusCode::from_u16(status).unwrap()
}

pub struct Receiver {
    pub url: String,
    pub script: Script,
}

impl Receiver {
    pub async fn start() -> Self {
        let script = Script::default();
        let app = axum::Router::new()
            .route("/webhooks/notion", axum::routing::post(record))
            .with_state(script.clone());
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let url = format!("http://{}/webhooks/notion", listener.local_addr().unwrap());
        tokio::spawn(async move { axum::serve(listener, app).await });
        Self { url, script }
    }

    pub fn answer(&self, statuses: &[u16]) {
        self.script.answers.lock().unwrap().extend(statuses);
    }

    pub fn raw(&self) -> Vec<(HeaderMap, Bytes)> {
        self.script.received.lock().unwrap().clone()
    }

    pub fn bodies(&self) -> Vec<Value> {
        let raw = self.raw();
        raw.iter()
            .map(|(_, b)| serde_json::from_slice(b).unwrap())
            .collect()
    }

    pub fn types(&self) -> Vec<String> {
        let bodies = self.bodies();
        bodies
            .iter()
            .map(|b| b["type"].as_str().unwrap().to_string())
            .collect()
    }

    /// The one event of `kind` received.
    pub fn one(&self, kind: &str) -> Value {
        let all: Vec<Value> = self
            .bodies()
            .into_iter()
            .filter(|b| b["type"] == kind)
            .collect();
        assert_eq!(all.len(), 1, "{kind} in {:?}", self.types());
        all.into_iter().next().unwrap()
    }

    pub fn clear(&self) {
        self.script.received.lock().unwrap().clear();
    }
}

pub fn fixture() -> Fixture {
    Fixture::builder()
        .workspace("W", "ntn_w")
        .page(
            PageFixture::new("Doc")
                .id("doc")
                .child(json!({"id": "b1", "paragraph": "one"}))
                .child(json!({"id": "b2", "toggle": "two", "children": ["inner"]})),
        )
        .page(PageFixture::new("Other").id("other"))
        .database_with_rows("T", 3)
        .build()
}

pub async fn setup(
    sub: impl FnOnce(WebhookSubscription) -> WebhookSubscription,
) -> (Api, Receiver) {
    let api = Api::start(fixture(), "ntn_w").await;
    let rx = Receiver::start().await;
    api.fake()
        .subscribe_webhooks(sub(WebhookSubscription::new(&rx.url, TOKEN)));
    (api, rx)
}

pub fn id(name: &str) -> String {
    stable_id(name).to_string()
}

pub fn text(s: &str) -> Value {
    json!([{"type": "text", "text": {"content": s}}])
}

pub fn verify(token: &str, body: &[u8], header: &str) -> bool {
    let Some(hex) = header.strip_prefix("sha256=") else {
        return false;
    };
    let bytes: Vec<u8> = (0..hex.len())
        .step_by(2)
        .filter_map(|i| u8::from_str_radix(hex.get(i..i + 2)?, 16).ok())
        .collect();
    let mut mac = Hmac::<Sha256>::new_from_slice(token.as_bytes()).unwrap();
    mac.update(body);
    mac.verify_slice(&bytes).is_ok()
}
