//! Hit ratio on recorded traces: every strategy replays each trace cache-aside (`get_ex`; on a
//! miss `set_ex`) at the trace's capacities, beside Bélády's optimum (`opt`, the ceiling no
//! policy can beat) and the compulsory-miss bound (every key's first request misses).

use std::fmt::Write as _;
use std::path::PathBuf;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use serde::Serialize;

use super::hitratio::{
    NOT_MEASURED, not_measured_note, not_replayed_note, over_capacity_note, with_peak,
};
use super::parallel;
use crate::error::{Error, Result};
use crate::format::{f2, percent};
use crate::measure::{Measurement, Replayed, Track, replay_aside};
use crate::progress::Progress;
use crate::section::{ChartRef, Doc, OutFile, Section, csv_file};
use crate::strategies::Strategy;
use crate::svg::Chart;
use crate::table::Table;
use crate::trace::{Format, Trace, catalog, opt};

pub use crate::strategies::BOUND;
pub use crate::strategies::OPT;

/// How the traces are replayed.
#[derive(Debug, Clone, Serialize)]
pub struct TraceConfig {
    /// The traces of the catalog to replay, by name.
    pub traces: Vec<String>,
    /// Where the catalog's files are.
    #[serde(skip)]
    pub dir: PathBuf,
    /// A TTL for every entry, in seconds; none (the default) means entries never expire, so
    /// only the capacity and the policy decide hits.
    pub ttl_secs: Option<f64>,
    /// The clock's advance per request, in seconds, when there is a TTL.
    pub request_interval_secs: f64,
}

impl TraceConfig {
    /// The catalog traces `names`, from the vendored folder, without a TTL.
    pub fn new(names: &[&str]) -> TraceConfig {
        TraceConfig {
            traces: names.iter().map(|s| (*s).to_owned()).collect(),
            dir: catalog::default_dir(),
            ttl_secs: None,
            request_interval_secs: 0.001,
        }
    }

    /// Refuses a replay whose hand-moved clock would pass the end of its range (a [`Timestamp`]
    /// counts nanoseconds in a `u64`: about 584 years): past it the clock stands still, every
    /// entry stays live, and the table would be silently wrong. Says the longest request
    /// interval that fits this trace.
    ///
    /// [`Timestamp`]: cache_core::Timestamp
    pub fn check_clock_range(&self, trace: &Trace) -> Result<()> {
        if self.ttl_secs.is_none() {
            return Ok(());
        }
        let range = Duration::from_nanos(u64::MAX).as_secs_f64();
        let requests = trace.requests.len().max(1) as f64;
        if requests * self.request_interval_secs < range {
            return Ok(());
        }
        Err(Error::Invalid(format!(
            "--request-interval {} s over the {} requests of {} moves the simulated clock past \
             its range ({:.0} years of nanoseconds), where it would stand still; the longest \
             interval for this trace is {:.6} s",
            self.request_interval_secs,
            trace.requests.len(),
            trace.name,
            range / (365.25 * 86_400.0),
            // Below the range by a margin, so that rounding cannot put it back over.
            range / requests * (1.0 - 1e-9),
        )))
    }

    /// Loads the configured catalog traces, each with its capacities.
    pub fn load(&self) -> Result<Vec<(Trace, Vec<usize>, Format)>> {
        self.traces
            .iter()
            .map(|name| {
                let e = catalog::find(name).ok_or_else(|| {
                    let known: Vec<&str> = catalog::ALL.iter().map(|e| e.name).collect();
                    Error::Invalid(format!(
                        "unknown trace {name:?}; known: {}, or all",
                        known.join(", ")
                    ))
                })?;
                let t = Trace::load(e.name, &self.dir.join(e.file), e.format)?;
                self.check_clock_range(&t)?;
                let caps = e.capacities_for(t.distinct);
                Ok((t, caps, e.format))
            })
            .collect()
    }
}

/// One strategy (or `opt`, or the bound) on one trace at one capacity.
#[derive(Debug, Clone, Serialize)]
pub struct TraceRow {
    /// The trace.
    pub trace: String,
    /// The strategy, `opt` or `compulsory_bound`.
    pub strategy: &'static str,
    /// Capacity in entries.
    pub capacity: usize,
    /// Requests replayed.
    pub requests: u64,
    /// Hits among them; `None` when not measured.
    pub hits: Option<u64>,
    /// Hits ÷ requests; `None` when not measured.
    pub hit_ratio: Option<f64>,
    /// Why the cell was not measured (the strategy's declared limit), if it was not.
    pub not_measured: Option<String>,
    /// The most entries the strategy held after any request (see [`Replayed::peak_held`]);
    /// `None` when not measured, and for `opt` and the bound.
    pub peak_held: Option<u64>,
}

/// Replays `trace` on `strategy` at `capacity`, cache-aside; returns the hits and the most
/// entries held after any request. A strategy that buffers its inserts is settled every
/// [`Strategy::settle_every`] sets.
pub fn replay(strategy: &Strategy, trace: &Trace, capacity: usize, cfg: &TraceConfig) -> Replayed {
    let ttl = cfg.ttl_secs.map_or(Duration::MAX, Duration::from_secs_f64);
    let tick = cfg
        .ttl_secs
        .map(|_| Duration::from_secs_f64(cfg.request_interval_secs));
    replay_aside(strategy, capacity, &trace.requests, ttl, tick, 0)
}

fn row(
    trace: &Trace,
    strategy: &'static str,
    capacity: usize,
    hits: Result<u64, String>,
    peak_held: Option<u64>,
) -> TraceRow {
    let requests = trace.requests.len() as u64;
    let (hits, not_measured) = match hits {
        Ok(h) => (Some(h), None),
        Err(why) => (None, Some(why)),
    };
    TraceRow {
        trace: trace.name.clone(),
        strategy,
        capacity,
        requests,
        hits,
        hit_ratio: hits.map(|h| h as f64 / requests.max(1) as f64),
        not_measured,
        peak_held,
    }
}

/// One trace's next uses (see [`opt::next_uses`]), while a replay of `opt` needs them.
type SharedNextUses = Mutex<Option<Arc<Vec<usize>>>>;

/// Every trace's rows: every strategy and `opt` at every capacity, then the bound, trace by
/// trace. The replays are one pool on the machine's cores, longest first (a strategy whose
/// eviction cost grows with capacity, then the longer traces and larger capacities), so that
/// no core waits for one trace's last replay before the next trace begins.
fn replay_all(
    traces: &[(Trace, Vec<usize>, Format)],
    strategies: &[Strategy],
    cfg: &TraceConfig,
    progress: &Progress,
) -> Vec<TraceRow> {
    let jobs: Vec<(usize, Option<&Strategy>, usize)> = traces
        .iter()
        .enumerate()
        .flat_map(|(t, (_, capacities, _))| {
            strategies
                .iter()
                .map(Some)
                .chain(std::iter::once(None))
                .flat_map(move |s| capacities.iter().map(move |&c| (t, s, c)))
        })
        .collect();
    let mut order: Vec<usize> = (0..jobs.len()).collect();
    order.sort_by_key(|&i| {
        let (t, s, c) = jobs[i];
        let slow = s.is_some_and(Strategy::eviction_cost_grows);
        std::cmp::Reverse((slow, traces[t].0.requests.len(), c))
    });
    // Bélády's optimum needs every request's next use: computed once per trace by its first
    // `opt` replay and dropped after its last (the `opt` replays of a trace are next to each
    // other in the order), so that the pool holds one or two at a time, not every trace's.
    let next_uses: Vec<(SharedNextUses, AtomicUsize)> = traces
        .iter()
        .map(|(_, capacities, _)| (Mutex::new(None), AtomicUsize::new(capacities.len())))
        .collect();
    let opt_hits = |t: usize, c: usize| {
        let (slot, left) = &next_uses[t];
        let next = {
            let mut slot = slot.lock().unwrap_or_else(PoisonError::into_inner);
            Arc::clone(slot.get_or_insert_with(|| Arc::new(opt::next_uses(&traces[t].0.requests))))
        };
        let hits = opt::hits(&next, c);
        if left.fetch_sub(1, Ordering::Relaxed) == 1 {
            *slot.lock().unwrap_or_else(PoisonError::into_inner) = None;
        }
        hits
    };
    let bar = progress.bar("traces", jobs.len() as u64);
    let done = parallel(order.len(), |k| {
        let (t, s, c) = jobs[order[k]];
        let trace = &traces[t].0;
        bar.set_message(format!("{} {}", trace.name, s.map_or(OPT, Strategy::name)));
        let row = match s {
            Some(s) => {
                let got = s
                    .replays_at(c)
                    .map(|()| progress.time("traces", s.name(), || replay(s, trace, c, cfg)));
                let peak = got.as_ref().ok().map(|g| g.peak_held);
                Some(row(trace, s.name(), c, got.map(|g| g.hits), peak))
            }
            None => cfg.ttl_secs.is_none().then(|| {
                let hits = progress.time("traces", OPT, || opt_hits(t, c));
                row(trace, OPT, c, Ok(hits), None)
            }),
        };
        bar.inc(1);
        row
    });
    bar.finish_and_clear();
    let mut rows: Vec<Option<TraceRow>> = (0..jobs.len()).map(|_| None).collect();
    for (k, r) in done.into_iter().enumerate() {
        rows[order[k]] = r;
    }
    let mut rows = rows.into_iter();
    let mut out = Vec::new();
    for (trace, capacities, _) in traces {
        let per_trace = (strategies.len() + 1) * capacities.len();
        out.extend(rows.by_ref().take(per_trace).flatten());
        let bound = (trace.compulsory_bound() * trace.requests.len() as f64).round() as u64;
        out.extend(
            capacities
                .iter()
                .map(|&c| row(trace, BOUND, c, Ok(bound), None)),
        );
    }
    out
}

/// The trace section: the rows, and what each trace was.
#[derive(Debug, Clone, Serialize)]
pub struct TraceHitRatio {
    /// Every strategy, `opt` and the bound, on every trace and capacity.
    pub trace_hit_ratio: Vec<TraceRow>,
    /// (name, requests, distinct keys, format) of each trace, in order.
    #[serde(skip)]
    traces: Vec<(String, usize, usize, Format)>,
    /// The TTL, if any.
    #[serde(skip)]
    ttl_secs: Option<f64>,
    /// Bounded strategies not replayed: their entries live in another process.
    #[serde(skip)]
    left_out: Vec<&'static str>,
}

/// The recorded traces in the report: on the replays' track, after the Zipf replay.
pub const MEASUREMENT: Measurement = Measurement {
    name: "traces",
    track: Track::Replays,
    run: |i| {
        let traces = TraceHitRatio::run(&i.cfg.strategies, i.traces, &i.cfg.traces, i.progress);
        Ok(Box::new(traces))
    },
};

impl TraceHitRatio {
    /// Replays every trace of `traces` (each with its capacities) on the bounded ones of
    /// `strategies`.
    pub fn run(
        strategies: &[Strategy],
        traces: &[(Trace, Vec<usize>, Format)],
        cfg: &TraceConfig,
        progress: &Progress,
    ) -> TraceHitRatio {
        // A strategy in another process would be a round trip per request.
        let (apart, bounded): (Vec<Strategy>, Vec<Strategy>) = strategies
            .iter()
            .filter(|s| s.is_bounded())
            .cloned()
            .partition(|s| s.external().is_some());
        let rows = replay_all(traces, &bounded, cfg, progress);
        TraceHitRatio {
            left_out: apart.iter().map(Strategy::name).collect(),
            trace_hit_ratio: rows,
            traces: traces
                .iter()
                .map(|(t, _, f)| (t.name.clone(), t.requests.len(), t.distinct, *f))
                .collect(),
            ttl_secs: cfg.ttl_secs,
        }
    }

    fn names(&self, trace: &str) -> Vec<&'static str> {
        let mut out: Vec<&'static str> = Vec::new();
        for r in self.trace_hit_ratio.iter().filter(|r| r.trace == trace) {
            if !out.contains(&r.strategy) {
                out.push(r.strategy);
            }
        }
        out
    }

    fn capacities(&self, trace: &str) -> Vec<usize> {
        let mut c: Vec<usize> = self
            .trace_hit_ratio
            .iter()
            .filter(|r| r.trace == trace)
            .map(|r| r.capacity)
            .collect();
        c.sort_unstable();
        c.dedup();
        c
    }

    fn cells<'a>(&'a self, trace: &'a str, s: &'a str) -> impl Iterator<Item = &'a TraceRow> {
        self.trace_hit_ratio
            .iter()
            .filter(move |r| r.trace == trace && r.strategy == s)
    }

    /// Each strategy's mean hit ratio over every (trace, capacity) cell, in row order.
    pub fn means(&self) -> Vec<(&'static str, f64, usize)> {
        let mut names: Vec<&'static str> = Vec::new();
        for r in &self.trace_hit_ratio {
            if !names.contains(&r.strategy) {
                names.push(r.strategy);
            }
        }
        names
            .into_iter()
            .map(|s| {
                let v: Vec<f64> = self
                    .trace_hit_ratio
                    .iter()
                    .filter(|r| r.strategy == s)
                    .filter_map(|r| r.hit_ratio)
                    .collect();
                (s, v.iter().sum::<f64>() / v.len().max(1) as f64, v.len())
            })
            .collect()
    }

    fn table(&self, trace: &str) -> Table {
        let caps = self.capacities(trace);
        let mut t = Table::new(
            std::iter::once("strategy".to_owned()).chain(caps.iter().map(|c| c.to_string())),
        );
        for s in self.names(trace) {
            let cells: Vec<String> = caps
                .iter()
                .map(|c| {
                    self.cells(trace, s)
                        .find(|r| r.capacity == *c)
                        .map_or("–".to_owned(), |r| match r.hit_ratio {
                            Some(h) => with_peak(percent(100.0 * h, 2), r.capacity, r.peak_held),
                            None => NOT_MEASURED.to_owned(),
                        })
                })
                .collect();
            t.row(std::iter::once(s.to_owned()).chain(cells));
        }
        t
    }

    fn chart(&self, trace: &str) -> Chart {
        let series = self
            .names(trace)
            .into_iter()
            .map(|s| {
                let pts = self
                    .cells(trace, s)
                    .filter_map(|r| Some((r.capacity as f64, 100.0 * r.hit_ratio?)))
                    .collect();
                let mut series = crate::strategies::series(s, pts);
                series.dashed = s == OPT || s == BOUND;
                series
            })
            .collect();
        Chart {
            title: format!("Hit ratio on trace {trace}"),
            x_label: "capacity (entries, log scale); dashed: opt and the compulsory bound".into(),
            y_label: "hit ratio (%)".into(),
            y2_label: None,
            x_log: true,
            series,
        }
    }
}

impl Section for TraceHitRatio {
    fn title(&self) -> &'static str {
        "Hit ratio on recorded traces"
    }

    fn body(&self, o: &mut Doc) {
        let ttl = match self.ttl_secs {
            None => "no TTL (entries never expire: only the capacity and the policy decide hits)"
                .to_owned(),
            Some(t) => format!("a TTL of {t} s, the clock advancing per request"),
        };
        let _ = writeln!(
            o,
            "Each trace is replayed cache-aside (`get_ex`; on a miss `set_ex`) with {ttl}. \
             `{OPT}` is Bélády's MIN with bypass (on a miss, admit the key only if its next use \
             comes before the farthest next use among the residents, then evict that one): no \
             policy can beat it. `{BOUND}` = 1 − distinct keys ÷ requests: every key's first \
             request misses, whatever the capacity (it is also what a strategy without a \
             bound, left out here, reaches). Hit ratio in percent.\n"
        );
        not_replayed_note(o, &self.left_out);
        not_measured_note(
            o,
            self.trace_hit_ratio
                .iter()
                .map(|r| (r.strategy, &r.not_measured)),
        );
        over_capacity_note(
            o,
            self.trace_hit_ratio
                .iter()
                .map(|r| (r.strategy, r.capacity, r.peak_held, r.trace.as_str())),
        );
        for (name, requests, distinct, format) in &self.traces {
            let _ = write!(
                o,
                "**Trace `{name}`** ({requests} requests, {distinct} distinct keys; {format} \
                 format)\n\n"
            );
            o.table(self.table(name));
            o.chart(ChartRef::new(
                format!("hit ratio, {name}"),
                format!("trace_{name}.svg"),
            ));
        }
        let mut t = Table::new(["strategy", "mean hit ratio", "cells"]);
        for (s, mean, n) in self.means() {
            t.row([s.to_owned(), f2(100.0 * mean) + " %", n.to_string()]);
        }
        let _ = write!(
            o,
            "Mean over every (trace, capacity) cell of this run that measured the strategy (the \
             *cells* column: fewer for a strategy with cells not measured, whose mean is then \
             over other traces and capacities than the others'):\n\n"
        );
        o.table(t);
    }

    fn files(&self) -> Result<Vec<OutFile>> {
        let mut out = vec![csv_file("trace_hit_ratio.csv", &self.trace_hit_ratio)?];
        for (name, ..) in &self.traces {
            out.push(OutFile::new(
                format!("trace_{name}.svg"),
                self.chart(name).render(),
            ));
        }
        Ok(out)
    }
}

#[cfg(test)]
mod tests {
    use std::collections::VecDeque;

    use super::*;

    #[test]
    fn the_longest_interval_offered_for_a_trace_is_accepted_and_a_longer_one_refused() {
        let trace = Trace {
            name: "t".to_owned(),
            requests: vec![1; 1_000_000],
            distinct: 1,
        };
        let mut cfg = TraceConfig::new(&[]);
        cfg.request_interval_secs = 3600.0;
        assert!(
            cfg.check_clock_range(&trace).is_ok(),
            "no TTL: the clock is not moved"
        );
        cfg.ttl_secs = Some(1.0);
        assert!(
            cfg.check_clock_range(&trace).is_ok(),
            "3.6e9 s: within range"
        );
        cfg.request_interval_secs = 20_000.0;
        let err = cfg.check_clock_range(&trace).unwrap_err().to_string();
        let offered: f64 = err
            .rsplit("is ")
            .next()
            .and_then(|s| s.strip_suffix(" s"))
            .and_then(|s| s.parse().ok())
            .unwrap_or_else(|| panic!("{err}"));
        cfg.request_interval_secs = offered;
        assert!(cfg.check_clock_range(&trace).is_ok(), "{offered}");
        cfg.request_interval_secs = offered * 1.000_001;
        assert!(cfg.check_clock_range(&trace).is_err());
    }
    use crate::strategies::Registry;

    fn catalog_trace(name: &str) -> (Trace, Vec<usize>, Format) {
        let cfg = TraceConfig::new(&[name]);
        cfg.load().unwrap().remove(0)
    }

    /// An LRU written plainly: a list, most recent at the back.
    fn list_lru(requests: &[u64], capacity: usize) -> u64 {
        let mut list: VecDeque<u64> = VecDeque::new();
        let mut hits = 0;
        for &k in requests {
            if let Some(i) = list.iter().position(|&x| x == k) {
                hits += 1;
                list.remove(i);
            } else if list.len() == capacity {
                list.pop_front();
            }
            list.push_back(k);
        }
        hits
    }

    #[test]
    fn lru_gives_exactly_what_an_independent_lru_gives_on_a_real_trace() {
        let (trace, caps, _) = catalog_trace("multi2");
        let lru = Registry::ours().require("lru").unwrap();
        let cfg = TraceConfig::new(&["multi2"]);
        for c in caps {
            let got = replay(&lru, &trace, c, &cfg);
            assert_eq!(got.hits, list_lru(&trace.requests, c), "multi2 at {c}");
            assert_eq!(got.peak_held, c as u64, "lru holds its capacity, no more");
        }
    }

    #[test]
    fn opt_is_never_below_any_strategy_and_the_bound_never_below_opt() {
        let traces = [catalog_trace("multi1"), catalog_trace("cs")];
        let cfg = TraceConfig::new(&["multi1", "cs"]);
        let section =
            TraceHitRatio::run(Registry::ours().all(), &traces, &cfg, &Progress::hidden());
        assert!(
            !section
                .trace_hit_ratio
                .iter()
                .any(|r| r.strategy == "hashmap"),
            "an unbounded strategy is left out"
        );
        for r in &section.trace_hit_ratio {
            let of = |s: &str| {
                section
                    .trace_hit_ratio
                    .iter()
                    .find(|x| x.trace == r.trace && x.capacity == r.capacity && x.strategy == s)
                    .unwrap()
                    .hits
            };
            assert!(r.hits <= of(OPT) || r.strategy == BOUND, "{r:?} beats opt");
            assert!(of(OPT) <= of(BOUND), "opt above the bound: {r:?}");
        }
        let cells = section.trace_hit_ratio.len();
        let bounded = Registry::ours()
            .all()
            .iter()
            .filter(|s| s.is_bounded() && s.external().is_none())
            .count();
        let names = bounded + 2;
        assert_eq!(
            cells,
            names * 8,
            "every bounded strategy, opt and the bound, 2 × 4 cells"
        );
    }

    #[test]
    fn a_ttl_shorter_than_the_reuse_distance_lowers_the_hit_ratio() {
        let (trace, caps, _) = catalog_trace("cs");
        let ttlfifo = Registry::ours().require("ttlfifo").unwrap();
        let none = TraceConfig::new(&["cs"]);
        let mut short = TraceConfig::new(&["cs"]);
        short.ttl_secs = Some(0.01); // ten requests
        let mut instant = TraceConfig::new(&["cs"]);
        instant.ttl_secs = Some(0.0005); // expired before the next request
        let c = caps[3];
        let (h_none, h_short) = (
            replay(&ttlfifo, &trace, c, &none).hits,
            replay(&ttlfifo, &trace, c, &short).hits,
        );
        assert!(h_short < h_none, "{h_short} vs {h_none}");
        assert_eq!(replay(&ttlfifo, &trace, c, &instant).hits, 0);
    }
}
