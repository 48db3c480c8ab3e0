//! Portent's detection core. A [`RuleSet`] holds compiled rules with their
//! log sources, tuning and correlations; a [`Detector`] runs it over events
//! one at a time: it routes each event to the rules its channel and event id
//! admit, asks the shared literal automata which of those its fields may
//! satisfy, evaluates only those, applies tuning, feeds correlations and
//! turns what matched into [`Alert`]s. `portent watch` drives it per event
//! from a stream. A batch [`scan`] reads evidence folders in parallel and
//! hands its candidates, in input order, to a [`batch::BatchRun`] of the same
//! rules: `portent hunt` renders what it gives.
#![forbid(unsafe_code)]
#![deny(missing_docs)]

pub mod alert;
pub mod batch;
pub mod detector;
pub mod enrich;
mod mailbox;
pub mod scan;
mod spill;
pub mod tuned;

pub use alert::{Alert, RuleMeta};
pub use detector::{Correlations, Correlator, Detector, Rule, RuleSet, Stamped, PROVENANCE};
