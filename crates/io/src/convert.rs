//! Turning source values (JSON values, text) into engine values and times.

use chrono::{DateTime, NaiveDateTime};
use portent_core::schema::FieldType;
use portent_core::value::{parse_int, parse_ip};
use portent_core::{Value, Zone};
use serde_json::Value as J;

/// A JSON value as an engine value, typed by the field it goes into.
pub fn json_value(v: J, ty: Option<FieldType>, zone: &Zone) -> Value<'static> {
    match v {
        J::Null => Value::Null,
        J::Bool(b) => Value::Bool(b),
        J::Number(n) => match n.as_i64() {
            Some(i) => Value::Int(i),
            None => n.as_f64().map_or(Value::Null, Value::Float),
        },
        J::String(s) => text_value(s, ty, zone),
        // A list of values, such as the unnamed `<Data>` elements of classic
        // PowerShell and Application events: their text, one per line, as
        // the rules written for them search it (`Data|contains:
        // 'HostApplication=...'`), not JSON with its quotes and escaped
        // backslashes, which no path in a rule would match.
        J::Array(items) if items.iter().all(|i| !i.is_array() && !i.is_object()) => {
            let parts: Vec<String> = items
                .into_iter()
                .map(|i| match i {
                    J::String(s) => s,
                    J::Null => String::new(),
                    other => other.to_string(),
                })
                .collect();
            Value::string(parts.join("\n"))
        }
        other => Value::string(other.to_string()),
    }
}

/// Text as an engine value, typed by the field it goes into. Text that does not
/// parse as the field's type stays text, so nothing is lost.
pub fn text_value(s: String, ty: Option<FieldType>, zone: &Zone) -> Value<'static> {
    match ty {
        Some(FieldType::Time) => match parse_time(&s, zone) {
            Some(ms) => Value::Int(ms),
            None => Value::string(s),
        },
        Some(FieldType::Ip) => match parse_ip(s.trim()) {
            Some(ip) => Value::Ip(ip),
            None => Value::string(s),
        },
        Some(FieldType::Int | FieldType::Port) => match parse_int(s.trim()) {
            Some(i) => Value::Int(i),
            None => Value::string(s),
        },
        Some(FieldType::Bool) => match parse_bool(&s) {
            Some(b) => Value::Bool(b),
            None => Value::string(s),
        },
        _ => Value::string(s),
    }
}

/// `true`/`false` in any case, and `1`/`0`.
pub fn parse_bool(s: &str) -> Option<bool> {
    let s = s.trim();
    if s.eq_ignore_ascii_case("true") || s == "1" {
        Some(true)
    } else if s.eq_ignore_ascii_case("false") || s == "0" {
        Some(false)
    } else {
        None
    }
}

/// An integer from a JSON number or text (decimal or `0x` hexadecimal, as 4688 writes PIDs).
pub fn json_int(v: &J) -> Option<i64> {
    match v {
        J::Number(n) => n.as_i64(),
        J::String(s) => parse_int(s.trim()),
        _ => None,
    }
}

/// Text from a JSON string, number or bool.
pub fn json_text(v: &J) -> Option<String> {
    match v {
        J::String(s) => Some(s.clone()),
        J::Number(n) => Some(n.to_string()),
        J::Bool(b) => Some(b.to_string()),
        _ => None,
    }
}

/// Whether a time text carries its own zone.
pub fn has_zone(s: &str) -> bool {
    let s = s.trim();
    if s.ends_with('Z') || s.ends_with('z') {
        return true;
    }
    // An offset after the time part: `+02:00`, `-0500`.
    match s.rfind(['+', '-']) {
        Some(i) => i > 10 && s[i + 1..].chars().all(|c| c.is_ascii_digit() || c == ':'),
        None => false,
    }
}

/// Epoch ms from epoch ms or s (numbers), RFC 3339 / ISO 8601 with any number of
/// fractional digits, or a zone-less `YYYY-MM-DD[T ]hh:mm:ss[.fff]`, which is read
/// in `zone` (the local zone of the source, UTC unless the user says otherwise).
pub fn parse_time(s: &str, zone: &Zone) -> Option<i64> {
    let s = s.trim();
    if s.is_empty() {
        return None;
    }
    if s.bytes().all(|b| b.is_ascii_digit()) {
        let n: i64 = s.parse().ok()?;
        // Ten digits or fewer are seconds (until the year 2286).
        return Some(if s.len() <= 10 { n * 1000 } else { n });
    }
    if let Ok(t) = DateTime::parse_from_rfc3339(s) {
        return Some(t.timestamp_millis());
    }
    for f in [
        "%Y-%m-%dT%H:%M:%S%.f%z",
        "%Y-%m-%d %H:%M:%S%.f%z",
        "%Y-%m-%d %H:%M:%S%.f %z",
    ] {
        if let Ok(t) = DateTime::parse_from_str(s, f) {
            return Some(t.timestamp_millis());
        }
    }
    let naive = s.strip_suffix('Z').unwrap_or(s);
    for f in [
        "%Y-%m-%d %H:%M:%S%.f",
        "%Y-%m-%dT%H:%M:%S%.f",
        "%Y/%m/%d %H:%M:%S%.f",
    ] {
        if let Ok(t) = NaiveDateTime::parse_from_str(naive, f) {
            return Some(if naive.len() < s.len() {
                t.and_utc().timestamp_millis()
            } else {
                zone.local_to_millis(t)
            });
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn times_in_every_layout() {
        let utc = Zone::utc();
        assert_eq!(
            parse_time("2022-05-13T08:54:05.1230000Z", &utc),
            Some(1_652_432_045_123)
        );
        assert_eq!(
            parse_time("2019-05-18T09:59:41.123Z", &utc),
            Some(1_558_173_581_123)
        );
        assert_eq!(
            parse_time("2019-05-18 09:59:41.123", &utc),
            Some(1_558_173_581_123)
        );
        assert_eq!(parse_time("1558173581123", &utc), Some(1_558_173_581_123));
        assert_eq!(parse_time("1558173581", &utc), Some(1_558_173_581_000));
        let berlin = Zone::parse("Europe/Berlin").unwrap();
        assert_eq!(
            parse_time("2019-05-18 11:59:41.123", &berlin),
            Some(1_558_173_581_123)
        );
        assert_eq!(
            parse_time("2023-10-12T08:38:38.142000+00:00", &utc),
            Some(1_697_099_918_142)
        );
        assert_eq!(parse_time("yesterday", &utc), None);
    }

    #[test]
    fn zones_are_recognised() {
        assert!(has_zone("2019-05-18T09:59:41Z"));
        assert!(has_zone("2019-05-18T09:59:41+02:00"));
        assert!(!has_zone("2019-05-18 09:59:41.123"));
    }

    #[test]
    fn hex_pids_and_bools() {
        assert_eq!(json_int(&J::String("0x1a4".into())), Some(420));
        assert_eq!(json_int(&serde_json::json!(7)), Some(7));
        assert_eq!(parse_bool("True"), Some(true));
        assert_eq!(parse_bool("maybe"), None);
    }
}
