//! When does each adapter really free an expired entry? These tests pin it down.
//!
//! A value is an `Arc<u64>` of which the test keeps a clone: while the cache holds the entry,
//! `Arc::strong_count` is 2; once the cache has freed it, 1. That observes the memory itself, not
//! a counter the adapter reports.
//!
//! The moka tests that need moka's reclamation run in **real time** (moka's clock cannot be
//! injected): they sleep in short steps, about two seconds in all, because moka's timer wheel
//! ticks about every 1.07 s.
#![cfg(any(
    feature = "lru",
    feature = "moka",
    feature = "quick_cache",
    feature = "cached",
    feature = "stretto"
))]

use std::sync::Arc;
use std::time::Duration;

use cache_core::{ExpiringCache, ManualClock};

const LONG: Duration = Duration::from_secs(3600);

fn held(v: &Arc<u64>) -> bool {
    Arc::strong_count(v) > 1
}

/// Ten entries in a cache of 100 expire; expiry alone frees none; reading three frees those
/// three.
/// Returns the cache, its clock and the ten values (the first three freed).
#[cfg(any(feature = "lru", feature = "quick_cache", feature = "cached"))]
fn expired_entries_stay_until_read<C: ExpiringCache<u64, Arc<u64>>>(
    make: impl Fn(usize, ManualClock) -> C,
) -> (C, ManualClock, Vec<Arc<u64>>) {
    let clock = ManualClock::new();
    let cache = make(100, clock.clone());
    let values: Vec<Arc<u64>> = (0..10).map(Arc::new).collect();
    for (k, v) in values.iter().enumerate() {
        cache.set_ex(k as u64, Arc::clone(v), Duration::from_secs(1));
    }
    clock.advance(Duration::from_secs(60)); // t = 60 s: all ten expired
    assert_eq!(cache.resident_len(), 10, "expiry alone frees nothing");
    assert!(
        values.iter().all(held),
        "every expired value is still in memory"
    );

    for k in 0..3 {
        assert_eq!(cache.get_ex(&k), None);
    }
    assert_eq!(
        cache.resident_len(),
        7,
        "a read of an expired entry removes it"
    );
    assert!(
        values[..3].iter().all(|v| !held(v)),
        "... and frees its value"
    );
    assert!(values[3..].iter().all(held), "unread expired entries stay");

    (cache, clock, values)
}

/// Sets `count` new keys with a long TTL, starting at `first`.
#[cfg(any(feature = "lru", feature = "quick_cache", feature = "cached"))]
fn stream_of_new_keys<C: ExpiringCache<u64, Arc<u64>>>(cache: &C, first: u64, count: u64) {
    for k in first..first + count {
        cache.set_ex(k, Arc::new(k), LONG);
    }
}

/// An overwrite moves the deadline both ways, and an expired read frees the overwritten entry.
#[cfg(any(feature = "lru", feature = "quick_cache", feature = "cached"))]
fn overwrite_moves_the_deadline_both_ways<C: ExpiringCache<u64, Arc<u64>>>(
    make: impl Fn(usize, ManualClock) -> C,
) {
    let clock = ManualClock::new();
    let cache = make(100, clock.clone());
    let (shorter, longer) = (Arc::new(1), Arc::new(2));
    cache.set_ex(1, Arc::new(10), Duration::from_secs(100));
    cache.set_ex(1, Arc::clone(&shorter), Duration::from_secs(10)); // deadline t = 10 s
    cache.set_ex(2, Arc::new(20), Duration::from_secs(10));
    cache.set_ex(2, Arc::clone(&longer), Duration::from_secs(100)); // deadline t = 100 s
    clock.advance(Duration::from_secs(11)); // t = 11 s
    assert_eq!(cache.get_ex(&1), None, "the shorter overwrite has expired");
    assert!(!held(&shorter), "and the read freed it");
    assert_eq!(
        cache.get_ex(&2).as_deref(),
        Some(&2),
        "the longer overwrite lives on"
    );
    clock.advance(Duration::from_secs(90)); // t = 101 s
    assert_eq!(cache.get_ex(&2), None);
    assert!(!held(&longer));
    assert_eq!(cache.resident_len(), 0);
}

#[cfg(feature = "lru")]
mod lru {
    use cache_adapters::LruTtlCache;

    use super::*;

    #[test]
    fn expired_entries_stay_until_read_or_pushed_out_by_lru_order() {
        let (cache, _clock, values) = expired_entries_stay_until_read(LruTtlCache::with_clock);
        cache.maintain();
        assert!(values[3..].iter().all(held), "maintain() frees nothing");
        // 93 new keys fill the cache to capacity: nothing is pushed out yet.
        stream_of_new_keys(&cache, 1_000, 93);
        assert!(values[3..].iter().all(held));
        // Each further new key pushes out the least recently used entry: the 7 expired ones.
        stream_of_new_keys(&cache, 2_000, 7);
        assert!(values.iter().all(|v| !held(v)), "LRU order pushed them out");
        assert_eq!(cache.resident_len(), 100);
    }

    #[test]
    fn overwrite_with_shorter_or_longer_ttl_moves_the_deadline() {
        overwrite_moves_the_deadline_both_ways(LruTtlCache::with_clock);
    }

    /// lru allocates its table up front; for a capacity such as `usize::MAX` that aborted the
    /// process. Above 2^24 the adapter lets the table grow instead.
    #[test]
    fn a_huge_capacity_does_not_allocate_up_front() {
        let cache = LruTtlCache::new(usize::MAX);
        assert_eq!(cache.capacity(), usize::MAX);
        cache.set_ex(1u64, 1u64, LONG);
        assert_eq!(cache.get_ex(&1), Some(1));
    }
}

#[cfg(feature = "quick_cache")]
mod quick_cache {
    use cache_adapters::QuickTtlCache;

    use super::*;

    /// quick_cache admits entries as *hot* while it fills (up to 97 % of capacity, its default
    /// hot allocation) and evicts a hot entry only when cold entries are promoted past that share.
    /// A stream of new keys that are never read again promotes nothing, so expired entries
    /// admitted during the fill stay resident however many new keys arrive; only a read frees
    /// them.
    #[test]
    fn expired_entries_admitted_while_filling_stay_under_a_stream_of_new_keys() {
        let (cache, _clock, values) = expired_entries_stay_until_read(QuickTtlCache::with_clock);
        cache.maintain();
        assert!(values[3..].iter().all(held), "maintain() frees nothing");
        stream_of_new_keys(&cache, 1_000, 20 * 100);
        assert!(cache.resident_len() <= 101);
        assert!(
            values[3..].iter().all(held),
            "20 x capacity new keys did not push out the hot expired entries"
        );
        for k in 3..10 {
            assert_eq!(cache.get_ex(&k), None);
        }
        assert!(values.iter().all(|v| !held(v)), "reading them frees them");
    }

    /// Entries admitted once the cache is full enter the cold ring, which a stream of new keys
    /// does push out.
    #[test]
    fn expired_entries_admitted_when_full_are_pushed_out_by_new_keys() {
        let clock = ManualClock::new();
        let cache = QuickTtlCache::with_clock(100, clock.clone());
        stream_of_new_keys(&cache, 1_000, 200); // fill: the hot share is taken
        let values: Vec<Arc<u64>> = (0..10).map(Arc::new).collect();
        for (k, v) in values.iter().enumerate() {
            cache.set_ex(k as u64, Arc::clone(v), Duration::from_secs(1));
        }
        clock.advance(Duration::from_secs(60)); // t = 60 s: the ten expired
        stream_of_new_keys(&cache, 5_000, 20 * 100);
        assert!(
            values.iter().all(|v| !held(v)),
            "the cold ring pushed them out"
        );
    }

    #[test]
    fn overwrite_with_shorter_or_longer_ttl_moves_the_deadline() {
        overwrite_moves_the_deadline_both_ways(QuickTtlCache::with_clock);
    }
}

#[cfg(feature = "moka")]
mod moka {
    use std::time::Instant;

    use cache_adapters::MokaCache;

    use super::*;

    #[test]
    fn on_a_hand_moved_clock_moka_frees_nothing_however_far_the_clock_moves() {
        let clock = ManualClock::new();
        let cache = MokaCache::with_clock(100, clock.clone());
        let v = Arc::new(1);
        cache.set_ex(1, Arc::clone(&v), Duration::from_secs(1));
        clock.advance(Duration::from_secs(86_400)); // t = 1 day on the injected clock
        assert_eq!(
            cache.get_ex(&1),
            None,
            "expired on the injected clock: a miss"
        );
        cache.maintain();
        assert_eq!(
            cache.resident_len(),
            1,
            "moka's reclamation runs on real time"
        );
        assert!(held(&v));
    }

    /// Real time, about two seconds: moka frees expired entries in maintain() once real time
    /// has passed their deadline, and an overwrite moves moka's own deadline both ways.
    #[test]
    fn frees_expired_entries_in_maintain_after_real_time_and_honours_overwrites() {
        let cache = MokaCache::new(100);
        let short = Duration::from_millis(300);
        let (a, b, c, d) = (Arc::new(1), Arc::new(2), Arc::new(3), Arc::new(4));
        cache.set_ex(1, Arc::clone(&a), short); // expires
        cache.set_ex(2, Arc::new(20), LONG);
        cache.set_ex(2, Arc::clone(&b), short); // overwrite, shorter: expires
        cache.set_ex(3, Arc::new(30), short);
        cache.set_ex(3, Arc::clone(&c), LONG); // overwrite, longer: must survive
        cache.set_ex(4, Arc::clone(&d), LONG);
        cache.maintain();
        assert_eq!(cache.resident_len(), 4);

        let start = Instant::now();
        std::thread::sleep(short + Duration::from_millis(50));
        assert_eq!(cache.get_ex(&1), None, "expired: a miss at once");
        assert!(held(&a), "but not freed before housekeeping runs");
        // Run moka's housekeeping until its timer wheel has caught up (about 1.07 s a tick).
        // moka lowers its entry count in one run_pending_tasks and drops the value in a later
        // one, so wait for the values themselves.
        while (held(&a) || held(&b)) && start.elapsed() < Duration::from_secs(10) {
            std::thread::sleep(Duration::from_millis(100));
            cache.maintain();
        }
        assert_eq!(
            cache.resident_len(),
            2,
            "the two expired entries were freed"
        );
        assert!(!held(&a) && !held(&b), "their values are gone from memory");
        assert_eq!(
            cache.get_ex(&3).as_deref(),
            Some(&3),
            "a longer overwrite survives"
        );
        assert_eq!(cache.get_ex(&4).as_deref(), Some(&4));
        assert!(held(&c) && held(&d));
    }
}

#[cfg(feature = "cached")]
mod cached {
    use cache_adapters::CachedTtlCache;

    use super::*;

    /// cached keeps an expired value allocated "until a mutating operation, `evict`, or
    /// store-specific cleanup": a read frees it, LRU order pushes it out, and maintain()
    /// (`evict()`) frees every one.
    #[test]
    fn expired_entries_stay_until_read_pushed_out_or_evicted() {
        let (cache, _clock, values) = expired_entries_stay_until_read(CachedTtlCache::with_clock);
        assert!(
            values[3..].iter().all(held),
            "seven expired, unread, still held"
        );
        stream_of_new_keys(&cache, 1_000, 93); // fills to capacity: nothing pushed out
        assert!(values[3..].iter().all(held));
        assert_eq!(
            cache.resident_len(),
            100,
            "resident_len counts the expired ones"
        );
        cache.maintain();
        assert!(
            values.iter().all(|v| !held(v)),
            "evict() freed every expired entry"
        );
        assert_eq!(cache.resident_len(), 93);
    }

    #[test]
    fn expired_entries_are_pushed_out_by_lru_order() {
        let (cache, _clock, values) = expired_entries_stay_until_read(CachedTtlCache::with_clock);
        stream_of_new_keys(&cache, 1_000, 100);
        assert!(values.iter().all(|v| !held(v)), "LRU order pushed them out");
    }

    #[test]
    fn overwrite_with_shorter_or_longer_ttl_moves_the_deadline() {
        overwrite_moves_the_deadline_both_ways(CachedTtlCache::with_clock);
    }

    #[test]
    fn a_huge_capacity_does_not_allocate_up_front() {
        let huge = CachedTtlCache::new(usize::MAX);
        huge.set_ex(1u64, 1u64, LONG);
        assert_eq!(huge.get_ex(&1), Some(1));
    }
}

#[cfg(feature = "stretto")]
mod stretto {
    use std::time::Instant;

    use cache_adapters::StrettoCache;

    use super::*;

    /// stretto buffers inserts: maintain() (`wait()`) applies them, after which they are seen.
    #[test]
    fn inserts_are_applied_by_maintain() {
        let cache = StrettoCache::new(100);
        let v = Arc::new(1);
        cache.set_ex(1u64, Arc::clone(&v), LONG);
        cache.maintain();
        assert_eq!(cache.get_ex(&1).as_deref(), Some(&1));
        assert_eq!(cache.resident_len(), 1);
    }

    /// On a hand-moved clock, stretto's own sweep frees nothing (it runs on real time), though
    /// `get_ex` misses at once.
    #[test]
    fn on_a_hand_moved_clock_stretto_frees_nothing() {
        let clock = ManualClock::new();
        let cache = StrettoCache::with_clock(100, clock.clone());
        let v = Arc::new(1);
        cache.set_ex(1u64, Arc::clone(&v), Duration::from_secs(1));
        cache.maintain();
        clock.advance(Duration::from_secs(86_400));
        assert_eq!(
            cache.get_ex(&1),
            None,
            "expired on the injected clock: a miss"
        );
        cache.maintain();
        assert_eq!(cache.resident_len(), 1);
        assert!(held(&v), "the value is still in memory");
    }

    /// Real time, a few seconds: stretto's background sweep frees an expired entry once real
    /// time has passed its deadline (its ticker runs every 2 s); a read does not.
    #[test]
    fn its_background_sweep_frees_expired_entries_in_real_time() {
        let cache = StrettoCache::new(100);
        let (short, long) = (Arc::new(1), Arc::new(2));
        cache.set_ex(1u64, Arc::clone(&short), Duration::from_millis(200));
        cache.set_ex(2u64, Arc::clone(&long), LONG);
        cache.maintain();
        let start = Instant::now();
        std::thread::sleep(Duration::from_millis(250));
        assert_eq!(cache.get_ex(&1), None, "expired: a miss at once");
        while held(&short) && start.elapsed() < Duration::from_secs(15) {
            std::thread::sleep(Duration::from_millis(100));
        }
        assert!(!held(&short), "the sweep freed it");
        assert!(held(&long) && cache.get_ex(&2).is_some());
        assert_eq!(cache.resident_len(), 1);
    }
}
