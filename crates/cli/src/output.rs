//! Row writers: a table for people, JSON lines for programs.

use portent_core::Value;
use portent_engine::{Row, Sink};
use std::io::Write;

/// Output formats.
#[derive(Clone, Copy, Debug, clap::ValueEnum)]
pub enum Format {
    /// Aligned columns.
    Table,
    /// One JSON object per row.
    Jsonl,
}

/// A sink that writes rows.
pub struct Writer<W: Write> {
    format: Format,
    out: W,
    columns: Vec<String>,
    provenance: Vec<String>,
    buffered: Vec<Row>,
}

impl<W: Write> Writer<W> {
    /// A writer of `format` to `out`; `provenance` names the extra cells each
    /// row carries (where the event came from), written after the columns.
    pub fn new(format: Format, out: W, columns: Vec<String>, provenance: Vec<String>) -> Self {
        Writer {
            format,
            out,
            columns,
            provenance,
            buffered: Vec::new(),
        }
    }

    /// Flushes the table (it needs every row to size its columns).
    pub fn close(mut self) -> std::io::Result<()> {
        if let Format::Table = self.format {
            let rows = std::mem::take(&mut self.buffered);
            let mut headers: Vec<String> =
                self.columns.iter().filter(|c| *c != "*").cloned().collect();
            for r in &rows {
                for c in &r.cells {
                    if !headers.iter().any(|h| **h == *c.name) {
                        headers.push(c.name.to_string());
                    }
                }
            }
            let cell = |r: &Row, h: &str| r.get(h).map_or(String::new(), |v| text(v));
            let widths: Vec<usize> = headers
                .iter()
                .map(|h| {
                    rows.iter()
                        .map(|r| cell(r, h).chars().count())
                        .chain([h.chars().count()])
                        .max()
                        .unwrap_or(0)
                        .min(60)
                })
                .collect();
            let line = |vals: Vec<String>| {
                vals.iter()
                    .zip(&widths)
                    .map(|(v, w)| {
                        let v: String = if v.chars().count() > *w {
                            v.chars().take(w - 1).chain(['…']).collect()
                        } else {
                            v.clone()
                        };
                        format!("{v:<w$}")
                    })
                    .collect::<Vec<_>>()
                    .join("  ")
                    .trim_end()
                    .to_owned()
            };
            writeln!(self.out, "{}", line(headers.clone()))?;
            for r in &rows {
                writeln!(
                    self.out,
                    "{}",
                    line(headers.iter().map(|h| cell(r, h)).collect())
                )?;
            }
        }
        self.out.flush()
    }
}

fn text(v: &Value<'_>) -> String {
    match v {
        Value::Null => String::new(),
        other => other.to_string(),
    }
}

/// JSON value of a cell.
pub fn json(v: &Value<'_>) -> serde_json::Value {
    match v {
        Value::Null => serde_json::Value::Null,
        Value::Bool(b) => (*b).into(),
        Value::Int(i) => (*i).into(),
        Value::Float(f) => serde_json::Number::from_f64(*f)
            .map_or(serde_json::Value::Null, serde_json::Value::Number),
        Value::Str(s) => s.as_ref().into(),
        Value::Ip(ip) => ip.to_string().into(),
    }
}

impl<W: Write> Sink for Writer<W> {
    type Error = std::io::Error;

    fn row(&mut self, mut row: Row) -> Result<bool, Self::Error> {
        for (name, value) in self
            .provenance
            .iter()
            .zip(std::mem::take(&mut row.provenance))
        {
            row.cells.push(portent_engine::Cell {
                name: name.as_str().into(),
                value,
            });
        }
        match self.format {
            Format::Table => self.buffered.push(row),
            Format::Jsonl => {
                let obj: serde_json::Map<String, serde_json::Value> = row
                    .cells
                    .iter()
                    .map(|c| (c.name.to_string(), json(&c.value)))
                    .collect();
                serde_json::to_writer(&mut self.out, &obj)?;
                self.out.write_all(b"\n")?;
            }
        }
        Ok(true)
    }
}
