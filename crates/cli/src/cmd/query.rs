//! `portent query`.

use super::{report_errors, InputArgs, QuerySource};
use crate::output::{Format, Writer};
use crate::scan::scan;
use crate::Exit;
use anyhow::{bail, Context, Result};
use portent_core::schema::ids;
use portent_core::Schema;
use portent_engine::{CompileOptions, Query, Run, WindowPolicy, Zone};

/// Arguments of `portent query`.
#[derive(clap::Args)]
pub struct Args {
    #[command(flatten)]
    source: QuerySource,
    #[command(flatten)]
    input: InputArgs,
    /// NOW() for the query: epoch ms, RFC 3339, `latest` (the newest event read) or `wall-clock`.
    #[arg(long, default_value = "wall-clock")]
    now: String,
    /// The query's own time window: `as-written` or `ignore`.
    #[arg(long, default_value = "as-written")]
    window: String,
    /// Time zone for DATEFORMAT and START/STOP strings (UTC, Europe/Berlin, +02:00).
    #[arg(long, default_value = "UTC")]
    tz: String,
    /// Extra or replacement lookup rows (`table,id,name` CSV: logsourcetype,
    /// category, qid, protocol, logsource) for LOGSOURCETYPENAME, CATEGORYNAME, ...
    #[arg(long, value_name = "CSV")]
    catalog: Option<std::path::PathBuf>,
    /// Output format.
    #[arg(long, value_enum, default_value = "table")]
    format: Format,
    /// Return every row: ignore the query's LIMIT (a SIEM UI page size, not a hunt's).
    #[arg(long)]
    no_limit: bool,
    /// Add where each row's event came from: "Source File" and "Record Number".
    #[arg(long)]
    provenance: bool,
    /// Exit with 1 when the query returns rows.
    #[arg(long)]
    fail_on_hits: bool,
}

/// Runs the query.
pub fn run(a: Args) -> Result<Exit> {
    let (text, origin) = a.source.load()?;
    let zone = Zone::parse(&a.tz).map_err(anyhow::Error::msg)?;
    let window = match a.window.as_str() {
        "as-written" => WindowPolicy::AsWritten,
        "ignore" => WindowPolicy::Ignore,
        other => bail!("--window takes as-written or ignore, not `{other}`"),
    };
    let mut schema = Schema::qradar();
    let provenance = if a.provenance {
        vec![ids::SOURCE_FILE, ids::RECORD_NUMBER]
    } else {
        Vec::new()
    };
    let mut catalog = portent_core::Catalog::builtin();
    if let Some(path) = &a.catalog {
        let text = std::fs::read_to_string(path)
            .with_context(|| format!("cannot read catalog {}", path.display()))?;
        catalog
            .load_csv(&text)
            .map_err(|e| anyhow::anyhow!("{}:{e}", path.display()))?;
    }
    let options = CompileOptions {
        zone,
        window,
        provenance: provenance.clone(),
        catalog: std::sync::Arc::new(catalog),
        ..CompileOptions::default()
    };
    let mut q = Query::compile(&text, &mut schema, &options)
        .map_err(|e| report_errors(&e, &origin, &text))?;
    if a.no_limit {
        q.limit = None;
    }

    let scan_options = a.input.scan_options(q.reads_all_fields())?;
    let found = scan(&a.input.inputs, &[&q], &schema, &scan_options);
    let now = match a.now.as_str() {
        "wall-clock" => chrono::Utc::now().timestamp_millis(),
        "latest" => found.latest.unwrap_or(0),
        t => match portent_core::value::parse_int(t) {
            Some(ms) => ms,
            None => chrono::DateTime::parse_from_rfc3339(t)
                .with_context(|| {
                    format!("--now: `{t}` is not epoch ms, RFC 3339, `latest` or `wall-clock`")
                })?
                .timestamp_millis(),
        },
    };
    let stdout = std::io::stdout();
    let provenance_names = provenance
        .iter()
        .map(|f| schema.name(*f).to_owned())
        .collect();
    let writer = Writer::new(a.format, stdout.lock(), q.column_names(), provenance_names);
    let mut run = Run::new(&q, writer, now);
    for c in found.candidates.iter().filter(|c| c.mask[0]) {
        if !run.push(&c.record)? {
            break;
        }
    }
    let window_used = run.window();
    let (writer, stats) = run.finish()?;
    writer.close()?;
    let partial = a.input.print_reports(&found);
    eprintln!(
        "{} row(s){}; {} matching event(s) outside the time window{}",
        stats.emitted,
        if stats.hidden_by_limit > 0 {
            format!(
                ", {} more hidden by LIMIT ({} in total)",
                stats.hidden_by_limit, stats.rows_total
            )
        } else {
            String::new()
        },
        stats.outside_window,
        match window_used {
            Some(w) => format!(" ({w:?})"),
            None => String::new(),
        },
    );
    Ok(if partial {
        Exit::PartialInput
    } else if a.fail_on_hits && stats.emitted > 0 {
        Exit::Hits
    } else {
        Exit::Ok
    })
}
