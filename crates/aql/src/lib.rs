//! A hand-written front end for IBM QRadar's Ariel Query Language (AQL).
//!
//! The lexer and parser keep byte spans on everything, report every error of a
//! query at once, limit nesting, and never panic. The AST stays faithful to the
//! source and prints back to AQL that parses to the same tree.
//!
//! ```
//! let q = portent_aql::parse(
//!     "SELECT sourceip, COUNT(*) FROM events WHERE destinationport = '443' GROUP BY sourceip LAST 2 HOURS",
//! ).unwrap();
//! assert_eq!(q.group_by.len(), 1);
//! assert_eq!(q.to_string(), "SELECT sourceip, COUNT(*) FROM events WHERE destinationport = '443' GROUP BY sourceip LAST 2 HOURS");
//! ```
#![forbid(unsafe_code)]
#![deny(missing_docs)]

pub mod ast;
pub mod error;
pub mod lexer;
pub mod parser;
mod print;
pub mod spanless;
pub mod token;

pub use ast::Query;
pub use error::{Error, ErrorKind};
pub use parser::{parse, parse_expr, parse_with, ParserOptions};
