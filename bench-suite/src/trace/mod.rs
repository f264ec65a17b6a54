//! Recorded cache traces: reading them ([`read`]), the standard ones vendored in the
//! repository's `traces/` folder ([`catalog`]), and the optimal policy that bounds every
//! strategy's hit ratio on them ([`opt`]).

pub mod catalog;
pub mod opt;
pub mod read;

use std::collections::HashSet;
use std::fmt;
use std::path::Path;

use clap::ValueEnum;
use serde::Serialize;

use crate::error::{Error, Result};

/// A trace file's format.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Format {
    /// LIRS text: one integer key per line; empty and `*` lines skipped.
    Lirs,
    /// ARC `.lis`: `start nblocks ignore reqno` per line, the keys `start` … `start+nblocks−1`.
    Arc,
    /// cache2k binary: one big-endian signed 32-bit key per request.
    Cache2k,
    /// One key per line, any text.
    Lines,
}

impl fmt::Display for Format {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Format::Lirs => "lirs",
            Format::Arc => "arc",
            Format::Cache2k => "cache2k",
            Format::Lines => "lines",
        })
    }
}

/// A trace in memory: its requests in order, as keys.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Trace {
    /// Its name in tables and file names.
    pub name: String,
    /// The keys requested, in order.
    pub requests: Vec<u64>,
    /// Distinct keys among them.
    pub distinct: usize,
}

impl Trace {
    /// Reads the trace at `path` in `format`, gzip-compressed or plain.
    pub fn load(name: &str, path: &Path, format: Format) -> Result<Trace> {
        let mut requests = Vec::new();
        read::keys(path, format, &mut |k| requests.push(k))?;
        if requests.is_empty() {
            return Err(Error::Trace {
                file: path.to_path_buf(),
                at: "end".to_owned(),
                what: format!("no request in it (read as {format})"),
            });
        }
        Ok(Trace::from_requests(name, requests))
    }

    /// A trace of `requests`.
    pub fn from_requests(name: &str, requests: Vec<u64>) -> Trace {
        let distinct = requests.iter().collect::<HashSet<_>>().len();
        Trace {
            name: name.to_owned(),
            requests,
            distinct,
        }
    }

    /// The best any cache can do without a capacity limit: every request but each key's first
    /// is a hit (1 − distinct keys ÷ requests).
    pub fn compulsory_bound(&self) -> f64 {
        1.0 - self.distinct as f64 / self.requests.len().max(1) as f64
    }
}

#[cfg(test)]
mod tests;
