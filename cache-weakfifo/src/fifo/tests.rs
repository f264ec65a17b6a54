use std::collections::VecDeque;
use std::hash::BuildHasher;
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use cache_core::{Deadline, ManualClock};
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
    // Each write sweeps a bounded amount (64 slots examined): 1 000 entries are 16 blocks, each
    // needing about one and a half scans, and the last stragglers a few more (measured: 47
    // writes). Within 60 writes every expired entry is freed.
    let odd: Vec<u32> = (0..1_000).filter(|i| i % 2 == 1).collect();
    let mut writes = 0;
    while drops.sorted() != odd {
        let before = drops.sorted().len();
        cache.set_ex(1_000 + writes, drops.value(1_000 + writes), 86_400 * SEC);
        assert!(
            drops.sorted().len() - before <= 64,
            "one write, one block's work"
        );
        writes += 1;
        assert!(
            writes <= 60,
            "{} of 500 freed after 60 writes",
            drops.sorted().len()
        );
    }
    assert_eq!(cache.resident_len(), 500 + writes as usize);
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
    let full = cache.tables()[0];
    clock.advance(2 * SEC);
    cache.set_ex(1, 1, 60 * SEC);
    cache.maintain();
    assert_eq!(cache.resident_len(), 1);
    assert!(cache.tables()[0] < full / 100, "the slot array shrank");
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
    assert_eq!(cache.queues().0, vec![2, 1], "key 1 moved to the back");
    cache.set_ex(3, drops.value(30), SEC);
    cache.set_ex(4, drops.value(40), SEC); // full: evicts the front, key 2
    assert_eq!(drops.sorted(), vec![10, 20]);
    assert_eq!(cache.queues().0, vec![1, 3, 4]);
    cache.check_invariants();
    drop(cache);
    assert_eq!(
        drops.sorted(),
        vec![10, 11, 20, 30, 40],
        "dropping the cache frees all"
    );
}

#[test]
fn a_huge_maxlen_is_clamped() {
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

/// A new key's place in the count is given back when its insertion panics (the user's `Hash`
/// of another key, as the index grows): the cache still holds exactly its capacity after.
#[test]
fn a_panic_while_inserting_gives_the_place_back_and_the_capacity_stays_exact() {
    let old = Arc::new(AtomicBool::new(false));
    let safe = Arc::new(AtomicBool::new(false));
    let n = 400;
    let cache = TtlFifoCache::builder(n)
        .shards(1)
        .clock(ManualClock::new())
        .build();
    for k in 0..8 {
        cache.set_ex(Bomb(k, Arc::clone(&old)), k, SEC);
    }
    let mut panicked = false;
    for k in 8..n as u32 {
        old.store(true, Ordering::SeqCst);
        let r = catch_unwind(AssertUnwindSafe(|| {
            cache.set_ex(Bomb(k, Arc::clone(&safe)), k, SEC)
        }));
        old.store(false, Ordering::SeqCst);
        if r.is_err() {
            panicked = true;
            break;
        }
    }
    assert!(panicked, "the index grew while the old keys' hash panicked");
    let fresh = 1_000..1_000 + n as u32;
    for k in fresh.clone() {
        cache.set_ex(Bomb(k, Arc::clone(&safe)), k, SEC);
    }
    let held = fresh
        .filter(|&k| cache.get_ex(&Bomb(k, Arc::clone(&safe))).is_some())
        .count();
    assert_eq!(held, n, "the last {n} keys set are all held");
    cache.check_invariants();
}

/// Debug says what the cache is: its bound, policy, shards and length.
#[test]
fn debug_shows_the_bound_policy_shards_and_length() {
    let cache: TtlFifoCache<u8, u8> = TtlFifoCache::builder(300).shards(2).build();
    cache.set_ex(1, 1, SEC);
    assert_eq!(
        format!("{cache:?}"),
        "TtlFifoCache { maxlen: 300, policy: Fifo, shards: 2, len: 1, .. }"
    );
}

/// Four shards per CPU, a power of two, halved while a shard would hold under MIN_SHARD.
#[test]
fn the_default_shard_count_follows_the_cpus_and_the_size() {
    assert_eq!(default_shards(usize::MAX, 4), 16);
    assert_eq!(default_shards(usize::MAX, 3), 16);
    assert_eq!(default_shards(16 * MIN_SHARD, 4), 16);
    assert_eq!(default_shards(16 * MIN_SHARD - 1, 4), 8);
    assert_eq!(default_shards(MIN_SHARD, 8), 1);
    assert_eq!(default_shards(0, 1), 1);
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
        let mut model: Vec<(u16, u16, Deadline)> = Vec::new();
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

// ---------------------------------------------------------------------------------------------
// S3-FIFO.

/// S3-FIFO written plainly from its rules, with `VecDeque`s for the queues and the ghost's
/// documented table (two words a bucket, 24-bit fingerprints, 16-epoch lifetime) as a list of
/// buckets. Nothing expires here (entries are set with `Duration::MAX`), so eviction is the
/// policy alone and the cache must agree with it exactly.
/// Two (fingerprint, insertion number) words.
type GhostBucket = [Option<(u32, u64)>; 2];

struct S3Model {
    capacity: usize,
    small_target: usize,
    small: VecDeque<(u64, u64, u8)>,
    main: VecDeque<(u64, u64, u8)>,
    /// `None` until the cache is half full.
    ghost: Option<Vec<GhostBucket>>,
    inserted: u64,
    hasher: foldhash::fast::FixedState,
}

impl S3Model {
    fn new(capacity: usize, hasher: foldhash::fast::FixedState) -> S3Model {
        S3Model {
            capacity,
            small_target: (capacity / 10).max(1),
            small: VecDeque::new(),
            main: VecDeque::new(),
            ghost: None,
            inserted: 0,
            hasher,
        }
    }

    fn period(&self) -> u64 {
        (self.capacity as u64 / 16).max(1)
    }

    /// Whether a ghost word written at insertion number `at` is still present.
    fn present(&self, at: u64) -> bool {
        let (now, then) = (self.inserted / self.period(), at / self.period());
        (now as u8).wrapping_sub(then as u8) < 16
    }

    fn bucket(&self, hash: u64) -> usize {
        let buckets = self.ghost.as_ref().map_or(1, Vec::len);
        hash as usize & (buckets - 1)
    }

    fn ghost_insert(&mut self, hash: u64) {
        let b = self.bucket(hash);
        let fp = ((hash >> 40) as u32) | 1;
        let at = self.inserted;
        let alive = |w: &Option<(u32, u64)>| w.is_some_and(|(_, t)| self.present(t));
        let Some(ghost) = self.ghost.as_ref() else {
            return;
        };
        let [x, y] = ghost[b];
        let age = |w: Option<(u32, u64)>| {
            let now = (self.inserted / self.period()) as u8;
            now.wrapping_sub((w.map_or(0, |(_, t)| t) / self.period()) as u8)
        };
        let slot = if !alive(&x) {
            0
        } else if !alive(&y) {
            1
        } else if age(x) >= age(y) {
            0
        } else {
            1
        };
        self.ghost.as_mut().unwrap()[b][slot] = Some((fp, at));
        self.inserted += 1;
    }

    fn ghost_take(&mut self, hash: u64) -> bool {
        let Some(ghost) = self.ghost.as_ref() else {
            return false;
        };
        let (b, fp) = (self.bucket(hash), ((hash >> 40) as u32) | 1);
        let found = ghost[b]
            .iter()
            .position(|w| w.is_some_and(|(f, t)| f == fp && self.present(t)));
        if let Some(i) = found {
            self.ghost.as_mut().unwrap()[b][i] = None;
        }
        found.is_some()
    }

    fn find(&mut self, k: u64) -> Option<&mut (u64, u64, u8)> {
        self.small
            .iter_mut()
            .chain(self.main.iter_mut())
            .find(|e| e.0 == k)
    }

    fn get(&mut self, k: u64) -> Option<u64> {
        let e = self.find(k)?;
        e.2 = (e.2 + 1).min(3);
        Some(e.1)
    }

    fn evict(&mut self) {
        loop {
            let small = self.small.len();
            if small > 0 && (small >= self.small_target || self.main.is_empty()) {
                let (k, v, f) = self.small.pop_front().unwrap();
                if f >= 2 {
                    self.main.push_back((k, v, 0));
                } else {
                    self.ghost_insert(self.hasher.hash_one(k));
                    return;
                }
            } else {
                let (k, v, f) = self.main.pop_front().unwrap();
                if f > 0 {
                    self.main.push_back((k, v, f - 1));
                } else {
                    return;
                }
            }
        }
    }

    fn set(&mut self, k: u64, v: u64) {
        if let Some(e) = self.find(k) {
            e.1 = v;
            e.2 = (e.2 + 1).min(3);
            return;
        }
        if self.small.len() + self.main.len() >= self.capacity {
            self.evict();
        }
        if self.ghost_take(self.hasher.hash_one(k)) {
            self.main.push_back((k, v, 0));
        } else {
            self.small.push_back((k, v, 0));
        }
        if self.ghost.is_none() && self.small.len() + self.main.len() >= self.capacity.div_ceil(2) {
            let words = self.capacity.max(2).next_power_of_two();
            self.ghost = Some(vec![[None, None]; words / 2]);
        }
    }

    fn keys(q: &VecDeque<(u64, u64, u8)>) -> Vec<u64> {
        q.iter().map(|e| e.0).collect()
    }
}

fn s3_cache(
    capacity: usize,
    seed: u64,
) -> TtlFifoCache<u64, u64, ManualClock, foldhash::fast::FixedState> {
    TtlFifoCache::builder(capacity)
        .policy(Policy::S3Fifo)
        .shards(1)
        .clock(ManualClock::new())
        .hasher(foldhash::fast::FixedState::with_seed(seed))
        .build()
}

proptest! {
    /// Without expiry, the cache is exactly the plainly written S3-FIFO: the same hits, the
    /// same keys in the same order in each queue, after every operation.
    #[test]
    fn s3fifo_agrees_exactly_with_a_plain_model(
        capacity in prop_oneof![1usize..=12, Just(32), Just(64)],
        seed in any::<u64>(),
        ops in proptest::collection::vec((any::<bool>(), 0u16..40, any::<u16>()), 1..600),
    ) {
        let cache = s3_cache(capacity, seed);
        let mut model = S3Model::new(capacity, foldhash::fast::FixedState::with_seed(seed));
        for (step, (is_set, k, v)) in ops.into_iter().enumerate() {
            let (k, v) = (u64::from(k), u64::from(v));
            if is_set {
                cache.set_ex(k, v, Duration::MAX);
                model.set(k, v);
            } else {
                prop_assert_eq!(cache.get_ex(&k), model.get(k), "get at step {}", step);
            }
            let (small, main) = cache.queues();
            prop_assert_eq!(small, S3Model::keys(&model.small), "small queue at step {}", step);
            prop_assert_eq!(main, S3Model::keys(&model.main), "main queue at step {}", step);
            cache.check_invariants();
        }
    }

    /// With expiry and several shards, the guarantees that hold whatever the policy: a hit is
    /// the latest value and live, the capacity holds, and after maintain() nothing expired stays.
    #[test]
    fn s3fifo_sharded_never_serves_stale_or_expired_values((maxlen, ops) in case(), shards in 1usize..=4) {
        let clock = ManualClock::new();
        let cache = TtlFifoCache::builder(maxlen)
            .policy(Policy::S3Fifo)
            .shards(shards)
            .clock(clock.clone())
            .build();
        let mut latest: std::collections::HashMap<u16, (u16, Deadline)> = Default::default();
        for (step, op) in ops.into_iter().enumerate() {
            let now = clock.now();
            match op {
                Op::Set(k, v, ttl) => {
                    cache.set_ex(k, v, ttl);
                    latest.insert(k, (v, deadline(now, ttl)));
                }
                Op::Get(k) => {
                    if let Some(v) = cache.get_ex(&k) {
                        let (want, dl) = latest[&k];
                        prop_assert_eq!(v, want, "stale value at step {}", step);
                        prop_assert!(is_live(dl, now), "expired hit at step {}", step);
                    }
                }
                Op::Advance(d) => clock.advance(d),
                Op::Maintain => {
                    cache.maintain();
                    let live = latest.keys().filter(|k| cache.get_ex(k).is_some()).count();
                    prop_assert_eq!(cache.resident_len(), live, "after maintain, step {}", step);
                }
            }
            prop_assert!(cache.resident_len() <= maxlen);
            cache.check_invariants();
        }
    }
}

#[test]
fn s3fifo_evicts_one_hit_wonders_through_the_ghost_and_keeps_what_is_reused() {
    let (clock, drops) = (ManualClock::new(), Drops::default());
    let cache = TtlFifoCache::builder(10)
        .policy(Policy::S3Fifo)
        .shards(1)
        .clock(clock.clone())
        .build();
    for id in 0..10u32 {
        cache.set_ex(id, drops.value(id), Duration::MAX);
    }
    // Keys 0 and 1 are read twice while on probation: they earn the main queue.
    for _ in 0..2 {
        assert!(cache.get_ex(&0).is_some() && cache.get_ex(&1).is_some());
    }
    // Key 10 arrives in a full cache: the small queue's front (0) is promoted, then 1, then 2 —
    // never read — is evicted and remembered by the ghost.
    cache.set_ex(10, drops.value(10), Duration::MAX);
    assert_eq!(drops.sorted(), vec![2], "the one-hit wonder was dropped");
    let (small, main) = cache.queues();
    assert_eq!(main, vec![0, 1]);
    assert_eq!(small, vec![3, 4, 5, 6, 7, 8, 9, 10]);
    // 2 comes back soon: the ghost sends it straight to the main queue.
    cache.set_ex(2, drops.value(102), Duration::MAX);
    assert_eq!(cache.queues().1, vec![0, 1, 2]);
    assert_eq!(
        drops.sorted(),
        vec![2, 3],
        "3 made room, from the small queue"
    );
    cache.check_invariants();
    drop(cache);
    assert_eq!(drops.sorted().len(), 12, "every value dropped once");
}

/// The ghost costs nothing until evictions are in sight: a plain FIFO cache never allocates
/// one; S3-FIFO allocates it once, when its shard is half full, and keeps what it remembers
/// while the shard grows again after expired entries have left.
#[test]
fn the_ghost_is_allocated_once_at_half_full_and_keeps_what_it_remembers() {
    let clock = ManualClock::new();
    let fifo = TtlFifoCache::builder(10)
        .shards(1)
        .clock(clock.clone())
        .build();
    for k in 0..20u32 {
        fifo.set_ex(k, k, Duration::MAX);
    }
    assert_eq!(fifo.tables()[3], 0, "plain FIFO has no ghost");

    let cache = TtlFifoCache::builder(10)
        .policy(Policy::S3Fifo)
        .shards(1)
        .clock(clock.clone())
        .build();
    cache.set_ex(0u32, 0u32, Duration::MAX);
    assert_eq!(
        cache.tables()[3],
        0,
        "no ghost before the shard is half full"
    );
    for k in 1..7 {
        cache.set_ex(k, k, Duration::MAX);
    }
    for k in 7..10 {
        cache.set_ex(k, k, SEC);
    }
    assert!(cache.tables()[3] > 0, "a ghost once half full");
    // Full: 10 evicts the small queue's front, 0, never read: the ghost remembers it.
    cache.set_ex(10, 10, Duration::MAX);
    assert!(!cache.queues().0.contains(&0));
    // 7, 8 and 9 expire and leave; the shard grows again with 20 ...
    clock.advance(2 * SEC);
    cache.maintain();
    cache.set_ex(20, 20, Duration::MAX);
    // ... and 0, still remembered, goes straight to the main queue.
    cache.set_ex(0, 0, Duration::MAX);
    assert_eq!(cache.queues().1, vec![0]);
    cache.check_invariants();
}

#[test]
fn s3fifo_frees_expired_entries_at_either_front_without_remembering_them() {
    let (clock, drops) = (ManualClock::new(), Drops::default());
    let cache = TtlFifoCache::builder(10)
        .policy(Policy::S3Fifo)
        .shards(1)
        .clock(clock.clone())
        .build();
    for id in 0..10u32 {
        let ttl = if id < 2 { 5 * SEC } else { 100 * SEC };
        cache.set_ex(id, drops.value(id), ttl);
    }
    for _ in 0..2 {
        cache.get_ex(&0);
        cache.get_ex(&1);
    }
    cache.set_ex(10, drops.value(10), 100 * SEC); // 0 and 1 promoted, 2 evicted
    assert_eq!(cache.queues().1, vec![0, 1]);
    clock.advance(6 * SEC); // t = 6 s: 0 and 1, now at the main queue's front, expired
    cache.set_ex(11, drops.value(11), 100 * SEC);
    // The front reclamation freed both expired entries, and 11 needed no eviction.
    assert_eq!(drops.sorted(), vec![0, 1, 2]);
    assert!(cache.queues().1.is_empty());
    // An expired entry is never promoted or remembered: 0 comes back as new.
    cache.set_ex(0, drops.value(100), 100 * SEC);
    assert_eq!(
        cache.queues().0.last(),
        Some(&0),
        "back on probation, not in main"
    );
    cache.check_invariants();
    drop(cache);
    assert_eq!(drops.sorted().len(), 13, "every value dropped once");
}

#[test]
fn s3fifo_main_queue_gives_accessed_entries_another_round() {
    let (clock, drops) = (ManualClock::new(), Drops::default());
    let cache = TtlFifoCache::builder(4)
        .policy(Policy::S3Fifo)
        .shards(1)
        .clock(clock)
        .build();
    for id in 0..4u32 {
        cache.set_ex(id, drops.value(id), Duration::MAX);
        cache.get_ex(&id);
        cache.get_ex(&id);
    }
    // Full, all read twice: 4 promotes the whole small queue, then the main queue's front (0,
    // frequency 0 after promotion) is evicted.
    cache.set_ex(4, drops.value(4), Duration::MAX);
    assert_eq!(drops.sorted(), vec![0]);
    assert_eq!(cache.queues(), (vec![4], vec![1, 2, 3]));
    cache.get_ex(&1); // 1 gets another round when it reaches the front
    cache.set_ex(5, drops.value(5), Duration::MAX); // small queue (4) at its target: 4 leaves
    assert_eq!(drops.sorted(), vec![0, 4]);
    cache.set_ex(6, drops.value(6), Duration::MAX); // small queue is 5 alone: it leaves
    cache.set_ex(7, drops.value(7), Duration::MAX);
    assert_eq!(drops.sorted(), vec![0, 4, 5, 6]);
    cache.check_invariants();
}

/// The multi1 trace of the repository's `traces/` (LIRS text, gzip).
fn multi1() -> Vec<u64> {
    use std::io::BufRead;
    let path = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../traces/lirs/multi1.trace.gz"
    );
    let file = std::fs::File::open(path).expect("the vendored trace");
    std::io::BufReader::new(flate2::read::GzDecoder::new(file))
        .lines()
        .map(|l| l.expect("a line"))
        .map(|l| l.trim().to_owned())
        .filter(|l| !l.is_empty() && l != "*")
        .map(|l| l.parse().expect("a key"))
        .collect()
}

#[test]
fn s3fifo_hit_ratio_on_a_real_trace_equals_the_plain_models() {
    let trace = multi1();
    assert_eq!(trace.len(), 15_858);
    for capacity in [128, 512] {
        let cache = s3_cache(capacity, 7);
        let mut model = S3Model::new(capacity, foldhash::fast::FixedState::with_seed(7));
        let (mut hits, mut model_hits) = (0, 0);
        for &k in &trace {
            if cache.get_ex(&k).is_some() {
                hits += 1;
            } else {
                cache.set_ex(k, k, Duration::MAX);
            }
            if model.get(k).is_some() {
                model_hits += 1;
            } else {
                model.set(k, k);
            }
        }
        assert_eq!(hits, model_hits, "multi1 at {capacity}");
        assert!(
            hits > trace.len() as u64 / 5,
            "{hits}: S3-FIFO gets hits on multi1"
        );
    }
}

#[test]
fn eight_threads_on_a_sharded_cache_see_only_their_keys_values_and_keep_each_shard_in_bounds() {
    for policy in [Policy::Fifo, Policy::S3Fifo] {
        let clock = ManualClock::new();
        let cache = TtlFifoCache::builder(1_000)
            .policy(policy)
            .shards(4)
            .clock(clock.clone())
            .build();
        std::thread::scope(|s| {
            for t in 0..8u64 {
                let (cache, clock) = (&cache, &clock);
                s.spawn(move || {
                    let mut x = t + 1;
                    for i in 0..20_000u64 {
                        x = x.wrapping_mul(6_364_136_223_846_793_005).wrapping_add(1);
                        let key = (x >> 33) % 3_000;
                        match i % 10 {
                            0..=3 => {
                                cache.set_ex(key, key << 32 | i, Duration::from_millis(i % 50))
                            }
                            4..=8 => {
                                if let Some(v) = cache.get_ex(&key) {
                                    assert_eq!(v >> 32, key, "a value set for another key");
                                }
                            }
                            _ if i % 1_000 == 9 => cache.maintain(),
                            _ => clock.advance(Duration::from_millis(1)),
                        }
                    }
                });
            }
        });
        // Every shard within its share (check_invariants), the shares adding up to maxlen.
        cache.check_invariants();
        assert!(cache.resident_len() <= 1_000);
    }
}

// ---------------------------------------------------------------------------------------------
// What each mechanism is for, pinned down (each of these fails if the mechanism is removed or
// its arithmetic changed).

#[test]
fn the_front_is_reclaimed_first_oldest_expired_entries_in_order() {
    let (clock, drops) = (ManualClock::new(), Drops::default());
    let cache = TtlFifoCache::with_clock(10_000, clock.clone());
    for id in 0..1_000u32 {
        cache.set_ex(id, drops.value(id), SEC);
    }
    clock.advance(2 * SEC); // t = 2 s: all expired
    cache.set_ex(5_000, drops.value(5_000), 60 * SEC);
    // The front reclamation frees the four oldest first; only then does the sweep scan a block
    // (whose holes it refills from the end of the array, so it frees ids from both ends).
    assert_eq!(drops.in_order()[..4], [0, 1, 2, 3]);
    // The work of one write is bounded: four at the front, one block of 64 by the sweep.
    assert_eq!(drops.sorted().len(), 4 + 64);
    cache.check_invariants();
}

#[test]
fn the_sweep_moves_on_to_blocks_whose_bound_has_passed() {
    let (clock, drops) = (ManualClock::new(), Drops::default());
    let cache = TtlFifoCache::with_clock(10_000, clock.clone());
    // Block 0 (ids 0..64) lives a day; the 15 blocks after it hold expired entries only.
    for id in 0..1_024u32 {
        let ttl = if id < 64 { 86_400 * SEC } else { SEC };
        cache.set_ex(id, drops.value(id), ttl);
    }
    clock.advance(2 * SEC);
    // Each write looks at up to 4 blocks and scans one whose bound has passed: block 0 is
    // skipped, block 1 scanned — one block's worth of work per write (64 slots examined, each
    // removal refilling its hole from the end of the array), no more.
    cache.set_ex(9_999, drops.value(9_999), 86_400 * SEC);
    let freed = drops.sorted();
    assert_eq!(freed.len(), 64);
    assert!(
        freed.iter().all(|&id| id >= 64),
        "none of block 0's live entries"
    );
    // More writes do the rest, 64 at most each.
    let expired: Vec<u32> = (64..1_024).collect();
    let mut writes = 1;
    while drops.sorted() != expired {
        cache.set_ex(10_000 + writes, drops.value(10_000 + writes), 86_400 * SEC);
        writes += 1;
        assert!(
            writes <= 30,
            "{} of 960 freed after 30 writes",
            drops.sorted().len()
        );
    }
    assert!(
        writes >= 15,
        "960 entries take at least 15 writes of 64: {writes}"
    );
    assert_eq!(cache.resident_len(), 64 + writes as usize);
    cache.check_invariants();
}

#[test]
fn the_slot_array_grows_by_doubling_from_a_block_and_never_past_maxlen() {
    let cache = TtlFifoCache::with_clock(1_000, ManualClock::new());
    let capacity_after = |n: u64| {
        for id in 0..n {
            cache.set_ex(id, id, Duration::MAX);
        }
        cache.tables()[0]
    };
    assert_eq!(capacity_after(1), 64, "the first block");
    assert_eq!(capacity_after(65), 128, "doubled");
    assert_eq!(capacity_after(129), 256);
    assert_eq!(capacity_after(513), 1_000, "capped at maxlen, not 1 024");
    assert_eq!(
        capacity_after(5_000),
        1_000,
        "a full cache has no unused slots"
    );
}

#[test]
fn maintain_gives_memory_back_only_below_a_quarter_and_keeps_twice_what_is_held() {
    let clock = ManualClock::new();
    let cache = TtlFifoCache::with_clock(4_096, clock.clone());
    for id in 0..1_024u64 {
        // 257 live for a day, the rest expire after a second.
        let ttl = if id < 257 { 86_400 * SEC } else { SEC };
        cache.set_ex(id, id, ttl);
    }
    let [slots, _, bounds, _] = cache.tables();
    assert_eq!((slots, bounds), (1_024, 16));
    clock.advance(2 * SEC);
    cache.maintain(); // 257 left: more than a quarter of 1 024, nothing given back
    assert_eq!(cache.resident_len(), 257);
    let [slots_now, index, bounds_now, _] = cache.tables();
    assert_eq!((slots_now, bounds_now), (slots, bounds));
    assert!(index >= 1_024, "{index}");
    cache.set_ex(0, 0, SEC); // id 0 now expires too: 256 live, exactly a quarter
    clock.advance(2 * SEC);
    cache.maintain();
    assert_eq!(cache.resident_len(), 256);
    assert_eq!(cache.tables()[0], 1_024, "a quarter is not below a quarter");
    cache.set_ex(1, 1, SEC);
    clock.advance(2 * SEC);
    cache.maintain(); // 255 < 256: shrink to twice what is held
    let [slots, index, bounds, _] = cache.tables();
    assert_eq!(slots, 510);
    assert_eq!(bounds, 8, "the bound array: twice the four blocks held");
    assert!(
        (510..1_024).contains(&index),
        "the index shrank to about twice: {index}"
    );
    cache.check_invariants();
    // A cache that never grew past one block is left alone.
    let small = TtlFifoCache::with_clock(64, clock.clone());
    small.set_ex(1, 1, SEC);
    clock.advance(2 * SEC);
    small.maintain();
    assert_eq!(small.tables()[0], 64);
}

#[test]
fn a_sharded_cache_spreads_keys_over_its_shards() {
    let cache = TtlFifoCache::builder(1_000)
        .shards(4)
        .clock(ManualClock::new())
        .build();
    for id in 0..500u64 {
        cache.set_ex(id, id, Duration::MAX);
    }
    // 500 keys into four shards of 250: all fit, every shard holds some.
    assert_eq!(cache.resident_len(), 500);
    let lens = cache.shard_lens();
    assert!(lens.iter().all(|&n| n > 60 && n <= 250), "{lens:?}");
    cache.check_invariants();
}

#[test]
fn the_default_shard_count_is_four_per_cpu_and_no_shard_under_256_entries() {
    let cpus = std::thread::available_parallelism().map_or(1, |n| n.get());
    let most = (4 * cpus).next_power_of_two();
    assert_eq!(
        TtlFifoCache::<u8, u8>::new(1 << 20).shards(),
        1,
        "new: one lock"
    );
    for maxlen in [0, 64, 255, 256, 511, 512, 1_000, 4_096, 1 << 20, 1 << 26] {
        let n = TtlFifoCache::builder(maxlen).build::<u8, u8>().shards();
        assert!(n.is_power_of_two() && n <= most, "{maxlen}: {n}");
        assert!(
            n == 1 || maxlen / n >= 256,
            "{maxlen}: {n} shards too small"
        );
        assert!(
            n == most || maxlen / (2 * n) < 256,
            "{maxlen}: {n}, could be more"
        );
    }
    assert_eq!(
        TtlFifoCache::builder(1 << 26).build::<u8, u8>().shards(),
        most
    );
    assert_eq!(
        TtlFifoCache::builder(100)
            .shards(3)
            .build::<u8, u8>()
            .shards(),
        4
    );
}

#[test]
fn the_builder_keeps_what_it_is_told_and_len_counts_every_shard() {
    let cache = TtlFifoCache::builder(100)
        .policy(Policy::S3Fifo)
        .shards(2)
        .clock(ManualClock::new())
        .build();
    assert_eq!(
        (cache.policy(), cache.shards(), cache.maxlen()),
        (Policy::S3Fifo, 2, 100)
    );
    assert!(cache.is_empty());
    for id in 0..10u32 {
        cache.set_ex(id, id, Duration::MAX);
    }
    assert_eq!((cache.len(), cache.is_empty()), (10, false));
    assert_eq!(TtlFifoCache::<u8, u8>::new(3).policy(), Policy::Fifo);
}

#[test]
fn the_entry_limit_is_two_to_the_thirty_minus_two() {
    assert_eq!(MAX_ENTRIES, (1 << 30) - 2);
    assert_eq!(
        TtlFifoCache::<u8, u8>::new(usize::MAX).maxlen(),
        1_073_741_822
    );
}

// ---------------------------------------------------------------------------------------------
// Exact capacity across shards.

#[test]
fn n_distinct_keys_into_capacity_n_are_all_held_whatever_the_shards() {
    for policy in [Policy::Fifo, Policy::S3Fifo] {
        for (maxlen, shards) in [(10_000, 8), (10_000, 64), (1_024, 4), (100, 16), (5, 16)] {
            let cache = TtlFifoCache::builder(maxlen)
                .policy(policy)
                .shards(shards)
                .clock(ManualClock::new())
                .build();
            for id in 0..maxlen as u64 {
                cache.set_ex(id, id, Duration::MAX);
            }
            assert_eq!(
                cache.len(),
                maxlen,
                "{policy:?}, {maxlen} in {shards} shards"
            );
            let hits = (0..maxlen as u64)
                .filter(|id| cache.get_ex(id).is_some())
                .count();
            assert_eq!(hits, maxlen, "{policy:?}, {maxlen} in {shards} shards");
            cache.check_invariants();
            // More new keys: still exactly full, never more.
            for id in maxlen as u64..3 * maxlen as u64 {
                cache.set_ex(id, id, Duration::MAX);
                assert!(cache.len() <= maxlen);
            }
            assert_eq!(
                cache.len(),
                maxlen,
                "{policy:?}, {maxlen} in {shards} shards"
            );
            cache.check_invariants();
        }
    }
}

#[test]
fn a_full_cache_whose_key_falls_in_an_empty_shard_borrows_from_another() {
    // Capacity 2 over 16 shards: most keys land in a shard that holds nothing while the cache
    // is full, and must take the place of an entry of another shard.
    for policy in [Policy::Fifo, Policy::S3Fifo] {
        let cache = TtlFifoCache::builder(2)
            .policy(policy)
            .shards(16)
            .clock(ManualClock::new())
            .build();
        for id in 0..200u64 {
            cache.set_ex(id, id, Duration::MAX);
            assert_eq!(
                cache.len(),
                (id as usize + 1).min(2),
                "{policy:?} after key {id}"
            );
            assert_eq!(
                cache.get_ex(&id),
                Some(id),
                "{policy:?}: the newest key is held"
            );
            cache.check_invariants();
        }
    }
}

#[test]
fn the_loop_of_fewer_keys_than_the_capacity_hits_as_on_one_lock() {
    // The `loop` trace's shape: 1 011 distinct keys cycled, capacity 1 024, four shards. Every
    // key fits, so after the first round every request hits, as with one lock.
    let cache = TtlFifoCache::builder(1_024)
        .shards(4)
        .clock(ManualClock::new())
        .build();
    let mut hits = 0;
    for round in 0..5 {
        for id in 0..1_011u64 {
            match cache.get_ex(&id) {
                Some(_) => hits += 1,
                None => cache.set_ex(id, round, Duration::MAX),
            }
        }
    }
    assert_eq!(hits, 4 * 1_011);
}

#[test]
fn threads_on_a_sharded_cache_never_hold_more_than_the_capacity_and_count_exactly() {
    for policy in [Policy::Fifo, Policy::S3Fifo] {
        let clock = ManualClock::new();
        let cache = TtlFifoCache::builder(64)
            .policy(policy)
            .shards(8)
            .clock(clock.clone())
            .build();
        std::thread::scope(|s| {
            for t in 0..4u64 {
                let (cache, clock) = (&cache, &clock);
                s.spawn(move || {
                    for i in 0..20_000u64 {
                        let key = (i * 7 + t * 1_000) % 500;
                        match i % 8 {
                            0 => clock.advance(Duration::from_millis(1)),
                            1 if i % 800 == 1 => cache.maintain(),
                            2..=4 => drop(cache.get_ex(&key)),
                            _ => cache.set_ex(key, i, Duration::from_millis(i % 40)),
                        }
                        // The count bounds the entries at every instant (`len()` locks one shard
                        // at a time, so under threads it is no snapshot).
                        assert!(cache.count.0.load(Ordering::Relaxed) <= 64);
                    }
                });
            }
        });
        cache.check_invariants();
    }
}

#[test]
fn a_new_key_into_a_full_cache_takes_its_victims_slot_and_moves_nothing_else() {
    for policy in [Policy::Fifo, Policy::S3Fifo] {
        let cache = TtlFifoCache::builder(100)
            .policy(policy)
            .shards(1)
            .clock(ManualClock::new())
            .build();
        for id in 0..100u64 {
            cache.set_ex(id, id, Duration::MAX);
        }
        cache.set_ex(100, 100, Duration::MAX);
        let slots = cache.slot_keys();
        // Key 0, the oldest, was the victim: key 100 is in its slot, and key 99 where it was
        // (removing and appending would have moved key 99 into slot 0).
        assert_eq!((slots[0], slots[99]), (100, 99), "{policy:?}");
        assert_eq!(cache.get_ex(&0), None, "{policy:?}");
        cache.check_invariants();
    }
}

#[test]
fn a_full_sharded_cache_reserves_at_most_a_step_of_about_the_square_root_of_a_share_per_shard() {
    // Four shares of 250: √250 is 15. A shard under its share has its share's slots; one past
    // it is within a step (15) of what it holds.
    for seed in 0..20 {
        let cache = TtlFifoCache::builder(1_000)
            .shards(4)
            .clock(ManualClock::new())
            .hasher(foldhash::fast::FixedState::with_seed(seed))
            .build();
        for id in 0..1_000u64 {
            cache.set_ex(id, id, Duration::MAX);
        }
        let [slots, ..] = cache.tables();
        let bound: usize = cache
            .shard_lens()
            .iter()
            .map(|&n| n.max(250).max(n + 14))
            .sum();
        assert!(
            (1_000..=bound).contains(&slots),
            "seed {seed}: {slots} slots for 1 000 entries, at most {bound}"
        );
    }
}

/// A key whose identity (`id`) is all that `Hash` and `Eq` see; `copy` tells instances apart.
#[derive(Clone, Debug)]
struct Tagged {
    id: u32,
    copy: u32,
}

impl PartialEq for Tagged {
    fn eq(&self, other: &Self) -> bool {
        self.id == other.id
    }
}

impl Eq for Tagged {}

impl std::hash::Hash for Tagged {
    fn hash<H: std::hash::Hasher>(&self, state: &mut H) {
        self.id.hash(state);
    }
}

#[test]
fn an_overwrite_keeps_the_new_key_with_the_new_value() {
    for policy in [Policy::Fifo, Policy::S3Fifo] {
        let cache = TtlFifoCache::builder(10)
            .policy(policy)
            .shards(1)
            .clock(ManualClock::new())
            .build();
        cache.set_ex(Tagged { id: 1, copy: 0 }, 10, SEC);
        cache.set_ex(Tagged { id: 1, copy: 1 }, 11, SEC);
        let keys = cache.slot_keys();
        assert_eq!(keys.len(), 1);
        assert_eq!(
            keys[0].copy, 1,
            "{policy:?}: the key set with the value is kept"
        );
        assert_eq!(cache.get_ex(&Tagged { id: 1, copy: 9 }), Some(11));
        cache.check_invariants();
    }
}
