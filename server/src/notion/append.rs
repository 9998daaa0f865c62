//! Writing content: appending block trees of any size and depth within Notion's per-request limits
//! (≤ 100 children per array, two levels per request, ≤ 1,000 blocks and ≤ 500 KB per payload),
//! in document order, and the page markdown endpoints (read, replace, search-and-replace).
//!
//! Appends are writes and never replayed: when Notion reports a committed write (503 with
//! committed ids) or a later request fails, the error names what was already created so a caller
//! never duplicates content by repeating the whole call.

use std::collections::VecDeque;

use serde::Deserialize;
use serde_json::{Map, Value, json};

use super::client::{NotionAuth, NotionClient, NotionVersion};
use super::endpoints::{append_block_children, retrieve_page_markdown, update_page_markdown_raw};
use super::error::NotionError;
use super::writes::delete_block;

#[path = "append_columns.rs"]
mod columns;

/// Children in one request array (Notion: 100).
pub const MAX_CHILDREN_PER_REQUEST: usize = 100;
/// Blocks in one request, all levels (Notion: 1,000).
pub const MAX_BLOCKS_PER_REQUEST: usize = 1000;
/// Serialised body size aimed for (Notion: 500 KB), leaving room for the envelope.
pub const MAX_PAYLOAD_BYTES: usize = 450 * 1024;
/// `content_updates` per markdown update (Notion: 100).
pub const MAX_CONTENT_UPDATES: usize = 100;

/// Where appended blocks go among the parent's children.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub enum AppendPosition {
    #[default]
    End,
    Start,
    /// Right after this child of the parent.
    AfterBlock(String),
}

/// What [`append_blocks`] did.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct AppendOutcome {
    /// Ids of the blocks created directly under the parent, in document order.
    pub first_level_ids: Vec<String>,
    /// Requests sent.
    pub requests: usize,
    /// Blocks created, over all levels.
    pub blocks: usize,
}

/// A block to create: its JSON without children, and its children.
#[derive(Debug, Clone)]
struct Item {
    block: Value,
    kind: String,
    children: Vec<Item>,
}

impl Item {
    fn from_json(mut v: Value, depth: usize) -> Item {
        let kind = v
            .get("type")
            .and_then(Value::as_str)
            .unwrap_or_default()
            .to_owned();
        let kids = v
            .get_mut(&kind)
            .and_then(Value::as_object_mut)
            .and_then(|d| d.remove("children"))
            .into_iter()
            .chain(v.as_object_mut().and_then(|o| o.remove("children")))
            .filter_map(|k| match k {
                Value::Array(a) => Some(a),
                _ => None,
            })
            .flatten();
        let children = if depth < 512 {
            kids.map(|k| Item::from_json(k, depth + 1)).collect()
        } else {
            Vec::new()
        };
        Item {
            block: v,
            kind,
            children,
        }
    }

    /// Blocks Notion only creates together with their children (a table needs its rows, a
    /// column list its columns, a column a child): they start a request, never sit among a
    /// block's children in it (a column list carries its columns and their first children).
    fn needs_children(&self) -> bool {
        matches!(self.kind.as_str(), "table" | "column_list" | "column")
    }
}

/// Children to add under one parent.
struct Job {
    parent: String,
    items: Vec<Item>,
    /// `None`: at the end (children of a block this call created).
    position: Option<AppendPosition>,
    top: bool,
    /// A stand-in block to remove once these children exist (see [`columns`]).
    remove_after: Option<String>,
}

impl Job {
    /// Children of a block this call created, appended at its end.
    fn new(parent: String, items: Vec<Item>) -> Job {
        Job {
            parent,
            items,
            position: None,
            top: false,
            remove_after: None,
        }
    }
}

/// What one request has used of Notion's per-request limits.
struct Budget {
    blocks: usize,
    bytes: usize,
}

impl Budget {
    fn fits(&self, blocks: usize, bytes: usize) -> bool {
        self.blocks + blocks <= MAX_BLOCKS_PER_REQUEST && self.bytes + bytes <= MAX_PAYLOAD_BYTES
    }

    /// Counts one block of `bytes`.
    fn add(&mut self, bytes: usize) {
        self.blocks += 1;
        self.bytes += bytes;
    }
}

/// Appends block trees (children nested in `block[type].children` or `block.children`, any
/// depth — e.g. from [`notion_markdown::markdown_to_blocks`]) under `parent_id` (a page
/// or block).
///
/// Each request carries at most 100 top-level blocks, each with a prefix of its childless
/// children (≤ 100); deeper content and the remaining children follow in later requests to the
/// ids Notion returned, so document order is kept. A column list goes with its columns and
/// their first children (two levels below it, as Notion requires); what is deeper follows to the
/// ids a listing of the new columns gives. With `Start`/`AfterBlock`, later batches go
/// right after the last block created. Notion-Version 2025-09-03 sends legacy `after` (and
/// 2026-03-11 for `Start`, which it cannot express).
pub async fn append_blocks(
    c: &NotionClient,
    auth: &NotionAuth,
    parent_id: &str,
    blocks: Vec<Value>,
    position: AppendPosition,
) -> Result<AppendOutcome, NotionError> {
    let parent_id = parent_id.trim();
    if parent_id.is_empty() {
        return Err(NotionError::invalid("parent_id", "must not be empty"));
    }
    let items: Vec<Item> = blocks.into_iter().map(|b| Item::from_json(b, 0)).collect();
    let mut out = AppendOutcome::default();
    let mut queue = VecDeque::from([Job {
        parent: parent_id.to_owned(),
        items,
        position: Some(position),
        top: true,
        remove_after: None,
    }]);
    while let Some(mut job) = queue.pop_front() {
        let stand_in = job.remove_after.take();
        let parent = job.parent.clone();
        run_job(c, auth, job, &mut queue, &mut out).await?;
        if let Some(id) = stand_in {
            delete_block(c, auth, &id)
                .await
                .map_err(|e| with_progress(e, &out, &parent))?;
            out.blocks = out.blocks.saturating_sub(1);
        }
    }
    Ok(out)
}

async fn run_job(
    c: &NotionClient,
    auth: &NotionAuth,
    job: Job,
    queue: &mut VecDeque<Job>,
    out: &mut AppendOutcome,
) -> Result<(), NotionError> {
    let mut rest: VecDeque<Item> = job.items.into();
    let mut position = job.position;
    while !rest.is_empty() {
        let batch = next_batch(&mut rest);
        let (body, version) = request_body(&batch, position.as_ref(), auth.version);
        let call_auth = auth.clone().with_version(version);
        let sent = batch.iter().map(|b| 1 + b.included).sum::<usize>();
        let kinds: Vec<String> = batch
            .iter()
            .map(|b| b.json["type"].as_str().unwrap_or_default().to_owned())
            .collect();
        let resp = append_block_children(c, &call_auth, &job.parent, body)
            .await
            .map_err(|e| with_progress(e, out, &job.parent))?;
        out.requests += 1;
        let ids: Vec<String> = resp
            .results
            .iter()
            .filter_map(|b| b.get("id").and_then(Value::as_str).map(str::to_owned))
            .collect();
        if ids.len() != batch.len() {
            let e = NotionError::Decode {
                endpoint: "PATCH /v1/blocks/{id}/children",
                message: format!(
                    "Notion returned {} blocks for {} appended",
                    ids.len(),
                    batch.len()
                ),
            };
            return Err(with_progress(e, out, &job.parent));
        }
        out.blocks += sent;
        if job.top {
            out.first_level_ids.extend(ids.iter().cloned());
        }
        for (sent, (id, kind)) in batch.into_iter().zip(ids.iter().zip(kinds)) {
            columns::queue_rest(c, auth, id, &kind, sent.columns, queue)
                .await
                .map_err(|e| with_progress(e, out, &job.parent))?;
            if !sent.deferred.is_empty() {
                queue.push_back(Job::new(id.clone(), sent.deferred));
            }
        }
        position = match position {
            Some(AppendPosition::Start | AppendPosition::AfterBlock(_)) => {
                ids.last().cloned().map(AppendPosition::AfterBlock)
            }
            other => other,
        };
    }
    Ok(())
}

/// One top-level block of a request: its JSON (with the children sent along), how many
/// blocks below it that is, and what is left for later.
struct Sent {
    json: Value,
    included: usize,
    /// Children appended to this block later.
    deferred: Vec<Item>,
    /// Column lists and columns: what is left inside their columns.
    columns: Vec<columns::ColumnRest>,
}

fn size_of(v: &Value) -> usize {
    serde_json::to_vec(v).map_or(0, |b| b.len() + 1)
}

/// Blocks and bytes `item` needs at the least in a request.
fn minimum(item: &Item) -> (usize, usize) {
    let own = size_of(&item.block) + 16;
    match item.kind.as_str() {
        "column_list" | "column" => columns::minimum(item),
        "table" => (
            2,
            own + item.children.first().map_or(0, |r| size_of(&r.block)),
        ),
        _ => (1, own),
    }
}

/// Takes the next request's blocks off `rest`, within every per-request limit (at least one).
fn next_batch(rest: &mut VecDeque<Item>) -> Vec<Sent> {
    let mut batch: Vec<Sent> = Vec::new();
    let mut budget = Budget {
        blocks: 0,
        bytes: 64,
    };
    while batch.len() < MAX_CHILDREN_PER_REQUEST {
        let Some(item) = rest.pop_front() else {
            break;
        };
        let (blocks, bytes) = minimum(&item);
        if !batch.is_empty() && !budget.fits(blocks, bytes) {
            rest.push_front(item);
            break;
        }
        if matches!(item.kind.as_str(), "column_list" | "column") {
            batch.push(columns::pack(item, &mut budget));
            continue;
        }
        budget.add(size_of(&item.block) + 16);
        let Item {
            mut block,
            kind,
            children,
        } = item;
        let table = kind == "table";
        let mut kids = children.into_iter().peekable();
        let mut sent_kids = Vec::new();
        while sent_kids.len() < MAX_CHILDREN_PER_REQUEST {
            let Some(kid) = kids.peek() else {
                break;
            };
            if !kid.children.is_empty() || kid.needs_children() {
                break;
            }
            // A table's first row goes along whatever the budget: Notion refuses a table without rows.
            let size = size_of(&kid.block);
            let first_row = table && sent_kids.is_empty();
            if !first_row && !budget.fits(1, size) {
                break;
            }
            budget.add(size);
            if let Some(k) = kids.next() {
                sent_kids.push(k.block);
            }
        }
        let included = sent_kids.len();
        if included > 0
            && let Some(data) = block.get_mut(&kind).and_then(Value::as_object_mut)
        {
            data.insert("children".into(), Value::Array(sent_kids));
        }
        batch.push(Sent {
            json: block,
            included,
            deferred: kids.collect(),
            columns: Vec::new(),
        });
    }
    batch
}

/// The request body for a batch and the Notion-Version to send it with.
fn request_body(
    batch: &[Sent],
    position: Option<&AppendPosition>,
    version: NotionVersion,
) -> (Value, NotionVersion) {
    let children: Vec<Value> = batch.iter().map(|s| s.json.clone()).collect();
    let mut body = Map::new();
    body.insert("children".into(), Value::Array(children));
    let legacy = version == NotionVersion::V2025_09_03;
    let version = match position {
        Some(AppendPosition::Start) => {
            body.insert("position".into(), json!({"type": "start"}));
            NotionVersion::V2026_03_11
        }
        Some(AppendPosition::AfterBlock(id)) if legacy => {
            body.insert("after".into(), json!(id));
            version
        }
        Some(AppendPosition::AfterBlock(id)) => {
            body.insert(
                "position".into(),
                json!({"type": "after_block", "after_block": {"id": id}}),
            );
            version
        }
        Some(AppendPosition::End) | None => version,
    };
    (Value::Object(body), version)
}

/// Adds what was already created to an error, so that nothing gets appended twice.
fn with_progress(err: NotionError, done: &AppendOutcome, parent: &str) -> NotionError {
    let committed: Vec<String> = err
        .committed_child_ids()
        .into_iter()
        .map(str::to_owned)
        .collect();
    if done.requests == 0 && !err.is_committed_write() {
        return err;
    }
    let mut note = format!(
        " — {} blocks were already appended in {} requests (first-level ids: [{}])",
        done.blocks,
        done.requests,
        done.first_level_ids.join(", ")
    );
    if err.is_committed_write() {
        note.push_str(&format!(
            "; the failed request to {parent} was committed too (new block ids: [{}])",
            committed.join(", ")
        ));
    }
    note.push_str("; do not repeat the whole append: continue after the blocks that exist");
    let progress = json!({
        "appended_first_level_ids": done.first_level_ids,
        "appended_blocks": done.blocks,
        "append_requests": done.requests,
    });
    match err {
        NotionError::Api {
            status,
            code,
            message,
            request_id,
            retry_after,
            additional_data,
        } => {
            let mut data = match additional_data.map(|b| *b) {
                Some(Value::Object(m)) => m,
                _ => Map::new(),
            };
            if let Value::Object(p) = progress {
                data.extend(p);
            }
            NotionError::Api {
                status,
                code,
                message: format!("{message}{note}"),
                request_id,
                retry_after,
                additional_data: Some(Box::new(Value::Object(data))),
            }
        }
        NotionError::Transport {
            endpoint,
            message,
            connect,
        } => NotionError::Transport {
            endpoint,
            message: format!("{message}{note}"),
            connect,
        },
        NotionError::Decode { endpoint, message } => NotionError::Decode {
            endpoint,
            message: format!("{message}{note}"),
        },
        other => other,
    }
}

// -------------------------------------------------------------------------------------- markdown

/// A page's content as Notion renders it (`GET /v1/pages/{id}/markdown`).
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
pub struct PageMarkdown {
    #[serde(default)]
    pub id: String,
    #[serde(default)]
    pub markdown: String,
    /// Notion stopped at its block cap (about 20,000).
    #[serde(default)]
    pub truncated: bool,
    /// Subtrees not rendered; each id can be read the same way.
    #[serde(default)]
    pub unknown_block_ids: Vec<String>,
}

/// One search-and-replace of [`MarkdownUpdate::Edits`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ContentUpdate {
    /// Exact text to find (not empty).
    pub old_str: String,
    pub new_str: String,
    /// Replace every match instead of requiring exactly one.
    pub replace_all_matches: bool,
}

/// A change to a page's content through `PATCH /v1/pages/{id}/markdown`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum MarkdownUpdate {
    /// `replace_content`: the whole content becomes `new_str`.
    Replace {
        new_str: String,
        allow_deleting_content: bool,
    },
    /// `update_content`: 1–100 search-and-replace edits, applied all or none.
    Edits {
        content_updates: Vec<ContentUpdate>,
        allow_deleting_content: bool,
    },
}

impl MarkdownUpdate {
    /// The request body, after checking the edits.
    fn body(&self) -> Result<Value, NotionError> {
        Ok(match self {
            MarkdownUpdate::Replace {
                new_str,
                allow_deleting_content,
            } => json!({"type": "replace_content", "replace_content": {
                "new_str": new_str, "allow_deleting_content": allow_deleting_content}}),
            MarkdownUpdate::Edits {
                content_updates,
                allow_deleting_content,
            } => {
                if content_updates.is_empty() || content_updates.len() > MAX_CONTENT_UPDATES {
                    return Err(NotionError::invalid(
                        "content_updates",
                        format!(
                            "give 1 to {MAX_CONTENT_UPDATES} updates, not {}",
                            content_updates.len()
                        ),
                    ));
                }
                if let Some(i) = content_updates.iter().position(|u| u.old_str.is_empty()) {
                    return Err(NotionError::invalid(
                        format!("content_updates[{i}].old_str"),
                        "must not be empty",
                    ));
                }
                let updates: Vec<Value> = content_updates
                    .iter()
                    .map(|u| {
                        json!({"old_str": u.old_str, "new_str": u.new_str,
                               "replace_all_matches": u.replace_all_matches})
                    })
                    .collect();
                json!({"type": "update_content", "update_content": {
                    "content_updates": updates, "allow_deleting_content": allow_deleting_content}})
            }
        })
    }
}

/// Reads a page as Notion-flavoured Markdown (v2; sent with Notion-Version 2026-03-11).
pub async fn page_markdown(
    c: &NotionClient,
    auth: &NotionAuth,
    page_id: &str,
) -> Result<PageMarkdown, NotionError> {
    let v = retrieve_page_markdown(c, auth, page_id).await?;
    super::client::decode("GET /v1/pages/{id}/markdown", v)
}

/// Changes a page's content with Markdown (v2; Notion-Version 2026-03-11); returns the new
/// content. Not retried after an unknown outcome.
pub async fn update_page_markdown(
    c: &NotionClient,
    auth: &NotionAuth,
    page_id: &str,
    update: MarkdownUpdate,
) -> Result<PageMarkdown, NotionError> {
    let v = update_page_markdown_raw(c, auth, page_id, update.body()?).await?;
    super::client::decode("PATCH /v1/pages/{id}/markdown", v)
}

/// Like [`update_page_markdown`], but lets Notion run the write as an async task (`allow_async`):
/// the answer is the `page_markdown`, or an `async_task` to follow with
/// [`super::async_tasks::await_task`].
pub async fn update_page_markdown_allow_async(
    c: &NotionClient,
    auth: &NotionAuth,
    page_id: &str,
    update: &MarkdownUpdate,
) -> Result<Value, NotionError> {
    let mut body = update.body()?;
    body["allow_async"] = Value::Bool(true);
    update_page_markdown_raw(c, auth, page_id, body).await
}

#[cfg(test)]
#[path = "append_tests.rs"]
mod tests;
