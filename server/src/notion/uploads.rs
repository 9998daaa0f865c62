//! File uploads: sending file content to `POST /v1/file_uploads/{id}/send` as multipart/form-data
//! (the one Notion endpoint that does not take JSON), and the whole single-/multi-part flow.
//!
//! Sends go through the shared pacer and retry policy like every other call. Re-sending a part is
//! safe (it replaces the part), so sends are retried as idempotent.

use super::client::{NotionAuth, NotionClient, install_crypto_provider};
use super::error::NotionError;
use super::retry::Decision;
use super::writes;
use bytes::Bytes;
use serde_json::{Value, json};
use std::sync::OnceLock;
use std::time::Duration;

/// Largest single-part upload Notion accepts.
pub const SINGLE_PART_MAX: usize = 20 * 1024 * 1024;
/// Default part size of multi-part uploads (Notion accepts 5–20 MB per part, the last may be smaller).
pub const DEFAULT_PART_SIZE: usize = 10 * 1024 * 1024;

/// One HTTP client for uploads (multipart bodies bypass the JSON client's request type).
fn http() -> Result<&'static reqwest::Client, NotionError> {
    static HTTP: OnceLock<reqwest::Client> = OnceLock::new();
    if let Some(c) = HTTP.get() {
        return Ok(c);
    }
    install_crypto_provider();
    let client = reqwest::Client::builder()
        .user_agent(concat!("notion-mcp-remote/", env!("CARGO_PKG_VERSION")))
        .connect_timeout(Duration::from_secs(10))
        .build()
        .map_err(|e| NotionError::Config {
            message: format!("cannot build the upload HTTP client: {e}"),
        })?;
    Ok(HTTP.get_or_init(|| client))
}

/// One file's content and how Notion should label it.
#[derive(Debug, Clone)]
pub struct FileContent {
    pub filename: String,
    pub content_type: String,
    pub bytes: Bytes,
}

/// `POST /v1/file_uploads/{id}/send` with the `file` (and `part_number` for multi-part uploads).
pub async fn send(
    c: &NotionClient,
    auth: &NotionAuth,
    upload_id: &str,
    part_number: Option<usize>,
    file: &FileContent,
    bytes: Bytes,
) -> Result<Value, NotionError> {
    const ENDPOINT: &str = "POST /v1/file_uploads/{id}/send";
    let http = http()?;
    let url = format!(
        "{}/v1/file_uploads/{}/send",
        c.base_url().as_str().trim_end_matches('/'),
        super::endpoints::encode_segment(upload_id)
    );
    // Large bodies need longer than a JSON call: allow 1 s per 256 KB on top of the usual limit.
    let timeout = c.config().attempt_timeout + Duration::from_secs((bytes.len() / 262_144) as u64);
    let policy = &c.config().retry;
    let mut retries = 0u32;
    let mut waited = Duration::ZERO;
    loop {
        c.pacer().acquire(&auth.pacing_key).await;
        let len = bytes.len() as u64;
        let part = reqwest::multipart::Part::stream_with_length(bytes.clone(), len)
            .file_name(file.filename.clone())
            .mime_str(&file.content_type)
            .map_err(|_| {
                NotionError::invalid(
                    "content_type",
                    format!("'{}' is not a MIME type", file.content_type),
                )
            })?;
        let mut form = reqwest::multipart::Form::new().part("file", part);
        if let Some(n) = part_number {
            form = form.text("part_number", n.to_string());
        }
        let result = http
            .post(&url)
            .timeout(timeout)
            .bearer_auth(&*auth.expose_token())
            .header("Notion-Version", auth.version.as_str())
            .multipart(form)
            .send()
            .await;
        let err = match result {
            Ok(resp) => {
                let status = resp.status().as_u16();
                let headers = resp.headers().clone();
                let body = resp.bytes().await.unwrap_or_default();
                if (200..300).contains(&status) {
                    return serde_json::from_slice(&body).map_err(|e| NotionError::Decode {
                        endpoint: ENDPOINT,
                        message: format!("the body is not JSON ({e})"),
                    });
                }
                NotionError::from_response(status, &headers, &body)
            }
            Err(e) if e.is_timeout() => NotionError::Timeout {
                endpoint: ENDPOINT,
                after: timeout,
            },
            Err(e) => {
                let connect = e.is_connect();
                NotionError::Transport {
                    endpoint: ENDPOINT,
                    message: e.without_url().to_string(),
                    connect,
                }
            }
        };
        match policy.decide(true, &err, retries, waited, rand::random::<f64>()) {
            Decision::Retry { after, .. } => {
                tracing::debug!(
                    retries,
                    wait_ms = after.as_millis() as u64,
                    "retrying upload"
                );
                tokio::time::sleep(after).await;
                waited += after;
                retries += 1;
            }
            Decision::GiveUp => return Err(err),
        }
    }
}

/// Upload `file` in one part, or in parts of `part_size` bytes when it is larger than
/// `single_part_max`; returns the final `file_upload` object.
pub async fn upload(
    c: &NotionClient,
    auth: &NotionAuth,
    file: &FileContent,
    part_size: usize,
    single_part_max: usize,
) -> Result<Value, NotionError> {
    let total = file.bytes.len();
    let parts = if total > single_part_max {
        total.div_ceil(part_size.max(1))
    } else {
        1
    };
    let mut body = json!({"filename": file.filename, "content_type": file.content_type});
    if parts > 1 {
        body["mode"] = json!("multi_part");
        body["number_of_parts"] = json!(parts);
    } else {
        body["mode"] = json!("single_part");
    }
    let created = writes::create_file_upload(c, auth, body).await?;
    let id = created
        .get("id")
        .and_then(Value::as_str)
        .ok_or_else(|| NotionError::Decode {
            endpoint: "POST /v1/file_uploads",
            message: "no id in the file upload".into(),
        })?
        .to_string();
    let failed = |e: NotionError, what: &str| {
        writes::with_context(
            e,
            &format!("file upload {id} was created but {what} failed"),
        )
    };
    if parts == 1 {
        return send(c, auth, &id, None, file, file.bytes.clone())
            .await
            .map_err(|e| failed(e, "sending the content"));
    }
    for n in 0..parts {
        let start = n * part_size;
        let end = (start + part_size).min(total);
        send(
            c,
            auth,
            &id,
            Some(n + 1),
            file,
            file.bytes.slice(start..end),
        )
        .await
        .map_err(|e| failed(e, &format!("sending part {} of {parts}", n + 1)))?;
    }
    writes::complete_file_upload(c, auth, &id)
        .await
        .map_err(|e| failed(e, "completing it"))
}
