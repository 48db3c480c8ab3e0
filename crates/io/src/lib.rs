//! Readers that turn telemetry into Portent events: EVTX, Windows JSON layouts
//! (evtx_dump, Winlogbeat, NXLog, Mordor, Azure), QRadar exports (Ariel JSON, Log
//! Activity CSV), LEEF over syslog, and Zeek `conn.log`; archives (zip, tar.gz, gz)
//! and directories are opened transparently. Formats are recognised by content.
//!
//! Every input gets a [`FileReport`]: what was read, what was skipped and why.
//! A bad record costs that record, a bad file that file; the run goes on.
#![forbid(unsafe_code)]
#![deny(missing_docs)]

pub mod binxml;
pub mod convert;
pub mod correlate;
pub mod csvfile;
pub mod evtx;
pub mod flatjson;
pub mod input;
pub mod javatime;
pub mod jsonfile;
pub mod layout;
pub mod leef;
pub mod message;
pub mod netflow;
pub mod raw;
pub mod report;
pub mod split;
pub mod wanted;
pub mod windows;
pub mod xml;
pub mod zeek;

pub use input::{plan, read_bytes, read_raw, read_unit, Format, Unit};
pub use report::{FileReport, Inputs};
pub use wanted::Wanted;

use portent_core::schema::ids;
use portent_core::{Event, Record, Schema, Zone};

/// How inputs are read.
#[derive(Clone, Debug)]
pub struct ReadOptions {
    /// Zone of zone-less local times in the input (NXLog `EventTime`, some
    /// Mordor `TimeCreated`); UTC unless the user says otherwise.
    pub input_zone: Zone,
    /// Keep source fields no compiled query names (for `SELECT *` and TEXT SEARCH).
    pub keep_unknown: bool,
    /// Read every input as this format instead of recognising it.
    pub format: Option<Format>,
    /// EVTX chunks per unit of parallel work.
    pub evtx_chunks_per_unit: u64,
    /// Read EVTX records through their templates without rendering them
    /// ([`binxml`]); chunks it cannot read go to the `evtx` crate. `false`
    /// sends every chunk to the crate (the reference the fast path is tested against).
    pub evtx_fast: bool,
    /// Follow symbolic links found in folders even when they lead out of
    /// the folder named (links inside it are always followed, once).
    pub follow_links: bool,
    /// The events the run can use (`None`: all). EVTX records of other
    /// channels or event ids are read only as far as their System part.
    pub wanted: Option<std::sync::Arc<Wanted>>,
}

impl Default for ReadOptions {
    fn default() -> ReadOptions {
        ReadOptions {
            input_zone: Zone::utc(),
            keep_unknown: true,
            format: None,
            evtx_chunks_per_unit: 64,
            evtx_fast: true,
            follow_links: false,
            wanted: None,
        }
    }
}

/// Normalises a Windows event, accounts for it in `report` and hands it on.
pub(crate) fn emit_windows(
    ev: windows::WinEvent,
    schema: &Schema,
    opts: &ReadOptions,
    report: &mut FileReport,
    emit: &mut dyn FnMut(&str, Record<'static>),
) {
    let mut ev = ev;
    windows::Known::fill(&mut ev, schema);
    let rec = windows::to_record(ev, schema, opts);
    emit_record(rec, report, emit);
}

/// Accounts for a finished record in `report` and hands it on.
pub(crate) fn emit_record(
    mut rec: Record<'static>,
    report: &mut FileReport,
    emit: &mut dyn FnMut(&str, Record<'static>),
) {
    report.records += 1;
    // Every reader's destination gets its class (`public`, `private`, ...), for
    // rules and tuning; a class the source already gave is kept.
    if let (Some(ip), true) = (
        rec.get(ids::DESTINATIONIP).to_ip(),
        rec.get(ids::DESTINATION_CLASS).is_null(),
    ) {
        rec.set(
            ids::DESTINATION_CLASS,
            portent_core::Value::str(portent_core::value::ip_class(ip)),
        );
    }
    let host = rec.get(ids::HOSTNAME);
    report.saw(host.as_str(), rec.get(ids::STARTTIME).to_i64());
    emit(&report.name, rec);
}
