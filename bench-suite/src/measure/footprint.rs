//! Footprint: live heap bytes per entry, by Caffeine's method — the filled cache minus the empty
//! cache, divided by the entries it holds — with the payload floor and RSS beside it.
//!
//! The report measures each row in a fresh process (the binary runs itself with the hidden
//! `measure-footprint` command, see [`in_child`]), so that RSS and deferred frees of one row do
//! not leak into the next.

use std::ffi::OsStr;
use std::fmt::Write as _;
use std::path::Path;
use std::time::Duration;

use cache_core::ManualClock;
use serde::{Deserialize, Serialize};

use crate::alloc::{self, ThreadSnapshot};
use crate::error::{Error, Result};
use crate::format::{f1, f2, or_dash};
use crate::measure::{Measurement, Track};
use crate::progress::Progress;
use crate::section::{ChartRef, Doc, OutFile, Section, csv_file};
use crate::shapes::{self, Article, FILL_BATCH, Shape, U64};
use crate::strategies::{External, Registry, Strategy};
use crate::svg::Chart;
use crate::table::Table;

pub use crate::strategies::FLOOR;

/// The shapes the report measures.
pub const SHAPES: [&str; 2] = ["article", "u64"];

/// The TTL every footprint entry gets: the article's 1800 s, so nothing expires meanwhile.
const TTL: Duration = Duration::from_secs(1800);

/// One strategy, one shape, one size.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct FootprintRow {
    /// Strategy name, or `payload_floor`.
    pub strategy: String,
    /// Shape name (`article`, `u64`, `custom`).
    pub shape: String,
    /// Entries inserted (distinct keys); also the capacity the cache was built with.
    pub entries: usize,
    /// Entries the cache holds afterwards (`resident_len`; a bounded cache may hold fewer).
    pub resident_entries: usize,
    /// (filled − empty) live heap bytes ÷ resident entries: Caffeine's method. It leaves out
    /// whatever the empty cache allocated up front for its capacity; see `total_bytes_per_entry`.
    pub bytes_per_entry: f64,
    /// Live heap bytes of the filled cache, fixed cost included, ÷ resident entries: what an
    /// entry costs when the cache is full.
    pub total_bytes_per_entry: f64,
    /// (filled − empty) live allocations ÷ resident entries; `None` (null) for a cache server,
    /// whose allocations this process cannot count.
    pub allocs_per_entry: Option<f64>,
    /// The payload floor's bytes per entry for this shape and size.
    pub payload_bytes_per_entry: f64,
    /// `total_bytes_per_entry − payload_bytes_per_entry`: what the strategy costs above the
    /// keys, values and deadlines themselves.
    pub overhead_bytes_per_entry: f64,
    /// Live heap bytes of the empty cache.
    pub fixed_bytes: usize,
    /// Live heap bytes of the filled cache, fixed cost included.
    pub total_bytes: usize,
    /// RSS growth while filling ÷ resident entries: a second opinion that sees the allocator's
    /// own overhead (absent where RSS cannot be read).
    pub rss_bytes_per_entry: Option<f64>,
    /// Live heap bytes still counted after the cache was dropped (should be 0). For a cache
    /// server: the server's bytes still held after the client was dropped (its keys stay until
    /// their TTL).
    pub leaked_bytes: i64,
    /// What the byte figures count: `process heap` (the counting allocator), or the server's
    /// own figure for a strategy whose entries live in a server.
    pub counted_by: String,
}

/// What the in-process rows count.
pub const HEAP: &str = "process heap";

impl FootprintRow {
    /// This row with the payload floor set, and the overhead above it.
    pub fn with_payload(mut self, payload: f64) -> FootprintRow {
        self.payload_bytes_per_entry = payload;
        self.overhead_bytes_per_entry = self.total_bytes_per_entry - payload;
        self
    }
}

fn diff(after: ThreadSnapshot, before: ThreadSnapshot) -> (i64, i64) {
    (
        after.net_bytes - before.net_bytes,
        after.net_allocs - before.net_allocs,
    )
}

/// Measures the payload floor: `n` (key, value, u64 deadline) tuples in an exactly sized `Vec`.
pub fn measure_floor<S: Shape>(shape: &S, n: usize) -> FootprintRow {
    let before = alloc::thread_snapshot();
    let mut floor: Vec<(S::K, S::V, u64)> = Vec::with_capacity(n);
    for id in 0..n as u64 {
        floor.push((shape.key(id), shape.value(id), id));
    }
    let (bytes, allocs) = diff(alloc::thread_snapshot(), before);
    std::hint::black_box(&floor);
    drop(floor);
    let (leak, _) = diff(alloc::thread_snapshot(), before);
    let per = bytes as f64 / n.max(1) as f64;
    FootprintRow {
        strategy: FLOOR.to_owned(),
        shape: shape.name().to_owned(),
        entries: n,
        resident_entries: n,
        bytes_per_entry: per,
        total_bytes_per_entry: per,
        allocs_per_entry: Some(allocs as f64 / n.max(1) as f64),
        payload_bytes_per_entry: per,
        overhead_bytes_per_entry: 0.0,
        fixed_bytes: 0,
        total_bytes: bytes.max(0) as usize,
        rss_bytes_per_entry: None,
        leaked_bytes: leak,
        counted_by: HEAP.to_owned(),
    }
}

/// Measures `strategy` filled with `n` distinct keys of `shape` (capacity `n`), against the
/// payload floor `payload` (bytes per entry, from [`measure_floor`]): in this process's heap,
/// or, for a strategy whose entries live in a server, in the server (see [`measure_server`]).
pub fn measure<S: Shape>(
    strategy: &Strategy,
    shape: &S,
    n: usize,
    payload: f64,
    progress: &Progress,
) -> Result<FootprintRow> {
    if let Some(server) = strategy.external() {
        return measure_server(strategy, server, shape, n, payload);
    }
    Ok(measure_heap(strategy, shape, n, payload, progress))
}

fn measure_heap<S: Shape>(
    strategy: &Strategy,
    shape: &S,
    n: usize,
    payload: f64,
    progress: &Progress,
) -> FootprintRow {
    let bar = progress.bar(&format!("{strategy}/{}", shape.name()), n as u64);
    let scope = strategy.alloc_scope();
    let base = scope.now();
    let cache = strategy.build::<S::K, S::V, _>(n, ManualClock::new());
    cache.maintain();
    let empty = scope.now();
    let rss0 = alloc::rss_bytes();
    for id in 0..n as u64 {
        cache.set_ex(shape.key(id), shape.value(id), TTL);
        if id % 8_192 == 0 {
            bar.set_position(id);
        }
    }
    cache.maintain();
    let filled = scope.now();
    let rss1 = alloc::rss_bytes();
    let resident = cache.resident_len();
    drop(cache);
    bar.finish_and_clear();
    let (fixed, _) = diff(empty, base);
    let (bytes, allocs) = diff(filled, empty);
    let (total, _) = diff(filled, base);
    let (leak, _) = diff(scope.now(), base);
    let per = bytes as f64 / resident.max(1) as f64;
    let total_per = total as f64 / resident.max(1) as f64;
    FootprintRow {
        strategy: strategy.name().to_owned(),
        shape: shape.name().to_owned(),
        entries: n,
        resident_entries: resident,
        bytes_per_entry: per,
        total_bytes_per_entry: total_per,
        allocs_per_entry: Some(allocs as f64 / resident.max(1) as f64),
        payload_bytes_per_entry: payload,
        overhead_bytes_per_entry: total_per - payload,
        fixed_bytes: fixed.max(0) as usize,
        total_bytes: total.max(0) as usize,
        rss_bytes_per_entry: rss0
            .zip(rss1)
            .map(|(a, b)| b.saturating_sub(a) as f64 / resident.max(1) as f64),
        leaked_bytes: leak,
        counted_by: HEAP.to_owned(),
    }
}

/// The footprint of a strategy whose entries live in a server, by the server's own figures
/// (settled before and after): filled by [`shapes::fill`], in batches of 1 000 sets (one round
/// trip each; the server stores what one `set_ex` at a time would). There is
/// no allocation count (`allocs_per_entry` is `None`, null in JSON); the fixed cost is the empty
/// server's. Fails if a command failed.
pub fn measure_server<S: Shape>(
    strategy: &Strategy,
    server: &dyn External,
    shape: &S,
    n: usize,
    payload: f64,
) -> Result<FootprintRow> {
    let failed = |e: String| Error::Measurement(format!("{strategy}: {e}"));
    let failures = server.failures();
    let cache = strategy.build::<S::K, S::V, _>(n, ManualClock::new());
    let empty = server.memory(true).map_err(failed)?;
    shapes::fill(&*cache, shape, n as u64, TTL);
    let filled = server.memory(true).map_err(failed)?;
    let resident = cache.resident_len();
    drop(cache);
    let after = server.memory(true).map_err(failed)?;
    let counted_by = server.counted_by().map_err(failed)?;
    match server.failures() - failures {
        0 => {}
        n => {
            return Err(failed(format!(
                "{n} commands failed; no figure from this run"
            )));
        }
    }
    let per_entry = |bytes: u64| bytes as f64 / resident.max(1) as f64;
    let total_per = per_entry(filled.data);
    Ok(FootprintRow {
        strategy: strategy.name().to_owned(),
        shape: shape.name().to_owned(),
        entries: n,
        resident_entries: resident,
        bytes_per_entry: per_entry(filled.data.saturating_sub(empty.data)),
        total_bytes_per_entry: total_per,
        allocs_per_entry: None,
        payload_bytes_per_entry: payload,
        overhead_bytes_per_entry: total_per - payload,
        fixed_bytes: empty.data as usize,
        total_bytes: filled.data as usize,
        rss_bytes_per_entry: filled
            .rss
            .zip(empty.rss)
            .map(|(f, e)| per_entry(f.saturating_sub(e))),
        // A server outlives the cache and keeps its empty state; a process of the cache's own
        // ends with it, and everything it held, the empty cache included, is freed.
        leaked_bytes: after.data as i64
            - if server.shared_by_workers() {
                empty.data as i64
            } else {
                0
            },
        counted_by,
    })
}

/// Measures one row by names: `strategy` is a name in `registry` or [`FLOOR`], `shape` one of
/// [`SHAPES`]. The payload fields of a strategy's row are left at zero; see
/// [`FootprintRow::with_payload`].
pub fn measure_by_name(
    registry: &Registry,
    strategy: &str,
    shape: &str,
    n: usize,
    progress: &Progress,
) -> Result<FootprintRow> {
    if n == 0 {
        return Err(Error::Invalid(
            "the number of entries must be at least 1".to_owned(),
        ));
    }
    let strategy = match strategy {
        FLOOR => None,
        name => Some(registry.require(name)?),
    };
    Ok(match (strategy, shape) {
        (None, "article") => measure_floor(&Article, n),
        (None, "u64") => measure_floor(&U64, n),
        (Some(s), "article") => measure(&s, &Article, n, 0.0, progress)?,
        (Some(s), "u64") => measure(&s, &U64, n, 0.0, progress)?,
        _ => {
            return Err(Error::Invalid(format!(
                "unknown shape {shape:?}; known: {}",
                SHAPES.join(", ")
            )));
        }
    })
}

/// Runs one footprint row in a fresh copy of this program (`exe measure-footprint ...`), with
/// `env` added to its environment (how a cache server is handed down), and reads its JSON.
pub fn in_child(
    exe: &Path,
    env: &[(String, String)],
    strategy: &str,
    shape: &str,
    n: usize,
) -> Result<FootprintRow> {
    let n = n.to_string();
    let args = [
        "measure-footprint",
        "--strategy",
        strategy,
        "--shape",
        shape,
        "--entries",
        &n,
    ]
    .map(OsStr::new);
    super::in_child(
        exe,
        env,
        &args,
        &format!("footprint of {strategy}/{shape}/{n}"),
    )
}

/// Measures one row `(strategy or FLOOR, shape, entries)`; the report passes a runner that
/// uses a fresh process per row.
pub type Runner<'a> = &'a (dyn Fn(&str, &str, usize) -> Result<FootprintRow> + Sync);

/// The footprint section: which sizes it measures, and the rows.
#[derive(Debug, Clone, Serialize)]
pub struct Footprint {
    /// Every row, floor first for each shape and size.
    pub footprint: Vec<FootprintRow>,
}

/// The footprint in the report: first on the memory track (each row a process of its own).
pub const MEASUREMENT: Measurement = Measurement {
    name: "footprint",
    track: Track::Memory,
    run: |i| {
        let fp = Footprint::run(
            &i.cfg.strategies,
            &i.cfg.footprint_entries,
            i.apart.footprint,
            i.progress,
        );
        Ok(Box::new(fp?))
    },
};

impl Footprint {
    /// Measures every strategy at every size of `entries`, both shapes, with the floor first.
    ///
    /// Rows run on the machine's cores at once: each is a process of its own (the report's
    /// runner), whose allocator count and resident set are its own. The rows of one cache
    /// server run one after another, as they measure the same server's memory.
    pub fn run(
        strategies: &[Strategy],
        entries: &[usize],
        runner: Runner<'_>,
        progress: &Progress,
    ) -> Result<Footprint> {
        let bar = progress.bar(
            "footprint",
            (entries.len() * SHAPES.len() * (strategies.len() + 1)) as u64,
        );
        let mut jobs: Vec<(Option<&Strategy>, &str, usize)> = Vec::new();
        for &n in entries {
            for shape in SHAPES {
                jobs.push((None, shape, n));
                jobs.extend(strategies.iter().map(|s| (Some(s), shape, n)));
            }
        }
        // One lane per shared server (its rows in order: they measure the same server), one per
        // other row; the longest first, so that no core waits at the end for a long one: a
        // strategy in another process (each of its sets a message) before those in this one,
        // then the most entries.
        let mut lanes: Vec<Vec<usize>> = Vec::new();
        for (i, (s, ..)) in jobs.iter().enumerate() {
            let server = s
                .filter(|s| s.external().is_some_and(|e| e.shared_by_workers()))
                .map(|s| s.name());
            let lane = server.and_then(|name| {
                lanes
                    .iter()
                    .position(|l| jobs[l[0]].0.map(Strategy::name) == Some(name))
            });
            match lane {
                Some(l) => lanes[l].push(i),
                None => lanes.push(vec![i]),
            }
        }
        lanes.sort_by_key(|l| {
            let outside = jobs[l[0]].0.is_some_and(|s| s.external().is_some());
            let entries = l.iter().map(|&i| jobs[i].2).sum::<usize>();
            (!outside, std::cmp::Reverse(entries))
        });
        let measured = super::parallel(lanes.len(), |l| {
            lanes[l]
                .iter()
                .map(|&i| {
                    let (s, shape, n) = jobs[i];
                    let name = s.map_or(FLOOR, Strategy::name);
                    bar.set_message(format!("{name}/{shape}/{n}"));
                    let row = progress.time("footprint", name, || runner(name, shape, n));
                    bar.inc(1);
                    (i, row)
                })
                .collect::<Vec<_>>()
        });
        let mut rows: Vec<Option<Result<FootprintRow>>> = (0..jobs.len()).map(|_| None).collect();
        for (i, row) in measured.into_iter().flatten() {
            rows[i] = Some(row);
        }
        bar.finish_and_clear();
        let mut out = Vec::with_capacity(jobs.len());
        let mut payload = 0.0;
        for ((s, ..), row) in jobs.iter().zip(rows) {
            let row =
                row.ok_or_else(|| Error::Measurement("a footprint row was lost".into()))??;
            match s {
                None => {
                    payload = row.bytes_per_entry;
                    out.push(row);
                }
                Some(_) => out.push(row.with_payload(payload)),
            }
        }
        Ok(Footprint { footprint: out })
    }

    /// The largest article-shape row of `strategy`.
    pub fn article_row(&self, strategy: &str) -> Option<&FootprintRow> {
        self.footprint
            .iter()
            .filter(|r| r.shape == "article" && r.strategy == strategy)
            .max_by_key(|r| r.entries)
    }

    fn table(&self, shape: &str, n: usize) -> Table {
        let mut t = Table::new([
            "strategy",
            "entries held",
            "per entry (B)",
            "total per entry (B)",
            "overhead (B)",
            "allocs/entry",
            "fixed (B)",
            "RSS/entry (B)",
            "not freed (B)",
        ]);
        for f in self
            .footprint
            .iter()
            .filter(|f| f.shape == shape && f.entries == n)
        {
            t.row([
                f.strategy.clone(),
                f.resident_entries.to_string(),
                f1(f.bytes_per_entry),
                f1(f.total_bytes_per_entry),
                f1(f.overhead_bytes_per_entry),
                f.allocs_per_entry.map_or_else(|| "n/a".to_owned(), f2),
                f.fixed_bytes.to_string(),
                or_dash(f.rss_bytes_per_entry.map(f1)),
                f.leaked_bytes.to_string(),
            ]);
        }
        t
    }

    fn chart(&self) -> Chart {
        let mut names: Vec<&str> = Vec::new();
        for r in &self.footprint {
            if !names.contains(&r.strategy.as_str()) {
                names.push(&r.strategy);
            }
        }
        let series = names
            .into_iter()
            .map(|s| {
                let pts = self
                    .footprint
                    .iter()
                    .filter(|f| f.shape == "article" && f.strategy == s)
                    .map(|f| (f.entries as f64, f.total_bytes_per_entry))
                    .collect();
                crate::strategies::series(s, pts)
            })
            .collect();
        Chart {
            title: "Bytes per entry when full, article shape".into(),
            x_label: "entries (log scale)".into(),
            y_label: "total bytes per entry".into(),
            y2_label: None,
            x_log: true,
            series,
        }
    }
}

impl Section for Footprint {
    fn title(&self) -> &'static str {
        "Footprint: bytes per entry"
    }

    fn body(&self, o: &mut Doc) {
        o.push_str(
            "Each cache is built with capacity N and filled with N distinct keys (TTL 1800 s, \
             nothing expires). *per entry* = (filled − empty) ÷ entries held (Caffeine's \
             method); *total per entry* counts the empty cache's fixed cost too (some caches \
             allocate their table up front); *overhead* = total per entry − the payload floor \
             (keys, values and 8-byte deadlines alone, in one exactly sized `Vec`). *not freed* \
             = bytes still allocated after the cache was dropped (the strategies' notes above \
             say why where it is not zero).\n\n",
        );
        let mut servers: Vec<(&str, &str)> = Vec::new();
        for f in self.footprint.iter().filter(|f| f.counted_by != HEAP) {
            if !servers.iter().any(|(s, _)| *s == f.strategy) {
                servers.push((&f.strategy, &f.counted_by));
            }
        }
        for (strategy, counted_by) in servers {
            let _ = write!(
                o,
                "`{strategy}` keeps its entries in another process: its byte figures are \
                 {counted_by}, read before and after the fill (once a server has finished \
                 resizing its tables); it is filled in pipelined batches of {FILL_BATCH} \
                 sets, which store what one set at a time would. *fixed* is the empty cache's \
                 process or server; there is no allocation count (n/a); *not freed* is what \
                 that process still holds after the cache is dropped (a server keeps its keys \
                 until their TTL; a process of the cache's own ends with it).\n\n"
            );
        }
        let mut sizes: Vec<usize> = self.footprint.iter().map(|f| f.entries).collect();
        sizes.sort_unstable();
        sizes.dedup();
        for shape in SHAPES {
            for &n in &sizes {
                let t = self.table(shape, n);
                if !t.is_empty() {
                    let _ = write!(o, "**Shape `{shape}`, N = {n}**\n\n");
                    o.table(t);
                }
            }
        }
        o.chart(ChartRef::new("bytes per entry", "footprint.svg"));
    }

    fn files(&self) -> Result<Vec<OutFile>> {
        Ok(vec![
            csv_file("footprint.csv", &self.footprint)?,
            OutFile::new("footprint.svg", self.chart().render()),
        ])
    }
}
