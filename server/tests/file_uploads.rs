//! File uploads: the fake's state machine over raw HTTP (modes, multipart sends, part rules, the
//! single-part cap, completion, expiry, attach-by-id validation), then `upload_file` through MCP (from a
//! URL, from base64 in one part and in several, attached as a block, icon, cover or files property)
//! and `get_file_upload`. `through_client` checks that uploads get everything the Notion client
//! gives other calls.
#![allow(clippy::unwrap_used)]

mod common;
mod oauth_support;
#[path = "file_uploads/through_client.rs"]
mod through_client;

use base64::Engine;
use common::{Harness, id, result_text};
use notion_fake::{DatabaseFixture, Fixture, PageFixture, stable_id};
use serde_json::{Value, json};
use std::time::Duration;

const T: &str = "ntn_workspace_w";

fn fixture() -> Fixture {
    Fixture::builder()
        .workspace("W", T)
        .page(PageFixture::new("Home").id("home"))
        .database(
            DatabaseFixture::new("Docs")
                .id("docs")
                .data_source_id("docs-ds")
                .property("Name", json!("title"))
                .property("Files", json!("files"))
                .row(PageFixture::new("Spec").id("spec")),
        )
        .build()
}

fn b64(bytes: &[u8]) -> String {
    base64::engine::general_purpose::STANDARD.encode(bytes)
}

/// A raw client of the fake.
struct Api<'a> {
    h: &'a Harness,
}

impl Api<'_> {
    fn url(&self, path: &str) -> String {
        format!("{}{path}", self.h.fake.base_url())
    }

    fn req(&self, method: reqwest::Method, path: &str) -> reqwest::RequestBuilder {
        self.h
            .http
            .request(method, self.url(path))
            .bearer_auth(T)
            .header("Notion-Version", "2026-03-11")
    }

    async fn json(&self, method: reqwest::Method, path: &str, body: Value) -> (u16, Value) {
        let r = self.req(method, path).json(&body).send().await.unwrap();
        (r.status().as_u16(), r.json().await.unwrap())
    }

    async fn send(&self, upload: &str, part: Option<usize>, bytes: Vec<u8>) -> (u16, Value) {
        let file = reqwest::multipart::Part::bytes(bytes)
            .file_name("f.bin")
            .mime_str("application/octet-stream")
            .unwrap();
        let mut form = reqwest::multipart::Form::new().part("file", file);
        if let Some(n) = part {
            form = form.text("part_number", n.to_string());
        }
        let r = self
            .req(
                reqwest::Method::POST,
                &format!("/v1/file_uploads/{upload}/send"),
            )
            .multipart(form)
            .send()
            .await
            .unwrap();
        (r.status().as_u16(), r.json().await.unwrap())
    }

    async fn create(&self, body: Value) -> String {
        let (s, v) = self
            .json(reqwest::Method::POST, "/v1/file_uploads", body)
            .await;
        assert_eq!(s, 200, "{v}");
        v["id"].as_str().unwrap().to_string()
    }
}

#[tokio::test]
async fn fake_upload_state_machine() {
    let h = Harness::start(fixture()).await;
    let api = Api { h: &h };
    h.fake().with_state(|s| {
        s.file_uploads.single_part_max = 1000;
        s.file_uploads.part_min = 100;
        s.file_uploads.part_max = 1000;
    });

    // Single part: pending → uploaded; the cap is a validation error.
    let one = api
        .create(json!({"filename": "a.txt", "content_type": "text/plain"}))
        .await;
    let (s, v) = api
        .json(
            reqwest::Method::GET,
            &format!("/v1/file_uploads/{one}"),
            Value::Null,
        )
        .await;
    assert_eq!((s, v["status"].as_str()), (200, Some("pending")), "{v}");
    let (s, v) = api.send(&one, None, vec![b'x'; 1001]).await;
    assert_eq!(
        (s, v["code"].as_str()),
        (400, Some("validation_error")),
        "{v}"
    );
    let (s, v) = api.send(&one, None, b"hello".to_vec()).await;
    assert_eq!(s, 200, "{v}");
    assert_eq!(v["status"], "uploaded");
    assert_eq!(v["content_length"], 5);
    let (s, v) = api.send(&one, None, b"again".to_vec()).await;
    assert_eq!(s, 400, "no second send: {v}");

    // Multi part: any order, size rules, completion needs every part.
    let multi = api
        .create(json!({"mode": "multi_part", "filename": "big.bin", "number_of_parts": 3}))
        .await;
    let (s, _) = api.send(&multi, Some(1), vec![1; 50]).await;
    assert_eq!(s, 400, "a non-last part below the minimum");
    let (s, _) = api.send(&multi, Some(4), vec![1; 200]).await;
    assert_eq!(s, 400, "part number out of range");
    assert_eq!(api.send(&multi, Some(3), vec![3; 10]).await.0, 200);
    assert_eq!(api.send(&multi, Some(1), vec![1; 200]).await.0, 200);
    let (s, v) = api
        .json(
            reqwest::Method::POST,
            &format!("/v1/file_uploads/{multi}/complete"),
            json!({}),
        )
        .await;
    assert_eq!(s, 400);
    assert!(v["message"].as_str().unwrap().contains("part(s) 2"), "{v}");
    assert_eq!(api.send(&multi, Some(2), vec![2; 200]).await.0, 200);
    let (s, v) = api
        .json(
            reqwest::Method::POST,
            &format!("/v1/file_uploads/{multi}/complete"),
            json!({}),
        )
        .await;
    assert_eq!((s, v["status"].as_str()), (200, Some("uploaded")), "{v}");
    assert_eq!(v["content_length"], 410);
    let content = h
        .fake()
        .with_state(|s| s.file_uploads.uploads[&multi.parse().unwrap()].content());
    assert_eq!(&content[..1], &[1]);
    assert_eq!(&content[200..201], &[2]);
    assert_eq!(&content[400..], &[3; 10]);
    let (s, _) = api
        .json(
            reqwest::Method::POST,
            &format!("/v1/file_uploads/{one}/complete"),
            json!({}),
        )
        .await;
    assert_eq!(s, 400, "single-part uploads are not completed");

    // Create validation.
    for (body, what) in [
        (
            json!({"mode": "multi_part", "filename": "x"}),
            "number_of_parts",
        ),
        (json!({"mode": "sideways"}), "mode"),
        (json!({"filename": "x".repeat(901)}), "filename"),
        (
            json!({"mode": "external_url", "filename": "x"}),
            "external_url",
        ),
    ] {
        let (s, v) = api
            .json(reqwest::Method::POST, "/v1/file_uploads", body)
            .await;
        assert_eq!(s, 400, "{what}: {v}");
        assert!(v["message"].as_str().unwrap().contains(what), "{v}");
    }

    // External URL: uploaded at once. Listing filters by status.
    let ext = api
        .create(json!({"mode": "external_url", "external_url": "https://x.example/p.png", "filename": "p.png"}))
        .await;
    let (_, v) = api
        .json(
            reqwest::Method::GET,
            &format!("/v1/file_uploads/{ext}"),
            Value::Null,
        )
        .await;
    assert_eq!(v["status"], "uploaded");
    let pending = api.create(json!({})).await;
    let (_, v) = api
        .json(
            reqwest::Method::GET,
            "/v1/file_uploads?status=pending",
            Value::Null,
        )
        .await;
    let ids: Vec<&str> = v["results"]
        .as_array()
        .unwrap()
        .iter()
        .map(|u| u["id"].as_str().unwrap())
        .collect();
    assert_eq!(ids, [pending.as_str()]);

    // Attach by id: pending, unknown and expired uploads are refused; uploaded ones become files.
    let image = |upload: &str| json!({"children": [{"type": "image", "image": {"type": "file_upload", "file_upload": {"id": upload}}}]});
    let children = format!("/v1/blocks/{}/children", id("home"));
    let (s, v) = api
        .json(reqwest::Method::PATCH, &children, image(&pending))
        .await;
    assert_eq!(
        (s, v["code"].as_str()),
        (400, Some("validation_error")),
        "{v}"
    );
    assert!(v["message"].as_str().unwrap().contains("pending"), "{v}");
    let (s, _) = api
        .json(reqwest::Method::PATCH, &children, image(&id("nope")))
        .await;
    assert_eq!(s, 400);
    let (s, v) = api
        .json(reqwest::Method::PATCH, &children, image(&one))
        .await;
    assert_eq!(s, 200, "{v}");
    assert_eq!(v["results"][0]["image"]["type"], "file", "{v}");
    let (s, v) = api
        .json(
            reqwest::Method::PATCH,
            &format!("/v1/pages/{}", id("home")),
            json!({"icon": {"type": "file_upload", "file_upload": {"id": multi}}}),
        )
        .await;
    assert_eq!((s, v["icon"]["type"].as_str()), (200, Some("file")), "{v}");
    h.fake()
        .with_state(|s| s.file_uploads.ttl = Duration::from_millis(1));
    tokio::time::sleep(Duration::from_millis(5)).await;
    let (s, v) = api
        .json(reqwest::Method::PATCH, &children, image(&ext))
        .await;
    assert_eq!(s, 400, "{v}");
    assert!(v["message"].as_str().unwrap().contains("expired"), "{v}");
    let (_, v) = api
        .json(
            reqwest::Method::GET,
            &format!("/v1/file_uploads/{one}"),
            Value::Null,
        )
        .await;
    assert_eq!(v["status"], "uploaded", "attached uploads do not expire");
    h.shutdown().await;
}

#[tokio::test]
async fn upload_file_from_a_url_and_attach_as_an_image() {
    let h = Harness::start(fixture()).await;
    let t = h
        .text(
            T,
            "upload_file",
            json!({"url": "https://img.example/pics/cat.png?size=2", "attach_to": id("home")}),
        )
        .await;
    assert!(t.contains("\"cat.png\"") && t.contains("uploaded"), "{t}");
    assert!(t.contains("image block"), "{t}");
    let page = h.text(T, "fetch", json!({"id": id("home")})).await;
    assert!(page.contains("files.notion-fake.test"), "{page}");
    let upload = common::notion_data(&t)
        .split_whitespace()
        .nth(1)
        .unwrap()
        .to_string();
    let status = h.text(T, "get_file_upload", json!({"id": upload})).await;
    assert!(
        status.contains("uploaded") && status.contains(&upload) && status.contains("cat.png"),
        "{status}"
    );
    h.shutdown().await;
}

#[tokio::test]
async fn upload_file_from_base64_single_and_multi_part() {
    let h = Harness::start(fixture()).await;
    h.fake().with_state(|s| s.file_uploads.part_min = 1024);
    // One part, set as the cover.
    let t = h
        .text(
            T,
            "upload_file",
            json!({"content": b64(b"%PDF-1.4 tiny"), "filename": "doc.pdf",
                   "attach_to": id("home"), "attach_as": "cover"}),
        )
        .await;
    assert!(
        t.contains("application/pdf") && t.contains("13 bytes"),
        "{t}"
    );
    assert!(t.contains("cover"), "{t}");
    let cover = h
        .fake()
        .with_state(|s| s.pages[&stable_id("home")].cover.clone());
    assert_eq!(cover.unwrap()["type"], "file");

    // Several parts (small parts allowed by the fake for the test), into a files property.
    let data: Vec<u8> = (0..5000u32).map(|i| (i % 251) as u8).collect();
    h.fake().reset_log();
    let t = h
        .text(
            T,
            "upload_file",
            json!({"content": b64(&data), "filename": "data.bin", "part_size": 2048,
                   "attach_to": id("spec"), "attach_as": "Files"}),
        )
        .await;
    assert!(t.contains("3 part(s)") && t.contains("5000 bytes"), "{t}");
    let sends = h
        .fake()
        .requests()
        .iter()
        .filter(|r| r.path.ends_with("/send"))
        .count();
    assert_eq!(sends, 3);
    let upload = common::notion_data(&t)
        .split_whitespace()
        .nth(1)
        .unwrap()
        .to_string();
    let stored = h
        .fake()
        .with_state(|s| s.file_uploads.uploads[&upload.parse().unwrap()].content());
    assert_eq!(stored, data, "parts reassemble to the original");
    let row: Value = common::json_data(
        &h.text(T, "get_page", json!({"id": id("spec"), "format": "json"}))
            .await,
    );
    assert_eq!(
        row["properties"]["Files"]["files"][0]["name"], "data.bin",
        "{row}"
    );

    // The icon, from a data: URL carrying its type.
    let t = h
        .text(
            T,
            "upload_file",
            json!({"content": format!("data:image/png;base64,{}", b64(b"\x89PNG")),
                   "filename": "i.png", "attach_to": id("home"), "attach_as": "icon"}),
        )
        .await;
    assert!(t.contains("image/png") && t.contains("icon"), "{t}");
    h.shutdown().await;
}

#[tokio::test]
async fn upload_file_errors_name_the_field() {
    let h = Harness::start(fixture()).await;
    let cases = [
        (json!({}), "content"),
        (json!({"url": "https://x/a", "content": "aGk="}), "content"),
        (json!({"content": "!!!"}), "content"),
        (json!({"url": "ftp://x/a"}), "url"),
        (json!({"content": "aGk=", "part_size": 10}), "part_size"),
        (json!({"content": "aGk=", "attach_as": "icon"}), "attach_as"),
    ];
    for (args, field) in cases {
        let r = h.call(T, "upload_file", args.clone()).await;
        assert_eq!(r["isError"], true, "{args}: {r}");
        assert_eq!(
            r["structuredContent"]["error"]["field"], field,
            "{args}: {r}"
        );
    }
    // A property that is not a files property, and an unknown upload id.
    let r = h
        .call(
            T,
            "upload_file",
            json!({"content": "aGk=", "filename": "a.txt", "attach_to": id("spec"), "attach_as": "Name"}),
        )
        .await;
    assert_eq!(r["isError"], true, "{r}");
    assert!(result_text(&r).contains("not files"), "{r}");
    // An existing upload's status is get_file_upload's job.
    let r = h.call(T, "upload_file", json!({"id": id("x")})).await;
    assert_eq!(r["isError"], true, "{r}");
    assert!(result_text(&r).contains("id"), "{r}");
    let r = h
        .call(T, "get_file_upload", json!({"id": id("missing-upload")}))
        .await;
    assert_eq!(r["structuredContent"]["error"]["code"], "object_not_found");
    let r = h.call(T, "get_file_upload", json!({"id": "nope"})).await;
    assert_eq!(r["structuredContent"]["error"]["field"], "id", "{r}");
    h.shutdown().await;
}
