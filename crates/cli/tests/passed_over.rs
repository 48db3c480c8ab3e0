//! `portent hunt` reads EVTX records of channels and event ids no rule uses
//! for their System part only, says how many, and finds what it finds
//! reading them whole: adding a rule of every event (which needs every
//! record whole) leaves the first rule's hits as they were.

mod common;
use common::{corpus, portent, scratch};

use serde_json::Value;

const CREATION: &str = "title: Regsvr32 or Rundll32 Started
id: 6f0aa8b6-1c7e-4c39-9c6a-4a4c5b1f9a01
status: test
logsource:
    product: windows
    category: process_creation
detection:
    selection:
        Image|endswith:
            - '\\regsvr32.exe'
            - '\\rundll32.exe'
    condition: selection
level: medium
";

/// Keywords in any Windows event: a rule no record may be passed over for.
const ANYWHERE: &str = "title: A Word Anywhere
id: 6f0aa8b6-1c7e-4c39-9c6a-4a4c5b1f9a02
status: test
logsource:
    product: windows
detection:
    keywords:
        - 'no such word in the corpus 0c9f'
    condition: keywords
level: low
";

/// Hunts the corpus's EVTX files with the rules `yaml`: the JSON rows and summary.
fn hunt(name: &str, yaml: &[&str]) -> (Vec<Value>, Value) {
    let dir = scratch(name);
    let rules = dir.join("rules");
    std::fs::create_dir_all(&rules).unwrap();
    for (i, y) in yaml.iter().enumerate() {
        std::fs::write(rules.join(format!("{i}.yml")), y).unwrap();
    }
    let summary = dir.join("summary.json");
    let evtx = corpus().unwrap().join("evtx");
    let (code, out, err) = portent(&[
        "hunt",
        "--sigma-only",
        "--sigma",
        rules.to_str().unwrap(),
        "--window",
        "ignore",
        "-q",
        "--format",
        "jsonl",
        "--summary-json",
        summary.to_str().unwrap(),
        evtx.to_str().unwrap(),
    ]);
    assert!(code == 0 || code == 1, "{code}: {err}");
    let rows = out
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    let summary = serde_json::from_str(&std::fs::read_to_string(summary).unwrap()).unwrap();
    (rows, summary)
}

#[test]
#[ignore = "needs the corpus (../shared/corpus or PORTENT_CORPUS)"]
fn records_no_rule_reads_are_passed_over_and_counted_without_changing_hits() {
    if corpus().is_none() {
        return;
    }
    let (alone, s1) = hunt("passed-over-alone", &[CREATION]);
    let (beside, s2) = hunt("passed-over-beside", &[CREATION, ANYWHERE]);
    let read = s1["events_read"].as_u64().unwrap();
    let passed = s1["events_passed_over"].as_u64().unwrap();
    assert!(passed > 0 && passed < read, "{passed} of {read}");
    assert_eq!(
        s2["events_passed_over"], 0,
        "a rule of every event reads all"
    );
    assert_eq!(s2["events_read"].as_u64(), Some(read));
    assert!(alone.len() > 5, "{} hits", alone.len());
    let text = |rows: &[Value]| {
        let mut v: Vec<String> = rows.iter().map(Value::to_string).collect();
        v.sort();
        v
    };
    assert_eq!(text(&alone), text(&beside));
}
