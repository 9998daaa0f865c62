//! notion-mcp-remote: a remote MCP server that gives LLM clients safe, fast access to many Notion
//! workspaces from one deployment.
//!
//! Data flow: `http` (router layers: host checks, request guard, health, metrics) → `auth` (who is
//! calling, which Notion token) → `mcp` (the MCP server: tools, resources, prompts) → `notion` (paced,
//! retrying client and pure renderers) → Notion. `shared` is what replicas share on Redis (one Notion
//! budget per workspace, invalidations, webhook dedupe). `app` wires them together; `demo` runs it all
//! against an embedded fake Notion.

pub mod admin;
pub mod app;
pub mod auth;
pub mod cache;
pub mod check;
pub mod config;
pub mod content_index;
#[cfg(feature = "demo")]
pub mod demo;
pub mod mcp;
pub mod metrics;
pub mod notion;
pub mod oauth;
pub mod shared;
pub mod store;
pub mod telemetry;
pub mod web;
pub mod webhooks;
