//! What an MCP request says about the HTTP request and the client behind it: the principal the
//! authentication layer attached, the HTTP request's span, and the client capabilities declared in
//! the request's `_meta` (2026-07-28) or at `initialize` of its session.

use crate::auth::Principal;
use crate::web::RequestSpan;
use rmcp::RoleServer;
use rmcp::model::ClientCapabilities;
use rmcp::service::RequestContext;

/// The span of the HTTP request behind this MCP request.
pub fn request_span(context: &RequestContext<RoleServer>) -> Option<tracing::Span> {
    context
        .extensions
        .get::<http::request::Parts>()?
        .extensions
        .get::<RequestSpan>()
        .map(|s| s.0.clone())
}

/// The principal the authentication layer attached to the HTTP request behind this MCP request.
pub fn principal_of(context: &RequestContext<RoleServer>) -> Option<&Principal> {
    context
        .extensions
        .get::<http::request::Parts>()?
        .extensions
        .get::<Principal>()
}

/// The capabilities the client behind this request declared: in the request's `_meta`
/// (2026-07-28), or at `initialize` of its session.
pub fn declared_capabilities(context: &RequestContext<RoleServer>) -> Option<ClientCapabilities> {
    let mut caps = context.client_capabilities();
    let facts = context
        .extensions
        .get::<http::request::Parts>()
        .and_then(|p| p.extensions.get::<super::SessionFacts>());
    if let Some(facts) = facts.filter(|_| context.meta.client_capabilities().is_none()) {
        // A session kept as a record answers statelessly: its `initialize` declared these.
        let declared = facts.capabilities;
        let c = caps.get_or_insert_with(ClientCapabilities::default);
        if declared.sampling && c.sampling.is_none() {
            c.sampling = Some(Default::default());
        }
        if declared.elicitation && c.elicitation.is_none() {
            c.elicitation = Some(Default::default());
        }
        if declared.roots && c.roots.is_none() {
            c.roots = Some(Default::default());
        }
    }
    caps
}
