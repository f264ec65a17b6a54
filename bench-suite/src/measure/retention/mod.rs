//! Retention of expired entries: the article's failure mode, measured.
//!
//! A stream of new keys arrives at a rate that keeps the *valid set* (arrival rate × TTL) at a
//! tenth of the capacity. Over four phases — write traffic until steady state, idle, read-only
//! traffic, then `maintain()` — samples record how many entries each strategy holds, how many of
//! those are live and how many expired, and the live heap bytes it holds (see [`harness`]).

pub mod harness;

use std::ffi::OsStr;
use std::fmt;
use std::path::Path;
use std::time::Duration;

use rand_xoshiro::Xoshiro256PlusPlus;
use rand_xoshiro::rand_core::Rng;
use serde::{Deserialize, Serialize};

pub use crate::values::{Census, TrackedValue};
pub use harness::run;

use crate::error::Result;
use crate::measure::{Measurement, Track};
use crate::progress::Progress;
use crate::strategies::{Reclamation, Strategy};

/// A retention workload's name.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Workload {
    /// One TTL for every entry (the article's 1800 s by default).
    UniformTtl,
    /// TTLs drawn log-uniformly from one minute to one day.
    MixedTtl,
    /// The plan's scaled run at the user's valid-set-to-maxlen ratio.
    Plan,
}

impl fmt::Display for Workload {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Workload::UniformTtl => "uniform_ttl",
            Workload::MixedTtl => "mixed_ttl",
            Workload::Plan => "plan",
        })
    }
}

/// The clock a run moves on.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ClockKind {
    /// A hand-moved clock: the workload at full scale, in no time.
    Manual,
    /// Real time, with scaled parameters (strategies whose reclamation runs on real time).
    RealTime,
}

impl ClockKind {
    /// How a table says it: `manual`, `real time`.
    pub fn label(self) -> &'static str {
        match self {
            ClockKind::Manual => "manual",
            ClockKind::RealTime => "real time",
        }
    }
}

/// A phase of the workload.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Phase {
    /// New keys arrive until steady state.
    Write,
    /// No traffic until every entry has expired.
    Idle,
    /// Reads of recently valid keys, no writes.
    Read,
    /// One `maintain()` call.
    Maintain,
}

impl Phase {
    /// Lower case, as in the JSON.
    pub fn label(self) -> &'static str {
        match self {
            Phase::Write => "write",
            Phase::Idle => "idle",
            Phase::Read => "read",
            Phase::Maintain => "maintain",
        }
    }
}

/// How the workload's TTLs are drawn.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum TtlMix {
    /// Every entry gets the same TTL.
    Uniform {
        /// The TTL, in seconds.
        secs: f64,
    },
    /// Log-uniform between `min_secs` and `max_secs`: as many entries live a minute as an
    /// hour or a day, per order of magnitude.
    LogUniform {
        /// The shortest TTL, in seconds.
        min_secs: f64,
        /// The longest TTL, in seconds.
        max_secs: f64,
    },
}

impl TtlMix {
    /// The mean TTL, in seconds.
    pub fn mean_secs(self) -> f64 {
        match self {
            TtlMix::Uniform { secs } => secs,
            TtlMix::LogUniform { min_secs, max_secs } => {
                (max_secs - min_secs) / (max_secs / min_secs).ln()
            }
        }
    }

    /// The longest TTL, in seconds.
    pub fn max_secs(self) -> f64 {
        match self {
            TtlMix::Uniform { secs } => secs,
            TtlMix::LogUniform { max_secs, .. } => max_secs,
        }
    }

    fn draw(self, rng: &mut Xoshiro256PlusPlus) -> Duration {
        match self {
            TtlMix::Uniform { secs } => Duration::from_secs_f64(secs),
            TtlMix::LogUniform { min_secs, max_secs } => {
                let u = (rng.next_u64() >> 11) as f64 / (1u64 << 53) as f64;
                Duration::from_secs_f64(min_secs * (max_secs / min_secs).powf(u))
            }
        }
    }
}

/// One retention workload.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct RetentionConfig {
    /// The workload's name in tables.
    pub workload: Workload,
    /// Capacity every cache is built with.
    pub capacity: usize,
    /// The TTLs.
    pub ttl: TtlMix,
    /// New keys set in the write phase.
    pub write_sets: u64,
    /// Reads in the read-only phase.
    pub read_ops: u64,
    /// Samples taken in the write phase.
    pub write_samples: u64,
    /// The clock it runs on.
    pub clock: ClockKind,
    /// Seed for the TTL draws and the reads.
    pub seed: u64,
    /// The valid set as a fraction of the capacity (the article's case: a tenth).
    pub valid_fraction: f64,
}

impl RetentionConfig {
    /// The workload at capacity `capacity`: valid set a tenth of it, `2 × capacity` new keys.
    pub fn new(
        workload: Workload,
        capacity: usize,
        ttl: TtlMix,
        clock: ClockKind,
        seed: u64,
    ) -> Self {
        RetentionConfig {
            workload,
            capacity,
            ttl,
            write_sets: 2 * capacity as u64,
            read_ops: (capacity as u64 / 5).max(1),
            write_samples: 20,
            clock,
            seed,
            valid_fraction: 0.1,
        }
    }

    /// Entries valid at once in steady state: `valid_fraction` of the capacity.
    pub fn valid_set(&self) -> f64 {
        (self.capacity as f64 * self.valid_fraction).max(1.0)
    }

    /// Seconds between two new keys: mean TTL ÷ valid set.
    pub fn interarrival_secs(&self) -> f64 {
        self.ttl.mean_secs() / self.valid_set()
    }
}

/// Runs one strategy's workload in a fresh process of this program and returns its samples
/// (the report's runner: [`in_child`]).
pub type Runner<'a> = &'a (dyn Fn(&Strategy, &RetentionConfig) -> Result<Vec<Sample>> + Sync);

/// Runs `strategy`'s workload `cfg` in a fresh copy of this program (`exe measure-retention
/// ...`), with `env` added to its environment, and reads its samples.
pub fn in_child(
    exe: &Path,
    env: &[(String, String)],
    strategy: &Strategy,
    cfg: &RetentionConfig,
) -> Result<Vec<Sample>> {
    let config = serde_json::to_string(cfg)?;
    let args = [
        "measure-retention",
        "--strategy",
        strategy.name(),
        "--config",
        &config,
    ]
    .map(OsStr::new);
    super::in_child(
        exe,
        env,
        &args,
        &format!("retention of {strategy}/{}", cfg.workload),
    )
}

/// One sample of what a strategy holds.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Sample {
    /// Strategy name (not read back from a child process's samples: the report sets it).
    #[serde(skip_deserializing)]
    pub strategy: &'static str,
    /// Workload name.
    pub workload: Workload,
    /// The phase it was taken in.
    pub phase: Phase,
    /// Seconds since the workload started, on its clock.
    pub t_secs: f64,
    /// The same time in mean TTLs, comparable across clocks.
    pub t_ttls: f64,
    /// New keys set so far.
    pub sets: u64,
    /// Entries whose value is in memory (observed through the values themselves).
    pub resident_entries: u64,
    /// Resident entries that are live (`now <= deadline`).
    pub live_entries: u64,
    /// Resident entries that have expired.
    pub expired_resident_entries: u64,
    /// Live heap bytes held by the cache (this thread's net allocation since before it was
    /// built).
    pub resident_bytes: i64,
    /// What the strategy's own `resident_len()` says.
    pub reported_len: u64,
}

/// The last sample of each phase of each run.
pub fn phase_ends(samples: &[Sample]) -> Vec<Sample> {
    let mut out: Vec<Sample> = Vec::new();
    for s in samples {
        match out.last_mut() {
            Some(last)
                if last.phase == s.phase
                    && last.strategy == s.strategy
                    && last.workload == s.workload =>
            {
                *last = s.clone();
            }
            _ => out.push(s.clone()),
        }
    }
    out
}

/// One phase end of one retention run, with the workload's context.
#[derive(Debug, Clone, Serialize)]
pub struct RetentionRow {
    /// Strategy name.
    pub strategy: &'static str,
    /// Workload name.
    pub workload: Workload,
    /// The clock it ran on.
    pub clock: ClockKind,
    /// Capacity.
    pub capacity: usize,
    /// Entries valid at once in steady state.
    pub valid_set: u64,
    /// Mean TTL, seconds.
    pub mean_ttl_secs: f64,
    /// The phase that ended.
    pub phase: Phase,
    /// Entries held.
    pub resident_entries: u64,
    /// Held and live.
    pub live_entries: u64,
    /// Held and expired.
    pub expired_resident_entries: u64,
    /// Live heap bytes held.
    pub resident_bytes: i64,
    /// The most expired-but-resident entries at any sample of the write phase.
    pub max_expired_resident_entries_in_write: u64,
}

impl RetentionRow {
    /// Whether it kept (nearly: 1 % slack) every entry of the valid set.
    pub fn kept_the_valid_set(&self) -> bool {
        self.live_entries + self.valid_set / 100 >= self.valid_set
    }
}

fn summarise(cfg: &RetentionConfig, samples: &[Sample]) -> Vec<RetentionRow> {
    let max_expired = samples
        .iter()
        .filter(|s| s.phase == Phase::Write)
        .map(|s| s.expired_resident_entries)
        .max()
        .unwrap_or(0);
    phase_ends(samples)
        .into_iter()
        .map(|s| RetentionRow {
            strategy: s.strategy,
            workload: s.workload,
            clock: cfg.clock,
            capacity: cfg.capacity,
            valid_set: cfg.valid_set() as u64,
            mean_ttl_secs: cfg.ttl.mean_secs(),
            phase: s.phase,
            resident_entries: s.resident_entries,
            live_entries: s.live_entries,
            expired_resident_entries: s.expired_resident_entries,
            resident_bytes: s.resident_bytes,
            max_expired_resident_entries_in_write: max_expired,
        })
        .collect()
}

/// The workloads the report runs.
#[derive(Debug, Clone, Serialize)]
pub struct RetentionSettings {
    /// Workloads on the hand-moved clock (`retention` in report.json).
    #[serde(rename = "retention")]
    pub on_manual_clock: Vec<RetentionConfig>,
    /// The scaled real-time workload, for strategies whose reclamation runs on real time
    /// (`retention_real_time` in report.json).
    #[serde(rename = "retention_real_time")]
    pub on_real_time: RetentionConfig,
}

/// The retention section: phase ends and every sample.
#[derive(Debug, Clone, Serialize)]
pub struct Retention {
    /// Phase ends of every run.
    pub retention: Vec<RetentionRow>,
    /// Every sample.
    pub retention_samples: Vec<Sample>,
    /// What ran (rendered in the prose; in the JSON under `parameters`).
    #[serde(skip)]
    settings: RetentionSettings,
    /// The strategies that ran on real time, and why.
    #[serde(skip)]
    real_time: Vec<(&'static str, &'static str)>,
    /// The strategies whose entries live in a server.
    #[serde(skip)]
    servers: Vec<&'static str>,
}

/// Retention in the report: on the memory track, after the footprint (its real-time runs then
/// have the machine's second core to themselves, with the replays kept off it).
pub const MEASUREMENT: Measurement = Measurement {
    name: "retention",
    track: Track::Memory,
    run: |i| {
        let run = Retention::run(
            &i.cfg.strategies,
            &i.cfg.retention,
            i.progress,
            i.apart.retention,
        );
        Ok(Box::new(run?))
    },
};

impl Retention {
    /// Runs every workload on every strategy whose reclamation follows the clock, and the
    /// real-time workload on the others.
    ///
    /// Each run is a process of its own (`apart`: a fresh copy of this program), so that what
    /// it counts is its own and nothing else the report does at the same time: a strategy
    /// whose memory is counted process-wide (it allocates on threads of its own) included, and
    /// one whose frees another thread may carry out (moka's deferred frees, collected by
    /// whichever thread advances crossbeam's epoch, were counted against the retention run when
    /// moka replays ran beside it). The runs go in two waves: (1) the hand-moved clock's, on
    /// the machine's cores (time does not enter their figures); (2) the real-time runs, all at
    /// once (they spend their time waiting for time to pass), with a core set aside from any
    /// replay running beside them (`measure::reserve_a_core`).
    pub fn run(
        strategies: &[Strategy],
        settings: &RetentionSettings,
        progress: &Progress,
        apart: Runner<'_>,
    ) -> Result<Self> {
        let mut real_time = Vec::new();
        let servers = strategies
            .iter()
            .filter(|s| s.external().is_some())
            .map(Strategy::name)
            .collect();
        let mut jobs: Vec<(&Strategy, &RetentionConfig)> = Vec::new();
        for s in strategies {
            match s.reclamation() {
                Reclamation::FollowsClock => {
                    jobs.extend(settings.on_manual_clock.iter().map(|cfg| (s, cfg)));
                }
                Reclamation::RealTime { why } => {
                    real_time.push((s.name(), why));
                    jobs.push((s, &settings.on_real_time));
                }
            }
        }
        let bar = progress.bar("retention", jobs.len() as u64);
        let one = |i: usize| -> Result<Vec<Sample>> {
            let (s, cfg) = jobs[i];
            bar.set_message(s.name());
            let mut got = progress.time("retention", s.name(), || apart(s, cfg))?;
            for sample in &mut got {
                sample.strategy = s.name();
            }
            bar.inc(1);
            Ok(got)
        };
        let on_clock = |i: &usize| jobs[*i].1.clock == ClockKind::Manual;
        let (mut manual, timed): (Vec<usize>, Vec<usize>) = (0..jobs.len()).partition(on_clock);
        // A strategy in another process first: each of its operations is a message, so its
        // runs are the longest, and a core that took one last would leave the other idle.
        manual.sort_by_key(|&i| jobs[i].0.external().is_none());
        let mut results: Vec<Option<Vec<Sample>>> = (0..jobs.len()).map(|_| None).collect();
        for (i, got) in manual
            .iter()
            .zip(super::parallel(manual.len(), |k| one(manual[k])))
        {
            results[*i] = Some(got?);
        }
        let reserved = (!timed.is_empty()).then(super::reserve_a_core);
        let concurrent: Vec<Result<Vec<Sample>>> = std::thread::scope(|scope| {
            let handles: Vec<_> = timed.iter().map(|&i| scope.spawn(move || one(i))).collect();
            handles
                .into_iter()
                .map(|h| h.join().unwrap_or_else(|p| std::panic::resume_unwind(p)))
                .collect()
        });
        drop(reserved);
        bar.finish_and_clear();
        for (i, got) in timed.iter().zip(concurrent) {
            results[*i] = Some(got?);
        }
        let (mut rows, mut samples) = (Vec::new(), Vec::new());
        for ((_, cfg), got) in jobs.iter().zip(results) {
            let got = got.unwrap_or_default();
            rows.extend(summarise(cfg, &got));
            samples.extend(got);
        }
        Ok(Retention {
            retention: rows,
            retention_samples: samples,
            settings: settings.clone(),
            real_time,
            servers,
        })
    }

    /// The steady state of `strategy`: the end of the write phase of the uniform-TTL workload.
    pub fn steady(&self, strategy: &str) -> Option<&RetentionRow> {
        self.retention.iter().find(|r| {
            r.strategy == strategy && r.workload == Workload::UniformTtl && r.phase == Phase::Write
        })
    }

    fn workloads(&self) -> Vec<Workload> {
        let mut w: Vec<Workload> = self.retention.iter().map(|x| x.workload).collect();
        w.sort_unstable();
        w.dedup();
        w
    }
}

mod render;

#[cfg(test)]
mod tests {
    use rand_xoshiro::rand_core::SeedableRng;

    use super::*;
    use crate::shapes::Article;
    use crate::strategies::Registry;

    #[test]
    fn ttl_mixes_have_the_stated_means_and_bounds() {
        assert_eq!(TtlMix::Uniform { secs: 1800.0 }.mean_secs(), 1800.0);
        let mix = TtlMix::LogUniform {
            min_secs: 60.0,
            max_secs: 86_400.0,
        };
        // (b − a) / ln(b / a) = 86 340 / ln 1440 ≈ 11 872 s.
        assert!(
            (mix.mean_secs() - 11_872.3).abs() < 0.1,
            "{}",
            mix.mean_secs()
        );
        let mut rng = Xoshiro256PlusPlus::seed_from_u64(9);
        let draws: Vec<f64> = (0..100_000)
            .map(|_| mix.draw(&mut rng).as_secs_f64())
            .collect();
        assert!(draws.iter().all(|d| (60.0..=86_400.0).contains(d)));
        let mean = draws.iter().sum::<f64>() / draws.len() as f64;
        assert!(
            (mean / mix.mean_secs() - 1.0).abs() < 0.02,
            "sample mean {mean}"
        );
        // Log-uniform: as many draws below the geometric middle (2 277 s) as above.
        let below = draws
            .iter()
            .filter(|d| **d < (60.0f64 * 86_400.0).sqrt())
            .count();
        assert!((below as f64 / draws.len() as f64 - 0.5).abs() < 0.01);
    }

    fn small() -> RetentionConfig {
        RetentionConfig::new(
            Workload::UniformTtl,
            2_000,
            TtlMix::Uniform { secs: 100.0 },
            ClockKind::Manual,
            3,
        )
    }

    #[test]
    fn the_arrival_rate_keeps_the_valid_set_at_a_tenth_of_capacity() {
        let cfg = RetentionConfig::new(
            Workload::UniformTtl,
            500_000,
            TtlMix::Uniform { secs: 1800.0 },
            ClockKind::Manual,
            1,
        );
        assert_eq!(cfg.valid_set(), 50_000.0);
        assert_eq!(cfg.interarrival_secs(), 0.036); // 27.8 new keys per second
        assert_eq!(cfg.write_sets, 1_000_000);
    }

    #[test]
    fn the_articles_design_is_observed_to_fill_to_maxlen_with_expired_entries() {
        let weak = Registry::ours().require("weakfifo").unwrap();
        let ends = phase_ends(&run(&weak, &Article, &small(), &Progress::hidden()));
        assert_eq!(
            ends.iter().map(|s| s.phase).collect::<Vec<_>>(),
            [Phase::Write, Phase::Idle, Phase::Read, Phase::Maintain]
        );
        let write = &ends[0];
        // The article's design fills to maxlen; about a tenth is live.
        assert_eq!((write.resident_entries, write.reported_len), (2_000, 2_000));
        assert!(
            (199..=201).contains(&write.live_entries),
            "{}",
            write.live_entries
        );
        assert_eq!(
            write.expired_resident_entries,
            write.resident_entries - write.live_entries
        );
        assert!(
            write.resident_bytes > 2_000 * 84,
            "{}",
            write.resident_bytes
        );
        assert!(ends[3].live_entries == 0 && ends[3].resident_entries == 2_000);
    }

    #[test]
    fn the_repaired_design_is_observed_to_hold_no_expired_entry() {
        let fifo = Registry::ours().require("ttlfifo").unwrap();
        let ends = phase_ends(&run(&fifo, &Article, &small(), &Progress::hidden()));
        // Each shard frees its own expired entries as writes reach it: a few linger between
        // two writes to the same shard, far under 1 % of the capacity.
        assert!(
            ends[0].expired_resident_entries <= 2_000 / 100,
            "expired entries freed as writes arrive: {}",
            ends[0].expired_resident_entries
        );
        assert_eq!(
            (ends[3].resident_entries, ends[3].reported_len),
            (0, 0),
            "maintain() frees all"
        );
        // What is left is the fixed cost: the shards' locks and their small, empty tables.
        assert!(
            ends[3].resident_bytes < 8 * 1_024,
            "{}",
            ends[3].resident_bytes
        );
    }

    /// A child's samples are read back with every bit of their times: serde_json's default
    /// float parser is off by one unit in the last place for some numbers (1.9999799999999999
    /// came back as 1.99998), so the report's figures would differ from the child's.
    #[test]
    fn a_sample_read_back_from_json_is_the_sample() {
        let mut cfg = small();
        cfg.clock = ClockKind::Manual;
        let strategy = Registry::ours().require("ttlfifo").unwrap();
        let samples = run(&strategy, &Article, &cfg, &Progress::hidden());
        let text = serde_json::to_string(&samples).unwrap();
        let mut back: Vec<Sample> = serde_json::from_str(&text).unwrap();
        for s in &mut back {
            s.strategy = strategy.name();
        }
        assert_eq!(format!("{back:?}"), format!("{samples:?}"));
        for x in [
            1.999_979_999_999_999_9_f64,
            10.999_979_999_999_981,
            15.999_980_000_000_013,
            0.001_602_082_707_519_775_5,
        ] {
            let y: f64 = serde_json::from_str(&serde_json::to_string(&x).unwrap()).unwrap();
            assert_eq!(y.to_bits(), x.to_bits(), "{x}");
        }
    }

    /// Every run goes through the runner the report gives (a process of its own), none in
    /// this process: a run counted here would count whatever runs beside it (moka's deferred
    /// frees, collected by other threads' replays, once added 138 kB to its retention rows).
    #[test]
    fn every_retention_run_is_handed_to_the_runner() {
        let registry = Registry::ours();
        let strategies: Vec<Strategy> = ["weakfifo", "ttlfifo"]
            .iter()
            .map(|n| registry.require(n).unwrap())
            .collect();
        let settings = RetentionSettings {
            on_manual_clock: vec![small(), small()],
            on_real_time: small(),
        };
        let calls = std::sync::Mutex::new(Vec::new());
        let runner = |s: &Strategy, cfg: &RetentionConfig| {
            calls.lock().unwrap().push(s.name());
            Ok(run(s, &Article, cfg, &Progress::hidden()))
        };
        let got = Retention::run(&strategies, &settings, &Progress::hidden(), &runner).unwrap();
        let mut calls = calls.into_inner().unwrap();
        calls.sort_unstable();
        assert_eq!(calls, ["ttlfifo", "ttlfifo", "weakfifo", "weakfifo"]);
        assert_eq!(got.retention.len(), 4 * 4, "four phases of four runs");
        assert!(got.retention_samples.iter().all(|s| !s.strategy.is_empty()));
    }
}
