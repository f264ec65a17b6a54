//! [`TtlFifoCache`]: the article's cache, repaired — with plain FIFO or S3-FIFO eviction, on one
//! lock or sharded.

mod ghost;
mod shard;

use std::fmt;
use std::hash::{BuildHasher, Hash};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Mutex, MutexGuard};
use std::time::Duration;

use cache_core::{Clock, Deadline, ExpiringCache, SystemClock, Timestamp, deadline, is_live};

pub(crate) use shard::MAX_ENTRIES;
use shard::Shard;

/// Expired entries at the queues' fronts freed per `set_ex`, at most.
const FRONT_BUDGET: usize = 4;
/// Blocks the sweep looks at per `set_ex`, at most (skipping is one comparison each).
const SWEEP_LOOK: usize = 4;
/// Blocks the sweep scans entry by entry per `set_ex`, at most.
const SWEEP_SCAN: usize = 1;
/// S3-FIFO: accesses on probation that earn an entry its place in the main queue. Measured on
/// every trace of the report (`--traces all`, 68 cells), with the ghost then sized to the main
/// queue: 2 gave a mean hit ratio of 38.25 %, 1 gave 38.12 % and fell further below plain FIFO
/// on the zigzag trace (17 points against 13). (The ghost's later sizing raised the mean to
/// 38.9 %: see the crate docs.)
const PROMOTE_AT: u8 = 2;
/// Expired entries `maintain()` frees under one holding of a shard's lock, at most (about):
/// then it drops them, the lock released, and goes on.
const MAINTAIN_BATCH: usize = 4_096;
/// Entries a shard holds at least, when the shard count is chosen by default.
const MIN_SHARD: usize = 256;

/// The hasher a cache uses unless told otherwise: foldhash, seeded at random per cache.
pub type DefaultHasher = foldhash::fast::RandomState;

/// How a full cache chooses what to evict.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum Policy {
    /// First in, first out: the oldest entry goes; a re-set key counts as new. No per-entry
    /// state.
    #[default]
    Fifo,
    /// S3-FIFO (Yang et al., SOSP 2023): new keys wait in a small queue (a tenth of the
    /// capacity); one accessed there moves to the main queue, the others leave and are
    /// remembered by a ghost, so that one coming back soon enters the main queue directly; at
    /// the main queue's front an entry accessed since its last round gets another round.
    S3Fifo,
}

/// One shard, on a cache line of its own (two shards' locks never share one).
#[repr(align(128))]
struct Padded<K, V>(Mutex<Shard<K, V>>);

/// The cache's count of entries, on a cache line of its own.
#[repr(align(128))]
#[derive(Default)]
struct Count(AtomicUsize);

/// A place in the cache's count, held while an entry is inserted: given back if the insertion
/// does not happen (a panic in the user's `Hash` while the index grows, or an overwrite after
/// all), kept (`forget`) once the entry is in.
struct Ticket<'a>(&'a AtomicUsize);

impl Drop for Ticket<'_> {
    fn drop(&mut self) {
        self.0.fetch_sub(1, Ordering::Relaxed);
    }
}

/// A cache with a time-to-live per entry that frees expired entries as time passes, and costs
/// a few bytes per entry above the keys, values and deadlines themselves; eviction by plain
/// FIFO or S3-FIFO ([`Policy`]); one lock, or several shards for threads.
///
/// See the [crate documentation](crate#ttlfifocache-the-article-repaired) for the design, its
/// costs and measurements.
///
/// ```
/// use std::time::Duration;
/// use cache_core::{ExpiringCache, ManualClock};
/// use cache_weakfifo::{Policy, TtlFifoCache};
///
/// let clock = ManualClock::new();
/// let cache = TtlFifoCache::builder(1_000)
///     .policy(Policy::S3Fifo)
///     .clock(clock.clone())
///     .build();
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
pub struct TtlFifoCache<K, V, C: Clock = SystemClock, S = DefaultHasher> {
    maxlen: usize,
    policy: Policy,
    clock: C,
    hasher: S,
    shards: Box<[Padded<K, V>]>,
    /// Entries held by every shard together, plus places taken by insertions under way and
    /// not yet given back by removals under way: never below the entries held, never above
    /// `maxlen`. It is what bounds the cache; the shards borrow room from each other through it.
    count: Count,
}

/// Builds a [`TtlFifoCache`]: `TtlFifoCache::builder(maxlen).policy(..).clock(..).build()`.
#[derive(Debug, Clone)]
pub struct Builder<C = SystemClock, S = DefaultHasher> {
    maxlen: usize,
    policy: Policy,
    shards: Option<usize>,
    clock: C,
    hasher: S,
}

impl<C: Clock, S: BuildHasher> Builder<C, S> {
    /// The eviction policy [default: FIFO].
    pub fn policy(mut self, policy: Policy) -> Self {
        self.policy = policy;
        self
    }

    /// The number of shards, rounded up to a power of two [default: four per CPU, fewer when
    /// shards would hold under 256 entries each]. `shards(1)` is one lock and one exact global
    /// queue; with several, each key's shard is chosen by its hash and eviction order is kept
    /// per shard, while the capacity stays exact: the shards share one count of entries, so
    /// `maxlen` distinct keys all fit, and never more.
    pub fn shards(mut self, shards: usize) -> Self {
        self.shards = Some(shards.clamp(1, 1 << 16));
        self
    }

    /// The clock [default: the real monotonic clock].
    pub fn clock<C2: Clock>(self, clock: C2) -> Builder<C2, S> {
        Builder {
            maxlen: self.maxlen,
            policy: self.policy,
            shards: self.shards,
            clock,
            hasher: self.hasher,
        }
    }

    /// The hasher [default: foldhash, seeded at random]. A fixed seed makes which shard each
    /// key lands in, and so the entries held near capacity, the same from run to run.
    pub fn hasher<S2: BuildHasher>(self, hasher: S2) -> Builder<C, S2> {
        Builder {
            maxlen: self.maxlen,
            policy: self.policy,
            shards: self.shards,
            clock: self.clock,
            hasher,
        }
    }

    /// The cache.
    pub fn build<K, V>(self) -> TtlFifoCache<K, V, C, S> {
        let maxlen = self.maxlen.min(MAX_ENTRIES);
        let n = self
            .shards
            .unwrap_or_else(|| {
                let cpus = std::thread::available_parallelism().map_or(1, |n| n.get());
                default_shards(maxlen, cpus)
            })
            .next_power_of_two();
        let shards = (0..n)
            .map(|i| maxlen / n + usize::from(i < maxlen % n))
            .map(|share| Padded(Mutex::new(Shard::new(share, maxlen, self.policy))))
            .collect();
        TtlFifoCache {
            maxlen,
            policy: self.policy,
            clock: self.clock,
            hasher: self.hasher,
            shards,
            count: Count::default(),
        }
    }
}

/// Four shards per CPU (a power of two), halved while a shard would hold under [`MIN_SHARD`].
fn default_shards(maxlen: usize, cpus: usize) -> usize {
    let mut n = cpus.saturating_mul(4).next_power_of_two();
    while n > 1 && maxlen / n < MIN_SHARD {
        n /= 2;
    }
    n
}

impl TtlFifoCache<(), (), SystemClock> {
    /// A builder for a cache of at most `maxlen` entries.
    ///
    /// `maxlen == 0` keeps nothing. A `maxlen` above 2^30 − 2 (about 1.07 billion) is clamped to
    /// it: slot indices are 30-bit, and the links' two other bits carry S3-FIFO's state, which
    /// is what keeps the per-entry cost low.
    pub fn builder(maxlen: usize) -> Builder {
        Builder {
            maxlen,
            policy: Policy::Fifo,
            shards: None,
            clock: SystemClock::new(),
            hasher: DefaultHasher::default(),
        }
    }
}

impl<K, V> TtlFifoCache<K, V, SystemClock> {
    /// A FIFO cache of at most `maxlen` entries on the real monotonic clock, one lock
    /// (`builder(maxlen).shards(1).build()`).
    pub fn new(maxlen: usize) -> Self {
        TtlFifoCache::builder(maxlen).shards(1).build()
    }
}

impl<K, V, C: Clock> TtlFifoCache<K, V, C> {
    /// A FIFO cache of at most `maxlen` entries on `clock`, one lock
    /// (`builder(maxlen).shards(1).clock(clock).build()`).
    pub fn with_clock(maxlen: usize, clock: C) -> Self {
        TtlFifoCache::builder(maxlen).shards(1).clock(clock).build()
    }
}

impl<K, V, C: Clock, S> TtlFifoCache<K, V, C, S> {
    /// The most entries the cache holds.
    pub fn maxlen(&self) -> usize {
        self.maxlen
    }

    /// The eviction policy.
    pub fn policy(&self) -> Policy {
        self.policy
    }

    /// The number of shards.
    pub fn shards(&self) -> usize {
        self.shards.len()
    }

    /// Entries held, expired ones not yet freed included (the same as `resident_len`).
    pub fn len(&self) -> usize {
        (0..self.shards.len())
            .map(|i| {
                let shard = self.lock(i);
                let len = shard.slots.len();
                self.unlock(shard);
                len
            })
            .sum()
    }

    /// Whether the cache holds nothing.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Shard `i`'s lock. A panic in the user's code while it was held poisons it. A panic in
    /// `Eq` (finding a key) or `Clone` (a hit) comes when nothing is half-done: the lock is
    /// simply used on, nothing lost. A panic in `Hash` while a removal or the index's growth
    /// was under way (`editing`) may have left the shard inconsistent, and the key that
    /// panicked would make every later eviction panic: the shard is cleared — its entries
    /// dropped (by [`Self::unlock`], after the lock), as a bounded cache may — and used on.
    /// Either way, removals the panicking call had not settled in the count are settled.
    fn lock(&self, i: usize) -> MutexGuard<'_, Shard<K, V>> {
        let m = &self.shards[i].0;
        match m.lock() {
            Ok(guard) => guard,
            Err(poisoned) => {
                let mut guard = poisoned.into_inner();
                if guard.editing {
                    guard.clear();
                }
                self.settle(&mut guard);
                m.clear_poison();
                guard
            }
        }
    }

    /// Gives back the count's places of the entries the shard has removed.
    fn settle(&self, shard: &mut Shard<K, V>) {
        let freed = std::mem::take(&mut shard.freed);
        if freed > 0 {
            self.count.0.fetch_sub(freed, Ordering::Relaxed);
        }
    }

    /// One of the places the shard's removals freed, taken for a new entry instead of being
    /// given back (no atomic write), if it freed any.
    fn reuse_freed(&self, shard: &mut Shard<K, V>) -> Option<Ticket<'_>> {
        (shard.freed > 0).then(|| {
            shard.freed -= 1;
            Ticket(&self.count.0)
        })
    }

    /// A place in the count, if the cache is not full.
    fn acquire(&self) -> Option<Ticket<'_>> {
        let count = &self.count.0;
        // One load when full (the steady state of a cache under a stream of new keys).
        let mut held = count.load(Ordering::Relaxed);
        while held < self.maxlen {
            match count.compare_exchange_weak(held, held + 1, Ordering::Relaxed, Ordering::Relaxed)
            {
                Ok(_) => return Some(Ticket(count)),
                Err(now) => held = now,
            }
        }
        None
    }

    /// Settles the shard's removals, releases its lock, then drops what it removed: no user
    /// `Drop` runs under a lock.
    fn unlock(&self, mut shard: MutexGuard<'_, Shard<K, V>>) {
        self.settle(&mut shard);
        if shard.trash.is_empty() {
            return;
        }
        let trash = std::mem::take(&mut shard.trash);
        drop(shard);
        drop(trash);
    }

    /// The shard of a key with this hash (bits 32 up: hashbrown's index uses the low bits and
    /// the top seven, and the ghost bits 40 up of what the shard leaves).
    fn shard_of(&self, hash: u64) -> usize {
        (hash >> 32) as usize & (self.shards.len() - 1)
    }
}

impl<K: Hash + Eq, V, C: Clock, S: BuildHasher> TtlFifoCache<K, V, C, S> {
    /// Inserts a new key when the cache is full and the key's own shard (`home`) is empty:
    /// the next shard that holds anything evicts by its policy and hands its place in the
    /// count over. One lock at a time, so no two are ever held together. If every other shard
    /// was emptied meanwhile, room has been freed and is taken instead; if even that was taken
    /// by another thread, the entry is declined (the contract allows it).
    fn insert_borrowing(
        &self,
        home: usize,
        hash: u64,
        key: K,
        value: V,
        dl: Deadline,
        now: Timestamp,
    ) {
        let n = self.shards.len();
        let mut ticket = None;
        for step in 1..n {
            let mut shard = self.lock((home + step) & (n - 1));
            let victim = shard.evict(now, &self.hasher);
            ticket = self.reuse_freed(&mut shard);
            self.unlock(shard);
            drop(victim);
            if ticket.is_some() {
                break;
            }
        }
        let Some(ticket) = ticket.or_else(|| self.acquire()) else {
            return;
        };
        let mut shard = self.lock(home);
        let old = match shard.find(hash, &key) {
            // Set by another thread meanwhile: overwritten; the place goes back.
            Some(i) => Some(shard.overwrite(i, key, value, dl)),
            None => {
                shard.insert(hash, key, value, dl, &self.hasher);
                std::mem::forget(ticket);
                None
            }
        };
        self.unlock(shard);
        drop(old);
    }

    /// Checks every shard's invariants (tests).
    #[cfg(test)]
    pub(crate) fn check_invariants(&self) {
        let (mut total, mut held) = (0, 0);
        for i in 0..self.shards.len() {
            let shard = self.lock(i);
            shard.check(&self.hasher);
            for s in &shard.slots {
                assert_eq!(
                    self.shard_of(self.hasher.hash_one(&s.key)),
                    i,
                    "key in its shard"
                );
            }
            total += shard.share;
            held += shard.slots.len();
        }
        assert_eq!(total, self.maxlen, "the shards' shares add up to maxlen");
        assert_eq!(
            self.count.0.load(Ordering::Relaxed),
            held,
            "the count is the entries held"
        );
        assert!(
            held <= self.maxlen,
            "{held} entries held, above {}",
            self.maxlen
        );
    }

    /// The keys of one shard's small (plain FIFO: only) queue and main queue, oldest first
    /// (tests, one shard).
    #[cfg(test)]
    pub(crate) fn queues(&self) -> (Vec<K>, Vec<K>)
    where
        K: Clone,
    {
        let shard = self.lock(0);
        let keys = |q| shard.keys(q).into_iter().cloned().collect();
        (keys(shard::Queue::Small), keys(shard::Queue::Main))
    }

    /// The slot arrays' capacity, the indexes' bucket capacity, the bound arrays' capacity and
    /// the ghosts' bytes, summed over the shards (tests).
    #[cfg(test)]
    pub(crate) fn tables(&self) -> [usize; 4] {
        (0..self.shards.len())
            .map(|i| self.lock(i).tables())
            .fold([0; 4], |a, b| std::array::from_fn(|j| a[j] + b[j]))
    }

    /// The keys of shard 0's slots, in slot order (tests).
    #[cfg(test)]
    pub(crate) fn slot_keys(&self) -> Vec<K>
    where
        K: Clone,
    {
        self.lock(0).slots.iter().map(|s| s.key.clone()).collect()
    }

    /// The entries of each shard (tests).
    #[cfg(test)]
    pub(crate) fn shard_lens(&self) -> Vec<usize> {
        (0..self.shards.len())
            .map(|i| self.lock(i).slots.len())
            .collect()
    }
}

impl<K, V, C, S> ExpiringCache<K, V> for TtlFifoCache<K, V, C, S>
where
    K: Hash + Eq + Send + Sync,
    V: Clone + Send + Sync,
    C: Clock,
    S: BuildHasher + Send + Sync,
{
    /// A live entry's value (S3-FIFO counts the access). An expired entry found here is freed
    /// on the spot.
    fn get_ex(&self, key: &K) -> Option<V> {
        let now = self.clock.now();
        let hash = self.hasher.hash_one(key);
        let mut shard = self.lock(self.shard_of(hash));
        let i = shard.find(hash, key)?;
        if is_live(shard.slots[i as usize].deadline, now) {
            shard.touch(i);
            return Some(shard.slots[i as usize].value.clone());
        }
        // Expired: free it on the spot (dropped once the shard is unlocked; not through the
        // trash, whose first push would allocate).
        let (expired, _) = shard.remove_hashed(i, hash, &self.hasher);
        self.unlock(shard);
        drop(expired);
        None
    }

    /// Stores the entry. An existing key is replaced in place: plain FIFO moves it to the back
    /// of the queue, S3-FIFO counts an access. Frees a bounded number of expired entries on the
    /// way (see the crate docs).
    fn set_ex(&self, key: K, value: V, ttl: Duration) {
        if self.maxlen == 0 {
            return;
        }
        let now = self.clock.now();
        let dl = deadline(now, ttl);
        let hash = self.hasher.hash_one(&key);
        let h = &self.hasher;
        let home = self.shard_of(hash);
        let mut guard = self.lock(home);
        let shard = &mut *guard;
        shard.reclaim_fronts(now, FRONT_BUDGET, h);
        shard.sweep(now, SWEEP_LOOK, SWEEP_SCAN, h);
        if let Some(i) = shard.find(hash, &key) {
            let old = shard.overwrite(i, key, value, dl);
            // The old key and value are dropped outside the lock.
            self.unlock(guard);
            drop(old);
            return;
        }
        // A new key needs a place in the count: one an expired entry freed above gives up, or
        // a free one ...
        if let Some(ticket) = self.reuse_freed(shard).or_else(|| self.acquire()) {
            shard.insert(hash, key, value, dl, h);
            std::mem::forget(ticket);
            self.unlock(guard);
            return;
        }
        // ... or, the cache being full of live entries, the place of the policy's victim in
        // this shard, whose slot the new entry takes. The victim is dropped outside the lock.
        match shard.replace_victim(now, hash, key, value, dl, h) {
            Ok(victim) => {
                self.unlock(guard);
                drop(victim);
            }
            Err((key, value)) => {
                // Full, and this shard is empty: the entries are in other shards.
                self.unlock(guard);
                self.insert_borrowing(home, hash, key, value, dl, now);
            }
        }
    }

    /// Entries held right now, expired ones not yet freed included. Exact.
    fn resident_len(&self) -> usize {
        self.len()
    }

    /// Frees every expired entry of every shard, then gives back memory where a shard has
    /// shrunk a lot.
    ///
    /// What it frees is dropped outside the lock, a few thousand entries at a time.
    fn maintain(&self) {
        let now = self.clock.now();
        for i in 0..self.shards.len() {
            loop {
                let mut shard = self.lock(i);
                let done = shard.reclaim_all(now, MAINTAIN_BATCH, &self.hasher);
                if done {
                    shard.shrink_if_sparse(&self.hasher);
                }
                self.unlock(shard);
                if done {
                    break;
                }
            }
        }
    }
}

impl<K, V, C: Clock, S> fmt::Debug for TtlFifoCache<K, V, C, S> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("TtlFifoCache")
            .field("maxlen", &self.maxlen)
            .field("policy", &self.policy)
            .field("shards", &self.shards.len())
            .field("len", &self.len())
            .finish_non_exhaustive()
    }
}

#[cfg(test)]
mod tests;
