//! Which Notion requests the cache may answer, under which key, and who must prove access first.
//!
//! A read is keyed by Notion-Version, path, query and body: the same request by two identities
//! has one key, because Notion answers it the same way to anyone who can see the object. Before a
//! second identity gets that answer, its own token must have read the object once ([`Access`]).
//! Answers that depend on who asks (users, comments: capabilities differ) are keyed per identity.
//! Search, meeting-note queries and file uploads are never cached.

use super::tags::{Tag, parse_id};
use crate::notion::{NotionRequest, NotionVersion};
use http::Method;
use std::sync::Arc;
use uuid::Uuid;

/// Whose token must have read what before a shared answer is handed out.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Access {
    /// The answer is cached per identity: nothing to prove.
    OwnOnly,
    /// The identity must have read this block or page (`GET /v1/blocks/{id}`).
    Block(Uuid),
    /// … this data source (`GET /v1/data_sources/{id}`).
    DataSource(Uuid),
    /// … this database (`GET /v1/databases/{id}`).
    Database(Uuid),
}

impl Access {
    /// The object whose access is proven, if any.
    pub fn object(self) -> Option<Uuid> {
        match self {
            Access::OwnOnly => None,
            Access::Block(id) | Access::DataSource(id) | Access::Database(id) => Some(id),
        }
    }

    /// The cheap request that proves access with the caller's own token.
    pub fn proof_request(self) -> Option<NotionRequest> {
        let (endpoint, prefix, id) = match self {
            Access::OwnOnly => return None,
            Access::Block(id) => ("GET /v1/blocks/{id}", "/v1/blocks/", id),
            Access::DataSource(id) => ("GET /v1/data_sources/{id}", "/v1/data_sources/", id),
            Access::Database(id) => ("GET /v1/databases/{id}", "/v1/databases/", id),
        };
        Some(NotionRequest::get(
            endpoint,
            format!("{prefix}{}", id.hyphenated()),
        ))
    }
}

/// A request the cache may answer.
#[derive(Debug, Clone)]
pub struct Read {
    pub key: Arc<str>,
    pub access: Access,
    /// Dependencies known from the request itself (more come from the answer).
    pub tags: Vec<Tag>,
    /// This request is itself the proof of its access (reading it again costs what a proof costs).
    pub proves_itself: bool,
}

/// What the cache does with a request.
#[derive(Debug, Clone)]
pub enum Class {
    Read(Read),
    /// Changes Notion: invalidate what it touched once it is done.
    Write,
    /// Neither cached nor a change (search, OAuth, file upload status).
    Pass,
}

/// Path segments after `/v1/`.
fn segments(path: &str) -> Vec<&str> {
    path.trim_start_matches("/v1/")
        .split('/')
        .filter(|s| !s.is_empty())
        .collect()
}

/// The id in path segment `i`, percent-decoding not needed (ids are hex and dashes).
fn id_at(path: &str, i: usize) -> Option<Uuid> {
    segments(path).get(i).and_then(|s| parse_id(s))
}

/// Classify `req` for an identity (`identity` is only part of the key of per-identity answers).
pub fn classify(req: &NotionRequest, version: NotionVersion, identity: &str) -> Class {
    let endpoint = req.endpoint;
    if endpoint.starts_with("POST /v1/oauth")
        || endpoint == "POST /v1/search"
        || endpoint == "POST /v1/blocks/meeting_notes/query"
    {
        return Class::Pass;
    }
    // View queries are Notion-side caches of a view's rows: reading, paging or dropping one
    // changes nothing a reader sees, and their answers expire, so they are neither cached nor writes.
    if endpoint.starts_with("POST /v1/views/{id}/queries")
        || endpoint.ends_with("/v1/views/{id}/queries/{query_id}")
    {
        return Class::Pass;
    }
    let read_method = req.method == Method::GET
        || (req.method == Method::POST && endpoint == "POST /v1/data_sources/{id}/query");
    if !read_method {
        return Class::Write;
    }
    let path = &req.path;
    let object = |i| id_at(path, i);
    let (access, tags, proves_itself) = match endpoint {
        "GET /v1/pages/{id}" | "GET /v1/blocks/{id}" => {
            let Some(id) = object(1) else {
                return Class::Pass;
            };
            (Access::Block(id), vec![Tag::object(id)], true)
        }
        "GET /v1/pages/{id}/properties/{property_id}" => {
            let Some(id) = object(1) else {
                return Class::Pass;
            };
            (Access::Block(id), vec![Tag::object(id)], false)
        }
        "GET /v1/pages/{id}/markdown" => {
            let Some(id) = object(1) else {
                return Class::Pass;
            };
            let tags = vec![Tag::object(id), Tag::children(id), Tag::markdown(id)];
            (Access::Block(id), tags, false)
        }
        "GET /v1/blocks/{id}/children" => {
            let Some(id) = object(1) else {
                return Class::Pass;
            };
            (Access::Block(id), vec![Tag::children(id)], false)
        }
        "POST /v1/data_sources/{id}/query" | "GET /v1/data_sources/{id}/templates" => {
            let Some(id) = object(1) else {
                return Class::Pass;
            };
            let tags = vec![Tag::children(id), Tag::member(id)];
            // Reading a query again costs what the proof does (one request) and proves its rows too.
            let proves_itself = endpoint == "POST /v1/data_sources/{id}/query";
            (Access::DataSource(id), tags, proves_itself)
        }
        "GET /v1/data_sources/{id}" => {
            let Some(id) = object(1) else {
                return Class::Pass;
            };
            (Access::DataSource(id), vec![Tag::object(id)], true)
        }
        "GET /v1/databases/{id}" => {
            let Some(id) = object(1) else {
                return Class::Pass;
            };
            (Access::Database(id), vec![Tag::object(id)], true)
        }
        "GET /v1/comments" => {
            let block = req
                .query
                .iter()
                .find(|(k, _)| k == "block_id")
                .and_then(|(_, v)| parse_id(v));
            let Some(block) = block else {
                return Class::Pass;
            };
            (Access::OwnOnly, vec![Tag::comments(block)], false)
        }
        "GET /v1/users" | "GET /v1/users/{id}" | "GET /v1/users/me" => {
            (Access::OwnOnly, Vec::new(), false)
        }
        // Upload status, anything new: straight to Notion.
        _ => return Class::Pass,
    };
    let mut key = String::with_capacity(96);
    if access == Access::OwnOnly {
        key.push_str(identity);
        key.push(' ');
    }
    key.push_str(version.as_str());
    key.push(' ');
    key.push_str(req.method.as_str());
    key.push(' ');
    key.push_str(path);
    for (k, v) in &req.query {
        key.push(if key.contains('?') { '&' } else { '?' });
        key.push_str(k);
        key.push('=');
        key.push_str(v);
    }
    if let Some(body) = req.json_body() {
        key.push(' ');
        key.push_str(&body.to_string());
    }
    Class::Read(Read {
        key: Arc::from(key),
        access,
        tags,
        proves_itself,
    })
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;
    use serde_json::json;

    const ID: &str = "1f2e3d4c-5b6a-4978-8a9b-0c1d2e3f4a5b";

    fn read(req: NotionRequest, identity: &str) -> Read {
        match classify(&req, NotionVersion::default(), identity) {
            Class::Read(r) => r,
            other => panic!("not a read: {other:?}"),
        }
    }

    #[test]
    fn shared_reads_have_one_key_for_everyone() {
        let req = || {
            NotionRequest::get(
                "GET /v1/blocks/{id}/children",
                format!("/v1/blocks/{ID}/children"),
            )
            .query("page_size", "100")
        };
        let a = read(req(), "bot:a");
        let b = read(req(), "bot:b");
        assert_eq!(a.key, b.key);
        assert!(
            a.key.contains(NotionVersion::default().as_str()),
            "{}",
            a.key
        );
        assert_eq!(a.access, Access::Block(parse_id(ID).unwrap()));
        let old = classify(&req(), NotionVersion::V2025_09_03, "bot:a");
        let Class::Read(old) = old else { panic!() };
        assert_ne!(old.key, a.key, "the version is part of the key");
        let Class::Read(mid) = classify(&req(), NotionVersion::V2026_03_11, "bot:a") else {
            panic!()
        };
        assert!(mid.key.contains("2026-03-11"), "{}", mid.key);
        assert_ne!(mid.key, a.key, "2026-03-11 answers are kept apart");
        assert_ne!(mid.key, old.key);
    }

    #[test]
    fn per_identity_answers_and_query_bodies() {
        let users = read(NotionRequest::get("GET /v1/users", "/v1/users"), "bot:a");
        assert!(users.key.starts_with("bot:a "));
        assert_eq!(users.access, Access::OwnOnly);
        let q = |body| {
            read(
                NotionRequest::post(
                    "POST /v1/data_sources/{id}/query",
                    format!("/v1/data_sources/{ID}/query"),
                )
                .json(body),
                "bot:a",
            )
        };
        assert_ne!(
            q(json!({"page_size": 10})).key,
            q(json!({"page_size": 20})).key
        );
        assert!(q(json!({})).proves_itself, "a query is its own proof");
    }

    #[test]
    fn writes_search_and_odd_paths() {
        let v = NotionVersion::default();
        let patch = NotionRequest::patch("PATCH /v1/pages/{id}", format!("/v1/pages/{ID}"));
        assert!(matches!(classify(&patch, v, "x"), Class::Write));
        let search = NotionRequest::post("POST /v1/search", "/v1/search");
        assert!(matches!(classify(&search, v, "x"), Class::Pass));
        for (m, e) in [
            (Method::POST, "POST /v1/views/{id}/queries"),
            (Method::GET, "GET /v1/views/{id}/queries/{query_id}"),
            (Method::DELETE, "DELETE /v1/views/{id}/queries/{query_id}"),
            (Method::GET, "GET /v1/views/{id}"),
            (Method::GET, "GET /v1/custom_emojis"),
        ] {
            let q = NotionRequest::new(m, e, format!("/v1/views/{ID}/queries/{ID}"));
            assert!(matches!(classify(&q, v, "x"), Class::Pass), "{e}");
        }
        for (m, e) in [
            (Method::POST, "POST /v1/views"),
            (Method::PATCH, "PATCH /v1/views/{id}"),
            (Method::DELETE, "DELETE /v1/views/{id}"),
        ] {
            let w = NotionRequest::new(m, e, format!("/v1/views/{ID}"));
            assert!(matches!(classify(&w, v, "x"), Class::Write), "{e}");
        }
        let odd = NotionRequest::get("GET /v1/pages/{id}", "/v1/pages/not-an-id");
        assert!(matches!(classify(&odd, v, "x"), Class::Pass));
        let proof = Access::DataSource(parse_id(ID).unwrap())
            .proof_request()
            .unwrap();
        assert_eq!(proof.path, format!("/v1/data_sources/{ID}"));
    }
}
