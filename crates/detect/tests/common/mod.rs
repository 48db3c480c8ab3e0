//! The whole SigmaHQ Windows rule set as a detector's rule set, for the
//! corpus tests.

use portent_core::{Schema, Zone};
use portent_detect::{Rule, RuleMeta, RuleSet, PROVENANCE};
use portent_engine::{CompileOptions, Query, WindowPolicy};
use std::path::Path;
use std::time::Duration;

/// The corpus and the shared Sigma rules, when both are there (the tests
/// that need them are ignored by default and say why).
pub fn corpus_and_rules() -> Option<(std::path::PathBuf, std::path::PathBuf)> {
    Some((
        portent_core::testdata::corpus()?,
        portent_core::testdata::sigma_rules()?,
    ))
}

/// Every rule of `rules/sigmahq-windows` that compiles, with its log source,
/// compiled against `schema` (one schema for all, as `watch` shares it).
pub fn sigmahq(rules: &Path, schema: &mut Schema) -> RuleSet {
    let files = portent_core::testdata::files(&rules.join("sigmahq-windows"), "yml");
    assert!(files.len() > 2000, "{}", files.len());
    let opts = CompileOptions {
        window: WindowPolicy::Ignore,
        provenance: PROVENANCE.iter().map(|(_, f)| *f).collect(),
        ..CompileOptions::default()
    };
    let mut set = RuleSet {
        rules: Vec::new(),
        tuning: None,
        zone: Zone::utc(),
        aggregate_every: Duration::from_secs(3600),
        correlations: None,
    };
    for f in &files {
        let text = std::fs::read_to_string(f).unwrap();
        for r in portent_sigma::load(&text, &f.display().to_string()).rules {
            let Ok(c) = portent_sigma::compile::to_aql(&r) else {
                continue;
            };
            if let Ok(mut q) = Query::from_ast("", c.query, schema, &opts) {
                q.order.clear();
                q.limit = None;
                set.rules.push(Rule {
                    meta: RuleMeta {
                        id: format!("{}#{}", set.rules.len(), r.title),
                        ..RuleMeta::default()
                    },
                    query: q,
                    dispatch: c.dispatch,
                });
            }
        }
    }
    // Fields resolved by later rules are known to all.
    portent_engine::share_schema(set.rules.iter_mut().map(|r| &mut r.query));
    assert!(set.rules.len() > 2000, "{} rules compiled", set.rules.len());
    set
}
