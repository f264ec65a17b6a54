//! The library's one error type. Cache operations are infallible; what fails is input, files
//! and child processes. The binary adds context with `anyhow` at its edge.

use std::path::PathBuf;

use crate::strategies::RegistryError;

/// What went wrong.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// A strategy name or list that the registry refused.
    #[error(transparent)]
    Registry(#[from] RegistryError),
    /// An input outside what the measurement can represent; the message says the allowed range.
    #[error("{0}")]
    Invalid(String),
    /// A file or folder that could not be read or written.
    #[error("{action} {}", path.display())]
    Io {
        /// What was being done: "cannot write", "cannot create".
        action: &'static str,
        /// The path.
        path: PathBuf,
        /// Why.
        #[source]
        source: std::io::Error,
    },
    /// A trace file that cannot be read as its format says.
    #[error("{}: {at}: {what}", file.display())]
    Trace {
        /// The file.
        file: PathBuf,
        /// Where: `line 3`, `byte 12`.
        at: String,
        /// What is wrong.
        what: String,
    },
    /// A measurement that could not be taken (a child process failed, say).
    #[error("{0}")]
    Measurement(String),
    /// JSON that could not be written or read.
    #[error(transparent)]
    Json(#[from] serde_json::Error),
    /// CSV that could not be written.
    #[error(transparent)]
    Csv(#[from] csv::Error),
}

impl Error {
    /// An I/O error on `path`.
    pub fn io(action: &'static str, path: impl Into<PathBuf>, source: std::io::Error) -> Error {
        Error::Io {
            action,
            path: path.into(),
            source,
        }
    }
}

/// The library's result type.
pub type Result<T, E = Error> = std::result::Result<T, E>;
