//! [`WeakFifoCache`]: the article's `LocalCache`, ported line by line.

use std::fmt;
use std::hash::{BuildHasher, Hash, RandomState};
use std::sync::{Arc, Mutex, MutexGuard, Weak};
use std::time::Duration;

use cache_core::{Clock, Deadline, ExpiringCache, SystemClock, deadline, is_live};
use hashbrown::HashTable;

/// One cached object: the Python `LocalCache.Dict({'result': value, 'expire': ...})`.
///
/// It also carries its key, which Python's `WeakValueDictionary` keeps inside the weak reference
/// (`KeyedRef.key`) so that the death callback knows which key to drop. Storing it here lets the
/// map hold nothing but the weak reference: the key is stored once per entry, not twice.
struct Entry<K, V> {
    key: K,
    value: V,
    deadline: Deadline,
}

/// What the `Mutex` guards: Python's `self.weak` and `self.strong`.
struct Inner<K, V> {
    /// `self.weak`: key → weak reference to the key's current entry. Keyed by `entry.key`.
    weak: HashTable<Weak<Entry<K, V>>>,
    /// `self.strong`: the only strong references, oldest first, at most `maxlen` of them.
    strong: std::collections::VecDeque<Arc<Entry<K, V>>>,
    /// Set while the key of the entry about to be pushed out is hashed: if that `Hash` panics,
    /// the key would make every later push-out panic too, so the next lock clears the cache.
    editing: bool,
}

/// The article's cache: a weak-value map plus a bounded FIFO deque of strong references.
///
/// Entries are freed **only** when the deque pushes them out — never on expiry, never on read.
/// See the [crate documentation](crate) for the line-by-line parity with the Python original.
///
/// ```
/// use std::time::Duration;
/// use cache_core::{ExpiringCache, ManualClock};
/// use cache_weakfifo::WeakFifoCache;
///
/// let clock = ManualClock::new();
/// let cache = WeakFifoCache::with_clock(3, clock.clone());
/// cache.set_ex("a", 1, Duration::from_secs(10)); // t = 0 s, expires after t = 10 s
/// clock.advance(Duration::from_secs(10)); // t = 10 s
/// // Behaviour 4: still a hit at exactly the deadline (`now > expire` is the expiry test).
/// assert_eq!(cache.get_ex(&"a"), Some(1));
/// clock.advance(Duration::from_millis(500)); // t = 10.5 s
/// // Behaviour 1: expired, so a miss ...
/// assert_eq!(cache.get_ex(&"a"), None);
/// // ... but nothing was removed: the expired entry is still resident.
/// assert_eq!((cache.weak_len(), cache.deque_len()), (1, 1));
///
/// // Behaviour 2: setting the same key again takes a second deque slot.
/// cache.set_ex("a", 2, Duration::from_secs(10));
/// assert_eq!((cache.weak_len(), cache.deque_len()), (1, 2));
///
/// // Behaviour 3: the deque is full after "c"; it pushes out the *first* "a" entry, whose
/// // death must not remove the key, because the map already points at the newer "a".
/// cache.set_ex("b", 3, Duration::from_secs(10));
/// cache.set_ex("c", 4, Duration::from_secs(10));
/// assert_eq!(cache.get_ex(&"a"), Some(2));
/// assert_eq!((cache.weak_len(), cache.deque_len()), (3, 3));
/// // The next set pushes out the newer "a" entry, which is the key's current one: key gone.
/// cache.set_ex("d", 5, Duration::from_secs(10));
/// assert_eq!(cache.get_ex(&"a"), None);
/// assert_eq!(cache.weak_len(), 3);
///
/// // maxlen == 0 keeps nothing, as in Python.
/// let nothing = WeakFifoCache::with_clock(0, clock.clone());
/// nothing.set_ex("x", 1, Duration::from_secs(10));
/// assert_eq!((nothing.get_ex(&"x"), nothing.weak_len()), (None, 0));
/// ```
pub struct WeakFifoCache<K, V, C: Clock = SystemClock> {
    maxlen: usize,
    clock: C,
    hasher: RandomState,
    inner: Mutex<Inner<K, V>>,
}

impl<K, V> WeakFifoCache<K, V, SystemClock> {
    /// A cache holding at most `maxlen` entries (deque slots), on the real monotonic clock.
    ///
    /// `maxlen == 0` is allowed and, as in Python, keeps nothing.
    pub fn new(maxlen: usize) -> Self {
        Self::with_clock(maxlen, SystemClock::new())
    }
}

impl<K, V, C: Clock> WeakFifoCache<K, V, C> {
    /// A cache holding at most `maxlen` entries (deque slots), on `clock`.
    pub fn with_clock(maxlen: usize, clock: C) -> Self {
        WeakFifoCache {
            maxlen,
            clock,
            hasher: RandomState::new(),
            inner: Mutex::new(Inner {
                weak: HashTable::new(),
                strong: std::collections::VecDeque::new(),
                editing: false,
            }),
        }
    }

    /// The most strong references the deque keeps (Python's `deque.maxlen`).
    pub fn maxlen(&self) -> usize {
        self.maxlen
    }

    /// Keys in the weak map (Python's `len(cache.weak)`): expired keys included, and each key
    /// once however many of its entries the deque holds — so not the entries in memory, which
    /// [`deque_len`](Self::deque_len) (and `resident_len`) counts.
    pub fn weak_len(&self) -> usize {
        self.lock().weak.len()
    }

    /// Whether the cache holds nothing (deque and weak map are empty together).
    pub fn is_empty(&self) -> bool {
        self.deque_len() == 0
    }

    /// Strong references the deque holds (Python's `len(cache.strong)`): the entries in memory.
    pub fn deque_len(&self) -> usize {
        self.lock().strong.len()
    }

    /// The lock plays the GIL. A panic in a user's `Hash`, `Eq`, `Clone` or `Drop` while it was
    /// held leaves the structure consistent — `set_ex` calls the user's code before its first
    /// change or after its last — so the lock is used on. One case more: if the `Hash` of the
    /// key about to be pushed out panicked (`editing`), that key would make every later
    /// push-out panic as well, so the cache is cleared, as a bounded cache may drop entries.
    fn lock(&self) -> MutexGuard<'_, Inner<K, V>> {
        match self.inner.lock() {
            Ok(guard) => guard,
            Err(poisoned) => {
                let mut guard = poisoned.into_inner();
                if guard.editing {
                    guard.editing = false;
                    guard.weak.clear();
                    guard.strong.clear();
                }
                self.inner.clear_poison();
                guard
            }
        }
    }
}

impl<K: Hash + Eq, V, C: Clock> WeakFifoCache<K, V, C> {
    /// The current entry of a weak reference held by the map. The map never holds a dead one:
    /// an entry's key is removed in the same critical section that drops its last strong
    /// reference.
    fn upgrade(weak: &Weak<Entry<K, V>>) -> Arc<Entry<K, V>> {
        weak.upgrade()
            .expect("invariant: the weak map holds no dead reference")
    }

    /// Python's `WeakValueDictionary` callback, run as the deque drops `dying`, its last strong
    /// reference: the key goes only if the map still points at this very entry. `hash` is the
    /// hash of its key, computed before anything changed (no user code runs here).
    fn on_entry_death(
        weak: &mut HashTable<Weak<Entry<K, V>>>,
        hash: u64,
        dying: &Arc<Entry<K, V>>,
    ) {
        if let Ok(slot) = weak.find_entry(hash, |w| std::ptr::eq(w.as_ptr(), Arc::as_ptr(dying))) {
            slot.remove();
        }
    }

    #[cfg(test)]
    pub(crate) fn check_invariants(&self) {
        let inner = self.lock();
        assert!(inner.strong.len() <= self.maxlen, "deque over maxlen");
        // The deque holds the only strong references, each exactly once.
        for e in &inner.strong {
            assert_eq!(
                Arc::strong_count(e),
                1,
                "an entry with another strong reference"
            );
        }
        // Every weak reference is alive and filed under its entry's key.
        for w in inner.weak.iter() {
            let e = Self::upgrade(w);
            let hash = self.hasher.hash_one(&e.key);
            let found = inner
                .weak
                .find(hash, |x| std::ptr::eq(x.as_ptr(), w.as_ptr()));
            assert!(found.is_some(), "a weak reference filed under another hash");
        }
        // len() == the keys whose current entry is in the deque.
        let current = inner
            .strong
            .iter()
            .filter(|e| {
                let hash = self.hasher.hash_one(&e.key);
                inner
                    .weak
                    .find(hash, |w| std::ptr::eq(w.as_ptr(), Arc::as_ptr(e)))
                    .is_some()
            })
            .count();
        assert_eq!(
            current,
            inner.weak.len(),
            "len() must count keys with a live current entry"
        );
    }
}

impl<K, V, C> ExpiringCache<K, V> for WeakFifoCache<K, V, C>
where
    K: Hash + Eq + Send + Sync,
    V: Clone + Send + Sync,
    C: Clock,
{
    /// `value = self.weak.get(key, notFound)`; a miss, or `now > expire`, returns `None` and
    /// removes nothing.
    fn get_ex(&self, key: &K) -> Option<V> {
        let now = self.clock.now();
        let inner = self.lock();
        let hash = self.hasher.hash_one(key);
        let weak = inner.weak.find(hash, |w| Self::upgrade(w).key == *key)?;
        let entry = Self::upgrade(weak);
        // `if self.nowTime() > expire: return self.notFound`
        is_live(entry.deadline, now).then(|| entry.value.clone())
    }

    /// `self.weak[key] = strongRef = Dict(...)`, then `self.strong.append(strongRef)`.
    ///
    /// Every call into the user's `Hash` and `Eq` comes before the first change, so a panic
    /// there leaves the cache as it was; the entry pushed out is dropped last, once the map and
    /// the deque agree again, so a panic in its `Drop` leaves nothing half-done either.
    fn set_ex(&self, key: K, value: V, ttl: Duration) {
        if self.maxlen == 0 {
            // Python's deque(maxlen=0) discards the entry at once, and its death callback takes
            // the key out of the map again: nothing is kept.
            return;
        }
        let deadline = deadline(self.clock.now(), ttl);
        let hash = self.hasher.hash_one(&key);
        let mut guard = self.lock();
        let inner = &mut *guard;
        // The entry the append will push out, and its hash, taken before anything changes.
        inner.editing = true;
        let dying_hash = (inner.strong.len() >= self.maxlen)
            .then(|| inner.strong.front().map(|e| self.hasher.hash_one(&e.key)))
            .flatten();
        inner.editing = false;
        let entry = Arc::new(Entry {
            key,
            value,
            deadline,
        });
        // `self.weak[key] = strongRef`: the key now points at the new entry; an older entry of
        // the same key keeps its deque slot. (Growing the table may call `Hash` on other keys;
        // a panic there leaves the old table in place.)
        let hasher = &self.hasher;
        match inner.weak.entry(
            hash,
            |w| Self::upgrade(w).key == entry.key,
            |w| hasher.hash_one(&Self::upgrade(w).key),
        ) {
            hashbrown::hash_table::Entry::Occupied(mut slot) => {
                *slot.get_mut() = Arc::downgrade(&entry)
            }
            hashbrown::hash_table::Entry::Vacant(slot) => {
                slot.insert(Arc::downgrade(&entry));
            }
        }
        // `self.strong.append(strongRef)`: a full deque pushes out its oldest entry, which dies.
        inner.strong.push_back(entry);
        let dying = match dying_hash {
            Some(h) => inner
                .strong
                .pop_front()
                .inspect(|d| Self::on_entry_death(&mut inner.weak, h, d)),
            None => None,
        };
        drop(guard);
        drop(dying);
    }

    /// The entries the deque holds: the memory actually in use, expired entries included.
    fn resident_len(&self) -> usize {
        self.deque_len()
    }

    /// Does nothing: in this design nothing frees an entry early. That is the point.
    fn maintain(&self) {}
}

impl<K, V, C: Clock> fmt::Debug for WeakFifoCache<K, V, C> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let inner = self.lock();
        f.debug_struct("WeakFifoCache")
            .field("maxlen", &self.maxlen)
            .field("len", &inner.weak.len())
            .field("deque_len", &inner.strong.len())
            .finish_non_exhaustive()
    }
}

#[cfg(test)]
mod tests {
    use std::collections::{HashMap, VecDeque};

    use cache_core::{ManualClock, Timestamp};
    use proptest::prelude::*;

    use super::*;
    use std::panic::{AssertUnwindSafe, catch_unwind};
    use std::sync::atomic::{AtomicBool, Ordering};

    use crate::test_support::{Bomb, Drops, hammer_from_two_threads};

    const TTL: Duration = Duration::from_secs(10);

    /// Debug says what the port holds: its bound, its dict's entries and its deque's.
    #[test]
    fn debug_shows_the_bound_and_both_lengths() {
        let cache = WeakFifoCache::<u8, u8>::new(3);
        cache.set_ex(1, 1, Duration::from_secs(1));
        cache.set_ex(1, 2, Duration::from_secs(1));
        assert_eq!(
            format!("{cache:?}"),
            "WeakFifoCache { maxlen: 3, len: 1, deque_len: 2, .. }"
        );
    }

    #[test]
    fn after_n_newer_sets_exactly_the_oldest_n_are_dropped() {
        let (clock, drops) = (ManualClock::new(), Drops::default());
        let cache = WeakFifoCache::with_clock(5, clock.clone());
        for id in 0..5 {
            cache.set_ex(id, drops.value(id), TTL);
        }
        assert_eq!(
            drops.in_order(),
            Vec::<u32>::new(),
            "a full deque has dropped nothing yet"
        );
        for id in 5..8 {
            cache.set_ex(id, drops.value(id), TTL);
        }
        // Three newer sets push out exactly the three oldest entries, in order.
        assert_eq!(drops.in_order(), vec![0, 1, 2]);
        assert_eq!((cache.weak_len(), cache.deque_len()), (5, 5));
        cache.check_invariants();
    }

    #[test]
    fn expiry_alone_frees_nothing() {
        let (clock, drops) = (ManualClock::new(), Drops::default());
        let cache = WeakFifoCache::with_clock(8, clock.clone());
        for id in 0..5 {
            cache.set_ex(id, drops.value(id), Duration::from_secs(1));
        }
        clock.advance(Duration::from_secs(3600)); // t = 1 h: every entry long expired
        for id in 0..5 {
            assert!(cache.get_ex(&id).is_none(), "expired entries are misses");
        }
        cache.maintain();
        assert_eq!(
            drops.in_order(),
            Vec::<u32>::new(),
            "but reading and maintain() free nothing"
        );
        assert_eq!((cache.weak_len(), cache.resident_len()), (5, 5));
        cache.check_invariants();
    }

    #[test]
    fn an_overwritten_entry_keeps_its_slot_until_pushed_out() {
        let (clock, drops) = (ManualClock::new(), Drops::default());
        let cache = WeakFifoCache::with_clock(3, clock.clone());
        for id in 0..3 {
            cache.set_ex(7, drops.value(id), TTL); // the same key three times: three slots
        }
        assert_eq!((cache.weak_len(), cache.deque_len()), (1, 3));
        assert_eq!(drops.in_order(), Vec::<u32>::new());
        cache.set_ex(8, drops.value(3), TTL);
        // The oldest value of key 7 dies; the key stays, pointing at its newest value.
        assert_eq!(drops.in_order(), vec![0]);
        assert_eq!(cache.get_ex(&7).map(|v| v.id), Some(2));
        assert_eq!(cache.weak_len(), 2);
        cache.check_invariants();
    }

    #[test]
    fn dropping_the_cache_frees_every_entry() {
        let (clock, drops) = (ManualClock::new(), Drops::default());
        let cache = WeakFifoCache::with_clock(4, clock.clone());
        for id in 0..6 {
            cache.set_ex(id % 3, drops.value(id), TTL);
        }
        assert_eq!(drops.in_order(), vec![0, 1]);
        drop(cache);
        let mut dropped = drops.in_order();
        dropped.sort_unstable();
        assert_eq!(dropped, vec![0, 1, 2, 3, 4, 5]);
    }

    #[test]
    fn it_reports_its_maxlen_and_whether_it_is_empty() {
        let cache = WeakFifoCache::with_clock(5, ManualClock::new());
        assert_eq!(cache.maxlen(), 5);
        assert!(cache.is_empty());
        cache.set_ex(1u8, 1u8, TTL);
        assert!(!cache.is_empty());
    }

    #[test]
    fn maxlen_zero_drops_each_entry_at_once() {
        let (clock, drops) = (ManualClock::new(), Drops::default());
        let cache = WeakFifoCache::with_clock(0, clock.clone());
        cache.set_ex(1, drops.value(1), TTL);
        assert_eq!(drops.in_order(), vec![1]);
        assert!(cache.get_ex(&1).is_none());
        assert!(cache.is_empty());
        cache.check_invariants();
    }

    /// The key of the entry being pushed out panics in `Hash`: the cache is cleared and works
    /// on, even while that key keeps panicking. (Before, the map kept a dead weak reference and
    /// every later `set_ex` panicked.)
    #[test]
    fn a_key_whose_hash_panics_as_it_is_pushed_out_does_not_break_the_cache() {
        let (clock, drops) = (ManualClock::new(), Drops::default());
        let cache = WeakFifoCache::with_clock(2, clock.clone());
        let (armed, safe) = (
            Arc::new(AtomicBool::new(false)),
            Arc::new(AtomicBool::new(false)),
        );
        cache.set_ex(Bomb(1, Arc::clone(&armed)), drops.value(1), TTL);
        cache.set_ex(Bomb(2, Arc::clone(&safe)), drops.value(2), TTL);
        armed.store(true, Ordering::SeqCst);
        let r = catch_unwind(AssertUnwindSafe(|| {
            cache.set_ex(Bomb(3, Arc::clone(&safe)), drops.value(3), TTL)
        }));
        assert!(r.is_err());
        for id in 4..10 {
            cache.set_ex(Bomb(id, Arc::clone(&safe)), drops.value(id), TTL);
            assert_eq!(
                cache.get_ex(&Bomb(id, Arc::clone(&safe))).map(|v| v.id),
                Some(id)
            );
            assert!(cache.weak_len() <= 2 && cache.deque_len() <= 2);
            cache.check_invariants();
        }
        drop(cache);
        assert_eq!(
            drops.sorted(),
            (1..10).collect::<Vec<_>>(),
            "each dropped once"
        );
    }

    #[test]
    fn a_panicking_drop_of_the_pushed_out_value_loses_nothing_else() {
        let (clock, drops) = (ManualClock::new(), Drops::default());
        let cache = WeakFifoCache::with_clock(2, clock.clone());
        let first = drops.touchy(1);
        first.panic_on_drop.store(true, Ordering::SeqCst);
        cache.set_ex(1u32, first, TTL);
        cache.set_ex(2u32, drops.touchy(2), TTL);
        let r = catch_unwind(AssertUnwindSafe(|| cache.set_ex(3, drops.touchy(3), TTL)));
        assert!(r.is_err());
        assert_eq!(cache.get_ex(&2).map(|v| v.inner.id), Some(2));
        assert_eq!(cache.get_ex(&3).map(|v| v.inner.id), Some(3));
        cache.check_invariants();
        drop(cache);
        assert_eq!(drops.sorted(), vec![1, 2, 3]);
    }

    #[test]
    fn two_threads_neither_panic_nor_deadlock_and_keep_the_invariants() {
        let clock = ManualClock::new();
        let cache = WeakFifoCache::with_clock(64, clock.clone());
        hammer_from_two_threads(&cache, &clock, 128);
        cache.check_invariants();
        assert_eq!(
            cache.deque_len(),
            64,
            "40 000 sets fill the deque to maxlen"
        );
    }

    /// The reference model, written from the article's rules alone.
    #[derive(Default)]
    struct Model {
        maxlen: usize,
        next_id: u64,
        /// (id, key, value, deadline), oldest first.
        deque: VecDeque<(u64, u8, u8, Timestamp)>,
        /// key → id of its current entry.
        map: HashMap<u8, u64>,
    }

    impl Model {
        fn set(&mut self, key: u8, value: u8, deadline: Timestamp) {
            let id = self.next_id;
            self.next_id += 1;
            self.map.insert(key, id);
            self.deque.push_back((id, key, value, deadline));
            if self.deque.len() > self.maxlen {
                let (old_id, old_key, _, _) = self.deque.pop_front().unwrap();
                if self.map.get(&old_key) == Some(&old_id) {
                    self.map.remove(&old_key);
                }
            }
        }

        fn get(&self, key: u8, now: Timestamp) -> Option<u8> {
            let id = self.map.get(&key)?;
            let &(_, _, value, deadline) = self.deque.iter().find(|e| e.0 == *id).unwrap();
            (now <= deadline).then_some(value)
        }
    }

    #[derive(Clone, Debug)]
    enum Op {
        Set(u8, u8, Duration),
        Get(u8),
        Advance(Duration),
    }

    fn ttl() -> impl Strategy<Value = Duration> {
        prop_oneof![
            Just(Duration::ZERO),
            Just(Duration::from_nanos(1)),
            Just(Duration::from_secs(5)),
            Just(Duration::from_secs(10)),
            Just(Duration::MAX),
        ]
    }

    fn op() -> impl Strategy<Value = Op> {
        prop_oneof![
            4 => (0u8..5, any::<u8>(), ttl()).prop_map(|(k, v, t)| Op::Set(k, v, t)),
            4 => (0u8..6).prop_map(Op::Get),
            2 => prop_oneof![
                Just(Duration::ZERO),
                Just(Duration::from_nanos(1)),
                Just(Duration::from_secs(1)),
                Just(Duration::from_secs(5)),
                Just(Duration::from_secs(10)),
            ]
            .prop_map(Op::Advance),
        ]
    }

    fn maxlen() -> impl Strategy<Value = usize> {
        prop_oneof![3 => 0usize..=8, 1 => Just(16usize), 1 => Just(64usize)]
    }

    proptest! {
        #[test]
        fn behaves_exactly_like_the_reference_model(
            maxlen in maxlen(),
            ops in proptest::collection::vec(op(), 1..200),
        ) {
            let clock = ManualClock::new();
            let cache = WeakFifoCache::with_clock(maxlen, clock.clone());
            let mut model = Model { maxlen, ..Model::default() };
            for (step, op) in ops.into_iter().enumerate() {
                match op {
                    Op::Set(k, v, ttl) => {
                        cache.set_ex(k, v, ttl);
                        model.set(k, v, deadline(clock.now(), ttl).timestamp());
                    }
                    Op::Get(k) => {
                        prop_assert_eq!(cache.get_ex(&k), model.get(k, clock.now()), "step {}", step);
                    }
                    Op::Advance(d) => clock.advance(d),
                }
                prop_assert_eq!(cache.weak_len(), model.map.len(), "len() at step {}", step);
                prop_assert_eq!(cache.deque_len(), model.deque.len(), "deque_len() at step {}", step);
                cache.check_invariants();
            }
        }
    }
}
