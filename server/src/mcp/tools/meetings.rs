//! Notion AI meeting notes: `list_meeting_notes` (Notion's meeting-note filters and sorts, at most
//! 50 results without a cursor, only meetings the integration's user attended) and
//! `create_meeting_note` (from an uploaded recording or an audio/video/file block). A note's
//! summary, notes and transcript are read with `fetch` on the note or its page.

use super::pages_write::arg_error;
use super::{id_arg, limit_arg};
use crate::mcp::context::ToolCtx;
use crate::mcp::error::ToolError;
use crate::mcp::registry::{Effect, ToolDef};
use crate::notion::meeting_notes::{self, MAX_RESULTS};
use crate::notion::{NotionError, writes};
use schemars::JsonSchema;
use serde::Deserialize;
use serde_json::{Map, Value, json};

pub fn tools() -> Vec<ToolDef> {
    vec![
        ToolDef::new(
            "list_meeting_notes",
            "List meeting notes",
            "AI meeting notes you attended, ≤50, no cursor. query: title words; \
             filter/sort: Notion JSON. Read with fetch.",
            Effect::Read,
            list_meeting_notes,
        ),
        ToolDef::new(
            "create_meeting_note",
            "Create meeting note",
            "AI meeting notes from an uploaded recording (upload_id + page) or an audio/video/file `block`.",
            Effect::Write {
                destructive: false,
                idempotent: false,
            },
            create_meeting_note,
        ),
    ]
}

#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ListArgs {
    query: Option<String>,
    #[schemars(with = "Option<Map<String, Value>>")]
    filter: Option<Value>,
    #[schemars(with = "Option<Vec<Map<String, Value>>>")]
    sort: Option<Vec<Value>>,
    limit: Option<u32>,
}

async fn list_meeting_notes(ctx: ToolCtx, a: ListArgs) -> Result<String, ToolError> {
    let limit = limit_arg(a.limit, MAX_RESULTS as usize, MAX_RESULTS as usize)?;
    let mut filters = Vec::new();
    if let Some(q) = a.query.as_deref().map(str::trim).filter(|q| !q.is_empty()) {
        filters.push(json!({"property": "title",
            "filter": {"operator": "string_contains", "value": {"type": "exact", "value": q}}}));
    }
    if let Some(f) = a.filter {
        if !f.is_object() {
            return Err(ToolError::invalid(
                "filter",
                "expected a meeting-note filter object, e.g. {\"property\":\"title\",\"filter\":{\"operator\":\"string_contains\",\"value\":{\"type\":\"exact\",\"value\":\"standup\"}}}",
            ));
        }
        filters.push(f);
    }
    let mut body = Map::new();
    match filters.len() {
        0 => {}
        1 => {
            body.insert("filter".into(), filters.remove(0));
        }
        _ => {
            body.insert(
                "filter".into(),
                json!({"operator": "and", "filters": filters}),
            );
        }
    }
    if let Some(s) = a.sort {
        body.insert("sort".into(), Value::Array(s));
    }
    body.insert("limit".into(), json!(limit));
    let answer = meeting_notes::query(&ctx.notion, &ctx.auth, Value::Object(body))
        .await
        .map_err(bad_filter)?;
    let notes = answer
        .get("results")
        .and_then(Value::as_array)
        .cloned()
        .unwrap_or_default();
    let more = answer
        .get("has_more")
        .and_then(Value::as_bool)
        .unwrap_or(false);
    if notes.is_empty() {
        return Ok(
            "No meeting notes found (only meetings the integration's user attended are listed)."
                .into(),
        );
    }
    let mut out = format!("{} meeting note(s):\n", notes.len());
    for n in &notes {
        out.push_str(&line(n));
        out.push('\n');
    }
    if more {
        out.push_str(&format!(
            "\nMore notes match, but Notion returns at most {limit} and has no cursor: narrow the filter \
             (e.g. a created_time window) to see the rest."
        ));
    }
    Ok(out.trim_end().to_string())
}

/// A 400 about the filter or sort names the argument and what Notion accepts.
fn bad_filter(e: NotionError) -> ToolError {
    let msg = e.to_string();
    match e.status() {
        Some(400) if msg.contains("body.filter") || msg.contains("body.sort") => {
            ToolError::invalid(
                if msg.contains("body.sort") {
                    "sort"
                } else {
                    "filter"
                },
                format!(
                    "{msg}\nFilters: {{property, filter:{{operator, value}}}} or {{operator:\"and\"|\"or\", filters:[…]}}; \
                 properties title, attendees, created_time, created_by, last_edited_time, last_edited_by; \
                 operators string_*, date_*, person_contains, person_does_not_contain, is_empty, is_not_empty."
                ),
            )
        }
        _ => ToolError::Notion(e),
    }
}

/// One note: title, id, status, meeting time, attendee count, its page.
fn line(n: &Value) -> String {
    let data = &n["meeting_notes"];
    let title = data
        .get("title")
        .and_then(Value::as_array)
        .map(|t| {
            t.iter()
                .filter_map(|i| i.get("plain_text").and_then(Value::as_str))
                .collect::<String>()
        })
        .filter(|t| !t.is_empty())
        .unwrap_or_else(|| "(untitled)".into());
    let mut out = format!(
        "- {title} ({}) {}",
        n["id"].as_str().unwrap_or("?"),
        data["status"].as_str().unwrap_or("")
    );
    if let Some(t) = data
        .pointer("/calendar_event/start_time")
        .and_then(Value::as_str)
    {
        out.push_str(&format!(", {t}"));
    }
    if let Some(a) = data
        .pointer("/calendar_event/attendees")
        .and_then(Value::as_array)
    {
        out.push_str(&format!(", {} attendee(s)", a.len()));
    }
    if let Some(p) = n.pointer("/parent/page_id").and_then(Value::as_str) {
        out.push_str(&format!(", in page {p}"));
    }
    out
}

#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct CreateArgs {
    upload_id: Option<String>,
    page: Option<String>,
    block: Option<String>,
    title: Option<String>,
}

async fn create_meeting_note(ctx: ToolCtx, a: CreateArgs) -> Result<String, ToolError> {
    let mut body = match (
        a.upload_id.as_deref(),
        a.page.as_deref(),
        a.block.as_deref(),
    ) {
        (Some(u), Some(p), None) => json!({
            "source": {"type": "file_upload", "file_upload_id": id_arg("upload_id", u)?},
            "parent": {"type": "page_id", "page_id": id_arg("page", p)?},
        }),
        (None, None, Some(b)) => {
            json!({"source": {"type": "block", "block_id": id_arg("block", b)?}})
        }
        (Some(_), None, None) => {
            return Err(ToolError::invalid("page", "give the page the note goes in"));
        }
        _ => {
            return Err(ToolError::invalid(
                "upload_id",
                "give upload_id and page, or block (an audio, video or file block), not both",
            ));
        }
    };
    if let Some(t) = a.title {
        body["title"] = json!(t);
    }
    let note = meeting_notes::create(&ctx.notion, &ctx.auth, body)
        .await
        .map_err(arg_error)?;
    let id = writes::object_id(&note, "POST /v1/blocks/meeting_notes")?;
    Ok(format!(
        "Created meeting note {id} ({}). Notion keeps processing the recording; fetch the note later for its \
         summary, notes and transcript. Do not repeat this call: each call makes another note.",
        note.pointer("/meeting_notes/status")
            .and_then(Value::as_str)
            .unwrap_or("processing")
    ))
}
