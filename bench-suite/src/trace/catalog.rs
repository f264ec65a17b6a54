//! The standard traces vendored in the repository's `traces/` folder, with the capacities each
//! is replayed at: mokabench's where it has them, otherwise four spanning about 1–25 % of the
//! trace's distinct keys.

use std::path::{Path, PathBuf};

use super::Format;

/// A trace of the catalog.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Entry {
    /// Its name (`--traces` takes it).
    pub name: &'static str,
    /// Its file, relative to the traces folder.
    pub file: &'static str,
    /// Its format.
    pub format: Format,
    /// Its capacities, or none for "1, 5, 10 and 25 % of its distinct keys".
    pub capacities: &'static [usize],
}

const LIRS_SMALL: &[usize] = &[128, 256, 512, 768];

const fn lirs(name: &'static str, file: &'static str, capacities: &'static [usize]) -> Entry {
    Entry {
        name,
        file,
        format: Format::Lirs,
        capacities,
    }
}

/// Every trace, in report order.
pub const ALL: [Entry; 17] = [
    lirs("loop", "lirs/loop.trace.gz", &[256, 512, 768, 1024]),
    lirs("multi1", "lirs/multi1.trace.gz", LIRS_SMALL),
    lirs("multi2", "lirs/multi2.trace.gz", LIRS_SMALL),
    lirs("multi3", "lirs/multi3.trace.gz", LIRS_SMALL),
    lirs("sprite", "lirs/sprite.trace.gz", LIRS_SMALL),
    lirs("2_pools", "lirs/2_pools.trace.gz", LIRS_SMALL),
    lirs("gli", "lirs/gli.trace.gz", &[]),
    lirs("cs", "lirs/cs.trace.gz", &[]),
    lirs("ps", "lirs/ps.trace.gz", &[]),
    lirs("cpp", "lirs/cpp.trace.gz", &[]),
    lirs("scan", "lirs/scan.trace.gz", &[]),
    lirs("zigzag", "lirs/zigzag.trace.gz", &[]),
    Entry {
        name: "oltp",
        file: "arc/OLTP.lis.gz",
        format: Format::Arc,
        capacities: &[256, 512, 1000, 2000],
    },
    Entry {
        name: "p3",
        file: "arc/P3.lis.gz",
        format: Format::Arc,
        capacities: &[],
    },
    Entry {
        name: "web07",
        file: "cache2k/web07.trace.gz",
        format: Format::Cache2k,
        capacities: &[],
    },
    Entry {
        name: "web12",
        file: "cache2k/web12.trace.gz",
        format: Format::Cache2k,
        capacities: &[],
    },
    Entry {
        name: "orm_busy",
        file: "cache2k/orm-busy.trace.gz",
        format: Format::Cache2k,
        capacities: &[],
    },
];

/// The default run's subset: one loop, one mixed workload, one file system, a database and a
/// web cache — each policy family is tested, and it fits in the default run's time.
pub const DEFAULT: [&str; 5] = ["loop", "multi2", "sprite", "oltp", "web07"];

/// The `--quick` run's subset.
pub const QUICK: [&str; 2] = ["multi1", "cs"];

impl Entry {
    /// The capacities for a trace with `distinct` keys.
    pub fn capacities_for(&self, distinct: usize) -> Vec<usize> {
        if !self.capacities.is_empty() {
            return self.capacities.to_vec();
        }
        let mut out: Vec<usize> = [1.0, 5.0, 10.0, 25.0]
            .iter()
            .map(|p| ((distinct as f64 * p / 100.0).round() as usize).max(1))
            .collect();
        out.dedup();
        out
    }
}

/// The catalog entry called `name`.
pub fn find(name: &str) -> Option<&'static Entry> {
    ALL.iter().find(|e| e.name == name)
}

/// The vendored traces folder: `traces/` of the workspace this binary was built in when it
/// exists, else `traces/` in the current folder.
pub fn default_dir() -> PathBuf {
    let built = Path::new(env!("CARGO_MANIFEST_DIR")).join("../traces");
    if built.is_dir() {
        built
    } else {
        PathBuf::from("traces")
    }
}
