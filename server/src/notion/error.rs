//! The error type of every Notion call: Notion's own error objects (and the OAuth endpoints'
//! `{error, error_description}` shape), transport failures and bad input, with accessors the tools use
//! to tell a caller what to do next (`code`, `retry_after_seconds`, committed ids after a 503).
//!
//! Messages never contain the bearer token or client secret: the client scrubs them before returning.

use serde_json::Value;
use std::time::{Duration, SystemTime};

/// Everything that can go wrong talking to Notion.
#[derive(Debug, Clone, thiserror::Error)]
pub enum NotionError {
    /// Notion answered with an error status.
    #[error("{}", api_display(*.status, .code, .message, .request_id.as_deref(), *.retry_after, .additional_data.as_deref()))]
    Api {
        status: u16,
        code: String,
        message: String,
        request_id: Option<String>,
        retry_after: Option<Duration>,
        /// Notion's `additional_data` (boxed to keep the error small).
        additional_data: Option<Box<Value>>,
    },
    /// One attempt took longer than the attempt timeout (and retries, if allowed, did not help).
    #[error(
        "Notion did not answer {endpoint} within {}s (timeout); it may be slow right now, try again later",
        .after.as_secs()
    )]
    Timeout {
        endpoint: &'static str,
        after: Duration,
    },
    /// The connection failed. `connect` is true when the request was never sent.
    #[error("could not reach Notion for {endpoint} (connection_error): {message}")]
    Transport {
        endpoint: &'static str,
        message: String,
        connect: bool,
    },
    /// Notion answered 2xx but the body was not what the endpoint returns.
    #[error("Notion sent an unexpected response for {endpoint} (invalid_response): {message}")]
    Decode {
        endpoint: &'static str,
        message: String,
    },
    /// The caller's input is wrong; nothing was sent.
    #[error("invalid {field} (invalid_argument): {message}")]
    InvalidInput { field: String, message: String },
    /// The client could not be built (bad base URL, TLS setup, pacing settings).
    #[error("Notion client configuration error: {message}")]
    Config { message: String },
    /// The circuit breaker is open: Notion kept failing, so it is not called for a while.
    #[error(
        "Notion is failing ({failures} consecutive errors); not calling it for {} s.",
        .retry_after.as_secs()
    )]
    UpstreamUnavailable {
        failures: u32,
        retry_after: Duration,
    },
}

impl From<notion_model::IdError> for NotionError {
    fn from(e: notion_model::IdError) -> Self {
        NotionError::InvalidInput {
            field: "id".into(),
            message: e.to_string(),
        }
    }
}

impl From<notion_model::InputError> for NotionError {
    fn from(e: notion_model::InputError) -> Self {
        NotionError::InvalidInput {
            field: e.field,
            message: e.message,
        }
    }
}

impl NotionError {
    /// An answer of `endpoint` that does not have the shape its type expects.
    pub fn unexpected_shape(endpoint: &'static str, error: impl std::fmt::Display) -> Self {
        NotionError::Decode {
            endpoint,
            message: format!("unexpected shape: {error}"),
        }
    }

    /// A stable machine-readable code: Notion's own code (`rate_limited`, `object_not_found`, ...) or
    /// `timeout`, `connection_error`, `invalid_response`, `invalid_argument`, `configuration_error`,
    /// `upstream_unavailable`.
    pub fn code(&self) -> &str {
        match self {
            NotionError::Api { code, .. } => code,
            NotionError::Timeout { .. } => "timeout",
            NotionError::Transport { .. } => "connection_error",
            NotionError::Decode { .. } => "invalid_response",
            NotionError::InvalidInput { .. } => "invalid_argument",
            NotionError::Config { .. } => "configuration_error",
            NotionError::UpstreamUnavailable { .. } => "upstream_unavailable",
        }
    }

    /// The HTTP status Notion answered with, if it answered.
    pub fn status(&self) -> Option<u16> {
        match self {
            NotionError::Api { status, .. } => Some(*status),
            _ => None,
        }
    }

    /// How long Notion asked us to wait (or the breaker stays open), rounded up to whole seconds.
    pub fn retry_after_seconds(&self) -> Option<u64> {
        match self {
            NotionError::Api {
                retry_after: Some(d),
                ..
            }
            | NotionError::UpstreamUnavailable { retry_after: d, .. } => {
                Some(d.as_secs() + u64::from(d.subsec_nanos() > 0))
            }
            _ => None,
        }
    }

    /// The wait Notion asked for, if any.
    pub fn retry_after(&self) -> Option<Duration> {
        match self {
            NotionError::Api { retry_after, .. } => *retry_after,
            _ => None,
        }
    }

    pub fn request_id(&self) -> Option<&str> {
        match self {
            NotionError::Api { request_id, .. } => request_id.as_deref(),
            _ => None,
        }
    }

    pub fn additional_data(&self) -> Option<&Value> {
        match self {
            NotionError::Api {
                additional_data, ..
            } => additional_data.as_deref(),
            _ => None,
        }
    }

    /// The token is invalid, expired or revoked (a refresh or reconnect may help).
    pub fn is_unauthorized(&self) -> bool {
        self.status() == Some(401) || self.code() == "unauthorized"
    }

    /// `additional_data.rate_limit_reason` of a 429 (`public_api_request_rate_limit`, ...).
    pub fn rate_limit_reason(&self) -> Option<&str> {
        self.additional_data()?.get("rate_limit_reason")?.as_str()
    }

    /// Notion blocked this integration's API access: never retry.
    pub fn is_blocked(&self) -> bool {
        self.rate_limit_reason() == Some("public_api_request_blocked")
    }

    /// The id of the object a write created or changed before Notion answered 503.
    pub fn committed_resource_id(&self) -> Option<&str> {
        self.additional_data()?
            .get("committed_resource_id")?
            .as_str()
    }

    /// Ids of the blocks an append created before Notion answered 503.
    pub fn committed_child_ids(&self) -> Vec<&str> {
        self.additional_data()
            .and_then(|d| d.get("committed_child_ids"))
            .and_then(Value::as_array)
            .map(|a| a.iter().filter_map(Value::as_str).collect())
            .unwrap_or_default()
    }

    /// Notion's advice after a committed write ("Do not repeat the write.").
    pub fn retry_guidance(&self) -> Option<&str> {
        self.additional_data()?.get("retry_guidance")?.as_str()
    }

    /// The write was applied even though Notion answered with an error: repeating it would duplicate it.
    pub fn is_committed_write(&self) -> bool {
        self.additional_data().is_some_and(|d| {
            d.get("committed_resource_id").is_some_and(|v| !v.is_null())
                || d.get("committed_child_ids").is_some_and(|v| !v.is_null())
                || d.get("retry_guidance").is_some_and(|v| !v.is_null())
        })
    }

    /// A 429 or 529 that did not say how long to wait gets `wait` (at least a second) as its
    /// suggested wait, so the caller can still be told `retry_after_seconds`; other errors, a
    /// blocked integration and an answer that named its wait are returned unchanged.
    pub fn with_suggested_wait(mut self, wait: Duration) -> Self {
        let blocked = self.is_blocked();
        if let NotionError::Api {
            status: 429 | 529,
            retry_after: retry_after @ None,
            ..
        } = &mut self
            && !blocked
        {
            *retry_after = Some(wait.max(Duration::from_secs(1)));
        }
        self
    }

    /// Whether trying the same call again later may succeed (ignoring idempotency).
    pub fn is_retryable(&self) -> bool {
        match self {
            NotionError::Api { status, .. } => match status {
                429 => !self.is_blocked(),
                529 => true,
                500 | 502 | 503 | 504 => !self.is_committed_write(),
                _ => false,
            },
            NotionError::Timeout { .. } | NotionError::Transport { .. } => true,
            _ => false,
        }
    }

    /// The error to report after a 404 made a tool try the id once more under another reading (a
    /// database id given where a data source's was expected): this 404 when the second try failed
    /// for good too, or the second try's own error when that one may pass later (rate limited,
    /// Notion unavailable, timeout), because only it tells the caller that trying again can help.
    pub fn or_transient(self, second: NotionError) -> NotionError {
        if second.is_retryable() || matches!(second, NotionError::UpstreamUnavailable { .. }) {
            second
        } else {
            self
        }
    }

    /// Shorthand for an [`NotionError::InvalidInput`].
    pub fn invalid(field: impl Into<String>, message: impl Into<String>) -> Self {
        NotionError::InvalidInput {
            field: field.into(),
            message: message.into(),
        }
    }

    /// Replace every occurrence of `secret` in free-text fields (defence in depth: Notion and transport
    /// errors should never echo a token, but if they do it must not reach logs or callers).
    pub(crate) fn redact(mut self, secret: &str) -> Self {
        if secret.len() < 4 {
            return self;
        }
        let scrub = |s: &mut String| {
            if s.contains(secret) {
                *s = s.replace(secret, "[redacted]");
            }
        };
        match &mut self {
            NotionError::Api { message, code, .. } => {
                scrub(message);
                scrub(code);
            }
            NotionError::Transport { message, .. } | NotionError::Decode { message, .. } => {
                scrub(message)
            }
            NotionError::InvalidInput { message, .. } | NotionError::Config { message } => {
                scrub(message)
            }
            NotionError::Timeout { .. } | NotionError::UpstreamUnavailable { .. } => {}
        }
        self
    }

    /// Build the error for a non-2xx response from its status, headers and body.
    pub fn from_response(status: u16, headers: &http::HeaderMap, body: &[u8]) -> Self {
        let header_wait = headers
            .get(http::header::RETRY_AFTER)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| parse_retry_after(v, SystemTime::now()));
        let request_id_header = headers
            .get("x-request-id")
            .or_else(|| headers.get("x-notion-request-id"))
            .and_then(|v| v.to_str().ok())
            .map(str::to_owned);
        let mut err = parse_error_body(status, body);
        if let NotionError::Api {
            retry_after,
            request_id,
            ..
        } = &mut err
        {
            if header_wait.is_some() {
                *retry_after = header_wait;
            }
            if request_id.is_none() {
                *request_id = request_id_header;
            }
        }
        err
    }
}

/// Parse an error body: Notion's `{object:"error", status, code, message, request_id, additional_data}`,
/// the OAuth `{error, error_description}` shape, or anything else (named by its status).
pub fn parse_error_body(status: u16, body: &[u8]) -> NotionError {
    let parsed: Option<Value> = serde_json::from_slice(body).ok();
    let obj = parsed.as_ref().and_then(Value::as_object);
    let str_field = |k: &str| {
        obj.and_then(|o| o.get(k))
            .and_then(Value::as_str)
            .map(str::to_owned)
    };
    let (code, message) = match (str_field("code"), str_field("error")) {
        (Some(code), _) => (code, str_field("message").unwrap_or_default()),
        (None, Some(error)) => (error, str_field("error_description").unwrap_or_default()),
        (None, None) => {
            let text = String::from_utf8_lossy(body);
            let snippet: String = text.trim().chars().take(200).collect();
            let message = if snippet.is_empty() {
                format!("HTTP {status} with an empty body")
            } else {
                format!("HTTP {status} with an unexpected body: {snippet}")
            };
            (default_code(status).to_owned(), message)
        }
    };
    let additional_data = obj
        .and_then(|o| o.get("additional_data"))
        .filter(|v| !v.is_null())
        .cloned()
        .map(Box::new);
    let retry_after = additional_data
        .as_ref()
        .and_then(|d| d.get("retry_after"))
        .and_then(|v| match v {
            Value::Number(n) => n.as_f64().and_then(secs_to_duration),
            Value::String(s) => parse_retry_after(s, SystemTime::now()),
            _ => None,
        });
    NotionError::Api {
        status,
        code,
        message,
        request_id: str_field("request_id"),
        retry_after,
        additional_data,
    }
}

/// Notion's code for a status when the body does not say.
fn default_code(status: u16) -> &'static str {
    match status {
        400 => "invalid_request",
        401 => "unauthorized",
        403 => "restricted_resource",
        404 => "object_not_found",
        409 => "conflict_error",
        429 => "rate_limited",
        500 => "internal_server_error",
        502 => "bad_gateway",
        503 => "service_unavailable",
        504 => "gateway_timeout",
        529 => "service_overload",
        _ => "http_error",
    }
}

fn secs_to_duration(secs: f64) -> Option<Duration> {
    (0.0..1e9)
        .contains(&secs)
        .then(|| Duration::from_secs_f64(secs))
}

/// Parse a `Retry-After` value: delay seconds (integer or decimal) or an HTTP-date (IMF-fixdate,
/// e.g. `Wed, 21 Oct 2015 07:28:00 GMT`), relative to `now`. A date in the past means "now".
pub fn parse_retry_after(value: &str, now: SystemTime) -> Option<Duration> {
    let value = value.trim();
    if value.is_empty() {
        return None;
    }
    if value.bytes().all(|b| b.is_ascii_digit() || b == b'.') {
        return value.parse::<f64>().ok().and_then(secs_to_duration);
    }
    let format = time::macros::format_description!(
        "[weekday repr:short], [day] [month repr:short] [year] [hour]:[minute]:[second] GMT"
    );
    let at = time::PrimitiveDateTime::parse(value, &format)
        .ok()?
        .assume_utc();
    let now = time::OffsetDateTime::from(now);
    let diff = at - now;
    Some(if diff.is_positive() {
        Duration::try_from(diff).ok()?
    } else {
        Duration::ZERO
    })
}

fn api_display(
    status: u16,
    code: &str,
    message: &str,
    request_id: Option<&str>,
    retry_after: Option<Duration>,
    additional_data: Option<&Value>,
) -> String {
    let mut out = if message.is_empty() {
        format!("Notion says {code} (HTTP {status})")
    } else {
        format!("Notion says {code}: {message}")
    };
    let ensure_period = |s: &mut String| {
        if !s.ends_with(['.', '!', '?']) {
            s.push('.');
        }
    };
    ensure_period(&mut out);
    let data_str = |k: &str| {
        additional_data
            .and_then(|d| d.get(k))
            .and_then(Value::as_str)
    };
    let hint = match code {
        "object_not_found" if !message.contains("shared") => Some(
            "Make sure the id is right and the page or database is shared with the integration \
             (page menu → Connections)."
                .to_owned(),
        ),
        "unauthorized" => Some(
            "The Notion token is invalid, expired or revoked; reconnect the workspace.".to_owned(),
        ),
        "restricted_resource" => Some(
            "The integration lacks access to this object or the capability this call needs."
                .to_owned(),
        ),
        "rate_limited" if data_str("rate_limit_reason") == Some("public_api_request_blocked") => {
            Some("Notion has blocked API requests for this integration; do not retry.".to_owned())
        }
        _ if status == 429 || status == 529 => {
            let cause = if status == 429 {
                "Notion is rate limiting this integration"
            } else {
                "Notion is overloaded"
            };
            Some(match retry_after {
                Some(d) => format!(
                    "{cause}. Retry after {} s.",
                    d.as_secs() + u64::from(d.subsec_nanos() > 0)
                ),
                None => format!("{cause}. Retry later."),
            })
        }
        // Named by status, not by Notion's wording: a proxy's 502 page has no Notion message.
        _ if matches!(status, 500 | 502 | 503 | 504)
            && data_str("retry_guidance").is_none()
            && data_str("committed_resource_id").is_none() =>
        {
            Some(format!(
                "Notion is temporarily unavailable (HTTP {status}); try again in a moment."
            ))
        }
        _ => None,
    };
    if let Some(h) = hint {
        out.push(' ');
        out.push_str(&h);
    }
    if let Some(id) = data_str("committed_resource_id") {
        out.push_str(&format!(
            " The write was applied (committed resource {id}); do not repeat it."
        ));
    } else if let Some(g) = data_str("retry_guidance") {
        out.push(' ');
        out.push_str(g);
    }
    if let Some(rid) = request_id {
        out.push_str(&format!(" (request_id {rid})"));
    }
    out
}

#[cfg(test)]
#[path = "error_tests.rs"]
mod tests;
