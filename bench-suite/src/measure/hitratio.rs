//! Hit ratio on seeded Zipf key streams across capacities, without a TTL (capacity limited) and
//! with one (TTL limited).
//!
//! Each request reads its key; a miss sets it (cache-aside). The hand-moved clock advances a
//! fixed tick per request, so a TTL is a number of requests and the run is exactly repeatable.

use std::time::Duration;

use rand_distr::{Distribution, Zipf};
use rand_xoshiro::Xoshiro256PlusPlus;
use rand_xoshiro::rand_core::SeedableRng;
use serde::Serialize;

use std::fmt::Write as _;

use crate::error::{Error, Result};
use crate::format::f3;
use crate::measure::{Measurement, Replayed, Track, replay_aside};
use crate::progress::Progress;
use crate::section::{ChartRef, Doc, OutFile, Section, csv_file};
use crate::strategies::Strategy;
use crate::svg::Chart;
use crate::table::Table;

/// The hit-ratio workload.
#[derive(Debug, Clone, Serialize)]
pub struct HitRatioConfig {
    /// Distinct keys.
    pub keys: u64,
    /// Requests measured (after the warm-up).
    pub requests: u64,
    /// Requests before measuring starts.
    pub warmup: u64,
    /// Zipf exponent of key popularity.
    pub zipf_exponent: f64,
    /// TTL of every entry in the TTL-limited regime, in seconds.
    pub ttl_secs: f64,
    /// Clock advance per request, in seconds.
    pub tick_secs: f64,
    /// Capacities, in percent of the key space.
    pub capacities_pct: Vec<f64>,
    /// Seed of the key stream.
    pub seed: u64,
}

impl HitRatioConfig {
    /// `keys` distinct keys, `requests` measured requests (as many again to warm up),
    /// Zipf exponent 1.0, a 30 s TTL with one request per millisecond (30 000 requests), so that
    /// at small capacities eviction comes first and at large ones expiry does; capacities of 1 %
    /// to 25 %.
    pub fn new(keys: u64, requests: u64, seed: u64) -> HitRatioConfig {
        HitRatioConfig {
            keys,
            requests,
            warmup: requests / 4,
            zipf_exponent: 1.0,
            ttl_secs: 30.0,
            tick_secs: 0.001,
            capacities_pct: vec![1.0, 2.0, 5.0, 10.0, 25.0],
            seed,
        }
    }

    /// The key stream: warm-up then measured requests, identical for every strategy.
    pub fn stream(&self) -> Result<Vec<u64>> {
        let zipf = Zipf::new(self.keys as f64, self.zipf_exponent)
            .map_err(|e| Error::Invalid(format!("bad Zipf parameters: {e}")))?;
        let mut rng = Xoshiro256PlusPlus::seed_from_u64(self.seed);
        Ok((0..self.warmup + self.requests)
            .map(|_| zipf.sample(&mut rng) as u64)
            .collect())
    }

    /// The capacities in entries.
    pub fn capacities(&self) -> Vec<usize> {
        self.capacities_pct
            .iter()
            .map(|p| ((self.keys as f64 * p / 100.0).round() as usize).max(1))
            .collect()
    }
}

/// Which limit the workload is built to show.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Regime {
    /// No TTL: only the capacity and the policy decide hits, so the policies differ.
    CapacityLimited,
    /// The configured TTL: from about 10 % capacity up, expiry, not the capacity, limits hits,
    /// and every bounded strategy plateaus at the same ratio.
    TtlLimited,
}

impl Regime {
    /// Both, in report order.
    pub const ALL: [Regime; 2] = [Regime::CapacityLimited, Regime::TtlLimited];

    fn label(self) -> &'static str {
        match self {
            Regime::CapacityLimited => "capacity_limited",
            Regime::TtlLimited => "ttl_limited",
        }
    }
}

/// One strategy at one capacity, in one regime.
#[derive(Debug, Clone, Serialize)]
pub struct HitRow {
    /// Strategy name.
    pub strategy: &'static str,
    /// The regime.
    pub regime: Regime,
    /// Capacity in entries.
    pub capacity: usize,
    /// Capacity in percent of the key space.
    pub capacity_pct: f64,
    /// Hits ÷ measured requests; `None` when not measured.
    pub hit_ratio: Option<f64>,
    /// Hits among the measured requests; `None` when not measured.
    pub hits: Option<u64>,
    /// Measured requests.
    pub requests: u64,
    /// Why the cell was not measured (the strategy's declared limit), if it was not.
    pub not_measured: Option<String>,
    /// The most entries the strategy held after any request (see [`Replayed::peak_held`]);
    /// `None` when not measured.
    pub peak_held: Option<u64>,
}

/// Runs `stream` through `strategy` at `capacity` in `regime`; returns the hits among the
/// measured part and the most entries held after any request.
pub fn replay(
    strategy: &Strategy,
    capacity: usize,
    cfg: &HitRatioConfig,
    regime: Regime,
    stream: &[u64],
) -> Replayed {
    let ttl = match regime {
        Regime::CapacityLimited => Duration::MAX,
        Regime::TtlLimited => Duration::from_secs_f64(cfg.ttl_secs),
    };
    let tick = Duration::from_secs_f64(cfg.tick_secs);
    replay_aside(strategy, capacity, stream, ttl, Some(tick), cfg.warmup)
}

/// The hit-ratio section: every strategy at every capacity, in both regimes.
#[derive(Debug, Clone, Serialize)]
pub struct HitRatio {
    /// One row per strategy, regime and capacity.
    pub hit_ratio: Vec<HitRow>,
    /// The workload (rendered in the prose; in the JSON under `parameters`).
    #[serde(skip)]
    config: HitRatioConfig,
    /// Strategies left out: their entries live in a server.
    #[serde(skip)]
    servers: Vec<&'static str>,
}

/// The Zipf replay in the report: first on the replays' track.
pub const MEASUREMENT: Measurement = Measurement {
    name: "hit ratio",
    track: Track::Replays,
    run: |i| {
        Ok(Box::new(HitRatio::run(
            &i.cfg.strategies,
            &i.cfg.hit_ratio,
            i.progress,
        )?))
    },
};

impl HitRatio {
    /// Runs every strategy at every capacity, in both regimes.
    /// Strategies whose entries live in a server are left out: a replay is a round trip per
    /// request (about 90 µs on a loopback here: a million requests would take minutes), and a
    /// server has no capacity in entries to sweep.
    pub fn run(strategies: &[Strategy], cfg: &HitRatioConfig, progress: &Progress) -> Result<Self> {
        let (servers, strategies): (Vec<&Strategy>, Vec<&Strategy>) =
            strategies.iter().partition(|s| s.external().is_some());
        let stream = cfg.stream()?;
        let capacities = cfg.capacities();
        let bar = progress.bar(
            "hit ratio",
            (strategies.len() * capacities.len() * Regime::ALL.len()) as u64,
        );
        let mut jobs: Vec<(Regime, &Strategy, usize, f64)> = Vec::new();
        for regime in Regime::ALL {
            for &s in &strategies {
                for (&capacity, &pct) in capacities.iter().zip(&cfg.capacities_pct) {
                    jobs.push((regime, s, capacity, pct));
                }
            }
        }
        // Replays on the machine's cores: their figures do not depend on time.
        let rows = super::parallel(jobs.len(), |i| {
            let (regime, s, capacity, capacity_pct) = jobs[i];
            bar.set_message(format!("{s}/{capacity}"));
            let (got, not_measured) = match s.replays_at(capacity) {
                Ok(()) => {
                    let got = progress.time("hit ratio", s.name(), || {
                        replay(s, capacity, cfg, regime, &stream)
                    });
                    (Some(got), None)
                }
                Err(why) => (None, Some(why)),
            };
            let hits = got.map(|g| g.hits);
            bar.inc(1);
            HitRow {
                strategy: s.name(),
                regime,
                capacity,
                capacity_pct,
                hit_ratio: hits.map(|h| h as f64 / cfg.requests.max(1) as f64),
                hits,
                requests: cfg.requests,
                not_measured,
                peak_held: got.map(|g| g.peak_held),
            }
        });
        bar.finish_and_clear();
        Ok(HitRatio {
            hit_ratio: rows,
            config: cfg.clone(),
            servers: servers.iter().map(|s| s.name()).collect(),
        })
    }

    fn strategies(&self) -> Vec<&'static str> {
        let mut out: Vec<&'static str> = Vec::new();
        for h in &self.hit_ratio {
            if !out.contains(&h.strategy) {
                out.push(h.strategy);
            }
        }
        out
    }

    fn of(&self, regime: Regime, s: &str) -> impl Iterator<Item = &HitRow> {
        self.hit_ratio
            .iter()
            .filter(move |h| h.regime == regime && h.strategy == s)
    }

    fn chart(&self, regime: Regime) -> Chart {
        let series = self
            .strategies()
            .into_iter()
            .map(|s| {
                let pts = self
                    .of(regime, s)
                    .filter_map(|h| Some((h.capacity_pct, h.hit_ratio?)))
                    .collect();
                crate::strategies::series(s, pts)
            })
            .collect();
        Chart {
            title: format!("Hit ratio, Zipf keys, {}", regime.label().replace('_', " ")),
            x_label: "capacity (% of key space, log scale)".into(),
            y_label: "hit ratio".into(),
            y2_label: None,
            x_log: true,
            series,
        }
    }
}

impl Section for HitRatio {
    fn title(&self) -> &'static str {
        "Hit ratio on Zipf keys"
    }

    fn body(&self, o: &mut Doc) {
        let c = &self.config;
        let _ = writeln!(
            o,
            "Zipf (exponent {}) over {} keys, {} measured requests after {} warm-up requests, \
             cache-aside (a miss sets the key), {} s per request, seed {}. Two regimes: \
             **capacity limited** — no TTL, so only the capacity and the policy decide hits; \
             **TTL limited** — a TTL of {} s ({} requests), which from about 10 % capacity up \
             limits hits more than the capacity does, so every bounded strategy reaches the same \
             plateau there.\n",
            c.zipf_exponent,
            c.keys,
            c.requests,
            c.warmup,
            c.tick_secs,
            c.seed,
            c.ttl_secs,
            (c.ttl_secs / c.tick_secs).round()
        );
        not_replayed_note(o, &self.servers);
        not_measured_note(
            o,
            self.hit_ratio.iter().map(|h| (h.strategy, &h.not_measured)),
        );
        over_capacity_note(
            o,
            self.hit_ratio
                .iter()
                .map(|h| (h.strategy, h.capacity, h.peak_held, h.regime.label())),
        );
        for regime in Regime::ALL {
            let mut t = Table::new(
                std::iter::once("strategy".to_owned())
                    .chain(c.capacities_pct.iter().map(|p| format!("{p} %"))),
            );
            for s in self.strategies() {
                t.row(
                    std::iter::once(s.to_owned()).chain(self.of(regime, s).map(
                        |h| match h.hit_ratio {
                            Some(r) => with_peak(f3(r), h.capacity, h.peak_held),
                            None => NOT_MEASURED.to_owned(),
                        },
                    )),
                );
            }
            let name = regime.label();
            let _ = write!(
                o,
                "**{}**\n\n",
                match regime {
                    Regime::CapacityLimited => "Capacity limited (no TTL)",
                    Regime::TtlLimited => "TTL limited",
                }
            );
            o.table(t);
            o.chart(ChartRef::new(
                format!("hit ratio, {name}"),
                format!("hit_ratio_{name}.svg"),
            ));
        }
    }

    fn files(&self) -> Result<Vec<OutFile>> {
        let mut out = vec![csv_file("hit_ratio.csv", &self.hit_ratio)?];
        for regime in Regime::ALL {
            out.push(OutFile::new(
                format!("hit_ratio_{}.svg", regime.label()),
                self.chart(regime).render(),
            ));
        }
        Ok(out)
    }
}

/// What a table shows where a cell was not measured.
pub(crate) const NOT_MEASURED: &str = "not measured";

/// The line that names the strategies a replay leaves out because their entries live in
/// another process (nothing when there are none).
pub(crate) fn not_replayed_note(o: &mut Doc, names: &[&str]) {
    if !names.is_empty() {
        let _ = writeln!(
            o,
            "Not replayed: {} — the entries live in another process (a cache server's, or an \
             interpreter's), so a replay is a round trip per request.\n",
            names.join(", ")
        );
    }
}

/// One line per strategy with cells not measured, saying why.
pub(crate) fn not_measured_note<'a>(
    o: &mut Doc,
    cells: impl Iterator<Item = (&'static str, &'a Option<String>)>,
) {
    let mut seen: Vec<&str> = Vec::new();
    for (s, why) in cells {
        if let Some(why) = why
            && !seen.contains(&s)
        {
            seen.push(s);
            let _ = writeln!(o, "*{NOT_MEASURED}* for {s}: {why}.\n");
        }
    }
}

/// A measured cell's figure, with the most entries the strategy held appended when that was
/// more than its capacity: `19.21 % (held 76)`.
pub(crate) fn with_peak(figure: String, capacity: usize, peak_held: Option<u64>) -> String {
    match peak_held {
        Some(p) if p > capacity as u64 => format!("{figure} (held {p})"),
        _ => figure,
    }
}

/// Which strategies held more entries than their capacity in some cell (each with its most
/// over capacity, and where), and how those cells count; nothing when none did.
/// `cells`: strategy, capacity, most held, where the cell is (a trace's name, a regime).
pub(crate) fn over_capacity_note<'a>(
    o: &mut Doc,
    cells: impl Iterator<Item = (&'static str, usize, Option<u64>, &'a str)>,
) {
    // Per strategy: the cell whose excess over the capacity was the largest.
    let mut worst: Vec<(&str, usize, u64, &str)> = Vec::new();
    for (s, capacity, peak, place) in cells {
        let Some(peak) = peak.filter(|&p| p > capacity as u64) else {
            continue;
        };
        let ratio = |p: u64, c: usize| p as f64 / c.max(1) as f64;
        match worst.iter_mut().find(|w| w.0 == s) {
            Some(w) if ratio(peak, capacity) > ratio(w.2, w.1) => *w = (s, capacity, peak, place),
            Some(_) => {}
            None => worst.push((s, capacity, peak, place)),
        }
    }
    if worst.is_empty() {
        let _ = writeln!(
            o,
            "Every strategy held at most its capacity after every request of every replay here \
             (entries counted by the values alive, so entries awaiting a later eviction count).\n"
        );
        return;
    }
    let list: Vec<String> = worst
        .iter()
        .map(|(s, c, p, place)| format!("{s} (at most {p} at capacity {c}, {place})"))
        .collect();
    let _ = writeln!(
        o,
        "**Bounds.** Entries held are counted after every request by the values alive, so that \
         entries awaiting an eviction the cache applies later count, and so do entries it has \
         removed but frees later (moka frees through crossbeam-epoch's deferred reclamation). \
         A cell marked *(held N)* is one where the strategy held N values at some point, more \
         than its capacity: its bound is approximate, and part of its hits there may have come \
         from room the others did not have. Held more than their capacity (the cell with the \
         largest excess): {}; every other strategy held at most its capacity in every cell. \
         Those cells count in the tables, charts and means like the others (they are the hits \
         a user of that cache gets), marked so that they are not read as the policy's alone.\n",
        list.join("; ")
    );
}

#[cfg(test)]
mod tests {
    use cache_core::ManualClock;

    use super::*;
    use crate::values::Held;

    fn strategy(name: &str) -> Strategy {
        crate::strategies::Registry::ours().require(name).unwrap()
    }

    #[test]
    fn the_stream_is_seeded_zipf_and_repeatable() {
        let cfg = HitRatioConfig::new(1_000, 20_000, 7);
        let a = cfg.stream().unwrap();
        assert_eq!(a, cfg.stream().unwrap(), "same seed, same stream");
        assert_ne!(a, HitRatioConfig::new(1_000, 20_000, 8).stream().unwrap());
        assert_eq!(a.len(), 25_000);
        assert!(a.iter().all(|&k| (1..=1_000).contains(&k)));
        // Zipf(1.0) over 1 000 keys: key 1 has probability 1 / H(1000) ≈ 13.4 %.
        let ones = a.iter().filter(|&&k| k == 1).count() as f64 / a.len() as f64;
        assert!((ones - 0.134).abs() < 0.01, "share of the top key: {ones}");
    }

    #[test]
    fn capacities_are_percentages_of_the_key_space() {
        let cfg = HitRatioConfig::new(10_000, 1, 1);
        assert_eq!(cfg.capacities(), vec![100, 200, 500, 1_000, 2_500]);
        assert_eq!(
            HitRatioConfig::new(10, 1, 1).capacities()[0],
            1,
            "never zero"
        );
    }

    #[test]
    fn an_unbounded_map_with_a_long_ttl_misses_only_first_sights() {
        let mut cfg = HitRatioConfig::new(500, 10_000, 3);
        cfg.ttl_secs = 1e9; // never expires
        let stream = cfg.stream().unwrap();
        let got = replay(&strategy("hashmap"), 1, &cfg, Regime::TtlLimited, &stream);
        let mut seen = std::collections::HashSet::new();
        let mut expected = 0;
        for (i, k) in stream.iter().enumerate() {
            if !seen.insert(*k) && i as u64 >= cfg.warmup {
                expected += 1;
            }
        }
        assert_eq!(got.hits, expected);
        assert_eq!(
            got.peak_held,
            seen.len() as u64,
            "an unbounded map holds every key it was given, and the count sees each"
        );
    }

    #[test]
    fn after_a_replay_every_strategy_reports_the_entries_its_values_say_it_holds() {
        // What a strategy says it holds (`resident_len`) against the values alive, once its
        // own housekeeping has run: they agree for every strategy in this process, or the
        // report's entry counts (retention's `reported_len`, this section's capacities) would
        // not mean what they say.
        let cfg = HitRatioConfig::new(2_000, 20_000, 5);
        let stream = cfg.stream().unwrap();
        for s in crate::strategies::Registry::ours().all() {
            if s.external().is_some() {
                continue;
            }
            let origin = Held::origin();
            let cache = s.build::<u64, Held, _>(300, ManualClock::new());
            for &key in &stream {
                if cache.get_ex(&key).is_none() {
                    cache.set_ex(key, origin.clone(), Duration::MAX);
                }
            }
            cache.maintain();
            let (said, alive) = (cache.resident_len(), origin.copies());
            if s.name() == "moka" {
                // Removed entries are freed through crossbeam-epoch, later: some values
                // outlive their entries.
                assert!(
                    said <= alive && said <= 300,
                    "moka: {said} said, {alive} alive"
                );
            } else {
                assert_eq!(
                    said,
                    alive,
                    "{}: said {said}, {alive} values alive",
                    s.name()
                );
            }
        }
    }

    #[test]
    fn a_bounded_cache_is_seen_holding_its_capacity_and_an_unbounded_one_more() {
        let cfg = HitRatioConfig::new(2_000, 20_000, 5);
        let stream = cfg.stream().unwrap();
        for name in ["lru", "ttlfifo", "ttlfifo_s3"] {
            let got = replay(&strategy(name), 100, &cfg, Regime::CapacityLimited, &stream);
            assert_eq!(
                got.peak_held, 100,
                "{name} fills to its capacity, no further"
            );
        }
        let map = replay(
            &strategy("hashmap"),
            100,
            &cfg,
            Regime::CapacityLimited,
            &stream,
        );
        assert!(map.peak_held > 1_000, "{map:?}");
        assert_eq!(with_peak("0.500".into(), 100, Some(100)), "0.500");
        assert_eq!(
            with_peak("0.500".into(), 100, Some(101)),
            "0.500 (held 101)"
        );
        assert_eq!(with_peak("0.500".into(), 100, None), "0.500");
        let mut note = Doc::new();
        over_capacity_note(
            &mut note,
            [
                ("lru", 100, Some(100), "a"),
                ("moka", 100, Some(150), "a"),
                ("moka", 10, Some(76), "cpp"),
                ("moka", 1_000, Some(1_001), "b"),
            ]
            .into_iter(),
        );
        let note = note.markdown();
        assert!(
            note.contains("moka (at most 76 at capacity 10, cpp)") && !note.contains("lru ("),
            "{note}"
        );
        let mut none = Doc::new();
        over_capacity_note(&mut none, [("lru", 100, Some(100), "a")].into_iter());
        let none = none.markdown();
        assert!(
            none.starts_with("Every strategy held at most its capacity"),
            "{none}"
        );
    }

    #[test]
    fn a_short_ttl_lowers_the_hit_ratio() {
        let cfg = HitRatioConfig::new(2_000, 20_000, 5);
        let stream = cfg.stream().unwrap();
        let mut short = cfg.clone();
        short.ttl_secs = 0.05; // 50 requests
        let lru = strategy("lru");
        let long_hits = replay(&lru, 500, &cfg, Regime::TtlLimited, &stream).hits;
        let short_hits = replay(&lru, 500, &short, Regime::TtlLimited, &stream).hits;
        let no_ttl = replay(&lru, 500, &short, Regime::CapacityLimited, &stream).hits;
        assert!(no_ttl >= long_hits, "without a TTL, at least as many hits");
        assert!(short_hits < long_hits / 2, "{short_hits} vs {long_hits}");
    }
}
