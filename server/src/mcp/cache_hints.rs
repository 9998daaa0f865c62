//! Caching hints on cacheable results (MCP 2026-07-28, SEP-2549): how long a client may reuse a
//! listing (`ttlMs`) and whether it is the same for every caller (`cacheScope`).
//!
//! - The tool list depends on the caller (API-key scopes, `--read-only`, `--tools`): private, and
//!   reusable for a few minutes (it changes only when the server is redeployed).
//! - Prompts, resources, resource templates and the Markdown guide are the same for everyone.
//! - A page read as a resource is Notion content that may change at any moment: private, stale at once.
//! - Discovery is the same for everyone until a redeploy.
//!
//! Clients of older revisions ignore the fields.

use rmcp::model::CacheScope;

/// A listing that only a redeploy changes.
pub const LISTING_TTL_MS: u64 = 5 * 60 * 1000;
/// Text fixed in the binary (the Markdown guide).
pub const STATIC_TTL_MS: u64 = 60 * 60 * 1000;

/// `tools/list`: filtered by the caller's access.
pub const TOOLS: (u64, CacheScope) = (LISTING_TTL_MS, CacheScope::Private);
/// `prompts/list`, `resources/list`, `resources/templates/list`, `server/discover`.
pub const SHARED_LISTING: (u64, CacheScope) = (LISTING_TTL_MS, CacheScope::Public);
/// `resources/read` of the Markdown guide.
pub const GUIDE: (u64, CacheScope) = (STATIC_TTL_MS, CacheScope::Public);
/// `resources/read` of a Notion page.
pub const PAGE: (u64, CacheScope) = (0, CacheScope::Private);
