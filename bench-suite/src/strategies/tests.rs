use std::time::Duration;

use super::*;

#[test]
fn names_are_found_and_unknown_names_are_a_clear_error() {
    let r = Registry::ours();
    for s in r.all() {
        assert_eq!(r.require(s.name()).as_ref(), Ok(s));
    }
    let err = r.require("lfu").unwrap_err().to_string();
    assert!(
        err.contains("unknown strategy \"lfu\"") && err.contains("weakfifo"),
        "{err}"
    );
    let got = r.parse_list("lru, moka,lru").unwrap();
    assert_eq!(
        got.iter().map(Strategy::name).collect::<Vec<_>>(),
        ["lru", "moka"]
    );
    let empty = r.parse_list(" , ").unwrap_err().to_string();
    assert!(empty.contains("known: weakfifo"), "{empty}");
}

#[test]
fn a_registry_refuses_duplicate_and_unusable_names() {
    struct Nothing;
    impl Build for Nothing {
        fn build<K: Key, V: Value, C: BenchClock>(
            &self,
            _: usize,
            clock: C,
        ) -> Box<dyn ExpiringCache<K, V>> {
            Box::new(HashMapBaseline::with_clock(clock))
        }
    }
    let r = Registry::ours();
    assert_eq!(
        r.clone()
            .with(Strategy::new("lru", "", Nothing))
            .unwrap_err(),
        RegistryError::Duplicate("lru")
    );
    for bad in [
        "",
        "Mine",
        "my cache",
        "9lives",
        "payload_floor",
        "opt",
        "compulsory_bound",
    ] {
        assert_eq!(
            r.clone().with(Strategy::new(bad, "", Nothing)).unwrap_err(),
            RegistryError::BadName(bad)
        );
    }
    let more = r.with(Strategy::new("mine_2", "", Nothing)).unwrap();
    assert_eq!(more.names().last(), Some(&"mine_2"));
}

#[test]
fn every_strategy_builds_for_every_type_and_serves_through_the_contract() {
    fn check<K: Key, V: Value + PartialEq>(s: &Strategy, k: K, v: V) {
        if s.own_expiry_clock().is_some() {
            // Its expiry is its server's: real time has to pass.
            let cache = s.build::<K, V, _>(16, SystemClock::new());
            cache.set_ex(k.clone(), v.clone(), Duration::from_millis(50));
            assert_eq!(cache.get_ex(&k), Some(v), "{s}");
            std::thread::sleep(Duration::from_millis(120));
            assert_eq!(cache.get_ex(&k), None, "{s}");
        } else {
            let clock = ManualClock::new();
            let cache = s.build::<K, V, _>(16, clock.clone());
            cache.set_ex(k.clone(), v.clone(), Duration::from_secs(1));
            assert_eq!(cache.get_ex(&k), Some(v), "{s}");
            clock.advance(Duration::from_secs(2));
            assert_eq!(cache.get_ex(&k), None, "{s}");
        }
        let real = s.build::<K, u64, _>(16, SystemClock::new());
        real.set_ex(k.clone(), 7, Duration::MAX);
        assert_eq!(real.get_ex(&k), Some(7), "{s}");
    }
    for s in Registry::ours().all() {
        check(s, 1u64, 10u64);
        check(s, "k".to_owned(), "v".to_owned());
        check(s, 2u64, "w".to_owned());
        check(s, "j".to_owned(), 20u64);
    }
}

/// A server of the user's is emptied before each measurement, so each server strategy takes
/// its own options from the command line and refuses one without leave to empty it — before
/// anything is measured.
#[test]
fn a_users_server_without_leave_to_empty_it_is_refused_by_every_server_strategy() {
    let cases = [
        (
            "redis",
            "--redis-url",
            "redis://127.0.0.1:1/15",
            "--redis-flush",
        ),
        (
            "memcached",
            "--memcached-addr",
            "127.0.0.1:1",
            "--memcached-flush",
        ),
    ];
    let registry = Registry::ours();
    let servers: Vec<&Strategy> = registry
        .all()
        .iter()
        // A process of the cache's own (python) is never a user's.
        .filter(|s| s.external().is_some_and(|e| e.shared_by_workers()))
        .collect();
    assert_eq!(
        servers.len(),
        cases.len(),
        "a case for every server strategy"
    );
    for (name, at, addr, leave) in cases {
        let s = registry.require(name).unwrap();
        let e = s.external().unwrap();
        let cmd = e.command_line(clap::Command::new("report"));
        assert!(
            cmd.clone().try_get_matches_from(["report", leave]).is_err(),
            "{leave} needs {at}"
        );
        let m = cmd.try_get_matches_from(["report", at, addr]).unwrap();
        e.configure(&m).unwrap();
        let why = s.ready().unwrap_err();
        assert!(why.contains(leave), "{name}: {why}");
    }
}
