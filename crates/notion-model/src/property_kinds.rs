//! The property types a data-source schema can declare, and which of them Notion computes. One list
//! for everything that reads or writes properties (the write tools' conversion, the Notion fake).

/// Every property type a schema can declare.
pub const PROPERTY_TYPES: &[&str] = &[
    "title",
    "rich_text",
    "number",
    "select",
    "multi_select",
    "status",
    "date",
    "people",
    "files",
    "checkbox",
    "url",
    "email",
    "phone_number",
    "formula",
    "relation",
    "rollup",
    "created_time",
    "created_by",
    "last_edited_time",
    "last_edited_by",
    "unique_id",
    "button",
    "verification",
    "place",
];

/// Types whose values Notion computes; a page write cannot set them.
pub const COMPUTED: &[&str] = &[
    "formula",
    "rollup",
    "created_time",
    "created_by",
    "last_edited_time",
    "last_edited_by",
    "unique_id",
    "button",
    "verification",
];

/// Whether `kind` is a property type Notion knows.
pub fn is_known(kind: &str) -> bool {
    PROPERTY_TYPES.contains(&kind)
}

/// Whether values of `kind` are computed by Notion (and so never written).
pub fn is_computed(kind: &str) -> bool {
    COMPUTED.contains(&kind)
}
