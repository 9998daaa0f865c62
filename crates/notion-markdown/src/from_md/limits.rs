//! Notion's rich-text limits applied to parsed blocks: text items of at most 2,000 characters
//! (counted in UTF-16 code units, the stricter measure), at most 100 items per block (longer
//! blocks continue in blocks of the same type) and link URLs of at most 2,000 characters.

use serde_json::Value;

use super::blocks::Node;

/// Characters per `text.content` (Notion: 2,000).
pub(super) const MAX_TEXT: usize = 2000;
/// Rich-text items per array (Notion: 100).
pub(super) const MAX_ITEMS: usize = 100;
/// Characters per link URL (Notion: 2,000).
pub(super) const MAX_URL: usize = 2000;

/// Splits text into chunks of at most [`MAX_TEXT`] UTF-16 code units, on char boundaries.
/// A cut prefers the last whitespace in the final tenth of a chunk, and never separates a
/// character from following combining marks, variation selectors or zero-width joiners.
pub(super) fn split_text(text: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut rest = text;
    while !rest.is_empty() {
        let mut units = 0;
        let mut end = rest.len();
        for (i, c) in rest.char_indices() {
            if units + c.len_utf16() > MAX_TEXT {
                end = i;
                break;
            }
            units += c.len_utf16();
        }
        if end < rest.len() {
            end = good_cut(rest, end);
        }
        out.push(rest[..end].to_owned());
        rest = &rest[end..];
    }
    out
}

fn is_joining(c: char) -> bool {
    matches!(c,
        '\u{0300}'..='\u{036F}'
        | '\u{1AB0}'..='\u{1AFF}'
        | '\u{1DC0}'..='\u{1DFF}'
        | '\u{20D0}'..='\u{20FF}'
        | '\u{FE00}'..='\u{FE0F}'
        | '\u{FE20}'..='\u{FE2F}'
        | '\u{200C}' | '\u{200D}'
        | '\u{E0100}'..='\u{E01EF}'
        | '\u{1F3FB}'..='\u{1F3FF}')
}

/// A byte index ≤ `max` (a char boundary, > 0) at which to cut `s`.
fn good_cut(s: &str, max: usize) -> usize {
    let window = &s[..max];
    let floor = max - max / 10;
    if let Some((i, c)) = window
        .char_indices()
        .rev()
        .take_while(|(i, _)| *i >= floor)
        .find(|(_, c)| c.is_whitespace())
    {
        let cut = i + c.len_utf8();
        if cut > 0 && cut <= max {
            return cut;
        }
    }
    // Step back while the next char would join the previous one.
    let mut cut = max;
    let mut steps = 0;
    while cut > 0 && steps < 16 {
        match s[cut..].chars().next() {
            Some(c) if is_joining(c) => {
                cut = s[..cut].char_indices().next_back().map_or(0, |(i, _)| i);
                steps += 1;
            }
            _ => break,
        }
    }
    if cut == 0 { max } else { cut }
}

/// Splits blocks whose `rich_text` has more than [`MAX_ITEMS`] items into consecutive blocks of
/// the same type (the children stay with the last one); applies to children too.
pub(super) fn enforce(nodes: Vec<Node>) -> Vec<Node> {
    let mut out = Vec::with_capacity(nodes.len());
    for mut node in nodes {
        node.children = enforce(std::mem::take(&mut node.children));
        let items = match node.data.get_mut("rich_text") {
            Some(Value::Array(items)) if items.len() > MAX_ITEMS => std::mem::take(items),
            _ => {
                out.push(node);
                continue;
            }
        };
        let chunks: Vec<Vec<Value>> = items.chunks(MAX_ITEMS).map(<[Value]>::to_vec).collect();
        let last = chunks.len().saturating_sub(1);
        let children = std::mem::take(&mut node.children);
        let mut children = Some(children);
        for (i, chunk) in chunks.into_iter().enumerate() {
            let mut data = node.data.clone();
            data.insert("rich_text".into(), Value::Array(chunk));
            out.push(Node {
                kind: node.kind,
                data,
                children: if i == last {
                    children.take().unwrap_or_default()
                } else {
                    Vec::new()
                },
            });
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn units(s: &str) -> usize {
        s.encode_utf16().count()
    }

    #[test]
    fn splits_by_utf16_units_without_losing_text() {
        let s = "🙂".repeat(1500); // 3,000 UTF-16 units
        let parts = split_text(&s);
        assert!(parts.iter().all(|p| units(p) <= MAX_TEXT));
        assert_eq!(parts.concat(), s);
        assert_eq!(split_text(""), Vec::<String>::new());
        let words = "word ".repeat(1000);
        let parts = split_text(&words);
        assert!(parts[0].ends_with(' '), "cut after whitespace");
        assert_eq!(parts.concat(), words);
    }

    #[test]
    fn keeps_combining_marks_with_their_base() {
        let mut s = "a".repeat(1999);
        s.push('e');
        s.push('\u{0301}');
        s.push_str("tail");
        let parts = split_text(&s);
        assert_eq!(parts.concat(), s);
        assert!(!parts[1].starts_with('\u{0301}'));
    }
}
