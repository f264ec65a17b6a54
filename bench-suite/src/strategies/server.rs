//! What the server strategies (`redis.rs`, `memcached.rs`) share: a [`Target`] — where the
//! server comes from, found or started once on first use, with the failures counted over every
//! cache built on it — and [`WireEntries`], the cache the measurements see: keys and values as
//! their [`Wire`](super::Wire) bytes on the server.

use std::fmt;
use std::marker::PhantomData;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use cache_core::ExpiringCache;

use super::{Key, Value};

/// A server strategy's server: options `O` (set from the command line before first use), the
/// endpoint `E` that `resolve` makes of them on first use (or why there is none), and the
/// failed commands of every cache built so far.
pub(super) struct Target<O, E> {
    options: Mutex<O>,
    endpoint: Mutex<Option<Result<Arc<E>, String>>>,
    failures: Arc<Failures>,
    resolve: fn(O) -> Result<E, String>,
}

/// Failed commands, and the first one's description.
#[derive(Default)]
pub(super) struct Failures {
    count: AtomicU64,
    first: Mutex<Option<String>>,
}

impl Failures {
    /// Counts one failure, described by `why`.
    pub(super) fn add_one(&self, why: String) {
        self.add(1, || Some(why));
    }

    /// Failures so far.
    pub(super) fn count(&self) -> u64 {
        self.count.load(Ordering::Relaxed)
    }

    /// The first failure, in words.
    pub(super) fn first(&self) -> Option<String> {
        self.first
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .clone()
    }

    fn add(&self, n: u64, what: impl FnOnce() -> Option<String>) {
        if n == 0 {
            return;
        }
        self.count.fetch_add(n, Ordering::Relaxed);
        let mut first = self.first.lock().unwrap_or_else(PoisonError::into_inner);
        if first.is_none() {
            *first = what();
        }
    }
}

impl<O: Clone, E> Target<O, E> {
    pub(super) fn new(options: O, resolve: fn(O) -> Result<E, String>) -> Target<O, E> {
        Target {
            options: Mutex::new(options),
            endpoint: Mutex::new(None),
            failures: Arc::new(Failures::default()),
            resolve,
        }
    }

    /// Sets where the server comes from, for its first use.
    pub(super) fn set_options(&self, options: O) {
        *self.options.lock().unwrap_or_else(PoisonError::into_inner) = options;
    }

    /// The server, found or started on the first call.
    pub(super) fn endpoint(&self) -> Result<Arc<E>, String> {
        self.endpoint
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .get_or_insert_with(|| {
                let options = self
                    .options
                    .lock()
                    .unwrap_or_else(PoisonError::into_inner)
                    .clone();
                (self.resolve)(options).map(Arc::new)
            })
            .clone()
    }

    /// Counts a failed command, described by `what`.
    pub(super) fn failed(&self, what: String) {
        self.failures.add_one(what);
    }

    /// Failed commands so far, over every cache built and dropped.
    pub(super) fn failures(&self) -> u64 {
        self.failures.count()
    }

    /// The first failure, in words.
    pub(super) fn first_failure(&self) -> Option<String> {
        self.failures.first()
    }

    /// The cache the measurements see, around `inner` (`Err`: it could not be built, counted
    /// with why).
    pub(super) fn entries<K, V, W: WireCache>(
        &self,
        inner: Result<W, String>,
    ) -> WireEntries<K, V, W> {
        let inner = inner.map_err(|why| self.failed(why)).ok();
        WireEntries {
            inner,
            failures: Arc::clone(&self.failures),
            _types: PhantomData,
        }
    }
}

impl<O, E> fmt::Debug for Target<O, E> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Target")
            .field("failures", &self.failures.count.load(Ordering::Relaxed))
            .finish_non_exhaustive()
    }
}

/// A cache of wire bytes on a server that counts its own failed commands.
pub(super) trait WireCache: ExpiringCache<Vec<u8>, Vec<u8>> {
    /// Commands that failed so far.
    fn errors(&self) -> u64;
    /// The first failure, in words.
    fn first_error(&self) -> Option<String>;
}

/// What the measurements see: keys and values as wire bytes on the server. Without a server
/// (it could not connect) every call fails, and is counted; so is a value that does not decode.
/// Its cache's failures are added to the target's when it is dropped.
pub(super) struct WireEntries<K, V, W: WireCache> {
    inner: Option<W>,
    failures: Arc<Failures>,
    _types: PhantomData<fn(K) -> V>,
}

impl<K, V, W: WireCache> WireEntries<K, V, W> {
    fn cache(&self) -> Option<&W> {
        if self.inner.is_none() {
            self.failures.add(1, || None);
        }
        self.inner.as_ref()
    }
}

impl<K: Key, V: Value, W: WireCache> ExpiringCache<K, V> for WireEntries<K, V, W> {
    fn get_ex(&self, key: &K) -> Option<V> {
        let bytes = self.cache()?.get_ex(&key.to_wire())?;
        let value = V::from_wire(bytes);
        if value.is_none() {
            self.failures.add(1, || {
                Some("a value read back that is not of its type".to_owned())
            });
        }
        value
    }

    fn set_ex(&self, key: K, value: V, ttl: Duration) {
        if let Some(c) = self.cache() {
            c.set_ex(key.to_wire(), value.to_wire(), ttl);
        }
    }

    fn set_ex_many(&self, entries: Vec<(K, V, Duration)>) {
        if let Some(c) = self.cache() {
            c.set_ex_many(
                entries
                    .into_iter()
                    .map(|(k, v, ttl)| (k.to_wire(), v.to_wire(), ttl))
                    .collect(),
            );
        }
    }

    fn resident_len(&self) -> usize {
        self.cache().map_or(0, ExpiringCache::resident_len)
    }
}

impl<K, V, W: WireCache> Drop for WireEntries<K, V, W> {
    fn drop(&mut self) {
        if let Some(c) = &self.inner {
            self.failures.add(c.errors(), || c.first_error());
        }
    }
}

/// A server call's timeout from the command line: seconds, more than 0 and at most an hour.
pub(super) fn parse_timeout(s: &str) -> Result<Duration, String> {
    match s.trim().parse::<f64>() {
        Ok(secs) if secs.is_finite() && secs > 0.0 && secs <= 3600.0 => {
            Ok(Duration::from_secs_f64(secs))
        }
        _ => Err(format!("{s:?}: give seconds, more than 0 and at most 3600")),
    }
}

/// A timeout for a child's environment, under `var`: seconds.
pub(super) fn timeout_var(var: &str, timeout: Duration) -> (String, String) {
    (var.to_owned(), timeout.as_secs_f64().to_string())
}

/// The timeout a child was handed under `var` ([`timeout_var`]), or `default`.
pub(super) fn timeout_from_env(var: &str, default: Duration) -> Duration {
    std::env::var(var)
        .ok()
        .and_then(|t| parse_timeout(&t).ok())
        .unwrap_or(default)
}

/// `url` with its password (or a user part without one, which some servers read as the
/// password) replaced by `***`: URLs are printed in errors and the report.
pub(super) fn redacted(url: &str) -> String {
    let Some(scheme_end) = url.find("://").map(|i| i + 3) else {
        return url.to_owned();
    };
    let rest = &url[scheme_end..];
    let authority = rest.find(['/', '?', '#']).map_or(rest, |i| &rest[..i]);
    let Some(at) = authority.rfind('@') else {
        return url.to_owned();
    };
    let user = authority[..at].split_once(':').map_or("", |(user, _)| user);
    format!("{}{user}:***{}", &url[..scheme_end], &rest[at..])
}

/// A process's resident set in bytes, from `/proc/PID/status` (Linux).
pub(super) fn resident_set(pid: u32) -> Option<u64> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    let kb: u64 = status
        .lines()
        .find_map(|l| l.strip_prefix("VmRSS:"))?
        .trim()
        .strip_suffix("kB")?
        .trim()
        .parse()
        .ok()?;
    Some(kb * 1024)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn passwords_in_urls_are_never_shown() {
        for (url, shown) in [
            ("redis://:hunter2@db:6379/15", "redis://:***@db:6379/15"),
            ("redis://app:hunter2@db/0", "redis://app:***@db/0"),
            ("redis://hunter2@db/0", "redis://:***@db/0"),
            ("redis://db:6379/0", "redis://db:6379/0"),
            ("db:6379", "db:6379"),
            ("rediss://a:b@c@d/0", "rediss://a:***@d/0"),
        ] {
            assert_eq!(redacted(url), shown);
            assert!(!redacted(url).contains("hunter2"));
        }
    }

    #[test]
    fn timeouts_are_seconds_within_an_hour() {
        assert_eq!(parse_timeout("2.5"), Ok(Duration::from_millis(2500)));
        for bad in ["0", "-1", "nan", "inf", "3601", "x"] {
            assert!(parse_timeout(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn this_process_has_a_resident_set() {
        if cfg!(target_os = "linux") {
            assert!(resident_set(std::process::id()).unwrap() > 0);
        }
        assert_eq!(resident_set(u32::MAX), None);
    }
}
