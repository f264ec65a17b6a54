//! Diagnostics on stderr that never panic: `eprintln!` panics when stderr cannot be written (a
//! full disk behind `2> file`, `2>/dev/full`), which ends the program with exit code 101 and a
//! panic message. [`line()`](fn@line) (and the [`say!`](crate::say) macro) ends it with [`EXIT_IO`]
//! instead, silently: there is nowhere left to say anything.

use std::fmt;
use std::io::Write as _;

/// The exit code when stdout or stderr cannot be written: `EX_IOERR` of `sysexits.h`.
pub const EXIT_IO: i32 = 74;

/// Writes `args` and a newline to stderr; if that fails, ends the program with [`EXIT_IO`].
pub fn line(args: fmt::Arguments<'_>) {
    let mut err = std::io::stderr().lock();
    if writeln!(err, "{args}").and_then(|()| err.flush()).is_err() {
        std::process::exit(EXIT_IO);
    }
}

/// `eprintln!` that never panics: see [`diag`](crate::diag).
#[macro_export]
macro_rules! say {
    ($($arg:tt)*) => {
        $crate::diag::line(format_args!($($arg)*))
    };
}
