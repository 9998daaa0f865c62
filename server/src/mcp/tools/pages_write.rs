//! Page writes: `create_page` (any parent, readable properties, Markdown or block content of any
//! length) and `update_page` (properties, icon, cover, lock, move, trash/restore, body edits).

use super::id_arg;
use crate::mcp::context::ToolCtx;
use crate::mcp::error::ToolError;
use crate::mcp::registry::{Effect, ToolDef};
use crate::notion::append::{AppendPosition, append_blocks};
use crate::notion::content_in;
use crate::notion::writes::{self, Container};
use crate::notion::{NotionError, endpoints, properties_in};
use schemars::JsonSchema;
use serde::Deserialize;
use serde_json::{Map, Value, json};

pub fn tools() -> Vec<ToolDef> {
    vec![
        ToolDef::new(
            "create_page",
            "Create page",
            "Create a page in a page, database (a row) or the workspace. properties: readable \
             ({\"Status\":\"Done\",\"Due\":\"2025-01-02\"}) or Notion JSON; body: Markdown `content` (any length) \
             or `blocks`.",
            Effect::Write {
                destructive: false,
                idempotent: false,
            },
            create_page,
        ),
        ToolDef::new(
            "update_page",
            "Update page",
            "Change a page: title, properties (as create_page), icon/cover (\"none\" removes), lock; `parent` moves it; \
             `trash` true deletes (to trash), false restores; `edits`: exact find/replace in the body (≤100). Child \
             pages survive body changes unless allow_deleting.",
            Effect::Write {
                destructive: true,
                idempotent: false,
            },
            update_page,
        ),
    ]
}

/// A Notion error about the caller's input becomes an argument error naming its field.
pub(crate) fn arg_error(e: NotionError) -> ToolError {
    match e {
        NotionError::InvalidInput { field, message } => ToolError::invalid(field, message),
        other => ToolError::Notion(other),
    }
}

#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct CreateArgs {
    /// Page/database id/URL or "workspace".
    parent: String,
    title: Option<String>,
    properties: Option<Map<String, Value>>,
    /// Markdown.
    content: Option<String>,
    blocks: Option<Vec<Value>>,
    /// "default" or a template id.
    template: Option<String>,
    /// start, end or a block id to follow.
    position: Option<String>,
    /// Emoji, URL or upload id.
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

/// Readable or raw property values for a page under `container` (`title` merged in).
fn page_properties(
    container: &Container,
    title: Option<&str>,
    props: Option<&Map<String, Value>>,
) -> Result<Map<String, Value>, ToolError> {
    let mut out = Map::new();
    match container {
        Container::DataSource(ds) => {
            if let Some(p) = props {
                out = properties_in::property_values(&ds.properties, p).map_err(arg_error)?;
            }
            if let Some(t) = title {
                let name = ds
                    .properties
                    .iter()
                    .find(|(_, e)| e.get("type").and_then(Value::as_str) == Some("title"))
                    .map(|(n, _)| n.clone())
                    .unwrap_or_else(|| "title".into());
                out.insert(name, properties_in::title_value(t));
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
                        properties_in::property_value(&format!("properties.{k}"), "title", v)
                            .map_err(arg_error)?
                    };
                    out.insert("title".into(), value);
                }
            }
            if let Some(t) = title {
                out.insert("title".into(), properties_in::title_value(t));
            }
        }
    }
    Ok(out)
}

fn icon_cover(
    body: &mut Value,
    icon: Option<&str>,
    cover: Option<&str>,
    allow_removal: bool,
) -> Result<(), ToolError> {
    if let Some(i) = icon {
        body["icon"] = if allow_removal && properties_in::is_removal(i) {
            Value::Null
        } else {
            properties_in::icon("icon", i).map_err(arg_error)?
        };
    }
    if let Some(c) = cover {
        body["cover"] = if allow_removal && properties_in::is_removal(c) {
            Value::Null
        } else {
            properties_in::cover("cover", c).map_err(arg_error)?
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
        Some(c) => page_properties(c, a.title.as_deref(), a.properties.as_ref())?,
        None => page_properties(
            &Container::Page(String::new()),
            a.title.as_deref(),
            a.properties.as_ref(),
        )?,
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
    icon_cover(&mut body, a.icon.as_deref(), a.cover.as_deref(), false)?;
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

#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct UpdateArgs {
    /// Page id or URL.
    id: String,
    title: Option<String>,
    properties: Option<Map<String, Value>>,
    icon: Option<String>,
    cover: Option<String>,
    locked: Option<bool>,
    parent: Option<String>,
    trash: Option<bool>,
    /// Markdown replacing the body.
    content: Option<String>,
    /// [[old, new], …]
    edits: Option<Vec<Vec<String>>>,
    /// Edits replace every match.
    all: Option<bool>,
    allow_deleting: Option<bool>,
}

/// Run one step of an update, naming what earlier steps already did if it fails.
fn after(done: &[String], id: &str, e: NotionError) -> ToolError {
    match done {
        [] => ToolError::Notion(e),
        _ => ToolError::Notion(writes::with_context(
            e,
            &format!("page {id} was already {}", done.join(", ")),
        )),
    }
}

async fn update_page(ctx: ToolCtx, a: UpdateArgs) -> Result<String, ToolError> {
    let id = id_arg("id", &a.id)?;
    let markdown = super::markdown::edit_body(
        a.content,
        a.edits,
        a.all.unwrap_or(false),
        a.allow_deleting.unwrap_or(false),
    )?;
    let mut done: Vec<String> = Vec::new();
    if let Some(p) = &a.parent {
        let parent_id = id_arg("parent", p)?;
        let parent = match writes::resolve_container(&ctx.notion, &ctx.auth, "parent", &parent_id)
            .await
            .map_err(arg_error)?
        {
            Container::Page(p) => json!({"type": "page_id", "page_id": p}),
            Container::DataSource(ds) => {
                json!({"type": "data_source_id", "data_source_id": ds.id})
            }
        };
        writes::move_page(&ctx.notion, &ctx.auth, &id, parent).await?;
        done.push(format!("moved into {parent_id}"));
    }
    let mut body = json!({});
    if a.title.is_some() || a.properties.is_some() {
        // Readable values need the schema of the page's data source, if it has one.
        let page = endpoints::retrieve_page(&ctx.notion, &ctx.auth, &id, &[])
            .await
            .map_err(|e| after(&done, &id, e))?;
        let container = match page.parent.get("data_source_id").and_then(Value::as_str) {
            Some(ds) => Container::DataSource(Box::new(
                endpoints::retrieve_data_source(&ctx.notion, &ctx.auth, ds)
                    .await
                    .map_err(|e| after(&done, &id, e))?,
            )),
            None => Container::Page(id.clone()),
        };
        let props = page_properties(&container, a.title.as_deref(), a.properties.as_ref())?;
        body["properties"] = Value::Object(props);
    }
    icon_cover(&mut body, a.icon.as_deref(), a.cover.as_deref(), true)?;
    if let Some(l) = a.locked {
        body["is_locked"] = json!(l);
    }
    // Trashing comes after a content edit; restoring before it.
    let trash_last = a.trash == Some(true) && markdown.is_some();
    if let Some(t) = a.trash.filter(|_| !trash_last) {
        body["in_trash"] = json!(t);
    }
    if body.as_object().is_some_and(Map::is_empty) && markdown.is_none() && done.is_empty() {
        return Err(ToolError::invalid(
            "arguments",
            "nothing to change: give title, properties, icon, cover, locked, parent, trash, content or edits",
        ));
    }
    let mut page = Value::Null;
    if !body.as_object().is_some_and(Map::is_empty) {
        page = writes::update_page(&ctx.notion, &ctx.auth, &id, body, true)
            .await
            .map_err(|e| after(&done, &id, e))?;
        done.push("updated".into());
    }
    if let Some(m) = markdown {
        let chars = super::markdown::apply(&ctx, &id, m)
            .await
            .map_err(|e| after(&done, &id, e))?;
        done.push(format!(
            "given new content ({chars} characters of Markdown)"
        ));
    }
    if trash_last {
        page = writes::update_page(&ctx.notion, &ctx.auth, &id, json!({"in_trash": true}), true)
            .await
            .map_err(|e| after(&done, &id, e))?;
    }
    let flag = |k: &str| page.get(k) == Some(&json!(true));
    let state = match (flag("in_trash"), flag("is_locked")) {
        (true, _) => " and moved to the trash (trash=false restores it)",
        (_, true) => ", locked",
        _ => "",
    };
    Ok(format!(
        "Page \"{}\" ({id}) {}{state}.",
        writes::plain_title(&page),
        done.join(", ")
    ))
}
