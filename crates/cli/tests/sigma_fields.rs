//! Issue 15 item 1: every field a real rule set names resolves on the
//! telemetry people hold. The whole SigmaHQ Windows rule set is loaded; the
//! corpus (EVTX, evtx_dump JSON, Winlogbeat/ECS, NXLog, Mordor layouts) is
//! read through the normal readers; and for each log source that has events
//! in it, each field its rules name must be filled on those events, under
//! the rule's own name, the normalised field it maps to, or by enrichment.
//! What the corpus cannot test is printed: log sources with no event in it,
//! and fields no event of it carries at all.

use portent_core::event::FieldRef;
use portent_core::{Event, Schema};
use portent_engine::{CompileOptions, Query, Row, Run, WindowPolicy};
use portent_io::{plan, read_unit, ReadOptions};
use portent_sigma::rule::Search;
use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

fn yml(dir: &Path, out: &mut Vec<PathBuf>) {
    out.extend(portent_core::testdata::files(dir, "yml"));
}

struct LogSource {
    description: String,
    query: Query,
    /// Field the rules name -> the normalised field it maps to, if any.
    fields: BTreeMap<String, Option<String>>,
    rules: usize,
    /// Field names (lower case) seen filled on its events.
    seen: BTreeSet<String>,
    events: u64,
}

#[test]
#[ignore = "needs the corpus (../shared/corpus or PORTENT_CORPUS)"]
fn every_field_the_sigmahq_windows_rules_name_resolves_on_the_corpus() {
    let (Some(corpus), Some(rules)) = (
        portent_core::testdata::corpus(),
        portent_core::testdata::sigma_rules(),
    ) else {
        return;
    };
    let mut files = Vec::new();
    yml(&rules.join("sigmahq-windows"), &mut files);
    assert!(files.len() > 2000, "{}", files.len());
    let mut schema = Schema::qradar();
    let opts = CompileOptions {
        window: WindowPolicy::Ignore,
        ..CompileOptions::default()
    };
    let mut sources: BTreeMap<String, LogSource> = BTreeMap::new();
    for f in &files {
        let text = std::fs::read_to_string(f).unwrap();
        for r in portent_sigma::load(&text, &f.display().to_string()).rules {
            let ls = &r.logsource;
            let Ok(src) = portent_sigma::logsource::map(
                ls.product.as_deref(),
                ls.category.as_deref(),
                ls.service.as_deref(),
            ) else {
                continue;
            };
            let Some(cond) = src.condition.clone() else {
                continue;
            };
            // The event ids the rule itself asks for narrow its log source:
            // a Security rule on 5136 is tested against 5136 events only.
            let mut ids: BTreeSet<i64> = BTreeSet::new();
            for (_, _, search) in &r.detection.searches {
                if let Search::Map(m) = search {
                    for fm in m.iter().filter(|fm| {
                        fm.field
                            .as_deref()
                            .is_some_and(|f| f.eq_ignore_ascii_case("EventID"))
                    }) {
                        ids.extend(
                            fm.values
                                .iter()
                                .filter_map(|v| v.text()?.trim().parse::<i64>().ok()),
                        );
                    }
                }
            }
            let (key, description, full) = if ids.is_empty() {
                (cond.clone(), src.description.clone(), cond.clone())
            } else {
                let list: Vec<String> = ids.iter().map(i64::to_string).collect();
                (
                    format!("{cond} {list:?}"),
                    format!("{}, event {}", src.description, list.join("/")),
                    format!("({cond}) AND \"Event ID\" IN ({})", list.join(", ")),
                )
            };
            let entry = sources.entry(key).or_insert_with(|| LogSource {
                description,
                query: Query::compile(
                    &format!("SELECT * FROM events WHERE {full}"),
                    &mut schema,
                    &opts,
                )
                .unwrap(),
                fields: BTreeMap::new(),
                rules: 0,
                seen: BTreeSet::new(),
                events: 0,
            });
            entry.rules += 1;
            for (_, _, search) in &r.detection.searches {
                let maps: Vec<&Vec<portent_sigma::rule::FieldMatch>> = match search {
                    Search::Map(m) => vec![m],
                    Search::AnyOf(ms) => ms.iter().collect(),
                    Search::Keywords(_) => Vec::new(),
                };
                for m in maps.into_iter().flatten() {
                    let Some(name) = &m.field else { continue };
                    let mapped = src
                        .fields
                        .iter()
                        .find(|(s, _)| s.eq_ignore_ascii_case(name))
                        .map(|(_, n)| n.to_string());
                    entry.fields.insert(name.clone(), mapped);
                    // As compiling the rule does: the readers keep what is named.
                    schema.intern(name);
                }
            }
        }
    }
    let read = ReadOptions::default();
    let (units, _) = plan(&[corpus], &read);
    // Every field name any event of the corpus carries.
    let mut anywhere: BTreeSet<String> = BTreeSet::new();
    for u in &units {
        read_unit(u, &schema, &read, &mut |_, rec| {
            rec.for_each(&mut |f, v| {
                if let (FieldRef::Name(n), false) = (f, v.is_null()) {
                    if !anywhere.contains(n) {
                        anywhere.insert(n.to_ascii_lowercase());
                    }
                }
            });
            for s in sources.values_mut() {
                if !Run::new(&s.query, Vec::<Row>::new(), 0).matches(&rec) {
                    continue;
                }
                s.events += 1;
                rec.for_each(&mut |f, v| {
                    if v.is_null() {
                        return;
                    }
                    let name = match f {
                        FieldRef::Id(id) => schema.name(id).to_owned(),
                        FieldRef::Name(n) => n.to_owned(),
                    };
                    if !s.seen.contains(&name.to_ascii_lowercase()) {
                        s.seen.insert(name.to_ascii_lowercase());
                    }
                });
            }
        });
    }
    // What enrichment adds from the process creation (command line, parent)
    // is joined in by the hunt, not by the reader.
    let enriched: BTreeSet<String> = portent_io::correlate::ENRICHED_FIELDS
        .iter()
        .map(|f| schema.name(*f).to_ascii_lowercase())
        .collect();
    let filled = |s: &LogSource, name: &str| {
        let canonical = schema.resolve(name).map(|id| schema.name(id).to_owned());
        [Some(name.to_owned()), canonical]
            .into_iter()
            .flatten()
            .chain(s.fields.get(name).cloned().flatten())
            .any(|n| s.seen.contains(&n.to_ascii_lowercase()))
    };
    let mut untestable = Vec::new();
    let mut missing = Vec::new();
    let mut absent = BTreeSet::new();
    let mut checked = 0;
    for s in sources.values() {
        if s.events == 0 {
            untestable.push(format!("{} ({} rules)", s.description, s.rules));
            continue;
        }
        // The header every Windows event has, under the names rules use:
        // the bug class of issue 15 (EventID and Provider_Name never resolved).
        for header in ["EventID", "Provider_Name", "Channel", "Computer"] {
            assert!(
                filled(s, header),
                "{}: `{header}` is not filled",
                s.description
            );
        }
        for name in s.fields.keys() {
            checked += 1;
            if filled(s, name) {
                continue;
            }
            let by_enrichment = s.fields.get(name).cloned().flatten().is_some_and(|n| {
                enriched.contains(&n.to_ascii_lowercase()) && s.seen.contains("process guid")
            });
            if by_enrichment {
                continue;
            }
            // A field no event of the corpus carries at all says nothing
            // about the readers: the corpus has no event that has it.
            if !anywhere.contains(&name.to_ascii_lowercase()) {
                absent.insert(name.clone());
                continue;
            }
            missing.push(format!("{}: {name}", s.description));
        }
    }
    eprintln!(
        "{checked} (log source, field) pairs checked on the corpus; log sources with no event in it: {}; fields no event of the corpus carries: {}",
        untestable.join("; "),
        absent.into_iter().collect::<Vec<_>>().join(", ")
    );
    assert!(checked > 100, "{checked}");
    assert!(
        missing.is_empty(),
        "fields no reader fills:\n{}",
        missing.join("\n")
    );
}

/// The rule index (rules tested only on events of their log source) changes
/// nothing: the whole SigmaHQ Windows set gives the same hits with it and
/// without it, on EVTX and on JSON layouts.
#[test]
#[ignore = "needs the corpus (../shared/corpus or PORTENT_CORPUS)"]
fn the_rule_index_gives_the_hits_of_testing_every_rule() {
    let (Some(corpus), Some(rules)) = (
        portent_core::testdata::corpus(),
        portent_core::testdata::sigma_rules(),
    ) else {
        return;
    };
    let rules = rules.join("sigmahq-windows");
    let inputs = [
        corpus.join("evtx"),
        corpus.join(
            "mordor/atomic/windows/defense_evasion/host/cmd_mshta_javascript_getobject_sct.zip",
        ),
        corpus.join("mordor/atomic/windows/lateral_movement/host/schtask_modification.zip"),
    ];
    let run = |extra: &[&str]| {
        let mut args: Vec<String> = [
            "hunt",
            "--sigma-only",
            "--skip-bad-rules",
            "-q",
            "--format",
            "jsonl",
        ]
        .iter()
        .map(|s| s.to_string())
        .collect();
        args.extend(["--sigma".to_string(), rules.display().to_string()]);
        args.extend(inputs.iter().map(|p| p.display().to_string()));
        args.extend(extra.iter().map(|s| s.to_string()));
        let out = std::process::Command::new(env!("CARGO_BIN_EXE_portent"))
            .args(&args)
            .output()
            .unwrap();
        let mut rows: Vec<String> = String::from_utf8(out.stdout)
            .unwrap()
            .lines()
            .map(str::to_owned)
            .collect();
        rows.sort();
        rows
    };
    let indexed = run(&[]);
    let every = run(&["--no-rule-index"]);
    assert!(indexed.len() > 50, "{}", indexed.len());
    assert_eq!(indexed, every);
}
