//! Judging single events against rules, for `portent rules test` and
//! `portent validate`: did the rule fire, with which label, would a tuning
//! exception hold the hit back, and if it did not fire, which condition kept
//! the event out. Events are read by the same readers and joined to their
//! process creations by the same index as in a hunt.

use crate::pack::Rule;
use anyhow::{bail, Result};
use portent_core::schema::ids;
use portent_core::{Event, Record, Schema, Value, Zone};
use portent_detect::{Detector, Rule as DetectorRule, RuleSet, Stamped};
use portent_engine::tuning::Tuning;
use portent_engine::why::{why_not, WhyNot};
use portent_engine::{CompileOptions, Query, Row, Run};
use portent_io::correlate::{creation_of, ProcessIndex};
use portent_io::{read_bytes, FileReport, ReadOptions};
use serde_json::Value as J;
use std::collections::{BTreeMap, HashMap};

/// A rule and its compiled query.
pub struct Compiled {
    /// The rule.
    pub rule: Rule,
    /// Its query.
    pub query: Query,
}

/// Compiles every rule (errors as code frames) with the rules' windows as
/// written and no LIMIT: a test must see every hit.
pub fn compile(rules: Vec<Rule>, schema: &mut Schema) -> Result<Vec<Compiled>> {
    let options = CompileOptions::default();
    let mut out = Vec::new();
    let mut failed = 0;
    for mut rule in rules {
        match rule.compile(schema, &options) {
            Ok(mut query) => {
                query.limit = None;
                out.push(Compiled { rule, query });
            }
            Err(e) => {
                let _ = crate::cmd::report_errors(&e, &rule.origin, &rule.text());
                failed += 1;
            }
        }
    }
    if failed > 0 {
        bail!("{failed} rule(s) do not compile");
    }
    Ok(out)
}

/// Reads inputs (name, bytes) in order, every source field kept, and joins
/// connections to their process creations among all of them.
pub fn read(
    inputs: Vec<(String, Vec<u8>)>,
    schema: &Schema,
) -> (Vec<Record<'static>>, Vec<FileReport>) {
    let opts = ReadOptions::default();
    let mut records = Vec::new();
    let mut reports = Vec::new();
    for (name, data) in inputs {
        reports.extend(read_bytes(&name, data, schema, &opts, &mut |_, rec| {
            records.push(rec)
        }));
    }
    let mut index = ProcessIndex::new(1 << 20);
    for r in &records {
        if let Some(c) = creation_of(r) {
            index.insert(c);
        }
    }
    for r in &mut records {
        index.enrich(r);
    }
    (records, reports)
}

/// The newest event time of `records` (NOW() for their rules).
pub fn latest(records: &[Record<'static>]) -> i64 {
    records
        .iter()
        .filter_map(|r| r.get(ids::STARTTIME).to_i64())
        .max()
        .unwrap_or(0)
}

/// What a rule made of one event.
#[derive(Debug)]
pub struct Verdict {
    /// The rule matched (WHERE and its window).
    pub hit: bool,
    /// The value of the rule's label column, for a hit.
    pub label: Option<String>,
    /// The tuning exception that would hold the hit back.
    pub suppressed_by: Option<String>,
    /// For a miss: the condition that kept it out (`None` when only the
    /// rule's time window did).
    pub why: Option<WhyNot>,
}

/// Judges `rec` by `c` at `now`, with `tuning`'s exceptions for the rule;
/// a miss is explained when `explain` is set (it walks the condition again).
pub fn judge(
    c: &Compiled,
    rec: &Record<'static>,
    now: i64,
    tuning: Option<&Tuning>,
    zone: &Zone,
    explain: bool,
) -> Verdict {
    let mut run = Run::new(&c.query, Vec::<Row>::new(), now);
    let _ = run.push(rec);
    let rows = run.finish().map(|(rows, _)| rows).unwrap_or_default();
    let Some(row) = rows.first() else {
        return Verdict {
            hit: false,
            label: None,
            suppressed_by: None,
            why: if explain {
                why_not(&c.query, rec, now)
            } else {
                None
            },
        };
    };
    let label = c
        .rule
        .meta
        .label_column
        .as_deref()
        .and_then(|col| row.get(col))
        .and_then(|v| v.to_text().map(|t| t.into_owned()));
    let suppressed_by = tuning.and_then(|t| {
        t.for_rule(&c.rule.meta.id)
            .find(|(_, e)| e.matches(rec, zone))
            .map(|(_, e)| e.id.clone())
    });
    Verdict {
        hit: true,
        label,
        suppressed_by,
        why: None,
    }
}

/// Rule id -> the label it fired with, for one event.
pub type Fired = BTreeMap<String, Option<String>>;

/// The rules as `portent watch` runs them (`hunt` runs the same compiled
/// rules through the same routing and shared automata, and a test holds the
/// two to the same alerts): tuning is left out, to say which exception would
/// hold a hit back rather than lose it.
pub fn detector_rules(rules: &[Compiled], zone: Zone) -> RuleSet {
    RuleSet {
        rules: rules
            .iter()
            .map(|c| {
                let meta = crate::cmd::watch::rule_meta(&c.rule.meta);
                DetectorRule::streaming(meta, c.query.clone(), c.rule.dispatch.clone())
            })
            .collect(),
        tuning: None,
        zone,
        aggregate_every: std::time::Duration::MAX,
        correlations: None,
    }
}

/// What the detector fires on each record, in order: rule id -> label.
pub fn detect(
    set: &RuleSet,
    rules: &[Compiled],
    records: &[Record<'static>],
    now: i64,
) -> Vec<Fired> {
    let label_of: HashMap<&str, Option<&str>> = rules
        .iter()
        .map(|c| (c.rule.meta.id.as_str(), c.rule.meta.label_column.as_deref()))
        .collect();
    let mut detector = Detector::new(set, now);
    let mut alerts = Vec::new();
    let received = std::time::Instant::now();
    records
        .iter()
        .enumerate()
        .map(|(i, rec)| {
            let event = Stamped {
                record: rec.clone(),
                received,
                id: i.to_string().into(),
            };
            detector.evaluate(&event, "validate", &mut alerts);
            alerts
                .drain(..)
                .map(|a| {
                    let label = label_of
                        .get(a.rule.as_str())
                        .copied()
                        .flatten()
                        .and_then(|col| a.get(col))
                        .and_then(|v| match v {
                            J::Null => None,
                            J::String(s) => Some(s.clone()),
                            other => Some(other.to_string()),
                        });
                    (a.rule, label)
                })
                .collect()
        })
        .collect()
}

/// The verdict of rule `c` on record `rec`: the detector's. The reference
/// evaluator (one event, one rule, nothing routed or shared) checks every
/// hit, and every miss it is to explain (`explain`); misses it need not
/// explain, the bulk of thousands of rules over background events, are not
/// judged twice. A rule that groups gives its rows for the whole input, not
/// per event: the reference judges it alone. Where the two disagree,
/// `disagree` hears it: that is a fault in Portent, and fails the validation.
#[allow(clippy::too_many_arguments)]
pub fn verdict(
    c: &Compiled,
    rec: &Record<'static>,
    detected: &Fired,
    now: i64,
    tuning: Option<&Tuning>,
    zone: &Zone,
    explain: bool,
    disagree: &mut dyn FnMut(String),
) -> Verdict {
    let id = &c.rule.meta.id;
    let grouped = c.query.grouping.is_some();
    if !grouped && !explain && !detected.contains_key(id) {
        return Verdict {
            hit: false,
            label: None,
            suppressed_by: None,
            why: None,
        };
    }
    let mut v = judge(c, rec, now, tuning, zone, explain);
    if grouped {
        return v;
    }
    match (detected.get(id), v.hit) {
        (Some(label), true) => v.label = label.clone(),
        (None, false) => {}
        (fired, _) => disagree(format!(
            "rule {id}: the detector {} but the reference evaluator {}",
            if fired.is_some() {
                "fired"
            } else {
                "did not fire"
            },
            if v.hit { "matches" } else { "does not" }
        )),
    }
    v
}

/// A record's channel and record number, to find generated events again.
pub fn identity(rec: &Record<'static>) -> (String, Option<i64>) {
    let channel = match rec.get(ids::CHANNEL) {
        Value::Null => String::new(),
        v => v.to_text().map(|t| t.to_lowercase()).unwrap_or_default(),
    };
    (channel, rec.get(ids::RECORD_NUMBER).to_i64())
}

/// Escapes text for XML attributes and content.
pub fn xml_escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&apos;"),
            c if (c as u32) < 0x20 && !matches!(c, '\n' | '\t' | '\r') => {
                out.push_str(&format!("&#x{:x};", c as u32))
            }
            c => out.push(c),
        }
    }
    out
}

/// One JUnit test case.
pub struct Case {
    /// Suite (rule or scenario).
    pub suite: String,
    /// Name.
    pub name: String,
    /// Failure message, if it failed.
    pub failure: Option<String>,
}

/// JUnit XML for `cases`, grouped into suites in order of appearance.
pub fn junit(name: &str, cases: &[Case]) -> String {
    let mut suites: Vec<(&str, Vec<&Case>)> = Vec::new();
    for c in cases {
        match suites.iter_mut().find(|(s, _)| *s == c.suite) {
            Some((_, list)) => list.push(c),
            None => suites.push((&c.suite, vec![c])),
        }
    }
    let failures = cases.iter().filter(|c| c.failure.is_some()).count();
    let mut out = format!(
        "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<testsuites name=\"{}\" tests=\"{}\" failures=\"{failures}\">\n",
        xml_escape(name),
        cases.len()
    );
    for (suite, list) in suites {
        let f = list.iter().filter(|c| c.failure.is_some()).count();
        out.push_str(&format!(
            "  <testsuite name=\"{}\" tests=\"{}\" failures=\"{f}\">\n",
            xml_escape(suite),
            list.len()
        ));
        for c in list {
            out.push_str(&format!(
                "    <testcase classname=\"{}\" name=\"{}\"",
                xml_escape(suite),
                xml_escape(&c.name)
            ));
            match &c.failure {
                Some(msg) => out.push_str(&format!(
                    ">\n      <failure message=\"{}\"/>\n    </testcase>\n",
                    xml_escape(msg)
                )),
                None => out.push_str("/>\n"),
            }
        }
        out.push_str("  </testsuite>\n");
    }
    out.push_str("</testsuites>\n");
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    const SEED: &str = "t1043-commonly-used-port";
    const SEED_EXAMPLE: &str = include_str!("../../../examples/t1043-events.jsonl");

    /// The seed's rule and the example's events (enriched), with NOW.
    fn seed_and_example() -> (Vec<Compiled>, Vec<Record<'static>>, i64) {
        let mut schema = Schema::qradar();
        let pack = crate::pack::select(crate::pack::bundled().unwrap(), &[SEED.into()]);
        let rules = compile(pack.unwrap(), &mut schema).unwrap();
        let example = (
            "t1043-events.jsonl".into(),
            SEED_EXAMPLE.as_bytes().to_vec(),
        );
        let (records, _) = read(vec![example], &schema);
        let now = latest(&records);
        (rules, records, now)
    }

    #[test]
    fn the_detector_fires_where_the_reference_does_with_the_rules_label() {
        let (rules, records, now) = seed_and_example();
        let zone = Zone::utc();
        let set = detector_rules(&rules, zone);
        let detected = detect(&set, &rules, &records, now);
        assert_eq!(detected.len(), records.len());
        let (mut fired, mut explained) = (0, 0);
        for (rec, det) in records.iter().zip(&detected) {
            let reference = judge(&rules[0], rec, now, None, &zone, false);
            assert_eq!(det.contains_key(SEED), reference.hit, "{rec:?}");
            if let Some(label) = det.get(SEED) {
                assert_eq!(label, &reference.label);
                assert!(label.is_some());
                fired += 1;
            }
            let mut disagreements = Vec::new();
            let v = verdict(&rules[0], rec, det, now, None, &zone, true, &mut |d| {
                disagreements.push(d)
            });
            assert!(disagreements.is_empty(), "{disagreements:?}");
            assert_eq!(v.hit, reference.hit);
            // A miss is explained, unless only the rule's window kept it out.
            assert!(!v.hit || v.why.is_none());
            explained += usize::from(v.why.is_some());
        }
        assert!(explained > 3, "{explained}");
        assert!(
            fired > 3 && fired < records.len(),
            "{fired} of {}",
            records.len()
        );
    }

    #[test]
    fn a_detector_that_disagrees_with_the_reference_is_a_failure_not_a_verdict() {
        let (rules, records, now) = seed_and_example();
        let zone = Zone::utc();
        let hit = records
            .iter()
            .find(|r| judge(&rules[0], r, now, None, &zone, false).hit)
            .unwrap();
        let miss = records
            .iter()
            .find(|r| !judge(&rules[0], r, now, None, &zone, false).hit)
            .unwrap();
        let nothing = Fired::new();
        let everything: Fired = [(SEED.to_owned(), Some("LOLBin".to_owned()))].into();
        for (rec, det, explain, disagrees) in [
            (hit, &nothing, true, true),
            (miss, &everything, true, true),
            (miss, &everything, false, true),
            (hit, &everything, false, false),
            // Not fired, not to be explained: the reference is not asked.
            (hit, &nothing, false, false),
        ] {
            let mut said = Vec::new();
            let v = verdict(&rules[0], rec, det, now, None, &zone, explain, &mut |d| {
                said.push(d)
            });
            assert_eq!(!said.is_empty(), disagrees, "{said:?}");
            if !disagrees {
                assert_eq!(v.hit, det.contains_key(SEED));
            }
        }
    }

    #[test]
    fn junit_groups_cases_and_escapes() {
        let cases = [
            Case {
                suite: "r<1>".into(),
                name: "a & b".into(),
                failure: None,
            },
            Case {
                suite: "r<1>".into(),
                name: "c".into(),
                failure: Some("said \"no\"".into()),
            },
        ];
        let x = junit("t", &cases);
        assert!(
            x.contains("<testsuite name=\"r&lt;1&gt;\" tests=\"2\" failures=\"1\">"),
            "{x}"
        );
        assert!(x.contains("name=\"a &amp; b\"/>"), "{x}");
        assert!(
            x.contains("<failure message=\"said &quot;no&quot;\"/>"),
            "{x}"
        );
    }
}
