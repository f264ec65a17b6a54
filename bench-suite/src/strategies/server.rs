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
    failures: Arc<AtomicU64>,
    resolve: fn(O) -> Result<E, String>,
}

impl<O: Clone, E> Target<O, E> {
    pub(super) fn new(options: O, resolve: fn(O) -> Result<E, String>) -> Target<O, E> {
        Target {
            options: Mutex::new(options),
            endpoint: Mutex::new(None),
            failures: Arc::new(AtomicU64::new(0)),
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

    /// Counts `n` failed commands.
    pub(super) fn failed(&self, n: u64) {
        self.failures.fetch_add(n, Ordering::Relaxed);
    }

    /// Failed commands so far, over every cache built and dropped.
    pub(super) fn failures(&self) -> u64 {
        self.failures.load(Ordering::Relaxed)
    }

    /// The cache the measurements see, around `inner` (`None`: it could not connect, counted).
    pub(super) fn entries<K, V, W: WireCache>(&self, inner: Option<W>) -> WireEntries<K, V, W> {
        if inner.is_none() {
            self.failed(1);
        }
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
            .field("failures", &self.failures.load(Ordering::Relaxed))
            .finish_non_exhaustive()
    }
}

/// A cache of wire bytes on a server that counts its own failed commands.
pub(super) trait WireCache: ExpiringCache<Vec<u8>, Vec<u8>> {
    /// Commands that failed so far.
    fn errors(&self) -> u64;
}

/// What the measurements see: keys and values as wire bytes on the server. Without a server
/// (it could not connect) every call fails, and is counted; so is a value that does not decode.
/// Its cache's failures are added to the target's when it is dropped.
pub(super) struct WireEntries<K, V, W: WireCache> {
    inner: Option<W>,
    failures: Arc<AtomicU64>,
    _types: PhantomData<fn(K) -> V>,
}

impl<K, V, W: WireCache> WireEntries<K, V, W> {
    fn cache(&self) -> Option<&W> {
        if self.inner.is_none() {
            self.failures.fetch_add(1, Ordering::Relaxed);
        }
        self.inner.as_ref()
    }
}

impl<K: Key, V: Value, W: WireCache> ExpiringCache<K, V> for WireEntries<K, V, W> {
    fn get_ex(&self, key: &K) -> Option<V> {
        let bytes = self.cache()?.get_ex(&key.to_wire())?;
        let value = V::from_wire(bytes);
        if value.is_none() {
            self.failures.fetch_add(1, Ordering::Relaxed);
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
            self.failures.fetch_add(c.errors(), Ordering::Relaxed);
        }
    }
}
