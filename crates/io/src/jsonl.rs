//! JSON lines with QRadar field names.

use chrono::DateTime;
use portent_core::schema::FieldType;
use portent_core::{Record, Schema, Value};

/// A line that could not be read.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct LineError {
    /// 1-based line number.
    pub line: usize,
    /// 1-based column, when known.
    pub column: usize,
    /// What is wrong.
    pub message: String,
}

/// Reads every line of `text` as one JSON object and calls `each` with the
/// event. Keys are resolved through `schema` (any case, aliases); keys the
/// schema does not know are kept by name. Times given as ISO 8601 text become
/// epoch milliseconds; IP fields become addresses; numeric text in numeric
/// fields becomes a number. Returns the lines that were skipped and why.
pub fn read_jsonl(
    text: &str,
    schema: &Schema,
    mut each: impl FnMut(Record<'static>),
) -> Vec<LineError> {
    let mut errors = Vec::new();
    for (i, line) in text.lines().enumerate() {
        let line = line.trim();
        if line.is_empty() {
            continue;
        }
        match serde_json::from_str::<serde_json::Value>(line) {
            Ok(serde_json::Value::Object(map)) => {
                let mut rec = Record::with_capacity(schema.len());
                for (k, v) in map {
                    match schema.resolve(&k) {
                        Some(id) => {
                            let ty = schema.def(id).and_then(|d| d.ty);
                            rec.set(id, convert(v, ty));
                        }
                        None => rec.set_extra(k, convert(v, None)),
                    }
                }
                each(rec);
            }
            Ok(_) => errors.push(LineError {
                line: i + 1,
                column: 1,
                message: "not a JSON object".into(),
            }),
            Err(e) => errors.push(LineError {
                line: i + 1,
                column: e.column(),
                message: e.to_string(),
            }),
        }
    }
    errors
}

fn convert(v: serde_json::Value, ty: Option<FieldType>) -> Value<'static> {
    use serde_json::Value as J;
    match (v, ty) {
        (J::Null, _) => Value::Null,
        (J::Bool(b), _) => Value::Bool(b),
        (J::Number(n), _) => match n.as_i64() {
            Some(i) => Value::Int(i),
            None => n.as_f64().map_or(Value::Null, Value::Float),
        },
        (J::String(s), Some(FieldType::Time)) => match portent_core::value::parse_int(&s) {
            Some(ms) => Value::Int(ms),
            None => match DateTime::parse_from_rfc3339(s.trim()) {
                Ok(dt) => Value::Int(dt.timestamp_millis()),
                Err(_) => Value::string(s),
            },
        },
        (J::String(s), Some(FieldType::Ip)) => match portent_core::value::parse_ip(&s) {
            Some(ip) => Value::Ip(ip),
            None => Value::string(s),
        },
        (J::String(s), Some(FieldType::Int | FieldType::Port)) => {
            match portent_core::value::parse_int(&s) {
                Some(i) => Value::Int(i),
                None => Value::string(s),
            }
        }
        (J::String(s), _) => Value::string(s),
        (other, _) => Value::string(other.to_string()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use portent_core::schema::ids;
    use portent_core::Event;

    #[test]
    fn reads_qradar_names_and_reports_bad_lines() {
        let schema = Schema::qradar();
        let text = "{\"starttime\":\"2024-01-02T03:04:05Z\",\"destinationPort\":\"443\",\"sourceip\":\"10.0.0.1\",\"Process Name\":\"cmd.exe\",\"X\":1}\n\nnot json\n[1]\n";
        let mut events = Vec::new();
        let errors = read_jsonl(text, &schema, |r| events.push(r));
        assert_eq!(events.len(), 1);
        let e = &events[0];
        assert_eq!(e.get(ids::STARTTIME), Value::Int(1_704_164_645_000));
        assert_eq!(e.get(ids::DESTINATIONPORT), Value::Int(443));
        assert_eq!(e.get(ids::SOURCEIP), Value::Ip("10.0.0.1".parse().unwrap()));
        assert_eq!(e.get(ids::PROCESS_NAME), Value::str("cmd.exe"));
        assert_eq!(errors.len(), 2);
        assert_eq!(errors[0].line, 3);
        assert_eq!(errors[1].line, 4);
    }
}
