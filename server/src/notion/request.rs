//! One Notion API request as the client sends it: method, path, metrics label, query, body and
//! whether a repeat is safe. The body is JSON, or a file part sent as multipart/form-data (the one
//! Notion endpoint that does not take JSON); either is built afresh for every attempt.

use super::error::NotionError;
use bytes::Bytes;
use http::Method;
use serde_json::Value;
use std::time::Duration;

/// Bytes of a file part that earn one more second of attempt time on top of the usual limit.
const BYTES_PER_EXTRA_SECOND: usize = 256 * 1024;

/// What a request carries.
#[derive(Debug, Clone)]
pub enum Body {
    Json(Value),
    Multipart(FilePart),
}

/// The `file` field of a multipart body, and the `part_number` of a multi-part upload.
#[derive(Debug, Clone)]
pub struct FilePart {
    pub filename: String,
    pub content_type: String,
    /// Cheap to clone: every attempt sends the same buffer.
    pub bytes: Bytes,
    pub part_number: Option<usize>,
}

impl FilePart {
    /// Refuse a content type that is not a MIME type before anything is sent.
    pub fn check_content_type(content_type: &str) -> Result<(), NotionError> {
        reqwest::multipart::Part::bytes(Vec::new())
            .mime_str(content_type)
            .map(drop)
            .map_err(|_| not_a_mime_type(content_type))
    }

    /// The form for one attempt.
    pub(super) fn form(&self) -> Result<reqwest::multipart::Form, NotionError> {
        let len = self.bytes.len() as u64;
        let part = reqwest::multipart::Part::stream_with_length(self.bytes.clone(), len)
            .file_name(self.filename.clone())
            .mime_str(&self.content_type)
            .map_err(|_| not_a_mime_type(&self.content_type))?;
        let form = reqwest::multipart::Form::new().part("file", part);
        Ok(match self.part_number {
            Some(n) => form.text("part_number", n.to_string()),
            None => form,
        })
    }
}

fn not_a_mime_type(content_type: &str) -> NotionError {
    NotionError::invalid(
        "content_type",
        format!("'{content_type}' is not a MIME type"),
    )
}

/// One API request, before credentials are added.
#[derive(Debug, Clone)]
pub struct NotionRequest {
    pub method: Method,
    /// Path starting with `/v1/`, ids already encoded.
    pub path: String,
    /// Metrics label, e.g. `GET /v1/pages/{id}`.
    pub endpoint: &'static str,
    pub query: Vec<(String, String)>,
    pub body: Option<Body>,
    /// Safe to repeat after a failure whose effect is unknown (5xx, timeout, lost connection).
    pub idempotent: bool,
}

impl NotionRequest {
    pub fn new(method: Method, endpoint: &'static str, path: impl Into<String>) -> Self {
        let idempotent = matches!(method, Method::GET | Method::DELETE | Method::HEAD);
        NotionRequest {
            method,
            path: path.into(),
            endpoint,
            query: Vec::new(),
            body: None,
            idempotent,
        }
    }
    pub fn get(endpoint: &'static str, path: impl Into<String>) -> Self {
        Self::new(Method::GET, endpoint, path)
    }
    pub fn post(endpoint: &'static str, path: impl Into<String>) -> Self {
        Self::new(Method::POST, endpoint, path)
    }
    pub fn patch(endpoint: &'static str, path: impl Into<String>) -> Self {
        Self::new(Method::PATCH, endpoint, path)
    }
    pub fn delete(endpoint: &'static str, path: impl Into<String>) -> Self {
        Self::new(Method::DELETE, endpoint, path)
    }
    pub fn query(mut self, key: impl Into<String>, value: impl Into<String>) -> Self {
        self.query.push((key.into(), value.into()));
        self
    }
    pub fn json(mut self, body: Value) -> Self {
        self.body = Some(Body::Json(body));
        self
    }
    /// Send `part` as multipart/form-data.
    pub fn file(mut self, part: FilePart) -> Self {
        self.body = Some(Body::Multipart(part));
        self
    }
    pub fn idempotent(mut self, idempotent: bool) -> Self {
        self.idempotent = idempotent;
        self
    }

    /// The JSON body, if the request has one.
    pub fn json_body(&self) -> Option<&Value> {
        match &self.body {
            Some(Body::Json(v)) => Some(v),
            _ => None,
        }
    }

    /// The limit of one attempt: `base`, plus a second per 256 KB of file content (a large part
    /// takes longer to send than any JSON body).
    pub fn attempt_timeout(&self, base: Duration) -> Duration {
        match &self.body {
            Some(Body::Multipart(part)) => {
                base + Duration::from_secs((part.bytes.len() / BYTES_PER_EXTRA_SECOND) as u64)
            }
            _ => base,
        }
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    fn part(len: usize) -> FilePart {
        FilePart {
            filename: "a.bin".into(),
            content_type: "application/octet-stream".into(),
            bytes: Bytes::from(vec![0; len]),
            part_number: Some(2),
        }
    }

    #[test]
    fn request_builders() {
        assert!(NotionRequest::get("GET /x", "/x").idempotent);
        assert!(NotionRequest::delete("DELETE /x", "/x").idempotent);
        assert!(!NotionRequest::post("POST /x", "/x").idempotent);
        assert!(!NotionRequest::patch("PATCH /x", "/x").idempotent);
        let r = NotionRequest::post("POST /x", "/x")
            .idempotent(true)
            .query("a", "b")
            .json(Value::Null);
        assert!(r.idempotent && r.json_body().is_some() && r.query == [("a".into(), "b".into())]);
        let r = NotionRequest::post("POST /x", "/x").file(part(1));
        assert!(r.json_body().is_none() && matches!(r.body, Some(Body::Multipart(_))));
    }

    #[test]
    fn file_parts_earn_time_by_size() {
        let base = Duration::from_secs(30);
        assert_eq!(
            NotionRequest::get("GET /x", "/x").attempt_timeout(base),
            base
        );
        let small = NotionRequest::post("POST /x", "/x").file(part(1000));
        assert_eq!(small.attempt_timeout(base), base);
        let big = NotionRequest::post("POST /x", "/x").file(part(10 * 1024 * 1024));
        assert_eq!(big.attempt_timeout(base), base + Duration::from_secs(40));
    }

    #[test]
    fn content_types_are_checked() {
        assert!(FilePart::check_content_type("image/png").is_ok());
        let e = FilePart::check_content_type("not a type").unwrap_err();
        assert_eq!(e.code(), "invalid_argument");
        let mut p = part(1);
        p.content_type = "??".into();
        assert!(p.form().is_err());
        assert!(part(1).form().is_ok());
    }
}
