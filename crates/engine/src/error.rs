//! The engine's error type: compile-time problems with a query, with spans.

use portent_core::{Diagnostic, Span};
use std::fmt;

/// A problem found while compiling a query.
#[derive(Clone, Debug, PartialEq)]
pub struct Error {
    /// What went wrong.
    pub kind: ErrorKind,
    /// Where in the query text.
    pub span: Span,
    /// How to fix it.
    pub help: Option<String>,
    /// The text under the caret (parse errors carry theirs over).
    pub label: Option<String>,
}

/// Kinds of compile errors.
#[derive(Clone, Debug, PartialEq)]
#[non_exhaustive]
pub enum ErrorKind {
    /// The query does not parse.
    Syntax(String, &'static str),
    /// No such function.
    UnknownFunction(String),
    /// Wrong number of arguments.
    Arity {
        /// Function.
        name: String,
        /// What it takes.
        expected: String,
        /// What it got.
        found: usize,
    },
    /// A pattern that does not compile.
    BadPattern(String),
    /// A constant argument with a bad value (CIDR, date format, time zone...).
    BadArgument(String),
    /// An aggregate where none is allowed (WHERE, nested aggregates).
    MisplacedAggregate(String),
    /// A construct Portent does not support.
    Unsupported(String),
}

impl Error {
    /// An error of `kind` at `span`.
    pub fn new(kind: ErrorKind, span: Span) -> Error {
        Error {
            kind,
            span,
            help: None,
            label: None,
        }
    }

    /// Adds a hint.
    pub fn with_help(mut self, help: impl Into<String>) -> Error {
        self.help = Some(help.into());
        self
    }

    /// A stable code.
    pub fn code(&self) -> &'static str {
        match &self.kind {
            ErrorKind::Syntax(_, code) => code,
            ErrorKind::UnknownFunction(_) => "C0001",
            ErrorKind::Arity { .. } => "C0002",
            ErrorKind::BadPattern(_) => "C0003",
            ErrorKind::BadArgument(_) => "C0004",
            ErrorKind::MisplacedAggregate(_) => "C0005",
            ErrorKind::Unsupported(_) => "C0006",
        }
    }

    /// As a diagnostic with a code frame.
    pub fn to_diagnostic(&self) -> Diagnostic {
        let mut d = Diagnostic::error(self.code(), self.span, self.to_string());
        if let Some(l) = &self.label {
            d = d.with_label(l.clone());
        }
        if let Some(h) = &self.help {
            d = d.with_help(h.clone());
        }
        d
    }
}

impl From<portent_aql::Error> for Error {
    fn from(e: portent_aql::Error) -> Error {
        let code = e.code();
        let label = e.to_diagnostic().label;
        Error {
            kind: ErrorKind::Syntax(e.to_string(), code),
            span: e.span,
            help: e.help,
            label,
        }
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.kind {
            ErrorKind::Syntax(m, _) => f.write_str(m),
            ErrorKind::UnknownFunction(n) => write!(f, "unknown function `{n}`"),
            ErrorKind::Arity {
                name,
                expected,
                found,
            } => {
                write!(f, "`{name}` takes {expected}, found {found}")
            }
            ErrorKind::BadPattern(m) => write!(f, "invalid pattern: {m}"),
            ErrorKind::BadArgument(m) => f.write_str(m),
            ErrorKind::MisplacedAggregate(m) => f.write_str(m),
            ErrorKind::Unsupported(m) => f.write_str(m),
        }
    }
}

impl std::error::Error for Error {}

/// All errors of one query.
#[derive(Clone, Debug, PartialEq)]
pub struct Errors(pub Vec<Error>);

impl fmt::Display for Errors {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, e) in self.0.iter().enumerate() {
            if i > 0 {
                f.write_str("; ")?;
            }
            write!(f, "{e}")?;
        }
        Ok(())
    }
}

impl std::error::Error for Errors {}
