//! The conformance suite must fail deliberately broken caches — a check that cannot fail is a
//! defect — and must pass a correct one (so that its failures mean something).
#![cfg(feature = "testkit")]

use std::collections::{HashMap, VecDeque};
use std::hash::Hash;
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::{Mutex, MutexGuard, PoisonError};
use std::time::Duration;

use cache_core::testkit::{self, Capabilities, Outcome, run_all};
use cache_core::{Clock, ExpiringCache, ManualClock, SystemClock, Timestamp};

/// One way of being wrong, or none.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
enum Fault {
    None,
    /// Ignores deadlines on read.
    ReturnsExpired,
    /// Keeps the first value of a key on overwrite.
    StaleAfterOverwrite,
    /// Replaces the value but keeps the first deadline (moka's default on update).
    KeepsOldDeadline,
    /// Reads its own real clock instead of the injected one.
    IgnoresClock,
    /// Never evicts.
    IgnoresCapacity,
    /// Treats the deadline itself as expired (`now >= deadline`).
    ExpiresAtDeadline,
    /// Computes the deadline with panicking arithmetic.
    OverflowingDeadline,
    /// Has a `maintain()` that does nothing although it declares it frees expired entries.
    MaintainFreesNothing,
    /// Unwraps its lock, so a panic in a user's `Hash` or `Eq` under the lock breaks it for good.
    BrokenAfterUserPanic,
    /// Caps every TTL at ten years ("forever" is not forever).
    CapsTtlAtTenYears,
    /// Never stores key 7 (as a hash collision bug might lose one key).
    DropsKeySeven,
    /// Has a `maintain()` that frees live entries too.
    MaintainFreesLiveToo,
    /// Panics on its own (not in the user's code), once, at its 50th set.
    PanicsOnItsOwn,
    /// Forgets the entry it evicts instead of dropping it.
    LeaksEvicted,
    /// Applies a `set_ex_many` batch last entry first (so an earlier entry of a key wins).
    BatchInReverse,
    /// Sends a `set_ex_many` batch with one TTL for all, its first entry's.
    BatchSharesOneTtl,
    /// Drops what it evicts or replaces while holding its lock (whose re-entry it detects and
    /// panics on, as some locks do, rather than deadlocking).
    DropsUnderLock,
}

/// Key → (value, deadline), and the keys in insertion order.
type State<K, V> = (HashMap<K, (V, Timestamp)>, VecDeque<K>);

/// The hash of a key (to recognise key 7 whatever the key type: `u64` or a `TrapKey`, whose
/// hash is its id's).
fn hash_of<K: Hash>(k: &K) -> u64 {
    use std::hash::{BuildHasher, BuildHasherDefault, DefaultHasher};
    BuildHasherDefault::<DefaultHasher>::default().hash_one(k)
}

/// A small exact FIFO cache with an optional fault.
struct Faulty<K, V> {
    fault: Fault,
    clock: ManualClock,
    real: SystemClock,
    capacity: usize,
    inner: Mutex<State<K, V>>,
    sets: AtomicU32,
}

impl<K, V> Faulty<K, V> {
    fn new(fault: Fault, clock: ManualClock, capacity: usize) -> Self {
        Faulty {
            fault,
            clock,
            real: SystemClock::new(),
            capacity,
            inner: Mutex::new((HashMap::new(), VecDeque::new())),
            sets: AtomicU32::new(0),
        }
    }

    /// A poisoned lock is used on (nothing is half-done under it), except with the fault.
    fn lock(&self) -> MutexGuard<'_, State<K, V>> {
        match self.fault {
            Fault::BrokenAfterUserPanic => self.inner.lock().unwrap(),
            Fault::DropsUnderLock => match self.inner.try_lock() {
                Ok(guard) => guard,
                Err(std::sync::TryLockError::Poisoned(p)) => p.into_inner(),
                // The scenarios that share the cache between threads do not use this fault.
                Err(std::sync::TryLockError::WouldBlock) => panic!("the lock was re-entered"),
            },
            _ => self.inner.lock().unwrap_or_else(PoisonError::into_inner),
        }
    }

    fn now(&self) -> Timestamp {
        if self.fault == Fault::IgnoresClock {
            self.real.now()
        } else {
            self.clock.now()
        }
    }
}

impl<K, V> ExpiringCache<K, V> for Faulty<K, V>
where
    K: Hash + Eq + Clone + Send,
    V: Clone + Send,
{
    fn get_ex(&self, key: &K) -> Option<V> {
        let now = self.now();
        let inner = self.lock();
        let (value, deadline) = inner.0.get(key)?;
        let live = match self.fault {
            Fault::ReturnsExpired => true,
            Fault::ExpiresAtDeadline => now < *deadline,
            _ => now <= *deadline,
        };
        live.then(|| value.clone())
    }

    fn set_ex(&self, key: K, value: V, ttl: Duration) {
        let now = self.now();
        if self.fault == Fault::DropsKeySeven && hash_of(&key) == hash_of(&7u64) {
            return;
        }
        let ttl = match self.fault {
            Fault::CapsTtlAtTenYears => ttl.min(Duration::from_secs(10 * 365 * 86_400)),
            _ => ttl,
        };
        let deadline = if self.fault == Fault::OverflowingDeadline {
            let nanos = u64::try_from(ttl.as_nanos()).expect("ttl fits in u64 nanoseconds");
            Timestamp::from_nanos(now.as_nanos().checked_add(nanos).expect("no overflow"))
        } else {
            now + ttl
        };
        let mut guard = self.lock();
        let (map, order) = &mut *guard;
        // What this call frees, dropped once the lock is released (except with the fault).
        let mut freed = None;
        if let Some(entry) = map.get_mut(&key) {
            match self.fault {
                Fault::StaleAfterOverwrite => freed = Some(value),
                Fault::KeepsOldDeadline => freed = Some(std::mem::replace(&mut entry.0, value)),
                Fault::DropsUnderLock => *entry = (value, deadline),
                _ => freed = Some(std::mem::replace(entry, (value, deadline)).0),
            }
            drop(guard);
            drop(freed);
            return;
        }
        if self.fault == Fault::PanicsOnItsOwn && self.sets.fetch_add(1, Ordering::Relaxed) == 50 {
            panic!("a panic of the cache's own");
        }
        // Evicted entries leave the map before the order list, so that a panic in the user's
        // `Hash` or `Eq` during the removal leaves both holding the entry; keys in the order
        // list that the map no longer holds (a `maintain()` interrupted by such a panic) are
        // passed over.
        let mut evicted = Vec::new();
        while self.fault != Fault::IgnoresCapacity && map.len() >= self.capacity {
            let Some(oldest) = order.front() else {
                return; // capacity 0
            };
            let gone = map.remove(oldest);
            order.pop_front();
            match (self.fault, gone) {
                (_, None) => {}
                (Fault::LeaksEvicted, Some(e)) => std::mem::forget(e),
                (Fault::DropsUnderLock, Some(e)) => drop(e),
                (_, Some(e)) => evicted.push(e.0),
            }
        }
        map.insert(key.clone(), (value, deadline));
        order.push_back(key);
        drop(guard);
        drop(evicted);
    }

    fn set_ex_many(&self, mut entries: Vec<(K, V, Duration)>) {
        match self.fault {
            Fault::BatchInReverse => entries.reverse(),
            Fault::BatchSharesOneTtl => {
                let first = entries.first().map(|e| e.2);
                for e in &mut entries {
                    e.2 = first.unwrap_or(e.2);
                }
            }
            _ => {}
        }
        for (key, value, ttl) in entries {
            self.set_ex(key, value, ttl);
        }
    }

    fn resident_len(&self) -> usize {
        self.lock().0.len()
    }

    fn maintain(&self) {
        if self.fault == Fault::MaintainFreesNothing {
            return;
        }
        let now = self.now();
        let mut guard = self.lock();
        let (map, order) = &mut *guard;
        let all = self.fault == Fault::MaintainFreesLiveToo;
        let freed: Vec<(K, (V, Timestamp))> = map
            .extract_if(|_, &mut (_, deadline)| all || now > deadline)
            .collect();
        order.retain(|k| map.contains_key(k));
        if self.fault != Fault::DropsUnderLock {
            drop(guard);
        }
        drop(freed);
    }
}

const CAPS: Capabilities = Capabilities::new().maintain_frees_expired(true);

/// The names of the scenarios that failed for `fault`.
fn failures(fault: Fault) -> Vec<&'static str> {
    run_all(|clock, capacity| Faulty::new(fault, clock, capacity), CAPS)
        .into_iter()
        .filter(|r| r.outcome.is_err())
        .map(|r| r.name)
        .collect()
}

#[track_caller]
fn assert_caught_by(fault: Fault, expected: &[&str]) {
    let failed = failures(fault);
    for name in expected {
        assert!(
            failed.contains(name),
            "{fault:?} should fail {name}; the suite failed only {failed:?}"
        );
    }
}

#[test]
fn a_correct_cache_passes_every_scenario_and_skips_none() {
    let results = run_all(
        |clock, capacity| Faulty::new(Fault::None, clock, capacity),
        CAPS,
    );
    assert_eq!(results.len(), 14, "every scenario ran");
    for r in results {
        assert_eq!(r.outcome, Ok(Outcome::Passed), "scenario {}", r.name);
    }
}

#[test]
fn returning_expired_values_is_caught() {
    assert_caught_by(
        Fault::ReturnsExpired,
        &[
            "live_at_deadline_expired_one_nanosecond_after",
            "zero_ttl_is_live_only_at_the_instant_of_set",
            "overwrite_with_longer_ttl_replaces_value_and_deadline",
            "expired_entries_never_returned_after_churn",
        ],
    );
}

#[test]
fn stale_values_after_overwrite_are_caught() {
    assert_caught_by(
        Fault::StaleAfterOverwrite,
        &[
            "overwrite_with_shorter_ttl_replaces_value_and_deadline",
            "overwrite_with_longer_ttl_replaces_value_and_deadline",
            "no_stale_value_after_overwrite",
            "expired_entries_never_returned_after_churn",
            "concurrent_sets_and_gets_see_only_values_of_that_key",
        ],
    );
}

#[test]
fn keeping_the_old_deadline_on_overwrite_is_caught() {
    assert_caught_by(
        Fault::KeepsOldDeadline,
        &[
            "overwrite_with_shorter_ttl_replaces_value_and_deadline",
            "overwrite_with_longer_ttl_replaces_value_and_deadline",
            "expired_entries_never_returned_after_churn",
        ],
    );
}

#[test]
fn ignoring_the_injected_clock_is_caught() {
    assert_caught_by(
        Fault::IgnoresClock,
        &[
            "live_at_deadline_expired_one_nanosecond_after",
            "overwrite_with_shorter_ttl_replaces_value_and_deadline",
            "expired_entries_never_returned_after_churn",
        ],
    );
}

#[test]
fn ignoring_the_capacity_is_caught() {
    assert_caught_by(
        Fault::IgnoresCapacity,
        &["capacity_is_respected", "capacity_zero_keeps_nothing"],
    );
}

#[test]
fn expiring_at_the_deadline_itself_is_caught() {
    assert_caught_by(
        Fault::ExpiresAtDeadline,
        &["live_at_deadline_expired_one_nanosecond_after"],
    );
}

#[test]
fn overflowing_on_duration_max_is_caught() {
    assert_caught_by(
        Fault::OverflowingDeadline,
        &["hit_after_set", "max_ttl_never_expires"],
    );
}

#[test]
fn a_maintain_that_frees_nothing_is_caught_when_declared() {
    assert_caught_by(
        Fault::MaintainFreesNothing,
        &["maintain_frees_expired_entries"],
    );
}

/// The panic scenario on `fault`: its outcome, or the failure's message.
fn under_panics(fault: Fault) -> Result<Outcome, String> {
    catch_unwind(AssertUnwindSafe(|| {
        testkit::survives_panics_in_user_code(|clock, cap| Faulty::new(fault, clock, cap), CAPS)
    }))
    .map_err(testkit::panic_message)
}

#[test]
fn a_cache_broken_by_a_users_panic_is_caught_and_a_sound_one_passes() {
    assert_eq!(under_panics(Fault::None), Ok(Outcome::Passed));
    assert!(under_panics(Fault::BrokenAfterUserPanic).is_err());
}

#[test]
fn the_panic_scenario_checks_values_capacity_drops_and_its_own_panics() {
    let err = under_panics(Fault::ReturnsExpired).unwrap_err();
    assert!(err.contains("returned expired version"), "{err}");
    let err = under_panics(Fault::StaleAfterOverwrite).unwrap_err();
    assert!(err.contains("not one that may be current"), "{err}");
    let err = under_panics(Fault::IgnoresCapacity).unwrap_err();
    assert!(err.contains("entries resident after the churn"), "{err}");
    let err = under_panics(Fault::LeaksEvicted).unwrap_err();
    assert!(
        err.contains("not every key and value was dropped exactly once"),
        "{err}"
    );
    let err = under_panics(Fault::PanicsOnItsOwn).unwrap_err();
    assert!(err.contains("a panic of the cache's own"), "{err}");
}

/// The re-entrancy scenario on `fault`: its outcome, or the failure's message.
fn under_reentry(fault: Fault) -> Result<Outcome, String> {
    catch_unwind(AssertUnwindSafe(|| {
        testkit::drop_may_call_back_into_the_cache(
            |clock, cap| Faulty::new(fault, clock, cap),
            CAPS,
        )
    }))
    .map_err(testkit::panic_message)
}

#[test]
fn a_cache_that_drops_values_under_its_lock_is_caught_and_one_that_does_not_passes() {
    assert_eq!(under_reentry(Fault::None), Ok(Outcome::Passed));
    let err = under_reentry(Fault::DropsUnderLock).unwrap_err();
    assert!(
        err.contains("eviction") && err.contains("the lock was re-entered"),
        "{err}"
    );
    let declared = CAPS.drops_values_under_lock("it says so");
    let skipped = testkit::drop_may_call_back_into_the_cache(
        |clock, cap| Faulty::new(Fault::DropsUnderLock, clock, cap),
        declared,
    );
    assert_eq!(skipped, Outcome::Skipped("it says so"));
}

#[test]
fn a_batch_applied_out_of_order_or_with_one_ttl_is_caught() {
    assert_caught_by(Fault::BatchInReverse, &["set_ex_many_is_set_ex_in_order"]);
    assert_caught_by(
        Fault::BatchSharesOneTtl,
        &["set_ex_many_is_set_ex_in_order"],
    );
}

#[test]
fn a_ttl_capped_short_of_forever_is_caught() {
    assert_caught_by(Fault::CapsTtlAtTenYears, &["max_ttl_never_expires"]);
}

#[test]
fn losing_a_key_in_a_cache_with_room_is_caught() {
    assert_caught_by(Fault::DropsKeySeven, &["no_stale_value_after_overwrite"]);
}

#[test]
fn a_maintain_that_frees_live_entries_is_caught() {
    assert_caught_by(
        Fault::MaintainFreesLiveToo,
        &["maintain_frees_expired_entries"],
    );
}

#[test]
fn a_failures_message_says_what_failed() {
    let results = run_all(
        |clock, capacity| Faulty::new(Fault::StaleAfterOverwrite, clock, capacity),
        CAPS,
    );
    let r = results
        .iter()
        .find(|r| r.name == "overwrite_with_shorter_ttl_replaces_value_and_deadline")
        .unwrap();
    let msg = r.outcome.as_ref().unwrap_err();
    assert!(msg.contains("the overwrite's value"), "{msg}");
}

#[test]
fn clock_scenarios_are_skipped_not_passed_when_the_clock_is_not_followed() {
    let caps = Capabilities::new().expiry_follows_clock(false);
    let results = run_all(
        |clock, capacity| Faulty::new(Fault::None, clock, capacity),
        caps,
    );
    let skipped: Vec<_> = results
        .iter()
        .filter(|r| matches!(r.outcome, Ok(Outcome::Skipped(_))))
        .map(|r| r.name)
        .collect();
    assert!(skipped.contains(&"live_at_deadline_expired_one_nanosecond_after"));
    assert!(skipped.contains(&"expired_entries_never_returned_after_churn"));
    assert!(!skipped.contains(&"capacity_is_respected"));
    assert!(results.iter().all(|r| r.outcome.is_ok()));
}

#[test]
fn the_contract_is_object_safe_and_forwards_through_pointers() {
    use std::sync::Arc;
    let clock = ManualClock::new();
    let boxed: Box<dyn ExpiringCache<u64, u64>> = Box::new(Faulty::new(Fault::None, clock, 4));
    let boxed: Box<dyn ExpiringCache<u64, u64>> = boxed;
    boxed.set_ex(1, 10, Duration::from_secs(1));
    let by_ref: &dyn ExpiringCache<u64, u64> = &boxed;
    assert_eq!(by_ref.get_ex(&1), Some(10));
    let shared: Arc<dyn ExpiringCache<u64, u64>> = Arc::new(boxed);
    assert_eq!(shared.get_ex(&1), Some(10));
    assert_eq!(shared.resident_len(), 1);
}

// The suite's own macro, run on the correct cache, as an implementation would use it.
cache_core::conformance_tests!(
    |clock, capacity| Faulty::new(Fault::None, clock, capacity),
    CAPS
);
