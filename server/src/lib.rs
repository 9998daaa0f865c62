//! notion-mcp-remote: a remote MCP server that gives LLM clients safe, fast access to many Notion
//! workspaces from one deployment.
//!
//! Data flow: `http` (router, host checks, limits, health, metrics) → `auth` (who is calling, which
//! Notion token) → `mcp` (the MCP server: tools, resources, prompts) → `notion` (paced, retrying client
//! and renderers) → Notion.

pub mod metrics;
pub mod notion;
