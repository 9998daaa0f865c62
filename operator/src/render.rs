//! `render`: what the operator would apply for a resource read from a file, for GitOps review and CI schema
//! checks. The generated key Secret is not rendered: it is created once at run time with random keys.

use crate::builders::{self, Facts};
use crate::crd::NotionMcpRemote;

/// Errors of `render`.
#[derive(Debug, thiserror::Error)]
pub enum RenderError {
    #[error("cannot parse the NotionMcpRemote: {0}")]
    Parse(#[from] serde_yaml::Error),
    #[error("expected kind NotionMcpRemote (apiVersion notionmcp.dev/v1alpha1), found {0}")]
    WrongKind(String),
}

/// Parses a `NotionMcpRemote` from YAML; a missing namespace becomes `default`.
pub fn parse(yaml: &str) -> Result<NotionMcpRemote, RenderError> {
    let value: serde_yaml::Value = serde_yaml::from_str(yaml)?;
    let kind = value.get("kind").and_then(|k| k.as_str()).unwrap_or("");
    if kind != "NotionMcpRemote" {
        return Err(RenderError::WrongKind(format!("{kind:?}")));
    }
    let mut cr: NotionMcpRemote = serde_yaml::from_value(value)?;
    if cr.metadata.namespace.is_none() {
        cr.metadata.namespace = Some("default".into());
    }
    Ok(cr)
}

/// Renders the children of `cr` as a multi-document YAML stream.
pub fn render(cr: &NotionMcpRemote, facts: &Facts) -> Result<String, serde_yaml::Error> {
    let objects: Vec<serde_json::Value> = builders::children(cr, facts)
        .objects()
        .into_iter()
        .map(|child| child.object)
        .collect();
    crate::yaml::to_yaml_stream(&objects)
}
