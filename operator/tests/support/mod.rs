//! Test support: an in-memory Kubernetes API server behind a tower-test mock service (the controller-rs
//! `ApiServerVerifier` idea, with state), recording every request so tests can assert the exact sequence.
#![allow(clippy::unwrap_used, clippy::expect_used, dead_code)]

use http::{Request, Response, StatusCode};
use kube::Client;
use kube::client::Body;
use serde_json::{Value, json};
use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};

/// State of the fake API server.
#[derive(Default)]
pub struct State {
    /// Objects by their full path (`/api/v1/namespaces/ns/secrets/name`).
    pub objects: BTreeMap<String, Value>,
    /// `METHOD path` of every request; collection GETs are logged as `LIST`.
    pub log: Vec<String>,
    next_rv: u64,
}

impl State {
    pub fn put(&mut self, path: &str, mut object: Value) {
        self.next_rv += 1;
        let meta = object["metadata"].as_object_mut().unwrap();
        meta.insert("resourceVersion".into(), json!(self.next_rv.to_string()));
        meta.entry("uid")
            .or_insert_with(|| json!(format!("uid-{}", self.next_rv)));
        self.objects.insert(path.to_string(), object);
    }
}

/// Handle on the fake: its state, and the client talking to it.
#[derive(Clone)]
pub struct FakeApi {
    pub state: Arc<Mutex<State>>,
}

impl FakeApi {
    /// Starts the fake; returns it and a client connected to it.
    pub fn start() -> (Self, Client) {
        let (service, handle) = tower_test::mock::pair::<Request<Body>, Response<Body>>();
        let fake = FakeApi {
            state: Arc::default(),
        };
        let state = fake.state.clone();
        tokio::spawn(async move {
            let mut handle = Box::pin(handle);
            while let Some((request, send)) = handle.as_mut().next_request().await {
                let response = serve(&state, request).await;
                send.send_response(response);
            }
        });
        (fake, Client::new(service, "default"))
    }

    pub fn insert(&self, path: &str, object: Value) {
        self.state.lock().unwrap().put(path, object);
    }

    pub fn get(&self, path: &str) -> Option<Value> {
        self.state.lock().unwrap().objects.get(path).cloned()
    }

    /// Takes the request log.
    pub fn take_log(&self) -> Vec<String> {
        std::mem::take(&mut self.state.lock().unwrap().log)
    }
}

fn status(code: StatusCode, reason: &str, message: String) -> Response<Body> {
    let body = json!({"apiVersion": "v1", "kind": "Status", "status": "Failure", "reason": reason,
        "code": code.as_u16(), "message": message});
    Response::builder()
        .status(code)
        .body(Body::from(serde_json::to_vec(&body).unwrap()))
        .unwrap()
}

fn ok(code: StatusCode, body: &Value) -> Response<Body> {
    Response::builder()
        .status(code)
        .header("content-type", "application/json")
        .body(Body::from(serde_json::to_vec(body).unwrap()))
        .unwrap()
}

/// RFC 7386 merge (arrays replaced, null deletes).
fn merge(target: &mut Value, patch: &Value) {
    match (target.as_object_mut(), patch.as_object()) {
        (Some(t), Some(p)) => {
            for (k, v) in p {
                if v.is_null() {
                    t.remove(k);
                } else {
                    merge(t.entry(k.clone()).or_insert(Value::Null), v);
                }
            }
        }
        _ => *target = patch.clone(),
    }
}

fn labels_match(object: &Value, selector: &str) -> bool {
    selector.split(',').filter(|s| !s.is_empty()).all(|pair| {
        let (k, v) = pair.split_once('=').unwrap();
        object["metadata"]["labels"][k].as_str() == Some(v)
    })
}

fn metadata_only(object: &Value) -> Value {
    json!({"apiVersion": "meta.k8s.io/v1", "kind": "PartialObjectMetadata", "metadata": object["metadata"]})
}

/// Collection paths have an even number of segments after the group/version prefix.
fn is_collection(path: &str) -> bool {
    if path.ends_with("/status") {
        return false;
    }
    let rest = if let Some(r) = path.strip_prefix("/api/v1/") {
        r
    } else {
        // /apis/<group>/<version>/...
        path.splitn(5, '/').nth(4).unwrap_or("")
    };
    rest.split('/').count() % 2 == 1
}

async fn serve(state: &Mutex<State>, request: Request<Body>) -> Response<Body> {
    let method = request.method().clone();
    let path = request.uri().path().to_string();
    let query = request.uri().query().unwrap_or("").to_string();
    let content_type = request
        .headers()
        .get("content-type")
        .and_then(|v| v.to_str().ok())
        .unwrap_or("")
        .to_string();
    let accept = request
        .headers()
        .get("accept")
        .and_then(|v| v.to_str().ok())
        .unwrap_or("")
        .to_string();
    let as_metadata = accept.contains("as=PartialObjectMeta");
    let body = request.into_body().collect_bytes().await.unwrap();
    let body: Value = if body.is_empty() {
        Value::Null
    } else {
        serde_json::from_slice(&body).unwrap()
    };
    let mut state = state.lock().unwrap();
    let collection = is_collection(&path);
    let verb = match (method.as_str(), collection) {
        ("GET", true) => "LIST".to_string(),
        ("PATCH", _) if content_type.contains("apply-patch") => "APPLY".to_string(),
        ("PATCH", _) => "MERGE".to_string(),
        (m, _) => m.to_string(),
    };
    state.log.push(format!("{verb} {path}"));
    let selector = query
        .split('&')
        .find_map(|kv| kv.strip_prefix("labelSelector="))
        .map(|s| {
            s.replace("%3D", "=")
                .replace("%2C", ",")
                .replace("%2F", "/")
        })
        .unwrap_or_default();
    match verb.as_str() {
        "LIST" => {
            let prefix = format!("{path}/");
            let items: Vec<Value> = state
                .objects
                .iter()
                .filter(|(p, o)| {
                    p.starts_with(&prefix)
                        && !p[prefix.len()..].contains('/')
                        && labels_match(o, &selector)
                })
                .map(|(_, o)| {
                    if as_metadata {
                        metadata_only(o)
                    } else {
                        o.clone()
                    }
                })
                .collect();
            ok(
                StatusCode::OK,
                &json!({"apiVersion": "v1", "kind": "List", "metadata": {"resourceVersion": "1"}, "items": items}),
            )
        }
        "GET" => match state.objects.get(&path) {
            Some(o) if as_metadata => ok(StatusCode::OK, &metadata_only(o)),
            Some(o) => ok(StatusCode::OK, o),
            None => status(
                StatusCode::NOT_FOUND,
                "NotFound",
                format!("{path} not found"),
            ),
        },
        "POST" => {
            let name = body["metadata"]["name"].as_str().unwrap().to_string();
            let object_path = format!("{path}/{name}");
            if state.objects.contains_key(&object_path) {
                return status(
                    StatusCode::CONFLICT,
                    "AlreadyExists",
                    format!("{name} already exists"),
                );
            }
            state.put(&object_path, body);
            ok(StatusCode::CREATED, &state.objects[&object_path])
        }
        "APPLY" | "MERGE" => {
            let (object_path, subresource) = match path.strip_suffix("/status") {
                Some(p) => (p.to_string(), true),
                None => (path.clone(), false),
            };
            let existing = state.objects.get(&object_path).cloned();
            if verb == "MERGE" {
                let Some(existing) = existing.clone() else {
                    return status(
                        StatusCode::NOT_FOUND,
                        "NotFound",
                        format!("{path} not found"),
                    );
                };
                let expected = body["metadata"]["resourceVersion"].as_str();
                if expected.is_some()
                    && expected != existing["metadata"]["resourceVersion"].as_str()
                {
                    return status(
                        StatusCode::CONFLICT,
                        "Conflict",
                        "the object has been modified".into(),
                    );
                }
            }
            let mut object = existing.unwrap_or_else(|| json!({"metadata": {}}));
            if subresource {
                merge(&mut object["status"], &body["status"]);
            } else {
                let mut patch = body.clone();
                if let Some(meta) = patch["metadata"].as_object_mut() {
                    meta.remove("resourceVersion");
                }
                merge(&mut object, &patch);
            }
            state.put(&object_path, object);
            let stored = &state.objects[&object_path];
            if as_metadata {
                ok(StatusCode::OK, &metadata_only(stored))
            } else {
                ok(StatusCode::OK, stored)
            }
        }
        "DELETE" => match state.objects.remove(&path) {
            Some(_) => ok(
                StatusCode::OK,
                &json!({"apiVersion": "v1", "kind": "Status", "status": "Success"}),
            ),
            None => status(
                StatusCode::NOT_FOUND,
                "NotFound",
                format!("{path} not found"),
            ),
        },
        _ => status(StatusCode::METHOD_NOT_ALLOWED, "MethodNotAllowed", verb),
    }
}

/// The reconcile context tests use: events recorded as the operator, fresh metrics, a fixed key
/// generator, and whether the ServiceMonitor / PrometheusRule CRDs are installed.
pub fn context(
    client: Client,
    service_monitor_crd: bool,
    prometheus_rule_crd: bool,
) -> Arc<notion_mcp_operator::reconcile::Context> {
    use kube::runtime::events::{Recorder, Reporter};
    Arc::new(notion_mcp_operator::reconcile::Context {
        recorder: Recorder::new(
            client.clone(),
            Reporter {
                controller: "notion-mcp-operator".into(),
                instance: None,
            },
        ),
        client,
        metrics: notion_mcp_operator::metrics::Metrics::new().unwrap(),
        service_monitor_crd,
        prometheus_rule_crd,
        new_key: || vec![7; 32],
    })
}
