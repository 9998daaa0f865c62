//! File uploads: `upload_file` — from a URL, or base64 content sent in one part or in parts — with
//! optional attachment to a page or block; `get_file_upload` — an existing upload's status.

use super::id_arg;
use crate::mcp::context::ToolCtx;
use crate::mcp::error::ToolError;
use crate::mcp::registry::{Effect, ToolDef};
use crate::notion::append::{AppendPosition, append_blocks};
use crate::notion::uploads::{self, DEFAULT_PART_SIZE, FileContent, SINGLE_PART_MAX};
use crate::notion::{NotionError, endpoints, writes};
use base64::Engine;
use schemars::JsonSchema;
use serde::Deserialize;
use serde_json::{Value, json};
use std::time::Duration;

/// Smallest part size accepted as an argument (Notion itself wants ≥ 5 MB for all but the last part).
const MIN_PART: usize = 1024;

pub fn tools() -> Vec<ToolDef> {
    vec![
        ToolDef::new(
            "upload_file",
            "Upload file",
            "Upload a file from `url` or base64 `content`; optionally attach it to a page/block as a block, \
             icon, cover or files property.",
            Effect::Write {
                destructive: false,
                idempotent: false,
            },
            upload_file,
        ),
        ToolDef::new(
            "get_file_upload",
            "Get file upload",
            "A file upload's name, type, size, status and expiry.",
            Effect::Read,
            get_file_upload,
        ),
    ]
}

#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct UploadArgs {
    url: Option<String>,
    /// Base64.
    content: Option<String>,
    filename: Option<String>,
    /// Bytes per part (default 10 MB).
    part_size: Option<u32>,
    /// Page or block id.
    attach_to: Option<String>,
    /// block (default), icon, cover or a files property.
    attach_as: Option<String>,
}

/// A MIME type from a file name's extension.
fn guess_type(filename: &str) -> &'static str {
    let ext = filename
        .rsplit_once('.')
        .map(|(_, e)| e.to_ascii_lowercase())
        .unwrap_or_default();
    match ext.as_str() {
        "png" => "image/png",
        "jpg" | "jpeg" => "image/jpeg",
        "gif" => "image/gif",
        "webp" => "image/webp",
        "svg" => "image/svg+xml",
        "pdf" => "application/pdf",
        "txt" => "text/plain",
        "md" => "text/markdown",
        "csv" => "text/csv",
        "json" => "application/json",
        "mp3" => "audio/mpeg",
        "wav" => "audio/wav",
        "mp4" => "video/mp4",
        "mov" => "video/quicktime",
        "webm" => "video/webm",
        "zip" => "application/zip",
        _ => "application/octet-stream",
    }
}

/// The block type a file of `content_type` becomes.
fn block_kind(content_type: &str) -> &'static str {
    match content_type.split('/').next().unwrap_or("") {
        "image" => "image",
        "video" => "video",
        "audio" => "audio",
        _ if content_type == "application/pdf" => "pdf",
        _ => "file",
    }
}

/// Decode base64 content (standard or URL-safe, optionally a `data:<type>;base64,` URL).
fn decode_content(raw: &str) -> Result<(Vec<u8>, Option<String>), ToolError> {
    let (data_type, b64) = match raw.strip_prefix("data:").and_then(|r| r.split_once(',')) {
        Some((meta, rest)) => (meta.strip_suffix(";base64").map(str::to_string), rest),
        None => (None, raw),
    };
    let clean: String = b64.chars().filter(|c| !c.is_ascii_whitespace()).collect();
    let engines = [
        &base64::engine::general_purpose::STANDARD,
        &base64::engine::general_purpose::URL_SAFE,
        &base64::engine::general_purpose::STANDARD_NO_PAD,
        &base64::engine::general_purpose::URL_SAFE_NO_PAD,
    ];
    engines
        .iter()
        .find_map(|e| e.decode(&clean).ok())
        .map(|bytes| (bytes, data_type))
        .ok_or_else(|| ToolError::invalid("content", "is not valid base64"))
}

fn str_of<'a>(v: &'a Value, key: &str) -> &'a str {
    v.get(key).and_then(Value::as_str).unwrap_or("")
}

async fn upload_file(ctx: ToolCtx, a: UploadArgs) -> Result<String, ToolError> {
    let attach_to = a
        .attach_to
        .as_deref()
        .map(|t| id_arg("attach_to", t))
        .transpose()?;
    if a.attach_as.is_some() && attach_to.is_none() {
        return Err(ToolError::invalid("attach_as", "needs `attach_to`"));
    }
    let part_size = match a.part_size.map(|p| p as usize) {
        Some(p) if !(MIN_PART..=SINGLE_PART_MAX).contains(&p) => {
            return Err(ToolError::invalid(
                "part_size",
                format!("must be {MIN_PART} to {SINGLE_PART_MAX} bytes"),
            ));
        }
        other => other,
    };
    let upload = match (a.url.as_deref(), a.content.as_deref()) {
        (Some(_), Some(_)) | (None, None) => {
            return Err(ToolError::invalid(
                "content",
                "give exactly one of `url` or `content` (base64); get_file_upload shows an existing upload",
            ));
        }
        (Some(url), None) => {
            let url = url.trim();
            if !url.starts_with("https://") && !url.starts_with("http://") {
                return Err(ToolError::invalid("url", "must be an http(s) URL"));
            }
            let filename = a.filename.clone().unwrap_or_else(|| {
                url.split(['?', '#'])
                    .next()
                    .and_then(|p| p.rsplit('/').next())
                    .filter(|n| !n.is_empty() && !n.contains(':'))
                    .unwrap_or("file")
                    .to_string()
            });
            let mut body =
                json!({"mode": "external_url", "external_url": url, "filename": filename});
            let guessed = guess_type(&filename);
            if guessed != "application/octet-stream" {
                body["content_type"] = json!(guessed);
            }
            let created = writes::create_file_upload(&ctx.notion, &ctx.auth, body).await?;
            wait_for_import(&ctx, created).await?
        }
        (None, Some(content)) => {
            let (bytes, data_type) = decode_content(content)?;
            if bytes.is_empty() {
                return Err(ToolError::invalid("content", "the file is empty"));
            }
            let filename = a.filename.clone().unwrap_or_else(|| "file".into());
            let content_type = data_type.unwrap_or_else(|| guess_type(&filename).to_string());
            let file = FileContent {
                filename,
                content_type,
                bytes: bytes.into(),
            };
            let (part, single_max) = match part_size {
                Some(p) => (p, p),
                None => (DEFAULT_PART_SIZE, SINGLE_PART_MAX),
            };
            uploads::upload(&ctx.notion, &ctx.auth, &file, part, single_max).await?
        }
    };
    let id = writes::object_id(&upload, "POST /v1/file_uploads")?;
    let mut out = format!("Uploaded {}", upload_line(&upload));
    if let Some(target) = attach_to {
        let how = a.attach_as.as_deref().unwrap_or("block").trim();
        let done = attach(&ctx, &upload, &id, &target, how)
            .await
            .map_err(|e| {
                ToolError::Notion(writes::with_context(
                    e,
                    &format!("file upload {id} is ready but attaching it failed"),
                ))
            })?;
        out.push('\n');
        out.push_str(&done);
    }
    Ok(out)
}

#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct GetUploadArgs {
    id: String,
}

async fn get_file_upload(ctx: ToolCtx, a: GetUploadArgs) -> Result<String, ToolError> {
    let id = id_arg("id", &a.id)?;
    let upload = writes::retrieve_file_upload(&ctx.notion, &ctx.auth, &id).await?;
    Ok(format!("File upload {}", upload_line(&upload)))
}

/// URL imports finish asynchronously: poll briefly until Notion has fetched the file.
async fn wait_for_import(ctx: &ToolCtx, mut upload: Value) -> Result<Value, ToolError> {
    let mut delay = Duration::from_millis(250);
    for _ in 0..8 {
        if str_of(&upload, "status") != "pending" {
            break;
        }
        tokio::time::sleep(delay).await;
        delay = (delay * 2).min(Duration::from_secs(2));
        let id = writes::object_id(&upload, "POST /v1/file_uploads")?;
        upload = writes::retrieve_file_upload(&ctx.notion, &ctx.auth, &id).await?;
    }
    Ok(upload)
}

async fn attach(
    ctx: &ToolCtx,
    upload: &Value,
    id: &str,
    target: &str,
    how: &str,
) -> Result<String, NotionError> {
    let file = json!({"type": "file_upload", "file_upload": {"id": id}});
    match how {
        "icon" | "cover" => {
            writes::update_page(&ctx.notion, &ctx.auth, target, json!({ how: file }), true).await?;
            Ok(format!("Set as the {how} of {target}."))
        }
        "block" => {
            let kind = block_kind(str_of(upload, "content_type"));
            let block = json!({"type": kind, kind: file});
            let done = append_blocks(
                &ctx.notion,
                &ctx.auth,
                target,
                vec![block],
                AppendPosition::End,
            )
            .await?;
            Ok(format!(
                "Attached to {target} as a {kind} block {}.",
                done.first_level_ids.join(", ")
            ))
        }
        property => {
            let page = endpoints::retrieve_page(&ctx.notion, &ctx.auth, target, &[]).await?;
            let Some((name, p)) = page.properties.find(property) else {
                let names: Vec<&str> = page.properties.iter().map(|(n, _)| n.as_str()).collect();
                return Err(NotionError::invalid(
                    "attach_as",
                    format!(
                        "\"{property}\" is not block, icon, cover or a property of {target}; its properties are: {}",
                        names.join(", ")
                    ),
                ));
            };
            if p.kind != "files" {
                return Err(NotionError::invalid(
                    "attach_as",
                    format!("property \"{name}\" is a {} property, not files", p.kind),
                ));
            }
            let mut item = file;
            item["name"] = json!(str_of(upload, "filename"));
            let body = json!({"properties": { name.clone(): {"files": [item]} }});
            writes::update_page(&ctx.notion, &ctx.auth, target, body, true).await?;
            Ok(format!(
                "Set as the files of property \"{name}\" of {target}."
            ))
        }
    }
}

/// One upload as a line: id, name, type, size, status, expiry.
fn upload_line(v: &Value) -> String {
    let mut line = format!(
        "{} \"{}\" ({}",
        str_of(v, "id"),
        str_of(v, "filename"),
        str_of(v, "content_type")
    );
    if let Some(n) = v.get("content_length").and_then(Value::as_u64) {
        line.push_str(&format!(", {n} bytes"));
    }
    line.push_str(&format!("): {}", str_of(v, "status")));
    if let Some(parts) = v.pointer("/number_of_parts/total").and_then(Value::as_u64) {
        line.push_str(&format!(", {parts} part(s)"));
    }
    match v.get("expiry_time").and_then(Value::as_str) {
        Some(t) if str_of(v, "status") != "expired" => {
            line.push_str(&format!(", attach before {t}"))
        }
        _ => {}
    }
    line
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn types_and_content() {
        assert_eq!(guess_type("a.PNG"), "image/png");
        assert_eq!(block_kind("image/png"), "image");
        assert_eq!(block_kind("application/pdf"), "pdf");
        assert_eq!(block_kind("text/plain"), "file");
        let (b, t) = decode_content("data:text/plain;base64,aGk=").unwrap();
        assert_eq!(
            (b.as_slice(), t.as_deref()),
            (&b"hi"[..], Some("text/plain"))
        );
        assert_eq!(decode_content("aG k").unwrap().0, b"hi");
        assert!(decode_content("!!").is_err());
    }
}
