//! Pipe-table builder shared by block tables, page headers, row listings and schemas.

use super::escape;

/// A Markdown pipe table. Cells are escaped for table use (`|`, line breaks); rows shorter than
/// the widest row are padded, so the table is always rectangular and valid.
pub fn pipe_table(header: &[String], rows: &[Vec<String>]) -> String {
    let width = rows
        .iter()
        .map(Vec::len)
        .chain(std::iter::once(header.len()))
        .max()
        .unwrap_or(0)
        .max(1);
    let mut out = String::new();
    push_row(&mut out, header, width);
    out.push('|');
    for _ in 0..width {
        out.push_str("---|");
    }
    out.push('\n');
    for row in rows {
        push_row(&mut out, row, width);
    }
    out
}

fn push_row(out: &mut String, cells: &[String], width: usize) {
    out.push('|');
    for i in 0..width {
        let cell = cells.get(i).map(|c| escape::cell(c)).unwrap_or_default();
        if cell.is_empty() {
            out.push_str(" |");
        } else {
            out.push(' ');
            out.push_str(&cell);
            out.push_str(" |");
        }
    }
    out.push('\n');
}

#[cfg(test)]
mod tests {
    use super::*;

    fn s(v: &[&str]) -> Vec<String> {
        v.iter().map(|x| (*x).to_owned()).collect()
    }

    #[test]
    fn pads_and_escapes() {
        let t = pipe_table(&s(&["a", "b"]), &[s(&["1|2"]), s(&["x\ny", "", "extra"])]);
        assert_eq!(
            t,
            "| a | b | |\n|---|---|---|\n| 1\\|2 | | |\n| x<br>y | | extra |\n"
        );
    }

    #[test]
    fn empty_table_is_still_valid() {
        assert_eq!(pipe_table(&[], &[]), "| |\n|---|\n");
    }
}
