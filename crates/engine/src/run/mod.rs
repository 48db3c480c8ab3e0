//! Running: a compiled query over events. These modules see the IR and the
//! compiled query only, never the syntax tree or the lowering
//! (`tests/stages.rs` holds them to it), so any front end that targets the IR
//! runs here unchanged.

pub mod correlation;
pub mod dateformat;
pub mod dispatch;
pub mod eval;
pub mod exec;
pub mod functions;
pub mod pattern;
pub mod prefilter;
pub mod shared;
pub mod similar;
pub mod time;
