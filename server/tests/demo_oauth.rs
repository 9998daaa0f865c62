//! `demo --oauth` end to end, as a browser and an MCP client see it: register, authorize, our consent
//! page, the fake Notion's sign-in page with its page picker, the callback, the code exchange — and
//! tool calls that see only the pages picked. Cancel at the fake Notion comes back to the client as
//! `access_denied`, and a sign-in form is answered once. Browser-based clients (the MCP Inspector) get
//! the CORS preflight of the endpoints they call from their own origin.

#![cfg(feature = "demo")]
#![allow(clippy::unwrap_used)]

mod common;
mod oauth_support;

use common::mcp::{Mcp, Reply};
use oauth_support::{Browser, Endpoint, Page, TestClient, form_field, pkce, query};
use serde_json::{Value, json};
use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// A running `demo --oauth` (killed when dropped) and where it listens.
struct Demo {
    child: Child,
    ep: Endpoint,
}

impl Drop for Demo {
    fn drop(&mut self) {
        self.child.kill().ok();
        self.child.wait().ok();
    }
}

/// Starts `demo --oauth` on a free port and reads its endpoint from the banner.
fn start_demo() -> Demo {
    let mut child = Command::new(env!("CARGO_BIN_EXE_notion-mcp-remote"))
        .args(["demo", "--oauth", "--listen", "127.0.0.1:0"])
        .args(["--log-format", "json"])
        .env_remove("NOTION_MCP_LISTEN")
        .env_remove("NOTION_MCP_PUBLIC_URL")
        .env_remove("NOTION_MCP_SESSIONS")
        .env("NOTION_MCP_LOG", "warn")
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    let stdout = child.stdout.take().unwrap();
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        for line in BufReader::new(stdout).lines().map_while(Result::ok) {
            if tx.send(line).is_err() {
                break;
            }
        }
    });
    let deadline = Instant::now() + Duration::from_secs(60);
    let mut banner = String::new();
    let mut endpoint = None;
    while endpoint.is_none() && Instant::now() < deadline {
        if let Ok(line) = rx.recv_timeout(Duration::from_millis(200)) {
            banner.push_str(&line);
            banner.push('\n');
            if let Some(url) = line.strip_prefix("MCP endpoint:") {
                endpoint = Some(url.trim().to_string());
            }
        }
    }
    let resource = endpoint.unwrap_or_else(|| panic!("no endpoint in the banner:\n{banner}"));
    let base = resource.trim_end_matches("/mcp").to_string();
    notion_mcp_remote::notion::client::install_crypto_provider();
    let ep = Endpoint {
        http: reqwest::Client::builder()
            .timeout(Duration::from_secs(30))
            .build()
            .unwrap(),
        base,
        resource,
    };
    Demo { child, ep }
}

/// The fake Notion's sign-in page a browser reaches from the client's authorize URL (through our
/// consent page), and that page's URL.
async fn to_sign_in(
    ep: &Endpoint,
    b: &mut Browser,
    c: &TestClient,
    challenge: &str,
) -> (Page, String) {
    let consent = b.get(&ep.authorize_url(c, challenge, "client-state")).await;
    assert_eq!(consent.status, 200, "consent page: {}", consent.body);
    let request = form_field(&consent.body, "request").unwrap();
    let csrf = form_field(&consent.body, "csrf").unwrap();
    let to_notion = b
        .post_form(
            &format!("{}/authorize/consent", ep.base),
            &[
                ("request", &request),
                ("csrf", &csrf),
                ("decision", "approve"),
            ],
        )
        .await;
    assert_eq!(to_notion.status, 303, "consent: {}", to_notion.body);
    let url = to_notion.location.unwrap();
    let sign_in = b.get(&url).await;
    assert_eq!(sign_in.status, 200, "sign-in page: {}", sign_in.body);
    (sign_in, url)
}

/// The pages the sign-in page offers: (id, label, ticked).
fn offered(html: &str) -> Vec<(String, String, bool)> {
    html.split("<input type=\"checkbox\" name=\"page\"")
        .skip(1)
        .map(|chunk| {
            let input = chunk.split('>').next().unwrap_or("");
            let value = input
                .split("value=\"")
                .nth(1)
                .and_then(|v| v.split('"').next())
                .unwrap_or("")
                .to_string();
            let label = chunk
                .split("</label>")
                .next()
                .and_then(|l| l.rsplit('>').next())
                .unwrap_or("")
                .to_string();
            (value, label, input.contains("checked"))
        })
        .collect()
}

/// Where the sign-in form posts, absolute (it is relative to the page).
fn form_action(page_url: &str, html: &str) -> String {
    let action = html
        .split("<form method=\"post\" action=\"")
        .nth(1)
        .and_then(|a| a.split('"').next())
        .unwrap();
    url::Url::parse(page_url)
        .unwrap()
        .join(action)
        .unwrap()
        .to_string()
}

fn text_of(reply: &Reply) -> String {
    match reply {
        Reply::Result(r) => r["content"]
            .as_array()
            .into_iter()
            .flatten()
            .filter_map(|c| c["text"].as_str())
            .collect::<Vec<_>>()
            .join("\n"),
        other => panic!("not a tool result: {other:?}"),
    }
}

fn is_error(reply: &Reply) -> bool {
    matches!(reply, Reply::Result(r) if r["isError"] == json!(true))
}

#[tokio::test]
async fn the_pages_picked_at_sign_in_are_all_the_client_sees() {
    let demo = start_demo();
    let ep = &demo.ep;
    let client = ep.register("none").await;
    let (verifier, challenge) = pkce();
    let mut b = Browser::new();
    let (sign_in, sign_in_url) = to_sign_in(ep, &mut b, &client, &challenge).await;
    let html = &sign_in.body;
    assert!(html.contains("Sign in as Alice Anders"), "{html}");
    assert!(html.contains("Acme Demo"), "{html}");
    let csp = sign_in.headers["content-security-policy"].to_str().unwrap();
    assert!(csp.contains("frame-ancestors 'none'"), "{csp}");
    let pages = offered(html);
    let labels: Vec<&str> = pages.iter().map(|(_, l, _)| l.as_str()).collect();
    assert_eq!(
        labels,
        ["Acme Home", "Employee Handbook", "Projects", "Tasks"],
        "top-level pages and what is directly inside them: {html}"
    );
    assert_eq!(
        pages.iter().map(|p| p.2).collect::<Vec<_>>(),
        [true, false, false, false],
        "the top-level page starts ticked"
    );
    // Every checkbox has its label, and the buttons say what they do.
    for i in 0..pages.len() {
        assert!(
            html.contains(&format!("id=\"page-{i}\""))
                && html.contains(&format!("for=\"page-{i}\"")),
            "{html}"
        );
    }
    assert!(html.contains(">Allow access</button>") && html.contains(">Cancel</button>"));
    assert!(
        html.contains("<legend>"),
        "the choices are a labelled group"
    );

    // Only the handbook.
    let handbook = pages.iter().find(|p| p.1 == "Employee Handbook").unwrap();
    let home = pages.iter().find(|p| p.1 == "Acme Home").unwrap();
    let token = form_field(html, "form_token").unwrap();
    let action = form_action(&sign_in_url, html);
    let answer = b
        .post_form(
            &action,
            &[
                ("form_token", &token),
                ("page", &handbook.0),
                ("decision", "allow"),
            ],
        )
        .await;
    assert_eq!(answer.status, 302, "{}", answer.body);
    let callback = b.get(answer.location.as_deref().unwrap()).await;
    assert_eq!(callback.status, 303, "callback: {}", callback.body);
    let back = callback.location.unwrap();
    assert!(back.starts_with(&client.redirect_uri), "{back}");
    let q = query(&back);
    assert_eq!(q["state"], "client-state");
    let (status, tokens) = ep
        .try_exchange(&client, &q["code"], &verifier)
        .await
        .unwrap();
    assert_eq!(status, 200, "{tokens}");
    let access = tokens["access_token"].as_str().unwrap();

    let mcp = Mcp::stateless(
        ep.http.clone(),
        &ep.resource,
        access,
        Duration::from_secs(30),
    );
    let found = mcp.call(1, "search", &json!({"query": "Handbook"})).await;
    let text = text_of(&found);
    assert!(
        !is_error(&found) && text.contains("Employee Handbook"),
        "{text}"
    );
    for hidden in ["Acme Home", "Website relaunch", "Design mockups"] {
        let reply = mcp.call(2, "search", &json!({"query": hidden})).await;
        let text = text_of(&reply);
        assert!(
            text.contains("No pages or data sources shared with this integration match"),
            "{hidden} is not shared: {text}"
        );
    }
    let handbook_page = mcp.call(3, "get_page", &json!({"id": handbook.0})).await;
    assert!(!is_error(&handbook_page), "{}", text_of(&handbook_page));
    let home_page = mcp.call(4, "get_page", &json!({"id": home.0})).await;
    assert!(
        is_error(&home_page),
        "Acme Home is not shared: {}",
        text_of(&home_page)
    );

    // The form was answered: it cannot be answered again.
    let again = b
        .post_form(&action, &[("form_token", &token), ("decision", "allow")])
        .await;
    assert_eq!(again.status, 400, "{}", again.body);
    let err: Value = serde_json::from_str(&again.body).unwrap();
    assert!(
        err["error_description"]
            .as_str()
            .unwrap()
            .contains("already answered"),
        "{err}"
    );
}

#[tokio::test]
async fn cancel_at_sign_in_returns_access_denied_to_the_client() {
    let demo = start_demo();
    let ep = &demo.ep;
    let client = ep.register("none").await;
    let (_, challenge) = pkce();
    let mut b = Browser::new();
    let (sign_in, sign_in_url) = to_sign_in(ep, &mut b, &client, &challenge).await;
    let token = form_field(&sign_in.body, "form_token").unwrap();
    let answer = b
        .post_form(
            &form_action(&sign_in_url, &sign_in.body),
            &[("form_token", &token), ("decision", "cancel")],
        )
        .await;
    assert_eq!(answer.status, 302, "{}", answer.body);
    let to_callback = answer.location.unwrap();
    assert_eq!(
        query(&to_callback)["error"],
        "access_denied",
        "{to_callback}"
    );
    let callback = b.get(&to_callback).await;
    assert_eq!(callback.status, 303, "callback: {}", callback.body);
    let back = callback.location.unwrap();
    assert!(back.starts_with(&client.redirect_uri), "{back}");
    let q = query(&back);
    assert_eq!(q["error"], "access_denied", "{back}");
    assert_eq!(q["state"], "client-state");
    assert!(!q.contains_key("code"), "{back}");
}

#[tokio::test]
async fn browser_clients_get_their_cors_preflight_but_pages_do_not() {
    let demo = start_demo();
    let ep = &demo.ep;
    let preflight = |path: &str, method: &str| {
        ep.http
            .request(reqwest::Method::OPTIONS, format!("{}{path}", ep.base))
            .header("origin", "http://localhost:6274")
            .header("access-control-request-method", method)
            .header(
                "access-control-request-headers",
                "mcp-protocol-version, content-type",
            )
            .send()
    };
    for (path, method) in [
        ("/.well-known/oauth-protected-resource/mcp", "GET"),
        ("/.well-known/oauth-authorization-server", "GET"),
        ("/register", "POST"),
        ("/token", "POST"),
        ("/revoke", "POST"),
    ] {
        let resp = preflight(path, method).await.unwrap();
        assert_eq!(resp.status().as_u16(), 204, "{path}");
        let h = resp.headers();
        assert_eq!(h["access-control-allow-origin"], "*", "{path}");
        assert!(
            h["access-control-allow-methods"]
                .to_str()
                .unwrap()
                .contains(method),
            "{path}"
        );
        assert_eq!(
            h["access-control-allow-headers"], "mcp-protocol-version, content-type",
            "{path}"
        );
        assert!(
            h.get("access-control-allow-credentials").is_none(),
            "{path}"
        );
    }
    // The pages a browser navigates to are not for cross-origin scripts.
    for path in ["/authorize", "/authorize/consent", "/oauth/callback"] {
        let resp = preflight(path, "POST").await.unwrap();
        assert!(
            resp.headers().get("access-control-allow-origin").is_none(),
            "{path}: {}",
            resp.status()
        );
    }
}
