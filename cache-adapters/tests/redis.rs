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
fn a_batch_is_one_pipeline_that_stores_what_set_ex_would() {
    let Some(server) =
        support::redis_server("a_batch_is_one_pipeline_that_stores_what_set_ex_would")
    else {
        return;
    };
    let c = cache::<String, String>(&server);
    let entries = || {
        (0..1_000u64).map(|i| {
            let (key, value) = (format!("user_id_{i:012}"), format!("{i:08X}"));
            (key, value, Duration::from_secs(1800))
        })
    };
    // A command's first call allocates its latency histogram (about 25 KB in Redis 7): call
    // each one before measuring.
    c.set_ex_many(entries().collect());
    entries().for_each(|(k, v, ttl)| c.set_ex(k, v, ttl));
    assert_eq!(c.resident_len(), 1_000);
    let mut grew = Vec::new();
    for batched in [false, true, false, true] {
        c.flush_db().unwrap();
        let empty = c.settled_memory().unwrap().data();
        if batched {
            c.set_ex_many(entries().collect());
        } else {
            entries().for_each(|(k, v, ttl)| c.set_ex(k, v, ttl));
        }
        assert_eq!(c.resident_len(), 1_000);
        grew.push(c.settled_memory().unwrap().data() - empty);
    }
    assert_eq!(
        c.get_ex(&"user_id_000000000999".to_owned()),
        Some("000003E7".to_owned())
    );
    assert!(
        grew.iter().all(|&g| g.abs_diff(grew[0]) * 100 <= grew[0]),
        "the same keys take the same memory, one by one or in a batch: {grew:?} bytes"
    );
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

/// Run by [`the_server_is_stopped_when_its_owner_is_killed`] in a child process: starts a
/// server, says where it is, and waits to be killed.
#[test]
#[ignore = "a helper: run by the_server_is_stopped_when_its_owner_is_killed"]
fn helper_start_a_server_and_wait() {
    if std::env::var_os("LOCAL_REDIS_HELPER").is_none() {
        return;
    }
    let server = LocalRedis::start("redis-server").unwrap();
    println!("READY {} {}", server.pid(), server.dir().display());
    std::thread::sleep(Duration::from_secs(60));
}

#[cfg(target_os = "linux")]
#[test]
fn the_server_is_stopped_when_its_owner_is_killed() {
    use std::io::BufRead as _;
    use std::process::{Command, Stdio};

    // Only to find out whether a server can start here at all.
    if support::redis_server("the_server_is_stopped_when_its_owner_is_killed").is_none() {
        return;
    }
    let mut owner = Command::new(std::env::current_exe().unwrap())
        .args(["--ignored", "--exact", "helper_start_a_server_and_wait"])
        .args(["--nocapture", "--test-threads", "1"])
        .env("LOCAL_REDIS_HELPER", "1")
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    let ready = std::io::BufReader::new(owner.stdout.take().unwrap())
        .lines()
        .map_while(Result::ok)
        .find_map(|l| l.split_once("READY ").map(|(_, at)| at.to_owned()))
        .expect("the helper starts a server");
    let (pid, dir) = ready.split_once(' ').unwrap();
    let (proc_entry, dir) = (
        std::path::Path::new("/proc").join(pid),
        std::path::PathBuf::from(dir),
    );
    assert!(proc_entry.exists() && dir.is_dir(), "the server runs");
    owner.kill().unwrap(); // SIGKILL: no destructor runs in the owner
    owner.wait().unwrap();
    let since = Instant::now();
    while (proc_entry.exists() || dir.exists()) && since.elapsed() < Duration::from_secs(10) {
        std::thread::sleep(Duration::from_millis(20));
    }
    assert!(!proc_entry.exists(), "the server outlived its owner");
    assert!(!dir.exists(), "its directory outlived its owner");
}

/// Bare values are what a service using Redis stores: the value's bytes alone, with Redis's
/// expiry (the TTL rounded down to the millisecond) the only one.
#[test]
fn bare_values_are_the_values_bytes_and_expire_on_the_servers_clock() {
    let Some(server) =
        support::redis_server("bare_values_are_the_values_bytes_and_expire_on_the_servers_clock")
    else {
        return;
    };
    let c = RedisCache::<String, String>::connect(&server.url())
        .unwrap()
        .with_bare_values();
    c.flush_db().unwrap();
    let raw = ::redis::Client::open(server.url()).unwrap();
    let mut raw = raw.get_connection().unwrap();
    let get = |raw: &mut ::redis::Connection, k: &str| -> Option<Vec<u8>> {
        ::redis::cmd("GET").arg(k).query(raw).unwrap()
    };
    let pttl = |raw: &mut ::redis::Connection, k: &str| -> i64 {
        ::redis::cmd("PTTL").arg(k).query(raw).unwrap()
    };
    c.set_ex(
        "a".into(),
        "value of a".into(),
        Duration::from_micros(300_900),
    );
    assert_eq!(
        get(&mut raw, "a").as_deref(),
        Some(&b"value of a"[..]),
        "no deadline"
    );
    let left = pttl(&mut raw, "a");
    assert!(
        (250..=300).contains(&left),
        "PX 300, rounded down: {left} ms left"
    );
    assert_eq!(c.get_ex(&"a".into()).as_deref(), Some("value of a"));
    c.set_ex("forever".into(), "f".into(), Duration::MAX);
    assert_eq!(pttl(&mut raw, "forever"), -1, "no expiry");
    c.set_ex("gone".into(), "g".into(), Duration::from_secs(60));
    c.set_ex("gone".into(), "g".into(), Duration::from_micros(999));
    assert_eq!(
        get(&mut raw, "gone"),
        None,
        "a TTL under a millisecond deletes the key"
    );
    std::thread::sleep(Duration::from_millis(400));
    assert_eq!(c.get_ex(&"a".into()), None, "expired on the server's clock");
    assert_eq!(c.get_ex(&"forever".into()).as_deref(), Some("f"));
    // The deadline format stores 8 bytes more per value.
    let d = RedisCache::<String, String>::connect(&server.url()).unwrap();
    d.set_ex("d".into(), "value of a".into(), Duration::from_secs(60));
    assert_eq!(get(&mut raw, "d").map(|v| v.len()), Some(8 + 10));
    assert_eq!((c.errors(), d.errors()), (0, 0));
}
