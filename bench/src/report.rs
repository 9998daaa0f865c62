//! Markdown tables on stdout: the benches print their results as tables that paste into the docs.

/// A Markdown table built row by row.
#[derive(Debug, Clone)]
pub struct Table {
    header: Vec<String>,
    rows: Vec<Vec<String>>,
}

impl Table {
    /// A table with these column titles.
    pub fn new<S: Into<String>>(header: impl IntoIterator<Item = S>) -> Self {
        Self {
            header: header.into_iter().map(Into::into).collect(),
            rows: Vec::new(),
        }
    }

    /// Appends a row (missing cells are left empty, extra cells dropped).
    pub fn row<S: Into<String>>(&mut self, cells: impl IntoIterator<Item = S>) -> &mut Self {
        let mut cells: Vec<String> = cells.into_iter().map(Into::into).collect();
        cells.resize(self.header.len(), String::new());
        self.rows.push(cells);
        self
    }

    /// The table as Markdown, one line per row, ending with a newline.
    pub fn render(&self) -> String {
        let line = |cells: &[String]| format!("| {} |\n", cells.join(" | "));
        let mut out = line(&self.header);
        out.push_str(&format!("|{}\n", "---|".repeat(self.header.len())));
        for r in &self.rows {
            out.push_str(&line(r));
        }
        out
    }

    /// Prints [`render`](Self::render) to stdout.
    pub fn print(&self) {
        print!("{}", self.render());
    }
}

/// Kilobytes as megabytes with one decimal ("17.4 MB").
pub fn mb(kb: u64) -> String {
    format!("{:.1} MB", kb as f64 / 1024.0)
}

pub use notion_mcp_remote::mcp::thousands;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn renders_markdown_and_pads_rows() {
        let mut t = Table::new(["metric", "value"]);
        t.row(["a", "1"]).row(["b"]);
        assert_eq!(
            t.render(),
            "| metric | value |\n|---|---|\n| a | 1 |\n| b |  |\n"
        );
    }

    #[test]
    fn formats_numbers() {
        assert_eq!(mb(17_817), "17.4 MB");
    }
}
