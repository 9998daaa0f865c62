//! One thin function per Notion read endpoint: builds the [`NotionRequest`] (encoded path, metrics
//! label, pagination parameters) and decodes the answer. Object endpoints come in a typed flavour and a
//! `_raw` one returning Notion's JSON unchanged (for slim JSON output).

use super::client::{NotionAuth, NotionClient, NotionRequest, decode};
use super::error::NotionError;
use super::pagination::MAX_PAGE_SIZE;
use notion_model::types::{Block, DataSource, Database, ListResponse, Page, User};
use serde_json::Value;

/// Encode an id for use as one path segment (anything but unreserved characters is percent-encoded).
pub fn encode_segment(id: &str) -> String {
    encode(id, |b| {
        b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_' | b'~')
    })
}

/// Property ids arrive URL-encoded (`title`, `%3CLrR`) and are passed through; only characters that
/// could break out of the path segment are encoded.
pub fn encode_property_id(id: &str) -> String {
    encode(id, |b| {
        b.is_ascii_alphanumeric() || b"-._~%!$&'()*+,;=:@".contains(&b)
    })
}

fn encode(s: &str, keep: impl Fn(u8) -> bool) -> String {
    let mut out = String::with_capacity(s.len());
    for b in s.bytes() {
        if keep(b) {
            out.push(char::from(b));
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

pub(crate) fn non_empty<'a>(field: &str, id: &'a str) -> Result<&'a str, NotionError> {
    let id = id.trim();
    if id.is_empty() {
        return Err(NotionError::invalid(field, "must not be empty"));
    }
    Ok(id)
}

pub(crate) fn id_path(
    field: &str,
    prefix: &str,
    id: &str,
    suffix: &str,
) -> Result<String, NotionError> {
    Ok(format!(
        "{prefix}{}{suffix}",
        encode_segment(non_empty(field, id)?)
    ))
}

fn clamp_page_size(page_size: Option<u32>) -> Option<u32> {
    page_size.map(|n| n.clamp(1, MAX_PAGE_SIZE))
}

/// Add `start_cursor`/`page_size` to a GET request's query.
pub(crate) fn paginate(
    mut req: NotionRequest,
    cursor: Option<&str>,
    page_size: Option<u32>,
) -> NotionRequest {
    if let Some(c) = cursor.filter(|c| !c.is_empty()) {
        req = req.query("start_cursor", c);
    }
    if let Some(n) = clamp_page_size(page_size) {
        req = req.query("page_size", n.to_string());
    }
    req
}

/// Add `start_cursor`/`page_size` to a POST body (which must be a JSON object or null).
fn paginate_body(
    body: Value,
    cursor: Option<&str>,
    page_size: Option<u32>,
) -> Result<Value, NotionError> {
    let mut map = match body {
        Value::Object(m) => m,
        Value::Null => serde_json::Map::new(),
        other => {
            return Err(NotionError::invalid(
                "body",
                format!("must be a JSON object, got {}", json_kind(&other)),
            ));
        }
    };
    match cursor.filter(|c| !c.is_empty()) {
        Some(c) => map.insert("start_cursor".into(), Value::from(c)),
        None => map.remove("start_cursor"),
    };
    if let Some(n) = clamp_page_size(page_size) {
        map.insert("page_size".into(), Value::from(n));
    }
    Ok(Value::Object(map))
}

/// How an unexpected JSON value is named in an error ("a string", "an array", …).
pub(crate) fn json_kind(v: &Value) -> &'static str {
    match v {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "an array",
        Value::Object(_) => "an object",
    }
}

// ---------------------------------------------------------------------------------------------- pages

fn page_request(id: &str, filter_properties: &[String]) -> Result<NotionRequest, NotionError> {
    let mut req = NotionRequest::get(
        "GET /v1/pages/{id}",
        id_path("page_id", "/v1/pages/", id, "")?,
    );
    for p in filter_properties {
        req = req.query("filter_properties", p.as_str());
    }
    Ok(req)
}

/// `GET /v1/pages/{id}` (optionally only some properties, by property id).
pub async fn retrieve_page(
    c: &NotionClient,
    auth: &NotionAuth,
    id: &str,
    filter_properties: &[String],
) -> Result<Page, NotionError> {
    c.call(auth, page_request(id, filter_properties)?).await
}

/// [`retrieve_page`] (every property) with `make` computed from the page once per answer, shared by
/// every caller that shares the answer (see [`NotionClient::call_view`]).
pub async fn retrieve_page_view<V: Send + Sync + 'static>(
    c: &NotionClient,
    auth: &NotionAuth,
    id: &str,
    make: impl FnOnce(&Page) -> V,
) -> Result<std::sync::Arc<V>, NotionError> {
    c.call_view(auth, page_request(id, &[])?, make).await
}

/// [`retrieve_page`] returning Notion's JSON.
pub async fn retrieve_page_raw(
    c: &NotionClient,
    auth: &NotionAuth,
    id: &str,
    filter_properties: &[String],
) -> Result<Value, NotionError> {
    c.send(auth, page_request(id, filter_properties)?).await
}

/// `GET /v1/pages/{page_id}/properties/{property_id}`: one `property_item`, or a list page of them.
pub async fn retrieve_page_property(
    c: &NotionClient,
    auth: &NotionAuth,
    page_id: &str,
    property_id: &str,
    cursor: Option<&str>,
    page_size: Option<u32>,
) -> Result<Value, NotionError> {
    let prop = encode_property_id(non_empty("property_id", property_id)?);
    let path = id_path(
        "page_id",
        "/v1/pages/",
        page_id,
        &format!("/properties/{prop}"),
    )?;
    let req = NotionRequest::get("GET /v1/pages/{id}/properties/{property_id}", path);
    c.send(auth, paginate(req, cursor, page_size)).await
}

/// Every item of one page property, past the 25-reference cap of page objects.
#[derive(Debug, Clone, Default)]
pub struct PropertyItems {
    /// `relation`, `people`, `title`, `rich_text`, `rollup`, `number`, ...
    pub property_type: String,
    /// `property_item` objects (exactly one for simple types).
    pub items: Vec<Value>,
    /// For rollups: the computed value from the last page's `property_item.rollup`.
    pub rollup: Option<Value>,
    /// The bound stopped collection before the end.
    pub truncated: bool,
    /// Cursor to continue from when truncated.
    pub next_cursor: Option<String>,
}

/// Page through a property's items until the end or `bound` items.
pub async fn all_property_items(
    c: &NotionClient,
    auth: &NotionAuth,
    page_id: &str,
    property_id: &str,
    bound: usize,
) -> Result<PropertyItems, NotionError> {
    let endpoint = "GET /v1/pages/{id}/properties/{property_id}";
    let mut out = PropertyItems::default();
    let mut cursor: Option<String> = None;
    loop {
        let remaining = bound.saturating_sub(out.items.len()).max(1);
        let size = u32::try_from(remaining)
            .unwrap_or(MAX_PAGE_SIZE)
            .min(MAX_PAGE_SIZE);
        let v =
            retrieve_page_property(c, auth, page_id, property_id, cursor.as_deref(), Some(size))
                .await?;
        if v.get("object").and_then(Value::as_str) != Some("list") {
            out.property_type = v
                .get("type")
                .and_then(Value::as_str)
                .unwrap_or_default()
                .to_owned();
            out.items = vec![v];
            return Ok(out);
        }
        let list: ListResponse<Value> = decode(endpoint, v)?;
        if let Some(item) = list.rest.get("property_item") {
            if let Some(t) = item.get("type").and_then(Value::as_str) {
                out.property_type = t.to_owned();
            }
            if let Some(r) = item.get("rollup").filter(|r| !r.is_null()) {
                out.rollup = Some(r.clone());
            }
        }
        out.items.extend(list.results);
        let next = list.next_cursor.filter(|n| list.has_more && !n.is_empty());
        match next {
            None => return Ok(out),
            Some(n) if out.items.len() >= bound => {
                out.truncated = true;
                out.next_cursor = Some(n);
                return Ok(out);
            }
            Some(n) if cursor.as_deref() == Some(n.as_str()) => {
                return Err(NotionError::Decode {
                    endpoint,
                    message: "the property item cursor did not advance".into(),
                });
            }
            Some(n) => cursor = Some(n),
        }
    }
}

// --------------------------------------------------------------------------------------------- blocks

fn block_request(id: &str) -> Result<NotionRequest, NotionError> {
    Ok(NotionRequest::get(
        "GET /v1/blocks/{id}",
        id_path("block_id", "/v1/blocks/", id, "")?,
    ))
}

/// `GET /v1/blocks/{id}`.
pub async fn retrieve_block(
    c: &NotionClient,
    auth: &NotionAuth,
    id: &str,
) -> Result<Block, NotionError> {
    c.call(auth, block_request(id)?).await
}

fn children_request(
    id: &str,
    cursor: Option<&str>,
    page_size: Option<u32>,
) -> Result<NotionRequest, NotionError> {
    let path = id_path("block_id", "/v1/blocks/", id, "/children")?;
    Ok(paginate(
        NotionRequest::get("GET /v1/blocks/{id}/children", path),
        cursor,
        page_size,
    ))
}

/// `GET /v1/blocks/{id}/children` (a page id reads the page body).
pub async fn list_block_children(
    c: &NotionClient,
    auth: &NotionAuth,
    id: &str,
    cursor: Option<&str>,
    page_size: Option<u32>,
) -> Result<ListResponse<Block>, NotionError> {
    c.call(auth, children_request(id, cursor, page_size)?).await
}

// --------------------------------------------------------------------------------- search and queries

/// `POST /v1/search`; `body` holds `query`/`filter`/`sort`, this adds the pagination fields.
pub async fn search(
    c: &NotionClient,
    auth: &NotionAuth,
    body: Value,
    cursor: Option<&str>,
    page_size: Option<u32>,
) -> Result<ListResponse<Value>, NotionError> {
    let req = NotionRequest::post("POST /v1/search", "/v1/search")
        .json(paginate_body(body, cursor, page_size)?)
        .idempotent(true);
    c.call(auth, req).await
}

fn query_request(
    id: &str,
    body: Value,
    filter_properties: &[String],
    cursor: Option<&str>,
    page_size: Option<u32>,
) -> Result<NotionRequest, NotionError> {
    let path = id_path("data_source_id", "/v1/data_sources/", id, "/query")?;
    let mut req = NotionRequest::post("POST /v1/data_sources/{id}/query", path)
        .json(paginate_body(body, cursor, page_size)?)
        .idempotent(true);
    for p in filter_properties {
        req = req.query("filter_properties[]", p.as_str());
    }
    Ok(req)
}

/// The properties a data source query must name to get whole rows: none on versions that send
/// every property anyway, else (when the caller named none) every property of the schema.
async fn row_properties(
    c: &NotionClient,
    auth: &NotionAuth,
    id: &str,
    filter_properties: &[String],
) -> Result<Vec<String>, NotionError> {
    if !filter_properties.is_empty() || !auth.version.title_only_lists() {
        return Ok(filter_properties.to_vec());
    }
    let ds = retrieve_data_source(c, auth, id).await?;
    Ok(ds
        .properties
        .iter()
        .filter_map(|(name, p)| {
            let id = p.get("id").and_then(Value::as_str).unwrap_or(name);
            (!id.is_empty()).then(|| id.to_string())
        })
        .collect())
}

/// `POST /v1/data_sources/{id}/query` (a read, so retried like one); `body` holds filter/sorts.
/// Rows come with every property (or only `filter_properties`, when given) on every version.
pub async fn query_data_source(
    c: &NotionClient,
    auth: &NotionAuth,
    id: &str,
    body: Value,
    filter_properties: &[String],
    cursor: Option<&str>,
    page_size: Option<u32>,
) -> Result<ListResponse<Page>, NotionError> {
    let fp = row_properties(c, auth, id, filter_properties).await?;
    c.call(auth, query_request(id, body, &fp, cursor, page_size)?)
        .await
}

/// [`query_data_source`] returning Notion's JSON rows.
pub async fn query_data_source_raw(
    c: &NotionClient,
    auth: &NotionAuth,
    id: &str,
    body: Value,
    filter_properties: &[String],
    cursor: Option<&str>,
    page_size: Option<u32>,
) -> Result<ListResponse<Value>, NotionError> {
    let fp = row_properties(c, auth, id, filter_properties).await?;
    c.call(auth, query_request(id, body, &fp, cursor, page_size)?)
        .await
}

// ------------------------------------------------------------------------- databases and data sources

fn database_request(id: &str) -> Result<NotionRequest, NotionError> {
    let path = id_path("database_id", "/v1/databases/", id, "")?;
    Ok(NotionRequest::get("GET /v1/databases/{id}", path))
}

/// `GET /v1/databases/{id}` (the container and its data sources).
pub async fn retrieve_database(
    c: &NotionClient,
    auth: &NotionAuth,
    id: &str,
) -> Result<Database, NotionError> {
    c.call(auth, database_request(id)?).await
}

fn data_source_request(id: &str) -> Result<NotionRequest, NotionError> {
    let path = id_path("data_source_id", "/v1/data_sources/", id, "")?;
    Ok(NotionRequest::get("GET /v1/data_sources/{id}", path))
}

/// `GET /v1/data_sources/{id}` (schema).
pub async fn retrieve_data_source(
    c: &NotionClient,
    auth: &NotionAuth,
    id: &str,
) -> Result<DataSource, NotionError> {
    c.call(auth, data_source_request(id)?).await
}

/// `GET /v1/data_sources/{id}/templates` → `{templates:[{id,name,is_default}], has_more, next_cursor}`.
pub async fn list_data_source_templates(
    c: &NotionClient,
    auth: &NotionAuth,
    id: &str,
    name: Option<&str>,
    cursor: Option<&str>,
    page_size: Option<u32>,
) -> Result<Value, NotionError> {
    let path = id_path("data_source_id", "/v1/data_sources/", id, "/templates")?;
    let mut req = NotionRequest::get("GET /v1/data_sources/{id}/templates", path);
    if let Some(n) = name.filter(|n| !n.is_empty()) {
        req = req.query("name", n);
    }
    c.send(auth, paginate(req, cursor, page_size)).await
}

// ------------------------------------------------------------------------------- users and comments

/// `GET /v1/users` (needs the user-information capability).
pub async fn list_users(
    c: &NotionClient,
    auth: &NotionAuth,
    cursor: Option<&str>,
    page_size: Option<u32>,
) -> Result<ListResponse<User>, NotionError> {
    let req = paginate(
        NotionRequest::get("GET /v1/users", "/v1/users"),
        cursor,
        page_size,
    );
    c.call(auth, req).await
}

/// `GET /v1/users/{id}`.
pub async fn retrieve_user(
    c: &NotionClient,
    auth: &NotionAuth,
    id: &str,
) -> Result<User, NotionError> {
    let path = id_path("user_id", "/v1/users/", id, "")?;
    c.call(auth, NotionRequest::get("GET /v1/users/{id}", path))
        .await
}

/// `GET /v1/users/me`: the bot user, with its owner, workspace and upload limits.
pub async fn retrieve_bot_user(c: &NotionClient, auth: &NotionAuth) -> Result<Value, NotionError> {
    c.send(auth, NotionRequest::get("GET /v1/users/me", "/v1/users/me"))
        .await
}

/// `GET /v1/comments?block_id=` (a page or block id).
pub async fn list_comments(
    c: &NotionClient,
    auth: &NotionAuth,
    block_id: &str,
    cursor: Option<&str>,
    page_size: Option<u32>,
) -> Result<ListResponse<Value>, NotionError> {
    let block_id = non_empty("block_id", block_id)?;
    let req = NotionRequest::get("GET /v1/comments", "/v1/comments").query("block_id", block_id);
    c.call(auth, paginate(req, cursor, page_size)).await
}

// ----------------------------------------------------------------- block appends and markdown

/// `PATCH /v1/blocks/{id}/children` with a prepared body (`children` plus `position` or legacy
/// `after`). A write: never replayed after an unknown outcome. Returns the new first-level blocks.
pub async fn append_block_children(
    c: &NotionClient,
    auth: &NotionAuth,
    block_id: &str,
    body: Value,
) -> Result<ListResponse<Value>, NotionError> {
    let path = id_path("block_id", "/v1/blocks/", block_id, "/children")?;
    let req = NotionRequest::patch("PATCH /v1/blocks/{id}/children", path)
        .json(body)
        .idempotent(false);
    c.call(auth, req).await
}

/// The markdown endpoints need Notion-Version 2026-03-11 or later: connections on 2025-09-03 call
/// them with 2026-03-11.
pub(crate) fn markdown_auth(auth: &NotionAuth) -> NotionAuth {
    use super::client::NotionVersion;
    match auth.version {
        NotionVersion::V2025_09_03 => auth.clone().with_version(NotionVersion::V2026_03_11),
        _ => auth.clone(),
    }
}

/// `GET /v1/pages/{id}/markdown?markdown_version=v2` → Notion's `page_markdown` object.
pub async fn retrieve_page_markdown(
    c: &NotionClient,
    auth: &NotionAuth,
    page_id: &str,
) -> Result<Value, NotionError> {
    let path = id_path("page_id", "/v1/pages/", page_id, "/markdown")?;
    let req =
        NotionRequest::get("GET /v1/pages/{id}/markdown", path).query("markdown_version", "v2");
    c.send(&markdown_auth(auth), req).await
}

/// `PATCH /v1/pages/{id}/markdown` with a prepared body (`markdown_version: "v2"` is added).
pub async fn update_page_markdown_raw(
    c: &NotionClient,
    auth: &NotionAuth,
    page_id: &str,
    body: Value,
) -> Result<Value, NotionError> {
    let path = id_path("page_id", "/v1/pages/", page_id, "/markdown")?;
    let mut body = match body {
        Value::Object(m) => m,
        other => {
            return Err(NotionError::invalid(
                "body",
                format!("must be a JSON object, got {}", json_kind(&other)),
            ));
        }
    };
    body.insert("markdown_version".into(), Value::from("v2"));
    let req = NotionRequest::patch("PATCH /v1/pages/{id}/markdown", path)
        .json(Value::Object(body))
        .idempotent(false);
    c.send(&markdown_auth(auth), req).await
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;
    use serde_json::json;

    #[test]
    fn path_encoding() {
        assert_eq!(encode_segment("1a2b-3c"), "1a2b-3c");
        assert_eq!(encode_segment("a/b?c#d"), "a%2Fb%3Fc%23d");
        assert_eq!(encode_property_id("%3CLrR"), "%3CLrR");
        assert_eq!(encode_property_id("title"), "title");
        assert_eq!(encode_property_id("a/b?c"), "a%2Fb%3Fc");
        assert_eq!(
            id_path("id", "/v1/pages/", " x ", "").unwrap(),
            "/v1/pages/x"
        );
        assert_eq!(
            id_path("page_id", "/v1/pages/", "  ", "")
                .unwrap_err()
                .code(),
            "invalid_argument"
        );
    }

    #[test]
    fn requests_are_shaped_right() {
        let r = page_request("p1", &["title".into(), "%3CLrR".into()]).unwrap();
        assert_eq!(r.path, "/v1/pages/p1");
        assert_eq!(r.endpoint, "GET /v1/pages/{id}");
        assert_eq!(r.query.len(), 2);
        let r = children_request("b1", Some("cur"), Some(500)).unwrap();
        assert_eq!(
            r.query,
            [
                ("start_cursor".into(), "cur".into()),
                ("page_size".into(), "100".into())
            ]
        );
        let r = query_request("ds", json!({"filter":{}}), &["a".into()], None, Some(0)).unwrap();
        assert!(r.idempotent);
        assert_eq!(r.method, http::Method::POST);
        assert_eq!(r.json_body(), Some(&json!({"filter":{}, "page_size": 1})));
        assert_eq!(r.query, [("filter_properties[]".into(), "a".into())]);
    }

    #[test]
    fn body_pagination() {
        let b = paginate_body(json!({"query":"x","start_cursor":"old"}), None, Some(10)).unwrap();
        assert_eq!(b, json!({"query":"x","page_size":10}));
        let b = paginate_body(Value::Null, Some("c"), None).unwrap();
        assert_eq!(b, json!({"start_cursor":"c"}));
        assert!(
            paginate_body(json!([1]), None, None)
                .unwrap_err()
                .to_string()
                .contains("an array")
        );
    }
}
