use std::io::Write as _;
use std::path::PathBuf;

use flate2::Compression;
use flate2::write::GzEncoder;

use super::*;

fn fixture(name: &str, bytes: &[u8], gzip: bool) -> PathBuf {
    let path = std::env::temp_dir().join(format!("cachebench-trace-{}-{name}", std::process::id()));
    let body = if gzip {
        let mut e = GzEncoder::new(Vec::new(), Compression::fast());
        e.write_all(bytes).unwrap();
        e.finish().unwrap()
    } else {
        bytes.to_vec()
    };
    std::fs::write(&path, body).unwrap();
    path
}

fn load(name: &str, bytes: &[u8], format: Format) -> Result<Vec<u64>> {
    let (plain_file, gz_file) = (
        fixture(name, bytes, false),
        fixture(&format!("{name}.gz"), bytes, true),
    );
    let plain = Trace::load(name, &plain_file, format);
    let gz = Trace::load(name, &gz_file, format);
    let _ = (
        std::fs::remove_file(plain_file),
        std::fs::remove_file(gz_file),
    );
    assert_eq!(
        plain
            .as_ref()
            .map(|t| &t.requests)
            .map_err(|e| e.to_string().replace(".gz", "")),
        gz.as_ref()
            .map(|t| &t.requests)
            .map_err(|e| e.to_string().replace(".gz", "")),
        "gzip and plain read alike"
    );
    plain.map(|t| t.requests)
}

#[test]
fn lirs_skips_blank_and_checkpoint_lines_and_reads_crlf() {
    let got = load("lirs", b"1\r\n2\r\n\r\n*\r\n3\n\n*\n4", Format::Lirs).unwrap();
    assert_eq!(got, [1, 2, 3, 4]);
}

#[test]
fn a_non_number_is_an_error_with_file_and_line() {
    let err = load("bad", b"1\n2\nthree\n4\n", Format::Lirs)
        .unwrap_err()
        .to_string();
    assert!(
        err.contains("cachebench-trace-") && err.contains("line 3"),
        "{err}"
    );
    assert!(err.contains("\"three\" is not a whole number"), "{err}");
    let neg = load("neg", b"-1\n", Format::Lirs).unwrap_err().to_string();
    assert!(neg.contains("line 1"), "{neg}");
}

#[test]
fn arc_lines_expand_to_their_blocks_in_order() {
    let got = load("arc", b"10 3 0 0\n\n7 1 0 1\r\n", Format::Arc).unwrap();
    assert_eq!(got, [10, 11, 12, 7]);
    let short = load("arc-short", b"10 3 0 0\n5 2\n", Format::Arc)
        .unwrap_err()
        .to_string();
    assert!(
        short.contains("line 2") && short.contains("expected 4 fields"),
        "{short}"
    );
    let over = load(
        "arc-over",
        format!("{} 2 0 0\n", u64::MAX).as_bytes(),
        Format::Arc,
    )
    .unwrap_err()
    .to_string();
    assert!(over.contains("overflows"), "{over}");
}

#[test]
fn cache2k_reads_big_endian_i32_and_refuses_a_truncated_record() {
    let mut bytes = Vec::new();
    for k in [1i32, -1, 70_000] {
        bytes.extend(k.to_be_bytes());
    }
    assert_eq!(
        load("c2k", &bytes, Format::Cache2k).unwrap(),
        [1, u64::from(u32::MAX), 70_000]
    );
    bytes.extend([0, 1]);
    let err = load("c2k-cut", &bytes, Format::Cache2k)
        .unwrap_err()
        .to_string();
    assert!(
        err.contains("byte 12") && err.contains("truncated record: 2 of 4"),
        "{err}"
    );
}

#[test]
fn plain_lines_number_each_distinct_key() {
    let got = load("lines", b"/a\n/b\n\n/a\r\n/c\n", Format::Lines).unwrap();
    assert_eq!(got, [0, 1, 0, 2]);
}

#[test]
fn an_empty_trace_and_a_missing_file_are_errors() {
    let err = load("empty", b"\n*\n", Format::Lirs)
        .unwrap_err()
        .to_string();
    assert!(err.contains("no request"), "{err}");
    let missing = Trace::load(
        "x",
        std::path::Path::new("/nonexistent/trace"),
        Format::Lirs,
    )
    .unwrap_err()
    .to_string();
    assert!(
        missing.contains("cannot read /nonexistent/trace"),
        "{missing}"
    );
}

/// The most hits any policy (admission and eviction chosen with hindsight) gets.
fn brute_force(requests: &[u64], capacity: usize) -> u64 {
    fn go(requests: &[u64], capacity: usize, resident: &mut Vec<u64>) -> u64 {
        let Some((&k, rest)) = requests.split_first() else {
            return 0;
        };
        if resident.contains(&k) {
            return 1 + go(rest, capacity, resident);
        }
        let mut best = go(rest, capacity, resident); // bypass
        if resident.len() < capacity {
            resident.push(k);
            best = best.max(go(rest, capacity, resident));
            resident.pop();
        } else {
            for i in 0..resident.len() {
                let old = std::mem::replace(&mut resident[i], k);
                best = best.max(go(rest, capacity, resident));
                resident[i] = old;
            }
        }
        best
    }
    go(requests, capacity, &mut Vec::new())
}

#[test]
fn opt_equals_brute_force_on_tiny_traces() {
    let mut seed = 0x1234_5678u64;
    for case in 0..300 {
        let len = 4 + case % 9;
        let keys = 2 + (case % 4) as u64;
        let requests: Vec<u64> = (0..len)
            .map(|_| {
                seed = seed.wrapping_mul(6_364_136_223_846_793_005).wrapping_add(1);
                (seed >> 33) % keys
            })
            .collect();
        let next = opt::next_uses(&requests);
        for capacity in 0..=3 {
            assert_eq!(
                opt::hits(&next, capacity),
                brute_force(&requests, capacity),
                "{requests:?} at capacity {capacity}"
            );
        }
    }
}

#[test]
fn the_compulsory_bound_counts_every_first_sight_as_a_miss() {
    let t = Trace::from_requests("t", vec![1, 2, 1, 1, 3, 2]);
    assert_eq!((t.distinct, t.compulsory_bound()), (3, 0.5));
    let next = opt::next_uses(&t.requests);
    assert_eq!(
        opt::hits(&next, 3),
        3,
        "with room for all, opt reaches the bound"
    );
}

#[test]
fn every_catalog_trace_is_vendored_with_its_published_size() {
    // (requests, distinct keys) as the traces' README gives them.
    let sizes = [
        ("loop", 505_500, 1_011),
        ("multi1", 15_858, 2_606),
        ("sprite", 133_996, 7_075),
        ("cs", 6_781, 1_409),
        ("web07", 76_118, 20_484),
    ];
    let dir = catalog::default_dir();
    for e in catalog::ALL {
        assert!(dir.join(e.file).is_file(), "{} is vendored", e.file);
    }
    for (name, requests, distinct) in sizes {
        let e = catalog::find(name).unwrap();
        let t = Trace::load(name, &dir.join(e.file), e.format).unwrap();
        assert_eq!(
            (t.requests.len(), t.distinct),
            (requests, distinct),
            "{name}"
        );
    }
}

/// An ARC line whose count is 2^64 − 1, and `/dev/zero` read as text, grew memory until the
/// process aborted; a 200 KB bad key was quoted whole in the error.
#[test]
fn no_input_makes_a_reader_hold_memory_without_bound_or_quote_it_whole() {
    let huge = format!("0 {} 0 0\n", u64::MAX);
    let err = load("arc-huge", huge.as_bytes(), Format::Arc)
        .unwrap_err()
        .to_string();
    assert!(
        err.contains("line 1") && err.contains("more than 50000000 requests"),
        "{err}"
    );
    if cfg!(unix) {
        for format in [Format::Lines, Format::Lirs, Format::Arc] {
            let err = Trace::load("zero", std::path::Path::new("/dev/zero"), format)
                .unwrap_err()
                .to_string();
            assert!(
                err.contains("line 1") && err.contains("longer than 4096 bytes"),
                "{err}"
            );
        }
    }
    let long = "9".repeat(200_000) + "x\n";
    let err = load("long-line", long.as_bytes(), Format::Lirs)
        .unwrap_err()
        .to_string();
    assert!(err.len() < 300, "{} bytes of error", err.len());
    let bad = "9".repeat(4000) + "x\n";
    let err = load("long-key", bad.as_bytes(), Format::Lirs)
        .unwrap_err()
        .to_string();
    assert!(err.contains("… (4001 bytes)") && err.len() < 300, "{err}");
}
