//! Rule packs: an AQL file per rule and a TOML file of metadata beside it
//! (id, title, ATT&CK ids, severity, ...). The bundled pack (`rules/`) is built
//! into the binary, so `portent hunt` works from any directory.

use anyhow::{bail, Context, Result};
use serde::Deserialize;
use std::path::{Path, PathBuf};

pub use crate::sigma::load_sigma;

/// One rule's metadata, as its TOML file has it.
#[derive(Clone, Debug, Deserialize, serde::Serialize)]
#[serde(deny_unknown_fields)]
pub struct Meta {
    /// Stable identifier.
    pub id: String,
    /// One line for people.
    pub title: String,
    /// The AQL file, relative to the TOML file.
    pub query: String,
    /// Run by default (`false`: only with `--rule`).
    #[serde(default = "yes")]
    pub enabled: bool,
    /// ATT&CK technique ids.
    #[serde(default)]
    pub attack: Vec<String>,
    /// ATT&CK tactic.
    #[serde(default)]
    pub tactic: String,
    /// low, medium, high, critical.
    #[serde(default)]
    pub severity: String,
    /// low, medium, high.
    #[serde(default)]
    pub confidence: String,
    /// The column that labels a hit (for the per-label summary).
    #[serde(default)]
    pub label_column: Option<String>,
    /// Links.
    #[serde(default)]
    pub references: Vec<String>,
    /// What the rule finds and why.
    #[serde(default)]
    pub description: String,
    /// Telemetry it needs.
    #[serde(default)]
    pub data_sources: Vec<String>,
    /// Known benign causes.
    #[serde(default)]
    pub false_positives: Vec<String>,
    /// Who wrote the rule (Sigma's `author`; alerts carry it, as the Detection
    /// Rule License asks).
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub author: String,
    /// Tags as the rule gives them (Sigma's `attack.t1105`, ...).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub tags: Vec<String>,
    /// Fixture files (JSON lines, relative to the TOML file): events with an
    /// `expect` key that `portent rules test` holds the rule to.
    #[serde(default)]
    pub fixtures: Vec<String>,
}

fn yes() -> bool {
    true
}

/// A rule ready to compile.
#[derive(Clone, Debug)]
pub struct Rule {
    /// Metadata.
    pub meta: Meta,
    /// The AQL text of a rule written as text (empty for one built as a
    /// tree: see [`Rule::text`]).
    pub aql: String,
    /// The syntax tree of a rule built as one (a Sigma rule): compiled from
    /// it, not from text parsed again; its text is printed when asked for.
    pub tree: Option<portent_aql::ast::Query>,
    /// Where the AQL came from, for error messages.
    pub origin: String,
    /// The fixture files: where each came from, and its text.
    pub fixtures: Vec<(String, String)>,
    /// The channels and event ids the rule can match at all (Sigma rules,
    /// from their log source), so a run can skip it on other events.
    pub dispatch: Option<portent_sigma::logsource::Dispatch>,
    /// Sigma's `id` and `name`, by which correlation rules name it.
    pub sigma_names: Vec<String>,
    /// Sigma field name -> normalised field, for its log source (what a
    /// correlation's `group-by` reads).
    pub sigma_fields: Vec<(&'static str, &'static str)>,
}

impl Rule {
    /// The rule's AQL, printed from its tree when it was built as one.
    pub fn text(&self) -> std::borrow::Cow<'_, str> {
        match &self.tree {
            Some(tree) if self.aql.is_empty() => format!("{tree:#}").into(),
            _ => self.aql.as_str().into(),
        }
    }

    /// The rule's query, compiled from its tree when it has one, else from
    /// its text. The tree moves into the query: thousands of Sigma rules
    /// never hold a tree and a text each.
    pub fn compile(
        &mut self,
        schema: &mut portent_core::Schema,
        options: &portent_engine::CompileOptions,
    ) -> Result<portent_engine::Query, portent_engine::Errors> {
        let Some(tree) = self.tree.take() else {
            return portent_engine::Query::compile(&self.aql, schema, options);
        };
        // No text: a built tree's columns are named by their fields and
        // aliases (see `implicit_name`), and its errors carry no place in a
        // text (the Sigma loader has checked what could fail, with its YAML
        // line and column; what the engine could still refuse is said with
        // the rule's file).
        portent_engine::Query::from_ast("", tree, schema, options)
    }
}

/// The pack in the repository's `rules/`, built into the binary: each rule's
/// metadata and query.
const BUNDLED: &[(&str, &str, &str)] = &[
    (
        "rules/t1043-commonly-used-port.toml",
        include_str!("../../../rules/t1043-commonly-used-port.toml"),
        include_str!("../../../rules/t1043-commonly-used-port.aql"),
    ),
    (
        "rules/t1043-strict-basename.toml",
        include_str!("../../../rules/t1043-strict-basename.toml"),
        include_str!("../../../rules/t1043-strict-basename.aql"),
    ),
    (
        "rules/t1071-004-dns-tunnelling.toml",
        include_str!("../../../rules/t1071-004-dns-tunnelling.toml"),
        include_str!("../../../rules/t1071-004-dns-tunnelling.aql"),
    ),
    (
        "rules/t1197-bits-transfer.toml",
        include_str!("../../../rules/t1197-bits-transfer.toml"),
        include_str!("../../../rules/t1197-bits-transfer.aql"),
    ),
    (
        "rules/t1036-renamed-binary-network.toml",
        include_str!("../../../rules/t1036-renamed-binary-network.toml"),
        include_str!("../../../rules/t1036-renamed-binary-network.aql"),
    ),
];

/// The bundled rules' fixture files, by their path relative to `rules/`.
const BUNDLED_FIXTURES: &[(&str, &str)] = &[
    (
        "../examples/sysmon-ecs-t1043.jsonl",
        include_str!("../../../examples/sysmon-ecs-t1043.jsonl"),
    ),
    (
        "../examples/t1043-events.jsonl",
        include_str!("../../../examples/t1043-events.jsonl"),
    ),
    (
        "fixtures/t1043-strict-basename.jsonl",
        include_str!("../../../rules/fixtures/t1043-strict-basename.jsonl"),
    ),
    (
        "fixtures/t1071-004-dns-tunnelling.jsonl",
        include_str!("../../../rules/fixtures/t1071-004-dns-tunnelling.jsonl"),
    ),
    (
        "fixtures/t1197-bits-transfer.jsonl",
        include_str!("../../../rules/fixtures/t1197-bits-transfer.jsonl"),
    ),
    (
        "fixtures/t1036-renamed-binary-network.jsonl",
        include_str!("../../../rules/fixtures/t1036-renamed-binary-network.jsonl"),
    ),
];

/// The bundled rules.
pub fn bundled() -> Result<Vec<Rule>> {
    BUNDLED
        .iter()
        .map(|(origin, toml_text, aql)| {
            let meta = parse_meta(toml_text, origin)?;
            let fixtures = meta
                .fixtures
                .iter()
                .map(|f| match BUNDLED_FIXTURES.iter().find(|(p, _)| p == f) {
                    Some((p, text)) => Ok((format!("rules/{p}"), (*text).to_owned())),
                    None => bail!("{origin}: fixture {f} is not bundled"),
                })
                .collect::<Result<_>>()?;
            Ok(Rule {
                dispatch: None,
                sigma_names: Vec::new(),
                sigma_fields: Vec::new(),
                origin: format!("rules/{}", meta.query),
                meta,
                aql: (*aql).to_owned(),
                tree: None,
                fixtures,
            })
        })
        .collect()
}

fn parse_meta(text: &str, origin: &str) -> Result<Meta> {
    toml::from_str(text).map_err(|e| anyhow::anyhow!("{origin}: {e}"))
}

/// Every `*.toml` rule under `dir` (recursively), with its AQL file.
pub fn load_dir(dir: &Path) -> Result<Vec<Rule>> {
    let mut files = Vec::new();
    collect(dir, &mut files)?;
    files.sort();
    if files.is_empty() {
        bail!("{}: no rule metadata (*.toml) found", dir.display());
    }
    let mut rules = Vec::new();
    for f in files {
        let text =
            std::fs::read_to_string(&f).with_context(|| format!("cannot read {}", f.display()))?;
        // A rule directory may hold other TOML (tuning files, as `rules/` does).
        // A file with none of a rule's keys is not rule metadata; one with
        // some of them is, so that a typo in a rule is an error, not a skip.
        let is_rule = toml::from_str::<toml::Table>(&text)
            .map(|t| ["id", "title", "query"].iter().any(|k| t.contains_key(*k)))
            .unwrap_or(true);
        if !is_rule {
            eprintln!(
                "portent: {}: no id, title or query: not rule metadata, skipped",
                f.display()
            );
            continue;
        }
        let meta = parse_meta(&text, &f.display().to_string())?;
        let aql_path = f.parent().unwrap_or(Path::new(".")).join(&meta.query);
        let aql = std::fs::read_to_string(&aql_path).with_context(|| {
            format!(
                "{}: cannot read its query {}",
                f.display(),
                aql_path.display()
            )
        })?;
        let mut fixtures = Vec::new();
        for name in &meta.fixtures {
            let p = f.parent().unwrap_or(Path::new(".")).join(name);
            let text = std::fs::read_to_string(&p).with_context(|| {
                format!("{}: cannot read its fixture {}", f.display(), p.display())
            })?;
            fixtures.push((p.display().to_string(), text));
        }
        rules.push(Rule {
            dispatch: None,
            sigma_names: Vec::new(),
            sigma_fields: Vec::new(),
            meta,
            tree: None,
            aql,
            origin: aql_path.display().to_string(),
            fixtures,
        });
    }
    Ok(rules)
}

fn collect(dir: &Path, out: &mut Vec<PathBuf>) -> Result<()> {
    for e in std::fs::read_dir(dir)
        .with_context(|| format!("cannot read rule directory {}", dir.display()))?
    {
        let p = e?.path();
        if p.is_dir() {
            collect(&p, out)?;
        } else if p.extension().is_some_and(|x| x == "toml") {
            out.push(p);
        }
    }
    Ok(())
}

/// What choosing the rules left out, for the summary: nothing is dropped
/// without being said.
#[derive(Clone, Debug, Default, serde::Serialize)]
pub struct RuleSetReport {
    /// Sigma rules loaded.
    pub sigma_loaded: usize,
    /// Sigma rules that cannot fire on what Portent reads, with why.
    pub sigma_inert: Vec<crate::sigma::Rejection>,
    /// Sigma documents that failed to load, with why.
    pub sigma_rejected: Vec<crate::sigma::Rejection>,
    /// Rules not run because their level is below `--min-level`.
    pub below_min_level: usize,
    /// The `--min-level` in force.
    pub min_level: Option<String>,
    /// Sigma correlation rules run.
    pub correlations: usize,
}

impl RuleSetReport {
    /// Says on stderr what was left out (the Sigma load report itself is
    /// printed when the rules load).
    pub fn print(&self) {
        if !self.sigma_rejected.is_empty() {
            eprintln!(
                "portent: {} Sigma rule(s) failed to load and were skipped (--skip-bad-rules); see above",
                self.sigma_rejected.len()
            );
        }
        if !self.sigma_inert.is_empty() {
            eprintln!(
                "portent: {} Sigma rule(s) are inert: their log sources are not in what Portent reads (see above)",
                self.sigma_inert.len()
            );
        }
        if let (Some(min), n @ 1..) = (&self.min_level, self.below_min_level) {
            eprintln!("portent: {n} rule(s) below --min-level {min} were not run");
        }
    }
}

/// Sigma's levels, lowest first; a pack rule's severity uses the same words.
const LEVELS: [&str; 5] = ["informational", "low", "medium", "high", "critical"];

/// The rank of a level name (`None`: not a level).
pub fn level_rank(level: &str) -> Option<usize> {
    let l = level.to_ascii_lowercase();
    LEVELS.iter().position(|x| *x == l)
}

/// The rules a run uses: the bundled pack or a rule folder (neither with
/// `--sigma-only`), plus Sigma rules, narrowed to `--rule` (or every enabled
/// rule) and `--min-level`. Sigma rules that fail to load stop the run
/// unless `--skip-bad-rules`; either way the report says which and why.
/// Hunt and watch choose the same way.
pub fn choose(
    a: &crate::cmd::RuleArgs,
) -> Result<(Vec<Rule>, RuleSetReport, crate::correlations::Chosen)> {
    let mut report = RuleSetReport::default();
    let min = match &a.min_level {
        Some(m) => Some(
            level_rank(m)
                .with_context(|| format!("--min-level takes {}, not `{m}`", LEVELS.join(", ")))?,
        ),
        None => None,
    };
    report.min_level = a.min_level.clone();
    let mut all = match (a.rules.as_deref(), a.sigma_only) {
        (_, true) => Vec::new(),
        (Some(dir), false) => load_dir(dir)?,
        (None, false) => bundled()?,
    };
    let mut correlations = Vec::new();
    if !a.sigma.is_empty() {
        let loaded = load_sigma(&a.sigma)?;
        loaded.report();
        report.sigma_loaded = loaded.rules.len();
        report.sigma_inert = loaded.inert;
        report.sigma_rejected = loaded.rejected;
        all.extend(loaded.rules);
        correlations = loaded.correlations;
    }
    // A level below the bar leaves a rule out; one without a level is kept:
    // nothing says it is below the bar.
    let level_ok =
        |m: &Meta| min.is_none_or(|min| level_rank(&m.severity).is_none_or(|l| l >= min));
    let correlation_ids: Vec<String> = correlations
        .iter()
        .map(|c| crate::correlations::meta(c).id)
        .collect();
    let wanted: Vec<String> = a
        .rule
        .iter()
        .filter(|w| !correlation_ids.contains(w))
        .cloned()
        .collect();
    let mut rules = if wanted.is_empty() && !a.rule.is_empty() {
        Vec::new()
    } else {
        select(all.clone(), &wanted)?
    };
    let before = rules.len();
    rules.retain(|r| level_ok(&r.meta));
    report.below_min_level = before - rules.len();
    let keep = |m: &Meta| (a.rule.is_empty() || a.rule.contains(&m.id)) && level_ok(m);
    let (chosen, bad) = crate::correlations::choose(correlations, &all, &mut rules, &keep);
    report.correlations = chosen.items.len();
    if !bad.is_empty() {
        for r in &bad {
            eprintln!(
                "portent: sigma: {}:{}:{}: rejected `{}`: {}",
                r.origin,
                r.line,
                r.column,
                r.title.as_deref().unwrap_or(""),
                r.reason
            );
        }
        report.sigma_rejected.extend(bad);
    }
    if !report.sigma_rejected.is_empty() && !a.skip_bad_rules {
        bail!(
            "{} Sigma rule(s) failed to load (listed above); fix them, or run the others with --skip-bad-rules",
            report.sigma_rejected.len()
        );
    }
    if rules.is_empty() && chosen.items.is_empty() {
        bail!("no rules to run (all are off by default, below --min-level, or failed; name them with --rule)");
    }
    Ok((rules, report, chosen))
}

/// The rules to run: those named by `--rule`, else every enabled rule.
pub fn select(rules: Vec<Rule>, wanted: &[String]) -> Result<Vec<Rule>> {
    let mut ids = std::collections::HashSet::new();
    for r in &rules {
        if !ids.insert(r.meta.id.clone()) {
            bail!("two rules have the id `{}`", r.meta.id);
        }
    }
    if wanted.is_empty() {
        return Ok(rules.into_iter().filter(|r| r.meta.enabled).collect());
    }
    for w in wanted {
        if !rules.iter().any(|r| &r.meta.id == w) {
            let known: Vec<&str> = rules.iter().map(|r| r.meta.id.as_str()).collect();
            bail!("no rule `{w}` (known: {})", known.join(", "));
        }
    }
    Ok(rules
        .into_iter()
        .filter(|r| wanted.contains(&r.meta.id))
        .collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bundled_pack_carries_the_seed_metadata() {
        let rules = bundled().unwrap();
        let seed = rules
            .iter()
            .find(|r| r.meta.id == "t1043-commonly-used-port")
            .unwrap();
        assert_eq!(seed.meta.attack, ["T1043", "T1571", "T1071"]);
        assert_eq!(
            (seed.meta.severity.as_str(), seed.meta.confidence.as_str()),
            ("medium", "medium")
        );
        assert_eq!(seed.meta.tactic, "Command and Control");
        assert_eq!(seed.meta.false_positives.len(), 3);
        assert!(seed.aql.contains("LIMIT 500"));
        let enabled: Vec<String> = select(rules, &[])
            .unwrap()
            .into_iter()
            .map(|r| r.meta.id)
            .collect();
        assert_eq!(
            enabled,
            [
                "t1043-commonly-used-port",
                "t1071-004-dns-tunnelling",
                "t1197-bits-transfer",
                "t1036-renamed-binary-network"
            ],
            "the strict variant is opt-in"
        );
    }

    #[test]
    fn unknown_rule_ids_are_errors() {
        let err = select(bundled().unwrap(), &["nope".into()])
            .unwrap_err()
            .to_string();
        assert!(
            err.contains(
                "no rule `nope` (known: t1043-commonly-used-port, t1043-strict-basename, "
            ),
            "{err}"
        );
    }
}
