//! Database views and custom emojis: one thin function per endpoint. View queries are Notion-side
//! caches of a view's rows (created, paged, deleted; they expire after about 15 minutes).

use super::client::{NotionAuth, NotionClient, NotionRequest};
use super::endpoints::{id_path, non_empty, paginate};
use super::error::NotionError;
use super::pagination::MAX_PAGE_SIZE;
use serde_json::{Value, json};

/// `GET /v1/views?database_id=|data_source_id=` → a list of `{object:"view", id}`.
pub async fn list_views(
    c: &NotionClient,
    auth: &NotionAuth,
    database_id: Option<&str>,
    data_source_id: Option<&str>,
    cursor: Option<&str>,
    page_size: Option<u32>,
) -> Result<Value, NotionError> {
    let mut req = NotionRequest::get("GET /v1/views", "/v1/views");
    if let Some(d) = database_id {
        req = req.query("database_id", non_empty("database_id", d)?);
    }
    if let Some(d) = data_source_id {
        req = req.query("data_source_id", non_empty("data_source_id", d)?);
    }
    if database_id.is_none() && data_source_id.is_none() {
        return Err(NotionError::invalid(
            "database_id",
            "give a database id or a data source id",
        ));
    }
    c.send(auth, paginate(req, cursor, page_size)).await
}

/// `GET /v1/views/{id}` → the full view object.
pub async fn retrieve_view(
    c: &NotionClient,
    auth: &NotionAuth,
    id: &str,
) -> Result<Value, NotionError> {
    let path = id_path("view_id", "/v1/views/", id, "")?;
    c.send(auth, NotionRequest::get("GET /v1/views/{id}", path))
        .await
}

/// `POST /v1/views` with a prepared body (never replayed: a retry could add a second view).
pub async fn create_view(
    c: &NotionClient,
    auth: &NotionAuth,
    body: Value,
) -> Result<Value, NotionError> {
    let req = NotionRequest::post("POST /v1/views", "/v1/views")
        .json(body)
        .idempotent(false);
    c.send(auth, req).await
}

/// `PATCH /v1/views/{id}` (fixed values: safe to replay).
pub async fn update_view(
    c: &NotionClient,
    auth: &NotionAuth,
    id: &str,
    body: Value,
) -> Result<Value, NotionError> {
    let path = id_path("view_id", "/v1/views/", id, "")?;
    let req = NotionRequest::patch("PATCH /v1/views/{id}", path)
        .json(body)
        .idempotent(true);
    c.send(auth, req).await
}

/// `DELETE /v1/views/{id}` → a partial view. Permanent.
pub async fn delete_view(
    c: &NotionClient,
    auth: &NotionAuth,
    id: &str,
) -> Result<Value, NotionError> {
    let path = id_path("view_id", "/v1/views/", id, "")?;
    let req = NotionRequest::delete("DELETE /v1/views/{id}", path).idempotent(false);
    c.send(auth, req).await
}

/// `POST /v1/views/{id}/queries` → a `view_query` with the first page of row references.
/// Changes nothing a reader sees, so it is retried like a read.
pub async fn create_view_query(
    c: &NotionClient,
    auth: &NotionAuth,
    view_id: &str,
    page_size: u32,
) -> Result<Value, NotionError> {
    let path = id_path("view_id", "/v1/views/", view_id, "/queries")?;
    let req = NotionRequest::post("POST /v1/views/{id}/queries", path)
        .json(json!({"page_size": page_size.clamp(1, MAX_PAGE_SIZE)}))
        .idempotent(true);
    c.send(auth, req).await
}

fn query_path(view_id: &str, query_id: &str) -> Result<String, NotionError> {
    let query = super::endpoints::encode_segment(non_empty("query_id", query_id)?);
    id_path(
        "view_id",
        "/v1/views/",
        view_id,
        &format!("/queries/{query}"),
    )
}

/// `GET /v1/views/{id}/queries/{query_id}` → a list page of row references (404 once expired).
pub async fn view_query_results(
    c: &NotionClient,
    auth: &NotionAuth,
    view_id: &str,
    query_id: &str,
    cursor: Option<&str>,
    page_size: Option<u32>,
) -> Result<Value, NotionError> {
    let req = NotionRequest::get(
        "GET /v1/views/{id}/queries/{query_id}",
        query_path(view_id, query_id)?,
    );
    c.send(auth, paginate(req, cursor, page_size)).await
}

/// `DELETE /v1/views/{id}/queries/{query_id}` (idempotent; also fine on an expired query).
pub async fn delete_view_query(
    c: &NotionClient,
    auth: &NotionAuth,
    view_id: &str,
    query_id: &str,
) -> Result<Value, NotionError> {
    let req = NotionRequest::delete(
        "DELETE /v1/views/{id}/queries/{query_id}",
        query_path(view_id, query_id)?,
    )
    .idempotent(true);
    c.send(auth, req).await
}

/// `GET /v1/custom_emojis` (optionally `name`, an exact match).
pub async fn list_custom_emojis(
    c: &NotionClient,
    auth: &NotionAuth,
    name: Option<&str>,
    cursor: Option<&str>,
    page_size: Option<u32>,
) -> Result<Value, NotionError> {
    let mut req = NotionRequest::get("GET /v1/custom_emojis", "/v1/custom_emojis");
    if let Some(n) = name.filter(|n| !n.is_empty()) {
        req = req.query("name", n);
    }
    c.send(auth, paginate(req, cursor, page_size)).await
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn query_paths_encode_both_ids() {
        assert_eq!(
            query_path("v1", "q/1").unwrap(),
            "/v1/views/v1/queries/q%2F1"
        );
        assert!(query_path("v1", " ").is_err());
    }
}
