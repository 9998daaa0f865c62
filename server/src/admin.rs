//! `notion-mcp-remote grants list|revoke` and `webhooks pending`: look at and revoke stored grants,
//! and read the webhook verification tokens Notion sent, from the command line, against the same
//! store (file or kubernetes) and keys the server uses.

use crate::config::{GrantFilter, GrantsAction, GrantsArgs};
use crate::metrics::Metrics;
use crate::notion::{ClientConfig, NotionClient};
use crate::oauth::{GrantService, OAuthConfig};
use crate::store::records::Grant;
use anyhow::{Context, bail};
use std::io::Write;
use std::time::Duration;

fn matches(g: &Grant, f: &GrantFilter) -> bool {
    let ws = f.workspace.as_deref().is_none_or(|w| {
        g.notion.workspace_id == w || g.notion.workspace_name.as_deref() == Some(w)
    });
    ws && f.bot.as_deref().is_none_or(|b| g.notion.bot_id == b)
        && f.client.as_deref().is_none_or(|c| g.client_id == c)
        && f.grant.as_deref().is_none_or(|id| g.id == id)
}

/// The grant's workspace as people know it: its name, else its id.
fn workspace_of(g: &Grant) -> &str {
    g.notion
        .workspace_name
        .as_deref()
        .unwrap_or(&g.notion.workspace_id)
}

fn is_empty(f: &GrantFilter) -> bool {
    f.workspace.is_none() && f.bot.is_none() && f.client.is_none() && f.grant.is_none()
}

fn when(unix: i64) -> String {
    time::OffsetDateTime::from_unix_timestamp(unix)
        .ok()
        .and_then(|t| {
            t.format(&time::format_description::well_known::Rfc3339)
                .ok()
        })
        .unwrap_or_else(|| unix.to_string())
}

/// Run a `webhooks` command, writing its output to `out`.
pub async fn webhooks(
    args: crate::config::WebhooksArgs,
    out: &mut impl Write,
) -> anyhow::Result<()> {
    let store = crate::store::open::open_existing(&args.store).await?;
    let crate::config::WebhooksAction::Pending { json } = args.action;
    let tokens = crate::webhooks::pending::list(&store)
        .await
        .context("listing webhook verification tokens")?;
    if tokens.is_empty() && !json {
        writeln!(
            out,
            "No verification token received. Create the subscription in Notion (or press 'Resend token') \
             with the URL https://<public host>/webhooks/notion, then run this again."
        )?;
    }
    for t in &tokens {
        if json {
            let line = serde_json::json!({"token": t.token, "received_at": when(t.received_at)});
            writeln!(out, "{line}")?;
        } else {
            writeln!(out, "{}  received {}", t.token, when(t.received_at))?;
        }
    }
    Ok(())
}

/// Run a `grants` command, writing its output to `out`.
pub async fn run(args: GrantsArgs, out: &mut impl Write) -> anyhow::Result<()> {
    let store = crate::store::open::open_existing(&args.store).await?;
    let grants: Vec<Grant> = store
        .list::<Grant>()
        .await
        .context("listing grants")?
        .into_iter()
        .map(|(_, g)| g)
        .collect();
    match args.action {
        GrantsAction::List { filter, json } => {
            let selected: Vec<&Grant> = grants.iter().filter(|g| matches(g, &filter)).collect();
            if json {
                for g in &selected {
                    let line = serde_json::json!({
                        "grant": g.id, "client_id": g.client_id, "client_name": g.client_name,
                        "workspace_id": g.notion.workspace_id, "workspace_name": g.notion.workspace_name,
                        "bot_id": g.notion.bot_id, "user_id": g.notion.user_id, "user_email": g.notion.user_email,
                        "created_at": when(g.created_at), "last_used_at": when(g.last_used_at),
                        "expires_at": when(g.expires_at), "active": g.refresh.is_some(),
                    });
                    writeln!(out, "{line}")?;
                }
            } else {
                writeln!(
                    out,
                    "GRANT                   WORKSPACE                      USER                           CLIENT                         LAST USED"
                )?;
                for g in &selected {
                    let user = g
                        .notion
                        .user_email
                        .clone()
                        .or_else(|| g.notion.user_name.clone())
                        .unwrap_or_default();
                    let client = g.client_name.clone().unwrap_or_else(|| g.client_id.clone());
                    let ws = g
                        .notion
                        .workspace_name
                        .clone()
                        .unwrap_or_else(|| g.notion.workspace_id.clone());
                    writeln!(
                        out,
                        "{:<23} {:<30.30} {:<30.30} {:<30.30} {}",
                        g.id,
                        ws,
                        user,
                        client,
                        when(g.last_used_at)
                    )?;
                }
                writeln!(out, "{} grant(s)", selected.len())?;
            }
        }
        GrantsAction::Revoke {
            filter,
            all,
            dry_run,
        } => {
            if is_empty(&filter) && !all {
                bail!(
                    "name the grants to revoke (--workspace, --bot, --client or --grant), or pass --all"
                );
            }
            if dry_run {
                let selected: Vec<&Grant> = grants.iter().filter(|g| matches(g, &filter)).collect();
                for g in &selected {
                    writeln!(
                        out,
                        "would revoke {} ({} / {})",
                        g.id,
                        workspace_of(g),
                        g.client_id
                    )?;
                }
                writeln!(
                    out,
                    "{} grant(s) would be revoked (dry run: nothing changed)",
                    selected.len()
                )?;
                return Ok(());
            }
            let notion = NotionClient::new(
                ClientConfig {
                    base_url: args.notion_base_url.clone(),
                    attempt_timeout: Duration::from_secs(15),
                    ..ClientConfig::default()
                },
                Metrics::new(),
            )?;
            let cfg = OAuthConfig {
                notion_client_id: args.notion_oauth_client_id.clone().unwrap_or_default(),
                notion_client_secret: args
                    .notion_oauth_client_secret
                    .as_ref()
                    .map(|s| s.0.clone())
                    .unwrap_or_default(),
                ..OAuthConfig::for_admin()
            };
            let can_revoke_at_notion =
                !cfg.notion_client_id.is_empty() && !cfg.notion_client_secret.is_empty();
            let service =
                GrantService::new(store, notion, &cfg, Default::default(), Metrics::new())
                    .revoking_at_notion(can_revoke_at_notion);
            let mut n = 0;
            for g in grants.iter().filter(|g| matches(g, &filter)) {
                service.revoke(&g.id, "revoked by an administrator").await;
                writeln!(
                    out,
                    "revoked {} ({} / {})",
                    g.id,
                    workspace_of(g),
                    g.client_id
                )?;
                n += 1;
            }
            writeln!(out, "{n} grant(s) revoked")?;
            if n > 0 && !can_revoke_at_notion {
                writeln!(
                    out,
                    "note: NOTION_OAUTH_CLIENT_ID/SECRET are not set, so Notion's tokens were not revoked at Notion"
                )?;
            }
        }
    }
    Ok(())
}
