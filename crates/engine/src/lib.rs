//! Portent's engine: lowers AQL to an IR, plans it (cheap tests first, patterns
//! folded into shared automata) and evaluates it over events, pushing rows into
//! a sink. A compiled [`Query`] runs any number of times, over a batch or a
//! stream, through a [`Run`].
//!
//! ```
//! use portent_core::{Record, Schema, Value, schema::ids};
//! use portent_engine::{Query, CompileOptions, Run, Row};
//!
//! let mut schema = Schema::qradar();
//! let q = Query::compile(
//!     "SELECT \"Process Name\" FROM events WHERE LOWER(\"Process Name\") SIMILAR TO '%(cmd|pwsh)\\.exe%'",
//!     &mut schema,
//!     &CompileOptions::default(),
//! ).unwrap();
//! let mut ev = Record::new();
//! ev.set(ids::PROCESS_NAME, Value::str("C:\\Windows\\System32\\CMD.EXE"));
//! let mut run = Run::new(&q, Vec::<Row>::new(), 0);
//! run.push(&ev).unwrap();
//! let (rows, stats) = run.finish().unwrap();
//! assert_eq!(rows.len(), 1);
//! assert_eq!(stats.matched, 1);
//! ```
#![forbid(unsafe_code)]
#![deny(missing_docs)]

pub mod compile;
pub mod data;
pub mod diagnostics;
pub mod error;
pub mod ir;
pub mod run;

// Each module keeps the path it had before the stages were folders.
pub(crate) use compile::lower;
pub use compile::{plan, query};
pub use data::{geo, refdata, tuning};
pub use diagnostics::{explain, lint, reference, why};
/// Time zones live in the core crate, which readers share.
pub use portent_core::zone;
pub use run::{
    correlation, dateformat, dispatch, eval, exec, functions, pattern, prefilter, shared, similar,
    time,
};

pub use dispatch::{Dispatch, Router};
pub use error::{Error, ErrorKind, Errors};
pub use eval::State;
pub use exec::{Cell, Row, Run, Sink, Stats};
pub use prefilter::{Prefilter, PrefilterSet};
pub use query::{share_schema, Column, CompileOptions, Query, WindowPolicy};
pub use time::Window;
pub use zone::Zone;
