//! Judging single events against rules, for `portent rules test` and
//! `portent validate`: did the rule fire, with which label, would a tuning
//! exception hold the hit back, and if it did not fire, which condition kept
//! the event out. Events are read by the same readers and joined to their
//! process creations by the same index as in a hunt.

use crate::pack::Rule;
use anyhow::{bail, Result};
use portent_core::schema::ids;
use portent_core::{Event, Record, Schema, Value, Zone};
use portent_engine::tuning::Tuning;
use portent_engine::why::{why_not, WhyNot};
use portent_engine::{CompileOptions, Query, Row, Run};
use portent_io::correlate::{creation_of, ProcessIndex};
use portent_io::{read_bytes, FileReport, ReadOptions};

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
    for rule in rules {
        match Query::compile(&rule.aql, schema, &options) {
            Ok(mut query) => {
                query.limit = None;
                out.push(Compiled { rule, query });
            }
            Err(e) => {
                let _ = crate::cmd::report_errors(&e, &rule.origin, &rule.aql);
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

/// Judges `rec` by `c` at `now`, with `tuning`'s exceptions for the rule.
pub fn judge(
    c: &Compiled,
    rec: &Record<'static>,
    now: i64,
    tuning: Option<&Tuning>,
    zone: &Zone,
) -> Verdict {
    let mut run = Run::new(&c.query, Vec::<Row>::new(), now);
    let _ = run.push(rec);
    let rows = run.finish().map(|(rows, _)| rows).unwrap_or_default();
    let Some(row) = rows.first() else {
        return Verdict {
            hit: false,
            label: None,
            suppressed_by: None,
            why: why_not(&c.query, rec, now),
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
