//! EVTX through the `evtx` crate. A file is read chunk by chunk (64 KiB each), so
//! a large file splits into ranges that parse in parallel, a bad chunk costs only
//! its own records, and a bad record only itself. Each record is rendered as the
//! crate's JSON and read by the same layout code as `evtx_dump` JSON.

use crate::flatjson::{walk, Scalar};
use crate::report::FileReport;
use crate::windows::{WinEvent, NORMALISED_SOURCES};
use crate::ReadOptions;
use evtx::ParserSettings;
use portent_core::{Record, Schema};
use std::io::{Read, Seek, SeekFrom};
use std::sync::{Arc, OnceLock};

/// Size of the file header.
pub const FILE_HEADER: u64 = 4096;
/// Size of one chunk.
pub const CHUNK: u64 = 65536;
const FILE_MAGIC: &[u8] = b"ElfFile\0";
/// An unused chunk slot, to compare with (a vectorised compare, where a
/// byte loop cost a twentieth of an EVTX hunt over preallocated logs).
static ZEROS: [u8; CHUNK as usize] = [0; CHUNK as usize];

pub(crate) fn settings() -> Arc<ParserSettings> {
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

/// Reads chunks `first..first + count` of an EVTX file of `len` bytes (when
/// the caller knows it; otherwise the file is asked).
///
/// Without the fast reader the range is handed to the crate's own parser as a
/// file of its own (the file header followed by just those chunks, see
/// [`Window`]): the parser shares the compiled record templates across chunks,
/// which standalone chunks cannot, and rendering is several times faster for it.
#[allow(clippy::too_many_arguments)]
pub fn read_chunks<R: Read + Seek + Send + 'static>(
    mut file: R,
    first: u64,
    count: u64,
    len: Option<u64>,
    schema: &Schema,
    opts: &ReadOptions,
    report: &mut FileReport,
    emit: &mut dyn FnMut(&str, Record<'static>),
) {
    let len = match len {
        Some(l) => l,
        None => match file.seek(SeekFrom::End(0)) {
            Ok(l) => l,
            Err(e) => return report.skip(format!("cannot seek: {e}"), "file"),
        },
    };
    let start = FILE_HEADER + first * CHUNK;
    let want = len.saturating_sub(start).min(count * CHUNK);
    // From the first chunk on, the header and the chunks are one stretch of
    // the file, read at once (most files in a case folder are one unit each);
    // a later range needs the header read on its own.
    let together = opts.evtx_fast && first == 0 && len >= FILE_HEADER;
    let header = match together {
        true => None,
        false => {
            let mut header = vec![0u8; FILE_HEADER as usize];
            if let Err(e) = file
                .seek(SeekFrom::Start(0))
                .and_then(|_| file.read_exact(&mut header))
            {
                return report.skip(format!("no EVTX file header: {e}"), "offset 0");
            }
            Some(usable_header(header, first, report))
        }
    };
    if let (false, Some(header)) = (opts.evtx_fast, &header) {
        let window = Window {
            inner: file,
            header: header.clone(),
            start,
            len: want,
            pos: 0,
        };
        return parse(window, first, schema, opts, report, emit);
    }
    let from = if together { 0 } else { start };
    with_buffer((start - from + want) as usize, |all| {
        if let Err(e) = file
            .seek(SeekFrom::Start(from))
            .and_then(|_| file.read_exact(all))
        {
            return report.skip(format!("cannot read: {e}"), format!("offset {from}"));
        }
        let (header, range) = match header {
            Some(h) => (h, &*all),
            None => {
                let (h, range) = all.split_at(FILE_HEADER as usize);
                (usable_header(h.to_vec(), first, report), range)
            }
        };
        read_range(&header, range, first, schema, opts, report, emit);
    });
}

/// Runs `read` on a buffer of `size` bytes, one per worker thread and reused:
/// a fresh buffer per range costs the kernel a page fault and a zeroed page
/// for every 4 KiB, and zeroing a reused one anew for every file costs as much
/// again. So it only ever grows, and `read` fills (and sees) `size` bytes.
fn with_buffer(size: usize, read: impl FnOnce(&mut [u8])) {
    thread_local! {
        static RANGE: std::cell::RefCell<Vec<u8>> = const { std::cell::RefCell::new(Vec::new()) };
    }
    RANGE.with(|buf| {
        let mut range = buf.take();
        if range.len() < size {
            range.resize(size, 0);
        }
        read(&mut range[..size]);
        buf.replace(range);
    });
}

/// Reads whole chunks of `range` (chunk `first` onwards) through their
/// templates, and any chunk that way cannot read through the `evtx` crate.
fn read_range(
    header: &[u8],
    range: &[u8],
    first: u64,
    schema: &Schema,
    opts: &ReadOptions,
    report: &mut FileReport,
    emit: &mut dyn FnMut(&str, Record<'static>),
) {
    let names = crate::binxml::Names {
        schema,
        keep_unknown: opts.keep_unknown,
        wanted: opts.wanted.as_deref(),
    };
    let mut events = Vec::new();
    let whole = range.chunks_exact(CHUNK as usize);
    let tail = whole.remainder();
    for (i, chunk) in whole.enumerate() {
        let n = first + i as u64;
        let check = Check::of(chunk);
        // Windows allocates logs ahead of use: the slots past the last chunk
        // written are zeros, and hold nothing to read or report.
        if !check.is_chunk && chunk == ZEROS.as_slice() {
            continue;
        }
        if check.is_chunk && !check.intact() {
            let mut out = Damaged {
                names: &names,
                schema,
                opts,
                report,
                emit,
            };
            out.read(chunk, CHUNK as usize, n, check.header_ok, &check.damage());
            continue;
        }
        let mut reader = crate::binxml::ChunkReader::new(chunk);
        match reader.records_into(&names, &mut events) {
            Ok(()) => {
                report.passed_over += reader.passed_over;
                for ev in events.drain(..) {
                    crate::emit_windows(ev, schema, opts, report, emit);
                }
            }
            Err(_) => {
                let mut one = Vec::with_capacity(header.len() + chunk.len());
                one.extend_from_slice(header);
                one.extend_from_slice(chunk);
                parse(std::io::Cursor::new(one), n, schema, opts, report, emit);
            }
        }
    }
    // A file cut inside a chunk (a copy of a live log, an interrupted
    // transfer): the records wholly before the cut are read, and the ones
    // the cut took are counted as lost.
    if !tail.is_empty() && tail.iter().any(|b| *b != 0) {
        let n = first + (range.len() / CHUNK as usize) as u64;
        let mut padded = tail.to_vec();
        padded.resize(CHUNK as usize, 0);
        let why = format!("the file ends {} bytes into this chunk", tail.len());
        let check = Check::of(&padded);
        if tail.len() < 512 || !check.is_chunk {
            let offset = FILE_HEADER + n * CHUNK;
            return report.skip(
                "file cut inside a chunk header",
                format!("chunk {n} (offset {offset}): {why}"),
            );
        }
        let mut out = Damaged {
            names: &names,
            schema,
            opts,
            report,
            emit,
        };
        out.read(&padded, tail.len(), n, check.header_ok, &why);
    }
}

/// What a chunk's own checksums say about it.
struct Check {
    /// It starts with the chunk signature.
    is_chunk: bool,
    header_ok: bool,
    records_ok: bool,
}

impl Check {
    fn of(c: &[u8]) -> Check {
        let is_chunk = c.len() >= 512 && c.starts_with(b"ElfChnk\0");
        if !is_chunk {
            return Check {
                is_chunk,
                header_ok: false,
                records_ok: false,
            };
        }
        let stored = |at: usize| u32::from_le_bytes([c[at], c[at + 1], c[at + 2], c[at + 3]]);
        let mut h = crc32fast::Hasher::new();
        h.update(&c[..120]);
        h.update(&c[128..512]);
        let header_ok = h.finalize() == stored(124);
        let free = (stored(48) as usize).clamp(512, c.len());
        let records_ok = crc32fast::hash(&c[512..free]) == stored(52);
        Check {
            is_chunk,
            header_ok,
            records_ok,
        }
    }

    fn intact(&self) -> bool {
        self.header_ok && self.records_ok
    }

    fn damage(&self) -> String {
        match (self.header_ok, self.records_ok) {
            (false, false) => "its header and records checksums do not match",
            (false, true) => "its header checksum does not match",
            _ => "its records checksum does not match",
        }
        .to_owned()
    }
}

/// Where the records of a damaged chunk go.
struct Damaged<'a, 'e> {
    names: &'a crate::binxml::Names<'a>,
    schema: &'a Schema,
    opts: &'a ReadOptions,
    report: &'e mut FileReport,
    emit: &'e mut dyn FnMut(&str, Record<'static>),
}

impl Damaged<'_, '_> {
    /// Reads chunk `n`, which failed its checks (or was cut at `end`), record
    /// by record. What is read is kept but said to be unverified, since
    /// damage inside a record's values cannot be told from data; what cannot
    /// be read is counted as skipped, at its place.
    fn read(&mut self, chunk: &[u8], end: usize, n: u64, header_ok: bool, why: &str) {
        let mut events = Vec::new();
        let mut lost = Vec::new();
        let mut reader = crate::binxml::ChunkReader::new(chunk);
        reader.records_lenient(self.names, end, header_ok, &mut events, &mut |at, what| {
            lost.push((at, what))
        });
        self.report.passed_over += reader.passed_over;
        let offset = FILE_HEADER + n * CHUNK;
        for (at, what) in lost {
            self.report.skip(
                format!("{what} in a damaged chunk"),
                format!("chunk {n} (offset {offset}), byte {at}: {why}"),
            );
        }
        for (at, ev) in events {
            self.report.repair(
                format!("kept unverified from a damaged chunk ({why})"),
                format!(
                    "chunk {n}, byte {at}, record {}",
                    ev.record_id.unwrap_or(-1)
                ),
            );
            crate::emit_windows(ev, self.schema, self.opts, self.report, self.emit);
        }
    }
}

/// The file header the `evtx` crate needs to read a chunk, made anew when
/// the file's own is damaged (its signature wiped, say): the chunks carry
/// everything else, so a damaged header costs nothing but a note.
fn usable_header(header: Vec<u8>, first: u64, report: &mut FileReport) -> Vec<u8> {
    if header.len() >= 128 && is_evtx(&header) {
        return header;
    }
    if first == 0 {
        report.repair(
            "file header damaged (no EVTX signature): chunks read on their own",
            "offset 0",
        );
    }
    let mut h = vec![0u8; FILE_HEADER as usize];
    h[..8].copy_from_slice(FILE_MAGIC);
    h[32..36].copy_from_slice(&128u32.to_le_bytes());
    h[36..38].copy_from_slice(&1u16.to_le_bytes());
    h[38..40].copy_from_slice(&3u16.to_le_bytes());
    h[40..42].copy_from_slice(&(FILE_HEADER as u16).to_le_bytes());
    h[42..44].copy_from_slice(&1u16.to_le_bytes());
    let crc = crc32fast::hash(&h[..120]);
    h[124..128].copy_from_slice(&crc.to_le_bytes());
    h
}

/// Reads every chunk of an EVTX image held in memory (an archive member).
pub fn read_bytes(
    data: &[u8],
    schema: &Schema,
    opts: &ReadOptions,
    report: &mut FileReport,
    emit: &mut dyn FnMut(&str, Record<'static>),
) {
    if !opts.evtx_fast || data.len() < FILE_HEADER as usize {
        return parse(
            std::io::Cursor::new(data.to_vec()),
            0,
            schema,
            opts,
            report,
            emit,
        );
    }
    let (header, chunks) = data.split_at(FILE_HEADER as usize);
    let header = usable_header(header.to_vec(), 0, report);
    read_range(&header, chunks, 0, schema, opts, report, emit);
}

fn parse<R: Read + Seek + Send + 'static>(
    stream: R,
    first: u64,
    schema: &Schema,
    opts: &ReadOptions,
    report: &mut FileReport,
    emit: &mut dyn FnMut(&str, Record<'static>),
) {
    let mut parser = match evtx::EvtxParser::from_read_seek(stream) {
        Ok(p) => p.with_configuration((*settings()).clone()),
        Err(e) => return report.skip(format!("not a readable EVTX file: {e}"), "file header"),
    };
    let records = parser.serialized_records(|r| {
        let r = r?;
        let id = r.event_record_id;
        r.into_json_bytes().map(|j| (id, j.data))
    });
    for item in records {
        let (id, json) = match item {
            Ok(x) => x,
            Err(e) => {
                let (reason, place) = describe(&e, first);
                report.skip(reason, place);
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

/// Reason and place of a parser error; chunk numbers are made file-relative.
pub(crate) fn describe(e: &evtx::err::EvtxError, first: u64) -> (String, String) {
    use evtx::err::EvtxError as E;
    let at = |n: u64| {
        format!(
            "chunk {} (offset {})",
            first + n,
            FILE_HEADER + (first + n) * CHUNK
        )
    };
    match e {
        E::FailedToParseChunk { chunk_id, source } => {
            (format!("chunk does not parse: {source}"), at(*chunk_id))
        }
        E::FailedToReadRecordAt {
            chunk,
            offset,
            source,
        } => (
            "record does not parse".into(),
            match chunk {
                Some(c) => format!("{}, byte {offset}: {source}", at(*c)),
                None => format!("byte {offset}: {source}"),
            },
        ),
        E::FailedToParseRecord { record_id, source } => (
            "record does not render".into(),
            format!("record {record_id}: {source}"),
        ),
        other => ("EVTX error".into(), other.to_string()),
    }
}

/// A byte stream that is an EVTX file's header followed by a range of its chunks.
pub struct Window<R> {
    inner: R,
    header: Vec<u8>,
    start: u64,
    len: u64,
    pos: u64,
}

impl<R: Read + Seek> Read for Window<R> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        let total = FILE_HEADER + self.len;
        if self.pos >= total {
            return Ok(0);
        }
        if self.pos < FILE_HEADER {
            let from = &self.header[self.pos as usize..];
            let n = from.len().min(buf.len());
            buf[..n].copy_from_slice(&from[..n]);
            self.pos += n as u64;
            return Ok(n);
        }
        let want = (buf.len() as u64).min(total - self.pos) as usize;
        self.inner
            .seek(SeekFrom::Start(self.start + self.pos - FILE_HEADER))?;
        let n = self.inner.read(&mut buf[..want])?;
        self.pos += n as u64;
        Ok(n)
    }
}

impl<R: Read + Seek> Seek for Window<R> {
    fn seek(&mut self, to: SeekFrom) -> std::io::Result<u64> {
        let total = (FILE_HEADER + self.len) as i128;
        let target = match to {
            SeekFrom::Start(n) => n as i128,
            SeekFrom::End(d) => total + d as i128,
            SeekFrom::Current(d) => self.pos as i128 + d as i128,
        };
        if target < 0 {
            return Err(std::io::Error::new(
                std::io::ErrorKind::InvalidInput,
                "seek before the start",
            ));
        }
        self.pos = target as u64;
        Ok(self.pos)
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
        // Paths are at most a few keys deep: name them on the stack.
        let mut buf: [&str; 8] = [""; 8];
        let depth = path.len().min(buf.len());
        for (slot, c) in buf.iter_mut().zip(path) {
            *slot = c.as_ref();
        }
        match &buf[..depth] {
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
