//! Streaming readers for the trace formats, gzip-compressed or plain. Every malformed input is
//! an error that names the file and the line (or, for binary traces, the byte offset) — never a
//! panic, never a silently shortened trace.

use std::collections::HashMap;
use std::fs::File;
use std::io::{BufRead, BufReader, Read};
use std::path::Path;

use flate2::read::MultiGzDecoder;

use super::Format;
use crate::error::{Error, Result};

/// Where in a file.
fn at_line(path: &Path, line: u64, what: impl Into<String>) -> Error {
    Error::Trace {
        file: path.to_path_buf(),
        at: format!("line {line}"),
        what: what.into(),
    }
}

/// Opens `path`, decompressing it if it starts with gzip's magic bytes.
fn open(path: &Path) -> Result<Box<dyn BufRead>> {
    let file = File::open(path).map_err(|e| Error::io("cannot read", path, e))?;
    let mut reader = BufReader::new(file);
    let magic = reader
        .fill_buf()
        .map_err(|e| Error::io("cannot read", path, e))?;
    Ok(if magic.starts_with(&[0x1f, 0x8b]) {
        Box::new(BufReader::new(MultiGzDecoder::new(reader)))
    } else {
        Box::new(reader)
    })
}

/// Calls `each` with every line of `path` (1-based number, text without its line end).
fn lines(path: &Path, mut each: impl FnMut(u64, &str) -> Result<()>) -> Result<()> {
    let mut reader = open(path)?;
    let mut buf = Vec::new();
    let mut n = 0;
    loop {
        buf.clear();
        let got = reader
            .read_until(b'\n', &mut buf)
            .map_err(|e| at_line(path, n + 1, format!("unreadable: {e}")))?;
        if got == 0 {
            return Ok(());
        }
        n += 1;
        let text = std::str::from_utf8(&buf).map_err(|_| at_line(path, n, "not UTF-8 text"))?;
        each(n, text.trim_end_matches(['\n', '\r']))?;
    }
}

fn number(path: &Path, line: u64, field: &str, what: &str) -> Result<u64> {
    field.parse::<u64>().map_err(|_| {
        at_line(
            path,
            line,
            format!("{what} {field:?} is not a whole number"),
        )
    })
}

/// LIRS: one integer key per line; empty lines and `*` lines (checkpoint marks) are skipped.
fn lirs(path: &Path, push: &mut dyn FnMut(u64)) -> Result<()> {
    lines(path, |n, text| {
        let t = text.trim();
        if !t.is_empty() && t != "*" {
            push(number(path, n, t, "the key")?);
        }
        Ok(())
    })
}

/// ARC `.lis`: `start nblocks ignore reqno` per line, standing for the keys `start` …
/// `start + nblocks − 1` in order.
fn arc(path: &Path, push: &mut dyn FnMut(u64)) -> Result<()> {
    lines(path, |n, text| {
        let fields: Vec<&str> = text.split_whitespace().collect();
        if fields.is_empty() {
            return Ok(());
        }
        if fields.len() != 4 {
            return Err(at_line(
                path,
                n,
                format!(
                    "expected 4 fields (start nblocks ignore reqno), found {}",
                    fields.len()
                ),
            ));
        }
        let start = number(path, n, fields[0], "start")?;
        let blocks = number(path, n, fields[1], "nblocks")?;
        number(path, n, fields[2], "the third field")?;
        number(path, n, fields[3], "reqno")?;
        if start.checked_add(blocks).is_none() {
            return Err(at_line(path, n, "start + nblocks overflows"));
        }
        (start..start + blocks).for_each(&mut *push);
        Ok(())
    })
}

/// cache2k: one big-endian signed 32-bit key per request (as its 32 bits, so every key stays
/// distinct).
fn cache2k(path: &Path, push: &mut dyn FnMut(u64)) -> Result<()> {
    let mut reader = open(path)?;
    let mut offset: u64 = 0;
    let mut record = [0u8; 4];
    loop {
        let mut filled = 0;
        while filled < 4 {
            let got = reader
                .read(&mut record[filled..])
                .map_err(|e| Error::Trace {
                    file: path.to_path_buf(),
                    at: format!("byte {}", offset + filled as u64),
                    what: format!("unreadable: {e}"),
                })?;
            if got == 0 {
                break;
            }
            filled += got;
        }
        match filled {
            0 => return Ok(()),
            4 => push(u64::from(u32::from_be_bytes(record))),
            _ => {
                return Err(Error::Trace {
                    file: path.to_path_buf(),
                    at: format!("byte {offset}"),
                    what: format!(
                        "a truncated record: {filled} of 4 bytes (the file must hold whole \
                         big-endian 32-bit keys)"
                    ),
                });
            }
        }
        offset += 4;
    }
}

/// One key per line, any text (a user's own trace): each distinct line is numbered in order of
/// first appearance; empty lines are skipped.
fn plain_lines(path: &Path, push: &mut dyn FnMut(u64)) -> Result<()> {
    let mut ids: HashMap<String, u64> = HashMap::new();
    lines(path, |_, text| {
        if !text.is_empty() {
            let next = ids.len() as u64;
            push(*ids.entry(text.to_owned()).or_insert(next));
        }
        Ok(())
    })
}

/// Reads every key of `path` in `format`, in order, into `push`.
pub fn keys(path: &Path, format: Format, push: &mut dyn FnMut(u64)) -> Result<()> {
    match format {
        Format::Lirs => lirs(path, push),
        Format::Arc => arc(path, push),
        Format::Cache2k => cache2k(path, push),
        Format::Lines => plain_lines(path, push),
    }
}
