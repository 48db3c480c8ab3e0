//! JSON input: JSON lines (one object per line, read and recovered line by line),
//! a JSON array of objects, or one document such as an Ariel result
//! `{"events": [...]}` (possibly pretty-printed). Each object's layout is
//! recognised on its own (see [`crate::layout`]).

use crate::layout::{classify, qradar_record, win_event, Layout};
use crate::report::FileReport;
use crate::{emit_record, emit_windows, zeek, ReadOptions};
use portent_core::{Record, Schema};
use serde_json::{Map, Value as J};
use std::collections::BTreeSet;
use std::io::BufRead;

/// Why an object that is no event of any layout is skipped.
pub const NOT_AN_EVENT: &str = "not an event (no field of any known layout)";

/// Reads JSON from `r`.
pub fn read<R: BufRead>(
    mut r: R,
    schema: &Schema,
    opts: &ReadOptions,
    report: &mut FileReport,
    emit: &mut dyn FnMut(&str, Record<'static>),
) {
    let mut seen = BTreeSet::new();
    let mut out = Out {
        schema,
        opts,
        report,
        emit,
        seen: &mut seen,
    };
    if starts_array(&mut r) {
        // A JSON array (of any size, on one line or many): read element by
        // element, never whole.
        out.stream_values(r);
    } else {
        out.lines(r);
    }
    let layouts: Vec<&str> = seen.iter().map(|l: &Layout| l.name()).collect();
    report.format = if layouts.is_empty() {
        "JSON".to_owned()
    } else {
        format!("JSON ({})", layouts.join(", "))
    };
}

/// True when the first thing in `r` (after a byte order mark and white
/// space) opens a JSON array. Looks at what is buffered, consuming nothing
/// but the byte order mark and white space.
pub(crate) fn starts_array<R: BufRead>(r: &mut R) -> bool {
    loop {
        let Ok(buf) = r.fill_buf() else { return false };
        if buf.is_empty() {
            return false;
        }
        let skip = if buf.starts_with(b"\xef\xbb\xbf") {
            3
        } else {
            buf.iter().take_while(|b| b.is_ascii_whitespace()).count()
        };
        if skip == 0 {
            return buf[0] == b'[';
        }
        r.consume(skip);
    }
}

impl Out<'_, '_> {
    /// JSON lines (or a document spread over lines, or `evtx_dump -o json`).
    fn lines<R: BufRead>(&mut self, mut r: R) {
        let out = self;
        let mut line = Vec::with_capacity(4096);
        let mut number = 0usize;
        while let Some(text) = next_line(&mut r, &mut line, &mut number, out.report) {
            if text.is_empty() {
                continue;
            }
            if record_separator(text).is_some() {
                // `evtx_dump -o json`: "Record N" lines, each followed by a pretty-printed object.
                let mut rest = line.clone();
                if let Err(e) = r.read_to_end(&mut rest) {
                    out.report.skip(format!("read error: {e}"), "document");
                }
                out.evtx_dump_records(&rest, number);
                break;
            }
            if let Some((layout, ev)) = crate::layout::fast_json(text, out.schema, out.opts) {
                out.seen.insert(layout);
                emit_windows(ev, out.schema, out.opts, out.report, out.emit);
                continue;
            }
            match serde_json::from_slice::<J>(text) {
                Ok(v) => out.value(v, number),
                Err(e) if number == 1 && e.is_eof() => {
                    // Not JSON lines: one document spread over lines (pretty-printed).
                    let mut doc = text.to_vec();
                    doc.push(b'\n');
                    if let Err(e) = r.read_to_end(&mut doc) {
                        out.report.skip(format!("read error: {e}"), "document");
                    }
                    out.document(&doc);
                    break;
                }
                Err(e) => {
                    if std::str::from_utf8(text).is_err() {
                        // Mis-encoded bytes: repair them and keep the record if that is enough.
                        let repaired = String::from_utf8_lossy(text).into_owned();
                        if let Ok(v) = serde_json::from_str::<J>(&repaired) {
                            out.report
                                .repair("invalid UTF-8 replaced", format!("line {number}"));
                            out.value(v, number);
                            continue;
                        }
                    }
                    out.report.skip(
                        "invalid JSON",
                        format!("line {number}, column {}: {e}", e.column()),
                    );
                }
            }
        }
    }

    /// Top-level JSON values one after another, each array cut into its
    /// elements (see [`crate::split`]): memory holds one element at a time,
    /// and a broken element costs only itself.
    fn stream_values<R: BufRead>(&mut self, r: R) {
        let mut report = std::mem::take(self.report);
        stream_values(r, &mut report, &mut |bytes, line, element| {
            let at = |e: &serde_json::Error| match element {
                Some(i) => format!("line {line}, element {i}: {e}"),
                None => format!("line {line}: {e}"),
            };
            if let Some((layout, ev)) = crate::layout::fast_json(bytes, self.schema, self.opts) {
                self.seen.insert(layout);
                return emit_windows(ev, self.schema, self.opts, self.report, self.emit);
            }
            match serde_json::from_slice::<J>(bytes) {
                Ok(v) => self.value_at(v, line, element),
                Err(e) => self.report.skip("invalid JSON", at(&e)),
            }
        });
        let mine = std::mem::replace(self.report, report);
        self.report.merge(mine);
    }
}

/// Takes an element's text, the line it starts on and its place in its array.
pub(crate) type ElementSink<'a> = dyn FnMut(&[u8], usize, Option<usize>) + 'a;

/// Hands on the top-level JSON values of `r`, and the elements of each
/// top-level array, as text, with the line each starts on and its place in
/// its array. An element longer than [`MAX_LINE`] is skipped and counted;
/// text that is no JSON ends the reading, counted in `report` at its place.
pub(crate) fn stream_values<R: BufRead>(
    mut r: R,
    report: &mut FileReport,
    each: &mut ElementSink<'_>,
) {
    use crate::split::{split, Trouble};
    let mut troubles = Vec::new();
    split(
        &mut r,
        MAX_LINE,
        &mut |e| each(e.bytes, e.line, e.index),
        &mut |t| troubles.push(t),
    );
    for t in troubles {
        match t {
            Trouble::TooLong { line, index, bytes } => report.skip(
                format!("element longer than {} MiB", MAX_LINE >> 20),
                match index {
                    Some(i) => format!("line {line}, element {i} ({bytes} bytes)"),
                    None => format!("line {line} ({bytes} bytes)"),
                },
            ),
            Trouble::Syntax { line, what } => {
                report.skip("invalid JSON", format!("line {line}: {what}"))
            }
            Trouble::Io(e) => report.skip(format!("read error: {e}"), "document"),
        }
    }
}

/// Reads one parsed JSON value (an object of any known layout, or an array of
/// them) as a line of a JSON-lines file would be read.
pub(crate) fn read_value(
    v: J,
    place: usize,
    schema: &Schema,
    opts: &ReadOptions,
    report: &mut FileReport,
    emit: &mut dyn FnMut(&str, Record<'static>),
) {
    let mut seen = BTreeSet::new();
    Out {
        schema,
        opts,
        report,
        emit,
        seen: &mut seen,
    }
    .value(v, place);
}

/// The longest line read. A longer one is skipped, and counted, without
/// being held: one line must not cost the memory of a whole file (a 3 GB
/// line inside a 3 MB zip, say). Whole files on one line (a JSON array)
/// are read element by element instead, see [`read`].
pub const MAX_LINE: usize = 16 << 20;

/// Reads the next line into `line` and returns it trimmed, without the UTF-8
/// byte order mark a first line may start with; `None` at the end, or after
/// a read error (counted in `report` at its line). A line longer than
/// [`MAX_LINE`] is skipped and counted.
pub(crate) fn next_line<'l, R: BufRead>(
    r: &mut R,
    line: &'l mut Vec<u8>,
    number: &mut usize,
    report: &mut FileReport,
) -> Option<&'l [u8]> {
    loop {
        line.clear();
        match read_bounded(r, line, MAX_LINE) {
            Ok((0, _)) => return None,
            Ok((n, false)) => {
                *number += 1;
                report.skip(
                    format!("line longer than {} MiB", MAX_LINE >> 20),
                    format!("line {} ({n} bytes)", *number),
                );
                continue;
            }
            Ok((_, true)) => {}
            Err(e) => {
                report.skip(format!("read error: {e}"), format!("line {}", *number + 1));
                return None;
            }
        }
        *number += 1;
        let text = trim(line);
        return Some(match *number {
            1 => text.strip_prefix(b"\xef\xbb\xbf").unwrap_or(text),
            _ => text,
        });
    }
}

/// Reads up to and including the next newline into `out`, keeping at most
/// `max` bytes: the length of the whole line, and whether it was kept.
fn read_bounded<R: BufRead>(
    r: &mut R,
    out: &mut Vec<u8>,
    max: usize,
) -> std::io::Result<(usize, bool)> {
    let mut total = 0;
    loop {
        let buf = match r.fill_buf() {
            Ok(b) => b,
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => continue,
            Err(e) => return Err(e),
        };
        if buf.is_empty() {
            return Ok((total, total <= max));
        }
        let (take, done) = match memchr::memchr(b'\n', buf) {
            Some(i) => (i + 1, true),
            None => (buf.len(), false),
        };
        if total + take <= max {
            out.extend_from_slice(&buf[..take]);
        } else {
            out.clear();
        }
        total += take;
        r.consume(take);
        if done {
            return Ok((total, total <= max));
        }
    }
}

pub(crate) fn trim(mut b: &[u8]) -> &[u8] {
    while let [first, rest @ ..] = b {
        if first.is_ascii_whitespace() {
            b = rest;
        } else {
            break;
        }
    }
    while let [rest @ .., last] = b {
        if last.is_ascii_whitespace() {
            b = rest;
        } else {
            break;
        }
    }
    b
}

struct Out<'a, 'e> {
    schema: &'a Schema,
    opts: &'a ReadOptions,
    report: &'e mut FileReport,
    emit: &'e mut dyn FnMut(&str, Record<'static>),
    seen: &'e mut BTreeSet<Layout>,
}

/// `Record 123` as `evtx_dump -o json` writes before each record.
fn record_separator(line: &[u8]) -> Option<&[u8]> {
    let n = line.strip_prefix(b"Record ")?;
    (!n.is_empty() && n.iter().all(u8::is_ascii_digit)).then_some(n)
}

impl Out<'_, '_> {
    /// Objects separated by `Record N` lines; a broken object costs only itself.
    fn evtx_dump_records(&mut self, text: &[u8], first_line: usize) {
        let mut start: Option<(usize, String)> = None;
        let mut body_from = 0;
        let mut pos = 0;
        let mut line_no = first_line - 1;
        let finish = |out: &mut Self, start: &Option<(usize, String)>, body: &[u8]| {
            if let Some((at, id)) = start {
                match serde_json::from_slice::<J>(body) {
                    Ok(v) => out.value(v, *at),
                    Err(e) => out
                        .report
                        .skip("invalid JSON", format!("record {id} (line {at}): {e}")),
                }
            }
        };
        while pos <= text.len() {
            let end = text[pos..]
                .iter()
                .position(|b| *b == b'\n')
                .map_or(text.len(), |i| pos + i);
            line_no += 1;
            if let Some(id) = record_separator(trim(&text[pos..end])) {
                finish(self, &start, &text[body_from..pos]);
                start = Some((line_no, String::from_utf8_lossy(id).into_owned()));
                body_from = end + 1;
            }
            pos = end + 1;
        }
        finish(self, &start, &text[body_from.min(text.len())..]);
    }

    fn document(&mut self, doc: &[u8]) {
        let stream = serde_json::Deserializer::from_slice(doc).into_iter::<J>();
        for (i, v) in stream.enumerate() {
            match v {
                Ok(v) => self.value(v, i + 1),
                Err(e) => {
                    self.report.skip(
                        "invalid JSON",
                        format!("line {}, column {}: {e}", e.line(), e.column()),
                    );
                    // The rest of a broken document cannot be resynchronised.
                    break;
                }
            }
        }
    }

    fn value(&mut self, v: J, place: usize) {
        self.value_at(v, place, None)
    }

    /// `element`: the value's place in the array it came in, if any (a
    /// whole file can be one array on one line).
    fn value_at(&mut self, v: J, place: usize, element: Option<usize>) {
        match v {
            J::Object(mut obj) => {
                // Ariel: {"events": [...]} or {"flows": [...]}.
                if obj.len() <= 2 {
                    for key in ["events", "flows"] {
                        if matches!(obj.get(key), Some(J::Array(_))) {
                            if let Some(J::Array(items)) = obj.remove(key) {
                                for item in items {
                                    self.value(item, place);
                                }
                            }
                            return;
                        }
                    }
                }
                self.object(obj);
            }
            J::Array(items) => {
                for (i, item) in items.into_iter().enumerate() {
                    self.value_at(item, place, Some(i + 1));
                }
            }
            _ => {
                let at = match element {
                    Some(i) => format!("line {place}, element {i}"),
                    None => format!("line {place}"),
                };
                self.report.skip("not a JSON object", at)
            }
        }
    }

    fn object(&mut self, obj: Map<String, J>) {
        if zeek::is_conn_json(&obj) {
            let rec = zeek::json_record(obj, self.schema, self.opts);
            return emit_record(rec, self.report, self.emit);
        }
        let layout = classify(&obj);
        if layout == Layout::QRadar {
            // Any object falls through to "QRadar fields": it is an event
            // only if it has a field QRadar (or Portent) knows, or a
            // `manifest.json` would be read as events.
            let known = obj.keys().any(|k| {
                self.schema
                    .resolve(k)
                    .and_then(|id| self.schema.def(id))
                    .is_some_and(|d| d.kind != portent_core::schema::FieldKind::Dynamic)
            });
            if !known {
                let keys: Vec<&str> = obj.keys().take(4).map(String::as_str).collect();
                return self.report.skip(
                    NOT_AN_EVENT,
                    format!("an object with keys {}", keys.join(", ")),
                );
            }
            self.seen.insert(layout);
            let rec = qradar_record(obj, self.schema, self.opts);
            return emit_record(rec, self.report, self.emit);
        }
        self.seen.insert(layout);
        if let Some(ev) = win_event(obj, layout) {
            emit_windows(ev, self.schema, self.opts, self.report, self.emit);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use portent_core::schema::ids;
    use portent_core::{Event, Value};

    fn read_text(text: &[u8]) -> (Vec<Record<'static>>, FileReport) {
        let schema = Schema::qradar();
        let mut rows = Vec::new();
        let mut report = FileReport::new("t.json");
        read(
            text,
            &schema,
            &ReadOptions::default(),
            &mut report,
            &mut |_, r| rows.push(r),
        );
        (rows, report)
    }

    #[test]
    fn qradar_names_and_bad_lines() {
        let text = b"{\"starttime\":\"2024-01-02T03:04:05Z\",\"destinationPort\":\"443\",\"sourceip\":\"10.0.0.1\",\"Process Name\":\"cmd.exe\",\"X\":1}\n\nnot json\n[1]\n";
        let (rows, report) = read_text(text);
        assert_eq!(rows.len(), 1);
        let e = &rows[0];
        assert_eq!(e.get(ids::STARTTIME), Value::Int(1_704_164_645_000));
        assert_eq!(e.get(ids::DESTINATIONPORT), Value::Int(443));
        assert_eq!(e.get(ids::SOURCEIP), Value::Ip("10.0.0.1".parse().unwrap()));
        assert_eq!(e.get(ids::PROCESS_NAME), Value::str("cmd.exe"));
        assert_eq!(report.skipped["invalid JSON"].0, 1);
        assert_eq!(report.skipped["not a JSON object"].0, 1);
        assert!(report.skipped["invalid JSON"].1[0].starts_with("line 3, column 2"));
    }

    #[test]
    fn pretty_printed_ariel_document_and_arrays() {
        let doc = b"{\n  \"events\": [\n    {\"sourceIP\": \"1.1.1.1\", \"qid\": 1004},\n    {\"sourceIP\": \"2.2.2.2\", \"qid\": 1005}\n  ]\n}\n";
        let (rows, report) = read_text(doc);
        assert_eq!(rows.len(), 2, "{report}");
        assert_eq!(rows[1].get(ids::QID), Value::Int(1005));
        let (rows, _) = read_text(b"[{\"qid\": 1}, {\"qid\": 2}, 3]");
        assert_eq!(rows.len(), 2);
    }

    #[test]
    fn invalid_utf8_is_repaired_and_counted() {
        let (rows, report) = read_text(b"{\"Process Name\":\"caf\xe9.exe\"}\n");
        assert_eq!(rows.len(), 1);
        assert_eq!(
            rows[0].get(ids::PROCESS_NAME),
            Value::str("caf\u{fffd}.exe")
        );
        assert_eq!(report.repaired["invalid UTF-8 replaced"].0, 1);
    }

    #[test]
    fn evtx_dump_pretty_output() {
        let text = b"Record 1\n{\n  \"Event\": {\"System\": {\"EventID\": 3, \"Channel\": \"Microsoft-Windows-Sysmon/Operational\"}, \"EventData\": {\"DestinationPort\": 443}}\n}\nRecord 2\n{ broken\nRecord 3\n{\"Event\": {\"System\": {\"EventID\": 1}}}\n";
        let (rows, report) = read_text(text);
        assert_eq!(rows.len(), 2, "{report}");
        assert_eq!(rows[0].get(ids::DESTINATIONPORT), Value::Int(443));
        assert!(
            report.skipped["invalid JSON"].1[0].starts_with("record 2 (line 5)"),
            "{report}"
        );
    }

    #[test]
    fn mixed_layouts_in_one_file() {
        let text = b"{\"EventID\":3,\"Channel\":\"Microsoft-Windows-Sysmon/Operational\",\"Hostname\":\"A\",\"Image\":\"C:\\\\x.exe\",\"DestinationPort\":\"443\"}\n{\"event_id\":5156,\"log_name\":\"Security\",\"computer_name\":\"B\",\"event_data\":{\"Application\":\"\\\\device\\\\y.exe\",\"DestPort\":\"80\"}}\n";
        let (rows, report) = read_text(text);
        assert_eq!(rows.len(), 2);
        assert_eq!(rows[0].get(ids::DESTINATIONPORT), Value::Int(443));
        assert_eq!(rows[1].get(ids::DESTINATIONPORT), Value::Int(80));
        assert_eq!(rows[1].get(ids::HOSTNAME), Value::str("B"));
        assert_eq!(report.format, "JSON (Winlogbeat 6, Mordor flat)");
        assert_eq!(report.hosts.len(), 2);
    }
}
