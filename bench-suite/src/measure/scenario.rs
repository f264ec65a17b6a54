//! The article's scenario: two caches of `maxlen` 500 000 per worker, four workers — the
//! figures the article estimated (380 MB) and reported (2.67 GB), recomputed from this run's
//! measurements for every strategy.

use std::fmt::Write as _;

use std::time::{Duration, Instant};

use cache_core::SystemClock;
use serde::Serialize;

use super::footprint::Footprint;
use super::retention::{ClockKind, Retention, RetentionRow};
use crate::error::Result;
use crate::format::{bytes, f1, nanos, or_dash};
use crate::measure::{Measurement, Track};
use crate::progress::Progress;
use crate::section::{Doc, OutFile, Section, csv_file};
use crate::shapes::{self, Article, article_key};
use crate::strategies::Strategy;
use crate::table::Table;

/// The article's figures (ARTICLE.md): entries per cache, caches per worker, workers, its
/// estimate, and what it reported.
pub mod article {
    /// `LocalCache(500000)`.
    pub const ENTRIES_PER_CACHE: u64 = 500_000;
    /// Two caches (user id → display id, and back).
    pub const CACHES: u64 = 2;
    /// Four uWSGI workers per host.
    pub const WORKERS: u64 = 4;
    /// The naive estimate: 100 B × 500 000 × 4 × 2 (the article rounds it to 380 MB).
    pub const ESTIMATE_BYTES: f64 = 380e6;
    /// What it measured: 2.67 GB (700 B × 500 000 × 4 × 2).
    pub const REPORTED_BYTES: f64 = 2.67e9;
    /// Copies of a cache on a host: caches × workers.
    pub const COPIES: u64 = CACHES * WORKERS;
}

/// How the article's workers hold a strategy's caches.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Deployment {
    /// Every worker holds its own copy of each cache (an in-process cache): caches × workers.
    OneCachePerWorker,
    /// One server holds each cache once for every worker: caches × 1.
    OneSharedServer,
}

impl Deployment {
    /// Copies of a cache on the article's host.
    pub fn copies(self) -> u64 {
        match self {
            Deployment::OneCachePerWorker => article::COPIES,
            Deployment::OneSharedServer => article::CACHES,
        }
    }

    /// Its label in the table.
    pub fn label(self) -> &'static str {
        match self {
            Deployment::OneCachePerWorker => "one cache per worker",
            Deployment::OneSharedServer => "one shared server for all workers",
        }
    }
}

/// The article's scenario for one strategy.
#[derive(Debug, Clone, Serialize)]
pub struct ScenarioRow {
    /// Strategy name.
    pub strategy: &'static str,
    /// How the workers hold it.
    pub deployment: Deployment,
    /// Copies of a cache on the host: 2 caches × 4 workers, or 2 caches in one shared server.
    pub copies: u64,
    /// Measured bytes per entry, article shape, fixed cost included.
    pub bytes_per_entry: f64,
    /// The footprint size it was measured at.
    pub measured_at_entries: usize,
    /// bytes per entry × 500 000 × copies: every cache full.
    pub full_bytes: f64,
    /// What the caches hold in the article's workload (valid set a tenth of `maxlen`), × 2 caches
    /// × 4 workers: the bytes the retention run held in steady state when it ran at the article's
    /// capacity on the hand-moved clock; otherwise the fraction of capacity it held × 500 000 ×
    /// the measured bytes per entry.
    pub workload_bytes: Option<f64>,
    /// Where `workload_bytes` comes from.
    pub workload_source: String,
    /// The median time of one `get_ex` hit, nanoseconds, measured in this run (see
    /// [`get_hit_ns`]).
    pub get_hit_ns: f64,
}

/// Entries in the cache whose hits [`get_hit_ns`] times.
const HIT_ENTRIES: u64 = 10_000;
/// Batches timed; the median is reported.
const HIT_BATCHES: usize = 15;

/// The median time of one `get_ex` hit on `strategy`: a cache of 10 000 article-shape entries
/// on the real clock, hits on keys spread over all of them, timed in 15 batches of as many hits
/// as take at least a millisecond; the median batch ÷ its hits. A strategy that times its hits
/// in its own process (`External::hit_ns_inside`: the Python cache, which its users call
/// in-process) gives its own median instead of a round trip's.
pub fn get_hit_ns(strategy: &Strategy) -> f64 {
    let cache = strategy.build::<String, String, _>(HIT_ENTRIES as usize, SystemClock::new());
    shapes::fill(&*cache, &Article, HIT_ENTRIES, Duration::from_secs(3600));
    cache.maintain();
    let inside = strategy
        .external()
        .and_then(|e| e.hit_ns_inside(article_key(HIT_ENTRIES / 2).as_bytes()));
    match inside {
        Some(Ok(ns)) => return ns,
        // Counted as the strategy's failure: the report refuses to print its figures.
        Some(Err(_)) => return f64::NAN,
        None => {}
    }
    let keys: Vec<String> = (0..HIT_ENTRIES)
        .map(|i| article_key(i.wrapping_mul(7_919) % HIT_ENTRIES))
        .collect();
    let mut next = keys.iter().cycle();
    let mut batch = |n: usize| {
        let started = Instant::now();
        for key in next.by_ref().take(n) {
            std::hint::black_box(cache.get_ex(key));
        }
        started.elapsed()
    };
    let mut n = 1;
    while batch(n) < Duration::from_millis(1) && n < 1 << 20 {
        n *= 2;
    }
    let mut per_hit: Vec<f64> = (0..HIT_BATCHES)
        .map(|_| batch(n).as_nanos() as f64 / n as f64)
        .collect();
    per_hit.sort_by(f64::total_cmp);
    per_hit[HIT_BATCHES / 2]
}

/// Whether a retention run measured the article's own cache: its capacity, at full scale on
/// the hand-moved clock (its bytes are then a cache's in the workload, as measured).
fn at_article_size(r: &RetentionRow) -> bool {
    r.capacity as u64 == article::ENTRIES_PER_CACHE && r.clock == ClockKind::Manual
}

/// What `strategy`'s caches hold in the workload, split: the design's part (its port's bytes
/// over the repair's: the expired entries the design keeps) and the runtime's (its bytes over
/// the port's), per cache at the article's maxlen. `None` unless it declared
/// [`Strategy::same_design_as`] and all three were measured at the article's size.
fn design_split(
    strategy: &Strategy,
    rows: &[ScenarioRow],
    retention: &Retention,
) -> Option<String> {
    let (port, repair) = strategy.same_design()?;
    let per_cache = |name: &str| {
        let held = retention.steady(name).filter(|r| at_article_size(r))?;
        let row = rows.iter().find(|r| r.strategy == name)?;
        Some((held.resident_bytes as f64, row.bytes_per_entry))
    };
    let (mine, my_entry) = per_cache(strategy.name())?;
    let (ported, port_entry) = per_cache(port)?;
    let (repaired, _) = per_cache(repair)?;
    Some(format!(
        "Of the {mine} that one `{s}` cache holds in the workload (maxlen {n}), {design} is the \
         design — `{port}`, the same design in Rust, holds {ported} where `{repair}`, which \
         frees expired entries, holds {repaired} — and {runtime} is the runtime: {me} bytes per \
         entry against `{port}`'s {pe}.",
        s = strategy.name(),
        n = article::ENTRIES_PER_CACHE,
        mine = bytes(mine),
        design = bytes(ported - repaired),
        ported = bytes(ported),
        repaired = bytes(repaired),
        runtime = bytes(mine - ported),
        me = f1(my_entry),
        pe = f1(port_entry),
    ))
}

/// The scenario section.
#[derive(Debug, Clone, Serialize)]
pub struct Scenario {
    /// One row per strategy with an article-shape footprint row.
    pub scenario: Vec<ScenarioRow>,
    /// For a strategy that runs another's design in its own runtime: its memory in the
    /// workload split into what the design holds and what the runtime adds, in one sentence.
    pub scenario_design_split: Vec<String>,
}

/// The article's scenario in the report: after both tracks, from the footprint and retention
/// figures, with each hit timed while nothing else runs.
pub const MEASUREMENT: Measurement = Measurement {
    name: "scenario",
    track: Track::After,
    run: |i| {
        let (fp, retention) = (i.section::<Footprint>()?, i.section::<Retention>()?);
        Ok(Box::new(Scenario::run(
            &i.cfg.strategies,
            fp,
            retention,
            i.progress,
        )))
    },
};

impl Scenario {
    /// Computes every row from the footprint and retention measurements of this run, and
    /// measures each strategy's `get_ex` hit time.
    pub fn run(
        strategies: &[Strategy],
        fp: &Footprint,
        retention: &Retention,
        progress: &Progress,
    ) -> Scenario {
        let per_cache = article::ENTRIES_PER_CACHE as f64;
        let bar = progress.bar("get_ex hit time", strategies.len() as u64);
        let scenario: Vec<ScenarioRow> = strategies
            .iter()
            .filter_map(|s| {
                let row = fp.article_row(s.name())?;
                let deployment = match s.external() {
                    Some(e) if e.shared_by_workers() => Deployment::OneSharedServer,
                    _ => Deployment::OneCachePerWorker,
                };
                let copies = deployment.copies() as f64;
                let get_hit_ns = get_hit_ns(s);
                bar.inc(1);
                let (workload_bytes, workload_source) = match retention.steady(s.name()) {
                    Some(r) if at_article_size(r) => (
                        Some(r.resident_bytes as f64 * copies),
                        format!(
                            "bytes held at the end of the write phase, retention run at \
                                 capacity {}",
                            r.capacity
                        ),
                    ),
                    Some(r) => {
                        let held = r.resident_entries as f64 / r.capacity as f64;
                        (
                            Some(held * per_cache * row.total_bytes_per_entry * copies),
                            format!(
                                "{:.1} % of capacity held at the end of the write phase \
                                 (retention run at capacity {}, {} clock) × bytes per entry",
                                100.0 * held,
                                r.capacity,
                                r.clock.label()
                            ),
                        )
                    }
                    None => (None, "no retention run".to_owned()),
                };
                Some(ScenarioRow {
                    strategy: s.name(),
                    deployment,
                    copies: deployment.copies(),
                    get_hit_ns,
                    bytes_per_entry: row.total_bytes_per_entry,
                    measured_at_entries: row.entries,
                    full_bytes: row.total_bytes_per_entry * per_cache * copies,
                    workload_bytes,
                    workload_source,
                })
            })
            .collect();
        bar.finish_and_clear();
        let scenario_design_split = strategies
            .iter()
            .filter_map(|s| design_split(s, &scenario, retention))
            .collect();
        Scenario {
            scenario,
            scenario_design_split,
        }
    }

    /// The row of `strategy`.
    pub fn get(&self, strategy: &str) -> Option<&ScenarioRow> {
        self.scenario.iter().find(|r| r.strategy == strategy)
    }
}

impl Section for Scenario {
    fn title(&self) -> &'static str {
        "The article's scenario"
    }

    fn body(&self, o: &mut Doc) {
        let _ = writeln!(
            o,
            "Two caches of maxlen {n} per worker, {w} workers. The article estimated {est} and \
             reported {rep} (Python). *Full* = measured total bytes per entry (article shape) × \
             {n} × copies: {c} × {w} for an in-process cache (one per worker), {c} for a server \
             shared by all workers; *in its workload* = what the strategy holds in the retention \
             workload's steady state (valid set a tenth of maxlen), × copies; the source column \
             says how. *get_ex hit* = the median time of one hit measured in this run ({hits} \
             article-shape entries, real clock, {b} timed batches): a server's is a round trip; a \
             cache in another runtime's process is timed inside that process, as its users call \
             it.\n",
            n = article::ENTRIES_PER_CACHE,
            w = article::WORKERS,
            c = article::CACHES,
            est = bytes(article::ESTIMATE_BYTES),
            rep = bytes(article::REPORTED_BYTES),
            hits = HIT_ENTRIES,
            b = HIT_BATCHES,
        );
        let mut t = Table::new([
            "strategy",
            "deployment",
            "bytes per entry",
            "full",
            "in its workload",
            "get_ex hit",
            "source",
        ]);
        for s in &self.scenario {
            t.row([
                s.strategy.to_owned(),
                format!("{} (× {})", s.deployment.label(), s.copies),
                format!("{} (N = {})", f1(s.bytes_per_entry), s.measured_at_entries),
                bytes(s.full_bytes),
                or_dash(s.workload_bytes.map(bytes)),
                nanos(s.get_hit_ns),
                s.workload_source.clone(),
            ]);
        }
        o.table(t);
        for sentence in &self.scenario_design_split {
            let _ = writeln!(o, "\n{sentence}\n");
        }
    }

    fn files(&self) -> Result<Vec<OutFile>> {
        Ok(vec![csv_file("scenario.csv", &self.scenario)?])
    }
}
