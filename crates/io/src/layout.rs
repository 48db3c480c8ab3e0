//! JSON layouts of Windows events, recognised per object so that a file mixing
//! layouts still reads: `evtx_dump` JSON, Winlogbeat 6 (`event_data`), Winlogbeat
//! 7+/ECS (`winlog.event_data`), NXLog and Mordor flat objects, Azure Log Analytics
//! `WindowsEvent` and `SecurityEvent` rows; anything else is read with QRadar
//! field names (Ariel exports, hand-made test sets).

use crate::convert::{has_zone, json_int, json_text, json_value, parse_time};
use crate::windows::{Known, WinEvent};
use crate::xml::event_data_xml;
use crate::ReadOptions;
use portent_core::{Record, Schema, Value};
use serde_json::{Map, Value as J};

/// The layout of one JSON object.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum Layout {
    /// `{"Event": {"System": ..., "EventData": ...}}` as `evtx_dump -o json` writes it.
    EvtxJson,
    /// Winlogbeat 6: `event_id`, `log_name`, `computer_name`, `event_data`.
    Winlogbeat6,
    /// Winlogbeat 7+ / ECS: `winlog.{event_id, channel, computer_name, event_data}`.
    Ecs,
    /// NXLog flat: top-level `EventID`, `Channel`, `Hostname`, with `SourceModuleType`.
    NxlogFlat,
    /// Mordor flat (2020+): top-level `EventID`, `Channel`, `Hostname`.
    MordorFlat,
    /// Azure `WindowsEvent`: `EventData` is a JSON string.
    AzureWindowsEvent,
    /// Azure `SecurityEvent`: top-level columns, `EventData` an XML string.
    AzureSecurityEvent,
    /// Keys are QRadar field names.
    QRadar,
}

impl Layout {
    /// Short name for reports.
    pub fn name(self) -> &'static str {
        match self {
            Layout::EvtxJson => "evtx_dump JSON",
            Layout::Winlogbeat6 => "Winlogbeat 6",
            Layout::Ecs => "Winlogbeat/ECS",
            Layout::NxlogFlat => "NXLog flat",
            Layout::MordorFlat => "Mordor flat",
            Layout::AzureWindowsEvent => "Azure WindowsEvent",
            Layout::AzureSecurityEvent => "Azure SecurityEvent",
            Layout::QRadar => "QRadar fields",
        }
    }
}

/// Recognises the layout of `obj` from its keys.
pub fn classify(obj: &Map<String, J>) -> Layout {
    if obj.get("Event").and_then(|e| e.get("System")).is_some() {
        return Layout::EvtxJson;
    }
    if obj.get("winlog").is_some_and(J::is_object) {
        return Layout::Ecs;
    }
    if obj.contains_key("event_data")
        || (obj.contains_key("event_id") && obj.contains_key("log_name"))
    {
        return Layout::Winlogbeat6;
    }
    let has_event_id = obj.contains_key("EventID") || obj.contains_key("EventId");
    let windowsy = [
        "Channel",
        "SourceName",
        "Hostname",
        "Computer",
        "Provider",
        "EventSourceName",
    ]
    .iter()
    .any(|k| obj.contains_key(*k));
    if has_event_id && windowsy {
        if obj.contains_key("SourceModuleType") {
            return Layout::NxlogFlat;
        }
        if obj.contains_key("EventSourceName")
            || obj
                .get("EventData")
                .is_some_and(|d| d.as_str().is_some_and(|s| s.trim_start().starts_with('<')))
        {
            return Layout::AzureSecurityEvent;
        }
        if obj.contains_key("TimeGenerated") && obj.contains_key("Computer") {
            return Layout::AzureWindowsEvent;
        }
        return Layout::MordorFlat;
    }
    Layout::QRadar
}

/// Brings a Windows-layout object into [`WinEvent`]. `None` for [`Layout::QRadar`].
pub fn win_event(obj: Map<String, J>, layout: Layout) -> Option<WinEvent> {
    match layout {
        Layout::EvtxJson => Some(evtx_json(obj)),
        Layout::Winlogbeat6 => Some(winlogbeat6(obj)),
        Layout::Ecs => Some(ecs(obj)),
        Layout::NxlogFlat
        | Layout::MordorFlat
        | Layout::AzureWindowsEvent
        | Layout::AzureSecurityEvent => Some(flat(obj)),
        Layout::QRadar => None,
    }
}

/// One object with QRadar field names (keys resolved through the schema, any case
/// and aliases; unknown keys kept by name).
pub fn qradar_record(obj: Map<String, J>, schema: &Schema, opts: &ReadOptions) -> Record<'static> {
    let mut rec = Record::with_capacity(schema.len());
    for (k, v) in obj {
        match schema.resolve(&k) {
            Some(id) => {
                let ty = schema.def(id).and_then(|d| d.ty);
                rec.set(id, json_value(v, ty, &opts.input_zone));
            }
            None if opts.keep_unknown => rec.set_extra(k, json_value(v, None, &opts.input_zone)),
            None => {}
        }
    }
    if portent_core::Event::get(&rec, portent_core::schema::ids::EVENTCOUNT).is_null() {
        rec.set(portent_core::schema::ids::EVENTCOUNT, Value::Int(1));
    }
    rec
}

fn evtx_json(mut obj: Map<String, J>) -> WinEvent {
    let mut ev = WinEvent::default();
    let event = match obj.remove("Event") {
        Some(J::Object(e)) => e,
        _ => return ev,
    };
    let mut event = event;
    if let Some(J::Object(sys)) = event.remove("System") {
        ev.event_id = sys.get("EventID").and_then(|v| match v {
            J::Object(o) => o.get("#text").and_then(json_int),
            other => json_int(other),
        });
        ev.channel = sys.get("Channel").and_then(json_text);
        ev.provider = sys
            .get("Provider")
            .and_then(|p| p.get("#attributes"))
            .and_then(|a| a.get("Name"))
            .and_then(json_text);
        ev.computer = sys.get("Computer").and_then(json_text);
        ev.record_id = sys.get("EventRecordID").and_then(json_int);
        ev.time = sys
            .get("TimeCreated")
            .and_then(|t| t.get("#attributes"))
            .and_then(|a| a.get("SystemTime"))
            .and_then(J::as_str)
            .and_then(|t| parse_time(t, &portent_core::Zone::utc()));
        for k in ["Level", "Task", "Opcode", "Keywords", "Version"] {
            if let Some(v) = sys.get(k) {
                if !v.is_object() {
                    ev.data.push((k.to_owned(), v.clone()));
                }
            }
        }
    }
    for part in ["EventData", "UserData"] {
        if let Some(d) = event.remove(part) {
            event_data(d, &mut ev.data);
        }
    }
    ev
}

/// The fields of an `EventData` / `UserData` element: named `Data` become fields;
/// unnamed ones are kept as `Data`; a `UserData` wrapper element is looked through.
fn event_data(d: J, out: &mut Vec<(String, J)>) {
    match d {
        J::Object(map) => {
            for (k, v) in map {
                if k == "#attributes" {
                    continue;
                }
                match v {
                    J::Object(inner) if k != "Data" && !inner.contains_key("#text") => {
                        event_data(J::Object(inner), out)
                    }
                    J::Object(mut inner) => {
                        if let Some(t) = inner.remove("#text") {
                            out.push((k, t));
                        }
                    }
                    v => out.push((k, v)),
                }
            }
        }
        J::Null => {}
        other => out.push(("Data".into(), other)),
    }
}

fn winlogbeat6(mut obj: Map<String, J>) -> WinEvent {
    let mut ev = WinEvent {
        event_id: obj.get("event_id").and_then(json_int),
        channel: obj.get("log_name").and_then(json_text),
        provider: obj.get("source_name").and_then(json_text),
        computer: obj.get("computer_name").and_then(json_text),
        record_id: obj.get("record_number").and_then(json_int),
        ..WinEvent::default()
    };
    set_time(&mut ev, obj.get("@timestamp"));
    for part in ["event_data", "user_data"] {
        if let Some(d) = obj.remove(part) {
            event_data(d, &mut ev.data);
        }
    }
    flatten_into(obj, "", &mut ev.data);
    ev
}

fn ecs(mut obj: Map<String, J>) -> WinEvent {
    let mut ev = WinEvent::default();
    if let Some(J::Object(mut w)) = obj.remove("winlog") {
        ev.event_id = w.get("event_id").and_then(json_int);
        ev.channel = w.get("channel").and_then(json_text);
        ev.provider = w.get("provider_name").and_then(json_text);
        ev.computer = w.get("computer_name").and_then(json_text);
        ev.record_id = w.get("record_id").and_then(json_int);
        for part in ["event_data", "user_data"] {
            if let Some(d) = w.remove(part) {
                event_data(d, &mut ev.data);
            }
        }
        flatten_into(w, "winlog.", &mut ev.data);
    }
    if ev.event_id.is_none() {
        ev.event_id = obj
            .get("event")
            .and_then(|e| e.get("code"))
            .and_then(json_int);
    }
    set_time(&mut ev, obj.get("@timestamp"));
    flatten_into(obj, "", &mut ev.data);
    ev
}

fn flat(mut obj: Map<String, J>) -> WinEvent {
    let mut ev = WinEvent {
        event_id: obj
            .get("EventID")
            .or_else(|| obj.get("EventId"))
            .and_then(json_int),
        channel: obj.get("Channel").and_then(json_text),
        provider: ["SourceName", "Provider", "EventSourceName", "ProviderName"]
            .iter()
            .find_map(|k| obj.get(*k).and_then(json_text)),
        computer: ["Hostname", "Computer", "computer_name"]
            .iter()
            .find_map(|k| obj.get(*k).and_then(json_text)),
        record_id: ["RecordNumber", "EventRecordID", "EventRecordId"]
            .iter()
            .find_map(|k| obj.get(*k).and_then(json_int)),
        ..WinEvent::default()
    };
    for k in ["TimeCreated", "TimeGenerated", "@timestamp", "EventTime"] {
        set_time(&mut ev, obj.get(k));
    }
    // Azure keeps the event data in one string column: JSON for WindowsEvent,
    // XML for SecurityEvent. Its fields go first so they win over same-named columns.
    if let Some(J::String(s)) = obj.get("EventData") {
        let t = s.trim_start();
        if t.starts_with('{') {
            if let Ok(J::Object(m)) = serde_json::from_str::<J>(t) {
                event_data(J::Object(m), &mut ev.data);
                obj.remove("EventData");
            }
        } else if t.starts_with('<') {
            ev.data.extend(
                event_data_xml(t)
                    .into_iter()
                    .map(|(k, v)| (k, J::String(v))),
            );
            obj.remove("EventData");
        }
    } else if let Some(d @ J::Object(_)) = obj.remove("EventData") {
        event_data(d, &mut ev.data);
    }
    flatten_into(obj, "", &mut ev.data);
    ev
}

/// The names [`fast_flat`] itself reads.
const FLAT_NAMES: &[&str] = &[
    "Event",
    "winlog",
    "event_data",
    "EventData",
    "event_id",
    "EventID",
    "EventId",
    "Channel",
    "SourceName",
    "Provider",
    "EventSourceName",
    "ProviderName",
    "Hostname",
    "Computer",
    "computer_name",
    "RecordNumber",
    "EventRecordID",
    "EventRecordId",
    "TimeCreated",
    "TimeGenerated",
    "@timestamp",
    "EventTime",
    "SourceModuleType",
];

/// The flat layouts (NXLog, Mordor, Azure `WindowsEvent` without `EventData`)
/// read in one pass over the text, without building a `serde_json::Value`
/// map: the same [`WinEvent`] as [`classify`] then [`win_event`] give (a test
/// holds them equal over the corpus), several times faster. `None` when the
/// object is not one of them, or has anything this pass does not handle
/// (duplicate keys, an `EventData` member, other layouts): the caller then
/// takes the general path.
///
/// `keep` says which other fields the caller needs at all (the normalised
/// record drops the rest anyway), and what they mean; the names this
/// function reads itself are always kept.
fn fast_flat(json: &[u8], keep: &mut Keep<'_>) -> Option<(Layout, WinEvent)> {
    use crate::flatjson::{walk, Scalar};
    let mut leaves: Vec<(String, J)> = Vec::with_capacity(64);
    let mut known: Vec<Known> = Vec::with_capacity(64);
    let mut nested_top: Vec<String> = Vec::new();
    let mut joined = String::new();
    walk(json, &mut |_, _| true, &mut |path, v: Scalar<'_>| {
        if path.len() > 1 && nested_top.last().map(String::as_str) != Some(&path[0]) {
            nested_top.push(path[0].to_string());
        }
        joined.clear();
        for (i, p) in path.iter().enumerate() {
            if i > 0 {
                joined.push('.');
            }
            joined.push_str(p);
        }
        let k = match keep(&joined) {
            Some(k) => k,
            None if FLAT_NAMES.contains(&joined.as_str()) => Known::default(),
            None => return,
        };
        leaves.push((joined.clone(), v.into_json()));
        known.push(k);
    })
    .ok()?;
    let has = |k: &str| leaves.iter().any(|(n, _)| n == k);
    for k in ["Event", "winlog", "event_data", "EventData", "event_id"] {
        if has(k) || nested_top.iter().any(|t| t == k) {
            return None;
        }
    }
    let has_event_id = has("EventID") || has("EventId");
    let windowsy = [
        "Channel",
        "SourceName",
        "Hostname",
        "Computer",
        "Provider",
        "EventSourceName",
    ]
    .iter()
    .any(|k| has(k) || nested_top.iter().any(|t| t == k));
    if !has_event_id || !windowsy || has("EventSourceName") {
        return None;
    }
    let mut names: Vec<&str> = leaves.iter().map(|(n, _)| n.as_str()).collect();
    names.sort_unstable();
    if names.windows(2).any(|w| w[0] == w[1]) {
        return None;
    }
    let layout = if has("SourceModuleType") {
        Layout::NxlogFlat
    } else if has("TimeGenerated") && has("Computer") {
        Layout::AzureWindowsEvent
    } else {
        Layout::MordorFlat
    };
    let get = |k: &str| leaves.iter().find(|(n, _)| n == k).map(|(_, v)| v);
    let mut ev = WinEvent {
        event_id: get("EventID").or_else(|| get("EventId")).and_then(json_int),
        channel: get("Channel").and_then(json_text),
        provider: ["SourceName", "Provider", "EventSourceName", "ProviderName"]
            .iter()
            .find_map(|k| get(k).and_then(json_text)),
        computer: ["Hostname", "Computer", "computer_name"]
            .iter()
            .find_map(|k| get(k).and_then(json_text)),
        record_id: ["RecordNumber", "EventRecordID", "EventRecordId"]
            .iter()
            .find_map(|k| get(k).and_then(json_int)),
        ..WinEvent::default()
    };
    for k in ["TimeCreated", "TimeGenerated", "@timestamp", "EventTime"] {
        set_time(&mut ev, get(k));
    }
    ev.data = leaves;
    ev.known = known;
    Some((layout, ev))
}

/// [`fast_ecs`] for Winlogbeat 7+/ECS objects, else [`fast_flat`]. What each
/// field name means is looked up once, here, and handed on in
/// [`WinEvent::known`]; fields the record cannot use are not kept unless
/// `opts.keep_unknown`.
pub fn fast_json(json: &[u8], schema: &Schema, opts: &ReadOptions) -> Option<(Layout, WinEvent)> {
    // Both passes read one object; an array (a whole file on one line, say)
    // or a bare value takes the general path, which reads each element.
    if json.iter().find(|b| !b.is_ascii_whitespace()) != Some(&b'{') {
        return None;
    }
    let ecs = memchr::memmem::find(json, b"\"winlog\"").is_some();
    Known::with_cache(schema, |get| {
        // NXLog's `param1`, `param2`, ... are what a query's `Data` reads.
        let wants_data = schema.resolve("Data").is_some();
        let mut keep = |name: &str| {
            let k = get(name);
            (opts.keep_unknown || k.wanted() || wants_data && crate::windows::is_param(name))
                .then_some(k)
        };
        if ecs {
            fast_ecs(json, &mut keep)
        } else {
            fast_flat(json, &mut keep)
        }
    })
}

/// Decides for a field name whether to keep it, and what it means.
type Keep<'k> = dyn FnMut(&str) -> Option<Known> + 'k;

/// Winlogbeat 7+ / ECS objects read in one pass, as [`fast_flat`] reads the
/// flat layouts: the event data (`winlog.event_data`, then
/// `winlog.user_data`) first, then the other `winlog.*` fields, then the
/// rest of the document, as the general path orders them. `None` for
/// anything else, and for nested event data (`#text`, `#attributes`, objects
/// inside it), duplicate names or an `Event` member.
fn fast_ecs(json: &[u8], keep: &mut Keep<'_>) -> Option<(Layout, WinEvent)> {
    use crate::flatjson::{walk, Scalar};
    let mut event_data: Vec<(String, J, Known)> = Vec::with_capacity(32);
    let mut user_data: Vec<(String, J, Known)> = Vec::new();
    let mut winlog: Vec<(String, J, Known)> = Vec::with_capacity(16);
    let mut top: Vec<(String, J, Known)> = Vec::with_capacity(32);
    let mut direct: [Option<J>; 5] = Default::default();
    let (mut code, mut timestamp): (Option<J>, Option<J>) = (None, None);
    let (mut saw_winlog, mut bail) = (false, false);
    let mut joined = String::new();
    walk(json, &mut |_, _| true, &mut |path, v: Scalar<'_>| {
        if bail {
            return;
        }
        let join = |joined: &mut String, parts: &[std::borrow::Cow<'_, str>]| {
            joined.clear();
            for (i, p) in parts.iter().enumerate() {
                if i > 0 {
                    joined.push('.');
                }
                joined.push_str(p);
            }
        };
        let Some(first) = path.first() else {
            bail = true;
            return;
        };
        match (first.as_ref(), path.len()) {
            ("Event", _) => bail = true,
            ("winlog", 1) => bail = true,
            ("winlog", n) => {
                saw_winlog = true;
                match path[1].as_ref() {
                    part @ ("event_data" | "user_data") => {
                        if n != 3 || path[2].starts_with('#') {
                            bail = true;
                            return;
                        }
                        if let Some(k) = keep(&path[2]) {
                            let out = if part == "event_data" {
                                &mut event_data
                            } else {
                                &mut user_data
                            };
                            out.push((path[2].to_string(), v.into_json(), k));
                        }
                    }
                    key => {
                        let slot = [
                            "event_id",
                            "channel",
                            "provider_name",
                            "computer_name",
                            "record_id",
                        ]
                        .iter()
                        .position(|k| *k == key)
                        .filter(|_| n == 2);
                        join(&mut joined, path);
                        let kept = keep(&joined);
                        match (slot, kept) {
                            (Some(i), Some(k)) => {
                                let j = v.into_json();
                                direct[i] = Some(j.clone());
                                winlog.push((joined.clone(), j, k));
                            }
                            (Some(i), None) => direct[i] = Some(v.into_json()),
                            (None, Some(k)) => winlog.push((joined.clone(), v.into_json(), k)),
                            (None, None) => {}
                        }
                    }
                }
            }
            _ => {
                join(&mut joined, path);
                let special = match joined.as_str() {
                    "event.code" => Some(&mut code),
                    "@timestamp" => Some(&mut timestamp),
                    _ => None,
                };
                let kept = keep(&joined);
                match (special, kept) {
                    (Some(slot), Some(k)) => {
                        let j = v.into_json();
                        *slot = Some(j.clone());
                        top.push((joined.clone(), j, k));
                    }
                    (Some(slot), None) => *slot = Some(v.into_json()),
                    (None, Some(k)) => top.push((joined.clone(), v.into_json(), k)),
                    (None, None) => {}
                }
            }
        }
    })
    .ok()?;
    if bail || !saw_winlog {
        return None;
    }
    let mut names: Vec<&str> = event_data
        .iter()
        .chain(&user_data)
        .chain(&winlog)
        .chain(&top)
        .map(|(n, _, _)| n.as_str())
        .collect();
    names.sort_unstable();
    if names.windows(2).any(|w| w[0] == w[1]) {
        return None;
    }
    let [event_id, channel, provider, computer, record_id] = direct;
    let mut ev = WinEvent {
        event_id: event_id.as_ref().and_then(json_int),
        channel: channel.as_ref().and_then(json_text),
        provider: provider.as_ref().and_then(json_text),
        computer: computer.as_ref().and_then(json_text),
        record_id: record_id.as_ref().and_then(json_int),
        ..WinEvent::default()
    };
    if ev.event_id.is_none() {
        ev.event_id = code.as_ref().and_then(json_int);
    }
    set_time(&mut ev, timestamp.as_ref());
    for (name, value, known) in event_data
        .into_iter()
        .chain(user_data)
        .chain(winlog)
        .chain(top)
    {
        ev.data.push((name, value));
        ev.known.push(known);
    }
    Some((Layout::Ecs, ev))
}

/// Sets the event's time from `v` unless a zoned time is already known; a zone-less
/// text is kept aside as the local time.
fn set_time(ev: &mut WinEvent, v: Option<&J>) {
    if ev.time.is_some() {
        return;
    }
    match v {
        Some(J::String(s)) if has_zone(s) => ev.time = parse_time(s, &portent_core::Zone::utc()),
        Some(J::String(s)) if ev.local_time.is_none() && !s.trim().is_empty() => {
            ev.local_time = Some(s.clone())
        }
        Some(J::Number(n)) => {
            ev.time = n
                .as_i64()
                .map(|t| if t < 100_000_000_000 { t * 1000 } else { t })
        }
        _ => {}
    }
}

/// Nested objects become dotted names (`host.name`); arrays stay JSON text.
fn flatten_into(obj: Map<String, J>, prefix: &str, out: &mut Vec<(String, J)>) {
    for (k, v) in obj {
        let name = if prefix.is_empty() {
            k
        } else {
            format!("{prefix}{k}")
        };
        match v {
            J::Object(m) => flatten_into(m, &format!("{name}."), out),
            v => out.push((name, v)),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn obj(v: J) -> Map<String, J> {
        match v {
            J::Object(m) => m,
            _ => unreachable!(),
        }
    }

    #[test]
    fn recognises_every_layout() {
        let cases = [
            (
                json!({"Event": {"System": {"EventID": 3}}}),
                Layout::EvtxJson,
            ),
            (
                json!({"event_id": 3, "log_name": "x", "event_data": {}}),
                Layout::Winlogbeat6,
            ),
            (json!({"winlog": {"event_id": "3"}}), Layout::Ecs),
            (
                json!({"EventID": 3, "Channel": "c", "SourceModuleType": "im_msvistalog"}),
                Layout::NxlogFlat,
            ),
            (
                json!({"EventID": 3, "Channel": "c", "Hostname": "h"}),
                Layout::MordorFlat,
            ),
            (
                json!({"EventID": 3, "Computer": "h", "TimeGenerated": "t", "EventData": "{}"}),
                Layout::AzureWindowsEvent,
            ),
            (
                json!({"EventID": 5156, "Computer": "h", "EventSourceName": "x"}),
                Layout::AzureSecurityEvent,
            ),
            (json!({"sourceip": "1.2.3.4", "qid": 5}), Layout::QRadar),
        ];
        for (v, want) in cases {
            assert_eq!(classify(&obj(v)), want);
        }
    }

    #[test]
    fn evtx_json_with_qualifiers_and_user_data() {
        let v = json!({"Event": {"System": {
            "EventID": {"#attributes": {"Qualifiers": 0}, "#text": 4688},
            "Channel": "Security", "Computer": "PC1",
            "Provider": {"#attributes": {"Name": "Microsoft-Windows-Security-Auditing"}},
            "TimeCreated": {"#attributes": {"SystemTime": "2019-03-19T23:34:25.123456Z"}},
            "EventRecordID": 42},
            "EventData": {"NewProcessName": "C:\\x.exe", "NewProcessId": "0x10"},
            "UserData": {"LogFileCleared": {"SubjectUserName": "bob"}}}});
        let ev = win_event(obj(v), Layout::EvtxJson).unwrap();
        assert_eq!(ev.event_id, Some(4688));
        assert_eq!(ev.record_id, Some(42));
        assert_eq!(ev.time, Some(1_553_038_465_123));
        assert_eq!(ev.int("NewProcessId"), Some(16));
        assert_eq!(ev.text("SubjectUserName").as_deref(), Some("bob"));
    }

    #[test]
    fn winlogbeat6_uses_computer_name_and_event_data_user() {
        let v = json!({"event_id": 3, "log_name": "Microsoft-Windows-Sysmon/Operational",
            "computer_name": "WS", "host": {"name": "wec"}, "user": {"name": "SYSTEM"},
            "@timestamp": "2019-05-18T10:00:00.000Z", "event_data": {"User": "CORP\\alice"}});
        let ev = win_event(obj(v), Layout::Winlogbeat6).unwrap();
        assert_eq!(ev.computer.as_deref(), Some("WS"));
        assert_eq!(ev.text("User").as_deref(), Some("CORP\\alice"));
        assert_eq!(ev.text("host.name").as_deref(), Some("wec"));
    }

    #[test]
    fn azure_event_data_strings_are_parsed() {
        let v = json!({"EventID": 3, "Computer": "h", "TimeGenerated": "2022-05-13T08:54:05.1230000Z",
            "Channel": "Microsoft-Windows-Sysmon/Operational",
            "EventData": "{\"Image\":\"C:\\\\a.exe\",\"DestinationPort\":\"443\"}"});
        let ev = win_event(obj(v), Layout::AzureWindowsEvent).unwrap();
        assert_eq!(ev.int("DestinationPort"), Some(443));
        let v = json!({"EventID": 5156, "Computer": "h", "EventSourceName": "Microsoft-Windows-Security-Auditing",
            "Channel": "Security",
            "EventData": "<EventData xmlns=\"http://x\"><Data Name=\"Application\">\\device\\a &amp; b.exe</Data><Data Name=\"DestPort\">443</Data></EventData>"});
        let ev = win_event(obj(v), Layout::AzureSecurityEvent).unwrap();
        assert_eq!(
            ev.text("Application").as_deref(),
            Some("\\device\\a & b.exe")
        );
        assert_eq!(ev.int("DestPort"), Some(443));
    }

    #[test]
    fn zone_less_times_are_kept_aside() {
        let v = json!({"EventID": 1, "Channel": "c", "Hostname": "h", "TimeCreated": "2020-09-21 19:27:55.123"});
        let ev = win_event(obj(v), Layout::MordorFlat).unwrap();
        assert_eq!(ev.time, None);
        assert_eq!(ev.local_time.as_deref(), Some("2020-09-21 19:27:55.123"));
    }
}
