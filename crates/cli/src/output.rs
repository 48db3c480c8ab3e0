//! Result rows and how they are written: an aligned table for people, JSON lines,
//! one JSON document, or CSV that spreadsheets open safely. Files are written
//! atomically: a failed run never leaves a file that looks like a clean result.

use anyhow::{Context, Result};
use portent_engine::{Row, Sink};
use serde_json::Value as J;
use std::io::Write;
use std::path::Path;

pub use crate::writer::{Layout, RowWriter};

/// Version of the JSON output's shape; bumped when it changes incompatibly.
pub const SCHEMA_VERSION: u32 = 1;

/// Output formats.
#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
pub enum Format {
    /// Aligned columns.
    Table,
    /// One JSON object per row.
    Jsonl,
    /// One JSON document: `{"schema_version", "rows", "columns", ...}` (each row its own cells).
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

    /// Keeps only the columns `wanted` names (see [`Projection`]). Returns
    /// how many columns were left out.
    pub fn select(&mut self, wanted: &[&[&str]]) -> usize {
        let p = Projection::new(&self.columns, wanted);
        for row in &mut self.rows {
            let cells: Vec<(String, J)> = self
                .columns
                .iter()
                .cloned()
                .zip(std::mem::take(row))
                .collect();
            *row = p.apply(&cells).into_iter().map(|(_, v)| v).collect();
        }
        self.columns = p.names();
        p.hidden
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

/// The columns a profile shows. Rules name the same thing differently
/// (`Process Name` in the pack, `Image` in Sigma), so each column lists
/// synonyms: it is named by the first, and each row fills it from the
/// first synonym (compared without case) that has a value there.
pub struct Projection {
    columns: Vec<Vec<String>>,
    /// Columns of the input that no shown column takes.
    pub hidden: usize,
}

impl Projection {
    /// The entries of `wanted` that some column of `all` answers to.
    pub fn new(all: &[String], wanted: &[&[&str]]) -> Projection {
        let mut taken = vec![false; all.len()];
        let mut columns = Vec::new();
        for names in wanted {
            let mut any = false;
            for (i, c) in all.iter().enumerate() {
                if names.iter().any(|n| c.eq_ignore_ascii_case(n)) {
                    taken[i] = true;
                    any = true;
                }
            }
            if any {
                columns.push(names.iter().map(|n| (*n).to_owned()).collect());
            }
        }
        Projection {
            columns,
            hidden: taken.iter().filter(|t| !**t).count(),
        }
    }

    /// The names of the shown columns.
    pub fn names(&self) -> Vec<String> {
        self.columns.iter().map(|s| s[0].clone()).collect()
    }

    /// The shown cells of a row.
    pub fn apply(&self, cells: &[(String, J)]) -> Vec<(String, J)> {
        self.columns
            .iter()
            .map(|names| {
                let value = names.iter().find_map(|n| {
                    cells
                        .iter()
                        .find(|(c, v)| c.eq_ignore_ascii_case(n) && !v.is_null())
                        .map(|(_, v)| v.clone())
                });
                (names[0].clone(), value.unwrap_or(J::Null))
            })
            .collect()
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
pub use portent_detect::alert::json;

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
    if is_special(p) {
        // A device or a pipe (`-o /dev/null`, a FIFO a reader waits on):
        // written in place. Renaming a file onto it would replace the
        // device with a regular file.
        let result = (|| -> std::io::Result<()> {
            let f = std::fs::OpenOptions::new().write(true).open(p)?;
            let mut out = std::io::BufWriter::new(f);
            fill(&mut out)?;
            out.flush()
        })();
        return result.with_context(|| format!("cannot write {}", p.display()));
    }
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

/// True when `p` exists and is neither a regular file nor a folder (a
/// device, a FIFO, a socket): written in place, never replaced.
pub fn is_special(p: &Path) -> bool {
    std::fs::metadata(p).is_ok_and(|m| !m.is_file() && !m.is_dir())
}

/// Writes `sheet` in `format`.
pub fn write(
    sheet: &Sheet,
    format: Format,
    out: &mut dyn Write,
    opts: &WriteOptions,
) -> std::io::Result<()> {
    let layout = match format {
        // The hunt has turned its hits into beacon rows by now.
        Format::Table | Format::Beacons => return table(sheet, out),
        Format::Timesketch => Layout::Timesketch,
        Format::Jsonl => Layout::Jsonl {
            version: opts.jsonl_version,
        },
        Format::Json => Layout::Json,
        // One header for every rule: rows written before a later rule
        // added its own columns are padded with empty cells.
        Format::Csv => Layout::Csv(sheet.columns.clone()),
    };
    let mut w = RowWriter::new(out, layout, opts.csv_bom);
    for row in &sheet.rows {
        let cells = sheet.columns.iter().cloned().zip(row.iter().cloned());
        if !w.write(cells.collect()) {
            break;
        }
    }
    w.finish(&opts.json_extra)?;
    untimed_note(w.untimed);
    Ok(())
}

/// Says how many rows Timesketch output left out.
pub fn untimed_note(untimed: u64) {
    if untimed > 0 {
        eprintln!("portent: timesketch: {untimed} row(s) without a time were left out (Timesketch needs one)");
    }
}

fn text(v: &J) -> String {
    match v {
        J::Null => String::new(),
        J::String(s) => s.clone(),
        other => other.to_string(),
    }
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
