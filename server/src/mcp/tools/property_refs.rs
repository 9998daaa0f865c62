//! People and relation values given the way a person would say them: a user by name or email, a
//! related page by its title. Before readable property values are converted, every such entry that
//! is not an id is looked up and replaced by its id:
//!
//! - people: through the workspace's user list, read at most once per call (paced and cached like
//!   `list_users`); names match case-insensitively, emails exactly;
//! - relations: in the related data source the schema names, with a title `equals` query per
//!   distinct title (a unique exact-case match wins over case variants).
//!
//! Several matches are an error listing the candidates; none is an error saying what to send.

use crate::mcp::context::ToolCtx;
use crate::mcp::error::ToolError;
use crate::notion::relations::relation_target;
use crate::notion::{endpoints, pagination};
use notion_model::ids;
use notion_model::readable;
use notion_model::types::{Page, User};
use serde_json::{Map, Value, json};
use std::collections::HashMap;

/// Most users read to resolve names (as `list_users` at most).
const MAX_USERS: usize = 1000;
/// Most pages one title lookup reads (enough to list the candidates of an ambiguous title).
const TITLE_MATCHES: u32 = 10;

/// Lookups made while resolving one call's properties, so each list or title is read once.
#[derive(Default)]
struct Lookups {
    users: Option<pagination::Collected<User>>,
    titles: HashMap<(String, String), String>,
}

/// `input` with the names and titles in its people and relation values replaced by ids, using the
/// data source `schema` (name → `{id, type, …}`). Other values are returned unchanged.
pub(crate) async fn resolve(
    ctx: &ToolCtx,
    schema: &Map<String, Value>,
    input: &Map<String, Value>,
) -> Result<Map<String, Value>, ToolError> {
    let mut out = input.clone();
    let mut lookups = Lookups::default();
    for (key, raw) in input {
        let Some((_, entry)) = readable::find_property(schema, key) else {
            continue;
        };
        let kind = entry.get("type").and_then(Value::as_str).unwrap_or("");
        if !matches!(kind, "people" | "relation") || readable::is_raw_value(kind, raw) {
            continue;
        }
        let field = format!("properties.{key}");
        let target = Target { kind, entry };
        if let Some(ids) = resolve_value(ctx, &mut lookups, &target, &field, raw).await? {
            out.insert(key.clone(), Value::Array(ids));
        }
    }
    Ok(out)
}

/// The property a value is for.
struct Target<'a> {
    kind: &'a str,
    entry: &'a Value,
}

/// The ids of one value, or `None` when it holds no name (left to the readable conversion).
async fn resolve_value(
    ctx: &ToolCtx,
    lookups: &mut Lookups,
    target: &Target<'_>,
    field: &str,
    raw: &Value,
) -> Result<Option<Vec<Value>>, ToolError> {
    match raw {
        Value::String(s) => {
            let parts: Vec<&str> = s
                .split(',')
                .map(str::trim)
                .filter(|p| !p.is_empty())
                .collect();
            if parts.iter().all(|p| ids::parse_id(p).is_ok()) {
                return Ok(None);
            }
            // A name may itself hold a comma ("Paris, France"): the whole text first.
            if parts.len() > 1
                && let Some(id) = find(ctx, lookups, target, field, s.trim()).await?
            {
                return Ok(Some(vec![json!(id)]));
            }
            let mut out = Vec::with_capacity(parts.len());
            for p in parts {
                out.push(json!(one(ctx, lookups, target, field, p).await?));
            }
            Ok(Some(out))
        }
        Value::Array(items) => {
            if !items.iter().any(|i| name_of(i).is_some()) {
                return Ok(None);
            }
            let mut out = Vec::with_capacity(items.len());
            for (i, item) in items.iter().enumerate() {
                out.push(match name_of(item) {
                    Some(name) => {
                        json!(one(ctx, lookups, target, &format!("{field}[{i}]"), name).await?)
                    }
                    None => item.clone(),
                });
            }
            Ok(Some(out))
        }
        Value::Object(_) => match name_of(raw) {
            Some(name) => Ok(Some(vec![json!(
                one(ctx, lookups, target, field, name).await?
            )])),
            None => Ok(None),
        },
        _ => Ok(None),
    }
}

/// The name an entry gives instead of an id: a string that is not an id, or an object without an
/// `id` naming its `email`, `name` or `title` (as `{"email": "…"}`).
fn name_of(item: &Value) -> Option<&str> {
    let name = match item {
        Value::String(s) => s.as_str(),
        Value::Object(o) if !o.contains_key("id") => ["email", "name", "title"]
            .iter()
            .find_map(|k| o.get(*k).and_then(Value::as_str))?,
        _ => return None,
    };
    let name = name.trim();
    (!name.is_empty() && ids::parse_id(name).is_err()).then_some(name)
}

/// The id `name` stands for: an id as it is, else the unique match, else an error.
async fn one(
    ctx: &ToolCtx,
    lookups: &mut Lookups,
    target: &Target<'_>,
    field: &str,
    name: &str,
) -> Result<String, ToolError> {
    if let Ok(id) = ids::parse_id(name) {
        return Ok(id);
    }
    match find(ctx, lookups, target, field, name).await? {
        Some(id) => Ok(id),
        None if target.kind == "people" => Err(ToolError::invalid(
            field,
            format!(
                "no user is named \"{name}\" or has that email{}; send a user id, or a name or email \
                 as list_users shows them",
                users_note(lookups)
            ),
        )),
        None => Err(ToolError::invalid(
            field,
            format!(
                "no page titled \"{name}\" in the related data source {}; send the page's id or URL, \
                 or its exact title",
                relation_target(target.entry).unwrap_or_default()
            ),
        )),
    }
}

/// The unique match of `name`; `None` when nothing matches; an error listing several.
async fn find(
    ctx: &ToolCtx,
    lookups: &mut Lookups,
    target: &Target<'_>,
    field: &str,
    name: &str,
) -> Result<Option<String>, ToolError> {
    if target.kind == "people" {
        find_user(ctx, lookups, field, name).await
    } else {
        find_page(ctx, lookups, target.entry, field, name).await
    }
}

async fn find_user(
    ctx: &ToolCtx,
    lookups: &mut Lookups,
    field: &str,
    name: &str,
) -> Result<Option<String>, ToolError> {
    if lookups.users.is_none() {
        let got = pagination::collect(MAX_USERS, None, |cursor, page_size| {
            let ctx = ctx.clone();
            async move {
                endpoints::list_users(&ctx.notion, &ctx.auth, cursor.as_deref(), Some(page_size))
                    .await
            }
        })
        .await?;
        lookups.users = Some(got);
    }
    let users = lookups
        .users
        .as_ref()
        .map(|u| u.items.as_slice())
        .unwrap_or(&[]);
    let by_email = name.contains('@');
    let matches: Vec<&User> = users
        .iter()
        .filter(|u| {
            if by_email {
                email(u) == name
            } else {
                u.name
                    .as_deref()
                    .is_some_and(|n| n.trim().to_lowercase() == name.to_lowercase())
            }
        })
        .collect();
    match matches.as_slice() {
        [] => Ok(None),
        [u] => Ok(Some(u.id.clone())),
        several => {
            let listed: Vec<String> = several
                .iter()
                .map(|u| {
                    let name = u.name.as_deref().unwrap_or("(no name)");
                    match email(u) {
                        "" => format!("{name} ({})", u.id),
                        e => format!("{name} <{e}> ({})", u.id),
                    }
                })
                .collect();
            Err(ToolError::invalid(
                field,
                format!(
                    "\"{name}\" matches {} users: {}; send one of their ids or emails",
                    several.len(),
                    listed.join(", ")
                ),
            ))
        }
    }
}

fn email(u: &User) -> &str {
    u.rest
        .get("person")
        .and_then(|p| p.get("email"))
        .and_then(Value::as_str)
        .unwrap_or("")
}

/// Said when the user list was cut at [`MAX_USERS`].
fn users_note(lookups: &Lookups) -> String {
    match &lookups.users {
        Some(u) if u.truncated() => format!(" among the first {MAX_USERS} users"),
        _ => String::new(),
    }
}

async fn find_page(
    ctx: &ToolCtx,
    lookups: &mut Lookups,
    entry: &Value,
    field: &str,
    title: &str,
) -> Result<Option<String>, ToolError> {
    let Some(ds) = relation_target(entry) else {
        return Err(ToolError::invalid(
            field,
            format!("the relation names no data source to look \"{title}\" up in; send page ids"),
        ));
    };
    let key = (ds.clone(), title.to_string());
    if let Some(id) = lookups.titles.get(&key) {
        return Ok(Some(id.clone()));
    }
    // The title property's id is always "title".
    let body = json!({"filter": {"property": "title", "title": {"equals": title}}});
    let rows = endpoints::query_data_source(
        &ctx.notion,
        &ctx.auth,
        &ds,
        body,
        &[],
        None,
        Some(TITLE_MATCHES),
    )
    .await
    .map_err(|e| match e.status() {
        Some(403 | 404) => ToolError::invalid(
            field,
            format!(
                "the related data source {ds} is not shared with this integration, so \"{title}\" \
                 cannot be looked up; send page ids"
            ),
        ),
        _ => ToolError::Notion(e),
    })?;
    let exact: Vec<&Page> = rows
        .results
        .iter()
        .filter(|p| p.title().trim() == title)
        .collect();
    let id = match (exact.as_slice(), rows.results.as_slice()) {
        ([one], _) => one.id.clone(),
        ([], [one]) => one.id.clone(),
        (_, []) => return Ok(None),
        (_, several) => {
            let listed: Vec<String> = several
                .iter()
                .map(|p| format!("\"{}\" ({})", p.title().trim(), p.id))
                .collect();
            let more = if rows.has_more { ", …" } else { "" };
            return Err(ToolError::invalid(
                field,
                format!(
                    "{} pages of the related data source are titled \"{title}\": {}{more}; send \
                     the id of the one you mean",
                    several.len(),
                    listed.join(", ")
                ),
            ));
        }
    };
    lookups.titles.insert(key, id.clone());
    Ok(Some(id))
}
