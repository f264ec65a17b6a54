//! What a report section is, below both the measurements that produce sections and the report
//! that runs them: the [`Section`] trait, the files a section writes ([`OutFile`]), and CSV
//! tables ([`csv_file`]). (The chart writer is [`crate::svg`], at the same level.)

use serde::Serialize;

use crate::error::{Error, Result};

/// A section of the report: its Markdown and its files.
pub trait Section {
    /// The heading, without its number.
    fn title(&self) -> &'static str;
    /// The Markdown under the heading.
    fn body(&self, out: &mut String);
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
