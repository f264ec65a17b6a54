//! A `redis-server` for the Redis tests.

#![allow(dead_code)]

use std::io::Write as _;

use cache_adapters::LocalRedis;

/// A fresh server for `test`: `redis-server` from `PATH`, or the program `REDIS_SERVER` names.
///
/// Where none can be started, the test fails in CI (`CI` set) and elsewhere prints why it is
/// skipped — to the terminal, past the test harness's capture — and returns `None`.
pub(crate) fn redis_server(test: &str) -> Option<LocalRedis> {
    let binary = std::env::var_os("REDIS_SERVER").unwrap_or_else(|| "redis-server".into());
    match LocalRedis::start(&binary) {
        Ok(server) => Some(server),
        Err(e) if std::env::var_os("CI").is_some() => {
            panic!("{test} needs a redis-server, and CI must provide one: {e}")
        }
        Err(e) => {
            let _ = writeln!(
                std::io::stderr(),
                "SKIPPED {test}: no redis-server could be started ({e}); install one \
                 (`apt-get install redis-server`) or name it in REDIS_SERVER"
            );
            None
        }
    }
}
