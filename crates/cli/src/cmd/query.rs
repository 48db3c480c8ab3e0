//! `portent query`.

use super::{report_errors, QuerySource};
use crate::output::{Format, Writer};
use crate::Exit;
use anyhow::{bail, Context, Result};
use portent_core::schema::ids;
use portent_core::{Event, Record, Schema};
use portent_engine::{CompileOptions, Query, Run, WindowPolicy, Zone};
use std::path::PathBuf;

/// Arguments of `portent query`.
#[derive(clap::Args)]
pub struct Args {
    #[command(flatten)]
    source: QuerySource,
    /// JSON-lines files of events with QRadar field names.
    #[arg(short, long = "input", value_name = "FILE", required = true)]
    inputs: Vec<PathBuf>,
    /// NOW() for the query: epoch ms, RFC 3339, or `latest` (the newest event).
    #[arg(long, default_value = "wall-clock")]
    now: String,
    /// The query's own time window: `as-written` or `ignore`.
    #[arg(long, default_value = "as-written")]
    window: String,
    /// Time zone for DATEFORMAT and START/STOP strings (UTC, Europe/Berlin, +02:00).
    #[arg(long, default_value = "UTC")]
    tz: String,
    /// Output format.
    #[arg(long, value_enum, default_value = "table")]
    format: Format,
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
    let options = CompileOptions {
        zone,
        window,
        ..CompileOptions::default()
    };
    let q = Query::compile(&text, &mut schema, &options)
        .map_err(|e| report_errors(&e, &origin, &text))?;

    let mut events: Vec<Record<'static>> = Vec::new();
    let mut skipped = 0usize;
    for path in &a.inputs {
        let data = match std::fs::read_to_string(path) {
            Ok(d) => d,
            Err(e) => {
                eprintln!("portent: {}: {e}", path.display());
                skipped += 1;
                continue;
            }
        };
        for err in portent_io::read_jsonl(&data, &schema, |r| events.push(r)) {
            eprintln!(
                "portent: {}:{}:{}: skipped: {}",
                path.display(),
                err.line,
                err.column,
                err.message
            );
            skipped += 1;
        }
    }
    let now = match a.now.as_str() {
        "wall-clock" => chrono::Utc::now().timestamp_millis(),
        "latest" => events
            .iter()
            .filter_map(|e| e.get(ids::STARTTIME).to_i64())
            .max()
            .unwrap_or(0),
        t => match portent_core::value::parse_int(t) {
            Some(ms) => ms,
            None => chrono::DateTime::parse_from_rfc3339(t)
                .with_context(|| format!("--now: `{t}` is not epoch ms, RFC 3339 or `latest`"))?
                .timestamp_millis(),
        },
    };
    let stdout = std::io::stdout();
    let writer = Writer::new(a.format, stdout.lock(), q.column_names());
    let mut run = Run::new(&q, writer, now);
    for e in &events {
        if !run.push(e)? {
            break;
        }
    }
    let window_used = run.window();
    let (writer, stats) = run.finish()?;
    writer.close()?;
    eprintln!(
        "{} events read, {} skipped; {} outside the time window{}; {} matched; {} row(s) returned{}",
        stats.events,
        skipped,
        stats.outside_window,
        match window_used {
            Some(w) => format!(" ({w:?})"),
            None => String::new(),
        },
        stats.matched,
        stats.emitted,
        if stats.hidden_by_limit > 0 {
            format!(", {} more hidden by LIMIT ({} in total)", stats.hidden_by_limit, stats.rows_total)
        } else {
            String::new()
        }
    );
    Ok(if skipped > 0 {
        Exit::PartialInput
    } else if a.fail_on_hits && stats.emitted > 0 {
        Exit::Hits
    } else {
        Exit::Ok
    })
}
