//! Sigma rules (specification 2.1) for Portent. A rule is read with the line
//! and column of every part, checked, and compiled into an AQL query that
//! Portent's engine runs like any other rule: the same evaluator, prefilter,
//! automata and enrichment. Windows log sources map to the channels and event
//! ids Portent normalises, and Sysmon field names to the fields that hold the
//! same values for Sysmon, Security 4688 and 5156 alike ("Process Name" is
//! Sysmon's `Image`, 4688's `NewProcessName` and 5156's `Application`).
#![forbid(unsafe_code)]
#![deny(missing_docs)]

pub mod compile;
pub mod condition;
pub mod correlation;
pub mod logsource;
pub mod rule;
pub mod value;
pub mod yaml;

pub use compile::to_aql;
pub use rule::{load, Loaded, Rejected, SigmaRule};
pub use yaml::Pos;

use std::fmt;

/// Why a rule (or a part of it) cannot be used, and where.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Error {
    /// Where in the YAML (1-based).
    pub pos: Pos,
    /// What is wrong.
    pub message: String,
    /// The rule is sound but cannot fire on anything Portent reads (its log
    /// source is not in Windows event logs, say): it is listed as inert with
    /// the reason, not counted as a broken rule.
    pub inert: bool,
}

impl Error {
    /// An error at `pos`.
    pub fn at(pos: Pos, message: impl Into<String>) -> Error {
        Error {
            pos,
            message: message.into(),
            inert: false,
        }
    }

    /// A sound rule that cannot fire on what Portent reads, and why.
    pub fn inert(pos: Pos, message: impl Into<String>) -> Error {
        Error {
            inert: true,
            ..Error::at(pos, message)
        }
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}:{}: {}", self.pos.line, self.pos.col, self.message)
    }
}

impl std::error::Error for Error {}

/// The compiled size a rule's regular expression may take: the engine's own
/// limit (`portent_engine::pattern`), so a rule that loads also runs.
pub const REGEX_SIZE_LIMIT: usize = 8 << 20;
