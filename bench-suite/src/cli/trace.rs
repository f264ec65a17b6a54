//! `cachebench trace FILE`: a user's own trace, replayed like the report's.

use std::path::PathBuf;

use anyhow::{Context, Result, bail};
use clap::Args;

use super::{Servers, choose, default_out, emit};
use crate::measure::traces::{TraceConfig, TraceHitRatio};
use crate::progress::Progress;
use crate::report::{self, Section, output};
use crate::strategies::Registry;
use crate::trace::{Format, Trace, catalog};

/// Replays your own trace file on every strategy, beside the optimum.
#[derive(Args, Debug, Clone)]
pub(super) struct TraceArgs {
    /// The trace file, gzip-compressed or plain.
    file: PathBuf,
    /// Its format.
    #[arg(long, value_enum)]
    format: Format,
    /// Comma-separated capacities, in entries, e.g. 1000,10000.
    #[arg(long, value_name = "LIST")]
    capacities: String,
    /// A TTL for every entry, in seconds [default: none, entries never expire].
    #[arg(long, value_name = "SECS")]
    ttl: Option<f64>,
    /// With --ttl: how far the clock moves per request, in seconds.
    #[arg(long, value_name = "SECS", default_value_t = 0.001)]
    request_interval: f64,
    /// Comma-separated strategies [default: all].
    #[arg(long, value_name = "LIST", value_delimiter = ',')]
    strategies: Vec<String>,
    /// Where to write the table, the CSV file and the chart [default: cache-trace-NAME beside
    /// the report's default folder].
    #[arg(long, value_name = "DIR")]
    out: Option<PathBuf>,
    /// No progress bars on stderr.
    #[arg(long)]
    no_progress: bool,
}

/// `all`, `none` or a comma-separated list of catalog names.
pub(super) fn parse_traces(list: &str) -> Result<Vec<String>> {
    let names: Vec<&str> = catalog::ALL.iter().map(|e| e.name).collect();
    Ok(match list.trim() {
        "all" => names.iter().map(|s| (*s).to_owned()).collect(),
        "none" => Vec::new(),
        _ => {
            let mut out: Vec<String> = Vec::new();
            for part in list.split(',').map(str::trim).filter(|p| !p.is_empty()) {
                if catalog::find(part).is_none() {
                    bail!(
                        "--traces: unknown trace {part:?}; known: {}, or all, or none",
                        names.join(", ")
                    );
                }
                if !out.iter().any(|o| o == part) {
                    out.push(part.to_owned());
                }
            }
            if out.is_empty() {
                bail!(
                    "--traces: give all, none, or names from {}",
                    names.join(", ")
                );
            }
            out
        }
    })
}

/// Positive whole numbers, comma-separated.
fn parse_capacities(s: &str) -> Result<Vec<usize>> {
    let mut out = Vec::new();
    for part in s.split(',').map(str::trim).filter(|p| !p.is_empty()) {
        let n: usize = part
            .replace('_', "")
            .parse()
            .with_context(|| format!("--capacities: {part:?} is not a whole number"))?;
        if n == 0 || n > 1_000_000_000 {
            bail!("--capacities: {n} is not from 1 to 1000000000");
        }
        out.push(n);
    }
    if out.is_empty() {
        bail!("--capacities: give at least one capacity, e.g. --capacities 1000,10000");
    }
    out.sort_unstable();
    out.dedup();
    Ok(out)
}

pub(super) fn run_trace(registry: &Registry, args: &TraceArgs) -> Result<()> {
    let capacities = parse_capacities(&args.capacities)?;
    if let Some(t) = args.ttl {
        let (lo, hi) = report::TTL_SECS;
        if !(t.is_finite() && (lo..=hi).contains(&t)) {
            bail!("--ttl must be a number of seconds from {lo} to {hi}, got {t}");
        }
    }
    if !(args.request_interval.is_finite() && (1e-9..=3600.0).contains(&args.request_interval)) {
        bail!("--request-interval must be from 1e-9 to 3600 seconds");
    }
    let largest = capacities.iter().copied().max().unwrap_or(0);
    let (strategies, _) = choose(registry, &args.strategies, Servers::LeftOut, largest)?;
    let name: String = args
        .file
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_else(|| "trace".to_owned())
        .split('.')
        .next()
        .unwrap_or("trace")
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || c == '-' {
                c
            } else {
                '_'
            }
        })
        .collect();
    // Its own folder by default, beside the report's: a result set is a folder of its own.
    let (out, why) = match &args.out {
        Some(dir) => (dir.clone(), "--out"),
        None => {
            let (dir, why) = default_out();
            (dir.with_file_name(format!("cache-trace-{name}")), why)
        }
    };
    output::prepare(&out)?;
    super::abandon_output_on_signal();
    let trace = Trace::load(&name, &args.file, args.format)?;
    let cfg = TraceConfig {
        traces: vec![name],
        dir: PathBuf::new(),
        ttl_secs: args.ttl,
        request_interval_secs: args.request_interval,
    };
    cfg.check_clock_range(&trace)?;
    let progress = Progress::new(!args.no_progress);
    let section = TraceHitRatio::run(
        &strategies,
        &[(trace, capacities, args.format)],
        &cfg,
        &progress,
    );
    let mut md = format!("# {}\n\n", section.title());
    section.body(&mut md);
    let mut files = section.files()?;
    files.push(report::OutFile::new("trace.md", md.clone()));
    files.push(report::OutFile::new(
        "trace.json",
        serde_json::to_string_pretty(&section)? + "\n",
    ));
    let written = output::write_all(&out, &files)?;
    emit(&md)?;
    let shown = std::fs::canonicalize(&out).unwrap_or(out);
    crate::say!(
        "wrote {} files to {} ({why})",
        written.len(),
        shown.display()
    );
    Ok(())
}
