//! What a report run measures: every measurement's parameters in one value, which report.json
//! keeps as `parameters`.

use serde::Serialize;

use crate::error::{Error, Result};
use crate::measure::hitratio::HitRatioConfig;
use crate::measure::retention::{ClockKind, RetentionConfig, RetentionSettings, TtlMix, Workload};
use crate::measure::trace_hit_ratio::TraceConfig;
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
    /// traces' capacities are checked once they are read (`report::run`).
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
