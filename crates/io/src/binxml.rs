//! Reading EVTX records without rendering them. Windows writes nearly every
//! record as an instance of a template: the template (defined once per chunk)
//! is the XML with numbered holes, the record only the values for the holes.
//! So a template is read once per chunk into a list saying which hole is the
//! event id, the channel, the computer, the time or which named data field,
//! and each record then costs one pass over its values, decoding only those a
//! query or the normalisation needs. Nothing is rendered to XML or JSON.
//!
//! The result is the same [`WinEvent`] the `evtx` crate's JSON gives (a test
//! holds the two to each other on every record of the corpus). Anything this
//! reader does not handle (a record that is not one template instance, nested
//! BinXML, arrays, ANSI strings, floats, a damaged record) makes the caller
//! read the whole chunk with the `evtx` crate instead, so nothing is lost.

use crate::windows::{Known, WinEvent};
use portent_core::Schema;
use serde_json::Value as J;
use std::collections::HashMap;
use std::rc::Rc;

const CHUNK_HEADER: usize = 512;
const HEX: &[u8; 16] = b"0123456789abcdef";
const HEX_UPPER: &[u8; 16] = b"0123456789ABCDEF";
/// 100 ns ticks between 1601-01-01 and 1970-01-01.
const EPOCH_TICKS: i64 = 116_444_736_000_000_000;

/// Why a chunk must be read by the `evtx` crate instead.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Unsupported(pub &'static str);

/// What a template hole or constant fills.
#[derive(Clone, Debug, PartialEq)]
enum Target {
    EventId,
    Channel,
    Computer,
    RecordId,
    Provider,
    Time,
    /// An EventData / UserData field, by its name, with what its name means.
    Data(Rc<(String, Known)>),
    /// BinXML of its own (usually the whole EventData as a template instance
    /// of another template), at this element path.
    Nested(Rc<[String]>),
}

#[derive(Debug)]
enum Item {
    /// Hole `index` fills `target` (when the reader keeps it: a data field no
    /// query or normalisation reads is passed over).
    Hole(u16, Target),
    /// A value written into the template itself.
    Const(Target, J),
}

/// A template read for its holes.
#[derive(Debug)]
struct Template {
    items: Vec<Item>,
}

/// `System` children the JSON reader keeps as data.
const SYSTEM_DATA: &[&str] = &["Level", "Task", "Opcode", "Keywords", "Version"];

fn u16_at(d: &[u8], at: usize) -> Option<u16> {
    Some(u16::from_le_bytes(d.get(at..at + 2)?.try_into().ok()?))
}

fn u32_at(d: &[u8], at: usize) -> Option<u32> {
    Some(u32::from_le_bytes(d.get(at..at + 4)?.try_into().ok()?))
}

fn u64_at(d: &[u8], at: usize) -> Option<u64> {
    Some(u64::from_le_bytes(d.get(at..at + 8)?.try_into().ok()?))
}

fn utf16(mut bytes: &[u8]) -> String {
    // Windows stores many values with their NUL terminator; the text ends there.
    while let [rest @ .., 0, 0] = bytes {
        bytes = rest;
    }
    // Most event text is ASCII: copy it straight, without decoding pairs.
    let mut ascii = Vec::with_capacity(bytes.len() / 2);
    for c in bytes.chunks_exact(2) {
        if c[1] != 0 || c[0] >= 0x80 || c[0] == 0 {
            ascii.clear();
            break;
        }
        ascii.push(c[0]);
    }
    if ascii.len() * 2 == bytes.len() {
        return String::from_utf8(ascii).unwrap_or_default();
    }
    let units = bytes
        .chunks_exact(2)
        .map(|c| u16::from_le_bytes([c[0], c[1]]));
    let mut s: String = char::decode_utf16(units)
        .map(|c| c.unwrap_or(char::REPLACEMENT_CHARACTER))
        .collect();
    while s.ends_with('\0') {
        s.pop();
    }
    s
}

/// The name stored at chunk offset `at` (a link, a hash, a length, UTF-16).
fn name_at(chunk: &[u8], at: usize) -> Option<String> {
    let len = usize::from(u16_at(chunk, at + 6)?);
    let bytes = chunk.get(at + 8..at + 8 + len * 2)?;
    Some(utf16(bytes))
}

/// Reads a name reference at `*pos`, stepping over a name stored in place.
fn name_ref(chunk: &[u8], pos: &mut usize) -> Result<String, Unsupported> {
    let bad = Unsupported("bad name reference");
    let at = u32_at(chunk, *pos).ok_or(Unsupported("truncated name"))? as usize;
    *pos += 4;
    if at == *pos {
        let len = usize::from(u16_at(chunk, at + 6).ok_or(Unsupported("truncated name"))?);
        *pos += 10 + len * 2;
    }
    name_at(chunk, at).ok_or(bad)
}

/// Where a BinXML element tree comes from: it decides how its element
/// headers are laid out and what it may hold.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Tree {
    /// A template definition: element headers carry a dependency id, and
    /// values come from the instance's holes.
    Template,
    /// A record written as a plain element tree, with every value inline
    /// and no template (what exported logs and some providers hold, e.g.
    /// Defender's Operational log saved from Event Viewer): element headers
    /// have no dependency id, and there are no holes.
    Record,
}

/// Reads the template defined at chunk offset `at`, instantiated below the
/// elements `base` (empty for a record, the hole's path for nested BinXML).
fn compile(
    chunk: &[u8],
    at: usize,
    base: &[String],
    names_of: &Names<'_>,
) -> Result<Template, Unsupported> {
    let size = u32_at(chunk, at + 20).ok_or(Unsupported("truncated template"))? as usize;
    let start = at + 24;
    let end = start + size;
    if end > chunk.len() {
        return Err(Unsupported("template out of the chunk"));
    }
    walk(chunk, start, end, Tree::Template, base, names_of)
}

/// What the value token before the current one filled: a value written in
/// several tokens (the first flagged as continued) is one text.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Before {
    Other,
    /// A value that went to the pending `Data` name.
    Name,
    /// A value that went to item `n` (`None`: to nothing kept).
    Value(Option<usize>),
    Hole,
}

/// Reads the element tree at `start..end` for what it fills: holes of a
/// template, or the inline values of a record written without one.
fn walk(
    chunk: &[u8],
    start: usize,
    end: usize,
    tree: Tree,
    base: &[String],
    names_of: &Names<'_>,
) -> Result<Template, Unsupported> {
    let mut pos = start;
    let mut path: Vec<String> = base.to_vec();
    let mut attr: Option<String> = None;
    // The `Name` attribute of the element being opened (EventData's `Data`).
    let mut pending_name: Option<String> = None;
    let mut names: Vec<Option<String>> = vec![None; base.len()];
    let mut items = Vec::new();
    let truncated = Unsupported("truncated template");
    let mut before = Before::Other;
    // For each open element: whether it is still bare, without text, child
    // elements or attributes (a `Data` element's `Name` aside). A bare element
    // of a record's own tree is still a field (see below), where one with
    // attributes is an object to the `evtx` crate; in a template every field
    // is a hole.
    let mut bare: Vec<bool> = vec![false; base.len()];
    while pos < end {
        let token = chunk[pos];
        pos += 1;
        let was = std::mem::replace(&mut before, Before::Other);
        match token {
            0x00 => break,
            0x0f => pos += 3,
            0x01 | 0x41 => {
                if tree == Tree::Template {
                    pos += 2; // dependency id
                }
                pos += 4; // data size
                let name = name_ref(chunk, &mut pos)?;
                if token == 0x41 {
                    pos += 4;
                }
                path.push(name);
                names.push(None);
                if let Some(parent) = bare.last_mut() {
                    *parent = false;
                }
                bare.push(true);
                attr = None;
                pending_name = None;
            }
            0x02 => {
                if let (Some(n), Some(slot)) = (pending_name.take(), names.last_mut()) {
                    *slot = Some(n);
                }
                attr = None;
            }
            0x03 | 0x04 => {
                let empty = bare.pop() == Some(true);
                if tree == Tree::Record && empty {
                    // `<Data Name="x"></Data>` is a field with the empty
                    // text, as the `evtx` crate has it. Other empty elements
                    // it renders as no value or leaves out, depending on
                    // their neighbours: such records are read by the crate.
                    let named = token == 0x04 && names.last().is_some_and(Option::is_some);
                    if let Some(t) = target(&path, &names, None, names_of) {
                        if !named {
                            return Err(Unsupported("an empty element in a record"));
                        }
                        items.push(Item::Const(t, J::String(String::new())));
                    }
                }
                if token == 0x03 {
                    pending_name = None;
                }
                path.pop();
                names.pop();
                attr = None;
            }
            0x06 | 0x46 => {
                let a = name_ref(chunk, &mut pos)?;
                if !(a == "Name" && path.last().is_some_and(|e| e == "Data")) {
                    if let Some(x) = bare.last_mut() {
                        *x = false;
                    }
                }
                attr = Some(a);
            }
            0x05 | 0x45 => {
                let ty = *chunk.get(pos).ok_or(truncated)?;
                if ty != 0x01 {
                    return Err(Unsupported("a typed value in a template"));
                }
                let n = usize::from(u16_at(chunk, pos + 1).ok_or(truncated)?);
                let text = utf16(chunk.get(pos + 3..pos + 3 + n * 2).ok_or(truncated)?);
                pos += 3 + n * 2;
                if attr.is_none() {
                    if text.is_empty() && tree == Tree::Record {
                        // No text: the element stays bare.
                        before = was;
                        continue;
                    }
                    if let Some(f) = bare.last_mut() {
                        *f = false;
                    }
                }
                before = match was {
                    Before::Hole => return Err(Unsupported("a text of holes and values")),
                    Before::Name => {
                        if let Some(name) = pending_name.as_mut() {
                            name.push_str(&text);
                        }
                        Before::Name
                    }
                    Before::Value(slot) => {
                        if let Some(Item::Const(_, J::String(s))) =
                            slot.and_then(|i| items.get_mut(i))
                        {
                            s.push_str(&text);
                        }
                        Before::Value(slot)
                    }
                    Before::Other => match (&attr, path.last().map(String::as_str)) {
                        (Some(a), Some("Data")) if a == "Name" => {
                            pending_name = Some(text);
                            Before::Name
                        }
                        (a, _) => {
                            Before::Value(target(&path, &names, a.as_deref(), names_of).map(|t| {
                                items.push(Item::Const(t, J::String(text)));
                                items.len() - 1
                            }))
                        }
                    },
                };
            }
            0x0d | 0x0e => {
                if tree == Tree::Record {
                    return Err(Unsupported("a hole outside a template"));
                }
                if matches!(was, Before::Value(_) | Before::Name | Before::Hole) {
                    return Err(Unsupported("a text of holes and values"));
                }
                if attr.as_deref() == Some("Name") && path.last().is_some_and(|e| e == "Data") {
                    return Err(Unsupported("a data name filled in by the record"));
                }
                let index = u16_at(chunk, pos).ok_or(truncated)?;
                let ty = *chunk.get(pos + 2).ok_or(truncated)?;
                pos += 3;
                if ty == 0x21 && attr.is_none() {
                    items.push(Item::Hole(index, Target::Nested(path.clone().into())));
                } else if let Some(t) = target(&path, &names, attr.as_deref(), names_of) {
                    items.push(Item::Hole(index, t));
                }
                before = Before::Hole;
            }
            _ => return Err(Unsupported("an unusual token in a template")),
        }
    }
    if tree == Tree::Record && repeats_a_field(&items) {
        // The `evtx` crate joins the texts of a field a record's own tree
        // repeats (PowerShell's unnamed `Data`): it reads such records.
        return Err(Unsupported("a field repeated in a record"));
    }
    Ok(Template { items })
}

fn repeats_a_field(items: &[Item]) -> bool {
    // A record has a few dozen fields at most: compared pairwise, with nothing
    // allocated for each record.
    fn name(i: &Item) -> Option<&str> {
        match i {
            Item::Const(Target::Data(k), _) => Some(k.0.as_str()),
            _ => None,
        }
    }
    items
        .iter()
        .enumerate()
        .any(|(n, i)| name(i).is_some_and(|a| items[..n].iter().any(|j| name(j) == Some(a))))
}

/// How data field names are read: which to keep, and what each means.
#[derive(Clone, Copy)]
pub struct Names<'s> {
    /// The schema the queries were compiled with.
    pub schema: &'s Schema,
    /// Keep every field, not only those a query or the normalisation reads.
    pub keep_unknown: bool,
    /// The events whose data is read (`None`: every event's); the others
    /// get their System part only.
    pub wanted: Option<&'s crate::Wanted>,
}

impl Names<'_> {
    /// What `name` means, or `None` when no one reads it.
    fn known(&self, name: &str) -> Option<Known> {
        let k = Known::of(name, self.schema);
        (self.keep_unknown || k.id.is_some() || k.source.is_some()).then_some(k)
    }
}

/// What a value at `path` (inside attribute `attr`) means for the reader;
/// `None` for what it passes over.
fn target(
    path: &[String],
    names: &[Option<String>],
    attr: Option<&str>,
    n: &Names<'_>,
) -> Option<Target> {
    let p: Vec<&str> = path.iter().map(String::as_str).collect();
    match (p.as_slice(), attr) {
        ([_, "System", "EventID"], None) => Some(Target::EventId),
        ([_, "System", "Channel"], None) => Some(Target::Channel),
        ([_, "System", "Computer"], None) => Some(Target::Computer),
        ([_, "System", "EventRecordID"], None) => Some(Target::RecordId),
        ([_, "System", "Provider"], Some("Name")) => Some(Target::Provider),
        ([_, "System", "TimeCreated"], Some("SystemTime")) => Some(Target::Time),
        ([_, "System", k], None) => SYSTEM_DATA.iter().find(|s| **s == *k).and_then(|s| {
            n.known(s)
                .map(|known| Target::Data(Rc::new(((*s).to_owned(), known))))
        }),
        ([_, "System", ..], _) => None,
        ([_, _, .., _], Some(_)) => None,
        ([_, _, .., leaf], None) => {
            let name = names
                .last()
                .cloned()
                .flatten()
                .unwrap_or_else(|| (*leaf).to_owned());
            n.known(&name)
                .map(|known| Target::Data(Rc::new((name, known))))
        }
        _ => None,
    }
}

/// A record's value of type `ty` as the `evtx` crate's JSON has it.
fn value(ty: u8, b: &[u8]) -> Result<J, Unsupported> {
    let int = |n: usize| -> Result<u64, Unsupported> {
        if b.len() < n {
            return Err(Unsupported("short value"));
        }
        let mut buf = [0u8; 8];
        buf[..n].copy_from_slice(&b[..n]);
        Ok(u64::from_le_bytes(buf))
    };
    Ok(match ty {
        0x00 => J::Null,
        0x01 => J::String(utf16(b)),
        0x03 => J::from(int(1)? as u8 as i8),
        0x04 => J::from(int(1)? as u8),
        0x05 => J::from(int(2)? as u16 as i16),
        0x06 => J::from(int(2)? as u16),
        0x07 => J::from(int(4)? as u32 as i32),
        0x08 => J::from(int(4)? as u32),
        0x09 => J::from(int(8)? as i64),
        0x0a => J::from(int(8)?),
        0x0d => match int(4)? as u32 as i32 {
            0 => J::Bool(false),
            1 => J::Bool(true),
            other => J::from(other),
        },
        0x0e => J::String(
            b.iter()
                .flat_map(|x| {
                    [
                        HEX_UPPER[usize::from(x >> 4)] as char,
                        HEX_UPPER[usize::from(x & 15)] as char,
                    ]
                })
                .collect(),
        ),
        0x0f => {
            if b.len() < 16 {
                return Err(Unsupported("short GUID"));
            }
            let order = [3, 2, 1, 0, 5, 4, 7, 6, 8, 9, 10, 11, 12, 13, 14, 15];
            let mut s = String::with_capacity(38);
            s.push('{');
            for (i, &at) in order.iter().enumerate() {
                if matches!(i, 4 | 6 | 8 | 10) {
                    s.push('-');
                }
                s.push(HEX[usize::from(b[at] >> 4)] as char);
                s.push(HEX[usize::from(b[at] & 15)] as char);
            }
            s.push('}');
            J::String(s)
        }
        0x11 => J::String(filetime_text(int(8)? as i64)),
        0x13 => {
            let (Some(&rev), Some(&n)) = (b.first(), b.get(1)) else {
                return Err(Unsupported("short SID"));
            };
            let auth = b.get(2..8).ok_or(Unsupported("short SID"))?;
            let mut a = [0u8; 8];
            a[2..].copy_from_slice(auth);
            let mut s = format!("S-{rev}-{}", u64::from_be_bytes(a));
            for c in b[8..].chunks_exact(4).take(usize::from(n)) {
                s.push_str(&format!(
                    "-{}",
                    u32::from_le_bytes([c[0], c[1], c[2], c[3]])
                ));
            }
            J::String(s)
        }
        0x14 => J::String(format!("0x{:x}", int(4)?)),
        0x15 => J::String(format!("0x{:x}", int(8)?)),
        _ => return Err(Unsupported("a value type read by the evtx crate only")),
    })
}

/// A FILETIME as Windows renders it: `2019-05-12T18:35:06.5620000Z`.
fn filetime_text(ticks: i64) -> String {
    let since = ticks.wrapping_sub(EPOCH_TICKS);
    let secs = since.div_euclid(10_000_000);
    let frac = since.rem_euclid(10_000_000);
    match chrono::DateTime::from_timestamp(secs, 0) {
        Some(t) => format!("{}.{frac:07}Z", t.format("%Y-%m-%dT%H:%M:%S")),
        None => format!("{ticks}"),
    }
}

/// The records of one chunk, read through its templates.
pub struct ChunkReader<'c> {
    chunk: &'c [u8],
    templates: HashMap<(u32, String), Rc<Template>>,
    /// Records read for their System part only (see [`Names::wanted`]).
    pub passed_over: u64,
}

impl<'c> ChunkReader<'c> {
    /// A reader of `chunk` (64 KiB with its header).
    pub fn new(chunk: &'c [u8]) -> ChunkReader<'c> {
        ChunkReader {
            chunk,
            templates: HashMap::new(),
            passed_over: 0,
        }
    }

    /// Every record of the chunk, in order; `names` says which data fields to
    /// decode (the others are passed over). An error means the chunk must be
    /// read another way; nothing is returned for it.
    pub fn records(&mut self, names: &Names<'_>) -> Result<Vec<WinEvent>, Unsupported> {
        let mut out = Vec::new();
        self.records_into(names, &mut out)?;
        Ok(out)
    }

    /// [`ChunkReader::records`] into `out` (cleared first), so that a caller
    /// reading chunk after chunk reuses one buffer: a fresh one per chunk is
    /// large enough for the allocator to take it from, and give it back to,
    /// the operating system every time, which then zeroes its pages anew.
    pub fn records_into(
        &mut self,
        names: &Names<'_>,
        out: &mut Vec<WinEvent>,
    ) -> Result<(), Unsupported> {
        out.clear();
        let c = self.chunk;
        if c.len() < CHUNK_HEADER || &c[..8] != b"ElfChnk\0" {
            return Err(Unsupported("not a chunk"));
        }
        let last_id = u64_at(c, 32).ok_or(Unsupported("short header"))?;
        let free = (u32_at(c, 48).ok_or(Unsupported("short header"))? as usize).min(c.len());
        let mut at = CHUNK_HEADER;
        while at < free {
            if u32_at(c, at) != Some(0x0000_2a2a) {
                return Err(Unsupported("no record where one should be"));
            }
            let size = u32_at(c, at + 4).ok_or(Unsupported("short record"))? as usize;
            if size < 28 || at + size > c.len() || u32_at(c, at + size - 4) != Some(size as u32) {
                return Err(Unsupported("record size"));
            }
            let id = u64_at(c, at + 8).ok_or(Unsupported("short record"))?;
            let mut ev = self.record(at + 24, at + size - 4, names)?;
            if ev.record_id.is_none() {
                ev.record_id = i64::try_from(id).ok();
            }
            out.push(ev);
            at += size;
            if id == last_id {
                break;
            }
        }
        Ok(())
    }

    /// The records of a chunk that failed its checksums, or was cut short
    /// (`end`: where its bytes stop). Nothing in the header is trusted: the
    /// walk goes from record to record by their own sizes, and past a
    /// damaged stretch to the next place that holds a whole record (its
    /// signature, and its size repeated at its end). Each record read goes
    /// to `out` with its offset; each stretch that could not be read is
    /// handed to `lost` with its offset and why.
    ///
    /// With `header_ok` (the chunk header's checksum verified) the header's
    /// end of records is trusted too: a chunk is reused, and what lies past
    /// that end are stale records of its earlier life, not events of this log.
    pub fn records_lenient(
        &mut self,
        names: &Names<'_>,
        end: usize,
        header_ok: bool,
        out: &mut Vec<(usize, WinEvent)>,
        lost: &mut dyn FnMut(usize, &'static str),
    ) {
        let c = self.chunk;
        let mut end = end.min(c.len());
        let (first_id, last_id) = (u64_at(c, 24).unwrap_or(0), u64_at(c, 32).unwrap_or(0));
        let free = u32_at(c, 48).unwrap_or(0) as usize;
        if header_ok && (CHUNK_HEADER..=c.len()).contains(&free) {
            end = end.min(free);
        }
        // Without a trusted header, record ids still tell this log's records
        // from stale ones when the header's id range looks like one.
        let ids = (first_id > 0 && last_id >= first_id && last_id - first_id < 65536)
            .then_some(first_id..=last_id);
        let mut at = CHUNK_HEADER;
        let whole = |at: usize| -> Option<usize> {
            if u32_at(c, at)? != 0x0000_2a2a {
                return None;
            }
            let size = u32_at(c, at + 4)? as usize;
            (size >= 28 && at + size <= end && u32_at(c, at + size - 4) == Some(size as u32))
                .then_some(size)
        };
        let mut last_read: Option<u64> = None;
        while at + 28 <= end {
            let Some(size) = whole(at) else {
                // A record the data ends inside (a cut file), or damage: look
                // for the next whole record; what lies between is lost.
                let from = at;
                let next = (at + 1..end.saturating_sub(27)).find(|&p| whole(p).is_some());
                let signed = u32_at(c, from) == Some(0x0000_2a2a);
                let cut = signed && u32_at(c, from + 4).is_some_and(|n| from + n as usize > end);
                let unused = c[from..end].iter().all(|b| *b == 0);
                match next {
                    Some(p) => {
                        lost(from, "damaged record");
                        at = p;
                        continue;
                    }
                    None if unused => break,
                    None if cut => {
                        // The header says how many records the cut took.
                        let after = ids.as_ref().map_or(1, |r| {
                            r.end()
                                .saturating_sub(last_read.unwrap_or(*r.start() - 1))
                                .max(1)
                        });
                        for _ in 0..after {
                            lost(from, "record lost where the file is cut");
                        }
                        break;
                    }
                    None => {
                        lost(from, "damaged record");
                        break;
                    }
                }
            };
            let id = u64_at(c, at + 8).unwrap_or(0);
            if ids.as_ref().is_some_and(|r| !r.contains(&id)) {
                // Past this log's last record: stale data of the chunk's earlier use.
                break;
            }
            match self.record(at + 24, at + size - 4, names) {
                Ok(mut ev) => {
                    if ev.record_id.is_none() {
                        ev.record_id = i64::try_from(id).ok();
                    }
                    out.push((at, ev));
                }
                Err(_) => lost(at, "record does not parse"),
            }
            last_read = Some(id);
            at += size;
        }
    }

    fn record(
        &mut self,
        pos: usize,
        end: usize,
        names: &Names<'_>,
    ) -> Result<WinEvent, Unsupported> {
        let mut ev = WinEvent::default();
        let counted = self.passed_over;
        if let Err(e) = self.instance(pos, end, &[], names, &mut ev, 0) {
            // A record that is lost is not one read in part.
            self.passed_over = counted;
            return Err(e);
        }
        Ok(ev)
    }

    /// Reads the template instance at `pos..end` below `base` into `ev`.
    fn instance(
        &mut self,
        mut pos: usize,
        end: usize,
        base: &[String],
        names: &Names<'_>,
        ev: &mut WinEvent,
        depth: usize,
    ) -> Result<(), Unsupported> {
        if depth > 8 {
            return Err(Unsupported("BinXML nested too deep"));
        }
        let c = self.chunk;
        if c.get(pos) == Some(&0x0f) {
            pos += 4;
        }
        if matches!(c.get(pos), Some(0x01 | 0x41)) {
            // A record that is its own element tree: every value is in it.
            let tree = walk(c, pos, end, Tree::Record, base, names)?;
            return self.fill(&tree.items, &[], names, ev, depth);
        }
        if c.get(pos) != Some(&0x0c) {
            return Err(Unsupported("BinXML that is no template instance"));
        }
        let def = u32_at(c, pos + 6).ok_or(Unsupported("short record"))? as usize;
        pos += 10;
        if def == pos {
            let size = u32_at(c, def + 20).ok_or(Unsupported("short record"))? as usize;
            pos += 24 + size;
        }
        let key = (def as u32, base.join("/"));
        let template = match self.templates.get(&key) {
            Some(t) => t.clone(),
            None => {
                let t = Rc::new(compile(c, def, base, names)?);
                self.templates.insert(key, t.clone());
                t
            }
        };
        let n = u32_at(c, pos).ok_or(Unsupported("short record"))? as usize;
        pos += 4;
        if pos + n * 4 > end {
            return Err(Unsupported("value descriptors out of the record"));
        }
        let mut spans = Vec::with_capacity(n);
        let mut at = pos + n * 4;
        for i in 0..n {
            let size = usize::from(u16_at(c, pos + i * 4).unwrap_or(0));
            let ty = c[pos + i * 4 + 2];
            spans.push((ty, at, size));
            at += size;
        }
        if at > end {
            return Err(Unsupported("values out of the record"));
        }
        self.fill(&template.items, &spans, names, ev, depth)
    }

    /// Fills `ev` from a tree's `items`, whose holes take the values at
    /// `spans` (a record's value descriptors: type, offset, size).
    fn fill(
        &mut self,
        items: &[Item],
        spans: &[(u8, usize, usize)],
        names: &Names<'_>,
        ev: &mut WinEvent,
        depth: usize,
    ) -> Result<(), Unsupported> {
        let c = self.chunk;
        let get = |i: u16| hole(c, spans, i);
        // A record no one can use keeps its System part (it is still counted
        // and dated) and passes over its data, nested templates included.
        // The channel, provider and event id that decide are read once, here,
        // and not again below.
        let decided = match names.wanted {
            Some(w) if depth == 0 => system_of(items, spans, c).map(|s| {
                let wants = w.wants(s.channel.as_deref(), s.provider.as_deref(), s.event_id);
                (ev.channel, ev.provider, ev.event_id) = (s.channel, s.provider, s.event_id);
                wants
            }),
            _ => None,
        };
        let data = decided.unwrap_or(true);
        self.passed_over += u64::from(!data);
        for item in items {
            let skip = match item {
                Item::Hole(_, Target::Data(_) | Target::Nested(_)) => !data,
                Item::Hole(_, t) | Item::Const(t, _) => decided.is_some() && is_system_key(t),
            };
            if skip {
                continue;
            }
            let (t, v) = match item {
                Item::Hole(i, Target::Nested(path)) => {
                    match spans.get(usize::from(*i)) {
                        Some(&(0x21, from, size)) if size > 0 => {
                            self.instance(from, from + size, path, names, ev, depth + 1)?
                        }
                        Some(&(0x00, ..)) | None => {}
                        Some(&(0x21, ..)) => {}
                        Some(_) => return Err(Unsupported("a nested value of another type")),
                    }
                    continue;
                }
                Item::Hole(i, Target::Time) => {
                    // The FILETIME straight to epoch ms, without rendering it.
                    if let Some(&(0x11, from, 8)) = spans.get(usize::from(*i)) {
                        let ticks = u64_at(c, from).unwrap_or(0) as i64;
                        ev.time = Some(ticks.wrapping_sub(EPOCH_TICKS).div_euclid(10_000));
                        continue;
                    }
                    (&Target::Time, get(*i)?)
                }
                Item::Hole(i, t) => (t, get(*i)?),
                Item::Const(t, v) => (t, v.clone()),
            };
            let (int, text) = (int_of, text_of);
            match t {
                Target::EventId => ev.event_id = int(&v),
                Target::RecordId => ev.record_id = int(&v),
                Target::Channel => ev.channel = text(v),
                Target::Computer => ev.computer = text(v),
                Target::Provider => ev.provider = text(v),
                Target::Time => {
                    ev.time = text(v)
                        .and_then(|t| crate::convert::parse_time(&t, &portent_core::Zone::utc()))
                }
                Target::Data(k) => {
                    ev.data.push((k.0.clone(), v));
                    ev.known.push(k.1);
                }
                Target::Nested(_) => {}
            }
        }
        Ok(())
    }
}

/// The value of hole `i`, whose values lie at `spans` of chunk `c`.
fn hole(c: &[u8], spans: &[(u8, usize, usize)], i: u16) -> Result<J, Unsupported> {
    match spans.get(usize::from(i)) {
        Some(&(ty, from, size)) => value(ty, &c[from..from + size]),
        None => Ok(J::Null),
    }
}

fn int_of(v: &J) -> Option<i64> {
    match v {
        J::Number(n) => n.as_i64(),
        J::String(s) => portent_core::value::parse_int(s.trim()),
        _ => None,
    }
}

fn text_of(v: J) -> Option<String> {
    match v {
        J::String(s) => Some(s),
        J::Number(n) => Some(n.to_string()),
        _ => None,
    }
}

fn is_system_key(t: &Target) -> bool {
    matches!(t, Target::Channel | Target::Provider | Target::EventId)
}

/// What decides whether a record is wanted: its channel, provider and event id.
struct SystemKey {
    channel: Option<String>,
    provider: Option<String>,
    event_id: Option<i64>,
}

/// The channel, provider and event id of the record whose outer template
/// has `items` and values at `spans` of chunk `c`, as
/// [`ChunkReader::instance`] would read them. `None` (read the record whole)
/// for a template that does not name both the channel and the event id
/// itself (a System part in a nested template, say: what decides may lie in
/// the part not seen), or a value that does not decode (the whole read then
/// fails on it and says so).
fn system_of(items: &[Item], spans: &[(u8, usize, usize)], c: &[u8]) -> Option<SystemKey> {
    let mut key = SystemKey {
        channel: None,
        provider: None,
        event_id: None,
    };
    let (mut has_channel, mut has_id) = (false, false);
    for item in items {
        let (t, v) = match item {
            Item::Hole(i, t) if is_system_key(t) => (t, hole(c, spans, *i).ok()?),
            Item::Const(t, v) if is_system_key(t) => (t, v.clone()),
            _ => continue,
        };
        match t {
            Target::Channel => (key.channel, has_channel) = (text_of(v), true),
            Target::Provider => key.provider = text_of(v),
            _ => (key.event_id, has_id) = (int_of(&v), true),
        }
    }
    (has_channel && has_id).then_some(key)
}
