//! Each event's own text, for sending evidence to a live watcher
//! ([`crate::read_raw`]): what a forwarder would put in a syslog message.

use crate::input::Format;
use crate::jsonfile::next_line;
use crate::report::FileReport;
use serde_json::Value as J;
use std::io::{BufRead, Read, Seek};

/// Every record of an EVTX stream rendered to one line of JSON, with the same
/// settings as the reader's own fallback path (so a watcher reading the line
/// gets the event the file reader gets).
pub fn evtx<R: Read + Seek + Send + 'static>(
    stream: R,
    report: &mut FileReport,
    raw: &mut dyn FnMut(&str, &[u8]),
) {
    let mut parser = match ::evtx::EvtxParser::from_read_seek(stream) {
        Ok(p) => p.with_configuration((*crate::evtx::settings()).clone()),
        Err(e) => return report.skip(format!("not a readable EVTX file: {e}"), "file header"),
    };
    let name = report.name.clone();
    for r in parser.serialized_records(|r| r?.into_json_bytes().map(|j| j.data)) {
        match r {
            Ok(json) => {
                report.records += 1;
                raw(&name, &json);
            }
            Err(e) => {
                let (reason, place) = crate::evtx::describe(&e, 0);
                report.skip(reason, place);
            }
        }
    }
}

/// Lines of a text format: JSON lines and LEEF as they are; a JSON document
/// (an Ariel export, an array) split into its objects. CSV and Zeek TSV rows
/// mean nothing without their header, so they are reported, not sent.
pub fn text<R: BufRead>(
    format: Format,
    mut r: R,
    report: &mut FileReport,
    raw: &mut dyn FnMut(&str, &[u8]),
) {
    report.format = format!("{format:?} (raw)");
    if matches!(format, Format::Csv | Format::Zeek | Format::Evtx) {
        report.fatal = Some(format!(
            "{format:?} rows cannot be sent as syslog messages; convert them first"
        ));
        return;
    }
    let name = report.name.clone();
    if format == Format::Json && crate::jsonfile::starts_array(&mut r) {
        // An array (one line or many): each element is one message.
        let mut out = FileReport::new(name.clone());
        crate::jsonfile::stream_values(r, &mut out, &mut |v, line, element| {
            if v.first() == Some(&b'{') {
                out_records(report);
                // One message a line: a pretty-printed element is made compact.
                match memchr::memchr(b'\n', v).and_then(|_| serde_json::from_slice::<J>(v).ok()) {
                    Some(j) => raw(&name, j.to_string().as_bytes()),
                    None => raw(&name, v),
                }
            } else {
                let at = match element {
                    Some(i) => format!("line {line}, element {i}"),
                    None => format!("line {line}"),
                };
                report.skip("not a JSON object", at);
            }
        });
        report.merge(out);
        return;
    }
    let mut line = Vec::new();
    let mut n = 0;
    while let Some(t) = next_line(&mut r, &mut line, &mut n, report) {
        if t.is_empty() {
            continue;
        }
        if format == Format::Json
            && n == 1
            && serde_json::from_slice::<J>(t).is_err_and(|e| e.is_eof())
        {
            // One document over many lines.
            let mut doc = t.to_vec();
            doc.push(b'\n');
            if let Err(e) = r.read_to_end(&mut doc) {
                report.skip(format!("read error: {e}"), "document");
            }
            return document(&doc, &name, report, raw);
        }
        report.records += 1;
        raw(&name, t);
    }
}

fn out_records(report: &mut FileReport) {
    report.records += 1;
}

fn document(doc: &[u8], name: &str, report: &mut FileReport, raw: &mut dyn FnMut(&str, &[u8])) {
    let mut send = |v: &J, report: &mut FileReport| {
        report.records += 1;
        raw(name, v.to_string().as_bytes());
    };
    for v in serde_json::Deserializer::from_slice(doc).into_iter::<J>() {
        match v {
            Ok(J::Object(o)) => match ["events", "flows"]
                .iter()
                .find_map(|k| o.get(*k).and_then(J::as_array))
            {
                Some(items) if o.len() <= 2 => items.iter().for_each(|i| send(i, report)),
                _ => send(&J::Object(o), report),
            },
            Ok(J::Array(items)) => items.iter().for_each(|i| send(i, report)),
            Ok(_) => report.skip("not a JSON object", "document"),
            Err(e) => {
                report.skip(
                    "invalid JSON",
                    format!("line {}, column {}", e.line(), e.column()),
                );
                break;
            }
        }
    }
}
