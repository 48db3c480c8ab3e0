//! Rows written as they come, never held: JSON lines, Timesketch lines, one
//! JSON document, or CSV whose columns are known before the first row. The
//! collected formats (`output::write`) go through the same writer, so a
//! streamed result and a collected one look alike.

use serde_json::Value as J;
use std::io::Write;

/// How the rows are laid out.
#[derive(Clone, Debug)]
pub enum Layout {
    /// One JSON object per line; `version` puts `schema_version` on each.
    Jsonl { version: bool },
    /// Timesketch's JSON lines: `message`, `datetime`, `timestamp`
    /// (microseconds) and `timestamp_desc` before the row's own columns.
    Timesketch,
    /// One JSON document. Its `rows` come first and `columns` (every column
    /// seen, in order of first appearance) after them, so that no row waits
    /// for the last one and no row is padded with the columns of others.
    Json,
    /// CSV with these columns (missing cells empty, others left out).
    Csv(Vec<String>),
}

/// Writes rows one by one to `out`.
pub struct RowWriter<'w> {
    out: &'w mut dyn Write,
    layout: Layout,
    started: bool,
    csv_bom: bool,
    /// JSON: the columns seen so far.
    columns: Vec<String>,
    /// Each column's position (CSV: the first, when a name repeats; JSON:
    /// of the columns seen so far).
    csv_index: std::collections::HashMap<String, usize>,
    /// Rows written.
    pub rows: u64,
    /// Timesketch: rows left out because they have no time.
    pub untimed: u64,
    /// The first write error; nothing is written after it.
    pub error: Option<std::io::Error>,
}

impl<'w> RowWriter<'w> {
    /// A writer of `layout` to `out`; CSV starts with a byte order mark when
    /// `csv_bom` (Excel on Windows wants one).
    pub fn new(out: &'w mut dyn Write, layout: Layout, csv_bom: bool) -> RowWriter<'w> {
        let mut csv_index = std::collections::HashMap::new();
        if let Layout::Csv(cols) = &layout {
            for (i, c) in cols.iter().enumerate() {
                csv_index.entry(c.clone()).or_insert(i);
            }
        }
        RowWriter {
            out,
            layout,
            csv_index,
            started: false,
            csv_bom,
            columns: Vec::new(),
            rows: 0,
            untimed: 0,
            error: None,
        }
    }

    fn start(&mut self) -> std::io::Result<()> {
        if self.started {
            return Ok(());
        }
        self.started = true;
        match &self.layout {
            Layout::Csv(cols) => {
                if self.csv_bom {
                    self.out.write_all(b"\xef\xbb\xbf")?;
                }
                let mut w = csv::Writer::from_writer(&mut *self.out);
                w.write_record(cols)?;
                w.flush()
            }
            Layout::Json => write!(
                self.out,
                "{{\n  \"schema_version\": {},\n  \"rows\": [",
                crate::output::SCHEMA_VERSION
            ),
            Layout::Jsonl { .. } | Layout::Timesketch => Ok(()),
        }
    }

    /// Writes one row of named cells. False once a write has failed.
    pub fn write(&mut self, cells: Vec<(String, J)>) -> bool {
        if self.error.is_some() {
            return false;
        }
        let first = self.rows == 0;
        let r = self.start().and_then(|()| self.row(cells, first));
        match r {
            Ok(true) => {
                self.rows += 1;
                true
            }
            Ok(false) => true,
            Err(e) => {
                self.error = Some(e);
                false
            }
        }
    }

    /// Writes a row; false when it was left out (Timesketch, no time).
    fn row(&mut self, cells: Vec<(String, J)>, first: bool) -> std::io::Result<bool> {
        match &self.layout {
            Layout::Jsonl { version } => {
                let mut obj = serde_json::Map::new();
                if *version {
                    obj.insert(
                        "schema_version".into(),
                        crate::output::SCHEMA_VERSION.into(),
                    );
                }
                obj.extend(cells);
                serde_json::to_writer(&mut *self.out, &obj)?;
                self.out.write_all(b"\n")?;
            }
            Layout::Timesketch => match timesketch(cells) {
                Some(obj) => {
                    serde_json::to_writer(&mut *self.out, &obj)?;
                    self.out.write_all(b"\n")?;
                }
                None => {
                    self.untimed += 1;
                    return Ok(false);
                }
            },
            Layout::Json => {
                for (name, _) in &cells {
                    if !self.csv_index.contains_key(name) {
                        self.csv_index.insert(name.clone(), self.columns.len());
                        self.columns.push(name.clone());
                    }
                }
                let obj: serde_json::Map<String, J> = cells.into_iter().collect();
                self.out
                    .write_all(if first { b"\n    " } else { b",\n    " })?;
                serde_json::to_writer(&mut *self.out, &obj)?;
            }
            Layout::Csv(cols) => {
                let mut record = vec![String::new(); cols.len()];
                for (name, v) in &cells {
                    if let Some(i) = self.csv_index.get(name) {
                        record[*i] = csv_cell(v);
                    }
                }
                let mut w = csv::Writer::from_writer(&mut *self.out);
                w.write_record(&record)?;
                w.flush()?;
            }
        }
        Ok(true)
    }

    /// Ends the output (the CSV header even when no row came; the JSON
    /// document's columns and `extra` members) and reports the first error.
    pub fn finish(&mut self, extra: &[(String, J)]) -> std::io::Result<()> {
        if let Some(e) = self.error.take() {
            return Err(e);
        }
        self.start()?;
        if let Layout::Json = self.layout {
            let close = if self.rows == 0 { "]" } else { "\n  ]" };
            let columns = serde_json::to_string(&self.columns)?;
            write!(self.out, "{close},\n  \"columns\": {columns}")?;
            for (k, v) in extra {
                write!(self.out, ",\n  {}: ", serde_json::to_string(k)?)?;
                // Written as it is serialised: a summary that lists every
                // file of an evidence folder is megabytes of text.
                serde_json::to_writer_pretty(Indented(&mut *self.out), v)?;
            }
            self.out.write_all(b"\n}\n")?;
        }
        Ok(())
    }
}

/// Indents what is written through it by two spaces after every line break
/// (JSON text has line breaks only between its tokens).
struct Indented<'w>(&'w mut dyn Write);

impl Write for Indented<'_> {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        let mut rest = buf;
        while let Some(at) = rest.iter().position(|b| *b == b'\n') {
            self.0.write_all(&rest[..at])?;
            self.0.write_all(b"\n  ")?;
            rest = &rest[at + 1..];
        }
        self.0.write_all(rest)?;
        Ok(buf.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        self.0.flush()
    }
}

/// A CSV cell. Text starting with `= + - @`, tab or CR is what spreadsheets run as
/// a formula (CSV injection): it gets a leading apostrophe, as OWASP advises.
pub fn csv_cell(v: &J) -> String {
    match v {
        J::Null => String::new(),
        J::String(s) => {
            if s.starts_with(['=', '+', '-', '@', '\t', '\r']) {
                format!("'{s}")
            } else {
                s.clone()
            }
        }
        other => other.to_string(),
    }
}

/// Columns that describe the rule or the event's origin, not what happened.
const NOT_MESSAGE: &[&str] = &[
    "rule_id",
    "rule_title",
    "attack",
    "severity",
    "author",
    "tags",
    "host",
    "source_file",
    "record_id",
    "time",
    "suppressed_by",
    "baseline",
];

/// A row as a Timesketch event (`None` without a time: Timesketch needs one).
fn timesketch(cells: Vec<(String, J)>) -> Option<serde_json::Map<String, J>> {
    let col = |name: &str| {
        cells
            .iter()
            .find(|(c, v)| c == name && !v.is_null())
            .map(|(_, v)| v)
    };
    let when = col("time")
        .and_then(J::as_str)
        .and_then(|t| chrono::DateTime::parse_from_rfc3339(t).ok())?;
    let text = |v: &J| match v {
        J::String(s) => s.clone(),
        other => other.to_string(),
    };
    let title = col("rule_title")
        .or_else(|| col("rule_id"))
        .map_or_else(|| "result".to_owned(), text);
    let mut message = match col("severity").map(text) {
        Some(sev) if !sev.is_empty() => format!("[{sev}] {title}"),
        _ => title,
    };
    if let Some(h) = col("host") {
        message.push_str(&format!(" on {}", text(h)));
    }
    let details: Vec<String> = cells
        .iter()
        .filter(|(c, v)| !NOT_MESSAGE.contains(&c.as_str()) && !v.is_null())
        .map(|(c, v)| format!("{c}={}", text(v)))
        .collect();
    if !details.is_empty() {
        message.push_str(": ");
        message.push_str(&details.join(" "));
    }
    let mut obj = serde_json::Map::new();
    obj.insert("message".into(), message.into());
    obj.insert("datetime".into(), when.to_rfc3339().into());
    obj.insert("timestamp".into(), when.timestamp_micros().into());
    obj.insert("timestamp_desc".into(), "Event Recorded".into());
    for (c, v) in cells {
        obj.entry(c).or_insert(v);
    }
    Some(obj)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn rows(layout: Layout, rows: Vec<Vec<(&str, J)>>, extra: &[(String, J)]) -> String {
        let mut out = Vec::new();
        let mut w = RowWriter::new(&mut out, layout, false);
        for r in rows {
            assert!(w.write(r.into_iter().map(|(k, v)| (k.to_owned(), v)).collect()));
        }
        w.finish(extra).unwrap();
        String::from_utf8(out).unwrap()
    }

    #[test]
    fn json_rows_keep_their_own_cells_and_the_columns_come_after() {
        let text = rows(
            Layout::Json,
            vec![
                vec![("a", json!(1))],
                vec![("b", json!("x")), ("a", J::Null)],
            ],
            &[("summary".into(), json!({"events": 2, "list": [1, 2]}))],
        );
        let doc: J = serde_json::from_str(&text).unwrap();
        assert_eq!(doc["schema_version"], 1);
        assert_eq!(doc["rows"], json!([{"a": 1}, {"b": "x", "a": null}]));
        assert_eq!(doc["columns"], json!(["a", "b"]));
        assert_eq!(doc["summary"]["list"][1], 2);
    }

    #[test]
    fn an_empty_json_document_is_valid() {
        let doc: J = serde_json::from_str(&rows(Layout::Json, vec![], &[])).unwrap();
        assert_eq!(doc["rows"], json!([]));
        assert_eq!(doc["columns"], json!([]));
    }

    #[test]
    fn timesketch_leaves_out_and_counts_rows_without_a_time() {
        let mut out = Vec::new();
        let mut w = RowWriter::new(&mut out, Layout::Timesketch, false);
        w.write(vec![
            ("rule_title".into(), json!("Odd")),
            ("severity".into(), json!("high")),
            ("host".into(), json!("PC1")),
            ("Image".into(), json!("C:\\x.exe")),
            ("time".into(), json!("2024-01-02T03:04:05Z")),
        ]);
        w.write(vec![("rule_title".into(), json!("No time"))]);
        w.finish(&[]).unwrap();
        assert_eq!((w.rows, w.untimed), (1, 1));
        let line: J = serde_json::from_str(String::from_utf8(out).unwrap().trim()).unwrap();
        assert_eq!(line["message"], "[high] Odd on PC1: Image=C:\\x.exe");
        assert_eq!(line["timestamp"], 1_704_164_645_000_000i64);
        assert_eq!(line["datetime"], "2024-01-02T03:04:05+00:00");
    }

    #[test]
    fn csv_writes_the_header_even_without_rows_and_defuses_formulas() {
        let cols = vec!["a".to_owned(), "b".to_owned()];
        assert_eq!(rows(Layout::Csv(cols.clone()), vec![], &[]), "a,b\n");
        let text = rows(
            Layout::Csv(cols),
            vec![vec![("b", json!("=1+1")), ("c", json!("dropped"))]],
            &[],
        );
        assert_eq!(text, "a,b\n,'=1+1\n");
    }
}
