//! Notion's answers turned back into request bodies for a copy: rich text (mentions of copied pages
//! pointed at their copies), blocks (one level; `table` with its rows, `column_list` with its
//! columns and their children, as Notion requires), page property values (read-only kinds left
//! out) and icons/covers. Notion-hosted files are collected as [`HostedFile`]s to re-upload: their
//! URLs expire after an hour.

use std::collections::HashMap;

use serde_json::{Map, Value, json};

/// Property kinds a copy cannot set: those Notion computes, and those the API cannot write.
pub fn read_only_property(kind: &str) -> bool {
    notion_model::property_kinds::COMPUTED.contains(&kind)
        || matches!(kind, "unsupported" | "place")
}

/// Block kinds whose payload is a file object.
pub const FILE_BLOCKS: &[&str] = &["image", "video", "audio", "pdf", "file"];

/// A Notion-hosted file met while converting, to be re-uploaded; `slot` is the placeholder id
/// written into the request until the upload exists.
#[derive(Debug, Clone)]
pub struct HostedFile {
    pub slot: String,
    pub url: String,
    pub name: String,
}

/// What conversions share: old → new ids of copied pages and the files to re-upload.
#[derive(Debug, Default)]
pub struct Converter {
    pub ids: HashMap<String, String>,
    pub files: Vec<HostedFile>,
}

/// Ids compare without dashes or case.
pub fn key(id: &str) -> String {
    id.replace('-', "").to_ascii_lowercase()
}

impl Converter {
    fn remap(&self, id: &str) -> String {
        self.ids
            .get(&key(id))
            .cloned()
            .unwrap_or_else(|| id.to_string())
    }

    /// Rich text as a request: `text`, `mention` or `equation` with annotations; `plain_text` and
    /// `href` dropped; page and database mentions of copied pages pointed at the copies.
    pub fn rich_text(&self, items: &Value) -> Value {
        let Some(items) = items.as_array() else {
            return json!([]);
        };
        Value::Array(items.iter().filter_map(|i| self.rich_item(i)).collect())
    }

    fn rich_item(&self, item: &Value) -> Option<Value> {
        let kind = item.get("type").and_then(Value::as_str)?;
        let mut out = Map::new();
        out.insert("type".into(), json!(kind));
        let payload = item.get(kind)?.clone();
        let payload = match kind {
            "mention" => self.mention(&payload)?,
            "text" => json!({"content": payload.get("content").cloned().unwrap_or(json!("")),
                              "link": payload.get("link").cloned().unwrap_or(Value::Null)}),
            _ => payload,
        };
        out.insert(kind.into(), payload);
        if let Some(a) = item.get("annotations") {
            out.insert("annotations".into(), a.clone());
        }
        Some(Value::Object(out))
    }

    fn mention(&self, m: &Value) -> Option<Value> {
        let kind = m.get("type").and_then(Value::as_str)?;
        let inner = m.get(kind)?;
        let payload = match kind {
            "page" | "database" | "user" => {
                let id = inner.get("id").and_then(Value::as_str)?;
                let id = if kind == "user" {
                    id.to_string()
                } else {
                    self.remap(id)
                };
                json!({ "id": id })
            }
            _ => inner.clone(),
        };
        Some(json!({"type": kind, kind: payload}))
    }

    /// A file object (`file`, `external`, `file_upload`) as a request; Notion-hosted files become a
    /// placeholder upload to fill in once re-uploaded.
    pub fn file(&mut self, f: &Value, fallback_name: &str) -> Option<Value> {
        match f.get("type").and_then(Value::as_str)? {
            "external" => {
                Some(json!({"type": "external", "external": {"url": f.pointer("/external/url")?}}))
            }
            "file" => {
                let url = f.pointer("/file/url").and_then(Value::as_str)?.to_string();
                let slot = format!("pending-upload-{}", self.files.len());
                let name = f
                    .get("name")
                    .and_then(Value::as_str)
                    .map(str::to_string)
                    .or_else(|| file_name(&url))
                    .unwrap_or_else(|| fallback_name.to_string());
                self.files.push(HostedFile {
                    slot: slot.clone(),
                    url,
                    name,
                });
                Some(json!({"type": "file_upload", "file_upload": {"id": slot}}))
            }
            "custom_emoji" | "emoji" | "icon" => Some(f.clone()),
            _ => None,
        }
    }

    /// An icon or cover as a request value (`None`: leave it out).
    pub fn icon_or_cover(&mut self, v: Option<&Value>) -> Option<Value> {
        let v = v.filter(|v| !v.is_null())?;
        match v.get("type").and_then(Value::as_str)? {
            "emoji" => Some(json!({"type": "emoji", "emoji": v.get("emoji")?})),
            "custom_emoji" => Some(
                json!({"type": "custom_emoji", "custom_emoji": {"id": v.pointer("/custom_emoji/id")?}}),
            ),
            _ => self.file(v, "image"),
        }
    }

    /// One block as a request, without its children (`None`: this kind cannot be created).
    /// `table` and `column_list` are completed by the caller with their rows and columns.
    pub fn block(&mut self, kind: &str, data: &Value) -> Option<Value> {
        let mut d = data.as_object().cloned().unwrap_or_default();
        d.remove("children");
        for k in ["rich_text", "caption"] {
            if let Some(rt) = d.get(k) {
                let converted = self.rich_text(rt);
                d.insert(k.into(), converted);
            }
        }
        match kind {
            k if FILE_BLOCKS.contains(&k) => {
                let name = d
                    .get("name")
                    .and_then(Value::as_str)
                    .unwrap_or(k)
                    .to_string();
                let file = self.file(data, &name)?;
                let mut out = file.as_object().cloned().unwrap_or_default();
                for keep in ["caption", "name"] {
                    if let Some(v) = d.get(keep) {
                        out.insert(keep.into(), v.clone());
                    }
                }
                d = out;
            }
            "link_to_page" => {
                let t = d.get("type").and_then(Value::as_str)?.to_string();
                let id = d.get(&t).and_then(Value::as_str)?.to_string();
                d = Map::new();
                d.insert("type".into(), json!(t));
                d.insert(t, json!(self.remap(&id)));
            }
            "synced_block" => {
                let from = d
                    .get("synced_from")
                    .and_then(|f| f.get("block_id"))
                    .and_then(Value::as_str)
                    .map(|id| json!({"block_id": id}))
                    .unwrap_or(Value::Null);
                d = Map::new();
                d.insert("synced_from".into(), from);
            }
            "table_row" => {
                let cells: Vec<Value> = d
                    .get("cells")
                    .and_then(Value::as_array)
                    .map(|c| c.iter().map(|cell| self.rich_text(cell)).collect())
                    .unwrap_or_default();
                d = Map::new();
                d.insert("cells".into(), Value::Array(cells));
            }
            "child_page" | "child_database" | "link_preview" | "meeting_notes"
            | "transcription" | "unsupported" | "template" => return None,
            _ => {}
        }
        Some(json!({"type": kind, kind: Value::Object(d)}))
    }

    /// A property value as a request (`None`: read-only or not settable).
    pub fn property(
        &mut self,
        kind: &str,
        value: &Value,
        relation_ids: Option<&[String]>,
    ) -> Option<Value> {
        if read_only_property(kind) {
            return None;
        }
        let v = match kind {
            "title" | "rich_text" => self.rich_text(value),
            "select" | "status" => match value.get("name") {
                Some(n) => json!({"name": n}),
                None => Value::Null,
            },
            "multi_select" => Value::Array(
                value
                    .as_array()?
                    .iter()
                    .filter_map(|o| o.get("name").map(|n| json!({"name": n})))
                    .collect(),
            ),
            "people" => Value::Array(
                value
                    .as_array()?
                    .iter()
                    .filter_map(|p| p.get("id").map(|id| json!({"id": id})))
                    .collect(),
            ),
            "relation" => {
                let ids: Vec<String> = match relation_ids {
                    Some(ids) => ids.to_vec(),
                    None => value
                        .as_array()?
                        .iter()
                        .filter_map(|r| r.get("id").and_then(Value::as_str).map(str::to_string))
                        .collect(),
                };
                Value::Array(ids.iter().map(|id| json!({"id": self.remap(id)})).collect())
            }
            "files" => Value::Array(
                value
                    .as_array()?
                    .iter()
                    .filter_map(|f| {
                        let name = f
                            .get("name")
                            .and_then(Value::as_str)
                            .unwrap_or("file")
                            .to_string();
                        let mut item = self.file(f, &name)?;
                        item["name"] = json!(name);
                        Some(item)
                    })
                    .collect(),
            ),
            "number" | "checkbox" | "url" | "email" | "phone_number" | "date" | "place" => {
                value.clone()
            }
            _ => return None,
        };
        Some(json!({ kind: v }))
    }
}

/// The last path segment of a URL, without its query.
fn file_name(url: &str) -> Option<String> {
    url.split(['?', '#'])
        .next()?
        .rsplit('/')
        .next()
        .filter(|n| !n.is_empty() && !n.contains(':'))
        .map(str::to_string)
}

/// Replace each placeholder upload id in `v` by the real one.
pub fn fill_uploads(v: &mut Value, uploads: &HashMap<String, String>) {
    match v {
        Value::Object(m) => {
            if m.get("type").and_then(Value::as_str) == Some("file_upload")
                && let Some(id) = m.get_mut("file_upload").and_then(|f| f.get_mut("id"))
                && let Some(real) = id.as_str().and_then(|s| uploads.get(s))
            {
                *id = json!(real);
            }
            for child in m.values_mut() {
                fill_uploads(child, uploads);
            }
        }
        Value::Array(items) => items.iter_mut().for_each(|i| fill_uploads(i, uploads)),
        _ => {}
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn rich_text_drops_read_fields_and_remaps_copied_pages() {
        let mut c = Converter::default();
        c.ids.insert(key("AAAA-1"), "new-1".into());
        let rt = json!([
            {"type": "text", "text": {"content": "hi", "link": null}, "plain_text": "hi", "href": null,
             "annotations": {"bold": true}},
            {"type": "mention", "mention": {"type": "page", "page": {"id": "aaaa1"}}, "plain_text": "P"},
            {"type": "mention", "mention": {"type": "user", "user": {"id": "u1", "name": "Ann", "object": "user"}}}
        ]);
        let out = c.rich_text(&rt);
        assert_eq!(
            out[0],
            json!({"type": "text", "text": {"content": "hi", "link": null}, "annotations": {"bold": true}})
        );
        assert_eq!(out[1]["mention"]["page"]["id"], "new-1");
        assert_eq!(
            out[2]["mention"],
            json!({"type": "user", "user": {"id": "u1"}})
        );
    }

    #[test]
    fn hosted_files_become_uploads_and_read_only_properties_are_skipped() {
        let mut c = Converter::default();
        let img = json!({"type": "file", "file": {"url": "https://x/y/cat.png?sig=1", "expiry_time": "t"}, "caption": []});
        let b = c.block("image", &img).unwrap();
        assert_eq!(b["image"]["type"], "file_upload");
        assert_eq!(c.files[0].name, "cat.png");
        let mut uploads = HashMap::new();
        uploads.insert(c.files[0].slot.clone(), "real".to_string());
        let mut b = b;
        fill_uploads(&mut b, &uploads);
        assert_eq!(b["image"]["file_upload"]["id"], "real");
        assert!(c.property("formula", &json!({}), None).is_none());
        assert_eq!(
            c.property(
                "select",
                &json!({"id": "x", "name": "A", "color": "red"}),
                None
            )
            .unwrap(),
            json!({"select": {"name": "A"}})
        );
        assert!(c.block("child_page", &json!({"title": "x"})).is_none());
    }
}
