//! Page property values → compact one-line text for table cells and page headers.

use serde_json::Value;

use super::{escape, rich_text};
use notion_model::types::{PropertyValue, RichText};

/// Renders one property value compactly.
///
/// Rich text is inline Markdown; names (select, status, people, files) are verbatim so they can be
/// reused in filters and updates; checkboxes are `yes`/`no`; numbers keep integers integral;
/// dates are `start → end (time zone)`; relations list page ids (`Title (id)` for items given a
/// `title`). When Notion cut the value at 25 references (`has_more`), the text ends with
/// `…+more: get_page_property property_id=<id>`.
/// Unknown types fall back to compact JSON. Empty values render as an empty string.
pub fn property_value(p: &PropertyValue) -> String {
    let mut s = typed(&p.kind, p.value().unwrap_or(&Value::Null));
    if p.has_more() {
        if !s.is_empty() {
            s.push_str(", ");
        }
        s.push_str("…+more");
        if !p.id.is_empty() {
            s.push_str(": get_page_property property_id=");
            s.push_str(&p.id);
        }
    }
    s
}

/// A value of Notion type `kind` (property, formula result or rollup element).
fn typed(kind: &str, v: &Value) -> String {
    match kind {
        "title" | "rich_text" => rich(v),
        "number" => number(v),
        "select" | "status" => name(v),
        "multi_select" => join(v, name),
        "date" => date(v),
        "people" => join(v, user),
        "created_by" | "last_edited_by" => user(v),
        "files" => join(v, file),
        "checkbox" | "boolean" => match v.as_bool() {
            Some(true) => "yes".to_owned(),
            Some(false) => "no".to_owned(),
            None => String::new(),
        },
        "url" | "email" | "phone_number" | "created_time" | "last_edited_time" | "string" => {
            text(v)
        }
        "formula" => nested(v),
        "relation" => join(v, related_page),
        "rollup" => match str_of(v, "type") {
            "array" => join(v.get("array").unwrap_or(&Value::Null), nested),
            "incomplete" | "unsupported" => str_of(v, "type").to_owned(),
            _ => nested(v),
        },
        "unique_id" => unique_id(v),
        "verification" => verification(v),
        "button" => String::new(),
        "place" | "location" => place(v),
        _ => text(v),
    }
}

/// A relation item: its page id, or `Title (id)` when the server added the page's `title`.
fn related_page(r: &Value) -> String {
    let id = str_of(r, "id");
    match str_of(r, "title") {
        "" => id.to_owned(),
        title => format!("{title} ({id})"),
    }
}

/// A `{type, <type>: value}` object (formula results, rollup results and their array elements).
fn nested(v: &Value) -> String {
    let kind = str_of(v, "type");
    typed(kind, v.get(kind).unwrap_or(&Value::Null))
}

fn str_of<'a>(v: &'a Value, key: &str) -> &'a str {
    v.get(key).and_then(Value::as_str).unwrap_or("")
}

/// Strings verbatim, null empty, anything else compact JSON.
fn text(v: &Value) -> String {
    match v {
        Value::Null => String::new(),
        Value::String(s) => s.clone(),
        Value::Number(_) => number(v),
        other => other.to_string(),
    }
}

fn rich(v: &Value) -> String {
    let items: Vec<RichText> = v
        .as_array()
        .map(|a| {
            a.iter()
                .filter_map(|e| serde_json::from_value(e.clone()).ok())
                .collect()
        })
        .unwrap_or_default();
    rich_text(&items)
}

/// Integers without a fractional part, other numbers in shortest form.
fn number(v: &Value) -> String {
    match v {
        Value::Number(n) if n.is_i64() || n.is_u64() => n.to_string(),
        Value::Number(n) => match n.as_f64() {
            Some(f) if f.is_finite() && f.fract() == 0.0 && f.abs() < 1e15 => {
                format!("{}", f as i64)
            }
            Some(f) => format!("{f}"),
            None => n.to_string(),
        },
        other => text(other),
    }
}

/// Elements of an array rendered with `f` and joined with ", " (empty ones skipped).
fn join(v: &Value, f: impl Fn(&Value) -> String) -> String {
    match v.as_array() {
        Some(items) => items
            .iter()
            .map(f)
            .filter(|s| !s.is_empty())
            .collect::<Vec<_>>()
            .join(", "),
        None => text(v),
    }
}

fn name(v: &Value) -> String {
    match v {
        Value::Object(_) => str_of(v, "name").to_owned(),
        other => text(other),
    }
}

fn user(v: &Value) -> String {
    match str_of(v, "name") {
        "" => str_of(v, "id").to_owned(),
        n => n.to_owned(),
    }
}

fn date(v: &Value) -> String {
    let mut s = str_of(v, "start").to_owned();
    let end = str_of(v, "end");
    if !end.is_empty() {
        s.push_str(" → ");
        s.push_str(end);
    }
    let tz = str_of(v, "time_zone");
    if !tz.is_empty() {
        s.push_str(&format!(" ({tz})"));
    }
    s
}

/// Hosted files by name (their signed URLs expire within the hour), external files as links.
fn file(v: &Value) -> String {
    let name = str_of(v, "name");
    let url = v.get("external").map(|e| str_of(e, "url")).unwrap_or("");
    match (name.is_empty(), url.is_empty()) {
        (_, true) => name.to_owned(),
        (true, false) => url.to_owned(),
        (false, false) => format!("[{}]({})", escape::inline(name), escape::link_dest(url)),
    }
}

fn unique_id(v: &Value) -> String {
    let n = number(v.get("number").unwrap_or(&Value::Null));
    match str_of(v, "prefix") {
        "" => n,
        prefix if n.is_empty() => prefix.to_owned(),
        prefix => format!("{prefix}-{n}"),
    }
}

fn verification(v: &Value) -> String {
    let mut s = str_of(v, "state").to_owned();
    if let Some(by) = v.get("verified_by").filter(|b| b.is_object()) {
        s.push_str(&format!(" by {}", user(by)));
    }
    if let Some(d) = v.get("date").filter(|d| d.is_object()) {
        s.push_str(&format!(" ({})", date(d)));
    }
    s
}

fn place(v: &Value) -> String {
    if !v.is_object() {
        return text(v);
    }
    let mut parts: Vec<String> = ["name", "address"]
        .iter()
        .map(|k| str_of(v, k).to_owned())
        .filter(|s| !s.is_empty())
        .collect();
    if let (Some(lat), Some(lon)) = (v.get("lat"), v.get("lon"))
        && lat.is_number()
        && lon.is_number()
    {
        parts.push(format!("({}, {})", number(lat), number(lon)));
    }
    parts.join(" ")
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use serde_json::json;

    fn pv(v: Value) -> String {
        property_value(&serde_json::from_value(v).unwrap())
    }

    #[test]
    fn relations_show_ids_or_titled_ids() {
        let v = json!({"id":"r","type":"relation","relation":[{"id":"p1"},{"id":"p2","title":"Alpha"},
            {"id":"p3","title":""}]});
        assert_eq!(pv(v), "p1, Alpha (p2), p3");
    }

    #[test]
    fn text_number_select_and_checkbox() {
        assert_eq!(
            pv(json!({"id":"title","type":"title","title":[
                {"type":"text","text":{"content":"Hi *you*","link":null},"plain_text":"Hi *you*"}]})),
            "Hi \\*you\\*"
        );
        assert_eq!(pv(json!({"id":"a","type":"rich_text","rich_text":[]})), "");
        assert_eq!(pv(json!({"id":"n","type":"number","number":3.0})), "3");
        assert_eq!(pv(json!({"id":"n","type":"number","number":42})), "42");
        assert_eq!(pv(json!({"id":"n","type":"number","number":2.5})), "2.5");
        assert_eq!(pv(json!({"id":"n","type":"number","number":null})), "");
        assert_eq!(
            pv(json!({"id":"s","type":"select","select":{"id":"x","name":"High","color":"red"}})),
            "High"
        );
        assert_eq!(pv(json!({"id":"s","type":"select","select":null})), "");
        assert_eq!(
            pv(json!({"id":"s","type":"status","status":{"id":"x","name":"Done","color":"green"}})),
            "Done"
        );
        assert_eq!(
            pv(json!({"id":"m","type":"multi_select","multi_select":[{"name":"a"},{"name":"b*"}]})),
            "a, b*"
        );
        assert_eq!(
            pv(json!({"id":"c","type":"checkbox","checkbox":true})),
            "yes"
        );
        assert_eq!(
            pv(json!({"id":"c","type":"checkbox","checkbox":false})),
            "no"
        );
    }

    #[test]
    fn dates_people_files_and_plain_strings() {
        assert_eq!(
            pv(
                json!({"id":"d","type":"date","date":{"start":"2024-01-01T10:00:00.000+02:00",
                "end":"2024-01-02","time_zone":"Europe/Paris"}})
            ),
            "2024-01-01T10:00:00.000+02:00 → 2024-01-02 (Europe/Paris)"
        );
        assert_eq!(pv(json!({"id":"d","type":"date","date":null})), "");
        assert_eq!(
            pv(json!({"id":"p","type":"people","people":[
                {"object":"user","id":"u1","name":"Ann"},{"object":"user","id":"u2"}]})),
            "Ann, u2"
        );
        assert_eq!(
            pv(json!({"id":"f","type":"files","files":[
                {"name":"a.pdf","type":"file","file":{"url":"https://s3/a.pdf?sig","expiry_time":"t"}},
                {"name":"site","type":"external","external":{"url":"https://e.com"}},
                {"name":"up.png","type":"file_upload","file_upload":{"id":"fu1"}}]})),
            "a.pdf, [site](https://e.com), up.png"
        );
        for (kind, val) in [
            ("url", "https://x.io"),
            ("email", "a@b.c"),
            ("phone_number", "+1 555"),
            ("created_time", "2024-01-01T00:00:00.000Z"),
            ("last_edited_time", "2024-01-02T00:00:00.000Z"),
        ] {
            assert_eq!(pv(json!({"id":"x","type":kind,kind:val})), val);
        }
        assert_eq!(
            pv(json!({"id":"x","type":"created_by","created_by":{"object":"user","id":"u9"}})),
            "u9"
        );
        assert_eq!(
            pv(
                json!({"id":"x","type":"last_edited_by","last_edited_by":{"object":"user","id":"u9","name":"Zed"}})
            ),
            "Zed"
        );
    }

    #[test]
    fn formulas_rollups_and_relations() {
        assert_eq!(
            pv(json!({"id":"f","type":"formula","formula":{"type":"string","string":"ok"}})),
            "ok"
        );
        assert_eq!(
            pv(json!({"id":"f","type":"formula","formula":{"type":"number","number":7.0}})),
            "7"
        );
        assert_eq!(
            pv(json!({"id":"f","type":"formula","formula":{"type":"boolean","boolean":false}})),
            "no"
        );
        assert_eq!(
            pv(
                json!({"id":"f","type":"formula","formula":{"type":"date","date":{"start":"2024-02-02","end":null}}})
            ),
            "2024-02-02"
        );
        assert_eq!(
            pv(
                json!({"id":"r","type":"rollup","rollup":{"type":"number","number":12.5,"function":"sum"}})
            ),
            "12.5"
        );
        assert_eq!(
            pv(
                json!({"id":"r","type":"rollup","rollup":{"type":"array","function":"show_original","array":[
                {"type":"title","title":[{"type":"text","text":{"content":"A"},"plain_text":"A"}]},
                {"type":"number","number":2},
                {"type":"people","people":[{"object":"user","id":"u1","name":"Ann"}]}]}})
            ),
            "A, 2, Ann"
        );
        assert_eq!(
            pv(json!({"id":"r","type":"rollup","rollup":{"type":"incomplete","incomplete":{}}})),
            "incomplete"
        );
        assert_eq!(
            pv(
                json!({"id":"rel","type":"relation","relation":[{"id":"p1"},{"id":"p2"}],"has_more":false})
            ),
            "p1, p2"
        );
    }

    #[test]
    fn has_more_tells_how_to_get_the_rest() {
        assert_eq!(
            pv(json!({"id":"%3CLrR","type":"relation","relation":[{"id":"p1"}],"has_more":true})),
            "p1, …+more: get_page_property property_id=%3CLrR"
        );
        assert_eq!(
            pv(json!({"id":"","type":"relation","relation":[],"has_more":true})),
            "…+more"
        );
    }

    #[test]
    fn special_types_and_unknown() {
        assert_eq!(
            pv(json!({"id":"u","type":"unique_id","unique_id":{"prefix":"BUG","number":12}})),
            "BUG-12"
        );
        assert_eq!(
            pv(json!({"id":"u","type":"unique_id","unique_id":{"prefix":null,"number":3}})),
            "3"
        );
        assert_eq!(
            pv(
                json!({"id":"v","type":"verification","verification":{"state":"verified",
                "verified_by":{"object":"user","id":"u1","name":"Ann"},"date":{"start":"2024-01-01","end":"2024-04-01"}}})
            ),
            "verified by Ann (2024-01-01 → 2024-04-01)"
        );
        assert_eq!(
            pv(
                json!({"id":"v","type":"verification","verification":{"state":"unverified","verified_by":null,"date":null}})
            ),
            "unverified"
        );
        assert_eq!(pv(json!({"id":"b","type":"button","button":{}})), "");
        assert_eq!(
            pv(
                json!({"id":"l","type":"place","place":{"lat":48.8584,"lon":2.2945,"name":"Eiffel Tower","address":null}})
            ),
            "Eiffel Tower (48.8584, 2.2945)"
        );
        assert_eq!(
            pv(json!({"id":"z","type":"future","future":{"a":[1,true]}})),
            "{\"a\":[1,true]}"
        );
        assert_eq!(pv(json!({"id":"z","type":"future"})), "");
        assert_eq!(pv(json!({})), "");
        assert_eq!(
            pv(json!({"id":"t","type":"title","title":"not an array"})),
            ""
        );
        assert_eq!(pv(json!({"id":"n","type":"number","number":"7"})), "7");
    }
}
