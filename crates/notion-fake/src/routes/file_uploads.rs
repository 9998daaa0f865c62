//! File-upload endpoints: create (single_part / multi_part / external_url), send (multipart/form-data
//! `file` + `part_number`), complete, retrieve and list; plus resolving upload references in other
//! write bodies before they are handled.

use std::collections::BTreeMap;
use std::time::Instant;

use serde_json::Value;

use super::{Ctx, path_id};
use crate::errors::{ApiError, ApiResult};
use crate::ids::fmt_id;
use crate::pagination::{self, list_body};
use crate::state::State;
use crate::uploads::{Mode, Upload};
use crate::webhooks::Change;

fn string_field(ctx: &Ctx, key: &str) -> ApiResult<Option<String>> {
    match ctx.field(key) {
        None => Ok(None),
        Some(Value::String(s)) => Ok(Some(s.clone())),
        Some(other) => Err(ApiError::should_be(
            &format!("body.{key}"),
            "a string",
            other,
        )),
    }
}

pub fn create(state: &mut State, ctx: &Ctx) -> ApiResult<Value> {
    ctx.need(|c| c.insert_content, "insert_content")?;
    let mode = match string_field(ctx, "mode")?.as_deref() {
        None | Some("single_part") => Mode::SinglePart,
        Some("multi_part") => Mode::MultiPart,
        Some("external_url") => Mode::ExternalUrl,
        Some(other) => {
            return Err(ApiError::body_validation(format!(
                "body.mode should be one of `\"single_part\"`, `\"multi_part\"`, `\"external_url\"`, instead was `\"{other}\"`."
            )));
        }
    };
    let filename = string_field(ctx, "filename")?;
    if let Some(f) = &filename
        && f.len() > 900
    {
        return Err(ApiError::body_validation(format!(
            "body.filename.length should be ≤ `900` bytes, instead was `{}`.",
            f.len()
        )));
    }
    if filename.is_none() && mode != Mode::SinglePart {
        return Err(ApiError::body_validation(format!(
            "body.filename should be defined for mode `{}`, instead was `undefined`.",
            mode.as_str()
        )));
    }
    let content_type = string_field(ctx, "content_type")?;
    let parts = ctx.field("number_of_parts");
    let number_of_parts = match (mode, parts) {
        (Mode::MultiPart, Some(n)) => {
            let max = state.file_uploads.max_parts;
            let n = n
                .as_u64()
                .filter(|n| (1..=max as u64).contains(n))
                .ok_or_else(|| {
                    ApiError::should_be("body.number_of_parts", "an integer from 1 to {max}", n)
                })?;
            Some(n as usize)
        }
        (Mode::MultiPart, None) => {
            return Err(ApiError::body_validation(
                "body.number_of_parts should be defined for mode `multi_part`, instead was `undefined`.",
            ));
        }
        (_, Some(_)) => {
            return Err(ApiError::body_validation(
                "body.number_of_parts should be not present unless mode is `multi_part`.",
            ));
        }
        (_, None) => None,
    };
    let external_url = string_field(ctx, "external_url")?;
    match (mode, &external_url) {
        (Mode::ExternalUrl, Some(u)) if u.starts_with("https://") || u.starts_with("http://") => {}
        (Mode::ExternalUrl, _) => {
            return Err(ApiError::body_validation(
                "body.external_url should be an http(s) URL for mode `external_url`.",
            ));
        }
        (_, Some(_)) => {
            return Err(ApiError::body_validation(
                "body.external_url should be not present unless mode is `external_url`.",
            ));
        }
        (_, None) => {}
    }
    let id = state.new_id();
    let created = state.stamp(ctx.bot.id).time;
    let upload = Upload {
        id,
        workspace_id: ctx.bot.workspace_id,
        bot_id: ctx.bot.id,
        mode,
        filename,
        content_type,
        external_url,
        number_of_parts,
        parts: BTreeMap::new(),
        uploaded: mode == Mode::ExternalUrl,
        attached: false,
        created,
        created_at: Instant::now(),
    };
    let body = state.file_uploads.render(&upload, &ctx.base_url);
    let imported = upload.uploaded;
    state.file_uploads.uploads.insert(id, upload);
    state.record(Change::FileUploadCreated(id));
    if imported {
        state.record(Change::FileUploadCompleted(id));
    }
    Ok(body)
}

pub fn get(state: &mut State, ctx: &Ctx, raw: &str) -> ApiResult<Value> {
    let id = path_id(raw, "file_upload_id")?;
    let u = state.file_uploads.get(ctx.bot.workspace_id, &id)?;
    Ok(state.file_uploads.render(u, &ctx.base_url))
}

pub fn list(state: &mut State, ctx: &Ctx) -> ApiResult<Value> {
    let status = ctx.q("status");
    if let Some(s) = status
        && !["pending", "uploaded", "expired", "failed"].contains(&s)
    {
        return Err(ApiError::validation(format!(
            "query failed validation: query.status should be one of `pending`, `uploaded`, `expired`, `failed`, instead was `\"{s}\"`."
        )));
    }
    let uploads = &state.file_uploads;
    let mut mine: Vec<&Upload> = uploads
        .uploads
        .values()
        .filter(|u| u.bot_id == ctx.bot.id)
        .filter(|u| status.is_none_or(|s| uploads.status(u) == s))
        .collect();
    mine.sort_by_key(|u| std::cmp::Reverse((u.created, u.id)));
    let all: Vec<Value> = mine
        .iter()
        .map(|u| uploads.render(u, &ctx.base_url))
        .collect();
    let req = ctx.query_page(state.limits.max_page_size)?;
    let (slice, next, more) = pagination::slice(&all, req);
    Ok(list_body("file_upload", slice, next, more))
}

/// A pending upload of the caller's workspace (send/complete preconditions).
fn pending<'a>(state: &'a mut State, ctx: &Ctx, raw: &str) -> ApiResult<&'a mut Upload> {
    let id = path_id(raw, "file_upload_id")?;
    let uploads = &state.file_uploads;
    let u = uploads.get(ctx.bot.workspace_id, &id)?;
    let status = uploads.status(u);
    if status != "pending" {
        return Err(ApiError::validation(format!(
            "File upload {} is `{status}`; only pending uploads accept content.",
            fmt_id(&id)
        )));
    }
    state
        .file_uploads
        .uploads
        .get_mut(&id)
        .ok_or_else(|| ApiError::not_found("file upload", &fmt_id(&id)))
}

pub fn send(state: &mut State, ctx: &Ctx, raw: &str) -> ApiResult<Value> {
    ctx.need(|c| c.insert_content, "insert_content")?;
    let (content_type, body) = ctx.raw.clone().ok_or_else(|| {
        ApiError::validation("Send file content as multipart/form-data with a `file` field.")
    })?;
    let form = parse_multipart(&content_type, &body)?;
    let file = form.file.ok_or_else(|| {
        ApiError::body_validation("body.file should be defined, instead was `undefined`.")
    })?;
    let (single_part_max, part_min, part_max) = {
        let f = &state.file_uploads;
        (f.single_part_max, f.part_min, f.part_max)
    };
    let upload = pending(state, ctx, raw)?;
    let size = file.len();
    match upload.mode {
        Mode::ExternalUrl => {
            return Err(ApiError::validation(
                "File uploads in mode `external_url` are imported by Notion; nothing can be sent.",
            ));
        }
        Mode::SinglePart => {
            if form.part_number.is_some_and(|n| n != "1") {
                return Err(ApiError::body_validation(
                    "body.part_number should be not present for a single_part upload.",
                ));
            }
            if size > single_part_max {
                return Err(ApiError::validation(format!(
                    "The file is {size} bytes; single_part uploads are limited to {} bytes. Use mode `multi_part`.",
                    single_part_max
                )));
            }
            upload.parts.insert(1, file);
            upload.uploaded = true;
        }
        Mode::MultiPart => {
            let total = upload.number_of_parts.unwrap_or(1);
            let n = form
                .part_number
                .as_deref()
                .and_then(|p| p.trim().parse::<usize>().ok())
                .filter(|n| (1..=total).contains(n))
                .ok_or_else(|| {
                    ApiError::body_validation(format!(
                        "body.part_number should be an integer from 1 to {total}, instead was `{}`.",
                        form.part_number.as_deref().unwrap_or("undefined")
                    ))
                })?;
            if size > part_max {
                return Err(ApiError::validation(format!(
                    "Part {n} is {size} bytes; parts are limited to {} bytes.",
                    part_max
                )));
            }
            if size < part_min && n != total {
                return Err(ApiError::validation(format!(
                    "Part {n} is {size} bytes; every part but the last must be at least {} bytes.",
                    part_min
                )));
            }
            upload.parts.insert(n, file);
        }
    }
    if upload.filename.is_none() {
        upload.filename = form.filename;
    }
    if upload.content_type.is_none() {
        upload.content_type = form.file_type;
    }
    let snapshot = upload.clone();
    if snapshot.uploaded {
        state.record(Change::FileUploadCompleted(snapshot.id));
    }
    Ok(state.file_uploads.render(&snapshot, &ctx.base_url))
}

pub fn complete(state: &mut State, ctx: &Ctx, raw: &str) -> ApiResult<Value> {
    ctx.need(|c| c.insert_content, "insert_content")?;
    let upload = pending(state, ctx, raw)?;
    if upload.mode != Mode::MultiPart {
        return Err(ApiError::validation(format!(
            "Only multi_part uploads are completed; this one is `{}`.",
            upload.mode.as_str()
        )));
    }
    let total = upload.number_of_parts.unwrap_or(1);
    let missing: Vec<String> = (1..=total)
        .filter(|n| !upload.parts.contains_key(n))
        .map(|n| n.to_string())
        .collect();
    if !missing.is_empty() {
        return Err(ApiError::validation(format!(
            "File upload {} is missing part(s) {} of {total}.",
            fmt_id(&upload.id),
            missing.join(", ")
        )));
    }
    upload.uploaded = true;
    let snapshot = upload.clone();
    state.record(Change::FileUploadCompleted(snapshot.id));
    Ok(state.file_uploads.render(&snapshot, &ctx.base_url))
}

/// A copy of `ctx` whose body has its file-upload references resolved, or `None` when it has none.
pub fn with_attachments(state: &mut State, ctx: &Ctx) -> ApiResult<Option<Ctx>> {
    let now = state.clock.now;
    let resolved =
        state
            .file_uploads
            .resolve_refs(ctx.bot.workspace_id, &ctx.body, now, &ctx.base_url)?;
    Ok(resolved.map(|body| Ctx {
        version: ctx.version,
        bot: ctx.bot.clone(),
        base_url: ctx.base_url.clone(),
        query: ctx.query.clone(),
        body,
        raw: None,
    }))
}

/// The fields of a `send` form.
#[derive(Debug, Default)]
struct Form {
    file: Option<Vec<u8>>,
    filename: Option<String>,
    file_type: Option<String>,
    part_number: Option<String>,
}

/// A minimal multipart/form-data parser (RFC 7578): named fields, the file's name and type.
fn parse_multipart(content_type: &str, body: &[u8]) -> ApiResult<Form> {
    let bad = |m: &str| ApiError::validation(format!("Malformed multipart/form-data body: {m}."));
    let boundary = content_type
        .split(';')
        .filter_map(|p| p.trim().strip_prefix("boundary="))
        .next()
        .map(|b| b.trim_matches('"'))
        .filter(|b| !b.is_empty())
        .ok_or_else(|| bad("no boundary"))?;
    let delimiter = format!("--{boundary}").into_bytes();
    let mut form = Form::default();
    let mut rest = body;
    let start = find(rest, &delimiter).ok_or_else(|| bad("no opening boundary"))?;
    rest = &rest[start + delimiter.len()..];
    loop {
        if rest.starts_with(b"--") {
            return Ok(form);
        }
        let rest_after_crlf = rest
            .strip_prefix(b"\r\n")
            .ok_or_else(|| bad("missing CRLF"))?;
        let headers_end =
            find(rest_after_crlf, b"\r\n\r\n").ok_or_else(|| bad("no part headers"))?;
        let headers = String::from_utf8_lossy(&rest_after_crlf[..headers_end]).to_string();
        let content = &rest_after_crlf[headers_end + 4..];
        let mut close = delimiter.clone();
        close.splice(0..0, b"\r\n".iter().copied());
        let end = find(content, &close).ok_or_else(|| bad("unterminated part"))?;
        let data = &content[..end];
        rest = &content[end + close.len()..];
        let mut name = None;
        let mut filename = None;
        let mut part_type = None;
        for line in headers.split("\r\n") {
            let lower = line.to_ascii_lowercase();
            if lower.starts_with("content-disposition:") {
                name = param(line, "name");
                filename = param(line, "filename");
            } else if lower.starts_with("content-type:") {
                part_type = line.split_once(':').map(|(_, v)| v.trim().to_string());
            }
        }
        match name.as_deref() {
            Some("file") => {
                form.file = Some(data.to_vec());
                form.filename = filename;
                form.file_type = part_type;
            }
            Some("part_number") => {
                form.part_number = Some(String::from_utf8_lossy(data).trim().to_string());
            }
            _ => {}
        }
    }
}

fn param(header: &str, key: &str) -> Option<String> {
    header.split(';').find_map(|p| {
        let (k, v) = p.trim().split_once('=')?;
        (k.trim() == key).then(|| v.trim().trim_matches('"').to_string())
    })
}

fn find(hay: &[u8], needle: &[u8]) -> Option<usize> {
    if needle.is_empty() || hay.len() < needle.len() {
        return None;
    }
    hay.windows(needle.len()).position(|w| w == needle)
}
