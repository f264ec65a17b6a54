//! The comparison report: runs every measurement, then renders Markdown, JSON, CSV and SVG.
//!
//! Every figure in a [`Report`] comes from the run that produced it; nothing is carried over.
//! Each measurement renders its own section through [`Section`]; this module orders them and
//! adds the header.

mod environment;
pub mod html;
pub mod output;

use std::fmt::Write as _;
use std::time::Instant;

use serde::Serialize;

/// The section vocabulary and the chart writer live below both the measurements and the
/// report ([`crate::section`], [`crate::svg`]); re-exported here for the report's users.
pub use crate::section::{Block, ChartRef, Doc, OutFile, Section, csv_file};
pub use crate::svg;
pub use environment::{Environment, machine_line};

use crate::error::{Error, Result};
use crate::format::f1;
pub use crate::measure::config::{NotMeasured, ReportConfig, TTL_SECS};
pub use crate::measure::{Apart, Measured, Measurement, Track};
use crate::measure::{Inputs, advice, footprint, hitratio, retention, scenario, trace_hit_ratio};
use crate::progress::Progress;
use crate::strategies::Strategy;

/// The measurements, in report order: each section's place in report.md and report.json. A
/// measurement runs on its [`Track`]; one that reads another's figures comes after it.
pub const MEASUREMENTS: &[Measurement] = &[
    footprint::MEASUREMENT,
    retention::MEASUREMENT,
    scenario::MEASUREMENT,
    hitratio::MEASUREMENT,
    trace_hit_ratio::MEASUREMENT,
    advice::MEASUREMENT,
];

/// The report's title: report.md's first line, the page's heading.
const TITLE: &str = "cachebench report";

/// Everything one run measured. Field names are stable: see README's "report.json".
#[derive(Debug)]
pub struct Report {
    /// Version of this JSON layout.
    pub schema_version: u32,
    /// The machine and the run.
    pub environment: Environment,
    /// The parameters.
    pub parameters: ReportConfig,
    /// The sections, in report order ([`MEASUREMENTS`]).
    sections: Vec<Box<dyn Measured>>,
}

impl std::fmt::Debug for dyn Measured {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}", self.title())
    }
}

/// report.json: the run's header, then every section's fields at the top level.
impl Serialize for Report {
    fn serialize<S: serde::Serializer>(&self, ser: S) -> std::result::Result<S::Ok, S::Error> {
        use serde::ser::{Error as _, SerializeMap};
        let mut map = ser.serialize_map(None)?;
        map.serialize_entry("schema_version", &self.schema_version)?;
        map.serialize_entry("environment", &self.environment)?;
        map.serialize_entry("parameters", &self.parameters)?;
        for section in &self.sections {
            match section.json().map_err(S::Error::custom)? {
                serde_json::Value::Object(fields) => {
                    for (k, v) in fields {
                        map.serialize_entry(&k, &v)?;
                    }
                }
                _ => {
                    return Err(S::Error::custom(format!(
                        "section {:?} is not a JSON object of fields",
                        section.title()
                    )));
                }
            }
        }
        map.end()
    }
}

/// Runs every measurement of [`MEASUREMENTS`].
///
/// Two tracks run at once: the replays on the hand-moved clock ([`Track::Replays`]: hit ratio,
/// then traces), whose figures do not depend on time or on what runs beside them; and memory
/// ([`Track::Memory`]: the footprint, each row a process of its own, then retention).
/// Retention's real-time runs wait for time to pass and share the cores with the replays:
/// while they run, the replays use one core fewer (`measure::reserve_a_core`). Then what is
/// derived from both ([`Track::After`]: the scenario, the advice).
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
    let inputs = Inputs {
        cfg,
        traces: &traces,
        apart,
        progress,
        before: &[],
    };
    let run_track =
        |track: Track, before: &[&dyn Measured]| -> Result<Vec<(usize, Box<dyn Measured>)>> {
            let mut done: Vec<(usize, Box<dyn Measured>)> = Vec::new();
            for (i, m) in MEASUREMENTS
                .iter()
                .enumerate()
                .filter(|(_, m)| m.track == track)
            {
                let seen: Vec<&dyn Measured> = before
                    .iter()
                    .copied()
                    .chain(done.iter().map(|(_, d)| &**d))
                    .collect();
                let section = progress.time(m.name, "all", || {
                    (m.run)(&Inputs {
                        before: &seen,
                        ..inputs
                    })
                })?;
                done.push((i, section));
            }
            Ok(done)
        };
    let (memory, replays) = std::thread::scope(|scope| {
        let replays = scope.spawn(|| run_track(Track::Replays, &[]));
        let memory = run_track(Track::Memory, &[]);
        let replays = replays
            .join()
            .unwrap_or_else(|e| std::panic::resume_unwind(e));
        (memory, replays)
    });
    let mut sections = memory?;
    sections.extend(replays?);
    let before: Vec<&dyn Measured> = sections.iter().map(|(_, d)| &**d).collect();
    let after = run_track(Track::After, &before)?;
    sections.extend(after);
    sections.sort_by_key(|(i, _)| *i);
    refuse_failed_servers(s)?;
    Ok(Report {
        schema_version: 1,
        environment: Environment {
            timings: progress.timings(),
            ..Environment::now(s, started.elapsed().as_secs_f64(), started_unix)
        },
        parameters: cfg.clone(),
        sections: sections.into_iter().map(|(_, d)| d).collect(),
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
    pub fn sections(&self) -> impl Iterator<Item = &dyn Measured> {
        self.sections.iter().map(|s| &**s)
    }

    /// The section of type `T` (say, [`footprint::Footprint`]), if the run measured it.
    pub fn section<T: std::any::Any>(&self) -> Option<&T> {
        self.sections().find_map(|s| s.as_any().downcast_ref())
    }

    /// The run and its strategies, under the report's title.
    fn header(&self, o: &mut Doc) {
        let env = &self.environment;
        let crates: Vec<String> = env.crates.iter().map(|(k, v)| format!("{k} {v}")).collect();
        let _ = writeln!(
            o,
            "Run {} (unix time {}), {} s (each section's and strategy's \
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
        if !env.outside.is_empty() {
            let outside: Vec<String> = env
                .outside
                .iter()
                .map(|(s, by)| format!("`{s}` by {by}"))
                .collect();
            let _ = writeln!(
                o,
                "Measured outside this process: {}.\n",
                outside.join("; ")
            );
        }
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
        o.push_str("\n");
    }

    /// What the report says, once for both renderers: the header, then each section's title
    /// and blocks.
    fn docs(&self) -> Docs {
        let mut header = Doc::new();
        self.header(&mut header);
        let sections = self
            .sections()
            .map(|s| {
                let mut doc = Doc::new();
                s.body(&mut doc);
                (s.title(), doc)
            })
            .collect();
        Docs { header, sections }
    }

    /// The report as Markdown (also what the binary prints).
    pub fn markdown(&self) -> String {
        markdown(&self.docs())
    }

    /// Every file of the report: `report.md`, `report.json`, `report.html` (the page, holding
    /// the charts), then each section's files.
    pub fn files(&self) -> Result<Vec<OutFile>> {
        let mut section_files = Vec::new();
        for s in self.sections() {
            // A table with no rows (the traces' under `--traces none`) is no file: its CSV
            // would be empty, without even the header that says what it would hold.
            section_files.extend(s.files()?.into_iter().filter(|f| !f.body.is_empty()));
        }
        let docs = self.docs();
        let mut out = vec![
            OutFile::new("report.md", markdown(&docs)),
            OutFile::new("report.json", serde_json::to_string_pretty(self)? + "\n"),
            OutFile::new(html::PAGE, html::page(self, &docs, &section_files)?),
        ];
        out.extend(section_files);
        Ok(out)
    }
}

/// What a report says ([`Report::docs`]), which report.md and report.html render.
struct Docs {
    header: Doc,
    /// Each section's title and blocks, in report order.
    sections: Vec<(&'static str, Doc)>,
}

/// report.md.
fn markdown(docs: &Docs) -> String {
    let mut o = format!("# {TITLE}\n\n{}", docs.header.markdown());
    for (i, (title, doc)) in docs.sections.iter().enumerate() {
        let _ = writeln!(o, "## {}. {title}\n", i + 1);
        o.push_str(&doc.markdown());
    }
    let _ = writeln!(o, "The same report as one page: [{0}]({0}).", html::PAGE);
    o
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::strategies::failing::with_server;

    /// A section serialized as a list: its figures would have no key in report.json.
    #[derive(Serialize)]
    #[serde(transparent)]
    struct Bare(Vec<u32>);

    impl Section for Bare {
        fn title(&self) -> &'static str {
            "Bare"
        }
        fn body(&self, _: &mut Doc) {}
        fn files(&self) -> Result<Vec<OutFile>> {
            Ok(Vec::new())
        }
    }

    #[test]
    fn every_sections_fields_are_keys_of_report_json_and_a_bare_value_is_refused() {
        let report = |section: Box<dyn Measured>| Report {
            schema_version: 1,
            environment: Environment::now(&[], 0.0, 0),
            parameters: ReportConfig::new(true, 1, Vec::new()),
            sections: vec![section],
        };
        let advice = crate::measure::advice::Advice {
            advice: vec!["a sentence".into()],
        };
        let json = serde_json::to_value(report(Box::new(advice))).unwrap();
        assert_eq!(json["advice"][0], "a sentence");
        let bare = serde_json::to_string(&report(Box::new(Bare(vec![1])))).unwrap_err();
        assert!(
            bare.to_string().contains("\"Bare\" is not a JSON object"),
            "{bare}"
        );
    }

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
