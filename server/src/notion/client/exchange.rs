//! One Notion request on the wire: the retry loop (breaker, pacing, [`RetryPolicy`](crate::notion::retry::RetryPolicy) decisions) and
//! each attempt (timeout, credentials, body, metrics), traced as one `notion <endpoint>` span with an
//! OpenTelemetry client span per attempt. Attributes name the endpoint's template, the status, the
//! retry number and the pacing wait; never a token, a path with ids, a query or a body.

use super::{Credentials, NotionClient, NotionVersion, Pacing};
use crate::notion::error::NotionError;
use crate::notion::request::{Body, NotionRequest};
use crate::notion::retry::Decision;
use serde_json::Value;
use std::time::{Duration, Instant};
use tracing::Instrument;
use tracing::field::Empty;

impl NotionClient {
    /// The retry loop around [`Self::attempt`], in one span (`notion <endpoint>`) with one client
    /// span per attempt (see [`Self::traced_attempt`]).
    pub(super) async fn execute(
        &self,
        creds: Credentials<'_>,
        pacing: Pacing<'_>,
        version: NotionVersion,
        req: &NotionRequest,
    ) -> Result<Value, NotionError> {
        let span = tracing::debug_span!(
            "notion",
            otel.name = %format_args!("notion {}", req.endpoint),
            notion.endpoint = req.endpoint,
            http.request.method = %req.method,
            notion.retries = Empty,
            error.type = Empty,
            otel.status_code = Empty,
        );
        let result = self
            .retrying(&creds, pacing, version, req)
            .instrument(span.clone())
            .await;
        if let Err(e) = &result {
            span.record("error.type", e.code());
            span.record("otel.status_code", "error");
        }
        result
    }

    async fn retrying(
        &self,
        creds: &Credentials<'_>,
        pacing: Pacing<'_>,
        version: NotionVersion,
        req: &NotionRequest,
    ) -> Result<Value, NotionError> {
        let policy = &self.inner.cfg.retry;
        let mut waited = Duration::ZERO;
        let mut retries = 0u32;
        loop {
            // While Notion keeps failing, fail fast (also between retries).
            let permit = self.inner.breaker.admit()?;
            let paced = self
                .inner
                .pacer
                .acquire_as(pacing.key, pacing.workspace, pacing.background)
                .await;
            let result = self
                .traced_attempt(creds, version, req, retries, paced)
                .await;
            permit.record(&result);
            let err = match result {
                Ok(v) => {
                    record_retries(retries);
                    return Ok(v);
                }
                Err(e) => e.redact(creds.secret()),
            };
            let unit = rand::random::<f64>();
            match policy.decide(req.idempotent, &err, retries, waited, unit) {
                Decision::Retry {
                    after,
                    reason,
                    kind,
                } => {
                    tracing::debug!(
                        reason,
                        wait_ms = after.as_millis() as u64,
                        retries,
                        "retrying"
                    );
                    self.inner.metrics.observe_retry(reason);
                    self.inner.metrics.observe_wait(kind.as_str(), after);
                    tokio::time::sleep(after).await;
                    waited += after;
                    retries += 1;
                }
                // A rate limit that named no wait still tells the caller how long to
                // back off: the next backoff step, as a retry here would have waited.
                Decision::GiveUp => {
                    record_retries(retries);
                    return Err(err.with_suggested_wait(policy.backoff(retries, 1.0)));
                }
            }
        }
    }

    /// [`Self::attempt`] in an OpenTelemetry client span named after the endpoint's template
    /// (`GET /v1/pages/{id}`): the template, never the path with ids or a query; the answer's
    /// status; the retry number; how long pacing held the request back.
    async fn traced_attempt(
        &self,
        creds: &Credentials<'_>,
        version: NotionVersion,
        req: &NotionRequest,
        retries: u32,
        paced: Duration,
    ) -> Result<Value, NotionError> {
        let span = tracing::debug_span!(
            "notion_request",
            otel.name = req.endpoint,
            otel.kind = "client",
            notion.endpoint = req.endpoint,
            http.request.method = %req.method,
            url.template = req.endpoint.split_once(' ').map_or(req.endpoint, |(_, t)| t),
            server.address = self.inner.cfg.base_url.host_str().unwrap_or_default(),
            http.request.resend_count = retries,
            notion.pacing.wait_ms = u64::try_from(paced.as_millis()).unwrap_or(u64::MAX),
            http.response.status_code = Empty,
            error.type = Empty,
            otel.status_code = Empty,
        );
        let result = self
            .attempt(creds, version, req, retries)
            .instrument(span.clone())
            .await;
        if let Err(e) = &result {
            if let Some(status) = e.status() {
                span.record("http.response.status_code", status);
            }
            span.record("error.type", e.code());
            span.record("otel.status_code", "error");
        }
        result
    }

    /// One HTTP exchange.
    async fn attempt(
        &self,
        creds: &Credentials<'_>,
        version: NotionVersion,
        req: &NotionRequest,
        attempt: u32,
    ) -> Result<Value, NotionError> {
        let cfg = &self.inner.cfg;
        let endpoint = req.endpoint;
        let url = format!(
            "{}{}",
            cfg.base_url.as_str().trim_end_matches('/'),
            req.path
        );
        let timeout = req.attempt_timeout(cfg.attempt_timeout);
        let mut builder = self
            .inner
            .http
            .request(req.method.clone(), url)
            .timeout(timeout)
            .header("Notion-Version", version.as_str())
            .header(http::header::ACCEPT, "application/json");
        builder = match creds {
            Credentials::Bearer(token) => builder.bearer_auth(token),
            Credentials::Basic {
                client_id,
                client_secret,
            } => builder.basic_auth(client_id, Some(client_secret)),
        };
        if !req.query.is_empty() {
            builder = builder.query(&req.query);
        }
        builder = match &req.body {
            Some(Body::Json(body)) => {
                let bytes = serde_json::to_vec(body)
                    .map_err(|e| NotionError::invalid("body", format!("cannot serialise: {e}")))?;
                builder
                    .header(http::header::CONTENT_TYPE, "application/json")
                    .body(bytes)
            }
            // A fresh form per attempt: a stream that went out with a failed attempt is spent.
            Some(Body::Multipart(part)) => builder.multipart(part.form()?),
            None => builder,
        };
        let started = Instant::now();
        let result = async {
            let resp = builder.send().await?;
            let status = resp.status().as_u16();
            let headers = resp.headers().clone();
            let body = resp.bytes().await?;
            Ok::<_, reqwest::Error>((status, headers, body))
        }
        .await;
        let elapsed = started.elapsed();
        let (status, headers, body) = match result {
            Ok(r) => r,
            Err(e) => {
                self.inner.metrics.observe_notion(endpoint, None, elapsed);
                let err = transport_error(endpoint, timeout, e).redact(creds.secret());
                tracing::debug!(
                    endpoint,
                    attempt,
                    elapsed_ms = elapsed.as_millis() as u64,
                    error = %err,
                    "notion request failed"
                );
                return Err(err);
            }
        };
        self.inner
            .metrics
            .observe_notion(endpoint, Some(status), elapsed);
        if (200..300).contains(&status) {
            tracing::Span::current().record("http.response.status_code", status);
        }
        tracing::debug!(
            endpoint,
            status,
            attempt,
            elapsed_ms = elapsed.as_millis() as u64,
            "notion request"
        );
        if (200..300).contains(&status) {
            if body.iter().all(u8::is_ascii_whitespace) {
                return Ok(Value::Null);
            }
            serde_json::from_slice(&body).map_err(|e| NotionError::Decode {
                endpoint,
                message: format!("the body is not JSON ({e})"),
            })
        } else {
            Err(NotionError::from_response(status, &headers, &body))
        }
    }
}

/// How many times the request was sent again, on its span (the current one), when it was.
fn record_retries(retries: u32) {
    if retries > 0 {
        tracing::Span::current().record("notion.retries", retries);
    }
}

fn transport_error(endpoint: &'static str, timeout: Duration, e: reqwest::Error) -> NotionError {
    // Keep the chain of causes but not the URL (not secret, but noise for a caller).
    let (connect, timed_out) = (e.is_connect(), e.is_timeout());
    let e = e.without_url();
    let mut message = e.to_string();
    let mut source = std::error::Error::source(&e);
    while let Some(s) = source {
        message.push_str(": ");
        message.push_str(&s.to_string());
        source = s.source();
    }
    if connect {
        NotionError::Transport {
            endpoint,
            message,
            connect: true,
        }
    } else if timed_out {
        NotionError::Timeout {
            endpoint,
            after: timeout,
        }
    } else {
        NotionError::Transport {
            endpoint,
            message,
            connect: false,
        }
    }
}
