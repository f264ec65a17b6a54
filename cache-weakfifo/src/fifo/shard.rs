//! One shard of a [`TtlFifoCache`](super::TtlFifoCache): its entries, their index, the FIFO
//! queues threaded through them, the expiry bounds the sweep reads, and the S3-FIFO ghost.

use std::hash::{BuildHasher, Hash};

use cache_core::{Deadline, Timestamp, is_live};
use hashbrown::HashTable;

use super::Policy;
use super::ghost::Ghost;

/// Bits of a link that hold a slot index.
const INDEX_BITS: u32 = 30;
/// The index part of a link.
const INDEX_MASK: u32 = (1 << INDEX_BITS) - 1;
/// No slot: the end of a queue.
pub(super) const NIL: u32 = INDEX_MASK;
/// The most entries a shard holds: slot indices have 30 bits, and `NIL` is reserved.
pub(crate) const MAX_ENTRIES: usize = (INDEX_MASK - 1) as usize;
/// Slots per sweep block: the sweep skips a whole block when its earliest deadline is ahead.
pub(super) const BLOCK: usize = 64;
/// The most accesses an entry's frequency counts (two bits).
const MAX_FREQ: u8 = 3;

/// Which queue an entry is in. Plain FIFO uses `Small` only.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum Queue {
    /// S3-FIFO's small queue (probation), or the one queue of plain FIFO.
    Small = 0,
    /// S3-FIFO's main queue.
    Main = 1,
}

/// One entry: key, value, deadline, and its neighbours in its queue. The links' two top bits
/// hold S3-FIFO's state: `prev`'s the access frequency (0–3), `next`'s top bit the queue.
pub(super) struct Slot<K, V> {
    pub(super) key: K,
    pub(super) value: V,
    pub(super) deadline: Deadline,
    /// Frequency (2 bits) | the next older entry, or `NIL` at the front (30 bits).
    prev: u32,
    /// Queue (1 bit) | spare (1 bit) | the next newer entry, or `NIL` at the back (30 bits).
    next: u32,
}

impl<K, V> Slot<K, V> {
    fn prev(&self) -> u32 {
        self.prev & INDEX_MASK
    }

    fn next(&self) -> u32 {
        self.next & INDEX_MASK
    }

    fn set_prev(&mut self, p: u32) {
        self.prev = (self.prev & !INDEX_MASK) | p;
    }

    fn set_next(&mut self, n: u32) {
        self.next = (self.next & !INDEX_MASK) | n;
    }

    pub(super) fn freq(&self) -> u8 {
        (self.prev >> INDEX_BITS) as u8
    }

    fn set_freq(&mut self, f: u8) {
        self.prev = (self.prev & INDEX_MASK) | (u32::from(f) << INDEX_BITS);
    }

    pub(super) fn queue(&self) -> Queue {
        if self.next >> 31 == 1 {
            Queue::Main
        } else {
            Queue::Small
        }
    }
}

/// Everything behind one shard's lock.
pub(super) struct Shard<K, V> {
    /// The entries, densely packed: removal moves the last slot into the hole.
    pub(super) slots: Vec<Slot<K, V>>,
    /// Key → slot index, filed under the hash of `slots[i].key`.
    index: HashTable<u32>,
    /// Oldest entry of each queue (evicted first), or `NIL`.
    pub(super) front: [u32; 2],
    /// Newest entry of each queue, or `NIL`.
    back: [u32; 2],
    /// Entries in each queue.
    pub(super) len: [usize; 2],
    /// For each block of `BLOCK` slots, a lower bound on its entries' deadlines.
    pub(super) block_min: Vec<Deadline>,
    /// The next block the sweep looks at.
    hand: usize,
    /// Set while a change that calls the user's `Hash` is under way: a removal, which hashes
    /// the keys it moves, or the index growing, which rehashes every key (hashbrown drops what
    /// it has not rehashed yet if `Hash` panics). A lock poisoned while it is set means the
    /// structure may be inconsistent, or holds a key whose `Hash` panics.
    pub(super) editing: bool,
    /// The hash of the next likely victim's key, as `(slot, hash)` (`slot` is `NIL` when there
    /// is none): computed as an insertion into a full shard ends, while the misses of that
    /// insertion are still outstanding, so that the next one need not wait for the victim's
    /// key to come from memory before it can leave the index. Valid while that slot holds the
    /// same key: a slot's key changes only when a new key takes it or a removal moves another
    /// slot into it, and both update this.
    next_victim: (u32, u64),
    /// This shard's share of the cache's capacity: what it holds when keys spread evenly. It
    /// sizes the small queue, the ghost and the slot array's first growth; it is not a bound —
    /// the cache's count of entries is (see `TtlFifoCache::count`).
    pub(super) share: usize,
    /// The most entries the shard may ever hold: the cache's capacity.
    limit: usize,
    /// Past its share, the slot array grows by this many slots at a time: about one standard
    /// deviation of how many keys a hash sends to the shard (√share), at least 8.
    grow_step: usize,
    /// S3-FIFO's small queue holds about this many before it is evicted from.
    small_target: usize,
    /// Entries removed whose place in the cache's count has not been given back yet: the cache
    /// settles it before it unlocks the shard.
    pub(super) freed: usize,
    /// Entries removed, to be dropped once the lock is released (so that a slow or re-entrant
    /// `Drop` never runs under the lock).
    pub(super) trash: Vec<Slot<K, V>>,
    /// The eviction policy.
    pub(super) policy: Policy,
    /// S3-FIFO's ghost, remembering about as many evicted keys as the shard holds (unused by
    /// plain FIFO).
    ghost: Ghost,
}

impl<K, V> Shard<K, V> {
    /// An empty shard whose share of the cache is `share` entries, in a cache of `limit`.
    pub(super) fn new(share: usize, limit: usize, policy: Policy) -> Self {
        let small_target = (share / 10).max(1);
        // Keys fall into shards at random: a shard's count after `limit` insertions has a
        // standard deviation of about √share, so about half the shards pass their share, most
        // by less than a step or two.
        let grow_step = share.isqrt().max(8);
        Shard {
            slots: Vec::new(),
            index: HashTable::new(),
            front: [NIL; 2],
            back: [NIL; 2],
            len: [0; 2],
            block_min: Vec::new(),
            hand: 0,
            editing: false,
            next_victim: (NIL, 0),
            share,
            limit,
            grow_step,
            small_target,
            freed: 0,
            trash: Vec::new(),
            policy,
            ghost: Ghost::new(share),
        }
    }

    /// Takes every entry out, into the trash (to be dropped once the lock is released).
    pub(super) fn clear(&mut self) {
        self.index.clear();
        self.block_min.clear();
        (self.front, self.back, self.len, self.hand) = ([NIL; 2], [NIL; 2], [0; 2], 0);
        self.editing = false;
        self.next_victim = (NIL, 0);
        self.freed += self.slots.len();
        self.trash.append(&mut self.slots);
    }

    /// Appends slot `i` at the back of queue `q`.
    fn link_back(&mut self, i: u32, q: Queue) {
        let back = self.back[q as usize];
        let slot = &mut self.slots[i as usize];
        slot.set_prev(back);
        // The queue bit, the spare bit clear, and no next entry.
        slot.next = ((q as u32) << 31) | NIL;
        match back {
            NIL => self.front[q as usize] = i,
            b => self.slots[b as usize].set_next(i),
        }
        self.back[q as usize] = i;
        self.len[q as usize] += 1;
    }

    /// Takes slot `i` out of its queue.
    fn unlink(&mut self, i: u32) {
        let s = &self.slots[i as usize];
        let (prev, next, q) = (s.prev(), s.next(), s.queue() as usize);
        match prev {
            NIL => self.front[q] = next,
            p => self.slots[p as usize].set_next(next),
        }
        match next {
            NIL => self.back[q] = prev,
            n => self.slots[n as usize].set_prev(prev),
        }
        self.len[q] -= 1;
    }

    /// Lowers block `i / BLOCK`'s bound to admit `deadline`.
    fn note_deadline(&mut self, i: usize, deadline: Deadline) {
        let bound = &mut self.block_min[i / BLOCK];
        *bound = (*bound).min(deadline);
    }

    /// Counts an access to slot `i` (S3-FIFO; plain FIFO keeps no count).
    pub(super) fn touch(&mut self, i: u32) {
        if self.policy == Policy::S3Fifo {
            let s = &mut self.slots[i as usize];
            s.set_freq((s.freq() + 1).min(MAX_FREQ));
        }
    }
}

impl<K: Hash + Eq, V> Shard<K, V> {
    pub(super) fn find(&self, hash: u64, key: &K) -> Option<u32> {
        let slots = &self.slots;
        self.index
            .find(hash, |&i| slots[i as usize].key == *key)
            .copied()
    }

    /// Removes slot `i` and returns it with its key's hash: unlinks it, drops its index entry,
    /// and moves the last slot into the hole so the slots stay dense. The two keys involved are
    /// hashed first; the caller drops the slot once the structure is consistent again (so a
    /// panicking `Drop` loses nothing).
    pub(super) fn remove(&mut self, i: u32, hasher: &impl BuildHasher) -> (Slot<K, V>, u64) {
        let hash = self.hash_of(i, hasher);
        self.remove_hashed(i, hash, hasher)
    }

    /// [`Shard::remove`], for a slot whose key's hash the caller has already (a lookup).
    pub(super) fn remove_hashed(
        &mut self,
        i: u32,
        hash: u64,
        hasher: &impl BuildHasher,
    ) -> (Slot<K, V>, u64) {
        self.editing = true;
        let last = (self.slots.len() - 1) as u32;
        let moved_hash = (i != last).then(|| self.hash_of(last, hasher));
        // No user code runs from here on.
        self.next_victim = match self.next_victim {
            (s, _) if s == i => (NIL, 0),
            (s, h) if s == last => (i, h),
            other => other,
        };
        self.unlink(i);
        if let Ok(entry) = self.index.find_entry(hash, |&j| j == i) {
            entry.remove();
        }
        if let Some(moved) = moved_hash {
            // Re-point everything that refers to the last slot at its new place, `i`.
            let s = &self.slots[last as usize];
            let (prev, next, q, dl) = (s.prev(), s.next(), s.queue() as usize, s.deadline);
            if let Some(j) = self.index.find_mut(moved, |&j| j == last) {
                *j = i;
            }
            match prev {
                NIL => self.front[q] = i,
                p => self.slots[p as usize].set_next(i),
            }
            match next {
                NIL => self.back[q] = i,
                n => self.slots[n as usize].set_prev(i),
            }
            self.note_deadline(i as usize, dl);
        }
        let removed = self.slots.swap_remove(i as usize);
        self.block_min.truncate(self.slots.len().div_ceil(BLOCK));
        self.editing = false;
        self.freed += 1;
        (removed, hash)
    }

    /// Frees the expired entries at the fronts of the queues, at most `budget` of them.
    pub(super) fn reclaim_fronts(&mut self, now: Timestamp, budget: usize, h: &impl BuildHasher) {
        let mut left = budget;
        for q in [Queue::Small, Queue::Main] {
            while left > 0 {
                match self.front[q as usize] {
                    NIL => break,
                    f if is_live(self.slots[f as usize].deadline, now) => break,
                    f => {
                        let (slot, _) = self.remove(f, h);
                        self.trash.push(slot);
                    }
                }
                left -= 1;
            }
        }
    }

    /// Frees the expired entries of block `b`, and tightens the block's bound.
    ///
    /// A removal moves the last slot into the hole, which is then examined too: `budget` bounds
    /// the examinations (a block's worth for the sweep, none for `maintain()`). If the budget
    /// runs out first, the block's bound is left as it was — still a lower bound, since every
    /// slot moved in lowered it.
    pub(super) fn scan_block(
        &mut self,
        b: usize,
        now: Timestamp,
        budget: usize,
        hasher: &impl BuildHasher,
    ) {
        let mut i = b * BLOCK;
        let mut bound = Deadline::NEVER;
        let mut left = budget;
        // The block may also shrink under us when it is the last one.
        while i < ((b + 1) * BLOCK).min(self.slots.len()) {
            if left == 0 {
                return;
            }
            left -= 1;
            let dl = self.slots[i].deadline;
            if is_live(dl, now) {
                bound = bound.min(dl);
                i += 1;
            } else {
                let (slot, _) = self.remove(i as u32, hasher);
                self.trash.push(slot);
            }
        }
        if let Some(slot) = self.block_min.get_mut(b) {
            *slot = bound;
        }
    }

    /// Advances the sweep: looks at up to `look` blocks, scans those whose bound has passed,
    /// at most `scan` of them.
    pub(super) fn sweep(&mut self, now: Timestamp, look: usize, scan: usize, h: &impl BuildHasher) {
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
            if !is_live(self.block_min[b], now) {
                self.scan_block(b, now, BLOCK, h);
                scanned += 1;
            }
        }
    }

    /// Frees expired entries, block by block, until every one is freed (returns `true`) or at
    /// least `most` are in the trash (returns `false`: call again once it is emptied).
    pub(super) fn reclaim_all(
        &mut self,
        now: Timestamp,
        most: usize,
        hasher: &impl BuildHasher,
    ) -> bool {
        let mut b = 0;
        while b < self.block_min.len() {
            if self.trash.len() >= most {
                return false;
            }
            if !is_live(self.block_min[b], now) {
                self.scan_block(b, now, usize::MAX, hasher);
            }
            b += 1;
        }
        true
    }

    /// The policy's victim: its slot, and whether the ghost should remember it (S3-FIFO: a
    /// live entry leaving the small queue). S3-FIFO's promotions and second rounds happen on
    /// the way. An expired entry met on the way is the victim instead (and not remembered);
    /// S3-FIFO never promotes or reinserts an expired entry. `None` when the shard is empty.
    fn victim(&mut self, now: Timestamp) -> Option<(u32, bool)> {
        if self.policy == Policy::Fifo {
            let f = self.front[Queue::Small as usize];
            return (f != NIL).then_some((f, false));
        }
        loop {
            let [small, main] = self.len;
            let q = if small > 0 && (small >= self.small_target || main == 0) {
                Queue::Small
            } else if main > 0 {
                Queue::Main
            } else {
                return None;
            };
            let f = self.front[q as usize];
            let s = &self.slots[f as usize];
            if !is_live(s.deadline, now) {
                return Some((f, false));
            }
            match (q, s.freq()) {
                // Accessed while on probation: promoted to the main queue, its count spent.
                (Queue::Small, freq) if freq >= super::PROMOTE_AT => {
                    self.unlink(f);
                    self.slots[f as usize].set_freq(0);
                    self.link_back(f, Queue::Main);
                }
                (Queue::Small, _) => return Some((f, true)),
                // Accessed since it was last at the front: another round, one access spent.
                (Queue::Main, freq) if freq > 0 => {
                    self.unlink(f);
                    self.slots[f as usize].set_freq(freq - 1);
                    self.link_back(f, Queue::Main);
                }
                (Queue::Main, _) => return Some((f, false)),
            }
        }
    }

    /// Makes room for one entry by the policy; returns the entry taken out (see
    /// [`Shard::victim`]).
    pub(super) fn evict(&mut self, now: Timestamp, h: &impl BuildHasher) -> Option<Slot<K, V>> {
        let (f, remember) = self.victim(now)?;
        let (slot, hash) = self.remove(f, h);
        if remember {
            self.ghost.insert(hash);
        }
        Some(slot)
    }

    /// A new key takes the place of the policy's victim, in the victim's own slot: what a full
    /// shard does for each new key. Returns the victim, or gives the entry back if the shard is
    /// empty. Unlike [`Shard::evict`] followed by [`Shard::insert`], no other slot moves into
    /// the victim's hole — no second key is hashed, no other slot or its neighbours touched —
    /// which halves the memory traffic of an insertion into a full cache.
    pub(super) fn replace_victim(
        &mut self,
        now: Timestamp,
        hash: u64,
        key: K,
        value: V,
        dl: Deadline,
        h: &impl BuildHasher,
    ) -> Result<Slot<K, V>, (K, V)> {
        let Some((i, remember)) = self.victim(now) else {
            return Err((key, value));
        };
        // The index may grow (rehashing every key) to take the new key: done before anything
        // changes, as `insert` does.
        self.reserve_index(h);
        self.editing = true;
        let old_hash = self.hash_of(i, h);
        // No user code runs from here on.
        self.unlink(i);
        if let Ok(entry) = self.index.find_entry(old_hash, |&j| j == i) {
            entry.remove();
        }
        if remember {
            self.ghost.insert(old_hash);
        }
        let old = std::mem::replace(
            &mut self.slots[i as usize],
            Slot {
                key,
                value,
                deadline: dl,
                prev: NIL,
                next: NIL,
            },
        );
        self.note_deadline(i as usize, dl);
        self.enqueue_new(i, hash, h);
        self.next_victim = (NIL, 0);
        self.editing = false;
        self.foresee_victim(h);
        Ok(old)
    }

    /// The hash of slot `i`'s key: the one kept for the next victim if that is `i`.
    fn hash_of(&self, i: u32, hasher: &impl BuildHasher) -> u64 {
        match self.next_victim {
            (s, hash) if s == i => hash,
            _ => hasher.hash_one(&self.slots[i as usize].key),
        }
    }

    /// Hashes the key of the entry the policy will most likely evict next — the small queue's
    /// front (plain FIFO: the only queue), or the main queue's when the small one is under its
    /// target — and keeps it in `next_victim`. Nothing is half-done when it runs, so a panic in
    /// the user's `Hash` here leaves the shard as it was.
    fn foresee_victim(&mut self, hasher: &impl BuildHasher) {
        let [small, _] = self.len;
        let q = if self.policy == Policy::Fifo || small >= self.small_target {
            Queue::Small
        } else {
            Queue::Main
        };
        let f = self.front[q as usize];
        if f != NIL {
            self.next_victim = (f, hasher.hash_one(&self.slots[f as usize].key));
        }
    }

    /// Files slot `i`, just written with a new key of `hash`, in the index (which has room) and
    /// at the back of its queue: the main queue if the ghost remembers the key (S3-FIFO), else
    /// the small one.
    fn enqueue_new(&mut self, i: u32, hash: u64, h: &impl BuildHasher) {
        let q = if self.ghost.take(hash) {
            Queue::Main
        } else {
            Queue::Small
        };
        let slots = &self.slots;
        self.index
            .insert_unique(hash, i, |&j| h.hash_one(&slots[j as usize].key));
        self.link_back(i, q);
    }

    /// Makes room in the index for one more entry. Growing rehashes every key; if the user's
    /// `Hash` panics meanwhile, `editing` stays set and the next lock clears the shard.
    fn reserve_index(&mut self, hasher: &impl BuildHasher) {
        self.editing = true;
        let slots = &self.slots;
        self.index
            .reserve(1, |&j| hasher.hash_one(&slots[j as usize].key));
        self.editing = false;
    }

    /// Inserts a new key (the shard has room): into the main queue if the ghost remembers it
    /// (S3-FIFO), else at the back of the small queue.
    pub(super) fn insert(
        &mut self,
        hash: u64,
        key: K,
        value: V,
        dl: Deadline,
        h: &impl BuildHasher,
    ) {
        self.reserve_index(h);
        let i = self.slots.len();
        if i == self.slots.capacity() {
            // Grow by doubling up to the share, then by steps of about √share, never past the
            // cache's capacity: a full one-shard cache has no unused slots, a sharded one a
            // step's worth at most per shard. (The caller holds a place in the cache's count,
            // so `i` is below the limit and so the target.)
            let target = if i < self.share {
                (i * 2).max(BLOCK).min(self.share)
            } else {
                i.saturating_add(self.grow_step).min(self.limit)
            };
            self.slots.reserve_exact(target - i);
        }
        self.slots.push(Slot {
            key,
            value,
            deadline: dl,
            prev: NIL,
            next: NIL,
        });
        if i.is_multiple_of(BLOCK) {
            self.block_min.push(dl);
        } else {
            self.note_deadline(i, dl);
        }
        self.enqueue_new(i as u32, hash, h);
        if self.policy == Policy::S3Fifo
            && i + 1 >= self.share.div_ceil(2)
            && !self.ghost.is_allocated()
        {
            // Half full: evictions are in sight, and the ghost with them (allocated before they
            // begin, so that a cache's cost when full includes it).
            self.ghost.allocate();
        }
    }

    /// Overwrites slot `i`'s key (an equal one), value and deadline; returns the old key and
    /// value. The new key is kept, not the old one, so that an entry's key and value are the
    /// ones set together: allocated together, freed together (keeping the old key and freeing
    /// the new one left a hole beside each new value, and the allocator's free lists grew
    /// scattered — in the overwrite bench, malloc's own time doubled). Plain FIFO moves the
    /// entry to the back of its queue (treated as new); S3-FIFO counts an access and leaves it.
    pub(super) fn overwrite(&mut self, i: u32, key: K, value: V, dl: Deadline) -> (K, V) {
        match self.policy {
            Policy::Fifo => {
                self.unlink(i);
                self.link_back(i, Queue::Small);
            }
            Policy::S3Fifo => self.touch(i),
        }
        self.note_deadline(i as usize, dl);
        let slot = &mut self.slots[i as usize];
        slot.deadline = dl;
        (
            std::mem::replace(&mut slot.key, key),
            std::mem::replace(&mut slot.value, value),
        )
    }

    /// Gives memory back after a large drop in size: the slot array and the index shrink to
    /// twice what they hold, and the ghost is freed (until the shard is half full again), once
    /// the shard holds less than a quarter of what its slot array can.
    pub(super) fn shrink_if_sparse(&mut self, hasher: &impl BuildHasher) {
        let len = self.slots.len();
        if self.slots.capacity() > BLOCK && len < self.slots.capacity() / 4 {
            self.slots.shrink_to(len * 2);
            self.block_min.shrink_to(len.div_ceil(BLOCK) * 2);
            self.ghost.free();
            self.editing = true;
            let slots = &self.slots;
            self.index
                .shrink_to(len * 2, |&i| hasher.hash_one(&slots[i as usize].key));
            self.editing = false;
        }
    }

    /// The slot array's capacity, the index's bucket capacity, the bound array's capacity and
    /// the ghost's bytes (tests).
    #[cfg(test)]
    pub(super) fn tables(&self) -> [usize; 4] {
        [
            self.slots.capacity(),
            self.index.capacity(),
            self.block_min.capacity(),
            self.ghost.bytes(),
        ]
    }

    /// Checks every invariant (tests): index and slots agree, bounds hold, each queue is a
    /// consistent list of its own entries, lengths match.
    #[cfg(test)]
    pub(super) fn check(&self, hasher: &impl BuildHasher) {
        let n = self.slots.len();
        assert!(n <= self.limit, "more entries than the cache's capacity");
        assert_eq!(self.freed, 0, "every removal settled in the count");
        assert!(self.trash.is_empty(), "the trash emptied before unlocking");
        if let (v, hash) = self.next_victim
            && v != NIL
        {
            assert!((v as usize) < n, "the next victim's slot is held");
            assert_eq!(
                hasher.hash_one(&self.slots[v as usize].key),
                hash,
                "the next victim's hash"
            );
        }
        assert_eq!(self.index.len(), n, "index and slots disagree");
        assert_eq!(
            self.block_min.len(),
            n.div_ceil(BLOCK),
            "one bound per block"
        );
        for (i, s) in self.slots.iter().enumerate() {
            let hash = hasher.hash_one(&s.key);
            assert_eq!(self.find(hash, &s.key), Some(i as u32), "index of slot {i}");
            assert!(
                self.block_min[i / BLOCK] <= s.deadline,
                "block bound above slot {i}"
            );
            assert!(s.freq() <= MAX_FREQ);
            if self.policy == Policy::Fifo {
                assert_eq!(
                    (s.queue(), s.freq()),
                    (Queue::Small, 0),
                    "FIFO keeps no state"
                );
            }
        }
        let mut seen = 0;
        for q in [Queue::Small, Queue::Main] {
            let (mut count, mut prev, mut cur) = (0, NIL, self.front[q as usize]);
            while cur != NIL {
                let s = &self.slots[cur as usize];
                assert_eq!(
                    (s.prev(), s.queue()),
                    (prev, q),
                    "back link and queue of {cur}"
                );
                count += 1;
                assert!(count <= n, "queue {q:?} has a cycle");
                (prev, cur) = (cur, s.next());
            }
            assert_eq!(
                (count, prev),
                (self.len[q as usize], self.back[q as usize]),
                "{q:?}"
            );
            seen += count;
        }
        assert_eq!(seen, n, "the queues cover every slot");
    }

    /// The keys of queue `q`, front (oldest) to back (tests).
    #[cfg(test)]
    pub(super) fn keys(&self, q: Queue) -> Vec<&K> {
        let mut out = Vec::new();
        let mut cur = self.front[q as usize];
        while cur != NIL {
            out.push(&self.slots[cur as usize].key);
            cur = self.slots[cur as usize].next();
        }
        out
    }
}
