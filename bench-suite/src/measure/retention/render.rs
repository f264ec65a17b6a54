//! The retention section of the report: its prose, tables, CSV files and charts.

use std::fmt::Write as _;

use super::{ClockKind, Phase, Retention, Sample, Workload};
use crate::error::Result;
use crate::format::{bytes, f1, percent, percent_of};
use crate::section::{ChartRef, Doc, OutFile, Section, csv_file};
use crate::svg::{Chart, Series};
use crate::table::Table;

impl Retention {
    fn method(&self, o: &mut Doc) {
        let _ = write!(
            o,
            "A stream of new keys arrives at a rate that keeps the valid set (arrival rate × TTL) \
             at a tenth of the capacity, as in the article. Phases: **write** ({} new keys per \
             run: 2 × capacity) until steady state; **idle** until every entry has expired; \
             **read** (reads of recently valid keys, no writes); **maintain** (one `maintain()` \
             call). Entries held are observed through the values themselves (each counts its live \
             copies), not asked of the cache. Strategies whose reclamation follows the injected \
             clock run on a hand-moved clock at full scale.",
            self.settings
                .on_manual_clock
                .first()
                .map_or(0, |c| c.write_sets)
        );
        if !self.real_time.is_empty() {
            let rt = &self.settings.on_real_time;
            let who: Vec<String> = self
                .real_time
                .iter()
                .map(|(name, why)| format!("**{name}** ({why})"))
                .collect();
            let _ = write!(
                o,
                " The reclamation of {} runs on real time only, so it runs in real time with \
                 scaled parameters (capacity {}, TTL {} s), shown in the *clock* column — its \
                 figures are comparable as fractions of capacity, not in bytes.",
                who.join(", "),
                rt.capacity,
                f1(rt.ttl.mean_secs())
            );
            let span = |clock: ClockKind| {
                self.retention_samples
                    .iter()
                    .filter(|x| {
                        self.retention
                            .iter()
                            .any(|r| r.strategy == x.strategy && r.clock == clock)
                    })
                    .map(|x| x.t_ttls)
                    .fold(0.0, f64::max)
            };
            let _ = write!(
                o,
                " In the charts their timelines are dashed and end at {} mean TTLs, where those \
                 on the hand-moved clock run to {}: real time has to pass for them, so their \
                 phases are shorter; the x axis counts mean TTLs of each run's own clock.",
                f1(span(ClockKind::RealTime)),
                f1(span(ClockKind::Manual))
            );
        }
        for name in &self.servers {
            let _ = write!(
                o,
                " **{name}** keeps its entries in another process, out of this one's reach: its \
                 entries held are that process's own count (`resident_len`), its bytes that \
                 process's memory figure, and its live entries its own count of those not \
                 expired or, from a server that cannot say, the keys whose deadline has not \
                 passed (a server has no capacity, so it drops no live key)."
            );
        }
        o.push_str("\n\n");
    }

    fn table(&self, w: Workload) -> Table {
        let mut t = Table::new([
            "strategy",
            "clock",
            "capacity / valid set",
            "phase end",
            "held",
            "live",
            "expired held",
            "expired / capacity",
            "bytes held",
        ]);
        for x in self.retention.iter().filter(|x| x.workload == w) {
            t.row([
                x.strategy.to_owned(),
                x.clock.label().to_owned(),
                format!("{} / {}", x.capacity, x.valid_set),
                x.phase.label().to_owned(),
                x.resident_entries.to_string(),
                x.live_entries.to_string(),
                x.expired_resident_entries.to_string(),
                percent(
                    percent_of(x.expired_resident_entries as f64, x.capacity as f64),
                    1,
                ),
                bytes(x.resident_bytes as f64),
            ]);
        }
        t
    }

    fn samples_of(&self, w: Workload, s: &str) -> impl Iterator<Item = &Sample> {
        self.retention_samples
            .iter()
            .filter(move |x| x.workload == w && x.strategy == s)
    }

    /// Strategies that ran workload `w`, in run order.
    fn strategies_in(&self, w: Workload) -> Vec<&'static str> {
        let mut out: Vec<&'static str> = Vec::new();
        for x in self.retention.iter().filter(|x| x.workload == w) {
            if !out.contains(&x.strategy) {
                out.push(x.strategy);
            }
        }
        out
    }

    fn overview_chart(&self, w: Workload) -> Chart {
        let series = self
            .strategies_in(w)
            .into_iter()
            .map(|s| {
                let row = self
                    .retention
                    .iter()
                    .find(|x| x.strategy == s && x.workload == w);
                let cap = row.map_or(1, |x| x.capacity) as f64;
                let pts = self
                    .samples_of(w, s)
                    .map(|x| (x.t_ttls, percent_of(x.expired_resident_entries as f64, cap)))
                    .collect();
                let mut series = crate::strategies::series(s, pts);
                series.dashed = row.is_some_and(|x| x.clock == ClockKind::RealTime);
                series
            })
            .collect();
        Chart {
            title: format!("Expired entries held, workload {w}"),
            x_label: "time (mean TTLs since start); dashed: real time, scaled".into(),
            y_label: "expired entries held (% of capacity)".into(),
            y2_label: None,
            x_log: false,
            series,
        }
    }

    fn strategy_chart(&self, w: Workload, s: &str) -> Chart {
        let pick = |f: fn(&Sample) -> f64| -> Vec<(f64, f64)> {
            self.samples_of(w, s).map(|x| (x.t_ttls, f(x))).collect()
        };
        let mut held_bytes =
            Series::new("bytes held (MB)", pick(|x| x.resident_bytes as f64 / 1e6));
        held_bytes.secondary = true;
        held_bytes.dashed = true;
        Chart {
            title: format!("{s}: what it holds, workload {w}"),
            x_label: "time (mean TTLs since start)".into(),
            y_label: "entries".into(),
            y2_label: Some("MB held".into()),
            x_log: false,
            series: vec![
                Series::new("held", pick(|x| x.resident_entries as f64)),
                Series::new("live", pick(|x| x.live_entries as f64)),
                Series::new("expired held", pick(|x| x.expired_resident_entries as f64)),
                held_bytes,
            ],
        }
    }
}

impl Section for Retention {
    fn title(&self) -> &'static str {
        "Retention of expired entries"
    }

    fn body(&self, o: &mut Doc) {
        self.method(o);
        for w in self.workloads() {
            let ttl = self
                .retention
                .iter()
                .find(|x| x.workload == w && x.clock == ClockKind::Manual)
                .map_or(String::new(), |x| {
                    format!(
                        ", mean TTL {} s on the hand-moved clock",
                        f1(x.mean_ttl_secs)
                    )
                });
            let _ = write!(o, "**Workload `{w}`{ttl}**\n\n");
            o.table(self.table(w));
            let peaks: Vec<String> = self
                .retention
                .iter()
                .filter(|x| x.workload == w && x.phase == Phase::Write)
                .map(|x| {
                    let most = x.max_expired_resident_entries_in_write;
                    format!(
                        "{} {most} ({} of capacity)",
                        x.strategy,
                        percent(percent_of(most as f64, x.capacity as f64), 2)
                    )
                })
                .collect();
            let _ = writeln!(
                o,
                "Most expired entries held at any write-phase sample: {}.\n",
                peaks.join("; ")
            );
            o.chart(ChartRef::new(
                format!("expired entries held, {w}"),
                format!("retention_{w}.svg"),
            ));
        }
        let charts: Vec<ChartRef> = self
            .workloads()
            .into_iter()
            .flat_map(|w| {
                self.strategies_in(w).into_iter().map(move |s| ChartRef {
                    strategy: Some(s.to_owned()),
                    ..ChartRef::new(format!("{s} {w}"), format!("retention_{w}_{s}.svg"))
                })
            })
            .collect();
        o.linked_charts(
            "Per-strategy timelines (entries held, live, expired, and bytes held)",
            charts,
        );
    }

    fn files(&self) -> Result<Vec<OutFile>> {
        let mut out = vec![
            csv_file("retention.csv", &self.retention)?,
            csv_file("retention_samples.csv", &self.retention_samples)?,
        ];
        for w in self.workloads() {
            out.push(OutFile::new(
                format!("retention_{w}.svg"),
                self.overview_chart(w).render(),
            ));
            for s in self.strategies_in(w) {
                out.push(OutFile::new(
                    format!("retention_{w}_{s}.svg"),
                    self.strategy_chart(w, s).render(),
                ));
            }
        }
        Ok(out)
    }
}
