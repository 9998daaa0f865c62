//! The MCP server: the handler (tools, resources, prompts, completions, logging), the tool registry
//! and the Streamable HTTP endpoint that serves it statelessly (optionally with sessions).

mod args;
pub mod audit;
pub mod cache_hints;
mod client_log;
mod complete;
pub mod confirm;
#[cfg(feature = "demo")]
mod conformance_tools;
mod context;
mod error;
pub mod notion_data;
mod output;
mod prompts;
mod registry;
mod request;
mod resources;
mod server;
mod sessions;
pub mod tasks;
mod tool_policy;
mod tools;
pub mod transport;

/// Counts as tool text shows them; the benchmarks' reports print theirs the same way.
pub use output::thousands;

pub use context::Limits;
pub use error::ToolError;
pub use registry::Registry;
pub use server::{NotionMcp, Shared};
pub use sessions::SessionFacts;
pub use tool_policy::{ToolPolicy, ToolPolicyError};

/// The registry of every tool this server offers.
pub fn registry() -> Registry {
    Registry::new(tools::all())
}

/// `registry` plus the MCP conformance suite's diagnostic tools (`demo --conformance-tools`): they let the suite
/// exercise tasks, logging, capability checks, MRTR and stream resumption on this server's machinery.
#[cfg(feature = "demo")]
pub fn with_conformance_tools(registry: Registry) -> Registry {
    registry.extended(conformance_tools::all())
}

/// The tools exposed under `--read-only` / `--tools` (see [`ToolPolicy`]), and the names of every
/// tool, exposed or not (API keys may name any).
pub fn registry_with(
    read_only: bool,
    tools: &[String],
) -> Result<(Registry, Vec<String>), ToolPolicyError> {
    let defs = tools::all();
    let names: Vec<String> = defs.iter().map(|d| d.tool.name.to_string()).collect();
    let known: Vec<&str> = names.iter().map(String::as_str).collect();
    let policy = ToolPolicy::parse(read_only, tools, &known)?;
    Ok((Registry::new(policy.apply(defs)), names))
}
