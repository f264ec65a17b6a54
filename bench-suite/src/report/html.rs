//! report.html: the whole report as one page, for a browser.
//!
//! Written in plain Rust, as report.md is: the page is rendered from the same [`Doc`] blocks as
//! the Markdown (its tables from the rows' [`Table`]s, its charts the SVG files the sections
//! write, inlined), so the two hold the same figures; a template engine would add a dependency
//! and a second language for a page of one layout. The page is self-contained (no network, no
//! external script, style or font) and complete without JavaScript; its one small script adds
//! the interactions: a strategy filter for every table and chart at once, sorting by any
//! column, the value under the cursor on a chart, and a two-strategy view of each chart.

use std::fmt::Write as _;

use super::{Block, ChartRef, Doc, Docs, OutFile, Report, TITLE};
use crate::error::{Error, Result};
use crate::svg::escape as esc;
use crate::table::Table;

/// The page's file name.
pub const PAGE: &str = "report.html";

const STYLE: &str = include_str!("page.css");
const SCRIPT: &str = include_str!("page.js");

/// The page of `report`, which says `docs`, and whose charts are among `files` (the sections'
/// files).
pub(super) fn page(report: &Report, docs: &Docs, files: &[OutFile]) -> Result<String> {
    let names: Vec<String> = report
        .parameters
        .strategies
        .iter()
        .map(|s| s.name().to_owned())
        .chain(
            report
                .parameters
                .not_measured
                .iter()
                .map(|n| n.strategy.to_owned()),
        )
        .collect();
    let page = Page {
        names: &names,
        files,
    };
    let mut o = String::with_capacity(files.iter().map(|f| f.body.len()).sum::<usize>() * 2);
    let _ = write!(
        o,
        "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n<meta \
         name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n<title>{TITLE}</title>\n\
         <style>\n{STYLE}</style>\n</head>\n<body>\n<header>\n<h1>{TITLE}</h1>\n"
    );
    page.doc(&docs.header, &mut o)?;
    o.push_str("<h2 id=\"run\">The run</h2>\n");
    o.push_str("<div class=\"settings\">");
    page.table(&settings(report)?, &mut o);
    o.push_str("</div>\n");
    o.push_str("</header>\n<nav id=\"contents\">\n<h2>Contents</h2>\n<ol>\n");
    for (i, (title, _)) in docs.sections.iter().enumerate() {
        let _ = writeln!(o, "<li><a href=\"#s{}\">{}</a></li>", i + 1, esc(title));
    }
    o.push_str("</ol>\n</nav>\n");
    o.push_str("<form id=\"filter\" hidden>\n<fieldset>\n<legend>Strategies shown</legend>\n");
    for n in &names {
        let n = esc(n);
        let _ = writeln!(
            o,
            "<label><input type=\"checkbox\" value=\"{n}\" checked> {n}</label>"
        );
    }
    o.push_str("</fieldset>\n</form>\n<main>\n");
    for (i, (title, doc)) in docs.sections.iter().enumerate() {
        let _ = writeln!(
            o,
            "<section id=\"s{0}\">\n<h2>{0}. {1}</h2>",
            i + 1,
            esc(title)
        );
        page.doc(doc, &mut o)?;
        o.push_str("</section>\n");
    }
    let _ = write!(
        o,
        "</main>\n<script>\n{SCRIPT}</script>\n</body>\n</html>\n"
    );
    Ok(o)
}

/// The run's environment and parameters, one row each (report.json's `environment` and
/// `parameters`, but the timings, which `--timings` prints).
fn settings(report: &Report) -> Result<Table> {
    let mut t = Table::new(["setting", "value"]);
    for (part, value) in [
        ("environment", serde_json::to_value(&report.environment)?),
        ("parameters", serde_json::to_value(&report.parameters)?),
    ] {
        let serde_json::Value::Object(fields) = value else {
            continue;
        };
        for (k, v) in fields {
            if k == "timings" {
                continue;
            }
            t.row([format!("{part}.{k}"), plain(&v)]);
        }
    }
    Ok(t)
}

/// A JSON value as a cell: strings bare, lists joined, objects as `k v` pairs.
fn plain(v: &serde_json::Value) -> String {
    match v {
        serde_json::Value::String(s) => s.clone(),
        serde_json::Value::Array(a) => a.iter().map(plain).collect::<Vec<_>>().join(", "),
        serde_json::Value::Object(m) => m
            .iter()
            .map(|(k, v)| format!("{k} {}", plain(v)))
            .collect::<Vec<_>>()
            .join(", "),
        other => other.to_string(),
    }
}

struct Page<'a> {
    /// Every strategy of the run: the rows, columns, series and charts the filter hides.
    names: &'a [String],
    files: &'a [OutFile],
}

impl Page<'_> {
    fn doc(&self, doc: &Doc, o: &mut String) -> Result<()> {
        for b in doc.blocks() {
            match b {
                Block::Text(t) => prose(t, o),
                Block::Table(t) => self.table(t, o),
                Block::Chart(c) => self.chart(c, o)?,
                Block::Charts { intro, charts } => {
                    let _ = writeln!(
                        o,
                        "<details class=\"charts\">\n<summary>{} ({} charts)</summary>",
                        inline(intro),
                        charts.len()
                    );
                    for c in charts {
                        self.chart(c, o)?;
                    }
                    o.push_str("</details>\n");
                }
            }
        }
        Ok(())
    }

    /// The strategy a cell names, if it names one of the run's.
    fn strategy<'s>(&self, cell: &'s str) -> Option<&'s str> {
        let name = cell.trim().trim_matches('`');
        self.names.iter().any(|n| n == name).then_some(name)
    }

    /// A table: a row whose first cell names a strategy, and a column whose heading does, are
    /// marked with it for the filter.
    fn table(&self, t: &Table, o: &mut String) {
        let columns: Vec<Option<&str>> = t.head().iter().map(|h| self.strategy(h)).collect();
        let tag =
            |s: Option<&str>| s.map_or(String::new(), |s| format!(" data-strategy=\"{}\"", esc(s)));
        o.push_str("<div class=\"scroll\"><table>\n<thead><tr>");
        for (h, s) in t.head().iter().zip(&columns) {
            let _ = write!(o, "<th{}>{}</th>", tag(*s), inline(h));
        }
        o.push_str("</tr></thead>\n<tbody>\n");
        for row in t.rows() {
            let _ = write!(o, "<tr{}>", tag(row.first().and_then(|c| self.strategy(c))));
            for (i, c) in row.iter().enumerate() {
                let _ = write!(
                    o,
                    "<td{}>{}</td>",
                    tag(columns.get(i).copied().flatten()),
                    inline(c)
                );
            }
            o.push_str("</tr>\n");
        }
        o.push_str("</tbody>\n</table></div>\n");
    }

    /// A chart, its SVG inlined from the section's file, linked to the file beside the page.
    fn chart(&self, c: &ChartRef, o: &mut String) -> Result<()> {
        let svg = self
            .files
            .iter()
            .find(|f| f.name == c.file)
            .ok_or_else(|| {
                Error::Measurement(format!(
                    "the report names a chart {} that no section wrote",
                    c.file
                ))
            })?;
        let id = c.file.trim_end_matches(".svg");
        let tag = c
            .strategy
            .as_deref()
            .map_or(String::new(), |s| format!(" data-strategy=\"{}\"", esc(s)));
        let _ = write!(
            o,
            "<figure class=\"chart\" id=\"{}\"{tag}>\n{}<figcaption>{} (<a href=\"{}\">{}</a>)</figcaption>\n</figure>\n",
            esc(id),
            svg.body,
            esc(&c.alt),
            esc(&c.file),
            esc(&c.file)
        );
        Ok(())
    }
}

/// Prose: paragraphs at blank lines, `- ` lines as lists, headings of bold lines kept bold.
fn prose(text: &str, o: &mut String) {
    for para in text.split("\n\n").map(str::trim).filter(|p| !p.is_empty()) {
        let mut lines = para.lines().peekable();
        while let Some(line) = lines.next() {
            if let Some(item) = line.strip_prefix("- ") {
                let _ = write!(o, "<ul>\n<li>{}</li>\n", inline(item));
                while let Some(item) = lines.peek().and_then(|l| l.strip_prefix("- ")) {
                    let _ = writeln!(o, "<li>{}</li>", inline(item));
                    lines.next();
                }
                o.push_str("</ul>\n");
            } else {
                let mut p = line.to_owned();
                while let Some(l) = lines.next_if(|l| !l.starts_with("- ")) {
                    p.push(' ');
                    p.push_str(l);
                }
                let _ = writeln!(o, "<p>{}</p>", inline(&p));
            }
        }
    }
}

/// Markdown's inline marks as HTML: `` `code` ``, `**strong**`, `*emphasis*`, `[text](link)`
/// (a link to one of the page's charts goes to the chart). Anything else is text.
pub fn inline(s: &str) -> String {
    let mut o = String::with_capacity(s.len() + 16);
    let mut rest = s;
    while let Some(c) = rest.chars().next() {
        let after = &rest[c.len_utf8()..];
        let closed = |mark: &str, from: &str| {
            from.find(mark)
                .filter(|&end| end > 0 && !from.starts_with(' ') && !from[..end].ends_with(' '))
        };
        match c {
            '`' => {
                if let Some(end) = after.find('`') {
                    let _ = write!(o, "<code>{}</code>", esc(&after[..end]));
                    rest = &after[end + 1..];
                    continue;
                }
            }
            '*' if after.starts_with('*') => {
                if let Some(end) = closed("**", &after[1..]) {
                    let _ = write!(o, "<strong>{}</strong>", inline(&after[1..1 + end]));
                    rest = &after[1 + end + 2..];
                    continue;
                }
            }
            '*' => {
                if let Some(end) = closed("*", after) {
                    let _ = write!(o, "<em>{}</em>", inline(&after[..end]));
                    rest = &after[end + 1..];
                    continue;
                }
            }
            '[' => {
                if let Some((text, tail)) = after.split_once("](")
                    && !text.contains(']')
                    && let Some((target, tail)) = tail.split_once(')')
                {
                    let href = match target.strip_suffix(".svg") {
                        Some(chart) => format!("#{chart}"),
                        None => target.to_owned(),
                    };
                    let _ = write!(o, "<a href=\"{}\">{}</a>", esc(&href), inline(text));
                    rest = tail;
                    continue;
                }
            }
            _ => {}
        }
        o.push_str(&esc(&rest[..c.len_utf8()]));
        rest = after;
    }
    o
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn inline_marks_become_html_and_text_is_escaped() {
        assert_eq!(
            inline("**Trace `a<b`** (*cells*) [x](retention_u.svg) 2 * 3 & [y](z)"),
            "<strong>Trace <code>a&lt;b</code></strong> (<em>cells</em>) \
             <a href=\"#retention_u\">x</a> 2 * 3 &amp; <a href=\"z\">y</a>"
        );
        assert_eq!(inline("a `unclosed"), "a `unclosed");
        assert_eq!(inline("**"), "**");
    }

    #[test]
    fn prose_splits_paragraphs_and_lists() {
        let mut o = String::new();
        prose(
            "One\nline.\n\nThe strategies:\n\n- `a`: x\n- `b`: y\n\nEnd.\n",
            &mut o,
        );
        assert_eq!(
            o,
            "<p>One line.</p>\n<p>The strategies:</p>\n<ul>\n<li><code>a</code>: x</li>\n\
             <li><code>b</code>: y</li>\n</ul>\n<p>End.</p>\n"
        );
    }

    #[test]
    fn rows_and_columns_that_name_a_strategy_are_marked_for_the_filter() {
        let names = ["lru".to_owned(), "moka".to_owned()];
        let page = Page {
            names: &names,
            files: &[],
        };
        let mut t = Table::new(["strategy", "moka", "opt"]);
        t.row(["lru", "1.5", "2"]);
        t.row(["opt", "3", "4"]);
        let mut o = String::new();
        page.table(&t, &mut o);
        assert!(
            o.contains("<th data-strategy=\"moka\">moka</th><th>opt</th>"),
            "{o}"
        );
        assert!(o.contains("<tr data-strategy=\"lru\"><td>lru</td><td data-strategy=\"moka\">1.5</td><td>2</td></tr>"), "{o}");
        assert!(o.contains("<tr><td>opt</td>"), "{o}");
        let missing = page.chart(&ChartRef::new("x", "nowhere.svg"), &mut o);
        assert!(missing.unwrap_err().to_string().contains("nowhere.svg"));
    }
}
