//! `portent query`: one AQL query over the inputs.

use super::{
    describe_window, load_catalog, parse_window, report_errors, resolve_now, InputArgs,
    QuerySource, TuneArgs,
};
use crate::output::{emit, Format, Sheet, WriteOptions};
use crate::scan::scan;
use crate::summary::{RuleSummary, Summary};
use crate::Exit;
use anyhow::Result;
use portent_core::schema::ids;
use portent_core::Schema;
use portent_engine::{CompileOptions, Query, Run, Zone};
use std::path::PathBuf;

/// Arguments of `portent query`.
#[derive(clap::Args)]
pub struct Args {
    #[command(flatten)]
    source: QuerySource,
    #[command(flatten)]
    input: InputArgs,
    #[command(flatten)]
    tune: TuneArgs,
    /// NOW() for the query: `wall-clock`, `latest` (the newest event read), epoch ms or RFC 3339.
    #[arg(long, default_value = "wall-clock")]
    now: String,
    /// The query's time window: `as-written`, `ignore`, or `last:DURATION` (last:7d) instead.
    #[arg(long, default_value = "as-written")]
    window: String,
    /// Return every row: ignore the query's LIMIT (a SIEM UI page size, not a hunt's).
    #[arg(long)]
    no_limit: bool,
    /// Time zone for DATEFORMAT, START/STOP strings and displayed times (UTC, Europe/Berlin, +02:00).
    #[arg(long, default_value = "UTC")]
    tz: String,
    /// Extra or replacement lookup rows (`table,id,name` CSV: logsourcetype,
    /// category, qid, protocol, logsource) for LOGSOURCETYPENAME, CATEGORYNAME, ...
    #[arg(long, value_name = "CSV")]
    catalog: Option<PathBuf>,
    /// Add where each row's event came from: "Source File" and "Record Number".
    #[arg(long)]
    provenance: bool,
    /// Output format.
    #[arg(long, value_enum, default_value = "table")]
    format: Format,
    /// Write rows to this file (atomically) instead of stdout.
    #[arg(short, long, value_name = "FILE")]
    output: Option<PathBuf>,
    /// Start CSV output with a byte order mark (for Excel).
    #[arg(long)]
    csv_bom: bool,
    /// Also write the summary as JSON to this file.
    #[arg(long, value_name = "FILE")]
    summary_json: Option<PathBuf>,
    /// Exit with 1 when the query returns rows.
    #[arg(long)]
    fail_on_hits: bool,
}

/// Runs the query.
pub fn run(mut a: Args) -> Result<Exit> {
    if a.source.file.is_some() {
        // With --file, a leading positional argument is an input, not a query.
        if let Some(p) = a.source.aql.take() {
            a.input.paths.insert(0, PathBuf::from(p));
        }
    }
    let (text, origin) = a.source.load()?;
    let zone = Zone::parse(&a.tz).map_err(anyhow::Error::msg)?;
    let mut schema = Schema::qradar();
    let mut provenance = if a.provenance {
        vec![ids::SOURCE_FILE, ids::RECORD_NUMBER]
    } else {
        Vec::new()
    };
    if a.tune.show_suppressed {
        provenance.push(ids::SUPPRESSED_BY);
    }
    let options = CompileOptions {
        zone,
        window: parse_window(&a.window)?,
        provenance: provenance.clone(),
        catalog: load_catalog(a.catalog.as_deref())?,
        ..CompileOptions::default()
    };
    let mut q = Query::compile(&text, &mut schema, &options)
        .map_err(|e| report_errors(&e, &origin, &text))?;
    if a.no_limit {
        q.limit = None;
    }
    let tuning = a.tune.load(&schema)?;
    let scan_options = a.input.scan_options(q.reads_all_fields())?;
    let found = scan(&a.input.all()?, &[&q], &schema, &scan_options);
    let now = resolve_now(&a.now, found.latest)?;
    let mut sheet = Sheet::new(q.column_names());
    let names: Vec<String> = provenance
        .iter()
        .map(|f| schema.name(*f).to_owned())
        .collect();
    let mut run = Run::new(
        &q,
        ProvenanceSheet {
            sheet: &mut sheet,
            names: &names,
        },
        now,
    );
    // Ad hoc queries are rule `query` to tuning: exceptions for all rules apply.
    let exceptions: Vec<(usize, &portent_engine::tuning::Exception)> = match &tuning {
        Some(t) => t.for_rule("query").collect(),
        None => Vec::new(),
    };
    let mut held = vec![0u64; tuning.as_ref().map_or(0, |t| t.exceptions.len())];
    let mut held_back: Vec<portent_core::Record<'static>> = Vec::new();
    for c in found.candidates.iter().filter(|c| c.mask[0]) {
        let mut by = None;
        let _ = run.push_unless(&c.record, &mut |ev| {
            by = exceptions
                .iter()
                .find(|(_, e)| e.matches(ev, &zone))
                .map(|(x, _)| *x);
            by.is_some()
        });
        if let (Some(x), Some(t)) = (by, &tuning) {
            held[x] += 1;
            if a.tune.show_suppressed {
                let mut rec = c.record.clone();
                rec.set(
                    ids::SUPPRESSED_BY,
                    portent_core::Value::string(t.exceptions[x].id.clone()),
                );
                held_back.push(rec);
            }
        }
    }
    let window = describe_window(&q, run.window(), now, &zone);
    let (_, stats) = run.finish()?;
    if !held_back.is_empty() {
        let mut shown = Run::new(
            &q,
            ProvenanceSheet {
                sheet: &mut sheet,
                names: &names,
            },
            now,
        );
        for rec in &held_back {
            let _ = shown.push(rec);
        }
        shown.finish()?;
    }
    let mut summary = Summary::from_scan(&found, &zone);
    if let Some(t) = &tuning {
        for (x, e) in &exceptions {
            summary.suppressed.push(crate::summary::Suppression {
                exception: e.id.clone(),
                rule: "query".into(),
                hits: held[*x],
                reason: e.reason.clone(),
                owner: e.owner.clone(),
                expires: e.expires.map(|d| d.to_string()),
            });
        }
        summary.expired_exceptions = t
            .exceptions
            .iter()
            .filter(|e| e.expired)
            .map(|e| e.id.clone())
            .collect();
    }
    summary.rules.push(RuleSummary {
        id: "query".into(),
        rows: stats.emitted,
        rows_total: stats.rows_total,
        hidden_by_limit: stats.hidden_by_limit,
        outside_window: stats.outside_window,
        suppressed: stats.suppressed,
        window,
    });
    let write_opts = WriteOptions {
        csv_bom: a.csv_bom,
        json_extra: vec![("summary".into(), serde_json::to_value(&summary)?)],
        jsonl_version: false,
    };
    emit(&sheet, a.format, a.output.as_deref(), &write_opts)?;
    summary.print(a.input.report);
    if let Some(p) = &a.summary_json {
        summary.write_json(p)?;
    }
    Ok(if summary.partial() {
        Exit::PartialInput
    } else if a.fail_on_hits && stats.emitted > 0 {
        Exit::Hits
    } else {
        Exit::Ok
    })
}

/// A sheet that appends each row's provenance cells.
struct ProvenanceSheet<'s> {
    sheet: &'s mut Sheet,
    names: &'s [String],
}

impl portent_engine::Sink for ProvenanceSheet<'_> {
    type Error = std::convert::Infallible;

    fn row(&mut self, row: portent_engine::Row) -> Result<bool, Self::Error> {
        let prov: Vec<(String, serde_json::Value)> = self
            .names
            .iter()
            .cloned()
            .zip(row.provenance.iter().map(crate::output::json))
            .collect();
        self.sheet.push(
            row.cells
                .into_iter()
                .map(|c| (c.name.to_string(), crate::output::json(&c.value)))
                .chain(prov),
        );
        Ok(true)
    }
}
