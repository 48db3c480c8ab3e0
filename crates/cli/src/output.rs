//! Result rows and how they are written: an aligned table for people, JSON lines,
//! one JSON document, or CSV that spreadsheets open safely. Files are written
//! atomically: a failed run never leaves a file that looks like a clean result.

use anyhow::{Context, Result};
use portent_engine::{Row, Sink};
use serde_json::Value as J;
use std::io::Write;
use std::path::Path;

/// Version of the JSON output's shape; bumped when it changes incompatibly.
pub const SCHEMA_VERSION: u32 = 1;

/// Output formats.
#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
pub enum Format {
    /// Aligned columns.
    Table,
    /// One JSON object per row.
    Jsonl,
    /// One JSON document: `{"schema_version", "columns", "rows", ...}`.
    Json,
    /// CSV with a header row.
    Csv,
    /// JSON lines Timesketch imports: `message`, `datetime`, `timestamp`
    /// (microseconds) and `timestamp_desc` before the row's own columns;
    /// rows without a `time` column are left out and counted on stderr.
    Timesketch,
    /// `hunt`: the beacon view as a table (`--beacons` gives it in any format).
    Beacons,
}

/// Rows with a common, ordered set of columns.
#[derive(Clone, Debug, Default)]
pub struct Sheet {
    /// Column names in order of first appearance.
    pub columns: Vec<String>,
    /// Cells per row, aligned to `columns` (short rows are padded with null).
    pub rows: Vec<Vec<J>>,
}

impl Sheet {
    /// A sheet whose first columns are `columns` (`*` is dropped: it expands per row).
    pub fn new(columns: Vec<String>) -> Sheet {
        Sheet {
            columns: columns.into_iter().filter(|c| c != "*").collect(),
            rows: Vec::new(),
        }
    }

    /// Adds a row of named cells; new names become new columns.
    pub fn push(&mut self, cells: impl IntoIterator<Item = (String, J)>) {
        let mut row = vec![J::Null; self.columns.len()];
        for (name, value) in cells {
            match self.columns.iter().position(|c| *c == name) {
                Some(i) => row[i] = value,
                None => {
                    self.columns.push(name);
                    row.push(value);
                }
            }
        }
        self.rows.push(row);
    }

    /// Keeps only the columns `wanted` names, in that order (each entry
    /// lists synonyms: the first column present is taken, compared without
    /// case). Returns how many columns were left out.
    pub fn select(&mut self, wanted: &[&[&str]]) -> usize {
        let mut order: Vec<usize> = Vec::new();
        for names in wanted {
            let found = names.iter().find_map(|n| {
                self.columns
                    .iter()
                    .position(|c| c.eq_ignore_ascii_case(n))
                    .filter(|i| !order.contains(i))
            });
            order.extend(found);
        }
        let dropped = self.columns.len() - order.len();
        self.columns = order.iter().map(|i| self.columns[*i].clone()).collect();
        for row in &mut self.rows {
            let old = std::mem::take(row);
            *row = order
                .iter()
                .map(|i| old.get(*i).cloned().unwrap_or(J::Null))
                .collect();
        }
        dropped
    }

    /// Removes the columns named in `names`.
    pub fn drop_columns(&mut self, names: &[&str]) {
        let keep: Vec<bool> = self
            .columns
            .iter()
            .map(|c| !names.contains(&c.as_str()))
            .collect();
        fn filter<T>(v: &mut Vec<T>, keep: &[bool]) {
            let mut i = 0;
            v.retain(|_| {
                i += 1;
                keep.get(i - 1).copied().unwrap_or(true)
            });
        }
        filter(&mut self.columns, &keep);
        for r in &mut self.rows {
            filter(r, &keep);
        }
    }
}

impl Sink for Sheet {
    type Error = std::convert::Infallible;

    fn row(&mut self, row: Row) -> Result<bool, Self::Error> {
        self.push(
            row.cells
                .into_iter()
                .map(|c| (c.name.to_string(), json(&c.value))),
        );
        Ok(true)
    }
}

/// JSON value of an engine value (the same as in watch alerts).
pub use portent_serve::alert::json;

/// Writing options.
#[derive(Clone, Debug, Default)]
pub struct WriteOptions {
    /// Start CSV with a UTF-8 byte order mark (Excel on Windows wants it).
    pub csv_bom: bool,
    /// Extra top-level members of the JSON document (the hunt's summary).
    pub json_extra: Vec<(String, J)>,
    /// Put `schema_version` on every JSON line too.
    pub jsonl_version: bool,
}

/// Writes `sheet` to `path` (atomically: a temporary file renamed when complete)
/// or to stdout.
pub fn emit(sheet: &Sheet, format: Format, path: Option<&Path>, opts: &WriteOptions) -> Result<()> {
    to_path_or_stdout(path, &mut |out| write(sheet, format, out, opts))
}

/// Writes with `fill` to `path` atomically, or to stdout (a closed pipe
/// ends the output quietly).
pub fn to_path_or_stdout(
    path: Option<&Path>,
    fill: &mut dyn FnMut(&mut dyn Write) -> std::io::Result<()>,
) -> Result<()> {
    match path {
        None => {
            let stdout = std::io::stdout();
            let mut out = std::io::BufWriter::new(stdout.lock());
            match fill(&mut out).and_then(|()| out.flush()) {
                Err(e) if e.kind() == std::io::ErrorKind::BrokenPipe => Ok(()),
                r => r.context("cannot write to stdout"),
            }
        }
        Some(p) => atomic(p, fill),
    }
}

/// Rows written as they come, never held: JSON lines, or CSV whose columns
/// are known before the first row.
pub struct RowWriter<'w> {
    out: &'w mut dyn Write,
    /// CSV columns (`None`: JSON lines).
    csv: Option<Vec<String>>,
    started: bool,
    csv_bom: bool,
    /// Rows written.
    pub rows: u64,
    /// The first write error; nothing is written after it.
    pub error: Option<std::io::Error>,
}

impl<'w> RowWriter<'w> {
    /// JSON lines (`csv: None`) or CSV with these columns, to `out`.
    pub fn new(out: &'w mut dyn Write, csv: Option<Vec<String>>, csv_bom: bool) -> RowWriter<'w> {
        RowWriter {
            out,
            csv,
            started: false,
            csv_bom,
            rows: 0,
            error: None,
        }
    }

    fn start(&mut self) -> std::io::Result<()> {
        if self.started {
            return Ok(());
        }
        self.started = true;
        if let Some(cols) = &self.csv {
            if self.csv_bom {
                self.out.write_all(b"\xef\xbb\xbf")?;
            }
            let mut w = csv::Writer::from_writer(&mut *self.out);
            w.write_record(cols)?;
            w.flush()?;
        }
        Ok(())
    }

    /// Writes one row of named cells (CSV: in the header's order, missing
    /// ones empty). False once a write has failed.
    pub fn write(&mut self, cells: Vec<(String, J)>) -> bool {
        if self.error.is_some() {
            return false;
        }
        let r = self.start().and_then(|()| match &self.csv {
            None => {
                let obj: serde_json::Map<String, J> = cells.into_iter().collect();
                serde_json::to_writer(&mut *self.out, &obj)?;
                self.out.write_all(b"\n")
            }
            Some(cols) => {
                let mut w = csv::Writer::from_writer(&mut *self.out);
                w.write_record(cols.iter().map(|c| {
                    cells
                        .iter()
                        .find(|(n, _)| n == c)
                        .map_or(String::new(), |(_, v)| csv_cell(v))
                }))?;
                w.flush()
            }
        });
        match r {
            Ok(()) => {
                self.rows += 1;
                true
            }
            Err(e) => {
                self.error = Some(e);
                false
            }
        }
    }

    /// Writes the CSV header even when no row came, and reports the first error.
    pub fn finish(mut self) -> std::io::Result<()> {
        if let Some(e) = self.error.take() {
            return Err(e);
        }
        self.start()
    }
}

/// Writes `text` to `path` atomically, or to stdout.
pub fn emit_text(text: &str, path: Option<&Path>) -> Result<()> {
    match path {
        None => {
            let mut out = std::io::stdout().lock();
            match out.write_all(text.as_bytes()).and_then(|()| out.flush()) {
                Err(e) if e.kind() == std::io::ErrorKind::BrokenPipe => Ok(()),
                r => r.context("cannot write to stdout"),
            }
        }
        Some(p) => atomic(p, &mut |out| out.write_all(text.as_bytes())),
    }
}

/// Writes a file through a temporary one renamed when complete, so that a
/// failed run leaves no partial file behind.
pub fn atomic(p: &Path, fill: &mut dyn FnMut(&mut dyn Write) -> std::io::Result<()>) -> Result<()> {
    let dir = p
        .parent()
        .filter(|d| !d.as_os_str().is_empty())
        .unwrap_or(Path::new("."));
    let name = p
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    let tmp = dir.join(format!(".{name}.portent-{}.tmp", std::process::id()));
    let result = (|| -> std::io::Result<()> {
        let f = std::fs::File::create(&tmp)?;
        let mut out = std::io::BufWriter::new(f);
        fill(&mut out)?;
        out.flush()?;
        out.get_ref().sync_all()?;
        drop(out);
        std::fs::rename(&tmp, p)
    })();
    if result.is_err() {
        let _ = std::fs::remove_file(&tmp);
    }
    result.with_context(|| format!("cannot write {}", p.display()))
}

/// Writes `sheet` in `format`.
pub fn write(
    sheet: &Sheet,
    format: Format,
    out: &mut dyn Write,
    opts: &WriteOptions,
) -> std::io::Result<()> {
    match format {
        // The hunt has turned its hits into beacon rows by now.
        Format::Table | Format::Beacons => table(sheet, out),
        Format::Timesketch => timesketch(sheet, out),
        Format::Jsonl => {
            for row in &sheet.rows {
                let mut obj = serde_json::Map::new();
                if opts.jsonl_version {
                    obj.insert("schema_version".into(), SCHEMA_VERSION.into());
                }
                for (c, v) in sheet.columns.iter().zip(row) {
                    obj.insert(c.clone(), v.clone());
                }
                serde_json::to_writer(&mut *out, &obj)?;
                out.write_all(b"\n")?;
            }
            Ok(())
        }
        Format::Json => {
            let rows: Vec<J> = sheet
                .rows
                .iter()
                .map(|row| {
                    J::Object(
                        sheet
                            .columns
                            .iter()
                            .cloned()
                            .zip(row.iter().cloned())
                            .collect(),
                    )
                })
                .collect();
            let mut doc = serde_json::Map::new();
            doc.insert("schema_version".into(), SCHEMA_VERSION.into());
            doc.insert("columns".into(), sheet.columns.clone().into());
            doc.insert("rows".into(), J::Array(rows));
            for (k, v) in &opts.json_extra {
                doc.insert(k.clone(), v.clone());
            }
            serde_json::to_writer_pretty(&mut *out, &J::Object(doc))?;
            out.write_all(b"\n")
        }
        Format::Csv => {
            if opts.csv_bom {
                out.write_all(b"\xef\xbb\xbf")?;
            }
            let mut w = csv::Writer::from_writer(out);
            w.write_record(&sheet.columns)?;
            // One header for every rule: rows written before a later rule
            // added its own columns are padded with empty cells.
            let width = sheet.columns.len();
            for row in &sheet.rows {
                let cells = row.iter().chain(std::iter::repeat(&J::Null));
                w.write_record(cells.take(width).map(csv_cell))?;
            }
            w.flush()
        }
    }
}

/// A CSV cell. Text starting with `= + - @`, tab or CR is what spreadsheets run as
/// a formula (CSV injection): it gets a leading apostrophe, as OWASP advises.
fn csv_cell(v: &J) -> String {
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

fn text(v: &J) -> String {
    match v {
        J::Null => String::new(),
        J::String(s) => s.clone(),
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

fn timesketch(sheet: &Sheet, out: &mut dyn Write) -> std::io::Result<()> {
    let col = |row: &[J], name: &str| {
        sheet
            .columns
            .iter()
            .position(|c| c == name)
            .and_then(|i| row.get(i))
            .filter(|v| !v.is_null())
            .cloned()
    };
    let mut untimed = 0u64;
    for row in &sheet.rows {
        let when = col(row, "time")
            .and_then(|t| t.as_str().map(str::to_owned))
            .and_then(|t| chrono::DateTime::parse_from_rfc3339(&t).ok());
        let Some(when) = when else {
            untimed += 1;
            continue;
        };
        let text = |v: &J| match v {
            J::String(s) => s.clone(),
            other => other.to_string(),
        };
        let title = col(row, "rule_title")
            .or_else(|| col(row, "rule_id"))
            .map_or_else(|| "result".to_owned(), |v| text(&v));
        let mut message = match col(row, "severity").map(|v| text(&v)) {
            Some(sev) if !sev.is_empty() => format!("[{sev}] {title}"),
            _ => title.clone(),
        };
        if let Some(h) = col(row, "host") {
            message.push_str(&format!(" on {}", text(&h)));
        }
        let details: Vec<String> = sheet
            .columns
            .iter()
            .zip(row)
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
        for (c, v) in sheet.columns.iter().zip(row) {
            if !obj.contains_key(c) {
                obj.insert(c.clone(), v.clone());
            }
        }
        serde_json::to_writer(&mut *out, &obj)?;
        out.write_all(b"\n")?;
    }
    if untimed > 0 {
        eprintln!("portent: timesketch: {untimed} row(s) without a time were left out (Timesketch needs one)");
    }
    Ok(())
}

fn table(sheet: &Sheet, out: &mut dyn Write) -> std::io::Result<()> {
    const MAX: usize = 60;
    let widths: Vec<usize> = sheet
        .columns
        .iter()
        .enumerate()
        .map(|(i, h)| {
            sheet
                .rows
                .iter()
                .map(|r| r.get(i).map_or(0, |v| text(v).chars().count()))
                .chain([h.chars().count()])
                .max()
                .unwrap_or(0)
                .min(MAX)
        })
        .collect();
    let line = |vals: Vec<String>| {
        vals.iter()
            .zip(&widths)
            .map(|(v, w)| {
                let v = v.replace(['\n', '\r', '\t'], " ");
                let v: String = if v.chars().count() > *w {
                    v.chars().take(w.saturating_sub(1)).chain(['…']).collect()
                } else {
                    v
                };
                format!("{v:<w$}")
            })
            .collect::<Vec<_>>()
            .join("  ")
            .trim_end()
            .to_owned()
    };
    writeln!(out, "{}", line(sheet.columns.clone()))?;
    for r in &sheet.rows {
        writeln!(out, "{}", line(r.iter().map(text).collect()))?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn sheet() -> Sheet {
        let mut s = Sheet::new(vec!["a".into(), "*".into()]);
        s.push([
            ("a".into(), json!(1)),
            ("b".into(), json!("=cmd|' /C calc'!A0")),
        ]);
        s.push([("b".into(), json!("x,y"))]);
        s
    }

    fn render(format: Format, opts: &WriteOptions) -> String {
        let mut out = Vec::new();
        write(&sheet(), format, &mut out, opts).unwrap();
        String::from_utf8(out).unwrap()
    }

    #[test]
    fn csv_is_excel_safe() {
        let o = WriteOptions {
            csv_bom: true,
            ..Default::default()
        };
        let text = render(Format::Csv, &o);
        assert_eq!(text, "\u{feff}a,b\n1,'=cmd|' /C calc'!A0\n,\"x,y\"\n");
    }

    #[test]
    fn json_document_has_a_schema_version() {
        let o = WriteOptions {
            json_extra: vec![("summary".into(), json!({"events": 2}))],
            ..Default::default()
        };
        let doc: J = serde_json::from_str(&render(Format::Json, &o)).unwrap();
        assert_eq!(doc["schema_version"], 1);
        assert_eq!(doc["rows"][1]["b"], "x,y");
        assert_eq!(doc["summary"]["events"], 2);
        assert_eq!(
            render(Format::Jsonl, &Default::default()).lines().count(),
            2
        );
    }

    #[test]
    fn atomic_file_output_leaves_nothing_on_failure() {
        let dir = std::env::temp_dir().join(format!("portent-out-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let p = dir.join("hits.csv");
        emit(&sheet(), Format::Csv, Some(&p), &Default::default()).unwrap();
        assert!(std::fs::read_to_string(&p).unwrap().starts_with("a,b"));
        let bad = dir.join("missing-dir/hits.csv");
        assert!(emit(&sheet(), Format::Csv, Some(&bad), &Default::default()).is_err());
        assert_eq!(
            std::fs::read_dir(&dir).unwrap().count(),
            1,
            "no temporary file left"
        );
    }
}
