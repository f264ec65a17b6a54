//! What [`RedisCache`] does beyond the conformance suite, against a server of its own: Redis's
//! own expiry frees expired keys in real time, `DBSIZE` counts them until it has, `String` and
//! `Duration::MAX` work, and a failed command is counted, answered as the contract says, and
//! followed by a new connection.
#![cfg(feature = "redis")]

mod support;

use std::time::{Duration, Instant};

use cache_adapters::{LocalRedis, RedisCache};
use cache_core::{ExpiringCache, ManualClock};

fn cache<K, V>(server: &LocalRedis) -> RedisCache<K, V, ManualClock> {
    let cache = RedisCache::connect_with_clock(&server.url(), ManualClock::new()).unwrap();
    cache.flush_db().unwrap();
    cache
}

/// Polls `resident_len` until it is `want` or `within` has passed; returns the last count.
fn resident_after<K, V>(c: &RedisCache<K, V, ManualClock>, want: usize, within: Duration) -> usize
where
    RedisCache<K, V, ManualClock>: ExpiringCache<K, V>,
{
    let since = Instant::now();
    loop {
        let n = c.resident_len();
        if n == want || since.elapsed() > within {
            return n;
        }
        std::thread::sleep(Duration::from_millis(20));
    }
}

#[test]
fn redis_frees_expired_keys_in_real_time_without_a_read() {
    let Some(server) =
        support::redis_server("redis_frees_expired_keys_in_real_time_without_a_read")
    else {
        return;
    };
    let c = cache::<u64, u64>(&server);
    for k in 0..200 {
        c.set_ex(k, k, Duration::from_millis(50));
    }
    c.set_ex(1_000, 1, Duration::from_secs(3600));
    c.set_ex(1_001, 1, Duration::MAX);
    assert_eq!(c.resident_len(), 202, "DBSIZE counts every key set");
    // Redis's active expiry cycle runs about ten times a second; nothing reads the keys.
    let left = resident_after(&c, 2, Duration::from_secs(5));
    assert_eq!(left, 2, "only the two long-lived keys stay");
    assert_eq!(c.get_ex(&1_001), Some(1));
    assert_eq!(c.errors(), 0);
}

#[test]
fn dbsize_counts_an_expired_key_until_redis_frees_it() {
    let Some(server) = support::redis_server("dbsize_counts_an_expired_key_until_redis_frees_it")
    else {
        return;
    };
    let clock = ManualClock::new();
    let c = RedisCache::connect_with_clock(&server.url(), clock.clone()).unwrap();
    c.flush_db().unwrap();
    c.set_ex(1u64, 10u64, Duration::from_secs(60));
    clock.advance(Duration::from_secs(61));
    assert_eq!(c.get_ex(&1), None, "expired on our clock");
    assert_eq!(
        c.resident_len(),
        1,
        "on Redis's clock it has a minute left: still there, and counted"
    );
}

#[test]
fn strings_overwrites_and_tiny_ttls() {
    let Some(server) = support::redis_server("strings_overwrites_and_tiny_ttls") else {
        return;
    };
    let c = cache::<String, String>(&server);
    c.set_ex(
        "user_id_000000000001".into(),
        "0000ABCD".into(),
        Duration::MAX,
    );
    assert_eq!(
        c.get_ex(&"user_id_000000000001".to_owned()),
        Some("0000ABCD".to_owned())
    );
    c.set_ex("k".into(), "old".into(), Duration::from_secs(3600));
    c.set_ex("k".into(), "new".into(), Duration::from_micros(999));
    assert_eq!(
        c.get_ex(&"k".to_owned()),
        None,
        "a TTL under a millisecond: neither the old value nor the new one outlives the set"
    );
    assert_eq!(c.resident_len(), 1, "and the key is gone from the server");
    c.set_ex("empty".into(), String::new(), Duration::from_secs(1));
    assert_eq!(c.get_ex(&"empty".to_owned()), Some(String::new()));
    assert_eq!(c.errors(), 0);
}

#[test]
fn a_failed_command_is_a_counted_miss_and_the_next_call_reconnects() {
    let Some(server) =
        support::redis_server("a_failed_command_is_a_counted_miss_and_the_next_call_reconnects")
    else {
        return;
    };
    let c = cache::<u64, u64>(&server);
    c.set_ex(1, 10, Duration::from_secs(60));
    // Another client closes every normal connection: the cache's next command fails.
    let mut other = redis::Client::open(server.url())
        .unwrap()
        .get_connection()
        .unwrap();
    let killed: u64 = redis::cmd("CLIENT")
        .arg(&["KILL", "TYPE", "normal", "SKIPME", "yes"])
        .query(&mut other)
        .unwrap();
    assert_eq!(killed, 1);
    assert_eq!(c.get_ex(&1), None, "a failed GET is a miss");
    assert_eq!(c.errors(), 1, "and is counted");
    assert_eq!(
        c.get_ex(&1),
        Some(10),
        "the next call opens a new connection"
    );
    drop(server);
    c.set_ex(2, 20, Duration::from_secs(60));
    assert_eq!(c.errors(), 2, "a failed SET is dropped, and counted");
    assert_eq!(
        c.resident_len(),
        0,
        "DBSIZE without a server: nothing known"
    );
    assert_eq!(c.errors(), 3);
}

#[test]
fn a_local_server_is_stopped_and_its_directory_removed_when_dropped() {
    let Some(server) =
        support::redis_server("a_local_server_is_stopped_and_its_directory_removed_when_dropped")
    else {
        return;
    };
    let (pid, dir) = (server.pid(), server.dir().to_owned());
    assert!(dir.is_dir());
    let proc_entry = std::path::Path::new("/proc").join(pid.to_string());
    if cfg!(target_os = "linux") {
        assert!(proc_entry.exists(), "the server runs");
    }
    drop(server);
    assert!(!dir.exists(), "its directory is removed");
    if cfg!(target_os = "linux") {
        assert!(
            !proc_entry.exists(),
            "the server is gone (killed and reaped)"
        );
    }
}

#[test]
fn a_missing_program_is_reported_as_not_found() {
    let err = LocalRedis::start("/nonexistent/redis-server").unwrap_err();
    assert_eq!(err.kind(), std::io::ErrorKind::NotFound, "{err}");
    assert!(
        err.to_string().contains("/nonexistent/redis-server"),
        "{err}"
    );
}
