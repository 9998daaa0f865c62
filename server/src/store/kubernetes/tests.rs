//! The Kubernetes backend against a scripted API server (tower-test mock): each test reads as the exact
//! sequence of requests the backend sends and the answers it gets. The contract of every backend runs
//! against an in-memory fake API server in `fake.rs`.

use super::*;
use crate::store::{Decision, KeyRing, Record, Store, now_unix};
use bytes::Bytes;
use futures::channel::mpsc::{UnboundedSender, unbounded};
use http::{Request, Response};
use kube::client::Body;
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};
use tokio::time::timeout;

pub(super) type TestBody = axum::body::Body;
type Handle = tower_test::mock::Handle<Request<Body>, Response<TestBody>>;
type Reply = tower_test::mock::SendResponse<Response<TestBody>>;

pub(super) const NS: &str = "notion-mcp";
pub(super) const INSTANCE: &str = "notion-mcp";
const SECRETS: &str = "/api/v1/namespaces/notion-mcp/secrets";
const SELECTOR: &str = "labelSelector=app.kubernetes.io/managed-by=notion-mcp-remote,notionmcp.dev/instance=notion-mcp";
const UID: &str = "6f1c2b9e-0000-4000-8000-000000000001";

pub(super) fn json_response(code: u16, body: &Value) -> Response<TestBody> {
    let bytes = Bytes::from(serde_json::to_vec(body).expect("json"));
    Response::builder()
        .status(code)
        .header("content-type", "application/json")
        .body(TestBody::from(bytes))
        .expect("response")
}

pub(super) fn status_response(code: u16, reason: &str) -> Response<TestBody> {
    json_response(
        code,
        &json!({"kind": "Status", "apiVersion": "v1", "status": "Failure", "code": code,
                "reason": reason, "message": format!("{reason} (from the test)")}),
    )
}

/// A held-open watch response and the feed of its events.
pub(super) fn watch_response() -> (UnboundedSender<Bytes>, Response<TestBody>) {
    let (tx, rx) = unbounded::<Bytes>();
    let response = Response::builder()
        .status(200)
        .body(TestBody::from_stream(rx.map(Ok::<_, std::io::Error>)))
        .expect("response");
    (tx, response)
}

pub(super) fn watch_line(type_: &str, object: &Value) -> Bytes {
    let mut line = serde_json::to_vec(&json!({"type": type_, "object": object})).expect("json");
    line.push(b'\n');
    Bytes::from(line)
}

/// `METHOD path?decoded-query` of a request, for readable assertions.
pub(super) fn request_line<B>(req: &Request<B>) -> String {
    let uri = req.uri();
    let query: Vec<String> = url::form_urlencoded::parse(uri.query().unwrap_or("").as_bytes())
        .map(|(k, v)| format!("{k}={v}"))
        .collect();
    let mut line = format!("{} {}", req.method(), uri.path());
    if !query.is_empty() {
        line.push('?');
        line.push_str(&query.join("&"));
    }
    line
}

pub(super) fn config(owner: bool) -> KubernetesConfig {
    KubernetesConfig {
        namespace: NS.into(),
        instance: INSTANCE.into(),
        owner: owner.then(|| OwnerRef {
            api_version: "notionmcp.dev/v1alpha1".into(),
            kind: "NotionMcpRemote".into(),
            name: INSTANCE.into(),
            uid: UID.into(),
        }),
    }
}

/// A record Secret as the API server returns it.
fn secret(kind: Kind, key: &str, rv: &str, sealed: &[u8], expires_at: Option<i64>) -> Value {
    let mut annotations = json!({KEY_ANNOTATION: key});
    if let Some(t) = expires_at {
        annotations[EXPIRES_ANNOTATION] = json!(t.to_string());
    }
    json!({
        "apiVersion": "v1", "kind": "Secret",
        "metadata": {
            "name": secret_name(INSTANCE, kind, key), "namespace": NS, "resourceVersion": rv,
            "labels": {MANAGED_BY_LABEL: MANAGER, INSTANCE_LABEL: INSTANCE, KIND_LABEL: kind.as_str()},
            "annotations": annotations,
        },
        "type": "Opaque",
        "data": {"record": base64::Engine::encode(&base64::engine::general_purpose::STANDARD, sealed)},
    })
}

fn with_rv(mut object: Value, rv: &str) -> Value {
    object["metadata"]["resourceVersion"] = json!(rv);
    object
}

fn path(kind: Kind, key: &str) -> String {
    format!("{SECRETS}/{}", secret_name(INSTANCE, kind, key))
}

/// The scripted API server.
struct ApiServer {
    handle: Handle,
    watch: Option<UnboundedSender<Bytes>>,
}

impl ApiServer {
    /// The next request, which must be `line`; returns its JSON body (or null) and the reply handle.
    async fn expect(&mut self, line: &str) -> (Value, Reply) {
        let (req, reply) = timeout(Duration::from_secs(5), self.handle.next_request())
            .await
            .unwrap_or_else(|_| panic!("no request arrived; expected {line}"))
            .expect("client gone");
        assert_eq!(request_line(&req), line);
        let bytes = req.into_body().collect_bytes().await.expect("body");
        let body = if bytes.is_empty() {
            Value::Null
        } else {
            serde_json::from_slice(&bytes).expect("json body")
        };
        (body, reply)
    }

    fn event(&self, type_: &str, object: &Value) {
        self.watch
            .as_ref()
            .expect("watching")
            .unbounded_send(watch_line(type_, object))
            .expect("watch open");
    }
}

/// Start a backend: the initial LIST (answered with `items` at resourceVersion 100), then the WATCH that
/// follows it, held open for events.
async fn started(items: Vec<Value>, owner: bool) -> (KubernetesBackend, ApiServer) {
    let (service, handle) = tower_test::mock::pair::<Request<Body>, Response<TestBody>>();
    let client = kube::Client::new(service, NS);
    let mut api = ApiServer {
        handle,
        watch: None,
    };
    let script = async {
        let (_, reply) = api
            .expect(&format!("GET {SECRETS}?{SELECTOR}&limit=500"))
            .await;
        reply.send_response(json_response(
            200,
            &json!({"apiVersion": "v1", "kind": "SecretList",
                    "metadata": {"resourceVersion": "100"}, "items": items}),
        ));
        let (_, reply) = api
            .expect(&format!(
                "GET {SECRETS}?watch=true&timeoutSeconds=290&{SELECTOR}&allowWatchBookmarks=true&resourceVersion=100"
            ))
            .await;
        let (feed, response) = watch_response();
        reply.send_response(response);
        feed
    };
    let (backend, feed) = tokio::join!(KubernetesBackend::start(client, config(owner)), script);
    let mut backend = backend.expect("start");
    backend.retry_base = Duration::from_millis(1);
    api.watch = Some(feed);
    (backend, api)
}

/// An operation that must complete without any API request (nobody answers one).
async fn offline<T>(f: impl Future<Output = T>) -> T {
    timeout(Duration::from_secs(2), f)
        .await
        .expect("served from the cache without an API request")
}

/// Wait until the watch cache shows `check`.
async fn until(backend: &KubernetesBackend, check: impl Fn(&KubernetesBackend) -> bool) {
    timeout(Duration::from_secs(5), async {
        while !check(backend) {
            tokio::time::sleep(Duration::from_millis(2)).await;
        }
    })
    .await
    .expect("the watch event reached the cache");
}

fn cached_rv(backend: &KubernetesBackend, kind: Kind, key: &str) -> Option<String> {
    backend
        .cached(&secret_name(INSTANCE, kind, key))
        .and_then(|s| s.metadata.resource_version.clone())
}

fn new_entry(sealed: &[u8], expires_at: Option<i64>) -> NewEntry {
    NewEntry {
        sealed: sealed.to_vec(),
        expires_at,
    }
}

#[test]
fn secret_names_are_short_dns_labels_and_never_contain_the_key() {
    let name = secret_name("notion-mcp", Kind::Client, "Client_ABC-123");
    assert!(name.starts_with("nmr-client-"), "{name}");
    assert!(name.len() <= 63);
    assert!(
        name.bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
    );
    assert_eq!(
        name,
        secret_name("notion-mcp", Kind::Client, "Client_ABC-123")
    );
    assert_ne!(name, secret_name("other", Kind::Client, "Client_ABC-123"));
    assert_ne!(
        secret_name("i", Kind::Code, "k"),
        secret_name("i", Kind::Pending, "k")
    );
    let longest = secret_name(&"x".repeat(63), Kind::Consent, &"K".repeat(128));
    assert_eq!(longest.len(), "nmr-consent-".len() + 40);
}

#[tokio::test]
async fn start_lists_by_label_then_serves_reads_from_the_cache() {
    let mut foreign = secret(Kind::Grant, "other", "95", b"x", None);
    foreign["metadata"]["name"] = json!("renamed-by-hand");
    let (backend, _api) = started(
        vec![
            secret(Kind::Grant, "g1", "90", b"sealed-1", Some(1_900_000_000)),
            secret(Kind::Consent, "c1", "91", b"sealed-2", None),
            foreign,
        ],
        false,
    )
    .await;
    assert_eq!(backend.cached_len(), 3);

    let entry = offline(backend.get(Kind::Grant, "g1"))
        .await
        .expect("get")
        .expect("present");
    assert_eq!(entry.version, Version("90".into()));
    assert_eq!(entry.sealed, b"sealed-1");
    assert_eq!(entry.expires_at, Some(1_900_000_000));

    // list: one kind only, expiry from the annotation; a Secret whose name does not match its labels is
    // not a record of this backend.
    let grants = offline(backend.list(Kind::Grant)).await.expect("list");
    assert_eq!(grants.len(), 1);
    assert_eq!(grants[0].0, "g1");
    assert_eq!(grants[0].1.expires_at, Some(1_900_000_000));
    let consents = offline(backend.list(Kind::Consent)).await.expect("list");
    assert_eq!(consents[0].1.expires_at, None);
}

#[tokio::test(start_paused = true)]
async fn start_fails_with_a_hint_when_secrets_cannot_be_listed() {
    let (service, mut handle) = tower_test::mock::pair::<Request<Body>, Response<TestBody>>();
    let client = kube::Client::new(service, NS);
    tokio::spawn(async move {
        while let Some((_, reply)) = handle.next_request().await {
            reply.send_response(status_response(403, "Forbidden"));
        }
    });
    let err = match KubernetesBackend::start(client, config(false)).await {
        Err(e) => e.to_string(),
        Ok(_) => panic!("started without being able to list"),
    };
    assert!(err.contains("namespace 'notion-mcp'"), "{err}");
    assert!(err.contains("is the RBAC for secrets in place?"), "{err}");
    assert!(err.contains("Forbidden"), "{err}");
}

#[tokio::test]
async fn create_posts_one_labelled_owned_secret_and_reads_it_back_without_a_get() {
    let (backend, mut api) = started(vec![], true).await;
    let name = secret_name(INSTANCE, Kind::Grant, "Grant_AB-1");
    let create = backend.create(
        Kind::Grant,
        "Grant_AB-1",
        new_entry(b"sealed-bytes", Some(1_900_000_000)),
    );
    let script = async {
        let (body, reply) = api.expect(&format!("POST {SECRETS}")).await;
        assert_eq!(
            body,
            json!({
                "apiVersion": "v1", "kind": "Secret",
                "metadata": {
                    "name": name, "namespace": NS,
                    "labels": {
                        "app.kubernetes.io/managed-by": "notion-mcp-remote",
                        "notionmcp.dev/instance": "notion-mcp",
                        "notionmcp.dev/kind": "grant",
                    },
                    "annotations": {
                        "notionmcp.dev/expires-at": "1900000000",
                        "notionmcp.dev/key": "Grant_AB-1",
                    },
                    "ownerReferences": [{
                        "apiVersion": "notionmcp.dev/v1alpha1", "kind": "NotionMcpRemote",
                        "name": "notion-mcp", "uid": UID,
                        "controller": false, "blockOwnerDeletion": false,
                    }],
                },
                "type": "Opaque",
                "data": {"record": "c2VhbGVkLWJ5dGVz"},
            })
        );
        reply.send_response(json_response(201, &with_rv(body, "101")));
    };
    let (version, ()) = tokio::join!(create, script);
    assert_eq!(version.expect("create"), Version("101".into()));

    // The watch has not delivered the Secret yet; the read is served from what this replica wrote.
    assert_eq!(backend.cached_len(), 0);
    let entry = offline(backend.get(Kind::Grant, "Grant_AB-1"))
        .await
        .expect("get")
        .expect("present");
    assert_eq!(entry.version, Version("101".into()));
    assert_eq!(entry.sealed, b"sealed-bytes");
    let listed = offline(backend.list(Kind::Grant)).await.expect("list");
    assert_eq!(listed.len(), 1);

    // A second create of the same key: 409 AlreadyExists, not retried.
    let again = backend.create(Kind::Grant, "Grant_AB-1", new_entry(b"other", None));
    let script = async {
        let (_, reply) = api.expect(&format!("POST {SECRETS}")).await;
        reply.send_response(status_response(409, "AlreadyExists"));
    };
    let (result, ()) = tokio::join!(again, script);
    assert!(matches!(result, Err(StoreError::AlreadyExists { .. })));
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub(super) struct Note {
    pub(super) text: String,
}

impl Record for Note {
    const KIND: Kind = Kind::Consent;
    fn expires_at(&self) -> Option<i64> {
        Some(now_unix() + 3600)
    }
}

#[tokio::test]
async fn a_stale_replace_conflicts_and_the_update_loop_rereads_directly() {
    let (backend, mut api) = started(vec![], false).await;
    let backend = Arc::new(backend);
    let store = Store::new(backend.clone(), Arc::new(KeyRing::random()));
    let note_path = path(Kind::Consent, "n1");

    let one = Note { text: "one".into() };
    let create = store.create("n1", &one);
    let script = async {
        let (body, reply) = api.expect(&format!("POST {SECRETS}")).await;
        let stored = with_rv(body, "101");
        reply.send_response(json_response(201, &stored));
        stored
    };
    let (created, stored) = tokio::join!(create, script);
    created.expect("create");

    // Meanwhile the operator adopted the Secret (owner reference, resourceVersion 105), which this
    // replica has not seen: the first PUT conflicts, the loop re-reads with a GET and the second PUT
    // starts from the fresh object, keeping the owner reference.
    let mut adopted = with_rv(stored, "105");
    adopted["metadata"]["ownerReferences"] = json!([{"apiVersion": "notionmcp.dev/v1alpha1",
        "kind": "NotionMcpRemote", "name": "notion-mcp", "uid": UID}]);
    let update = store.update::<Note, _>("n1", |n| {
        n.text.push_str("+two");
        Decision::Write(n.text.clone())
    });
    let script = async {
        let (body, reply) = api.expect(&format!("PUT {note_path}")).await;
        assert_eq!(body["metadata"]["resourceVersion"], json!("101"));
        reply.send_response(status_response(409, "Conflict"));
        let (_, reply) = api.expect(&format!("GET {note_path}")).await;
        reply.send_response(json_response(200, &adopted));
        let (body, reply) = api.expect(&format!("PUT {note_path}")).await;
        assert_eq!(body["metadata"]["resourceVersion"], json!("105"));
        assert_eq!(body["metadata"]["ownerReferences"][0]["uid"], json!(UID));
        assert_eq!(
            body["metadata"]["labels"]["notionmcp.dev/kind"],
            json!("oauth-consent")
        );
        reply.send_response(json_response(200, &with_rv(body, "106")));
    };
    let (updated, ()) = tokio::join!(update, script);
    assert_eq!(updated.expect("update"), Some("one+two".to_string()));
    let note = offline(store.get::<Note>("n1")).await.expect("get");
    assert_eq!(note.map(|n| n.text), Some("one+two".to_string()));

    // A version this replica never saw: one GET shows it is stale, no PUT is sent.
    let stale = Version("3".into());
    let replace = backend.replace(Kind::Consent, "n1", new_entry(b"x", None), &stale);
    let script = async {
        let (_, reply) = api.expect(&format!("GET {note_path}")).await;
        reply.send_response(json_response(200, &adopted));
    };
    let (result, ()) = tokio::join!(replace, script);
    assert!(
        matches!(result, Err(StoreError::Conflict { .. })),
        "{result:?}"
    );
}

#[tokio::test]
async fn transient_failures_on_writes_are_retried_and_nothing_is_lost() {
    let (backend, mut api) = started(vec![], false).await;
    let code_path = path(Kind::Code, "k1");

    // 503, then the POST goes through.
    let create = backend.create(
        Kind::Code,
        "k1",
        new_entry(b"code-record", Some(1_900_000_000)),
    );
    let script = async {
        let (_, reply) = api.expect(&format!("POST {SECRETS}")).await;
        reply.send_response(status_response(503, "ServiceUnavailable"));
        let (body, reply) = api.expect(&format!("POST {SECRETS}")).await;
        reply.send_response(json_response(201, &with_rv(body, "101")));
    };
    let (version, ()) = tokio::join!(create, script);
    assert_eq!(version.expect("create"), Version("101".into()));

    // The connection drops after the PUT was applied: the retry meets 409, a GET shows our record, so
    // the write succeeded.
    let v101 = Version("101".into());
    let replace = backend.replace(Kind::Code, "k1", new_entry(b"code-record-2", None), &v101);
    let script = async {
        let (body, reply) = api.expect(&format!("PUT {code_path}")).await;
        assert!(
            body["metadata"]["annotations"]
                .get(EXPIRES_ANNOTATION)
                .is_none()
        );
        reply.send_error(std::io::Error::other("connection reset"));
        let (body, reply) = api.expect(&format!("PUT {code_path}")).await;
        reply.send_response(status_response(409, "Conflict"));
        let (_, reply) = api.expect(&format!("GET {code_path}")).await;
        reply.send_response(json_response(200, &with_rv(body, "102")));
    };
    let (version, ()) = tokio::join!(replace, script);
    assert_eq!(version.expect("replace"), Version("102".into()));

    // An API server that stays down: a few attempts, then Unavailable naming the operation and the
    // Secret, never the record.
    let create = backend.create(Kind::Code, "k2", new_entry(b"secret-bytes", None));
    let script = async {
        for _ in 0..ATTEMPTS {
            let (_, reply) = api.expect(&format!("POST {SECRETS}")).await;
            reply.send_response(status_response(500, "InternalError"));
        }
    };
    let (result, ()) = tokio::join!(create, script);
    let err = result.expect_err("unavailable").to_string();
    assert!(
        err.contains("creating Secret notion-mcp/nmr-code-"),
        "{err}"
    );
    assert!(err.contains("500 InternalError"), "{err}");
    assert!(
        !err.contains("secret-bytes") && !err.contains("c2VjcmV0LWJ5dGVz"),
        "{err}"
    );
}

#[tokio::test]
async fn delete_sends_the_precondition_and_reports_missing_secrets() {
    let c1 = secret(Kind::Consent, "c1", "90", b"consent", None);
    let (backend, mut api) = started(vec![c1.clone()], false).await;
    let c1_path = path(Kind::Consent, "c1");

    let v90 = Version("90".into());
    let delete = backend.delete(Kind::Consent, "c1", Some(&v90));
    let script = async {
        let (body, reply) = api.expect(&format!("DELETE {c1_path}")).await;
        assert_eq!(body["preconditions"], json!({"resourceVersion": "90"}));
        reply.send_response(json_response(200, &c1));
    };
    let (deleted, ()) = tokio::join!(delete, script);
    assert!(deleted.expect("delete"));
    // The cache still holds it until the DELETED event; this replica knows better.
    assert_eq!(
        cached_rv(&backend, Kind::Consent, "c1").as_deref(),
        Some("90")
    );
    assert!(
        offline(backend.get(Kind::Consent, "c1"))
            .await
            .expect("get")
            .is_none()
    );
    assert!(
        offline(backend.list(Kind::Consent))
            .await
            .expect("list")
            .is_empty()
    );
    api.event("DELETED", &with_rv(c1, "91"));
    until(&backend, |b| b.cached_len() == 0).await;

    // Gone already: Ok(false). Changed since it was read: Conflict.
    let delete = backend.delete(Kind::Consent, "c1", None);
    let script = async {
        let (body, reply) = api.expect(&format!("DELETE {c1_path}")).await;
        assert!(body.get("preconditions").is_none(), "{body}");
        reply.send_response(status_response(404, "NotFound"));
    };
    let (deleted, ()) = tokio::join!(delete, script);
    assert!(!deleted.expect("delete"));
    let v7 = Version("7".into());
    let delete = backend.delete(Kind::Consent, "c2", Some(&v7));
    let script = async {
        let (_, reply) = api
            .expect(&format!("DELETE {}", path(Kind::Consent, "c2")))
            .await;
        reply.send_response(status_response(409, "Conflict"));
    };
    let (result, ()) = tokio::join!(delete, script);
    assert!(matches!(result, Err(StoreError::Conflict { .. })));
}

#[tokio::test]
async fn watch_events_from_another_replica_update_the_cache() {
    let (backend, mut api) = started(vec![], false).await;
    let g = |rv: &str, sealed: &[u8]| secret(Kind::Grant, "g1", rv, sealed, Some(1_900_000_000));

    api.event("ADDED", &g("110", b"first"));
    until(&backend, |b| cached_rv(b, Kind::Grant, "g1").is_some()).await;
    let entry = offline(backend.get(Kind::Grant, "g1"))
        .await
        .expect("get")
        .expect("present");
    assert_eq!(
        (entry.version.0.as_str(), entry.sealed.as_slice()),
        ("110", &b"first"[..])
    );

    api.event("MODIFIED", &g("111", b"second"));
    until(&backend, |b| {
        cached_rv(b, Kind::Grant, "g1").as_deref() == Some("111")
    })
    .await;
    let entry = offline(backend.get(Kind::Grant, "g1"))
        .await
        .expect("get")
        .expect("present");
    assert_eq!(entry.sealed, b"second");

    // This replica's own write is served until the watch shows something at least as new: here another
    // replica's later change.
    let v111 = Version("111".into());
    let replace = backend.replace(Kind::Grant, "g1", new_entry(b"mine", None), &v111);
    let script = async {
        let (body, reply) = api
            .expect(&format!("PUT {}", path(Kind::Grant, "g1")))
            .await;
        reply.send_response(json_response(200, &with_rv(body, "112")));
    };
    let (version, ()) = tokio::join!(replace, script);
    assert_eq!(version.expect("replace"), Version("112".into()));
    let entry = offline(backend.get(Kind::Grant, "g1"))
        .await
        .expect("get")
        .expect("present");
    assert_eq!(entry.sealed, b"mine");
    api.event("MODIFIED", &g("112", b"mine"));
    api.event("MODIFIED", &g("113", b"theirs"));
    until(&backend, |b| {
        cached_rv(b, Kind::Grant, "g1").as_deref() == Some("113")
    })
    .await;
    let entry = offline(backend.get(Kind::Grant, "g1"))
        .await
        .expect("get")
        .expect("present");
    assert_eq!(entry.sealed, b"theirs");

    api.event("DELETED", &g("114", b"theirs"));
    until(&backend, |b| b.cached_len() == 0).await;
    assert!(
        offline(backend.list(Kind::Grant))
            .await
            .expect("list")
            .is_empty()
    );
    // A miss may be a record written elsewhere a moment ago: one direct GET.
    let get = backend.get(Kind::Grant, "g1");
    let script = async {
        let (_, reply) = api
            .expect(&format!("GET {}", path(Kind::Grant, "g1")))
            .await;
        reply.send_response(status_response(404, "NotFound"));
    };
    let (entry, ()) = tokio::join!(get, script);
    assert!(entry.expect("get").is_none());
}
