//! `portent baseline learn`: records, from data known to be good, which
//! process images talk to which destination ports and classes.

use super::{report_errors, InputArgs};
use crate::baseline::{Baseline, CONNECTIONS};
use crate::summary::Summary;
use crate::Exit;
use anyhow::Result;
use portent_core::{Schema, Zone};
use portent_detect::scan::{scan_each, Mode};
use portent_engine::{CompileOptions, Query};
use std::path::PathBuf;

/// Arguments of `portent baseline learn`.
#[derive(clap::Args)]
pub struct LearnArgs {
    #[command(flatten)]
    input: InputArgs,
    /// Where to write the baseline (JSON).
    #[arg(short, long, value_name = "FILE")]
    output: PathBuf,
}

/// Learns a baseline.
pub fn learn(a: LearnArgs) -> Result<Exit> {
    let mut schema = Schema::qradar();
    let q = Query::compile(CONNECTIONS, &mut schema, &CompileOptions::default())
        .map_err(|e| report_errors(&e, "<baseline>", CONNECTIONS))?;
    let inputs = a.input.all()?;
    let mut b = Baseline::default();
    b.learned_from = inputs.iter().map(|p| p.display().to_string()).collect();
    let mut connections = 0u64;
    // Learned while reading: memory grows with the pairs, not the events.
    let found = scan_each(
        &inputs,
        &[&q],
        &schema,
        &a.input.scan_options(false)?,
        Mode::Streaming,
        &crate::progress::Progress::new(),
        &mut |c| {
            if c.of(0) {
                connections += 1;
                b.learn(&c.record);
            }
        },
    );
    b.save(&a.output)?;
    let summary = Summary::from_scan(&found, &Zone::utc());
    summary.print(a.input.report);
    eprintln!(
        "portent: baseline: {} process/port/class pair(s) from {connections} connection(s) written to {}",
        b.entries.len(),
        a.output.display()
    );
    Ok(if summary.partial() {
        Exit::PartialInput
    } else {
        Exit::Ok
    })
}
