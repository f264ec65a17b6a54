//! The command line: `cachebench [report] [OPTIONS]`, `cachebench plan`, `cachebench
//! bench-table`. [`main`] is the whole program for a given registry, so the `cachebench`
//! binary and a cache author's own bench target run the same code.

use std::ffi::OsString;
use std::io::Write as _;
use std::path::{Path, PathBuf};
use std::process::{Command, ExitCode, Stdio};

use anyhow::{Context, Result, bail};
use clap::builder::{PossibleValuesParser, Resettable, StyledStr};
use clap::{Args, CommandFactory, FromArgMatches, Parser, Subcommand};

mod trace;

use trace::{TraceArgs, parse_traces, run_trace};

use crate::alloc;
use crate::measure::footprint;
use crate::measure::retention::{self, RetentionConfig};
use crate::plan::{self, PlanArgs};
use crate::progress::Progress;
use crate::report::{self, NotMeasured, ReportConfig, output};
use crate::shapes::Article;
use crate::speed::table as bench_table;
use crate::strategies::{Registry, Strategy};

/// Measures what each cache strategy really holds — bytes per entry, expired entries still
/// resident, hit ratio — and prints the comparison.
#[derive(Parser, Debug)]
#[command(name = "cachebench", version, about, long_about = None)]
#[command(args_conflicts_with_subcommands = true)]
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
    Plan(PlanArgs),
    /// Replays your own trace on every strategy, beside the optimum (see `--help`).
    Trace(TraceArgs),
    /// Reads `cargo bench -p bench-suite`'s results and prints the speed table: median ns per
    /// operation and each strategy's ratio to the fastest.
    BenchTable {
        /// criterion's output folder [default: target/criterion of the cargo target folder].
        #[arg(long, value_name = "DIR")]
        criterion: Option<PathBuf>,
        /// Also write the table as Markdown to this file [default: cache-bench.md beside the
        /// report's default folder].
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
    /// Runs one retention workload (a JSON `RetentionConfig`) in this process and prints its
    /// samples as JSON (used by `report`).
    #[command(hide = true)]
    MeasureRetention {
        #[arg(long)]
        strategy: String,
        #[arg(long)]
        config: String,
    },
}

#[derive(Args, Debug, Clone)]
struct ReportArgs {
    /// The reduced run (CI): small sizes, short real-time phases; about 9 s on 2 cores.
    #[arg(long)]
    quick: bool,
    /// Where to write report.md, report.json, the CSV files and the SVG charts [default:
    /// cache-report in the cargo target folder when run through cargo, else in the current
    /// folder].
    #[arg(long, value_name = "DIR")]
    out: Option<PathBuf>,
    /// Comma-separated strategies to measure [default: all].
    #[arg(long, value_name = "LIST", value_delimiter = ',')]
    strategies: Vec<String>,
    /// Comma-separated entry counts for the footprint [default: 10000,100000,500000; quick: 10000].
    #[arg(long, value_name = "LIST")]
    entries: Option<String>,
    /// TTL of the uniform retention workload, in seconds [default: 1800, the article's].
    #[arg(long, value_name = "SECS", allow_negative_numbers = true)]
    ttl: Option<f64>,
    /// Seed for every random choice.
    #[arg(long, default_value_t = 42)]
    seed: u64,
    /// Recorded traces to replay: `all`, `none`, or a comma-separated list of names [default:
    /// loop, multi2, sprite, oltp, web07; quick: multi1, cs].
    #[arg(long, value_name = "all|none|LIST")]
    traces: Option<String>,
    /// The folder of the vendored traces [default: traces/ of the workspace].
    #[arg(long, value_name = "DIR")]
    trace_dir: Option<PathBuf>,
    /// Print report.json to stdout instead of the Markdown tables.
    #[arg(long)]
    json: bool,
    /// No progress bars on stderr.
    #[arg(long)]
    no_progress: bool,
    /// Print where the time went on stderr at the end: each section, and each strategy within
    /// it (also in report.json's environment).
    #[arg(long)]
    timings: bool,
    /// Open report.html with the system's opener (xdg-open, open, start) when the run is done.
    #[arg(long)]
    open: bool,
}

/// The `--strategies` options take the registry's names; clap lists them in `--help` and in
/// its error for an unknown one.
fn command(registry: &Registry) -> clap::Command {
    let names = registry.names();
    let strategies = |a: clap::Arg| a.value_parser(PossibleValuesParser::new(names.clone()));
    // The commands that measure servers take each server strategy's own options. Adding a
    // derived `clap::Args` also sets the command's description to the options' doc comment:
    // each command keeps its own.
    let servers = |mut c: clap::Command| {
        let (about, long_about) = (c.get_about().cloned(), c.get_long_about().cloned());
        for e in registry.all().iter().filter_map(Strategy::external) {
            c = e.command_line(c);
        }
        let keep = |t: Option<StyledStr>| t.map_or(Resettable::Reset, Resettable::Value);
        c.about(keep(about)).long_about(keep(long_about))
    };
    servers(Cli::command())
        .mut_arg("strategies", strategies)
        .mut_subcommand("report", |c| servers(c.mut_arg("strategies", strategies)))
        .mut_subcommand("plan", servers)
        .mut_subcommand("plan", |c| c.mut_arg("strategies", strategies))
        .mut_subcommand("trace", |c| c.mut_arg("strategies", strategies))
}

/// Runs the program on `registry` with the process's arguments: prints an error and returns a
/// failure code instead of panicking.
pub fn main(registry: Registry) -> ExitCode {
    match run(&registry, std::env::args_os()) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            crate::say!("error: {e:#}");
            ExitCode::FAILURE
        }
    }
}

/// [`main`] for a `harness = false` bench target in a cache author's crate. Run by `cargo bench`
/// (which passes `--bench`), it is the whole program: `cargo bench --bench report -- --quick`.
/// Run by `cargo test --benches` (no `--bench`), it makes a smoke run instead, as criterion's
/// benches do: the reduced report of every strategy, without traces, into a temporary folder.
pub fn bench_main(registry: Registry) -> ExitCode {
    let args: Vec<OsString> = std::env::args_os().collect();
    let under_cargo_bench = args.iter().any(|a| a == "--bench");
    let is_subcommand = args
        .get(1)
        .is_some_and(|a| a == "measure-footprint" || a == "measure-retention");
    if under_cargo_bench || is_subcommand {
        return main(registry);
    }
    let out = std::env::temp_dir().join(format!("cachebench-smoke-{}", std::process::id()));
    let smoke: Vec<OsString> = [
        args.first().cloned().unwrap_or_default(),
        "--quick".into(),
        "--traces".into(),
        "none".into(),
        "--no-progress".into(),
        "--out".into(),
        out.clone().into_os_string(),
    ]
    .into();
    let done = run(&registry, smoke);
    let _ = std::fs::remove_dir_all(&out);
    match done {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            crate::say!("error: {e:#}");
            ExitCode::FAILURE
        }
    }
}

/// Runs the program on `registry` with `args` (the program name first). A `--bench` argument is
/// ignored: `cargo bench` passes it to a `harness = false` bench target, which is how a cache
/// author runs the report from their own crate.
pub fn run(registry: &Registry, args: impl IntoIterator<Item = OsString>) -> Result<()> {
    let args = args.into_iter().filter(|a| a != "--bench");
    let matches = command(registry).get_matches_from(args);
    let cli = Cli::from_arg_matches(&matches).map_err(|e| e.exit())?;
    let servers_options = match matches.subcommand() {
        None => Some(&matches),
        Some(("report" | "plan", m)) => Some(m),
        Some(_) => None,
    };
    if let Some(m) = servers_options {
        for e in registry.all().iter().filter_map(Strategy::external) {
            e.configure(m).map_err(anyhow::Error::msg)?;
        }
    }
    match cli.command {
        None => run_report(registry, &cli.report),
        Some(Cmd::Report(args)) => run_report(registry, &args),
        Some(Cmd::Plan(args)) => {
            // The plan checks each strategy against its sample's size once it knows it.
            let (strategies, _) = choose(registry, &args.strategies, Servers::Measured, 0)?;
            let plan = plan::run(&args, &strategies, &Progress::new(true))?;
            emit(&plan.to_string())
        }
        Some(Cmd::Trace(args)) => run_trace(registry, &args),
        Some(Cmd::BenchTable { criterion, out }) => run_bench_table(registry, criterion, out),
        Some(Cmd::MeasureFootprint {
            strategy,
            shape,
            entries,
        }) => {
            become_child(registry);
            let row = footprint::measure_by_name(
                registry,
                &strategy,
                &shape,
                entries,
                &Progress::hidden(),
            )?;
            emit(&(serde_json::to_string(&row)? + "\n"))
        }
        Some(Cmd::MeasureRetention { strategy, config }) => {
            become_child(registry);
            let strategy = registry.require(&strategy)?;
            let config: RetentionConfig = serde_json::from_str(&config)
                .with_context(|| format!("--config is not a retention workload: {config}"))?;
            let samples = retention::run(&strategy, &Article, &config, &Progress::hidden());
            emit(&(serde_json::to_string(&samples)? + "\n"))
        }
    }
}

/// Sets up a measurement child (`measure-footprint`, `measure-retention`): it ends with its
/// parent, and each server strategy takes its settings from the environment the report handed
/// down.
fn become_child(registry: &Registry) {
    exit_with_parent();
    for e in registry.all().iter().filter_map(Strategy::external) {
        e.configure_child();
    }
}

/// A footprint child must not outlive the report that started it (killed, say, by SIGTERM): a
/// thread watches the parent process and ends this one when it is gone (the child is then
/// re-parented). Started before anything is measured: its allocations are in the baseline.
fn exit_with_parent() {
    #[cfg(unix)]
    {
        let parent = std::os::unix::process::parent_id();
        std::thread::spawn(move || {
            loop {
                std::thread::sleep(std::time::Duration::from_millis(50));
                if std::os::unix::process::parent_id() != parent {
                    std::process::exit(3);
                }
            }
        });
    }
}

/// A signal (SIGINT, SIGTERM, SIGHUP) ends the program without leaving a half-written result
/// set beside `--out`: a swap under way finishes first, and the folder being written is
/// removed. (Servers the run started stop with it: their guard watches this process.)
fn abandon_output_on_signal() {
    // A second call (the library run twice in one process) keeps the first handler.
    let _ = ctrlc::set_handler(|| {
        output::abandon_staging();
        std::process::exit(130);
    });
}

/// Whether a command measures strategies whose entries live in a server.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Servers {
    /// Yes: they are measured when ready.
    Measured,
    /// No (trace replays: millions of round trips): they are left out.
    LeftOut,
}

/// The strategies named, or all of them; and the ones left out, with why. A strategy that
/// cannot be measured here (no server for it, or `capacity` over its limit) is an error when
/// named, and is left out with one line on stderr when it was not.
fn choose(
    registry: &Registry,
    names: &[String],
    servers: Servers,
    capacity: usize,
) -> Result<(Vec<Strategy>, Vec<NotMeasured>)> {
    let named = !names.is_empty();
    let wanted = if named {
        registry.parse_list(&names.join(","))?
    } else {
        registry.all().to_vec()
    };
    let (mut chosen, mut left_out) = (Vec::new(), Vec::new());
    for s in wanted {
        let ready =
            s.allows_capacity(capacity)
                .and_then(|()| match (servers, s.external().is_some()) {
                    (Servers::LeftOut, true) => Err(
                        "its entries live in a server: a replay would be millions of round trips"
                            .to_owned(),
                    ),
                    _ => s.ready(),
                });
        match ready {
            Ok(()) => chosen.push(s),
            Err(why) if named => bail!("{s} cannot be measured: {why}"),
            Err(why) => {
                crate::say!("{s}: not measured: {why}");
                left_out.push(NotMeasured {
                    strategy: s.name(),
                    why,
                });
            }
        }
    }
    if chosen.is_empty() {
        bail!("no strategy can be measured here");
    }
    Ok((chosen, left_out))
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

/// Writes `text` to stdout. A closed pipe (`cachebench --json | head -1`) ends the output
/// quietly: the reader has what it wanted.
fn emit(text: &str) -> Result<()> {
    let mut out = std::io::stdout().lock();
    match out.write_all(text.as_bytes()).and_then(|()| out.flush()) {
        Err(e) if e.kind() != std::io::ErrorKind::BrokenPipe => Err(e).context("writing stdout"),
        _ => Ok(()),
    }
}

/// The cargo target folder this program was built in, when it runs through cargo
/// (`CARGO_TARGET_DIR`, or the nearest folder above the executable that cargo marked with
/// `CACHEDIR.TAG`).
fn cargo_target_dir() -> Option<PathBuf> {
    std::env::var_os("CARGO")?;
    if let Some(dir) = std::env::var_os("CARGO_TARGET_DIR") {
        return Some(PathBuf::from(dir));
    }
    let exe = std::env::current_exe().ok()?;
    exe.ancestors()
        .skip(1)
        .find(|d| d.join("CACHEDIR.TAG").is_file())
        .map(Path::to_path_buf)
}

/// Where the report goes without `--out`, and why there.
fn default_out() -> (PathBuf, &'static str) {
    match cargo_target_dir() {
        Some(t) => (
            t.join("cache-report"),
            "the cargo target folder: run through cargo",
        ),
        None => (
            PathBuf::from("cache-report"),
            "the current folder: not run through cargo",
        ),
    }
}

fn run_report(registry: &Registry, args: &ReportArgs) -> Result<()> {
    if !alloc::is_installed() {
        bail!(
            "the counting allocator is not this program's global allocator; add \
             `bench_suite::counting_allocator!();` to the binary"
        );
    }
    let mut cfg = ReportConfig::new(args.quick, args.seed, Vec::new());
    if let Some(e) = &args.entries {
        cfg.footprint_entries = parse_entries(e)?;
    }
    if let Some(t) = args.ttl {
        cfg.set_ttl(t)?;
    }
    if let Some(list) = &args.traces {
        cfg.traces.traces = parse_traces(list)?;
    }
    if let Some(dir) = &args.trace_dir {
        cfg.traces.dir = dir.clone();
    }
    let (strategies, left_out) = choose(
        registry,
        &args.strategies,
        Servers::Measured,
        cfg.largest_capacity(),
    )?;
    cfg.strategies = strategies;
    cfg.not_measured = left_out;
    let (out, why) = match &args.out {
        Some(dir) => (dir.clone(), "--out"),
        None => default_out(),
    };
    output::prepare(&out)?;
    abandon_output_on_signal();
    let exe = std::env::current_exe().context("cannot find this program to re-run it")?;
    let env: Vec<(String, String)> = cfg
        .strategies
        .iter()
        .filter_map(Strategy::external)
        .flat_map(|e| e.child_env())
        .collect();
    let footprint = |s: &str, shape: &str, n: usize| footprint::in_child(&exe, &env, s, shape, n);
    let retention = |s: &Strategy, c: &RetentionConfig| retention::in_child(&exe, &env, s, c);
    let apart = report::Apart {
        footprint: &footprint,
        retention: &retention,
    };
    let report = report::run(&cfg, apart, &Progress::new(!args.no_progress))?;
    let files = output::write_all(&out, &report.files()?)?;
    if args.json {
        emit(&(serde_json::to_string_pretty(&report)? + "\n"))?;
    } else {
        emit(&report.markdown())?;
    }
    if args.timings {
        for t in &report.environment.timings {
            let indent = if t.strategy == "all" { "" } else { "  " };
            crate::say!("{indent}{:>7.1} s  {} {}", t.secs, t.section, t.strategy);
        }
    }
    let shown = std::fs::canonicalize(&out).unwrap_or(out);
    let page = shown.join(report::html::PAGE);
    if args.open {
        open_page(&page);
    }
    crate::say!(
        "wrote {} files to {} ({why}); the whole report as one page: {}",
        files.len(),
        shown.display(),
        page.display()
    );
    Ok(())
}

/// Opens `page` with the system's opener, or says there is none; never an error (the files are
/// written).
fn open_page(page: &Path) {
    let (opener, args): (&str, &[&str]) = if cfg!(target_os = "macos") {
        ("open", &[])
    } else if cfg!(windows) {
        ("cmd", &["/C", "start", ""])
    } else {
        ("xdg-open", &[])
    };
    let started = Command::new(opener)
        .args(args)
        .arg(page)
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn();
    match started {
        // Reaped if it ends before this program does (an opener hands the page over and exits).
        Ok(mut child) => drop(std::thread::spawn(move || child.wait())),
        Err(e) => crate::say!("--open: cannot run {opener} ({e}); open the page by hand"),
    }
}

fn run_bench_table(
    registry: &Registry,
    criterion: Option<PathBuf>,
    out: Option<PathBuf>,
) -> Result<()> {
    let dir = match criterion {
        Some(d) => d,
        None => cargo_target_dir()
            .unwrap_or_else(|| PathBuf::from("target"))
            .join("criterion"),
    };
    let (results, stale) = bench_table::of_registry(bench_table::read(&dir)?, registry);
    if !stale.is_empty() {
        crate::say!(
            "left out results of strategies this program does not know (an earlier bench of a \
             strategy since renamed or removed; delete {} to clear them): {}",
            dir.display(),
            stale.join(", ")
        );
    }
    if results.is_empty() {
        bail!(
            "no result in {} is of a strategy of this program; run cargo bench first",
            dir.display()
        );
    }
    let table = bench_table::table(&results).to_string();
    emit(&table)?;
    let out = out.unwrap_or_else(|| default_out().0.with_file_name("cache-bench.md"));
    if let Some(parent) = out.parent().filter(|p| !p.as_os_str().is_empty()) {
        std::fs::create_dir_all(parent)
            .with_context(|| format!("creating {}", parent.display()))?;
    }
    let text = format!(
        "Median time per operation (ratio to the fastest strategy of the workload), from \
         `cargo bench -p bench-suite`; {}.\n\n{table}",
        report::machine_line()
    );
    output::write_atomically(&out, text.as_bytes())?;
    crate::say!(
        "wrote {}",
        std::fs::canonicalize(&out).unwrap_or(out).display()
    );
    Ok(())
}

#[cfg(test)]
mod tests;
