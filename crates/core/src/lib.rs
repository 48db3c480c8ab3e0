//! Shared vocabulary of Portent: byte spans and diagnostics for the front ends, the
//! `Value` type events and queries exchange, the QRadar field catalog (`Schema`) that
//! turns field names into ids once, the `Event` trait readers implement, and the
//! lookup tables behind `LOGSOURCETYPENAME`, `CATEGORYNAME`, `QIDNAME` and friends.
//!
//! ```
//! use portent_core::{Schema, Record, Value, Event};
//! let schema = Schema::qradar();
//! let port = schema.resolve("destinationPort").unwrap();
//! let mut ev = Record::new();
//! ev.set(port, Value::Int(443));
//! assert_eq!(ev.get(port), Value::Int(443));
//! // LOGSOURCETYPEID is an alias of devicetype.
//! assert_eq!(schema.resolve("LOGSOURCETYPEID"), schema.resolve("devicetype"));
//! ```
#![forbid(unsafe_code)]
#![deny(missing_docs)]

pub mod catalog;
mod catalog_data;
pub mod diagnostic;
pub mod event;
pub mod schema;
pub mod span;
pub mod testdata;
pub mod value;
pub mod zone;

pub use catalog::{Catalog, CatalogError, Table};
pub use diagnostic::{Diagnostic, Label, Severity};
pub use event::{Event, Record};
pub use schema::{FieldId, FieldType, Schema};
pub use span::{LineIndex, Span};
pub use value::Value;
pub use zone::Zone;
