//! One module per subcommand.

pub mod explain;
pub mod lint;
pub mod query;

use anyhow::{bail, Context, Result};
use std::path::PathBuf;

/// Where the query text comes from.
#[derive(clap::Args, Clone, Debug)]
pub struct QuerySource {
    /// The AQL text (or use --file).
    #[arg(value_name = "AQL", required_unless_present = "file")]
    pub aql: Option<String>,
    /// Read the query from a file.
    #[arg(short, long, value_name = "FILE")]
    pub file: Option<PathBuf>,
}

impl QuerySource {
    /// The query text and a name for messages.
    pub fn load(&self) -> Result<(String, String)> {
        match (&self.aql, &self.file) {
            (_, Some(f)) => {
                let text = std::fs::read_to_string(f)
                    .with_context(|| format!("cannot read query file {}", f.display()))?;
                Ok((text, f.display().to_string()))
            }
            (Some(q), None) => Ok((q.clone(), "<query>".into())),
            (None, None) => bail!("give a query, or --file"),
        }
    }
}

/// Prints query errors as code frames and fails.
pub fn report_errors(errors: &portent_engine::Errors, origin: &str, source: &str) -> anyhow::Error {
    for e in &errors.0 {
        eprint!("{}", e.to_diagnostic().render(origin, source));
    }
    anyhow::anyhow!("{} error(s) in {origin}", errors.0.len())
}

/// Where events come from, and how they are read.
#[derive(clap::Args, Clone, Debug)]
pub struct InputArgs {
    /// Input files or directories: EVTX, JSON (evtx_dump, Winlogbeat, NXLog, Mordor,
    /// Azure, Ariel), QRadar CSV, LEEF, Zeek conn.log; zip/tar.gz/gz opened.
    #[arg(short, long = "input", value_name = "PATH", required = true, num_args = 1..)]
    pub inputs: Vec<PathBuf>,
    /// Read every input as this format instead of recognising it
    /// (evtx, json, leef, csv, zeek).
    #[arg(long, value_name = "FORMAT")]
    pub input_format: Option<String>,
    /// Zone of zone-less local times in the input (NXLog EventTime, some Mordor TimeCreated).
    #[arg(long, default_value = "UTC", value_name = "ZONE")]
    pub input_tz: String,
    /// Worker threads (default: one per core).
    #[arg(short = 'j', long)]
    pub threads: Option<usize>,
    /// Print a report for every input, not only for those with problems.
    #[arg(long)]
    pub report: bool,
}

impl InputArgs {
    /// Scan settings from the flags.
    pub fn scan_options(&self, keep_unknown: bool) -> Result<crate::scan::ScanOptions> {
        let format = match &self.input_format {
            Some(f) => Some(portent_io::Format::parse(f).with_context(|| {
                format!("--input-format: `{f}` is not one of evtx, json, leef, csv, zeek")
            })?),
            None => None,
        };
        let input_zone = portent_core::Zone::parse(&self.input_tz)
            .map_err(|e| anyhow::anyhow!("--input-tz: {e}"))?;
        Ok(crate::scan::ScanOptions {
            threads: self
                .threads
                .unwrap_or_else(|| std::thread::available_parallelism().map_or(1, |n| n.get())),
            read: portent_io::ReadOptions {
                input_zone,
                keep_unknown,
                format,
                ..portent_io::ReadOptions::default()
            },
            index_capacity: 4_000_000,
        })
    }

    /// Prints the input reports (all with `--report`, else those with problems)
    /// and the totals. True when some input was skipped in part or whole.
    pub fn print_reports(&self, scan: &crate::scan::Scan) -> bool {
        let mut skipped = 0u64;
        let mut failed = 0usize;
        for r in &scan.reports {
            skipped += r.skipped_total();
            if r.fatal.is_some() {
                failed += 1;
            }
            let trouble = r.fatal.is_some() || r.skipped_total() > 0 || !r.repaired.is_empty();
            if self.report || trouble {
                eprintln!("portent: {r}");
            }
        }
        let streams = scan.reports.iter().filter(|r| r.fatal.is_none()).count();
        eprintln!(
            "portent: {} event(s) read from {streams} input(s); {skipped} skipped{}",
            scan.events,
            if failed > 0 {
                format!(", {failed} input(s) not read")
            } else {
                String::new()
            }
        );
        if let Some((found, missing, evicted)) = scan.enrichment.filter(|(f, m, _)| f + m > 0) {
            eprintln!(
                "portent: process enrichment: {found} candidate(s) joined to their process creation, {missing} without one in the input{}",
                if evicted > 0 { format!(", {evicted} index entries evicted") } else { String::new() }
            );
        }
        skipped > 0 || failed > 0
    }
}
