//! [`LocalMemcached`]: a throwaway `memcached` for tests and measurements.

use std::ffi::{OsStr, OsString};
use std::fmt;
use std::io;
use std::path::Path;
use std::time::Duration;

use super::proto::Conn;
use crate::local_server::{LocalServer, Program};

/// The memory limit it is started with, in megabytes (`-m`): room for the report's largest
/// footprint run (500 000 entries of a few hundred bytes) without eviction. Memcached takes
/// its slab pages as items arrive, not up front.
pub const MEMORY_LIMIT_MB: u32 = 4096;

/// A `memcached` of its own: on a free loopback port (TCP only, UDP off), with a memory limit
/// of [`MEMORY_LIMIT_MB`]. Dropping it stops the server; so does this process's end, however it
/// ends (a guard process watches it, as for [`LocalRedis`](crate::LocalRedis)).
pub struct LocalMemcached(LocalServer);

impl LocalMemcached {
    /// Starts `binary` (say `memcached`, looked up on `PATH`) and waits until it answers
    /// `version`. An error of kind [`io::ErrorKind::NotFound`] means there is no such program.
    pub fn start(binary: impl AsRef<OsStr>) -> io::Result<LocalMemcached> {
        let program = Program {
            name: "memcached",
            args: &server_args,
            ready: &version,
        };
        LocalServer::start(binary.as_ref(), &program).map(LocalMemcached)
    }

    /// The server's address: `127.0.0.1:PORT`.
    pub fn addr(&self) -> String {
        addr(self.0.port())
    }

    /// The server's process id.
    pub fn pid(&self) -> u32 {
        self.0.pid()
    }
}

fn addr(port: u16) -> String {
    format!("127.0.0.1:{port}")
}

fn version(port: u16) -> io::Result<()> {
    let mut c = Conn::connect(&addr(port), Duration::from_secs(1))?;
    c.send(b"version\r\n")?;
    let line = c.line()?;
    if line.starts_with(b"VERSION ") {
        Ok(())
    } else {
        Err(super::proto::unexpected(&line))
    }
}

/// The command line: loopback TCP only, the memory limit. `-u root` is what memcached asks
/// for when it is started as root (it refuses to run as root otherwise) and is ignored when
/// it is not.
fn server_args(port: u16, _dir: &Path, _log: &Path) -> Vec<OsString> {
    [
        "-l",
        "127.0.0.1",
        "-p",
        &port.to_string(),
        "-U",
        "0",
        "-m",
        &MEMORY_LIMIT_MB.to_string(),
        "-u",
        "root",
    ]
    .iter()
    .map(OsString::from)
    .collect()
}

impl fmt::Debug for LocalMemcached {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_tuple("LocalMemcached").field(&self.0).finish()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_server_listens_on_loopback_tcp_only_with_room_for_the_footprint() {
        let args = server_args(11311, Path::new("/d"), Path::new("/d/log"));
        let args: Vec<&str> = args.iter().map(|a| a.to_str().unwrap()).collect();
        let pairs: Vec<[&str; 2]> = args.chunks(2).map(|c| [c[0], c[1]]).collect();
        for want in [
            ["-l", "127.0.0.1"],
            ["-p", "11311"],
            ["-U", "0"],
            ["-m", "4096"],
        ] {
            assert!(pairs.contains(&want), "{want:?} in {args:?}");
        }
    }
}
