//! The comparison report: runs every measurement, then renders Markdown, JSON, CSV and SVG.
//!
//! Every figure in a [`Report`] comes from the run that produced it; nothing is carried over.
//! Each measurement renders its own section through [`Section`]; this module orders them and
//! adds the header.

mod environment;
pub mod output;

use std::fmt::Write as _;
use std::time::Instant;

use serde::Serialize;

/// The section vocabulary and the chart writer live below both the measurements and the
/// report ([`crate::section`], [`crate::svg`]); re-exported here for the report's users.
pub use crate::section::{OutFile, Section, csv_file};
pub use crate::svg;
pub use environment::{Environment, machine_line};

use crate::error::{Error, Result};
use crate::format::f1;
use crate::measure::advice::Advice;
use crate::measure::footprint::{self, Footprint};
use crate::measure::hitratio::{HitRatio, HitRatioConfig};
use crate::measure::retention::{
    self, ClockKind, Retention, RetentionConfig, RetentionSettings, TtlMix, Workload,
};
use crate::measure::scenario::Scenario;
use crate::measure::trace_hit_ratio::{TraceConfig, TraceHitRatio};
use crate::progress::Progress;
use crate::strategies::Strategy;
use crate::trace::catalog;

/// What to run.
#[derive(Debug, Clone, Serialize)]
pub struct ReportConfig {
    /// The reduced run (CI): small sizes, short real-time phases.
    pub quick: bool,
    /// Strategies to measure.
    pub strategies: Vec<Strategy>,
    /// Entry counts for the footprint (each also the capacity).
    pub footprint_entries: Vec<usize>,
    /// Retention workloads.
    #[serde(flatten)]
    pub retention: RetentionSettings,
    /// The hit-ratio workload.
    pub hit_ratio: HitRatioConfig,
    /// The recorded traces replayed.
    pub traces: TraceConfig,
    /// Seed of every random choice.
    pub seed: u64,
    /// Strategies of the registry this run could not measure, and why.
    pub not_measured: Vec<NotMeasured>,
}

/// A strategy the run left out, and why (say, no server to measure).
#[derive(Debug, Clone, Serialize)]
pub struct NotMeasured {
    /// Its name.
    pub strategy: &'static str,
    /// Why.
    pub why: String,
}

impl ReportConfig {
    /// The default run (`quick == false`) or the reduced one, over `strategies`.
    pub fn new(quick: bool, seed: u64, strategies: Vec<Strategy>) -> ReportConfig {
        let (entries, capacity, rt_capacity, rt_ttl, keys, requests) = if quick {
            (vec![10_000], 20_000, 2_000, 1.0, 10_000, 100_000)
        } else {
            (
                vec![10_000, 100_000, 500_000],
                500_000,
                10_000,
                2.0,
                100_000,
                1_000_000,
            )
        };
        let mut rt = RetentionConfig::new(
            Workload::UniformTtl,
            rt_capacity,
            TtlMix::Uniform { secs: rt_ttl },
            ClockKind::RealTime,
            seed,
        );
        // Real time: three TTLs of writes reach a steady state (moka's timer ticks ~1.07 s).
        rt.write_sets = (rt.valid_set() * 3.0) as u64;
        let manual =
            |workload, ttl| RetentionConfig::new(workload, capacity, ttl, ClockKind::Manual, seed);
        ReportConfig {
            quick,
            strategies,
            footprint_entries: entries,
            retention: RetentionSettings {
                on_manual_clock: vec![
                    manual(Workload::UniformTtl, TtlMix::Uniform { secs: 1800.0 }),
                    manual(
                        Workload::MixedTtl,
                        TtlMix::LogUniform {
                            min_secs: 60.0,
                            max_secs: 86_400.0,
                        },
                    ),
                ],
                on_real_time: rt,
            },
            hit_ratio: HitRatioConfig::new(keys, requests, seed),
            traces: TraceConfig::new(if quick {
                &catalog::QUICK
            } else {
                &catalog::DEFAULT
            }),
            seed,
            not_measured: Vec::new(),
        }
    }

    /// The largest capacity a cache of the run is built with before the traces are read: the
    /// largest footprint size, retention's, the Zipf replay's (its key count, at most). The
    /// traces' capacities are checked once they are read ([`run`]).
    pub fn largest_capacity(&self) -> usize {
        let retention = self
            .retention
            .on_manual_clock
            .iter()
            .chain(std::iter::once(&self.retention.on_real_time))
            .map(|r| r.capacity);
        self.footprint_entries
            .iter()
            .copied()
            .chain(retention)
            .chain([usize::try_from(self.hit_ratio.keys).unwrap_or(usize::MAX)])
            .max()
            .unwrap_or(0)
    }

    /// Sets the uniform retention workload's TTL (seconds), from [`TTL_SECS`]: the workload runs
    /// for about 21 TTLs on a timeline of u64 nanoseconds, which ends after 584 years, and a
    /// TTL must leave at least a nanosecond between two of the valid set's arrivals.
    pub fn set_ttl(&mut self, secs: f64) -> Result<()> {
        let (lo, hi) = TTL_SECS;
        if !(secs.is_finite() && (lo..=hi).contains(&secs)) {
            return Err(Error::Invalid(format!(
                "--ttl must be a number of seconds from {lo} to {hi} (about 22 years: the \
                 simulated timeline is u64 nanoseconds, 584 years, and the workload runs for \
                 about 21 TTLs), got {secs}"
            )));
        }
        for r in &mut self.retention.on_manual_clock {
            if let TtlMix::Uniform { .. } = r.ttl {
                r.ttl = TtlMix::Uniform { secs };
            }
        }
        Ok(())
    }
}

/// The `--ttl` the report accepts, in seconds.
pub const TTL_SECS: (f64, f64) = (0.001, 700_000_000.0);

/// Everything one run measured. Field names are stable: see README's "report.json".
#[derive(Debug, Clone, Serialize)]
pub struct Report {
    /// Version of this JSON layout.
    pub schema_version: u32,
    /// The machine and the run.
    pub environment: Environment,
    /// The parameters.
    pub parameters: ReportConfig,
    /// Bytes per entry.
    #[serde(flatten)]
    pub footprint: Footprint,
    /// Retention of expired entries.
    #[serde(flatten)]
    pub retention: Retention,
    /// The article's scenario.
    #[serde(flatten)]
    pub scenario: Scenario,
    /// Hit ratio on Zipf keys.
    #[serde(flatten)]
    pub hit_ratio: HitRatio,
    /// Hit ratio on recorded traces.
    #[serde(flatten)]
    pub traces: TraceHitRatio,
    /// Advice derived from the figures above.
    pub advice: Advice,
}

/// How the report measures what must be counted in a process of its own; the binary runs a
/// fresh copy of itself ([`footprint::in_child`], [`retention::in_child`]).
#[derive(Clone, Copy)]
pub struct Apart<'a> {
    /// One footprint row.
    pub footprint: footprint::Runner<'a>,
    /// One retention workload of one strategy.
    pub retention: retention::Runner<'a>,
}

impl std::fmt::Debug for Apart<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Apart").finish_non_exhaustive()
    }
}

/// Runs every measurement.
///
/// Two tracks run at once: the replays on the hand-moved clock (hit ratio, then traces), whose
/// figures do not depend on time or on what runs beside them; and the footprint (each row a
/// process of its own), then retention. Retention's real-time runs wait for time to pass and
/// share the cores with the replays: while they run, the replays use one core fewer
/// (`measure::reserve_a_core`).
pub fn run(cfg: &ReportConfig, apart: Apart<'_>, progress: &Progress) -> Result<Report> {
    let started = Instant::now();
    let started_unix = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs());
    let s = &cfg.strategies;
    let traces = cfg.traces.load()?;
    for (trace, capacities, _) in &traces {
        for (strategy, &c) in s
            .iter()
            .flat_map(|s| capacities.iter().map(move |c| (s, c)))
        {
            strategy.allows_capacity(c).map_err(|why| {
                Error::Invalid(format!(
                    "{strategy} on trace {}: {why}; leave it out with --strategies",
                    trace.name
                ))
            })?;
        }
    }
    let p = progress;
    let (fp, retention, replays) = std::thread::scope(|scope| {
        let replays = scope.spawn(|| -> Result<(HitRatio, TraceHitRatio)> {
            let hit_ratio = p.time("hit ratio", "all", || HitRatio::run(s, &cfg.hit_ratio, p))?;
            let traces = p.time("traces", "all", || {
                TraceHitRatio::run(s, &traces, &cfg.traces, p)
            });
            Ok((hit_ratio, traces))
        });
        let fp = p.time("footprint", "all", || {
            Footprint::run(s, &cfg.footprint_entries, apart.footprint, p)
        });
        let retention = fp.is_ok().then(|| {
            p.time("retention", "all", || {
                Retention::run(s, &cfg.retention, p, apart.retention)
            })
        });
        let replays = replays
            .join()
            .unwrap_or_else(|e| std::panic::resume_unwind(e));
        (fp, retention, replays)
    });
    let fp = fp?;
    let retention = retention.expect("run after a footprint")?;
    let (hit_ratio, traces) = replays?;
    let scenario = p.time("scenario", "all", || Scenario::run(s, &fp, &retention, p));
    refuse_failed_servers(s)?;
    let advice = Advice::derive(s, &fp, &retention, &scenario, &traces);
    Ok(Report {
        schema_version: 1,
        environment: Environment {
            timings: p.timings(),
            ..Environment::now(s, started.elapsed().as_secs_f64(), started_unix)
        },
        parameters: cfg.clone(),
        footprint: fp,
        retention,
        scenario,
        hit_ratio,
        traces,
        advice,
    })
}

/// A run in which a cache server's command failed (a miss or a dropped write the contract
/// cannot report) prints no figure.
pub fn refuse_failed_servers(strategies: &[Strategy]) -> Result<()> {
    for s in strategies {
        let Some(e) = s.external() else { continue };
        let failed = e.failures();
        if failed > 0 {
            let first = e
                .first_failure()
                .map_or_else(String::new, |f| format!(" (the first: {f})"));
            return Err(Error::Measurement(format!(
                "{s}: {failed} commands to its server failed during the run{first} — each a \
                 miss or a dropped write, so its figures are not trustworthy; no figure was \
                 written"
            )));
        }
    }
    Ok(())
}

impl Report {
    /// The sections, in report order.
    pub fn sections(&self) -> Vec<&dyn Section> {
        vec![
            &self.footprint,
            &self.retention,
            &self.scenario,
            &self.hit_ratio,
            &self.traces,
            &self.advice,
        ]
    }

    fn header(&self, o: &mut String) {
        let env = &self.environment;
        let crates: Vec<String> = env.crates.iter().map(|(k, v)| format!("{k} {v}")).collect();
        let _ = writeln!(
            o,
            "# cachebench report\n\nRun {} (unix time {}), {} s (each section's and strategy's \
             time: `--timings`, or `environment.timings` in report.json), {} build on {} with {} \
             logical CPUs; {}; seed {}{}.\n",
            if self.parameters.quick {
                "`--quick`"
            } else {
                "default"
            },
            env.started_unix_secs,
            f1(env.elapsed_secs),
            env.profile,
            env.platform,
            env.cores,
            env.rustc,
            self.parameters.seed,
            if crates.is_empty() {
                String::new()
            } else {
                format!("; crates {}", crates.join(", "))
            }
        );
        let _ = writeln!(
            o,
            "Every figure below was measured in this run. Memory is counted by a counting global \
             allocator: {}. RSS growth, which does see the allocator's own overhead, is given \
             beside it as a second opinion (each footprint row runs in a fresh process).\n",
            env.allocator
        );
        o.push_str("The strategies:\n\n");
        for s in &self.parameters.strategies {
            let _ = writeln!(o, "- `{}`: {}", s.name(), s.note());
        }
        for n in &self.parameters.not_measured {
            let _ = writeln!(
                o,
                "- `{}`: **not measured in this run**: {}",
                n.strategy, n.why
            );
        }
        o.push('\n');
    }

    /// The report as Markdown (also what the binary prints).
    pub fn markdown(&self) -> String {
        let mut o = String::new();
        self.header(&mut o);
        for (i, section) in self.sections().into_iter().enumerate() {
            let _ = writeln!(o, "## {}. {}\n", i + 1, section.title());
            section.body(&mut o);
        }
        o
    }

    /// Every file of the report: `report.md`, `report.json`, then each section's files.
    pub fn files(&self) -> Result<Vec<OutFile>> {
        let mut out = vec![
            OutFile::new("report.md", self.markdown()),
            OutFile::new("report.json", serde_json::to_string_pretty(self)? + "\n"),
        ];
        for s in self.sections() {
            // A table with no rows (the traces' under `--traces none`) is no file: its CSV
            // would be empty, without even the header that says what it would hold.
            out.extend(s.files()?.into_iter().filter(|f| !f.body.is_empty()));
        }
        Ok(out)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::strategies::failing::with_server;

    #[test]
    fn a_run_whose_server_commands_failed_prints_no_figure() {
        assert!(refuse_failed_servers(&with_server(0)).is_ok());
        let refused = refuse_failed_servers(&with_server(3))
            .unwrap_err()
            .to_string();
        assert!(
            refused.contains("ttlfifo: 3 commands")
                && refused.contains("(the first: GET on redis://:***@db/0: timed out)")
                && refused.contains("no figure was written"),
            "{refused}"
        );
    }
}
