//! Windows event logs into QRadar's `events` model. Every layout reader (EVTX,
//! Winlogbeat, NXLog, Mordor, Azure) first brings an event into [`WinEvent`]:
//! the system part and the event data as named source fields; this module then
//! sets the normalised fields. The mapping is documented in `docs/MAPPING.md`.

use crate::convert::{json_int, json_text, json_value, parse_bool, parse_time};
use crate::ReadOptions;
use portent_core::schema::{ids, FieldKind};
use portent_core::{FieldId, Record, Schema, Value};
use serde_json::Value as J;

/// QRadar's log source type of every Windows event log, Sysmon included (AQL-NOTES §3).
pub const WINDOWS_DEVICE_TYPE: i64 = 12;

/// A Windows event in layout-neutral form.
#[derive(Clone, Debug, Default)]
pub struct WinEvent {
    /// EventID.
    pub event_id: Option<i64>,
    /// Channel (`Security`, `Microsoft-Windows-Sysmon/Operational`).
    pub channel: Option<String>,
    /// Provider (`Microsoft-Windows-Sysmon`).
    pub provider: Option<String>,
    /// The endpoint that logged the event (never the collector).
    pub computer: Option<String>,
    /// Event time, epoch ms, when the layout gives one with a zone.
    pub time: Option<i64>,
    /// A zone-less local time, used when no zoned time is known.
    pub local_time: Option<String>,
    /// The record number in its log.
    pub record_id: Option<i64>,
    /// Source fields: the event data plus any other keys of the layout, by their own names.
    pub data: Vec<(String, J)>,
    /// What the reader already knows of each `data` entry, in the same order
    /// (the EVTX template reader works it out once per template, not per
    /// event); empty when it knows nothing, and the names are looked up.
    pub known: Vec<Known>,
}

/// A source field's schema id and its place among [`NORMALISED_SOURCES`].
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Known {
    /// `Schema::resolve` of the name.
    pub id: Option<FieldId>,
    /// Index in `NORMALISED_SOURCES`, and whether the spelling is exact.
    pub source: Option<(u8, bool)>,
}

thread_local! {
    /// What each source field name means, for the schema of the given stamp:
    /// JSON readers meet the same few hundred names in every event.
    static KNOWN: std::cell::RefCell<(u64, KnownMap)> =
        std::cell::RefCell::new((0, KnownMap::default()));
}

// SipHash: the names come from the input, and this map grows from them.
type KnownMap = std::collections::HashMap<String, Known>;

/// Names cached per thread at most; beyond, the cache starts again.
const KNOWN_CAPACITY: usize = 8192;

impl Known {
    /// Runs `f` with a lookup of [`Known::of`] through the per-thread cache
    /// (one cache access for a whole event).
    pub fn with_cache<R>(schema: &Schema, f: impl FnOnce(&mut dyn FnMut(&str) -> Known) -> R) -> R {
        KNOWN.with(|cache| {
            let mut cache = cache.borrow_mut();
            if cache.0 != schema.stamp() || cache.1.len() > KNOWN_CAPACITY {
                cache.1.clear();
                cache.0 = schema.stamp();
            }
            let map = &mut cache.1;
            let mut get = |name: &str| match map.get(name) {
                Some(k) => *k,
                None => {
                    let k = Known::of(name, schema);
                    map.insert(name.to_owned(), k);
                    k
                }
            };
            f(&mut get)
        })
    }

    /// [`Known::of`] for every data name of `ev` that the reader did not work out.
    pub fn fill(ev: &mut WinEvent, schema: &Schema) {
        if ev.known.len() == ev.data.len() {
            return;
        }
        let data = &ev.data;
        ev.known = Known::with_cache(schema, |get| {
            data.iter().map(|(name, _)| get(name)).collect()
        });
    }

    /// Whether a field so known can end up in the record: the schema knows it
    /// or normalisation reads it.
    pub fn wanted(self) -> bool {
        self.id.is_some() || self.source.is_some()
    }

    /// Works out what a source field name means, once.
    pub fn of(name: &str, schema: &Schema) -> Known {
        Known {
            id: schema.resolve(name),
            source: NORMALISED_SOURCES
                .iter()
                .position(|n| n.eq_ignore_ascii_case(name))
                .map(|i| (i as u8, NORMALISED_SOURCES[i] == name)),
        }
    }
}

/// Source fields the normalisation reads (`normalise`), any case: readers that
/// skip fields no query names must still keep these.
pub const NORMALISED_SOURCES: &[&str] = &[
    "Image",
    "CommandLine",
    "ParentImage",
    "ParentCommandLine",
    "ProcessId",
    "ParentProcessId",
    "ProcessGuid",
    "ParentProcessGuid",
    "User",
    "SourceIp",
    "DestinationIp",
    "SourcePort",
    "DestinationPort",
    "Protocol",
    "Initiated",
    "TargetFilename",
    "OriginalFileName",
    "DestinationHostname",
    "UtcTime",
    "NewProcessName",
    "NewProcessId",
    "ParentProcessName",
    "Application",
    "SourceAddress",
    "DestAddress",
    "DestPort",
    "Direction",
    "ProcessName",
    "IpAddress",
    "IpPort",
    "TargetUserName",
    "SubjectUserName",
];

/// The source fields normalisation reads, found in one pass over the event data
/// (a lookup per name would scan the data once per name, twice when absent).
struct Sources<'e> {
    slots: [Option<&'e J>; NORMALISED_SOURCES.len()],
}

impl<'e> Sources<'e> {
    fn of(ev: &'e WinEvent) -> Sources<'e> {
        let mut slots = [None; NORMALISED_SOURCES.len()];
        let mut exact = [false; NORMALISED_SOURCES.len()];
        let known = ev.known.len() == ev.data.len();
        for (n, (k, v)) in ev.data.iter().enumerate() {
            if v.is_null() {
                continue;
            }
            let source = match known {
                true => ev.known[n].source.map(|(i, e)| (usize::from(i), e)),
                false => NORMALISED_SOURCES
                    .iter()
                    .position(|n| n.eq_ignore_ascii_case(k))
                    .map(|i| (i, NORMALISED_SOURCES[i] == k)),
            };
            if let Some((i, is_exact)) = source {
                // An exact spelling wins over another case (`ProcessID` / `ProcessId`).
                if slots[i].is_none() || (is_exact && !exact[i]) {
                    slots[i] = Some(v);
                    exact[i] = is_exact;
                }
            }
        }
        Sources { slots }
    }

    fn field(&self, name: &str) -> Option<&'e J> {
        // Callers name the sources as NORMALISED_SOURCES spells them.
        let i = NORMALISED_SOURCES
            .iter()
            .position(|n| *n == name)
            .or_else(|| {
                NORMALISED_SOURCES
                    .iter()
                    .position(|n| n.eq_ignore_ascii_case(name))
            })?;
        self.slots[i]
    }

    fn text(&self, name: &str) -> Option<String> {
        self.field(name)
            .and_then(json_text)
            .filter(|s| !s.is_empty() && s != "-")
    }

    fn int(&self, name: &str) -> Option<i64> {
        self.field(name).and_then(json_int)
    }
}

/// The kind of an event from its id, channel and provider. Channels and
/// providers are both checked: other providers reuse ids 1 and 3 (Kernel-IO),
/// and the channel's case varies (`security`).
pub fn kind(event_id: Option<i64>, channel: Option<&str>, provider: Option<&str>) -> Kind {
    let Some(id) = event_id else {
        return Kind::Other;
    };
    // The canonical spelling is the common one: an exact compare first.
    let is = |v: Option<&str>, s: &str| v.is_some_and(|x| x == s || x.eq_ignore_ascii_case(s));
    let channel_known = channel.is_some_and(|c| !c.is_empty());
    if is(channel, "Microsoft-Windows-Sysmon/Operational")
        || (!channel_known && is(provider, "Microsoft-Windows-Sysmon"))
    {
        Kind::Sysmon(id)
    } else if is(channel, "Security")
        || (!channel_known && is(provider, "Microsoft-Windows-Security-Auditing"))
    {
        Kind::Security(id)
    } else {
        Kind::Other
    }
}

/// What kind of Windows event, by channel or provider and id.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Kind {
    /// Microsoft-Windows-Sysmon/Operational, with its event id.
    Sysmon(i64),
    /// The Security log, with its event id.
    Security(i64),
    /// Anything else.
    Other,
}

impl WinEvent {
    /// The event's kind. Channels and providers are both checked: other providers
    /// reuse ids 1 and 3 (Kernel-IO), and the channel's case varies (`security`).
    pub fn kind(&self) -> Kind {
        kind(
            self.event_id,
            self.channel.as_deref(),
            self.provider.as_deref(),
        )
    }

    /// A source field by name: exact first, then in any case (`ProcessID` / `ProcessId`).
    pub fn field(&self, name: &str) -> Option<&J> {
        self.data
            .iter()
            .find(|(k, _)| k == name)
            .or_else(|| self.data.iter().find(|(k, _)| k.eq_ignore_ascii_case(name)))
            .map(|(_, v)| v)
            .filter(|v| !v.is_null())
    }

    /// A source field as text; empty text and Windows' `-` placeholder count as absent.
    pub fn text(&self, name: &str) -> Option<String> {
        self.field(name)
            .and_then(json_text)
            .filter(|s| !s.is_empty() && s != "-")
    }

    /// A source field as an integer (decimal or `0x` hexadecimal).
    pub fn int(&self, name: &str) -> Option<i64> {
        self.field(name).and_then(json_int)
    }

    /// The event time: a zoned time of the layout, else the zone-less local
    /// time read in `--input-tz`, else Sysmon's `UtcTime` (UTC by definition).
    pub fn event_time(&self, opts: &ReadOptions) -> Option<i64> {
        if self.time.is_some() {
            return self.time;
        }
        if let Some(t) = self
            .local_time
            .as_deref()
            .and_then(|t| parse_time(t, &opts.input_zone))
        {
            return Some(t);
        }
        self.text("UtcTime")
            .and_then(|t| parse_time(&t, &portent_core::Zone::utc()))
    }
}

/// NXLog names an event's unnamed `<Data>` elements `param1`, `param2`, ...
pub fn is_param(name: &str) -> bool {
    name.strip_prefix("param")
        .is_some_and(|n| !n.is_empty() && n.bytes().all(|b| b.is_ascii_digit()))
}

/// The unnamed `<Data>` elements under the name EVTX and Sigma give them,
/// `Data` (one per line), when the layout spread them over `param1`,
/// `param2`, ... and a query asks for `Data`.
fn data_from_params(ev: &WinEvent, schema: &Schema) -> Option<(FieldId, String)> {
    let id = schema.resolve("Data")?;
    if ev.data.iter().any(|(k, _)| k.eq_ignore_ascii_case("Data")) {
        return None;
    }
    let mut params: Vec<(u32, String)> = ev
        .data
        .iter()
        .filter(|(k, _)| is_param(k))
        .filter_map(|(k, v)| Some((k[5..].parse().ok()?, json_text(v).unwrap_or_default())))
        .collect();
    if params.is_empty() {
        return None;
    }
    params.sort_by_key(|(n, _)| *n);
    let text: Vec<String> = params.into_iter().map(|(_, t)| t).collect();
    Some((id, text.join("\n")))
}

/// Builds the QRadar record of `ev`. Source fields are set first under their own
/// names; the normalised fields are set after them and win where the names meet
/// (NXLog's text `Category` and `Severity` must not become `category`/`severity`).
pub fn to_record(mut ev: WinEvent, schema: &Schema, opts: &ReadOptions) -> Record<'static> {
    let mut rec = Record::with_capacity(schema.len());
    if let Some((id, text)) = data_from_params(&ev, schema) {
        rec.set(id, Value::string(text));
    }
    let kind = ev.kind();
    let time = ev.event_time(opts);
    let mut n = Normalised::default();
    normalise(&ev, kind, &mut n);
    let host = ev.computer.take();
    let channel_name = ev.channel.clone();
    let provider = ev.provider.take();
    let (event_id, record_id) = (ev.event_id, ev.record_id);
    let known = std::mem::take(&mut ev.known);
    let known = (known.len() == ev.data.len()).then_some(known);
    for (n, (k, v)) in ev.data.into_iter().enumerate() {
        let id = match &known {
            Some(known) => known[n].id,
            None => schema.resolve(&k),
        };
        match id {
            Some(id) => {
                let def = schema.def(id);
                if def.is_some_and(|d| d.kind == FieldKind::Standard) {
                    if opts.keep_unknown {
                        rec.set_extra(k, json_value(v, None, &opts.input_zone));
                    }
                    continue;
                }
                let ty = def.and_then(|d| d.ty);
                rec.set(id, json_value(v, ty, &opts.input_zone));
            }
            None if opts.keep_unknown => rec.set_extra(k, json_value(v, None, &opts.input_zone)),
            None => {}
        }
    }
    let channel = channel_name.clone().or_else(|| provider.clone());
    set_opt_int(&mut rec, ids::STARTTIME, time);
    set_opt_int(&mut rec, ids::DEVICETIME, time);
    rec.set(ids::DEVICETYPE, Value::Int(WINDOWS_DEVICE_TYPE));
    rec.set(ids::EVENTCOUNT, Value::Int(1));
    set_opt_int(&mut rec, ids::EVENT_ID, event_id);
    set_opt_int(&mut rec, ids::RECORD_NUMBER, record_id);
    set_opt_str(&mut rec, ids::CHANNEL, channel_name);
    set_opt_str(&mut rec, ids::PROVIDER, provider);
    set_opt_str(&mut rec, ids::HOSTNAME, host.clone());
    let (source, source_id) = log_source(host.as_deref(), channel.as_deref());
    rec.set(ids::LOGSOURCEID, Value::Int(source_id));
    rec.set(ids::LOGSOURCENAME, Value::string(source));
    let (category, high, qid) = category_of(kind);
    rec.set(ids::CATEGORY, Value::Int(category));
    rec.set(ids::HIGHLEVELCATEGORY, Value::Int(high));
    set_opt_int(&mut rec, ids::QID, qid);
    n.apply(&mut rec);
    rec
}

/// The normalised values one event yields.
#[derive(Default)]
struct Normalised {
    process_path: Option<String>,
    command: Option<String>,
    parent_path: Option<String>,
    parent_command: Option<String>,
    pid: Option<i64>,
    ppid: Option<i64>,
    guid: Option<String>,
    parent_guid: Option<String>,
    username: Option<String>,
    src_ip: Option<String>,
    dst_ip: Option<String>,
    src_port: Option<i64>,
    dst_port: Option<i64>,
    protocol: Option<i64>,
    initiated: Option<bool>,
    direction: Option<&'static str>,
    filename: Option<String>,
    original_file_name: Option<String>,
    destination_hostname: Option<String>,
}

fn normalise(event: &WinEvent, kind: Kind, n: &mut Normalised) {
    let ev = Sources::of(event);
    match kind {
        Kind::Sysmon(_) => {
            n.process_path = ev.text("Image");
            n.command = ev.text("CommandLine");
            n.parent_path = ev.text("ParentImage");
            n.parent_command = ev.text("ParentCommandLine");
            n.pid = ev.int("ProcessId");
            n.ppid = ev.int("ParentProcessId");
            n.guid = ev.text("ProcessGuid").map(|g| normalise_guid(&g));
            n.parent_guid = ev.text("ParentProcessGuid").map(|g| normalise_guid(&g));
            n.username = ev.text("User");
            n.src_ip = ev.text("SourceIp");
            n.dst_ip = ev.text("DestinationIp");
            n.src_port = ev.int("SourcePort");
            n.dst_port = ev.int("DestinationPort");
            n.protocol = ev.text("Protocol").and_then(|p| protocol_number(&p));
            n.initiated = ev.field("Initiated").and_then(|v| match v {
                J::Bool(b) => Some(*b),
                other => json_text(other).and_then(|t| parse_bool(&t)),
            });
            n.filename = ev.text("TargetFilename");
            n.original_file_name = ev.text("OriginalFileName");
            n.destination_hostname = ev.text("DestinationHostname");
        }
        Kind::Security(id) => {
            match id {
                4688 => {
                    n.process_path = ev.text("NewProcessName");
                    n.pid = ev.int("NewProcessId");
                    n.ppid = ev.int("ProcessId");
                    n.command = ev.text("CommandLine");
                    n.parent_path = ev.text("ParentProcessName");
                }
                5031 | 5150..=5159 => {
                    n.process_path = ev.text("Application");
                    n.pid = ev.int("ProcessID");
                    n.src_ip = ev.text("SourceAddress");
                    n.dst_ip = ev.text("DestAddress");
                    n.src_port = ev.int("SourcePort");
                    n.dst_port = ev.int("DestPort");
                    n.protocol = ev.int("Protocol");
                    n.direction = ev.text("Direction").and_then(|d| direction(&d));
                    n.initiated = n.direction.map(|d| d == "Outbound");
                }
                _ => {
                    n.process_path = ev.text("ProcessName").or_else(|| ev.text("NewProcessName"));
                    n.pid = ev.int("ProcessId");
                    n.src_ip = ev.text("IpAddress");
                    n.src_port = ev.int("IpPort");
                }
            }
            // The account the event is about; `-` (absent) falls back to the actor.
            n.username = ev
                .text("TargetUserName")
                .or_else(|| ev.text("SubjectUserName"));
        }
        Kind::Other => {
            n.username = ev.text("User").or_else(|| ev.text("TargetUserName"));
            n.process_path = ev.text("Image").or_else(|| ev.text("ProcessName"));
        }
    }
}

impl Normalised {
    fn apply(self, rec: &mut Record<'static>) {
        if let Some(p) = &self.process_path {
            rec.set(ids::PROCESS_NAME, Value::string(p.clone()));
        }
        set_opt_str(rec, ids::PROCESS_PATH, self.process_path);
        set_opt_str(rec, ids::COMMAND, self.command);
        if let Some(p) = &self.parent_path {
            rec.set(ids::PARENT_PROCESS_NAME, Value::string(p.clone()));
        }
        set_opt_str(rec, ids::PARENT_PROCESS_PATH, self.parent_path);
        set_opt_str(rec, ids::PARENT_COMMAND, self.parent_command);
        set_opt_int(rec, ids::PROCESS_ID, self.pid);
        set_opt_int(rec, ids::PARENT_PROCESS_ID, self.ppid);
        set_opt_str(rec, ids::PROCESS_GUID, self.guid);
        set_opt_str(rec, ids::PARENT_PROCESS_GUID, self.parent_guid);
        set_opt_str(rec, ids::USERNAME, self.username);
        let ip = |s: Option<String>| s.and_then(|s| portent_core::value::parse_ip(&s));
        if let Some(a) = ip(self.src_ip) {
            rec.set(ids::SOURCEIP, Value::Ip(a));
        }
        if let Some(a) = ip(self.dst_ip) {
            rec.set(ids::DESTINATIONIP, Value::Ip(a));
        }
        set_opt_int(rec, ids::SOURCEPORT, self.src_port);
        set_opt_int(rec, ids::DESTINATIONPORT, self.dst_port);
        set_opt_int(rec, ids::PROTOCOLID, self.protocol);
        if let Some(b) = self.initiated {
            rec.set(ids::INITIATED, Value::Bool(b));
        }
        if let Some(d) = self.direction {
            rec.set(ids::DIRECTION, Value::str(d));
        }
        set_opt_str(rec, ids::FILENAME, self.filename);
        set_opt_str(rec, ids::ORIGINAL_FILE_NAME, self.original_file_name);
        set_opt_str(rec, ids::DESTINATION_HOSTNAME, self.destination_hostname);
    }
}

fn set_opt_int(rec: &mut Record<'static>, id: FieldId, v: Option<i64>) {
    if let Some(v) = v {
        rec.set(id, Value::Int(v));
    }
}

fn set_opt_str(rec: &mut Record<'static>, id: FieldId, v: Option<String>) {
    if let Some(v) = v {
        rec.set(id, Value::string(v));
    }
}

/// `{A57649D1-...}` and `a57649d1-...` are the same process: braces off, lower case.
pub fn normalise_guid(g: &str) -> String {
    g.trim()
        .trim_start_matches('{')
        .trim_end_matches('}')
        .to_ascii_lowercase()
}

/// WFP's direction codes, as Event Viewer renders them.
fn direction(code: &str) -> Option<&'static str> {
    match code.trim() {
        "%%14592" => Some("Inbound"),
        "%%14593" => Some("Outbound"),
        t if t.eq_ignore_ascii_case("inbound") => Some("Inbound"),
        t if t.eq_ignore_ascii_case("outbound") => Some("Outbound"),
        _ => None,
    }
}

/// IANA protocol number of a protocol name (Sysmon writes `tcp`/`udp`).
pub fn protocol_number(p: &str) -> Option<i64> {
    let p = p.trim();
    if let Some(n) = portent_core::value::parse_int(p) {
        return Some(n);
    }
    Some(match p.to_ascii_lowercase().as_str() {
        "icmp" => 1,
        "tcp" => 6,
        "udp" => 17,
        "icmpv6" | "ipv6-icmp" => 58,
        _ => return None,
    })
}

/// `Channel @ host`: QRadar has one log source per host and channel here.
pub fn log_source_name(host: Option<&str>, channel: Option<&str>) -> String {
    format!(
        "{} @ {}",
        channel.unwrap_or("Windows"),
        host.unwrap_or("unknown host")
    )
}

/// The log source name and id of a host and channel. A log holds few of
/// them, so the last one a thread built is kept instead of formatting and
/// hashing the same name for every event.
fn log_source(host: Option<&str>, channel: Option<&str>) -> (String, i64) {
    type Last = Option<(Option<String>, Option<String>, String, i64)>;
    thread_local! {
        static LAST: std::cell::RefCell<Last> = const { std::cell::RefCell::new(None) };
    }
    LAST.with(|last| {
        let mut last = last.borrow_mut();
        if let Some((h, c, name, id)) = last.as_ref() {
            if h.as_deref() == host && c.as_deref() == channel {
                return (name.clone(), *id);
            }
        }
        let name = log_source_name(host, channel);
        let id = log_source_id(&name);
        *last = Some((
            host.map(str::to_owned),
            channel.map(str::to_owned),
            name.clone(),
            id,
        ));
        (name, id)
    })
}

/// A stable id for a log source name: the same name gets the same id in every
/// run and every input order (FNV-1a, folded into QRadar's positive id range).
pub fn log_source_id(name: &str) -> i64 {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for b in name.bytes() {
        h ^= u64::from(b.to_ascii_lowercase());
        h = h.wrapping_mul(0x0100_0000_01b3);
    }
    // Above 10^6 so they never meet the small ids of a real deployment.
    1_000_000 + (h % 1_000_000_000) as i64
}

/// Low-level category, high-level category and QID (docs/MAPPING.md, AQL-NOTES §4, §5.4).
fn category_of(kind: Kind) -> (i64, i64, Option<i64>) {
    match kind {
        Kind::Sysmon(1) => (8110, 8000, Some(5_001_828)),
        Kind::Security(4688) => (8110, 8000, Some(5_000_862)),
        Kind::Sysmon(3) => (4012, 4000, Some(5_001_840)),
        Kind::Security(5156) => (4002, 4000, None),
        Kind::Security(5157) => (4003, 4000, None),
        Kind::Sysmon(5) | Kind::Security(4689) => (8113, 8000, None),
        Kind::Sysmon(11) => (8028, 8000, None),
        Kind::Sysmon(23 | 26) => (8033, 8000, None),
        Kind::Sysmon(12..=14) => (8012, 8000, None),
        _ => (8001, 8000, None),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use portent_core::Event;
    use serde_json::json;

    fn sysmon3() -> WinEvent {
        WinEvent {
            event_id: Some(3),
            channel: Some("Microsoft-Windows-Sysmon/Operational".into()),
            provider: Some("Microsoft-Windows-Sysmon".into()),
            computer: Some("WS1.corp".into()),
            time: Some(1000),
            data: vec![
                (
                    "Image".into(),
                    json!("C:\\Windows\\System32\\WindowsPowerShell\\v1.0\\powershell.exe"),
                ),
                ("DestinationPort".into(), json!("443")),
                ("DestinationIp".into(), json!("10.1.2.3")),
                ("Protocol".into(), json!("tcp")),
                ("Initiated".into(), json!("true")),
                ("User".into(), json!("CORP\\alice")),
                (
                    "ProcessGuid".into(),
                    json!("{A57649D1-0000-1111-2222-333344445555}"),
                ),
                ("Category".into(), json!("Network connection detected")),
            ],
            ..WinEvent::default()
        }
    }

    #[test]
    fn sysmon_network_connection() {
        let mut schema = Schema::qradar();
        let image = schema.intern("Image");
        let opts = ReadOptions::default();
        let r = to_record(sysmon3(), &schema, &opts);
        assert_eq!(r.get(ids::DEVICETYPE), Value::Int(12));
        assert_eq!(r.get(ids::DESTINATIONPORT), Value::Int(443));
        assert_eq!(r.get(ids::PROTOCOLID), Value::Int(6));
        assert_eq!(r.get(ids::INITIATED), Value::Bool(true));
        assert_eq!(r.get(ids::USERNAME), Value::str("CORP\\alice"));
        assert_eq!(r.get(ids::CATEGORY), Value::Int(4012));
        assert_eq!(
            r.get(ids::PROCESS_GUID),
            Value::str("a57649d1-0000-1111-2222-333344445555")
        );
        assert_eq!(r.get(image), r.get(ids::PROCESS_NAME));
        assert!(r.get(ids::LOGSOURCENAME).to_string().contains("@ WS1.corp"));
    }

    #[test]
    fn other_providers_reusing_ids_are_not_sysmon() {
        let mut ev = sysmon3();
        ev.channel = Some("Microsoft-Windows-Kernel-IO/Operational".into());
        assert_eq!(ev.kind(), Kind::Other);
        ev.channel = Some("security".into());
        ev.event_id = Some(5156);
        assert_eq!(ev.kind(), Kind::Security(5156));
    }

    #[test]
    fn wfp_5156_and_hex_4688() {
        let schema = Schema::qradar();
        let opts = ReadOptions::default();
        let ev = WinEvent {
            event_id: Some(5156),
            channel: Some("Security".into()),
            data: vec![
                (
                    "Application".into(),
                    json!("\\device\\harddiskvolume2\\windows\\system32\\notepad.exe"),
                ),
                ("ProcessId".into(), json!("4242")),
                ("Direction".into(), json!("%%14593")),
                ("DestPort".into(), json!("135")),
                ("Protocol".into(), json!("6")),
            ],
            ..WinEvent::default()
        };
        let r = to_record(ev, &schema, &opts);
        assert_eq!(r.get(ids::PROCESS_ID), Value::Int(4242));
        assert_eq!(r.get(ids::DESTINATIONPORT), Value::Int(135));
        assert_eq!(r.get(ids::DIRECTION), Value::str("Outbound"));
        assert_eq!(r.get(ids::INITIATED), Value::Bool(true));
        let ev = WinEvent {
            event_id: Some(4688),
            channel: Some("Security".into()),
            data: vec![
                ("NewProcessId".into(), json!("0x1a4")),
                ("ProcessId".into(), json!("0x4")),
                ("SubjectUserName".into(), json!("bob")),
                ("TargetUserName".into(), json!("-")),
            ],
            ..WinEvent::default()
        };
        let r = to_record(ev, &schema, &opts);
        assert_eq!(r.get(ids::PROCESS_ID), Value::Int(0x1a4));
        assert_eq!(r.get(ids::PARENT_PROCESS_ID), Value::Int(4));
        assert_eq!(r.get(ids::USERNAME), Value::str("bob"));
    }

    #[test]
    fn log_source_ids_are_stable_and_case_blind() {
        assert_eq!(log_source_id("Security @ A"), log_source_id("security @ a"));
        assert_ne!(log_source_id("Security @ A"), log_source_id("Security @ B"));
    }
}
