//! The seed page's four test scenarios as the Windows telemetry they produce:
//! Sysmon 1/3/11/22, Security 4688/5156, DNS-Client 3020 and BITS-Client job
//! events, with coherent process GUIDs, PIDs, users, hosts and times, both as
//! the seed describes them and as Windows really logs them. The events are
//! written in real layouts: Winlogbeat/ECS JSON lines, `evtx_dump` JSON lines
//! and EVTX files (file header, chunks, CRC32s, BinXML templates) that
//! third-party parsers read.
#![forbid(unsafe_code)]
#![deny(missing_docs)]

pub mod background;
pub mod event;
pub mod evtx;
pub mod layout;
pub mod rng;
pub mod scenarios;
pub mod telemetry;

pub use event::{Val, WinEvent};
pub use scenarios::{all, generate, Generated, Options, Scenario, Signal, Variant};
