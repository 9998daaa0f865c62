//! File-upload state of the fake: uploads and their parts, the limits Notion applies (20 MB single
//! part, 5–20 MB parts, ~1 h to attach), status (`pending` → `uploaded`, → `expired` after the TTL),
//! and resolving `{"type":"file_upload","file_upload":{"id"}}` references in write bodies into
//! attached files (unknown, pending or expired uploads → 400 `validation_error`).

use std::collections::{BTreeMap, HashMap};
use std::time::{Duration, Instant};

use serde_json::{Map, Value, json};
use uuid::Uuid;

use crate::errors::{ApiError, ApiResult};
use crate::ids::{fmt_id, parse_id};
use crate::render;

/// How an upload receives its content.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mode {
    SinglePart,
    MultiPart,
    ExternalUrl,
}

impl Mode {
    pub fn as_str(self) -> &'static str {
        match self {
            Mode::SinglePart => "single_part",
            Mode::MultiPart => "multi_part",
            Mode::ExternalUrl => "external_url",
        }
    }
}

/// One file upload.
#[derive(Debug, Clone)]
pub struct Upload {
    pub id: Uuid,
    pub workspace_id: Uuid,
    pub bot_id: Uuid,
    pub mode: Mode,
    pub filename: Option<String>,
    pub content_type: Option<String>,
    pub external_url: Option<String>,
    /// Expected parts (multi-part).
    pub number_of_parts: Option<usize>,
    /// Received content by part number (single part: part 1).
    pub parts: BTreeMap<usize, Vec<u8>>,
    pub uploaded: bool,
    /// Referenced by a page, block or property (no longer expires).
    pub attached: bool,
    /// Fake-clock creation time (for timestamps).
    pub created: i64,
    /// Wall-clock creation time (for the TTL).
    pub created_at: Instant,
}

impl Upload {
    pub fn content_length(&self) -> usize {
        self.parts.values().map(Vec::len).sum()
    }

    /// The whole file (parts in order).
    pub fn content(&self) -> Vec<u8> {
        self.parts.values().flatten().copied().collect()
    }
}

/// Path prefix under which the fake serves attached files (their "signed" URLs).
pub const HOSTED_FILES: &str = "/files.notion-fake.test/";

/// Uploads and the limits the fake enforces (lower them in tests to exercise multi-part cheaply).
#[derive(Debug, Clone)]
pub struct FileUploads {
    pub uploads: HashMap<Uuid, Upload>,
    /// Unattached uploads expire this long after creation.
    pub ttl: Duration,
    pub single_part_max: usize,
    /// Smallest part of a multi-part upload, except the last.
    pub part_min: usize,
    pub part_max: usize,
    pub max_parts: usize,
}

impl Default for FileUploads {
    fn default() -> Self {
        Self {
            uploads: HashMap::new(),
            ttl: Duration::from_secs(3600),
            single_part_max: 20 * 1024 * 1024,
            part_min: 5 * 1024 * 1024,
            part_max: 20 * 1024 * 1024,
            max_parts: 1000,
        }
    }
}

impl FileUploads {
    /// `pending`, `uploaded` or `expired`.
    pub fn status(&self, u: &Upload) -> &'static str {
        if !u.attached && u.created_at.elapsed() >= self.ttl {
            "expired"
        } else if u.uploaded {
            "uploaded"
        } else {
            "pending"
        }
    }

    /// An upload of `workspace`, or 404.
    pub fn get(&self, workspace: Uuid, id: &Uuid) -> ApiResult<&Upload> {
        self.uploads
            .get(id)
            .filter(|u| u.workspace_id == workspace)
            .ok_or_else(|| ApiError::not_found("file upload", &fmt_id(id)))
    }

    /// The `file_upload` object.
    pub fn render(&self, u: &Upload, base_url: &str) -> Value {
        let status = self.status(u);
        let id = fmt_id(&u.id);
        let expiry = (!u.attached).then(|| render::time(u.created + self.ttl.as_secs() as i64));
        let mut v = json!({
            "object": "file_upload",
            "id": id,
            "created_time": render::time(u.created),
            "last_edited_time": render::time(u.created),
            "expiry_time": expiry,
            "upload_url": (u.mode != Mode::ExternalUrl && status == "pending")
                .then(|| format!("{base_url}/v1/file_uploads/{id}/send")),
            "archived": false,
            "in_trash": false,
            "status": status,
            "filename": u.filename,
            "content_type": u.content_type,
            "content_length": u.uploaded.then(|| u.content_length()),
            "created_by": {"id": fmt_id(&u.bot_id), "type": "bot"},
        });
        if u.mode == Mode::MultiPart {
            v["complete_url"] = json!(format!("{base_url}/v1/file_uploads/{id}/complete"));
            v["number_of_parts"] = json!({"total": u.number_of_parts, "sent_parts": u.parts.len()});
        }
        if u.mode == Mode::ExternalUrl {
            v["file_import_result"] = json!({"type": "success", "success": {}});
        }
        v
    }

    /// The attached form of an upload: a Notion-hosted file with a signed, expiring URL, served by
    /// the fake itself under [`HOSTED_FILES`] (see [`Self::hosted_content`]).
    fn attached_file(&self, u: &Upload, now: i64, base_url: &str) -> Value {
        let name = u.filename.clone().unwrap_or_else(|| "file".into());
        json!({
            "url": format!("{base_url}{HOSTED_FILES}{}/{name}?expires={}", fmt_id(&u.id), now + 3600),
            "expiry_time": render::time(now + 3600),
        })
    }

    /// The content and type of an attached upload named by a hosted-file path (`<id>/<name>`).
    pub fn hosted_content(&self, rest: &str) -> Option<(String, Vec<u8>)> {
        let id = rest.split('/').next().and_then(parse_id)?;
        let u = self.uploads.get(&id).filter(|u| u.attached)?;
        let kind = u
            .content_type
            .clone()
            .unwrap_or_else(|| "application/octet-stream".into());
        Some((kind, u.content()))
    }

    /// Rewrites every file-upload reference in a write body into an attached `file` object.
    /// `None` when the body has no references.
    pub fn resolve_refs(
        &mut self,
        workspace: Uuid,
        body: &Value,
        now: i64,
        base_url: &str,
    ) -> ApiResult<Option<Value>> {
        if !contains_ref(body) {
            return Ok(None);
        }
        let mut out = body.clone();
        self.rewrite(workspace, &mut out, "body", now, base_url)?;
        Ok(Some(out))
    }

    fn rewrite(
        &mut self,
        workspace: Uuid,
        v: &mut Value,
        path: &str,
        now: i64,
        base_url: &str,
    ) -> ApiResult<()> {
        match v {
            Value::Object(obj) if is_ref(obj) => {
                let raw = obj
                    .get("file_upload")
                    .and_then(|f| f.get("id"))
                    .cloned()
                    .unwrap_or(Value::Null);
                let id = raw.as_str().and_then(parse_id).ok_or_else(|| {
                    ApiError::body_validation(format!(
                        "{path}.file_upload.id should be a valid uuid, instead was `{raw}`."
                    ))
                })?;
                let upload = self
                    .uploads
                    .get(&id)
                    .filter(|u| u.workspace_id == workspace)
                    .ok_or_else(|| {
                        ApiError::validation(format!(
                            "Could not find file upload with ID: {}.",
                            fmt_id(&id)
                        ))
                    })?;
                match self.status(upload) {
                    "uploaded" => {}
                    status => {
                        return Err(ApiError::validation(format!(
                            "File upload {} cannot be attached: its status is `{status}`{}.",
                            fmt_id(&id),
                            if status == "pending" {
                                " (send its content first)"
                            } else {
                                " (upload it again)"
                            }
                        )));
                    }
                }
                let file = self.attached_file(upload, now, base_url);
                if let Some(u) = self.uploads.get_mut(&id) {
                    u.attached = true;
                }
                obj.remove("file_upload");
                obj.insert("type".into(), json!("file"));
                obj.insert("file".into(), file);
                Ok(())
            }
            Value::Object(obj) => {
                for (k, child) in obj.iter_mut() {
                    self.rewrite(workspace, child, &format!("{path}.{k}"), now, base_url)?;
                }
                Ok(())
            }
            Value::Array(items) => {
                for (i, child) in items.iter_mut().enumerate() {
                    self.rewrite(workspace, child, &format!("{path}[{i}]"), now, base_url)?;
                }
                Ok(())
            }
            _ => Ok(()),
        }
    }
}

fn is_ref(obj: &Map<String, Value>) -> bool {
    obj.get("type").and_then(Value::as_str) == Some("file_upload")
}

fn contains_ref(v: &Value) -> bool {
    match v {
        Value::Object(obj) => is_ref(obj) || obj.values().any(contains_ref),
        Value::Array(items) => items.iter().any(contains_ref),
        _ => false,
    }
}
