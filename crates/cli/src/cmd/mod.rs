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
