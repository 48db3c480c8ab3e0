//! Readers that turn telemetry into Portent events. This first reader takes JSON
//! lines whose keys are QRadar field names (`sourceip`, `destinationport`,
//! `"Process Name"`, ...), as an Ariel export or a hand-written test set has them.
//! Bad lines are reported with their line number and skipped; the rest is read.
#![forbid(unsafe_code)]
#![deny(missing_docs)]

pub mod jsonl;

pub use jsonl::{read_jsonl, LineError};
