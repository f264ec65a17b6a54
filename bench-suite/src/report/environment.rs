//! The machine and the run, recorded beside every figure.

use std::collections::BTreeMap;

use serde::Serialize;

use crate::progress::Timing;
use crate::strategies::Strategy;

/// The machine and the run.
#[derive(Debug, Clone, Serialize)]
pub struct Environment {
    /// This tool's version.
    pub cachebench: &'static str,
    /// The compiler that built it.
    pub rustc: &'static str,
    /// Locked versions of the measured crates (those the strategies name, and the bench tools).
    pub crates: BTreeMap<String, String>,
    /// Logical CPUs available.
    pub cores: usize,
    /// `std::env::consts::OS` / `ARCH`.
    pub platform: String,
    /// Seconds since 1970 when the run started.
    pub started_unix_secs: u64,
    /// How long the run took.
    pub elapsed_secs: f64,
    /// What the counting allocator counts.
    pub allocator: &'static str,
    /// Build profile.
    pub profile: &'static str,
    /// Where the time went: each section, and each strategy within it (`--timings` prints
    /// them).
    pub timings: Vec<Timing>,
    /// Each strategy measured outside this process, and what counted it there, with its
    /// version (a server's, or CPython's).
    pub outside: BTreeMap<String, String>,
}

/// The crates every run records, whatever the strategies.
const TOOLS: [&str; 1] = ["criterion"];

/// Every `name=version` of Cargo.lock, as `build.rs` recorded it.
fn locked() -> impl Iterator<Item = (&'static str, &'static str)> {
    option_env!("CACHEBENCH_LOCKED")
        .unwrap_or("")
        .split(',')
        .filter_map(|kv| kv.split_once('='))
}

impl Environment {
    /// The environment now, for a run of `strategies` that took `elapsed_secs`.
    pub fn now(strategies: &[Strategy], elapsed_secs: f64, started_unix_secs: u64) -> Self {
        let wanted: Vec<&str> = strategies
            .iter()
            .flat_map(|s| s.crate_names().iter().copied())
            .chain(TOOLS)
            .collect();
        let crates = locked()
            .filter(|(name, _)| wanted.contains(name))
            .map(|(k, v)| (k.to_owned(), v.to_owned()))
            .collect();
        Environment {
            cachebench: env!("CARGO_PKG_VERSION"),
            rustc: option_env!("CACHEBENCH_RUSTC").unwrap_or("unknown"),
            crates,
            cores: std::thread::available_parallelism().map_or(1, |n| n.get()),
            platform: format!("{}/{}", std::env::consts::OS, std::env::consts::ARCH),
            started_unix_secs,
            elapsed_secs,
            allocator: "bytes requested from the global allocator and not yet freed, on the \
                        measuring thread (allocator headers and size classes not included)",
            profile: if cfg!(debug_assertions) {
                "debug"
            } else {
                "release"
            },
            timings: Vec::new(),
            outside: strategies
                .iter()
                .filter_map(|s| Some((s.name().to_owned(), s.external()?.counted_by().ok()?)))
                .collect(),
        }
    }
}

/// One line on the machine and toolchain, for tables that quote measurements.
pub fn machine_line() -> String {
    let env = Environment::now(&[], 0.0, 0);
    format!(
        "{}, {} logical CPUs, {}, {} build",
        env.platform, env.cores, env.rustc, env.profile
    )
}
