//! Markdown → Notion block JSON: the write side of the dialect the renderers produce (see
//! [`crate`]), so that what a tool reads can be edited and written back.
//!
//! Pure and total: no I/O, no panics, linear-ish in the input. The output is a list of block
//! objects `{"type": T, T: {…}}` ready for `PATCH /v1/blocks/{id}/children`, except that
//! children are nested to any depth in `T.children` (see the server's `notion::append` for splitting
//! them into requests Notion accepts).
//!
//! Input dialect (what is accepted, beyond what the renderer writes):
//! - Children: lines indented more than their parent (tabs or spaces), after any block that can
//!   hold children; a heading with children becomes a toggle heading. Other blocks' indented
//!   lines follow them as siblings.
//! - Paragraph lines are kept as line breaks; `<br>` is a line break too. Blank lines separate
//!   blocks. A paragraph made of `<empty-block/>` is an empty paragraph.
//! - `#`…`######` headings (5 and 6 become `heading_4`); `{toggle="true" color="…"}` suffixes;
//!   `- `/`* `/`+ ` bullets, `1.`/`1)` numbers, `- [ ]`/`- [x]` to-dos (numbers are ignored);
//!   `> ` quotes (consecutive lines, `>` alone for an empty line, one quote block); fenced code
//!   (``` or ~~~, language aliases mapped to Notion's names, unknown → `plain text`); `$$`
//!   equations (≤ 1,000 characters); `---`/`***`/`___` dividers; pipe tables (an empty header
//!   row means no column header); `<details><summary>` toggles; `<callout icon color>` and
//!   `::: callout {icon color}` callouts (a leading plain paragraph is the callout's text);
//!   `<columns><column>`; `<page url>`/`<database url>` and whole-line `[page](<notion url>)` →
//!   `link_to_page`; `![caption](url)` → image; `<video|audio|pdf|file|image src>`; `<url>` alone
//!   → bookmark; `<table_of_contents/>`, `<breadcrumb/>`.
//! - Ignored: ` ^<block id>` anchors, `<!-- … -->` comments (such as "children not loaded"
//!   markers), `<unknown …/>`, meeting notes, templates, synced-block tags (their content stays).
//! - Inline: CommonMark emphasis, `~~strike~~`, code spans, links, `$math$`, backslash escapes;
//!   `<span underline="true" color="…">`, `<u>`, `<b>`, `<i>`, `<s>`; mentions `[@Name](user://id)`,
//!   `[Title](https://www.notion.so/<32 hex>)` (a page mention; labels are ignored, Notion shows
//!   the current name), `[Title](collection://id)`, `<mention-date start end/>`,
//!   `<mention-user|page|database url/>`. Other Notion URLs stay plain links.
//! - Limits: text runs over 2,000 UTF-16 units are split into several items, blocks with more
//!   than 100 items continue in a block of the same type, links and media URLs over 2,000
//!   characters and equations over 1,000 are errors.

mod blocks;
mod inline;
mod lang;
mod limits;
mod pipe_table;
mod tag_blocks;
mod tags;

use serde_json::Value;

/// Largest input accepted (bytes).
pub const MAX_MARKDOWN_BYTES: usize = 8 * 1024 * 1024;

/// Why Markdown could not be converted.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum MarkdownError {
    #[error("line {line}: blocks are nested more than {max} levels deep")]
    TooDeep { line: usize, max: usize },
    #[error("line {line}: equation of {len} characters; Notion accepts at most 1000 per equation")]
    EquationTooLong { line: usize, len: usize },
    #[error("line {line}: URL longer than 2000 characters (Notion's limit)")]
    UrlTooLong { line: usize },
    #[error("the Markdown is {bytes} bytes; at most {max} are accepted")]
    TooLarge { bytes: usize, max: usize },
}

/// Converts Markdown in our Notion-flavoured dialect to Notion block JSON (children nested in
/// `block[type].children`, to any depth). See the module docs for the accepted syntax.
///
/// ```
/// use notion_markdown::markdown_to_blocks;
/// let blocks = markdown_to_blocks("# Title\n\n- item\n\t- child").unwrap();
/// assert_eq!(blocks[0]["type"], "heading_1");
/// assert_eq!(blocks[1]["bulleted_list_item"]["children"][0]["type"], "bulleted_list_item");
/// ```
pub fn markdown_to_blocks(md: &str) -> Result<Vec<Value>, MarkdownError> {
    if md.len() > MAX_MARKDOWN_BYTES {
        return Err(MarkdownError::TooLarge {
            bytes: md.len(),
            max: MAX_MARKDOWN_BYTES,
        });
    }
    let nodes = limits::enforce(blocks::parse(md)?);
    Ok(nodes.into_iter().map(blocks::Node::into_json).collect())
}

#[cfg(test)]
mod tests;
