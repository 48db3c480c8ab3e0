//! The serve crate's one error type.

use std::fmt;
use std::path::{Path, PathBuf};

/// What went wrong.
#[derive(Debug)]
#[non_exhaustive]
pub enum ErrorKind {
    /// Reading or writing a file.
    Io {
        /// The file.
        path: PathBuf,
        /// The cause.
        source: std::io::Error,
    },
    /// Binding a listening socket.
    Bind {
        /// The address.
        addr: String,
        /// The cause.
        source: std::io::Error,
    },
    /// A sink could not deliver.
    Sink {
        /// The sink's name.
        sink: String,
        /// Why.
        message: String,
    },
    /// The configuration.
    Config(String),
}

/// An error of the streaming mode.
#[derive(Debug)]
pub struct Error {
    /// What went wrong.
    pub kind: ErrorKind,
}

impl Error {
    /// A file error.
    pub fn io(path: &Path, source: std::io::Error) -> Error {
        Error {
            kind: ErrorKind::Io {
                path: path.to_owned(),
                source,
            },
        }
    }

    /// A sink error.
    pub fn sink(sink: &str, message: &str) -> Error {
        Error {
            kind: ErrorKind::Sink {
                sink: sink.to_owned(),
                message: message.to_owned(),
            },
        }
    }

    /// A configuration error.
    pub fn config(message: impl Into<String>) -> Error {
        Error {
            kind: ErrorKind::Config(message.into()),
        }
    }

    /// A bind error.
    pub fn bind(addr: &str, source: std::io::Error) -> Error {
        Error {
            kind: ErrorKind::Bind {
                addr: addr.to_owned(),
                source,
            },
        }
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.kind {
            ErrorKind::Io { path, source } => write!(f, "{}: {source}", path.display()),
            ErrorKind::Bind { addr, source } => write!(f, "cannot listen on {addr}: {source}"),
            ErrorKind::Sink { sink, message } => write!(f, "sink {sink}: {message}"),
            ErrorKind::Config(m) => write!(f, "{m}"),
        }
    }
}

/// The message already says what the underlying error said: no `source`,
/// or a chain printer (anyhow's `{:#}`) would say it twice.
impl std::error::Error for Error {}
