//! Everything that talks to, or about, the Notion API: the HTTP client with pacing and retries,
//! typed objects, pagination, block-tree fetching, id parsing and the pure Markdown renderers.

pub mod client;
pub mod endpoints;
pub mod error;
pub mod ids;
pub mod markdown;
pub mod pacer;
pub mod pagination;
pub mod retry;
pub mod slim;
pub mod tree;
pub mod types;

// re-exports added once the client lands
pub use error::NotionError;
