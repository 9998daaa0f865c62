//! Turning tool output into MCP results, within the size clients accept.

use rmcp::model::{CallToolResult, ContentBlock};

/// A successful text result, cut at `max_chars` (on a line boundary) with a marker if needed.
pub fn success(text: String, max_chars: usize) -> CallToolResult {
    CallToolResult::success(vec![ContentBlock::text(bound(text, max_chars))])
}

/// Cut `text` to at most `max_chars` characters, preferring a line boundary, and say so.
pub fn bound(text: String, max_chars: usize) -> String {
    if max_chars == 0 || text.chars().count() <= max_chars {
        return text;
    }
    let cut = text
        .char_indices()
        .nth(max_chars)
        .map_or(text.len(), |(i, _)| i);
    let head = &text[..cut];
    let head = head.rfind('\n').map_or(head, |i| &head[..i]);
    format!(
        "{head}\n\n… output truncated at {max_chars} characters. Ask for less (a smaller limit, a filter, or one sub-block by id)."
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn short_text_is_untouched_and_long_text_is_cut_on_a_line() {
        assert_eq!(bound("abc".into(), 10), "abc");
        let t = "line one\nline two\nline three".to_string();
        let b = bound(t, 12);
        assert!(b.starts_with("line one\n\n… output truncated"), "{b}");
        // Multi-byte characters never split.
        let b = bound("ééééé".into(), 2);
        assert!(
            b.starts_with("éé") || b.starts_with('\n') || b.starts_with('…'),
            "{b}"
        );
    }
}
