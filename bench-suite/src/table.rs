//! The one table type: a header and rows of cells, rendered as Markdown. The report, the plan
//! and the bench table all print through it. (CSV files are written from the rows' structs by
//! the `csv` crate, in `report::output`.)

use std::fmt;

/// A table of text cells.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Table {
    head: Vec<String>,
    rows: Vec<Vec<String>>,
}

impl Table {
    /// An empty table with these column headings.
    pub fn new<S: Into<String>>(head: impl IntoIterator<Item = S>) -> Table {
        Table {
            head: head.into_iter().map(Into::into).collect(),
            rows: Vec::new(),
        }
    }

    /// Appends a row; a short row is padded with empty cells.
    pub fn row<S: Into<String>>(&mut self, cells: impl IntoIterator<Item = S>) {
        let mut row: Vec<String> = cells.into_iter().map(Into::into).collect();
        row.resize(self.head.len().max(row.len()), String::new());
        self.rows.push(row);
    }

    /// Whether it has no rows.
    pub fn is_empty(&self) -> bool {
        self.rows.is_empty()
    }

    /// The column headings.
    pub fn head(&self) -> &[String] {
        &self.head
    }

    /// The rows.
    pub fn rows(&self) -> &[Vec<String>] {
        &self.rows
    }
}

/// Markdown, followed by a blank line. A `|` inside a cell is escaped.
impl fmt::Display for Table {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let line = |f: &mut fmt::Formatter<'_>, cells: &[String]| {
            let cells: Vec<String> = cells.iter().map(|c| c.replace('|', "\\|")).collect();
            writeln!(f, "| {} |", cells.join(" | "))
        };
        line(f, &self.head)?;
        writeln!(f, "|{}", "---|".repeat(self.head.len()))?;
        for r in &self.rows {
            line(f, r)?;
        }
        writeln!(f)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn renders_markdown_with_escaped_cells_and_padded_rows() {
        let mut t = Table::new(["a", "b"]);
        t.row(["1", "x|y"]);
        t.row(["2"]);
        assert_eq!(
            t.to_string(),
            "| a | b |\n|---|---|\n| 1 | x\\|y |\n| 2 |  |\n\n"
        );
        assert!(!t.is_empty());
    }
}
