//! The `redis` strategy: [`RedisCache`] on a Redis server this program starts on first use (a
//! [`LocalRedis`]: free loopback port, persistence off, a temporary directory, stopped however
//! the program ends), or on a server the user names.
//!
//! Keys and values travel as their [`Wire`](super::Wire) bytes, so the server stores what a
//! `RedisCache<String, String>` (or `<u64, u64>`) would, and values are stored bare
//! ([`RedisCache::with_bare_values`]): the value's bytes alone, with Redis's own expiry, as a
//! service using Redis stores them — not with the adapter's 8-byte deadline in front, which
//! only a hand-moved clock needs. Every cache built empties the database
//! first (`FLUSHDB`), so that `DBSIZE` and the server's memory are the cache's alone: a server
//! the user names is flushed only with their leave (`--redis-flush`).

use std::ffi::OsString;
use std::sync::Arc;
use std::time::Duration;

use cache_adapters::redis::{DEFAULT_TIMEOUT, error_text};
use cache_adapters::{LocalRedis, RedisCache};
use cache_core::{ExpiringCache, SystemClock};

use super::server::{Target, WireCache, parse_timeout, redacted, timeout_from_env, timeout_var};
use super::{BenchClock, Build, External, Key, ServerBytes, Strategy, Value};

/// Where the `redis` strategy's server comes from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) struct RedisOptions {
    /// The program to start (default: `redis-server`, looked up on `PATH`).
    pub server: Option<OsString>,
    /// A server the user runs instead: `redis://host:port/db`.
    pub url: Option<String>,
    /// Whether the report may empty the database at `url` (`FLUSHDB`), which it does before
    /// each measurement.
    pub flush: bool,
    /// How long one call to the server may take.
    pub timeout: Duration,
}

impl Default for RedisOptions {
    fn default() -> RedisOptions {
        RedisOptions {
            server: None,
            url: None,
            flush: false,
            timeout: DEFAULT_TIMEOUT,
        }
    }
}

/// The command line's options for the `redis` strategy (added to `report` and `plan` through
/// [`External::command_line`]).
#[derive(clap::Args, Debug, Clone, Default)]
pub(super) struct RedisArgs {
    /// The redis-server program the `redis` strategy starts [default: redis-server on PATH].
    #[arg(long, value_name = "PATH")]
    pub redis_server: Option<std::path::PathBuf>,
    /// Measure the Redis server at this URL (redis://host:port/db) instead of starting one;
    /// needs --redis-flush.
    #[arg(long, value_name = "URL")]
    pub redis_url: Option<String>,
    /// Let the report empty (FLUSHDB) the database of --redis-url before each measurement
    /// (and after the last).
    #[arg(long, requires = "redis_url")]
    pub redis_flush: bool,
    /// How long one call to the Redis server (connect, write, read) may take, in seconds
    /// [default: 10].
    #[arg(long, value_name = "SECS", value_parser = parse_timeout)]
    pub redis_timeout: Option<Duration>,
}

impl RedisArgs {
    /// These options.
    pub(super) fn options(&self) -> RedisOptions {
        RedisOptions {
            server: self.redis_server.clone().map(Into::into),
            url: self.redis_url.clone(),
            flush: self.redis_flush,
            timeout: self.redis_timeout.unwrap_or(DEFAULT_TIMEOUT),
        }
    }
}

/// The environment variable through which the report hands its server to the fresh processes
/// that measure its footprint rows (read by [`External::configure_child`]).
const CHILD_URL_VAR: &str = "CACHEBENCH_REDIS_URL";
/// With [`CHILD_URL_VAR`]: the timeout, in seconds.
const CHILD_TIMEOUT_VAR: &str = "CACHEBENCH_REDIS_TIMEOUT";

/// How to get a server, in the one line the report prints when it has none.
pub(super) const INSTALL: &str = "install it (Debian, Ubuntu: `sudo apt-get install redis-server`; \
                           macOS: `brew install redis`), or give --redis-server PATH or \
                           --redis-url URL";

/// The server, once found or started.
pub(super) struct Endpoint {
    url: String,
    /// `url` as it may be shown.
    shown: String,
    timeout: Duration,
    /// Our own server, stopped when the last registry holding it is dropped.
    _server: Option<LocalRedis>,
    /// A connection for the server's figures (`INFO memory`).
    probe: RedisCache<Vec<u8>, Vec<u8>>,
    counted_by: String,
}

/// The `redis` strategy's server: found or started on first use, shared by every cache the
/// strategy builds, with the failures of every cache dropped so far.
pub(super) type RedisTarget = Target<RedisOptions, Endpoint>;

/// A target whose server comes from `options` (set from the command line before first use).
pub(super) fn target(options: RedisOptions) -> RedisTarget {
    Target::new(options, resolve)
}

/// The `redis` strategy, on `target`'s server.
pub(super) fn strategy(target: Arc<RedisTarget>) -> Strategy {
    Strategy::new(
        "redis",
        "a Redis server on this machine, over loopback TCP: one round trip per call, memory in \
         the server (its used_memory), shared by every worker; keys leave at their TTL, lazily \
         when read and in the server's active expiry cycle (cache_adapters::RedisCache)",
        RedisBuild(Arc::clone(&target)),
    )
    .unbounded()
    .reclaims_on_real_time("its expiry runs on the server's clock")
    .expires_on_its_own_clock(
        "values are stored bare, as a service stores them: Redis's expiry is the only one",
    )
    .external_memory(RedisServer(target))
    .crates(&["redis"])
}

/// Finds or starts the server as `options` say, and gets it ready.
fn resolve(options: RedisOptions) -> Result<Endpoint, String> {
    let (url, server) = match options.url {
        Some(url) if !options.flush => {
            return Err(format!(
                "--redis-url {}: the report empties the database (FLUSHDB) before each \
                 measurement; give --redis-flush to allow it, with a database you can spare \
                 (redis://host:6379/15)",
                redacted(&url)
            ));
        }
        Some(url) => (url, None),
        None => {
            let program = options.server.unwrap_or_else(|| "redis-server".into());
            let server = LocalRedis::start(&program).map_err(|e| match e.kind() {
                std::io::ErrorKind::NotFound => format!("{e}; {INSTALL}"),
                _ => format!("cannot start {}: {e}", program.to_string_lossy()),
            })?;
            (server.url(), Some(server))
        }
    };
    let shown = redacted(&url);
    let probe =
        RedisCache::connect_with(&url, SystemClock::new(), options.timeout).map_err(|e| {
            format!(
                "cannot connect to Redis at {shown}: {}",
                error_text(&e, options.timeout)
            )
        })?;
    warm_up(&probe).map_err(|e| format!("Redis at {shown}, getting it ready: {e}"))?;
    let memory = probe.server_memory().map_err(|e| {
        format!(
            "Redis at {shown}: INFO memory: {}",
            error_text(&e, options.timeout)
        )
    })?;
    Ok(Endpoint {
        url,
        shown,
        timeout: options.timeout,
        _server: server,
        probe,
        counted_by: format!(
            "the Redis server's used_memory less its connections' buffers (`INFO memory`, {})",
            memory.allocator
        ),
    })
}

/// Calls every command the measurements use once, then empties the database: a command's first
/// call allocates its latency histogram in the server (about 25 KB in Redis 7), which would
/// otherwise count as the first measurement's.
fn warm_up(c: &RedisCache<Vec<u8>, Vec<u8>>) -> Result<(), String> {
    let (a, b) = (
        b"cachebench-warm-up-a".to_vec(),
        b"cachebench-warm-up-b".to_vec(),
    );
    let minute = Duration::from_secs(60);
    let why = |e| error_text(&e, DEFAULT_TIMEOUT);
    c.flush_db().map_err(why)?;
    c.set_ex_many(vec![
        (a.clone(), a.clone(), minute),
        (b.clone(), b.clone(), Duration::ZERO),
    ]);
    c.set_ex(b.clone(), b.clone(), Duration::MAX);
    c.set_ex(b.clone(), b.clone(), Duration::ZERO);
    let _ = (c.get_ex(&a), c.resident_len());
    c.settled_memory().map_err(why)?;
    c.flush_db().map_err(why)?;
    match c.errors() {
        0 => Ok(()),
        n => Err(format!(
            "{n} commands failed while getting the server ready"
        )),
    }
}

/// The strategy's builder: a [`RedisCache`] of wire bytes on the target's server, its database
/// emptied first.
#[derive(Debug)]
pub(super) struct RedisBuild(Arc<RedisTarget>);

impl Build for RedisBuild {
    fn build<K: Key, V: Value, C: BenchClock>(
        &self,
        _capacity: usize,
        clock: C,
    ) -> Box<dyn ExpiringCache<K, V>> {
        let inner = self.0.endpoint().and_then(|e| {
            let cache = RedisCache::connect_with(&e.url, clock, e.timeout)
                .map_err(|err| {
                    format!("connecting to {}: {}", e.shown, error_text(&err, e.timeout))
                })?
                .with_bare_values();
            cache.flush_db().map_err(|err| {
                format!("FLUSHDB on {}: {}", e.shown, error_text(&err, e.timeout))
            })?;
            Ok(cache)
        });
        Box::new(self.0.entries(inner))
    }
}

impl<C: BenchClock> WireCache for RedisCache<Vec<u8>, Vec<u8>, C> {
    fn errors(&self) -> u64 {
        RedisCache::errors(self)
    }
    fn first_error(&self) -> Option<String> {
        RedisCache::first_error(self)
    }
}

/// A server of the user's is left as the last measurement found it: empty (the user allowed
/// the report to empty it with `--redis-flush`). Ours is stopped.
impl Drop for Endpoint {
    fn drop(&mut self) {
        if self._server.is_none() {
            let _ = self.probe.flush_db();
        }
    }
}

/// The strategy's server, as the measurements see it.
#[derive(Debug)]
pub(super) struct RedisServer(Arc<RedisTarget>);

impl External for RedisServer {
    fn ready(&self) -> Result<(), String> {
        self.0.endpoint().map(|_| ())
    }

    fn counted_by(&self) -> Result<String, String> {
        Ok(self.0.endpoint()?.counted_by.clone())
    }

    fn memory(&self, settled: bool) -> Result<ServerBytes, String> {
        let e = self.0.endpoint()?;
        let m = if settled {
            e.probe.settled_memory()
        } else {
            e.probe.server_memory()
        }
        .map_err(|err| {
            let what = format!(
                "INFO memory from {}: {}",
                e.shown,
                error_text(&err, e.timeout)
            );
            self.0.failed(what.clone());
            what
        })?;
        Ok(ServerBytes {
            data: m.data(),
            rss: Some(m.used_memory_rss),
        })
    }

    fn failures(&self) -> u64 {
        let probe = self.0.endpoint().map_or(0, |e| e.probe.errors());
        self.0.failures() + probe
    }

    fn first_failure(&self) -> Option<String> {
        self.0.first_failure().or_else(|| {
            let e = self.0.endpoint().ok()?;
            Some(format!("Redis at {}: {}", e.shown, e.probe.first_error()?))
        })
    }

    fn child_env(&self) -> Vec<(String, String)> {
        self.0
            .endpoint()
            .map(|e| {
                vec![
                    (CHILD_URL_VAR.to_owned(), e.url.clone()),
                    timeout_var(CHILD_TIMEOUT_VAR, e.timeout),
                ]
            })
            .unwrap_or_default()
    }

    fn command_line(&self, cmd: clap::Command) -> clap::Command {
        <RedisArgs as clap::Args>::augment_args(cmd)
    }

    fn configure(&self, matches: &clap::ArgMatches) -> Result<(), String> {
        let args = <RedisArgs as clap::FromArgMatches>::from_arg_matches(matches)
            .map_err(|e| e.to_string())?;
        self.0.set_options(args.options());
        Ok(())
    }

    /// The report hands its server down: it has checked that the server may be flushed.
    fn configure_child(&self) {
        if let Ok(url) = std::env::var(CHILD_URL_VAR) {
            self.0.set_options(RedisOptions {
                url: Some(url),
                flush: true,
                timeout: timeout_from_env(CHILD_TIMEOUT_VAR, DEFAULT_TIMEOUT),
                ..RedisOptions::default()
            });
        }
    }
}
