//! What the server and the operator agree on, in one place: the environment variables the server
//! reads (the operator renders them into every Deployment), the labels on the Secrets the server
//! writes (the operator counts, adopts and prunes by them), the custom resource's group and kind
//! (grant Secrets name it as their owner), the container port and the HTTP paths of the probes and
//! metrics. Only constants: both sides depend on this crate and nothing else of each other.
//!
//! The server's CLI declares each flag's environment twin with these names, and a test in the
//! server parses the environment of every Deployment the operator renders for its example resources.

/// The port the server listens on in a pod (and by default elsewhere).
pub const HTTP_PORT: u16 = 8080;

/// HTTP paths the server serves and the operator points probes and scrapes at.
pub mod paths {
    /// The MCP endpoint.
    pub const MCP: &str = "/mcp";
    /// Liveness: the process answers.
    pub const HEALTHZ: &str = "/healthz";
    /// Readiness: the process can serve (its store is open, it is not draining).
    pub const READYZ: &str = "/readyz";
    /// Prometheus metrics.
    pub const METRICS: &str = "/metrics";
    /// Notion's webhook deliveries (public: Notion must reach it through the ingress).
    pub const WEBHOOKS: &str = "/webhooks/notion";
}

/// The `NotionMcpRemote` custom resource.
pub mod resource {
    pub const GROUP: &str = "notionmcp.dev";
    pub const VERSION: &str = "v1alpha1";
    /// `GROUP/VERSION`, as in an owner reference.
    pub const API_VERSION: &str = "notionmcp.dev/v1alpha1";
    pub const KIND: &str = "NotionMcpRemote";
}

/// Labels on the Secrets the server writes for an instance.
pub mod labels {
    /// Names the instance (the resource's name, `NOTION_MCP_INSTANCE`).
    pub const INSTANCE: &str = "notionmcp.dev/instance";
    /// What a Secret holds: [`GRANT`] for grants, other values for the server's other records.
    pub const KIND: &str = "notionmcp.dev/kind";
    /// The [`KIND`] of a grant Secret, the kind the operator counts and keeps on deletion.
    pub const GRANT: &str = "grant";
}

/// Environment variables the server reads, each the twin of a `serve` flag.
pub mod env {
    // Listening and the public face.
    pub const LISTEN: &str = "NOTION_MCP_LISTEN";
    pub const PUBLIC_URL: &str = "NOTION_MCP_PUBLIC_URL";
    pub const ALLOWED_HOSTS: &str = "NOTION_MCP_ALLOWED_HOSTS";
    pub const ALLOWED_ORIGINS: &str = "NOTION_MCP_ALLOWED_ORIGINS";
    pub const TRUST_FORWARDED_HEADERS: &str = "NOTION_MCP_TRUST_FORWARDED_HEADERS";
    pub const AUTH_MODE: &str = "NOTION_MCP_AUTH_MODE";

    // Notion.
    pub const NOTION_BASE_URL: &str = "NOTION_BASE_URL";
    pub const NOTION_VERSION: &str = "NOTION_VERSION";
    pub const PACING_RPS: &str = "NOTION_MCP_PACING_RPS";
    pub const PACING_BURST: &str = "NOTION_MCP_PACING_BURST";
    pub const WORKSPACE_PACING_RPS: &str = "NOTION_MCP_WORKSPACE_PACING_RPS";
    pub const REPLICAS: &str = "NOTION_MCP_REPLICAS";
    pub const RETRY_MAX: &str = "NOTION_MCP_RETRY_MAX";
    pub const RETRY_MAX_WAIT_SECS: &str = "NOTION_MCP_RETRY_MAX_WAIT_SECS";
    pub const NOTION_TIMEOUT_SECS: &str = "NOTION_MCP_NOTION_TIMEOUT_SECS";
    pub const BREAKER_FAILURES: &str = "NOTION_MCP_BREAKER_FAILURES";
    pub const BREAKER_OPEN_SECS: &str = "NOTION_MCP_BREAKER_OPEN_SECS";

    // The read cache, Notion's webhooks and the state replicas share.
    pub const CACHE_MAX_BYTES: &str = "NOTION_MCP_CACHE_MAX_BYTES";
    pub const CACHE_MAX_AGE_SECS: &str = "NOTION_MCP_CACHE_MAX_AGE_SECS";
    /// Comma-separated verification tokens of the Notion webhook subscription(s).
    pub const WEBHOOK_VERIFICATION_TOKEN: &str = "NOTION_WEBHOOK_VERIFICATION_TOKEN";
    pub const REDIS_URL: &str = "NOTION_MCP_REDIS_URL";

    // The workspace content index behind `search`.
    pub const INDEX_DIR: &str = "NOTION_MCP_INDEX_DIR";
    pub const NO_CONTENT_INDEX: &str = "NOTION_MCP_NO_CONTENT_INDEX";
    pub const INDEX_CRAWL_SHARE: &str = "NOTION_MCP_INDEX_CRAWL_SHARE";

    // Limits, sessions, shutdown, logs.
    pub const TOOL_TIMEOUT_SECS: &str = "NOTION_MCP_TOOL_TIMEOUT_SECS";
    pub const MAX_BODY_BYTES: &str = "NOTION_MCP_MAX_BODY_BYTES";
    pub const MAX_OUTPUT_CHARS: &str = "NOTION_MCP_MAX_OUTPUT_CHARS";
    pub const MAX_ACTIVE_TOKENS: &str = "NOTION_MCP_MAX_ACTIVE_TOKENS";
    pub const TOKEN_IDLE_SECS: &str = "NOTION_MCP_TOKEN_IDLE_SECS";
    pub const SESSIONS: &str = "NOTION_MCP_SESSIONS";
    /// Seconds a call runs before it becomes a task (for clients that take tasks).
    pub const TASK_AFTER_SECS: &str = "NOTION_MCP_TASK_AFTER_SECS";
    pub const TASK_TIMEOUT_SECS: &str = "NOTION_MCP_TASK_TIMEOUT_SECS";
    pub const NO_TASKS: &str = "NOTION_MCP_NO_TASKS";
    /// `demo` only: add the MCP conformance suite's diagnostic tools.
    pub const CONFORMANCE_TOOLS: &str = "NOTION_MCP_CONFORMANCE_TOOLS";
    /// Expose only the tools that do not write to Notion.
    pub const READ_ONLY: &str = "NOTION_MCP_READ_ONLY";
    /// Comma-separated tool names to allow (`name`) or deny (`-name`).
    pub const TOOLS: &str = "NOTION_MCP_TOOLS";
    /// Never ask the user to confirm destructive tool calls.
    pub const NO_CONFIRM_DESTRUCTIVE: &str = "NOTION_MCP_NO_CONFIRM_DESTRUCTIVE";
    pub const SHUTDOWN_GRACE_SECS: &str = "NOTION_MCP_SHUTDOWN_GRACE_SECS";
    pub const LOG_FORMAT: &str = "NOTION_MCP_LOG_FORMAT";
    pub const LOG: &str = "NOTION_MCP_LOG";

    // Traces (OpenTelemetry's standard names, shared with the operator; off unless the endpoint is set).
    /// OTLP/HTTP endpoint of a collector, e.g. `http://collector:4318`; spans go to `<endpoint>/v1/traces`.
    pub const OTLP_ENDPOINT: &str = "OTEL_EXPORTER_OTLP_ENDPOINT";
    /// `service.name` of the exported spans.
    pub const OTEL_SERVICE_NAME: &str = "OTEL_SERVICE_NAME";
    /// Headers sent with every export (`key=value,...`, e.g. a collector's API key); read by the
    /// exporter itself, never printed.
    pub const OTLP_HEADERS: &str = "OTEL_EXPORTER_OTLP_HEADERS";

    // The OAuth authorization server and API keys.
    pub const NOTION_OAUTH_CLIENT_ID: &str = "NOTION_OAUTH_CLIENT_ID";
    pub const NOTION_OAUTH_CLIENT_SECRET: &str = "NOTION_OAUTH_CLIENT_SECRET";
    pub const ALLOWED_REDIRECT_HOSTS: &str = "NOTION_MCP_ALLOWED_REDIRECT_HOSTS";
    pub const ACCESS_TOKEN_TTL_SECS: &str = "NOTION_MCP_ACCESS_TOKEN_TTL_SECS";
    pub const GRANT_IDLE_DAYS: &str = "NOTION_MCP_GRANT_IDLE_DAYS";
    pub const REFRESH_REUSE_GRACE_SECS: &str = "NOTION_MCP_REFRESH_REUSE_GRACE_SECS";
    pub const CLIENT_IDLE_DAYS: &str = "NOTION_MCP_CLIENT_IDLE_DAYS";
    pub const REGISTRATIONS_PER_MINUTE: &str = "NOTION_MCP_REGISTRATIONS_PER_MINUTE";
    pub const API_KEYS_FILE: &str = "NOTION_MCP_API_KEYS_FILE";
    pub const RATE_LIMIT_PER_MINUTE: &str = "NOTION_MCP_RATE_LIMIT_PER_MINUTE";
    pub const RATE_LIMIT_BURST: &str = "NOTION_MCP_RATE_LIMIT_BURST";

    // The grant store and its sealing keys.
    pub const STORE: &str = "NOTION_MCP_STORE";
    pub const STORE_DIR: &str = "NOTION_MCP_STORE_DIR";
    pub const STORE_NAMESPACE: &str = "NOTION_MCP_STORE_NAMESPACE";
    pub const INSTANCE: &str = "NOTION_MCP_INSTANCE";
    pub const INSTANCE_UID: &str = "NOTION_MCP_INSTANCE_UID";
    pub const KEYS_DIR: &str = "NOTION_MCP_KEYS_DIR";
    pub const KEYS: &str = "NOTION_MCP_KEYS";
    pub const ACTIVE_KEY_ID: &str = "NOTION_MCP_ACTIVE_KEY_ID";

    /// The prefix of the server's own variables: an unknown name with it is a mistake.
    pub const PREFIX: &str = "NOTION_MCP_";
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn api_version_is_group_and_version() {
        assert_eq!(
            resource::API_VERSION,
            format!("{}/{}", resource::GROUP, resource::VERSION)
        );
        assert!(labels::INSTANCE.starts_with(resource::GROUP));
        assert!(labels::KIND.starts_with(resource::GROUP));
    }
}
