//! JSON layouts of generated events, as the real shippers write them.

use crate::event::WinEvent;
use serde_json::{json, Map, Value};

/// A JSON-lines layout.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Layout {
    /// Winlogbeat 7+ / Elastic Common Schema: `winlog.event_data`, values as text.
    Ecs,
    /// `evtx_dump -o jsonl` from the `evtx` crate: `Event.System` with
    /// `#attributes`, typed values.
    EvtxDump,
}

impl Layout {
    /// Every layout.
    pub const ALL: [Layout; 2] = [Layout::Ecs, Layout::EvtxDump];

    /// Short name, used in file names and reports.
    pub fn name(self) -> &'static str {
        match self {
            Layout::Ecs => "ecs",
            Layout::EvtxDump => "evtx-dump",
        }
    }

    /// One event as a JSON object.
    pub fn render(self, ev: &WinEvent) -> Value {
        match self {
            Layout::Ecs => ecs(ev),
            Layout::EvtxDump => evtx_dump(ev),
        }
    }

    /// Events as JSON lines.
    pub fn lines(self, events: &[WinEvent]) -> String {
        let mut out = String::new();
        for ev in events {
            out.push_str(&self.render(ev).to_string());
            out.push('\n');
        }
        out
    }
}

fn ecs(ev: &WinEvent) -> Value {
    let data: Map<String, Value> = ev
        .data
        .iter()
        .map(|(k, v)| ((*k).to_owned(), Value::from(v.text())))
        .collect();
    let mut winlog = json!({
        "channel": ev.provider.channel,
        "provider_name": ev.provider.name,
        "provider_guid": format!("{{{}}}", ev.provider.guid),
        "computer_name": ev.computer,
        "event_id": ev.event_id.to_string(),
        "record_id": ev.record_id,
        "version": ev.version,
        "task": ev.task.to_string(),
        "opcode": ev.opcode.to_string(),
        "keywords": [format!("0x{:x}", ev.keywords)],
        "process": {"pid": ev.pid, "thread": {"id": ev.tid}},
        "event_data": data,
    });
    if let (Some(sid), Some(w)) = (&ev.user_sid, winlog.as_object_mut()) {
        w.insert("user".into(), json!({ "identifier": sid }));
    }
    json!({
        "@timestamp": ev.time_rfc3339(3),
        "event": {
            "code": ev.event_id.to_string(),
            "provider": ev.provider.name,
            "kind": "event",
            "module": if ev.provider.name == crate::event::SYSMON.name { "sysmon" } else { "windows" },
        },
        "host": {"name": ev.computer.to_ascii_lowercase()},
        "agent": {"type": "winlogbeat", "version": "8.15.0"},
        "winlog": winlog,
    })
}

/// The `System` and `EventData` blocks as `evtx_dump` writes them.
pub fn evtx_dump(ev: &WinEvent) -> Value {
    let data: Map<String, Value> = ev
        .data
        .iter()
        .map(|(k, v)| ((*k).to_owned(), v.json()))
        .collect();
    let security = match &ev.user_sid {
        Some(sid) => json!({"#attributes": {"UserID": sid}}),
        None => Value::Null,
    };
    json!({
        "Event": {
            "#attributes": {"xmlns": "http://schemas.microsoft.com/win/2004/08/events/event"},
            "System": {
                "Provider": {"#attributes": {
                    "Name": ev.provider.name,
                    "Guid": format!("{{{}}}", ev.provider.guid),
                }},
                "EventID": ev.event_id,
                "Version": ev.version,
                "Level": ev.level,
                "Task": ev.task,
                "Opcode": ev.opcode,
                "Keywords": format!("0x{:x}", ev.keywords),
                "TimeCreated": {"#attributes": {"SystemTime": ev.time_rfc3339(7)}},
                "EventRecordID": ev.record_id,
                "Correlation": null,
                "Execution": {"#attributes": {"ProcessID": ev.pid, "ThreadID": ev.tid}},
                "Channel": ev.provider.channel,
                "Computer": ev.computer,
                "Security": security,
            },
            // An empty element is `null` in evtx_dump, as `Correlation` is.
            "EventData": if data.is_empty() { Value::Null } else { Value::Object(data) },
        }
    })
}
