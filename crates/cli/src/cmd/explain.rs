//! `portent explain`.

use super::{report_errors, QuerySource};
use crate::Exit;
use anyhow::Result;
use portent_core::Schema;
use portent_engine::{CompileOptions, Query};

/// Arguments of `portent explain`.
#[derive(clap::Args)]
pub struct Args {
    #[command(flatten)]
    source: QuerySource,
}

/// Prints the plan.
pub fn run(a: Args) -> Result<Exit> {
    let (text, origin) = a.source.load()?;
    let mut schema = Schema::qradar();
    let q = Query::compile(&text, &mut schema, &CompileOptions::default())
        .map_err(|e| report_errors(&e, &origin, &text))?;
    print!("{}", portent_engine::explain::explain(&q));
    Ok(Exit::Ok)
}
