//! `portent watch --nats` against a real nats-server (JetStream) on loopback:
//! two workers split a stream and together alert exactly once per matching
//! event, also when one is killed mid-stream and replaced. The test starts its
//! own server; without `nats-server` it says it was skipped (CI installs it
//! and fails without it).

mod common;
use common::{corpus, root};

use serde_json::Value;
use std::io::{BufRead, BufReader, Read, Write};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

const BIN: &str = env!("CARGO_BIN_EXE_portent");

fn nats_server() -> Option<PathBuf> {
    for p in [
        "/usr/sbin/nats-server",
        "/usr/bin/nats-server",
        "/usr/local/bin/nats-server",
    ] {
        if Path::new(p).exists() {
            return Some(p.into());
        }
    }
    if std::env::var("CI").is_ok_and(|v| v == "true") {
        panic!("nats-server is missing and CI requires it (apt-get install nats-server)");
    }
    eprintln!("SKIPPED: the NATS tests need nats-server (apt-get install nats-server)");
    None
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

struct Server {
    child: Child,
    url: String,
    monitor: String,
    _dir: tempfile::TempDir,
}

impl Server {
    fn start(bin: &Path) -> Server {
        let dir = tempfile::tempdir().unwrap();
        let (port, mport) = (free_port(), free_port());
        let child = Command::new(bin)
            .args([
                "-js",
                "-a",
                "127.0.0.1",
                "-p",
                &port.to_string(),
                "-m",
                &mport.to_string(),
                "-sd",
            ])
            .arg(dir.path())
            // Its log goes to a file of its own, not to /dev/null (a plain
            // file on some machines, where cargo later reads it as a program).
            .arg("-l")
            .arg(dir.path().join("nats.log"))
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        let monitor = format!("127.0.0.1:{mport}");
        wait_for("nats-server", || {
            std::net::TcpStream::connect(&monitor).is_ok()
        });
        Server {
            child,
            url: format!("nats://127.0.0.1:{port}"),
            monitor,
            _dir: dir,
        }
    }

    /// Messages stored in `stream` (from the monitoring endpoint).
    fn messages(&self, stream: &str) -> u64 {
        let body = http_get(&self.monitor, "/jsz?streams=true");
        let v: Value = serde_json::from_str(&body).unwrap();
        let mut n = 0;
        for acc in v["account_details"].as_array().into_iter().flatten() {
            for s in acc["stream_detail"].as_array().into_iter().flatten() {
                if s["name"] == stream {
                    n += s["state"]["messages"].as_u64().unwrap_or(0);
                }
            }
        }
        n
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn http_get(addr: &str, path: &str) -> String {
    let mut s = std::net::TcpStream::connect(addr).unwrap();
    write!(
        s,
        "GET {path} HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n"
    )
    .unwrap();
    let mut text = String::new();
    s.read_to_string(&mut text).unwrap();
    text.split_once("\r\n\r\n")
        .map(|(_, b)| b.to_owned())
        .unwrap_or_default()
}

fn wait_for(what: &str, mut done: impl FnMut() -> bool) {
    let until = Instant::now() + Duration::from_secs(180);
    while !done() {
        assert!(Instant::now() < until, "timed out waiting for {what}");
        std::thread::sleep(Duration::from_millis(100));
    }
}

struct Worker {
    child: Child,
    log: Arc<Mutex<Vec<Value>>>,
}

fn worker(server: &Server, member: &str, dir: &Path) -> Worker {
    std::fs::create_dir_all(dir).unwrap();
    let mut child = Command::new(BIN)
        .args([
            "watch",
            "--nats",
            &server.url,
            "--member",
            member,
            "--partitions",
            "4",
            "--window",
            "ignore",
        ])
        .args([
            "--metrics",
            "127.0.0.1:0",
            "--nats-alerts",
            &server.url,
            "--alerts",
        ])
        .arg(dir.join("alerts.jsonl"))
        .arg("--state-dir")
        .arg(dir)
        .current_dir(root())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let log = Arc::new(Mutex::new(Vec::new()));
    let (err, sink) = (child.stderr.take().unwrap(), log.clone());
    std::thread::spawn(move || {
        for line in BufReader::new(err).lines().map_while(Result::ok) {
            if let Ok(v) = serde_json::from_str::<Value>(&line) {
                sink.lock().unwrap().push(v);
            }
        }
    });
    Worker { child, log }
}

impl Worker {
    fn metrics(&self) -> Option<String> {
        let log = self.log.lock().unwrap();
        let v = log.iter().find(|v| v["msg"] == "metrics")?;
        Some(
            v["address"]
                .as_str()?
                .trim_start_matches("http://")
                .trim_end_matches("/metrics")
                .to_owned(),
        )
    }

    fn evaluated(&self) -> u64 {
        let Some(m) = self.metrics() else { return 0 };
        http_get(&m, "/metrics")
            .lines()
            .find_map(|l| {
                l.strip_prefix("portent_events_evaluated_total ")?
                    .parse()
                    .ok()
            })
            .unwrap_or(0)
    }

    fn stop(mut self) {
        Command::new("kill")
            .args(["-TERM", &self.child.id().to_string()])
            .status()
            .unwrap();
        assert_eq!(self.child.wait().unwrap().code(), Some(0));
    }

    fn kill9(mut self) {
        self.child.kill().unwrap();
        self.child.wait().unwrap();
    }
}

fn replay(server: &Server, input: &Path) {
    let out = Command::new(BIN)
        .arg("replay")
        .arg(input)
        .args(["--to", &server.url, "--partitions", "4"])
        .output()
        .unwrap();
    assert!(
        out.status.code().unwrap() <= 3,
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
}

fn hunt(input: &Path) -> Vec<String> {
    let out = Command::new(BIN)
        .args(["hunt", "-q", "--format", "jsonl"])
        .arg(input)
        .output()
        .unwrap();
    comparable(
        String::from_utf8_lossy(&out.stdout)
            .lines()
            .map(|l| serde_json::from_str(l).unwrap()),
    )
}

fn comparable(rows: impl Iterator<Item = Value>) -> Vec<String> {
    let mut out: Vec<String> = rows
        .filter(|r| r.get("rule_id").is_some())
        .map(|mut r| {
            let o = r.as_object_mut().unwrap();
            for k in ["source_file", "source", "alert_id", "schema_version"] {
                o.remove(k);
            }
            o.retain(|_, v| !v.is_null());
            let sorted: std::collections::BTreeMap<_, _> = o.iter().collect();
            serde_json::to_string(&sorted).unwrap()
        })
        .collect();
    out.sort();
    out
}

fn alerts(dirs: &[&Path]) -> Vec<Value> {
    dirs.iter()
        .flat_map(|d| {
            std::fs::read_to_string(d.join("alerts.jsonl"))
                .unwrap_or_default()
                .lines()
                .map(|l| serde_json::from_str(l).unwrap())
                .collect::<Vec<Value>>()
        })
        .collect()
}

/// Waits until the workers have written `n` alerts and nothing more comes.
fn settle(dirs: &[&Path], n: usize) {
    wait_for("the alerts", || alerts(dirs).len() >= n);
    std::thread::sleep(Duration::from_secs(3));
}

fn check(server: &Server, dirs: &[&Path], want: &[String]) {
    let got = alerts(dirs);
    let ids: std::collections::HashSet<&str> = got
        .iter()
        .map(|a| a["alert_id"].as_str().unwrap())
        .collect();
    assert_eq!(ids.len(), got.len(), "an alert was written twice");
    let got = comparable(got.into_iter());
    assert_eq!(got.len(), want.len(), "alert count");
    if got != want {
        let parse = |s: &String| serde_json::from_str::<serde_json::Map<String, Value>>(s).unwrap();
        let extra: Vec<_> = got
            .iter()
            .filter(|g| !want.contains(g))
            .map(parse)
            .collect();
        let missing: Vec<_> = want
            .iter()
            .filter(|w| !got.contains(w))
            .map(parse)
            .collect();
        let mut diffs = Vec::new();
        for m in missing.iter().take(3) {
            let twin = extra
                .iter()
                .find(|e| e["record_id"] == m["record_id"] && e["time"] == m["time"]);
            let keys: Vec<String> = m
                .iter()
                .filter(|(k, v)| twin.and_then(|t| t.get(*k)) != Some(*v))
                .map(|(k, v)| {
                    format!(
                        "{k}: want {} got {:?}",
                        v.to_string().chars().take(60).collect::<String>(),
                        twin.and_then(|t| t.get(k)).map(|x| x
                            .to_string()
                            .chars()
                            .take(60)
                            .collect::<String>())
                    )
                })
                .collect();
            diffs.push(format!("{} {}: {keys:?}", m["record_id"], m["time"]));
        }
        panic!(
            "the workers' alerts differ from the hunt's: {} missing, {} extra; {diffs:?}",
            missing.len(),
            extra.len()
        );
    }
    assert_eq!(
        server.messages("PORTENT_ALERTS"),
        want.len() as u64,
        "alerts published to NATS, after deduplication"
    );
}

#[test]
fn two_workers_split_a_stream_and_alert_exactly_once() {
    let Some(bin) = nats_server() else { return };
    let server = Server::start(&bin);
    let ex = root().join("examples");
    replay(&server, &ex);
    let want = hunt(&ex);
    let tmp = tempfile::tempdir().unwrap();
    let (d0, d1) = (tmp.path().join("w0"), tmp.path().join("w1"));
    let (w0, w1) = (worker(&server, "0/2", &d0), worker(&server, "1/2", &d1));
    settle(&[&d0, &d1], want.len());
    w0.stop();
    w1.stop();
    check(&server, &[&d0, &d1], &want);
    // Both did some of the work: the stream was split.
    assert!(!alerts(&[&d0]).is_empty() && !alerts(&[&d1]).is_empty());
}

#[test]
fn a_worker_killed_mid_stream_is_replaced_without_loss_or_duplicates() {
    let Some(bin) = nats_server() else { return };
    let Some(dir) = corpus() else { return };
    let server = Server::start(&bin);
    replay(&server, &dir);
    let want = hunt(&dir);
    let tmp = tempfile::tempdir().unwrap();
    let (d0, d1) = (tmp.path().join("w0"), tmp.path().join("w1"));
    let (w0, w1) = (worker(&server, "0/2", &d0), worker(&server, "1/2", &d1));
    wait_for("worker 0 under way", || w0.evaluated() > 5_000);
    w0.kill9();
    let w0 = worker(&server, "0/2", &d0);
    settle(&[&d0, &d1], want.len());
    w0.stop();
    w1.stop();
    check(&server, &[&d0, &d1], &want);
    let _ = PathBuf::new();
}
