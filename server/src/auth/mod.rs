//! Who is calling, and with which Notion credentials.
//!
//! A tower layer authenticates every `/mcp` request and puts a [`Principal`] in the request
//! extensions; tools read it from the HTTP request parts rmcp hands them. Nothing about identity lives
//! in an MCP session, a global or a task-local, so stateless serving and several replicas are correct
//! by construction.

pub mod api_keys;
mod layer;
mod principal;
mod registry;

pub use api_keys::{ApiKeyEntry, ApiKeyError, ApiKeys};
pub use layer::{AuthState, authenticate};
pub use principal::{Principal, PrincipalKind, ToolAccess};
pub use registry::{RegistryError, TokenRegistry};
