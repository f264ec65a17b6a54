//! [`LocalRedis`]: a throwaway `redis-server` for tests and measurements.

use std::ffi::{OsStr, OsString};
use std::fmt;
use std::io;
use std::path::Path;

use crate::local_server::{LocalServer, Program};

/// A `redis-server` of its own: on a free loopback port, persistence off (`--save ""
/// --appendonly no`), its working files in a fresh temporary directory. Dropping it stops the
/// server and removes the directory; so does this process's end, however it ends (a guard
/// process watches it: see the crate's documentation of local servers).
pub struct LocalRedis(LocalServer);

impl LocalRedis {
    /// Starts `binary` (say `redis-server`, looked up on `PATH`) and waits until it answers
    /// `PING`. An error of kind [`io::ErrorKind::NotFound`] means there is no such program.
    pub fn start(binary: impl AsRef<OsStr>) -> io::Result<LocalRedis> {
        let program = Program {
            name: "redis-server",
            args: &server_args,
            ready: &ping,
        };
        LocalServer::start(binary.as_ref(), &program).map(LocalRedis)
    }

    /// The server's URL, database 0: `redis://127.0.0.1:PORT/0`.
    pub fn url(&self) -> String {
        url(self.0.port())
    }

    /// Its temporary directory (removed when the server is stopped).
    pub fn dir(&self) -> &Path {
        self.0.dir()
    }

    /// The server's process id.
    pub fn pid(&self) -> u32 {
        self.0.pid()
    }
}

fn url(port: u16) -> String {
    format!("redis://127.0.0.1:{port}/0")
}

fn ping(port: u16) -> io::Result<()> {
    let answer: ::redis::RedisResult<()> = ::redis::Client::open(url(port))
        .and_then(|c| c.get_connection())
        .and_then(|mut conn| ::redis::cmd("PING").query(&mut conn));
    answer.map_err(io::Error::other)
}

impl fmt::Debug for LocalRedis {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_tuple("LocalRedis").field(&self.0).finish()
    }
}

/// The command line: loopback only, no persistence, files in `dir`, log to `log`.
fn server_args(port: u16, dir: &Path, log: &Path) -> Vec<OsString> {
    let mut args: Vec<OsString> = [
        "--bind",
        "127.0.0.1",
        "--port",
        &port.to_string(),
        "--save",
        "",
        "--appendonly",
        "no",
        "--daemonize",
        "no",
        "--loglevel",
        "warning",
        "--dir",
    ]
    .iter()
    .map(OsString::from)
    .collect();
    args.push(dir.as_os_str().to_owned());
    args.push("--logfile".into());
    args.push(log.as_os_str().to_owned());
    args
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_server_listens_on_loopback_only_and_saves_nothing() {
        let args = server_args(6380, Path::new("/d"), Path::new("/d/log"));
        let args: Vec<&str> = args.iter().map(|a| a.to_str().unwrap()).collect();
        let pairs: Vec<[&str; 2]> = args.chunks(2).map(|c| [c[0], c[1]]).collect();
        for want in [
            ["--bind", "127.0.0.1"],
            ["--port", "6380"],
            ["--save", ""],
            ["--appendonly", "no"],
            ["--dir", "/d"],
            ["--logfile", "/d/log"],
        ] {
            assert!(pairs.contains(&want), "{want:?} in {args:?}");
        }
    }
}
