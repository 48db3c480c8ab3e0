//! `portent query`: one AQL query over the inputs.

use super::{
    describe_window, load_catalog, parse_window, report_errors, resolve_now, InputArgs, OutputArgs,
    QuerySource, TuneArgs,
};
use crate::output::{emit, Sheet, WriteOptions};
use crate::summary::{RuleSummary, Summary};
use crate::Exit;
use anyhow::Result;
use portent_core::schema::ids;
use portent_core::Schema;
use portent_detect::batch::{BatchRule, BatchRun, Hit};
use portent_engine::Sink;
use portent_engine::{CompileOptions, Query, Zone};
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
    /// Reference sets, maps, maps of sets and tables the query looks up
    /// (files or folders: CSV, or the JSON of QRadar's reference data API).
    #[arg(long, value_name = "DIR|FILE")]
    reference: Vec<PathBuf>,
    /// Add where each row's event came from: "Source File" and "Record Number".
    #[arg(long)]
    provenance: bool,
    #[command(flatten)]
    out: OutputArgs,
    /// Exit with 1 when the query returns rows.
    #[arg(long)]
    fail_on_hits: bool,
}

/// Runs the query.
pub fn run(mut a: Args) -> Result<Exit> {
    a.out.check()?;
    if a.out.format == crate::output::Format::Beacons {
        anyhow::bail!(
            "--format beacons is the hunt's beacon view; `portent hunt --beacons` gives it"
        );
    }
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
        // RULENAME knows the bundled pack's rules (and --catalog's `rule` rows).
        catalog: super::with_rule_titles(
            load_catalog(a.catalog.as_deref())?,
            crate::pack::bundled()?.iter().map(|r| &r.meta),
        ),
        reference_data: super::load_reference(&a.reference)?,
        ..CompileOptions::default()
    };
    let mut q = Query::compile(&text, &mut schema, &options)
        .map_err(|e| report_errors(&e, &origin, &text))?;
    if a.no_limit {
        q.limit = None;
    }
    let tuning = a.tune.load(&schema)?;
    let mut scan_options = a.input.scan_options(q.reads_all_fields())?;
    scan_options.list_inputs |= a.out.lists_inputs();
    if !q.reads_all_fields() {
        let mut keep = q.fields();
        keep.extend(&provenance);
        keep.extend(super::hunt::tuning_fields(tuning.as_ref()));
        keep.sort_unstable();
        keep.dedup();
        scan_options.keep = Some(keep);
    }
    let names: Vec<String> = provenance
        .iter()
        .map(|f| schema.name(*f).to_owned())
        .collect();
    // Rows of a query that neither sorts nor groups can go out as they are
    // found, in JSON, JSON lines, Timesketch lines or CSV (when its columns
    // are known up front):
    // memory stays flat whatever the input. NOW() must be known before
    // reading for that (not `--now latest`).
    let columns: Vec<String> = q
        .column_names()
        .into_iter()
        .chain(names.iter().cloned())
        .collect();
    let streams = !q.is_blocking()
        && a.now != "latest"
        && !a.tune.show_suppressed
        && match a.out.format {
            crate::output::Format::Jsonl
            | crate::output::Format::Json
            | crate::output::Format::Timesketch => true,
            crate::output::Format::Csv => !columns.iter().any(|c| c == "*"),
            crate::output::Format::Table | crate::output::Format::Beacons => false,
        };
    if streams {
        return stream(
            &a,
            &q,
            &schema,
            &scan_options,
            tuning.as_ref(),
            columns,
            &names,
            zone,
        );
    }
    // The candidates go to the run as they are read: a grouped or sorted
    // query holds its groups or top rows, not every event. They wait for
    // the end of the input only when NOW is the newest event and the query
    // reads it, or when the query's answer depends on input order and
    // enrichment could reorder them; the table keeps input order anyway
    // unless enrichment could change it.
    let at_end = (a.now == "latest" && q.reads_now())
        || portent_detect::scan::needs_input_order(&q)
        || (!q.is_blocking() && portent_detect::scan::may_reorder(&q));
    let fixed_now = (a.now != "latest")
        .then(|| resolve_now(&a.now, None))
        .transpose()?;
    let latest = std::cell::Cell::new(None);
    let mut latest_known = |l: Option<i64>| latest.set(Some(l.unwrap_or(0)));
    let mode = if at_end {
        portent_detect::scan::Mode::AtEnd(&mut latest_known)
    } else {
        portent_detect::scan::Mode::Streaming
    };
    let mut sheet = Sheet::new(q.column_names());
    let mut rows = ProvenanceSheet {
        sheet: &mut sheet,
        names: &names,
    };
    // Ad hoc queries are rule `query` to tuning: exceptions for all rules apply.
    let mut batch = BatchRun::new(
        [BatchRule {
            query: &q,
            id: "query",
            feeds: false,
            feeds_only: false,
        }],
        tuning.as_ref(),
        a.tune.show_suppressed,
        Vec::new(),
        zone,
    );
    if let Some(now) = fixed_now {
        batch.set_now(now);
    }
    let inputs = a.input.all()?;
    let found = portent_detect::scan::scan_each(
        &inputs,
        &[&q],
        &schema,
        &scan_options,
        mode,
        &crate::progress::Progress::new(),
        &mut |c| {
            batch.learn_now(latest.get());
            if c.of(0) {
                batch.push(0, &c.record, c.seq, &mut |hit: Hit| {
                    let Ok(_) = rows.row(hit.row);
                });
            }
        },
    );
    let now = fixed_now.unwrap_or_else(|| found.latest.unwrap_or(0));
    let (ends, _) = batch.finish(now, &mut |hit: Hit| {
        let Ok(_) = rows.row(hit.row);
    });
    let Some(end) = ends.into_iter().next() else {
        anyhow::bail!("the query did not run");
    };
    let window = describe_window(&q, end.window, now, &zone);
    let stats = end.stats;
    let mut summary = Summary::from_scan(&found, &zone);
    crate::tuned::report("query", end.held, tuning.as_ref(), &mut summary);
    let write_opts = WriteOptions {
        csv_bom: a.out.csv_bom,
        json_extra: Vec::new(),
        jsonl_version: false,
    };
    let exit = finish(&a, &mut summary, &stats, window)?;
    let write_opts = WriteOptions {
        // Only JSON has a place for the summary (see hunt's json_extra).
        json_extra: match a.out.format {
            crate::output::Format::Json => {
                vec![("summary".into(), serde_json::to_value(&summary)?)]
            }
            _ => Vec::new(),
        },
        ..write_opts
    };
    emit(&sheet, a.out.format, a.out.output.as_deref(), &write_opts)?;
    report(&a, &summary)?;
    Ok(exit)
}

/// The query's line of the summary, and the exit code.
fn finish(
    a: &Args,
    summary: &mut Summary,
    stats: &portent_engine::Stats,
    window: String,
) -> Result<Exit> {
    summary.rules.push(RuleSummary {
        id: "query".into(),
        title: String::new(),
        level: String::new(),
        attack: Vec::new(),
        rows: stats.emitted,
        rows_total: stats.rows_total,
        hidden_by_limit: stats.hidden_by_limit,
        outside_window: stats.outside_window,
        suppressed: stats.suppressed,
        window,
        correlation_only: 0,
        notes: Vec::new(),
    });
    Ok(if summary.partial() {
        Exit::PartialInput
    } else if a.fail_on_hits && stats.emitted > 0 {
        Exit::Hits
    } else {
        Exit::Ok
    })
}

/// The summary on stderr and in `--summary-json`.
fn report(a: &Args, summary: &Summary) -> Result<()> {
    summary.print(a.input.report);
    if let Some(p) = &a.out.summary_json {
        summary.write_json(p)?;
    }
    Ok(())
}

/// Runs the query over the inputs while reading them, writing each row as it
/// is found (see `run`).
#[allow(clippy::too_many_arguments)]
fn stream(
    a: &Args,
    q: &Query,
    schema: &Schema,
    scan_options: &portent_detect::scan::ScanOptions,
    tuning: Option<&portent_engine::tuning::Tuning>,
    columns: Vec<String>,
    names: &[String],
    zone: Zone,
) -> Result<Exit> {
    let now = resolve_now(&a.now, None)?;
    let inputs = a.input.all()?;
    let layout = match a.out.format {
        crate::output::Format::Csv => crate::output::Layout::Csv(columns),
        crate::output::Format::Json => crate::output::Layout::Json,
        crate::output::Format::Timesketch => crate::output::Layout::Timesketch,
        _ => crate::output::Layout::Jsonl { version: false },
    };
    let mut outcome = None;
    crate::output::to_path_or_stdout(a.out.output.as_deref(), &mut |out| {
        let mut writer = crate::output::RowWriter::new(out, layout.clone(), a.out.csv_bom);
        let mut rows = StreamSink {
            writer: &mut writer,
            names,
        };
        let mut batch = BatchRun::new(
            [BatchRule {
                query: q,
                id: "query",
                feeds: false,
                feeds_only: false,
            }],
            tuning,
            false,
            Vec::new(),
            zone,
        );
        batch.set_now(now);
        let found = portent_detect::scan::scan_each(
            &inputs,
            &[q],
            schema,
            scan_options,
            portent_detect::scan::Mode::Streaming,
            &crate::progress::Progress::new(),
            &mut |c| {
                if c.of(0) {
                    batch.push(0, &c.record, c.seq, &mut |hit: Hit| {
                        let Ok(_) = rows.row(hit.row);
                    });
                }
            },
        );
        let (ends, _) = batch.finish(now, &mut |hit: Hit| {
            let Ok(_) = rows.row(hit.row);
        });
        let Some(end) = ends.into_iter().next() else {
            return Err(std::io::Error::other("the query did not run"));
        };
        let window = describe_window(q, end.window, now, &zone);
        let stats = end.stats;
        let mut summary = Summary::from_scan(&found, &zone);
        crate::tuned::report("query", end.held, tuning, &mut summary);
        let exit = finish(a, &mut summary, &stats, window).map_err(std::io::Error::other)?;
        let extra = match a.out.format {
            crate::output::Format::Json => vec![(
                "summary".to_owned(),
                serde_json::to_value(&summary).map_err(std::io::Error::other)?,
            )],
            _ => Vec::new(),
        };
        writer.finish(&extra)?;
        crate::output::untimed_note(writer.untimed);
        outcome = Some((summary, exit));
        Ok(())
    })?;
    let Some((summary, exit)) = outcome else {
        // The output closed early (a pipe): nothing more to say.
        return Ok(Exit::Ok);
    };
    report(a, &summary)?;
    Ok(exit)
}

/// A sink that writes each row at once, with its provenance cells.
struct StreamSink<'w, 'o> {
    writer: &'w mut crate::output::RowWriter<'o>,
    names: &'w [String],
}

impl portent_engine::Sink for StreamSink<'_, '_> {
    type Error = std::convert::Infallible;

    fn row(&mut self, row: portent_engine::Row) -> Result<bool, Self::Error> {
        let cells: Vec<(String, serde_json::Value)> = row
            .cells
            .into_iter()
            .map(|c| (c.name.to_string(), crate::output::json(&c.value)))
            .chain(
                self.names
                    .iter()
                    .cloned()
                    .zip(row.provenance.iter().map(crate::output::json)),
            )
            .collect();
        // A failed write stops the run; the error is reported at the end.
        Ok(self.writer.write(cells))
    }
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
