//! One message off a live feed: a syslog line or datagram (RFC 5424 or RFC
//! 3164 header, or none) whose payload is LEEF, JSON of any layout the file
//! readers know (NXLog `to_json()`, Winlogbeat, evtx_dump, Ariel, ...), or a
//! Windows event in Snare's tab-separated form. The same normalisation as the
//! file readers, so a stream and a file give the same events.

use crate::jsonfile::{read_value, trim};
use crate::report::FileReport;
use crate::windows::WinEvent;
use crate::{emit_windows, leef, ReadOptions};
use portent_core::schema::ids;
use portent_core::{Event, Record, Schema, Value};
use serde_json::Value as J;

/// What a syslog header said. Fields are absent when the sender left them out
/// (RFC 5424's `-`) or the message had no header.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Header<'a> {
    /// PRI, `<13>`.
    pub priority: Option<u16>,
    /// The timestamp as written.
    pub time: Option<&'a str>,
    /// HOSTNAME.
    pub host: Option<&'a str>,
    /// APP-NAME (5424) or TAG (3164).
    pub app: Option<&'a str>,
}

/// Splits a syslog message into its header and payload. A message without a
/// recognisable header is all payload.
pub fn split_syslog(line: &[u8]) -> (Header<'_>, &[u8]) {
    let mut h = Header::default();
    let mut rest = line;
    if let Some((pri, after)) = priority(rest) {
        h.priority = Some(pri);
        rest = after;
    }
    // The header is in the first few hundred bytes; a cut there may split a
    // character, so only the valid part is read.
    let head = &rest[..rest.len().min(512)];
    // A JSON payload starts the message body; the header is what comes before.
    let head = match head.iter().position(|b| *b == b'{') {
        Some(at) => &head[..at],
        None => head,
    };
    let text = match std::str::from_utf8(head) {
        Ok(t) => t,
        Err(e) => std::str::from_utf8(&head[..e.valid_up_to()]).unwrap_or_default(),
    };
    let mut words = Words { text, at: 0 };
    // RFC 5424: VERSION TIMESTAMP HOSTNAME APP-NAME PROCID MSGID SD [MSG].
    if h.priority.is_some() && text.starts_with("1 ") {
        words.next();
        h.time = words.next().filter(|t| *t != "-");
        h.host = words.next().filter(|t| *t != "-");
        h.app = words.next().filter(|t| *t != "-");
        words.next();
        words.next();
        let sd_start = words.at;
        let sd_end = structured_data_end(&rest[sd_start..]).map_or(rest.len(), |n| sd_start + n);
        let body = rest.get(sd_end..).unwrap_or_default();
        return (h, body.strip_prefix(b" ").unwrap_or(body));
    }
    // RFC 3164: `Mmm dd hh:mm:ss HOST TAG: MSG`, or an ISO time in place of the
    // BSD one (rsyslog's high-precision form).
    let first = words.next();
    let time_end = match first {
        Some(m) if is_month(m) => {
            words.next();
            words.next();
            Some(words.at)
        }
        Some(t) if looks_iso(t) => Some(words.at),
        _ => None,
    };
    let Some(time_end) = time_end else {
        return (h, rest);
    };
    h.time = Some(text[..time_end].trim());
    let before_host = words.at;
    let host = words.next();
    let after_host = words.at;
    // A payload can follow the time directly; only a word that is not
    // itself the payload's start is a host.
    let payload_start =
        |w: &str| w.starts_with('{') || w.starts_with("LEEF:") || w.starts_with("MSWinEventLog");
    match host {
        Some(w) if !payload_start(w) && !w.ends_with(':') => {
            h.host = Some(w);
        }
        _ => words.at = before_host,
    }
    let mut body_at = if h.host.is_some() {
        after_host
    } else {
        words.at
    };
    // TAG: letters up to `:` or `[pid]:`, then one space.
    let tag_from = body_at;
    if let Some(tag) = words.next() {
        if !payload_start(tag) {
            if let Some(name) = tag.strip_suffix(':') {
                h.app = Some(name.split('[').next().unwrap_or(name));
                body_at = words.at;
            }
        }
    }
    if h.app.is_none() {
        body_at = tag_from;
    }
    let body = &rest[body_at.min(rest.len())..];
    (h, body.strip_prefix(b" ").unwrap_or(body))
}

struct Words<'a> {
    text: &'a str,
    at: usize,
}

impl<'a> Iterator for Words<'a> {
    type Item = &'a str;
    fn next(&mut self) -> Option<&'a str> {
        let rest = &self.text[self.at..];
        let skip = rest.len() - rest.trim_start_matches(' ').len();
        let start = self.at + skip;
        let len = self.text[start..]
            .find(' ')
            .unwrap_or(self.text.len() - start);
        if len == 0 {
            return None;
        }
        self.at = start + len;
        Some(&self.text[start..start + len])
    }
}

fn priority(b: &[u8]) -> Option<(u16, &[u8])> {
    let rest = b.strip_prefix(b"<")?;
    let end = rest.iter().take(4).position(|c| *c == b'>')?;
    let digits = &rest[..end];
    if digits.is_empty() || !digits.iter().all(u8::is_ascii_digit) {
        return None;
    }
    let pri = std::str::from_utf8(digits).ok()?.parse().ok()?;
    Some((pri, &rest[end + 1..]))
}

/// Where RFC 5424's STRUCTURED-DATA ends (`-` or `[id k="v"]...`, with `\]` escapes).
fn structured_data_end(b: &[u8]) -> Option<usize> {
    let b_trim = b.iter().position(|c| *c != b' ')?;
    let b = &b[b_trim..];
    if b.first() == Some(&b'-') {
        return Some(b_trim + 1);
    }
    let mut i = 0;
    while b.get(i) == Some(&b'[') {
        let mut escaped = false;
        let mut in_quotes = false;
        i += 1;
        loop {
            let c = *b.get(i)?;
            i += 1;
            match c {
                _ if escaped => escaped = false,
                b'\\' => escaped = true,
                b'"' => in_quotes = !in_quotes,
                b']' if !in_quotes => break,
                _ => {}
            }
        }
    }
    Some(b_trim + i)
}

fn is_month(w: &str) -> bool {
    const M: [&str; 12] = [
        "Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec",
    ];
    M.iter().any(|m| m.eq_ignore_ascii_case(w))
}

fn looks_iso(w: &str) -> bool {
    let b = w.as_bytes();
    b.len() >= 19 && b[..4].iter().all(u8::is_ascii_digit) && b[4] == b'-' && b[10] == b'T'
}

/// Reads one message, handing its events to `emit` under `name`. What cannot
/// be read is counted in `report` at `place`.
pub fn read_message(
    line: &[u8],
    place: &dyn Fn() -> String,
    schema: &Schema,
    opts: &ReadOptions,
    report: &mut FileReport,
    emit: &mut dyn FnMut(&str, Record<'static>),
) {
    let (header, payload) = split_syslog(line);
    let payload = trim(payload);
    let payload = payload.strip_prefix(b"\xef\xbb\xbf").unwrap_or(payload);
    if payload.is_empty() {
        report.skip("empty message", place());
        return;
    }
    // A header's host and time stand in for an event that has none.
    let host = header.host.map(str::to_owned);
    let time = header.time.and_then(|t| leef::syslog_time(t, opts));
    let mut fill = |name: &str, mut rec: Record<'static>| {
        if let (Some(h), true) = (&host, rec.get(ids::HOSTNAME).is_null()) {
            rec.set(ids::HOSTNAME, Value::string(h.clone()));
        }
        if let (Some(t), true) = (time, rec.get(ids::STARTTIME).is_null()) {
            rec.set(ids::STARTTIME, Value::Int(t));
        }
        emit(name, rec);
    };
    if payload.starts_with(b"{\"Event\":") {
        // evtx_dump / the evtx crate's JSON: the one-pass reader the EVTX path uses.
        match crate::evtx::record_event(payload, schema, opts) {
            Ok(ev) => return emit_windows(ev, schema, opts, report, &mut fill),
            Err(e) => return report.skip("invalid JSON", format!("{}: {e}", place())),
        }
    }
    if let Some((_, ev)) = crate::layout::fast_json(payload, schema, opts) {
        return emit_windows(ev, schema, opts, report, &mut fill);
    }
    if payload.starts_with(b"{") || payload.starts_with(b"[") {
        return match serde_json::from_slice::<J>(payload) {
            Ok(v) => read_value(v, 1, schema, opts, report, &mut fill),
            Err(e) => report.skip("invalid JSON", format!("{}: {e}", place())),
        };
    }
    let text = match std::str::from_utf8(line) {
        Ok(t) => std::borrow::Cow::Borrowed(t),
        Err(_) => {
            report.repair("invalid UTF-8 replaced", place());
            String::from_utf8_lossy(line)
        }
    };
    if text.contains("LEEF:") {
        return match leef::parse_line(text.trim_end_matches(['\r', '\n'])) {
            Ok(l) => leef::event(l, schema, opts, report, &mut fill),
            Err(e) => report.skip(format!("not LEEF: {e}"), place()),
        };
    }
    if let Some(at) = text.find("MSWinEventLog") {
        return match snare(&text[at..], opts) {
            Some(ev) => emit_windows(ev, schema, opts, report, &mut fill),
            None => report.skip("not a Snare event (too few fields)", place()),
        };
    }
    let start: String = String::from_utf8_lossy(&payload[..payload.len().min(40)]).into_owned();
    report.skip(
        "unrecognised payload (not LEEF, JSON or Snare)",
        format!("{}: starts {start:?}", place()),
    );
}

/// Snare for Windows: `MSWinEventLog <tab> criticality <tab> log <tab> counter
/// <tab> time <tab> event id <tab> source <tab> user <tab> SID type <tab> type
/// <tab> computer <tab> category <tab> data <tab> message [<tab> md5]`. The
/// message's `Name: value` pairs become event data (Sysmon writes its fields
/// that way; Security events under their display labels, mapped to their names).
fn snare(text: &str, opts: &ReadOptions) -> Option<WinEvent> {
    let f: Vec<&str> = text.trim_end().split('\t').collect();
    if f.len() < 14 {
        return None;
    }
    let time = crate::convert::parse_time(f[4], &opts.input_zone).or_else(|| {
        crate::javatime::parse(f[4].trim(), "EEE MMM dd HH:mm:ss yyyy", &opts.input_zone)
    });
    let provider = f[6].trim();
    let channel = match (f[2].trim(), provider) {
        (_, "Microsoft-Windows-Sysmon") => "Microsoft-Windows-Sysmon/Operational".to_owned(),
        (log, _) => log.to_owned(),
    };
    Some(WinEvent {
        event_id: portent_core::value::parse_int(f[5].trim()),
        channel: Some(channel),
        provider: Some(provider.to_owned()),
        computer: Some(f[10].trim().to_owned()).filter(|c| !c.is_empty()),
        time,
        record_id: portent_core::value::parse_int(f[3].trim()),
        data: message_pairs(f[13])
            .into_iter()
            .map(|(k, v)| (k, J::String(v)))
            .collect(),
        ..WinEvent::default()
    })
}

/// Security events' display labels and the event data names they stand for.
const LABELS: &[(&str, &str)] = &[
    ("New Process Name", "NewProcessName"),
    ("New Process ID", "NewProcessId"),
    ("Creator Process Name", "ParentProcessName"),
    ("Creator Process ID", "ProcessId"),
    ("Process Command Line", "CommandLine"),
    ("Application Name", "Application"),
    ("Process ID", "ProcessID"),
    ("Source Address", "SourceAddress"),
    ("Source Port", "SourcePort"),
    ("Destination Address", "DestAddress"),
    ("Destination Port", "DestPort"),
    ("Protocol", "Protocol"),
    ("Direction", "Direction"),
    ("Account Name", "SubjectUserName"),
    ("Account Domain", "SubjectDomainName"),
];

/// `Name: value` pairs of a rendered message whose lines Snare joined with
/// spaces or tabs. A name is a known label or one CamelCase word (Sysmon's).
fn message_pairs(msg: &str) -> Vec<(String, String)> {
    let mut starts: Vec<(usize, usize, String)> = Vec::new();
    let bytes = msg.as_bytes();
    for (i, _) in msg.match_indices(':') {
        if bytes.get(i + 1).is_some_and(|c| !matches!(c, b' ' | b'\t')) && i + 1 < bytes.len() {
            continue;
        }
        let before = &msg[..i];
        if let Some((label, name)) = LABELS.iter().find(|(l, _)| before.ends_with(l)) {
            starts.push((i - label.len(), i + 1, (*name).to_owned()));
            continue;
        }
        let word_start = before
            .rfind(|c: char| c.is_whitespace())
            .map_or(0, |p| p + 1);
        let word = &before[word_start..];
        if word.len() > 1
            && word.starts_with(|c: char| c.is_ascii_uppercase())
            && word.chars().all(|c| c.is_ascii_alphanumeric())
        {
            starts.push((word_start, i + 1, word.to_owned()));
        }
    }
    let mut pairs = Vec::new();
    for (n, (_, value_from, name)) in starts.iter().enumerate() {
        let value_to = starts.get(n + 1).map_or(msg.len(), |s| s.0);
        let value = msg[*value_from..value_to.max(*value_from)].trim();
        if !pairs.iter().any(|(k, _): &(String, String)| k == name) {
            pairs.push((name.clone(), value.to_owned()));
        }
    }
    pairs
}

#[cfg(test)]
mod tests {
    use super::*;

    fn read(line: &str) -> (Vec<Record<'static>>, FileReport) {
        let schema = Schema::qradar();
        let mut out = Vec::new();
        let mut report = FileReport::new("feed");
        read_message(
            line.as_bytes(),
            &|| "message 1".to_owned(),
            &schema,
            &ReadOptions::default(),
            &mut report,
            &mut |_, r| out.push(r),
        );
        (out, report)
    }

    #[test]
    fn rfc5424_header_with_structured_data() {
        let line = br#"<165>1 2024-03-01T10:00:00.123Z web-1 nxlog 42 ID47 [ex@1 a="x\]y"][b@2 c="d"] {"k":1}"#;
        let (h, body) = split_syslog(line);
        assert_eq!(h.priority, Some(165));
        assert_eq!(h.host, Some("web-1"));
        assert_eq!(h.app, Some("nxlog"));
        assert_eq!(h.time, Some("2024-03-01T10:00:00.123Z"));
        assert_eq!(body, br#"{"k":1}"#);
        let (h, body) = split_syslog(b"<13>1 - - - - - - LEEF:1.0|a|b|1|2|");
        assert_eq!((h.host, h.time), (None, None));
        assert_eq!(body, b"LEEF:1.0|a|b|1|2|");
    }

    #[test]
    fn rfc3164_header_variants() {
        let (h, body) = split_syslog(b"<13>Dec  1 10:00:00 WIN-A nxlog[12]: {\"EventID\":1}");
        assert_eq!(h.host, Some("WIN-A"));
        assert_eq!(h.app, Some("nxlog"));
        assert_eq!(h.time, Some("Dec  1 10:00:00"));
        assert_eq!(body, b"{\"EventID\":1}");
        let (h, body) = split_syslog(b"<13>Dec  1 10:00:00 {\"EventID\":1}");
        assert_eq!(h.host, None);
        assert_eq!(body, b"{\"EventID\":1}");
        // A multi-byte character across the 512-byte mark of the header scan.
        let mut long = b"<13>1 2024-01-01T00:00:00Z h app - - - ".to_vec();
        long.extend("é".repeat(300).bytes());
        let (h, body) = split_syslog(&long);
        assert_eq!(h.host, Some("h"));
        assert!(body.starts_with("é".as_bytes()));
        let (h, body) = split_syslog(b"no header at all");
        assert_eq!(h, Header::default());
        assert_eq!(body, b"no header at all");
    }

    #[test]
    fn json_payloads_of_any_layout_become_events() {
        let (rows, report) = read(
            r#"<13>Dec  1 10:00:00 collector nxlog: {"EventID":3,"Channel":"Microsoft-Windows-Sysmon/Operational","Hostname":"WS1","Image":"C:\\Windows\\System32\\cmd.exe","DestinationPort":"443","EventTime":"2024-01-02 03:04:05"}"#,
        );
        assert_eq!(rows.len(), 1, "{report}");
        let r = &rows[0];
        assert_eq!(r.get(ids::DESTINATIONPORT), Value::Int(443));
        // The event's own computer, not the collector of the syslog header.
        assert_eq!(r.get(ids::HOSTNAME), Value::str("WS1"));
        let (rows, _) = read(
            r#"{"Event":{"System":{"EventID":3,"Channel":"Microsoft-Windows-Sysmon/Operational","Computer":"H"},"EventData":{"DestinationPort":80}}}"#,
        );
        assert_eq!(rows[0].get(ids::DESTINATIONPORT), Value::Int(80));
    }

    #[test]
    fn leef_payload_keeps_the_header_host_when_the_event_has_none() {
        let (rows, report) =
            read("<13>Jan 09 12:00:00 fw-1 LEEF:1.0|Acme|FW|1|deny|src=10.0.0.1\tdst=8.8.8.8\tdstPort=53");
        assert_eq!(rows.len(), 1, "{report}");
        assert_eq!(rows[0].get(ids::DESTINATIONPORT), Value::Int(53));
        assert_eq!(rows[0].get(ids::HOSTNAME), Value::str("fw-1"));
    }

    #[test]
    fn snare_sysmon_and_security_events() {
        let sysmon = "<14>Mar  1 10:00:00 WS2 MSWinEventLog\t1\tMicrosoft-Windows-Sysmon/Operational\t77\tFri Mar 01 10:00:00 2024\t3\tMicrosoft-Windows-Sysmon\tSYSTEM\tUser\tInformation\tWS2\tNetwork connection detected (rule: NetworkConnect)\t\tNetwork connection detected:  RuleName: -  UtcTime: 2024-03-01 10:00:00.000  ProcessGuid: {A}  ProcessId: 4  Image: C:\\Windows\\System32\\mshta.exe  User: X\\y  Protocol: tcp  Initiated: true  DestinationIp: 1.2.3.4  DestinationPort: 443\t1";
        let (rows, report) = read(sysmon);
        assert_eq!(rows.len(), 1, "{report}");
        let r = &rows[0];
        assert_eq!(r.get(ids::DESTINATIONPORT), Value::Int(443));
        assert_eq!(
            r.get(ids::PROCESS_NAME),
            Value::str("C:\\Windows\\System32\\mshta.exe")
        );
        assert_eq!(r.get(ids::HOSTNAME), Value::str("WS2"));
        let security = "MSWinEventLog\t1\tSecurity\t9\tFri Mar 01 10:00:00 2024\t5156\tMicrosoft-Windows-Security-Auditing\tN/A\tN/A\tSuccess Audit\tWS3\tFiltering Platform Connection\t\tThe Windows Filtering Platform has permitted a connection.  Application Information:  Process ID: 1234  Application Name: \\device\\harddiskvolume2\\windows\\system32\\certutil.exe  Network Information:  Direction: Outbound  Source Address: 10.0.0.5  Source Port: 50000  Destination Address: 5.6.7.8  Destination Port: 80  Protocol: 6\t";
        let (rows, report) = read(security);
        assert_eq!(rows.len(), 1, "{report}");
        assert_eq!(rows[0].get(ids::DESTINATIONPORT), Value::Int(80));
        assert_eq!(rows[0].get(ids::HOSTNAME), Value::str("WS3"));
    }

    #[test]
    fn unreadable_messages_are_counted_with_their_place() {
        let (rows, report) = read("<13>Dec  1 10:00:00 host app: plain text");
        assert!(rows.is_empty());
        assert_eq!(report.skipped_total(), 1);
        let (_, report) = read("{broken");
        assert_eq!(
            report.skipped["invalid JSON"].1[0].split(':').next(),
            Some("message 1")
        );
    }
}
