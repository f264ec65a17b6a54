//! The measurements. Each owns its configuration, its rows and its section of the report:
//! footprint (bytes per entry), retention of expired entries, hit ratio, the article's
//! scenario, and the advice derived from them. Each declares itself to the report with a
//! [`Measurement`]: its name, the [`Track`] it runs on and how it runs from the run's
//! [`Inputs`] (the configuration, and the sections measured before it).

pub mod advice;
pub mod config;
pub mod footprint;
pub mod hitratio;
pub mod retention;
pub mod scenario;
pub mod trace_hit_ratio;

use std::any::Any;
use std::ffi::OsStr;
use std::path::Path;
use std::process::Command;
use std::sync::Mutex;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use serde::Serialize;
use serde::de::DeserializeOwned;

use cache_core::ManualClock;

use crate::error::{Error, Result};
use crate::progress::Progress;
use crate::section::Section;
use crate::strategies::Strategy;
use crate::trace::{Format, Trace};
use crate::values::Held;
use config::ReportConfig;

/// How the report runs one measurement: the report lists these, in report order
/// (`report::MEASUREMENTS`), and a new measurement is a module with one of them plus its line
/// in that list.
#[derive(Clone, Copy)]
pub struct Measurement {
    /// Its name in the progress display and in `--timings` (`environment.timings`).
    pub name: &'static str,
    /// When it runs.
    pub track: Track,
    /// Runs it. A measurement that needs another's figures asks [`Inputs::section`] for them.
    pub run: fn(&Inputs<'_>) -> Result<Box<dyn Measured>>,
}

impl std::fmt::Debug for Measurement {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Measurement")
            .field("name", &self.name)
            .field("track", &self.track)
            .finish_non_exhaustive()
    }
}

/// When a measurement runs. The two tracks run at once; on each, measurements run in report
/// order, and the first that fails stops its track.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Track {
    /// Replays on the hand-moved clock, whose figures depend neither on time nor on what runs
    /// beside them (they use the cores `measure::parallel` gives them).
    Replays,
    /// Memory and time: each row counted in a process of its own, or waiting for real time to
    /// pass (with a core set aside, `measure::reserve_a_core`).
    Memory,
    /// After both tracks, from their figures (and, like the scenario's hit timing, alone on
    /// the machine).
    After,
}

/// A measured section, as the report holds it: its Markdown and files ([`Section`]), its
/// fields in report.json, and its type for the measurements that read it.
pub trait Measured: Section + Any + Send + Sync {
    /// Its fields, each a key of report.json.
    fn json(&self) -> serde_json::Result<serde_json::Value>;
    /// Itself, for [`Inputs::section`].
    fn as_any(&self) -> &dyn Any;
}

impl<T: Section + Serialize + Any + Send + Sync> Measured for T {
    fn json(&self) -> serde_json::Result<serde_json::Value> {
        serde_json::to_value(self)
    }

    fn as_any(&self) -> &dyn Any {
        self
    }
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

/// What a measurement runs from.
#[derive(Clone, Copy)]
pub struct Inputs<'a> {
    /// The run's parameters.
    pub cfg: &'a ReportConfig,
    /// The recorded traces, read before anything is measured, each with its capacities.
    pub traces: &'a [(Trace, Vec<usize>, Format)],
    /// The runners of processes apart.
    pub apart: Apart<'a>,
    /// The progress display.
    pub progress: &'a Progress,
    /// The sections measured before it: earlier on its track, or on both (for [`Track::After`]).
    pub before: &'a [&'a dyn Measured],
}

impl std::fmt::Debug for Inputs<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Inputs").finish_non_exhaustive()
    }
}

impl<'a> Inputs<'a> {
    /// The section of type `T` measured before this one; an error naming it if there is none
    /// (a measurement listed before what it reads, or on the other track).
    pub fn section<T: Any>(&self) -> Result<&'a T> {
        self.before
            .iter()
            .find_map(|m| m.as_any().downcast_ref::<T>())
            .ok_or_else(|| {
                Error::Measurement(format!(
                    "{} is read before it is measured: list it earlier, or read it from a \
                     measurement on Track::After",
                    std::any::type_name::<T>()
                ))
            })
    }
}

/// Runs a fresh copy of this program (`exe`) with `args` and `env` added to its environment
/// (how a cache server is handed down), and reads the JSON it prints: how the report measures
/// what must be counted in a process of its own. `what` names the measurement in errors.
pub(crate) fn in_child<T: DeserializeOwned>(
    exe: &Path,
    env: &[(String, String)],
    args: &[&OsStr],
    what: &str,
) -> Result<T> {
    let out = Command::new(exe)
        .envs(env.iter().map(|(k, v)| (k, v)))
        .args(args)
        .output()
        .map_err(|e| Error::Measurement(format!("{what}: cannot run {}: {e}", exe.display())))?;
    if !out.status.success() {
        return Err(Error::Measurement(format!(
            "{what} failed: {}",
            String::from_utf8_lossy(&out.stderr).trim()
        )));
    }
    serde_json::from_slice(&out.stdout)
        .map_err(|e| Error::Measurement(format!("{what}: unreadable result: {e}")))
}

/// Cores set aside for the real-time runs under way (see [`reserve_a_core`]).
static RESERVED: AtomicUsize = AtomicUsize::new(0);

/// Sets a core aside while the guard lives, for runs whose figures depend on time (retention's
/// real-time runs): [`parallel`] starts no job on more than `cores − reserved` threads (one at
/// least) meanwhile, so that the replays running beside them leave them a core.
pub(crate) fn reserve_a_core() -> CoreReserved {
    RESERVED.fetch_add(1, Ordering::Relaxed);
    CoreReserved(())
}

/// A core set aside; given back when dropped.
#[derive(Debug)]
pub(crate) struct CoreReserved(());

impl Drop for CoreReserved {
    fn drop(&mut self) {
        RESERVED.fetch_sub(1, Ordering::Relaxed);
    }
}

/// What one replay (Zipf or trace) found.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Replayed {
    /// Hits among the measured requests.
    pub hits: u64,
    /// The most entries the cache held after any request: its values' copies alive, counted
    /// by the values themselves ([`crate::values::Held`]), so entries awaiting an eviction the
    /// cache applies later count too.
    pub peak_held: u64,
}

/// Replays `requests` cache-aside on `strategy` at `capacity`, on a hand-moved clock that
/// advances by `tick` before each request (not at all without one): `get_ex`, and on a miss
/// `set_ex` with `ttl`. Counts the hits from request `warmup` on, and the most entries held
/// after any request. A strategy that buffers its inserts is settled every
/// [`Strategy::settle_every`] sets.
pub(crate) fn replay_aside(
    strategy: &Strategy,
    capacity: usize,
    requests: &[u64],
    ttl: Duration,
    tick: Option<Duration>,
    warmup: u64,
) -> Replayed {
    let clock = ManualClock::new();
    let origin = Held::origin();
    let cache = strategy.build::<u64, Held, _>(capacity, clock.clone());
    let settle = strategy.settle_every(capacity);
    let (mut hits, mut sets, mut peak) = (0, 0, 0);
    for (i, &key) in requests.iter().enumerate() {
        if let Some(t) = tick {
            clock.advance(t);
        }
        if cache.get_ex(&key).is_some() {
            hits += u64::from(i as u64 >= warmup);
        } else {
            cache.set_ex(key, origin.clone(), ttl);
            sets += 1;
            if settle.is_some_and(|every| sets % every == 0) {
                cache.maintain();
            }
        }
        peak = peak.max(origin.copies());
    }
    Replayed {
        hits,
        peak_held: peak as u64,
    }
}

/// The threads [`parallel`] may run jobs on now.
fn cores_free(cores: usize) -> usize {
    cores
        .saturating_sub(RESERVED.load(Ordering::Relaxed))
        .max(1)
}

/// Runs `jobs` on up to four threads (each job alone on its thread), results in job order: for
/// replays, whose figures do not depend on time, so that a run uses the machine's cores. Jobs
/// are taken in order; a thread whose number is not below [`cores_free`] waits before taking
/// its next one.
pub(crate) fn parallel<T: Send>(jobs: usize, work: impl Fn(usize) -> T + Sync) -> Vec<T> {
    let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
    let threads = cores.min(4);
    let next = AtomicUsize::new(0);
    let out: Mutex<Vec<Option<T>>> = Mutex::new((0..jobs).map(|_| None).collect());
    std::thread::scope(|s| {
        for t in 0..threads.min(jobs) {
            let (next, out, work) = (&next, &out, &work);
            s.spawn(move || {
                loop {
                    while t >= cores_free(cores) && next.load(Ordering::Relaxed) < jobs {
                        std::thread::sleep(std::time::Duration::from_millis(20));
                    }
                    let i = next.fetch_add(1, Ordering::Relaxed);
                    if i >= jobs {
                        break;
                    }
                    let r = work(i);
                    out.lock().unwrap_or_else(|p| p.into_inner())[i] = Some(r);
                }
            });
        }
    });
    out.into_inner()
        .unwrap_or_else(|p| p.into_inner())
        .into_iter()
        .flatten()
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::measure::advice::Advice;
    use crate::measure::footprint::Footprint;
    use crate::strategies::Strategy;

    #[test]
    fn a_measurement_reads_only_the_sections_measured_before_it() {
        let cfg = ReportConfig::new(true, 1, Vec::new());
        let progress = Progress::new(false);
        let no_footprint = |_: &str, _: &str, _: usize| Err(Error::Measurement("unused".into()));
        let no_retention =
            |_: &Strategy, _: &retention::RetentionConfig| Err(Error::Measurement("unused".into()));
        let advice = Advice {
            advice: vec!["measured before".into()],
        };
        let before: [&dyn Measured; 1] = [&advice];
        let inputs = Inputs {
            cfg: &cfg,
            traces: &[],
            apart: Apart {
                footprint: &no_footprint,
                retention: &no_retention,
            },
            progress: &progress,
            before: &before,
        };
        assert_eq!(inputs.section::<Advice>().unwrap().advice, advice.advice);
        let missing = inputs.section::<Footprint>().unwrap_err().to_string();
        assert!(
            missing.contains("footprint::Footprint is read before it is measured"),
            "{missing}"
        );
        assert!(
            Inputs {
                before: &[],
                ..inputs
            }
            .section::<Advice>()
            .is_err()
        );
    }
}
