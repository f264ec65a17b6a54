//! [`LocalRedis`]: a throwaway `redis-server` for tests and measurements.

use std::ffi::{OsStr, OsString};
use std::fmt;
use std::io;
use std::net::{Ipv4Addr, TcpListener};
use std::path::{Path, PathBuf};
use std::process::{Child, ChildStdin, Command, Stdio};
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

/// How long a fresh server has to answer `PING`.
const READY_WITHIN: Duration = Duration::from_secs(10);
/// Free ports are picked by asking the system for one and handing it to the server; another
/// process can take it in between, so a start is tried this many times.
const TRIES: u32 = 5;

/// A `redis-server` of its own: on a free loopback port, persistence off (`--save ""
/// --appendonly no`), its working files in a fresh temporary directory. Dropping it stops the
/// server and removes the directory.
///
/// On Unix the server runs under a small `sh` guard in a process group of its own (so a
/// terminal's Ctrl-C goes to this process, not to the server): the guard holds the read end of
/// a pipe whose write end only this process holds. When this process ends — dropping the
/// value, returning from `main`, a panic, Ctrl-C, `kill -9` — the pipe closes, and the guard
/// stops the server (SIGKILL: there is nothing to save) and removes the directory. Elsewhere
/// the server is a plain child, stopped on drop only.
pub struct LocalRedis {
    guard: Child,
    /// The write end of the guard's pipe (Unix); closing it stops the server.
    lifeline: Option<ChildStdin>,
    pid: u32,
    dir: PathBuf,
    port: u16,
}

/// The guard: `sh -c GUARD sh DIR PROGRAM ARGS...`. It starts the server, prints its pid,
/// stops it when its standard input reaches end of file, and removes `DIR` once the server has
/// exited, for whatever reason — then exits with the server's status.
#[cfg(unix)]
const GUARD: &str = r#"dir=$1; shift
exec 3<&0
"$@" </dev/null >/dev/null 2>&1 &
pid=$!
echo "$pid"
{ cat <&3 >/dev/null; kill -9 "$pid" 2>/dev/null; } >/dev/null 2>&1 &
wait "$pid"
code=$?
rm -rf "$dir"
exit "$code"
"#;

impl LocalRedis {
    /// Starts `binary` (say `redis-server`, looked up on `PATH`) and waits until it answers
    /// `PING`. An error of kind [`io::ErrorKind::NotFound`] means there is no such program.
    pub fn start(binary: impl AsRef<OsStr>) -> io::Result<LocalRedis> {
        let binary = binary.as_ref();
        if !on_path(binary) {
            return Err(io::Error::new(
                io::ErrorKind::NotFound,
                format!("no {} on PATH", Path::new(binary).display()),
            ));
        }
        let mut last = None;
        for _ in 0..TRIES {
            match Self::try_start(binary) {
                Ok(server) => return Ok(server),
                Err(e) => last = Some(e),
            }
        }
        Err(last.unwrap_or_else(|| io::Error::other("redis-server did not start")))
    }

    fn try_start(binary: &OsStr) -> io::Result<LocalRedis> {
        let dir = fresh_dir()?;
        let port = free_port()?;
        let log = dir.join("redis.log");
        let args = server_args(port, &dir, &log);
        let spawned = spawn(binary, &dir, &args);
        let (guard, lifeline, pid) = match spawned {
            Ok(started) => started,
            Err(e) => {
                let _ = std::fs::remove_dir_all(&dir);
                return Err(e);
            }
        };
        // From here on, dropping the value stops the server and removes the directory.
        let mut server = LocalRedis {
            guard,
            lifeline,
            pid,
            dir,
            port,
        };
        server.wait_ready(&log)?;
        Ok(server)
    }

    fn wait_ready(&mut self, log: &Path) -> io::Result<()> {
        let since = Instant::now();
        loop {
            if let Some(status) = self.guard.try_wait()? {
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

    /// Its temporary directory (removed when the server is stopped).
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// The server's process id.
    pub fn pid(&self) -> u32 {
        self.pid
    }
}

/// Starts the server under the guard: the guard's process, the write end of its pipe, and the
/// server's pid.
#[cfg(unix)]
fn spawn(
    binary: &OsStr,
    dir: &Path,
    args: &[OsString],
) -> io::Result<(Child, Option<ChildStdin>, u32)> {
    use std::io::{BufRead, BufReader};
    use std::os::unix::process::CommandExt;

    let mut guard = Command::new("sh")
        .arg("-c")
        .arg(GUARD)
        .arg("sh")
        .arg(dir)
        .arg(binary)
        .args(args)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .process_group(0)
        .spawn()?;
    let lifeline = guard.stdin.take();
    let mut line = String::new();
    if let Some(out) = guard.stdout.take() {
        BufReader::new(out).read_line(&mut line)?;
    }
    match line.trim().parse() {
        Ok(pid) => Ok((guard, lifeline, pid)),
        Err(_) => {
            drop(lifeline);
            let _ = guard.wait();
            Err(io::Error::other(format!(
                "the guard did not report the server's pid (got {line:?})"
            )))
        }
    }
}

#[cfg(not(unix))]
fn spawn(
    binary: &OsStr,
    _dir: &Path,
    args: &[OsString],
) -> io::Result<(Child, Option<ChildStdin>, u32)> {
    let child = Command::new(binary)
        .args(args)
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()?;
    let pid = child.id();
    Ok((child, None, pid))
}

/// Whether `binary` names a file, or a program found on `PATH`.
fn on_path(binary: &OsStr) -> bool {
    let path = Path::new(binary);
    if path.components().count() > 1 {
        return path.is_file();
    }
    std::env::var_os("PATH")
        .is_some_and(|dirs| std::env::split_paths(&dirs).any(|d| d.join(path).is_file()))
}

impl Drop for LocalRedis {
    fn drop(&mut self) {
        match self.lifeline.take() {
            // Closing the pipe makes the guard stop the server and remove the directory.
            Some(lifeline) => drop(lifeline),
            None => {
                let _ = self.guard.kill();
            }
        }
        let _ = self.guard.wait();
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

impl fmt::Debug for LocalRedis {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("LocalRedis")
            .field("pid", &self.pid)
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

#[cfg(test)]
mod tests {
    use super::*;

    /// This process's directories under the temporary directory (no other test of this crate's
    /// library starts a server).
    fn dirs() -> Vec<PathBuf> {
        let prefix = format!("local-redis-{}-", std::process::id());
        std::fs::read_dir(std::env::temp_dir())
            .map(|d| {
                d.filter_map(Result::ok)
                    .filter(|e| e.file_name().to_string_lossy().starts_with(&prefix))
                    .map(|e| e.path())
                    .collect()
            })
            .unwrap_or_default()
    }

    #[cfg(unix)]
    #[test]
    fn a_program_that_exits_at_once_is_an_error_after_every_try_and_leaves_no_directory() {
        let err = LocalRedis::start("false").unwrap_err();
        assert!(err.to_string().contains("before answering PING"), "{err}");
        assert_eq!(dirs(), Vec::<PathBuf>::new());
    }

    #[test]
    fn a_program_that_is_not_there_is_not_found() {
        let err = LocalRedis::start("no-such-redis-server-here").unwrap_err();
        assert_eq!(err.kind(), io::ErrorKind::NotFound);
        assert!(!on_path(OsStr::new("/nonexistent/redis-server")));
        assert!(on_path(OsStr::new("sh")) || cfg!(not(unix)));
    }

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
