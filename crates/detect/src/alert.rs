//! Alerts: one per matching event and rule, with the same columns as a
//! `portent hunt` row (rule id, title, ATT&CK ids, severity, the query's own
//! columns, then host, source, record and time), plus what a stream adds: a
//! stable alert id, the source it came in on and when it was received.

use portent_core::{Value, Zone};
use serde_json::Value as J;
use std::hash::{Hash, Hasher};
use std::time::Instant;

/// A rule's descriptive fields, as alerts carry them.
#[derive(Clone, Debug, Default)]
pub struct RuleMeta {
    /// Stable id.
    pub id: String,
    /// One line for people.
    pub title: String,
    /// ATT&CK technique ids.
    pub attack: Vec<String>,
    /// low, medium, high, critical.
    pub severity: String,
    /// Sigma's author (the Detection Rule License asks that alerts name it).
    pub author: String,
    /// Tags as the rule gives them.
    pub tags: Vec<String>,
}

/// One alert.
#[derive(Clone, Debug)]
pub struct Alert {
    /// Stable across restarts and redeliveries: the event's own id and the rule's.
    pub id: String,
    /// The rule's id.
    pub rule: String,
    /// Columns in order.
    pub cells: Vec<(String, J)>,
    /// When the event that caused it was received.
    pub received: Instant,
    /// Alerts with the same key are repeats of each other (dedup folding).
    pub key: u64,
}

impl Alert {
    /// The value of column `name`.
    pub fn get(&self, name: &str) -> Option<&J> {
        self.cells.iter().find(|(k, _)| k == name).map(|(_, v)| v)
    }

    /// Sets column `name`, adding it at the end when new.
    pub fn set(&mut self, name: &str, v: J) {
        match self.cells.iter_mut().find(|(k, _)| k == name) {
            Some(c) => c.1 = v,
            None => self.cells.push((name.to_owned(), v)),
        }
    }

    /// One JSON object, columns in order, without a newline.
    pub fn to_json_line(&self) -> String {
        let mut s = String::with_capacity(512);
        s.push('{');
        for (i, (k, v)) in self.cells.iter().enumerate() {
            if i > 0 {
                s.push(',');
            }
            // Never fails: strings and JSON values always serialise.
            s.push_str(&serde_json::to_string(k).unwrap_or_default());
            s.push(':');
            s.push_str(&serde_json::to_string(v).unwrap_or_default());
        }
        s.push('}');
        s
    }
}

/// A value as JSON: IPs as text, times as numbers (the caller formats times).
pub fn json(v: &Value<'_>) -> J {
    match v {
        Value::Null => J::Null,
        Value::Bool(b) => (*b).into(),
        Value::Int(i) => (*i).into(),
        Value::Float(f) => serde_json::Number::from_f64(*f).map_or(J::Null, J::Number),
        Value::Str(s) => s.as_ref().into(),
        Value::Ip(ip) => ip.to_string().into(),
    }
}

/// Epoch milliseconds as RFC 3339 in `zone`, with milliseconds.
pub fn rfc3339(ms: i64, zone: &Zone) -> String {
    zone.rfc3339(ms)
}

/// The dedup key: the rule, the host and every column of the rule's own that
/// is not a time (a repeat differs only in when it happened).
pub fn key_of(rule: &str, host: &J, own: &[(String, J)]) -> u64 {
    let mut h = std::collections::hash_map::DefaultHasher::new();
    rule.hash(&mut h);
    host.to_string().hash(&mut h);
    for (k, v) in own {
        if k.to_ascii_lowercase().contains("time") {
            continue;
        }
        k.hash(&mut h);
        v.to_string().hash(&mut h);
    }
    h.finish()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lines_keep_column_order_and_keys_ignore_times() {
        let a = Alert {
            id: "x".into(),
            rule: "r".into(),
            cells: vec![("z".into(), J::from(1)), ("a".into(), J::from("b\"c"))],
            received: Instant::now(),
            key: 0,
        };
        assert_eq!(a.to_json_line(), r#"{"z":1,"a":"b\"c"}"#);
        let k1 = key_of(
            "r",
            &J::from("h"),
            &[
                ("event_time".into(), J::from(1)),
                ("p".into(), J::from("x")),
            ],
        );
        let k2 = key_of(
            "r",
            &J::from("h"),
            &[
                ("event_time".into(), J::from(2)),
                ("p".into(), J::from("x")),
            ],
        );
        let k3 = key_of(
            "r",
            &J::from("h"),
            &[
                ("event_time".into(), J::from(2)),
                ("p".into(), J::from("y")),
            ],
        );
        assert_eq!(k1, k2);
        assert_ne!(k1, k3);
        assert_eq!(rfc3339(0, &Zone::utc()), "1970-01-01T00:00:00.000+00:00");
    }
}
