//! The measurements. Each owns its configuration, its rows and its section of the report:
//! footprint (bytes per entry), retention of expired entries, hit ratio, the article's
//! scenario, and the advice derived from them.

pub mod advice;
pub mod footprint;
pub mod hitratio;
pub mod retention;
pub mod scenario;
pub mod traces;

use std::sync::Mutex;
use std::sync::atomic::{AtomicUsize, Ordering};

/// Runs `jobs` on up to four threads (each job alone on its thread), results in job order: for
/// replays, whose figures do not depend on time, so that a run uses the machine's cores.
pub(crate) fn parallel<T: Send>(jobs: usize, work: impl Fn(usize) -> T + Sync) -> Vec<T> {
    let threads = std::thread::available_parallelism().map_or(1, |n| n.get().min(4));
    let next = AtomicUsize::new(0);
    let out: Mutex<Vec<Option<T>>> = Mutex::new((0..jobs).map(|_| None).collect());
    std::thread::scope(|s| {
        for _ in 0..threads.min(jobs) {
            s.spawn(|| {
                loop {
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
