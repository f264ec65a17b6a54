//! What [`MemcachedCache`] does beyond the conformance suite, against a server of its own:
//! memcached frees expired items in real time (its LRU crawler), `curr_items` counts them until
//! it has, `String` keys and `Duration::MAX` work, and a key the protocol cannot carry or a
//! server that is gone is a counted failure answered as the contract says.
#![cfg(feature = "memcached")]

mod support;

use std::time::{Duration, Instant};

use cache_adapters::MemcachedCache;
use cache_adapters::memcached::DEFAULT_TIMEOUT;
use cache_core::{ExpiringCache, ManualClock};

#[test]
fn memcached_frees_expired_items_in_real_time_without_a_read() {
    let Some(server) =
        support::memcached_server("memcached_frees_expired_items_in_real_time_without_a_read")
    else {
        return;
    };
    let c: MemcachedCache<u64, u64, _> =
        MemcachedCache::connect_with(&server.addr(), ManualClock::new(), DEFAULT_TIMEOUT).unwrap();
    c.flush_all().unwrap();
    c.set_ex_many((0..200).map(|k| (k, k, Duration::from_secs(1))).collect());
    c.set_ex(1_000, 1, Duration::MAX);
    assert_eq!(c.resident_len(), 201);
    // Expiry of 1 s is sent as 2 (a tick's margin): gone within a few seconds, unread.
    let since = Instant::now();
    while c.resident_len() > 1 && since.elapsed() < Duration::from_secs(20) {
        std::thread::sleep(Duration::from_millis(100));
    }
    assert_eq!(c.resident_len(), 1, "the crawler freed the expired items");
    assert_eq!(c.get_ex(&1_000), Some(1), "no expiry: still there");
    assert_eq!(c.errors(), 0);
}

#[test]
fn string_keys_bad_keys_and_a_stopped_server() {
    let Some(server) = support::memcached_server("string_keys_bad_keys_and_a_stopped_server")
    else {
        return;
    };
    let clock = ManualClock::new();
    let c: MemcachedCache<String, String, _> =
        MemcachedCache::connect_with(&server.addr(), clock.clone(), Duration::from_secs(2))
            .unwrap();
    c.flush_all().unwrap();
    c.set_ex("user:1".into(), "one".into(), Duration::from_secs(60));
    assert_eq!(c.get_ex(&"user:1".into()), Some("one".to_owned()));
    clock.advance(Duration::from_secs(61));
    assert_eq!(c.get_ex(&"user:1".into()), None, "our deadline decides");
    c.set_ex("user:2".into(), "two".into(), Duration::from_secs(60));
    c.set_ex("user:2".into(), "gone".into(), Duration::ZERO);
    assert_eq!(c.get_ex(&"user:2".into()), None, "a TTL of zero deletes");
    assert_eq!(c.errors(), 0);
    c.set_ex(
        "a b\r\nflush_all".into(),
        "x".into(),
        Duration::from_secs(60),
    );
    assert_eq!(c.get_ex(&"k".repeat(251)), None);
    assert_eq!(c.errors(), 2, "two keys the protocol cannot carry");
    drop(server);
    assert_eq!(c.get_ex(&"user:1".into()), None);
    c.set_ex("user:3".into(), "three".into(), Duration::from_secs(60));
    assert_eq!(
        c.errors(),
        4,
        "each call on a stopped server is a counted failure"
    );
}
