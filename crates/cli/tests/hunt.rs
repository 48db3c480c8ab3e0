//! End-to-end tests of `portent hunt`: the bundled pack over the shipped example
//! and the corpus, every output format, the documented exit codes.

mod common;
use common::{corpus, manifest, portent, root, scratch};

use serde_json::Value;

/// The seed's rule: the tests that are about its semantics run it alone.
const SEED: &str = "t1043-commonly-used-port";

/// The labels the example's authors wrote, for the events the seed rule should report.
fn annotated_hits() -> usize {
    std::fs::read_to_string(root().join("examples/t1043-events.jsonl"))
        .unwrap()
        .lines()
        .filter(|l| !l.contains("\"expect\": \"none\""))
        .count()
}

#[test]
fn every_format_carries_the_same_hits_with_rule_metadata() {
    let (code, out, err) = portent(&[
        "hunt",
        "examples/t1043-events.jsonl",
        "--rule",
        SEED,
        "--format",
        "jsonl",
    ]);
    assert_eq!(code, 0, "{err}");
    let rows: Vec<Value> = out
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    // The hunt ignores the rule's 1-day window by default: the 3-day-old event is a hit too.
    assert_eq!(rows.len(), annotated_hits() + 1);
    for r in &rows {
        assert_eq!(r["schema_version"], 1);
        assert_eq!(r["rule_id"], "t1043-commonly-used-port");
        assert_eq!(r["attack"], "T1043 T1571 T1071");
        assert_eq!(r["severity"], "medium");
        assert!(r["time"].as_str().unwrap().ends_with("+00:00"), "{r}");
        assert!(r["source_file"]
            .as_str()
            .unwrap()
            .ends_with("t1043-events.jsonl"));
    }
    assert!(err.contains("hits by label: ScriptInterpreter"), "{err}");
    assert!(err.contains("time window: none (every event)"), "{err}");

    let (_, doc, _) = portent(&[
        "hunt",
        "examples/t1043-events.jsonl",
        "--rule",
        SEED,
        "--format",
        "json",
    ]);
    let doc: Value = serde_json::from_str(&doc).unwrap();
    assert_eq!(doc["schema_version"], 1);
    assert_eq!(doc["rows"].as_array().unwrap().len(), rows.len());
    assert_eq!(doc["rules"][0]["tactic"], "Command and Control");
    assert_eq!(doc["summary"]["events_read"], 18);

    let (_, csv, _) = portent(&[
        "hunt",
        "examples/t1043-events.jsonl",
        "--rule",
        SEED,
        "--format",
        "csv",
        "--csv-bom",
    ]);
    assert!(csv.starts_with("\u{feff}rule_id,rule_title,attack,severity,event_time"));
    assert_eq!(csv.lines().count(), rows.len() + 1);

    // The table shows the standard profile: what fits a terminal, in order.
    let (_, table, err) = portent(&["hunt", "examples/t1043-events.jsonl", "--rule", SEED]);
    let head: Vec<&str> = table.lines().next().unwrap().split_whitespace().collect();
    assert_eq!(
        head,
        [
            "time",
            "severity",
            "rule_title",
            "host",
            "username",
            "process_name",
            "command_line",
            "parent_process",
            "destinationip",
            "destinationport",
            "suspicion_label",
            "source_file"
        ]
    );
    assert_eq!(table.lines().count(), rows.len() + 1);
    assert!(
        err.contains("column(s) not shown (--profile verbose"),
        "{err}"
    );
    let (_, table, _) = portent(&[
        "hunt",
        "examples/t1043-events.jsonl",
        "--rule",
        SEED,
        "--profile",
        "verbose",
    ]);
    assert!(table.lines().next().unwrap().starts_with("rule_id"));
    let (_, csv, _) = portent(&[
        "hunt",
        "examples/t1043-events.jsonl",
        "--rule",
        SEED,
        "--format",
        "csv",
        "--profile",
        "minimal",
    ]);
    assert_eq!(
        csv.lines().next().unwrap(),
        "time,severity,rule_title,host,process_name,destinationip,destinationport,suspicion_label"
    );
    assert_eq!(csv.lines().count(), rows.len() + 1);
}

#[test]
fn the_window_can_be_applied_and_is_always_reported() {
    let (code, out, err) = portent(&[
        "hunt",
        "examples/t1043-events.jsonl",
        "--rule",
        SEED,
        "--window",
        "as-written",
        "--now",
        "latest",
        "--format",
        "jsonl",
    ]);
    assert_eq!(code, 0, "{err}");
    assert_eq!(out.lines().count(), annotated_hits());
    assert!(err.contains("1 matching event(s) outside it"), "{err}");
    let (_, out, err) = portent(&[
        "hunt",
        "examples/t1043-events.jsonl",
        "--rule",
        SEED,
        "--window",
        "last:5d",
        "--format",
        "jsonl",
    ]);
    assert_eq!(out.lines().count(), annotated_hits() + 1, "{err}");
    let (code, _, err) = portent(&[
        "hunt",
        "examples/t1043-events.jsonl",
        "--window",
        "yesterday",
    ]);
    assert_eq!(code, 2);
    assert!(err.contains("--window takes"), "{err}");
}

#[test]
fn limits_never_cut_silently() {
    let (_, out, err) = portent(&[
        "hunt",
        "examples/t1043-events.jsonl",
        "--rule",
        SEED,
        "--limit",
        "2",
        "--format",
        "jsonl",
    ]);
    assert_eq!(out.lines().count(), 2);
    assert!(
        err.contains(&format!(
            "more hidden by LIMIT ({} in total)",
            annotated_hits() + 1
        )),
        "{err}"
    );
}

#[test]
fn output_files_are_atomic_and_failures_leave_nothing() {
    let d = scratch("out");
    let hits = d.join("hits.json");
    let summary = d.join("summary.json");
    let (code, out, err) = portent(&[
        "hunt",
        "examples/t1043-events.jsonl",
        "--format",
        "json",
        "-o",
        hits.to_str().unwrap(),
        "--summary-json",
        summary.to_str().unwrap(),
        "--fail-on-hits",
    ]);
    assert_eq!(code, 1, "hits with --fail-on-hits: {err}");
    assert!(out.is_empty());
    let doc: Value = serde_json::from_str(&std::fs::read_to_string(&hits).unwrap()).unwrap();
    assert!(!doc["rows"].as_array().unwrap().is_empty());
    let s: Value = serde_json::from_str(&std::fs::read_to_string(&summary).unwrap()).unwrap();
    assert_eq!(s["rules"][0]["id"], "t1043-commonly-used-port");
    // A folder that cannot exist (a file stands in its way) fails before
    // the hunt, and leaves nothing behind.
    let (code, _, err) = portent(&[
        "hunt",
        "examples/t1043-events.jsonl",
        "-o",
        hits.join("sub/hits.csv").to_str().unwrap(),
    ]);
    assert_eq!(code, 2);
    assert!(err.contains("cannot create its folder"), "{err}");
    assert_eq!(
        std::fs::read_dir(&d).unwrap().count(),
        2,
        "no temporary files left"
    );
}

#[test]
fn bad_paths_and_files_are_partial_input() {
    let d = scratch("bad");
    std::fs::write(
        d.join("broken.json"),
        "{\"destinationport\": 443, \"devicetype\": 12}\n{oops\n",
    )
    .unwrap();
    std::fs::write(d.join("notes.txt"), "just notes").unwrap();
    // A path typed on the command line that is not there is a usage error,
    // before any work; what a folder holds is reported per file.
    let (code, _, err) = portent(&["hunt", d.to_str().unwrap(), "does/not/exist.evtx", "-q"]);
    assert_eq!(code, 2, "{err}");
    assert!(
        err.contains("input does/not/exist.evtx: No such file"),
        "{err}"
    );
    let (code, _, err) = portent(&["hunt", d.to_str().unwrap(), "-q"]);
    assert_eq!(code, 3, "{err}");
    assert!(
        err.contains("broken.json: JSON (QRadar fields), 1 events"),
        "{err}"
    );
    assert!(
        err.contains("skipped 1: invalid JSON (at line 2, column 2"),
        "{err}"
    );
    assert!(
        err.contains("1 file(s) in the folders are not telemetry"),
        "{err}"
    );
    let (code, _, err) = portent(&["hunt", d.join("notes.txt").to_str().unwrap()]);
    assert_eq!(
        code, 3,
        "a named file in no known format is an error: {err}"
    );
    let (code, _, err) = portent(&["hunt"]);
    assert_eq!(code, 2);
    assert!(err.contains("no input"), "{err}");
}

#[test]
fn broken_rules_are_reported_with_code_frames() {
    let d = scratch("rules");
    std::fs::write(
        d.join("bad.toml"),
        "id = \"bad\"\ntitle = \"Bad\"\nquery = \"bad.aql\"\n",
    )
    .unwrap();
    std::fs::write(
        d.join("bad.aql"),
        "SELECT * FROM events WHERE destinationport IN (80,\n",
    )
    .unwrap();
    let (code, _, err) = portent(&[
        "hunt",
        "--rules",
        d.to_str().unwrap(),
        "examples/t1043-events.jsonl",
    ]);
    assert_eq!(code, 2);
    assert!(err.contains("bad.aql:1:51"), "{err}");
    assert!(err.contains('^'), "{err}");
    std::fs::write(d.join("bad.toml"), "id = \"bad\"\ntitel = \"typo\"\n").unwrap();
    let (code, _, err) = portent(&[
        "hunt",
        "--rules",
        d.to_str().unwrap(),
        "examples/t1043-events.jsonl",
    ]);
    assert_eq!(code, 2);
    assert!(err.contains("bad.toml") && err.contains("titel"), "{err}");
    let (code, _, err) = portent(&["hunt", "--rule", "nope", "examples/t1043-events.jsonl"]);
    assert_eq!(code, 2);
    assert!(err.contains("no rule `nope`"), "{err}");
}

#[test]
#[ignore = "needs the corpus (../shared/corpus or PORTENT_CORPUS)"]
fn hunting_the_corpus_finds_the_manifest_rows() {
    let Some(corpus) = corpus() else { return };
    let entries = manifest(&corpus);
    let aql_rows: u64 = entries.iter().map(|e| e.aql_rows).sum();
    let strict: u64 = entries.iter().map(|e| e.strict + e.wfp).sum();
    let (code, out, err) = portent(&["hunt", corpus.to_str().unwrap(), "--format", "jsonl", "-q"]);
    assert_eq!(
        code, 3,
        "the corrupt baseline EVTX makes the input partial: {err}"
    );
    let mut per_rule = std::collections::BTreeMap::<String, u64>::new();
    for l in out.lines() {
        let row: Value = serde_json::from_str(l).unwrap();
        *per_rule
            .entry(row["rule_id"].as_str().unwrap().to_owned())
            .or_default() += 1;
    }
    assert_eq!(per_rule.get(SEED).copied(), Some(aql_rows), "{err}");
    // Every rule of the pack ran, and its summary line counts the rows written.
    for id in [
        SEED,
        "t1071-004-dns-tunnelling",
        "t1197-bits-transfer",
        "t1036-renamed-binary-network",
    ] {
        let n = per_rule.get(id).copied().unwrap_or(0);
        assert!(err.contains(&format!("({id}): {n} row(s)")), "{id}: {err}");
    }
    // The corpus's real `bitsadmin /transfer` downloads are found, and every
    // BITS hit is one (its process and command line say so, not a count).
    let bits: Vec<Value> = out
        .lines()
        .map(|l| serde_json::from_str::<Value>(l).unwrap())
        .filter(|r| r["rule_id"] == "t1197-bits-transfer")
        .collect();
    assert!(!bits.is_empty(), "{per_rule:?}");
    for r in &bits {
        let process = r["process_name"].as_str().unwrap_or("").to_lowercase();
        let command = r["command_line"].as_str().unwrap_or("").to_lowercase();
        assert!(
            process.ends_with("\\bitsadmin.exe") && command.contains("/transfer"),
            "{r}"
        );
    }
    assert!(err.contains("hits by label: ScriptInterpreter"), "{err}");
    let (_, out, _) = portent(&[
        "hunt",
        corpus.to_str().unwrap(),
        "--rule",
        "t1043-strict-basename",
        "--format",
        "jsonl",
        "-q",
    ]);
    assert_eq!(out.lines().count() as u64, strict);
}

#[test]
fn windows_example_hits_are_the_annotated_ones_with_their_process() {
    let text = std::fs::read_to_string(root().join("examples/sysmon-ecs-t1043.jsonl")).unwrap();
    let mut want: Vec<(i64, String)> = text
        .lines()
        .map(|l| serde_json::from_str::<Value>(l).unwrap())
        .filter(|v| v.get("expect").is_some_and(|e| e != "none"))
        .map(|v| {
            (
                v["winlog"]["record_id"].as_i64().unwrap(),
                v["expect"].as_str().unwrap().to_owned(),
            )
        })
        .collect();
    let (code, out, err) = portent(&[
        "hunt",
        "examples/sysmon-ecs-t1043.jsonl",
        "--rule",
        SEED,
        "--format",
        "jsonl",
    ]);
    assert_eq!(code, 0, "{err}");
    let rows: Vec<Value> = out
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    let mut got: Vec<(i64, String)> = rows
        .iter()
        .map(|r| {
            (
                r["record_id"].as_i64().unwrap(),
                r["suspicion_label"].as_str().unwrap().to_owned(),
            )
        })
        .collect();
    want.sort();
    got.sort();
    assert_eq!(got, want);
    for r in &rows {
        assert_eq!(
            r["host"], "WS-FIN-042.corp.example",
            "the endpoint, not the collector"
        );
    }
    let wfp = rows.iter().find(|r| r["record_id"] == 2002).unwrap();
    assert!(
        wfp["command_line"]
            .as_str()
            .unwrap()
            .starts_with("certutil.exe -urlcache"),
        "5156 joined to its 4688"
    );
    let ps = rows.iter().find(|r| r["record_id"] == 1002).unwrap();
    assert_eq!(
        ps["parent_process"], "C:\\Windows\\explorer.exe",
        "Sysmon 3 joined to its Sysmon 1"
    );
}

/// The Navigator layer holds what the layer format 4.5 requires, and each
/// technique's score is the sum of the hits of the rules tagged with it.
#[test]
fn navigator_layer_scores_techniques_by_hits() {
    let d = scratch("navigator");
    let (layer, summary) = (d.join("layer.json"), d.join("summary.json"));
    let (code, _, err) = portent(&[
        "hunt",
        "examples/",
        "-q",
        "--format",
        "jsonl",
        "-o",
        d.join("hits.jsonl").to_str().unwrap(),
        "--navigator",
        layer.to_str().unwrap(),
        "--summary-json",
        summary.to_str().unwrap(),
    ]);
    assert_eq!(code, 0, "{err}");
    let l: Value = serde_json::from_str(&std::fs::read_to_string(&layer).unwrap()).unwrap();
    let s: Value = serde_json::from_str(&std::fs::read_to_string(&summary).unwrap()).unwrap();
    // Required by the format: name, domain, versions.layer "4.5" and a
    // navigator version of at least 4.9.0; gradient maxValue > minValue.
    assert!(l["name"].is_string());
    assert_eq!(l["domain"], "enterprise-attack");
    assert_eq!(l["versions"]["layer"], "4.5");
    let nav: Vec<u32> = l["versions"]["navigator"]
        .as_str()
        .unwrap()
        .split('.')
        .map(|x| x.parse().unwrap())
        .collect();
    assert!(nav >= vec![4, 9, 0], "{nav:?}");
    assert!(l["gradient"]["maxValue"].as_u64() > l["gradient"]["minValue"].as_u64());
    assert!(l["gradient"]["colors"].as_array().unwrap().len() >= 2);
    let mut want: std::collections::BTreeMap<String, u64> = Default::default();
    for r in s["rules"].as_array().unwrap() {
        for t in r["attack"].as_array().unwrap() {
            if r["rows"].as_u64().unwrap() > 0 {
                *want.entry(t.as_str().unwrap().to_owned()).or_default() +=
                    r["rows"].as_u64().unwrap();
            }
        }
    }
    let got: std::collections::BTreeMap<String, u64> = l["techniques"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| {
            let id = t["techniqueID"].as_str().unwrap().to_owned();
            let shape = id.len() == 5 || (id.len() == 9 && id.as_bytes()[5] == b'.');
            assert!(id.starts_with('T') && shape, "{id}");
            (id, t["score"].as_u64().unwrap())
        })
        .collect();
    assert!(!got.is_empty());
    assert_eq!(got, want);
    // A folder where the layer should go is refused before the hunt.
    let (code, _, err) = portent(&[
        "hunt",
        "examples/",
        "-q",
        "--navigator",
        d.to_str().unwrap(),
    ]);
    assert_eq!(code, 2);
    assert!(
        err.contains("--navigator") && err.contains("is a folder"),
        "{err}"
    );
}

/// Timesketch's JSONL import needs `message`, `datetime` (ISO 8601) and
/// `timestamp_desc` on every line; `timestamp` is microseconds. Every hit
/// with a time is there, the same as in JSON lines.
#[test]
fn timesketch_lines_carry_what_timesketch_requires() {
    let (code, lines, err) = portent(&["hunt", "examples/", "-q", "--format", "timesketch"]);
    assert_eq!(code, 0, "{err}");
    let (_, jsonl, _) = portent(&["hunt", "examples/", "-q", "--format", "jsonl"]);
    let hits: Vec<Value> = jsonl
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    let timed = hits.iter().filter(|h| h["time"].is_string()).count();
    let rows: Vec<Value> = lines
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(rows.len(), timed);
    assert!(timed > 0);
    if timed < hits.len() {
        assert!(err.contains("without a time were left out"), "{err}");
    }
    for r in &rows {
        let message = r["message"].as_str().unwrap();
        assert!(
            message.contains(r["rule_title"].as_str().unwrap()),
            "{message}"
        );
        let dt = chrono::DateTime::parse_from_rfc3339(r["datetime"].as_str().unwrap()).unwrap();
        assert_eq!(r["timestamp"].as_i64(), Some(dt.timestamp_micros()));
        assert!(!r["timestamp_desc"].as_str().unwrap().is_empty());
    }
}

/// The beacon view, worked out by hand: powershell to 203.0.113.7 every 60 s
/// (6 connections: mean 60 s, deviation 0, periodicity 1); certutil at 0, 10,
/// 200 and 210 s (gaps 10, 190, 10: mean 70, deviation 84.85, so 1 - CV < 0,
/// floored at 0); rundll32 twice (one gap: no score).
#[test]
fn beacons_score_regular_intervals() {
    let d = scratch("beacons");
    let base = |t: i64, ip: &str, port: i64, image: &str| {
        serde_json::json!({
            "starttime": 1_764_115_200_000i64 + t * 1000, "devicetype": 12, "logsourceid": 1,
            "category": 4012, "sourceip": "10.1.2.3", "destinationip": ip, "destinationport": port,
            "username": "CORP\\alice", "Event ID": 3, "Process Name": format!("C:\\Windows\\System32\\{image}"),
            "Parent Process Name": "cmd.exe",
        })
        .to_string()
    };
    let mut lines = Vec::new();
    for i in 0..6 {
        lines.push(base(
            i * 60,
            "203.0.113.7",
            443,
            "WindowsPowerShell\\v1.0\\powershell.exe",
        ));
    }
    for t in [0, 10, 200, 210] {
        lines.push(base(t, "198.51.100.9", 80, "certutil.exe"));
    }
    for t in [0, 30] {
        lines.push(base(t, "198.51.100.10", 443, "rundll32.exe"));
    }
    let input = d.join("beacon.jsonl");
    std::fs::write(&input, lines.join("\n") + "\n").unwrap();
    let (code, out, err) = portent(&[
        "hunt",
        input.to_str().unwrap(),
        "--beacons",
        "--format",
        "jsonl",
        "-q",
    ]);
    assert_eq!(code, 0, "{err}");
    assert!(err.contains("beacons: 3 group(s) from 12 hit(s)"), "{err}");
    let rows: Vec<Value> = out
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    let short: Vec<(String, Value, u64, Value, Value)> = rows
        .iter()
        .map(|r| {
            let p = r["process_name"].as_str().unwrap();
            (
                p[p.rfind('\\').unwrap() + 1..].to_owned(),
                r["periodicity"].clone(),
                r["connections"].as_u64().unwrap(),
                r["mean_interval_s"].clone(),
                r["stddev_interval_s"].clone(),
            )
        })
        .collect();
    assert_eq!(
        short,
        vec![
            (
                "powershell.exe".into(),
                1.0.into(),
                6,
                60.0.into(),
                0.0.into()
            ),
            (
                "certutil.exe".into(),
                0.0.into(),
                4,
                70.0.into(),
                84.9.into()
            ),
            (
                "rundll32.exe".into(),
                Value::Null,
                2,
                30.0.into(),
                0.0.into()
            ),
        ]
    );
    assert_eq!(rows[0]["first_seen"], "2025-11-26T00:00:00.000+00:00");
    assert_eq!(rows[0]["last_seen"], "2025-11-26T00:05:00.000+00:00");
    assert_eq!(rows[0]["rules"], "t1043-commonly-used-port");
    // `--format beacons`: the same view as a table, most regular first.
    let (code, table, _) = portent(&["hunt", input.to_str().unwrap(), "--format", "beacons", "-q"]);
    assert_eq!(code, 0);
    let lines: Vec<&str> = table.lines().collect();
    assert!(lines[0].starts_with("periodicity  connections"), "{table}");
    assert!(
        lines[1].starts_with("1.0 ") && lines[1].contains("powershell.exe"),
        "{table}"
    );
    assert_eq!(lines.len(), 4);
}

/// A folder of many files: without a listing asked for, only the inputs
/// with something to say are named (the others are counted), and the run's
/// memory does not hold a report per file; asked for, every input is there.
#[test]
fn inputs_with_trouble_are_named_and_every_input_is_counted() {
    let d = scratch("listing");
    let example = root().join("examples/t1043-events.jsonl");
    std::fs::copy(&example, d.join("a.jsonl")).unwrap();
    std::fs::copy(&example, d.join("b.jsonl")).unwrap();
    let mut broken = std::fs::read(&example).unwrap();
    broken.extend_from_slice(b"{broken\n");
    std::fs::write(d.join("c.jsonl"), broken).unwrap();
    std::fs::write(d.join("notes.txt"), "not telemetry\n").unwrap();
    #[cfg(unix)]
    std::os::unix::fs::symlink(d.join("a.jsonl"), d.join("link.jsonl")).unwrap();
    let dir = d.to_str().unwrap();
    let summary = d.join("summary.json");
    let run = |extra: &[&str]| {
        let mut args = vec!["hunt", dir, "--rule", SEED, "-q", "--format", "jsonl"];
        args.extend(extra);
        portent(&args)
    };

    let (code, plain_rows, err) = run(&[]);
    assert_eq!(code, 3, "a skipped record makes the run partial: {err}");
    assert!(err.contains("c.jsonl: JSON"), "{err}");
    assert!(err.contains("skipped 1: invalid JSON"), "{err}");
    assert!(
        !err.contains("a.jsonl: JSON"),
        "clean inputs unnamed: {err}"
    );
    assert!(err.contains("read from 3 input(s)"), "{err}");
    assert!(
        err.contains("1 file(s) in the folders are not telemetry"),
        "{err}"
    );
    #[cfg(unix)]
    assert!(
        err.contains("1 path(s) lead to a file or folder already read"),
        "{err}"
    );

    let (_, rows, err) = run(&["--report", "--summary-json", summary.to_str().unwrap()]);
    assert_eq!(rows, plain_rows);
    assert!(err.contains("a.jsonl: JSON"), "{err}");
    assert!(err.contains("b.jsonl: JSON"), "{err}");
    assert!(err.contains("read from 3 input(s)"), "{err}");
    let s: Value = serde_json::from_str(&std::fs::read_to_string(&summary).unwrap()).unwrap();
    let names: Vec<&str> = s["inputs"]
        .as_array()
        .unwrap()
        .iter()
        .map(|i| i["name"].as_str().unwrap().rsplit('/').next().unwrap())
        .collect();
    let mut want = vec!["a.jsonl", "b.jsonl", "c.jsonl", "notes.txt"];
    if cfg!(unix) {
        want.push("link.jsonl");
    }
    let mut got = names.clone();
    got.sort_unstable();
    want.sort_unstable();
    assert_eq!(got, want, "{s}");
    assert_eq!(s["files_ignored"], if cfg!(unix) { 2 } else { 1 });
    assert_eq!(s["inputs_not_read"], 0);
}
