//! The `cachebench` binary as a user runs it: the quick report, its files, its errors, the
//! planner. (The default run is the same code with larger parameters.)

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use bench_suite::strategies::Registry;
use serde_json::Value;

fn cachebench(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_cachebench"))
        .args(args)
        .output()
        .expect("cachebench runs")
}

fn scratch(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("cachebench-test-{}-{name}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    dir
}

#[track_caller]
fn assert_fields(rows: &[Value], fields: &[&str], table: &str) {
    for field in fields {
        assert!(
            rows.iter().all(|r| !r[field].is_null()),
            "{table} rows have {field}"
        );
    }
}

fn read(dir: &Path, file: &str) -> String {
    std::fs::read_to_string(dir.join(file)).unwrap_or_else(|e| panic!("{file}: {e}"))
}

#[test]
fn the_quick_report_writes_every_file_and_they_parse() {
    let dir = scratch("quick");
    let out = cachebench(&[
        "--quick",
        "--no-progress",
        "--json",
        "--out",
        dir.to_str().unwrap(),
    ]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );

    // --json: the report on stdout, identical to report.json.
    let json: Value = serde_json::from_slice(&out.stdout).expect("stdout is JSON");
    let file: Value = serde_json::from_str(&read(&dir, "report.json")).expect("report.json parses");
    assert_eq!(json["footprint"], file["footprint"]);
    for key in [
        "environment",
        "parameters",
        "footprint",
        "retention",
        "retention_samples",
        "scenario",
        "hit_ratio",
        "advice",
    ] {
        assert!(!json[key].is_null(), "report.json has {key}");
    }
    for key in ["rustc", "crates", "cores", "allocator"] {
        assert!(!json["environment"][key].is_null(), "environment has {key}");
    }
    let fp = json["footprint"].as_array().unwrap();
    assert_fields(
        fp,
        &[
            "strategy",
            "shape",
            "entries",
            "bytes_per_entry",
            "allocs_per_entry",
            "payload_bytes_per_entry",
            "fixed_bytes",
        ],
        "footprint",
    );
    for shape in ["article", "u64"] {
        for s in std::iter::once("payload_floor").chain(Registry::ours().names()) {
            assert!(
                fp.iter().any(|r| r["shape"] == shape && r["strategy"] == s),
                "footprint of {s} / {shape}"
            );
        }
    }
    let ret = json["retention"].as_array().unwrap();
    assert_fields(
        ret,
        &[
            "strategy",
            "phase",
            "resident_entries",
            "live_entries",
            "expired_resident_entries",
            "resident_bytes",
        ],
        "retention",
    );
    let row = |s: &str, phase: &str| {
        ret.iter()
            .find(|r| r["strategy"] == s && r["workload"] == "uniform_ttl" && r["phase"] == phase)
            .unwrap_or_else(|| panic!("{s} {phase}"))
    };
    // What the article says of its design, measured: the deque fills to maxlen, mostly expired.
    assert_eq!(
        row("weakfifo", "write")["resident_entries"],
        row("weakfifo", "write")["capacity"]
    );
    assert_eq!(row("weakfifo", "maintain")["live_entries"], 0);
    // And the repaired design holds nothing expired after maintain().
    assert_eq!(row("ttlfifo", "maintain")["resident_entries"], 0);
    assert_eq!(row("moka", "write")["clock"], "real_time");
    let hits = json["hit_ratio"].as_array().unwrap();
    assert!(
        hits.iter()
            .all(|h| (0.0..=1.0).contains(&h["hit_ratio"].as_f64().unwrap()))
    );
    assert!(!json["advice"].as_array().unwrap().is_empty());

    let md = read(&dir, "report.md");
    for heading in [
        "## 1. Footprint",
        "## 2. Retention",
        "## 3. The article's scenario",
        "## 4. Hit ratio",
        "## 5. Advice",
    ] {
        assert!(md.contains(heading), "report.md has {heading}");
    }
    // Every CSV: `strategy` first, every row complete, and every strategy of the registry in it.
    for (csv, first) in [
        ("footprint.csv", "strategy"),
        ("retention.csv", "strategy"),
        ("retention_samples.csv", "strategy"),
        ("scenario.csv", "strategy"),
        ("hit_ratio.csv", "strategy"),
    ] {
        let text = read(&dir, csv);
        let mut r = csv::Reader::from_reader(text.as_bytes());
        let head = r.headers().expect("a header").clone();
        assert_eq!(&head[0], first, "{csv}: {head:?}");
        let rows: Vec<csv::StringRecord> = r.records().map(|x| x.expect(csv)).collect();
        assert!(
            rows.iter().all(|x| x.len() == head.len()),
            "{csv}: complete rows"
        );
        for name in Registry::ours().names() {
            assert!(rows.iter().any(|x| &x[0] == name), "{csv} has {name}");
        }
    }
    // And in every table of the JSON.
    for table in [
        "footprint",
        "retention",
        "retention_samples",
        "scenario",
        "hit_ratio",
    ] {
        for name in Registry::ours().names() {
            assert!(
                json[table]
                    .as_array()
                    .unwrap()
                    .iter()
                    .any(|r| r["strategy"] == name),
                "report.json {table} has {name}"
            );
        }
    }
    for svg in [
        "footprint.svg",
        "hit_ratio.svg",
        "retention_uniform_ttl.svg",
        "retention_mixed_ttl.svg",
        "retention_uniform_ttl_weakfifo.svg",
    ] {
        let text = read(&dir, svg);
        assert!(
            text.starts_with("<svg") && text.contains("<polyline"),
            "{svg}"
        );
    }
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn bad_arguments_are_clear_errors() {
    for (args, expect) in [
        (&["--strategies", "lfu"][..], "invalid value 'lfu'"),
        (&["--entries", "0"][..], "zero entries"),
        (&["--entries", "lots"][..], "not a whole number"),
        (&["--ttl", "-5"][..], "positive number of seconds"),
        (&["plan"][..], "give --valid"),
        (
            &["plan", "--valid", "10", "--key-bytes", "2"][..],
            "--key-bytes",
        ),
    ] {
        let out = cachebench(args);
        assert!(!out.status.success(), "{args:?} must fail");
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(err.contains(expect), "{args:?}: {err}");
    }
}

#[test]
fn footprint_figures_are_identical_from_run_to_run() {
    for strategy in Registry::ours()
        .names()
        .into_iter()
        .chain(["payload_floor"])
    {
        let run = || {
            let out = cachebench(&[
                "measure-footprint",
                "--strategy",
                strategy,
                "--shape",
                "article",
                "--entries",
                "20000",
            ]);
            assert!(
                out.status.success(),
                "{}",
                String::from_utf8_lossy(&out.stderr)
            );
            let v: Value = serde_json::from_slice(&out.stdout).unwrap();
            (
                v["bytes_per_entry"].clone(),
                v["resident_entries"].clone(),
                v["fixed_bytes"].clone(),
            )
        };
        assert_eq!(run(), run(), "{strategy}");
    }
}

#[test]
fn the_planner_prints_the_articles_rule_and_a_row_per_strategy() {
    let out = cachebench(&[
        "plan",
        "--valid",
        "5000",
        "--workers",
        "4",
        "--caches",
        "2",
        "--strategies",
        "weakfifo,ttlfifo",
    ]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        text.contains("maxlen = 1.1–2 × the valid set = 5500–10000"),
        "{text}"
    );
    assert!(
        text.contains("| weakfifo |") && text.contains("| ttlfifo |"),
        "{text}"
    );
    // weakfifo fills to maxlen; the repaired cache holds about the valid set.
    let held = |s: &str| -> f64 {
        let line = text
            .lines()
            .find(|l| l.starts_with(&format!("| {s} |")))
            .unwrap();
        line.split('|')
            .nth(3)
            .unwrap()
            .trim()
            .trim_end_matches(" %")
            .parse()
            .unwrap()
    };
    assert_eq!(held("weakfifo"), 100.0);
    assert!(held("ttlfifo") <= 51.0, "{text}");
}
