//! Notion's data model, shared by the server, the Markdown converter and the Notion fake: ids and
//! links ([`ids`]), typed API objects ([`types`]), the block types ([`block_kinds`]) and property
//! types ([`property_kinds`]) and view types ([`view_kinds`]) Notion knows, the conversion of readable values into Notion's request shapes
//! ([`readable`]) and the slimming of API answers for clients ([`slim`]).
//!
//! Pure: no I/O, no async. Errors are [`InputError`]s that name the offending field.

pub mod block_kinds;
pub mod ids;
pub mod property_kinds;
pub mod readable;
pub mod slim;
pub mod types;
pub mod view_kinds;

pub use ids::{IdError, NotionRef, parse_id, parse_ref};

/// A value a caller supplied that Notion would refuse, with the field it came from
/// (`properties.Status`, `icon`, …).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{field}: {message}")]
pub struct InputError {
    pub field: String,
    pub message: String,
}

impl InputError {
    pub fn new(field: impl Into<String>, message: impl Into<String>) -> Self {
        InputError {
            field: field.into(),
            message: message.into(),
        }
    }
}
