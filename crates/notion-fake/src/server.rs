//! The HTTP pipeline in front of the handlers: body parsing, fault injection, Notion-Version
//! and bearer checks, rate limiting, dispatch under the state lock, webhook events of successful
//! writes, response and logging.

use std::collections::BTreeMap;

use axum::body::{Body, Bytes};
use axum::extract::Request;
use axum::response::Response;
use http::{HeaderMap, HeaderValue, Method, StatusCode, header};
use serde_json::Value;

use crate::FakeNotion;
use crate::errors::ApiError;
use crate::faults::{self, Fault};
use crate::ids::fmt_id;
use crate::log::{RecordedRequest, redact_authorization};
use crate::render::Version;
use crate::routes::oauth::{self, OAuthReply};
use crate::routes::{Ctx, dispatch};
use crate::webhooks::Author;

const MAX_BODY: usize = 500 * 1024;
/// Largest body read at all (file-upload sends may exceed the 20 MB part limit, to be refused).
const MAX_READ: usize = 48 * 1024 * 1024;

/// The outcome before it becomes an HTTP response.
struct Outcome {
    status: u16,
    body: Option<Value>,
    location: Option<String>,
    retry_after: Option<u64>,
    bot_id: Option<String>,
}

impl Outcome {
    fn error(e: &ApiError, request_id: &str) -> Self {
        Self {
            status: e.status,
            body: Some(e.body(request_id)),
            location: None,
            retry_after: e.retry_after,
            bot_id: None,
        }
    }
}

fn header_str<'a>(headers: &'a HeaderMap, name: &str) -> Option<&'a str> {
    headers.get(name).and_then(|v| v.to_str().ok())
}

fn parse_query(raw: Option<&str>) -> Vec<(String, String)> {
    raw.map(|q| {
        url::form_urlencoded::parse(q.as_bytes())
            .into_owned()
            .collect()
    })
    .unwrap_or_default()
}

/// Parses a JSON body (whatever the content type, as clients often omit it); OAuth endpoints
/// also accept form-encoded bodies.
fn parse_body(headers: &HeaderMap, bytes: &Bytes, path: &str) -> Result<Value, ApiError> {
    if multipart_type(headers).is_some() || bytes.iter().all(u8::is_ascii_whitespace) {
        return Ok(Value::Null);
    }
    let form = path.starts_with("/v1/oauth/")
        && header_str(headers, "content-type")
            .is_some_and(|c| c.starts_with("application/x-www-form-urlencoded"))
        && !bytes.trim_ascii_start().starts_with(b"{");
    if form {
        let map: serde_json::Map<String, Value> = url::form_urlencoded::parse(bytes)
            .into_owned()
            .map(|(k, v)| (k, Value::String(v)))
            .collect();
        return Ok(Value::Object(map));
    }
    serde_json::from_slice(bytes).map_err(|_| ApiError::invalid_json())
}

/// The content type of a multipart/form-data request (file-upload sends), whose body stays raw.
fn multipart_type(headers: &HeaderMap) -> Option<String> {
    header_str(headers, "content-type")
        .filter(|c| c.to_ascii_lowercase().starts_with("multipart/form-data"))
        .map(str::to_string)
}

/// Handles one request end to end. Once its body has arrived, the request runs to completion in a
/// task of its own, as at Notion: a client that gives up (a timeout, a closed connection) loses the
/// answer, not the effect, and the request is still applied and recorded.
pub async fn handle(fake: FakeNotion, req: Request) -> Response {
    let (parts, body) = req.into_parts();
    let bytes = axum::body::to_bytes(body, MAX_READ)
        .await
        .unwrap_or_default();
    let in_flight = InFlight::enter(&fake);
    let task = tokio::spawn(async move {
        let response = handle_received(fake, parts, bytes).await;
        drop(in_flight);
        response
    });
    match task.await {
        Ok(response) => response,
        Err(e) if e.is_panic() => std::panic::resume_unwind(e.into_panic()),
        Err(_) => Response::builder()
            .status(StatusCode::SERVICE_UNAVAILABLE)
            .body(Body::empty())
            .unwrap_or_else(|_| Response::new(Body::empty())),
    }
}

/// Counts a request from the arrival of its body until its handler has finished (see
/// [`FakeNotion::idle`]).
struct InFlight(FakeNotion);

impl InFlight {
    fn enter(fake: &FakeNotion) -> Self {
        fake.inner.in_flight.send_modify(|n| *n += 1);
        Self(fake.clone())
    }
}

impl Drop for InFlight {
    fn drop(&mut self) {
        self.0
            .inner
            .in_flight
            .send_modify(|n| *n = n.saturating_sub(1));
    }
}

async fn handle_received(fake: FakeNotion, parts: http::request::Parts, bytes: Bytes) -> Response {
    let request_id = uuid::Uuid::new_v4().to_string();
    let path = parts.uri.path().to_string();
    if parts.method == Method::GET
        && let Some(rest) = path.strip_prefix(crate::uploads::HOSTED_FILES)
    {
        return hosted_file(&fake, rest);
    }
    let login_page =
        crate::login_page::handles(&crate::lock(&fake.inner.state), &parts.method, &path);
    if login_page {
        let query = parse_query(parts.uri.query());
        let form: Vec<(String, String)> =
            url::form_urlencoded::parse(&bytes).into_owned().collect();
        return crate::login_page::handle(
            &mut crate::lock(&fake.inner.state),
            &parts.method,
            &query,
            &form,
        );
    }
    let method = parts.method.clone();
    let mut headers = BTreeMap::new();
    for name in ["notion-version", "content-type", "user-agent"] {
        if let Some(v) = header_str(&parts.headers, name) {
            headers.insert(name.to_string(), v.to_string());
        }
    }
    if let Some(v) = header_str(&parts.headers, "authorization") {
        headers.insert("authorization".into(), redact_authorization(v));
    }
    let parsed = parse_body(&parts.headers, &bytes, &path);
    let mut record = RecordedRequest {
        method: method.clone(),
        path: path.clone(),
        query: parts.uri.query().map(str::to_string),
        headers,
        body: parsed.as_ref().ok().filter(|v| !v.is_null()).cloned(),
        status: 0,
        bot_id: None,
        request_id: request_id.clone(),
    };

    let fault = faults::take(&mut crate::lock(&fake.inner.faults), &method, &path);
    let mut committed_fault = false;
    match &fault {
        Some(Fault::Delay(d)) => tokio::time::sleep(*d).await,
        Some(Fault::DropConnection) => {
            fake.record(record);
            return dropped();
        }
        Some(Fault::CommittedThenUnavailable) => committed_fault = true,
        Some(f) => {
            if let Some(e) = faults::error_for(f) {
                let outcome = Outcome::error(&e, &request_id);
                return finish(&fake, record, outcome);
            }
        }
        None => {}
    }

    let mut outcome = process(&fake, &parts, &path, parsed, &bytes, &request_id);
    if committed_fault && (200..300).contains(&outcome.status) && method != Method::GET {
        let body = outcome.body.clone().unwrap_or(Value::Null);
        let (resource, children) = committed_ids(&path, &body);
        let e = faults::committed_error(resource, children);
        let bot = outcome.bot_id.take();
        outcome = Outcome::error(&e, &request_id);
        outcome.bot_id = bot;
    }
    record.bot_id = outcome.bot_id.clone();
    finish(&fake, record, outcome)
}

fn committed_ids(path: &str, body: &Value) -> (Option<String>, Vec<String>) {
    if body["object"] == "list" {
        let parent = path
            .split('/')
            .nth(3)
            .and_then(crate::ids::parse_id)
            .map(|u| fmt_id(&u));
        let kids = body["results"]
            .as_array()
            .map(|a| {
                a.iter()
                    .filter_map(|b| b["id"].as_str().map(str::to_string))
                    .collect()
            })
            .unwrap_or_default();
        (parent, kids)
    } else {
        (body["id"].as_str().map(str::to_string), Vec::new())
    }
}

fn process(
    fake: &FakeNotion,
    parts: &http::request::Parts,
    path: &str,
    parsed: Result<Value, ApiError>,
    raw: &Bytes,
    request_id: &str,
) -> Outcome {
    let size = raw.len();
    let multipart = multipart_type(&parts.headers);
    let Some(rest) = path.strip_prefix("/v1/") else {
        return Outcome::error(&ApiError::invalid_request_url(), request_id);
    };
    let seg: Vec<&str> = rest.split('/').filter(|s| !s.is_empty()).collect();
    let query = parse_query(parts.uri.query());
    let auth = header_str(&parts.headers, "authorization");

    if seg.first() == Some(&"oauth") && seg.len() == 2 {
        let body = parsed.unwrap_or(Value::Null);
        let reply = oauth::handle(
            &mut crate::lock(&fake.inner.state),
            &parts.method,
            seg[1],
            &query,
            auth,
            &body,
        );
        return match reply {
            OAuthReply::Json(status, mut body) => {
                if let Some(m) = body.as_object_mut() {
                    m.insert("request_id".into(), Value::String(request_id.to_string()));
                }
                Outcome {
                    status,
                    body: Some(body),
                    location: None,
                    retry_after: None,
                    bot_id: None,
                }
            }
            OAuthReply::Redirect(to) => Outcome {
                status: 302,
                body: None,
                location: Some(to),
                retry_after: None,
                bot_id: None,
            },
        };
    }

    let version = match header_str(&parts.headers, "notion-version") {
        None => return Outcome::error(&ApiError::missing_version(), request_id),
        Some(raw) => match Version::parse(raw) {
            Some(v) => v,
            None => {
                let e = ApiError::validation(format!(
                    "Notion-Version header failed validation: Notion-Version header should be `\"2025-09-03\"`, `\"2026-03-11\"` or `\"2026-12-01\"`, instead was `\"{raw}\"`."
                ));
                return Outcome::error(&e, request_id);
            }
        },
    };
    let token = auth
        .and_then(|h| {
            h.strip_prefix("Bearer ")
                .or_else(|| h.strip_prefix("bearer "))
        })
        .map(str::trim);
    let bot = token.and_then(|t| crate::lock(&fake.inner.state).bot_for_token(t).cloned());
    let Some(bot) = bot else {
        return Outcome::error(&ApiError::unauthorized(), request_id);
    };
    let bot_id = Some(fmt_id(&bot.id));
    let with_bot = |mut o: Outcome| {
        o.bot_id = bot_id.clone();
        o
    };
    for (limiter, key) in [
        (&fake.inner.limiter, bot.id),
        (&fake.inner.workspace_limiter, bot.workspace_id),
    ] {
        if let Err((retry, reason)) = crate::lock(limiter).check(key) {
            return with_bot(Outcome::error(
                &ApiError::rate_limited(&reason, retry),
                request_id,
            ));
        }
    }
    let body = match parsed {
        Ok(b) => b,
        Err(e) => return with_bot(Outcome::error(&e, request_id)),
    };
    if size > MAX_BODY && multipart.is_none() {
        let e = ApiError::body_validation(format!(
            "body should be at most 500KB, instead was {size} bytes."
        ));
        return with_bot(Outcome::error(&e, request_id));
    }
    let host = header_str(&parts.headers, "host").unwrap_or("127.0.0.1");
    let ctx = Ctx {
        version,
        bot,
        base_url: format!("http://{host}"),
        query,
        body,
        raw: multipart.map(|ct| (ct, raw.clone())),
    };
    let result = {
        let mut state = crate::lock(&fake.inner.state);
        let result = dispatch(&mut state, &ctx, &parts.method, &seg);
        let changes = state.take_changes();
        if result.is_ok() {
            fake.emit(&state, Author::Bot(ctx.bot.id), &changes);
        }
        result
    };
    match result {
        Ok(mut body) => {
            if let Some(m) = body.as_object_mut() {
                m.insert("request_id".into(), Value::String(request_id.to_string()));
            }
            // An accepted asynchronous write answers 202 with its task.
            let accepted = parts.method != Method::GET && body["object"] == "async_task";
            with_bot(Outcome {
                status: if accepted { 202 } else { 200 },
                body: Some(body),
                location: None,
                retry_after: None,
                bot_id: None,
            })
        }
        Err(e) => with_bot(Outcome::error(&e, request_id)),
    }
}

fn finish(fake: &FakeNotion, mut record: RecordedRequest, outcome: Outcome) -> Response {
    record.status = outcome.status;
    fake.record(record);
    let mut builder = Response::builder()
        .status(StatusCode::from_u16(outcome.status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR));
    if let Some(loc) = outcome
        .location
        .as_deref()
        .and_then(|l| HeaderValue::from_str(l).ok())
    {
        builder = builder.header(header::LOCATION, loc);
    }
    if let Some(r) = outcome.retry_after {
        builder = builder.header(header::RETRY_AFTER, r.to_string());
    }
    let body = match outcome.body {
        Some(v) => {
            builder = builder.header(header::CONTENT_TYPE, "application/json; charset=utf-8");
            Body::from(serde_json::to_vec(&v).unwrap_or_default())
        }
        None => Body::empty(),
    };
    builder
        .body(body)
        .unwrap_or_else(|_| Response::new(Body::empty()))
}

/// A Notion-hosted file by its signed URL (no bearer token: the URL is the authorisation).
fn hosted_file(fake: &FakeNotion, rest: &str) -> Response {
    let found = crate::lock(&fake.inner.state)
        .file_uploads
        .hosted_content(rest);
    let (status, kind, body) = match found {
        Some((kind, bytes)) => (StatusCode::OK, kind, bytes),
        None => (
            StatusCode::NOT_FOUND,
            "text/plain".into(),
            b"no such file".to_vec(),
        ),
    };
    Response::builder()
        .status(status)
        .header(header::CONTENT_TYPE, kind)
        .body(Body::from(body))
        .unwrap_or_else(|_| Response::new(Body::empty()))
}

/// A response whose body fails at once: hyper aborts the connection, so the client sees a
/// connection error instead of an answer.
fn dropped() -> Response {
    let stream = futures::stream::once(async {
        Err::<Bytes, std::io::Error>(std::io::Error::new(
            std::io::ErrorKind::ConnectionAborted,
            "injected fault: drop connection",
        ))
    });
    Response::new(Body::from_stream(stream))
}
