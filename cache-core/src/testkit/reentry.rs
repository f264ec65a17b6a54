//! The re-entrancy scenario: values whose `Drop` calls `get_ex` and `set_ex` on the very cache
//! that is dropping them.
//!
//! A cache that drops an entry while it still holds its own lock deadlocks there (or panics, if
//! its lock detects the re-entry). The scenario drives every path by which a cache may free a
//! value — eviction, overwrite, an expired entry found by `get_ex`, expired entries freed as
//! writes arrive, and `maintain()` — on a thread of its own, and fails, naming the path, when
//! that thread has not finished in time.

use std::cell::Cell;
use std::fmt;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, OnceLock, PoisonError, Weak, mpsc};
use std::time::Duration;

use super::{Capabilities, LONG, Outcome, secs};
use crate::{ExpiringCache, ManualClock};

/// The cache as the values' `Drop` sees it.
type Shared = dyn ExpiringCache<u64, ReentrantValue>;

/// Shared by every value of one scenario: the cache to call back into, and what happened.
pub struct Reentry {
    cache: OnceLock<Weak<Shared>>,
    armed: AtomicBool,
    /// `Drop`s that called back into the cache.
    calls: AtomicU64,
    /// The path being driven, for the failure message.
    phase: Mutex<&'static str>,
}

impl fmt::Debug for Reentry {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Reentry")
            .field("calls", &self.calls.load(Ordering::SeqCst))
            .finish_non_exhaustive()
    }
}

thread_local! {
    /// Nesting of re-entrant `Drop`s on this thread: a `set_ex` made from a `Drop` may free
    /// another value whose `Drop` calls in again; two levels are enough to show it works.
    static DEPTH: Cell<u32> = const { Cell::new(0) };
}

/// A value whose `Drop` calls `get_ex` and `set_ex` on the cache it was stored in (while its
/// [`Reentry`] is armed).
#[derive(Clone)]
pub struct ReentrantValue {
    id: u64,
    hook: Option<Arc<Reentry>>,
}

impl fmt::Debug for ReentrantValue {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_tuple("ReentrantValue").field(&self.id).finish()
    }
}

impl ReentrantValue {
    /// Value `id`, calling back through `hook` when dropped.
    pub fn new(id: u64, hook: &Arc<Reentry>) -> ReentrantValue {
        ReentrantValue {
            id,
            hook: Some(Arc::clone(hook)),
        }
    }

    /// Value `id`, with a `Drop` that does nothing.
    pub fn plain(id: u64) -> ReentrantValue {
        ReentrantValue { id, hook: None }
    }

    /// Its id.
    pub fn id(&self) -> u64 {
        self.id
    }
}

impl Drop for ReentrantValue {
    fn drop(&mut self) {
        let Some(hook) = &self.hook else { return };
        if !hook.armed.load(Ordering::SeqCst) || DEPTH.get() >= 2 {
            return;
        }
        // Dropped by the cache's own destructor: nothing to call back into.
        let Some(cache) = hook.cache.get().and_then(Weak::upgrade) else {
            return;
        };
        DEPTH.set(DEPTH.get() + 1);
        hook.calls.fetch_add(1, Ordering::SeqCst);
        let probe = PROBE + self.id % 4;
        let _ = cache.get_ex(&probe);
        cache.set_ex(probe, ReentrantValue::plain(self.id), LONG);
        DEPTH.set(DEPTH.get() - 1);
    }
}

/// Keys the `Drop`s write, apart from the scenario's own.
const PROBE: u64 = 1 << 40;

/// Capacity of the scenario's cache.
const CAPACITY: usize = 8;

/// How long one path may take before the scenario calls it a deadlock.
const PATIENCE: Duration = Duration::from_secs(30);

/// Every path by which a cache frees a value — eviction, overwrite, an expired entry found by
/// `get_ex`, expired entries freed by later writes, `maintain()` — with values whose `Drop`
/// calls `get_ex` and `set_ex` on the same cache: none may deadlock or panic, and the `Drop`s
/// must have called back (the scenario is not vacuous).
///
/// A cache that drops values while holding its own lock declares it with
/// [`Capabilities::drops_values_under_lock`] and the reason, and the scenario is skipped. The
/// paths that need the clock to pass a deadline are left out when expiry does not follow the
/// injected clock.
pub fn drop_may_call_back_into_the_cache<C, F>(make: F, caps: Capabilities) -> Outcome
where
    F: Fn(ManualClock, usize) -> C,
    C: ExpiringCache<u64, ReentrantValue> + 'static,
{
    if let Some(why) = caps.drops_under_lock {
        eprintln!("drop_may_call_back_into_the_cache skipped: {why}");
        return Outcome::Skipped(why);
    }
    let clock = ManualClock::new();
    let cache: Arc<Shared> = Arc::new(make(clock.clone(), CAPACITY));
    let hook = Arc::new(Reentry {
        cache: OnceLock::new(),
        armed: AtomicBool::new(true),
        calls: AtomicU64::new(0),
        phase: Mutex::new("starting"),
    });
    let _ = hook.cache.set(Arc::downgrade(&cache));
    let (done_tx, done_rx) = mpsc::channel();
    let driver = {
        let (cache, hook, clock) = (Arc::clone(&cache), Arc::clone(&hook), clock.clone());
        std::thread::spawn(move || {
            let result = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
                drive(&*cache, &hook, &clock, caps.expiry_follows_clock)
            }));
            let _ = done_tx.send(result.map_err(super::panic_message));
        })
    };
    let outcome = done_rx.recv_timeout(PATIENCE);
    let phase = *hook.phase.lock().unwrap_or_else(PoisonError::into_inner);
    match outcome {
        Ok(Ok(calls)) => {
            let _ = driver.join();
            hook.armed.store(false, Ordering::SeqCst);
            assert!(
                calls.iter().sum::<u64>() > 0,
                "no value's Drop ran inside a cache call: the scenario proved nothing"
            );
            Outcome::Passed
        }
        Ok(Err(message)) => {
            panic!("a Drop calling back into the cache panicked ({phase}): {message}")
        }
        Err(_) => panic!(
            "a Drop calling back into the cache did not return within {PATIENCE:?} ({phase}): \
             the cache drops values while holding its own lock"
        ),
    }
}

/// Drives each path; returns how many `Drop`s called back during each.
fn drive(cache: &Shared, hook: &Arc<Reentry>, clock: &ManualClock, timed: bool) -> Vec<u64> {
    let mut calls = Vec::new();
    let mut phase = |name: &'static str, run: &dyn Fn()| {
        *hook.phase.lock().unwrap_or_else(PoisonError::into_inner) = name;
        let before = hook.calls.load(Ordering::SeqCst);
        run();
        calls.push(hook.calls.load(Ordering::SeqCst) - before);
    };
    let value = |id| ReentrantValue::new(id, hook);
    phase("eviction: new keys into a full cache", &|| {
        for id in 0..4 * CAPACITY as u64 {
            cache.set_ex(id, value(id), LONG);
        }
        cache.maintain();
    });
    phase("overwrite of a present key", &|| {
        for round in 0..3 {
            for id in 0..CAPACITY as u64 {
                cache.set_ex(id, value(id + round), LONG);
            }
        }
    });
    if !timed {
        return calls;
    }
    phase("get_ex finding its entry expired", &|| {
        for id in 100..100 + CAPACITY as u64 / 2 {
            cache.set_ex(id, value(id), secs(1));
        }
        clock.advance(secs(2));
        for id in 100..100 + CAPACITY as u64 / 2 {
            assert!(cache.get_ex(&id).is_none(), "key {id} expired");
        }
    });
    phase("expired entries freed by later writes", &|| {
        for id in 200..200 + CAPACITY as u64 {
            cache.set_ex(id, value(id), secs(1));
        }
        clock.advance(secs(2));
        for id in 300..300 + CAPACITY as u64 {
            cache.set_ex(id, ReentrantValue::plain(id), LONG);
        }
    });
    phase("maintain() freeing expired entries", &|| {
        for id in 400..400 + CAPACITY as u64 {
            cache.set_ex(id, value(id), secs(1));
        }
        clock.advance(secs(2));
        cache.maintain();
    });
    calls
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_hook_shows_how_many_drops_called_back() {
        let hook = Reentry {
            cache: OnceLock::new(),
            armed: AtomicBool::new(false),
            calls: AtomicU64::new(3),
            phase: Mutex::new("none"),
        };
        assert_eq!(format!("{hook:?}"), "Reentry { calls: 3, .. }");
    }
}
