//! `portent convert`: a rule in another language. From AQL (the bundled
//! pack's rules by id, a file, or text) to Sigma, to QRadar-valid AQL, and to
//! Splunk SPL, Microsoft KQL, Elasticsearch ES|QL and ANSI SQL; from Sigma to
//! AQL and, through it, to the others. What a target cannot express is said
//! on stderr, never dropped silently.

use crate::output::emit_text;
use crate::Exit;
use anyhow::{anyhow, bail, Context, Result};
use portent_convert::{portable, to_qradar, to_query, to_sigma, Lang, SigmaMeta};
use std::path::PathBuf;

/// Target languages.
#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
pub enum Target {
    /// A Sigma rule (YAML).
    Sigma,
    /// AQL that QRadar accepts (from AQL), or Portent's AQL (from Sigma).
    Aql,
    /// Splunk SPL.
    Spl,
    /// Microsoft KQL (Defender DeviceNetworkEvents).
    Kql,
    /// Elasticsearch ES|QL (ECS).
    Esql,
    /// ANSI SQL.
    Sql,
}

/// Arguments of `portent convert`.
#[derive(clap::Args)]
pub struct Args {
    /// The AQL text (or use --file, --rule or --sigma).
    #[arg(value_name = "AQL")]
    aql: Option<String>,
    /// Read the AQL from a file.
    #[arg(short, long, value_name = "FILE")]
    file: Option<PathBuf>,
    /// A rule of the bundled pack, by id (its metadata goes into a Sigma rule).
    #[arg(long, value_name = "ID")]
    rule: Option<String>,
    /// A Sigma rule file to convert instead.
    #[arg(long, value_name = "FILE")]
    sigma: Option<PathBuf>,
    /// The target language.
    #[arg(long, value_enum)]
    to: Target,
    /// Write here (atomically) instead of stdout.
    #[arg(short, long, value_name = "FILE")]
    output: Option<PathBuf>,
}

/// Converts one rule.
pub fn run(a: Args) -> Result<Exit> {
    let (aql, origin, meta, from_sigma) = source(&a)?;
    let query = portent_aql::parse(&aql).map_err(|errs| {
        for e in &errs {
            eprint!("{}", e.to_diagnostic().render(&origin, &aql));
        }
        anyhow!("{origin} does not parse as AQL")
    })?;
    let mut notes = Vec::new();
    let text = match a.to {
        Target::Aql if from_sigma => aql.clone() + "\n",
        Target::Aql => to_qradar(&query, &mut notes) + "\n",
        Target::Sigma if from_sigma => bail!("{origin} is a Sigma rule already"),
        _ if from_sigma => bail!(
            "Portent converts Sigma to AQL (--to aql); for other languages convert the rule's AQL, or use a Sigma backend such as pySigma's"
        ),
        other => {
            let p = portable(&query).map_err(|e| anyhow!("{origin}: {e}"))?;
            notes.extend(p.notes.iter().cloned());
            match other {
                Target::Sigma => to_sigma(&p, &meta).map_err(|e| anyhow!("{origin}: {e}"))?,
                Target::Spl => {
                    to_query(&p, Lang::Spl, &mut notes).map_err(|e| anyhow!("{origin}: {e}"))?
                        + "\n"
                }
                Target::Kql => {
                    to_query(&p, Lang::Kql, &mut notes).map_err(|e| anyhow!("{origin}: {e}"))?
                        + "\n"
                }
                Target::Esql => {
                    to_query(&p, Lang::Esql, &mut notes).map_err(|e| anyhow!("{origin}: {e}"))?
                        + "\n"
                }
                Target::Sql => {
                    to_query(&p, Lang::Sql, &mut notes).map_err(|e| anyhow!("{origin}: {e}"))?
                        + "\n"
                }
                Target::Aql => unreachable!("handled above"),
            }
        }
    };
    if matches!(a.to, Target::Kql) {
        notes.push("KQL reads Defender's DeviceNetworkEvents: InitiatingProcessFolderPath stands for Image, RemotePort for DestinationPort".into());
    }
    emit_text(&text, a.output.as_deref())?;
    for n in &notes {
        eprintln!("portent: convert: {n}");
    }
    Ok(Exit::Ok)
}

/// The AQL to convert, where it came from, and Sigma metadata for it.
fn source(a: &Args) -> Result<(String, String, SigmaMeta, bool)> {
    let today = chrono::Utc::now().format("%Y-%m-%d").to_string();
    if let Some(p) = &a.sigma {
        let origin = p.display().to_string();
        let text = std::fs::read_to_string(p).with_context(|| format!("cannot read {origin}"))?;
        let l = portent_sigma::load(&text, &origin);
        if let Some(r) = l.rejected.first() {
            bail!("{}:{}", r.origin, r.error);
        }
        let Some(rule) = l.rules.first() else {
            bail!("{origin} holds no Sigma detection rule")
        };
        if !l.correlations.is_empty() {
            eprintln!(
                "portent: convert: {origin}: the first detection rule is converted; its {} correlation rule(s) are not (no sliding windows or sequences in the target)",
                l.correlations.len()
            );
        }
        // QRadar's dialect: no ESCAPE clauses, IF instead of a searched CASE.
        let c = portent_sigma::compile::to_qradar_aql(rule).map_err(|e| anyhow!("{origin}:{e}"))?;
        return Ok((c.aql(), origin, SigmaMeta::default(), true));
    }
    if let Some(id) = &a.rule {
        let rules = crate::pack::select(crate::pack::bundled()?, std::slice::from_ref(id))?;
        let r = rules
            .into_iter()
            .next()
            .ok_or_else(|| anyhow!("no rule `{id}`"))?;
        let m = SigmaMeta {
            title: r.meta.title.clone(),
            key: r.meta.id.clone(),
            description: r.meta.description.clone(),
            attack: r.meta.attack.clone(),
            tactic: r.meta.tactic.clone(),
            level: r.meta.severity.clone(),
            references: r.meta.references.clone(),
            falsepositives: r.meta.false_positives.clone(),
            date: today,
        };
        return Ok((r.text().into_owned(), r.origin, m, false));
    }
    let (text, origin) = match (&a.aql, &a.file) {
        (_, Some(f)) => (
            std::fs::read_to_string(f).with_context(|| format!("cannot read {}", f.display()))?,
            f.display().to_string(),
        ),
        (Some(q), None) => (q.clone(), "<query>".to_owned()),
        (None, None) => bail!("give a query, --file, --rule or --sigma"),
    };
    let m = SigmaMeta {
        title: format!("Converted from {origin}"),
        key: text.clone(),
        date: today,
        ..SigmaMeta::default()
    };
    Ok((text, origin, m, false))
}
