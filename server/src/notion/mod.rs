//! Everything that talks to the Notion API: the HTTP client with pacing, retries and a circuit
//! breaker, the typed endpoint calls, pagination, block-tree fetching, appends and uploads. Notion's
//! objects, ids and readable values are the `notion-model` crate's; Markdown is `notion-markdown`'s.

pub mod answer;
pub mod append;
pub mod async_tasks;
pub mod breaker;
pub mod client;
pub mod content_in;
pub mod duplicate;
pub mod endpoints;
pub mod error;
pub mod meeting_notes;
pub mod pacer;
pub mod pagination;
pub mod read_through;
pub mod relations;
pub mod request;
pub mod retry;
pub mod tree;
pub mod uploads;
pub mod views;
pub mod writes;

pub use answer::Answer;
pub use breaker::BreakerConfig;
pub use client::{
    ClientConfig, NotionAuth, NotionClient, NotionRequest, NotionVersion, TokenRenewer,
    install_crypto_provider,
};
pub use error::NotionError;
pub use notion_model::ids::{IdError, NotionRef, parse_id, parse_ref};
pub use pacer::{Pacer, PacingConfig, WorkspaceBudget};
pub use pagination::{Collected, collect};
pub use request::FilePart;
pub use retry::RetryPolicy;
pub use tree::{BlockTree, TreeLimits, fetch_block_tree};
