//! Small readers for the HTML-ish parts of the dialect: tags with attributes, `{key="value"}`
//! block suffixes, ` ^<block id>` anchors, colours and ids inside URLs.

/// One `<name attr="v">`, `</name>` or `<name …/>`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) struct HtmlTag {
    pub name: String,
    pub attrs: Vec<(String, String)>,
    pub closing: bool,
    pub self_closing: bool,
}

impl HtmlTag {
    pub fn attr(&self, key: &str) -> Option<&str> {
        self.attrs
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(key))
            .map(|(_, v)| v.as_str())
    }
}

/// Parses a tag that starts at the beginning of `s`; returns it and the byte length it used.
pub(super) fn parse_tag_prefix(s: &str) -> Option<(HtmlTag, usize)> {
    let rest = s.strip_prefix('<')?;
    let (closing, rest) = match rest.strip_prefix('/') {
        Some(r) => (true, r),
        None => (false, rest),
    };
    let name_len = rest
        .find(|c: char| !(c.is_ascii_alphanumeric() || c == '-' || c == '_'))
        .unwrap_or(rest.len());
    if name_len == 0 || !rest.starts_with(|c: char| c.is_ascii_alphabetic()) {
        return None;
    }
    let name = rest[..name_len].to_ascii_lowercase();
    let mut pos = s.len() - rest.len() + name_len;
    let mut attrs = Vec::new();
    loop {
        let tail = &s[pos..];
        let trimmed = tail.trim_start();
        pos += tail.len() - trimmed.len();
        if let Some(after) = trimmed.strip_prefix("/>") {
            let _ = after;
            return Some((
                HtmlTag {
                    name,
                    attrs,
                    closing,
                    self_closing: true,
                },
                pos + 2,
            ));
        }
        if trimmed.starts_with('>') {
            return Some((
                HtmlTag {
                    name,
                    attrs,
                    closing,
                    self_closing: false,
                },
                pos + 1,
            ));
        }
        let key_len = trimmed
            .find(|c: char| c == '=' || c == '>' || c == '/' || c.is_whitespace())
            .unwrap_or(trimmed.len());
        if key_len == 0 {
            return None;
        }
        let key = trimmed[..key_len].to_ascii_lowercase();
        pos += key_len;
        let tail = &s[pos..];
        let after_ws = tail.trim_start();
        if let Some(v) = after_ws.strip_prefix('=') {
            let v_trim = v.trim_start();
            let quote = v_trim.chars().next()?;
            let value_start = pos + (tail.len() - v_trim.len());
            if quote == '"' || quote == '\'' {
                let body = &v_trim[1..];
                let end = body.find(quote)?;
                attrs.push((key, decode_entities(&body[..end])));
                pos = value_start + 1 + end + 1;
            } else {
                let end = v_trim
                    .find(|c: char| c.is_whitespace() || c == '>' || c == '/')
                    .unwrap_or(v_trim.len());
                attrs.push((key, decode_entities(&v_trim[..end])));
                pos = value_start + end;
            }
        } else {
            attrs.push((key, String::new()));
        }
        if pos >= s.len() {
            return None;
        }
    }
}

/// Parses `s` as exactly one tag.
pub(super) fn parse_tag(s: &str) -> Option<HtmlTag> {
    parse_tag_prefix(s).and_then(|(t, used)| s[used..].trim().is_empty().then_some(t))
}

pub(super) fn decode_entities(s: &str) -> String {
    if !s.contains('&') {
        return s.to_owned();
    }
    s.replace("&quot;", "\"")
        .replace("&#39;", "'")
        .replace("&apos;", "'")
        .replace("&lt;", "<")
        .replace("&gt;", ">")
        .replace("&amp;", "&")
}

/// `red_bg` / `red_background` / `red` → Notion's colour name; unknown → `None` (default).
pub(super) fn notion_color(c: &str) -> Option<String> {
    const BASES: [&str; 9] = [
        "gray", "brown", "orange", "yellow", "green", "blue", "purple", "pink", "red",
    ];
    let c = c.trim().to_ascii_lowercase();
    let (base, bg) = match c
        .strip_suffix("_background")
        .or_else(|| c.strip_suffix("_bg"))
    {
        Some(b) => (b.to_owned(), true),
        None => (c, false),
    };
    let base = if base == "grey" {
        "gray".to_owned()
    } else {
        base
    };
    BASES.contains(&base.as_str()).then(|| {
        if bg {
            format!("{base}_background")
        } else {
            base
        }
    })
}

/// A Notion id (32 hex digits, with or without dashes) in dashed form.
pub(super) fn canonical_id(raw: &str) -> Option<String> {
    let hex: String = raw.trim().chars().filter(|c| *c != '-').collect();
    if hex.len() != 32 || !hex.bytes().all(|b| b.is_ascii_hexdigit()) {
        return None;
    }
    let hex = hex.to_ascii_lowercase();
    Some(format!(
        "{}-{}-{}-{}-{}",
        &hex[..8],
        &hex[8..12],
        &hex[12..16],
        &hex[16..20],
        &hex[20..]
    ))
}

/// The id in a Notion URL (`https://www.notion.so/Title-<id32>?…`, `user://<id>`,
/// `collection://<id>`) or a bare id.
pub(super) fn id_in_url(url: &str) -> Option<String> {
    let url = url.trim();
    let no_query = url.split(['?', '#']).next().unwrap_or(url);
    let last = no_query
        .trim_end_matches('/')
        .rsplit(['/', ':'])
        .next()
        .unwrap_or(no_query);
    if let Some(id) = canonical_id(last) {
        return Some(id);
    }
    let tail: String = last
        .chars()
        .rev()
        .take_while(char::is_ascii_hexdigit)
        .collect();
    if tail.len() >= 32 {
        let id: String = tail
            .chars()
            .take(32)
            .collect::<Vec<_>>()
            .into_iter()
            .rev()
            .collect();
        return canonical_id(&id);
    }
    None
}

/// Strips a trailing ` ^<block id>` anchor (what reads with block ids add).
pub(super) fn strip_anchor(line: &str) -> &str {
    let t = line.trim_end();
    if let Some(pos) = t.rfind('^') {
        let id = &t[pos + 1..];
        let before = &t[..pos];
        let id_like =
            (32..=36).contains(&id.len()) && id.bytes().all(|b| b.is_ascii_hexdigit() || b == b'-');
        if id_like && (before.is_empty() || before.ends_with([' ', '\t'])) {
            return before.trim_end();
        }
    }
    t
}

/// Block attributes from a trailing `{color="red" toggle="true"}` suffix.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(super) struct BlockAttrs {
    pub color: Option<String>,
    pub toggle: bool,
}

/// Splits a trailing `{key="value" …}` suffix (only `color` and `toggle`) off a block's text.
pub(super) fn strip_block_attrs(line: &str) -> (&str, BlockAttrs) {
    let t = line.trim_end();
    let none = (t, BlockAttrs::default());
    if !t.ends_with('}') {
        return none;
    }
    let Some(open) = t.rfind('{') else {
        return none;
    };
    if t[..open].ends_with('\\') {
        return none;
    }
    let inner = &t[open + 1..t.len() - 1];
    let Some((tag, _)) = parse_tag_prefix(&format!("<x {inner}>")) else {
        return none;
    };
    if tag.attrs.is_empty()
        || tag
            .attrs
            .iter()
            .any(|(k, _)| !matches!(k.as_str(), "color" | "toggle"))
    {
        return none;
    }
    let attrs = BlockAttrs {
        color: tag.attr("color").and_then(notion_color),
        toggle: tag.attr("toggle") == Some("true"),
    };
    (t[..open].trim_end(), attrs)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tags_parse() {
        let t = parse_tag("<callout icon=\"💡\" color='gray_bg'>").expect("tag");
        assert_eq!(t.name, "callout");
        assert_eq!(t.attr("icon"), Some("💡"));
        assert_eq!(t.attr("color"), Some("gray_bg"));
        assert!(!t.closing && !t.self_closing);
        let t = parse_tag("<mention-date start=\"2024-01-01\"/>").expect("tag");
        assert!(t.self_closing);
        assert!(parse_tag("</span>").expect("tag").closing);
        assert!(parse_tag("<x a=\"unterminated>").is_none());
        assert!(parse_tag("< x>").is_none());
        assert!(parse_tag("<a b=\"&quot;&amp;\">").is_some_and(|t| t.attr("b") == Some("\"&")));
        let (t, used) = parse_tag_prefix("<summary>Hi</summary>").expect("tag");
        assert_eq!((t.name.as_str(), used), ("summary", 9));
    }

    #[test]
    fn suffixes_and_ids() {
        assert_eq!(
            strip_anchor("text ^59833787-2cf9-4fdf-8782-e53db20768a5"),
            "text"
        );
        assert_eq!(strip_anchor("x^abc"), "x^abc");
        let (t, a) = strip_block_attrs("Title {toggle=\"true\" color=\"red_bg\"}");
        assert_eq!(t, "Title");
        assert!(a.toggle);
        assert_eq!(a.color.as_deref(), Some("red_background"));
        let (t, a) = strip_block_attrs("a \\{color=\"red\"}");
        assert_eq!((t, a.color), ("a \\{color=\"red\"}", None));
        assert_eq!(strip_block_attrs("{other=\"x\"}").0, "{other=\"x\"}");
        assert_eq!(
            id_in_url("https://www.notion.so/My-Page-598337872cf94fdf8782e53db20768a5?pvs=4")
                .as_deref(),
            Some("59833787-2cf9-4fdf-8782-e53db20768a5")
        );
        assert_eq!(id_in_url("https://example.com"), None);
        assert_eq!(notion_color("grey").as_deref(), Some("gray"));
        assert_eq!(notion_color("teal"), None);
    }
}
