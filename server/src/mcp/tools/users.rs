//! Users: `list_users` (or one user by id), `get_self` (the integration's bot and its workspace, and on
//! request the workspace's custom emojis).

use super::{Format, id_arg, json_out, limit_arg, more};
use crate::mcp::context::ToolCtx;
use crate::mcp::error::ToolError;
use crate::mcp::output::ToolOutput;
use crate::mcp::registry::{Effect, ToolDef};
use crate::notion::{endpoints, pagination};
use notion_markdown as markdown;
use schemars::JsonSchema;
use serde::Deserialize;
use serde_json::{Value, json};

pub fn tools() -> Vec<ToolDef> {
    vec![
        ToolDef::new(
            "list_users",
            "List users",
            "People and bots of the workspace with names, emails and ids (for people and mentions); \
             `id`: just that user.",
            Effect::Read,
            list_users,
        ),
        ToolDef::new(
            "get_self",
            "Get workspace",
            "This connection's workspace, integration and upload size limit; emojis:true lists custom \
             emojis (icons as :name:).",
            Effect::Read,
            get_self,
        ),
    ]
}

#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ListArgs {
    id: Option<String>,
    /// Max users (default 100, max 1000).
    limit: Option<u32>,
    cursor: Option<String>,
    format: Option<Format>,
}

async fn list_users(ctx: ToolCtx, a: ListArgs) -> Result<ToolOutput, ToolError> {
    if let Some(id) = a.id.as_deref() {
        return get_user(&ctx, id, a.format).await.map(ToolOutput::data);
    }
    let limit = limit_arg(a.limit, 100, 1000)?;
    let got = pagination::collect(limit, a.cursor, |cursor, page_size| {
        let ctx = ctx.clone();
        async move {
            endpoints::list_users(&ctx.notion, &ctx.auth, cursor.as_deref(), Some(page_size)).await
        }
    })
    .await?;
    if a.format == Some(Format::Json) {
        return Ok(json_out(&json!({"results": got.items, "next_cursor": got.next_cursor})).into());
    }
    let out: String = got
        .items
        .iter()
        .map(|u| format!("- {}\n", markdown::user_line(u)))
        .collect();
    Ok(ToolOutput::data(out).with_note(more("list_users", got.next_cursor.as_deref())))
}

/// One user by id (`list_users` with `id`).
async fn get_user(ctx: &ToolCtx, id: &str, format: Option<Format>) -> Result<String, ToolError> {
    let id = id_arg("id", id)?;
    let u = endpoints::retrieve_user(&ctx.notion, &ctx.auth, &id).await?;
    Ok(match format {
        Some(Format::Json) => json_out(&serde_json::to_value(&u).unwrap_or_default()),
        _ => markdown::user_line(&u),
    })
}

#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct SelfArgs {
    emojis: Option<bool>,
    format: Option<Format>,
}

async fn get_self(ctx: ToolCtx, a: SelfArgs) -> Result<String, ToolError> {
    if a.emojis == Some(true) {
        return super::emojis::list(&ctx).await;
    }
    let me = endpoints::retrieve_bot_user(&ctx.notion, &ctx.auth).await?;
    if a.format == Some(Format::Json) {
        return Ok(json_out(&me));
    }
    let bot = me.get("bot").cloned().unwrap_or(Value::Null);
    let s = |v: &Value, k: &str| v.get(k).and_then(Value::as_str).unwrap_or("").to_string();
    let mut out = format!(
        "Workspace: {} ({})\nIntegration: {} — {}\n",
        s(&bot, "workspace_name"),
        s(&bot, "workspace_id"),
        s(&me, "name"),
        s(&me, "id")
    );
    match bot.get("owner") {
        Some(o) if o.get("type").and_then(Value::as_str) == Some("user") => {
            let u = o.get("user").cloned().unwrap_or(Value::Null);
            out.push_str(&format!(
                "Authorized by: {} ({})\n",
                s(&u, "name"),
                s(&u, "id")
            ));
        }
        Some(_) => out.push_str("Owner: the workspace (internal integration)\n"),
        None => {}
    }
    if let Some(max) = bot
        .pointer("/workspace_limits/max_file_upload_size_in_bytes")
        .and_then(Value::as_u64)
    {
        out.push_str(&format!("Max upload size: {}\n", human_bytes(max)));
    }
    Ok(out)
}

/// Bytes as a short human-readable size (binary units).
fn human_bytes(n: u64) -> String {
    const UNITS: [&str; 4] = ["bytes", "KiB", "MiB", "GiB"];
    let mut v = n as f64;
    let mut unit = 0;
    while v >= 1024.0 && unit < UNITS.len() - 1 {
        v /= 1024.0;
        unit += 1;
    }
    if unit == 0 {
        format!("{n} bytes")
    } else {
        format!("{v:.1} {}", UNITS[unit]).replace(".0 ", " ")
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn human_bytes() {
        assert_eq!(super::human_bytes(5 * 1024 * 1024 * 1024), "5 GiB");
        assert_eq!(super::human_bytes(5_000_000), "4.8 MiB");
        assert_eq!(super::human_bytes(12), "12 bytes");
    }
}
