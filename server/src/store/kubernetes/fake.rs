//! An in-memory Kubernetes API server for the Secrets of one namespace, as a tower service behind a real
//! `kube::Client`: LIST and WATCH with label selectors, GET, POST, PUT and DELETE with resourceVersion
//! semantics (409 on a stale version or an existing name, 404 on a missing one). Watches resume from a
//! resourceVersion by replaying the change log; a "stalled" server accepts watches but never sends events.
//! The contract every backend must meet runs against it, with a live and with a stalled watch, and two
//! replicas share one namespace.
//!
//! Faults ([`FakeApiServer::inject`]): 409 to the next N writes, writes applied but answered 503 (a lost
//! answer), an outage answering 500/503 or refusing connections for a time window (open watches are cut
//! when it starts), and slow answers.

use super::KubernetesBackend;
use super::tests::{
    NS, TestBody, config, json_response, status_response, watch_line, watch_response,
};
use crate::store::{KeyRing, Store};
use bytes::Bytes;
use futures::channel::mpsc::UnboundedSender;
use http::{Method, Request, Response};
use kube::client::Body;
use serde_json::{Value, json};
use std::collections::{BTreeMap, HashMap};
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tokio::time::Instant;

#[derive(Default)]
struct State {
    rv: u64,
    objects: BTreeMap<String, Value>,
    /// Every change as (resourceVersion, type, object), for watches resuming from a version.
    log: Vec<(u64, &'static str, Value)>,
    watchers: Vec<(String, UnboundedSender<Bytes>)>,
    /// Watches of a stalled server: held open, never fed.
    stalled: Vec<UnboundedSender<Bytes>>,
    faults: Faults,
}

/// What the fake API server does wrong, and how often it did.
#[derive(Debug, Default, Clone)]
pub(super) struct Faults {
    /// Answer 409 Conflict to this many upcoming PUTs and DELETEs, without applying them.
    pub conflicts: u32,
    /// Apply this many upcoming writes but answer them 503, as if the answer was lost.
    pub lost_answers: u32,
    /// Until then, answer every request with this status, or refuse it like a closed port when 0.
    pub outage: Option<(Instant, u16)>,
    /// Wait this long before answering anything.
    pub delay: Duration,
    /// Counters of what was injected.
    pub injected_conflicts: u64,
    pub injected_lost_answers: u64,
    pub injected_failures: u64,
}

/// A refused connection, as the transport reports it.
#[derive(Debug, thiserror::Error)]
#[error("connection refused (injected)")]
pub(super) struct Refused;

#[derive(Clone)]
pub(super) struct FakeApiServer {
    state: Arc<Mutex<State>>,
    deliver: bool,
}

fn matches(selector: &str, object: &Value) -> bool {
    selector.split(',').filter(|t| !t.is_empty()).all(|term| {
        let (k, v) = term.split_once('=').unwrap_or((term, ""));
        object["metadata"]["labels"][k].as_str() == Some(v)
    })
}

impl State {
    fn commit(&mut self, type_: &'static str, mut object: Value) -> Value {
        self.rv += 1;
        object["metadata"]["resourceVersion"] = json!(self.rv.to_string());
        let name = object["metadata"]["name"]
            .as_str()
            .unwrap_or_default()
            .to_string();
        if type_ == "DELETED" {
            self.objects.remove(&name);
        } else {
            self.objects.insert(name, object.clone());
        }
        self.log.push((self.rv, type_, object.clone()));
        self.watchers.retain(|(selector, tx)| {
            !matches(selector, &object) || tx.unbounded_send(watch_line(type_, &object)).is_ok()
        });
        object
    }
}

impl FakeApiServer {
    /// `deliver`: whether watches receive events.
    pub(super) fn new(deliver: bool) -> Self {
        FakeApiServer {
            state: Arc::default(),
            deliver,
        }
    }

    pub(super) fn client(&self) -> kube::Client {
        let this = self.clone();
        let service = tower::service_fn(move |req: Request<Body>| {
            let this = this.clone();
            async move {
                let delay = this.with_faults(|f| f.delay);
                if !delay.is_zero() {
                    tokio::time::sleep(delay).await;
                }
                match this.outage() {
                    Some(0) => Err(Refused),
                    Some(code) => Ok(status_response(code, "ServiceUnavailable")),
                    None => Ok(this.handle(req).await),
                }
            }
        });
        kube::Client::new(service, NS)
    }

    /// Change the faults; an outage cuts the open watches, as a restarting API server does.
    pub(super) fn inject(&self, change: impl FnOnce(&mut Faults)) {
        let mut state = self.state.lock().expect("state");
        change(&mut state.faults);
        if state.faults.outage.is_some() {
            state.watchers.clear();
        }
    }

    pub(super) fn with_faults<T>(&self, f: impl FnOnce(&Faults) -> T) -> T {
        f(&self.state.lock().expect("state").faults)
    }

    /// The status of an ongoing outage (0: refuse), counting the failure.
    fn outage(&self) -> Option<u16> {
        let mut state = self.state.lock().expect("state");
        match state.faults.outage {
            Some((until, code)) if Instant::now() < until => {
                state.faults.injected_failures += 1;
                Some(code)
            }
            Some(_) => {
                state.faults.outage = None;
                None
            }
            None => None,
        }
    }

    /// Every stored Secret carries the labels, the key annotation and the owner of the instance.
    pub(super) fn assert_all_labelled(&self) {
        let state = self.state.lock().expect("state");
        assert!(!state.objects.is_empty());
        for object in state.objects.values() {
            let meta = &object["metadata"];
            assert_eq!(
                meta["labels"]["app.kubernetes.io/managed-by"],
                json!("notion-mcp-remote")
            );
            assert_eq!(
                meta["labels"]["notionmcp.dev/instance"],
                json!("notion-mcp")
            );
            assert_eq!(meta["labels"]["notionmcp.dev/kind"], json!("oauth-consent"));
            assert!(meta["annotations"]["notionmcp.dev/key"].is_string());
            assert_eq!(meta["ownerReferences"][0]["kind"], json!("NotionMcpRemote"));
            assert_eq!(object["type"], json!("Opaque"));
        }
    }

    async fn handle(&self, req: Request<Body>) -> Response<TestBody> {
        let method = req.method().clone();
        let path = req.uri().path().to_string();
        let query: HashMap<String, String> =
            url::form_urlencoded::parse(req.uri().query().unwrap_or("").as_bytes())
                .into_owned()
                .collect();
        let bytes = req.into_body().collect_bytes().await.unwrap_or_default();
        let body: Value = serde_json::from_slice(&bytes).unwrap_or(Value::Null);
        let prefix = format!("/api/v1/namespaces/{NS}/secrets");
        let Some(rest) = path.strip_prefix(&prefix) else {
            return status_response(404, "NotFound");
        };
        let name = rest.strip_prefix('/');
        let selector = query.get("labelSelector").cloned().unwrap_or_default();
        let mut state = self.state.lock().expect("state");
        let write = matches!(method, Method::POST | Method::PUT | Method::DELETE);
        if matches!(method, Method::PUT | Method::DELETE) && state.faults.conflicts > 0 {
            state.faults.conflicts -= 1;
            state.faults.injected_conflicts += 1;
            return status_response(409, "Conflict");
        }
        let lose_answer = write && state.faults.lost_answers > 0;
        let answer = self.answer(&mut state, method, name, &query, &selector, &body);
        if lose_answer && answer.status().is_success() {
            state.faults.lost_answers -= 1;
            state.faults.injected_lost_answers += 1;
            return status_response(503, "ServiceUnavailable");
        }
        answer
    }

    fn answer(
        &self,
        state: &mut State,
        method: Method,
        name: Option<&str>,
        query: &HashMap<String, String>,
        selector: &str,
        body: &Value,
    ) -> Response<TestBody> {
        let selector = selector.to_string();
        match (method, name) {
            (Method::GET, None) if query.get("watch").map(String::as_str) == Some("true") => {
                let from: u64 = query
                    .get("resourceVersion")
                    .and_then(|v| v.parse().ok())
                    .unwrap_or(0);
                let (tx, response) = watch_response();
                if self.deliver {
                    for (rv, type_, object) in &state.log {
                        if *rv > from && matches(&selector, object) {
                            let _ = tx.unbounded_send(watch_line(type_, object));
                        }
                    }
                    state.watchers.push((selector, tx));
                } else {
                    state.stalled.push(tx);
                }
                response
            }
            (Method::GET, None) => {
                let items: Vec<&Value> = state
                    .objects
                    .values()
                    .filter(|o| matches(&selector, o))
                    .collect();
                json_response(
                    200,
                    &json!({"apiVersion": "v1", "kind": "SecretList",
                            "metadata": {"resourceVersion": state.rv.to_string()}, "items": items}),
                )
            }
            (Method::GET, Some(name)) => match state.objects.get(name) {
                Some(object) => json_response(200, object),
                None => status_response(404, "NotFound"),
            },
            (Method::POST, None) => {
                let name = body["metadata"]["name"].as_str().unwrap_or_default();
                if state.objects.contains_key(name) {
                    return status_response(409, "AlreadyExists");
                }
                let mut object = body.clone();
                object["metadata"]["uid"] = json!(uuid::Uuid::new_v4().to_string());
                json_response(201, &state.commit("ADDED", object))
            }
            (Method::PUT, Some(name)) => {
                let Some(current) = state.objects.get(name) else {
                    return status_response(404, "NotFound");
                };
                if body["metadata"]["resourceVersion"] != current["metadata"]["resourceVersion"] {
                    return status_response(409, "Conflict");
                }
                json_response(200, &state.commit("MODIFIED", body.clone()))
            }
            (Method::DELETE, Some(name)) => {
                let Some(current) = state.objects.get(name).cloned() else {
                    return status_response(404, "NotFound");
                };
                let wanted = &body["preconditions"]["resourceVersion"];
                if !wanted.is_null() && *wanted != current["metadata"]["resourceVersion"] {
                    return status_response(409, "Conflict");
                }
                state.commit("DELETED", current.clone());
                json_response(200, &current)
            }
            _ => status_response(405, "MethodNotAllowed"),
        }
    }
}

#[tokio::test]
async fn kubernetes_backend_contract_with_a_live_watch() {
    let fake = FakeApiServer::new(true);
    let backend = KubernetesBackend::start(fake.client(), config(true))
        .await
        .expect("start");
    crate::store::tests::contract(Store::new(Arc::new(backend), Arc::new(KeyRing::random()))).await;
    fake.assert_all_labelled();
}

/// With a watch that never delivers an event, every read-your-write goes through the overlay and direct
/// reads: the contract must still hold.
#[tokio::test]
async fn kubernetes_backend_contract_with_a_stalled_watch() {
    let fake = FakeApiServer::new(false);
    let backend = KubernetesBackend::start(fake.client(), config(false))
        .await
        .expect("start");
    crate::store::tests::contract(Store::new(Arc::new(backend), Arc::new(KeyRing::random()))).await;
}

#[tokio::test]
async fn two_replicas_on_one_namespace_never_lose_an_update() {
    let fake = FakeApiServer::new(true);
    let keys = Arc::new(KeyRing::random());
    let a = Store::new(
        Arc::new(
            KubernetesBackend::start(fake.client(), config(false))
                .await
                .expect("start"),
        ),
        keys.clone(),
    );
    let b = Store::new(
        Arc::new(
            KubernetesBackend::start(fake.client(), config(false))
                .await
                .expect("start"),
        ),
        keys,
    );
    crate::store::tests::two_stores_lose_no_update(a, b).await;
}
