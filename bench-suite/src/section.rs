//! What a report section is, below both the measurements that produce sections and the report
//! that runs them: the [`Section`] trait, what a section says ([`Doc`]: prose, tables and
//! charts, which report.md and report.html both render), the files a section writes
//! ([`OutFile`]), and CSV tables ([`csv_file`]). (The chart writer is [`crate::svg`], at the
//! same level.)

use std::fmt::{self, Write as _};

use serde::Serialize;

use crate::error::{Error, Result};
use crate::table::Table;

/// A section of the report: its Markdown and its files.
pub trait Section {
    /// The heading, without its number.
    fn title(&self) -> &'static str;
    /// What the section says under the heading: prose, tables and charts, in order.
    fn body(&self, out: &mut Doc);
    /// Its CSV tables and SVG charts.
    fn files(&self) -> Result<Vec<OutFile>>;
}

/// A file the report writes: its name in the output folder, and its contents.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OutFile {
    /// File name.
    pub name: String,
    /// Contents.
    pub body: String,
}

impl OutFile {
    /// A file called `name` holding `body`.
    pub fn new(name: impl Into<String>, body: impl Into<String>) -> OutFile {
        OutFile {
            name: name.into(),
            body: body.into(),
        }
    }
}

/// A CSV file of `rows`, one column per field in declaration order (the `csv` crate). With no
/// rows its body is empty (the header comes from the first row): the report writes no such file.
pub fn csv_file<T: Serialize>(name: &str, rows: &[T]) -> Result<OutFile> {
    let mut w = csv::Writer::from_writer(Vec::new());
    for r in rows {
        w.serialize(r)?;
    }
    let bytes = w
        .into_inner()
        .map_err(|e| Error::Measurement(format!("{name}: {e}")))?;
    Ok(OutFile::new(
        name,
        String::from_utf8(bytes).map_err(|e| Error::Measurement(format!("{name}: {e}")))?,
    ))
}

/// One part of a section's [`Doc`].
#[derive(Debug, Clone, PartialEq)]
pub enum Block {
    /// Prose: paragraphs separated by blank lines, lists (`- ` lines), and Markdown's inline
    /// marks (`**bold**`, `*emphasis*`, `` `code` ``, `[text](file)`).
    Text(String),
    /// A table, from the section's rows.
    Table(Table),
    /// A chart shown in place: one of the section's SVG files.
    Chart(ChartRef),
    /// Charts linked from a sentence in report.md (too many to show one under another), shown
    /// on the page folded under that sentence.
    Charts {
        /// The sentence before the links.
        intro: String,
        /// The charts.
        charts: Vec<ChartRef>,
    },
}

/// A chart a section writes: the SVG file's name, what it shows, and the strategy it is about
/// when it is about one.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ChartRef {
    /// What the chart shows (report.md's image text, the page's caption).
    pub alt: String,
    /// The SVG file among the section's [`Section::files`].
    pub file: String,
    /// The one strategy the whole chart is about, if any (the page's filter hides it with it).
    pub strategy: Option<String>,
}

impl ChartRef {
    /// The chart in `file`, showing `alt`.
    pub fn new(alt: impl Into<String>, file: impl Into<String>) -> ChartRef {
        ChartRef {
            alt: alt.into(),
            file: file.into(),
            strategy: None,
        }
    }
}

/// What a section says, as blocks that report.md and report.html both render: the figures are
/// in [`Table`]s and charts built from the rows, not in text that a renderer would parse.
/// Prose is written with `write!`/`push_str`; consecutive prose joins one [`Block::Text`].
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Doc {
    blocks: Vec<Block>,
}

impl Doc {
    /// An empty document.
    pub fn new() -> Doc {
        Doc::default()
    }

    /// Appends prose.
    pub fn push_str(&mut self, s: &str) {
        if let Some(Block::Text(t)) = self.blocks.last_mut() {
            t.push_str(s);
        } else {
            self.blocks.push(Block::Text(s.to_owned()));
        }
    }

    /// Appends a table.
    pub fn table(&mut self, t: Table) {
        self.blocks.push(Block::Table(t));
    }

    /// Appends a chart shown in place.
    pub fn chart(&mut self, chart: ChartRef) {
        self.blocks.push(Block::Chart(chart));
    }

    /// Appends a sentence linking to `charts` (see [`Block::Charts`]).
    pub fn linked_charts(&mut self, intro: impl Into<String>, charts: Vec<ChartRef>) {
        self.blocks.push(Block::Charts {
            intro: intro.into(),
            charts,
        });
    }

    /// The blocks, in order.
    pub fn blocks(&self) -> &[Block] {
        &self.blocks
    }

    /// The document as Markdown (report.md).
    pub fn markdown(&self) -> String {
        let mut o = String::new();
        for b in &self.blocks {
            match b {
                Block::Text(t) => o.push_str(t),
                Block::Table(t) => {
                    let _ = write!(o, "{t}");
                }
                Block::Chart(c) => {
                    let _ = write!(o, "![{}]({})\n\n", c.alt, c.file);
                }
                Block::Charts { intro, charts } => {
                    let links: Vec<String> = charts
                        .iter()
                        .map(|c| format!("[{}]({})", c.alt, c.file))
                        .collect();
                    let _ = write!(o, "{intro}: {}.\n\n", links.join(", "));
                }
            }
        }
        o
    }
}

impl fmt::Write for Doc {
    fn write_str(&mut self, s: &str) -> fmt::Result {
        self.push_str(s);
        Ok(())
    }
}
