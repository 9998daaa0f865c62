//! Pipe tables: header, delimiter row and body rows → a `table` block with `table_row`
//! children; an empty header row means no column header, and a last column of `^<id>` anchors
//! (reads with block ids) is dropped.

use serde_json::{Value, json};

use super::blocks::{Ln, Node, Parsed, indent_width};
use super::inline::rich_text;

/// Cells of a pipe-table row; `\|` stays escaped inside a cell (it is unescaped afterwards).
fn split_row(t: &str) -> Vec<String> {
    let t = t.trim();
    let t = t.strip_prefix('|').unwrap_or(t);
    let t = match t.strip_suffix('|') {
        Some(s) if !s.ends_with('\\') => s,
        _ => t,
    };
    let mut cells = Vec::new();
    let mut cur = String::new();
    let mut escaped = false;
    for c in t.chars() {
        if c == '|' && !escaped {
            cells.push(std::mem::take(&mut cur));
        } else {
            cur.push(c);
        }
        escaped = c == '\\' && !escaped;
    }
    cells.push(cur);
    cells
        .into_iter()
        .map(|c| c.trim().replace("\\|", "|"))
        .collect()
}

fn is_delimiter_row(t: &str) -> bool {
    let t = t.trim();
    t.contains('-')
        && t.starts_with(['|', ':', '-'])
        && split_row(t).iter().all(|c| {
            let c = c.trim();
            let core = c.trim_start_matches(':').trim_end_matches(':');
            !core.is_empty() && core.chars().all(|ch| ch == '-')
        })
}

pub(super) fn is_table_start(lines: &[Ln<'_>], i: usize) -> bool {
    lines[i].text.starts_with('|')
        && lines
            .get(i + 1)
            .is_some_and(|n| indent_width(n.text) == 0 && is_delimiter_row(n.text))
}

fn is_anchor_cell(c: &str) -> bool {
    let c = c.trim();
    !c.is_empty()
        && c.split(' ').all(|part| {
            part.strip_prefix('^').is_some_and(|id| {
                (32..=36).contains(&id.len())
                    && id.bytes().all(|b| b.is_ascii_hexdigit() || b == b'-')
            })
        })
}

pub(super) fn table(lines: &[Ln<'_>], i: usize) -> Parsed {
    let mut rows: Vec<(usize, Vec<String>)> = vec![(lines[i].no, split_row(lines[i].text))];
    let mut j = i + 2;
    while j < lines.len() && lines[j].text.starts_with('|') {
        rows.push((lines[j].no, split_row(lines[j].text)));
        j += 1;
    }
    // Reads with block ids add a last column of `^<id>` anchors: drop it.
    if rows[0].1.last().is_some_and(|c| is_anchor_cell(c)) {
        for (_, cells) in &mut rows {
            cells.pop();
        }
    }
    let has_header = rows[0].1.iter().any(|c| !c.trim().is_empty());
    if !has_header {
        rows.remove(0);
    }
    let width = rows.iter().map(|(_, c)| c.len()).max().unwrap_or(0).max(1);
    if rows.is_empty() {
        return Ok((Vec::new(), j));
    }
    let mut table = Node::new("table");
    table.data.insert("table_width".into(), json!(width));
    table
        .data
        .insert("has_column_header".into(), json!(has_header));
    table.data.insert("has_row_header".into(), json!(false));
    for (no, mut cells) in rows {
        cells.resize(width, String::new());
        let mut rendered = Vec::with_capacity(width);
        for c in &cells {
            rendered.push(Value::Array(rich_text(c, no)?));
        }
        let mut row = Node::new("table_row");
        row.data.insert("cells".into(), Value::Array(rendered));
        table.children.push(row);
    }
    Ok((vec![table], j))
}
