//! `cachebench`: measures what each cache strategy really holds, and prints the comparison.
//!
//! `cargo run --release -p bench-suite` runs the default report; `--help` lists the rest.

use std::path::PathBuf;
use std::process::Command;

use anyhow::{Context, Result, bail};
use bench_suite::alloc::CountingAlloc;
use bench_suite::footprint::{self, FootprintRow};
use bench_suite::progress::Progress;
use bench_suite::report::{self, ReportConfig};
use bench_suite::strategies;
use clap::{Args, Parser, Subcommand};

#[global_allocator]
static ALLOC: CountingAlloc = CountingAlloc;

/// Measures what each cache strategy really holds — bytes per entry, expired entries still
/// resident, hit ratio — and prints the comparison.
#[derive(Parser, Debug)]
#[command(name = "cachebench", version, about, long_about = None)]
struct Cli {
    #[command(subcommand)]
    command: Option<Cmd>,
    #[command(flatten)]
    report: ReportArgs,
}

#[derive(Subcommand, Debug)]
enum Cmd {
    /// The comparison report (the default when no command is given).
    Report(ReportArgs),
    /// Turns measured bytes per entry into a capacity plan for your numbers.
    Plan(bench_suite::plan::PlanArgs),
    /// Reads `cargo bench -p bench-suite`'s results and prints the speed table: median ns per
    /// operation and each strategy's ratio to the fastest.
    BenchTable {
        /// criterion's output folder [default: target/criterion in the workspace].
        #[arg(long, value_name = "DIR")]
        criterion: Option<PathBuf>,
        /// Also write the table as Markdown to this file [default: target/cache-report/bench.md].
        #[arg(long, value_name = "FILE")]
        out: Option<PathBuf>,
    },
    /// Measures one footprint row in this process and prints it as JSON (used by `report`).
    #[command(hide = true)]
    MeasureFootprint {
        #[arg(long)]
        strategy: String,
        #[arg(long)]
        shape: String,
        #[arg(long)]
        entries: usize,
    },
}

#[derive(Args, Debug, Clone)]
struct ReportArgs {
    /// The reduced run (CI): small sizes, short real-time phases; under 30 s.
    #[arg(long)]
    quick: bool,
    /// Where to write report.md, report.json, the CSV files and the SVG charts
    /// [default: target/cache-report in the workspace].
    #[arg(long, value_name = "DIR")]
    out: Option<PathBuf>,
    /// Comma-separated strategies to measure [default: all]: weakfifo, ttlfifo, moka, lru,
    /// quick_cache, hashmap.
    #[arg(long, value_name = "LIST")]
    strategies: Option<String>,
    /// Comma-separated entry counts for the footprint [default: 10000,100000,500000; quick: 10000].
    #[arg(long, value_name = "LIST")]
    entries: Option<String>,
    /// TTL of the uniform retention workload, in seconds [default: 1800, the article's].
    #[arg(long, value_name = "SECS", allow_negative_numbers = true)]
    ttl: Option<f64>,
    /// Seed for every random choice.
    #[arg(long, default_value_t = 42)]
    seed: u64,
    /// Print report.json to stdout instead of the Markdown tables.
    #[arg(long)]
    json: bool,
    /// No progress bars on stderr.
    #[arg(long)]
    no_progress: bool,
}

fn parse_entries(s: &str) -> Result<Vec<usize>> {
    let mut out = Vec::new();
    for part in s.split(',').map(str::trim).filter(|p| !p.is_empty()) {
        let n: usize = part
            .replace('_', "")
            .parse()
            .with_context(|| format!("--entries: {part:?} is not a whole number"))?;
        if n == 0 {
            bail!("--entries: zero entries cannot be measured; give a count of at least 1");
        }
        if n > 50_000_000 {
            bail!("--entries: {n} is more than this tool measures (50 000 000)");
        }
        out.push(n);
    }
    if out.is_empty() {
        bail!("--entries: give at least one count, e.g. --entries 10000,100000");
    }
    out.sort_unstable();
    out.dedup();
    Ok(out)
}

fn target_dir() -> PathBuf {
    match std::env::var_os("CARGO_TARGET_DIR") {
        Some(dir) => PathBuf::from(dir),
        None => PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../target"),
    }
}

fn default_out() -> PathBuf {
    target_dir().join("cache-report")
}

/// Runs one footprint measurement in a fresh copy of this process.
fn footprint_in_child(strategy: &str, shape: &str, n: usize) -> Result<FootprintRow, String> {
    let exe = std::env::current_exe().map_err(|e| format!("cannot find this program: {e}"))?;
    let out = Command::new(exe)
        .args([
            "measure-footprint",
            "--strategy",
            strategy,
            "--shape",
            shape,
        ])
        .arg("--entries")
        .arg(n.to_string())
        .output()
        .map_err(|e| format!("cannot run the footprint measurement: {e}"))?;
    if !out.status.success() {
        return Err(format!(
            "footprint of {strategy}/{shape}/{n} failed: {}",
            String::from_utf8_lossy(&out.stderr).trim()
        ));
    }
    serde_json::from_slice(&out.stdout)
        .map_err(|e| format!("footprint of {strategy}/{shape}/{n}: {e}"))
}

fn run_report(args: &ReportArgs) -> Result<()> {
    let mut cfg = ReportConfig::new(args.quick, args.seed);
    if let Some(s) = &args.strategies {
        cfg.strategies = strategies::parse_list(s)
            .map_err(anyhow::Error::msg)
            .context("--strategies")?;
    }
    if let Some(e) = &args.entries {
        cfg.footprint_entries = parse_entries(e)?;
    }
    if let Some(t) = args.ttl {
        cfg.set_ttl(t).map_err(anyhow::Error::msg)?;
    }
    let out = args.out.clone().unwrap_or_else(default_out);
    let progress = Progress::new(!args.no_progress);
    let report = report::run(&cfg, &footprint_in_child, &progress).map_err(anyhow::Error::msg)?;
    let files = report::write_all(&report, &out).map_err(anyhow::Error::msg)?;
    if args.json {
        println!("{}", serde_json::to_string_pretty(&report)?);
    } else {
        print!("{}", report::markdown(&report));
    }
    let shown = std::fs::canonicalize(&out).unwrap_or(out);
    eprintln!("wrote {} files to {}", files.len(), shown.display());
    Ok(())
}

fn main() -> Result<()> {
    let cli = Cli::parse();
    match &cli.command {
        None => run_report(&cli.report),
        Some(Cmd::Report(args)) => run_report(args),
        Some(Cmd::Plan(args)) => {
            let plan = bench_suite::plan::run(args).map_err(anyhow::Error::msg)?;
            print!("{plan}");
            Ok(())
        }
        Some(Cmd::BenchTable { criterion, out }) => {
            let dir = criterion
                .clone()
                .unwrap_or_else(|| target_dir().join("criterion"));
            let results = bench_suite::benchtable::read(&dir).map_err(anyhow::Error::msg)?;
            let table = bench_suite::benchtable::markdown(&results);
            print!("{table}");
            let out = out
                .clone()
                .unwrap_or_else(|| default_out().join("bench.md"));
            if let Some(parent) = out.parent() {
                std::fs::create_dir_all(parent)
                    .with_context(|| format!("creating {}", parent.display()))?;
            }
            let text = format!(
                "Median time per operation (ratio to the fastest strategy of the workload), from \
                 `cargo bench -p bench-suite`; {}.\n\n{table}",
                bench_suite::report::machine_line()
            );
            std::fs::write(&out, text).with_context(|| format!("writing {}", out.display()))?;
            eprintln!(
                "wrote {}",
                std::fs::canonicalize(&out).unwrap_or(out).display()
            );
            Ok(())
        }
        Some(Cmd::MeasureFootprint {
            strategy,
            shape,
            entries,
        }) => {
            let row = footprint::measure_by_name(strategy, shape, *entries, &Progress::hidden())
                .map_err(anyhow::Error::msg)?;
            println!("{}", serde_json::to_string(&row)?);
            Ok(())
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn entry_lists_are_validated() {
        assert_eq!(parse_entries("100, 10_000,100").unwrap(), vec![100, 10_000]);
        assert!(
            parse_entries("0")
                .unwrap_err()
                .to_string()
                .contains("zero entries")
        );
        assert!(
            parse_entries("ten")
                .unwrap_err()
                .to_string()
                .contains("not a whole number")
        );
        assert!(parse_entries(",").is_err());
    }

    #[test]
    fn the_cli_parses_without_a_command() {
        let cli = Cli::try_parse_from(["cachebench", "--quick", "--json"]).unwrap();
        assert!(cli.command.is_none() && cli.report.quick && cli.report.json);
        assert!(Cli::try_parse_from(["cachebench", "--bogus"]).is_err());
    }
}
