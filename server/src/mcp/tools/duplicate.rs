//! `duplicate_page`: a copy of a page by Notion's template copy (the source as `template_id`;
//! Notion fills the content in the background) or block by block (`mode: "copy"`: properties,
//! content, sub-pages and files, within the bounds of `notion::duplicate::BOUNDS`, refused before
//! anything is written when the source is larger). `auto` tries the template copy and falls back
//! to the block copy when Notion refuses it.

use super::id_arg;
use super::pages_write::arg_error;
use crate::mcp::args::ParentArg;
use crate::mcp::context::ToolCtx;
use crate::mcp::error::ToolError;
use crate::mcp::registry::{Effect, ToolDef};
use crate::notion::duplicate::write::{self, Destination, Report, Writer};
use crate::notion::duplicate::{self as dup, BOUNDS};
use crate::notion::writes::{self, Container};
use crate::notion::{NotionError, endpoints};
use schemars::JsonSchema;
use serde::Deserialize;
use serde_json::{Value, json};

pub fn tools() -> Vec<ToolDef> {
    vec![ToolDef::new(
        "duplicate_page",
        "Duplicate page",
        "Copy a page beside it or under `parent` (page/database id or \"workspace\"). mode: auto, template \
         (Notion's async copy) or copy (≤1000 blocks/20 pages; lists what it skipped).",
        Effect::Write {
            destructive: false,
            idempotent: false,
        },
        duplicate_page,
    )]
}

#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct DuplicateArgs {
    /// Page id or URL.
    id: String,
    parent: Option<ParentArg>,
    title: Option<String>,
    mode: Option<String>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Mode {
    Auto,
    Template,
    Copy,
}

async fn duplicate_page(ctx: ToolCtx, a: DuplicateArgs) -> Result<String, ToolError> {
    let id = id_arg("id", &a.id)?;
    let mode = match a.mode.as_deref().map(str::trim) {
        None | Some("auto") => Mode::Auto,
        Some("template") => Mode::Template,
        Some("copy") => Mode::Copy,
        Some(other) => {
            return Err(ToolError::invalid(
                "mode",
                format!("\"{other}\" is not a mode; use auto, template or copy"),
            ));
        }
    };
    let page = endpoints::retrieve_page(&ctx.notion, &ctx.auth, &id, &[])
        .await
        .map_err(|e| match e.status() {
            Some(400) => ToolError::invalid(
                "id",
                format!("{id} is not a page; duplicate_page copies pages"),
            ),
            _ => e.into(),
        })?;
    let dest = destination(&ctx, &page, a.parent.as_deref()).await?;
    let title = a.title.as_deref();
    let mut fallback = None;
    if mode != Mode::Copy {
        match template_copy(&ctx, &page, &dest, title).await {
            Ok(out) => return Ok(out),
            Err(e) if mode == Mode::Auto && e.status() == Some(400) => {
                fallback = Some(e.to_string())
            }
            Err(e) => return Err(arg_error(e)),
        }
    }
    let src = dup::read_source(&ctx.notion, &ctx.auth, &id, BOUNDS, ctx.limits.concurrency)
        .await
        .map_err(arg_error)?;
    let report = write::copy(&ctx.notion, &ctx.auth, &src, &dest, title).await?;
    let mut out = summary(&id, &report);
    if let Some(why) = fallback {
        out.push_str(&format!("\n(Notion refused the template copy: {why})"));
    }
    Ok(out)
}

/// Where the copy goes: `parent` when given, else the source's own parent.
async fn destination(
    ctx: &ToolCtx,
    page: &notion_model::types::Page,
    parent: Option<&str>,
) -> Result<Destination, ToolError> {
    if let Some(p) = parent {
        if p.trim().eq_ignore_ascii_case("workspace") {
            return Ok(Destination::Workspace);
        }
        let pid = id_arg("parent", p)?;
        return Ok(
            match writes::resolve_container(&ctx.notion, &ctx.auth, "parent", &pid)
                .await
                .map_err(arg_error)?
            {
                Container::Page(p) => Destination::Page(p),
                Container::DataSource(ds) => Destination::DataSource(ds),
            },
        );
    }
    let parent = &page.parent;
    let str_at = |k: &str| parent.get(k).and_then(Value::as_str).map(str::to_string);
    match parent.get("type").and_then(Value::as_str) {
        Some("page_id") => Ok(Destination::Page(str_at("page_id").unwrap_or_default())),
        Some("workspace") => Ok(Destination::Workspace),
        Some("data_source_id") | Some("database_id") => {
            let ds_id = str_at("data_source_id")
                .or_else(|| str_at("database_id"))
                .unwrap_or_default();
            let ds = writes::data_source_of(&ctx.notion, &ctx.auth, &ds_id).await?;
            Ok(Destination::DataSource(Box::new(ds)))
        }
        _ => Err(ToolError::invalid(
            "parent",
            "the page sits inside a block; give `parent` (a page or database id, or \"workspace\")",
        )),
    }
}

/// `POST /v1/pages` with the source as template: the copy is created at once, its content follows.
async fn template_copy(
    ctx: &ToolCtx,
    page: &notion_model::types::Page,
    dest: &Destination,
    title: Option<&str>,
) -> Result<String, NotionError> {
    let mut w = Writer::new(&ctx.notion, &ctx.auth);
    let mut body = w.root_body(page, dest, title).await?;
    body["template"] = json!({"type": "template_id", "template_id": page.id});
    let new_id = w.create_page(&page.id, body).await?;
    let mut out = format!(
        "Duplicated page {} as \"{}\" ({new_id}) {} with Notion's template copy: Notion copies the content \
         in the background (whether sub-pages, inline databases and files come along is Notion's choice). \
         Use mode \"copy\" for a block-by-block copy with a report.",
        page.id,
        writes::plain_title(&w.report.page),
        w.report
            .page
            .get("url")
            .and_then(Value::as_str)
            .unwrap_or("")
    );
    not_copied(&mut out, &w.report);
    Ok(out)
}

fn summary(source: &str, r: &Report) -> String {
    let id = r.page.get("id").and_then(Value::as_str).unwrap_or("?");
    let mut out = format!(
        "Duplicated page {source} as \"{}\" ({id}) {}\nCopied {} page(s), {} block(s), {} file(s) re-uploaded, in {} request(s).",
        writes::plain_title(&r.page),
        r.page.get("url").and_then(Value::as_str).unwrap_or(""),
        r.pages,
        r.blocks,
        r.files,
        r.requests
    );
    not_copied(&mut out, r);
    out
}

fn not_copied(out: &mut String, r: &Report) {
    if !r.not_copied.is_empty() {
        out.push_str("\nNot copied:");
        for line in &r.not_copied {
            out.push_str("\n- ");
            out.push_str(line);
        }
    }
}
