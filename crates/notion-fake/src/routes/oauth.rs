//! Public-integration OAuth: auto-approving `authorize` (or, with the login page on, the checks and
//! approval behind `crate::login_page`), `token` (authorization_code and
//! refresh_token grants with rotation), `revoke` and `introspect`, with OAuth-shaped errors.

use std::collections::HashSet;
use std::time::Instant;

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use http::Method;
use serde_json::{Value, json};
use uuid::Uuid;

use crate::ids::{fixture_id, fmt_id};
use crate::render;
use crate::state::{
    AccessToken, AuthCode, Bot, BotOwner, Capabilities, OAuthClient, RefreshToken, State,
};

/// What an OAuth endpoint answers.
pub enum OAuthReply {
    Json(u16, Value),
    Redirect(String),
}

fn err(status: u16, error: &str, description: &str) -> OAuthReply {
    OAuthReply::Json(
        status,
        json!({"error": error, "error_description": description}),
    )
}

fn param<'a>(query: &'a [(String, String)], key: &str) -> Option<&'a str> {
    query
        .iter()
        .find(|(k, _)| k == key)
        .map(|(_, v)| v.as_str())
}

/// Routes `/v1/oauth/<sub>`.
pub fn handle(
    state: &mut State,
    method: &Method,
    sub: &str,
    query: &[(String, String)],
    authorization: Option<&str>,
    body: &Value,
) -> OAuthReply {
    match (method.as_str(), sub) {
        ("GET", "authorize") => authorize(state, query),
        ("POST", "token") | ("POST", "revoke") | ("POST", "introspect") => {
            let client = match client_auth(state, authorization) {
                Ok(c) => c,
                Err(reply) => return reply,
            };
            match sub {
                "token" => token(state, &client, body),
                "revoke" => revoke(state, body),
                _ => introspect(state, body),
            }
        }
        _ => err(400, "invalid_request", "Invalid request URL."),
    }
}

fn client_auth(state: &State, authorization: Option<&str>) -> Result<OAuthClient, OAuthReply> {
    let invalid = || {
        err(
            401,
            "invalid_client",
            "Client authentication failed: invalid client_id or client_secret.",
        )
    };
    let encoded = authorization
        .and_then(|h| {
            h.strip_prefix("Basic ")
                .or_else(|| h.strip_prefix("basic "))
        })
        .ok_or_else(invalid)?;
    let decoded = STANDARD
        .decode(encoded.trim())
        .ok()
        .and_then(|b| String::from_utf8(b).ok())
        .ok_or_else(invalid)?;
    let (id, secret) = decoded.split_once(':').ok_or_else(invalid)?;
    match state.oauth.clients.get(id) {
        Some(c) if c.client_secret == secret => Ok(c.clone()),
        _ => Err(invalid()),
    }
}

fn with_params(base: &str, pairs: &[(&str, &str)]) -> String {
    match url::Url::parse(base) {
        Ok(mut u) => {
            {
                let mut q = u.query_pairs_mut();
                for (k, v) in pairs {
                    q.append_pair(k, v);
                }
            }
            u.to_string()
        }
        Err(_) => base.to_string(),
    }
}

fn pick_workspace(state: &State, wanted: Option<&str>) -> Option<Uuid> {
    let wanted = wanted
        .map(str::to_string)
        .or_else(|| state.oauth.default_workspace.clone());
    match wanted {
        Some(w) => state
            .workspaces
            .values()
            .find(|ws| ws.name == w || ws.id == fixture_id(&w))
            .map(|ws| ws.id),
        None => state.workspaces.keys().next().copied(),
    }
}

fn authorize(state: &mut State, query: &[(String, String)]) -> OAuthReply {
    match check_authorize(state, query) {
        Ok(request) => {
            let shared: Option<HashSet<Uuid>> = param(query, "fake_share").map(|s| {
                s.split(',')
                    .filter(|x| !x.is_empty())
                    .map(fixture_id)
                    .collect()
            });
            approve(state, &request, shared)
        }
        Err(reply) => reply,
    }
}

/// A checked `authorize` request, waiting for the user's answer: who logs in to which workspace, and
/// where the answer goes.
#[derive(Debug, Clone)]
pub struct AuthorizeRequest {
    pub client_id: String,
    /// The `redirect_uri` the request named (the token exchange must repeat it), if any.
    pub given_redirect: Option<String>,
    /// Where the answer goes: the named or the only registered redirect URI.
    pub redirect: String,
    pub state: String,
    pub workspace_id: Uuid,
    pub user_id: Uuid,
}

impl AuthorizeRequest {
    /// The redirect carrying `error` (and the client's `state`).
    pub fn refuse(&self, error: &str) -> OAuthReply {
        let mut pairs = vec![("error", error)];
        if !self.state.is_empty() {
            pairs.push(("state", self.state.as_str()));
        }
        OAuthReply::Redirect(with_params(&self.redirect, &pairs))
    }
}

/// Checks an `authorize` request as Notion does: the client and its redirect URI first (errors shown,
/// never redirected), then the rest (errors redirected to the client); picks the workspace and user.
pub fn check_authorize(
    state: &State,
    query: &[(String, String)],
) -> Result<AuthorizeRequest, OAuthReply> {
    let Some(client) = param(query, "client_id")
        .and_then(|id| state.oauth.clients.get(id))
        .cloned()
    else {
        return Err(err(400, "invalid_client", "Unknown client_id."));
    };
    let given = param(query, "redirect_uri");
    let redirect = match given {
        Some(r) if client.redirect_uris.iter().any(|u| u == r) => r.to_string(),
        Some(_) => {
            return Err(err(
                400,
                "invalid_request",
                "redirect_uri is not registered for this client.",
            ));
        }
        None if client.redirect_uris.len() == 1 => client.redirect_uris[0].clone(),
        None => return Err(err(400, "invalid_request", "redirect_uri is required.")),
    };
    let mut request = AuthorizeRequest {
        client_id: client.client_id.clone(),
        given_redirect: given.map(str::to_string),
        redirect,
        state: param(query, "state").unwrap_or("").to_string(),
        workspace_id: Uuid::nil(),
        user_id: Uuid::nil(),
    };
    if param(query, "response_type") != Some("code") {
        return Err(request.refuse("unsupported_response_type"));
    }
    if param(query, "owner") != Some("user") {
        return Err(request.refuse("invalid_request"));
    }
    if state.oauth.deny || matches!(param(query, "fake_deny"), Some("1" | "true")) {
        return Err(request.refuse("access_denied"));
    }
    let Some(ws) = pick_workspace(state, param(query, "fake_workspace")) else {
        return Err(request.refuse("access_denied"));
    };
    let users = state
        .workspaces
        .get(&ws)
        .map(|w| w.user_ids.clone())
        .unwrap_or_default();
    let user = match param(query, "fake_user") {
        Some(u) => users.iter().copied().find(|id| {
            state.users.get(id).is_some_and(|x| {
                x.name == u || x.email.as_deref() == Some(u) || x.id == fixture_id(u)
            })
        }),
        None => users.first().copied(),
    };
    let Some(user) = user else {
        return Err(request.refuse("access_denied"));
    };
    request.workspace_id = ws;
    request.user_id = user;
    Ok(request)
}

/// Approves `request`: a single-use code for a grant that sees `shared` (and what is under it; `None`:
/// the whole workspace), sent to the client's redirect URI.
pub fn approve(
    state: &mut State,
    request: &AuthorizeRequest,
    shared: Option<HashSet<Uuid>>,
) -> OAuthReply {
    let code = fmt_id(&state.new_id());
    state.oauth.codes.insert(
        code.clone(),
        AuthCode {
            client_id: request.client_id.clone(),
            redirect_uri: request.given_redirect.clone(),
            workspace_id: request.workspace_id,
            user_id: request.user_id,
            shared,
            expires_at: Instant::now() + state.oauth.code_ttl,
            used: false,
        },
    );
    let mut pairs = vec![("code", code.as_str())];
    if !request.state.is_empty() {
        pairs.push(("state", request.state.as_str()));
    }
    OAuthReply::Redirect(with_params(&request.redirect, &pairs))
}

fn grant_response(state: &State, bot: &Bot, access: &str, refresh: &str) -> Value {
    let ws = state.workspaces.get(&bot.workspace_id);
    let owner = match bot.owner {
        BotOwner::User(u) => json!({"type": "user", "user": render::user_by_id(state, &u)}),
        BotOwner::Workspace => json!({"type": "workspace", "workspace": true}),
    };
    json!({
        "access_token": access,
        "token_type": "bearer",
        "refresh_token": refresh,
        "bot_id": fmt_id(&bot.id),
        "workspace_id": fmt_id(&bot.workspace_id),
        "workspace_name": ws.map(|w| w.name.clone()),
        "workspace_icon": ws.and_then(|w| w.icon.clone()),
        "owner": owner,
        "duplicated_template_id": null,
    })
}

fn mint(state: &mut State, bot_id: Uuid, client_id: &str) -> (String, String) {
    let access = state.new_secret("ntn_");
    let refresh = state.new_secret("nrt_");
    let now = state.clock.now;
    state.tokens.insert(
        access.clone(),
        AccessToken {
            bot_id,
            revoked: false,
            issued_at: now,
        },
    );
    state.oauth.refresh_tokens.insert(
        refresh.clone(),
        RefreshToken {
            bot_id,
            client_id: client_id.to_string(),
            used: false,
        },
    );
    state.oauth.current_access.insert(bot_id, access.clone());
    (access, refresh)
}

fn token(state: &mut State, client: &OAuthClient, body: &Value) -> OAuthReply {
    let field = |k: &str| body.get(k).and_then(Value::as_str);
    match field("grant_type") {
        Some("authorization_code") => {
            let Some(code) = field("code") else {
                return err(400, "invalid_request", "code is required.");
            };
            let Some(entry) = state.oauth.codes.get_mut(code) else {
                return err(400, "invalid_grant", "Invalid code.");
            };
            if entry.used
                || entry.client_id != client.client_id
                || entry.expires_at < Instant::now()
            {
                entry.used = true;
                return err(
                    400,
                    "invalid_grant",
                    "Invalid, expired or already used code.",
                );
            }
            entry.used = true;
            let entry = entry.clone();
            let sent = field("redirect_uri");
            match (&entry.redirect_uri, sent) {
                (Some(expected), Some(s)) if expected == s => {}
                (Some(_), Some(_)) => {
                    return err(
                        400,
                        "invalid_grant",
                        "redirect_uri does not match the authorization request.",
                    );
                }
                (Some(_), None) => return err(400, "invalid_request", "redirect_uri is required."),
                (None, Some(_)) if client.redirect_uris.len() == 1 => {
                    return err(
                        400,
                        "invalid_request",
                        "redirect_uri was not part of the authorization request.",
                    );
                }
                (None, Some(s)) if !client.redirect_uris.iter().any(|u| u == s) => {
                    return err(
                        400,
                        "invalid_grant",
                        "redirect_uri is not registered for this client.",
                    );
                }
                (None, None) if client.redirect_uris.len() > 1 => {
                    return err(400, "invalid_request", "redirect_uri is required.");
                }
                _ => {}
            }
            let bot_id = state.new_id();
            let bot = Bot {
                id: bot_id,
                workspace_id: entry.workspace_id,
                name: client.name.clone(),
                owner: BotOwner::User(entry.user_id),
                shared: entry.shared.clone(),
                capabilities: Capabilities::default(),
                client_id: Some(client.client_id.clone()),
            };
            state.bots.insert(bot_id, bot.clone());
            if let Some(ws) = state.workspaces.get_mut(&entry.workspace_id) {
                ws.bot_ids.push(bot_id);
            }
            let (access, refresh) = mint(state, bot_id, &client.client_id);
            OAuthReply::Json(200, grant_response(state, &bot, &access, &refresh))
        }
        Some("refresh_token") => {
            let Some(raw) = field("refresh_token") else {
                return err(400, "invalid_request", "refresh_token is required.");
            };
            let Some(entry) = state.oauth.refresh_tokens.get_mut(raw) else {
                return err(400, "invalid_grant", "Invalid refresh token.");
            };
            if entry.used || entry.client_id != client.client_id {
                return err(
                    400,
                    "invalid_grant",
                    "Invalid or already used refresh token.",
                );
            }
            entry.used = true;
            let bot_id = entry.bot_id;
            state.oauth.refresh_count += 1;
            let Some(bot) = state.bots.get(&bot_id).cloned() else {
                return err(400, "invalid_grant", "The grant was revoked.");
            };
            if !state.oauth.keep_old_access_on_refresh
                && let Some(old) = state.oauth.current_access.get(&bot_id).cloned()
                && let Some(t) = state.tokens.get_mut(&old)
            {
                t.revoked = true;
            }
            let (access, refresh) = mint(state, bot_id, &client.client_id);
            OAuthReply::Json(200, grant_response(state, &bot, &access, &refresh))
        }
        Some(other) => err(
            400,
            "unsupported_grant_type",
            &format!("Unsupported grant_type `{other}`."),
        ),
        None => err(400, "invalid_request", "grant_type is required."),
    }
}

fn revoke(state: &mut State, body: &Value) -> OAuthReply {
    let Some(token) = body.get("token").and_then(Value::as_str) else {
        return err(400, "invalid_request", "token is required.");
    };
    if let Some(t) = state.tokens.get_mut(token) {
        t.revoked = true;
    }
    if let Some(r) = state.oauth.refresh_tokens.get_mut(token) {
        r.used = true;
    }
    OAuthReply::Json(200, json!({}))
}

fn introspect(state: &mut State, body: &Value) -> OAuthReply {
    let Some(token) = body.get("token").and_then(Value::as_str) else {
        return err(400, "invalid_request", "token is required.");
    };
    let scope =
        "read_content update_content insert_content read_comments insert_comments read_user";
    if let Some(t) = state.tokens.get(token) {
        let active = !t.revoked && state.bots.contains_key(&t.bot_id);
        return OAuthReply::Json(
            200,
            json!({"active": active, "scope": scope, "iat": t.issued_at}),
        );
    }
    if let Some(r) = state.oauth.refresh_tokens.get(token) {
        return OAuthReply::Json(200, json!({"active": !r.used, "scope": scope}));
    }
    OAuthReply::Json(200, json!({"active": false}))
}
