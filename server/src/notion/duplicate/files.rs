//! Re-uploading Notion-hosted files for a copy: a `type: "file"` URL is signed and expires after an
//! hour, so the bytes are downloaded (no credentials are sent: the URL is its own authorisation) and
//! uploaded again through the existing upload flow (single part, or parts past 20 MB).
//!
//! Downloads are bounded in size and time and only follow `https` URLs, or URLs on the configured
//! Notion origin (a proxy or the test fake).

use std::time::Duration;

use bytes::Bytes;

use super::super::client::{NotionAuth, NotionClient};
use super::super::error::NotionError;
use super::super::uploads::{self, DEFAULT_PART_SIZE, FileContent, SINGLE_PART_MAX};
use super::convert::HostedFile;

/// Largest file a copy re-uploads.
pub const MAX_FILE_BYTES: usize = 50 * 1024 * 1024;
const DOWNLOAD_TIMEOUT: Duration = Duration::from_secs(120);

fn refused(file: &HostedFile, why: &str) -> NotionError {
    NotionError::invalid(
        "id",
        format!("file \"{}\" could not be copied: {why}", file.name),
    )
}

/// Whether a hosted file's URL may be fetched.
fn allowed(c: &NotionClient, url: &url::Url) -> bool {
    let base = c.base_url();
    url.scheme() == "https"
        || (url.scheme() == base.scheme()
            && url.host_str() == base.host_str()
            && url.port_or_known_default() == base.port_or_known_default())
}

/// Download `file` and upload it again; returns the new upload's id.
pub async fn reupload(
    c: &NotionClient,
    auth: &NotionAuth,
    file: &HostedFile,
) -> Result<String, NotionError> {
    let url = url::Url::parse(&file.url).map_err(|_| refused(file, "its URL does not parse"))?;
    if !allowed(c, &url) {
        return Err(refused(file, "its URL is not https"));
    }
    let resp = c
        .http()
        .get(url)
        .timeout(DOWNLOAD_TIMEOUT)
        .send()
        .await
        .map_err(|e| refused(file, &format!("download failed ({})", e.without_url())))?;
    if !resp.status().is_success() {
        return Err(refused(
            file,
            &format!("download answered HTTP {}", resp.status().as_u16()),
        ));
    }
    let content_type = resp
        .headers()
        .get(http::header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .map(|v| v.split(';').next().unwrap_or(v).trim().to_string())
        .filter(|v| !v.is_empty())
        .unwrap_or_else(|| "application/octet-stream".into());
    let mut resp = resp;
    let mut body = Vec::new();
    loop {
        let chunk = resp
            .chunk()
            .await
            .map_err(|e| refused(file, &format!("download broke off ({})", e.without_url())))?;
        let Some(chunk) = chunk else { break };
        if body.len() + chunk.len() > MAX_FILE_BYTES {
            return Err(refused(
                file,
                &format!("it is over {} MB", MAX_FILE_BYTES / (1024 * 1024)),
            ));
        }
        body.extend_from_slice(&chunk);
    }
    let content = FileContent {
        filename: file.name.clone(),
        content_type,
        bytes: Bytes::from(body),
    };
    let upload = uploads::upload(c, auth, &content, DEFAULT_PART_SIZE, SINGLE_PART_MAX).await?;
    super::super::writes::object_id(&upload, "POST /v1/file_uploads")
}
