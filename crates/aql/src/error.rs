//! The AQL front end's error type.

use portent_core::{Diagnostic, Span};
use std::fmt;

/// A lexing or parsing error with its span.
#[derive(Clone, Debug, PartialEq)]
pub struct Error {
    /// What went wrong.
    pub kind: ErrorKind,
    /// Where.
    pub span: Span,
    /// How to fix it.
    pub help: Option<String>,
}

/// The kinds of AQL syntax errors.
#[derive(Clone, Debug, PartialEq)]
#[non_exhaustive]
pub enum ErrorKind {
    /// A character AQL does not use.
    UnexpectedChar(String),
    /// A `'` string without its closing quote.
    UnterminatedString,
    /// A `"` name without its closing quote.
    UnterminatedQuotedName,
    /// A `/*` comment without `*/`.
    UnterminatedComment,
    /// A number that does not fit or has no digits.
    BadNumber,
    /// `10.0.0.1` written without quotes.
    UnquotedAddress,
    /// Something else was needed here.
    Expected {
        /// What the parser wanted.
        expected: String,
        /// What it found.
        found: String,
    },
    /// A clause given twice.
    DuplicateClause(&'static str),
    /// Nesting deeper than the limit.
    NestTooDeep(usize),
    /// A number out of the allowed range for this place.
    OutOfRange(String),
}

impl Error {
    /// An error of `kind` at `span`.
    pub fn new(kind: ErrorKind, span: Span) -> Error {
        Error {
            kind,
            span,
            help: None,
        }
    }

    /// Adds a hint.
    pub fn with_help(mut self, help: impl Into<String>) -> Error {
        self.help = Some(help.into());
        self
    }

    /// A stable code for the kind.
    pub fn code(&self) -> &'static str {
        match self.kind {
            ErrorKind::UnexpectedChar(_) => "P0001",
            ErrorKind::UnterminatedString => "P0002",
            ErrorKind::UnterminatedQuotedName => "P0003",
            ErrorKind::UnterminatedComment => "P0004",
            ErrorKind::BadNumber => "P0005",
            ErrorKind::UnquotedAddress => "P0006",
            ErrorKind::Expected { .. } => "P0101",
            ErrorKind::DuplicateClause(_) => "P0102",
            ErrorKind::NestTooDeep(_) => "P0103",
            ErrorKind::OutOfRange(_) => "P0104",
        }
    }

    /// As a diagnostic, for rendering with a code frame.
    pub fn to_diagnostic(&self) -> Diagnostic {
        let label = match &self.kind {
            ErrorKind::Expected { expected, .. } => format!("expected {expected}"),
            ErrorKind::UnterminatedString | ErrorKind::UnterminatedQuotedName => {
                "opened here".to_owned()
            }
            _ => "here".to_owned(),
        };
        let mut d = Diagnostic::error(self.code(), self.span, self.to_string()).with_label(label);
        if let Some(h) = &self.help {
            d = d.with_help(h.clone());
        }
        d
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.kind {
            ErrorKind::UnexpectedChar(c) => write!(f, "unexpected character `{c}`"),
            ErrorKind::UnterminatedString => f.write_str("unterminated string"),
            ErrorKind::UnterminatedQuotedName => f.write_str("unterminated quoted name"),
            ErrorKind::UnterminatedComment => f.write_str("unterminated comment"),
            ErrorKind::BadNumber => f.write_str("invalid number"),
            ErrorKind::UnquotedAddress => f.write_str("IP address or dotted number without quotes"),
            ErrorKind::Expected { expected, found } => {
                write!(f, "expected {expected}, found {found}")
            }
            ErrorKind::DuplicateClause(c) => write!(f, "{c} clause given twice"),
            ErrorKind::NestTooDeep(n) => write!(f, "expression nested deeper than {n} levels"),
            ErrorKind::OutOfRange(m) => f.write_str(m),
        }
    }
}

impl std::error::Error for Error {}
