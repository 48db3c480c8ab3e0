//! Regression tests for issue 13 ("never crash, never lose a case folder"),
//! each named after the input that broke a run: the real binary on files
//! made from the shipped example.

mod common;
use common::{portent, root, scratch};

use serde_json::Value;
use std::path::Path;

const ECS: &str = "examples/sysmon-ecs-t1043.jsonl";

fn hits(args: &[&str]) -> (i32, Vec<Value>, String) {
    let mut all = vec!["hunt", "-q", "--format", "jsonl"];
    all.extend_from_slice(args);
    let (code, out, err) = portent(&all);
    let rows = out
        .lines()
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("{e}: {l}")))
        .collect();
    (code, rows, err)
}

/// What identifies a hit whatever file it was read from.
fn keys(rows: &[Value]) -> Vec<String> {
    let mut k: Vec<String> = rows
        .iter()
        .map(|r| format!("{} {} {}", r["rule_id"], r["record_id"], r["time"]))
        .collect();
    k.sort();
    k
}

fn example_objects() -> Vec<Value> {
    std::fs::read_to_string(root().join(ECS))
        .unwrap()
        .lines()
        .filter(|l| !l.trim().is_empty())
        .map(|l| serde_json::from_str(l).unwrap())
        .collect()
}

#[test]
fn json_array_on_one_line_reads_every_object() {
    let dir = scratch("array-line");
    let file = dir.join("ecs-array.json");
    std::fs::write(&file, serde_json::to_string(&example_objects()).unwrap()).unwrap();
    // The exact shape of the report: a one-element array whose object has a
    // scalar `winlog` (it panicked the one-pass ECS reader).
    std::fs::write(dir.join("winlog-scalar.json"), r#"[{"winlog":1}]"#).unwrap();
    let (_, want, _) = hits(&[ECS]);
    let (code, got, err) = hits(&[file.to_str().unwrap()]);
    assert_eq!(code, 0, "{err}");
    assert!(!want.is_empty());
    assert_eq!(keys(&got), keys(&want));
    let (code, _, err) = hits(&[dir.to_str().unwrap(), "--report"]);
    assert!(code == 0 || code == 3, "{code}: {err}");
    assert!(!err.contains("panicked"), "{err}");
    assert!(err.contains("ecs-array.json"), "{err}");
}

#[test]
fn json_array_of_scalars_on_one_line_names_each_element_skipped() {
    let dir = scratch("scalars");
    std::fs::write(dir.join("nums.json"), "[1,2,3]\n").unwrap();
    let (code, _, err) = portent(&["hunt", "-q", dir.join("nums.json").to_str().unwrap()]);
    assert_eq!(code, 3, "{err}");
    assert!(
        err.contains("skipped 3: not a JSON object (at line 1, element 1, line 1, element 2, line 1, element 3)"),
        "{err}"
    );
}

fn link(target: &str, at: &Path) {
    std::os::unix::fs::symlink(target, at).unwrap();
}

#[test]
fn symlink_loops_read_each_file_once_and_links_out_of_the_tree_are_not_followed() {
    let dir = scratch("links");
    let case = dir.join("case");
    std::fs::create_dir_all(case.join("sub")).unwrap();
    std::fs::copy(root().join(ECS), case.join("sub/ecs.jsonl")).unwrap();
    link(".", &case.join("self"));
    link("..", &case.join("sub/up"));
    let outside = dir.join("outside");
    std::fs::create_dir_all(&outside).unwrap();
    std::fs::copy(root().join(ECS), outside.join("other.jsonl")).unwrap();
    link(outside.to_str().unwrap(), &case.join("out"));
    link("/nonexistent-portent-target", &case.join("broken"));

    let (_, want, _) = hits(&[ECS]);
    let (code, got, err) = hits(&[case.to_str().unwrap(), "--report"]);
    assert_eq!(code, 0, "{err}");
    assert_eq!(keys(&got), keys(&want), "each file read once");
    assert!(err.contains("self: ignored: same folder as"), "{err}");
    assert!(err.contains("up: ignored: same folder as"), "{err}");
    assert!(
        err.contains("out: ignored: symbolic link out of the folder"),
        "{err}"
    );
    assert!(
        err.contains("broken: ignored: broken symbolic link"),
        "{err}"
    );

    let (_, got, err) = hits(&[case.to_str().unwrap(), "--follow-links"]);
    assert_eq!(got.len(), 2 * want.len(), "{err}");
}

#[test]
fn a_hard_link_is_read_once_and_not_called_not_telemetry() {
    let dir = scratch("hardlinks");
    std::fs::create_dir_all(dir.join("a")).unwrap();
    std::fs::create_dir_all(dir.join("b")).unwrap();
    std::fs::copy(root().join(ECS), dir.join("a/ecs.jsonl")).unwrap();
    std::fs::hard_link(dir.join("a/ecs.jsonl"), dir.join("b/copy.jsonl")).unwrap();
    std::fs::write(dir.join("README.txt"), "notes about the case\n").unwrap();
    let (_, want, _) = hits(&[ECS]);
    let (code, got, err) = hits(&[dir.to_str().unwrap()]);
    assert_eq!(code, 0, "{err}");
    assert_eq!(keys(&got), keys(&want), "the file is read once");
    assert!(
        err.contains("1 file(s) in the folders are not telemetry"),
        "{err}"
    );
    assert!(
        err.contains("1 path(s) lead to a file or folder already read"),
        "{err}"
    );
}

#[test]
fn csv_with_several_rules_hitting_has_one_header_and_every_row_fits_it() {
    let sigma = root().join("../shared/sigma-rules/network_connection");
    let mut args = vec!["hunt", "-q", "--format", "csv", "examples/"];
    let sigma = sigma.to_string_lossy().into_owned();
    // Sigma alerts carry title/level/author columns the AQL rules do not have.
    if Path::new(&sigma).exists() {
        args.extend(["--sigma", &sigma]);
    }
    let (code, out, err) = portent(&args);
    assert_eq!(code, 0, "{err}");
    let mut r = csv::Reader::from_reader(out.as_bytes());
    let header = r.headers().unwrap().clone();
    let rows: Vec<csv::StringRecord> = r.records().map(|x| x.unwrap()).collect();
    let rules: std::collections::BTreeSet<&str> = rows.iter().map(|x| &x[0]).collect();
    assert!(rules.len() >= 2, "{rules:?}");
    assert!(rows.iter().all(|x| x.len() == header.len()));
}

#[test]
fn a_mistyped_input_path_is_a_usage_error_that_names_it() {
    let (code, _, err) = portent(&["hunt", "examples/", "exmaples-typo/"]);
    assert_eq!(code, 2, "{err}");
    assert!(err.contains("exmaples-typo"), "{err}");
}

/// Issue 13 item 9: a watcher that goes away mid-stream. Closing a socket
/// with unread data resets the connection, as a killed watcher does.
#[test]
fn replay_to_a_watcher_that_goes_away_fails_and_says_how_far_it_got() {
    use std::io::Read;
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap();
    let watcher = std::thread::spawn(move || {
        let (mut s, _) = listener.accept().unwrap();
        let mut some = [0u8; 512];
        let _ = s.read(&mut some);
        std::thread::sleep(std::time::Duration::from_millis(200));
        drop(s);
    });
    let to = format!("tcp://{addr}");
    let (code, _, err) = portent(&["replay", "--to", &to, "--repeat", "200", ECS]);
    watcher.join().unwrap();
    assert_eq!(code, 2, "{err}");
    assert!(err.contains("events"), "{err}");
    assert!(err.contains("sent") || err.contains("were handed"), "{err}");
}

/// A whole file as one JSON array on one line is replayed element by element.
#[test]
fn replay_sends_each_element_of_a_one_line_array() {
    let dir = scratch("replay-array");
    let file = dir.join("ecs-array.json");
    let objects = example_objects();
    std::fs::write(&file, serde_json::to_string(&objects).unwrap()).unwrap();
    let (code, _, err) = portent(&["replay", "--to", "null", file.to_str().unwrap()]);
    assert_eq!(code, 0, "{err}");
    assert!(
        err.contains(&format!("sent {} events", objects.len())),
        "{err}"
    );
}

/// Issue 13 item 10: an output that cannot be written fails before the hunt,
/// leaving nothing; an output in a new folder gets its folder.
#[test]
fn output_paths_are_checked_before_the_hunt_and_folders_made() {
    let dir = scratch("outputs");
    let blocker = dir.join("file-not-folder");
    std::fs::write(&blocker, "x").unwrap();
    let bad = blocker.join("hits.jsonl");
    let (code, _, err) = portent(&[
        "hunt",
        ECS,
        "-q",
        "--format",
        "jsonl",
        "-o",
        bad.to_str().unwrap(),
    ]);
    assert_eq!(code, 2, "{err}");
    assert!(err.contains("-o"), "{err}");
    assert!(
        !err.contains("event(s) read"),
        "checked before reading: {err}"
    );
    let nested = dir.join("new/deeper/hits.jsonl");
    let summary = dir.join("other/summary.json");
    let (code, _, err) = portent(&[
        "hunt",
        ECS,
        "-q",
        "--format",
        "jsonl",
        "-o",
        nested.to_str().unwrap(),
        "--summary-json",
        summary.to_str().unwrap(),
    ]);
    assert_eq!(code, 0, "{err}");
    assert!(std::fs::read_to_string(&nested).unwrap().lines().count() > 0);
    assert!(summary.exists());
}

/// Issue 13 item 10: with --fail-on-hits, hits (1) outrank partly unreadable
/// input (3); without hits the partial input still says 3.
#[test]
fn fail_on_hits_outranks_partial_input() {
    let dir = scratch("precedence");
    std::fs::copy(root().join(ECS), dir.join("ecs.jsonl")).unwrap();
    std::fs::write(dir.join("broken.jsonl"), "{oops\n").unwrap();
    let d = dir.to_str().unwrap();
    let (code, _, err) = portent(&["hunt", d, "-q", "--fail-on-hits"]);
    assert_eq!(code, 1, "{err}");
    let (code, _, err) = portent(&["hunt", d, "-q"]);
    assert_eq!(code, 3, "{err}");
    std::fs::remove_file(dir.join("ecs.jsonl")).unwrap();
    let (code, _, err) = portent(&["hunt", d, "-q", "--fail-on-hits"]);
    assert_eq!(code, 3, "{err}");
}

/// Issue 13 item 12: a `manifest.json` beside the evidence is not events.
#[test]
fn json_with_no_event_in_a_folder_is_ignored_not_read_as_events() {
    let dir = scratch("manifest");
    std::fs::copy(root().join(ECS), dir.join("ecs.jsonl")).unwrap();
    std::fs::write(
        dir.join("manifest.json"),
        r#"[{"staged": "a.zip", "commit": "abc", "size": 12}, {"staged": "b.zip", "commit": "def", "size": 3}]"#,
    )
    .unwrap();
    let d = dir.to_str().unwrap();
    let (code, _, err) = portent(&["hunt", d, "-q", "--report"]);
    assert_eq!(code, 0, "{err}");
    assert!(
        err.contains("manifest.json: ignored: JSON with no event in it"),
        "{err}"
    );
    let events = example_objects().len();
    assert!(err.contains(&format!("{events} event(s) read")), "{err}");
    // Named on the command line, it is an input that yielded nothing: said, and exit 3.
    let (code, _, err) = portent(&["hunt", dir.join("manifest.json").to_str().unwrap(), "-q"]);
    assert_eq!(code, 3, "{err}");
    assert!(err.contains("skipped 2: not an event"), "{err}");
}

/// Issue 13 item 12: a taken /metrics address is said once, with the way out.
#[test]
fn a_taken_metrics_address_is_said_once_with_the_flag_to_change_it() {
    let taken = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = taken.local_addr().unwrap().to_string();
    let (code, _, err) = portent(&[
        "watch",
        "--listen-tcp",
        "127.0.0.1:0",
        "--metrics",
        &addr,
        "--log-format",
        "text",
    ]);
    assert_eq!(code, 2, "{err}");
    assert!(err.contains("--metrics off"), "{err}");
    assert_eq!(err.matches("Address already in use").count(), 1, "{err}");
}
