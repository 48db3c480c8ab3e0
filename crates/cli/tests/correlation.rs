//! Sigma correlation rules end to end: hunt and watch over raw Security
//! events (evtx_dump JSON, the names EVTX gives), against alerts worked out by
//! hand in the comments below.

mod common;

use common::stream::BIN;
use common::{portent, root};
use serde_json::Value;
use std::collections::BTreeSet;
use std::process::Command;

const RULES: &str = "\
title: Many failed logons, then a success
id: 11111111-0000-4000-8000-000000000001
correlation:
    type: temporal_ordered
    rules:
        - many_failed
        - success
    group-by:
        - TargetUserName
    timespan: 10m
level: high
---
title: Many failed logons
name: many_failed
correlation:
    type: event_count
    rules: failed
    group-by: [TargetUserName]
    timespan: 10m
    condition: {gte: 5}
---
title: Failed logons from three addresses
id: 11111111-0000-4000-8000-000000000002
correlation:
    type: value_count
    rules: failed
    group-by: [Computer]
    timespan: 1h
    condition: {field: IpAddress, gte: 3}
level: medium
---
title: Exactly two failed logons
id: 11111111-0000-4000-8000-000000000003
correlation:
    type: event_count
    rules: failed
    group-by: [TargetUserName]
    timespan: 10m
    condition: {eq: 2}
level: low
---
title: Failed logon
name: failed
logsource: {product: windows, service: security}
detection:
    selection: {EventID: 4625}
    condition: selection
---
title: Successful logon
name: success
logsource: {product: windows, service: security}
detection:
    selection: {EventID: 4624}
    condition: selection
";

/// Seconds after 10:00, event id, user, computer, address.
type Logon = (u32, u32, &'static str, &'static str, &'static str);

const EVENTS: &[Logon] = &[
    // alice: six failures 10 s apart, then a success at 3 min.
    (0, 4625, "alice", "DC1", "10.0.0.1"),
    (10, 4625, "alice", "DC1", "10.0.0.1"),
    (20, 4625, "alice", "DC1", "10.0.0.1"),
    (30, 4625, "alice", "DC1", "10.0.0.1"),
    (40, 4625, "alice", "DC1", "10.0.0.1"),
    (50, 4625, "alice", "DC1", "10.0.0.1"),
    (180, 4624, "alice", "DC1", "10.0.0.1"),
    // bob: five failures 8 min apart (never five in 10 min).
    (0, 4625, "bob", "DC1", "10.0.0.2"),
    (480, 4625, "bob", "DC1", "10.0.0.3"),
    (960, 4625, "bob", "DC1", "10.0.0.4"),
    (1440, 4625, "bob", "DC1", "10.0.0.2"),
    (1920, 4625, "bob", "DC1", "10.0.0.2"),
    // carol: a success, then five failures (no success after them).
    (0, 4624, "carol", "WS1", "10.0.0.9"),
    (60, 4625, "carol", "WS1", "10.0.0.9"),
    (70, 4625, "carol", "WS1", "10.0.0.9"),
    (80, 4625, "carol", "WS1", "10.0.0.9"),
    (90, 4625, "carol", "WS1", "10.0.0.9"),
    (100, 4625, "carol", "WS1", "10.0.0.9"),
    // dave: two failures an hour later.
    (3600, 4625, "dave", "DC1", "10.0.0.1"),
    (3610, 4625, "dave", "DC1", "10.0.0.1"),
];

/// (rule id, group value, first, last) of every alert, worked out by hand:
/// - many_failed fires for alice at 40 s (five in 10 min) and carol at 100 s;
///   it only feeds the ordered rule, which fires for alice (her success at
///   180 s follows) but not carol (her success came first).
/// - value_count on DC1: 10.0.0.1 and .2 at 0 s, .3 at 480 s: three, fires;
///   it starts over: .4 (960 s), .2 (1,920 s), .1 (3,600 s): fires again.
///   Its window starts at the earliest of the latest times of its values.
/// - eq 2 decides fixed 10 min windows: bob [0, 600] holds 0 s and 480 s: 2;
///   [960, 1,560] holds 960 s and 1,440 s: 2; [1,920, ...] holds 1; alice
///   and carol hold 6 and 5; dave [3,600, ...] holds 2, decided at the end.
fn expected() -> BTreeSet<(String, String, String, String)> {
    let t = |s: u32| {
        format!(
            "2026-01-05T{:02}:{:02}:{:02}.000+00:00",
            10 + s / 3600,
            s / 60 % 60,
            s % 60
        )
    };
    let id = |n: u32| format!("11111111-0000-4000-8000-00000000000{n}");
    [
        (id(1), "alice", 40, 180),
        (id(2), "DC1", 0, 480),
        (id(2), "DC1", 960, 3600),
        (id(3), "bob", 0, 480),
        (id(3), "bob", 960, 1440),
        (id(3), "dave", 3600, 3610),
    ]
    .into_iter()
    .map(|(i, g, a, b)| (i, g.to_owned(), t(a), t(b)))
    .collect()
}

fn line(n: usize, (s, id, user, computer, ip): Logon) -> String {
    let time = format!(
        "2026-01-05T{:02}:{:02}:{:02}.000Z",
        10 + s / 3600,
        s / 60 % 60,
        s % 60
    );
    serde_json::json!({"Event": {
        "System": {
            "Provider": {"#attributes": {"Name": "Microsoft-Windows-Security-Auditing"}},
            "EventID": id, "Channel": "Security", "Computer": computer,
            "EventRecordID": n + 1,
            "TimeCreated": {"#attributes": {"SystemTime": time}},
        },
        "EventData": {"TargetUserName": user, "IpAddress": ip, "LogonType": 3},
    }})
    .to_string()
}

/// The events in time order, one JSON object a line.
fn in_time_order() -> String {
    let mut ev: Vec<(usize, Logon)> = EVENTS.iter().copied().enumerate().collect();
    ev.sort_by_key(|(n, e)| (e.0, *n));
    ev.into_iter().map(|(n, e)| line(n, e) + "\n").collect()
}

fn alerts(rows: &[Value]) -> BTreeSet<(String, String, String, String)> {
    rows.iter()
        .map(|r| {
            let group = ["TargetUserName", "Computer"]
                .iter()
                .find_map(|g| r[g].as_str())
                .unwrap_or("?")
                .to_owned();
            let s = |k: &str| r[k].as_str().unwrap_or("?").to_owned();
            (s("rule_id"), group, s("first_time"), s("last_time"))
        })
        .collect()
}

fn jsonl(text: &str) -> Vec<Value> {
    text.lines()
        .filter(|l| !l.is_empty())
        .map(|l| serde_json::from_str(l).unwrap())
        .filter(|v: &Value| v.get("rule_id").is_some())
        .collect()
}

#[test]
fn hunt_fires_each_correlation_type_where_worked_out_by_hand() {
    let dir = tempfile::tempdir().unwrap();
    let rules = dir.path().join("brute.yml");
    std::fs::write(&rules, RULES).unwrap();
    // Two files, each in reverse time order: the hunt puts matches in time
    // order itself.
    let evidence = dir.path().join("evidence");
    std::fs::create_dir(&evidence).unwrap();
    let lines: Vec<String> = EVENTS
        .iter()
        .copied()
        .enumerate()
        .map(|(n, e)| line(n, e))
        .collect();
    let (a, b) = lines.split_at(9);
    for (name, part) in [("a.json", a), ("b.json", b)] {
        let text: String = part.iter().rev().map(|l| l.clone() + "\n").collect();
        std::fs::write(evidence.join(name), text).unwrap();
    }
    let summary = dir.path().join("summary.json");
    let (code, out, err) = portent(&[
        "hunt",
        "--sigma-only",
        "--sigma",
        rules.to_str().unwrap(),
        evidence.to_str().unwrap(),
        "--format",
        "jsonl",
        "-q",
        "--summary-json",
        summary.to_str().unwrap(),
    ]);
    assert_eq!(code, 0, "{err}");
    let rows = jsonl(&out);
    assert_eq!(alerts(&rows), expected(), "{out}\n{err}");
    assert_eq!(rows.len(), expected().len(), "no alert twice");
    // The ordered rule's row names both rules and carries the last event.
    let ordered = rows
        .iter()
        .find(|r| r["correlation"] == "temporal_ordered")
        .unwrap();
    assert_eq!(ordered["rules"], "Many failed logons; Successful logon");
    assert_eq!(ordered["rules seen"], 2);
    assert_eq!(ordered["severity"], "high");
    assert_eq!(ordered["host"], "DC1");
    let vc = rows
        .iter()
        .find(|r| r["correlation"] == "value_count")
        .unwrap();
    assert_eq!(vc["distinct IpAddress"], 3);
    // The rules that only feed correlations say what they held back.
    let s: Value = serde_json::from_str(&std::fs::read_to_string(&summary).unwrap()).unwrap();
    let by_id = |id: &str| {
        s["rules"]
            .as_array()
            .unwrap()
            .iter()
            .find(|r| r["id"] == id)
            .cloned()
            .unwrap()
    };
    let of = |id: u32| EVENTS.iter().filter(|e| e.1 == id).count();
    assert_eq!(by_id("failed")["correlation_only"], of(4625));
    assert_eq!(by_id("success")["correlation_only"], of(4624));
    assert_eq!(by_id("many_failed")["correlation_only"], 2);
    assert_eq!(by_id("11111111-0000-4000-8000-000000000003")["rows"], 3);
    assert!(err.contains("only feed correlations"), "{err}");
}

#[test]
fn watch_gives_the_hunts_correlation_alerts() {
    let dir = tempfile::tempdir().unwrap();
    let rules = dir.path().join("brute.yml");
    std::fs::write(&rules, RULES).unwrap();
    let events = dir.path().join("events.json");
    std::fs::write(&events, in_time_order()).unwrap();
    let (code, out, err) = portent(&[
        "hunt",
        "--sigma-only",
        "--sigma",
        rules.to_str().unwrap(),
        events.to_str().unwrap(),
        "--format",
        "jsonl",
        "-q",
    ]);
    assert_eq!(code, 0, "{err}");
    let hunted = alerts(&jsonl(&out));
    let sink = dir.path().join("alerts.jsonl");
    let run = Command::new(BIN)
        .args([
            "watch",
            "--stdin",
            "--sigma-only",
            "--sigma",
            rules.to_str().unwrap(),
        ])
        .args([
            "--window",
            "ignore",
            "--metrics",
            "off",
            "--alerts",
            sink.to_str().unwrap(),
        ])
        .args(["--state-dir", dir.path().to_str().unwrap()])
        .current_dir(root())
        .stdin(std::fs::File::open(&events).unwrap())
        .output()
        .unwrap();
    assert!(
        run.status.success(),
        "{}",
        String::from_utf8_lossy(&run.stderr)
    );
    let streamed = alerts(&jsonl(&std::fs::read_to_string(&sink).unwrap()));
    assert_eq!(streamed, hunted);
    assert_eq!(streamed, expected());
}

#[test]
fn a_correlation_naming_a_missing_rule_is_refused_with_its_place() {
    let dir = tempfile::tempdir().unwrap();
    let rules = dir.path().join("c.yml");
    std::fs::write(
        &rules,
        "title: Orphan\ncorrelation:\n  type: event_count\n  rules: [nowhere]\n  timespan: 5m\n  condition: {gte: 2}\n",
    )
    .unwrap();
    let ev = root().join("examples/t1043-events.jsonl");
    let args = [
        "hunt",
        "--sigma-only",
        "--sigma",
        rules.to_str().unwrap(),
        ev.to_str().unwrap(),
        "-q",
    ];
    let (code, _, err) = portent(&args);
    assert_eq!(code, 2, "{err}");
    assert!(
        err.contains("c.yml:1:1") && err.contains("`nowhere`"),
        "{err}"
    );
}
