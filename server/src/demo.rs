//! `notion-mcp-remote demo`: the whole server against an embedded fake Notion holding a sample
//! workspace, so a newcomer can connect an MCP client in one command, with no Notion account.

use crate::app;
use crate::config::{AuthMode, Cli, DEMO_TOKEN, DemoArgs, Settings};
use anyhow::Context;
use clap::Parser;

/// The fake Notion's public integration used by `demo --oauth`.
const DEMO_OAUTH_CLIENT_ID: &str = "demo-oauth-integration";
const DEMO_OAUTH_CLIENT_SECRET: &str = "demo-oauth-integration-secret";

/// Start the fake, then serve MCP against it until Ctrl-C.
pub async fn run(args: DemoArgs) -> anyhow::Result<()> {
    let fixture = match &args.fixture {
        Some(path) => notion_fake::Fixture::from_path(path)
            .with_context(|| format!("loading fixture {}", path.display()))?,
        None => notion_fake::Fixture::sample(),
    };
    let fake = notion_fake::FakeNotion::start(fixture)
        .await
        .context("starting the fake Notion")?;
    let mut serve = Cli::try_parse_from(["notion-mcp-remote"])
        .context("default settings")?
        .serve;
    serve.listen = args.listen;
    serve.auth_mode = if args.oauth {
        AuthMode::Oauth
    } else {
        AuthMode::Demo
    };
    serve.notion_base_url = fake.base_url().parse().context("fake Notion URL")?;
    serve.log_format = args.log_format;
    serve.log = args.log.clone();
    serve.sessions = args.sessions;
    // The fake answers instantly; keep pacing generous so the demo feels like a real workspace.
    serve.pacing_rps = 50.0;
    serve.pacing_burst = 50;
    if args.oauth {
        // The fake's integration accepts our callback; grants live in memory.
        let callback = format!("http://localhost:{}/oauth/callback", args.listen.port());
        fake.fake.register_oauth_client(
            DEMO_OAUTH_CLIENT_ID,
            DEMO_OAUTH_CLIENT_SECRET,
            vec![callback],
        );
        serve.oauth.notion_oauth_client_id = Some(DEMO_OAUTH_CLIENT_ID.into());
        serve.oauth.notion_oauth_client_secret =
            Some(crate::config::Redacted(DEMO_OAUTH_CLIENT_SECRET.into()));
        serve.store.kind = Some(crate::config::StoreKind::Memory);
    }
    let settings = Settings::from_args(serve)?;
    let url = settings.mcp_url();
    let bearer_line = if args.oauth {
        "Auth:          OAuth (register, consent, log in at the fake Notion; grants in memory)"
            .to_string()
    } else {
        format!("Bearer token:  {DEMO_TOKEN}   (optional in demo mode)")
    };
    println!(
        "\nnotion-mcp-remote demo — a sample Notion workspace (\"Acme Demo\") served by an embedded fake.\n\n\
         MCP endpoint:  {url}\n\
         {bearer_line}\n\
         Fake Notion:   {}\n\n\
         Try it:\n  \
         npx @modelcontextprotocol/inspector@latest --cli {url} --transport http --method tools/list\n  \
         claude mcp add --transport http notion-demo {url}\n\n\
         Press Ctrl-C to stop.\n",
        fake.base_url()
    );
    let demo_token = (!args.oauth).then(|| DEMO_TOKEN.to_string());
    let result = app::run(settings, demo_token).await;
    fake.shutdown().await;
    result
}
