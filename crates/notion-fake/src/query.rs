//! Data-source query semantics: filter evaluation (compound and/or, property and timestamp
//! filters for the common types) and multi-key sorting; also ISO date parsing.

use std::cmp::Ordering;

use serde_json::Value;
use time::OffsetDateTime;
use uuid::Uuid;

use crate::errors::{ApiError, ApiResult};
use crate::ids::parse_id;
use crate::richtext::plain_text;
use crate::state::{DataSource, Page, PropSchema, State};

/// Parses `YYYY-MM-DD` (midnight UTC) or an RFC 3339 date-time.
pub fn parse_date(raw: &str) -> Option<OffsetDateTime> {
    if raw.len() == 10 {
        let fmt = time::macros::format_description!("[year]-[month]-[day]");
        return time::Date::parse(raw, &fmt)
            .ok()
            .map(|d| d.midnight().assume_utc());
    }
    OffsetDateTime::parse(raw, &time::format_description::well_known::Rfc3339).ok()
}

/// Everything needed to evaluate filters for rows of one data source.
pub struct QueryCtx<'a> {
    pub state: &'a State,
    pub ds: &'a DataSource,
    /// The calling bot (`"me"` in people filters).
    pub me: Uuid,
}

fn invalid(path: &str, v: &Value) -> ApiError {
    ApiError::should_be(path, "a valid filter", v)
}

/// Whether `page` passes `filter`.
pub fn matches(ctx: &QueryCtx, page: &Page, filter: &Value, path: &str) -> ApiResult<bool> {
    let obj = filter.as_object().ok_or_else(|| invalid(path, filter))?;
    if obj.is_empty() {
        return Ok(true);
    }
    for (key, any) in [("and", false), ("or", true)] {
        if let Some(list) = obj.get(key) {
            let items = list
                .as_array()
                .ok_or_else(|| invalid(&format!("{path}.{key}"), list))?;
            if items.len() > 100 {
                return Err(ApiError::body_validation(format!(
                    "{path}.{key}.length should be ≤ `100`, instead was `{}`.",
                    items.len()
                )));
            }
            for (i, f) in items.iter().enumerate() {
                let hit = matches(ctx, page, f, &format!("{path}.{key}[{i}]"))?;
                if hit == any {
                    return Ok(any);
                }
            }
            return Ok(!any);
        }
    }
    if let Some(ts) = obj.get("timestamp").and_then(Value::as_str) {
        let cond = obj.get(ts).ok_or_else(|| invalid(path, filter))?;
        let t = match ts {
            "created_time" => page.created.time,
            "last_edited_time" => page.edited.time,
            _ => return Err(invalid(&format!("{path}.timestamp"), &obj["timestamp"])),
        };
        return date_cond(ctx, Some(t), cond, &format!("{path}.{ts}"));
    }
    let key = obj
        .get("property")
        .and_then(Value::as_str)
        .ok_or_else(|| invalid(path, filter))?;
    let schema = ctx.ds.prop(key).ok_or_else(|| {
        ApiError::validation(format!("Could not find property with name or id: {key}"))
    })?;
    let (cond_key, cond) = obj
        .iter()
        .find(|(k, _)| k.as_str() != "property" && k.as_str() != "type")
        .ok_or_else(|| invalid(path, filter))?;
    let cpath = format!("{path}.{cond_key}");
    property_cond(ctx, page, schema, cond, &cpath)
}

fn op(cond: &Value, path: &str) -> ApiResult<(String, Value)> {
    let obj = cond.as_object().ok_or_else(|| invalid(path, cond))?;
    let (k, v) = obj.iter().next().ok_or_else(|| invalid(path, cond))?;
    Ok((k.clone(), v.clone()))
}

fn unknown_op(path: &str, op: &str) -> ApiError {
    ApiError::body_validation(format!("{path}.{op} is not a supported filter condition."))
}

fn stored<'a>(page: &'a Page, schema: &PropSchema) -> Option<&'a Value> {
    page.properties.get(&schema.id)
}

fn property_cond(
    ctx: &QueryCtx,
    page: &Page,
    schema: &PropSchema,
    cond: &Value,
    path: &str,
) -> ApiResult<bool> {
    let value = stored(page, schema);
    match schema.kind.as_str() {
        "title" | "rich_text" | "url" | "email" | "phone_number" => {
            let text = match value {
                Some(Value::Array(items)) => plain_text(items),
                Some(Value::String(s)) => s.clone(),
                _ => String::new(),
            };
            text_cond(&text, cond, path)
        }
        "number" => number_cond(value.and_then(Value::as_f64), cond, path),
        "unique_id" => number_cond(Some(page.seq as f64), cond, path),
        "checkbox" => {
            let v = value.and_then(Value::as_bool).unwrap_or(false);
            let (o, want) = op(cond, path)?;
            match o.as_str() {
                "equals" => Ok(Some(v) == want.as_bool()),
                "does_not_equal" => Ok(Some(v) != want.as_bool()),
                _ => Err(unknown_op(path, &o)),
            }
        }
        "select" | "status" => {
            let name = value.and_then(|v| v.get("name")).and_then(Value::as_str);
            let (o, want) = op(cond, path)?;
            match o.as_str() {
                "equals" => Ok(name.is_some() && name == want.as_str()),
                "does_not_equal" => Ok(name != want.as_str()),
                "is_empty" => Ok(name.is_none()),
                "is_not_empty" => Ok(name.is_some()),
                _ => Err(unknown_op(path, &o)),
            }
        }
        "multi_select" => {
            let names: Vec<&str> = value
                .and_then(Value::as_array)
                .map(|a| a.iter().filter_map(|o| o["name"].as_str()).collect())
                .unwrap_or_default();
            list_cond(&names, cond, path, |v| v.as_str().map(str::to_string))
        }
        "people" | "relation" => {
            let ids: Vec<&str> = value
                .and_then(Value::as_array)
                .map(|a| a.iter().filter_map(Value::as_str).collect())
                .unwrap_or_default();
            let me = ctx.me;
            list_cond(&ids, cond, path, |v| match v.as_str() {
                Some("me") => Some(crate::ids::fmt_id(&me)),
                Some(s) => parse_id(s).map(|u| crate::ids::fmt_id(&u)),
                None => None,
            })
        }
        "created_by" | "last_edited_by" => {
            let by = if schema.kind == "created_by" {
                page.created.by
            } else {
                page.edited.by
            };
            let id = crate::ids::fmt_id(&by);
            let me = ctx.me;
            list_cond(&[id.as_str()], cond, path, |v| match v.as_str() {
                Some("me") => Some(crate::ids::fmt_id(&me)),
                Some(s) => parse_id(s).map(|u| crate::ids::fmt_id(&u)),
                None => None,
            })
        }
        "date" => {
            let t = value
                .and_then(|v| v.get("start"))
                .and_then(Value::as_str)
                .and_then(parse_date)
                .map(|d| d.unix_timestamp());
            date_cond(ctx, t, cond, path)
        }
        "created_time" => date_cond(ctx, Some(page.created.time), cond, path),
        "last_edited_time" => date_cond(ctx, Some(page.edited.time), cond, path),
        "files" => {
            let empty = value.and_then(Value::as_array).is_none_or(Vec::is_empty);
            let (o, _) = op(cond, path)?;
            match o.as_str() {
                "is_empty" => Ok(empty),
                "is_not_empty" => Ok(!empty),
                _ => Err(unknown_op(path, &o)),
            }
        }
        _ => Ok(true),
    }
}

fn text_cond(text: &str, cond: &Value, path: &str) -> ApiResult<bool> {
    let (o, want) = op(cond, path)?;
    let hay = text.to_lowercase();
    let needle = want.as_str().unwrap_or("").to_lowercase();
    Ok(match o.as_str() {
        "equals" => hay == needle,
        "does_not_equal" => hay != needle,
        "contains" => hay.contains(&needle),
        "does_not_contain" => !hay.contains(&needle),
        "starts_with" => hay.starts_with(&needle),
        "ends_with" => hay.ends_with(&needle),
        "is_empty" => text.is_empty(),
        "is_not_empty" => !text.is_empty(),
        _ => return Err(unknown_op(path, &o)),
    })
}

fn number_cond(n: Option<f64>, cond: &Value, path: &str) -> ApiResult<bool> {
    let (o, want) = op(cond, path)?;
    let w = want.as_f64();
    let cmp = |f: fn(f64, f64) -> bool| matches!((n, w), (Some(a), Some(b)) if f(a, b));
    Ok(match o.as_str() {
        "equals" => cmp(|a, b| a == b),
        "does_not_equal" => !cmp(|a, b| a == b),
        "greater_than" => cmp(|a, b| a > b),
        "less_than" => cmp(|a, b| a < b),
        "greater_than_or_equal_to" => cmp(|a, b| a >= b),
        "less_than_or_equal_to" => cmp(|a, b| a <= b),
        "is_empty" => n.is_none(),
        "is_not_empty" => n.is_some(),
        _ => return Err(unknown_op(path, &o)),
    })
}

fn list_cond<F>(items: &[&str], cond: &Value, path: &str, norm: F) -> ApiResult<bool>
where
    F: Fn(&Value) -> Option<String>,
{
    let (o, want) = op(cond, path)?;
    let want = norm(&want);
    let has = want.as_ref().is_some_and(|w| items.iter().any(|i| i == w));
    Ok(match o.as_str() {
        "contains" => has,
        "does_not_contain" => !has,
        "is_empty" => items.is_empty(),
        "is_not_empty" => !items.is_empty(),
        _ => return Err(unknown_op(path, &o)),
    })
}

fn date_cond(ctx: &QueryCtx, t: Option<i64>, cond: &Value, path: &str) -> ApiResult<bool> {
    let (o, want) = op(cond, path)?;
    let now = ctx.state.clock.now;
    const DAY: i64 = 86_400;
    let within = |from: i64, to: i64| t.is_some_and(|v| v >= from && v <= to);
    let relative = match o.as_str() {
        "is_empty" => Some(t.is_none()),
        "is_not_empty" => Some(t.is_some()),
        "past_week" => Some(within(now - 7 * DAY, now)),
        "past_month" => Some(within(now - 30 * DAY, now)),
        "past_year" => Some(within(now - 365 * DAY, now)),
        "next_week" => Some(within(now, now + 7 * DAY)),
        "next_month" => Some(within(now, now + 30 * DAY)),
        "next_year" => Some(within(now, now + 365 * DAY)),
        "this_week" => {
            let start = OffsetDateTime::from_unix_timestamp(now)
                .map(|d| {
                    let back = i64::from(d.weekday().number_days_from_monday());
                    d.date().midnight().assume_utc().unix_timestamp() - back * DAY
                })
                .unwrap_or(now);
            Some(within(start, start + 7 * DAY - 1))
        }
        _ => None,
    };
    if let Some(hit) = relative {
        return Ok(hit);
    }
    let raw = want.as_str().unwrap_or("");
    let w = parse_date(raw).ok_or_else(|| {
        ApiError::should_be(
            &format!("{path}.{o}"),
            "a valid ISO 8601 date string",
            &want,
        )
    })?;
    let Some(v) = t else { return Ok(false) };
    let date_only = raw.len() == 10;
    let (v, w) = if date_only {
        (v.div_euclid(DAY), w.unix_timestamp().div_euclid(DAY))
    } else {
        (v, w.unix_timestamp())
    };
    Ok(match o.as_str() {
        "equals" => v == w,
        "before" => v < w,
        "after" => v > w,
        "on_or_before" => v <= w,
        "on_or_after" => v >= w,
        _ => return Err(unknown_op(path, &o)),
    })
}

/// A sortable value; `Missing` sorts last in both directions.
#[derive(Debug, Clone, PartialEq, PartialOrd)]
enum Key {
    Num(f64),
    Text(String),
    Missing,
}

fn sort_key(ctx: &QueryCtx, page: &Page, sort: &Value) -> ApiResult<Key> {
    if let Some(ts) = sort.get("timestamp").and_then(Value::as_str) {
        return match ts {
            "created_time" => Ok(Key::Num(page.created.time as f64)),
            "last_edited_time" => Ok(Key::Num(page.edited.time as f64)),
            _ => Err(invalid("body.sorts.timestamp", sort)),
        };
    }
    let key = sort
        .get("property")
        .and_then(Value::as_str)
        .ok_or_else(|| invalid("body.sorts", sort))?;
    let schema = ctx.ds.prop(key).ok_or_else(|| {
        ApiError::validation(format!(
            "Could not find sort property with name or id: {key}"
        ))
    })?;
    let v = stored(page, schema);
    Ok(match schema.kind.as_str() {
        "title" | "rich_text" => match v.and_then(Value::as_array).map(|a| plain_text(a)) {
            Some(s) if !s.is_empty() => Key::Text(s.to_lowercase()),
            _ => Key::Missing,
        },
        "number" => v
            .and_then(Value::as_f64)
            .map(Key::Num)
            .unwrap_or(Key::Missing),
        "checkbox" => Key::Num(if v.and_then(Value::as_bool).unwrap_or(false) {
            1.0
        } else {
            0.0
        }),
        "select" | "status" => {
            let name = v.and_then(|o| o.get("name")).and_then(Value::as_str);
            let options = schema.config["options"]
                .as_array()
                .cloned()
                .unwrap_or_default();
            name.and_then(|n| options.iter().position(|o| o["name"].as_str() == Some(n)))
                .map(|i| Key::Num(i as f64))
                .unwrap_or(Key::Missing)
        }
        "multi_select" => v
            .and_then(|a| a.get(0))
            .and_then(|o| o["name"].as_str())
            .map(|s| Key::Text(s.to_lowercase()))
            .unwrap_or(Key::Missing),
        "date" => v
            .and_then(|d| d.get("start"))
            .and_then(Value::as_str)
            .and_then(parse_date)
            .map(|d| Key::Num(d.unix_timestamp() as f64))
            .unwrap_or(Key::Missing),
        "people" => v
            .and_then(|a| a.get(0))
            .and_then(Value::as_str)
            .and_then(parse_id)
            .and_then(|id| ctx.state.users.get(&id))
            .map(|u| Key::Text(u.name.to_lowercase()))
            .unwrap_or(Key::Missing),
        "url" | "email" | "phone_number" => v
            .and_then(Value::as_str)
            .map(|s| Key::Text(s.to_lowercase()))
            .unwrap_or(Key::Missing),
        "created_time" => Key::Num(page.created.time as f64),
        "last_edited_time" => Key::Num(page.edited.time as f64),
        "unique_id" => Key::Num(page.seq as f64),
        _ => Key::Missing,
    })
}

fn compare(a: &Key, b: &Key, descending: bool) -> Ordering {
    match (a, b) {
        (Key::Missing, Key::Missing) => Ordering::Equal,
        (Key::Missing, _) => Ordering::Greater,
        (_, Key::Missing) => Ordering::Less,
        _ => {
            let o = a.partial_cmp(b).unwrap_or(Ordering::Equal);
            if descending { o.reverse() } else { o }
        }
    }
}

/// Sorts `pages` in place by the `sorts` array (stable; first key wins).
pub fn sort_pages(ctx: &QueryCtx, pages: &mut Vec<&Page>, sorts: &Value) -> ApiResult<()> {
    let Some(list) = sorts.as_array() else {
        return if sorts.is_null() {
            Ok(())
        } else {
            Err(invalid("body.sorts", sorts))
        };
    };
    if list.is_empty() {
        return Ok(());
    }
    let mut keyed = Vec::with_capacity(pages.len());
    for p in pages.iter() {
        let mut keys = Vec::with_capacity(list.len());
        for s in list {
            keys.push(sort_key(ctx, p, s)?);
        }
        keyed.push((keys, *p));
    }
    let descending: Vec<bool> = list
        .iter()
        .map(|s| s.get("direction").and_then(Value::as_str) == Some("descending"))
        .collect();
    keyed.sort_by(|(a, _), (b, _)| {
        a.iter()
            .zip(b.iter())
            .zip(descending.iter())
            .map(|((x, y), d)| compare(x, y, *d))
            .find(|o| *o != Ordering::Equal)
            .unwrap_or(Ordering::Equal)
    });
    *pages = keyed.into_iter().map(|(_, p)| p).collect();
    Ok(())
}
