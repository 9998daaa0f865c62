//! The sign-in page of the fake's OAuth `authorize`, when [`crate::FakeNotion::set_oauth_login_page`]
//! turns it on (the `demo --oauth` flow): "Sign in as <user>", the workspace's top-level pages with
//! checkboxes, Allow and Cancel. The pages ticked are all the grant can see (and what is under them);
//! Cancel sends `error=access_denied` back to the client.
//!
//! `GET /v1/oauth/authorize` checks the request as the auto-approving endpoint does, keeps it under a
//! random single-use form token and shows the page; `POST /v1/oauth/authorize` (the form) takes the
//! token, so a form can be answered once and only by whoever was shown it. The client's `state` rides
//! along untouched; every name on the page is HTML-escaped.

use std::collections::HashSet;
use std::time::{Duration, Instant};

use axum::body::Body;
use axum::response::Response;
use http::{Method, StatusCode, header};
use rand::Rng;
use uuid::Uuid;

use crate::ids::fmt_id;
use crate::routes::oauth::{self, AuthorizeRequest, OAuthReply};
use crate::state::{Parent, State};

/// How long a shown page can be answered.
const FORM_TTL: Duration = Duration::from_secs(600);
/// The form's action (the page answers itself).
const AUTHORIZE_PATH: &str = "/v1/oauth/authorize";

/// An authorize request shown on the page, waiting for Allow or Cancel.
#[derive(Debug, Clone)]
pub struct PendingLogin {
    request: AuthorizeRequest,
    expires_at: Instant,
}

/// Whether the page handles this request (it is on, and the request is for `authorize`).
pub fn handles(state: &State, method: &Method, path: &str) -> bool {
    state.oauth.login_page
        && path == AUTHORIZE_PATH
        && (method == Method::GET || method == Method::POST)
}

/// Answers `GET` (the page) or `POST` (the form) of `/v1/oauth/authorize`.
pub fn handle(
    state: &mut State,
    method: &Method,
    query: &[(String, String)],
    form: &[(String, String)],
) -> Response {
    if method == Method::POST {
        return reply(submit(state, form));
    }
    match oauth::check_authorize(state, query) {
        Ok(request) => show(state, request),
        Err(refused) => reply(refused),
    }
}

/// Keeps `request` under a fresh form token and renders the page for it.
fn show(state: &mut State, request: AuthorizeRequest) -> Response {
    let now = Instant::now();
    state.oauth.pending_logins.retain(|_, p| p.expires_at > now);
    // Not the model's seeded generator: the token must not be predictable.
    let token: String = {
        let mut rng = rand::rng();
        (0..32)
            .map(|_| format!("{:x}", rng.random_range(0..16u8)))
            .collect()
    };
    let html = page(state, &request, &token);
    state.oauth.pending_logins.insert(
        token,
        PendingLogin {
            request,
            expires_at: now + FORM_TTL,
        },
    );
    html_response(StatusCode::OK, html)
}

/// The form's answer: the pending request it names (taken), approved for the ticked pages or refused.
fn submit(state: &mut State, form: &[(String, String)]) -> OAuthReply {
    let field = |key: &str| form.iter().find(|(k, _)| k == key).map(|(_, v)| v.as_str());
    let pending = field("form_token").and_then(|t| state.oauth.pending_logins.remove(t));
    let Some(pending) = pending.filter(|p| p.expires_at > Instant::now()) else {
        return OAuthReply::Json(
            400,
            serde_json::json!({"error": "invalid_request",
                "error_description": "This sign-in form expired or was already answered. Start the connection again from your MCP client."}),
        );
    };
    if field("decision") != Some("allow") {
        return pending.request.refuse("access_denied");
    }
    let offered: HashSet<Uuid> = offered(state, pending.request.workspace_id)
        .into_iter()
        .map(|o| o.id)
        .collect();
    let chosen: HashSet<Uuid> = form
        .iter()
        .filter(|(k, _)| k == "page")
        .filter_map(|(_, v)| Uuid::parse_str(v).ok())
        .filter(|id| offered.contains(id))
        .collect();
    oauth::approve(state, &pending.request, Some(chosen))
}

/// A page or database the sign-in page offers.
struct Offered {
    id: Uuid,
    title: String,
    /// Under a top-level page (shown indented; ticking its parent shares it too).
    nested: bool,
}

/// What the page offers: the workspace's top-level pages and databases, each followed by the pages and
/// databases directly inside it, by title.
fn offered(state: &State, workspace: Uuid) -> Vec<Offered> {
    let inside = |parent: Option<Uuid>| {
        let matches = move |p: &Parent| match parent {
            None => *p == Parent::Workspace,
            Some(id) => matches!(p, Parent::Page(x) if *x == id),
        };
        let pages = state
            .pages
            .values()
            .filter(|p| p.workspace_id == workspace && matches(&p.parent) && !p.in_trash)
            .map(|p| (p.id, state.page_title(p)));
        let databases = state
            .databases
            .values()
            .filter(|d| d.workspace_id == workspace && matches(&d.parent) && !d.in_trash)
            .map(|d| (d.id, crate::richtext::plain_text(&d.title)));
        let mut all: Vec<(Uuid, String)> = pages.chain(databases).collect();
        all.sort_by(|a, b| a.1.cmp(&b.1).then(a.0.cmp(&b.0)));
        all
    };
    let mut out = Vec::new();
    for (id, title) in inside(None) {
        out.push(Offered {
            id,
            title,
            nested: false,
        });
        out.extend(inside(Some(id)).into_iter().map(|(id, title)| Offered {
            id,
            title,
            nested: true,
        }));
    }
    out
}

/// Escapes text for HTML element content and quoted attribute values.
fn escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

fn page(state: &State, request: &AuthorizeRequest, token: &str) -> String {
    let user = state.users.get(&request.user_id);
    let user_name = user.map(|u| u.name.as_str()).unwrap_or("a Notion user");
    let email = user
        .and_then(|u| u.email.as_deref())
        .map(|e| format!(" <span class=\"muted\">({})</span>", escape(e)))
        .unwrap_or_default();
    let workspace = state
        .workspaces
        .get(&request.workspace_id)
        .map(|w| w.name.as_str())
        .unwrap_or("your workspace");
    let integration = state
        .oauth
        .clients
        .get(&request.client_id)
        .map(|c| c.name.as_str())
        .unwrap_or("An integration");
    let mut items = String::new();
    for (i, item) in offered(state, request.workspace_id).iter().enumerate() {
        let title = if item.title.is_empty() {
            "Untitled"
        } else {
            &item.title
        };
        // Top-level pages start ticked (everything shared); pages inside them can be picked instead.
        let (class, checked) = if item.nested {
            (" class=\"nested\"", "")
        } else {
            ("", " checked")
        };
        items.push_str(&format!(
            "<li{class}><input type=\"checkbox\" name=\"page\" id=\"page-{i}\" value=\"{}\"{checked}> \
             <label for=\"page-{i}\">{}</label></li>\n",
            fmt_id(&item.id),
            escape(title)
        ));
    }
    if items.is_empty() {
        items.push_str("<li>This workspace has no pages to share.</li>\n");
    }
    format!(
        r#"<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>Sign in to {workspace_t} (fake Notion)</title>
<style>
body {{ font: 16px/1.5 system-ui, sans-serif; margin: 0; background: #f7f6f3; color: #37352f; }}
main {{ max-width: 32rem; margin: 3rem auto; background: #fff; padding: 2rem; border-radius: 8px;
  box-shadow: 0 1px 3px rgba(0,0,0,.15); }}
h1 {{ font-size: 1.4rem; margin-top: 0; }}
.muted {{ color: #6b6a66; }}
fieldset {{ border: 1px solid #ddd; border-radius: 6px; padding: .75rem 1rem; }}
ul {{ list-style: none; padding: 0; margin: .5rem 0 0; }}
li {{ padding: .2rem 0; }}
li.nested {{ padding-left: 1.75rem; }}
input[type=checkbox] {{ width: 1.1rem; height: 1.1rem; vertical-align: -0.15rem; }}
.actions {{ display: flex; gap: .75rem; margin-top: 1.5rem; }}
button {{ font: inherit; padding: .5rem 1.25rem; border-radius: 6px; border: 1px solid #37352f;
  background: #fff; cursor: pointer; }}
button.primary {{ background: #2383e2; border-color: #2383e2; color: #fff; }}
button:focus-visible, input:focus-visible {{ outline: 3px solid #f5a623; outline-offset: 2px; }}
</style>
</head>
<body>
<main>
<p class="muted">Fake Notion (demo): no password, nothing leaves this machine.</p>
<h1>Sign in as {user}{email}</h1>
<p><strong>{integration_t}</strong> wants to access <strong>{workspace_t}</strong>. It will see only the pages
you select below, and what is inside them.</p>
<form method="post" action="{AUTHORIZE_PATH}">
<input type="hidden" name="form_token" value="{token}">
<fieldset>
<legend>Pages to share (a page shares everything inside it)</legend>
<ul>
{items}</ul>
</fieldset>
<div class="actions">
<button type="submit" name="decision" value="allow" class="primary">Allow access</button>
<button type="submit" name="decision" value="cancel">Cancel</button>
</div>
</form>
</main>
</body>
</html>
"#,
        user = escape(user_name),
        workspace_t = escape(workspace),
        integration_t = escape(integration),
    )
}

fn html_response(status: StatusCode, html: String) -> Response {
    Response::builder()
        .status(status)
        .header(header::CONTENT_TYPE, "text/html; charset=utf-8")
        .header(header::CACHE_CONTROL, "no-store")
        .header("x-frame-options", "DENY")
        .header(
            header::CONTENT_SECURITY_POLICY,
            "default-src 'none'; style-src 'unsafe-inline'; base-uri 'none'; frame-ancestors 'none'",
        )
        .header(header::REFERRER_POLICY, "no-referrer")
        .body(Body::from(html))
        .unwrap_or_else(|_| Response::new(Body::empty()))
}

/// An [`OAuthReply`] as an HTTP response (errors as JSON, as Notion answers them).
fn reply(reply: OAuthReply) -> Response {
    let (status, body, location) = match reply {
        OAuthReply::Json(status, body) => (status, Some(body), None),
        OAuthReply::Redirect(to) => (302, None, Some(to)),
    };
    let mut builder = Response::builder()
        .status(StatusCode::from_u16(status).unwrap_or(StatusCode::BAD_REQUEST))
        .header(header::CACHE_CONTROL, "no-store");
    if let Some(to) = location {
        builder = builder.header(header::LOCATION, to);
    }
    let body = match body {
        Some(json) => {
            builder = builder.header(header::CONTENT_TYPE, "application/json");
            Body::from(json.to_string())
        }
        None => Body::empty(),
    };
    builder
        .body(body)
        .unwrap_or_else(|_| Response::new(Body::empty()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_are_escaped() {
        assert_eq!(
            escape(r#"<script>alert("x")</script> & 'y'"#),
            "&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt; &amp; &#39;y&#39;"
        );
    }
}
