//! notion-mcp-operator: reconciles `NotionMcpRemote` resources into running, exposed MCP servers for Notion.

pub mod apply;
pub mod builders;
pub mod crd;
pub mod metrics;
pub mod reconcile;
pub mod render;
pub mod secrets;
pub mod status;
pub mod yaml;
