//! QRadar Log Activity "Export to CSV" (and Ariel `application/csv` results):
//! a header row of column titles or AQL names, one event per row. Titles map
//! case-insensitively to AQL fields; category and log source type names are
//! turned back into ids; unknown columns stay as custom properties.

use crate::convert::{parse_time, text_value};
use crate::report::FileReport;
use crate::{emit_record, javatime, ReadOptions};
use portent_core::schema::ids;
use portent_core::{Catalog, FieldId, FieldType, Record, Schema, Table, Value};
use std::io::Read;

/// Column titles of the Log Activity view and the field each fills.
const TITLES: &[(&str, Column)] = &[
    ("start time", Column::Field(ids::STARTTIME)),
    ("time", Column::Field(ids::STARTTIME)),
    ("log source time", Column::Field(ids::DEVICETIME)),
    ("source ip", Column::Field(ids::SOURCEIP)),
    ("destination ip", Column::Field(ids::DESTINATIONIP)),
    ("source port", Column::Field(ids::SOURCEPORT)),
    ("destination port", Column::Field(ids::DESTINATIONPORT)),
    ("username", Column::Field(ids::USERNAME)),
    ("event count", Column::Field(ids::EVENTCOUNT)),
    ("log source", Column::Field(ids::LOGSOURCENAME)),
    (
        "low level category",
        Column::Named(Table::Category, ids::CATEGORY),
    ),
    (
        "high level category",
        Column::Named(Table::Category, ids::HIGHLEVELCATEGORY),
    ),
    (
        "log source type",
        Column::Named(Table::LogSourceType, ids::DEVICETYPE),
    ),
    ("protocol", Column::Named(Table::Protocol, ids::PROTOCOLID)),
];

#[derive(Clone, Copy, Debug)]
enum Column {
    Field(FieldId),
    /// A name the catalog turns into the id of the field.
    Named(Table, FieldId),
    Other(FieldId),
    Unknown,
}

/// True for a header row that names QRadar columns.
pub fn looks_like_header(line: &str) -> bool {
    let lower = line.to_ascii_lowercase();
    lower.contains(',')
        && [
            "event name",
            "log source",
            "start time",
            "starttime",
            "sourceip",
            "low level category",
            "destinationip",
        ]
        .iter()
        .any(|t| lower.contains(t))
}

/// Reads a CSV export from `r`.
pub fn read<R: Read>(
    r: R,
    schema: &Schema,
    opts: &ReadOptions,
    report: &mut FileReport,
    emit: &mut dyn FnMut(&str, Record<'static>),
) {
    report.format = "QRadar CSV".into();
    let catalog = Catalog::builtin();
    let mut rdr = csv::ReaderBuilder::new().flexible(true).from_reader(r);
    let headers: Vec<String> = match rdr.headers() {
        Ok(h) => h
            .iter()
            .map(|s| s.trim_start_matches('\u{feff}').trim().to_owned())
            .collect(),
        Err(e) => {
            report.fatal = Some(format!("no header row: {e}"));
            return;
        }
    };
    let columns: Vec<Column> = headers.iter().map(|h| column(h, schema)).collect();
    for (i, row) in rdr.byte_records().enumerate() {
        let line = i + 2;
        let row = match row {
            Ok(r) => r,
            Err(e) => {
                report.skip("unreadable CSV row", format!("line {line}: {e}"));
                continue;
            }
        };
        if row.len() != headers.len() {
            report.skip(
                format!(
                    "row has a different number of fields than the header ({})",
                    headers.len()
                ),
                format!("line {line}"),
            );
            continue;
        }
        let mut rec = Record::with_capacity(schema.len());
        rec.set(ids::EVENTCOUNT, Value::Int(1));
        for ((raw, col), name) in row.iter().zip(&columns).zip(&headers) {
            let v = match std::str::from_utf8(raw) {
                Ok(v) => v.to_owned(),
                Err(_) => {
                    report.repair("invalid UTF-8 replaced", format!("line {line}"));
                    String::from_utf8_lossy(raw).into_owned()
                }
            };
            if v.is_empty() {
                continue;
            }
            match *col {
                Column::Field(id) | Column::Other(id) => {
                    let ty = schema.def(id).and_then(|d| d.ty);
                    let value = if ty == Some(FieldType::Time) {
                        csv_time(&v, opts).map_or_else(|| Value::string(v.clone()), Value::Int)
                    } else {
                        text_value(v, ty, &opts.input_zone)
                    };
                    rec.set(id, value);
                }
                Column::Named(table, id) => {
                    let value = portent_core::value::parse_int(&v)
                        .or_else(|| catalog.id_of(table, &v))
                        .or_else(|| {
                            (table == Table::Protocol)
                                .then(|| crate::windows::protocol_number(&v))
                                .flatten()
                        });
                    match value {
                        Some(n) => rec.set(id, Value::Int(n)),
                        None => report.repair(
                            format!("`{name}` value not in the catalog, kept as text"),
                            format!("line {line}"),
                        ),
                    }
                    if opts.keep_unknown {
                        rec.set_extra(name.clone(), Value::string(v));
                    }
                }
                Column::Unknown => {
                    if opts.keep_unknown {
                        rec.set_extra(name.clone(), Value::string(v));
                    }
                }
            }
        }
        emit_record(rec, report, emit);
    }
}

fn column(title: &str, schema: &Schema) -> Column {
    let lower = title.to_ascii_lowercase();
    if let Some((_, c)) = TITLES.iter().find(|(t, _)| *t == lower) {
        return *c;
    }
    // Ariel's `<func>_<arg>` names for function columns.
    match lower.as_str() {
        "categoryname_category" => return Column::Named(Table::Category, ids::CATEGORY),
        "logsourcetypename_devicetype" => {
            return Column::Named(Table::LogSourceType, ids::DEVICETYPE)
        }
        "logsourcename_logsourceid" => return Column::Field(ids::LOGSOURCENAME),
        _ => {}
    }
    match schema.resolve(title) {
        Some(id) => Column::Other(id),
        None => Column::Unknown,
    }
}

/// Times as the UI writes them (`Jan 18, 2019, 11:07:53 AM`), ISO, or epoch ms.
fn csv_time(v: &str, opts: &ReadOptions) -> Option<i64> {
    parse_time(v, &opts.input_zone).or_else(|| {
        [
            "MMM d, yyyy, h:mm:ss a",
            "MMM d, yyyy h:mm:ss a",
            "yyyy-MM-dd HH:mm:ss",
            "dd/MM/yyyy HH:mm:ss",
        ]
        .iter()
        .find_map(|f| javatime::parse(v, f, &opts.input_zone))
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use portent_core::Event;

    #[test]
    fn log_activity_export() {
        let text = "Event Name,Log Source,Start Time,Low Level Category,Source IP,Destination Port,Username,Process Name,Odd Column\n\
                    Network connection detected,Sysmon @ WS1,\"Jan 18, 2019, 11:07:53 AM\",ACL Permit,10.0.0.1,443,alice,C:\\x\\powershell.exe,foo\n\
                    short,row\n";
        let schema = Schema::qradar();
        let mut rows = Vec::new();
        let mut report = FileReport::new("export.csv");
        read(
            text.as_bytes(),
            &schema,
            &ReadOptions::default(),
            &mut report,
            &mut |_, r| rows.push(r),
        );
        assert_eq!(rows.len(), 1, "{report}");
        assert_eq!(report.skipped_total(), 1);
        let r = &rows[0];
        assert_eq!(r.get(ids::CATEGORY), Value::Int(4012));
        assert_eq!(r.get(ids::STARTTIME), Value::Int(1_547_809_673_000));
        assert_eq!(r.get(ids::DESTINATIONPORT), Value::Int(443));
        assert_eq!(
            r.get(ids::PROCESS_NAME),
            Value::str("C:\\x\\powershell.exe")
        );
        let mut odd = None;
        r.for_each(&mut |f, v| {
            if let portent_core::event::FieldRef::Name("Odd Column") = f {
                odd = Some(v.to_string());
            }
        });
        assert_eq!(odd.as_deref(), Some("foo"));
    }

    #[test]
    fn header_detection() {
        assert!(looks_like_header("Event Name,Log Source,Start Time"));
        assert!(!looks_like_header("just,some,numbers"));
    }
}
