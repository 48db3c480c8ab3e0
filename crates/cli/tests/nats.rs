//! `portent watch --nats` against a real nats-server (JetStream) on loopback:
//! two workers split a stream and together alert exactly once per matching
//! event, also when one is killed mid-stream and replaced. The test starts its
//! own server; without `nats-server` it says it was skipped (CI installs it
//! and fails without it).

mod common;
use common::stream::{assert_same, comparable, http_get, hunt, metric, replay, wait_for, Watcher};
use common::{corpus, root};

use serde_json::Value;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::Duration;

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

struct Server {
    child: Child,
    url: String,
    monitor: String,
    _dir: tempfile::TempDir,
}

impl Server {
    /// Starts a server on ports it picks itself (`-1`), read back from its
    /// log. Ports picked by the test and released before the server binds
    /// them can be picked again by a test starting its own server at the
    /// same moment; and the monitor answers before JetStream is up and
    /// clients are let in, so readiness is the server's own "Server is ready".
    fn start(bin: &Path) -> Server {
        let dir = tempfile::tempdir().unwrap();
        let log = dir.path().join("nats.log");
        let mut child = Command::new(bin)
            .args(["-js", "-a", "127.0.0.1", "-p", "-1", "-m", "-1", "-sd"])
            .arg(dir.path())
            // Its log goes to a file of its own, not to /dev/null (a plain
            // file on some machines, where cargo later reads it as a program).
            .arg("-l")
            .arg(&log)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        let mut text = String::new();
        wait_for("nats-server ready", || {
            if let Ok(Some(status)) = child.try_wait() {
                panic!("nats-server exited ({status}) before it was ready:\n{text}");
            }
            text = std::fs::read_to_string(&log).unwrap_or_default();
            text.contains("Server is ready")
        });
        let after = |mark: &str| -> String {
            let at = text
                .find(mark)
                .unwrap_or_else(|| panic!("no {mark:?} in:\n{text}"));
            let rest = &text[at + mark.len()..];
            rest.lines().next().unwrap().trim().to_owned()
        };
        let (client, monitor) = (
            after("Listening for client connections on "),
            after("Starting http monitor on "),
        );
        Server {
            child,
            url: format!("nats://{client}"),
            monitor,
            _dir: dir,
        }
    }

    /// The names of the server's streams, sorted.
    fn streams(&self) -> Vec<String> {
        let (_, body) = http_get(&self.monitor, "/jsz?streams=true");
        let v: Value = serde_json::from_str(&body).unwrap();
        let mut names: Vec<String> = v["account_details"]
            .as_array()
            .into_iter()
            .flatten()
            .flat_map(|acc| acc["stream_detail"].as_array().cloned().unwrap_or_default())
            .filter_map(|s| s["name"].as_str().map(str::to_owned))
            .collect();
        names.sort();
        names
    }

    /// Messages stored in `stream` (from the monitoring endpoint).
    fn messages(&self, stream: &str) -> u64 {
        let (_, body) = http_get(&self.monitor, "/jsz?streams=true");
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

/// A worker: member `member` of the group over 4 partitions, alerts to `dir`
/// and to the server's alert stream.
fn worker(server: &Server, member: &str, dir: &Path) -> Watcher {
    std::fs::create_dir_all(dir).unwrap();
    let alerts = dir.join("alerts.jsonl");
    let partitions = PARTITIONS.to_string();
    let args = [
        "--nats",
        &server.url,
        "--member",
        member,
        "--partitions",
        &partitions,
    ];
    let sinks = [
        "--metrics",
        "127.0.0.1:0",
        "--nats-alerts",
        &server.url,
        "--alerts",
        alerts.to_str().unwrap(),
    ];
    Watcher::start(dir, &[&args[..], &sinks[..]].concat(), Stdio::null())
}

fn evaluated(w: &Watcher) -> u64 {
    metric(&w.metrics_url(), "portent_events_evaluated_total")
}

/// Publishes `input` to the server's event stream over 4 partitions.
fn publish(server: &Server, input: &Path) {
    replay(
        &[input],
        &server.url,
        &["--partitions", &PARTITIONS.to_string()],
    );
}

const PARTITIONS: u32 = 4;

/// The hunt's alerts over `input`, comparable with the workers'.
fn hunt_alerts(input: &Path) -> Vec<String> {
    comparable(hunt(&[input]).into_iter())
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
    assert_same(
        &comparable(got.into_iter()),
        want,
        "the workers' alerts vs the hunt's",
    );
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
    publish(&server, &ex);
    let want = hunt_alerts(&ex);
    let tmp = tempfile::tempdir().unwrap();
    let (d0, d1) = (tmp.path().join("w0"), tmp.path().join("w1"));
    let (w0, w1) = (worker(&server, "0/2", &d0), worker(&server, "1/2", &d1));
    settle(&[&d0, &d1], want.len());
    assert_eq!(w0.stop(), 0);
    assert_eq!(w1.stop(), 0);
    check(&server, &[&d0, &d1], &want);
    // Both did some of the work: the stream was split.
    assert!(!alerts(&[&d0]).is_empty() && !alerts(&[&d1]).is_empty());
}

/// Workers of a group start together (a deployment's restart) before
/// anything has made the event or alert streams. When two make a stream at
/// once, nats-server answers the second with "subjects overlap with an
/// existing stream" (seen in CI: a worker exited at start and its partitions
/// were never read). Each must find the stream the other made instead.
#[test]
fn streams_made_by_many_at_once_are_found_not_refused() {
    use portent_serve::nats::{AlertSink, Publisher};
    let Some(bin) = nats_server() else { return };
    for _ in 0..5 {
        let server = Server::start(&bin);
        let n = 24;
        let gate = std::sync::Barrier::new(2 * n);
        let failures: Vec<String> = std::thread::scope(|s| {
            let mut jobs = Vec::new();
            for _ in 0..n {
                jobs.push(s.spawn(|| {
                    gate.wait();
                    AlertSink::connect(&server.url, "portent.alerts").err()
                }));
                jobs.push(s.spawn(|| {
                    gate.wait();
                    Publisher::connect(&server.url, "PORTENT_EVENTS", PARTITIONS).err()
                }));
            }
            jobs.into_iter()
                .filter_map(|j| j.join().unwrap().map(|e| e.to_string()))
                .collect()
        });
        assert!(failures.is_empty(), "{failures:?}");
        let streams = server.streams();
        assert_eq!(streams, ["PORTENT_ALERTS", "PORTENT_EVENTS"], "one of each");
    }
}

#[test]
#[ignore = "needs the corpus (../shared/corpus or PORTENT_CORPUS)"]
fn a_worker_killed_mid_stream_is_replaced_without_loss_or_duplicates() {
    let Some(bin) = nats_server() else { return };
    let Some(dir) = corpus() else { return };
    let server = Server::start(&bin);
    publish(&server, &dir);
    let want = hunt_alerts(&dir);
    let tmp = tempfile::tempdir().unwrap();
    let (d0, d1) = (tmp.path().join("w0"), tmp.path().join("w1"));
    let (w0, w1) = (worker(&server, "0/2", &d0), worker(&server, "1/2", &d1));
    wait_for("worker 0 under way", || evaluated(&w0) > 5_000);
    w0.kill9();
    let w0 = worker(&server, "0/2", &d0);
    settle(&[&d0, &d1], want.len());
    assert_eq!(w0.stop(), 0);
    assert_eq!(w1.stop(), 0);
    check(&server, &[&d0, &d1], &want);
}
