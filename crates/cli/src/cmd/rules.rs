//! `portent rules test` and `portent rules list`: every rule carries fixture
//! events that say what it must make of them (`"expect"`: a label, `"hit"`,
//! or `"none"`; events without `expect` only give context, such as the process
//! creation a connection is joined to). CI runs the test; a tuning file can be
//! checked against the fixtures too, so that an exception that would silence a
//! known true positive fails the build.

use crate::check::{self, Case, Compiled};
use crate::output::emit_text;
use crate::pack;
use crate::Exit;
use anyhow::Result;
use portent_core::{Schema, Zone};
use serde_json::{json, Value as J};
use std::path::PathBuf;

/// Report formats.
#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
pub enum ReportFormat {
    /// For people.
    Table,
    /// One JSON document.
    Json,
    /// JUnit XML, for CI systems.
    Junit,
}

/// Which rules.
#[derive(clap::Args, Clone, Debug)]
pub struct PackArgs {
    /// A rule directory (`*.toml` beside `*.aql`) instead of the bundled pack.
    #[arg(long, value_name = "DIR")]
    pub rules: Option<PathBuf>,
    /// Only these rules (by id). Default: every rule, also those off by default.
    #[arg(long = "rule", value_name = "ID")]
    pub rule: Vec<String>,
}

impl PackArgs {
    /// The rules asked for; `enabled_only` keeps the default set when none is named.
    pub fn load(&self, enabled_only: bool) -> Result<Vec<pack::Rule>> {
        let all = match &self.rules {
            Some(dir) => pack::load_dir(dir)?,
            None => pack::bundled()?,
        };
        if self.rule.is_empty() && !enabled_only {
            pack::select(all.clone(), &[])?;
            return Ok(all);
        }
        pack::select(all, &self.rule)
    }
}

/// Arguments of `portent rules test`.
#[derive(clap::Args)]
pub struct TestArgs {
    #[command(flatten)]
    pack: PackArgs,
    /// A tuning file: a hit that one of its exceptions would hold back on a
    /// fixture that expects a hit fails the test (a known true positive silenced).
    #[arg(long, value_name = "FILE")]
    tuning: Option<PathBuf>,
    /// Report format.
    #[arg(long, value_enum, default_value = "table")]
    format: ReportFormat,
    /// Write the report here (atomically) instead of stdout.
    #[arg(short, long, value_name = "FILE")]
    output: Option<PathBuf>,
}

/// What one fixture event expects.
#[derive(Clone, Debug, PartialEq)]
enum Expect {
    /// No hit.
    None,
    /// A hit, with this label when given.
    Hit(Option<String>),
}

struct Outcome {
    rule: String,
    /// A fixture event's outcome (false: a whole file's or rule's problem).
    event: bool,
    place: String,
    note: String,
    expect: Expect,
    got: Option<Option<String>>,
    suppressed_by: Option<String>,
    failure: Option<String>,
}

/// Runs every rule's fixtures.
pub fn test(a: TestArgs) -> Result<Exit> {
    let mut schema = Schema::qradar();
    let rules = check::compile(a.pack.load(false)?, &mut schema)?;
    let zone = Zone::utc();
    let tuning = crate::cmd::TuneArgs {
        tuning: a.tuning.clone(),
        show_suppressed: false,
    }
    .load(&schema)?;
    let mut outcomes = Vec::new();
    for c in &rules {
        outcomes.extend(run_rule(c, &schema, tuning.as_ref(), &zone));
    }
    let failed = outcomes.iter().filter(|o| o.failure.is_some()).count();
    let text = match a.format {
        ReportFormat::Table => table(&rules, &outcomes),
        ReportFormat::Json => serde_json::to_string_pretty(&json_report(&outcomes))? + "\n",
        ReportFormat::Junit => check::junit(
            "portent rules test",
            &outcomes
                .iter()
                .map(|o| Case {
                    suite: o.rule.clone(),
                    name: format!("{} {}", o.place, o.note),
                    failure: o.failure.clone(),
                })
                .collect::<Vec<_>>(),
        ),
    };
    emit_text(&text, a.output.as_deref())?;
    eprintln!(
        "rules test: {} passed, {failed} failed",
        outcomes.len() - failed
    );
    Ok(if failed > 0 { Exit::Hits } else { Exit::Ok })
}

fn run_rule(
    c: &Compiled,
    schema: &Schema,
    tuning: Option<&portent_engine::tuning::Tuning>,
    zone: &Zone,
) -> Vec<Outcome> {
    let id = c.rule.meta.id.clone();
    let fail = |place: String, msg: String| Outcome {
        rule: id.clone(),
        event: false,
        place,
        note: String::new(),
        expect: Expect::None,
        got: None,
        suppressed_by: None,
        failure: Some(msg),
    };
    // The rule as hunt and watch run it (see `check::verdict`).
    let one = std::slice::from_ref(c);
    let set = check::detector_rules(one, *zone);
    let mut out = Vec::new();
    for (origin, text) in &c.rule.fixtures {
        let lines: Vec<(usize, &str)> = text
            .lines()
            .enumerate()
            .filter(|(_, l)| !l.trim().is_empty())
            .map(|(i, l)| (i + 1, l))
            .collect();
        let (records, reports) =
            check::read(vec![(origin.clone(), text.as_bytes().to_vec())], schema);
        let skipped: u64 = reports
            .iter()
            .flat_map(|r| r.skipped.values())
            .map(|(n, _)| n)
            .sum();
        if records.len() != lines.len() || skipped > 0 || reports.iter().any(|r| r.fatal.is_some())
        {
            out.push(fail(
                origin.clone(),
                format!(
                    "{} fixture line(s) gave {} event(s) ({} skipped): a fixture file must be JSON lines, one event per line, all readable",
                    lines.len(),
                    records.len(),
                    skipped
                ),
            ));
            continue;
        }
        let now = check::latest(&records);
        let detected = check::detect(&set, one, &records, now);
        for (((line, text), rec), det) in lines.iter().zip(&records).zip(&detected) {
            let place = format!("{origin}:{line}");
            let parsed: J = serde_json::from_str(text).unwrap_or(J::Null);
            let note = parsed
                .get("note")
                .and_then(J::as_str)
                .unwrap_or("")
                .to_owned();
            let expect = match parsed.get("expect") {
                None | Some(J::Null) => continue,
                Some(J::String(s)) if s == "none" => Expect::None,
                Some(J::String(s)) if s == "hit" => Expect::Hit(None),
                Some(J::String(s)) => Expect::Hit(Some(s.clone())),
                Some(other) => {
                    out.push(fail(
                        place,
                        format!("`expect` must be a label, \"hit\" or \"none\", not {other}"),
                    ));
                    continue;
                }
            };
            let mut disagree = None;
            let v = check::verdict(c, rec, det, now, tuning, zone, true, &mut |d| {
                disagree = Some(format!("a fault in Portent, not in the rule: {d}"))
            });
            let failure = disagree.or(match (&expect, v.hit) {
                (Expect::None, false) => None,
                (Expect::None, true) => Some(format!(
                    "fired ({}) on an event that must not match",
                    v.label.as_deref().unwrap_or("hit")
                )),
                (Expect::Hit(_), false) => Some(match &v.why {
                    Some(w) => format!("did not fire: {w}"),
                    None => "did not fire: the event is outside the rule's time window".into(),
                }),
                (Expect::Hit(want), true) => match (&want, &v.suppressed_by) {
                    (_, Some(x)) => Some(format!(
                        "tuning exception `{x}` would suppress this known true positive"
                    )),
                    (Some(w), _) if v.label.as_deref() != Some(w.as_str()) => Some(format!(
                        "fired with label {} instead of {w}",
                        v.label.as_deref().unwrap_or("(none)")
                    )),
                    _ => None,
                },
            });
            out.push(Outcome {
                rule: id.clone(),
                event: true,
                place,
                note,
                expect,
                got: v.hit.then(|| v.label.clone()),
                suppressed_by: v.suppressed_by,
                failure,
            });
        }
    }
    let events = || out.iter().filter(|o| o.event);
    let positives = events()
        .filter(|o| matches!(o.expect, Expect::Hit(_)))
        .count();
    let negatives = events().filter(|o| o.expect == Expect::None).count();
    if positives == 0 || negatives == 0 {
        out.push(fail(
            c.rule.origin.clone(),
            format!(
                "every rule needs positive and negative fixtures; this one has {positives} positive and {negatives} negative (`fixtures` in its TOML)"
            ),
        ));
    }
    out
}

fn table(rules: &[Compiled], outcomes: &[Outcome]) -> String {
    let mut s = format!(
        "{:<32} {:>9} {:>9} {:>7}\n",
        "rule", "positive", "negative", "failed"
    );
    for c in rules {
        let mine: Vec<&Outcome> = outcomes
            .iter()
            .filter(|o| o.rule == c.rule.meta.id)
            .collect();
        let count = |pos: bool| {
            let of: Vec<&&Outcome> = mine
                .iter()
                .filter(|o| matches!(o.expect, Expect::Hit(_)) == pos && o.event)
                .collect();
            format!(
                "{}/{}",
                of.iter().filter(|o| o.failure.is_none()).count(),
                of.len()
            )
        };
        let failed = mine.iter().filter(|o| o.failure.is_some()).count();
        s.push_str(&format!(
            "{:<32} {:>9} {:>9} {:>7}\n",
            c.rule.meta.id,
            count(true),
            count(false),
            failed
        ));
    }
    for o in outcomes.iter().filter(|o| o.failure.is_some()) {
        s.push_str(&format!(
            "FAIL {} {}: {}{}\n",
            o.rule,
            o.place,
            o.failure.as_deref().unwrap_or(""),
            if o.note.is_empty() {
                String::new()
            } else {
                format!(" ({})", o.note)
            }
        ));
    }
    s
}

fn json_report(outcomes: &[Outcome]) -> J {
    let cases: Vec<J> = outcomes
        .iter()
        .map(|o| {
            json!({
                "rule": o.rule,
                "fixture": o.place,
                "note": o.note,
                "expect": match &o.expect {
                    Expect::None => J::from("none"),
                    Expect::Hit(None) => J::from("hit"),
                    Expect::Hit(Some(l)) => J::from(l.clone()),
                },
                "fired": o.got.is_some(),
                "label": o.got.clone().flatten(),
                "suppressed_by": o.suppressed_by,
                "passed": o.failure.is_none(),
                "failure": o.failure,
            })
        })
        .collect();
    let failed = outcomes.iter().filter(|o| o.failure.is_some()).count();
    json!({
        "schema_version": 1,
        "passed": outcomes.len() - failed,
        "failed": failed,
        "cases": cases,
    })
}

/// Arguments of `portent rules list`.
#[derive(clap::Args)]
pub struct ListArgs {
    #[command(flatten)]
    pack: PackArgs,
}

/// Lists the rules with their metadata.
pub fn list(a: ListArgs) -> Result<Exit> {
    let rules = a.pack.load(false)?;
    println!(
        "{:<32} {:<8} {:<8} {:<26} title",
        "id", "enabled", "severity", "attack"
    );
    for r in rules {
        println!(
            "{:<32} {:<8} {:<8} {:<26} {}",
            r.meta.id,
            if r.meta.enabled { "yes" } else { "no" },
            r.meta.severity,
            r.meta.attack.join(" "),
            r.meta.title
        );
    }
    Ok(Exit::Ok)
}
