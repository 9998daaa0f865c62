//! Notion blocks ⇄ Markdown: pure renderers from Notion API objects to compact Markdown for LLM
//! clients, and the parser that turns the same dialect back into blocks ([`from_md`]). No I/O.
//!
//! The dialect stays close to Notion-flavoured Markdown (v1) so that what is read can be written back:
//!
//! - Children are indented with one tab per level. Sibling blocks are separated by a blank line,
//!   except consecutive list items (`- `, `1. `, `- [ ]`), which stay tight.
//! - Inline: `**b**`, `*i*`, `~~s~~`, `` `code` ``, `[t](url)`, `$x$`,
//!   `<span underline="true" color="red">`; colours use Notion's names with `_background` shortened
//!   to `_bg`. Mentions: `[@Name](user://<id>)`, `[Title](https://www.notion.so/<id32>)` for pages
//!   and databases, `[Title](collection://<id>)` for data sources,
//!   `<mention-date start="…" end="…"/>`.
//! - Block colour is a `{color="red"}` suffix on the block's (last) text line; tag blocks carry it
//!   as an attribute. Toggle headings get `{toggle="true"}`.
//! - Toggles are `<details><summary>…</summary>` … `</details>`; callouts use the tag form
//!   `<callout icon="💡" color="gray_bg">` with text and children indented inside, closed by
//!   `</callout>`; columns are `<columns>`/`<column>`.
//! - Code is fenced with the block's language and a fence longer than any backtick run inside;
//!   its content is never escaped. Equations are `$$` blocks.
//! - Tables are pipe tables; without a column header the header row is empty.
//! - Child pages/databases: `<page url="…">Title</page>`, `<database url="…">Title</database>`.
//!   Bookmarks, embeds and link previews: `[caption](url)`, or `<url>` without a caption.
//!   Images `![caption](url)`; video/audio/pdf/file `<video src="…">caption</video>`; files sent
//!   by upload show as `file_upload://<id>`.
//! - Synced blocks are transparent: their children render in place.
//! - Blocks the dialect does not know render as `<unknown type="…" id="…"/>` (with their text and
//!   children, if any); nothing is dropped except empty paragraphs (spacing only).
//! - Unloaded children: `<!-- children not loaded: fetch id <id> -->` at the children's indent.
//! - With [`RenderOptions::include_block_ids`], each block's first line (for text blocks: the line
//!   that ends its text) ends with ` ^<block id>`; tables get an extra last column holding
//!   `^<table id>` in the header and `^<row id>` in each row.
//! - Property values: checkboxes are `yes`/`no`; relations list page ids and end with
//!   `…+more: get_page_property property_id=<id>` when Notion cut the list at 25 references.

mod blocks;
mod escape;
pub mod from_md;
pub mod json;
mod objects;
mod properties;
mod rich_text;
mod table;

pub use blocks::{Rendered, blocks};
pub use from_md::{MarkdownError, markdown_to_blocks};
pub use objects::{data_source_schema, database_summary, page_header, rows_table, user_line};
pub use properties::property_value;
pub use rich_text::rich_text;
pub use table::pipe_table;

/// How [`blocks()`] renders.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RenderOptions {
    /// Append a ` ^<block id>` anchor to every block (see the module docs).
    pub include_block_ids: bool,
    /// Stop at a block boundary before the output would exceed this many characters; 0 = unbounded.
    pub max_chars: usize,
}

impl Default for RenderOptions {
    fn default() -> Self {
        RenderOptions {
            include_block_ids: false,
            max_chars: 100_000,
        }
    }
}

/// `https://www.notion.so/<id without dashes>`: opens a page or database and carries its id.
pub(crate) fn notion_url(id: &str) -> String {
    format!("https://www.notion.so/{}", id.replace('-', ""))
}

/// An emoji icon, or `:name:` for a custom emoji; image icons are left out (long, expiring URLs).
pub(crate) fn icon_text(icon: &serde_json::Value) -> Option<String> {
    match icon.get("type")?.as_str()? {
        "emoji" => icon.get("emoji")?.as_str().map(str::to_owned),
        "custom_emoji" => Some(format!(
            ":{}:",
            icon.get("custom_emoji")?.get("name")?.as_str()?
        )),
        _ => None,
    }
}

/// A Notion colour as written in Markdown, or `None` for the default colour.
pub(crate) fn color_name(color: &str) -> Option<String> {
    match color {
        "" | "default" => None,
        c => Some(match c.strip_suffix("_background") {
            Some(base) => format!("{base}_bg"),
            None => c.to_owned(),
        }),
    }
}

#[cfg(test)]
mod fuzz_tests;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_and_helpers() {
        let o = RenderOptions::default();
        assert!(!o.include_block_ids);
        assert_eq!(o.max_chars, 100_000);
        assert_eq!(
            notion_url("59833787-2cf9-4fdf-8782-e53db20768a5"),
            "https://www.notion.so/598337872cf94fdf8782e53db20768a5"
        );
        assert_eq!(color_name("default"), None);
        assert_eq!(color_name("red_background").as_deref(), Some("red_bg"));
        assert_eq!(color_name("blue").as_deref(), Some("blue"));
    }
}
