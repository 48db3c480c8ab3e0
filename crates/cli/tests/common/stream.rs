//! The streaming tests' support: a running `portent watch`, its log and
//! metrics, and alerts compared with `portent hunt`'s rows.

use super::root;
use serde_json::Value;
use std::collections::BTreeMap;
use std::io::{BufRead, BufReader, Read, Write};
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// The binary under test.
pub const BIN: &str = env!("CARGO_BIN_EXE_portent");

/// A running watcher and what it has logged.
pub struct Watcher {
    pub child: Child,
    log: Arc<Mutex<Vec<Value>>>,
}

impl Watcher {
    /// `portent watch ARGS --window ignore --state-dir STATE` (the tests replay old evidence).
    pub fn start(state: &Path, args: &[&str], stdin: Stdio) -> Watcher {
        let mut child = Command::new(BIN)
            .arg("watch")
            .args(args)
            .args(["--window", "ignore", "--state-dir"])
            .arg(state)
            .current_dir(root())
            .stdin(stdin)
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        let log = Arc::new(Mutex::new(Vec::new()));
        let (err, sink) = (child.stderr.take().unwrap(), log.clone());
        std::thread::spawn(move || {
            for line in BufReader::new(err).lines().map_while(Result::ok) {
                match serde_json::from_str::<Value>(&line) {
                    Ok(v) => sink.lock().unwrap().push(v),
                    Err(_) => eprintln!("watch: {line}"),
                }
            }
        });
        Watcher { child, log }
    }

    /// Waits for a log line with `msg` and returns it.
    pub fn logged(&self, msg: &str) -> Value {
        let until = Instant::now() + Duration::from_secs(60);
        while Instant::now() < until {
            if let Some(v) = self.log.lock().unwrap().iter().find(|v| v["msg"] == msg) {
                return v.clone();
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        panic!(
            "watcher never logged {msg:?}: {:?}",
            self.log.lock().unwrap()
        );
    }

    pub fn tcp_addr(&self) -> String {
        let v = self.logged("listening");
        v["address"].as_str().unwrap().to_owned()
    }

    pub fn metrics_url(&self) -> String {
        let v = self.logged("metrics");
        v["address"]
            .as_str()
            .unwrap()
            .trim_start_matches("http://")
            .trim_end_matches("/metrics")
            .to_owned()
    }

    pub fn signal(&self, sig: &str) {
        let ok = Command::new("kill")
            .args([sig, &self.child.id().to_string()])
            .status()
            .unwrap();
        assert!(ok.success());
    }

    /// SIGTERM, and the exit status.
    pub fn stop(mut self) -> i32 {
        self.signal("-TERM");
        self.child.wait().unwrap().code().unwrap_or(-1)
    }

    pub fn kill9(mut self) {
        self.child.kill().unwrap();
        self.child.wait().unwrap();
    }
}

/// GET `path` over HTTP/1.1: status line and body.
pub fn http_get(addr: &str, path: &str) -> (String, String) {
    let mut s = std::net::TcpStream::connect(addr).unwrap();
    write!(
        s,
        "GET {path} HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n"
    )
    .unwrap();
    let mut text = String::new();
    s.read_to_string(&mut text).unwrap();
    let (head, body) = text.split_once("\r\n\r\n").unwrap();
    (head.lines().next().unwrap().to_owned(), body.to_owned())
}

/// A counter of the metrics text (summed over labels).
pub fn metric(addr: &str, name: &str) -> u64 {
    let (_, body) = http_get(addr, "/metrics");
    body.lines()
        .filter(|l| {
            l.starts_with(name)
                && (l[name.len()..].starts_with(' ') || l[name.len()..].starts_with('{'))
        })
        .filter_map(|l| l.rsplit(' ').next()?.parse::<u64>().ok())
        .sum()
}

/// Polls `done` until it holds (failing after three minutes).
pub fn wait_for(what: &str, mut done: impl FnMut() -> bool) {
    let until = Instant::now() + Duration::from_secs(180);
    while !done() {
        assert!(Instant::now() < until, "timed out waiting for {what}");
        std::thread::sleep(Duration::from_millis(50));
    }
}

/// Alerts as comparable text: everything but where and how they arrived.
pub fn comparable(rows: impl Iterator<Item = Value>) -> Vec<String> {
    let mut out: Vec<String> = rows
        .filter(|r| r.get("rule_id").is_some())
        .map(|mut r| {
            let o = r.as_object_mut().unwrap();
            for k in ["source_file", "source", "alert_id", "schema_version"] {
                o.remove(k);
            }
            // A hunt's rows have every rule's columns; a rule's own absent ones are null.
            o.retain(|_, v| !v.is_null());
            let sorted: BTreeMap<_, _> = o.iter().collect();
            serde_json::to_string(&sorted).unwrap()
        })
        .collect();
    out.sort();
    out
}

/// Equal multisets, or a short account of the difference.
pub fn assert_same(got: &[String], want: &[String], what: &str) {
    if got == want {
        return;
    }
    let mut missing: Vec<&String> = want.iter().collect();
    let mut extra = Vec::new();
    for g in got {
        match missing.iter().position(|w| *w == g) {
            Some(i) => {
                missing.remove(i);
            }
            None => extra.push(g),
        }
    }
    let cut = |v: &[&String]| {
        v.iter()
            .take(2)
            .map(|s| s.chars().take(400).collect::<String>())
            .collect::<Vec<_>>()
    };
    panic!(
        "{what}: {} alerts, want {}; {} missing, e.g. {:?}; {} extra, e.g. {:?}",
        got.len(),
        want.len(),
        missing.len(),
        cut(&missing),
        extra.len(),
        cut(&extra)
    );
}

/// The JSON lines of a file (none when it does not exist).
pub fn read_jsonl(p: &Path) -> Vec<Value> {
    std::fs::read_to_string(p)
        .unwrap_or_default()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect()
}

/// `portent hunt` over `inputs`, every hit (no window, no limit), as JSON rows.
pub fn hunt(inputs: &[&Path]) -> Vec<Value> {
    let out = Command::new(BIN)
        .args(["hunt", "-q", "--format", "jsonl"])
        .args(inputs)
        .current_dir(root())
        .output()
        .unwrap();
    assert!(
        out.status.code().unwrap() <= 3,
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout)
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect()
}

/// `portent replay INPUTS --to TO EXTRA`; its stderr.
pub fn replay(inputs: &[&Path], to: &str, extra: &[&str]) -> String {
    let out = Command::new(BIN)
        .arg("replay")
        .args(inputs)
        .args(["--to", to])
        .args(extra)
        .current_dir(root())
        .output()
        .unwrap();
    let err = String::from_utf8_lossy(&out.stderr).into_owned();
    assert!(
        out.status.success() || out.status.code() == Some(3),
        "{err}"
    );
    err
}

/// The events `portent replay` says it sent (from its stderr).
pub fn sent(replay_stderr: &str) -> u64 {
    replay_stderr
        .split("sent ")
        .nth(1)
        .and_then(|rest| rest.split(' ').next()?.parse().ok())
        .unwrap_or_else(|| panic!("no count in replay's output: {replay_stderr}"))
}
