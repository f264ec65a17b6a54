//! The article's scenario: two caches of `maxlen` 500 000 per worker, four workers — the
//! figures the article estimated (380 MB) and reported (2.67 GB), recomputed from this run's
//! measurements for every strategy.

use std::fmt::Write as _;

use serde::Serialize;

use super::footprint::Footprint;
use super::retention::{ClockKind, Retention};
use crate::error::Result;
use crate::format::{bytes, f1, or_dash};
use crate::report::{OutFile, Section, csv_file};
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

/// The article's scenario for one strategy.
#[derive(Debug, Clone, Serialize)]
pub struct ScenarioRow {
    /// Strategy name.
    pub strategy: &'static str,
    /// Measured bytes per entry, article shape, fixed cost included.
    pub bytes_per_entry: f64,
    /// The footprint size it was measured at.
    pub measured_at_entries: usize,
    /// bytes per entry × 500 000 × 2 caches × 4 workers: every cache full.
    pub full_bytes: f64,
    /// What the caches hold in the article's workload (valid set a tenth of `maxlen`), × 2 caches
    /// × 4 workers: the bytes the retention run held in steady state when it ran at the article's
    /// capacity on the hand-moved clock; otherwise the fraction of capacity it held × 500 000 ×
    /// the measured bytes per entry.
    pub workload_bytes: Option<f64>,
    /// Where `workload_bytes` comes from.
    pub workload_source: String,
}

/// The scenario section.
#[derive(Debug, Clone, Serialize)]
pub struct Scenario {
    /// One row per strategy with an article-shape footprint row.
    pub scenario: Vec<ScenarioRow>,
}

impl Scenario {
    /// Computes every row from the footprint and retention measurements of this run.
    pub fn compute(strategies: &[Strategy], fp: &Footprint, retention: &Retention) -> Scenario {
        let copies = article::COPIES as f64;
        let per_cache = article::ENTRIES_PER_CACHE as f64;
        let scenario = strategies
            .iter()
            .filter_map(|s| {
                let row = fp.article_row(s.name())?;
                let (workload_bytes, workload_source) = match retention.steady(s.name()) {
                    Some(r)
                        if r.capacity as u64 == article::ENTRIES_PER_CACHE
                            && r.clock == ClockKind::Manual =>
                    {
                        (
                            Some(r.resident_bytes as f64 * copies),
                            format!(
                                "bytes held at the end of the write phase, retention run at \
                                 capacity {}",
                                r.capacity
                            ),
                        )
                    }
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
                    bytes_per_entry: row.total_bytes_per_entry,
                    measured_at_entries: row.entries,
                    full_bytes: row.total_bytes_per_entry * per_cache * copies,
                    workload_bytes,
                    workload_source,
                })
            })
            .collect();
        Scenario { scenario }
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

    fn body(&self, o: &mut String) {
        let _ = writeln!(
            o,
            "Two caches of maxlen {n} per worker, {w} workers. The article estimated {est} and \
             reported {rep} (Python). *Full* = measured total bytes per entry (article shape) × \
             {n} × {c} × {w}; *in its workload* = what the strategy holds in the retention \
             workload's steady state (valid set a tenth of maxlen), × {c} × {w}; the source column \
             says how.\n",
            n = article::ENTRIES_PER_CACHE,
            w = article::WORKERS,
            c = article::CACHES,
            est = bytes(article::ESTIMATE_BYTES),
            rep = bytes(article::REPORTED_BYTES),
        );
        let mut t = Table::new([
            "strategy",
            "bytes per entry",
            "full",
            "in its workload",
            "source",
        ]);
        for s in &self.scenario {
            t.row([
                s.strategy.to_owned(),
                format!("{} (N = {})", f1(s.bytes_per_entry), s.measured_at_entries),
                bytes(s.full_bytes),
                or_dash(s.workload_bytes.map(bytes)),
                s.workload_source.clone(),
            ]);
        }
        let _ = write!(o, "{t}");
    }

    fn files(&self) -> Result<Vec<OutFile>> {
        Ok(vec![csv_file("scenario.csv", &self.scenario)?])
    }
}
