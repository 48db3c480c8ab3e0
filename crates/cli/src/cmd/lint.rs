//! `portent lint`.

use super::QuerySource;
use crate::Exit;
use anyhow::Result;
use portent_core::{Catalog, Schema, Severity};

/// Arguments of `portent lint`.
#[derive(clap::Args)]
pub struct Args {
    #[command(flatten)]
    source: QuerySource,
    /// Exit with 1 when there are warnings.
    #[arg(long)]
    deny_warnings: bool,
    /// Reference data, networks, assets and the GeoIP database the query
    /// reads (as `query --reference`): without them, a query that reads them
    /// is refused here as `query` would refuse it.
    #[arg(long, value_name = "DIR|FILE")]
    reference: Vec<std::path::PathBuf>,
}

/// Runs the linter.
pub fn run(a: Args) -> Result<Exit> {
    let (text, origin) = a.source.load()?;
    let ast = match portent_aql::parse(&text) {
        Ok(q) => q,
        Err(errors) => {
            for e in &errors {
                eprint!("{}", e.to_diagnostic().render(&origin, &text));
            }
            return Ok(Exit::Error);
        }
    };
    let mut schema = Schema::qradar();
    let findings = portent_engine::lint::lint(&ast, &schema, &Catalog::builtin());
    for d in &findings {
        println!("{}", d.render(&origin, &text));
    }
    // What `query` would refuse (an unknown function, a misplaced
    // aggregate, ...), lint reports too: the same compiler decides both.
    let options = portent_engine::CompileOptions {
        reference_data: super::load_reference(&a.reference)?,
        ..Default::default()
    };
    if let Err(errors) = portent_engine::Query::from_ast(&text, ast, &mut schema, &options) {
        for e in &errors.0 {
            println!("{}", e.to_diagnostic().render(&origin, &text));
        }
        eprintln!(
            "{origin}: {} error(s) (the query does not compile), {} finding(s)",
            errors.0.len(),
            findings.len()
        );
        return Ok(Exit::Error);
    }
    let warnings = findings
        .iter()
        .filter(|d| d.severity >= Severity::Warning)
        .count();
    let notes = findings.len() - warnings;
    eprintln!("{origin}: {warnings} warning(s), {notes} note(s)");
    Ok(if a.deny_warnings && warnings > 0 {
        Exit::Hits
    } else {
        Exit::Ok
    })
}
