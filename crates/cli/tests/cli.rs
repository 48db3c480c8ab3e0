//! End-to-end tests of the real binary on the shipped example and the seed rule.

mod common;
use common::{portent, root};

/// The labels the example file's authors wrote by hand, per event, in file order.
fn expected_labels() -> Vec<(String, String)> {
    std::fs::read_to_string(root().join("examples/t1043-events.jsonl"))
        .unwrap()
        .lines()
        .map(|l| {
            let v: serde_json::Value = serde_json::from_str(l).unwrap();
            (
                v["Process Name"].as_str().unwrap_or("").to_owned(),
                v["expect"].as_str().unwrap().to_owned(),
            )
        })
        .collect()
}

#[test]
fn seed_rule_finds_exactly_the_annotated_hits() {
    let (code, out, err) = portent(&[
        "query",
        "-f",
        "rules/t1043-commonly-used-port.aql",
        "-i",
        "examples/t1043-events.jsonl",
        "--now",
        "2025-11-26T00:00:00Z",
        "--format",
        "jsonl",
    ]);
    assert_eq!(code, 0, "{err}");
    let rows: Vec<serde_json::Value> = out
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    let mut got: Vec<(String, String)> = rows
        .iter()
        .map(|r| {
            (
                r["process_name"].as_str().unwrap().to_owned(),
                r["suspicion_label"].as_str().unwrap().to_owned(),
            )
        })
        .collect();
    let mut want: Vec<(String, String)> = expected_labels()
        .into_iter()
        .filter(|(_, l)| l != "none")
        .collect();
    got.sort();
    want.sort();
    assert_eq!(got, want);
    assert!(
        err.contains("time window: starttime > NOW() - 1 DAYS with NOW() = 2025-11-26T00:00:00.000+00:00; 1 matching event(s) outside it"),
        "{err}"
    );
    assert_eq!(rows[0]["event_time"], "2025-11-26 00:00:00");
    assert_eq!(rows[0]["event_category"], "ACL Permit");
}

#[test]
fn ignoring_the_window_brings_back_old_events() {
    let (code, out, err) = portent(&[
        "query",
        "-f",
        "rules/t1043-commonly-used-port.aql",
        "-i",
        "examples/t1043-events.jsonl",
        "--window",
        "ignore",
        "--format",
        "jsonl",
    ]);
    assert_eq!(code, 0, "{err}");
    let annotated = expected_labels()
        .iter()
        .filter(|(_, l)| l != "none")
        .count();
    // The three-day-old PowerShell connection is the one extra row.
    assert_eq!(out.lines().count(), annotated + 1);
    assert!(
        err.contains("time window: none (every event); 0 matching event(s) outside it"),
        "{err}"
    );
}

#[test]
fn limit_is_reported_not_silent() {
    let (_, out, err) = portent(&[
        "query",
        "SELECT \"Process Name\" FROM events ORDER BY destinationport DESC LIMIT 2",
        "-i",
        "examples/t1043-events.jsonl",
        "--format",
        "jsonl",
    ]);
    assert_eq!(out.lines().count(), 2);
    assert!(
        err.contains("16 more hidden by LIMIT (18 in total)"),
        "{err}"
    );
}

#[test]
fn lint_reports_the_seed_findings() {
    let (code, out, _) = portent(&["lint", "-f", "rules/t1043-commonly-used-port.aql"]);
    assert_eq!(code, 0);
    for code in [
        "L0001", "L0002", "L0003", "L0004", "L0005", "L0006", "L0007", "L0009",
    ] {
        assert!(out.contains(code), "missing {code}:\n{out}");
    }
    assert!(out.contains("log source type 13 is Microsoft IIS"));
    assert!(out.contains("log source type 352 is Salesforce Security"));
    assert!(out.contains("dsregcmd.exe"));
}

#[test]
fn explain_shows_window_and_shared_automaton() {
    let (code, out, _) = portent(&["explain", "-f", "rules/t1043-commonly-used-port.aql"]);
    assert_eq!(code, 0);
    assert!(
        out.contains("WHERE conjunct `starttime > NOW() - 1 DAYS`"),
        "{out}"
    );
    assert!(out.contains("automaton #0"), "{out}");
    assert!(out.contains("bounded top-500 heap"), "{out}");
}

#[test]
fn bad_query_points_at_the_character() {
    let (code, _, err) = portent(&[
        "query",
        "SELECT * FROM events WHERE x = ",
        "-i",
        "examples/t1043-events.jsonl",
    ]);
    assert_eq!(code, 2);
    assert!(
        err.contains("error[P0101]: expected an expression"),
        "{err}"
    );
    // The caret sits right after the last token, where the expression is missing.
    assert!(err.contains(" --> <query>:1:31\n"), "{err}");
    assert!(
        err.contains(&format!("  | {}^ expected an expression", " ".repeat(30))),
        "{err}"
    );
    let (code, _, err) = portent(&[
        "query",
        "SELECT LOWR(username) FROM events",
        "-i",
        "examples/t1043-events.jsonl",
    ]);
    assert_eq!(code, 2);
    assert!(err.contains("did you mean `LOWER`?"), "{err}");
}

#[test]
fn unreadable_input_is_partial_not_fatal() {
    let dir = std::env::temp_dir().join(format!("portent-cli-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let bad = dir.join("bad.jsonl");
    std::fs::write(&bad, "{\"destinationport\": 443}\n{broken\n").unwrap();
    let (code, out, err) = portent(&[
        "query",
        "SELECT destinationport FROM events",
        "-i",
        bad.to_str().unwrap(),
        "--format",
        "jsonl",
    ]);
    assert_eq!(code, 3, "{err}");
    assert_eq!(out.lines().count(), 1);
    assert!(err.contains("bad.jsonl: JSON (QRadar fields), 1 events\n    skipped 1: invalid JSON (at line 2, column 2"), "{err}");
}

#[test]
fn catalog_csv_overrides_names() {
    let dir = std::env::temp_dir().join(format!("portent-cat-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let cat = dir.join("cat.csv");
    std::fs::write(&cat, "table,id,name\ncategory,4012,\"Sysmon, network\"\n").unwrap();
    let (code, out, err) = portent(&[
        "query",
        "SELECT CATEGORYNAME(category) AS c FROM events WHERE category = 4012",
        "-i",
        "examples/t1043-events.jsonl",
        "--catalog",
        cat.to_str().unwrap(),
        "--format",
        "jsonl",
        "--window",
        "ignore",
    ]);
    assert_eq!(code, 0, "{err}");
    assert!(out.lines().count() > 0);
    assert!(
        out.lines().all(|l| l.contains("\"Sysmon, network\"")),
        "{out}"
    );
    std::fs::write(&cat, "category,notanumber,x\n").unwrap();
    let (code, _, err) = portent(&[
        "query",
        "SELECT * FROM events",
        "-i",
        "examples/t1043-events.jsonl",
        "--catalog",
        cat.to_str().unwrap(),
    ]);
    assert_eq!(code, 2);
    assert!(err.contains("cat.csv:line 1"), "{err}");
}
