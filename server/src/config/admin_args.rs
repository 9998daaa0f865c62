//! The admin commands' arguments: `grants list|revoke` and `webhooks pending`.

use super::*;

/// The store options accepted after an admin command's action too (`grants list --store-dir D`).
fn store_options_after_action(arg: clap::Arg) -> clap::Arg {
    const STORE_OPTIONS: [&str; 8] = [
        "kind",
        "store_dir",
        "store_namespace",
        "instance",
        "instance_uid",
        "keys_dir",
        "keys",
        "active_key_id",
    ];
    if STORE_OPTIONS.contains(&arg.get_id().as_str()) {
        arg.global(true)
    } else {
        arg
    }
}

/// `grants list|revoke`.
#[derive(Debug, Clone, Args)]
#[command(mut_args(store_options_after_action))]
pub struct GrantsArgs {
    #[command(subcommand)]
    pub action: GrantsAction,
    #[command(flatten)]
    pub store: StoreArgs,
    /// Notion API base URL (for revoking Notion's token of the last grant of a bot).
    #[arg(
        long,
        env = env::NOTION_BASE_URL,
        default_value = "https://api.notion.com",
        global = true
    )]
    pub notion_base_url: Url,
    /// Client id of the Notion public integration (to revoke Notion's tokens too).
    #[arg(long, env = env::NOTION_OAUTH_CLIENT_ID, global = true)]
    pub notion_oauth_client_id: Option<String>,
    /// Client secret of the Notion public integration.
    #[arg(
        long,
        env = env::NOTION_OAUTH_CLIENT_SECRET,
        hide_env_values = true,
        global = true
    )]
    pub notion_oauth_client_secret: Option<Redacted>,
}

/// `webhooks pending`.
#[derive(Debug, Clone, Args)]
#[command(mut_args(store_options_after_action))]
pub struct WebhooksArgs {
    #[command(subcommand)]
    pub action: WebhooksAction,
    #[command(flatten)]
    pub store: StoreArgs,
}

#[derive(Debug, Clone, Subcommand)]
pub enum WebhooksAction {
    /// Show the verification tokens Notion sent for new subscriptions (newest first), to paste
    /// into Notion's Verify dialog and into NOTION_WEBHOOK_VERIFICATION_TOKEN. Opens the existing
    /// store read-only; creates nothing.
    Pending {
        /// JSON lines instead of text.
        #[arg(long)]
        json: bool,
    },
}

/// Which grants an admin command applies to; filters combine with AND.
#[derive(Debug, Clone, Default, Args)]
pub struct GrantFilter {
    /// Only grants of this Notion workspace (id or name).
    #[arg(long)]
    pub workspace: Option<String>,
    /// Only grants of this Notion bot id.
    #[arg(long)]
    pub bot: Option<String>,
    /// Only grants held by this OAuth client id.
    #[arg(long)]
    pub client: Option<String>,
    /// Only this grant id.
    #[arg(long)]
    pub grant: Option<String>,
}

#[derive(Debug, Clone, Subcommand)]
pub enum GrantsAction {
    /// List grants (no token values are shown).
    List {
        #[command(flatten)]
        filter: GrantFilter,
        /// JSON lines instead of a table.
        #[arg(long)]
        json: bool,
    },
    /// Revoke grants: their tokens stop working at once; Notion's token is revoked when no other
    /// grant uses the same bot.
    Revoke {
        #[command(flatten)]
        filter: GrantFilter,
        /// Revoke every grant when no filter is given.
        #[arg(long)]
        all: bool,
        /// Show which grants would be revoked; change nothing.
        #[arg(long)]
        dry_run: bool,
    },
}
