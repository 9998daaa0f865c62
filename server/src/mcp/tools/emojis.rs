//! Custom emojis: the workspace's list (shown by `get_self` with `emojis: true`), and `:name:`
//! icons resolved to a custom emoji (the list is kept per connection for a minute, so a run of page
//! writes asks Notion once).

use super::pages_write::arg_error;
use crate::mcp::context::ToolCtx;
use crate::mcp::error::ToolError;
use crate::notion::pagination::MAX_PAGE_SIZE;
use crate::notion::views as api;
use notion_model::readable;
use serde_json::{Value, json};
use std::sync::{Arc, LazyLock};
use std::time::Duration;

/// How long a connection's emoji list is reused.
const LIST_TTL: Duration = Duration::from_secs(60);
/// Most emojis read when resolving a name.
const RESOLVE_BOUND: usize = 2_000;

/// One custom emoji: `{id, name, url}`.
#[derive(Debug, Clone, PartialEq)]
struct Emoji {
    id: String,
    name: String,
    url: String,
}

/// Emoji lists by Notion base URL and connection identity.
static LISTS: LazyLock<moka::sync::Cache<String, Arc<Vec<Emoji>>>> = LazyLock::new(|| {
    moka::sync::Cache::builder()
        .max_capacity(1_000)
        .time_to_live(LIST_TTL)
        .build()
});

/// Every custom emoji of the workspace, one line each (the `get_self` tool with `emojis: true`).
pub(crate) async fn list(ctx: &ToolCtx) -> Result<String, ToolError> {
    let emojis = workspace_emojis(ctx).await?;
    if emojis.is_empty() {
        return Ok("This workspace has no custom emojis.".into());
    }
    let mut out = format!(
        "{} custom emoji(s); use one as an icon with \":name:\".\n",
        emojis.len()
    );
    for e in emojis.iter() {
        out.push_str(&format!("- :{}: — {} {}\n", e.name, e.id, e.url));
    }
    Ok(out.trim_end().to_string())
}

fn parse(item: &Value) -> Option<Emoji> {
    Some(Emoji {
        id: item.get("id")?.as_str()?.to_string(),
        name: item.get("name")?.as_str()?.to_string(),
        url: item
            .get("url")
            .and_then(Value::as_str)
            .unwrap_or("")
            .to_string(),
    })
}

/// The name in `:name:`, if `raw` has that form.
fn custom_name(raw: &str) -> Option<&str> {
    let name = raw.trim().strip_prefix(':')?.strip_suffix(':')?;
    (!name.is_empty() && !name.contains(char::is_whitespace) && !name.contains(':')).then_some(name)
}

/// Every custom emoji of the connection's workspace, from the short-lived list.
async fn workspace_emojis(ctx: &ToolCtx) -> Result<Arc<Vec<Emoji>>, ToolError> {
    let key = format!("{} {}", ctx.notion.base_url(), ctx.auth.identity());
    if let Some(hit) = LISTS.get(&key) {
        return Ok(hit);
    }
    let mut all = Vec::new();
    let mut cursor: Option<String> = None;
    loop {
        let page = api::list_custom_emojis(
            &ctx.notion,
            &ctx.auth,
            None,
            cursor.as_deref(),
            Some(MAX_PAGE_SIZE),
        )
        .await?;
        all.extend(
            page["results"]
                .as_array()
                .into_iter()
                .flatten()
                .filter_map(parse),
        );
        cursor = page
            .get("next_cursor")
            .and_then(Value::as_str)
            .filter(|c| page["has_more"] == json!(true) && !c.is_empty())
            .map(str::to_string);
        if cursor.is_none() || all.len() >= RESOLVE_BOUND {
            break;
        }
    }
    let list = Arc::new(all);
    LISTS.insert(key, list.clone());
    Ok(list)
}

/// For an icon argument of the form `:name:`, the custom-emoji icon of that name; `None` for
/// any other icon (emoji, URL, upload). An unknown name is an error listing the closest names.
async fn custom_icon(
    ctx: &ToolCtx,
    field: &str,
    raw: Option<&str>,
) -> Result<Option<Value>, ToolError> {
    let Some(name) = raw.and_then(custom_name) else {
        return Ok(None);
    };
    let list = workspace_emojis(ctx).await?;
    if let Some(e) = list.iter().find(|e| e.name == name) {
        return Ok(Some(
            json!({"type": "custom_emoji", "custom_emoji": {"id": e.id, "name": e.name, "url": e.url}}),
        ));
    }
    let close = closest(name, &list);
    let hint = if close.is_empty() {
        "this workspace has no custom emojis with a similar name".to_string()
    } else {
        format!("closest: {}", close.join(", "))
    };
    Err(ToolError::invalid(
        field,
        format!("no custom emoji named \"{name}\" ({hint}); list_custom_emojis shows them all"),
    ))
}

/// An icon argument as Notion's icon object: `:name:` a custom emoji, "none" removal (null, when
/// `allow_removal`), otherwise an emoji, image URL or upload id.
pub(crate) async fn icon_value(
    ctx: &ToolCtx,
    field: &str,
    raw: &str,
    allow_removal: bool,
) -> Result<Value, ToolError> {
    if allow_removal && readable::is_removal(raw) {
        return Ok(Value::Null);
    }
    if let Some(icon) = custom_icon(ctx, field, Some(raw)).await? {
        return Ok(icon);
    }
    readable::icon(field, raw).map_err(arg_error)
}

/// Up to five names nearest to `name`: containing it or contained in it first, then by edit distance.
fn closest(name: &str, list: &[Emoji]) -> Vec<String> {
    let wanted = name.to_lowercase();
    let mut scored: Vec<(usize, &str)> = list
        .iter()
        .map(|e| {
            let n = e.name.to_lowercase();
            let score = if n.contains(&wanted) || wanted.contains(&n) {
                0
            } else {
                1 + edit_distance(&wanted, &n)
            };
            (score, e.name.as_str())
        })
        .filter(|(score, n)| *score <= 1 + n.chars().count().max(wanted.chars().count()) / 2)
        .collect();
    scored.sort();
    scored
        .into_iter()
        .take(5)
        .map(|(_, n)| format!(":{n}:"))
        .collect()
}

fn edit_distance(a: &str, b: &str) -> usize {
    let b: Vec<char> = b.chars().collect();
    let mut prev: Vec<usize> = (0..=b.len()).collect();
    for (i, ca) in a.chars().enumerate() {
        let mut cur = vec![i + 1; b.len() + 1];
        for (j, cb) in b.iter().enumerate() {
            let cost = usize::from(ca != *cb);
            cur[j + 1] = (prev[j] + cost).min(prev[j + 1] + 1).min(cur[j] + 1);
        }
        prev = cur;
    }
    prev[b.len()]
}

#[cfg(test)]
mod tests {
    use super::*;

    fn emoji(name: &str) -> Emoji {
        Emoji {
            id: format!("id-{name}"),
            name: name.into(),
            url: String::new(),
        }
    }

    #[test]
    fn only_colon_names_are_custom() {
        assert_eq!(custom_name(":party-parrot:"), Some("party-parrot"));
        assert_eq!(custom_name("🎉"), None);
        assert_eq!(custom_name("::"), None);
        assert_eq!(custom_name(":a b:"), None);
        assert_eq!(custom_name("https://x/y.png"), None);
    }

    #[test]
    fn close_names_come_first_and_far_ones_not_at_all() {
        let list = [
            emoji("parrot"),
            emoji("party-parrot"),
            emoji("shipit"),
            emoji("parot"),
        ];
        let close = closest("parrot2", &list);
        assert_eq!(close.first().map(String::as_str), Some(":parrot:"));
        assert!(close.contains(&":parot:".to_string()), "{close:?}");
        assert!(!close.contains(&":shipit:".to_string()), "{close:?}");
        assert_eq!(edit_distance("kitten", "sitting"), 3);
    }
}
