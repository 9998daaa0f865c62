//! The MCP server: the handler (tools, resources, prompts, completions, logging), the tool registry
//! and the Streamable HTTP endpoint that serves it statelessly (optionally with sessions).

mod args;
pub mod audit;
mod complete;
mod context;
mod error;
pub mod notion_data;
mod output;
mod prompts;
mod registry;
mod resources;
mod server;
mod tools;
pub mod transport;

pub use context::Limits;
pub use error::ToolError;
pub use registry::Registry;
pub use server::{NotionMcp, Shared};

/// The registry of every tool this server offers.
pub fn registry() -> Registry {
    Registry::new(tools::all())
}
