//! The write half of the Notion API: one thin function per endpoint (pages, blocks, databases, data
//! sources, comments, file uploads), the lookups writes need (which kind of container an id names,
//! its schema), and the adapters to the Markdown converter and the limit-aware appender.
//!
//! Retry safety: creates and appends are sent non-idempotent (never replayed after an unknown
//! outcome); PATCHes that set fixed values are idempotent. A committed-then-503 answer reaches the
//! caller with its `committed_resource_id`.

use super::client::{NotionAuth, NotionClient, NotionRequest};
use super::endpoints::{self, encode_segment};
use super::error::NotionError;
use notion_model::types::DataSource;
use serde_json::{Value, json};

fn path(field: &str, prefix: &str, id: &str, suffix: &str) -> Result<String, NotionError> {
    let id = id.trim();
    if id.is_empty() {
        return Err(NotionError::invalid(field, "must not be empty"));
    }
    Ok(format!("{prefix}{}{suffix}", encode_segment(id)))
}

// ---------------------------------------------------------------------------------------------- pages

/// `POST /v1/pages` (never replayed: a second attempt could create a duplicate).
pub async fn create_page(
    c: &NotionClient,
    auth: &NotionAuth,
    body: Value,
) -> Result<Value, NotionError> {
    let req = NotionRequest::post("POST /v1/pages", "/v1/pages")
        .json(body)
        .idempotent(false);
    c.send(auth, req).await
}

/// `PATCH /v1/pages/{id}`; `idempotent` when the body only sets fixed values.
pub async fn update_page(
    c: &NotionClient,
    auth: &NotionAuth,
    id: &str,
    body: Value,
    idempotent: bool,
) -> Result<Value, NotionError> {
    let req = NotionRequest::patch(
        "PATCH /v1/pages/{id}",
        path("page_id", "/v1/pages/", id, "")?,
    )
    .json(body)
    .idempotent(idempotent);
    c.send(auth, req).await
}

/// `POST /v1/pages/{id}/move` (moving to a fixed parent twice is harmless).
pub async fn move_page(
    c: &NotionClient,
    auth: &NotionAuth,
    id: &str,
    parent: Value,
) -> Result<Value, NotionError> {
    let p = path("page_id", "/v1/pages/", id, "/move")?;
    let req = NotionRequest::post("POST /v1/pages/{id}/move", p)
        .json(json!({ "parent": parent }))
        .idempotent(true);
    c.send(auth, req).await
}

// --------------------------------------------------------------------------------------------- blocks

/// `PATCH /v1/blocks/{id}` with a type-keyed body (fixed values: idempotent).
pub async fn update_block(
    c: &NotionClient,
    auth: &NotionAuth,
    id: &str,
    body: Value,
) -> Result<Value, NotionError> {
    let p = path("block_id", "/v1/blocks/", id, "")?;
    let req = NotionRequest::patch("PATCH /v1/blocks/{id}", p)
        .json(body)
        .idempotent(true);
    c.send(auth, req).await
}

/// `DELETE /v1/blocks/{id}`: moves the block to the trash.
pub async fn delete_block(
    c: &NotionClient,
    auth: &NotionAuth,
    id: &str,
) -> Result<Value, NotionError> {
    let p = path("block_id", "/v1/blocks/", id, "")?;
    c.send(auth, NotionRequest::delete("DELETE /v1/blocks/{id}", p))
        .await
}

// ------------------------------------------------------------------------- databases and data sources

/// `POST /v1/databases` (with `initial_data_source`).
pub async fn create_database(
    c: &NotionClient,
    auth: &NotionAuth,
    body: Value,
) -> Result<Value, NotionError> {
    let req = NotionRequest::post("POST /v1/databases", "/v1/databases")
        .json(body)
        .idempotent(false);
    c.send(auth, req).await
}

/// `PATCH /v1/databases/{id}` (title, description, icon, in_trash, is_locked: fixed values).
pub async fn update_database(
    c: &NotionClient,
    auth: &NotionAuth,
    id: &str,
    body: Value,
) -> Result<Value, NotionError> {
    let p = path("database_id", "/v1/databases/", id, "")?;
    let req = NotionRequest::patch("PATCH /v1/databases/{id}", p)
        .json(body)
        .idempotent(true);
    c.send(auth, req).await
}

/// `POST /v1/data_sources`.
pub async fn create_data_source(
    c: &NotionClient,
    auth: &NotionAuth,
    body: Value,
) -> Result<Value, NotionError> {
    let req = NotionRequest::post("POST /v1/data_sources", "/v1/data_sources")
        .json(body)
        .idempotent(false);
    c.send(auth, req).await
}

/// `PATCH /v1/data_sources/{id}`. Schema edits (renames, removals) are not replayed: a second
/// attempt would fail on the already renamed property and misreport the outcome.
pub async fn update_data_source(
    c: &NotionClient,
    auth: &NotionAuth,
    id: &str,
    body: Value,
) -> Result<Value, NotionError> {
    let p = path("data_source_id", "/v1/data_sources/", id, "")?;
    let req = NotionRequest::patch("PATCH /v1/data_sources/{id}", p)
        .json(body)
        .idempotent(false);
    c.send(auth, req).await
}

// ------------------------------------------------------------------------------- comments and files

/// `POST /v1/comments`.
pub async fn create_comment(
    c: &NotionClient,
    auth: &NotionAuth,
    body: Value,
) -> Result<Value, NotionError> {
    let req = NotionRequest::post("POST /v1/comments", "/v1/comments")
        .json(body)
        .idempotent(false);
    c.send(auth, req).await
}

/// `POST /v1/file_uploads` → a `file_upload` in status `pending` (or `uploaded` for URLs).
pub async fn create_file_upload(
    c: &NotionClient,
    auth: &NotionAuth,
    body: Value,
) -> Result<Value, NotionError> {
    let req = NotionRequest::post("POST /v1/file_uploads", "/v1/file_uploads")
        .json(body)
        .idempotent(false);
    c.send(auth, req).await
}

/// `POST /v1/file_uploads/{id}/complete` (multi-part uploads, after every part was sent).
pub async fn complete_file_upload(
    c: &NotionClient,
    auth: &NotionAuth,
    id: &str,
) -> Result<Value, NotionError> {
    let p = path("file_upload_id", "/v1/file_uploads/", id, "/complete")?;
    let req = NotionRequest::post("POST /v1/file_uploads/{id}/complete", p)
        .json(json!({}))
        .idempotent(false);
    c.send(auth, req).await
}

/// `GET /v1/file_uploads/{id}`.
pub async fn retrieve_file_upload(
    c: &NotionClient,
    auth: &NotionAuth,
    id: &str,
) -> Result<Value, NotionError> {
    let p = path("file_upload_id", "/v1/file_uploads/", id, "")?;
    c.send(auth, NotionRequest::get("GET /v1/file_uploads/{id}", p))
        .await
}

// ------------------------------------------------------------------------------------------- lookups

/// What a parent id names: a page, or a data source (with its schema).
#[derive(Debug, Clone)]
pub enum Container {
    Page(String),
    DataSource(Box<DataSource>),
}

/// "Not this kind of object": Notion answers 404, or 400 for an id of another kind.
fn wrong_kind(e: &NotionError) -> bool {
    matches!(e.status(), Some(404) | Some(400))
}

/// The data source an id names: a data source id, or a database id (its first data source).
pub async fn data_source_of(
    c: &NotionClient,
    auth: &NotionAuth,
    id: &str,
) -> Result<DataSource, NotionError> {
    match endpoints::retrieve_data_source(c, auth, id).await {
        Err(e) if wrong_kind(&e) => {
            let db = match endpoints::retrieve_database(c, auth, id).await {
                Ok(db) => db,
                Err(e2) if wrong_kind(&e2) => return Err(e),
                Err(e2) => return Err(e2),
            };
            let first = db.data_sources.first().ok_or_else(|| {
                NotionError::invalid("id", format!("database {id} has no data source"))
            })?;
            endpoints::retrieve_data_source(c, auth, &first.id).await
        }
        other => other,
    }
}

/// Whether `id` is a page, a data source or a database (resolved to its first data source).
pub async fn resolve_container(
    c: &NotionClient,
    auth: &NotionAuth,
    field: &str,
    id: &str,
) -> Result<Container, NotionError> {
    match endpoints::retrieve_page_raw(c, auth, id, &[]).await {
        Ok(_) => return Ok(Container::Page(id.to_string())),
        Err(e) if wrong_kind(&e) => {}
        Err(e) => return Err(e),
    }
    match data_source_of(c, auth, id).await {
        Ok(ds) => Ok(Container::DataSource(Box::new(ds))),
        Err(e) if wrong_kind(&e) => Err(NotionError::invalid(
            field,
            format!(
                "no page, database or data source {id} is shared with this integration \
                 (share it via the page menu → Connections)"
            ),
        )),
        Err(e) => Err(e),
    }
}

/// Prefix an error's message with what had already happened (e.g. "page X was created").
pub fn with_context(e: NotionError, context: &str) -> NotionError {
    reword(e, |m| format!("{context}: {m}"))
}

/// Append a note to an error's message (e.g. the text an edit could have matched).
pub fn with_note(e: NotionError, note: &str) -> NotionError {
    reword(e, |m| format!("{m}\n\n{note}"))
}

fn reword(e: NotionError, f: impl FnOnce(&str) -> String) -> NotionError {
    match e {
        NotionError::Api {
            status,
            code,
            message,
            request_id,
            retry_after,
            additional_data,
        } => NotionError::Api {
            status,
            code,
            message: f(&message),
            request_id,
            retry_after,
            additional_data,
        },
        NotionError::Transport {
            endpoint,
            message,
            connect,
        } => NotionError::Transport {
            endpoint,
            message: f(&message),
            connect,
        },
        NotionError::InvalidInput { field, message } => NotionError::InvalidInput {
            field,
            message: f(&message),
        },
        other => other,
    }
}

/// The `title` of a created object's JSON as plain text.
pub fn plain_title(v: &Value) -> String {
    let items = v
        .get("title")
        .and_then(Value::as_array)
        .or_else(|| {
            v.get("properties")?
                .as_object()?
                .values()
                .find(|p| p.get("type").and_then(Value::as_str) == Some("title"))?
                .get("title")?
                .as_array()
        })
        .cloned()
        .unwrap_or_default();
    items
        .iter()
        .filter_map(|t| {
            t.get("plain_text")
                .or_else(|| t.pointer("/text/content"))
                .and_then(Value::as_str)
        })
        .collect()
}

/// The `id` of an object Notion returned.
pub fn object_id(v: &Value, endpoint: &'static str) -> Result<String, NotionError> {
    v.get("id")
        .and_then(Value::as_str)
        .map(str::to_string)
        .ok_or_else(|| NotionError::Decode {
            endpoint,
            message: "no id in the response".into(),
        })
}
