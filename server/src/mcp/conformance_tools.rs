//! The MCP conformance suite's diagnostic tools, added to `demo --conformance-tools` (never to
//! `serve`) so the suite can drive this server's own machinery: tasks (`slow_compute`, `failing_job`,
//! `confirm_delete`, `protocol_error_job` become tasks through the same hand-over as any long call;
//! `greet` never does; a call that breaks inside the server settles its task as `failed`),
//! required client capabilities (`test_missing_capability` needs sampling, `failing_job` the tasks
//! extension), log messages at the client's level only (`test_logging_tool`) and asking the user
//! through MRTR or the session (`test_streaming_elicitation`, `confirm_delete`, through
//! [`super::confirm`]) and resuming a response stream the server closed (`test_reconnection`). None
//! of them reads or changes Notion; their names and arguments are the suite's.
// Logging is deprecated by SEP-2577 but remains part of the revisions this server speaks.
#![allow(deprecated)]

use super::context::ToolCtx;
use super::error::ToolError;
use super::output::ToolOutput;
use super::registry::{Effect, Question, ToolDef};
use rmcp::model::{ClientCapabilities, JsonObject, LoggingLevel};
use schemars::JsonSchema;
use serde::Deserialize;
use serde_json::{Value, json};
use std::time::Duration;

/// Longest `slow_compute` may be asked to take.
const MAX_COMPUTE_SECS: u64 = 600;
/// How long `failing_job` works before it fails.
const FAILING_JOB_TAKES: Duration = Duration::from_secs(1);
/// How long `test_reconnection` works on after closing its stream, for the client to reconnect.
const RECONNECT_TAKES: Duration = Duration::from_secs(1);
/// The logger name of `test_logging_tool`'s messages.
const LOGGER: &str = "notion-mcp-remote.conformance";

pub fn all() -> Vec<ToolDef> {
    vec![
        ToolDef::new(
            "greet",
            "Greet",
            "Conformance diagnostic: answers `Hello, {name}!` at once; never a task.",
            Effect::Read,
            greet,
        ),
        ToolDef::new(
            "slow_compute",
            "Slow compute",
            "Conformance diagnostic: works for `seconds` (0 to 600) and reports it; a task at once \
             for clients that take tasks, cancelled by tasks/cancel.",
            Effect::Read,
            slow_compute,
        )
        .becoming_task_at_once(),
        ToolDef::new(
            "failing_job",
            "Failing job",
            "Conformance diagnostic: fails after about a second with a tool error; runs only as a \
             task (clients must declare the io.modelcontextprotocol/tasks extension).",
            Effect::Read,
            failing_job,
        )
        .becoming_task_at_once()
        .requiring(ClientCapabilities::builder().enable_tasks().build()),
        ToolDef::new(
            "protocol_error_job",
            "Protocol error job",
            "Conformance diagnostic: breaks inside the server (it panics) so the call ends in a \
             protocol error: a JSON-RPC internal error inline, a `failed` task for clients that take \
             tasks.",
            Effect::Read,
            protocol_error_job,
        )
        .becoming_task_at_once(),
        ToolDef::new(
            "confirm_delete",
            "Confirm delete",
            "Conformance diagnostic: asks the user to confirm deleting `filename` (where the client \
             can be asked), then reports it; nothing exists to delete, nothing is changed.",
            Effect::Write {
                destructive: true,
                idempotent: true,
            },
            confirm_delete,
        )
        .becoming_task_at_once()
        .asking(confirm_delete_question),
        ToolDef::new(
            "test_missing_capability",
            "Missing capability",
            "Conformance diagnostic: needs the client's sampling capability; a client that did not \
             declare it is refused with -32021.",
            Effect::Read,
            missing_capability,
        )
        .requiring(ClientCapabilities::builder().enable_sampling().build()),
        ToolDef::new(
            "test_logging_tool",
            "Logging",
            "Conformance diagnostic: sends log messages (info, debug) only at or above the level the \
             client asked for, and none if it asked for none.",
            Effect::Read,
            logging_tool,
        ),
        ToolDef::new(
            "test_streaming_elicitation",
            "Streaming elicitation",
            "Conformance diagnostic: asks the user a yes/no question before it answers: an \
             input_required result on 2026-07-28, an elicitation request in a session; never a \
             request on a stateless response stream.",
            Effect::Read,
            streaming_elicitation,
        )
        .requiring(ClientCapabilities::builder().enable_elicitation().build())
        .asking(streaming_elicitation_question),
        ToolDef::new(
            "test_reconnection",
            "Reconnection",
            "Conformance diagnostic: closes its SSE response stream mid-call (in a session that can \
             resume it) and answers a second later, so the client resumes with Last-Event-ID.",
            Effect::Read,
            reconnection,
        ),
    ]
}

#[derive(Debug, Deserialize, JsonSchema)]
pub struct NoArgs {}

#[derive(Debug, Deserialize, JsonSchema)]
pub struct GreetArgs {
    /// Who to greet.
    name: String,
}

async fn greet(_ctx: ToolCtx, a: GreetArgs) -> Result<ToolOutput, ToolError> {
    Ok(ToolOutput::default().with_note(format!("Hello, {}!", a.name)))
}

#[derive(Debug, Deserialize, JsonSchema)]
pub struct ComputeArgs {
    /// How long to work, 0 to 600 seconds.
    seconds: u64,
    /// A label echoed in the result.
    label: Option<String>,
}

async fn slow_compute(ctx: ToolCtx, a: ComputeArgs) -> Result<ToolOutput, ToolError> {
    if a.seconds > MAX_COMPUTE_SECS {
        return Err(ToolError::invalid(
            "seconds",
            format!("must be at most {MAX_COMPUTE_SECS}, got {}", a.seconds),
        ));
    }
    work(&ctx, Duration::from_secs(a.seconds)).await?;
    let label = a.label.as_deref().unwrap_or("slow_compute");
    Ok(ToolOutput::default().with_note(format!("Computed {label} in {} s.", a.seconds)))
}

async fn failing_job(ctx: ToolCtx, _a: NoArgs) -> Result<ToolOutput, ToolError> {
    work(&ctx, FAILING_JOB_TAKES).await?;
    Err(ToolError::Failed(
        "failing_job always fails after its work; this error is its result".into(),
    ))
}

#[allow(clippy::panic)] // the point of this diagnostic: the server's handling of a broken call
async fn protocol_error_job(ctx: ToolCtx, _a: NoArgs) -> Result<ToolOutput, ToolError> {
    work(&ctx, Duration::from_millis(100)).await?;
    panic!("protocol_error_job breaks on purpose (a conformance diagnostic)");
}

/// Waits `how_long`, or until the call is cancelled.
async fn work(ctx: &ToolCtx, how_long: Duration) -> Result<(), ToolError> {
    tokio::select! {
        () = tokio::time::sleep(how_long) => Ok(()),
        () = ctx.cancel.cancelled() => Err(ToolError::Cancelled),
    }
}

#[derive(Debug, Deserialize, JsonSchema)]
pub struct DeleteArgs {
    /// The name of the file to delete.
    filename: String,
}

fn filename_of(args: Option<&JsonObject>) -> String {
    args.and_then(|a| a.get("filename"))
        .and_then(Value::as_str)
        .unwrap_or("the file")
        .to_string()
}

fn confirm_delete_question(args: Option<&JsonObject>) -> Option<Question> {
    let name = filename_of(args);
    Some(Question {
        text: format!("Delete {name}?"),
        not_done: format!("{name} was not deleted"),
    })
}

async fn confirm_delete(_ctx: ToolCtx, a: DeleteArgs) -> Result<ToolOutput, ToolError> {
    Ok(ToolOutput::default().with_note(format!(
        "Deleted {} (a diagnostic: there is no such file, nothing was changed).",
        a.filename
    )))
}

async fn missing_capability(_ctx: ToolCtx, _a: NoArgs) -> Result<ToolOutput, ToolError> {
    Ok(ToolOutput::default().with_note(
        "The client declared sampling, which this diagnostic requires; it asks nothing of it.",
    ))
}

async fn logging_tool(ctx: ToolCtx, _a: NoArgs) -> Result<ToolOutput, ToolError> {
    let Some(level) = ctx.log.level() else {
        return Ok(ToolOutput::default().with_note(
            "No log messages were sent: the request set no log level \
             (`io.modelcontextprotocol/logLevel` in `_meta`, or `logging/setLevel` in a session).",
        ));
    };
    let mut sent = 0;
    for (at, text) in [
        (LoggingLevel::Info, "test_logging_tool: an info message"),
        (LoggingLevel::Debug, "test_logging_tool: a debug message"),
    ] {
        if ctx.log.send(at, LOGGER, json!(text)).await {
            sent += 1;
        }
    }
    let level = serde_json::to_value(level).unwrap_or_default();
    Ok(ToolOutput::default().with_note(format!(
        "Sent {sent} of 2 log messages (info, debug) at the requested level {}.",
        level.as_str().unwrap_or("?")
    )))
}

fn streaming_elicitation_question(_args: Option<&JsonObject>) -> Option<Question> {
    Some(Question {
        text: "Go on with the streaming elicitation diagnostic?".into(),
        not_done: "the streaming elicitation diagnostic did not go on".into(),
    })
}

async fn streaming_elicitation(_ctx: ToolCtx, _a: NoArgs) -> Result<ToolOutput, ToolError> {
    Ok(ToolOutput::default().with_note(
        "Confirmed: the question went out as this revision asks (input_required, or a request in the session).",
    ))
}

async fn reconnection(ctx: ToolCtx, _a: NoArgs) -> Result<ToolOutput, ToolError> {
    let Some(stream) = &ctx.stream else {
        return Ok(ToolOutput::default().with_note(
            "The stream was not closed: only a session that declared elicitation keeps what a \
             client missed, so only there can a response be resumed.",
        ));
    };
    stream.close();
    work(&ctx, RECONNECT_TAKES).await?;
    Ok(ToolOutput::default().with_note(
        "The response stream was closed mid-call; this result came after the client reconnected.",
    ))
}
