//! [`TtlFifoCache`]: the article's cache, repaired.

use std::fmt;
use std::hash::{BuildHasher, Hash};
use std::sync::{Mutex, MutexGuard};
use std::time::Duration;

use cache_core::{Clock, ExpiringCache, SystemClock, Timestamp, deadline, is_live};
use hashbrown::HashTable;

/// No slot: the end of the FIFO list.
const NIL: u32 = u32::MAX;
/// The most entries a cache can hold: slot indices are `u32`, and `NIL` is reserved.
pub(crate) const MAX_ENTRIES: usize = (u32::MAX - 1) as usize;
/// Slots per sweep block: the sweep skips a whole block when its earliest deadline is ahead.
const BLOCK: usize = 64;
/// Expired entries at the front of the FIFO freed per `set_ex`, at most.
const FRONT_BUDGET: usize = 4;
/// Blocks the sweep looks at per `set_ex`, at most (skipping is one comparison each).
const SWEEP_LOOK: usize = 4;
/// Blocks the sweep scans entry by entry per `set_ex`, at most.
const SWEEP_SCAN: usize = 1;

/// One entry: key, value, deadline, and its neighbours in FIFO order.
struct Slot<K, V> {
    key: K,
    value: V,
    deadline: Timestamp,
    /// The next older entry, or `NIL` at the front.
    prev: u32,
    /// The next newer entry, or `NIL` at the back.
    next: u32,
}

/// Everything behind the lock.
struct Inner<K, V> {
    /// The entries, densely packed: removal moves the last slot into the hole.
    slots: Vec<Slot<K, V>>,
    /// Key → slot index, filed under the hash of `slots[i].key`.
    index: HashTable<u32>,
    /// Oldest entry (evicted first), or `NIL`.
    head: u32,
    /// Newest entry, or `NIL`.
    tail: u32,
    /// For each block of `BLOCK` slots, a lower bound on its entries' deadlines.
    block_min: Vec<Timestamp>,
    /// The next block the sweep looks at.
    hand: usize,
    /// Set while a change that calls the user's `Hash` is under way: a removal, which hashes
    /// the keys it moves, or the index growing, which rehashes every key (hashbrown drops what
    /// it has not rehashed yet if `Hash` panics). A lock poisoned while it is set means the
    /// structure may be inconsistent, or holds a key whose `Hash` panics.
    editing: bool,
}

/// A FIFO cache with a time-to-live per entry that frees expired entries as time passes, and
/// costs a few bytes per entry above the keys, values and deadlines themselves.
///
/// See the [crate documentation](crate#ttlfifocache-the-article-repaired) for the design, its
/// costs and measurements.
///
/// ```
/// use std::time::Duration;
/// use cache_core::{ExpiringCache, ManualClock};
/// use cache_weakfifo::TtlFifoCache;
///
/// let clock = ManualClock::new();
/// let cache = TtlFifoCache::with_clock(1_000, clock.clone());
/// for id in 0..100u64 {
///     cache.set_ex(id, id * 10, Duration::from_secs(60));
/// }
/// cache.set_ex(7, 71, Duration::from_secs(60)); // an overwrite takes no second slot
/// assert_eq!(cache.resident_len(), 100);
/// clock.advance(Duration::from_secs(61)); // t = 61 s: all expired
/// // Writes free expired entries as they go, a bounded amount of work per call ...
/// cache.set_ex(1_000, 0, Duration::from_secs(60));
/// assert!(cache.resident_len() < 100);
/// // ... and maintain() frees every one of them.
/// cache.maintain();
/// assert_eq!(cache.resident_len(), 1);
/// ```
pub struct TtlFifoCache<K, V, C: Clock = SystemClock> {
    maxlen: usize,
    clock: C,
    hasher: foldhash::fast::RandomState,
    inner: Mutex<Inner<K, V>>,
}

impl<K, V> TtlFifoCache<K, V, SystemClock> {
    /// A cache of at most `maxlen` entries on the real monotonic clock.
    ///
    /// `maxlen == 0` keeps nothing. A `maxlen` above `u32::MAX - 1` (about 4.29 billion) is
    /// clamped to it: slot indices are 32-bit, which is what keeps the per-entry cost low.
    pub fn new(maxlen: usize) -> Self {
        Self::with_clock(maxlen, SystemClock::new())
    }
}

impl<K, V, C: Clock> TtlFifoCache<K, V, C> {
    /// A cache of at most `maxlen` entries on `clock`; `maxlen` as in [`TtlFifoCache::new`].
    pub fn with_clock(maxlen: usize, clock: C) -> Self {
        TtlFifoCache {
            maxlen: maxlen.min(MAX_ENTRIES),
            clock,
            hasher: foldhash::fast::RandomState::default(),
            inner: Mutex::new(Inner {
                slots: Vec::new(),
                index: HashTable::new(),
                head: NIL,
                tail: NIL,
                block_min: Vec::new(),
                hand: 0,
                editing: false,
            }),
        }
    }

    /// The most entries the cache holds.
    pub fn maxlen(&self) -> usize {
        self.maxlen
    }

    /// Entries held, expired ones not yet freed included (the same as `resident_len`).
    pub fn len(&self) -> usize {
        self.lock().slots.len()
    }

    /// Whether the cache holds nothing.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The lock. A panic in the user's code while it was held poisons it. A panic in `Eq`
    /// (finding a key), `Clone` (a hit) or `Drop` (of an entry already taken out) comes when
    /// nothing is half-done: the lock is simply used on, nothing lost. A panic in `Hash` while
    /// a removal or the index's growth was under way (`editing`) may have left the structure
    /// inconsistent, and the key that panicked would make every later eviction panic: the
    /// cache is cleared — its entries dropped, as a bounded cache may — and used on.
    fn lock(&self) -> MutexGuard<'_, Inner<K, V>> {
        match self.inner.lock() {
            Ok(guard) => guard,
            Err(poisoned) => {
                let mut guard = poisoned.into_inner();
                if guard.editing {
                    guard.clear();
                }
                self.inner.clear_poison();
                guard
            }
        }
    }
}

impl<K, V> Inner<K, V> {
    /// Drops every entry. The index and the list are emptied first, so a panicking `Drop` of
    /// an entry leaves an empty, consistent structure behind it.
    fn clear(&mut self) {
        self.index.clear();
        self.block_min.clear();
        (self.head, self.tail, self.hand) = (NIL, NIL, 0);
        self.editing = false;
        self.slots.clear();
    }
}

impl<K: Hash + Eq, V> Inner<K, V> {
    /// Makes room in the index for one more entry. Growing rehashes every key; if the user's
    /// `Hash` panics meanwhile, `editing` stays set and the next lock clears the cache.
    fn reserve_index(&mut self, hasher: &impl BuildHasher) {
        self.editing = true;
        let slots = &self.slots;
        self.index
            .reserve(1, |&j| hasher.hash_one(&slots[j as usize].key));
        self.editing = false;
    }

    fn find(&self, hash: u64, key: &K) -> Option<u32> {
        let slots = &self.slots;
        self.index
            .find(hash, |&i| slots[i as usize].key == *key)
            .copied()
    }

    /// Appends slot `i` at the back of the FIFO list.
    fn link_back(&mut self, i: u32) {
        let slot = &mut self.slots[i as usize];
        slot.prev = self.tail;
        slot.next = NIL;
        match self.tail {
            NIL => self.head = i,
            t => self.slots[t as usize].next = i,
        }
        self.tail = i;
    }

    /// Takes slot `i` out of the FIFO list.
    fn unlink(&mut self, i: u32) {
        let (prev, next) = {
            let s = &self.slots[i as usize];
            (s.prev, s.next)
        };
        match prev {
            NIL => self.head = next,
            p => self.slots[p as usize].next = next,
        }
        match next {
            NIL => self.tail = prev,
            n => self.slots[n as usize].prev = prev,
        }
    }

    /// Lowers block `i / BLOCK`'s bound to admit `deadline`.
    fn note_deadline(&mut self, i: usize, deadline: Timestamp) {
        let bound = &mut self.block_min[i / BLOCK];
        *bound = (*bound).min(deadline);
    }

    /// Removes slot `i` and returns it: unlinks it, drops its index entry, and moves the last
    /// slot into the hole so the slots stay dense. The two keys involved are hashed first; the
    /// caller drops the slot once the structure is consistent again (so a panicking `Drop`
    /// loses nothing).
    fn remove(&mut self, i: u32, hasher: &impl BuildHasher) -> Slot<K, V> {
        self.editing = true;
        let last = (self.slots.len() - 1) as u32;
        let hash = hasher.hash_one(&self.slots[i as usize].key);
        let moved_hash = (i != last).then(|| hasher.hash_one(&self.slots[last as usize].key));
        // No user code runs from here on.
        self.unlink(i);
        if let Ok(entry) = self.index.find_entry(hash, |&j| j == i) {
            entry.remove();
        }
        if let Some(hash) = moved_hash {
            // Re-point everything that refers to the last slot at its new place, `i`.
            let (prev, next, dl) = {
                let s = &self.slots[last as usize];
                (s.prev, s.next, s.deadline)
            };
            if let Some(j) = self.index.find_mut(hash, |&j| j == last) {
                *j = i;
            }
            match prev {
                NIL => self.head = i,
                p => self.slots[p as usize].next = i,
            }
            match next {
                NIL => self.tail = i,
                n => self.slots[n as usize].prev = i,
            }
            self.note_deadline(i as usize, dl);
        }
        let removed = self.slots.swap_remove(i as usize);
        self.block_min.truncate(self.slots.len().div_ceil(BLOCK));
        self.editing = false;
        removed
    }

    /// Frees the expired entries at the front of the FIFO, at most `budget` of them.
    fn reclaim_front(&mut self, now: Timestamp, budget: usize, hasher: &impl BuildHasher) {
        for _ in 0..budget {
            match self.head {
                NIL => return,
                h if is_live(self.slots[h as usize].deadline, now) => return,
                h => drop(self.remove(h, hasher)),
            }
        }
    }

    /// Frees every expired entry of block `b`, and tightens the block's bound.
    fn scan_block(&mut self, b: usize, now: Timestamp, hasher: &impl BuildHasher) {
        let mut i = b * BLOCK;
        let mut bound = Timestamp::MAX;
        // Removal moves the last slot into `i`, so `i` is examined again after a removal; the
        // block may also shrink under us when it is the last one.
        while i < ((b + 1) * BLOCK).min(self.slots.len()) {
            let dl = self.slots[i].deadline;
            if is_live(dl, now) {
                bound = bound.min(dl);
                i += 1;
            } else {
                drop(self.remove(i as u32, hasher));
            }
        }
        if let Some(slot) = self.block_min.get_mut(b) {
            *slot = bound;
        }
    }

    /// Advances the sweep: looks at up to `look` blocks, scans those whose bound has passed,
    /// at most `scan` of them.
    fn sweep(&mut self, now: Timestamp, look: usize, scan: usize, hasher: &impl BuildHasher) {
        let mut scanned = 0;
        for _ in 0..look {
            if self.block_min.is_empty() || scanned == scan {
                return;
            }
            if self.hand >= self.block_min.len() {
                self.hand = 0;
            }
            let b = self.hand;
            self.hand += 1;
            if self.block_min[b] < now {
                self.scan_block(b, now, hasher);
                scanned += 1;
            }
        }
    }

    /// Gives memory back after a large drop in size: the slot array and the index shrink to
    /// twice what they hold once they hold less than a quarter of what they can.
    fn shrink_if_sparse(&mut self, hasher: &impl BuildHasher) {
        let len = self.slots.len();
        if self.slots.capacity() > 64 && len < self.slots.capacity() / 4 {
            self.slots.shrink_to(len * 2);
            self.block_min.shrink_to(len.div_ceil(BLOCK) * 2);
            self.editing = true;
            let slots = &self.slots;
            self.index
                .shrink_to(len * 2, |&i| hasher.hash_one(&slots[i as usize].key));
            self.editing = false;
        }
    }
}

impl<K: Hash + Eq, V, C: Clock> TtlFifoCache<K, V, C> {
    #[cfg(test)]
    pub(crate) fn check_invariants(&self) {
        let inner = self.lock();
        let n = inner.slots.len();
        assert!(n <= self.maxlen, "more entries than maxlen");
        assert_eq!(inner.index.len(), n, "index and slots disagree");
        assert_eq!(
            inner.block_min.len(),
            n.div_ceil(BLOCK),
            "one bound per block"
        );
        for (i, s) in inner.slots.iter().enumerate() {
            let hash = self.hasher.hash_one(&s.key);
            assert_eq!(
                inner.find(hash, &s.key),
                Some(i as u32),
                "index of slot {i}"
            );
            assert!(
                inner.block_min[i / BLOCK] <= s.deadline,
                "block bound above slot {i}"
            );
        }
        // The FIFO list visits every slot once, front to back, with consistent back links.
        let (mut seen, mut prev, mut cur) = (0, NIL, inner.head);
        while cur != NIL {
            assert_eq!(
                inner.slots[cur as usize].prev, prev,
                "back link of slot {cur}"
            );
            seen += 1;
            assert!(seen <= n, "the FIFO list has a cycle");
            (prev, cur) = (cur, inner.slots[cur as usize].next);
        }
        assert_eq!(
            (seen, prev),
            (n, inner.tail),
            "the FIFO list covers every slot"
        );
    }

    /// The keys front (oldest) to back, for tests.
    #[cfg(test)]
    pub(crate) fn fifo_keys(&self) -> Vec<K>
    where
        K: Clone,
    {
        let inner = self.lock();
        let mut keys = Vec::new();
        let mut cur = inner.head;
        while cur != NIL {
            keys.push(inner.slots[cur as usize].key.clone());
            cur = inner.slots[cur as usize].next;
        }
        keys
    }
}

impl<K, V, C> ExpiringCache<K, V> for TtlFifoCache<K, V, C>
where
    K: Hash + Eq + Send + Sync,
    V: Clone + Send + Sync,
    C: Clock,
{
    /// A live entry's value. An expired entry found here is freed on the spot.
    fn get_ex(&self, key: &K) -> Option<V> {
        let now = self.clock.now();
        let hash = self.hasher.hash_one(key);
        let mut inner = self.lock();
        let i = inner.find(hash, key)?;
        let slot = &inner.slots[i as usize];
        if is_live(slot.deadline, now) {
            return Some(slot.value.clone());
        }
        // Expired: free it on the spot.
        drop(inner.remove(i, &self.hasher));
        None
    }

    /// Stores the entry; an existing key is replaced in place and moves to the back of the FIFO.
    /// Frees a bounded number of expired entries on the way (see the crate docs).
    fn set_ex(&self, key: K, value: V, ttl: Duration) {
        if self.maxlen == 0 {
            return;
        }
        let now = self.clock.now();
        let dl = deadline(now, ttl);
        let hash = self.hasher.hash_one(&key);
        let hasher = &self.hasher;
        let mut guard = self.lock();
        let inner = &mut *guard;
        inner.reclaim_front(now, FRONT_BUDGET, hasher);
        inner.sweep(now, SWEEP_LOOK, SWEEP_SCAN, hasher);

        if let Some(i) = inner.find(hash, &key) {
            inner.unlink(i);
            inner.link_back(i);
            inner.slots[i as usize].deadline = dl;
            inner.note_deadline(i as usize, dl);
            let old = std::mem::replace(&mut inner.slots[i as usize].value, value);
            // The old value and the new copy of the key are dropped outside the lock.
            drop(guard);
            drop((old, key));
            return;
        }
        // Full of live entries (expired ones at the front were freed above): FIFO eviction. The
        // evicted entry is dropped last, outside the lock.
        let evicted = (inner.slots.len() >= self.maxlen).then(|| {
            let head = inner.head;
            inner.remove(head, hasher)
        });
        inner.reserve_index(hasher);
        let i = inner.slots.len();
        if i == inner.slots.capacity() {
            // Grow by doubling, but never past maxlen: a full cache has no unused slots.
            let target = (i * 2).max(BLOCK).min(self.maxlen);
            inner.slots.reserve_exact(target.max(i + 1) - i);
        }
        inner.slots.push(Slot {
            key,
            value,
            deadline: dl,
            prev: NIL,
            next: NIL,
        });
        if i % BLOCK == 0 {
            inner.block_min.push(dl);
        } else {
            inner.note_deadline(i, dl);
        }
        let slots = &inner.slots;
        inner
            .index
            .insert_unique(hash, i as u32, |&j| hasher.hash_one(&slots[j as usize].key));
        inner.link_back(i as u32);
        drop(guard);
        drop(evicted);
    }

    /// Entries held right now, expired ones not yet freed included. Exact.
    fn resident_len(&self) -> usize {
        self.len()
    }

    /// Frees every expired entry, then gives back memory if the cache has shrunk a lot.
    fn maintain(&self) {
        let now = self.clock.now();
        let mut inner = self.lock();
        let mut b = 0;
        while b < inner.block_min.len() {
            if inner.block_min[b] < now {
                inner.scan_block(b, now, &self.hasher);
            }
            b += 1;
        }
        inner.shrink_if_sparse(&self.hasher);
    }
}

impl<K, V, C: Clock> fmt::Debug for TtlFifoCache<K, V, C> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let inner = self.lock();
        f.debug_struct("TtlFifoCache")
            .field("maxlen", &self.maxlen)
            .field("len", &inner.slots.len())
            .finish_non_exhaustive()
    }
}

#[cfg(test)]
mod tests {
    use std::panic::{AssertUnwindSafe, catch_unwind};
    use std::sync::Arc;
    use std::sync::atomic::{AtomicBool, Ordering};

    use cache_core::ManualClock;
    use proptest::prelude::*;

    use super::*;
    use crate::test_support::{Bomb, Drops, hammer_from_two_threads};

    const SEC: Duration = Duration::from_secs(1);

    #[test]
    fn writes_free_expired_entries_at_the_front_a_few_per_call() {
        let (clock, drops) = (ManualClock::new(), Drops::default());
        let cache = TtlFifoCache::with_clock(100, clock.clone());
        for id in 0..10 {
            cache.set_ex(id, drops.value(id), SEC);
        }
        clock.advance(2 * SEC); // t = 2 s: all ten expired
        assert!(drops.sorted().is_empty(), "expiry alone frees nothing");
        cache.set_ex(100, drops.value(100), 60 * SEC);
        // The front budget (4) and the sweep of block 0 together free all ten at once.
        assert_eq!(drops.sorted(), (0..10).collect::<Vec<_>>());
        assert_eq!(cache.resident_len(), 1);
        cache.check_invariants();
    }

    #[test]
    fn with_mixed_ttls_the_sweep_frees_expired_entries_behind_live_ones() {
        let (clock, drops) = (ManualClock::new(), Drops::default());
        let cache = TtlFifoCache::with_clock(10_000, clock.clone());
        // 1 000 entries alternating between one day and one minute: FIFO order is not deadline
        // order, so the front stays live while half the entries expire behind it.
        for id in 0..1_000u32 {
            let ttl = if id % 2 == 0 { 86_400 * SEC } else { 60 * SEC };
            cache.set_ex(id, drops.value(id), ttl);
        }
        clock.advance(61 * SEC); // t = 61 s: the 500 odd ids expired
        // Each write sweeps a bounded amount; 1 000 entries are 16 blocks, one scanned per write.
        for id in 1_000..1_016u32 {
            cache.set_ex(id, drops.value(id), 86_400 * SEC);
        }
        let odd: Vec<u32> = (0..1_000).filter(|i| i % 2 == 1).collect();
        assert_eq!(
            drops.sorted(),
            odd,
            "every expired entry freed, no live one"
        );
        assert_eq!(cache.resident_len(), 516);
        cache.check_invariants();
    }

    #[test]
    fn maintain_frees_every_expired_entry_and_nothing_else() {
        let (clock, drops) = (ManualClock::new(), Drops::default());
        let cache = TtlFifoCache::with_clock(10_000, clock.clone());
        for id in 0..3_000u32 {
            cache.set_ex(
                id,
                drops.value(id),
                Duration::from_secs(1 + u64::from(id % 7)),
            );
        }
        clock.advance(4 * SEC); // t = 4 s: TTLs of 1..=3 s have expired
        cache.maintain();
        let expired: Vec<u32> = (0..3_000).filter(|i| i % 7 < 3).collect();
        assert_eq!(drops.sorted(), expired);
        assert_eq!(cache.resident_len(), 3_000 - expired.len());
        cache.check_invariants();
    }

    #[test]
    fn maintain_gives_memory_back_after_a_large_drop() {
        let clock = ManualClock::new();
        let cache = TtlFifoCache::with_clock(100_000, clock.clone());
        for id in 0..50_000u64 {
            cache.set_ex(id, id, SEC);
        }
        let full = cache.lock().slots.capacity();
        clock.advance(2 * SEC);
        cache.set_ex(1, 1, 60 * SEC);
        cache.maintain();
        assert_eq!(cache.resident_len(), 1);
        assert!(
            cache.lock().slots.capacity() < full / 100,
            "the slot array shrank"
        );
        cache.check_invariants();
    }

    #[test]
    fn an_overwrite_replaces_in_place_and_moves_to_the_back() {
        let (clock, drops) = (ManualClock::new(), Drops::default());
        let cache = TtlFifoCache::with_clock(3, clock.clone());
        cache.set_ex(1, drops.value(10), SEC);
        cache.set_ex(2, drops.value(20), SEC);
        cache.set_ex(1, drops.value(11), SEC); // the old value of key 1 is dropped at once
        assert_eq!(drops.sorted(), vec![10]);
        assert_eq!(cache.fifo_keys(), vec![2, 1], "key 1 moved to the back");
        cache.set_ex(3, drops.value(30), SEC);
        cache.set_ex(4, drops.value(40), SEC); // full: evicts the front, key 2
        assert_eq!(drops.sorted(), vec![10, 20]);
        assert_eq!(cache.fifo_keys(), vec![1, 3, 4]);
        cache.check_invariants();
        drop(cache);
        assert_eq!(
            drops.sorted(),
            vec![10, 11, 20, 30, 40],
            "dropping the cache frees all"
        );
    }

    #[test]
    fn maxlen_zero_keeps_nothing_and_huge_maxlen_is_clamped() {
        let cache = TtlFifoCache::new(0);
        cache.set_ex(1u8, 1u8, SEC);
        assert_eq!((cache.get_ex(&1), cache.resident_len()), (None, 0));
        let huge = TtlFifoCache::<u8, u8>::new(usize::MAX);
        assert_eq!(huge.maxlen(), MAX_ENTRIES);
        huge.set_ex(1, 1, Duration::MAX);
        assert_eq!(huge.get_ex(&1), Some(1));
    }

    #[test]
    fn a_panicking_hash_under_the_lock_clears_the_cache_instead_of_corrupting_it() {
        let armed = Arc::new(AtomicBool::new(false));
        let safe = Arc::new(AtomicBool::new(false));
        let cache = TtlFifoCache::with_clock(2, ManualClock::new());
        cache.set_ex(Bomb(1, Arc::clone(&armed)), 1, SEC);
        cache.set_ex(Bomb(2, Arc::clone(&safe)), 2, SEC);
        armed.store(true, Ordering::SeqCst);
        // Full: the new key evicts Bomb(1), whose hash panics half-way through the removal.
        let r = catch_unwind(AssertUnwindSafe(|| {
            cache.set_ex(Bomb(3, Arc::clone(&safe)), 3, SEC)
        }));
        assert!(r.is_err());
        assert_eq!(cache.resident_len(), 0, "the poisoned cache was cleared");
        cache.set_ex(Bomb(4, Arc::clone(&safe)), 4, SEC);
        assert_eq!(cache.get_ex(&Bomb(4, safe)), Some(4));
        cache.check_invariants();
    }

    #[test]
    fn a_panicking_clone_on_a_hit_changes_nothing() {
        let (clock, drops) = (ManualClock::new(), Drops::default());
        let cache = TtlFifoCache::with_clock(4, clock.clone());
        let touchy = drops.touchy(1);
        let switch = Arc::clone(&touchy.panic_on_clone);
        cache.set_ex(1u32, touchy, SEC);
        cache.set_ex(2u32, drops.touchy(2), SEC);
        switch.store(true, Ordering::SeqCst);
        assert!(catch_unwind(AssertUnwindSafe(|| cache.get_ex(&1))).is_err());
        switch.store(false, Ordering::SeqCst);
        assert_eq!(
            cache.resident_len(),
            2,
            "a read that changed nothing clears nothing"
        );
        assert_eq!(cache.get_ex(&1).map(|v| v.inner.id), Some(1));
        assert!(drops.sorted().is_empty());
        cache.check_invariants();
    }

    #[test]
    fn a_panicking_drop_of_a_freed_value_loses_nothing_else() {
        let (clock, drops) = (ManualClock::new(), Drops::default());
        let cache = TtlFifoCache::with_clock(2, clock.clone());
        let first = drops.touchy(1);
        first.panic_on_drop.store(true, Ordering::SeqCst);
        cache.set_ex(1u32, first, SEC);
        cache.set_ex(2u32, drops.touchy(2), SEC);
        // Full: key 3 evicts key 1, whose value panics as it is dropped.
        let r = catch_unwind(AssertUnwindSafe(|| cache.set_ex(3, drops.touchy(3), SEC)));
        assert!(r.is_err());
        assert_eq!(
            drops.sorted(),
            vec![1],
            "the evicted value was dropped once"
        );
        assert_eq!(
            cache.get_ex(&3).map(|v| v.inner.id),
            Some(3),
            "the new entry is in"
        );
        assert_eq!(
            cache.get_ex(&2).map(|v| v.inner.id),
            Some(2),
            "nothing else was lost"
        );
        cache.set_ex(4, drops.touchy(4), SEC);
        assert_eq!(cache.get_ex(&4).map(|v| v.inner.id), Some(4));
        cache.check_invariants();
        drop(cache);
        assert_eq!(
            drops.sorted(),
            vec![1, 2, 3, 4],
            "every value dropped exactly once"
        );
    }

    #[test]
    fn two_threads_neither_panic_nor_deadlock_and_keep_the_invariants() {
        let clock = ManualClock::new();
        let cache = TtlFifoCache::with_clock(300, clock.clone());
        hammer_from_two_threads(&cache, &clock, 500);
        cache.check_invariants();
    }

    #[derive(Clone, Debug)]
    enum Op {
        Set(u16, u16, Duration),
        Get(u16),
        Advance(Duration),
        Maintain,
    }

    fn op(keys: u16) -> impl Strategy<Value = Op> {
        let ttl = prop_oneof![
            Just(Duration::ZERO),
            Just(Duration::from_nanos(1)),
            Just(SEC),
            Just(5 * SEC),
            Just(10 * SEC),
            Just(Duration::MAX),
        ];
        let step = prop_oneof![
            Just(Duration::ZERO),
            Just(Duration::from_nanos(1)),
            Just(SEC),
            Just(5 * SEC),
            Just(10 * SEC),
        ];
        prop_oneof![
            5 => (0..keys, any::<u16>(), ttl).prop_map(|(k, v, t)| Op::Set(k, v, t)),
            4 => (0..keys).prop_map(Op::Get),
            2 => step.prop_map(Op::Advance),
            1 => Just(Op::Maintain),
        ]
    }

    fn case() -> impl Strategy<Value = (usize, Vec<Op>)> {
        prop_oneof![
            (0usize..=8, proptest::collection::vec(op(6), 1..200)),
            (
                prop_oneof![Just(16usize), Just(64), Just(100), Just(200)],
                proptest::collection::vec(op(160), 1..600)
            ),
        ]
    }

    proptest! {
        /// The reference model: every key ever set, in last-set order, with its value and
        /// deadline. What it guarantees of the cache: a hit is the latest value and live; a live
        /// key with fewer than `maxlen` keys set after it is a hit; after maintain() only live
        /// entries are resident.
        #[test]
        fn agrees_with_the_reference_model((maxlen, ops) in case()) {
            let clock = ManualClock::new();
            let cache = TtlFifoCache::with_clock(maxlen, clock.clone());
            let mut model: Vec<(u16, u16, Timestamp)> = Vec::new();
            for (step, op) in ops.into_iter().enumerate() {
                let now = clock.now();
                match op {
                    Op::Set(k, v, ttl) => {
                        cache.set_ex(k, v, ttl);
                        model.retain(|e| e.0 != k);
                        model.push((k, v, deadline(now, ttl)));
                    }
                    Op::Get(k) => {
                        let got = cache.get_ex(&k);
                        let pos = model.iter().position(|e| e.0 == k);
                        match (got, pos) {
                            (Some(v), Some(p)) => {
                                prop_assert_eq!(v, model[p].1, "stale value at step {}", step);
                                prop_assert!(is_live(model[p].2, now), "expired hit at step {}", step);
                            }
                            (Some(v), None) => prop_assert!(false, "hit {} for unset key at step {}", v, step),
                            (None, Some(p)) => {
                                let newer = model.len() - 1 - p;
                                prop_assert!(
                                    !(is_live(model[p].2, now) && newer < maxlen),
                                    "live key {} with {} newer keys missed at step {}", k, newer, step
                                );
                            }
                            (None, None) => {}
                        }
                    }
                    Op::Advance(d) => clock.advance(d),
                    Op::Maintain => {
                        cache.maintain();
                        let live_hits = model.iter().filter(|e| cache.get_ex(&e.0).is_some()).count();
                        prop_assert_eq!(cache.resident_len(), live_hits, "after maintain, step {}", step);
                    }
                }
                prop_assert!(cache.resident_len() <= maxlen);
                cache.check_invariants();
            }
        }
    }
}
