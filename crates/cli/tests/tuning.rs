//! End-to-end tests of tuning: exceptions hold hits back visibly, expired ones
//! stop, malformed ones fail with their place, and the shipped examples hold
//! back on the corpus what they claim.

mod common;
use common::{corpus, manifest, portent, root};

use serde_json::Value;
use std::path::PathBuf;

fn write(name: &str, text: &str) -> PathBuf {
    let d = std::env::temp_dir().join(format!("portent-tuning-{}", std::process::id()));
    std::fs::create_dir_all(&d).unwrap();
    let p = d.join(name);
    std::fs::write(&p, text).unwrap();
    p
}

const MSHTA: &str = r#"
[[exception]]
id = "mshta-lab"
reason = "Lab HTA server"
owner = "lab@example.com"
created = "2025-01-01"
expires = "2099-01-01"
[exception.match]
"Process Name" = { wildcard = '*\mshta.exe' }
destinationip = { class = "public" }

[[exception]]
id = "old-notepad"
reason = "Expired: must no longer suppress"
owner = "nobody@example.com"
created = "2020-01-01"
expires = "2020-02-01"
[exception.match]
"Process Name" = { wildcard = '*\notepad.exe' }
"#;

#[test]
fn suppressed_hits_are_counted_and_shown_on_request() {
    let tuning = write("mshta.toml", MSHTA);
    let ex = "examples/sysmon-ecs-t1043.jsonl";
    let (_, plain, _) = portent(&["hunt", ex, "--format", "jsonl"]);
    let (code, tuned, err) = portent(&[
        "hunt",
        ex,
        "--format",
        "jsonl",
        "--tuning",
        tuning.to_str().unwrap(),
    ]);
    assert_eq!(code, 0, "{err}");
    assert_eq!(tuned.lines().count() + 1, plain.lines().count());
    assert!(!tuned.contains("mshta.exe"));
    assert!(err.contains("1 suppressed by tuning"), "{err}");
    assert!(err.contains("`mshta-lab` held back 1 hit(s)"), "{err}");
    assert!(
        err.contains("warning: tuning exception `old-notepad` expired on 2020-02-01"),
        "{err}"
    );
    assert!(
        tuned.contains("notepad.exe"),
        "an expired exception suppresses nothing"
    );

    let (_, shown, _) = portent(&[
        "hunt",
        ex,
        "--format",
        "jsonl",
        "--tuning",
        tuning.to_str().unwrap(),
        "--show-suppressed",
    ]);
    let rows: Vec<Value> = shown
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(rows.len(), plain.lines().count());
    let held: Vec<&Value> = rows
        .iter()
        .filter(|r| !r["suppressed_by"].is_null())
        .collect();
    assert_eq!(held.len(), 1);
    assert_eq!(held[0]["suppressed_by"], "mshta-lab");

    let (_, doc, _) = portent(&[
        "hunt",
        ex,
        "--format",
        "json",
        "--tuning",
        tuning.to_str().unwrap(),
    ]);
    let doc: Value = serde_json::from_str(&doc).unwrap();
    assert_eq!(doc["summary"]["suppressed"][0]["exception"], "mshta-lab");
    assert_eq!(doc["summary"]["suppressed"][0]["hits"], 1);
    assert_eq!(doc["summary"]["expired_exceptions"][0], "old-notepad");
    assert_eq!(doc["summary"]["rules"][0]["suppressed"], 1);

    let (code, out, err) = portent(&[
        "query",
        "-f",
        "rules/t1043-commonly-used-port.aql",
        ex,
        "--window",
        "ignore",
        "--format",
        "jsonl",
        "--tuning",
        tuning.to_str().unwrap(),
        "--show-suppressed",
    ]);
    assert_eq!(code, 0, "{err}");
    assert!(
        err.contains("`mshta-lab` held back 1 hit(s) of query"),
        "{err}"
    );
    assert_eq!(
        out.lines()
            .filter(|l| l.contains("\"Suppressed By\":\"mshta-lab\""))
            .count(),
        1,
        "{out}"
    );
}

#[test]
fn malformed_tuning_fails_with_the_place() {
    let bad = write(
        "bad.toml",
        "[[exception]]\nid = \"x\"\nreason = \"r\"\nowner = \"o\"\ncreated = \"2025-01-01\"\n[exception.match]\ndestinationip = { cidr = \"10.0.0.0/40\" }\n\"Prcess Name\" = \"a\"\n",
    );
    let (code, out, err) = portent(&["hunt", "examples/", "--tuning", bad.to_str().unwrap()]);
    assert_eq!(code, 2, "{err}");
    assert!(out.is_empty());
    assert!(err.contains("bad.toml:7:"), "{err}");
    assert!(err.contains("bad CIDR `10.0.0.0/40`"), "{err}");
    assert!(err.contains("bad.toml:8:1"), "{err}");
    assert!(
        err.contains("unknown field `Prcess Name`; did you mean `Process Name`?"),
        "{err}"
    );
}

#[test]
#[ignore = "needs the corpus (../shared/corpus or PORTENT_CORPUS)"]
fn shipped_examples_hold_back_what_they_claim_on_the_corpus() {
    let Some(corpus) = corpus() else { return };
    let text = std::fs::read_to_string(root().join("rules/tuning-examples.toml")).unwrap();
    // Each exception's `# corpus: N` claim, in file order.
    let mut claims = Vec::new();
    let mut id = None;
    for line in text.lines() {
        if let Some(v) = line.strip_prefix("id = ") {
            id = Some(v.trim_matches('"').to_owned());
        }
        if let (Some(n), Some(i)) = (line.strip_prefix("# corpus: "), &id) {
            claims.push((i.clone(), n.trim().parse::<u64>().unwrap()));
        }
    }
    assert_eq!(claims.len(), 3);
    let summary = std::env::temp_dir().join(format!(
        "portent-tuning-summary-{}.json",
        std::process::id()
    ));
    let (_, out, err) = portent(&[
        "hunt",
        corpus.to_str().unwrap(),
        "--rule",
        "t1043-commonly-used-port",
        "-q",
        "--format",
        "jsonl",
        "--tuning",
        "rules/tuning-examples.toml",
        "--summary-json",
        summary.to_str().unwrap(),
    ]);
    let s: Value = serde_json::from_str(&std::fs::read_to_string(&summary).unwrap()).unwrap();
    let mut total = 0;
    for (id, n) in &claims {
        let got: u64 = s["suppressed"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|x| x["exception"] == id.as_str())
            .map(|x| x["hits"].as_u64().unwrap())
            .sum();
        assert_eq!(got, *n, "{id}: {err}");
        total += n;
    }
    let aql_rows: u64 = manifest(&corpus).iter().map(|e| e.aql_rows).sum();
    assert_eq!(
        out.lines().count() as u64 + total,
        aql_rows,
        "rows plus held back is every hit"
    );
}

#[test]
fn suggestions_need_review_and_then_hold_back_what_they_say() {
    let ex = "examples/sysmon-ecs-t1043.jsonl";
    let (code, text, err) = portent(&["tune", "suggest", ex, "--min-hits", "1", "--top", "3"]);
    assert_eq!(code, 0, "{err}");
    let claimed: Vec<u64> = text
        .lines()
        .filter_map(|l| l.strip_prefix("# would hold back "))
        .map(|l| l.split(' ').next().unwrap().parse().unwrap())
        .collect();
    assert_eq!(claimed.len(), 3, "{text}");
    let raw = write("suggested.toml", &text);
    let (code, _, err) = portent(&["hunt", ex, "--tuning", raw.to_str().unwrap()]);
    assert_eq!(code, 2, "unreviewed suggestions must not load: {err}");
    assert!(err.contains("`reason` must say something"), "{err}");
    let reviewed = text
        .replace("reason = \"\"", "reason = \"reviewed\"")
        .replace("owner = \"\"", "owner = \"tester\"");
    let reviewed = write("reviewed.toml", &reviewed);
    let summary = reviewed.with_extension("json");
    let (code, _, err) = portent(&[
        "hunt",
        ex,
        "--tuning",
        reviewed.to_str().unwrap(),
        "--summary-json",
        summary.to_str().unwrap(),
    ]);
    assert_eq!(code, 0, "{err}");
    let s: Value = serde_json::from_str(&std::fs::read_to_string(&summary).unwrap()).unwrap();
    let held: Vec<u64> = s["suppressed"]
        .as_array()
        .unwrap()
        .iter()
        .map(|x| x["hits"].as_u64().unwrap())
        .collect();
    assert_eq!(held, claimed);
}

#[test]
fn baseline_marks_hits_and_reports_new_pairs() {
    let ex = "examples/sysmon-ecs-t1043.jsonl";
    let d = std::env::temp_dir().join(format!("portent-baseline-{}", std::process::id()));
    std::fs::create_dir_all(&d).unwrap();
    let base = d.join("base.json");
    let (code, _, err) = portent(&["baseline", "learn", ex, "-o", base.to_str().unwrap()]);
    assert_eq!(code, 0, "{err}");
    assert!(err.contains("process/port/class pair(s)"), "{err}");
    // Everything in the learning data is known to itself: no new pairs, every hit `known`.
    let (code, out, err) = portent(&[
        "hunt",
        ex,
        "--baseline",
        base.to_str().unwrap(),
        "--format",
        "jsonl",
    ]);
    assert_eq!(code, 0, "{err}");
    let rows: Vec<Value> = out
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert!(!rows.is_empty());
    assert!(rows.iter().all(|r| r["baseline"] == "known"), "{out}");
    assert!(
        err.contains("(baseline-new-process-port): 0 row(s)"),
        "{err}"
    );
    // A connection the baseline never saw: the hit is `new` and the pair is a finding.
    let extra = d.join("new.jsonl");
    std::fs::write(
        &extra,
        r#"{"winlog":{"channel":"Microsoft-Windows-Sysmon/Operational","computer_name":"WS9","event_id":"3","event_data":{"Image":"C:\\Windows\\System32\\wscript.exe","DestinationPort":"25","DestinationIp":"198.51.100.7","Initiated":"true"}},"@timestamp":"2025-11-21T10:00:00Z"}"#,
    )
    .unwrap();
    let (_, out, err) = portent(&[
        "hunt",
        extra.to_str().unwrap(),
        "--baseline",
        base.to_str().unwrap(),
        "--format",
        "jsonl",
    ]);
    let rows: Vec<Value> = out
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(rows.len(), 2, "{out}{err}");
    let hit = rows
        .iter()
        .find(|r| r["rule_id"] == "t1043-commonly-used-port")
        .unwrap();
    assert_eq!(hit["baseline"], "new");
    let finding = rows
        .iter()
        .find(|r| r["rule_id"] == "baseline-new-process-port")
        .unwrap();
    assert_eq!(finding["destinationport"], 25);
    assert_eq!(finding["destination_class"], "public");
    assert_eq!(finding["host"], "WS9");
    std::fs::write(&base, "{\"schema_version\": 1, \"entries\": [oops").unwrap();
    let (code, _, err) = portent(&["hunt", ex, "--baseline", base.to_str().unwrap()]);
    assert_eq!(code, 2);
    assert!(
        err.contains("base.json:1:") && err.contains("not a Portent baseline"),
        "{err}"
    );
}
