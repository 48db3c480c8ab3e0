//! Sigma rules as pack rules: every `.yml` / `.yaml` file under the paths is
//! loaded, each rule compiled to AQL; a document that cannot be used is
//! reported with its file, line, column and reason, and the others run.

use crate::pack::{Meta, Rule};
use anyhow::{Context, Result};
use portent_sigma::{load, to_aql, SigmaRule};
use std::path::{Path, PathBuf};

/// A Sigma document that was not loaded.
#[derive(Clone, Debug, serde::Serialize)]
pub struct Rejection {
    /// File (and document).
    pub origin: String,
    /// Line, from 1.
    pub line: usize,
    /// Column, from 1.
    pub column: usize,
    /// The rule's title, when it has one.
    pub title: Option<String>,
    /// The rule's id, when it has one.
    pub id: Option<String>,
    /// Why.
    pub reason: String,
}

/// What loading Sigma paths gave.
#[derive(Default)]
pub struct SigmaLoad {
    /// Rules, compiled.
    pub rules: Vec<Rule>,
    /// Where each compiled rule's logs come from, by rule id.
    pub sources: Vec<(String, String)>,
    /// Documents not loaded because they are broken (or use what Portent
    /// does not support).
    pub rejected: Vec<Rejection>,
    /// Sound rules that cannot fire on anything Portent reads, with why.
    pub inert: Vec<Rejection>,
    /// Files read.
    pub files: usize,
    /// Filters that named no loaded rule.
    pub unused_filters: Vec<String>,
    /// Correlation rules (what they name is resolved with the whole set).
    pub correlations: Vec<portent_sigma::correlation::Correlation>,
}

fn collect(p: &Path, out: &mut Vec<PathBuf>) -> Result<()> {
    if p.is_dir() {
        let mut entries: Vec<PathBuf> = std::fs::read_dir(p)
            .with_context(|| format!("cannot read {}", p.display()))?
            .filter_map(|e| e.ok().map(|e| e.path()))
            .collect();
        entries.sort();
        for e in entries {
            collect(&e, out)?;
        }
    } else if p
        .extension()
        .is_some_and(|x| x.eq_ignore_ascii_case("yml") || x.eq_ignore_ascii_case("yaml"))
        || !p.exists()
    {
        out.push(p.to_path_buf());
    }
    Ok(())
}

/// `attack.t1059.001` -> `T1059.001`.
pub(crate) fn technique(tag: &str) -> Option<String> {
    let t = tag.strip_prefix("attack.")?;
    let rest = t.strip_prefix('t')?;
    rest.chars()
        .next()
        .is_some_and(|c| c.is_ascii_digit())
        .then(|| format!("T{rest}"))
}

fn meta(r: &SigmaRule, aql_file: &str) -> Meta {
    // `attack.command-and-control` is a tactic; `attack.t1105`, `attack.g0007`
    // and `attack.s0002` are a technique, a group and a piece of software.
    let is_id = |t: &str| {
        let mut c = t.chars();
        matches!(c.next(), Some('t' | 'g' | 's')) && c.next().is_some_and(|d| d.is_ascii_digit())
    };
    let tactics: Vec<String> = r
        .tags
        .iter()
        .filter_map(|t| t.strip_prefix("attack."))
        .filter(|t| !is_id(t))
        .map(|t| t.replace('-', " "))
        .collect();
    let id = r.id.clone().or_else(|| r.name.clone()).unwrap_or_else(|| {
        r.title
            .to_ascii_lowercase()
            .replace(|c: char| !c.is_ascii_alphanumeric(), "-")
    });
    Meta {
        id,
        title: r.title.clone(),
        query: aql_file.to_owned(),
        enabled: true,
        attack: r.tags.iter().filter_map(|t| technique(t)).collect(),
        tactic: tactics.join(", "),
        severity: r.level.clone().unwrap_or_default(),
        confidence: String::new(),
        label_column: None,
        references: r.references.clone(),
        description: r.description.clone().unwrap_or_default(),
        data_sources: Vec::new(),
        false_positives: r.falsepositives.clone(),
        author: r.author.clone().unwrap_or_default(),
        tags: r.tags.clone(),
        fixtures: Vec::new(),
    }
}

/// Loads every Sigma rule under `paths`.
pub fn load_sigma(paths: &[PathBuf]) -> Result<SigmaLoad> {
    let mut files = Vec::new();
    for p in paths {
        collect(p, &mut files)?;
    }
    let mut out = SigmaLoad::default();
    for f in files {
        let origin = f.display().to_string();
        let text = match std::fs::read_to_string(&f) {
            Ok(t) => t,
            Err(e) => {
                out.rejected.push(Rejection {
                    origin,
                    line: 0,
                    column: 0,
                    title: None,
                    id: None,
                    reason: format!("cannot read: {e}"),
                });
                continue;
            }
        };
        out.files += 1;
        let loaded = load(&text, &origin);
        for r in loaded.rejected {
            out.rejected.push(Rejection {
                origin: r.origin,
                line: r.error.pos.line,
                column: r.error.pos.col,
                title: r.title,
                id: r.id,
                reason: r.error.message,
            });
        }
        out.correlations.extend(loaded.correlations);
        for (o, t) in loaded.unused_filters {
            out.unused_filters.push(format!("{o}: filter `{t}`"));
        }
        for r in loaded.rules {
            match to_aql(&r) {
                Ok(c) => {
                    let m = meta(&r, &r.origin);
                    out.sources.push((m.id.clone(), c.source));
                    out.rules.push(Rule {
                        dispatch: c.dispatch.clone(),
                        sigma_names: r.id.iter().chain(r.name.iter()).cloned().collect(),
                        sigma_fields: c.fields.clone(),
                        origin: format!("{} (as AQL)", r.origin),
                        meta: m,
                        aql: String::new(),
                        tree: Some(c.query),
                        fixtures: Vec::new(),
                    });
                }
                Err(e) => {
                    let list = if e.inert {
                        &mut out.inert
                    } else {
                        &mut out.rejected
                    };
                    list.push(Rejection {
                        origin: r.origin.clone(),
                        line: e.pos.line,
                        column: e.pos.col,
                        title: Some(r.title.clone()),
                        id: r.id.clone(),
                        reason: e.message,
                    })
                }
            }
        }
    }
    Ok(out)
}

impl SigmaLoad {
    /// The load report on stderr: every rejection with its place, and a count.
    pub fn report(&self) {
        for r in &self.rejected {
            eprintln!(
                "portent: sigma: {}:{}:{}: rejected{}: {}",
                r.origin,
                r.line,
                r.column,
                r.title
                    .as_deref()
                    .map(|t| format!(" `{t}`"))
                    .unwrap_or_default(),
                r.reason
            );
        }
        // Inert rules are grouped by reason: a rule set holds many per reason.
        let mut why: std::collections::BTreeMap<&str, Vec<&str>> = Default::default();
        for r in &self.inert {
            let reason = r.reason.strip_prefix("logsource: ").unwrap_or(&r.reason);
            why.entry(reason)
                .or_default()
                .push(r.title.as_deref().unwrap_or(&r.origin));
        }
        for (reason, titles) in &why {
            let shown: Vec<&str> = titles.iter().take(3).copied().collect();
            let more = titles.len().saturating_sub(shown.len());
            eprintln!(
                "portent: sigma: {} inert rule(s), {reason}: {}{}",
                titles.len(),
                shown.join("; "),
                if more > 0 {
                    format!("; {more} more")
                } else {
                    String::new()
                }
            );
        }
        for f in &self.unused_filters {
            eprintln!("portent: sigma: {f} names no loaded rule");
        }
        eprintln!(
            "portent: sigma: {} rule(s){} loaded from {} file(s), {} inert (cannot fire on what Portent reads), {} rejected",
            self.rules.len(),
            match self.correlations.len() {
                0 => String::new(),
                n => format!(" and {n} correlation(s)"),
            },
            self.files,
            self.inert.len(),
            self.rejected.len()
        );
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tags_become_techniques_and_tactics() {
        assert_eq!(technique("attack.t1059.001").as_deref(), Some("T1059.001"));
        assert_eq!(technique("attack.command-and-control"), None);
        assert_eq!(technique("attack.g0007"), None);
    }
}
