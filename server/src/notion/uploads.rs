//! File uploads: the single- and multi-part flow of `POST /v1/file_uploads`, the content sent to
//! `POST /v1/file_uploads/{id}/send` as multipart/form-data, and `complete` for multi-part uploads.
//!
//! Every call goes through [`NotionClient::send`] like any other: pacing, the breaker, metrics,
//! redaction and token renewal. Re-sending a part replaces it, so sends are retried as idempotent;
//! creating and completing an upload are never replayed after an unknown outcome.

use super::client::{NotionAuth, NotionClient, NotionRequest};
use super::endpoints::encode_segment;
use super::error::NotionError;
use super::request::FilePart;
use super::writes;
use bytes::Bytes;
use serde_json::{Value, json};

/// Largest single-part upload Notion accepts.
pub const SINGLE_PART_MAX: usize = 20 * 1024 * 1024;
/// Default part size of multi-part uploads (Notion accepts 5–20 MB per part, the last may be smaller).
pub const DEFAULT_PART_SIZE: usize = 10 * 1024 * 1024;

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
    let path = format!("/v1/file_uploads/{}/send", encode_segment(upload_id));
    let req = NotionRequest::post("POST /v1/file_uploads/{id}/send", path)
        .file(FilePart {
            filename: file.filename.clone(),
            content_type: file.content_type.clone(),
            bytes,
            part_number,
        })
        .idempotent(true);
    c.send(auth, req).await
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
    // A type the form cannot carry would only fail after the upload was created.
    FilePart::check_content_type(&file.content_type)?;
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
