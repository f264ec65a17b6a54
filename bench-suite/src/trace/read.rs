//! Streaming readers for the trace formats, gzip-compressed or plain. Every malformed input is
//! an error that names the file and the line (or, for binary traces, the byte offset) — never a
//! panic, never a silently shortened trace.
//!
//! Memory is bounded whatever the input: a line is at most [`MAX_LINE`] bytes, a trace at most
//! [`MAX_REQUESTS`] requests (an ARC line's count is checked before it is expanded), the
//! distinct keys of a `lines` trace at most [`MAX_KEY_BYTES`] in all; and an error quotes at
//! most the first [`QUOTED`] characters of a bad field.

use std::collections::HashMap;
use std::fs::File;
use std::io::{BufRead, BufReader, Read};
use std::path::Path;

use flate2::read::MultiGzDecoder;

use super::Format;
use crate::error::{Error, Result};

/// The longest line read, in bytes.
pub const MAX_LINE: usize = 4096;
/// The most requests a trace may hold (8 bytes each in memory, and a replay's time).
pub const MAX_REQUESTS: u64 = 50_000_000;
/// The most bytes of distinct keys a `lines` trace may hold.
pub const MAX_KEY_BYTES: usize = 256 << 20;
/// The most characters of a bad field an error quotes.
pub const QUOTED: usize = 40;

/// Where the keys go: at most [`MAX_REQUESTS`] of them.
struct Sink<'a> {
    push: &'a mut dyn FnMut(u64),
    left: u64,
}

impl Sink<'_> {
    /// Makes room for `n` more keys; `false` if that passes [`MAX_REQUESTS`].
    fn reserve(&mut self, n: u64) -> bool {
        match self.left.checked_sub(n) {
            Some(left) => {
                self.left = left;
                true
            }
            None => false,
        }
    }
}

fn too_many() -> String {
    format!(
        "more than {MAX_REQUESTS} requests: the most a replay holds (each is 8 bytes in memory); \
         cut the trace"
    )
}

/// `text`, or its first [`QUOTED`] characters and how long it was.
fn quoted(text: &str) -> String {
    match text.char_indices().nth(QUOTED) {
        None => format!("{text:?}"),
        Some((cut, _)) => format!("{:?}… ({} bytes)", &text[..cut], text.len()),
    }
}

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
    let limit = u64::try_from(MAX_LINE + 1).unwrap_or(u64::MAX);
    loop {
        buf.clear();
        let got = (&mut reader)
            .take(limit)
            .read_until(b'\n', &mut buf)
            .map_err(|e| at_line(path, n + 1, format!("unreadable: {e}")))?;
        if got == 0 {
            return Ok(());
        }
        n += 1;
        if buf.len() > MAX_LINE {
            return Err(at_line(
                path,
                n,
                format!("longer than {MAX_LINE} bytes: not a trace line"),
            ));
        }
        let text = std::str::from_utf8(&buf).map_err(|_| at_line(path, n, "not UTF-8 text"))?;
        each(n, text.trim_end_matches(['\n', '\r']))?;
    }
}

fn number(path: &Path, line: u64, field: &str, what: &str) -> Result<u64> {
    field.parse::<u64>().map_err(|_| {
        at_line(
            path,
            line,
            format!("{what} {} is not a whole number", quoted(field)),
        )
    })
}

/// LIRS: one integer key per line; empty lines and `*` lines (checkpoint marks) are skipped.
fn lirs(path: &Path, sink: &mut Sink<'_>) -> Result<()> {
    lines(path, |n, text| {
        let t = text.trim();
        if !t.is_empty() && t != "*" {
            let key = number(path, n, t, "the key")?;
            if !sink.reserve(1) {
                return Err(at_line(path, n, too_many()));
            }
            (sink.push)(key);
        }
        Ok(())
    })
}

/// ARC `.lis`: `start nblocks ignore reqno` per line, standing for the keys `start` …
/// `start + nblocks − 1` in order.
fn arc(path: &Path, sink: &mut Sink<'_>) -> Result<()> {
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
        if !sink.reserve(blocks) {
            return Err(at_line(path, n, too_many()));
        }
        (start..start + blocks).for_each(&mut *sink.push);
        Ok(())
    })
}

/// cache2k: one big-endian signed 32-bit key per request (as its 32 bits, so every key stays
/// distinct).
fn cache2k(path: &Path, sink: &mut Sink<'_>) -> Result<()> {
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
            4 if sink.reserve(1) => (sink.push)(u64::from(u32::from_be_bytes(record))),
            4 => {
                return Err(Error::Trace {
                    file: path.to_path_buf(),
                    at: format!("byte {offset}"),
                    what: too_many(),
                });
            }
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
fn plain_lines(path: &Path, sink: &mut Sink<'_>) -> Result<()> {
    let mut ids: HashMap<String, u64> = HashMap::new();
    let mut key_bytes = 0usize;
    lines(path, |n, text| {
        if text.is_empty() {
            return Ok(());
        }
        if !sink.reserve(1) {
            return Err(at_line(path, n, too_many()));
        }
        let id = match ids.get(text) {
            Some(&id) => id,
            None => {
                key_bytes += text.len();
                if key_bytes > MAX_KEY_BYTES {
                    return Err(at_line(
                        path,
                        n,
                        format!(
                            "more than {} MiB of distinct keys: the most a replay holds",
                            MAX_KEY_BYTES >> 20
                        ),
                    ));
                }
                let id = ids.len() as u64;
                ids.insert(text.to_owned(), id);
                id
            }
        };
        (sink.push)(id);
        Ok(())
    })
}

/// Reads every key of `path` in `format`, in order, into `push`.
/// At most [`MAX_REQUESTS`] keys: a longer trace is an error at the place it passes the limit.
pub fn keys(path: &Path, format: Format, push: &mut dyn FnMut(u64)) -> Result<()> {
    let sink = &mut Sink {
        push,
        left: MAX_REQUESTS,
    };
    match format {
        Format::Lirs => lirs(path, sink),
        Format::Arc => arc(path, sink),
        Format::Cache2k => cache2k(path, sink),
        Format::Lines => plain_lines(path, sink),
    }
}
