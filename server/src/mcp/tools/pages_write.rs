//! Page writes: `create_page` (any parent, readable properties, Markdown or block content of any
//! length), `update_page` (title, properties, icon, cover, lock), `move_page` and `trash_page`
//! (which also restores).

use super::id_arg;
use crate::mcp::args::ParentArg;
use crate::mcp::context::ToolCtx;
use crate::mcp::error::ToolError;
use crate::mcp::registry::{Effect, ToolDef};
use crate::notion::append::{AppendPosition, append_blocks};
use crate::notion::async_tasks::{self, TaskState};
use crate::notion::content_in;
use crate::notion::writes::{self, Container};
use crate::notion::{NotionError, NotionRequest, endpoints};
use notion_model::readable;
use schemars::JsonSchema;
use serde::Deserialize;
use serde_json::{Map, Value, json};

/// The page tools.
pub fn tools() -> Vec<ToolDef> {
    vec![
        ToolDef::new(
            "create_page",
            "Create page",
            "Create a page in a page, database (a row) or the workspace. properties: readable \
             ({\"Status\":\"Done\",\"Due\":\"2025-01-02\"}; people by name/email, relations by title) or \
             Notion JSON; body: Markdown `content` or `blocks`.",
            Effect::Write {
                destructive: false,
                idempotent: false,
            },
            create_page,
        ),
        ToolDef::new(
            "update_page",
            "Update page",
            "Set a page's title, properties (as create_page), icon/cover (\"none\" removes) or lock. Body: \
             update_page_markdown.",
            Effect::Write {
                destructive: true,
                idempotent: true,
            },
            update_page,
        ),
        ToolDef::new(
            "move_page",
            "Move page",
            "Move a page under another page or into a database/data source.",
            Effect::Write {
                destructive: false,
                idempotent: true,
            },
            move_page,
        ),
        ToolDef::new(
            "trash_page",
            "Trash page",
            "Delete a page: moves it to the trash; `restore: true` brings it back.",
            Effect::Write {
                destructive: true,
                idempotent: true,
            },
            trash_page,
        ),
    ]
}

/// A Notion error about the caller's input becomes an argument error naming its field.
pub(crate) fn arg_error(e: impl Into<NotionError>) -> ToolError {
    match e.into() {
        NotionError::InvalidInput { field, message } => ToolError::invalid(field, message),
        other => ToolError::Notion(other),
    }
}

#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct CreateArgs {
    /// Page/database id/URL or "workspace".
    parent: ParentArg,
    title: Option<String>,
    properties: Option<Map<String, Value>>,
    /// Markdown.
    content: Option<String>,
    #[schemars(with = "Option<Vec<Map<String, Value>>>")]
    blocks: Option<Vec<Value>>,
    /// "default" or a template id.
    template: Option<String>,
    /// start, end or a block id to follow.
    position: Option<String>,
    /// Emoji, :custom_emoji:, URL or upload id.
    icon: Option<String>,
    cover: Option<String>,
}

/// The body blocks of a create/append call from `content` or `blocks` (not both).
pub(crate) fn body_blocks(
    content: Option<&str>,
    blocks: Option<Vec<Value>>,
) -> Result<Vec<Value>, ToolError> {
    match (content, blocks) {
        (Some(_), Some(_)) => Err(ToolError::invalid(
            "blocks",
            "give either `content` (Markdown) or `blocks`, not both",
        )),
        (Some(md), None) => content_in::markdown_blocks("content", md).map_err(arg_error),
        (None, Some(b)) => {
            if let Some(i) = b.iter().position(|x| !x.is_object()) {
                return Err(ToolError::invalid(
                    format!("blocks[{i}]"),
                    "expected a Notion block object",
                ));
            }
            Ok(b)
        }
        (None, None) => Ok(Vec::new()),
    }
}

/// Readable or raw property values for a page under `container` (`title` merged in); people and
/// relations may be given by name or title ([`super::property_refs`]).
async fn page_properties(
    ctx: &ToolCtx,
    container: &Container,
    title: Option<&str>,
    props: Option<&Map<String, Value>>,
) -> Result<Map<String, Value>, ToolError> {
    let mut out = Map::new();
    match container {
        Container::DataSource(ds) => {
            if let Some(p) = props {
                let p = super::property_refs::resolve(ctx, &ds.properties, p).await?;
                out = readable::property_values(&ds.properties, &p).map_err(arg_error)?;
            }
            if let Some(t) = title {
                let name = ds
                    .properties
                    .iter()
                    .find(|(_, e)| e.get("type").and_then(Value::as_str) == Some("title"))
                    .map(|(n, _)| n.clone())
                    .unwrap_or_else(|| "title".into());
                out.insert(name, readable::title_value(t));
            }
        }
        Container::Page(_) => {
            if let Some(p) = props {
                for (k, v) in p {
                    let raw_title = v.get("title").is_some();
                    if !raw_title && !k.eq_ignore_ascii_case("title") {
                        return Err(ToolError::invalid(
                            format!("properties.{k}"),
                            "a page outside a database only has a title; use `title`",
                        ));
                    }
                    let value = if raw_title {
                        v.clone()
                    } else {
                        readable::property_value(&format!("properties.{k}"), "title", v)
                            .map_err(arg_error)?
                    };
                    out.insert("title".into(), value);
                }
            }
            if let Some(t) = title {
                out.insert("title".into(), readable::title_value(t));
            }
        }
    }
    Ok(out)
}

async fn icon_cover(
    ctx: &ToolCtx,
    body: &mut Value,
    icon: Option<&str>,
    cover: Option<&str>,
    allow_removal: bool,
) -> Result<(), ToolError> {
    if let Some(i) = icon {
        body["icon"] = super::emojis::icon_value(ctx, "icon", i, allow_removal).await?;
    }
    if let Some(c) = cover {
        body["cover"] = if allow_removal && readable::is_removal(c) {
            Value::Null
        } else {
            readable::cover("cover", c).map_err(arg_error)?
        };
    }
    Ok(())
}

async fn create_page(ctx: ToolCtx, a: CreateArgs) -> Result<String, ToolError> {
    let blocks = body_blocks(a.content.as_deref(), a.blocks)?;
    if a.template.is_some() && !blocks.is_empty() {
        return Err(ToolError::invalid(
            "template",
            "a template supplies the content; leave out `content`/`blocks`",
        ));
    }
    let workspace = a.parent.trim().eq_ignore_ascii_case("workspace");
    let container = if workspace {
        None
    } else {
        let id = id_arg("parent", &a.parent)?;
        Some(
            writes::resolve_container(&ctx.notion, &ctx.auth, "parent", &id)
                .await
                .map_err(arg_error)?,
        )
    };
    let mut body = json!({});
    let props = match &container {
        Some(c) => page_properties(&ctx, c, a.title.as_deref(), a.properties.as_ref()).await?,
        None => {
            page_properties(
                &ctx,
                &Container::Page(String::new()),
                a.title.as_deref(),
                a.properties.as_ref(),
            )
            .await?
        }
    };
    body["properties"] = Value::Object(props);
    body["parent"] = match &container {
        None => json!({"type": "workspace", "workspace": true}),
        Some(Container::Page(id)) => json!({"type": "page_id", "page_id": id}),
        Some(Container::DataSource(ds)) => {
            json!({"type": "data_source_id", "data_source_id": ds.id})
        }
    };
    if let Some(p) = &a.position {
        if !matches!(container, Some(Container::Page(_))) {
            return Err(ToolError::invalid(
                "position",
                "only applies when the parent is a page",
            ));
        }
        body["position"] = match p.trim() {
            "start" => json!({"type": "page_start"}),
            "end" => json!({"type": "page_end"}),
            other => {
                json!({"type": "after_block", "after_block": {"id": id_arg("position", other)?}})
            }
        };
    }
    if let Some(t) = &a.template {
        body["template"] = match t.trim() {
            "default" => json!({"type": "default"}),
            "none" => json!({"type": "none"}),
            other => json!({"type": "template_id", "template_id": id_arg("template", other)?}),
        };
    }
    icon_cover(
        &ctx,
        &mut body,
        a.icon.as_deref(),
        a.cover.as_deref(),
        false,
    )
    .await?;
    if let Some(md) = a.content.as_deref()
        && a.template.is_none()
        && md.chars().count() >= async_tasks::ASYNC_FROM_CHARS
    {
        return create_page_async(&ctx, body, md).await;
    }
    let total = blocks.len();
    let (first, rest) = content_in::split_for_request(blocks);
    if !first.is_empty() {
        body["children"] = Value::Array(first);
    }
    let page = writes::create_page(&ctx.notion, &ctx.auth, body)
        .await
        .map_err(|e| match e.committed_resource_id().map(str::to_string) {
            Some(id) if !rest.is_empty() => writes::with_context(
                e,
                &format!("page {id} was created but the rest of its content was not added"),
            ),
            _ => e,
        })?;
    let id = writes::object_id(&page, "POST /v1/pages")?;
    let mut requests = 1;
    if !rest.is_empty() {
        let done = append_blocks(&ctx.notion, &ctx.auth, &id, rest, AppendPosition::End)
            .await
            .map_err(|e| {
                writes::with_context(
                    e,
                    &format!("page {id} was created but adding its content failed"),
                )
            })?;
        requests += done.requests;
    }
    let mut out = format!(
        "Created page \"{}\" ({id}) {}",
        writes::plain_title(&page),
        page.get("url").and_then(Value::as_str).unwrap_or("")
    );
    if total > 0 {
        out.push_str(&format!(
            "\nContent: {total} top-level block(s) in {requests} request(s)."
        ));
    }
    Ok(out.trim_end().to_string())
}

/// A page with a large Markdown body: sent as `markdown` with `allow_async`, followed until
/// Notion's task finishes or the call's wait is spent (then the task id is handed back).
async fn create_page_async(ctx: &ToolCtx, mut body: Value, md: &str) -> Result<String, ToolError> {
    body["markdown"] = json!(md);
    body["allow_async"] = json!(true);
    let parent_only = json!({"parent": body["parent"].clone()});
    let first = writes::create_page(&ctx.notion, &ctx.auth, body).await?;
    let page = match async_tasks::await_task(&ctx.notion, &ctx.auth, first, ctx.limits.async_wait)
        .await?
    {
        TaskState::Done(v) | TaskState::Succeeded { result: v, .. } => v,
        TaskState::Pending { id, status } => {
            ctx.notion.invalidate_pending_write(
                &NotionRequest::post("POST /v1/pages", "/v1/pages").json(parent_only),
            );
            return Ok(format!(
                "Page creation accepted. {}",
                async_tasks::pending_note(&id, &status)
            ));
        }
    };
    let id = writes::object_id(&page, "POST /v1/pages")?;
    Ok(format!(
        "Created page \"{}\" ({id}) {}\nContent: {} characters of Markdown, written by Notion.",
        writes::plain_title(&page),
        page.get("url").and_then(Value::as_str).unwrap_or(""),
        md.chars().count()
    ))
}

#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct UpdateArgs {
    id: String,
    title: Option<String>,
    properties: Option<Map<String, Value>>,
    icon: Option<String>,
    cover: Option<String>,
    locked: Option<bool>,
}

async fn update_page(ctx: ToolCtx, a: UpdateArgs) -> Result<String, ToolError> {
    let id = id_arg("id", &a.id)?;
    let mut body = json!({});
    if a.title.is_some() || a.properties.is_some() {
        // Readable values need the schema of the page's data source, if it has one.
        let page = endpoints::retrieve_page(&ctx.notion, &ctx.auth, &id, &[]).await?;
        let container = match page.parent.get("data_source_id").and_then(Value::as_str) {
            Some(ds) => Container::DataSource(Box::new(
                endpoints::retrieve_data_source(&ctx.notion, &ctx.auth, ds).await?,
            )),
            None => Container::Page(id.clone()),
        };
        let props =
            page_properties(&ctx, &container, a.title.as_deref(), a.properties.as_ref()).await?;
        body["properties"] = Value::Object(props);
    }
    icon_cover(&ctx, &mut body, a.icon.as_deref(), a.cover.as_deref(), true).await?;
    if let Some(l) = a.locked {
        body["is_locked"] = json!(l);
    }
    if body.as_object().is_some_and(Map::is_empty) {
        return Err(ToolError::invalid(
            "arguments",
            "nothing to change: give title, properties, icon, cover or locked",
        ));
    }
    let page = writes::update_page(&ctx.notion, &ctx.auth, &id, body, true).await?;
    let locked = if page.get("is_locked") == Some(&json!(true)) {
        ", locked"
    } else {
        ""
    };
    Ok(format!(
        "Updated page \"{}\" ({id}){locked}.",
        writes::plain_title(&page)
    ))
}

#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct MoveArgs {
    id: String,
    /// Page, database or data source id/URL.
    parent: ParentArg,
}

async fn move_page(ctx: ToolCtx, a: MoveArgs) -> Result<String, ToolError> {
    let id = id_arg("id", &a.id)?;
    let parent_id = id_arg("parent", &a.parent)?;
    let parent = match writes::resolve_container(&ctx.notion, &ctx.auth, "parent", &parent_id)
        .await
        .map_err(arg_error)?
    {
        Container::Page(p) => json!({"type": "page_id", "page_id": p}),
        Container::DataSource(ds) => json!({"type": "data_source_id", "data_source_id": ds.id}),
    };
    let page = writes::move_page(&ctx.notion, &ctx.auth, &id, parent).await?;
    Ok(format!(
        "Moved page \"{}\" ({id}) into {parent_id}.",
        writes::plain_title(&page)
    ))
}

#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct TrashArgs {
    id: String,
    restore: Option<bool>,
}

/// Set a page's `in_trash` flag.
async fn set_trash(ctx: &ToolCtx, id: &str, trash: bool) -> Result<Value, ToolError> {
    let id = id_arg("id", id)?;
    Ok(writes::update_page(
        &ctx.notion,
        &ctx.auth,
        &id,
        json!({"in_trash": trash}),
        true,
    )
    .await?)
}

async fn trash_page(ctx: ToolCtx, a: TrashArgs) -> Result<String, ToolError> {
    let restore = a.restore.unwrap_or(false);
    let page = set_trash(&ctx, &a.id, !restore).await?;
    let title = writes::plain_title(&page);
    let id = page.get("id").and_then(Value::as_str).unwrap_or(&a.id);
    Ok(if restore {
        format!("Restored page \"{title}\" ({id}) from the trash.")
    } else {
        format!("Moved page \"{title}\" ({id}) to the trash; `restore: true` brings it back.")
    })
}
