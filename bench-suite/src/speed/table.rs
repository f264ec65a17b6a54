//! `cachebench bench-table`: reads criterion's saved estimates and prints one table — median
//! ns per operation for each strategy and workload, and each strategy's ratio to the fastest.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

use serde::Deserialize;

use crate::error::{Error, Result};
use crate::format::{nanos, ratio};
use crate::strategies::Registry;
use crate::table::Table;

#[derive(Deserialize)]
struct BenchmarkJson {
    group_id: String,
    function_id: Option<String>,
    value_str: Option<String>,
    /// `{"Elements": n}`, `{"ElementsAndBytes": {"elements": n, ..}}`, a bytes throughput, or
    /// none; only elements matter here.
    throughput: Option<serde_json::Value>,
}

#[derive(Deserialize)]
struct Estimate {
    point_estimate: f64,
}

#[derive(Deserialize)]
struct EstimatesJson {
    median: Estimate,
}

/// One benchmark's result.
#[derive(Debug, Clone, PartialEq)]
pub struct Measured {
    /// The workload: criterion's group, with the parameter (`get_hit/u64 @ 100000`).
    pub workload: String,
    /// The strategy: criterion's function id.
    pub strategy: String,
    /// Median time per element, in nanoseconds.
    pub ns_per_op: f64,
}

/// The results of `registry`'s strategies, and the names of the others (sorted, once each): a
/// criterion folder keeps the results of every strategy ever benched in it.
pub fn of_registry(results: Vec<Measured>, registry: &Registry) -> (Vec<Measured>, Vec<String>) {
    let (known, unknown): (Vec<Measured>, Vec<Measured>) = results
        .into_iter()
        .partition(|m| registry.get(&m.strategy).is_some());
    let stale: BTreeSet<String> = unknown.into_iter().map(|m| m.strategy).collect();
    (known, stale.into_iter().collect())
}

/// Every benchmark under `dir` (criterion's output folder, `target/criterion`), from its
/// latest run (`new/`).
pub fn read(dir: &Path) -> Result<Vec<Measured>> {
    let mut found = Vec::new();
    walk(dir, &mut found).map_err(|e| {
        Error::Measurement(format!(
            "cannot read {}: {e}; run `cargo bench -p bench-suite` first",
            dir.display()
        ))
    })?;
    let mut out = Vec::new();
    for new_dir in found {
        let bench: BenchmarkJson = parse(&new_dir.join("benchmark.json"))?;
        let est: EstimatesJson = parse(&new_dir.join("estimates.json"))?;
        let elements = bench
            .throughput
            .as_ref()
            .and_then(|t| {
                t.get("Elements")
                    .or_else(|| t.get("ElementsAndBytes")?.get("elements"))
            })
            .and_then(serde_json::Value::as_u64)
            .unwrap_or(1)
            .max(1);
        let workload = match bench.value_str {
            Some(v) => format!("{} @ {v}", bench.group_id),
            None => bench.group_id,
        };
        out.push(Measured {
            workload,
            strategy: bench.function_id.unwrap_or_else(|| "?".to_owned()),
            ns_per_op: est.median.point_estimate / elements as f64,
        });
    }
    if out.is_empty() {
        return Err(Error::Measurement(format!(
            "no criterion results under {}: run `cargo bench -p bench-suite` first",
            dir.display()
        )));
    }
    out.sort_by(|a, b| (&a.workload, &a.strategy).cmp(&(&b.workload, &b.strategy)));
    Ok(out)
}

fn parse<T: for<'de> Deserialize<'de>>(path: &Path) -> Result<T> {
    let text = std::fs::read_to_string(path).map_err(|e| Error::io("cannot read", path, e))?;
    serde_json::from_str(&text).map_err(|e| Error::Measurement(format!("{}: {e}", path.display())))
}

fn walk(dir: &Path, found: &mut Vec<PathBuf>) -> std::io::Result<()> {
    for entry in std::fs::read_dir(dir)? {
        let path = entry?.path();
        if path.is_dir() {
            if path.file_name().is_some_and(|n| n == "new") && path.join("benchmark.json").is_file()
            {
                found.push(path);
            } else {
                walk(&path, found)?;
            }
        }
    }
    Ok(())
}

/// The table: a row per workload, a column per strategy, each cell the median ns/op and the
/// ratio to the fastest strategy of that workload (`×–` where no ratio can be formed: a zero
/// estimate).
pub fn table(results: &[Measured]) -> Table {
    let strategies: BTreeSet<&str> = results.iter().map(|m| m.strategy.as_str()).collect();
    let mut rows: BTreeMap<&str, BTreeMap<&str, f64>> = BTreeMap::new();
    for m in results {
        rows.entry(&m.workload)
            .or_default()
            .insert(&m.strategy, m.ns_per_op);
    }
    let mut t = Table::new(std::iter::once("workload").chain(strategies.iter().copied()));
    for (workload, cells) in &rows {
        let fastest = cells.values().copied().fold(f64::INFINITY, f64::min);
        t.row(
            std::iter::once(workload.to_string()).chain(strategies.iter().map(
                |s| match cells.get(s) {
                    Some(ns) => format!("{} ({})", nanos(*ns), ratio(ns / fastest)),
                    None => "–".to_owned(),
                },
            )),
        );
    }
    t
}

#[cfg(test)]
mod tests {
    use super::*;

    fn fake(dir: &Path, group: &str, function: &str, value: &str, elements: u64, median_ns: f64) {
        let d = dir
            .join(group.replace('/', "_"))
            .join(function)
            .join(value)
            .join("new");
        std::fs::create_dir_all(&d).unwrap();
        std::fs::write(
            d.join("benchmark.json"),
            format!(
                r#"{{"group_id":"{group}","function_id":"{function}","value_str":"{value}","throughput":{{"Elements":{elements}}},"full_id":"x","directory_name":"x","title":"x"}}"#
            ),
        )
        .unwrap();
        std::fs::write(
            d.join("estimates.json"),
            format!(r#"{{"median":{{"point_estimate":{median_ns},"standard_error":1.0}},"mean":{{"point_estimate":1.0}}}}"#),
        )
        .unwrap();
        // A saved baseline beside it must be ignored.
        let base = d.parent().unwrap().join("base");
        std::fs::create_dir_all(&base).unwrap();
    }

    #[test]
    fn reads_criterion_output_and_divides_by_the_elements() {
        let dir =
            std::env::temp_dir().join(format!("cachebench-benchtable-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        fake(&dir, "get_hit/u64", "lru", "100000", 1, 40.0);
        fake(&dir, "get_hit/u64", "ttlfifo", "100000", 1, 20.0);
        fake(&dir, "set_insert/u64", "lru", "100000", 10_000, 1_500_000.0);
        let got = read(&dir).unwrap();
        assert_eq!(got.len(), 3);
        assert_eq!(
            got[2],
            Measured {
                workload: "set_insert/u64 @ 100000".into(),
                strategy: "lru".into(),
                ns_per_op: 150.0
            }
        );
        let md = table(&got).to_string();
        assert!(
            md.contains("| get_hit/u64 @ 100000 | 40.0 ns (×2.00) | 20.0 ns (×1.00) |"),
            "{md}"
        );
        assert!(
            md.contains("| set_insert/u64 @ 100000 | 150.0 ns (×1.00) | – |"),
            "{md}"
        );
        let _ = std::fs::remove_dir_all(&dir);
    }

    #[test]
    fn a_zero_estimate_gives_no_ratio_rather_than_nan() {
        let dir =
            std::env::temp_dir().join(format!("cachebench-benchtable-zero-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        fake(&dir, "get_hit/u64", "lru", "100000", 1, 0.0);
        fake(&dir, "get_hit/u64", "ttlfifo", "100000", 1, 0.0);
        let md = table(&read(&dir).unwrap()).to_string();
        assert!(!md.contains("NaN") && md.contains("0.0 ns (×–)"), "{md}");
        let _ = std::fs::remove_dir_all(&dir);
    }

    #[test]
    fn an_empty_folder_is_a_clear_error() {
        let dir = std::env::temp_dir().join(format!(
            "cachebench-benchtable-empty-{}",
            std::process::id()
        ));
        std::fs::create_dir_all(&dir).unwrap();
        assert!(
            read(&dir)
                .unwrap_err()
                .to_string()
                .contains("run `cargo bench -p bench-suite` first")
        );
        let missing = read(&dir.join("missing")).unwrap_err().to_string();
        assert!(
            missing.contains("cannot read") && missing.contains("cargo bench"),
            "{missing}"
        );
        let _ = std::fs::remove_dir_all(&dir);
    }

    #[test]
    fn results_of_strategies_the_program_does_not_know_are_left_out_and_named() {
        let m = |strategy: &str| Measured {
            workload: "get_hit/u64 @ 100".to_owned(),
            strategy: strategy.to_owned(),
            ns_per_op: 1.0,
        };
        let all = vec![m("ttlfifo"), m("gone"), m("lru"), m("gone"), m("older")];
        let (kept, stale) = of_registry(all, &Registry::ours());
        let kept: Vec<&str> = kept.iter().map(|m| m.strategy.as_str()).collect();
        assert_eq!(kept, ["ttlfifo", "lru"]);
        assert_eq!(stale, ["gone", "older"]);
    }
}
