//! The block types Notion knows, grouped by what a request may do with them. One list for everything
//! that writes or checks blocks (the write tools, the Notion fake, the renderers' tests).

/// Block types whose text lives in `rich_text` and that can be created and edited.
pub const TEXT_TYPES: &[&str] = &[
    "paragraph",
    "heading_1",
    "heading_2",
    "heading_3",
    "heading_4",
    "bulleted_list_item",
    "numbered_list_item",
    "quote",
    "to_do",
    "toggle",
    "callout",
    "code",
];

/// `template` blocks carry `rich_text` too, but Notion no longer lets them be created by the API's
/// writers of new content; existing ones are still read and edited.
pub const LEGACY_TEXT_TYPES: &[&str] = &["template"];

/// Other block types a request may create.
pub const OTHER_TYPES: &[&str] = &[
    "divider",
    "breadcrumb",
    "table_of_contents",
    "equation",
    "bookmark",
    "embed",
    "image",
    "video",
    "pdf",
    "file",
    "audio",
    "table",
    "table_row",
    "column_list",
    "column",
    "link_to_page",
    "synced_block",
    "tab",
];

/// Types that exist in answers but cannot be created through the block endpoints.
pub const NOT_APPENDABLE: &[&str] = &[
    "child_page",
    "child_database",
    "link_preview",
    "meeting_notes",
    "transcription",
    "unsupported",
];

/// Whether blocks of `kind` hold their text in `rich_text` (legacy `template` included).
pub fn has_rich_text(kind: &str) -> bool {
    TEXT_TYPES.contains(&kind) || LEGACY_TEXT_TYPES.contains(&kind)
}

/// Whether a request may create blocks of `kind`.
pub fn is_creatable(kind: &str) -> bool {
    has_rich_text(kind) || OTHER_TYPES.contains(&kind)
}

/// Every block type a request may create.
pub fn creatable() -> impl Iterator<Item = &'static str> {
    all().filter(|k| is_creatable(k))
}

/// Every block type Notion knows.
pub fn all() -> impl Iterator<Item = &'static str> {
    TEXT_TYPES
        .iter()
        .chain(LEGACY_TEXT_TYPES)
        .chain(OTHER_TYPES)
        .chain(NOT_APPENDABLE)
        .copied()
}
