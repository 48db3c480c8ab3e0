//! A Windows event as the generator builds it: the `System` block and the
//! named `EventData` values, each with the type Windows gives it (Sysmon's
//! `ProcessId` is a UInt32, its `ProcessGuid` a GUID, `Initiated` a Boolean;
//! 4688's PIDs are HexInt64). Layout writers render it as JSON or BinXML.

/// An event provider and the channel it writes to.
#[derive(Debug, PartialEq, Eq)]
pub struct Provider {
    /// Provider name.
    pub name: &'static str,
    /// Provider GUID (registry form, no braces).
    pub guid: &'static str,
    /// Channel.
    pub channel: &'static str,
}

/// Sysmon.
pub const SYSMON: Provider = Provider {
    name: "Microsoft-Windows-Sysmon",
    guid: "5770385f-c22a-43e0-bf4c-06f5698ffbd9",
    channel: "Microsoft-Windows-Sysmon/Operational",
};
/// The Security log.
pub const SECURITY: Provider = Provider {
    name: "Microsoft-Windows-Security-Auditing",
    guid: "54849625-5478-4994-a5ba-3e3b0328c30d",
    channel: "Security",
};
/// The DNS client's operational log (3008, 3020, ...).
pub const DNS_CLIENT: Provider = Provider {
    name: "Microsoft-Windows-DNS-Client",
    guid: "1c95126e-7eea-49a9-a3fe-a378b03ddb4d",
    channel: "Microsoft-Windows-DNS-Client/Operational",
};
/// The BITS client's operational log (3, 59, 60, 4, 16403).
pub const BITS_CLIENT: Provider = Provider {
    name: "Microsoft-Windows-Bits-Client",
    guid: "ef1cc15b-46c1-414e-bb95-e76b077bd51e",
    channel: "Microsoft-Windows-Bits-Client/Operational",
};

/// A typed event value.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Val {
    /// UTF-16 string.
    Str(String),
    /// UInt8.
    U8(u8),
    /// UInt16.
    U16(u16),
    /// UInt32.
    U32(u32),
    /// UInt64.
    U64(u64),
    /// Boolean (stored as a 32-bit integer).
    Bool(bool),
    /// GUID, registry form without braces.
    Guid(String),
    /// HexInt64 (4688's process ids).
    HexInt64(u64),
}

impl Val {
    /// A string value.
    pub fn s(v: impl Into<String>) -> Val {
        Val::Str(v.into())
    }

    /// The text Windows renders for the value (what `wevtutil` and the `evtx`
    /// crate show, and what Winlogbeat puts into `event_data`).
    pub fn text(&self) -> String {
        match self {
            Val::Str(s) => s.clone(),
            Val::U8(v) => v.to_string(),
            Val::U16(v) => v.to_string(),
            Val::U32(v) => v.to_string(),
            Val::U64(v) => v.to_string(),
            Val::Bool(v) => v.to_string(),
            Val::Guid(g) => format!("{{{}}}", g.to_ascii_uppercase()),
            Val::HexInt64(v) => format!("0x{v:x}"),
        }
    }

    /// The value as `evtx_dump` renders it in JSON: numbers and booleans as
    /// JSON numbers and booleans, GUIDs in lower case, everything else as text.
    pub fn json(&self) -> serde_json::Value {
        match self {
            Val::Guid(g) => format!("{{{}}}", g.to_ascii_lowercase()).into(),
            Val::U8(v) => (*v).into(),
            Val::U16(v) => (*v).into(),
            Val::U32(v) => (*v).into(),
            Val::U64(v) => (*v).into(),
            Val::Bool(v) => (*v).into(),
            other => other.text().into(),
        }
    }
}

/// One Windows event.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct WinEvent {
    /// Provider and channel.
    pub provider: &'static Provider,
    /// Event id.
    pub event_id: u16,
    /// Event version.
    pub version: u8,
    /// Level (4 information, 0 for audit events).
    pub level: u8,
    /// Task.
    pub task: u16,
    /// Opcode.
    pub opcode: u8,
    /// Keywords.
    pub keywords: u64,
    /// Time created, microseconds since the Unix epoch (UTC).
    pub time_us: i64,
    /// Record id within its channel.
    pub record_id: u64,
    /// The logging process (`Execution ProcessID`).
    pub pid: u32,
    /// The logging thread.
    pub tid: u32,
    /// The host (`Computer`).
    pub computer: String,
    /// `Security UserID`, when the provider records one.
    pub user_sid: Option<String>,
    /// `EventData`, in order.
    pub data: Vec<(&'static str, Val)>,
}

impl WinEvent {
    /// The value of a data field.
    pub fn get(&self, name: &str) -> Option<&Val> {
        self.data.iter().find(|(k, _)| *k == name).map(|(_, v)| v)
    }

    /// `TimeCreated` in RFC 3339 with `digits` fractional digits (3 for ECS's
    /// `@timestamp`; 7, FILETIME's 100 ns, for `evtx_dump`).
    pub fn time_rfc3339(&self, digits: u32) -> String {
        if digits > 6 {
            let t = rfc3339(self.time_us, 6);
            return format!(
                "{}{}Z",
                t.trim_end_matches('Z'),
                "0".repeat(digits as usize - 6)
            );
        }
        rfc3339(self.time_us, digits)
    }
}

/// Microseconds since the epoch as RFC 3339 UTC with `digits` (0-6) fractional digits.
pub fn rfc3339(time_us: i64, digits: u32) -> String {
    let secs = time_us.div_euclid(1_000_000);
    let micros = time_us.rem_euclid(1_000_000);
    let base = chrono::DateTime::from_timestamp(secs, 0)
        .unwrap_or_default()
        .format("%Y-%m-%dT%H:%M:%S")
        .to_string();
    match digits.min(6) {
        0 => format!("{base}Z"),
        d => {
            let frac = format!("{micros:06}");
            format!("{base}.{}Z", &frac[..d as usize])
        }
    }
}

/// Sysmon's `UtcTime`: `2025-11-20 09:14:02.101`.
pub fn sysmon_utc(time_us: i64) -> String {
    rfc3339(time_us, 3)
        .replace('T', " ")
        .trim_end_matches('Z')
        .to_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn times_render_as_windows_and_sysmon_do() {
        // 2025-11-20T09:14:02.101234Z
        let t = 1_763_630_042_101_234;
        assert_eq!(rfc3339(t, 3), "2025-11-20T09:14:02.101Z");
        assert_eq!(rfc3339(t, 6), "2025-11-20T09:14:02.101234Z");
        assert_eq!(rfc3339(t, 0), "2025-11-20T09:14:02Z");
        assert_eq!(sysmon_utc(t), "2025-11-20 09:14:02.101");
    }

    #[test]
    fn values_render_as_windows_does() {
        assert_eq!(Val::HexInt64(0x1a2b).text(), "0x1a2b");
        assert_eq!(
            Val::Guid("6f1c0a1e-0001-4a5b-9c2d-000000000101".into()).text(),
            "{6F1C0A1E-0001-4A5B-9C2D-000000000101}"
        );
        assert_eq!(Val::Bool(true).json(), serde_json::json!(true));
        assert_eq!(Val::U16(443).json(), serde_json::json!(443));
    }
}
