//! `cachebench trace FILE`: a user's own trace, replayed like the report's.

use std::path::{Path, PathBuf};

use anyhow::{Context, Result, bail};
use clap::Args;

use super::{Servers, choose, default_out, emit};
use crate::measure::trace_hit_ratio::{TraceConfig, TraceHitRatio};
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

/// The trace's name in tables, file names and the default folder: the file's name without
/// `.gz` and its last extension (`oltp.lis.gz` → `oltp`; `a.one.txt` → `a.one`), in letters,
/// digits, `-`, `_` and `.`, never hidden and never empty. When a character had to be
/// replaced, a hash of the original name is appended, so that two different file names never
/// give the same name.
fn trace_name(file: &Path) -> String {
    let full = file
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    let bare = full.strip_suffix(".gz").unwrap_or(&full);
    let stem = match bare.rfind('.') {
        Some(i) if i > 0 => &bare[..i],
        _ => bare,
    };
    let kept: String = stem
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.') {
                c
            } else {
                '_'
            }
        })
        .collect();
    let kept = kept.trim_start_matches('.');
    if kept == stem && !kept.is_empty() {
        return kept.to_owned();
    }
    let mut h: u32 = 0x811c_9dc5;
    for b in full.bytes() {
        h = (h ^ u32::from(b)).wrapping_mul(0x0100_0193);
    }
    let kept = if kept.is_empty() { "trace" } else { kept };
    format!("{kept}-{h:08x}")
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
    let name = trace_name(&args.file);
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
    let mut doc = report::Doc::new();
    section.body(&mut doc);
    let md = format!("# {}\n\n{}", section.title(), doc.markdown());
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

#[cfg(test)]
mod tests {
    use super::*;

    /// `.hidden.gz` gave an empty name; `a.one.txt` and `a.two.txt` gave the same one.
    #[test]
    fn trace_names_are_never_empty_hidden_or_shared_by_two_files() {
        let name = |f: &str| trace_name(Path::new(f));
        assert_eq!(name("/x/oltp.lis.gz"), "oltp");
        assert_eq!(name("web07.trace"), "web07");
        assert_eq!(name("a.one.txt"), "a.one");
        assert_ne!(name("a.one.txt"), name("a.two.txt"));
        for odd in [
            ".hidden.gz",
            ".hidden",
            "..",
            "",
            "über.txt",
            "a b.txt",
            "a_b.txt",
        ] {
            let n = name(odd);
            assert!(!n.is_empty() && !n.starts_with('.'), "{odd:?} → {n:?}");
            assert!(
                n.chars()
                    .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.')),
                "{odd:?} → {n:?}"
            );
        }
        assert_ne!(name("a b.txt"), name("a_b.txt"));
        assert_ne!(name(".hidden.gz"), name(".other.gz"));
    }
}
