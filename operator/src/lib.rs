//! notion-mcp-operator: reconciles `NotionMcpRemote` resources into running, exposed MCP servers for Notion.

pub mod apply;
pub mod builders;
pub mod controller;
pub mod crd;
pub mod http;
pub mod leader;
pub mod metrics;
pub mod reconcile;
pub mod render;
pub mod secrets;
pub mod status;
pub mod telemetry;
pub mod yaml;
