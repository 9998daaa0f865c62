//! notion-mcp-operator: reconciles `NotionMcpRemote` resources into running, exposed MCP servers for Notion.

pub mod builders;
pub mod crd;
pub mod render;
pub mod yaml;
