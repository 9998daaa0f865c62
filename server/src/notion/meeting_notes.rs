//! AI meeting notes: `POST /v1/blocks/meeting_notes/query` (at most 50 notes, no cursor; only
//! notes that list the integration's user as an attendee) and `POST /v1/blocks/meeting_notes`
//! (a note from an uploaded recording, or next to an audio/video/file block). A note's summary,
//! notes and transcript are the children of its tab blocks (read by `tree`).

use serde_json::Value;

use super::client::{NotionAuth, NotionClient, NotionRequest};
use super::endpoints::markdown_auth;
use super::error::NotionError;

/// Most notes one query returns (Notion's cap; there is no cursor).
pub const MAX_RESULTS: u32 = 50;

/// `POST /v1/blocks/meeting_notes/query` → `{results, has_more}` (idempotent; never cached).
pub async fn query(c: &NotionClient, auth: &NotionAuth, body: Value) -> Result<Value, NotionError> {
    let req = NotionRequest::post(
        "POST /v1/blocks/meeting_notes/query",
        "/v1/blocks/meeting_notes/query",
    )
    .json(body)
    .idempotent(true);
    c.send(&markdown_auth(auth), req).await
}

/// `POST /v1/blocks/meeting_notes` (never replayed: a retry makes a second note).
pub async fn create(
    c: &NotionClient,
    auth: &NotionAuth,
    body: Value,
) -> Result<Value, NotionError> {
    let req = NotionRequest::post("POST /v1/blocks/meeting_notes", "/v1/blocks/meeting_notes")
        .json(body)
        .idempotent(false);
    c.send(&markdown_auth(auth), req).await
}
