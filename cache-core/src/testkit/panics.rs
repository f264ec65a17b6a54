//! The panic-safety scenario: keys and values whose `Hash`, `Eq`, `Clone` or `Drop` panic on
//! command, and a churn that fires them at every point of a cache's operations.
//!
//! A cache passes when, after any such panic, it still answers `get_ex` / `set_ex` without
//! panicking and without a wrong value, keeps to its capacity, and — once dropped — has dropped
//! every key and value it was given exactly once (counted copy by copy).

use std::any::Any;
use std::collections::HashMap;
use std::fmt;
use std::hash::{Hash, Hasher};
use std::panic::{AssertUnwindSafe, catch_unwind, resume_unwind};
use std::sync::atomic::{AtomicBool, AtomicU8, AtomicU32, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use super::{Capabilities, Outcome, PanicSafety, SplitMix};
use crate::{Clock, Deadline, ExpiringCache, ManualClock, Timestamp, deadline, is_live};

/// Which user code a [`Fuse`] makes panic.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[repr(u8)]
pub enum Trap {
    /// Nothing.
    Off = 0,
    /// The key's `Hash`.
    KeyHash = 1,
    /// The key's `Eq`.
    KeyEq = 2,
    /// The key's `Clone`.
    KeyClone = 3,
    /// The key's `Drop`.
    KeyDrop = 4,
    /// The value's `Clone`.
    ValueClone = 5,
    /// The value's `Drop`.
    ValueDrop = 6,
    /// The `Hash` or `Eq` of any key, at the armed count of such calls: reaches the later
    /// steps of an operation that hashes or compares several keys (an eviction after a
    /// lookup, a table growing), whatever keys they are.
    AnyKeyHashOrEq = 7,
}

/// The payload of an injected panic (raised with `resume_unwind`, so no panic message is
/// printed for it).
#[derive(Debug)]
pub struct InjectedPanic(pub Trap);

/// Shared by every key and value of one scenario: what to make panic, and the count of live
/// copies of each key and value.
#[derive(Default)]
pub struct Fuse {
    trap: AtomicU8,
    target: AtomicU64,
    countdown: AtomicU32,
    fired: AtomicBool,
    keys: Mutex<HashMap<u64, i64>>,
    values: Mutex<HashMap<(u64, u64), i64>>,
}

impl fmt::Debug for Fuse {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Fuse").finish_non_exhaustive()
    }
}

impl Fuse {
    /// A new fuse, disarmed.
    pub fn new() -> Arc<Fuse> {
        Arc::new(Fuse::default())
    }

    /// Makes the `nth` call (1 = the next) of `trap` on key id `target` panic, once.
    pub fn arm(&self, trap: Trap, target: u64, nth: u32) {
        self.target.store(target, Ordering::SeqCst);
        self.countdown.store(nth, Ordering::SeqCst);
        self.fired.store(false, Ordering::SeqCst);
        self.trap.store(trap as u8, Ordering::SeqCst);
    }

    /// Disarms it; returns whether it fired since it was armed.
    pub fn disarm(&self) -> bool {
        self.trap.store(Trap::Off as u8, Ordering::SeqCst);
        self.fired.load(Ordering::SeqCst)
    }

    /// Called by user code `trap` on key id `id`: panics if this is the armed call.
    fn check(&self, trap: Trap, id: u64) {
        let armed = self.trap.load(Ordering::SeqCst);
        let this = armed == trap as u8 && self.target.load(Ordering::SeqCst) == id;
        let any =
            armed == Trap::AnyKeyHashOrEq as u8 && matches!(trap, Trap::KeyHash | Trap::KeyEq);
        if (this || any) && self.countdown.fetch_sub(1, Ordering::SeqCst) == 1 {
            self.trap.store(Trap::Off as u8, Ordering::SeqCst);
            self.fired.store(true, Ordering::SeqCst);
            resume_unwind(Box::new(InjectedPanic(trap)));
        }
    }

    fn count<T: Hash + Eq>(map: &Mutex<HashMap<T, i64>>, k: T, delta: i64) {
        *map.lock()
            .unwrap_or_else(PoisonError::into_inner)
            .entry(k)
            .or_default() += delta;
    }

    /// Keys and values with live copies (count ≠ 0: leaked if positive, dropped twice if
    /// negative), as `(what, id, count)`.
    pub fn unbalanced(&self) -> Vec<String> {
        let keys = self.keys.lock().unwrap_or_else(PoisonError::into_inner);
        let values = self.values.lock().unwrap_or_else(PoisonError::into_inner);
        let mut out: Vec<String> = keys
            .iter()
            .filter(|(_, n)| **n != 0)
            .map(|(k, n)| format!("key {k}: {n} copies left"))
            .chain(
                values
                    .iter()
                    .filter(|(_, n)| **n != 0)
                    .map(|((k, v), n)| format!("value {v} of key {k}: {n} copies left")),
            )
            .collect();
        out.sort();
        out
    }
}

/// A key whose user code a [`Fuse`] can make panic.
pub struct TrapKey {
    id: u64,
    fuse: Arc<Fuse>,
}

impl TrapKey {
    /// Key `id`, counted by `fuse`.
    pub fn new(id: u64, fuse: &Arc<Fuse>) -> TrapKey {
        Fuse::count(&fuse.keys, id, 1);
        TrapKey {
            id,
            fuse: Arc::clone(fuse),
        }
    }
}

impl Hash for TrapKey {
    fn hash<H: Hasher>(&self, state: &mut H) {
        self.fuse.check(Trap::KeyHash, self.id);
        self.id.hash(state);
    }
}

impl PartialEq for TrapKey {
    fn eq(&self, other: &TrapKey) -> bool {
        self.fuse.check(Trap::KeyEq, self.id);
        self.id == other.id
    }
}

impl Eq for TrapKey {}

impl Clone for TrapKey {
    fn clone(&self) -> TrapKey {
        self.fuse.check(Trap::KeyClone, self.id);
        TrapKey::new(self.id, &self.fuse)
    }
}

impl Drop for TrapKey {
    fn drop(&mut self) {
        Fuse::count(&self.fuse.keys, self.id, -1);
        self.fuse.check(Trap::KeyDrop, self.id);
    }
}

impl fmt::Debug for TrapKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "TrapKey({})", self.id)
    }
}

/// A value (the `version`-th set of key `key`) whose user code a [`Fuse`] can make panic.
pub struct TrapValue {
    key: u64,
    version: u64,
    fuse: Arc<Fuse>,
}

impl TrapValue {
    /// Version `version` of key `key`'s value, counted by `fuse`.
    pub fn new(key: u64, version: u64, fuse: &Arc<Fuse>) -> TrapValue {
        Fuse::count(&fuse.values, (key, version), 1);
        TrapValue {
            key,
            version,
            fuse: Arc::clone(fuse),
        }
    }
}

impl Clone for TrapValue {
    fn clone(&self) -> TrapValue {
        self.fuse.check(Trap::ValueClone, self.key);
        TrapValue::new(self.key, self.version, &self.fuse)
    }
}

impl Drop for TrapValue {
    fn drop(&mut self) {
        Fuse::count(&self.fuse.values, (self.key, self.version), -1);
        self.fuse.check(Trap::ValueDrop, self.key);
    }
}

impl fmt::Debug for TrapValue {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "TrapValue({}#{})", self.key, self.version)
    }
}

/// What a key may return: the values set for it that are not known to be replaced, with their
/// deadlines (a `set_ex` that panicked may or may not have happened, so its value and the one
/// before are both acceptable until the next `set_ex` of the key succeeds).
type Acceptable = HashMap<u64, Vec<(u64, Deadline)>>;

fn check_get(
    got: Option<&TrapValue>,
    key: u64,
    ok: &Acceptable,
    now: Timestamp,
    step: usize,
) -> Result<(), String> {
    let Some(v) = got else { return Ok(()) };
    if v.key != key {
        return Err(format!(
            "step {step}: key {key} returned a value of key {}",
            v.key
        ));
    }
    match ok
        .get(&key)
        .and_then(|vs| vs.iter().find(|(ver, _)| *ver == v.version))
    {
        Some((_, deadline)) if is_live(*deadline, now) => Ok(()),
        Some(_) => Err(format!(
            "step {step}: key {key} returned expired version {}",
            v.version
        )),
        None => Err(format!(
            "step {step}: key {key} returned version {}, not one that may be current",
            v.version
        )),
    }
}

/// The capacities [`survives_panics_in_user_code`] churns at.
const CAPACITIES: [usize; 7] = [1, 2, 3, 6, 12, 40, 100];
const TTLS: [Duration; 4] = [
    Duration::from_secs(1),
    Duration::from_secs(5),
    Duration::from_secs(3600),
    Duration::MAX,
];

/// One operation of the churn, with the fuse possibly armed. Returns whether it panicked with
/// an injected panic; any other panic is passed on.
fn step(
    cache: &dyn ExpiringCache<TrapKey, TrapValue>,
    op: u64,
    key: u64,
    version: u64,
    ttl: Duration,
    fuse: &Arc<Fuse>,
) -> bool {
    let r = catch_unwind(AssertUnwindSafe(|| match op {
        0..=4 => cache.set_ex(
            TrapKey::new(key, fuse),
            TrapValue::new(key, version, fuse),
            ttl,
        ),
        5..=7 => drop(cache.get_ex(&TrapKey::new(key, fuse))),
        _ => cache.maintain(),
    }));
    match r {
        Ok(()) => false,
        Err(p) if is_injected(&*p) => true,
        Err(p) => resume_unwind(p),
    }
}

fn is_injected(p: &(dyn Any + Send)) -> bool {
    p.downcast_ref::<InjectedPanic>().is_some()
}

/// The churn: operations on random keys with a trap from `traps` armed for each, checking
/// after every one (disarmed) that the cache answers only with values that may be current.
/// Returns how often each trap fired.
fn churn<C: ExpiringCache<TrapKey, TrapValue>>(
    cache: &C,
    keys: u64,
    clock: &ManualClock,
    fuse: &Arc<Fuse>,
    traps: &[Trap],
    rng: &mut SplitMix,
) -> Vec<(Trap, u32)> {
    let mut ok: Acceptable = HashMap::new();
    let mut fired: Vec<(Trap, u32)> = traps.iter().map(|t| (*t, 0)).collect();
    for s in 0..3_000usize {
        let trap = rng.below(traps.len() as u64) as usize;
        let (op, key) = (rng.below(10), rng.below(keys));
        let ttl = TTLS[rng.below(TTLS.len() as u64) as usize];
        let version = s as u64;
        let now = clock.now();
        // The trap is set on the key of the operation half the time (its own hash, its hit's
        // clone), on any key otherwise (an eviction's hash, an expired entry's drop); mostly on
        // the first call, sometimes a later one (a second hash of the same key).
        let target = if rng.below(2) == 0 {
            key
        } else {
            rng.below(keys)
        };
        let nth = match traps[trap] {
            Trap::AnyKeyHashOrEq => 1 + rng.below(8) as u32,
            _ => [1, 1, 2, 3][rng.below(4) as usize],
        };
        fuse.arm(traps[trap], target, nth);
        let panicked = step(cache, op, key, version, ttl, fuse);
        fired[trap].1 += u32::from(fuse.disarm());
        if op <= 4 {
            let entry = (version, deadline(now, ttl));
            let vs = ok.entry(key).or_default();
            if panicked {
                vs.push(entry);
            } else {
                *vs = vec![entry];
            }
        }
        for k in [key, rng.below(keys)] {
            let got = cache.get_ex(&TrapKey::new(k, fuse));
            if let Err(e) = check_get(got.as_ref(), k, &ok, clock.now(), s) {
                panic!("{e}");
            }
        }
        if rng.below(20) == 0 {
            clock.advance(Duration::from_secs(2));
        }
    }
    fired
}

/// After the churn, still usable: a set of each key is read back or missed, never wrong, and
/// the capacity holds.
fn still_usable<C: ExpiringCache<TrapKey, TrapValue>>(
    cache: &C,
    keys: u64,
    fuse: &Arc<Fuse>,
    caps: Capabilities,
    capacity: usize,
) {
    for k in 0..keys {
        cache.set_ex(
            TrapKey::new(k, fuse),
            TrapValue::new(k, 1_000_000 + k, fuse),
            TTLS[3],
        );
        if let Some(v) = cache.get_ex(&TrapKey::new(k, fuse)) {
            assert_eq!(v.version, 1_000_000 + k, "key {k} after the churn");
        }
    }
    cache.maintain();
    let resident = cache.resident_len();
    assert!(
        caps.panic_safety != PanicSafety::Full || resident <= caps.max_resident(capacity),
        "{resident} entries resident after the churn, at most {} allowed",
        caps.max_resident(capacity)
    );
}

/// What is still unbalanced once the implementation's deferred reclamation, if it declares
/// one, has had its chance to run.
fn settled(fuse: &Fuse, caps: Capabilities) -> Vec<String> {
    if let Some(settle) = caps.settle_after_drop {
        for _ in 0..500 {
            if fuse.unbalanced().is_empty() {
                break;
            }
            settle();
        }
    }
    fuse.unbalanced()
}

#[track_caller]
fn assert_fired(fired: &[(Trap, u32)], which: &[Trap]) {
    // Each trap asked for, looked up in the counts: a trap that was never counted fails too
    // (iterating over the counts passed when there were none).
    for t in which {
        let n = fired.iter().find(|(u, _)| u == t).map_or(0, |(_, n)| *n);
        assert!(n >= 5, "{t:?} fired only {n} times: {fired:?}");
    }
}

/// After a panic from a user's `Hash`, `Eq`, `Clone` or `Drop` at any point, the cache still
/// serves `get_ex` / `set_ex` without panicking and without a wrong or expired value, and keeps
/// to its capacity. Once dropped, it has dropped every key and value exactly once — checked
/// exactly for panics in `Hash`, `Eq` and `Clone`. For panics in `Drop` the check is that
/// nothing was dropped twice: Rust itself leaks a function's return value when a local's
/// destructor panics (rust-lang/rust#47949), so `HashMap::remove` can leak the value it was
/// returning when the key it drops panics, whatever the cache does.
///
/// An implementation that declares [`PanicSafety::ServesOn`] gets the checks of the first half
/// (panics in `Hash`, `Eq`, `Clone`: serves on, never a wrong value) but not the capacity, the
/// exactly-once drops and the second half (panics in `Drop`), and the outcome
/// [`Outcome::Skipped`] with its reason.
///
/// Generic over the cache's key and value types, which are [`TrapKey`] and [`TrapValue`] here:
/// `make` must build the cache for them (a cache generic over `K` and `V` needs nothing more).
pub fn survives_panics_in_user_code<C, F>(make: F, caps: Capabilities) -> Outcome
where
    F: Fn(ManualClock, usize) -> C,
    C: ExpiringCache<TrapKey, TrapValue>,
{
    if let PanicSafety::NotSurvived { why } = caps.panic_safety {
        eprintln!("survives_panics_in_user_code skipped: {why}");
        return Outcome::Skipped(why);
    }
    let mut skipped = None;
    let (mut fired_exact, mut fired_drops) = (Vec::new(), Vec::new());
    // Capacities from one entry up, each churned over twice as many keys as it holds (at
    // least twelve), so that sets evict at every size, alongside overwrites, expiry and
    // maintenance.
    for capacity in CAPACITIES {
        let keys = (2 * capacity as u64).max(12);
        let mut rng = SplitMix(0xB0B);
        let exact = [
            Trap::KeyHash,
            Trap::KeyEq,
            Trap::KeyClone,
            Trap::ValueClone,
            // Twice: the paths it reaches (an eviction after a lookup, a table growing) are
            // the ones a single key's trap seldom hits.
            Trap::AnyKeyHashOrEq,
            Trap::AnyKeyHashOrEq,
        ];
        let (fuse, clock) = (Fuse::new(), ManualClock::new());
        let cache = make(clock.clone(), capacity);
        add(
            &mut fired_exact,
            &churn(&cache, keys, &clock, &fuse, &exact, &mut rng),
        );
        still_usable(&cache, keys, &fuse, caps, capacity);
        drop(cache);
        let unbalanced = settled(&fuse, caps);
        match caps.panic_safety {
            PanicSafety::ServesOn { why } => {
                eprintln!(
                    "survives_panics_in_user_code: capacity, exactly-once drops and panics in Drop \
                     not checked ({why}); left after the drop: {} keys and values",
                    unbalanced.len()
                );
                skipped = Some(why);
                continue;
            }
            PanicSafety::NotSurvived { .. } | PanicSafety::Full => assert!(
                unbalanced.is_empty(),
                "after panics in Hash, Eq or Clone, not every key and value was dropped exactly \
                 once: {unbalanced:?}"
            ),
        }

        let (fuse, clock) = (Fuse::new(), ManualClock::new());
        let cache = make(clock.clone(), capacity);
        let drops = [
            Trap::KeyDrop,
            Trap::ValueDrop,
            Trap::KeyHash,
            Trap::ValueClone,
        ];
        add(
            &mut fired_drops,
            &churn(&cache, keys, &clock, &fuse, &drops, &mut rng),
        );
        still_usable(&cache, keys, &fuse, caps, capacity);
        drop(cache);
        let twice: Vec<String> = settled(&fuse, caps)
            .into_iter()
            .filter(|u| u.contains(": -"))
            .collect();
        assert!(
            twice.is_empty(),
            "after panics in Drop, dropped twice: {twice:?}"
        );
    }
    // Not vacuous: what every cache does (hash keys, clone values on a hit, drop what it frees)
    // was trapped, often, over the capacities.
    assert_fired(
        &fired_exact,
        &[Trap::KeyHash, Trap::ValueClone, Trap::AnyKeyHashOrEq],
    );
    if skipped.is_none() {
        assert_fired(&fired_drops, &[Trap::KeyDrop, Trap::ValueDrop]);
    }
    skipped.map_or(Outcome::Passed, Outcome::Skipped)
}

/// Adds one churn's counts of fired traps to `total`.
fn add(total: &mut Vec<(Trap, u32)>, fired: &[(Trap, u32)]) {
    for &(t, n) in fired {
        match total.iter_mut().find(|(u, _)| *u == t) {
            Some((_, m)) => *m += n,
            None => total.push((t, n)),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    #[should_panic(expected = "fired only 4 times")]
    fn a_trap_that_hardly_fired_is_refused() {
        assert_fired(
            &[(Trap::KeyHash, 9), (Trap::ValueClone, 4)],
            &[Trap::KeyHash, Trap::ValueClone],
        );
    }

    /// A trap the counts do not hold at all never fired: refused (iterating over the counts
    /// let an empty list pass).
    #[test]
    #[should_panic(expected = "KeyDrop fired only 0 times")]
    fn a_trap_never_counted_is_refused() {
        let mut total = Vec::new();
        add(&mut total, &[(Trap::ValueDrop, 6)]);
        add(&mut total, &[(Trap::ValueDrop, 1)]);
        assert_eq!(total, [(Trap::ValueDrop, 7)]);
        assert_fired(&total, &[Trap::ValueDrop, Trap::KeyDrop]);
    }

    #[test]
    fn keys_and_values_fire_only_the_armed_trap_on_the_armed_key_and_count_their_copies() {
        let fuse = Fuse::new();
        let (k1, k2) = (TrapKey::new(1, &fuse), TrapKey::new(2, &fuse));
        let v = TrapValue::new(1, 9, &fuse);
        assert_eq!(
            (format!("{k1:?}"), format!("{v:?}")),
            ("TrapKey(1)".to_owned(), "TrapValue(1#9)".to_owned())
        );
        fuse.arm(Trap::KeyEq, 2, 1);
        assert!(
            k1 != k2,
            "key 1's Eq is not armed: no panic, and they differ"
        );
        let r = catch_unwind(AssertUnwindSafe(|| k2 == k1));
        assert!(r.is_err() && fuse.disarm(), "key 2's Eq fired");
        fuse.arm(Trap::ValueClone, 1, 2);
        let copy = v.clone(); // the first clone passes
        assert!(
            catch_unwind(AssertUnwindSafe(|| v.clone())).is_err(),
            "the second fires"
        );
        assert!(fuse.disarm());
        assert_eq!(
            fuse.unbalanced().len(),
            3,
            "two keys and the value are alive"
        );
        drop((k1, k2, v, copy));
        assert!(fuse.unbalanced().is_empty());
        let leaked = TrapValue::new(3, 1, &fuse);
        std::mem::forget(leaked);
        assert_eq!(fuse.unbalanced(), ["value 1 of key 3: 1 copies left"]);
    }
}
