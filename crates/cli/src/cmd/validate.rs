//! `portent validate`: the seed page's four test scenarios, generated as
//! telemetry (as the seed describes it and as Windows really logs it, in
//! benign background traffic), written as Winlogbeat/ECS JSON, `evtx_dump`
//! JSON and real EVTX files, read back through the normal readers, and run
//! through the rule pack. The report says per scenario and variant which
//! events a detection should fire on, which rules fired, and, for the rules
//! that did not, which condition kept each event out.

use super::rules::{PackArgs, ReportFormat};
use crate::check::{self, Case, Compiled, Verdict};
use crate::output::emit_text;
use crate::Exit;
use anyhow::{bail, Context, Result};
use portent_core::{Schema, Zone};
use portent_scenario::layout::Layout;
use portent_scenario::{all, generate, Generated, Options, Variant};
use serde_json::{json, Value as J};
use std::collections::{BTreeMap, HashMap, HashSet};
use std::path::{Path, PathBuf};

/// The seed's own rule, whose coverage the report states first.
const SEED_RULE: &str = "t1043-commonly-used-port";

/// Arguments of `portent validate`.
#[derive(clap::Args)]
pub struct Args {
    #[command(flatten)]
    pack: PackArgs,
    /// Sigma rules (files or folders) to validate beside the pack.
    #[arg(long, value_name = "PATH")]
    sigma: Vec<PathBuf>,
    /// Validate only the Sigma rules, not the AQL pack.
    #[arg(long, requires = "sigma")]
    sigma_only: bool,
    /// Keep the generated telemetry in this directory (one folder per
    /// scenario and variant: ecs.jsonl, evtx-dump.jsonl, evtx/*.evtx).
    #[arg(long, value_name = "DIR")]
    out: Option<PathBuf>,
    /// Benign background events mixed into each scenario variant.
    #[arg(long, default_value = "200")]
    background: usize,
    /// Random seed of the generator (the same seed gives the same telemetry).
    #[arg(long, default_value = "1043")]
    seed: u64,
    /// When the first scenario starts (RFC 3339); the others follow an hour apart.
    #[arg(long, default_value = "2025-12-01T09:00:00Z")]
    start: String,
    /// Only these scenarios (id, such as s3-nslookup-dns-tunnel, or number).
    #[arg(long = "scenario", value_name = "ID")]
    scenario: Vec<String>,
    /// Which variants: as-described, realistic, or all.
    #[arg(long, default_value = "all")]
    variant: String,
    /// A tuning file: an exception that would hold back a scenario's true
    /// positive fails the validation.
    #[arg(long, value_name = "FILE")]
    tuning: Option<PathBuf>,
    /// Report format.
    #[arg(long, value_enum, default_value = "table")]
    format: ReportFormat,
    /// Write the report here (atomically) instead of stdout.
    #[arg(short, long, value_name = "FILE")]
    output: Option<PathBuf>,
    /// Also write an ATT&CK Navigator layer of what the scenarios show covered.
    #[arg(long, value_name = "FILE")]
    navigator: Option<PathBuf>,
    /// A previous JSON report: anything it shows fired or covered that is not
    /// now is a regression (exit 1).
    #[arg(long, value_name = "FILE")]
    expect: Option<PathBuf>,
    /// Do not fail when a scenario variant is covered by no rule.
    #[arg(long)]
    allow_gaps: bool,
}

use check::Fired;

/// What the rules did on one signal event.
#[derive(Default)]
struct SignalResult {
    /// The rules that fired (in the first layout; the others must agree).
    fired: Fired,
    /// Rule id -> the exception that would hold the hit back.
    suppressed: BTreeMap<String, String>,
    /// Rule id -> why not.
    missed: BTreeMap<String, String>,
    /// Rule id -> whether the reason is a false condition (not a missing value).
    missed_false: BTreeMap<String, bool>,
}

/// One scenario variant's results.
struct VariantResult {
    generated: Generated,
    dir: PathBuf,
    signals: Vec<SignalResult>,
    background_hits: BTreeMap<String, u64>,
    disagreements: Vec<String>,
}

impl VariantResult {
    fn covered(&self) -> bool {
        self.signals.iter().any(|s| !s.fired.is_empty())
    }

    fn fired_by(&self, rule: &str) -> usize {
        self.signals
            .iter()
            .filter(|s| s.fired.contains_key(rule))
            .count()
    }
}

/// Runs the validation.
pub fn run(a: Args) -> Result<Exit> {
    let mut schema = Schema::qradar();
    let mut pack = if a.sigma_only {
        Vec::new()
    } else {
        a.pack.load(true)?
    };
    if !a.sigma.is_empty() {
        let sigma = crate::pack::load_sigma(&a.sigma)?;
        sigma.report();
        pack.extend(sigma.rules);
    }
    let rules = check::compile(pack, &mut schema)?;
    if rules.is_empty() {
        bail!("no rules to validate");
    }
    let tuning = crate::cmd::TuneArgs {
        tuning: a.tuning.clone(),
        show_suppressed: false,
    }
    .load(&schema)?;
    let start = chrono::DateTime::parse_from_rfc3339(&a.start)
        .with_context(|| format!("--start takes an RFC 3339 time, not `{}`", a.start))?
        .timestamp_micros();
    let variants: Vec<Variant> = match a.variant.as_str() {
        "all" => vec![Variant::AsDescribed, Variant::Realistic],
        "as-described" => vec![Variant::AsDescribed],
        "realistic" => vec![Variant::Realistic],
        v => bail!("--variant takes as-described, realistic or all, not `{v}`"),
    };
    for want in &a.scenario {
        if !all()
            .iter()
            .any(|s| s.id == want || s.number.to_string() == *want)
        {
            let known: Vec<&str> = all().iter().map(|s| s.id).collect();
            bail!("no scenario `{want}` (known: {})", known.join(", "));
        }
    }
    let (root, temporary) = match &a.out {
        Some(d) => (d.clone(), false),
        None => (
            std::env::temp_dir().join(format!("portent-validate-{}", std::process::id())),
            true,
        ),
    };
    let zone = Zone::utc();
    let set = check::detector_rules(&rules, zone);
    let mut results = Vec::new();
    let outcome = (|| -> Result<()> {
        for s in all() {
            if !a.scenario.is_empty()
                && !a
                    .scenario
                    .iter()
                    .any(|w| w == s.id || *w == s.number.to_string())
            {
                continue;
            }
            for v in s.variants().into_iter().filter(|v| variants.contains(v)) {
                let opts = Options {
                    seed: a.seed,
                    start_us: start + i64::from(s.number - 1) * 3_600_000_000,
                    background: a.background,
                };
                let g = generate(s, v, &opts);
                let dir = root.join(s.id).join(v.name());
                let layouts = write_layouts(&g, &dir)?;
                results.push(judge_variant(
                    g,
                    dir,
                    layouts,
                    (&rules, &set),
                    &schema,
                    tuning.as_ref(),
                    &zone,
                )?);
            }
        }
        Ok(())
    })();
    if temporary {
        let _ = std::fs::remove_dir_all(&root);
    }
    outcome?;

    let rule_ids: Vec<String> = rules.iter().map(|c| c.rule.meta.id.clone()).collect();
    let mut failures = Vec::new();
    for r in &results {
        let name = format!("{} {}", r.generated.scenario.id, r.generated.variant.name());
        if !r.covered() && !a.allow_gaps {
            failures.push(format!(
                "{name}: no rule fired on any of its {} signal event(s)",
                r.signals.len()
            ));
        }
        for d in &r.disagreements {
            failures.push(format!("{name}: {d}"));
        }
        for (s, sig) in r.signals.iter().zip(&r.generated.signals) {
            for (rule, x) in &s.suppressed {
                failures.push(format!(
                    "{name}: tuning exception `{x}` would suppress {rule}'s true positive on {}",
                    sig.description
                ));
            }
        }
    }
    let mut report = json_report(&a, &results, &rule_ids, &failures);
    if let Some(p) = &a.expect {
        failures.extend(regressions(p, &report)?);
        report["failures"] = json!(failures);
    }
    let text = match a.format {
        ReportFormat::Table => table(&results, &rules, &failures, a.background),
        ReportFormat::Json => serde_json::to_string_pretty(&report)? + "\n",
        ReportFormat::Junit => check::junit("portent validate", &junit_cases(&results, &failures)),
    };
    emit_text(&text, a.output.as_deref())?;
    if let Some(p) = &a.navigator {
        emit_text(
            &(serde_json::to_string_pretty(&navigator(&results))? + "\n"),
            Some(p),
        )?;
    }
    if a.out.is_some() {
        eprintln!("portent: telemetry written to {}", root.display());
    }
    let covered = results.iter().filter(|r| r.covered()).count();
    let cases = junit_cases(&results, &failures);
    let failed = cases.iter().filter(|c| c.failure.is_some()).count();
    eprintln!(
        "validate: {covered} of {} scenario variant(s) covered; {} passed, {failed} failed",
        results.len(),
        cases.len() - failed,
    );
    Ok(if failures.is_empty() {
        Exit::Ok
    } else {
        Exit::Hits
    })
}

/// The file name Windows gives a channel's log (`/` becomes `%4`).
fn channel_file(channel: &str) -> String {
    format!("{}.evtx", channel.replace('/', "%4"))
}

/// Writes the variant's telemetry in every layout; returns, per layout, the
/// files to read back.
fn write_layouts(g: &Generated, dir: &Path) -> Result<Vec<(String, Vec<PathBuf>)>> {
    std::fs::create_dir_all(dir.join("evtx"))
        .with_context(|| format!("cannot create {}", dir.display()))?;
    let mut out = Vec::new();
    for layout in Layout::ALL {
        let p = dir.join(format!("{}.jsonl", layout.name()));
        std::fs::write(&p, layout.lines(&g.events))
            .with_context(|| format!("cannot write {}", p.display()))?;
        out.push((layout.name().to_owned(), vec![p]));
    }
    let mut files = Vec::new();
    for (c, events) in portent_scenario::evtx::by_channel(&g.events) {
        let bytes = portent_scenario::evtx::write(&events)?;
        let p = dir.join("evtx").join(channel_file(c));
        std::fs::write(&p, bytes).with_context(|| format!("cannot write {}", p.display()))?;
        files.push(p);
    }
    out.push(("evtx".to_owned(), files));
    Ok(out)
}

fn judge_variant(
    generated: Generated,
    dir: PathBuf,
    layouts: Vec<(String, Vec<PathBuf>)>,
    (rules, set): (&[Compiled], &portent_detect::RuleSet),
    schema: &Schema,
    tuning: Option<&portent_engine::tuning::Tuning>,
    zone: &Zone,
) -> Result<VariantResult> {
    let key = |channel: &str, record: u64| (channel.to_lowercase(), Some(record as i64));
    let signal_keys: Vec<_> = generated
        .signals
        .iter()
        .map(|s| key(s.channel, s.record_id))
        .collect();
    let background: HashSet<_> = generated
        .background
        .iter()
        .map(|(c, r)| key(c, *r))
        .collect();
    let mut per_layout: Vec<(String, Vec<Fired>)> = Vec::new();
    let mut signals: Vec<SignalResult> = generated
        .signals
        .iter()
        .map(|_| SignalResult::default())
        .collect();
    let mut background_hits: BTreeMap<String, u64> = BTreeMap::new();
    let mut disagreements = Vec::new();
    for (li, (layout, files)) in layouts.iter().enumerate() {
        let mut inputs = Vec::new();
        for f in files {
            let bytes = std::fs::read(f).with_context(|| format!("cannot read {}", f.display()))?;
            inputs.push((f.display().to_string(), bytes));
        }
        let (records, reports) = check::read(inputs, schema);
        let skipped: u64 = reports
            .iter()
            .flat_map(|r| r.skipped.values())
            .map(|(n, _)| n)
            .sum();
        if records.len() != generated.events.len() || skipped > 0 {
            disagreements.push(format!(
                "{layout}: {} of {} generated events read back ({skipped} skipped)",
                records.len(),
                generated.events.len()
            ));
        }
        let now = check::latest(&records);
        let detected = check::detect(set, rules, &records, now);
        let by_key: HashMap<_, _> = records
            .iter()
            .zip(&detected)
            .map(|(r, d)| (check::identity(r), (r, d)))
            .collect();
        let mut fired_here = Vec::new();
        for (si, k) in signal_keys.iter().enumerate() {
            let mut fired = BTreeMap::new();
            let Some(&(rec, det)) = by_key.get(k) else {
                disagreements.push(format!("{layout}: signal event {k:?} not read back"));
                fired_here.push(fired);
                continue;
            };
            let what = &generated.signals[si].description;
            for c in rules {
                let v: Verdict =
                    check::verdict(c, rec, det, now, tuning, zone, li == 0, &mut |d| {
                        disagreements.push(format!("{layout}: {what}: {d}"))
                    });
                let id = c.rule.meta.id.clone();
                if v.hit {
                    if let Some(x) = &v.suppressed_by {
                        signals[si].suppressed.insert(id.clone(), x.clone());
                    }
                    fired.insert(id, v.label);
                } else if li == 0 {
                    let (why, is_false) = match &v.why {
                        Some(w) => (w.to_string(), w.outcome == Some(false)),
                        None => ("outside the rule's time window".to_owned(), true),
                    };
                    signals[si].missed.insert(id.clone(), why);
                    signals[si].missed_false.insert(id, is_false);
                }
            }
            fired_here.push(fired);
        }
        if li == 0 {
            for (rec, det) in records
                .iter()
                .zip(&detected)
                .filter(|(r, _)| background.contains(&check::identity(r)))
            {
                let (channel, record) = check::identity(rec);
                for c in rules {
                    let v = check::verdict(c, rec, det, now, None, zone, false, &mut |d| {
                        disagreements.push(format!(
                            "{layout}: background event {channel} #{}: {d}",
                            record.unwrap_or(-1)
                        ))
                    });
                    if v.hit {
                        *background_hits.entry(c.rule.meta.id.clone()).or_insert(0) += 1;
                    }
                }
            }
        }
        per_layout.push((layout.clone(), fired_here));
    }
    if let Some((first, reference)) = per_layout.first() {
        for (si, fired) in reference.iter().enumerate() {
            signals[si].fired = fired.clone();
        }
        for (layout, fired) in &per_layout[1..] {
            for (si, (a, b)) in reference.iter().zip(fired).enumerate() {
                if a != b {
                    disagreements.push(format!(
                        "{first} and {layout} disagree on {}: {:?} vs {:?}",
                        generated.signals[si].description,
                        a.keys().collect::<Vec<_>>(),
                        b.keys().collect::<Vec<_>>()
                    ));
                }
            }
        }
    }
    Ok(VariantResult {
        generated,
        dir,
        signals,
        background_hits,
        disagreements,
    })
}

/// The distinct reasons a rule missed signals, false conditions first.
fn reasons(r: &VariantResult, rule: &str) -> Vec<String> {
    let mut out: Vec<(bool, String)> = Vec::new();
    for s in &r.signals {
        if let Some(w) = s.missed.get(rule) {
            let f = s.missed_false.get(rule).copied().unwrap_or(false);
            if !out.iter().any(|(_, x)| x == w) {
                out.push((!f, w.clone()));
            }
        }
    }
    out.sort_by_key(|(unknown, _)| *unknown);
    out.into_iter().map(|(_, w)| w).collect()
}

fn labels(r: &VariantResult, rule: &str) -> String {
    let mut counts: BTreeMap<String, u64> = BTreeMap::new();
    for s in &r.signals {
        if let Some(l) = s.fired.get(rule) {
            *counts
                .entry(l.clone().unwrap_or_else(|| "hit".into()))
                .or_insert(0) += 1;
        }
    }
    counts
        .iter()
        .map(|(l, n)| format!("{l} {n}"))
        .collect::<Vec<_>>()
        .join(", ")
}

fn table(
    results: &[VariantResult],
    rules: &[Compiled],
    failures: &[String],
    background: usize,
) -> String {
    let mut s = String::new();
    let mut last = 0;
    for r in results {
        let sc = r.generated.scenario;
        if sc.number != last {
            s.push_str(&format!(
                "\nScenario {}: {} [{}]\n",
                sc.number,
                sc.title,
                sc.attack.join(" ")
            ));
            s.push_str(&format!("  seed expects: {}\n", sc.expected));
            last = sc.number;
        }
        let fired_any = r.signals.iter().filter(|x| !x.fired.is_empty()).count();
        s.push_str(&format!(
            "  {}: {} ({fired_any} of {} signal events fired a rule)\n",
            r.generated.variant.name(),
            if r.covered() {
                "COVERED"
            } else {
                "NOT COVERED"
            },
            r.signals.len()
        ));
        if r.generated.variant == Variant::Realistic {
            if let Some(n) = sc.realistic {
                s.push_str(&format!("    why this variant: {n}\n"));
            }
        }
        for c in rules {
            let id = &c.rule.meta.id;
            let n = r.fired_by(id);
            if n == 0 && id != SEED_RULE {
                continue;
            }
            let mut line = format!("    {:<30} {n:>3} of {:<3}", id, r.signals.len());
            if n > 0 {
                line.push_str(&format!(" fired: {}", labels(r, id)));
            }
            s.push_str(&line);
            s.push('\n');
            for why in reasons(r, id).iter().take(2) {
                s.push_str(&format!("        not fired: {why}\n"));
            }
        }
        let bg: u64 = r.background_hits.values().sum();
        if bg > 0 {
            s.push_str(&format!(
                "    background false positives: {:?}\n",
                r.background_hits
            ));
        }
    }
    let seed_cov = results.iter().filter(|r| r.fired_by(SEED_RULE) > 0).count();
    let pack_cov = results.iter().filter(|r| r.covered()).count();
    let seed = match rules.iter().any(|c| c.rule.meta.id == SEED_RULE) {
        true => format!("the seed's rule alone {seed_cov} of {}", results.len()),
        false => "the seed's rule was not run".to_owned(),
    };
    s.push_str(&format!(
        "\nCoverage: {seed}; the rules run ({}) {pack_cov} of {n} scenario variants.\n",
        rules.len(),
        n = results.len()
    ));
    let bg: u64 = results
        .iter()
        .flat_map(|r| r.background_hits.values())
        .sum();
    s.push_str(&format!(
        "Background: {background} benign events per variant, {bg} hit(s). Layouts read back: ecs, evtx-dump, evtx{}.\n",
        if results.iter().all(|r| r.disagreements.is_empty()) { " (all agree)" } else { " (DISAGREE: see failures)" }
    ));
    for f in failures {
        s.push_str(&format!("FAIL {f}\n"));
    }
    s
}

fn json_report(a: &Args, results: &[VariantResult], rule_ids: &[String], failures: &[String]) -> J {
    let scenarios: Vec<J> = results
        .iter()
        .map(|r| {
            let sc = r.generated.scenario;
            let signals: Vec<J> = r
                .generated
                .signals
                .iter()
                .zip(&r.signals)
                .map(|(g, s)| {
                    json!({
                        "description": g.description,
                        "channel": g.channel,
                        "event_id": g.event_id,
                        "record_id": g.record_id,
                        "fired": s.fired,
                        "suppressed_by": s.suppressed,
                        "not_fired": s.missed,
                    })
                })
                .collect();
            let per_rule: Vec<J> = rule_ids
                .iter()
                .map(|id| {
                    json!({
                        "id": id,
                        "fired": r.fired_by(id),
                        "of": r.signals.len(),
                        "labels": labels(r, id),
                        "why_not": reasons(r, id),
                    })
                })
                .collect();
            json!({
                "id": sc.id,
                "number": sc.number,
                "title": sc.title,
                "attack": sc.attack,
                "seed_expects": sc.expected,
                "variant": r.generated.variant.name(),
                "variant_note": if r.generated.variant == Variant::Realistic { sc.realistic } else { None },
                "covered": r.covered(),
                "telemetry": r.dir.display().to_string(),
                "events": r.generated.events.len(),
                "background_events": r.generated.background.len(),
                "background_hits": r.background_hits,
                "signals": signals,
                "rules": per_rule,
                "layout_disagreements": r.disagreements,
            })
        })
        .collect();
    json!({
        "schema_version": 1,
        "seed": a.seed,
        "background": a.background,
        "rules": rule_ids,
        "layouts": ["ecs", "evtx-dump", "evtx"],
        "scenarios": scenarios,
        "coverage": {
            "seed_rule": results.iter().filter(|r| r.fired_by(SEED_RULE) > 0).count(),
            "pack": results.iter().filter(|r| r.covered()).count(),
            "of": results.len(),
        },
        "failures": failures,
    })
}

/// What a previous report shows fired or covered and this one does not.
fn regressions(path: &Path, now: &J) -> Result<Vec<String>> {
    let text =
        std::fs::read_to_string(path).with_context(|| format!("cannot read {}", path.display()))?;
    let before: J = serde_json::from_str(&text)
        .map_err(|e| anyhow::anyhow!("{}:{}:{}: {e}", path.display(), e.line(), e.column()))?;
    let key = |s: &J| {
        format!(
            "{} {}",
            s["id"].as_str().unwrap_or(""),
            s["variant"].as_str().unwrap_or("")
        )
    };
    let current: HashMap<String, &J> = now["scenarios"]
        .as_array()
        .map(|v| v.iter().map(|s| (key(s), s)).collect())
        .unwrap_or_default();
    let mut out = Vec::new();
    for old in before["scenarios"].as_array().into_iter().flatten() {
        let k = key(old);
        let Some(new) = current.get(&k) else {
            out.push(format!(
                "regression: {k} was validated before and is not now"
            ));
            continue;
        };
        if old["covered"] == true && new["covered"] != true {
            out.push(format!("regression: {k} was covered and is not now"));
        }
        for r in old["rules"].as_array().into_iter().flatten() {
            let was = r["fired"].as_u64().unwrap_or(0);
            let id = r["id"].as_str().unwrap_or("");
            let is = new["rules"]
                .as_array()
                .and_then(|rs| rs.iter().find(|x| x["id"] == r["id"]))
                .and_then(|x| x["fired"].as_u64());
            match is {
                Some(n) if n < was => out.push(format!(
                    "regression: {k}: {id} fired on {n} signal event(s), {was} before"
                )),
                None if was > 0 => out.push(format!(
                    "regression: {k}: {id} fired before and was not run now"
                )),
                _ => {}
            }
        }
    }
    Ok(out)
}

fn junit_cases(results: &[VariantResult], failures: &[String]) -> Vec<Case> {
    let mut cases: Vec<Case> = results
        .iter()
        .map(|r| {
            let name = format!("{} {}", r.generated.scenario.id, r.generated.variant.name());
            let mine: Vec<&String> = failures
                .iter()
                .filter(|f| f.starts_with(&name) || f.contains(&format!("{name}:")))
                .collect();
            Case {
                suite: r.generated.scenario.id.to_owned(),
                name: r.generated.variant.name().to_owned(),
                failure: (!mine.is_empty()).then(|| {
                    mine.iter()
                        .map(|s| s.as_str())
                        .collect::<Vec<_>>()
                        .join("; ")
                }),
            }
        })
        .collect();
    for f in failures.iter().filter(|f| f.starts_with("regression")) {
        cases.push(Case {
            suite: "regressions".into(),
            name: f.clone(),
            failure: Some(f.clone()),
        });
    }
    cases
}

/// An ATT&CK Navigator layer: each technique the scenarios exercise, scored
/// 1 when its scenario was covered in every variant, 0.5 in some, 0 in none.
fn navigator(results: &[VariantResult]) -> J {
    let mut per: BTreeMap<&str, (usize, usize, Vec<String>)> = BTreeMap::new();
    for r in results {
        for t in r.generated.scenario.attack {
            let e = per.entry(t).or_default();
            e.1 += 1;
            if r.covered() {
                e.0 += 1;
            }
            let mut by: Vec<String> = r
                .signals
                .iter()
                .flat_map(|s| s.fired.keys().cloned())
                .collect();
            by.sort();
            by.dedup();
            e.2.push(format!(
                "{} {}: {}",
                r.generated.scenario.id,
                r.generated.variant.name(),
                if by.is_empty() {
                    "not covered".into()
                } else {
                    by.join(", ")
                }
            ));
        }
    }
    let techniques: Vec<J> = per
        .into_iter()
        .map(|(t, (covered, of, comments))| {
            let score = covered as f64 / of.max(1) as f64;
            json!({
                "techniqueID": t,
                "score": score,
                "color": if score >= 1.0 { "#31a354" } else if score > 0.0 { "#fdae61" } else { "#e34a33" },
                "comment": comments.join("; "),
                "enabled": true,
            })
        })
        .collect();
    crate::navigator::envelope(
        "Portent: T1043 scenario coverage",
        "Techniques exercised by the seed page's four test scenarios, scored by whether the rule pack fired on each scenario variant (portent validate).",
        techniques,
        json!({"colors": ["#e34a33", "#fdae61", "#31a354"], "minValue": 0, "maxValue": 1}),
        json!([
            {"label": "covered in every variant", "color": "#31a354"},
            {"label": "covered in some variants", "color": "#fdae61"},
            {"label": "not covered", "color": "#e34a33"}
        ]),
    )
}
