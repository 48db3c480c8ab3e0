//! A query's `fields()` must name every field its answer depends on,
//! including those a function reads behind the scenes: a hunt keeps only
//! those fields of the events it holds back for enrichment, so a field left
//! out would turn a value into NULL. Every function is called on fields of
//! an event that has them all, and on a copy with only the query's fields:
//! the answers must be the same.

use portent_core::schema::ids;
use portent_core::{FieldId, Record, Schema, Value};
use portent_engine::functions::{self, Callable};
use portent_engine::{CompileOptions, Query, Row, Run};

/// Field names, to pass as arguments, in turn.
const ARGS: &[&str] = &[
    "sourceip",
    "destinationport",
    "username",
    "\"Process Name\"",
    "logsourceid",
    "starttime",
    "category",
    "qid",
    "protocolid",
    "devicetype",
    "destinationip",
    "payload",
];

fn event() -> Record<'static> {
    let mut r = Record::new();
    let s = |t: &str| Value::string(t.to_owned());
    for (f, v) in [
        (ids::SOURCEIP, s("10.1.2.3")),
        (ids::DESTINATIONIP, s("8.8.8.8")),
        (ids::DESTINATIONPORT, Value::Int(443)),
        (ids::USERNAME, s("CORP\\alice")),
        (ids::PROCESS_NAME, s("C:\\Windows\\System32\\cmd.exe")),
        (ids::LOGSOURCEID, Value::Int(987_654)),
        (ids::LOGSOURCENAME, s("Sysmon @ PC1")),
        (ids::STARTTIME, Value::Int(1_764_115_200_000)),
        (ids::CATEGORY, Value::Int(4012)),
        (ids::QID, Value::Int(5_000_001)),
        (ids::PROTOCOLID, Value::Int(6)),
        (ids::DEVICETYPE, Value::Int(12)),
        (ids::HOSTNAME, s("PC1")),
        (ids::CHANNEL, s("Microsoft-Windows-Sysmon/Operational")),
        (ids::PAYLOAD, s("cmd.exe /c whoami 1764115200000 10.1.2.3")),
    ] {
        r.set(f, v);
    }
    r
}

fn rows(q: &Query, ev: &Record<'static>) -> Vec<Row> {
    let mut run = Run::new(q, Vec::new(), 1_764_200_000_000);
    run.push(ev).unwrap();
    run.finish().unwrap().0
}

#[test]
fn every_function_reads_only_the_fields_its_query_names() {
    let (mut compiled, mut checked) = (0, 0);
    for (name, callable) in functions::all() {
        let Callable::Scalar(_, min, max) = callable else {
            continue;
        };
        for n in min..=max.min(4) {
            for shift in 0..ARGS.len() {
                let args: Vec<&str> = (0..n).map(|i| ARGS[(shift + i) % ARGS.len()]).collect();
                // Also with literals after the first argument (formats, units).
                let literal: Vec<String> = args
                    .iter()
                    .enumerate()
                    .map(|(i, a)| {
                        if i == 0 {
                            (*a).to_owned()
                        } else {
                            "'1'".to_owned()
                        }
                    })
                    .collect();
                for args in [args.join(", "), literal.join(", ")] {
                    let aql = format!("SELECT {name}({args}) AS x FROM events");
                    let mut schema = Schema::qradar();
                    let Ok(q) = Query::compile(&aql, &mut schema, &CompileOptions::default())
                    else {
                        continue;
                    };
                    compiled += 1;
                    let full = event();
                    let mut keep: Vec<FieldId> = q.fields();
                    keep.push(ids::STARTTIME);
                    keep.sort_unstable();
                    keep.dedup();
                    let mut copy = event();
                    copy.retain(&keep, 8);
                    assert_eq!(
                        rows(&q, &full),
                        rows(&q, &copy),
                        "{aql}: a hidden field read"
                    );
                    checked += 1;
                }
            }
        }
    }
    assert!(compiled > 200, "only {compiled} calls compiled");
    assert_eq!(compiled, checked);
}
