//! An EVTX writer: the 4 KiB file header, 64 KiB chunks with their string and
//! template tables, and records whose BinXML is a template instance, as
//! Windows writes them (MS-EVEN6 and the libevtx format notes). Each chunk
//! carries the CRC32 of its header and of its records, and the file header the
//! CRC32 of its first 120 bytes, so readers that check them accept the file.
//!
//! One template is defined per event shape (provider, id, version and the
//! names and types of the data) the first time a chunk needs it, inline in
//! that record, and later records of the chunk refer to it by offset; element
//! and attribute names are stored once per chunk the same way.
//!
//! [`Layout::Elements`] writes each record as an element tree of its own,
//! every value inline as text and no template, as some exported logs hold
//! them (Defender's Operational log saved from Event Viewer, for one).

use crate::event::{Val, WinEvent};
use std::collections::HashMap;
use std::fmt;

const FILE_HEADER_SIZE: usize = 4096;
const CHUNK_SIZE: usize = 65536;
const CHUNK_HEADER_SIZE: usize = 512;
const XMLNS: &str = "http://schemas.microsoft.com/win/2004/08/events/event";

/// Seconds between 1601-01-01 and 1970-01-01, in 100 ns ticks.
const FILETIME_UNIX_EPOCH: i64 = 116_444_736_000_000_000;

/// Why a log could not be written.
#[derive(Debug, PartialEq, Eq)]
pub enum Error {
    /// One record is larger than a chunk can hold.
    RecordTooLarge {
        /// The record.
        record_id: u64,
        /// Its size in bytes.
        size: usize,
    },
    /// More chunks than the file header can count.
    TooManyChunks,
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Error::RecordTooLarge { record_id, size } => write!(
                f,
                "record {record_id} needs {size} bytes, more than one 64 KiB chunk holds"
            ),
            Error::TooManyChunks => write!(f, "more than 65535 chunks"),
        }
    }
}

impl std::error::Error for Error {}

/// BinXML value types (MS-EVEN6 2.2.3.4).
mod ty {
    pub const NULL: u8 = 0x00;
    pub const STRING: u8 = 0x01;
    pub const UINT8: u8 = 0x04;
    pub const UINT16: u8 = 0x06;
    pub const UINT32: u8 = 0x08;
    pub const UINT64: u8 = 0x0a;
    pub const BOOL: u8 = 0x0d;
    pub const GUID: u8 = 0x0f;
    pub const FILETIME: u8 = 0x11;
    pub const SID: u8 = 0x13;
    pub const HEXINT64: u8 = 0x15;
}

/// How records are written.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Layout {
    /// Template instances, as Windows writes its live logs.
    Templates,
    /// Each record an element tree with its values as text.
    Elements,
}

/// A value ready for the substitution array.
struct Sub {
    ty: u8,
    bytes: Vec<u8>,
}

fn utf16(s: &str) -> Vec<u8> {
    s.encode_utf16().flat_map(u16::to_le_bytes).collect()
}

/// A GUID's 16 bytes: the first three groups little-endian, the rest as written.
fn guid_bytes(g: &str) -> Vec<u8> {
    let hex: String = g.chars().filter(char::is_ascii_hexdigit).collect();
    let byte = |i: usize| u8::from_str_radix(hex.get(i * 2..i * 2 + 2).unwrap_or("00"), 16);
    let raw: Vec<u8> = (0..16).map(|i| byte(i).unwrap_or(0)).collect();
    let mut out = Vec::with_capacity(16);
    out.extend(raw[0..4].iter().rev());
    out.extend(raw[4..6].iter().rev());
    out.extend(raw[6..8].iter().rev());
    out.extend(&raw[8..16]);
    out
}

/// A SID (`S-1-5-18`) in its binary form; `None` when it is not one.
fn sid_bytes(s: &str) -> Option<Vec<u8>> {
    let mut parts = s.strip_prefix("S-")?.split('-');
    let revision: u8 = parts.next()?.parse().ok()?;
    let authority: u64 = parts.next()?.parse().ok()?;
    let subs: Vec<u32> = parts.map(str::parse).collect::<Result<_, _>>().ok()?;
    let mut out = vec![revision, u8::try_from(subs.len()).ok()?];
    out.extend(&authority.to_be_bytes()[2..]);
    for s in subs {
        out.extend(s.to_le_bytes());
    }
    Some(out)
}

fn sub_of(v: &Val) -> Sub {
    let (ty, bytes) = match v {
        Val::Str(s) => (ty::STRING, utf16(s)),
        Val::U8(v) => (ty::UINT8, vec![*v]),
        Val::U16(v) => (ty::UINT16, v.to_le_bytes().to_vec()),
        Val::U32(v) => (ty::UINT32, v.to_le_bytes().to_vec()),
        Val::U64(v) => (ty::UINT64, v.to_le_bytes().to_vec()),
        Val::Bool(v) => (ty::BOOL, u32::from(*v).to_le_bytes().to_vec()),
        Val::Guid(g) => (ty::GUID, guid_bytes(g)),
        Val::HexInt64(v) => (ty::HEXINT64, v.to_le_bytes().to_vec()),
    };
    Sub { ty, bytes }
}

/// Windows' name hash: `h = h * 65599 + unit` over UTF-16 units, low 16 bits kept.
fn name_hash(name: &str) -> u16 {
    let h = name.encode_utf16().fold(0u32, |h, c| {
        h.wrapping_mul(65599).wrapping_add(u32::from(c))
    });
    (h & 0xffff) as u16
}

/// What an element or attribute holds.
enum Content {
    Text(&'static str),
    Owned(String),
    Sub { index: u16, ty: u8, optional: bool },
}

/// A template element.
struct Elem {
    name: &'static str,
    attrs: Vec<(&'static str, Content)>,
    children: Vec<Node>,
}

enum Node {
    Elem(Elem),
    Content(Content),
}

fn el(name: &'static str, attrs: Vec<(&'static str, Content)>, children: Vec<Node>) -> Node {
    Node::Elem(Elem {
        name,
        attrs,
        children,
    })
}

fn sub(index: u16, ty: u8) -> Content {
    Content::Sub {
        index,
        ty,
        optional: false,
    }
}

fn opt(index: u16, ty: u8) -> Content {
    Content::Sub {
        index,
        ty,
        optional: true,
    }
}

/// The substitution values of a record, in template order, and the template
/// they fill. System values come first (0-14), then the data (15..).
fn values_of(ev: &WinEvent) -> Vec<Sub> {
    fields_of(ev).iter().map(Field::sub).collect()
}

/// The values of [`values_of`] as the text a record written without a
/// template holds (`None`: no value).
fn texts_of(ev: &WinEvent) -> Vec<Option<String>> {
    fields_of(ev).iter().map(Field::text).collect()
}

/// A value of a record, in template order: the System ones (0-14), then the
/// data. Both layouts write them from here, as a substitution or as text.
enum Field {
    Val(Val),
    /// The time, in microseconds since 1970.
    Time(i64),
    /// The user's SID, when there is one.
    Sid(Option<String>),
}

fn fields_of(ev: &WinEvent) -> Vec<Field> {
    let mut v = vec![
        Field::Val(Val::s(ev.provider.name)),
        Field::Val(Val::Guid(ev.provider.guid.into())),
        Field::Val(Val::U16(ev.event_id)),
        Field::Val(Val::U8(ev.version)),
        Field::Val(Val::U8(ev.level)),
        Field::Val(Val::U16(ev.task)),
        Field::Val(Val::U8(ev.opcode)),
        Field::Val(Val::HexInt64(ev.keywords)),
        Field::Time(ev.time_us),
        Field::Val(Val::U64(ev.record_id)),
        Field::Val(Val::U32(ev.pid)),
        Field::Val(Val::U32(ev.tid)),
        Field::Val(Val::s(ev.provider.channel)),
        Field::Val(Val::s(ev.computer.clone())),
        Field::Sid(ev.user_sid.clone()),
    ];
    v.extend(ev.data.iter().map(|(_, val)| Field::Val(val.clone())));
    v
}

impl Field {
    fn sub(&self) -> Sub {
        match self {
            Field::Val(v) => sub_of(v),
            Field::Time(us) => {
                let ticks = us.saturating_mul(10).saturating_add(FILETIME_UNIX_EPOCH);
                Sub {
                    ty: ty::FILETIME,
                    bytes: (ticks as u64).to_le_bytes().to_vec(),
                }
            }
            Field::Sid(sid) => match sid.as_deref().and_then(sid_bytes) {
                Some(bytes) => Sub { ty: ty::SID, bytes },
                None => Sub {
                    ty: ty::NULL,
                    bytes: Vec::new(),
                },
            },
        }
    }

    fn text(&self) -> Option<String> {
        match self {
            Field::Val(v) => Some(v.text()),
            // As Windows renders a FILETIME: seven decimals.
            Field::Time(us) => chrono::DateTime::from_timestamp_micros(*us).map(|t| {
                let ticks = us.rem_euclid(1_000_000) * 10;
                format!("{}.{ticks:07}Z", t.format("%Y-%m-%dT%H:%M:%S"))
            }),
            Field::Sid(sid) => sid.clone(),
        }
    }
}

fn template_of(ev: &WinEvent, values: &[Sub]) -> Node {
    let text = |i: u16, t: u8| vec![Node::Content(sub(i, t))];
    let system = el(
        "System",
        vec![],
        vec![
            el(
                "Provider",
                vec![("Name", sub(0, ty::STRING)), ("Guid", sub(1, ty::GUID))],
                vec![],
            ),
            el("EventID", vec![], text(2, ty::UINT16)),
            el("Version", vec![], text(3, ty::UINT8)),
            el("Level", vec![], text(4, ty::UINT8)),
            el("Task", vec![], text(5, ty::UINT16)),
            el("Opcode", vec![], text(6, ty::UINT8)),
            el("Keywords", vec![], text(7, ty::HEXINT64)),
            el(
                "TimeCreated",
                vec![("SystemTime", sub(8, ty::FILETIME))],
                vec![],
            ),
            el("EventRecordID", vec![], text(9, ty::UINT64)),
            el("Correlation", vec![], vec![]),
            el(
                "Execution",
                vec![
                    ("ProcessID", sub(10, ty::UINT32)),
                    ("ThreadID", sub(11, ty::UINT32)),
                ],
                vec![],
            ),
            el("Channel", vec![], text(12, ty::STRING)),
            el("Computer", vec![], text(13, ty::STRING)),
            el("Security", vec![("UserID", opt(14, ty::SID))], vec![]),
        ],
    );
    let data = ev
        .data
        .iter()
        .enumerate()
        .map(|(i, (name, _))| {
            let index = 15 + i as u16;
            el(
                "Data",
                vec![("Name", Content::Owned((*name).to_owned()))],
                vec![Node::Content(opt(index, values[index as usize].ty))],
            )
        })
        .collect();
    el(
        "Event",
        vec![("xmlns", Content::Text(XMLNS))],
        vec![system, el("EventData", vec![], data)],
    )
}

/// The shape a template serves: records of the same shape share it.
fn template_key(ev: &WinEvent, values: &[Sub]) -> String {
    let mut key = format!("{}/{}/{}", ev.provider.name, ev.event_id, ev.version);
    for ((name, _), v) in ev.data.iter().zip(&values[15..]) {
        key.push_str(&format!("/{name}:{}", v.ty));
    }
    key
}

/// FNV-1a, for template ids and GUIDs derived from the shape.
fn fnv(s: &str, basis: u64) -> u64 {
    s.bytes().fold(basis, |h, b| {
        (h ^ u64::from(b)).wrapping_mul(0x100_0000_01b3)
    })
}

/// A chunk's state before a record, to go back to when it does not fit:
/// length, names, templates, string and template buckets.
type Saved = (
    usize,
    HashMap<String, u32>,
    HashMap<String, u32>,
    [u32; 64],
    [u32; 32],
);

/// One chunk being filled. Offsets in it are chunk offsets, as BinXML wants.
struct Chunk {
    layout: Layout,
    buf: Vec<u8>,
    names: HashMap<String, u32>,
    templates: HashMap<String, u32>,
    string_buckets: [u32; 64],
    template_buckets: [u32; 32],
    first: Option<u64>,
    last: u64,
    last_offset: u32,
}

impl Chunk {
    fn new(layout: Layout) -> Chunk {
        Chunk {
            layout,
            buf: vec![0; CHUNK_HEADER_SIZE],
            names: HashMap::new(),
            templates: HashMap::new(),
            string_buckets: [0; 64],
            template_buckets: [0; 32],
            first: None,
            last: 0,
            last_offset: 0,
        }
    }

    fn pos(&self) -> u32 {
        self.buf.len() as u32
    }

    fn u16(&mut self, v: u16) {
        self.buf.extend(v.to_le_bytes());
    }

    fn u32(&mut self, v: u32) {
        self.buf.extend(v.to_le_bytes());
    }

    fn patch_u32(&mut self, at: u32, v: u32) {
        let at = at as usize;
        self.buf[at..at + 4].copy_from_slice(&v.to_le_bytes());
    }

    /// A reference to `name`: its offset, with the name itself right after the
    /// reference the first time the chunk uses it.
    fn name_ref(&mut self, name: &str) {
        if let Some(&at) = self.names.get(name) {
            self.u32(at);
            return;
        }
        let at = self.pos() + 4;
        self.u32(at);
        let hash = name_hash(name);
        let bucket = usize::from(hash) % 64;
        self.u32(self.string_buckets[bucket]);
        self.string_buckets[bucket] = at;
        self.u16(hash);
        self.u16(name.encode_utf16().count() as u16);
        self.buf.extend(utf16(name));
        self.u16(0);
        self.names.insert(name.to_owned(), at);
    }

    fn content(&mut self, c: &Content) {
        match c {
            Content::Text(s) => self.text(s),
            Content::Owned(s) => self.text(s),
            Content::Sub {
                index,
                ty,
                optional,
            } => {
                self.buf.push(if *optional { 0x0e } else { 0x0d });
                self.u16(*index);
                self.buf.push(*ty);
            }
        }
    }

    fn text(&mut self, s: &str) {
        self.buf.extend([0x05, ty::STRING]);
        self.u16(s.encode_utf16().count() as u16);
        self.buf.extend(utf16(s));
    }

    /// Writes `n`: as a template's element tree, or (with `texts`) as a
    /// record's own, where each hole is its text, an attribute without one
    /// is left out, and element headers carry no dependency id.
    fn node(&mut self, n: &Node, texts: Option<&[Option<String>]>) {
        let text_of = |c: &Content| -> Option<Option<String>> {
            match (c, texts) {
                (Content::Sub { index, .. }, Some(t)) => {
                    Some(t.get(usize::from(*index)).cloned().flatten())
                }
                _ => None,
            }
        };
        let e = match n {
            Node::Content(c) => {
                return match text_of(c) {
                    Some(Some(t)) if !t.is_empty() => self.text(&t),
                    Some(_) => {}
                    None => self.content(c),
                };
            }
            Node::Elem(e) => e,
        };
        let attrs: Vec<&(&str, Content)> = e
            .attrs
            .iter()
            .filter(|(_, c)| !matches!(text_of(c), Some(None)))
            .collect();
        self.buf.push(if attrs.is_empty() { 0x01 } else { 0x41 });
        if texts.is_none() {
            self.u16(0xffff);
        }
        let size_at = self.pos();
        self.u32(0);
        self.name_ref(e.name);
        if !attrs.is_empty() {
            let attrs_at = self.pos();
            self.u32(0);
            for (i, (name, value)) in attrs.iter().enumerate() {
                self.buf.push(if i + 1 < attrs.len() { 0x46 } else { 0x06 });
                self.name_ref(name);
                match text_of(value) {
                    Some(Some(t)) => self.text(&t),
                    _ => self.content(value),
                }
            }
            self.patch_u32(attrs_at, self.pos() - attrs_at - 4);
        }
        if e.children.is_empty() {
            self.buf.push(0x03);
        } else {
            self.buf.push(0x02);
            for c in &e.children {
                self.node(c, texts);
            }
            self.buf.push(0x04);
        }
        self.patch_u32(size_at, self.pos() - size_at - 4);
    }

    /// Appends one record; `false` (and the chunk unchanged) when it does not fit.
    fn append(&mut self, ev: &WinEvent) -> bool {
        let saved: Saved = (
            self.buf.len(),
            self.names.clone(),
            self.templates.clone(),
            self.string_buckets,
            self.template_buckets,
        );
        let start = self.pos();
        self.buf.extend([0x2a, 0x2a, 0, 0]);
        self.u32(0);
        self.buf.extend(ev.record_id.to_le_bytes());
        let ticks = ev
            .time_us
            .saturating_mul(10)
            .saturating_add(FILETIME_UNIX_EPOCH);
        self.buf.extend((ticks as u64).to_le_bytes());
        self.buf.extend([0x0f, 0x01, 0x01, 0x00]);
        let values = values_of(ev);
        if self.layout == Layout::Elements {
            self.node(&template_of(ev, &values), Some(&texts_of(ev)));
            return self.close_record(start, ev, saved);
        }
        let key = template_key(ev, &values);
        let id = fnv(&key, 0xcbf2_9ce4_8422_2325) as u32;
        self.buf.extend([0x0c, 0x01]);
        self.u32(id);
        match self.templates.get(&key) {
            Some(&at) => self.u32(at),
            None => {
                let at = self.pos() + 4;
                self.u32(at);
                let bucket = id as usize % 32;
                self.u32(self.template_buckets[bucket]);
                self.template_buckets[bucket] = at;
                self.buf.extend(fnv(&key, 1).to_le_bytes());
                self.buf.extend(fnv(&key, 2).to_le_bytes());
                let size_at = self.pos();
                self.u32(0);
                self.buf.extend([0x0f, 0x01, 0x01, 0x00]);
                self.node(&template_of(ev, &values), None);
                self.buf.push(0x00);
                self.patch_u32(size_at, self.pos() - size_at - 4);
                self.templates.insert(key, at);
            }
        }
        self.u32(values.len() as u32);
        for v in &values {
            self.u16(v.bytes.len() as u16);
            self.buf.extend([v.ty, 0]);
        }
        for v in &values {
            self.buf.extend(&v.bytes);
        }
        self.close_record(start, ev, saved)
    }

    /// Ends the record begun at `start`; `false` (and the chunk as `saved`)
    /// when it does not fit.
    fn close_record(&mut self, start: u32, ev: &WinEvent, saved: Saved) -> bool {
        self.buf.push(0x00);
        let size = self.pos() + 4 - start;
        self.u32(size);
        self.patch_u32(start + 4, size);
        if self.buf.len() > CHUNK_SIZE {
            let (len, names, templates, sb, tb) = saved;
            self.buf.truncate(len);
            (self.names, self.templates) = (names, templates);
            (self.string_buckets, self.template_buckets) = (sb, tb);
            return false;
        }
        self.first.get_or_insert(ev.record_id);
        self.last = ev.record_id;
        self.last_offset = start;
        true
    }

    /// The 64 KiB chunk with its header and checksums.
    fn finish(mut self) -> Vec<u8> {
        let free = self.pos();
        let first = self.first.unwrap_or(0);
        let h = &mut self.buf;
        h[0..8].copy_from_slice(b"ElfChnk\0");
        for (at, v) in [(8, first), (16, self.last), (24, first), (32, self.last)] {
            h[at..at + 8].copy_from_slice(&v.to_le_bytes());
        }
        for (at, v) in [(40, 128u32), (44, self.last_offset), (48, free)] {
            h[at..at + 4].copy_from_slice(&v.to_le_bytes());
        }
        let records = crc32fast::hash(&h[CHUNK_HEADER_SIZE..free as usize]);
        h[52..56].copy_from_slice(&records.to_le_bytes());
        for (i, v) in self.string_buckets.iter().enumerate() {
            h[128 + i * 4..132 + i * 4].copy_from_slice(&v.to_le_bytes());
        }
        for (i, v) in self.template_buckets.iter().enumerate() {
            h[384 + i * 4..388 + i * 4].copy_from_slice(&v.to_le_bytes());
        }
        let mut crc = crc32fast::Hasher::new();
        crc.update(&h[0..120]);
        crc.update(&h[128..512]);
        h[124..128].copy_from_slice(&crc.finalize().to_le_bytes());
        h.resize(CHUNK_SIZE, 0);
        self.buf
    }
}

/// `events` split by channel (in channel-name order, each in the order given):
/// an EVTX file holds one channel's log.
pub fn by_channel(events: &[WinEvent]) -> Vec<(&'static str, Vec<WinEvent>)> {
    let mut channels: Vec<&'static str> = events.iter().map(|e| e.provider.channel).collect();
    channels.sort_unstable();
    channels.dedup();
    channels
        .into_iter()
        .map(|c| {
            (
                c,
                events
                    .iter()
                    .filter(|e| e.provider.channel == c)
                    .cloned()
                    .collect(),
            )
        })
        .collect()
}

/// Writes `events` (one channel's, in record order) as an EVTX file.
pub fn write(events: &[WinEvent]) -> Result<Vec<u8>, Error> {
    write_as(events, Layout::Templates)
}

/// [`write`] with records laid out as `layout` says.
pub fn write_as(events: &[WinEvent], layout: Layout) -> Result<Vec<u8>, Error> {
    let mut chunks: Vec<Vec<u8>> = Vec::new();
    let mut chunk = Chunk::new(layout);
    for ev in events {
        if chunk.append(ev) {
            continue;
        }
        if chunk.first.is_none() {
            let size = values_of(ev).iter().map(|v| v.bytes.len()).sum();
            return Err(Error::RecordTooLarge {
                record_id: ev.record_id,
                size,
            });
        }
        chunks.push(std::mem::replace(&mut chunk, Chunk::new(layout)).finish());
        if !chunk.append(ev) {
            let size = values_of(ev).iter().map(|v| v.bytes.len()).sum();
            return Err(Error::RecordTooLarge {
                record_id: ev.record_id,
                size,
            });
        }
    }
    if chunk.first.is_some() || chunks.is_empty() {
        chunks.push(chunk.finish());
    }
    let count = u16::try_from(chunks.len()).map_err(|_| Error::TooManyChunks)?;
    let next_record = events.iter().map(|e| e.record_id).max().unwrap_or(0) + 1;
    let mut out = vec![0u8; FILE_HEADER_SIZE];
    out[0..8].copy_from_slice(b"ElfFile\0");
    out[8..16].copy_from_slice(&0u64.to_le_bytes());
    out[16..24].copy_from_slice(&u64::from(count - 1).to_le_bytes());
    out[24..32].copy_from_slice(&next_record.to_le_bytes());
    out[32..36].copy_from_slice(&128u32.to_le_bytes());
    out[36..38].copy_from_slice(&1u16.to_le_bytes());
    out[38..40].copy_from_slice(&3u16.to_le_bytes());
    out[40..42].copy_from_slice(&(FILE_HEADER_SIZE as u16).to_le_bytes());
    out[42..44].copy_from_slice(&count.to_le_bytes());
    let crc = crc32fast::hash(&out[0..120]);
    out[124..128].copy_from_slice(&crc.to_le_bytes());
    for c in chunks {
        out.extend(c);
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn guids_and_sids_encode_as_windows_stores_them() {
        assert_eq!(
            guid_bytes("5770385f-c22a-43e0-bf4c-06f5698ffbd9"),
            [
                0x5f, 0x38, 0x70, 0x57, 0x2a, 0xc2, 0xe0, 0x43, 0xbf, 0x4c, 0x06, 0xf5, 0x69, 0x8f,
                0xfb, 0xd9
            ]
        );
        assert_eq!(
            sid_bytes("S-1-5-18").unwrap(),
            [1, 1, 0, 0, 0, 0, 0, 5, 18, 0, 0, 0]
        );
        assert_eq!(sid_bytes("not a sid"), None);
    }

    #[test]
    fn empty_logs_have_one_empty_chunk_and_valid_checksums() {
        let out = write(&[]).unwrap();
        assert_eq!(out.len(), FILE_HEADER_SIZE + CHUNK_SIZE);
        let crc = u32::from_le_bytes(out[124..128].try_into().unwrap());
        assert_eq!(crc, crc32fast::hash(&out[..120]));
    }
}
