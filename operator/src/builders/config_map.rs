//! ConfigMap with the server's non-secret settings, loaded with `envFrom` (the env contract with the server).
//!
//! Secrets never land here: the OAuth client, the webhook verification token and the Redis URL come from
//! `secretKeyRef`s in the Deployment, and keys are mounted as files.

use super::{
    API_KEYS_DIR, Facts, HTTP_PORT, INDEX_DIR, KEYS_DIR, base_name, config_map_name, meta,
    public_base_url,
};
use crate::crd::NotionMcpRemote;
use k8s_openapi::api::core::v1::ConfigMap;
use kube::ResourceExt;
use notion_mcp_contract::env;
use std::collections::BTreeMap;

/// Seconds the server drains in-flight requests after SIGTERM; the pod's grace period is a little longer.
pub const SHUTDOWN_GRACE_SECS: i64 = 25;

/// Environment of the server (all but secrets), sorted by name.
pub fn server_env(cr: &NotionMcpRemote, facts: &Facts) -> BTreeMap<String, String> {
    let spec = &cr.spec;
    let name = cr.name_any();
    let namespace = cr.namespace().unwrap_or_else(|| "default".into());
    let service = base_name(cr);
    let mut env = BTreeMap::new();
    let mut set = |key: &str, value: String| {
        env.insert(key.to_string(), value);
    };
    set(env::LISTEN, format!("0.0.0.0:{HTTP_PORT}"));
    if let Some(url) = public_base_url(cr, facts) {
        set(env::PUBLIC_URL, url);
    }
    set(
        env::ALLOWED_HOSTS,
        [
            service.clone(),
            format!("{service}.{namespace}"),
            format!("{service}.{namespace}.svc"),
            format!("{service}.{namespace}.svc.cluster.local"),
        ]
        .join(","),
    );
    let auth_mode = if spec.notion.oauth_secret_ref.is_some() {
        "oauth"
    } else {
        "notion-token"
    };
    set(env::AUTH_MODE, auth_mode.into());
    set(env::NOTION_BASE_URL, spec.notion.base_url.clone());
    set(env::NOTION_VERSION, spec.notion.api_version.as_str().into());
    set(
        env::PACING_RPS,
        spec.notion.pacing.requests_per_second.to_string(),
    );
    set(env::PACING_BURST, spec.notion.pacing.burst.to_string());
    if let Some(rps) = spec.notion.pacing.workspace_requests_per_second {
        set(env::WORKSPACE_PACING_RPS, rps.to_string());
    }
    set(env::REPLICAS, spec.replicas.max(1).to_string());
    set(env::LOG_FORMAT, "json".into());
    set(env::LOG, spec.log_level.clone());
    set(env::SHUTDOWN_GRACE_SECS, SHUTDOWN_GRACE_SECS.to_string());
    // Grant store: one Secret per grant in this namespace, labelled for this instance.
    set(env::STORE, "kubernetes".into());
    set(env::STORE_NAMESPACE, namespace);
    set(env::INSTANCE, name);
    // The server sets this resource as a (non-controller) owner of the Secrets it creates.
    if let Some(uid) = cr.uid() {
        set(env::INSTANCE_UID, uid);
    }
    set(env::KEYS_DIR, KEYS_DIR.into());
    set(env::ACTIVE_KEY_ID, spec.encryption.active_key_id.clone());
    if !spec.auth.allowed_redirect_hosts.is_empty() {
        set(
            env::ALLOWED_REDIRECT_HOSTS,
            spec.auth.allowed_redirect_hosts.join(","),
        );
    }
    if let Some(api_keys) = &spec.auth.api_key_secret_ref {
        set(
            env::API_KEYS_FILE,
            format!("{API_KEYS_DIR}/{}", api_keys.key),
        );
    }
    let index = &spec.content_index;
    if index.enabled {
        set(env::INDEX_DIR, INDEX_DIR.into());
        set(env::INDEX_CRAWL_SHARE, index.crawl_share.to_string());
    } else {
        set(env::NO_CONTENT_INDEX, "true".into());
    }
    if let Some(cache) = &spec.cache {
        if let Some(bytes) = cache.max_bytes {
            set(env::CACHE_MAX_BYTES, bytes.to_string());
        }
        if let Some(secs) = cache.max_age_seconds {
            set(env::CACHE_MAX_AGE_SECS, secs.to_string());
        }
    }
    if let Some(endpoint) = spec
        .observability
        .as_ref()
        .and_then(|o| o.otlp_endpoint.clone())
    {
        set(env::OTLP_ENDPOINT, endpoint);
    }
    if let Some(rate) = &spec.auth.rate_limit {
        set(
            env::RATE_LIMIT_PER_MINUTE,
            rate.requests_per_minute.to_string(),
        );
        set(env::RATE_LIMIT_BURST, rate.burst.to_string());
    }
    if spec.read_only {
        set(env::READ_ONLY, "true".into());
    }
    if !spec.tools.is_empty() {
        set(env::TOOLS, spec.tools.join(","));
    }
    if spec.no_confirm_destructive {
        set(env::NO_CONFIRM_DESTRUCTIVE, "true".into());
    }
    env
}

/// The server's ConfigMap.
pub fn config_map(cr: &NotionMcpRemote, facts: &Facts) -> ConfigMap {
    ConfigMap {
        metadata: meta(cr, config_map_name(cr)),
        data: Some(server_env(cr, facts)),
        ..ConfigMap::default()
    }
}
