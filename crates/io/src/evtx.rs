//! EVTX through the `evtx` crate. A file is read chunk by chunk (64 KiB each), so
//! a large file splits into ranges that parse in parallel, a bad chunk costs only
//! its own records, and a bad record only itself. Each record is rendered as the
//! crate's JSON and read by the same layout code as `evtx_dump` JSON.

use crate::layout::{win_event, Layout};
use crate::report::FileReport;
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
        let obj = match serde_json::from_slice::<serde_json::Value>(&json) {
            Ok(serde_json::Value::Object(o)) => o,
            Ok(_) | Err(_) => {
                report.skip("record renders as invalid JSON", format!("record {id}"));
                continue;
            }
        };
        if let Some(mut ev) = win_event(obj, Layout::EvtxJson) {
            if ev.record_id.is_none() {
                ev.record_id = i64::try_from(id).ok();
            }
            crate::emit_windows(ev, schema, opts, report, emit);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

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
