//! Notion-style API errors: status, `code`, human message and optional `additional_data`,
//! rendered as `{"object":"error",...,"request_id"}` bodies.

use serde_json::{Value, json};

/// An error answered by the fake, shaped like Notion's error object (boxed to keep
/// `Result`s small; fields are reachable through `Deref`).
#[derive(Debug, Clone, PartialEq)]
pub struct ApiError(Box<ErrorDetails>);

/// The parts of an [`ApiError`].
#[derive(Debug, Clone, PartialEq)]
pub struct ErrorDetails {
    pub status: u16,
    pub code: String,
    pub message: String,
    pub additional_data: Option<Value>,
    /// Sent as the `Retry-After` header when set.
    pub retry_after: Option<u64>,
}

impl std::ops::Deref for ApiError {
    type Target = ErrorDetails;

    fn deref(&self) -> &ErrorDetails {
        &self.0
    }
}

impl std::ops::DerefMut for ApiError {
    fn deref_mut(&mut self) -> &mut ErrorDetails {
        &mut self.0
    }
}

impl ApiError {
    pub fn new(status: u16, code: &str, message: impl Into<String>) -> Self {
        Self(Box::new(ErrorDetails {
            status,
            code: code.to_string(),
            message: message.into(),
            additional_data: None,
            retry_after: None,
        }))
    }

    pub fn validation(message: impl Into<String>) -> Self {
        Self::new(400, "validation_error", message)
    }

    /// `body failed validation: <detail>` in Notion's wording.
    pub fn body_validation(detail: impl AsRef<str>) -> Self {
        Self::validation(format!("body failed validation: {}", detail.as_ref()))
    }

    /// ``body failed validation: <path> should be <what>, instead was `<got>`.``
    pub fn should_be(path: &str, what: &str, got: &Value) -> Self {
        Self::body_validation(format!(
            "{path} should be {what}, instead was `{}`.",
            crate::richtext::short(got)
        ))
    }

    pub fn invalid_json() -> Self {
        Self::new(400, "invalid_json", "Error parsing JSON body.")
    }

    pub fn invalid_request_url() -> Self {
        Self::new(400, "invalid_request_url", "Invalid request URL.")
    }

    pub fn invalid_request(message: impl Into<String>) -> Self {
        Self::new(400, "invalid_request", message)
    }

    pub fn missing_version() -> Self {
        Self::new(
            400,
            "missing_version",
            "Notion-Version header failed validation: Notion-Version header should be defined, instead was `undefined`.",
        )
    }

    pub fn unauthorized() -> Self {
        Self::new(401, "unauthorized", "API token is invalid.")
    }

    pub fn restricted() -> Self {
        Self::new(
            403,
            "restricted_resource",
            "API token does not have access to this resource.",
        )
    }

    pub fn insufficient_capability(capability: &str) -> Self {
        Self::new(
            403,
            "restricted_resource",
            format!(
                "Insufficient permissions for this endpoint: the integration lacks the `{capability}` capability."
            ),
        )
    }

    /// 404 `object_not_found` for a `kind` ("page", "block", "database", "data_source", "user", "comment").
    pub fn not_found(kind: &str, id: &str) -> Self {
        Self::new(
            404,
            "object_not_found",
            format!(
                "Could not find {kind} with ID: {id}. Make sure the relevant pages and databases are shared with your integration."
            ),
        )
    }

    pub fn archived() -> Self {
        Self::validation(
            "Can't edit block that is archived. You must unarchive the block before editing.",
        )
    }

    pub fn conflict() -> Self {
        Self::new(
            409,
            "conflict_error",
            "Conflict occurred while saving. Please try again.",
        )
    }

    pub fn rate_limited(reason: &str, retry_after: u64) -> Self {
        let message = if reason == "public_api_request_blocked" {
            "This integration has been blocked from making requests."
        } else {
            "You have been rate limited. Please try again in a few minutes."
        };
        Self::new(429, "rate_limited", message)
            .with_data(json!({ "rate_limit_reason": reason }))
            .with_retry_after(Some(retry_after.max(1)))
    }

    pub fn with_data(mut self, data: Value) -> Self {
        self.additional_data = Some(data);
        self
    }

    pub fn with_retry_after(mut self, retry_after: Option<u64>) -> Self {
        self.retry_after = retry_after;
        self
    }

    /// The JSON body for this error.
    pub fn body(&self, request_id: &str) -> Value {
        let mut body = json!({
            "object": "error",
            "status": self.status,
            "code": self.code,
            "message": self.message,
            "request_id": request_id,
        });
        if let (Some(data), Some(map)) = (&self.additional_data, body.as_object_mut()) {
            map.insert("additional_data".into(), data.clone());
        }
        body
    }
}

/// Default error code for a bare HTTP status (used by `Fault::Status` when no code is given).
pub fn default_code(status: u16) -> &'static str {
    match status {
        400 => "validation_error",
        401 => "unauthorized",
        403 => "restricted_resource",
        404 => "object_not_found",
        409 => "conflict_error",
        429 => "rate_limited",
        502 => "bad_gateway",
        503 => "service_unavailable",
        504 => "gateway_timeout",
        529 => "service_overload",
        _ => "internal_server_error",
    }
}

/// Default message for a code, in Notion's wording where known.
pub fn default_message(code: &str) -> &'static str {
    match code {
        "conflict_error" => "Conflict occurred while saving. Please try again.",
        "internal_server_error" => "Unexpected error occurred.",
        "bad_gateway" => "Bad gateway.",
        "service_unavailable" => "Notion is unavailable. Please try again later.",
        "database_connection_unavailable" => {
            "Notion's database is unavailable or in an unqueryable state. Please try again later."
        }
        "gateway_timeout" => {
            "Notion timed out while attempting to complete this request. Please try again later."
        }
        "service_overload" => "Notion is overloaded. Please try again later.",
        "rate_limited" => "You have been rate limited. Please try again in a few minutes.",
        "unauthorized" => "API token is invalid.",
        "restricted_resource" => "API token does not have access to this resource.",
        "object_not_found" => "Could not find the requested object.",
        _ => "The request failed.",
    }
}

pub type ApiResult<T> = Result<T, ApiError>;
