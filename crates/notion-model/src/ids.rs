//! Turning what a person or LLM pastes — a bare id, a dashed UUID or any kind of Notion link — into the
//! dashed lowercase id the API expects, plus the block anchor of `#<id>` links.

/// Why an input is not a Notion id or link.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("'{input}' is not a Notion id or URL: {reason}")]
pub struct IdError {
    /// The input (shortened when long).
    pub input: String,
    pub reason: String,
}

impl IdError {
    fn new(input: &str, reason: impl Into<String>) -> Self {
        let mut shown: String = input.chars().take(120).collect();
        if shown.len() < input.len() {
            shown.push('…');
        }
        IdError {
            input: shown,
            reason: reason.into(),
        }
    }
}

/// A page, database or block reference parsed from a link.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NotionRef {
    /// The page/database/block id (dashed lowercase).
    pub id: String,
    /// The block a `#<id>` anchor points at, if any.
    pub block_id: Option<String>,
}

const EXPECTED: &str = "expected 32 hex characters (optionally dashed as a UUID) or a notion.so / \
                        notion.site link to a page, database or block";

/// The dashed lowercase id of an id or Notion link (for a `?p=` peek link, the peeked page).
pub fn parse_id(input: &str) -> Result<String, IdError> {
    parse_ref(input).map(|r| r.id)
}

/// Like [`parse_id`], also returning a `#<block id>` anchor.
pub fn parse_ref(input: &str) -> Result<NotionRef, IdError> {
    let trimmed = input
        .trim()
        .trim_matches(|c| matches!(c, '<' | '>' | '"' | '\''));
    if trimmed.is_empty() {
        return Err(IdError::new(
            input,
            "it is empty; expected a page, database or block id or link",
        ));
    }
    if let Some(id) = bare_id(trimmed) {
        return Ok(NotionRef { id, block_id: None });
    }
    let looks_like_url = trimmed.contains("://")
        || trimmed.contains("notion.so")
        || trimmed.contains("notion.site")
        || trimmed.contains("notion.com");
    if !looks_like_url {
        let hex = trimmed.chars().filter(char::is_ascii_hexdigit).count();
        let reason = if trimmed.chars().all(|c| c.is_ascii_hexdigit() || c == '-') {
            format!("{EXPECTED}; it has {hex} hex characters")
        } else {
            EXPECTED.to_owned()
        };
        return Err(IdError::new(input, reason));
    }
    parse_url(input, trimmed)
}

fn parse_url(input: &str, trimmed: &str) -> Result<NotionRef, IdError> {
    let with_scheme = if trimmed.contains("://") {
        trimmed.to_owned()
    } else {
        format!("https://{trimmed}")
    };
    let url = url::Url::parse(&with_scheme)
        .map_err(|e| IdError::new(input, format!("it is not a valid URL ({e}); {EXPECTED}")))?;
    let scheme = url.scheme();
    let host = url.host_str().unwrap_or_default().to_ascii_lowercase();
    let notion_host = ["notion.so", "notion.site", "notion.com"]
        .iter()
        .any(|d| host == *d || host.ends_with(&format!(".{d}")));
    if !(notion_host || (scheme == "notion" && host.is_empty())) {
        return Err(IdError::new(
            input,
            format!("'{host}' is not a Notion host; {EXPECTED}"),
        ));
    }
    let block_id = url
        .fragment()
        .and_then(|f| bare_id(f.trim_start_matches("block-")));
    // A peek link (`?p=<id>`) shows that page over a database: the page is what was meant.
    let peek = url
        .query_pairs()
        .find(|(k, _)| k == "p")
        .and_then(|(_, v)| bare_id(&v));
    if let Some(id) = peek {
        return Ok(NotionRef { id, block_id });
    }
    let segments: Vec<&str> = url
        .path_segments()
        .map(|s| s.filter(|s| !s.is_empty()).collect())
        .unwrap_or_default();
    // `notion://www.notion.so/...` parses the host normally; `notion:///<id>`-style links keep it in the
    // path. The id is the last path segment that ends in one.
    let id = segments.iter().rev().find_map(|s| id_suffix(s));
    match id {
        Some(id) => Ok(NotionRef { id, block_id }),
        None => match block_id {
            Some(b) => Ok(NotionRef {
                id: b.clone(),
                block_id: Some(b),
            }),
            None => Err(IdError::new(
                input,
                "the link has no page, database or block id in its path (expected …-<32 hex characters>)",
            )),
        },
    }
}

/// A bare 32-hex id or dashed UUID, normalised.
fn bare_id(s: &str) -> Option<String> {
    let s = s.trim();
    let hex: String = match s.len() {
        32 if s.bytes().all(|b| b.is_ascii_hexdigit()) => s.to_owned(),
        36 => {
            let b = s.as_bytes();
            let dashes_ok = [8, 13, 18, 23].iter().all(|&i| b[i] == b'-');
            let hex: String = s.chars().filter(|&c| c != '-').collect();
            (dashes_ok && hex.len() == 32 && hex.bytes().all(|b| b.is_ascii_hexdigit()))
                .then_some(hex)?
        }
        _ => return None,
    };
    Some(dashed(&hex.to_ascii_lowercase()))
}

/// The id at the end of a path segment: `Title-<32hex>`, `<32hex>` or a dashed UUID.
fn id_suffix(seg: &str) -> Option<String> {
    if let Some(id) = bare_id(seg) {
        return Some(id);
    }
    let bytes = seg.as_bytes();
    if bytes.len() > 33 && seg.is_char_boundary(seg.len() - 32) {
        let tail = &seg[seg.len() - 32..];
        if bytes[bytes.len() - 33] == b'-' {
            return bare_id(tail);
        }
    }
    None
}

fn dashed(hex: &str) -> String {
    format!(
        "{}-{}-{}-{}-{}",
        &hex[0..8],
        &hex[8..12],
        &hex[12..16],
        &hex[16..20],
        &hex[20..32]
    )
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    const HEX: &str = "1a2b3c4d5e6f40718293a4b5c6d7e8f9";
    const DASHED: &str = "1a2b3c4d-5e6f-4071-8293-a4b5c6d7e8f9";
    const OTHER: &str = "0123456789abcdef0123456789abcdef";
    const OTHER_DASHED: &str = "01234567-89ab-cdef-0123-456789abcdef";

    #[test]
    fn bare_ids() {
        assert_eq!(parse_id(HEX).unwrap(), DASHED);
        assert_eq!(parse_id(&HEX.to_uppercase()).unwrap(), DASHED);
        assert_eq!(parse_id(DASHED).unwrap(), DASHED);
        assert_eq!(parse_id(&DASHED.to_uppercase()).unwrap(), DASHED);
        assert_eq!(parse_id(&format!("  {DASHED}\n")).unwrap(), DASHED);
        assert_eq!(parse_id(&format!("<{HEX}>")).unwrap(), DASHED);
    }

    #[test]
    fn page_urls() {
        for url in [
            format!("https://www.notion.so/Title-{HEX}"),
            format!("https://www.notion.so/My-Long-Page-Title-{HEX}"),
            format!("https://www.notion.so/acme/Roadmap-Q3-{HEX}"),
            format!("https://www.notion.so/{HEX}"),
            format!("https://notion.so/acme/{HEX}"),
            format!("www.notion.so/Title-{HEX}"),
            format!("notion.so/Title-{HEX}"),
            format!("https://acme.notion.site/Public-Page-{HEX}"),
            format!("https://www.notion.com/acme/Page-{HEX}"),
            format!("notion://www.notion.so/acme/Page-{HEX}"),
            format!("https://www.notion.so/Title-{HEX}/"),
            format!("https://www.notion.so/{DASHED}"),
            format!("https://www.notion.so/Title-{}", HEX.to_uppercase()),
        ] {
            assert_eq!(parse_id(&url).unwrap(), DASHED, "{url}");
        }
    }

    #[test]
    fn database_view_and_peek_links() {
        let view = format!("https://www.notion.so/acme/{HEX}?v={OTHER}");
        assert_eq!(
            parse_id(&view).unwrap(),
            DASHED,
            "the database, not the view"
        );
        let peek = format!(
            "https://www.notion.so/acme/{OTHER}?v=aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa&p={HEX}&pm=s"
        );
        assert_eq!(parse_id(&peek).unwrap(), DASHED, "the peeked page");
    }

    #[test]
    fn block_anchors() {
        let r = parse_ref(&format!("https://www.notion.so/Page-{HEX}#{OTHER}")).unwrap();
        assert_eq!(
            r,
            NotionRef {
                id: DASHED.into(),
                block_id: Some(OTHER_DASHED.into())
            }
        );
        let r = parse_ref(&format!("https://www.notion.so/Page-{HEX}#block-{OTHER}")).unwrap();
        assert_eq!(r.block_id.as_deref(), Some(OTHER_DASHED));
        let r = parse_ref(&format!("https://www.notion.so/Page-{HEX}#heading")).unwrap();
        assert_eq!(r.block_id, None);
        assert_eq!(
            parse_id(&format!("https://www.notion.so/Page-{HEX}#{OTHER}")).unwrap(),
            DASHED
        );
    }

    #[test]
    fn errors_say_what_was_wrong() {
        let e = parse_id("abc").unwrap_err();
        assert!(
            e.to_string()
                .starts_with("'abc' is not a Notion id or URL: expected 32 hex"),
            "{e}"
        );
        assert!(e.to_string().contains("3 hex characters"));
        let e = parse_id("").unwrap_err();
        assert!(e.to_string().contains("empty"));
        let e = parse_id(&format!("https://example.com/Page-{HEX}")).unwrap_err();
        assert!(e.to_string().contains("not a Notion host"), "{e}");
        let e = parse_id("https://www.notion.so/acme/Just-A-Title").unwrap_err();
        assert!(
            e.to_string().contains("no page, database or block id"),
            "{e}"
        );
        assert!(parse_id(&format!("{HEX}0")).is_err());
        assert!(parse_id("zz2b3c4d5e6f40718293a4b5c6d7e8f9").is_err());
        assert!(parse_id("1a2b3c4d-5e6f-4071-8293-a4b5c6d7e8fz").is_err());
        assert!(parse_id("1a2b3c4d5-e6f-4071-8293-a4b5c6d7e8f9").is_err());
        assert!(
            parse_id(&format!("https://www.notion.so/Title{HEX}")).is_err(),
            "no separator"
        );
        let long = "x".repeat(1000);
        assert!(parse_id(&long).unwrap_err().input.chars().count() <= 121);
    }

    #[test]
    fn odd_inputs_do_not_panic() {
        for s in [
            "é".repeat(40),
            "ü-".repeat(20),
            "notion://".into(),
            "https://".into(),
            "://".into(),
            format!("https://www.notion.so/é-{HEX}"),
            "😀".repeat(9),
            "-".repeat(36),
        ] {
            let _ = parse_ref(&s);
        }
        assert_eq!(
            parse_id(&format!("https://www.notion.so/é-{HEX}")).unwrap(),
            DASHED
        );
    }
}
