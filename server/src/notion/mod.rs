//! Everything that talks to, or about, the Notion API: the HTTP client with pacing, retries and a
//! circuit breaker, typed objects, pagination, block-tree fetching, id parsing and the pure Markdown
//! renderers.

pub mod append;
pub mod breaker;
pub mod client;
pub mod content_in;
pub mod endpoints;
pub mod error;
pub mod ids;
pub mod markdown;
pub mod pacer;
pub mod pagination;
pub mod properties_in;
pub mod relations;
pub mod retry;
pub mod slim;
pub mod tree;
pub mod types;
pub mod uploads;
pub mod writes;

pub use breaker::BreakerConfig;
pub use client::{
    ClientConfig, NotionAuth, NotionClient, NotionRequest, NotionVersion, TokenRenewer,
    install_crypto_provider,
};
pub use error::NotionError;
pub use ids::{IdError, NotionRef, parse_id, parse_ref};
pub use pacer::{Pacer, PacingConfig};
pub use pagination::{Collected, collect};
pub use retry::RetryPolicy;
pub use tree::{BlockTree, TreeLimits, fetch_block_tree};
