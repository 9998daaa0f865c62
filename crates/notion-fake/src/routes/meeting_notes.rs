//! AI meeting notes: `POST /v1/blocks/meeting_notes/query` (Notion's filter language for meeting
//! notes, sort, `limit` ≤ 50, `{results, has_more}` without a cursor; only notes that list the
//! caller as an attendee), `POST /v1/blocks/meeting_notes` (from an uploaded recording under a
//! page), and [`add_meeting_note`] to seed notes with summary, notes and transcript tabs.
//!
//! The caller is the authorizing user of an OAuth connection; an internal integration has no user,
//! so the fake counts the bot itself as the attendee to match (Notion's rule for bots is unknown).

use serde_json::{Map, Value, json};
use uuid::Uuid;

use super::{Ctx, body_id, required};
use crate::blocks::{self, BlockSpec, InsertAt};
use crate::errors::{ApiError, ApiResult};
use crate::ids::fmt_id;
use crate::render;
use crate::richtext;
use crate::state::{BotOwner, NodeKind, Parent, State};

/// Most results of one query (and the default).
pub const MAX_LIMIT: u64 = 50;
const PROPERTIES: [&str; 6] = [
    "title",
    "attendees",
    "created_time",
    "created_by",
    "last_edited_time",
    "last_edited_by",
];
const TEXT_OPS: [&str; 6] = [
    "string_is",
    "string_is_not",
    "string_contains",
    "string_does_not_contain",
    "string_starts_with",
    "string_ends_with",
];
const DATE_OPS: [&str; 7] = [
    "date_is",
    "date_is_before",
    "date_is_after",
    "date_is_on_or_before",
    "date_is_on_or_after",
    "date_is_within",
    "date_is_relative_to",
];
const PERSON_OPS: [&str; 2] = ["person_contains", "person_does_not_contain"];

/// A meeting note to seed: title, attendees and the Markdown of its three tabs.
#[derive(Debug, Clone, Default)]
pub struct MeetingNoteSeed {
    pub title: String,
    pub attendees: Vec<Uuid>,
    pub start_time: Option<String>,
    pub summary: String,
    pub notes: String,
    pub transcript: String,
}

/// Adds a `meeting_notes` block at the end of `page`; its tabs are blocks whose children are the
/// tabs' content. Returns the block id.
pub fn add_meeting_note(state: &mut State, page: Uuid, seed: MeetingNoteSeed) -> Uuid {
    let workspace = state.workspace_of(&page).unwrap_or_default();
    let by = state
        .workspaces
        .get(&workspace)
        .and_then(|w| w.user_ids.first().copied())
        .unwrap_or_default();
    let id = state.new_id();
    let mut tab_ids = Map::new();
    for (key, md) in [
        ("summary_block_id", &seed.summary),
        ("notes_block_id", &seed.notes),
        ("transcript_block_id", &seed.transcript),
    ] {
        let tab = state.new_id();
        let data = json!({"rich_text": []});
        blocks::insert_one(
            state,
            workspace,
            Parent::Block(id),
            tab,
            "paragraph".into(),
            data,
            by,
        );
        let specs: Vec<BlockSpec> = notion_markdown::json::markdown_to_json(md)
            .unwrap_or_default()
            .iter()
            .filter_map(super::markdown::spec_of)
            .collect();
        blocks::insert_tree(
            state,
            workspace,
            Parent::Block(tab),
            specs,
            InsertAt::End,
            by,
        );
        tab_ids.insert(key.into(), json!(fmt_id(&tab)));
    }
    let start = seed
        .start_time
        .unwrap_or_else(|| render::time(state.clock.now));
    let attendees: Vec<Value> = seed.attendees.iter().map(|u| json!(fmt_id(u))).collect();
    let data = json!({
        "title": richtext::from_plain(&seed.title),
        "status": "notes_ready",
        "children": Value::Object(tab_ids),
        "calendar_event": {"start_time": start, "end_time": start, "attendees": attendees},
        "recording": {"start_time": start, "end_time": start},
    });
    blocks::insert_one(
        state,
        workspace,
        Parent::Page(page),
        id,
        "meeting_notes".into(),
        data,
        by,
    );
    blocks::place(state, page, &[id], InsertAt::End);
    id
}

/// Who the caller is for "attended": the authorizing user, or the bot itself.
fn caller(ctx: &Ctx) -> Uuid {
    match ctx.bot.owner {
        BotOwner::User(u) => u,
        BotOwner::Workspace => ctx.bot.id,
    }
}

/// `POST /v1/blocks/meeting_notes/query`.
pub fn query(state: &mut State, ctx: &Ctx) -> ApiResult<Value> {
    ctx.need(|c| c.read_content, "read_content")?;
    let limit = match ctx.field("limit") {
        None => MAX_LIMIT,
        Some(v) => match v.as_u64() {
            Some(n) if (1..=MAX_LIMIT).contains(&n) => n,
            _ => {
                return Err(ApiError::should_be(
                    "body.limit",
                    &format!("an integer between 1 and {MAX_LIMIT}"),
                    v,
                ));
            }
        },
    };
    if let Some(f) = ctx.field("filter") {
        check_filter(f, "body.filter", 0)?;
    }
    let sorts = parse_sorts(ctx.field("sort"))?;
    let me = fmt_id(&caller(ctx));
    let mut found: Vec<Value> = state
        .blocks
        .values()
        .filter(|b| {
            b.kind == "meeting_notes" && !b.in_trash && b.workspace_id == ctx.bot.workspace_id
        })
        .filter(|b| state.visible(&ctx.bot, &b.id) && !state.trashed(&b.id))
        .filter(|b| attendees(&b.data).contains(&me))
        .filter_map(|b| render::block(state, ctx.version, &b.id))
        .filter(|b| ctx.field("filter").is_none_or(|f| matches(f, b)))
        .collect();
    found.sort_by(|a, b| {
        for (prop, descending) in &sorts {
            let ord = sort_key(a, prop).cmp(&sort_key(b, prop));
            if ord != std::cmp::Ordering::Equal {
                return if *descending { ord.reverse() } else { ord };
            }
        }
        std::cmp::Ordering::Equal
    });
    let has_more = found.len() as u64 > limit;
    found.truncate(limit as usize);
    Ok(json!({"results": found, "has_more": has_more}))
}

fn attendees(data: &Value) -> Vec<String> {
    data.pointer("/calendar_event/attendees")
        .and_then(Value::as_array)
        .map(|a| {
            a.iter()
                .filter_map(|u| u.as_str().map(str::to_string))
                .collect()
        })
        .unwrap_or_default()
}

fn parse_sorts(raw: Option<&Value>) -> ApiResult<Vec<(String, bool)>> {
    let Some(raw) = raw else {
        return Ok(vec![("created_time".into(), true)]);
    };
    let list = raw
        .as_array()
        .filter(|a| a.len() <= 100)
        .ok_or_else(|| ApiError::should_be("body.sort", "an array of at most 100 sorts", raw))?;
    list.iter()
        .enumerate()
        .map(|(i, s)| {
            let prop = s.get("property").and_then(Value::as_str).unwrap_or("");
            if !["title", "created_time", "last_edited_time"].contains(&prop) {
                return Err(ApiError::should_be(
                    &format!("body.sort[{i}].property"),
                    "`\"title\"`, `\"created_time\"` or `\"last_edited_time\"`",
                    s.get("property").unwrap_or(&Value::Null),
                ));
            }
            let descending = match s.get("direction").and_then(Value::as_str) {
                Some("ascending") => false,
                Some("descending") => true,
                _ => {
                    return Err(ApiError::should_be(
                        &format!("body.sort[{i}].direction"),
                        "`\"ascending\"` or `\"descending\"`",
                        s.get("direction").unwrap_or(&Value::Null),
                    ));
                }
            };
            Ok((prop.to_string(), descending))
        })
        .collect()
}

fn sort_key(block: &Value, prop: &str) -> String {
    match prop {
        "title" => title_of(block),
        other => block[other].as_str().unwrap_or_default().to_string(),
    }
}

fn title_of(block: &Value) -> String {
    block
        .pointer("/meeting_notes/title")
        .and_then(Value::as_array)
        .map(|t| richtext::plain_text(t))
        .unwrap_or_default()
}

/// Checks a filter's shape: a property filter, or `and`/`or` with one nested level.
fn check_filter(f: &Value, path: &str, depth: usize) -> ApiResult<()> {
    if let Some(op) = f.get("operator").and_then(Value::as_str)
        && f.get("filters").is_some()
    {
        if !["and", "or"].contains(&op) || depth > 1 {
            return Err(ApiError::should_be(
                &format!("{path}.operator"),
                "`\"and\"` or `\"or\"` (one nested level at most)",
                &json!(op),
            ));
        }
        let list = f["filters"]
            .as_array()
            .filter(|a| a.len() <= 100)
            .ok_or_else(|| {
                ApiError::should_be(
                    &format!("{path}.filters"),
                    "an array of at most 100 filters",
                    &f["filters"],
                )
            })?;
        for (i, sub) in list.iter().enumerate() {
            check_filter(sub, &format!("{path}.filters[{i}]"), depth + 1)?;
        }
        return Ok(());
    }
    let prop = f.get("property").and_then(Value::as_str).unwrap_or("");
    if !PROPERTIES.contains(&prop) {
        return Err(ApiError::should_be(
            &format!("{path}.property"),
            &format!(
                "one of {}",
                PROPERTIES.map(|p| format!("`\"{p}\"`")).join(", ")
            ),
            f.get("property").unwrap_or(&Value::Null),
        ));
    }
    let op = f
        .pointer("/filter/operator")
        .and_then(Value::as_str)
        .unwrap_or("");
    let allowed: Vec<&str> = match prop {
        "title" => TEXT_OPS.to_vec(),
        "created_time" | "last_edited_time" => DATE_OPS.to_vec(),
        _ => PERSON_OPS.to_vec(),
    }
    .into_iter()
    .chain(["is_empty", "is_not_empty"])
    .collect();
    if !allowed.contains(&op) {
        return Err(ApiError::should_be(
            &format!("{path}.filter.operator"),
            &format!(
                "one of {} for `{prop}`",
                allowed
                    .iter()
                    .map(|o| format!("`\"{o}\"`"))
                    .collect::<Vec<_>>()
                    .join(", ")
            ),
            f.pointer("/filter/operator").unwrap_or(&Value::Null),
        ));
    }
    if !op.starts_with("is_") && f.pointer("/filter/value").is_none() {
        return Err(ApiError::body_validation(format!(
            "{path}.filter.value should be defined, instead was `undefined`."
        )));
    }
    Ok(())
}

/// The exact value of a filter (`{type:"exact", value}`), or the date of a date value.
fn filter_value(v: &Value) -> String {
    let inner = v.get("value").unwrap_or(v);
    match inner {
        Value::String(s) => s.clone(),
        other => other
            .get("start_date")
            .and_then(Value::as_str)
            .unwrap_or_default()
            .to_string(),
    }
}

fn matches(f: &Value, block: &Value) -> bool {
    if let Some(list) = f.get("filters").and_then(Value::as_array) {
        return match f.get("operator").and_then(Value::as_str) {
            Some("or") => list.iter().any(|s| matches(s, block)),
            _ => list.iter().all(|s| matches(s, block)),
        };
    }
    let prop = f["property"].as_str().unwrap_or("");
    let op = f
        .pointer("/filter/operator")
        .and_then(Value::as_str)
        .unwrap_or("");
    let value = f.pointer("/filter/value").cloned().unwrap_or(Value::Null);
    match prop {
        "title" => {
            let t = title_of(block).to_lowercase();
            let want = filter_value(&value).to_lowercase();
            match op {
                "string_is" => t == want,
                "string_is_not" => t != want,
                "string_contains" => t.contains(&want),
                "string_does_not_contain" => !t.contains(&want),
                "string_starts_with" => t.starts_with(&want),
                "string_ends_with" => t.ends_with(&want),
                "is_empty" => t.is_empty(),
                _ => !t.is_empty(),
            }
        }
        "created_time" | "last_edited_time" => {
            let t = block[prop].as_str().unwrap_or_default();
            let day = t.get(..10).unwrap_or(t);
            let want = filter_value(&value);
            let want_day = want.get(..10).unwrap_or(&want);
            match op {
                "date_is" => day == want_day,
                "date_is_before" => day < want_day,
                "date_is_after" => day > want_day,
                "date_is_on_or_before" => day <= want_day,
                "date_is_on_or_after" | "date_is_within" | "date_is_relative_to" => day >= want_day,
                "is_empty" => t.is_empty(),
                _ => !t.is_empty(),
            }
        }
        _ => {
            let people: Vec<String> = match prop {
                "attendees" => attendees(&block["meeting_notes"]),
                other => vec![block[other]["id"].as_str().unwrap_or_default().to_string()],
            };
            let wanted: Vec<String> = value
                .as_array()
                .map(|a| {
                    a.iter()
                        .filter_map(|p| p.pointer("/value/id").and_then(Value::as_str))
                        .map(str::to_string)
                        .collect()
                })
                .unwrap_or_default();
            let any = wanted.iter().any(|w| people.contains(w));
            match op {
                "person_contains" => any,
                "person_does_not_contain" => !any,
                "is_empty" => people.is_empty(),
                _ => !people.is_empty(),
            }
        }
    }
}

/// `POST /v1/blocks/meeting_notes`: a note from an uploaded recording under a page, or next to an
/// audio, video or file block.
pub fn create(state: &mut State, ctx: &Ctx) -> ApiResult<Value> {
    ctx.need(|c| c.insert_content, "insert_content")?;
    let source = required(ctx, "source")?;
    let (page, after) = match source.get("type").and_then(Value::as_str) {
        Some("file_upload") => {
            let upload = body_id(
                source.get("file_upload_id").unwrap_or(&Value::Null),
                "body.source.file_upload_id",
            )?;
            let status = {
                let uploads = &state.file_uploads;
                let u = uploads.get(ctx.bot.workspace_id, &upload)?;
                uploads.status(u)
            };
            if status != "uploaded" {
                return Err(ApiError::validation(format!(
                    "File upload {} is `{status}`; a meeting note needs an `uploaded` file.",
                    fmt_id(&upload)
                )));
            }
            let parent = required(ctx, "parent")?;
            let page = body_id(
                parent.get("page_id").unwrap_or(&Value::Null),
                "body.parent.page_id",
            )?;
            state.page(&ctx.bot, &page)?;
            (page, None)
        }
        Some("block") => {
            if ctx.field("parent").is_some() {
                return Err(ApiError::body_validation(
                    "body.parent should be not present when body.source.type is `\"block\"`.",
                ));
            }
            let block = body_id(
                source.get("block_id").unwrap_or(&Value::Null),
                "body.source.block_id",
            )?;
            if state.block_like(&ctx.bot, &block)? != NodeKind::Block {
                return Err(ApiError::validation(
                    "body.source.block_id must name a block.",
                ));
            }
            let b = &state.blocks[&block];
            if !["audio", "video", "file"].contains(&b.kind.as_str()) {
                return Err(ApiError::validation(format!(
                    "Block {} is a `{}` block; a meeting note needs an audio, video or file block.",
                    fmt_id(&block),
                    b.kind
                )));
            }
            let Some(page) = b.parent.id() else {
                return Err(ApiError::validation("The source block has no parent."));
            };
            (page, Some(block))
        }
        _ => {
            return Err(ApiError::should_be(
                "body.source.type",
                "`\"file_upload\"` or `\"block\"`",
                source.get("type").unwrap_or(&Value::Null),
            ));
        }
    };
    if state.trashed(&page) {
        return Err(ApiError::archived());
    }
    let title = match ctx.field("title") {
        Some(Value::String(s)) => s.clone(),
        Some(other) => return Err(ApiError::should_be("body.title", "a string", other)),
        None => "Meeting notes".into(),
    };
    let seed = MeetingNoteSeed {
        title,
        attendees: vec![caller(ctx)],
        ..Default::default()
    };
    let id = add_meeting_note(state, page, seed);
    if let Some(b) = state.blocks.get_mut(&id) {
        b.data["status"] = json!("transcription_in_progress");
    }
    if let Some(after) = after {
        if let Some(list) = state.children.get_mut(&page) {
            list.retain(|k| *k != id);
        }
        blocks::place(state, page, &[id], InsertAt::After(after));
    }
    state.record(crate::webhooks::Change::Content {
        within: page,
        blocks: vec![id],
    });
    render::block(state, ctx.version, &id)
        .ok_or_else(|| ApiError::not_found("block", &fmt_id(&id)))
        .map(|b| {
            if ctx.bot.capabilities.read_content {
                b
            } else {
                json!({"object": "block", "id": b["id"]})
            }
        })
}
