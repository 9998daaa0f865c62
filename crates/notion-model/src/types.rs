//! Typed views of Notion API objects.
//!
//! Notion adds fields and block/property types often, so every type here keeps what it does not model:
//! known fields are typed, the rest stays in a `rest` map (or an `Unknown` arm) and is serialised back
//! unchanged. Renderers read these types; tools may also pass the raw JSON through.

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

/// A Notion list response: `{object:"list", results, next_cursor, has_more, ...}`.
#[derive(Debug, Clone, Deserialize, Serialize)]
pub struct ListResponse<T> {
    pub results: Vec<T>,
    #[serde(default)]
    pub next_cursor: Option<String>,
    #[serde(default)]
    pub has_more: bool,
    #[serde(flatten)]
    pub rest: Map<String, Value>,
}

/// Text annotations of one rich-text item.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize, Serialize)]
#[serde(default)]
pub struct Annotations {
    pub bold: bool,
    pub italic: bool,
    pub strikethrough: bool,
    pub underline: bool,
    pub code: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub color: Option<String>,
}

/// One rich-text item (`text`, `mention` or `equation`; other kinds keep their JSON).
#[derive(Debug, Clone, Deserialize, Serialize)]
pub struct RichText {
    #[serde(rename = "type", default)]
    pub kind: String,
    #[serde(default)]
    pub plain_text: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub href: Option<String>,
    #[serde(default)]
    pub annotations: Annotations,
    /// The type-keyed payload (`text: {content, link}`, `mention: {...}`, `equation: {expression}`) and
    /// anything else Notion sent.
    #[serde(flatten)]
    pub rest: Map<String, Value>,
}

impl RichText {
    /// The type-keyed payload, e.g. `{"content": "...", "link": null}` for a text item.
    pub fn data(&self) -> Option<&Value> {
        self.rest.get(&self.kind)
    }

    /// The link target of a text item, if any.
    pub fn link(&self) -> Option<&str> {
        self.data()?.get("link")?.get("url")?.as_str()
    }
}

/// Plain text of a rich-text array.
pub fn plain_text(items: &[RichText]) -> String {
    items.iter().map(|t| t.plain_text.as_str()).collect()
}

/// A block. `kind` is Notion's `type`; the payload lives under `rest[kind]`.
#[derive(Debug, Clone, Deserialize, Serialize)]
pub struct Block {
    #[serde(default)]
    pub id: String,
    #[serde(rename = "type", default)]
    pub kind: String,
    #[serde(default)]
    pub has_children: bool,
    #[serde(default)]
    pub in_trash: bool,
    #[serde(flatten)]
    pub rest: Map<String, Value>,
}

impl Block {
    /// The type-keyed payload, e.g. `{"rich_text": [...], "color": "default"}` for a paragraph.
    pub fn data(&self) -> Option<&Value> {
        self.rest.get(&self.kind)
    }

    /// The block's own `rich_text` (empty when the type has none or it does not parse).
    pub fn rich_text(&self) -> Vec<RichText> {
        self.data()
            .and_then(|d| d.get("rich_text"))
            .and_then(|v| Vec::<RichText>::deserialize(v).ok())
            .unwrap_or_default()
    }
}

/// A block with its (possibly partial) subtree, as gathered by the tree fetcher.
#[derive(Debug, Clone, Default)]
pub struct BlockNode {
    pub block: Option<Block>,
    pub children: Vec<BlockNode>,
    /// True when this node has children that were not fetched (depth or size bound).
    pub children_omitted: bool,
}

/// A page property value: `{id, type, <type>: ...}`.
#[derive(Debug, Clone, Deserialize, Serialize)]
pub struct PropertyValue {
    #[serde(default)]
    pub id: String,
    #[serde(rename = "type", default)]
    pub kind: String,
    #[serde(flatten)]
    pub rest: Map<String, Value>,
}

impl PropertyValue {
    /// The type-keyed value, e.g. the array of a `relation` property.
    pub fn value(&self) -> Option<&Value> {
        self.rest.get(&self.kind)
    }

    /// Notion sets `has_more: true` on relation values cut at 25 references.
    pub fn has_more(&self) -> bool {
        self.rest
            .get("has_more")
            .and_then(Value::as_bool)
            .unwrap_or(false)
    }
}

/// A page (or data-source row).
#[derive(Debug, Clone, Deserialize, Serialize)]
pub struct Page {
    #[serde(default)]
    pub id: String,
    #[serde(default)]
    pub url: Option<String>,
    #[serde(default)]
    pub parent: Value,
    /// Property name → value, in Notion's order.
    #[serde(default)]
    pub properties: indexmap_like::Properties,
    #[serde(default)]
    pub icon: Option<Value>,
    #[serde(default)]
    pub in_trash: bool,
    #[serde(flatten)]
    pub rest: Map<String, Value>,
}

impl Page {
    /// The page title: the text of its `title` property.
    pub fn title(&self) -> String {
        self.properties
            .iter()
            .find(|(_, p)| p.kind == "title")
            .and_then(|(_, p)| p.value())
            .and_then(|v| serde_json::from_value::<Vec<RichText>>(v.clone()).ok())
            .map(|t| plain_text(&t))
            .unwrap_or_default()
    }
}

/// A data source (the schema and rows of a database, API 2025-09-03+).
#[derive(Debug, Clone, Deserialize, Serialize)]
pub struct DataSource {
    #[serde(default)]
    pub id: String,
    #[serde(default)]
    pub title: Vec<RichText>,
    /// Property name → schema entry (`{id, name, type, <type>: {...}}`), in Notion's order.
    #[serde(default)]
    pub properties: Map<String, Value>,
    #[serde(default)]
    pub parent: Value,
    #[serde(flatten)]
    pub rest: Map<String, Value>,
}

/// A database container holding one or more data sources.
#[derive(Debug, Clone, Deserialize, Serialize)]
pub struct Database {
    #[serde(default)]
    pub id: String,
    #[serde(default)]
    pub title: Vec<RichText>,
    #[serde(default)]
    pub data_sources: Vec<DataSourceRef>,
    #[serde(flatten)]
    pub rest: Map<String, Value>,
}

/// `{id, name}` entry of a database's `data_sources`.
#[derive(Debug, Clone, Deserialize, Serialize)]
pub struct DataSourceRef {
    pub id: String,
    #[serde(default)]
    pub name: String,
}

/// A user (person or bot).
#[derive(Debug, Clone, Deserialize, Serialize)]
pub struct User {
    #[serde(default)]
    pub id: String,
    #[serde(rename = "type", default)]
    pub kind: Option<String>,
    #[serde(default)]
    pub name: Option<String>,
    #[serde(flatten)]
    pub rest: Map<String, Value>,
}

/// An ordered property map that keeps Notion's property order.
pub mod indexmap_like {
    use super::PropertyValue;
    use serde::{Deserialize, Deserializer, Serialize, Serializer};

    /// Property name → value, order preserved.
    #[derive(Debug, Clone, Default)]
    pub struct Properties(pub Vec<(String, PropertyValue)>);

    impl Properties {
        pub fn iter(&self) -> impl Iterator<Item = (&String, &PropertyValue)> {
            self.0.iter().map(|(k, v)| (k, v))
        }
        pub fn get(&self, name: &str) -> Option<&PropertyValue> {
            self.0.iter().find(|(k, _)| k == name).map(|(_, v)| v)
        }
        /// Find a property by name or by property id.
        pub fn find(&self, name_or_id: &str) -> Option<(&String, &PropertyValue)> {
            self.iter()
                .find(|(k, v)| *k == name_or_id || v.id == name_or_id)
        }
        pub fn len(&self) -> usize {
            self.0.len()
        }
        pub fn is_empty(&self) -> bool {
            self.0.is_empty()
        }
    }

    impl<'de> Deserialize<'de> for Properties {
        fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
            let map = serde_json::Map::<String, serde_json::Value>::deserialize(d)?;
            let mut out = Vec::with_capacity(map.len());
            for (k, v) in map {
                let pv = serde_json::from_value(v).map_err(serde::de::Error::custom)?;
                out.push((k, pv));
            }
            Ok(Properties(out))
        }
    }

    impl Serialize for Properties {
        fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
            use serde::ser::SerializeMap;
            let mut m = s.serialize_map(Some(self.0.len()))?;
            for (k, v) in &self.0 {
                m.serialize_entry(k, v)?;
            }
            m.end()
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn unknown_block_types_and_fields_round_trip() {
        let raw = json!({"object":"block","id":"b1","type":"future_block","has_children":false,
            "future_block":{"x":1},"new_field":true});
        let b: Block = serde_json::from_value(raw.clone()).expect("parses");
        assert_eq!(b.kind, "future_block");
        assert_eq!(b.data(), Some(&json!({"x":1})));
        let back = serde_json::to_value(&b).expect("serialises");
        assert_eq!(back["new_field"], json!(true));
        assert_eq!(back["future_block"], json!({"x":1}));
    }

    #[test]
    fn page_title_and_property_order() {
        let p: Page = serde_json::from_value(json!({"id":"p","properties":{
            "Zeta":{"id":"z","type":"number","number":3},
            "Name":{"id":"title","type":"title","title":[{"type":"text","plain_text":"Hello","text":{"content":"Hello"}}]}
        }})).expect("parses");
        assert_eq!(p.title(), "Hello");
        let names: Vec<_> = p.properties.iter().map(|(k, _)| k.as_str()).collect();
        assert_eq!(names, ["Zeta", "Name"]);
    }
}
