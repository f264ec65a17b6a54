//! [`LocalRedis`]: a throwaway `redis-server` for tests and measurements.

use std::ffi::{OsStr, OsString};
use std::fmt;
use std::io;
use std::net::{Ipv4Addr, TcpListener};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

/// How long a fresh server has to answer `PING`.
const READY_WITHIN: Duration = Duration::from_secs(10);
/// Free ports are picked by asking the system for one and handing it to the server; another
/// process can take it in between, so a start is tried this many times.
const TRIES: u32 = 5;

/// A `redis-server` of its own: on a free loopback port, persistence off (`--save ""
/// --appendonly no`), its working files in a fresh temporary directory. Dropping it stops the
/// server (SIGKILL, then waits for it) and removes the directory.
///
/// It lives as long as this value: a process that may be killed before it can drop the value
/// should run it in a helper process that watches its parent (the `bench-suite` report does).
pub struct LocalRedis {
    child: Child,
    dir: PathBuf,
    port: u16,
}

impl LocalRedis {
    /// Starts `binary` (say `redis-server`, looked up on `PATH`) and waits until it answers
    /// `PING`. An error of kind [`io::ErrorKind::NotFound`] means there is no such program.
    pub fn start(binary: impl AsRef<OsStr>) -> io::Result<LocalRedis> {
        let binary = binary.as_ref();
        let mut last = None;
        for _ in 0..TRIES {
            match Self::try_start(binary) {
                Ok(server) => return Ok(server),
                Err(e) if e.kind() == io::ErrorKind::NotFound => return Err(e),
                Err(e) => last = Some(e),
            }
        }
        Err(last.unwrap_or_else(|| io::Error::other("redis-server did not start")))
    }

    fn try_start(binary: &OsStr) -> io::Result<LocalRedis> {
        let dir = fresh_dir()?;
        let port = free_port()?;
        let log = dir.join("redis.log");
        let spawned = Command::new(binary)
            .args(server_args(port, &dir, &log))
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn();
        let child = match spawned {
            Ok(c) => c,
            Err(e) => {
                let _ = std::fs::remove_dir_all(&dir);
                return Err(if e.kind() == io::ErrorKind::NotFound {
                    io::Error::new(
                        e.kind(),
                        format!("no {} on PATH", Path::new(binary).display()),
                    )
                } else {
                    e
                });
            }
        };
        // From here on, dropping the value stops the server and removes the directory.
        let mut server = LocalRedis { child, dir, port };
        server.wait_ready(&log)?;
        Ok(server)
    }

    fn wait_ready(&mut self, log: &Path) -> io::Result<()> {
        let since = Instant::now();
        loop {
            if let Some(status) = self.child.try_wait()? {
                let said = std::fs::read_to_string(log).unwrap_or_default();
                return Err(io::Error::other(format!(
                    "redis-server exited ({status}) before answering PING: {}",
                    said.trim()
                )));
            }
            if self.ping().is_ok() {
                return Ok(());
            }
            if since.elapsed() > READY_WITHIN {
                return Err(io::Error::new(
                    io::ErrorKind::TimedOut,
                    format!("redis-server did not answer PING within {READY_WITHIN:?}"),
                ));
            }
            std::thread::sleep(Duration::from_millis(10));
        }
    }

    fn ping(&self) -> ::redis::RedisResult<()> {
        let mut conn = ::redis::Client::open(self.url())?.get_connection()?;
        ::redis::cmd("PING").query(&mut conn)
    }

    /// The server's URL, database 0: `redis://127.0.0.1:PORT/0`.
    pub fn url(&self) -> String {
        format!("redis://127.0.0.1:{}/0", self.port)
    }

    /// Its temporary directory (removed when the server is dropped).
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// The server's process id.
    pub fn pid(&self) -> u32 {
        self.child.id()
    }
}

impl Drop for LocalRedis {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

impl fmt::Debug for LocalRedis {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("LocalRedis")
            .field("pid", &self.pid())
            .field("port", &self.port)
            .field("dir", &self.dir)
            .finish()
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

/// A port no one listens on now.
fn free_port() -> io::Result<u16> {
    Ok(TcpListener::bind((Ipv4Addr::LOCALHOST, 0))?
        .local_addr()?
        .port())
}

/// A new, empty directory under the system's temporary directory.
fn fresh_dir() -> io::Result<PathBuf> {
    static NEXT: AtomicU64 = AtomicU64::new(0);
    let stamp = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.subsec_nanos());
    let dir = std::env::temp_dir().join(format!(
        "local-redis-{}-{}-{stamp}",
        std::process::id(),
        NEXT.fetch_add(1, Ordering::Relaxed)
    ));
    std::fs::create_dir(&dir)?;
    Ok(dir)
}
