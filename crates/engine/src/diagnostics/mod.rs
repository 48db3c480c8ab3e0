//! What the engine tells people about a query: lint warnings, the plan
//! explained, why an event did or did not match, and the reference evaluator
//! (a plain walk of the syntax tree that differential tests hold the planned
//! evaluator to).

pub mod explain;
pub mod lint;
pub mod reference;
pub mod why;
