//! [`LocalServer`]: a throwaway server process (`redis-server`, `memcached`) for tests and
//! measurements, on a free loopback port, stopped however this process ends.

use std::ffi::{OsStr, OsString};
use std::fmt;
use std::io;
use std::net::{Ipv4Addr, TcpListener};
use std::path::{Path, PathBuf};
use std::process::{Child, ChildStdin, Command, Stdio};
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

/// How long a fresh server has to answer.
const READY_WITHIN: Duration = Duration::from_secs(10);
/// Free ports are picked by asking the system for one and handing it to the server; another
/// process can take it in between, so a start is tried this many times.
const TRIES: u32 = 5;

/// A server of its own: on a free loopback port, its working files in a fresh temporary
/// directory. Dropping it stops the server and removes the directory.
///
/// On Unix the server runs under a small `sh` guard in a process group of its own (so a
/// terminal's Ctrl-C goes to this process, not to the server): the guard holds the read end of
/// a pipe whose write end only this process holds. When this process ends — dropping the
/// value, returning from `main`, a panic, Ctrl-C, `kill -9` — the pipe closes, and the guard
/// stops the server (SIGKILL: there is nothing to save) and removes the directory. Elsewhere
/// the server is a plain child, stopped on drop only.
pub(crate) struct LocalServer {
    guard: Child,
    /// The write end of the guard's pipe (Unix); closing it stops the server.
    lifeline: Option<ChildStdin>,
    pid: u32,
    dir: PathBuf,
    port: u16,
}

/// How to run one kind of server.
pub(crate) struct Program<'a> {
    /// Its name, in errors and directory names: `redis-server`.
    pub name: &'a str,
    /// Its command line, for a port, its directory and a log file there.
    pub args: &'a dyn Fn(u16, &Path, &Path) -> Vec<OsString>,
    /// Whether it answers on its port yet.
    pub ready: &'a dyn Fn(u16) -> io::Result<()>,
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

impl LocalServer {
    /// Starts `binary` as `program` says and waits until it answers. An error of kind
    /// [`io::ErrorKind::NotFound`] means there is no such program.
    pub(crate) fn start(binary: &OsStr, program: &Program<'_>) -> io::Result<LocalServer> {
        if !on_path(binary) {
            return Err(io::Error::new(
                io::ErrorKind::NotFound,
                format!("no {} on PATH", Path::new(binary).display()),
            ));
        }
        let mut last = None;
        for _ in 0..TRIES {
            match Self::try_start(binary, program) {
                Ok(server) => return Ok(server),
                Err(e) => last = Some(e),
            }
        }
        Err(last.unwrap_or_else(|| io::Error::other(format!("{} did not start", program.name))))
    }

    fn try_start(binary: &OsStr, program: &Program<'_>) -> io::Result<LocalServer> {
        let dir = fresh_dir(program.name)?;
        let port = free_port()?;
        let log = dir.join("server.log");
        let args = (program.args)(port, &dir, &log);
        let spawned = spawn(binary, &dir, &args);
        let (guard, lifeline, pid) = match spawned {
            Ok(started) => started,
            Err(e) => {
                let _ = std::fs::remove_dir_all(&dir);
                return Err(e);
            }
        };
        // From here on, dropping the value stops the server and removes the directory.
        let mut server = LocalServer {
            guard,
            lifeline,
            pid,
            dir,
            port,
        };
        server.wait_ready(program, &log)?;
        Ok(server)
    }

    fn wait_ready(&mut self, program: &Program<'_>, log: &Path) -> io::Result<()> {
        let since = Instant::now();
        loop {
            if let Some(status) = self.guard.try_wait()? {
                let said = std::fs::read_to_string(log).unwrap_or_default();
                return Err(io::Error::other(format!(
                    "{} exited ({status}) before answering: {}",
                    program.name,
                    said.trim()
                )));
            }
            if (program.ready)(self.port).is_ok() {
                return Ok(());
            }
            if since.elapsed() > READY_WITHIN {
                return Err(io::Error::new(
                    io::ErrorKind::TimedOut,
                    format!("{} did not answer within {READY_WITHIN:?}", program.name),
                ));
            }
            std::thread::sleep(Duration::from_millis(10));
        }
    }

    /// Its loopback port.
    pub(crate) fn port(&self) -> u16 {
        self.port
    }

    /// Its temporary directory (removed when the server is stopped).
    #[cfg_attr(not(feature = "redis"), allow(dead_code))]
    pub(crate) fn dir(&self) -> &Path {
        &self.dir
    }

    /// The server's process id.
    pub(crate) fn pid(&self) -> u32 {
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

impl Drop for LocalServer {
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

impl fmt::Debug for LocalServer {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("LocalServer")
            .field("pid", &self.pid)
            .field("port", &self.port)
            .field("dir", &self.dir)
            .finish()
    }
}

/// A port no one listens on now.
fn free_port() -> io::Result<u16> {
    Ok(TcpListener::bind((Ipv4Addr::LOCALHOST, 0))?
        .local_addr()?
        .port())
}

/// A new, empty directory under the system's temporary directory.
fn fresh_dir(program: &str) -> io::Result<PathBuf> {
    static NEXT: AtomicU64 = AtomicU64::new(0);
    let stamp = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.subsec_nanos());
    let dir = std::env::temp_dir().join(format!(
        "local-{program}-{}-{}-{stamp}",
        std::process::id(),
        NEXT.fetch_add(1, Ordering::Relaxed)
    ));
    std::fs::create_dir(&dir)?;
    Ok(dir)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// This process's directories under the temporary directory for `program` (no other test
    /// of this crate's library starts one).
    fn dirs(program: &str) -> Vec<PathBuf> {
        let prefix = format!("local-{program}-{}-", std::process::id());
        std::fs::read_dir(std::env::temp_dir())
            .map(|d| {
                d.filter_map(Result::ok)
                    .filter(|e| e.file_name().to_string_lossy().starts_with(&prefix))
                    .map(|e| e.path())
                    .collect()
            })
            .unwrap_or_default()
    }

    fn never_ready(_: u16) -> io::Result<()> {
        Err(io::Error::other("not yet"))
    }

    #[cfg(unix)]
    #[test]
    fn a_program_that_exits_at_once_is_an_error_after_every_try_and_leaves_no_directory() {
        let program = Program {
            name: "exits-at-once",
            args: &|_, _, _| Vec::new(),
            ready: &never_ready,
        };
        let err = LocalServer::start(OsStr::new("false"), &program).unwrap_err();
        assert!(err.to_string().contains("before answering"), "{err}");
        assert_eq!(dirs("exits-at-once"), Vec::<PathBuf>::new());
    }

    #[test]
    fn a_program_that_is_not_there_is_not_found() {
        let program = Program {
            name: "absent",
            args: &|_, _, _| Vec::new(),
            ready: &never_ready,
        };
        let err = LocalServer::start(OsStr::new("no-such-server-here"), &program).unwrap_err();
        assert_eq!(err.kind(), io::ErrorKind::NotFound);
        assert!(!on_path(OsStr::new("/nonexistent/redis-server")));
        assert!(on_path(OsStr::new("sh")) || cfg!(not(unix)));
    }
}
