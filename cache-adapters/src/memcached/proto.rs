//! Memcached's text protocol, the part the cache uses: `get`, `set`, `delete`, `flush_all`,
//! `stats`, `lru_crawler crawl`. Every read is bounded: a line by [`MAX_LINE`], a value by
//! [`MAX_VALUE`], a `stats` answer by [`MAX_STATS`]; every socket call by the connection's
//! timeout. A connection that failed in any way is dropped by its caller, never reused: a reply
//! left half read would answer the next command.

use std::io::{self, BufRead, BufReader, Read, Write};
use std::net::{TcpStream, ToSocketAddrs};
use std::time::Duration;

/// The longest reply line read (a `VALUE` header, a `STAT` line, an error).
pub(crate) const MAX_LINE: usize = 4096;
/// The largest value read back: memcached's default item size limit (`-I 1m`).
pub(crate) const MAX_VALUE: usize = 1 << 20;
/// The most lines a `stats` answer may have.
pub(crate) const MAX_STATS: usize = 10_000;
/// memcached's longest key, in bytes.
pub(crate) const MAX_KEY: usize = 250;

/// One connection.
pub(crate) struct Conn {
    stream: BufReader<TcpStream>,
    timeout: Duration,
}

impl Conn {
    /// Connects to `addr` (`host:port`) within `timeout`; every later read and write of the
    /// connection has the same timeout.
    pub(crate) fn connect(addr: &str, timeout: Duration) -> io::Result<Conn> {
        let mut last = None;
        for a in addr.to_socket_addrs()? {
            match TcpStream::connect_timeout(&a, timeout) {
                Ok(s) => {
                    s.set_read_timeout(Some(timeout))?;
                    s.set_write_timeout(Some(timeout))?;
                    s.set_nodelay(true)?;
                    return Ok(Conn {
                        stream: BufReader::new(s),
                        timeout,
                    });
                }
                Err(e) => last = Some(timed_out(e, timeout)),
            }
        }
        Err(last.unwrap_or_else(|| {
            io::Error::new(io::ErrorKind::NotFound, format!("{addr}: no address"))
        }))
    }

    /// Sends `bytes` (one command or several).
    pub(crate) fn send(&mut self, bytes: &[u8]) -> io::Result<()> {
        let s = self.stream.get_mut();
        s.write_all(bytes)
            .and_then(|()| s.flush())
            .map_err(|e| timed_out(e, self.timeout))
    }

    /// One reply line, without its `\r\n`.
    pub(crate) fn line(&mut self) -> io::Result<Vec<u8>> {
        self.read_line().map_err(|e| timed_out(e, self.timeout))
    }

    fn read_line(&mut self) -> io::Result<Vec<u8>> {
        let mut line = Vec::new();
        let limit = u64::try_from(MAX_LINE + 2).unwrap_or(u64::MAX);
        (&mut self.stream)
            .take(limit)
            .read_until(b'\n', &mut line)?;
        if line.last() != Some(&b'\n') {
            return Err(if line.len() >= MAX_LINE {
                protocol(format!("a reply line longer than {MAX_LINE} bytes"))
            } else {
                io::Error::new(
                    io::ErrorKind::UnexpectedEof,
                    "the server closed the connection",
                )
            });
        }
        line.pop();
        if line.last() == Some(&b'\r') {
            line.pop();
        }
        Ok(line)
    }

    /// Reads one line and checks it is `want`; the server's error line otherwise.
    pub(crate) fn expect(&mut self, want: &[u8]) -> io::Result<()> {
        let line = self.line()?;
        if line == want {
            Ok(())
        } else {
            Err(unexpected(&line))
        }
    }

    /// `get key`: the stored bytes, or `None`.
    pub(crate) fn get(&mut self, key: &[u8]) -> io::Result<Option<Vec<u8>>> {
        let mut cmd = Vec::with_capacity(key.len() + 6);
        cmd.extend_from_slice(b"get ");
        cmd.extend_from_slice(key);
        cmd.extend_from_slice(b"\r\n");
        self.send(&cmd)?;
        let header = self.line()?;
        if header == b"END" {
            return Ok(None);
        }
        let len = value_header(&header, key)?;
        let mut data = Vec::new();
        (&mut self.stream)
            .take(len as u64 + 2)
            .read_to_end(&mut data)
            .map_err(|e| timed_out(e, self.timeout))?;
        if data.len() != len + 2 || !data.ends_with(b"\r\n") {
            return Err(protocol("a value cut short".to_owned()));
        }
        data.truncate(len);
        self.expect(b"END")?;
        Ok(Some(data))
    }

    /// `stats` or `stats ARG`: its `STAT name value` lines, in order.
    pub(crate) fn stats(&mut self, arg: Option<&str>) -> io::Result<Vec<(String, String)>> {
        match arg {
            Some(a) => self.send(format!("stats {a}\r\n").as_bytes())?,
            None => self.send(b"stats\r\n")?,
        }
        let mut out = Vec::new();
        loop {
            let line = self.line()?;
            if line == b"END" {
                return Ok(out);
            }
            if out.len() == MAX_STATS {
                return Err(protocol(format!("more than {MAX_STATS} stats lines")));
            }
            let text = String::from_utf8_lossy(&line);
            let mut parts = text.splitn(3, ' ');
            match (parts.next(), parts.next(), parts.next()) {
                (Some("STAT"), Some(name), Some(value)) => {
                    out.push((name.to_owned(), value.to_owned()));
                }
                _ => return Err(unexpected(&line)),
            }
        }
    }
}

/// Appends `set key 0 exptime len\r\ndata\r\n` to `cmd`.
pub(crate) fn set_command(cmd: &mut Vec<u8>, key: &[u8], exptime: u32, data: &[u8]) {
    cmd.extend_from_slice(b"set ");
    cmd.extend_from_slice(key);
    cmd.extend_from_slice(format!(" 0 {exptime} {}\r\n", data.len()).as_bytes());
    cmd.extend_from_slice(data);
    cmd.extend_from_slice(b"\r\n");
}

/// Appends `delete key\r\n` to `cmd`.
pub(crate) fn delete_command(cmd: &mut Vec<u8>, key: &[u8]) {
    cmd.extend_from_slice(b"delete ");
    cmd.extend_from_slice(key);
    cmd.extend_from_slice(b"\r\n");
}

/// Whether memcached's text protocol takes `key`: 1 to 250 bytes, none a space or a control
/// character.
pub(crate) fn is_valid_key(key: &[u8]) -> bool {
    (1..=MAX_KEY).contains(&key.len()) && key.iter().all(|&b| b > b' ' && b != 0x7f)
}

/// The value's length from `VALUE key flags len`, checked against the key asked for and
/// [`MAX_VALUE`].
fn value_header(line: &[u8], key: &[u8]) -> io::Result<usize> {
    let mut parts = line.split(|&b| b == b' ');
    let (Some(b"VALUE"), Some(k), Some(_flags), Some(len)) =
        (parts.next(), parts.next(), parts.next(), parts.next())
    else {
        return Err(unexpected(line));
    };
    if k != key {
        return Err(protocol("a value for another key".to_owned()));
    }
    let len: usize = std::str::from_utf8(len)
        .ok()
        .and_then(|l| l.parse().ok())
        .ok_or_else(|| unexpected(line))?;
    if len > MAX_VALUE {
        return Err(protocol(format!(
            "a value of {len} bytes, over the {MAX_VALUE} this client reads"
        )));
    }
    Ok(len)
}

/// A timeout in words ("no answer within 1s"): the operating system's own are "Resource
/// temporarily unavailable".
fn timed_out(e: io::Error, timeout: Duration) -> io::Error {
    match e.kind() {
        io::ErrorKind::WouldBlock | io::ErrorKind::TimedOut => io::Error::new(
            io::ErrorKind::TimedOut,
            format!("no answer within {timeout:?}"),
        ),
        _ => e,
    }
}

fn protocol(what: String) -> io::Error {
    io::Error::new(io::ErrorKind::InvalidData, what)
}

/// The server's answer where another was expected (`SERVER_ERROR out of memory ...`), at most
/// its first 100 bytes.
pub(crate) fn unexpected(line: &[u8]) -> io::Error {
    let shown = String::from_utf8_lossy(&line[..line.len().min(100)]).into_owned();
    protocol(format!("the server answered {shown:?}"))
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::net::TcpListener;

    /// A server that answers every connection with `reply`, then waits.
    fn replying(reply: &'static [u8]) -> String {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let addr = listener.local_addr().unwrap().to_string();
        std::thread::spawn(move || {
            for s in listener.incoming() {
                let mut s = s.unwrap();
                let mut buf = [0u8; 512];
                let _ = s.read(&mut buf);
                let _ = s.write_all(reply);
                std::thread::sleep(Duration::from_secs(5));
            }
        });
        addr
    }

    #[test]
    fn a_reply_cannot_make_the_client_allocate_without_bound() {
        let t = Duration::from_secs(2);
        let huge = replying(b"VALUE k 0 18446744073709551615\r\n");
        let err = Conn::connect(&huge, t).unwrap().get(b"k").unwrap_err();
        assert!(err.to_string().contains("this client reads"), "{err}");
        let endless = replying(&[b'x'; 9000]);
        let err = Conn::connect(&endless, t).unwrap().get(b"k").unwrap_err();
        assert!(err.to_string().contains("longer than"), "{err}");
        let other = replying(b"VALUE j 0 1\r\nx\r\nEND\r\n");
        let err = Conn::connect(&other, t).unwrap().get(b"k").unwrap_err();
        assert!(err.to_string().contains("another key"), "{err}");
    }

    #[test]
    fn a_silent_server_ends_the_call_at_the_timeout() {
        let silent = replying(b"");
        let started = std::time::Instant::now();
        let err = Conn::connect(&silent, Duration::from_millis(200))
            .unwrap()
            .get(b"k")
            .unwrap_err();
        assert_eq!(err.kind(), io::ErrorKind::TimedOut);
        assert_eq!(err.to_string(), "no answer within 200ms");
        assert!(started.elapsed() < Duration::from_secs(4));
    }

    #[test]
    fn keys_the_text_protocol_cannot_carry_are_refused() {
        assert!(is_valid_key(b"user:42"));
        assert!(is_valid_key(&[b'k'; 250]));
        for bad in [&b""[..], &[b'k'; 251], b"a b", b"a\r\nflush_all", b"a\x7f"] {
            assert!(!is_valid_key(bad), "{bad:?}");
        }
    }

    #[test]
    fn commands_are_written_as_the_protocol_says() {
        let mut cmd = Vec::new();
        set_command(&mut cmd, b"k", 61, b"v\r\n");
        delete_command(&mut cmd, b"k");
        assert_eq!(cmd, b"set k 0 61 3\r\nv\r\n\r\ndelete k\r\n");
    }
}
