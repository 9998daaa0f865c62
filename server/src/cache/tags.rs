//! What a cached answer depends on ([`Tag`]s) and what a change takes away ([`Invalidation`]s).
//!
//! An entry carries the tags of every object its answer shows: a block-children page is tagged with
//! its parent (`Children`) and with each block in it (`Object`), so an edit of one block, a move of
//! a child page or a new child all reach the lists that show them. Invalidations travel between
//! replicas in a short text form ([`Invalidation::encode`]).

use serde_json::Value;
use uuid::Uuid;

/// How an answer depends on an object.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum TagKind {
    /// Shows the object itself (its properties, content, trash state or title).
    Object,
    /// Lists the object's children: block children, a data source's rows (query results).
    Children,
    /// Shows a row of the data source or database, whose schema shapes the row's properties.
    Member,
    /// Lists the comments of the block or page.
    Comments,
    /// Is the page rendered as Markdown (depends on its whole block tree).
    Markdown,
}

impl TagKind {
    const ALL: [TagKind; 5] = [
        TagKind::Object,
        TagKind::Children,
        TagKind::Member,
        TagKind::Comments,
        TagKind::Markdown,
    ];

    fn letter(self) -> char {
        match self {
            TagKind::Object => 'o',
            TagKind::Children => 'c',
            TagKind::Member => 'm',
            TagKind::Comments => 'k',
            TagKind::Markdown => 'd',
        }
    }

    /// The metrics label.
    pub fn as_str(self) -> &'static str {
        match self {
            TagKind::Object => "object",
            TagKind::Children => "children",
            TagKind::Member => "member",
            TagKind::Comments => "comments",
            TagKind::Markdown => "markdown",
        }
    }
}

/// One dependency of a cached answer.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Tag {
    pub kind: TagKind,
    pub id: Uuid,
}

impl Tag {
    pub fn object(id: Uuid) -> Tag {
        Tag {
            kind: TagKind::Object,
            id,
        }
    }
    pub fn children(id: Uuid) -> Tag {
        Tag {
            kind: TagKind::Children,
            id,
        }
    }
    pub fn member(id: Uuid) -> Tag {
        Tag {
            kind: TagKind::Member,
            id,
        }
    }
    pub fn comments(id: Uuid) -> Tag {
        Tag {
            kind: TagKind::Comments,
            id,
        }
    }
    pub fn markdown(id: Uuid) -> Tag {
        Tag {
            kind: TagKind::Markdown,
            id,
        }
    }
}

/// One thing a change makes untrustworthy.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Invalidation {
    /// Every entry carrying the tag.
    Tag(Tag),
    /// The child lists of the block and of every nested block below it (not into child pages):
    /// a page whose content changed somewhere.
    Subtree(Uuid),
    /// Every page rendered as Markdown (a block changed whose page is not known).
    AllMarkdown,
    /// Every identity's proof of access (an object moved, so sharing may have changed).
    Proofs,
    /// Everything (a write whose effect is unknown).
    Everything,
}

impl Invalidation {
    /// The metrics label.
    pub fn kind(&self) -> &'static str {
        match self {
            Invalidation::Tag(t) => t.kind.as_str(),
            Invalidation::Subtree(_) => "subtree",
            Invalidation::AllMarkdown => "all_markdown",
            Invalidation::Proofs => "proofs",
            Invalidation::Everything => "everything",
        }
    }

    /// The wire form: `o:<id>` (a tag), `s:<id>`, `*d`, `*p`, `*`.
    pub fn encode(&self) -> String {
        match self {
            Invalidation::Tag(t) => format!("{}:{}", t.kind.letter(), t.id.simple()),
            Invalidation::Subtree(id) => format!("s:{}", id.simple()),
            Invalidation::AllMarkdown => "*d".into(),
            Invalidation::Proofs => "*p".into(),
            Invalidation::Everything => "*".into(),
        }
    }

    /// Parse the wire form; `None` for anything else.
    pub fn decode(s: &str) -> Option<Invalidation> {
        match s {
            "*" => return Some(Invalidation::Everything),
            "*p" => return Some(Invalidation::Proofs),
            "*d" => return Some(Invalidation::AllMarkdown),
            _ => {}
        }
        let (letter, id) = s.split_once(':')?;
        let id = Uuid::try_parse(id).ok()?;
        if letter == "s" {
            return Some(Invalidation::Subtree(id));
        }
        let kind = TagKind::ALL
            .into_iter()
            .find(|k| letter.len() == 1 && letter.starts_with(k.letter()))?;
        Some(Invalidation::Tag(Tag { kind, id }))
    }
}

/// Encode a plan as one message: invalidations separated by spaces.
pub fn encode_plan(plan: &[Invalidation]) -> String {
    plan.iter()
        .map(Invalidation::encode)
        .collect::<Vec<_>>()
        .join(" ")
}

/// Decode a message of [`encode_plan`]; an unreadable part becomes `Everything` (never trust
/// what could not be understood).
pub fn decode_plan(message: &str) -> Vec<Invalidation> {
    message
        .split_ascii_whitespace()
        .map(|part| Invalidation::decode(part).unwrap_or(Invalidation::Everything))
        .collect()
}

/// A Notion id in any of its spellings (dashed or not), or `None`.
pub fn parse_id(s: &str) -> Option<Uuid> {
    Uuid::try_parse(s.trim()).ok()
}

/// The id field of a JSON object.
pub fn id_of(value: &Value) -> Option<Uuid> {
    value.get("id").and_then(Value::as_str).and_then(parse_id)
}

/// The ids a `parent` object names (page, block, data source, database).
pub fn parent_ids(object: &Value) -> Vec<Uuid> {
    let Some(parent) = object.get("parent") else {
        return Vec::new();
    };
    ["page_id", "block_id", "data_source_id", "database_id"]
        .into_iter()
        .filter_map(|k| parent.get(k).and_then(Value::as_str).and_then(parse_id))
        .collect()
}

/// The pages, data sources and databases a list answer (query results, search results) shows: Notion
/// showed each of them to the token that asked, which proves that identity's access to them.
pub fn listed_objects(answer: &Value) -> Vec<Uuid> {
    if answer.get("object").and_then(Value::as_str) != Some("list") {
        return Vec::new();
    }
    answer
        .get("results")
        .and_then(Value::as_array)
        .map(|results| {
            results
                .iter()
                .filter(|o| {
                    matches!(
                        o.get("object").and_then(Value::as_str),
                        Some("page" | "data_source" | "database")
                    )
                })
                .filter_map(id_of)
                .collect()
        })
        .unwrap_or_default()
}

/// Block types whose children are another object's content (not walked as part of a subtree).
fn is_own_object(block_type: &str) -> bool {
    matches!(block_type, "child_page" | "child_database")
}

/// Tags of the objects an answer shows, and the nested blocks whose child lists belong to the same
/// page (for [`Invalidation::Subtree`]).
pub fn from_answer(answer: &Value) -> (Vec<Tag>, Vec<Uuid>) {
    let mut tags = Vec::new();
    let mut nested = Vec::new();
    let mut one = |object: &Value| {
        let Some(id) = id_of(object) else { return };
        tags.push(Tag::object(id));
        match object.get("object").and_then(Value::as_str) {
            Some("page") => {
                // A row: its properties follow the schema of its data source (and database).
                if let Some(parent) = object.get("parent") {
                    for k in ["data_source_id", "database_id"] {
                        if let Some(p) = parent.get(k).and_then(Value::as_str).and_then(parse_id) {
                            tags.push(Tag::member(p));
                        }
                    }
                }
            }
            Some("block") => {
                let kind = object.get("type").and_then(Value::as_str).unwrap_or("");
                let has_children = object
                    .get("has_children")
                    .and_then(Value::as_bool)
                    .unwrap_or(false);
                if has_children && !is_own_object(kind) {
                    nested.push(id);
                }
            }
            _ => {}
        }
    };
    match answer.get("results").and_then(Value::as_array) {
        Some(results) if answer.get("object").and_then(Value::as_str) == Some("list") => {
            results.iter().for_each(&mut one);
        }
        _ => one(answer),
    }
    tags.sort();
    tags.dedup();
    (tags, nested)
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;
    use serde_json::json;

    const A: &str = "1f2e3d4c-5b6a-4978-8a9b-0c1d2e3f4a5b";
    const B: &str = "2f2e3d4c5b6a49788a9b0c1d2e3f4a5b";

    #[test]
    fn wire_form_round_trips_and_distrusts_garbage() {
        let a = parse_id(A).unwrap();
        let plan = vec![
            Invalidation::Tag(Tag::object(a)),
            Invalidation::Tag(Tag::children(a)),
            Invalidation::Tag(Tag::member(a)),
            Invalidation::Tag(Tag::comments(a)),
            Invalidation::Tag(Tag::markdown(a)),
            Invalidation::Subtree(a),
            Invalidation::AllMarkdown,
            Invalidation::Proofs,
            Invalidation::Everything,
        ];
        assert_eq!(decode_plan(&encode_plan(&plan)), plan);
        assert_eq!(
            decode_plan("x:1 o:nothex"),
            vec![Invalidation::Everything; 2]
        );
        assert!(decode_plan("").is_empty());
    }

    #[test]
    fn lists_tag_every_item_and_rows_their_schema() {
        let (a, b) = (parse_id(A).unwrap(), parse_id(B).unwrap());
        let list = json!({"object": "list", "results": [
            {"object": "block", "id": A, "type": "toggle", "has_children": true},
            {"object": "block", "id": B, "type": "child_page", "has_children": true},
        ]});
        let (tags, nested) = from_answer(&list);
        assert_eq!(tags, vec![Tag::object(a), Tag::object(b)]);
        assert_eq!(nested, vec![a], "child pages are their own objects");
        let row = json!({"object": "page", "id": A, "parent": {"type": "data_source_id", "data_source_id": B, "database_id": B}});
        let (tags, _) = from_answer(&row);
        assert_eq!(tags, vec![Tag::object(a), Tag::member(b)]);
        assert_eq!(parent_ids(&row), vec![b, b]);
    }

    #[test]
    fn list_answers_name_the_objects_they_show() {
        let (a, b) = (parse_id(A).unwrap(), parse_id(B).unwrap());
        let found = json!({"object": "list", "results": [
            {"object": "page", "id": A},
            {"object": "data_source", "id": B},
            {"object": "block", "id": B},
            {"object": "page"},
        ]});
        assert_eq!(listed_objects(&found), vec![a, b]);
        // A single page is not a list; blocks are covered by their page's proof.
        assert!(listed_objects(&json!({"object": "page", "id": A})).is_empty());
    }
}
