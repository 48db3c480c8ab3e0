//! Zeek `conn.log` (TSV with `#fields` headers, or JSON) into the `flows` table.

use crate::convert::{json_text, json_value};
use crate::report::FileReport;
use crate::{emit_record, ReadOptions};
use portent_core::schema::ids;
use portent_core::{FieldId, Record, Schema, Value};
use serde_json::{Map, Value as J};
use std::io::BufRead;

/// True for a Zeek connection record in JSON.
pub fn is_conn_json(obj: &Map<String, J>) -> bool {
    obj.contains_key("id.orig_h") && obj.contains_key("id.resp_h") && obj.contains_key("ts")
}

/// Zeek's field, the flows field it fills.
const MAP: &[(&str, FieldId)] = &[
    ("id.orig_h", ids::SOURCEIP),
    ("id.resp_h", ids::DESTINATIONIP),
    ("id.orig_p", ids::SOURCEPORT),
    ("id.resp_p", ids::DESTINATIONPORT),
    ("orig_bytes", ids::SOURCEBYTES),
    ("resp_bytes", ids::DESTINATIONBYTES),
    ("orig_pkts", ids::SOURCEPACKETS),
    ("resp_pkts", ids::DESTINATIONPACKETS),
];

/// A JSON conn record as a flow.
pub fn json_record(obj: Map<String, J>, schema: &Schema, opts: &ReadOptions) -> Record<'static> {
    let fields: Vec<(String, Option<String>)> =
        obj.iter().map(|(k, v)| (k.clone(), json_text(v))).collect();
    let mut rec = flow(
        fields.iter().map(|(k, v)| (k.as_str(), v.as_deref())),
        schema,
    );
    if opts.keep_unknown {
        for (k, v) in obj {
            if schema.resolve(&k).is_none() {
                rec.set_extra(k, json_value(v, None, &opts.input_zone));
            }
        }
    }
    rec
}

fn flow<'a>(
    fields: impl Iterator<Item = (&'a str, Option<&'a str>)>,
    schema: &Schema,
) -> Record<'static> {
    let mut rec = Record::with_capacity(schema.len());
    rec.set_flow(true);
    let mut ts: Option<f64> = None;
    let mut duration: Option<f64> = None;
    let mut local: (Option<bool>, Option<bool>) = (None, None);
    let flag = |v: &str| match v {
        "T" | "true" => Some(true),
        "F" | "false" => Some(false),
        _ => None,
    };
    for (k, v) in fields {
        let Some(v) = v.filter(|v| *v != "-" && *v != "(empty)") else {
            continue;
        };
        match k {
            "ts" => ts = v.parse().ok(),
            "duration" => duration = v.parse().ok(),
            "local_orig" => local.0 = flag(v),
            "local_resp" => local.1 = flag(v),
            "proto" => {
                if let Some(p) = crate::windows::protocol_number(v) {
                    rec.set(ids::PROTOCOLID, Value::Int(p));
                }
            }
            _ => {}
        }
        if let Some((_, id)) = MAP.iter().find(|(name, _)| *name == k) {
            let ty = schema.def(*id).and_then(|d| d.ty);
            rec.set(
                *id,
                crate::convert::text_value(v.to_owned(), ty, &portent_core::Zone::utc()),
            );
        } else if let Some(id) = schema.resolve(k) {
            // Zeek's own names (uid, service, conn_state, ...) stay queryable.
            if schema
                .def(id)
                .is_some_and(|d| d.kind != portent_core::schema::FieldKind::Standard)
            {
                rec.set(id, Value::string(v.to_owned()));
            }
        }
    }
    if let Some(t) = ts {
        let start = (t * 1000.0).round() as i64;
        rec.set(ids::STARTTIME, Value::Int(start));
        rec.set(ids::FIRSTPACKETTIME, Value::Int(start));
        let end = start + duration.map_or(0, |d| (d * 1000.0).round() as i64);
        rec.set(ids::ENDTIME, Value::Int(end));
        rec.set(ids::LASTPACKETTIME, Value::Int(end));
    }
    // QRadar's flow direction from Zeek's view of which ends are local:
    // L2L, L2R, R2L, R2R (unset when Zeek did not say).
    if let (Some(o), Some(r)) = local {
        let side = |l: bool| if l { 'L' } else { 'R' };
        rec.set(
            ids::FLOWDIRECTION,
            Value::string(format!("{}2{}", side(o), side(r))),
        );
    }
    rec.set(ids::EVENTCOUNT, Value::Int(1));
    rec
}

/// Reads a TSV `conn.log`: `#separator`, `#fields` and `#types` headers, `-` for unset.
pub fn read_tsv<R: BufRead>(
    r: R,
    schema: &Schema,
    opts: &ReadOptions,
    report: &mut FileReport,
    emit: &mut dyn FnMut(&str, Record<'static>),
) {
    report.format = "Zeek TSV".into();
    let mut sep = "\t".to_owned();
    let mut names: Vec<String> = Vec::new();
    for (i, line) in r.split(b'\n').enumerate() {
        let line = match line {
            Ok(l) => l,
            Err(e) => {
                report.skip(format!("read error: {e}"), format!("line {}", i + 1));
                break;
            }
        };
        let line = String::from_utf8_lossy(&line);
        let line = line.trim_end_matches('\r');
        if line.is_empty() {
            continue;
        }
        if let Some(rest) = line.strip_prefix("#separator ") {
            sep = unescape_separator(rest.trim());
            continue;
        }
        if let Some(rest) = line.strip_prefix("#fields") {
            names = rest
                .split(sep.as_str())
                .filter(|s| !s.is_empty())
                .map(str::to_owned)
                .collect();
            continue;
        }
        if line.starts_with('#') {
            continue;
        }
        if names.is_empty() {
            report.skip("data before the #fields header", format!("line {}", i + 1));
            continue;
        }
        let values: Vec<&str> = line.split(sep.as_str()).collect();
        if values.len() != names.len() {
            report.skip(
                format!("wrong number of fields (expected {})", names.len()),
                format!("line {}", i + 1),
            );
            continue;
        }
        let mut rec = flow(
            names
                .iter()
                .map(String::as_str)
                .zip(values.iter().map(|v| Some(*v))),
            schema,
        );
        if opts.keep_unknown {
            for (k, v) in names.iter().zip(&values) {
                if schema.resolve(k).is_none() && *v != "-" {
                    rec.set_extra(k.clone(), Value::string((*v).to_owned()));
                }
            }
        }
        emit_record(rec, report, emit);
    }
}

fn unescape_separator(s: &str) -> String {
    match s
        .strip_prefix("\\x")
        .and_then(|h| u8::from_str_radix(h, 16).ok())
    {
        Some(b) => (b as char).to_string(),
        None => s.to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use portent_core::Event;

    #[test]
    fn tsv_conn_log_becomes_flows() {
        let text = "#separator \\x09\n#fields\tts\tuid\tid.orig_h\tid.orig_p\tid.resp_h\tid.resp_p\tproto\tduration\torig_bytes\n#types\ttime\tstring\taddr\tport\taddr\tport\tenum\tinterval\tcount\n1600000000.5\tC1\t10.0.0.1\t50000\t1.2.3.4\t443\ttcp\t2.0\t-\nbroken\tline\n";
        let schema = Schema::qradar();
        let mut rows = Vec::new();
        let mut report = FileReport::new("conn.log");
        read_tsv(
            text.as_bytes(),
            &schema,
            &ReadOptions::default(),
            &mut report,
            &mut |_, r| rows.push(r),
        );
        assert_eq!(rows.len(), 1);
        assert_eq!(report.skipped_total(), 1);
        let r = &rows[0];
        assert!(r.is_flow());
        assert_eq!(r.get(ids::DESTINATIONPORT), Value::Int(443));
        assert_eq!(r.get(ids::PROTOCOLID), Value::Int(6));
        assert_eq!(r.get(ids::STARTTIME), Value::Int(1_600_000_000_500));
        assert_eq!(r.get(ids::ENDTIME), Value::Int(1_600_000_002_500));
        assert_eq!(r.get(ids::SOURCEBYTES), Value::Null);
        assert_eq!(r.get(ids::FLOWDIRECTION), Value::Null, "Zeek did not say");
    }

    #[test]
    fn local_orig_and_local_resp_give_the_flow_direction() {
        let schema = Schema::qradar();
        let opts = ReadOptions::default();
        for (o, r, want) in [
            ("true", "true", "L2L"),
            ("true", "false", "L2R"),
            ("false", "true", "R2L"),
            ("false", "false", "R2R"),
        ] {
            let obj: Map<String, J> = serde_json::from_str(&format!(
                r#"{{"ts": 1600000000.0, "uid": "C1", "id.orig_h": "10.0.0.1", "id.resp_h": "1.2.3.4", "local_orig": {o}, "local_resp": {r}}}"#
            ))
            .unwrap();
            let rec = json_record(obj, &schema, &opts);
            assert_eq!(rec.get(ids::FLOWDIRECTION), Value::str(want));
        }
        let text = "#separator \\x09\n#fields\tts\tid.orig_h\tid.resp_h\tlocal_orig\tlocal_resp\n1600000000.0\t10.0.0.1\t1.2.3.4\tT\tF\n";
        let mut rows = Vec::new();
        read_tsv(
            text.as_bytes(),
            &schema,
            &opts,
            &mut FileReport::new("conn.log"),
            &mut |_, r| rows.push(r),
        );
        assert_eq!(rows[0].get(ids::FLOWDIRECTION), Value::str("L2R"));
    }
}
