//! The types the measurements build caches for: keys, values, clocks, and how keys and values
//! travel to a cache server.

use std::fmt;
use std::hash::Hash;

use cache_core::{Clock, ManualClock, SystemClock};

use crate::values::{Held, TrackedValue};

pub(crate) mod sealed {
    pub trait Sealed {}
}

/// A key type the measurements use: `String` (the article's keys) or `u64`.
///
/// Sealed: these are the types a [`Build`](super::Build) implementation must handle, and the only ones.
pub trait Key: Hash + Eq + Clone + Send + Sync + fmt::Debug + 'static + Wire {}

/// A value type the measurements use: `String`, `u64`, or the retention harness's
/// [`TrackedValue`] (an 8-byte string that counts its copies).
pub trait Value: Clone + Send + Sync + fmt::Debug + 'static + Wire {}

/// How a key or value travels to a cache server: its bytes, as the `redis` crate writes them
/// (a string's UTF-8, an integer's decimal digits). Sealed, with [`Key`] and [`Value`].
pub trait Wire: Sized + sealed::Sealed {
    /// The bytes stored.
    fn to_wire(&self) -> Vec<u8>;
    /// The value back from its bytes; `None` if they are not one.
    fn from_wire(bytes: Vec<u8>) -> Option<Self>;
    /// The Python type it is kept as in the article's cache in CPython (`str` or `int`).
    const PYTHON: &'static str;
}

impl Wire for String {
    const PYTHON: &'static str = "str";
    fn to_wire(&self) -> Vec<u8> {
        self.as_bytes().to_vec()
    }
    fn from_wire(bytes: Vec<u8>) -> Option<String> {
        String::from_utf8(bytes).ok()
    }
}

impl Wire for u64 {
    const PYTHON: &'static str = "int";
    fn to_wire(&self) -> Vec<u8> {
        self.to_string().into_bytes()
    }
    fn from_wire(bytes: Vec<u8>) -> Option<u64> {
        std::str::from_utf8(&bytes).ok()?.parse().ok()
    }
}

impl Wire for TrackedValue {
    const PYTHON: &'static str = "str";
    fn to_wire(&self) -> Vec<u8> {
        self.text().as_bytes().to_vec()
    }
    /// A copy read back from a server is not counted in any census: it is this process's
    /// copy of an entry whose original is the server's.
    fn from_wire(bytes: Vec<u8>) -> Option<TrackedValue> {
        Some(TrackedValue::untracked(String::from_utf8(bytes).ok()?))
    }
}

/// Replays run in this process only: a token has no bytes to send.
impl Wire for Held {
    const PYTHON: &'static str = "str";
    fn to_wire(&self) -> Vec<u8> {
        b"held".to_vec()
    }
    /// None: a copy read back from elsewhere is not a copy of this process's token.
    fn from_wire(_: Vec<u8>) -> Option<Held> {
        None
    }
}

/// A clock the measurements run strategies on: [`ManualClock`] (moved by hand: footprint,
/// retention at full scale, hit ratio, `get_expired` bench) or [`SystemClock`] (real time:
/// the benches, and retention of strategies whose reclamation runs on real time).
pub trait BenchClock: Clock + Clone + Send + Sync + 'static + sealed::Sealed {}

impl sealed::Sealed for String {}
impl sealed::Sealed for u64 {}
impl sealed::Sealed for TrackedValue {}
impl sealed::Sealed for Held {}
impl sealed::Sealed for ManualClock {}
impl sealed::Sealed for SystemClock {}
impl Key for String {}
impl Key for u64 {}
impl Value for String {}
impl Value for u64 {}
impl Value for TrackedValue {}
impl Value for Held {}
impl BenchClock for ManualClock {}
impl BenchClock for SystemClock {}
