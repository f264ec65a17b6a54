use std::io::Write as _;
use std::time::Duration;

use cache_core::{ExpiringCache, ManualClock};
use cache_weakfifo::WeakFifoCache;
use rand_xoshiro::Xoshiro256PlusPlus;
use rand_xoshiro::rand_core::{Rng, SeedableRng};

use super::*;

/// A Python cache, or `None` when there is no `python3` here (outside CI, which has it: there
/// the test fails instead).
fn python<K: Wire, V: Wire>(
    test: &str,
    maxlen: usize,
    clock: ManualClock,
) -> Option<PythonCache<K, V, ManualClock>> {
    match PythonCache::start(maxlen, clock) {
        Ok(c) => Some(c),
        Err(e) => {
            assert!(
                std::env::var_os("CI").is_none(),
                "{test}: no Python to run the article's cache: {e}"
            );
            let _ = writeln!(std::io::stderr(), "SKIPPED {test}: {e}");
            None
        }
    }
}

/// A number below `n`, from `rng`.
fn below(rng: &mut Xoshiro256PlusPlus, n: u64) -> u64 {
    rng.next_u64() % n
}

/// TTLs a script draws from: none, short, long, and the largest there are. Whole seconds, as
/// the clock's moves: Python keeps the article's float seconds, exact for these.
const TTLS: [Duration; 7] = [
    Duration::ZERO,
    Duration::from_secs(1),
    Duration::from_secs(5),
    Duration::from_secs(20),
    Duration::from_secs(1800),
    Duration::from_nanos(u64::MAX),
    Duration::MAX,
];

/// The article's cache in CPython and its Rust port answer alike: 1 000 random scripts of
/// sets, gets and clock moves (the same key set again and again, a `maxlen` of 0 to 7, TTLs
/// from 0 to `Duration::MAX`), every get's answer and, after each step, the entries held, the
/// keys the weak map knows compared.
#[test]
fn the_python_cache_and_the_rust_port_give_the_same_answers() {
    let test = "the_python_cache_and_the_rust_port_give_the_same_answers";
    let clock = ManualClock::new();
    let Some(mut py) = python::<String, String>(test, 0, clock.clone()) else {
        return;
    };
    let mut rng = Xoshiro256PlusPlus::seed_from_u64(2026);
    let (mut gets, mut hits) = (0u64, 0u64);
    for script in 0..1_000 {
        let maxlen = below(&mut rng, 8) as usize;
        clock.set(cache_core::Timestamp::ZERO);
        py.renew(maxlen).unwrap();
        let rust: WeakFifoCache<String, String, ManualClock> =
            WeakFifoCache::with_clock(maxlen, clock.clone());
        for step in 0..40 {
            let key = format!("k{}", below(&mut rng, 6));
            match below(&mut rng, 10) {
                0..4 => {
                    let value = format!("v{script}.{step}");
                    let ttl = TTLS[below(&mut rng, TTLS.len() as u64) as usize];
                    rust.set_ex(key.clone(), value.clone(), ttl);
                    py.set_ex(key, value, ttl);
                }
                4..8 => {
                    let (r, p) = (rust.get_ex(&key), py.get_ex(&key));
                    assert_eq!(r, p, "script {script} step {step}: get_ex({key})");
                    gets += 1;
                    hits += u64::from(r.is_some());
                }
                _ => clock.advance(Duration::from_secs(below(&mut rng, 25))),
            }
            assert_eq!(
                (rust.resident_len(), rust.weak_len() as u64),
                (py.resident_len(), py.weak_len().unwrap()),
                "script {script} step {step}: (entries held, keys known)"
            );
        }
    }
    assert_eq!(py.failures(), 0, "{:?}", py.first_failure());
    // The scripts reach both answers often.
    assert!(
        hits > gets / 5 && hits < gets * 4 / 5,
        "{hits} hits of {gets}"
    );
}

/// Keys and values the line protocol cannot carry are failures, counted, not wrong answers;
/// `int` keys and values travel as Python integers.
#[test]
fn what_the_protocol_cannot_carry_is_a_counted_failure() {
    let test = "what_the_protocol_cannot_carry_is_a_counted_failure";
    let clock = ManualClock::new();
    let Some(py) = python::<String, String>(test, 4, clock.clone()) else {
        return;
    };
    py.set_ex("a\tb".into(), "v".into(), Duration::from_secs(1));
    assert_eq!(py.get_ex(&"a\nb".to_owned()), None);
    assert_eq!(py.failures(), 2);
    assert!(py.first_failure().unwrap().contains("tab or a line break"));
    py.set_ex("ok".into(), "v".into(), Duration::from_secs(1));
    assert_eq!(
        py.get_ex(&"ok".to_owned()),
        Some("v".to_owned()),
        "still usable"
    );
    let Some(ints) = python::<u64, u64>(test, 2, clock.clone()) else {
        return;
    };
    ints.set_ex(7, 49, Duration::MAX);
    ints.set_ex(8, 64, Duration::from_secs(2));
    ints.set_ex(9, 81, Duration::from_secs(2));
    assert_eq!(
        ints.resident_len(),
        2,
        "maxlen 2: the first entry is pushed out"
    );
    assert_eq!(ints.live_len(clock.now()), Some(2));
    clock.advance(Duration::from_secs(3));
    assert_eq!(ints.live_len(clock.now()), Some(0), "expired, and held");
    assert_eq!(ints.resident_len(), 2);
    ints.set_ex(7, 49, Duration::MAX);
    clock.advance(Duration::MAX);
    assert_eq!(
        ints.get_ex(&7),
        Some(49),
        "a TTL of Duration::MAX never ends"
    );
    assert!(ints.get_median_ns(&7, 100).is_some_and(|ns| ns > 0));
    assert!(ints.start_tracing());
    assert!(ints.traced_bytes().is_some());
    assert_eq!(ints.failures(), 0, "{:?}", ints.first_failure());
}

/// A stopped interpreter (here: SIGSTOP) ends a get, and a stream of sets, after the timeout
/// with a counted failure — the run does not hang on its pipes.
#[test]
fn a_stopped_interpreter_ends_requests_after_the_timeout() {
    let test = "a_stopped_interpreter_ends_requests_after_the_timeout";
    let clock = ManualClock::new();
    let timeout = Duration::from_millis(400);
    let started = PythonCache::<String, String, ManualClock>::start_counted(
        4,
        clock.clone(),
        false,
        SharedFailures::default(),
        timeout,
    );
    let cache = match started {
        Ok(c) => c,
        Err(e) => {
            assert!(std::env::var_os("CI").is_none(), "{test}: {e}");
            let _ = writeln!(std::io::stderr(), "SKIPPED {test}: {e}");
            return;
        }
    };
    cache.set_ex("k".into(), "v".into(), Duration::from_secs(5));
    assert_eq!(cache.get_ex(&"k".to_owned()), Some("v".to_owned()));
    let pid = lock(&cache.driver).as_ref().unwrap().pid.to_string();
    let signal = |sig: &str| {
        let ok = std::process::Command::new("kill")
            .args([sig, &pid])
            .status()
            .is_ok_and(|s| s.success());
        assert!(ok, "kill {sig} {pid}");
    };
    signal("-STOP");
    let began = std::time::Instant::now();
    assert_eq!(cache.get_ex(&"k".to_owned()), None);
    assert!(began.elapsed() < 10 * timeout, "{:?}", began.elapsed());
    assert_eq!(cache.failures(), 1);
    let why = cache.first_failure().unwrap();
    assert!(why.contains("did not answer within"), "{why}");

    // Sets into a stopped interpreter fill the pipe, then the queue: the one that finds no
    // room fails after the timeout, and every later one at once.
    let clock = ManualClock::new();
    let flooded = PythonCache::<String, String, ManualClock>::start_counted(
        4,
        clock,
        false,
        SharedFailures::default(),
        timeout,
    )
    .unwrap();
    let pid = lock(&flooded.driver).as_ref().unwrap().pid.to_string();
    let stopped = std::process::Command::new("kill")
        .args(["-STOP", &pid])
        .status()
        .is_ok_and(|s| s.success());
    assert!(stopped);
    let began = std::time::Instant::now();
    for i in 0..200_000u32 {
        flooded.set_ex(format!("key{i}"), "v".repeat(40), Duration::from_secs(5));
    }
    assert!(began.elapsed() < 20 * timeout, "{:?}", began.elapsed());
    assert!(flooded.failures() > 0);
    let why = flooded.first_failure().unwrap();
    assert!(why.contains("took no request"), "{why}");
}
