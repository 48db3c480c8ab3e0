//! Compiling: the AQL syntax tree lowered to the IR, planned (cheap tests
//! first, patterns folded into shared automata) into a [`query::Query`].
//! Only this stage (and diagnostics) read the syntax tree.

pub(crate) mod lower;
pub mod plan;
pub mod query;
