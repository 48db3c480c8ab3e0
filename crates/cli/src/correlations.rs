//! Sigma correlation rules in a run: what each names (rules or other
//! correlations, by id or `name`, from any file loaded), and which fields its
//! `group-by` and `field` read from each of them. `hunt` and `watch` build the
//! same [`Set`] from this, so a stream and a hunt give the same alerts.

use crate::pack::{Meta, Rule};
use crate::sigma::Rejection;
use portent_core::{FieldId, Schema};
use portent_engine::correlation::{Input, Pick, Set, Spec};
use portent_sigma::correlation::Correlation;

/// Groups a correlation may hold at once, each (a window of at most its
/// threshold of events) is small.
pub const MAX_GROUPS: usize = 1_000_000;

/// A correlation rule of the run, its references resolved.
#[derive(Clone, Debug)]
pub struct Item {
    /// What alerts say about it.
    pub meta: Meta,
    /// The rule as written.
    pub rule: Correlation,
    /// What it correlates: indices into the run's rules or correlations.
    pub inputs: Vec<Input>,
}

/// The correlations chosen for a run, and which rules and correlations only
/// feed them (`generate: false`, the specification's default) and so do not
/// alert on their own.
#[derive(Clone, Debug, Default)]
pub struct Chosen {
    /// Correlations, in load order.
    pub items: Vec<Item>,
    /// Per rule of the run: its matches only feed correlations.
    pub rule_feeds_only: Vec<bool>,
    /// Per correlation: its alerts only feed other correlations.
    pub correlation_feeds_only: Vec<bool>,
}

/// The names a rule answers to in `rules:` lists: its id, and its Sigma
/// `id` and `name`.
fn answers_to(r: &Rule, name: &str) -> bool {
    r.meta.id == name || r.sigma_names.iter().any(|n| n == name)
}

fn names_of(c: &Correlation) -> impl Iterator<Item = &String> {
    c.id.iter().chain(c.name.iter())
}

/// Resolves `loaded` correlations against `all` rules. The correlations
/// kept are those `keep` accepts (by their metadata); every rule and
/// correlation they name is pulled in, whether chosen or not, and added to
/// `rules`. A correlation that names something missing is rejected.
pub fn choose(
    loaded: Vec<Correlation>,
    all: &[Rule],
    rules: &mut Vec<Rule>,
    keep: &dyn Fn(&Meta) -> bool,
) -> (Chosen, Vec<Rejection>) {
    let metas: Vec<Meta> = loaded.iter().map(meta).collect();
    let mut rejected = Vec::new();
    // Which correlations are needed: the kept ones and all they name.
    let mut needed: Vec<bool> = metas.iter().map(keep).collect();
    let mut broken = vec![false; loaded.len()];
    let mut changed = true;
    while changed {
        changed = false;
        for c in 0..loaded.len() {
            if !needed[c] {
                continue;
            }
            for name in &loaded[c].rules {
                if let Some(o) = loaded.iter().position(|x| names_of(x).any(|n| n == name)) {
                    if !needed[o] {
                        needed[o] = true;
                        changed = true;
                    }
                } else if !all.iter().any(|r| answers_to(r, name)) && !broken[c] {
                    broken[c] = true;
                    rejected.push(Rejection {
                        origin: loaded[c].origin.clone(),
                        line: loaded[c].pos.line,
                        column: loaded[c].pos.col,
                        title: Some(loaded[c].title.clone()),
                        id: loaded[c].id.clone(),
                        reason: format!("the correlation names `{name}`, which is no rule or correlation loaded (or it failed to load)"),
                    });
                }
            }
        }
    }
    // A correlation that names a broken one is broken too.
    let mut changed = true;
    while changed {
        changed = false;
        for c in 0..loaded.len() {
            if broken[c] {
                continue;
            }
            let bad = loaded[c].rules.iter().find(|name| {
                loaded
                    .iter()
                    .enumerate()
                    .any(|(o, x)| broken[o] && names_of(x).any(|n| n == *name))
            });
            if let Some(name) = bad {
                broken[c] = true;
                changed = true;
                if needed[c] {
                    rejected.push(Rejection {
                        origin: loaded[c].origin.clone(),
                        line: loaded[c].pos.line,
                        column: loaded[c].pos.col,
                        title: Some(loaded[c].title.clone()),
                        id: loaded[c].id.clone(),
                        reason: format!("the correlation names `{name}`, which failed to load"),
                    });
                }
            }
        }
    }
    let order: Vec<usize> = (0..loaded.len())
        .filter(|c| needed[*c] && !broken[*c])
        .collect();
    let index_of = |c: usize| order.iter().position(|x| *x == c);
    let mut chosen = Chosen::default();
    let mut feeds_only_rule: Vec<Option<bool>> = vec![None; rules.len()];
    let mut feeds_only_corr: Vec<Option<bool>> = vec![None; order.len()];
    for &c in &order {
        let rule = &loaded[c];
        let mut inputs = Vec::new();
        for name in &rule.rules {
            let input = if let Some(o) = loaded.iter().position(|x| names_of(x).any(|n| n == name))
            {
                let i = index_of(o).unwrap_or_default();
                let slot = &mut feeds_only_corr[i];
                *slot = Some(slot.unwrap_or(true) && !rule.generate);
                Input::Correlation(i)
            } else {
                let i = match rules.iter().position(|r| answers_to(r, name)) {
                    Some(i) => i,
                    None => {
                        // Named but not chosen (--rule, --min-level): it runs to feed.
                        let Some(r) = all.iter().find(|r| answers_to(r, name)) else {
                            continue;
                        };
                        rules.push(r.clone());
                        feeds_only_rule.push(Some(true));
                        rules.len() - 1
                    }
                };
                let slot = &mut feeds_only_rule[i];
                *slot = Some(slot.unwrap_or(true) && !rule.generate);
                Input::Rule(i)
            };
            inputs.push(input);
        }
        chosen.items.push(Item {
            meta: metas[c].clone(),
            rule: rule.clone(),
            inputs,
        });
    }
    // A correlation chosen in its own right alerts even when another uses it.
    for (i, &c) in order.iter().enumerate() {
        if keep(&metas[c]) && feeds_only_corr[i].is_none() {
            feeds_only_corr[i] = Some(false);
        }
    }
    chosen.rule_feeds_only = feeds_only_rule
        .into_iter()
        .map(|x| x == Some(true))
        .collect();
    chosen.correlation_feeds_only = feeds_only_corr
        .into_iter()
        .map(|x| x == Some(true))
        .collect();
    (chosen, rejected)
}

/// What alerts say about a correlation.
pub fn meta(c: &Correlation) -> Meta {
    Meta {
        id: c.id.clone().or_else(|| c.name.clone()).unwrap_or_else(|| {
            c.title
                .to_ascii_lowercase()
                .replace(|x: char| !x.is_ascii_alphanumeric(), "-")
        }),
        title: c.title.clone(),
        query: format!("{} correlation", c.kind.name()),
        enabled: true,
        attack: c
            .tags
            .iter()
            .filter_map(|t| crate::sigma::technique(t))
            .collect(),
        tactic: String::new(),
        severity: c.level.clone().unwrap_or_default(),
        confidence: String::new(),
        label_column: None,
        references: c.references.clone(),
        description: c.description.clone().unwrap_or_default(),
        data_sources: Vec::new(),
        false_positives: c.falsepositives.clone(),
        author: c.author.clone().unwrap_or_default(),
        tags: c.tags.clone(),
        fixtures: Vec::new(),
    }
}

/// The fields that hold `name` in the events of `rule`: the name as
/// written, and the normalised field its log source maps it to.
fn fields_of(rule: &Rule, name: &str, schema: &mut Schema) -> Vec<FieldId> {
    let mut out = vec![schema.intern(name)];
    if let Some((_, mapped)) = rule
        .sigma_fields
        .iter()
        .find(|(s, _)| s.eq_ignore_ascii_case(name))
    {
        let id = schema.intern(mapped);
        if !out.contains(&id) {
            out.push(id);
        }
    }
    out
}

/// The field an input calls `name`: an alias gives each rule its own.
fn aliased<'a>(c: &'a Correlation, name: &'a str, input_names: &[String]) -> &'a str {
    c.aliases
        .iter()
        .find(|(alias, _)| alias == name)
        .and_then(|(_, per)| {
            per.iter()
                .find(|(rule, _)| input_names.iter().any(|n| n == rule))
                .map(|(_, f)| f.as_str())
        })
        .unwrap_or(name)
}

/// The runnable set: group-by and value fields resolved (and interned in
/// `schema`, so readers keep them); alerts carry `provenance`.
pub fn build(
    chosen: &Chosen,
    rules: &[Rule],
    schema: &mut Schema,
    provenance: Vec<FieldId>,
) -> Result<Set, String> {
    let mut specs = Vec::new();
    for item in &chosen.items {
        let c = &item.rule;
        let names_for = |input: &Input| -> Vec<String> {
            match input {
                Input::Rule(r) => {
                    let mut v = rules[*r].sigma_names.clone();
                    v.push(rules[*r].meta.id.clone());
                    v
                }
                Input::Correlation(o) => names_of(&chosen.items[*o].rule).cloned().collect(),
            }
        };
        let mut pick = |name: &str, input: &Input| -> Pick {
            let field = aliased(c, name, &names_for(input));
            match input {
                Input::Rule(r) => Pick::Fields(fields_of(&rules[*r], field, schema)),
                Input::Correlation(o) => chosen.items[*o]
                    .rule
                    .group_by
                    .iter()
                    .position(|g| g == field)
                    .map_or(Pick::Nothing, Pick::Group),
            }
        };
        let group = c
            .group_by
            .iter()
            .map(|g| (g.clone(), item.inputs.iter().map(|i| pick(g, i)).collect()))
            .collect();
        let value = c
            .field
            .as_ref()
            .map(|f| (f.clone(), item.inputs.iter().map(|i| pick(f, i)).collect()));
        let input_titles = item
            .inputs
            .iter()
            .map(|i| match i {
                Input::Rule(r) => rules[*r].meta.title.clone(),
                Input::Correlation(o) => chosen.items[*o].meta.title.clone(),
            })
            .collect();
        specs.push(Spec {
            kind: c.kind,
            inputs: item.inputs.clone(),
            input_titles,
            group,
            value,
            timespan_ms: c.timespan_ms,
            condition: c.condition,
        });
    }
    Set::new(specs, provenance, MAX_GROUPS)
}

/// A timespan in the unit it was most likely written in (`600000` -> `10m`).
pub fn timespan(ms: i64) -> String {
    for (unit, size) in [
        ("d", 86_400_000),
        ("h", 3_600_000),
        ("m", 60_000),
        ("s", 1_000),
    ] {
        if ms % size == 0 {
            return format!("{}{unit}", ms / size);
        }
    }
    format!("{ms}ms")
}
