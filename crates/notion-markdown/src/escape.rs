//! Escaping helpers shared by the renderers: plain inline text, block line starts, table cells,
//! tag attributes, code spans and fences, and link destinations.

/// Escapes Markdown specials in plain inline text.
///
/// Escaped everywhere: `\ * ~ ` $ [ ] < { } ^`. `_` is escaped only where it could open or close
/// emphasis (not inside words such as `snake_case`). `|` is left to [`cell`], line-start markers
/// (`#`, `>`, `- `, `1. `) to [`line_starts`], so nothing is escaped twice.
pub(crate) fn inline(s: &str) -> String {
    let mut out = String::with_capacity(s.len() + 4);
    let mut prev: Option<char> = None;
    let mut chars = s.chars().peekable();
    while let Some(c) = chars.next() {
        let escape = match c {
            '\\' | '*' | '~' | '`' | '$' | '[' | ']' | '<' | '{' | '}' | '^' => true,
            '_' => {
                let next = chars.peek().copied();
                !(prev.is_some_and(char::is_alphanumeric)
                    && next.is_some_and(char::is_alphanumeric))
            }
            _ => false,
        };
        if escape {
            out.push('\\');
        }
        out.push(c);
        prev = Some(c);
    }
    out
}

/// Escapes block markers at the start of every line of already-rendered inline text, so a paragraph
/// reading "# not a heading" or "1. not a list" stays a paragraph.
pub(crate) fn line_starts(s: &str) -> String {
    let mut out = String::with_capacity(s.len() + 2);
    for (i, line) in s.split('\n').enumerate() {
        if i > 0 {
            out.push('\n');
        }
        match marker_position(line) {
            Some(pos) => {
                let (a, b) = line.split_at(pos);
                out.push_str(a);
                out.push('\\');
                out.push_str(b);
            }
            None => out.push_str(line),
        }
    }
    out
}

/// Byte position before which a backslash neutralises a block marker at the start of `line`.
fn marker_position(line: &str) -> Option<usize> {
    let first = line.chars().next()?;
    match first {
        '#' | '>' | '-' | '+' | '=' => Some(0),
        // Inline rendering already escapes a literal `*`, so a line opening with one is emphasis
        // (`**bold**`, `*italic*`): escaping it would turn `**bold**` into a literal star plus italics.
        // Only a bullet (`* x`) or a thematic break (`***`) needs the backslash.
        '*' if is_star_block_marker(line) => Some(0),
        ':' if line.starts_with(":::") => Some(0),
        '0'..='9' => {
            let digits = line.bytes().take_while(u8::is_ascii_digit).count();
            let rest = &line[digits..];
            let mut it = rest.chars();
            match (it.next(), it.next()) {
                (Some('.' | ')'), None | Some(' ' | '\t')) if digits <= 9 => Some(digits),
                _ => None,
            }
        }
        _ => None,
    }
}

/// Whether a line opening with `*` reads as a bullet (`*` then a space, a tab or nothing) or as a
/// thematic break (three or more `*` and nothing but spaces and tabs).
fn is_star_block_marker(line: &str) -> bool {
    let bullet = matches!(line[1..].chars().next(), None | Some(' ' | '\t'));
    let rule = line.chars().all(|c| matches!(c, '*' | ' ' | '\t'))
        && line.chars().filter(|&c| c == '*').count() >= 3;
    bullet || rule
}

/// Makes rendered text safe inside a Markdown table cell: `|` → `\|`, line breaks → `<br>`.
pub(crate) fn cell(s: &str) -> String {
    s.trim()
        .replace('|', "\\|")
        .replace("\r\n", "<br>")
        .replace(['\n', '\r'], "<br>")
}

/// Makes text safe inside a double-quoted tag attribute.
pub(crate) fn attr(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('"', "&quot;")
        .replace(['\n', '\r'], " ")
}

/// Longest run of `ch` in `s`.
fn longest_run(s: &str, ch: char) -> usize {
    let mut best = 0;
    let mut run = 0;
    for c in s.chars() {
        if c == ch {
            run += 1;
            best = best.max(run);
        } else {
            run = 0;
        }
    }
    best
}

/// An inline code span whose delimiter is longer than any backtick run inside; content is verbatim.
pub(crate) fn code_span(s: &str) -> String {
    if s.is_empty() {
        return String::new();
    }
    let ticks = "`".repeat(longest_run(s, '`') + 1);
    let pad = s.starts_with('`')
        || s.ends_with('`')
        || (s.starts_with(' ') && s.ends_with(' ') && !s.trim().is_empty());
    let pad = if pad { " " } else { "" };
    format!("{ticks}{pad}{s}{pad}{ticks}")
}

/// A code fence longer than any backtick run in `s` (at least three backticks).
pub(crate) fn fence(s: &str) -> String {
    "`".repeat((longest_run(s, '`') + 1).max(3))
}

/// A link destination usable inside `(...)`: spaces, parentheses, angle brackets and control
/// characters are percent-encoded.
pub(crate) fn link_dest(url: &str) -> String {
    let mut out = String::with_capacity(url.len());
    for c in url.trim().chars() {
        match c {
            ' ' => out.push_str("%20"),
            '(' => out.push_str("%28"),
            ')' => out.push_str("%29"),
            '<' => out.push_str("%3C"),
            '>' => out.push_str("%3E"),
            c if c.is_control() => {
                let mut buf = [0u8; 4];
                for byte in c.encode_utf8(&mut buf).bytes() {
                    out.push_str(&format!("%{byte:02X}"));
                }
            }
            c => out.push(c),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn inline_escapes_specials_but_not_intraword_underscores() {
        assert_eq!(inline("a*b*"), "a\\*b\\*");
        assert_eq!(inline("snake_case"), "snake_case");
        assert_eq!(inline("_x_"), "\\_x\\_");
        assert_eq!(
            inline("<b> [x] $5 `c` ~s~ \\"),
            "\\<b> \\[x\\] \\$5 \\`c\\` \\~s\\~ \\\\"
        );
        assert_eq!(inline("a|b #c"), "a|b #c");
        assert_eq!(inline(""), "");
    }

    #[test]
    fn line_starts_neutralise_block_markers() {
        assert_eq!(line_starts("# h"), "\\# h");
        assert_eq!(
            line_starts("a\n> q\n- x\n1. y\n12) z"),
            "a\n\\> q\n\\- x\n1\\. y\n12\\) z"
        );
        assert_eq!(line_starts("1.5 million"), "1.5 million");
        assert_eq!(line_starts("2024"), "2024");
        assert_eq!(line_starts("é#"), "é#");
        assert_eq!(line_starts(""), "");
    }

    #[test]
    fn line_starts_leave_leading_emphasis_alone() {
        assert_eq!(line_starts("**Bold** rest"), "**Bold** rest");
        assert_eq!(line_starts("*it*\n***both***"), "*it*\n***both***");
        assert_eq!(line_starts("* x"), "\\* x");
        assert_eq!(line_starts("*"), "\\*");
        assert_eq!(line_starts("* * *"), "\\* * *");
        assert_eq!(line_starts("***"), "\\***");
    }

    #[test]
    fn cells_attrs_code_and_links() {
        assert_eq!(cell(" a|b\nc "), "a\\|b<br>c");
        assert_eq!(attr("say \"hi\" & go"), "say &quot;hi&quot; &amp; go");
        assert_eq!(code_span("x"), "`x`");
        assert_eq!(code_span("a`b"), "``a`b``");
        assert_eq!(code_span("`a"), "`` `a ``");
        assert_eq!(code_span(""), "");
        assert_eq!(fence("x ```` y"), "`````");
        assert_eq!(fence("plain"), "```");
        assert_eq!(link_dest("https://x.y/a b(c)"), "https://x.y/a%20b%28c%29");
    }
}
