//! LEEF 1.0 and 2.0 (IBM's Log Event Extended Format), one event per line, with
//! or without an RFC 3164 / RFC 5424 syslog header. LEEF from Windows
//! (`LEEF:...|Microsoft|...`) is normalised like any other Windows event.

use crate::convert::{parse_time, text_value};
use crate::report::FileReport;
use crate::windows::{log_source_id, protocol_number, WinEvent};
use crate::{emit_record, emit_windows, javatime, ReadOptions};
use chrono::Datelike;
use portent_core::schema::{ids, FieldKind};
use portent_core::{FieldId, Record, Schema, Value};
use std::io::BufRead;

/// A parsed LEEF line.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Leef {
    /// `1.0` or `2.0`.
    pub version: String,
    /// Vendor.
    pub vendor: String,
    /// Product.
    pub product: String,
    /// Product version.
    pub product_version: String,
    /// Event id of the header.
    pub event_id: String,
    /// Host of the syslog header.
    pub host: Option<String>,
    /// Time of the syslog header.
    pub syslog_time: Option<String>,
    /// Attributes in order.
    pub attrs: Vec<(String, String)>,
}

/// Parses one line. The error says what is missing.
pub fn parse_line(line: &str) -> Result<Leef, String> {
    let at = line.find("LEEF:").ok_or("no `LEEF:` header")?;
    let (host, syslog_time) = syslog_header(&line[..at]);
    let rest = &line[at + 5..];
    let mut fields = Vec::new();
    let mut start = 0;
    let bytes = rest.as_bytes();
    let mut i = 0;
    let want = if rest.starts_with('2') { 6 } else { 5 };
    while i < bytes.len() && fields.len() < want {
        match bytes[i] {
            b'\\' => i += 2,
            b'|' => {
                fields.push(rest[start..i].replace("\\|", "|"));
                i += 1;
                start = i;
            }
            _ => i += 1,
        }
    }
    if fields.len() < want {
        return Err(format!(
            "header has {} of the {want} `|`-separated fields",
            fields.len()
        ));
    }
    let attrs_text = &rest[start.min(rest.len())..];
    let delimiter = if want == 6 {
        delimiter(&fields[5])?
    } else {
        '\t'
    };
    let mut attrs = Vec::new();
    for part in split_unescaped(attrs_text, delimiter) {
        if part.trim().is_empty() {
            continue;
        }
        match part.split_once('=') {
            Some((k, v)) => attrs.push((k.trim().to_owned(), v.to_owned())),
            None => {
                // A value holding the delimiter: it belongs to the previous attribute.
                if let Some(last) = attrs.last_mut() {
                    last.1.push(delimiter);
                    last.1.push_str(&part);
                }
            }
        }
    }
    Ok(Leef {
        version: fields[0].clone(),
        vendor: fields[1].clone(),
        product: fields[2].clone(),
        product_version: fields[3].clone(),
        event_id: fields[4].clone(),
        host,
        syslog_time,
        attrs,
    })
}

/// LEEF 2.0's delimiter: one character, or `x09` / `0x09` hex; empty is tab.
fn delimiter(d: &str) -> Result<char, String> {
    let d = d.trim();
    if d.is_empty() {
        return Ok('\t');
    }
    if let Some(hex) = d.strip_prefix("0x").or_else(|| d.strip_prefix('x')) {
        return u32::from_str_radix(hex, 16)
            .ok()
            .and_then(char::from_u32)
            .ok_or_else(|| format!("bad delimiter `{d}`"));
    }
    let mut chars = d.chars();
    match (chars.next(), chars.next()) {
        (Some(c), None) => Ok(c),
        _ => Err(format!("bad delimiter `{d}`")),
    }
}

fn split_unescaped(s: &str, delim: char) -> Vec<String> {
    let mut parts = Vec::new();
    let mut cur = String::new();
    let mut chars = s.chars().peekable();
    while let Some(c) = chars.next() {
        if c == '\\' && chars.peek() == Some(&delim) {
            cur.push(delim);
            chars.next();
        } else if c == delim {
            parts.push(std::mem::take(&mut cur));
        } else {
            cur.push(c);
        }
    }
    parts.push(cur);
    parts
}

/// Host and time from an RFC 5424 (`<13>1 2019-01-18T11:07:53Z host ...`) or
/// RFC 3164 (`<13>Jan 18 11:07:53 host`) header.
fn syslog_header(h: &str) -> (Option<String>, Option<String>) {
    let h = h.trim();
    let h = match h.strip_prefix('<').and_then(|r| r.split_once('>')) {
        Some((pri, rest)) if pri.bytes().all(|b| b.is_ascii_digit()) => rest,
        _ => h,
    };
    let tokens: Vec<&str> = h.split_whitespace().collect();
    match tokens.as_slice() {
        ["1", time, host, ..] => (Some((*host).to_owned()), Some((*time).to_owned())),
        [mon, day, time, host, ..] if month(mon).is_some() => (
            Some((*host).to_owned()),
            Some(format!("{mon} {day} {time}")),
        ),
        [time, host, ..] if time.contains('T') => {
            (Some((*host).to_owned()), Some((*time).to_owned()))
        }
        _ => (None, None),
    }
}

fn month(m: &str) -> Option<u32> {
    const M: [&str; 12] = [
        "jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec",
    ];
    M.iter()
        .position(|x| x.eq_ignore_ascii_case(m))
        .map(|i| i as u32 + 1)
}

/// Syslog time: ISO, or RFC 3164's year-less form read in the current year.
pub(crate) fn syslog_time(t: &str, opts: &ReadOptions) -> Option<i64> {
    if let Some(ms) = parse_time(t, &opts.input_zone) {
        return Some(ms);
    }
    let year = chrono::Utc::now().year();
    javatime::parse(
        &format!("{year} {t}"),
        "yyyy MMM d HH:mm:ss",
        &opts.input_zone,
    )
}

/// `devTime`, with `devTimeFormat` or one of the forms LEEF producers use without one.
fn dev_time(v: &str, format: Option<&str>, opts: &ReadOptions) -> Option<i64> {
    if let Some(f) = format {
        return javatime::parse(v, f, &opts.input_zone);
    }
    parse_time(v, &opts.input_zone).or_else(|| {
        ["MMM dd yyyy HH:mm:ss.SSS", "MMM dd yyyy HH:mm:ss"]
            .iter()
            .find_map(|f| javatime::parse(v, f, &opts.input_zone))
    })
}

/// LEEF's predefined keys, the fields they fill.
const PREDEFINED: &[(&str, FieldId)] = &[
    ("src", ids::SOURCEIP),
    ("dst", ids::DESTINATIONIP),
    ("srcPort", ids::SOURCEPORT),
    ("dstPort", ids::DESTINATIONPORT),
    ("usrName", ids::USERNAME),
    ("accountName", ids::USERNAME),
    ("sev", ids::SEVERITY),
    ("srcMAC", ids::SOURCEMAC),
    ("dstMAC", ids::DESTINATIONMAC),
    ("srcBytes", ids::SOURCEBYTES),
    ("dstBytes", ids::DESTINATIONBYTES),
    ("srcPackets", ids::SOURCEPACKETS),
    ("dstPackets", ids::DESTINATIONPACKETS),
    ("identHostName", ids::IDENTITYHOSTNAME),
    ("identSrc", ids::IDENTITYIP),
];

/// Reads LEEF lines from `r`.
pub fn read<R: BufRead>(
    r: R,
    schema: &Schema,
    opts: &ReadOptions,
    report: &mut FileReport,
    emit: &mut dyn FnMut(&str, Record<'static>),
) {
    report.format = "LEEF".into();
    for (i, line) in r.split(b'\n').enumerate() {
        let place = format!("line {}", i + 1);
        let bytes = match line {
            Ok(b) => b,
            Err(e) => {
                report.skip(format!("read error: {e}"), place);
                break;
            }
        };
        let text = match std::str::from_utf8(&bytes) {
            Ok(t) => t.to_owned(),
            Err(_) => {
                report.repair("invalid UTF-8 replaced", place.clone());
                String::from_utf8_lossy(&bytes).into_owned()
            }
        };
        let text = text.trim_end_matches(['\r', '\n']);
        if text.trim().is_empty() {
            continue;
        }
        match parse_line(text) {
            Ok(leef) => event(leef, schema, opts, report, emit),
            Err(e) => report.skip(format!("not LEEF: {e}"), place),
        }
    }
}

/// Normalises one parsed LEEF event and hands it on.
pub(crate) fn event(
    leef: Leef,
    schema: &Schema,
    opts: &ReadOptions,
    report: &mut FileReport,
    emit: &mut dyn FnMut(&str, Record<'static>),
) {
    let attr = |k: &str| {
        leef.attrs
            .iter()
            .find(|(n, _)| n == k)
            .map(|(_, v)| v.as_str())
    };
    let time = attr("devTime")
        .and_then(|v| dev_time(v, attr("devTimeFormat"), opts))
        .or_else(|| {
            leef.syslog_time
                .as_deref()
                .and_then(|t| syslog_time(t, opts))
        });
    if leef.vendor.eq_ignore_ascii_case("Microsoft") {
        let get = |ks: &[&str]| ks.iter().find_map(|k| attr(k)).map(str::to_owned);
        let ev = WinEvent {
            event_id: get(&["EventID"])
                .or(Some(leef.event_id.clone()))
                .and_then(|e| portent_core::value::parse_int(&e)),
            channel: get(&["Channel", "AgentLogFile", "LogFile"]),
            provider: get(&["Source", "Provider", "SourceName"]),
            computer: get(&["Computer", "Hostname"]).or_else(|| leef.host.clone()),
            time,
            data: leef
                .attrs
                .iter()
                .map(|(k, v)| (k.clone(), serde_json::Value::String(v.clone())))
                .collect(),
            ..WinEvent::default()
        };
        return emit_windows(ev, schema, opts, report, emit);
    }
    let mut rec = Record::with_capacity(schema.len());
    for (k, v) in &leef.attrs {
        if let Some((_, id)) = PREDEFINED.iter().find(|(n, _)| n == k) {
            if rec_is_null(&rec, *id) {
                let ty = schema.def(*id).and_then(|d| d.ty);
                rec.set(*id, text_value(v.clone(), ty, &opts.input_zone));
            }
            continue;
        }
        match (k.as_str(), schema.resolve(k)) {
            ("proto", _) => match protocol_number(v) {
                Some(p) => rec.set(ids::PROTOCOLID, Value::Int(p)),
                None => rec.set_extra("proto", Value::string(v.clone())),
            },
            (_, Some(id))
                if schema
                    .def(id)
                    .is_some_and(|d| d.kind != FieldKind::Standard) =>
            {
                let ty = schema.def(id).and_then(|d| d.ty);
                rec.set(id, text_value(v.clone(), ty, &opts.input_zone));
            }
            _ if opts.keep_unknown => rec.set_extra(k.clone(), Value::string(v.clone())),
            _ => {}
        }
    }
    if let Some(t) = time {
        rec.set(ids::STARTTIME, Value::Int(t));
        rec.set(ids::DEVICETIME, Value::Int(t));
    }
    // Universal LEEF (AQL-NOTES §6.1): QRadar's type for LEEF it has no DSM for.
    rec.set(ids::DEVICETYPE, Value::Int(212));
    rec.set(ids::EVENTCOUNT, Value::Int(1));
    rec.set(
        ids::EVENT_ID,
        text_value(
            leef.event_id.clone(),
            Some(portent_core::FieldType::Int),
            &opts.input_zone,
        ),
    );
    let host = leef.host.clone().unwrap_or_else(|| "unknown host".into());
    rec.set(ids::HOSTNAME, Value::string(host.clone()));
    let source = format!("{} {} @ {host}", leef.vendor, leef.product);
    rec.set(ids::LOGSOURCEID, Value::Int(log_source_id(&source)));
    rec.set(ids::LOGSOURCENAME, Value::string(source));
    if opts.keep_unknown {
        rec.set_extra("LEEF Vendor", Value::string(leef.vendor));
        rec.set_extra("LEEF Product", Value::string(leef.product));
        rec.set_extra("LEEF Version", Value::string(leef.version));
    }
    emit_record(rec, report, emit);
}

fn rec_is_null(rec: &Record<'_>, id: FieldId) -> bool {
    use portent_core::Event;
    rec.get(id).is_null()
}

#[cfg(test)]
mod tests {
    use super::*;
    use portent_core::Event;

    #[test]
    fn leef1_with_rfc3164_header() {
        let l = parse_line("<13>Jan 18 11:07:53 192.168.1.1 LEEF:1.0|Microsoft|MSExchange|4.0 SP1|15345|src=10.50.1.1\tdst=2.10.20.20\tspt=1200").unwrap();
        assert_eq!(l.vendor, "Microsoft");
        assert_eq!(l.event_id, "15345");
        assert_eq!(l.host.as_deref(), Some("192.168.1.1"));
        assert_eq!(l.attrs.len(), 3);
    }

    #[test]
    fn leef2_custom_and_hex_delimiters() {
        let l =
            parse_line("LEEF:2.0|Lancope|StealthWatch|1.0|41|^|src=10.0.1.8^dst=10.0.0.5^sev=5")
                .unwrap();
        assert_eq!(l.attrs[1], ("dst".into(), "10.0.0.5".into()));
        let l = parse_line("LEEF:2.0|V|P|1|e|xa6|a=1\u{a6}b=2").unwrap();
        assert_eq!(
            l.attrs,
            vec![("a".into(), "1".into()), ("b".into(), "2".into())]
        );
        assert!(parse_line("LEEF:1.0|only|three").is_err());
        assert!(parse_line("nothing here").is_err());
    }

    #[test]
    fn predefined_keys_and_dev_time() {
        let text = "<13>1 2019-01-18T11:07:53.520Z fw01 LEEF:2.0|Acme|FW|1|deny|^|src=10.0.0.1^dstPort=443^proto=TCP^usrName=bob^devTime=2019-04-24-15.31.58.000^devTimeFormat=yyyy-MM-dd-HH.mm.ss.SSS^custom=x\nnot leef at all\n";
        let schema = Schema::qradar();
        let mut rows = Vec::new();
        let mut report = FileReport::new("t.leef");
        read(
            text.as_bytes(),
            &schema,
            &ReadOptions::default(),
            &mut report,
            &mut |_, r| rows.push(r),
        );
        assert_eq!(rows.len(), 1);
        assert_eq!(report.skipped_total(), 1);
        let r = &rows[0];
        assert_eq!(r.get(ids::DESTINATIONPORT), Value::Int(443));
        assert_eq!(r.get(ids::PROTOCOLID), Value::Int(6));
        assert_eq!(r.get(ids::USERNAME), Value::str("bob"));
        assert_eq!(r.get(ids::STARTTIME), Value::Int(1_556_119_918_000));
        assert_eq!(r.get(ids::HOSTNAME), Value::str("fw01"));
    }
}
