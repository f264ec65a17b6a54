//! Servers of their own for the Redis and Memcached tests.

#![allow(dead_code)]

use std::io::Write as _;

/// A fresh server for `test`: `redis-server` from `PATH`, or the program `REDIS_SERVER` names.
///
/// Where none can be started, the test fails in CI (`CI` set) and elsewhere prints why it is
/// skipped — to the terminal, past the test harness's capture — and returns `None`.
#[cfg(feature = "redis")]
pub(crate) fn redis_server(test: &str) -> Option<cache_adapters::LocalRedis> {
    let binary = std::env::var_os("REDIS_SERVER").unwrap_or_else(|| "redis-server".into());
    match cache_adapters::LocalRedis::start(&binary) {
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

/// A fresh `memcached` for `test`: from `PATH`, or the program `MEMCACHED` names; like
/// [`redis_server`], required in CI and skipped with a line elsewhere.
#[cfg(feature = "memcached")]
pub(crate) fn memcached_server(test: &str) -> Option<cache_adapters::LocalMemcached> {
    let binary = std::env::var_os("MEMCACHED").unwrap_or_else(|| "memcached".into());
    match cache_adapters::LocalMemcached::start(&binary) {
        Ok(server) => Some(server),
        Err(e) if std::env::var_os("CI").is_some() => {
            panic!("{test} needs a memcached, and CI must provide one: {e}")
        }
        Err(e) => {
            let _ = writeln!(
                std::io::stderr(),
                "SKIPPED {test}: no memcached could be started ({e}); install one \
                 (`apt-get install memcached`) or name it in MEMCACHED"
            );
            None
        }
    }
}
