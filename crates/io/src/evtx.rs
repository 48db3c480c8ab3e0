//! EVTX through the `evtx` crate. A file is read chunk by chunk (64 KiB each), so
//! a large file splits into ranges that parse in parallel, a bad chunk costs only
//! its own records, and a bad record only itself. Each record is rendered as the
//! crate's JSON and read by the same layout code as `evtx_dump` JSON.

use crate::flatjson::{walk, Scalar};
use crate::report::FileReport;
use crate::windows::{WinEvent, NORMALISED_SOURCES};
use crate::ReadOptions;
use evtx::{EvtxChunkData, ParserSettings};
use portent_core::{Record, Schema};
use std::io::{Read, Seek, SeekFrom};
use std::sync::{Arc, OnceLock};

/// Size of the file header.
pub const FILE_HEADER: u64 = 4096;
/// Size of one chunk.
pub const CHUNK: u64 = 65536;
const FILE_MAGIC: &[u8] = b"ElfFile\0";
const CHUNK_MAGIC: &[u8] = b"ElfChnk\0";

fn settings() -> Arc<ParserSettings> {
    static SETTINGS: OnceLock<Arc<ParserSettings>> = OnceLock::new();
    SETTINGS
        .get_or_init(|| {
            Arc::new(
                ParserSettings::new()
                    .num_threads(1)
                    .indent(false)
                    .separate_json_attributes(false),
            )
        })
        .clone()
}

/// True when `prefix` starts like an EVTX file.
pub fn is_evtx(prefix: &[u8]) -> bool {
    prefix.starts_with(FILE_MAGIC)
}

/// Number of chunk slots a file of `len` bytes has (a truncated last chunk counts).
pub fn chunk_slots(len: u64) -> u64 {
    len.saturating_sub(FILE_HEADER).div_ceil(CHUNK)
}

/// Reads chunks `first..first + count` of an EVTX file.
pub fn read_chunks<R: Read + Seek>(
    mut file: R,
    first: u64,
    count: u64,
    schema: &Schema,
    opts: &ReadOptions,
    report: &mut FileReport,
    emit: &mut dyn FnMut(&str, Record<'static>),
) {
    if let Err(e) = file.seek(SeekFrom::Start(FILE_HEADER + first * CHUNK)) {
        report.skip(format!("cannot seek: {e}"), format!("chunk {first}"));
        return;
    }
    let mut buf = vec![0u8; CHUNK as usize];
    for n in first..first + count {
        let got = match read_full(&mut file, &mut buf) {
            Ok(g) => g,
            Err(e) => {
                report.skip(format!("read error: {e}"), format!("chunk {n}"));
                return;
            }
        };
        if got == 0 {
            return;
        }
        chunk(buf[..got].to_vec(), n, schema, opts, report, emit);
    }
}

/// Reads every chunk of an EVTX image held in memory (an archive member).
pub fn read_bytes(
    data: &[u8],
    schema: &Schema,
    opts: &ReadOptions,
    report: &mut FileReport,
    emit: &mut dyn FnMut(&str, Record<'static>),
) {
    let slots = chunk_slots(data.len() as u64);
    for n in 0..slots {
        let start = (FILE_HEADER + n * CHUNK) as usize;
        let end = (start + CHUNK as usize).min(data.len());
        chunk(data[start..end].to_vec(), n, schema, opts, report, emit);
    }
}

fn read_full<R: Read>(r: &mut R, buf: &mut [u8]) -> std::io::Result<usize> {
    let mut got = 0;
    while got < buf.len() {
        match r.read(&mut buf[got..]) {
            Ok(0) => break,
            Ok(k) => got += k,
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
            Err(e) => return Err(e),
        }
    }
    Ok(got)
}

fn chunk(
    data: Vec<u8>,
    n: u64,
    schema: &Schema,
    opts: &ReadOptions,
    report: &mut FileReport,
    emit: &mut dyn FnMut(&str, Record<'static>),
) {
    if data.iter().all(|b| *b == 0) {
        // Preallocated space the log has not reached yet: no records, nothing lost.
        return;
    }
    let place = format!("chunk {n} (offset {})", FILE_HEADER + n * CHUNK);
    if data.len() < CHUNK as usize {
        report.skip("truncated chunk", place);
        return;
    }
    if !data.starts_with(CHUNK_MAGIC) {
        report.skip("not a chunk (bad signature)", place);
        return;
    }
    let mut chunk = match EvtxChunkData::new(data, false) {
        Ok(c) => c,
        Err(e) => {
            report.skip(format!("bad chunk header: {e}"), place);
            return;
        }
    };
    chunk.number = Some(n);
    let mut parsed = match chunk.parse(settings()) {
        Ok(p) => p,
        Err(e) => {
            report.skip(format!("chunk does not parse: {e}"), place);
            return;
        }
    };
    for record in parsed.iter() {
        let record = match record {
            Ok(r) => r,
            Err(e) => {
                report.skip("record does not parse", format!("{place}: {e}"));
                continue;
            }
        };
        let id = record.event_record_id;
        let json = match record.into_json_bytes() {
            Ok(j) => j.data,
            Err(e) => {
                report.skip("record does not render", format!("record {id}: {e}"));
                continue;
            }
        };
        let mut ev = match record_event(&json, schema, opts) {
            Ok(ev) => ev,
            Err(e) => {
                report.skip(
                    "record renders as invalid JSON",
                    format!("record {id}: {e}"),
                );
                continue;
            }
        };
        if ev.record_id.is_none() {
            ev.record_id = i64::try_from(id).ok();
        }
        crate::emit_windows(ev, schema, opts, report, emit);
    }
}

/// The event of one record as the evtx crate renders it to JSON, read in one pass
/// that keeps only what normalisation and the compiled queries need (all fields
/// with `keep_unknown`). The same result as `layout::win_event(.., EvtxJson)`
/// on the parsed value, without building it.
pub fn record_event(
    json: &[u8],
    schema: &Schema,
    opts: &ReadOptions,
) -> Result<WinEvent, serde_json::Error> {
    const SYSTEM: &[&str] = &[
        "EventID",
        "Channel",
        "Computer",
        "EventRecordID",
        "Provider",
        "TimeCreated",
        "Level",
        "Task",
        "Opcode",
        "Keywords",
        "Version",
    ];
    let mut ev = WinEvent::default();
    let mut want = |path: &[std::borrow::Cow<'_, str>], key: &str| -> bool {
        match path {
            [] => key == "Event",
            [_] => matches!(key, "System" | "EventData" | "UserData"),
            [_, s] if s == "System" => SYSTEM.contains(&key),
            [_, s, ..] if s == "System" => {
                matches!(key, "#attributes" | "#text" | "Name" | "SystemTime")
            }
            [_, _, ..] => {
                key == "#text"
                    || opts.keep_unknown
                    || path.len() == 2 && path[1] == "UserData"
                    || NORMALISED_SOURCES
                        .iter()
                        .any(|n| n.eq_ignore_ascii_case(key))
                    || schema.resolve(key).is_some()
            }
        }
    };
    let mut leaf = |path: &[std::borrow::Cow<'_, str>], v: Scalar<'_>| {
        let text = |v: &Scalar<'_>| match v {
            Scalar::Str(s) => Some(s.to_string()),
            Scalar::Int(i) => Some(i.to_string()),
            _ => None,
        };
        let int = |v: &Scalar<'_>| match v {
            Scalar::Int(i) => Some(*i),
            Scalar::Str(s) => portent_core::value::parse_int(s.trim()),
            _ => None,
        };
        let names: Vec<&str> = path.iter().map(|c| c.as_ref()).collect();
        match names.as_slice() {
            [_, "System", "EventID"] | [_, "System", "EventID", "#text"] => ev.event_id = int(&v),
            [_, "System", "Channel"] => ev.channel = text(&v),
            [_, "System", "Computer"] => ev.computer = text(&v),
            [_, "System", "EventRecordID"] => ev.record_id = int(&v),
            [_, "System", "Provider", "#attributes", "Name"] => ev.provider = text(&v),
            [_, "System", "TimeCreated", "#attributes", "SystemTime"] => {
                ev.time = text(&v)
                    .and_then(|t| crate::convert::parse_time(&t, &portent_core::Zone::utc()))
            }
            [_, "System", k] => ev.data.push(((*k).to_owned(), v.into_json())),
            [_, "System", ..] => {}
            // EventData/UserData leaves by their own name; `#text` of an element with
            // attributes takes the element's name; unnamed `Data` stays `Data`.
            [_, _, .., k, "#text"] => ev.data.push(((*k).to_owned(), v.into_json())),
            [_, _, .., "#attributes", _] => {}
            [_, _, .., k] => ev.data.push(((*k).to_owned(), v.into_json())),
            _ => {}
        }
    };
    walk(json, &mut want, &mut leaf)?;
    Ok(ev)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fast_record_reading_matches_the_value_path() {
        let json = br##"{"Event":{"#attributes":{"xmlns":"x"},"System":{"Provider":{"#attributes":{"Name":"Microsoft-Windows-Sysmon","Guid":"{5770385F}"}},"EventID":3,"Version":5,"Level":4,"Task":3,"Opcode":0,"Keywords":"0x8000000000000000","TimeCreated":{"#attributes":{"SystemTime":"2019-05-12T18:35:06.562000Z"}},"EventRecordID":42,"Correlation":null,"Execution":{"#attributes":{"ProcessID":1,"ThreadID":2}},"Channel":"Microsoft-Windows-Sysmon/Operational","Computer":"IEWIN7","Security":{"#attributes":{"UserID":"S-1-5-18"}}},"EventData":{"Image":"C:\\x.exe","DestinationPort":443,"Initiated":true,"Other":"o","Data":{"#attributes":{"Name":"Odd"},"#text":"v"}},"UserData":{"Wrapper":{"Inner":"i"}}}}"##;
        let schema = Schema::qradar();
        let opts = ReadOptions::default();
        let fast = record_event(json, &schema, &opts).unwrap();
        let value: serde_json::Value = serde_json::from_slice(json).unwrap();
        let serde_json::Value::Object(obj) = value else {
            unreachable!()
        };
        let slow = crate::layout::win_event(obj, crate::layout::Layout::EvtxJson).unwrap();
        assert_eq!(fast.event_id, slow.event_id);
        assert_eq!(fast.channel, slow.channel);
        assert_eq!(fast.provider, slow.provider);
        assert_eq!(fast.computer, slow.computer);
        assert_eq!(fast.time, slow.time);
        assert_eq!(fast.record_id, slow.record_id);
        let mut f = fast.data.clone();
        let mut s = slow.data.clone();
        f.sort_by(|a, b| a.0.cmp(&b.0));
        s.sort_by(|a, b| a.0.cmp(&b.0));
        assert_eq!(f, s);
        // Without keep_unknown, only what normalisation or a query reads is kept.
        let lean = ReadOptions {
            keep_unknown: false,
            ..ReadOptions::default()
        };
        let ev = record_event(json, &schema, &lean).unwrap();
        assert!(ev.data.iter().any(|(k, _)| k == "Image"));
        assert!(!ev.data.iter().any(|(k, _)| k == "Other"));
    }

    #[test]
    fn slots_round_up_a_truncated_tail() {
        assert_eq!(chunk_slots(4096), 0);
        assert_eq!(chunk_slots(4096 + CHUNK), 1);
        assert_eq!(chunk_slots(4096 + CHUNK + 10), 2);
        assert_eq!(chunk_slots(10), 0);
    }

    #[test]
    fn garbage_chunks_are_counted_not_fatal() {
        let schema = Schema::qradar();
        let mut data = b"ElfFile\0".to_vec();
        data.resize(4096, 0);
        let mut junk = vec![7u8; CHUNK as usize];
        junk[..8].copy_from_slice(b"ElfChnk\0");
        data.extend_from_slice(&junk);
        data.extend_from_slice(&[1u8; 100]);
        let mut report = FileReport::new("t");
        let mut n = 0;
        read_bytes(
            &data,
            &schema,
            &ReadOptions::default(),
            &mut report,
            &mut |_, _| n += 1,
        );
        assert_eq!(n, 0);
        assert_eq!(report.skipped_total(), 2, "{report}");
    }
}
