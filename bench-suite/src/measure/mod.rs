//! The measurements. Each owns its configuration, its rows and its section of the report:
//! footprint (bytes per entry), retention of expired entries, hit ratio, the article's
//! scenario, and the advice derived from them.

pub mod advice;
pub mod footprint;
pub mod hitratio;
pub mod retention;
pub mod scenario;
pub mod trace_hit_ratio;

use std::ffi::OsStr;
use std::path::Path;
use std::process::Command;
use std::sync::Mutex;
use std::sync::atomic::{AtomicUsize, Ordering};

use serde::de::DeserializeOwned;

use crate::error::{Error, Result};

/// Runs a fresh copy of this program (`exe`) with `args` and `env` added to its environment
/// (how a cache server is handed down), and reads the JSON it prints: how the report measures
/// what must be counted in a process of its own. `what` names the measurement in errors.
pub(crate) fn in_child<T: DeserializeOwned>(
    exe: &Path,
    env: &[(String, String)],
    args: &[&OsStr],
    what: &str,
) -> Result<T> {
    let out = Command::new(exe)
        .envs(env.iter().map(|(k, v)| (k, v)))
        .args(args)
        .output()
        .map_err(|e| Error::Measurement(format!("{what}: cannot run {}: {e}", exe.display())))?;
    if !out.status.success() {
        return Err(Error::Measurement(format!(
            "{what} failed: {}",
            String::from_utf8_lossy(&out.stderr).trim()
        )));
    }
    serde_json::from_slice(&out.stdout)
        .map_err(|e| Error::Measurement(format!("{what}: unreadable result: {e}")))
}

/// Cores set aside for the real-time runs under way (see [`reserve_a_core`]).
static RESERVED: AtomicUsize = AtomicUsize::new(0);

/// Sets a core aside while the guard lives, for runs whose figures depend on time (retention's
/// real-time runs): [`parallel`] starts no job on more than `cores − reserved` threads (one at
/// least) meanwhile, so that the replays running beside them leave them a core.
pub(crate) fn reserve_a_core() -> CoreReserved {
    RESERVED.fetch_add(1, Ordering::Relaxed);
    CoreReserved(())
}

/// A core set aside; given back when dropped.
#[derive(Debug)]
pub(crate) struct CoreReserved(());

impl Drop for CoreReserved {
    fn drop(&mut self) {
        RESERVED.fetch_sub(1, Ordering::Relaxed);
    }
}

/// The threads [`parallel`] may run jobs on now.
fn cores_free(cores: usize) -> usize {
    cores
        .saturating_sub(RESERVED.load(Ordering::Relaxed))
        .max(1)
}

/// Runs `jobs` on up to four threads (each job alone on its thread), results in job order: for
/// replays, whose figures do not depend on time, so that a run uses the machine's cores. Jobs
/// are taken in order; a thread whose number is not below [`cores_free`] waits before taking
/// its next one.
pub(crate) fn parallel<T: Send>(jobs: usize, work: impl Fn(usize) -> T + Sync) -> Vec<T> {
    let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
    let threads = cores.min(4);
    let next = AtomicUsize::new(0);
    let out: Mutex<Vec<Option<T>>> = Mutex::new((0..jobs).map(|_| None).collect());
    std::thread::scope(|s| {
        for t in 0..threads.min(jobs) {
            let (next, out, work) = (&next, &out, &work);
            s.spawn(move || {
                loop {
                    while t >= cores_free(cores) && next.load(Ordering::Relaxed) < jobs {
                        std::thread::sleep(std::time::Duration::from_millis(20));
                    }
                    let i = next.fetch_add(1, Ordering::Relaxed);
                    if i >= jobs {
                        break;
                    }
                    let r = work(i);
                    out.lock().unwrap_or_else(|p| p.into_inner())[i] = Some(r);
                }
            });
        }
    });
    out.into_inner()
        .unwrap_or_else(|p| p.into_inner())
        .into_iter()
        .flatten()
        .collect()
}
