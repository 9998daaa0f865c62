//! `Settings`: the serve flags checked together once at start-up, with the public URL, hosts and origins
//! they imply.

use super::*;

/// Validated settings derived from `ServeArgs`.
#[derive(Debug, Clone)]
pub struct Settings {
    pub args: ServeArgs,
    /// `scheme://host[:port]` without a trailing slash.
    pub public_base: String,
    /// Lower-case `host` and `host:port` values accepted in Host / X-Forwarded-Host.
    pub allowed_hosts: Vec<String>,
    /// Accepted Origin values (`scheme://host[:port]`, lower case).
    pub allowed_origins: Vec<String>,
}

/// A setting that cannot work, named with the flag to fix.
#[derive(Debug, thiserror::Error)]
#[error("invalid setting {flag}: {message}")]
pub struct ConfigError {
    pub flag: &'static str,
    pub message: String,
}

impl Settings {
    pub fn from_args(args: ServeArgs) -> Result<Self, ConfigError> {
        let bad = |flag, message: String| ConfigError { flag, message };
        let public = match &args.public_url {
            Some(u) => u.clone(),
            None => Url::parse(&format!("http://localhost:{}", args.listen.port()))
                .map_err(|e| bad("--public-url", e.to_string()))?,
        };
        if !matches!(public.scheme(), "http" | "https") {
            return Err(bad(
                "--public-url",
                format!("scheme must be http or https, got '{}'", public.scheme()),
            ));
        }
        let host = public
            .host_str()
            .ok_or_else(|| bad("--public-url", "has no host".into()))?
            .to_ascii_lowercase();
        if public.path() != "/" && !public.path().is_empty() {
            return Err(bad(
                "--public-url",
                format!(
                    "must be a base URL without a path (the MCP endpoint is always /mcp), got path '{}'",
                    public.path()
                ),
            ));
        }
        let mut origin = format!("{}://{}", public.scheme(), host);
        let mut allowed_hosts = vec![host.clone()];
        if let Some(port) = public.port() {
            origin.push_str(&format!(":{port}"));
            allowed_hosts.push(format!("{host}:{port}"));
        }
        if host == "localhost" || host == "127.0.0.1" || host == "[::1]" {
            for h in ["localhost", "127.0.0.1", "[::1]"] {
                allowed_hosts.push(h.to_string());
                allowed_hosts.push(format!("{h}:{}", args.listen.port()));
            }
        }
        for h in &args.allowed_hosts {
            let h = h.trim().to_ascii_lowercase();
            if h.is_empty() {
                continue;
            }
            if h.contains('/') {
                return Err(bad(
                    "--allowed-hosts",
                    format!("'{h}' must be a host or host:port, not a URL"),
                ));
            }
            allowed_hosts.push(h);
        }
        let mut allowed_origins = vec![origin.clone()];
        if host == "localhost" || host == "127.0.0.1" || host == "[::1]" {
            // A loopback server is one origin under any of its loopback names.
            let port = public.port().unwrap_or(args.listen.port());
            for h in ["localhost", "127.0.0.1", "[::1]"] {
                allowed_origins.push(format!("{}://{h}:{port}", public.scheme()));
            }
        }
        for o in &args.allowed_origins {
            let o = o.trim().trim_end_matches('/').to_ascii_lowercase();
            if o.is_empty() {
                continue;
            }
            if !(o.starts_with("http://") || o.starts_with("https://")) {
                return Err(bad(
                    "--allowed-origins",
                    format!("'{o}' must include the scheme, e.g. https://{o}"),
                ));
            }
            allowed_origins.push(o);
        }
        if !(args.pacing_rps > 0.0 && args.pacing_rps.is_finite()) {
            return Err(bad(
                "--pacing-rps",
                format!("must be a positive number, got {}", args.pacing_rps),
            ));
        }
        if args.pacing_burst == 0 {
            return Err(bad("--pacing-burst", "must be at least 1".into()));
        }
        if let Some(rps) = args.workspace_pacing_rps
            && !(rps >= 0.0 && rps.is_finite())
        {
            return Err(bad(
                "--workspace-pacing-rps",
                format!("must be a number ≥ 0 (0: per connection only), got {rps}"),
            ));
        }
        if args.replicas == 0 {
            return Err(bad("--replicas", "must be at least 1".into()));
        }
        let share = args.index_crawl_share;
        if !(share > 0.0 && share <= 1.0) {
            return Err(bad(
                "--index-crawl-share",
                format!("must be a number above 0 and at most 1 (e.g. 0.3), got {share}"),
            ));
        }
        if let Some(dir) = &args.index_dir
            && dir.as_os_str().is_empty()
        {
            return Err(bad(
                "--index-dir",
                "is empty: name a directory, or leave it out".into(),
            ));
        }
        for t in &args.webhook_verification_token {
            if t.0.trim().is_empty() {
                return Err(bad(
                    "--webhook-verification-token",
                    "contains an empty token (check for a stray comma)".into(),
                ));
            }
        }
        if let Some(u) = &args.redis_url {
            let parsed = Url::parse(u.0.trim()).map_err(|e| {
                bad(
                    "--redis-url",
                    format!("is not a URL ({e}); expected redis://host:6379 or rediss://host:6380"),
                )
            })?;
            if !matches!(parsed.scheme(), "redis" | "rediss") {
                return Err(bad(
                    "--redis-url",
                    format!(
                        "scheme must be redis or rediss (TLS), got '{}'",
                        parsed.scheme()
                    ),
                ));
            }
            if parsed.host_str().is_none_or(str::is_empty) {
                return Err(bad("--redis-url", "has no host".into()));
            }
        }
        args.traces.check().map_err(|(flag, why)| bad(flag, why))?;
        if args.max_body_bytes < 1024 {
            return Err(bad("--max-body-bytes", "must be at least 1024".into()));
        }
        if args.max_active_tokens == 0 {
            return Err(bad("--max-active-tokens", "must be at least 1".into()));
        }
        if args.auth_mode == AuthMode::Oauth {
            let o = &args.oauth;
            let missing = |v: Option<&str>| v.is_none_or(|s| s.trim().is_empty());
            if missing(o.notion_oauth_client_id.as_deref()) {
                return Err(bad(
                    "--notion-oauth-client-id",
                    "--auth-mode oauth (the default) needs the client id of your Notion public integration \
                     (NOTION_OAUTH_CLIENT_ID); or use --auth-mode notion-token to let callers send their own token"
                        .into(),
                ));
            }
            if missing(o.notion_oauth_client_secret.as_ref().map(|s| s.0.as_str())) {
                return Err(bad(
                    "--notion-oauth-client-secret",
                    "--auth-mode oauth needs the client secret of your Notion public integration (NOTION_OAUTH_CLIENT_SECRET)"
                        .into(),
                ));
            }
            if o.access_token_ttl_secs < 60 || o.access_token_ttl_secs > 7 * 86_400 {
                return Err(bad(
                    "--access-token-ttl-secs",
                    format!(
                        "must be between 60 and 604800, got {}",
                        o.access_token_ttl_secs
                    ),
                ));
            }
            if o.grant_idle_days == 0 || o.client_idle_days == 0 {
                return Err(bad(
                    "--grant-idle-days",
                    "grant and client idle lifetimes must be at least one day".into(),
                ));
            }
        }
        for h in &args.oauth.allowed_redirect_hosts {
            if h.contains('/') || h.contains(':') {
                return Err(bad(
                    "--allowed-redirect-hosts",
                    format!("'{h}' must be a bare host name (no scheme, port or path)"),
                ));
            }
        }
        allowed_hosts.sort();
        allowed_hosts.dedup();
        Ok(Settings {
            public_base: origin,
            allowed_hosts,
            allowed_origins,
            args,
        })
    }

    /// The MCP endpoint URL clients connect to.
    pub fn mcp_url(&self) -> String {
        format!("{}{}", self.public_base, notion_mcp_contract::paths::MCP)
    }

    /// The URL of the protected resource metadata for `/mcp` (sent in 401 challenges).
    pub fn resource_metadata_url(&self) -> String {
        format!(
            "{}/.well-known/oauth-protected-resource/mcp",
            self.public_base
        )
    }

    pub fn tool_timeout(&self) -> Duration {
        Duration::from_secs(self.args.tool_timeout_secs)
    }

    /// Where the content index lives: `None` when it is off, `Some(None)` in memory, else its
    /// directory (`--index-dir`, or `<store-dir>/content-index` when the file store is in use).
    pub fn content_index_dir(&self) -> Option<Option<std::path::PathBuf>> {
        if self.args.no_content_index {
            return None;
        }
        if let Some(dir) = &self.args.index_dir {
            return Some(Some(dir.clone()));
        }
        // The file store is in use: named, or the default of OAuth mode outside a cluster.
        let file_store = match self.args.store.kind {
            Some(kind) => kind == crate::config::StoreKind::File,
            None => {
                self.args.auth_mode == crate::config::AuthMode::Oauth
                    && std::env::var_os("KUBERNETES_SERVICE_HOST").is_none()
            }
        };
        Some(file_store.then(|| self.args.store.store_dir.join("content-index")))
    }

    /// How long a cached answer may be served: 600 s by default when webhooks keep the cache
    /// exact, else nothing kept unless the operator opted into a max age.
    pub fn cache_max_age(&self) -> Duration {
        let default = if self.args.webhook_verification_token.is_empty() {
            0
        } else {
            600
        };
        Duration::from_secs(self.args.cache_max_age_secs.unwrap_or(default))
    }
}
