//! Golden tests over the real third-party corpus in `../shared/corpus`, against
//! the counts of its MANIFEST.md and the hit lists of an independent counter.
//! Without the corpus they say that they were skipped; under CI they fail.

mod common;
use common::{baseline_good_records, corpus, manifest, root, Entry};

use serde_json::Value;
use std::collections::BTreeMap;
use std::path::Path;
use std::process::Command;

/// Runs the binary over every corpus file with `query`, no window, no LIMIT,
/// and returns the JSON rows and stderr.
fn run(dir: &Path, entries: &[Entry], query: &Path) -> (i32, Vec<Value>, String) {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_portent"));
    cmd.args([
        "query",
        "--window",
        "ignore",
        "--no-limit",
        "--provenance",
        "--report",
        "--format",
        "jsonl",
        "-f",
    ])
    .arg(query)
    .arg("-i");
    for e in entries {
        cmd.arg(dir.join(&e.file));
    }
    let out = cmd.output().unwrap();
    let rows = String::from_utf8_lossy(&out.stdout)
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    (
        out.status.code().unwrap_or(-1),
        rows,
        String::from_utf8_lossy(&out.stderr).into(),
    )
}

/// The corpus file (relative) a row came from: archive members are `file!member`.
fn file_of(row: &Value, dir: &Path) -> String {
    let src = row["Source File"].as_str().unwrap();
    let prefix = format!("{}/", dir.display());
    src.strip_prefix(&prefix)
        .unwrap_or(src)
        .split('!')
        .next()
        .unwrap()
        .to_owned()
}

fn per_file(rows: &[Value], dir: &Path) -> BTreeMap<String, u64> {
    let mut m = BTreeMap::new();
    for r in rows {
        *m.entry(file_of(r, dir)).or_default() += 1;
    }
    m
}

#[test]
#[ignore = "needs the corpus (../shared/corpus or PORTENT_CORPUS)"]
fn seed_query_verbatim_returns_the_manifest_aql_rows_per_file() {
    let Some(dir) = corpus() else { return };
    let entries = manifest(&dir);
    assert_eq!(entries.len(), 44, "MANIFEST rows");
    let (code, rows, err) = run(
        &dir,
        &entries,
        &root().join("rules/t1043-commonly-used-port.aql"),
    );
    let got = per_file(&rows, &dir);
    for e in &entries {
        assert_eq!(
            got.get(&e.file).copied().unwrap_or(0),
            e.aql_rows,
            "AQL rows of {}",
            e.file
        );
    }
    assert_eq!(
        rows.len() as u64,
        entries.iter().map(|e| e.aql_rows).sum::<u64>()
    );
    // Every file's events are read: per-file reports (archive members summed).
    for e in &entries {
        let path = dir.join(&e.file).display().to_string();
        let read: u64 = err
            .lines()
            .filter_map(|l| l.strip_prefix("portent: "))
            .filter(|l| l.starts_with(&path))
            .filter_map(|l| {
                l.split(", ")
                    .find_map(|p| p.strip_suffix(" events")?.parse::<u64>().ok())
            })
            .sum();
        if e.role == "baseline" {
            // The evtx crate rejects some of its chunks (MANIFEST gotcha 9).
            assert_eq!(read, baseline_good_records(&dir), "{}", e.file);
        } else {
            assert_eq!(read, e.events, "events of {}", e.file);
        }
    }
    assert!(
        err.contains("skipped 8: chunk does not parse: Failed to parse chunk header"),
        "the corrupt chunks are reported:\n{err}"
    );
    assert_eq!(
        code, 3,
        "partial input (the corrupt baseline) gives exit code 3"
    );
}

#[test]
#[ignore = "needs the corpus (../shared/corpus or PORTENT_CORPUS)"]
fn strict_basename_sysmon_hits_are_the_independent_list() {
    let Some(dir) = corpus() else { return };
    let entries = manifest(&dir);
    let (_, rows, _) = run(
        &dir,
        &entries,
        &root().join("crates/cli/tests/fixtures/strict-sysmon3.aql"),
    );
    let got = per_file(&rows, &dir);
    for e in &entries {
        assert_eq!(
            got.get(&e.file).copied().unwrap_or(0),
            e.strict,
            "strict of {}",
            e.file
        );
    }
    let expected: Vec<Value> = std::fs::read_to_string(dir.join("expected_hits_sysmon3.jsonl"))
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(rows.len(), expected.len());
    let key = |file: &str, guid: &str, ip: &str, port: u64, image: &str| {
        format!(
            "{file}|{}|{ip}|{port}|{}",
            guid.trim_matches(['{', '}']).to_lowercase(),
            image.to_lowercase()
        )
    };
    let mut ours: BTreeMap<String, Vec<&Value>> = BTreeMap::new();
    for r in &rows {
        let k = key(
            &file_of(r, &dir),
            r["Process Guid"].as_str().unwrap_or(""),
            r["destinationip"].as_str().unwrap(),
            r["destinationport"].as_u64().unwrap(),
            r["Process Name"].as_str().unwrap(),
        );
        ours.entry(k).or_default().push(r);
    }
    let mut joined = 0;
    for x in &expected {
        let k = key(
            x["file"].as_str().unwrap(),
            x["process_guid"].as_str().unwrap_or(""),
            x["dst_ip"].as_str().unwrap(),
            x["dst_port"].as_u64().unwrap(),
            x["image"].as_str().unwrap(),
        );
        let mine = ours
            .get_mut(&k)
            .and_then(Vec::pop)
            .unwrap_or_else(|| panic!("missing hit {x}"));
        assert_eq!(mine["username"], x["user"], "{x}");
        if x["eid1_in_file"] == true {
            joined += 1;
            assert_eq!(mine["Command"], x["eid1_commandline"], "{x}");
            assert_eq!(mine["Parent Process Name"], x["eid1_parent_image"], "{x}");
            assert_eq!(mine["Enrichment"], "found: Sysmon 1", "{x}");
        }
    }
    assert!(
        joined > 0,
        "some hits have their process creation in the file"
    );
}

#[test]
#[ignore = "needs the corpus (../shared/corpus or PORTENT_CORPUS)"]
fn strict_basename_5156_hits_are_the_independent_list() {
    let Some(dir) = corpus() else { return };
    let entries = manifest(&dir);
    let (_, rows, _) = run(
        &dir,
        &entries,
        &root().join("crates/cli/tests/fixtures/strict-5156.aql"),
    );
    let got = per_file(&rows, &dir);
    for e in &entries {
        assert_eq!(
            got.get(&e.file).copied().unwrap_or(0),
            e.wfp,
            "5156 of {}",
            e.file
        );
    }
    let expected: Vec<Value> = std::fs::read_to_string(dir.join("expected_hits_5156.jsonl"))
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    let mut ours: BTreeMap<String, u64> = BTreeMap::new();
    let key = |file: &str, pid: &str, ip: &str, port: u64, app: &str| {
        format!("{file}|{pid}|{ip}|{port}|{}", app.to_lowercase())
    };
    for r in &rows {
        assert_eq!(r["Direction"], "Outbound");
        let k = key(
            &file_of(r, &dir),
            &r["Process ID"].to_string(),
            r["destinationip"].as_str().unwrap(),
            r["destinationport"].as_u64().unwrap(),
            r["Process Name"].as_str().unwrap(),
        );
        *ours.entry(k).or_default() += 1;
    }
    for x in &expected {
        let k = key(
            x["file"].as_str().unwrap(),
            x["process_id"].as_str().unwrap(),
            x["dst_ip"].as_str().unwrap(),
            x["dst_port"].as_u64().unwrap(),
            x["application"].as_str().unwrap(),
        );
        let n = ours
            .get_mut(&k)
            .unwrap_or_else(|| panic!("missing 5156 hit {x}"));
        assert!(*n > 0, "duplicate expectation {x}");
        *n -= 1;
    }
}

#[test]
#[ignore = "needs the corpus (../shared/corpus or PORTENT_CORPUS)"]
fn the_shipped_strict_rule_finds_both_sources() {
    let Some(dir) = corpus() else { return };
    let entries = manifest(&dir);
    let (_, rows, _) = run(
        &dir,
        &entries,
        &root().join("rules/t1043-strict-basename.aql"),
    );
    let want: u64 = entries.iter().map(|e| e.strict + e.wfp).sum();
    assert_eq!(rows.len() as u64, want);
    assert!(rows.iter().all(|r| r["suspicion_label"] != "Unknown"));
}
