//! The `memcached` strategy: [`MemcachedCache`] on a `memcached` this program starts on first
//! use (a [`LocalMemcached`]: free loopback port, UDP off, a memory limit with room for the
//! largest footprint run, stopped however the program ends), or on a server the user names.
//!
//! Keys and values travel as their [`Wire`](super::Wire) bytes, as with `redis`. Every cache
//! built empties the server first (`flush_all`, then until `curr_items` is zero), so that the
//! server's figures are the cache's alone: a server the user names is flushed only with their
//! leave (`--memcached-flush`).
//!
//! Its memory is what the server counts (`stats slabs`, `stats`): the slab chunks its items
//! occupy — each item takes a whole chunk of the smallest slab class it fits, so that is what it
//! costs — plus the hash table. Not `bytes` (the items' own sizes, before slab rounding), nor
//! `total_malloced` (1 MB slab pages, never given back). The resident set is read from `/proc`
//! for a server this program started.

use std::ffi::OsString;
use std::sync::Arc;
use std::time::Duration;

use cache_adapters::memcached::DEFAULT_TIMEOUT;
use cache_adapters::{LocalMemcached, MemcachedCache, ServerStats};
use cache_core::{ExpiringCache, SystemClock};

use super::server::{Target, WireCache, parse_timeout, timeout_from_env, timeout_var};
use super::{BenchClock, Build, External, Key, ServerBytes, Strategy, Value};

/// Where the `memcached` strategy's server comes from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) struct MemcachedOptions {
    /// The program to start (default: `memcached`, looked up on `PATH`).
    pub server: Option<OsString>,
    /// A server the user runs instead: `host:port`.
    pub addr: Option<String>,
    /// Whether the report may empty the server at `addr` (`flush_all`), which it does before
    /// each measurement.
    pub flush: bool,
    /// The process id of the server at `addr`, when it runs on this machine (its resident set
    /// is read from `/proc`).
    pub pid: Option<u32>,
    /// How long one call to the server may take.
    pub timeout: Duration,
}

impl Default for MemcachedOptions {
    fn default() -> MemcachedOptions {
        MemcachedOptions {
            server: None,
            addr: None,
            flush: false,
            pid: None,
            timeout: DEFAULT_TIMEOUT,
        }
    }
}

/// The command line's options for the `memcached` strategy (added to `report` and `plan`
/// through [`External::command_line`]).
#[derive(clap::Args, Debug, Clone, Default)]
pub(super) struct MemcachedArgs {
    /// The memcached program the `memcached` strategy starts [default: memcached on PATH].
    #[arg(long, value_name = "PATH")]
    pub memcached_server: Option<std::path::PathBuf>,
    /// Measure the memcached at this address (host:port) instead of starting one; needs
    /// --memcached-flush.
    #[arg(long, value_name = "HOST:PORT")]
    pub memcached_addr: Option<String>,
    /// Let the report empty (flush_all) the memcached of --memcached-addr before each
    /// measurement (and after the last).
    #[arg(long, requires = "memcached_addr")]
    pub memcached_flush: bool,
    /// How long one call to memcached (connect, write, read) may take, in seconds [default: 10].
    #[arg(long, value_name = "SECS", value_parser = parse_timeout)]
    pub memcached_timeout: Option<Duration>,
}

/// The environment variable through which the report hands its server to the processes that
/// measure its footprint rows.
const CHILD_ADDR_VAR: &str = "CACHEBENCH_MEMCACHED_ADDR";
/// With [`CHILD_ADDR_VAR`]: the process id of a server the report started.
const CHILD_PID_VAR: &str = "CACHEBENCH_MEMCACHED_PID";
/// With [`CHILD_ADDR_VAR`]: the timeout, in seconds.
const CHILD_TIMEOUT_VAR: &str = "CACHEBENCH_MEMCACHED_TIMEOUT";

/// How to get a server, in the one line the report prints when it has none.
pub(super) const INSTALL: &str = "install it (Debian, Ubuntu: `sudo apt-get install memcached`; \
                           macOS: `brew install memcached`), or give --memcached-server PATH \
                           or --memcached-addr HOST:PORT";

/// The server, once found or started.
pub(super) struct Endpoint {
    addr: String,
    timeout: Duration,
    /// Our own server, stopped when the last registry holding it is dropped.
    _server: Option<LocalMemcached>,
    /// The server's process id, when it runs on this machine.
    pid: Option<u32>,
    /// A connection for the server's figures.
    probe: MemcachedCache<Vec<u8>, Vec<u8>>,
    counted_by: String,
}

/// The `memcached` strategy's server: found or started on first use, shared by every cache
/// the strategy builds, with the failures of every cache dropped so far.
pub(super) type MemcachedTarget = Target<MemcachedOptions, Endpoint>;

/// A target whose server comes from `options` (set from the command line before first use).
pub(super) fn target(options: MemcachedOptions) -> MemcachedTarget {
    Target::new(options, resolve)
}

/// The `memcached` strategy, on `target`'s server.
pub(super) fn strategy(target: Arc<MemcachedTarget>) -> Strategy {
    Strategy::new(
        "memcached",
        "a memcached on this machine, over loopback TCP: one round trip per call, memory in the \
         server (the slab chunks its items occupy and its hash table), shared by every worker; \
         items leave after their TTL in whole seconds, when read or pushed out and in its LRU \
         crawler (cache_adapters::MemcachedCache)",
        MemcachedBuild(Arc::clone(&target)),
    )
    .unbounded()
    .reclaims_on_real_time("its expiry runs on the server's clock, in whole seconds")
    .external_memory(MemcachedServer(target))
}

/// Finds or starts the server as `options` say, and gets it ready.
fn resolve(options: MemcachedOptions) -> Result<Endpoint, String> {
    let (addr, server, pid) = match options.addr {
        Some(addr) if !options.flush => {
            return Err(format!(
                "--memcached-addr {addr}: the report empties the server (flush_all) before \
                 each measurement; give --memcached-flush to allow it, with a server you can \
                 spare"
            ));
        }
        Some(addr) => (addr, None, options.pid),
        None => {
            let program = options.server.unwrap_or_else(|| "memcached".into());
            let server = LocalMemcached::start(&program).map_err(|e| match e.kind() {
                std::io::ErrorKind::NotFound => format!("{e}; {INSTALL}"),
                _ => format!("cannot start {}: {e}", program.to_string_lossy()),
            })?;
            let pid = server.pid();
            (server.addr(), Some(server), Some(pid))
        }
    };
    let probe = MemcachedCache::connect_with(&addr, SystemClock::new(), options.timeout)
        .map_err(|e| format!("memcached {addr}: {e}"))?;
    probe
        .flush_all()
        .map_err(|e| format!("memcached {addr}: flush_all: {e}"))?;
    let stats = probe
        .server_stats()
        .map_err(|e| format!("memcached {addr}: stats: {e}"))?;
    Ok(Endpoint {
        addr,
        timeout: options.timeout,
        _server: server,
        pid,
        probe,
        counted_by: format!(
            "memcached {}'s slab chunks in use (stats slabs: used_chunks × chunk_size) and \
             hash table (stats: hash_bytes)",
            stats.version
        ),
    })
}

/// The strategy's builder: a [`MemcachedCache`] of wire bytes on the target's server, emptied
/// first.
#[derive(Debug)]
pub(super) struct MemcachedBuild(Arc<MemcachedTarget>);

impl Build for MemcachedBuild {
    fn build<K: Key, V: Value, C: BenchClock>(
        &self,
        _capacity: usize,
        clock: C,
    ) -> Box<dyn ExpiringCache<K, V>> {
        let inner = self.0.endpoint().and_then(|e| {
            let cache = MemcachedCache::connect_with(&e.addr, clock, e.timeout)
                .map_err(|err| format!("connecting to memcached {}: {err}", e.addr))?;
            cache
                .flush_all()
                .map_err(|err| format!("flush_all on memcached {}: {err}", e.addr))?;
            Ok(cache)
        });
        Box::new(self.0.entries(inner))
    }
}

impl<C: BenchClock> WireCache for MemcachedCache<Vec<u8>, Vec<u8>, C> {
    fn errors(&self) -> u64 {
        MemcachedCache::errors(self)
    }
    fn first_error(&self) -> Option<String> {
        MemcachedCache::first_error(self)
    }
}

/// A server of the user's is left as the last measurement found it: empty (the user allowed
/// the report to empty it with `--memcached-flush`). Ours is stopped.
impl Drop for Endpoint {
    fn drop(&mut self) {
        if self._server.is_none() {
            let _ = self.probe.flush_all();
        }
    }
}

/// The strategy's server, as the measurements see it.
#[derive(Debug)]
pub(super) struct MemcachedServer(Arc<MemcachedTarget>);

impl MemcachedServer {
    fn bytes(&self, e: &Endpoint) -> Result<(ServerStats, Option<u64>), String> {
        let stats = e.probe.server_stats().map_err(|err| {
            let what = format!("stats from memcached {}: {err}", e.addr);
            self.0.failed(what.clone());
            what
        })?;
        let rss = e.pid.and_then(super::server::resident_set);
        Ok((stats, rss))
    }
}

impl External for MemcachedServer {
    fn ready(&self) -> Result<(), String> {
        self.0.endpoint().map(|_| ())
    }

    fn counted_by(&self) -> Result<String, String> {
        Ok(self.0.endpoint()?.counted_by.clone())
    }

    /// `settled`: read every 100 ms until the hash table is at the size its items call for
    /// and two reads agree (at most 10 s): memcached doubles its hash table in a background
    /// thread, which can start a while after the insert that called for it.
    fn memory(&self, settled: bool) -> Result<ServerBytes, String> {
        let e = self.0.endpoint()?;
        let (mut last, mut rss) = self.bytes(&e)?;
        if settled {
            for _ in 0..100 {
                std::thread::sleep(Duration::from_millis(100));
                let (now, now_rss) = self.bytes(&e)?;
                let same = now.data() == last.data() && now.is_settled();
                (last, rss) = (now, now_rss);
                if same {
                    break;
                }
            }
        }
        Ok(ServerBytes {
            data: last.data(),
            rss,
        })
    }

    fn failures(&self) -> u64 {
        let probe = self.0.endpoint().map_or(0, |e| e.probe.errors());
        self.0.failures() + probe
    }

    fn first_failure(&self) -> Option<String> {
        self.0.first_failure().or_else(|| {
            let e = self.0.endpoint().ok()?;
            Some(format!("memcached {}: {}", e.addr, e.probe.first_error()?))
        })
    }

    fn child_env(&self) -> Vec<(String, String)> {
        self.0
            .endpoint()
            .map(|e| {
                let mut env = vec![
                    (CHILD_ADDR_VAR.to_owned(), e.addr.clone()),
                    timeout_var(CHILD_TIMEOUT_VAR, e.timeout),
                ];
                env.extend(e.pid.map(|p| (CHILD_PID_VAR.to_owned(), p.to_string())));
                env
            })
            .unwrap_or_default()
    }

    fn command_line(&self, cmd: clap::Command) -> clap::Command {
        <MemcachedArgs as clap::Args>::augment_args(cmd)
    }

    fn configure(&self, matches: &clap::ArgMatches) -> Result<(), String> {
        let args = <MemcachedArgs as clap::FromArgMatches>::from_arg_matches(matches)
            .map_err(|e| e.to_string())?;
        self.0.set_options(MemcachedOptions {
            server: args.memcached_server.map(Into::into),
            addr: args.memcached_addr,
            flush: args.memcached_flush,
            pid: None,
            timeout: args.memcached_timeout.unwrap_or(DEFAULT_TIMEOUT),
        });
        Ok(())
    }

    /// The report hands its server down: it has checked that the server may be flushed.
    fn configure_child(&self) {
        if let Ok(addr) = std::env::var(CHILD_ADDR_VAR) {
            self.0.set_options(MemcachedOptions {
                addr: Some(addr),
                flush: true,
                pid: std::env::var(CHILD_PID_VAR)
                    .ok()
                    .and_then(|p| p.parse().ok()),
                timeout: timeout_from_env(CHILD_TIMEOUT_VAR, DEFAULT_TIMEOUT),
                ..MemcachedOptions::default()
            });
        }
    }
}
