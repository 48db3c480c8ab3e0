//! `portent sigma check` and `portent sigma convert`: the load report of
//! Sigma rules, and the AQL each becomes.

use crate::output::emit_text;
use crate::Exit;
use anyhow::Result;
use std::path::PathBuf;

/// Arguments of `portent sigma check`.
#[derive(clap::Args)]
pub struct CheckArgs {
    /// Sigma files or folders.
    #[arg(required = true, value_name = "PATH")]
    paths: Vec<PathBuf>,
    /// The report as JSON.
    #[arg(long)]
    json: bool,
}

/// Loads the rules and reports every one: loaded (with the logs it reads) or
/// rejected (with file, line, column and reason). Exit 1 when any is rejected.
pub fn check(a: CheckArgs) -> Result<Exit> {
    let mut l = crate::pack::load_sigma(&a.paths)?;
    // A correlation must name rules that loaded (from any of the files).
    let mut rules = l.rules.clone();
    let (chosen, bad) =
        crate::correlations::choose(l.correlations.clone(), &l.rules, &mut rules, &|_| true);
    l.rejected.extend(bad);
    let correlations: Vec<serde_json::Value> = chosen
        .items
        .iter()
        .map(|i| {
            let c = &i.rule;
            serde_json::json!({
                "id": i.meta.id, "title": i.meta.title, "level": i.meta.severity,
                "file": c.origin, "type": c.kind.name(), "rules": c.rules,
                "group_by": c.group_by, "timespan": crate::correlations::timespan(c.timespan_ms),
            })
        })
        .collect();
    if a.json {
        let loaded: Vec<serde_json::Value> = l
            .rules
            .iter()
            .zip(&l.sources)
            .map(|(r, (_, src))| {
                serde_json::json!({
                    "id": r.meta.id, "title": r.meta.title, "level": r.meta.severity,
                    "author": r.meta.author, "file": r.meta.query, "reads": src,
                })
            })
            .collect();
        let doc = serde_json::json!({"loaded": loaded, "correlations": correlations, "inert": l.inert, "rejected": l.rejected, "unused_filters": l.unused_filters});
        emit_text(&(serde_json::to_string_pretty(&doc)? + "\n"), None)?;
    } else {
        for (r, (_, src)) in l.rules.iter().zip(&l.sources) {
            println!(
                "loaded   {}  {}  [{}; reads {src}]",
                r.meta.query,
                r.meta.title,
                if r.meta.severity.is_empty() {
                    "no level"
                } else {
                    &r.meta.severity
                }
            );
        }
        for i in &chosen.items {
            let c = &i.rule;
            println!(
                "loaded   {}  {}  [{}; {} of {} within {}{}]",
                c.origin,
                c.title,
                c.level.as_deref().unwrap_or("no level"),
                c.kind.name(),
                c.rules.join(", "),
                crate::correlations::timespan(c.timespan_ms),
                if c.group_by.is_empty() {
                    String::new()
                } else {
                    format!(", by {}", c.group_by.join(", "))
                }
            );
        }
        for r in &l.inert {
            println!(
                "inert    {}  {}: {}",
                r.origin,
                r.title.as_deref().unwrap_or("(no title)"),
                r.reason
            );
        }
        for r in &l.rejected {
            println!(
                "rejected {}:{}:{}  {}: {}",
                r.origin,
                r.line,
                r.column,
                r.title.as_deref().unwrap_or("(no title)"),
                r.reason
            );
        }
    }
    l.report();
    Ok(if l.rejected.is_empty() {
        Exit::Ok
    } else {
        Exit::Hits
    })
}

/// Arguments of `portent sigma convert`.
#[derive(clap::Args)]
pub struct ConvertArgs {
    /// Sigma files or folders.
    #[arg(required = true, value_name = "PATH")]
    paths: Vec<PathBuf>,
}

/// Prints the AQL of every rule, each after a comment naming it.
pub fn convert(a: ConvertArgs) -> Result<Exit> {
    let l = crate::pack::load_sigma(&a.paths)?;
    let mut out = String::new();
    for r in &l.rules {
        out.push_str(&format!(
            "-- {} ({})\n-- from {}\n{}\n\n",
            r.meta.title,
            r.meta.id,
            r.meta.query,
            r.text()
        ));
    }
    for c in &l.correlations {
        // AQL has GROUP BY but no sliding windows or sequences: a query
        // would give different answers, so none is written.
        out.push_str(&format!(
            "-- {} ({} correlation of {}): not converted; AQL has no sliding windows or sequences (portent hunt and watch run it)\n\n",
            c.title,
            c.kind.name(),
            c.rules.join(", ")
        ));
    }
    emit_text(&out, None)?;
    l.report();
    Ok(if l.rejected.is_empty() {
        Exit::Ok
    } else {
        Exit::Hits
    })
}
