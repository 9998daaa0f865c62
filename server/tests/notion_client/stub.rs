//! The in-process stub Notion server used by the client tests: scripted faults, a per-token
//! token bucket, a request log, block children and a paginated relation property.

use axum::body::{Body, Bytes};
use axum::extract::State;
use axum::http::{HeaderMap, Method, StatusCode, Uri};
use axum::response::Response;
use serde_json::{Value, json};
use std::collections::{HashMap, VecDeque};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

pub const TOKEN: &str = "ntn_test_secret_token_0123456789";

/// A scripted failure for the next request matching `method` and `path_prefix`.
#[derive(Clone)]
pub enum Fault {
    /// Status, JSON body, `Retry-After` header.
    Status(u16, Value, Option<&'static str>),
    /// Send headers, then break the connection in the middle of the body.
    Drop,
    /// Sleep before answering normally.
    Delay(Duration),
}

#[derive(Clone, Debug)]
pub struct Recorded {
    pub method: Method,
    pub path: String,
    pub query: String,
    pub headers: HeaderMap,
    pub body: Bytes,
}

#[derive(Default)]
pub struct Stub {
    pub faults: Mutex<VecDeque<(Method, &'static str, Fault)>>,
    /// Token bucket per Authorization header: (per_second, burst).
    pub limit: Mutex<Option<(f64, f64)>>,
    pub buckets: Mutex<HashMap<String, (f64, Instant)>>,
    pub log: Mutex<Vec<Recorded>>,
    pub statuses: Mutex<Vec<u16>>,
    /// Block id → children (for `GET /v1/blocks/{id}/children`).
    pub blocks: Mutex<HashMap<String, Vec<Value>>>,
}

impl Stub {
    pub fn fault(&self, method: Method, prefix: &'static str, fault: Fault) {
        self.faults
            .lock()
            .unwrap()
            .push_back((method, prefix, fault));
    }
    pub fn requests(&self) -> Vec<Recorded> {
        self.log.lock().unwrap().clone()
    }
    pub fn count(&self) -> usize {
        self.log.lock().unwrap().len()
    }
    pub fn count_status(&self, s: u16) -> usize {
        self.statuses
            .lock()
            .unwrap()
            .iter()
            .filter(|&&x| x == s)
            .count()
    }

    /// Consume a token of the caller's bucket; false when the bucket is empty.
    pub fn admit(&self, key: &str) -> bool {
        let Some((rate, burst)) = *self.limit.lock().unwrap() else {
            return true;
        };
        let mut buckets = self.buckets.lock().unwrap();
        let now = Instant::now();
        let (tokens, last) = buckets.entry(key.to_owned()).or_insert((burst, now));
        *tokens = (*tokens + now.duration_since(*last).as_secs_f64() * rate).min(burst);
        *last = now;
        if *tokens >= 1.0 {
            *tokens -= 1.0;
            true
        } else {
            false
        }
    }
}

pub fn error_body(status: u16, code: &str, message: &str, data: Option<Value>) -> Value {
    let mut v = json!({"object":"error","status":status,"code":code,"message":message,"request_id":"req-1"});
    if let Some(d) = data {
        v["additional_data"] = d;
    }
    v
}

pub fn json_response(status: u16, body: &Value, retry_after: Option<&str>) -> Response {
    let mut r = Response::builder()
        .status(StatusCode::from_u16(status).unwrap())
        .header("content-type", "application/json");
    if let Some(ra) = retry_after {
        r = r.header("retry-after", ra);
    }
    r.body(Body::from(serde_json::to_vec(body).unwrap()))
        .unwrap()
}

pub async fn handle(
    State(stub): State<Arc<Stub>>,
    method: Method,
    uri: Uri,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let path = uri.path().to_owned();
    let query = uri.query().unwrap_or_default().to_owned();
    stub.log.lock().unwrap().push(Recorded {
        method: method.clone(),
        path: path.clone(),
        query: query.clone(),
        headers: headers.clone(),
        body: body.clone(),
    });
    let resp = answer(&stub, &method, &path, &query, &headers, &body).await;
    stub.statuses.lock().unwrap().push(resp.status().as_u16());
    resp
}

pub async fn answer(
    stub: &Stub,
    method: &Method,
    path: &str,
    query: &str,
    headers: &HeaderMap,
    body: &[u8],
) -> Response {
    let fault = {
        let mut faults = stub.faults.lock().unwrap();
        let pos = faults
            .iter()
            .position(|(m, p, _)| m == method && path.starts_with(p));
        pos.and_then(|i| faults.remove(i)).map(|(_, _, f)| f)
    };
    match fault {
        Some(Fault::Status(s, b, ra)) => return json_response(s, &b, ra),
        Some(Fault::Drop) => {
            let broken = futures::stream::iter([
                Ok(Bytes::from_static(b"{\"partial\":")),
                Err(std::io::Error::other("connection dropped")),
            ]);
            return Response::builder()
                .status(200)
                .body(Body::from_stream(broken))
                .unwrap();
        }
        Some(Fault::Delay(d)) => tokio::time::sleep(d).await,
        None => {}
    }
    let auth = headers
        .get("authorization")
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default();
    if !stub.admit(auth) {
        let data = json!({"rate_limit_reason":"public_api_request_rate_limit"});
        return json_response(
            429,
            &error_body(429, "rate_limited", "Slow down.", Some(data)),
            Some("1"),
        );
    }
    let q: HashMap<String, String> = url::form_urlencoded::parse(query.as_bytes())
        .into_owned()
        .collect();
    if path.starts_with("/v1/oauth/") {
        let basic = format!("Basic {}", b64("client-1:secret-1"));
        if auth != basic {
            return json_response(
                401,
                &json!({"error":"invalid_client","error_description":"Bad client"}),
                None,
            );
        }
        let req: Value = serde_json::from_slice(body).unwrap_or_default();
        if req["code"] == "used" {
            let e = json!({"error":"invalid_grant","error_description":"Code already used"});
            return json_response(400, &e, None);
        }
        return json_response(
            200,
            &json!({"access_token":"ntn_new","bot_id":"bot-1"}),
            None,
        );
    }
    if auth != format!("Bearer {TOKEN}") && !auth.starts_with("Bearer ntn_other") {
        let msg = format!(
            "API token {} is invalid.",
            auth.trim_start_matches("Bearer ")
        );
        return json_response(401, &error_body(401, "unauthorized", &msg, None), None);
    }
    if let Some(id) = path
        .strip_prefix("/v1/blocks/")
        .and_then(|p| p.strip_suffix("/children"))
    {
        let blocks = stub.blocks.lock().unwrap();
        let Some(all) = blocks.get(id) else {
            let msg = format!("Could not find block with ID: {id}.");
            return json_response(404, &error_body(404, "object_not_found", &msg, None), None);
        };
        let start: usize = q.get("start_cursor").map_or(0, |c| c.parse().unwrap());
        let size: usize = q.get("page_size").map_or(100, |s| s.parse().unwrap());
        assert!(size <= 100);
        let end = (start + size).min(all.len());
        let has_more = end < all.len();
        let page = json!({"object":"list","results":all[start..end],"has_more":has_more,
            "next_cursor": if has_more { Value::from(end.to_string()) } else { Value::Null },
            "type":"block","block":{}});
        return json_response(200, &page, None);
    }
    if path.starts_with("/v1/pages/p1/properties/") {
        let total = 60;
        let start: usize = q.get("start_cursor").map_or(0, |c| c.parse().unwrap());
        let size: usize = q.get("page_size").map_or(100, |s| s.parse().unwrap());
        let end = (start + size).min(total);
        let results: Vec<Value> = (start..end)
            .map(|i| json!({"object":"property_item","type":"relation","relation":{"id":format!("r{i}")}}))
            .collect();
        let has_more = end < total;
        return json_response(
            200,
            &json!({"object":"list","results":results,"has_more":has_more,
                "next_cursor": if has_more { Value::from(end.to_string()) } else { Value::Null },
                "type":"property_item","property_item":{"id":"rel","type":"relation","relation":{}}}),
            None,
        );
    }
    let echo = json!({"object":"echo","method":method.as_str(),"path":path,"query":query,
        "body": serde_json::from_slice::<Value>(body).unwrap_or(Value::Null)});
    json_response(200, &echo, None)
}

pub fn b64(s: &str) -> String {
    const T: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let b = s.as_bytes();
    let mut out = String::new();
    for chunk in b.chunks(3) {
        let n = chunk
            .iter()
            .enumerate()
            .fold(0u32, |acc, (i, &x)| acc | (u32::from(x) << (16 - 8 * i)));
        for i in 0..4 {
            if i <= chunk.len() {
                out.push(char::from(T[((n >> (18 - 6 * i)) & 63) as usize]));
            } else {
                out.push('=');
            }
        }
    }
    out
}

pub async fn start_stub() -> (Arc<Stub>, String) {
    let stub = Arc::new(Stub::default());
    let app = axum::Router::new()
        .fallback(handle)
        .with_state(Arc::clone(&stub));
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move {
        let _ = axum::serve(listener, app).await;
    });
    (stub, format!("http://{addr}"))
}
