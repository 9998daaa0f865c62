//! `notion-mcp-remote demo`: the whole server against an embedded fake Notion holding a sample
//! workspace, so a newcomer can connect an MCP client in one command, with no Notion account.

use crate::app;
use crate::config::{AuthMode, Cli, DEMO_TOKEN, DemoArgs, Settings};
use anyhow::Context;
use clap::Parser;

/// The fake Notion's public integration used by `demo --oauth`.
const DEMO_OAUTH_CLIENT_ID: &str = "demo-oauth-integration";
const DEMO_OAUTH_CLIENT_SECRET: &str = "demo-oauth-integration-secret";
/// The integration's name on the fake Notion's sign-in page.
const DEMO_INTEGRATION_NAME: &str = "Notion MCP remote (demo)";

/// Start the fake, then serve MCP against it until Ctrl-C.
pub async fn run(args: DemoArgs) -> anyhow::Result<()> {
    // Bind first: a port in use fails here, before anything is started or printed.
    let listener = app::bind(args.listen).await?;
    let listen = listener.local_addr().context("reading the bound address")?;
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
    serve.listen = listen;
    serve.auth_mode = if args.oauth {
        AuthMode::Oauth
    } else {
        AuthMode::Demo
    };
    serve.notion_base_url = fake.base_url().parse().context("fake Notion URL")?;
    serve.log_format = args.log_format;
    serve.log = args.log.clone();
    serve.sessions = args.sessions;
    serve.conformance_tools = args.conformance_tools;
    // The fake answers instantly; keep pacing generous so the demo feels like a real workspace.
    serve.pacing_rps = 50.0;
    serve.pacing_burst = 50;
    if args.oauth {
        serve.oauth.notion_oauth_client_id = Some(DEMO_OAUTH_CLIENT_ID.into());
        serve.oauth.notion_oauth_client_secret =
            Some(crate::config::Redacted(DEMO_OAUTH_CLIENT_SECRET.into()));
        serve.store.kind = Some(crate::config::StoreKind::Memory);
    }
    let settings = Settings::from_args(serve)?;
    if args.oauth {
        // The fake's integration accepts our callback (at the public URL, so a tunnel works too).
        let callback = format!("{}/oauth/callback", settings.public_base);
        fake.fake.register_oauth_client(
            DEMO_OAUTH_CLIENT_ID,
            DEMO_OAUTH_CLIENT_SECRET,
            vec![callback],
        );
        fake.fake.with_state(|s| {
            if let Some(client) = s.oauth.clients.get_mut(DEMO_OAUTH_CLIENT_ID) {
                client.name = DEMO_INTEGRATION_NAME.into();
            }
        });
        fake.fake.set_oauth_login_page(!args.auto_login);
    }
    let url = settings.mcp_url();
    let text = if args.oauth {
        oauth_banner(&url, listen.port(), fake.base_url(), args.auto_login)
    } else {
        let auth_line = format!("Bearer token:  {DEMO_TOKEN}   (optional in demo mode)");
        banner(&url, &auth_line, fake.base_url())
    };
    println!("{text}");
    let demo_token = (!args.oauth).then(|| DEMO_TOKEN.to_string());
    let result = app::run_on(settings, demo_token, listener).await;
    fake.shutdown().await;
    result
}

/// What `demo` prints once it is listening: where to connect, what to ask, and client commands that
/// work as printed.
fn banner(url: &str, auth_line: &str, fake_url: &str) -> String {
    format!(
        "\nnotion-mcp-remote demo — a sample Notion workspace (\"Acme Demo\") served by an embedded fake.\n\n\
         MCP endpoint:  {url}\n\
         {auth_line}\n\
         Fake Notion:   {fake_url}\n\n\
         Connect a client:\n  \
         npx -y @modelcontextprotocol/inspector@latest --cli {url} --transport http --method tools/list\n  \
         npx -y @modelcontextprotocol/inspector@latest --cli {url} --transport http --method tools/call --tool-name search --tool-arg query=Handbook\n  \
         claude mcp add --transport http notion-demo {url}\n\n\
         Then ask your assistant, for example:\n  \
         \"Search for Handbook and summarise the leave policy.\"\n  \
         \"What's overdue in Tasks, and who owns it?\"\n  \
         \"Which projects in Projects are in progress, and what is their budget?\"\n\n\
         Press Ctrl-C to stop.\n"
    )
}

/// What `demo --oauth` prints: where to connect, and how to watch the whole OAuth flow.
fn oauth_banner(url: &str, port: u16, fake_url: &str, auto_login: bool) -> String {
    let login = if auto_login {
        "the fake Notion approves at once, sharing every page (--auto-login)"
    } else {
        "the fake Notion's sign-in page lets you pick the pages to share"
    };
    format!(
        "\nnotion-mcp-remote demo --oauth — a sample Notion workspace (\"Acme Demo\") served by an embedded fake,\n\
         behind OAuth as in production (grants in memory).\n\n\
         MCP endpoint:  {url}\n\
         Fake Notion:   {fake_url}\n\n\
         Connecting runs the whole flow in your browser: the client registers, our consent page asks you to\n\
         continue, then {login}.\nThe client's token sees only the pages shared.\n\n\
         Try it:\n  \
         MCP Inspector:  npx -y @modelcontextprotocol/inspector\n                  \
         then connect it to {url} (transport Streamable HTTP)\n  \
         Claude Code:    claude mcp add --transport http notion-demo {url}\n                  \
         then /mcp in Claude Code, \"notion-demo\", Authenticate\n  \
         claude.ai:      needs a public https URL, e.g. a tunnel to this port:\n                  \
         cloudflared tunnel --url http://localhost:{port}\n                  \
         restart with NOTION_MCP_PUBLIC_URL=https://<tunnel host>, add <tunnel URL>/mcp as a custom\n                  \
         connector, and sign in with a browser on this machine (the fake Notion listens on 127.0.0.1)\n\n\
         Press Ctrl-C to stop.\n"
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_oauth_banner_says_how_to_watch_the_flow() {
        let b = oauth_banner("http://localhost:9/mcp", 9, "http://127.0.0.1:1", false);
        assert!(
            b.contains("npx -y @modelcontextprotocol/inspector\n"),
            "{b}"
        );
        assert!(
            b.contains("connect it to http://localhost:9/mcp (transport Streamable HTTP)"),
            "{b}"
        );
        assert!(
            b.contains("cloudflared tunnel --url http://localhost:9\n"),
            "{b}"
        );
        assert!(b.contains("pick the pages to share"), "{b}");
        let auto = oauth_banner("http://localhost:9/mcp", 9, "http://127.0.0.1:1", true);
        assert!(auto.contains("--auto-login") && !auto.contains("pick the pages"));
    }

    #[test]
    fn banner_names_the_endpoint_and_runnable_commands() {
        let b = banner("http://localhost:9/mcp", "Auth: none", "http://127.0.0.1:1");
        assert!(b.contains(
            "npx -y @modelcontextprotocol/inspector@latest --cli http://localhost:9/mcp"
        ));
        assert!(b.contains("claude mcp add --transport http notion-demo http://localhost:9/mcp"));
        assert!(b.contains("Handbook") && b.contains("Tasks"));
    }
}
