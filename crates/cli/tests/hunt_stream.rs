//! `hunt` writes JSON lines, JSON, Timesketch and CSV hits while it reads,
//! and keeps them only for the table: in every format, with several rules
//! hitting at once (the pack, Sigma rules, a correlation, tuning shown for
//! review, a baseline), the streamed hits are the kept ones (`--no-stream`).

mod common;

use common::{corpus, portent, root};
use serde_json::Value;
use std::collections::BTreeMap;
use std::path::Path;

/// Sigma rules that hit the shipped examples beside the pack, and a
/// correlation over one of them.
const SIGMA: &str = "\
title: Outbound on a web port
id: 22222222-0000-4000-8000-000000000001
logsource: {product: windows, category: network_connection}
detection:
    selection: {DestinationPort: [80, 443]}
    condition: selection
level: low
---
title: PowerShell started
id: 22222222-0000-4000-8000-000000000002
logsource: {product: windows, category: process_creation}
detection:
    selection: {Image|endswith: '\\powershell.exe'}
    condition: selection
level: medium
---
title: Two web connections within a day
id: 22222222-0000-4000-8000-000000000003
correlation:
    type: event_count
    rules: 22222222-0000-4000-8000-000000000001
    generate: true
    timespan: 1d
    condition: {gte: 2}
level: high
";

/// Each row as canonical JSON without its empty cells, sorted.
fn rows(format: &str, text: &str) -> Vec<String> {
    let objects: Vec<BTreeMap<String, Value>> = match format {
        "json" => serde_json::from_str::<Value>(text).unwrap()["rows"]
            .as_array()
            .unwrap()
            .iter()
            .map(|r| serde_json::from_value(r.clone()).unwrap())
            .collect(),
        "csv" => {
            let mut r = csv::Reader::from_reader(text.as_bytes());
            let header = r.headers().unwrap().clone();
            r.records()
                .map(|rec| {
                    header
                        .iter()
                        .zip(rec.unwrap().iter())
                        .map(|(h, v)| (h.to_owned(), Value::from(v)))
                        .collect()
                })
                .collect()
        }
        _ => text
            .lines()
            .map(|l| serde_json::from_str(l).unwrap())
            .collect(),
    };
    let mut out: Vec<String> = objects
        .into_iter()
        .map(|mut o| {
            o.retain(|_, v| !v.is_null() && v.as_str() != Some(""));
            serde_json::to_string(&o).unwrap()
        })
        .collect();
    out.sort();
    out
}

/// The summary's lines about rules and hits (not the timings).
fn counts(stderr: &str) -> Vec<&str> {
    stderr
        .lines()
        .filter(|l| l.contains("row(s)") || l.contains("hits by"))
        .collect()
}

fn hunt(args: &[&str]) -> (String, String) {
    let (code, out, err) = portent(args);
    assert!(code == 0 || code == 3, "{args:?}: exit {code}\n{err}");
    (out, err)
}

/// Streams and keeps the hunt `args` in every format: the same hits and
/// the same counts. Returns the hits.
fn same_hits_streamed_and_kept(args: &[&str]) -> usize {
    let mut n = None;
    for format in ["jsonl", "json", "csv", "timesketch"] {
        let mut a = args.to_vec();
        a.extend(["--format", format]);
        let (streamed, e1) = hunt(&a);
        a.push("--no-stream");
        let (kept, e2) = hunt(&a);
        let (s, k) = (rows(format, &streamed), rows(format, &kept));
        assert!(!s.is_empty(), "{format}: no hits\n{e1}");
        assert_eq!(s.len(), k.len(), "{format}\n{e1}\n{e2}");
        for (x, y) in s.iter().zip(&k) {
            assert_eq!(x, y, "{format}: streamed and kept hits differ");
        }
        assert_eq!(counts(&e1), counts(&e2), "{format}");
        if format != "timesketch" {
            assert_eq!(*n.get_or_insert(s.len()), s.len(), "{format}");
        }
    }
    n.unwrap_or(0)
}

#[test]
fn the_pack_sigma_rules_a_correlation_and_tuning_stream_the_hits_they_keep() {
    let dir = tempfile::tempdir().unwrap();
    let sigma = dir.path().join("rules.yml");
    std::fs::write(&sigma, SIGMA).unwrap();
    let examples = root().join("examples");
    let tuning = root().join("rules/tuning-examples.toml");
    let (sigma, examples, tuning) = (path(&sigma), path(&examples), path(&tuning));
    let n = same_hits_streamed_and_kept(&[
        "hunt",
        &examples,
        "--sigma",
        &sigma,
        "--tuning",
        &tuning,
        "--show-suppressed",
    ]);
    // The pack alone finds 19 hits in the examples (see the README); the
    // Sigma rules and the correlation add theirs.
    assert!(n > 19, "{n}");
    let (out, _) = hunt(&["hunt", &examples, "--sigma", &sigma, "--format", "jsonl"]);
    let ids: Vec<String> = out
        .lines()
        .map(|l| serde_json::from_str::<Value>(l).unwrap()["rule_id"].to_string())
        .collect();
    for id in ["000000000001", "000000000002", "000000000003"] {
        assert!(ids.iter().any(|i| i.contains(id)), "rule {id} did not hit");
    }
}

#[test]
fn kept_hits_come_by_rule_and_streamed_ones_as_found() {
    let examples = path(&root().join("examples"));
    let (kept, _) = hunt(&["hunt", &examples, "--format", "jsonl", "--no-stream"]);
    let rule = |l: &str| serde_json::from_str::<Value>(l).unwrap()["rule_id"].to_string();
    let order: Vec<String> = kept.lines().map(rule).collect();
    let mut runs = order.clone();
    runs.dedup();
    let mut distinct = runs.clone();
    distinct.sort();
    distinct.dedup();
    assert_eq!(runs.len(), distinct.len(), "kept hits are grouped by rule");
    let (streamed, _) = hunt(&["hunt", &examples, "--format", "jsonl"]);
    let mut s: Vec<String> = streamed.lines().map(rule).collect();
    s.sort();
    let mut k = order;
    k.sort();
    assert_eq!(s, k);
}

/// The CSV header is known before the first hit: every column any rule
/// can give, so a hit of a later rule never needs a column the header
/// lacks, and `--profile` picks from it.
#[test]
fn streamed_csv_has_every_column_up_front_and_profiles_pick_from_it() {
    let examples = path(&root().join("examples"));
    let (streamed, _) = hunt(&["hunt", &examples, "--format", "csv"]);
    let (kept, _) = hunt(&["hunt", &examples, "--format", "csv", "--no-stream"]);
    let header = |t: &str| -> Vec<String> {
        csv::Reader::from_reader(t.as_bytes())
            .headers()
            .unwrap()
            .iter()
            .map(str::to_owned)
            .collect()
    };
    let (s, k) = (header(&streamed), header(&kept));
    for c in &k {
        assert!(s.contains(c), "streamed header lacks {c}");
    }
    let (minimal, err) = hunt(&["hunt", &examples, "--format", "csv", "--profile", "minimal"]);
    assert_eq!(
        header(&minimal),
        [
            "time",
            "severity",
            "rule_title",
            "host",
            "process_name",
            "destinationip",
            "destinationport",
            "suspicion_label"
        ]
    );
    assert!(err.contains("column(s) not shown"), "{err}");
    let (timeline, _) = hunt(&[
        "hunt",
        &examples,
        "--format",
        "csv",
        "--profile",
        "timeline",
    ]);
    let cols = header(&timeline);
    assert_eq!(&cols[..4], ["time", "host", "severity", "rule_title"]);
    assert!(cols.iter().any(|c| c == "record_id"), "{cols:?}");
    // Rules name the process differently; the one column takes each.
    let mut r = csv::Reader::from_reader(minimal.as_bytes());
    let blank = r
        .records()
        .filter(|rec| rec.as_ref().unwrap().get(4) == Some(""))
        .count();
    assert_eq!(blank, 0, "every hit of the examples names its process");
}

/// A rule that reads NOW, with NOW the newest event (known only at the
/// end), runs on kept candidates; given NOW, it streams: the same answers.
#[test]
fn a_rule_reading_now_gets_the_newest_event_time_either_way() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join("age.toml"),
        "id = \"age\"\ntitle = \"Age of each event\"\nquery = \"age.aql\"\nseverity = \"low\"\n",
    )
    .unwrap();
    std::fs::write(
        dir.path().join("age.aql"),
        "SELECT \"Process Name\", (NOW() - starttime) / 3600000 AS hours_before_the_last FROM events",
    )
    .unwrap();
    let input = path(&root().join("examples/t1043-events.jsonl"));
    let rules = path(dir.path());
    let ages = |now: &str| {
        let (out, _) = hunt(&[
            "hunt", &input, "--rules", &rules, "--format", "jsonl", "--now", now,
        ]);
        let mut v: Vec<i64> = out
            .lines()
            .map(|l| {
                serde_json::from_str::<Value>(l).unwrap()["hours_before_the_last"]
                    .as_i64()
                    .unwrap()
            })
            .collect();
        v.sort();
        v
    };
    let latest = ages("latest");
    // The newest event is 0 hours before itself; the oldest, days.
    assert_eq!(latest.first(), Some(&0));
    assert!(latest.last().is_some_and(|h| *h >= 24), "{latest:?}");
    assert_eq!(ages("2025-11-26T00:00:00Z"), latest);
}

fn path(p: &Path) -> String {
    p.display().to_string()
}

#[test]
#[ignore = "reads the corpus (PORTENT_CORPUS or ../shared/corpus); CI runs it with --include-ignored"]
fn the_corpus_streams_the_hits_it_would_keep() {
    let Some(dir) = corpus() else {
        panic!("corpus not found");
    };
    let n = same_hits_streamed_and_kept(&["hunt", &path(&dir)]);
    assert!(n > 0);
}

/// Thousands of connections whose process creations come last: streaming,
/// they wait for them, the oldest on disk, and are joined at the end just
/// as when every candidate is kept.
#[test]
fn connections_read_long_before_their_creation_wait_on_disk_and_are_joined() {
    let text = std::fs::read_to_string(root().join("examples/sysmon-ecs-t1043.jsonl")).unwrap();
    let lines: Vec<&str> = text.lines().filter(|l| !l.trim().is_empty()).collect();
    let (creations, others): (Vec<&str>, Vec<&str>) = lines
        .iter()
        .partition(|l| serde_json::from_str::<Value>(l).unwrap()["winlog"]["event_id"] == "1");
    assert!(!creations.is_empty() && !others.is_empty());
    let dir = tempfile::tempdir().unwrap();
    let input = dir.path().join("late-creations.jsonl");
    let mut out = String::new();
    for _ in 0..800 {
        for l in &others {
            out.push_str(l);
            out.push('\n');
        }
    }
    for l in &creations {
        out.push_str(l);
        out.push('\n');
    }
    std::fs::write(&input, out).unwrap();
    let input = path(&input);
    let (streamed, e1) = hunt(&["hunt", &input, "--format", "jsonl"]);
    let (kept, e2) = hunt(&["hunt", &input, "--format", "jsonl", "--no-stream"]);
    assert!(e1.contains("waited on disk"), "{e1}");
    assert!(!e2.contains("waited on disk"), "{e2}");
    let joined = |e: &str| {
        e.lines()
            .find(|l| l.contains("joined to their process creation"))
            .map(str::to_owned)
    };
    assert_eq!(joined(&e1), joined(&e2));
    assert!(joined(&e1).is_some_and(|l| !l.contains(" 0 candidate(s) joined")));
    assert_eq!(rows("jsonl", &streamed), rows("jsonl", &kept));
}
