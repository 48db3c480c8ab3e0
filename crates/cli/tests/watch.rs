//! End-to-end tests of `portent watch` with real sockets on loopback and real
//! files: a stream gives the alerts `portent hunt` gives on the same events;
//! a followed file survives restarts, kill -9 and rotation with nothing lost
//! or repeated; rules reload on SIGHUP; metrics and health answer.

mod common;
use common::stream::{
    assert_same, comparable, http_get, hunt, metric, read_jsonl, replay, sent, wait_for, Watcher,
    BIN,
};
use common::{corpus, root};

use serde_json::Value;
use std::io::{BufRead, BufReader, Read, Write};
use std::path::Path;
use std::process::{Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::Duration;

/// Writes rule `id` (its AQL and its metadata) into the folder `dir`.
fn write_rule(dir: &Path, id: &str, aql: &str) {
    std::fs::create_dir_all(dir).unwrap();
    std::fs::write(dir.join(format!("{id}.aql")), aql).unwrap();
    let meta =
        format!("id = \"{id}\"\ntitle = \"{id}\"\nquery = \"{id}.aql\"\nseverity = \"low\"\n");
    std::fs::write(dir.join(format!("{id}.toml")), meta).unwrap();
}

fn tmp() -> tempfile::TempDir {
    tempfile::tempdir().unwrap()
}

/// Replays `inputs` through syslog TCP into a watcher and checks its alerts
/// are exactly the hunt's.
fn stream_equals_hunt(inputs: &[&Path], framing: &str) -> usize {
    let dir = tmp();
    let alerts = dir.path().join("alerts.jsonl");
    let state = dir.path().join("state");
    let w = Watcher::start(
        &state,
        &[
            "--listen-tcp",
            "127.0.0.1:0",
            "--metrics",
            "off",
            "--alerts",
            alerts.to_str().unwrap(),
        ],
        Stdio::null(),
    );
    let addr = w.tcp_addr();
    replay(inputs, &format!("tcp://{addr}"), &["--framing", framing]);
    // SIGTERM drains: what the socket holds is read and evaluated first.
    assert_eq!(w.stop(), 0);
    let got = comparable(read_jsonl(&alerts).into_iter());
    let want = comparable(hunt(inputs).into_iter());
    assert!(!want.is_empty());
    assert_same(&got, &want, "stream vs hunt");
    let ids: std::collections::HashSet<String> = read_jsonl(&alerts)
        .iter()
        .map(|a| a["alert_id"].as_str().unwrap().to_owned())
        .collect();
    assert_eq!(ids.len(), got.len(), "alert ids are unique");
    got.len()
}

#[test]
fn syslog_tcp_stream_gives_the_hunts_alerts_on_the_shipped_examples() {
    let ex = root().join("examples");
    for framing in ["octet", "newline"] {
        stream_equals_hunt(&[&ex], framing);
    }
}

#[test]
#[ignore = "needs the corpus (../shared/corpus or PORTENT_CORPUS)"]
fn replaying_the_corpus_over_tcp_gives_exactly_the_hunts_alerts() {
    let Some(dir) = corpus() else { return };
    let n = stream_equals_hunt(&[&dir], "octet");
    eprintln!("corpus over syslog TCP: {n} alerts, identical to portent hunt");
}

#[test]
fn stdin_and_udp_sources_and_a_leef_forwarder() {
    let ex = root().join("examples/t1043-events.jsonl");
    let want = comparable(hunt(&[&ex]).into_iter());
    // stdin: the watch ends with its input.
    let dir = tmp();
    let alerts = dir.path().join("a.jsonl");
    let mut w = Watcher::start(
        dir.path(),
        &[
            "--stdin",
            "--metrics",
            "off",
            "--alerts",
            alerts.to_str().unwrap(),
        ],
        Stdio::piped(),
    );
    let mut input = w.child.stdin.take().unwrap();
    input.write_all(&std::fs::read(&ex).unwrap()).unwrap();
    input.write_all(b"this line is not an event\n").unwrap();
    drop(input);
    assert_eq!(w.child.wait().unwrap().code(), Some(0));
    assert_same(
        &comparable(read_jsonl(&alerts).into_iter()),
        &want,
        "stdin vs hunt",
    );
    let bad = w.logged("unreadable input");
    let lines = std::fs::read_to_string(&ex).unwrap().lines().count();
    assert!(
        bad["at"]
            .as_str()
            .unwrap()
            .starts_with(&format!("stdin, line {}", lines + 1)),
        "{bad}"
    );

    // UDP in, LEEF out over UDP to a collector we hold.
    let collector = std::net::UdpSocket::bind("127.0.0.1:0").unwrap();
    collector
        .set_read_timeout(Some(Duration::from_secs(30)))
        .unwrap();
    let to = collector.local_addr().unwrap().to_string();
    let w = Watcher::start(
        dir.path(),
        &[
            "--listen-udp",
            "127.0.0.1:0",
            "--metrics",
            "127.0.0.1:0",
            "--leef-to",
            &to,
        ],
        Stdio::null(),
    );
    let addr = w.tcp_addr();
    let metrics = w.metrics_url();
    let udp_sent = sent(&replay(
        &[&ex],
        &format!("udp://{addr}"),
        &["--rate", "2000"],
    ));
    let mut leef = Vec::new();
    let mut buf = [0u8; 65536];
    while leef.len() < want.len() {
        let n = collector.recv(&mut buf).unwrap();
        leef.push(portent_io::leef::parse_line(std::str::from_utf8(&buf[..n]).unwrap()).unwrap());
    }
    let rules: std::collections::BTreeSet<String> = want
        .iter()
        .map(|a| {
            serde_json::from_str::<Value>(a).unwrap()["rule_id"]
                .as_str()
                .unwrap()
                .to_owned()
        })
        .collect();
    assert!(
        leef.iter()
            .all(|l| l.vendor == "Portent" && rules.contains(&l.event_id)),
        "{leef:?}"
    );
    wait_for("every datagram", || {
        metric(&metrics, "portent_events_evaluated_total") == udp_sent
    });
    assert_eq!(metric(&metrics, "portent_dropped_total"), 0);
    assert_eq!(w.stop(), 0);
}

/// Lines of the shipped examples, made distinct, `n` times over.
fn event_lines(n: usize) -> Vec<String> {
    let base: Vec<String> = std::fs::read_to_string(root().join("examples/t1043-events.jsonl"))
        .unwrap()
        .lines()
        .map(str::to_owned)
        .collect();
    (0..n).flat_map(|_| base.clone()).collect()
}

fn append(path: &Path, lines: &[String]) {
    let mut f = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(path)
        .unwrap();
    for l in lines {
        writeln!(f, "{l}").unwrap();
    }
}

fn checkpoint_offset(state: &Path) -> u64 {
    let Ok(text) = std::fs::read_to_string(state.join("checkpoints.json")) else {
        return 0;
    };
    let v: Value = serde_json::from_str(&text).unwrap();
    v.as_object()
        .unwrap()
        .values()
        .map(|p| p["offset"].as_u64().unwrap())
        .next()
        .unwrap_or(0)
}

#[test]
fn a_followed_file_survives_restart_kill_9_and_rotation_without_loss_or_duplicates() {
    let dir = tmp();
    let log = dir.path().join("events.jsonl");
    let state = dir.path().join("state");
    let alerts = dir.path().join("alerts.jsonl");
    let start = || {
        let args = [
            "--follow",
            log.to_str().unwrap(),
            "--metrics",
            "127.0.0.1:0",
        ];
        let alerts = ["--alerts", alerts.to_str().unwrap()];
        Watcher::start(&state, &[&args[..], &alerts[..]].concat(), Stdio::null())
    };
    let lines = event_lines(3000);
    let (first, rest) = lines.split_at(lines.len() / 3);
    append(&log, first);
    let size = |p: &Path| std::fs::metadata(p).unwrap().len();

    // 1. Read the first third, stop cleanly.
    let w = start();
    wait_for("the first third", || {
        checkpoint_offset(&state) == size(&log)
    });
    assert_eq!(w.stop(), 0);

    // 2. More lines arrive, written as a live log is; kill -9 it in the middle of them.
    let w = start();
    let m = w.metrics_url();
    let writer = {
        let (log, rest) = (log.clone(), rest.to_vec());
        std::thread::spawn(move || {
            for chunk in rest.chunks(300) {
                append(&log, chunk);
                std::thread::sleep(Duration::from_millis(10));
            }
        })
    };
    wait_for("part of the rest", || {
        metric(&m, "portent_events_evaluated_total") > 1000
    });
    w.kill9();
    writer.join().unwrap();
    let mid = checkpoint_offset(&state);
    assert!(
        mid < size(&log),
        "killed before the end ({mid} of {})",
        size(&log)
    );

    // 3. Rotation while down: the file is renamed and a new one started.
    let rotated = dir.path().join("events.jsonl.1");
    std::fs::rename(&log, &rotated).unwrap();
    let fresh = event_lines(50);
    append(&log, &fresh[..fresh.len() / 2]);
    let caught_up = || {
        std::fs::read_to_string(state.join("checkpoints.json"))
            .is_ok_and(|t| t.contains("events.jsonl\""))
            && checkpoint_offset(&state) == size(&log)
    };
    let w = start();
    wait_for("the rotated file and the new one", caught_up);
    // 4. Rotation while running, the old file's last line without its newline.
    let (last, more) = fresh[fresh.len() / 2..].split_last().unwrap();
    std::fs::OpenOptions::new()
        .append(true)
        .open(&log)
        .unwrap()
        .write_all(last.as_bytes())
        .unwrap();
    std::thread::sleep(Duration::from_millis(300));
    std::fs::rename(&log, dir.path().join("events.jsonl.2")).unwrap();
    append(&log, more);
    wait_for("the second rotation", caught_up);
    assert_eq!(w.stop(), 0);

    let got = read_jsonl(&alerts);
    let ids: std::collections::HashSet<&str> = got
        .iter()
        .map(|a| a["alert_id"].as_str().unwrap())
        .collect();
    assert_eq!(ids.len(), got.len(), "an alert was written twice");
    let all = [rotated.as_path(), &dir.path().join("events.jsonl.2"), &log];
    let want = comparable(hunt(&all).into_iter());
    assert_same(&comparable(got.into_iter()), &want, "followed file vs hunt");
}

#[test]
fn sighup_reloads_rules_and_metrics_and_health_answer() {
    let dir = tmp();
    let rules = dir.path().join("rules");
    let rule = |id: &str, port: u16| {
        let aql = format!("SELECT destinationport FROM events WHERE destinationport = {port}");
        write_rule(&rules, id, &aql)
    };
    rule("port-443", 443);
    let alerts = dir.path().join("a.jsonl");
    let w = Watcher::start(
        dir.path(),
        &[
            "--listen-tcp",
            "127.0.0.1:0",
            "--rules",
            rules.to_str().unwrap(),
            "--metrics",
            "127.0.0.1:0",
            "--alerts",
            alerts.to_str().unwrap(),
        ],
        Stdio::null(),
    );
    let (addr, m) = (w.tcp_addr(), w.metrics_url());
    let send = |port: u16| {
        let mut s = std::net::TcpStream::connect(&addr).unwrap();
        writeln!(s, r#"<13>1 - - - - - - {{"EventID":3,"Channel":"Microsoft-Windows-Sysmon/Operational","Hostname":"H","DestinationPort":"{port}"}}"#).unwrap();
    };
    send(443);
    send(80);
    wait_for("two events", || {
        metric(&m, "portent_events_evaluated_total") == 2
    });
    assert_eq!(metric(&m, "portent_alerts_total"), 1);
    rule("port-80", 80);
    w.signal("-HUP");
    wait_for("the reload", || metric(&m, "portent_reloads_total") == 1);
    send(80);
    wait_for("the third event", || {
        metric(&m, "portent_events_evaluated_total") == 3
    });
    assert_eq!(metric(&m, "portent_alerts_total"), 2);
    // A broken rule keeps the old rules running.
    std::fs::write(rules.join("port-80.aql"), "SELECT FROM WHERE").unwrap();
    w.signal("-HUP");
    wait_for("the failed reload", || {
        metric(&m, "portent_reload_failures_total") == 1
    });
    send(80);
    wait_for("the fourth event", || {
        metric(&m, "portent_events_evaluated_total") == 4
    });
    assert_eq!(metric(&m, "portent_alerts_total"), 3);
    let (status, body) = http_get(&m, "/healthz");
    assert_eq!(
        (status.as_str(), body.as_str()),
        ("HTTP/1.1 200 OK", "ok\n")
    );
    let (_, text) = http_get(&m, "/metrics");
    for name in [
        "portent_queue_depth",
        "portent_alert_latency_seconds_bucket",
        "portent_messages_received_total{source=\"tcp:127.0.0.1:0\"} 4",
    ] {
        assert!(text.contains(name), "{name} missing from:\n{text}");
    }
    assert_eq!(w.stop(), 0);
    let rules_seen: Vec<String> = read_jsonl(&alerts)
        .iter()
        .map(|a| a["rule_id"].as_str().unwrap().to_owned())
        .collect();
    assert_eq!(rules_seen, ["port-443", "port-80", "port-80"]);
}

#[test]
fn netflow_v5_datagrams_feed_the_flows_table() {
    let dir = tmp();
    let rules = dir.path().join("rules");
    let aql = "SELECT sourceip, destinationip, destinationport, sourcebytes FROM flows WHERE destinationport = 443";
    write_rule(&rules, "tls-flow", aql);
    let alerts = dir.path().join("a.jsonl");
    let w = Watcher::start(
        dir.path(),
        &[
            "--netflow",
            "127.0.0.1:0",
            "--rules",
            rules.to_str().unwrap(),
            "--metrics",
            "127.0.0.1:0",
            "--alerts",
            alerts.to_str().unwrap(),
        ],
        Stdio::null(),
    );
    let (addr, m) = (w.tcp_addr(), w.metrics_url());
    // One v5 packet, two records: to 443 and to 80.
    let mut p = vec![0, 5, 0, 2];
    p.extend(60_000u32.to_be_bytes());
    p.extend(1_700_000_000u32.to_be_bytes());
    p.extend([0; 12]);
    for port in [443u16, 80] {
        let mut r = vec![10, 0, 0, 5, 93, 184, 216, 34, 0, 0, 0, 0, 0, 1, 0, 2];
        r.extend(3u32.to_be_bytes());
        r.extend(1500u32.to_be_bytes());
        r.extend(50_000u32.to_be_bytes());
        r.extend(59_000u32.to_be_bytes());
        r.extend(51_000u16.to_be_bytes());
        r.extend(port.to_be_bytes());
        r.extend([0, 0x18, 6, 0, 0, 0, 0, 0, 24, 24, 0, 0]);
        p.extend(r);
    }
    let s = std::net::UdpSocket::bind("127.0.0.1:0").unwrap();
    s.send_to(&p, &addr).unwrap();
    s.send_to(b"\x00\x07 not a flow packet", &addr).unwrap();
    wait_for("both flows", || {
        metric(&m, "portent_events_evaluated_total") == 2
    });
    wait_for("the bad packet counted", || {
        metric(&m, "portent_dropped_total") == 1
    });
    assert_eq!(w.stop(), 0);
    let rows = read_jsonl(&alerts);
    assert_eq!(rows.len(), 1, "{rows:?}");
    assert_eq!(rows[0]["destinationip"], "93.184.216.34");
    assert_eq!(rows[0]["sourcebytes"], 1500);
}

/// An HTTP endpoint that takes `delay` to answer each POST; returns its URL
/// and the number of requests answered.
fn slow_webhook(delay: Duration) -> (String, Arc<Mutex<u64>>) {
    let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!("http://{}/hook", l.local_addr().unwrap());
    let count = Arc::new(Mutex::new(0));
    let seen = count.clone();
    std::thread::spawn(move || {
        for conn in l.incoming().flatten() {
            let mut r = BufReader::new(&conn);
            let mut len = 0;
            loop {
                let mut h = String::new();
                if r.read_line(&mut h).unwrap_or(0) == 0 {
                    break;
                }
                if let Some(v) = h.to_ascii_lowercase().strip_prefix("content-length:") {
                    len = v.trim().parse().unwrap_or(0);
                }
                if h.trim().is_empty() {
                    break;
                }
            }
            let mut body = vec![0; len];
            let _ = r.read_exact(&mut body);
            std::thread::sleep(delay);
            let _ = (&conn)
                .write_all(b"HTTP/1.1 200 OK\r\nContent-Length: 0\r\nConnection: close\r\n\r\n");
            *seen.lock().unwrap() += 1;
        }
    });
    (url, count)
}

#[test]
fn a_slow_sink_pushes_back_on_tcp_and_udp_losses_are_all_counted() {
    let ex = root().join("examples");
    let dir = tmp();
    // TCP: the sender is slowed down, nothing is lost, every alert delivered.
    let (url, delivered) = slow_webhook(Duration::from_millis(2));
    let w = Watcher::start(
        dir.path(),
        &[
            "--listen-tcp",
            "127.0.0.1:0",
            "--queue",
            "1",
            "--webhook",
            &url,
            "--metrics",
            "127.0.0.1:0",
        ],
        Stdio::null(),
    );
    let (addr, m) = (w.tcp_addr(), w.metrics_url());
    let tcp_sent = sent(&replay(
        &[&ex],
        &format!("tcp://{addr}"),
        &["--repeat", "40"],
    ));
    wait_for("every event", || {
        metric(&m, "portent_events_evaluated_total") == tcp_sent
    });
    assert_eq!(metric(&m, "portent_dropped_total"), 0);
    // Every pass alerts as the hunt does. (Events that wait for a process
    // creation alert up to 2 s later.)
    let alerts = comparable(hunt(&[&ex]).into_iter()).len() as u64 * 40;
    wait_for("every alert", || {
        metric(&m, "portent_alerts_total") == alerts
    });
    wait_for("every webhook call", || {
        *delivered.lock().unwrap() == alerts
    });
    assert_eq!(w.stop(), 0);

    // UDP: the sender cannot be slowed; what does not fit is dropped, and
    // every datagram is either evaluated or counted as dropped.
    let (url, _) = slow_webhook(Duration::from_millis(20));
    let w = Watcher::start(
        dir.path(),
        &[
            "--listen-udp",
            "127.0.0.1:0",
            "--queue",
            "1",
            "--webhook",
            &url,
            "--metrics",
            "127.0.0.1:0",
        ],
        Stdio::null(),
    );
    let (addr, m) = (w.tcp_addr(), w.metrics_url());
    let sent = sent(&replay(
        &[&ex],
        &format!("udp://{addr}"),
        &["--repeat", "200"],
    ));
    let accounted =
        || metric(&m, "portent_events_evaluated_total") + metric(&m, "portent_dropped_total");
    wait_for("every datagram evaluated or counted", || {
        accounted() == sent
    });
    // Where the loss happens (the full queue, or the kernel's receive
    // buffer before it) depends on how busy the machine is; that it happens
    // and is counted does not.
    let dropped = {
        let (_, body) = http_get(&m, "/metrics");
        body.lines()
            .filter(|l| {
                l.starts_with("portent_dropped_total{")
                    && (l.contains("queue full") || l.contains("kernel"))
            })
            .filter_map(|l| l.rsplit(' ').next()?.parse::<u64>().ok())
            .sum::<u64>()
    };
    assert!(
        dropped > 0,
        "a slow sink behind a queue of one batch must have cost some datagrams"
    );
    assert_eq!(w.stop(), 0);
}

#[test]
fn grouped_rules_report_their_groups() {
    let dir = tmp();
    let rules = dir.path().join("rules");
    let aql = r#"SELECT "Process Name" AS process, COUNT(*) AS connections FROM events WHERE destinationport IS NOT NULL GROUP BY "Process Name" HAVING COUNT(*) >= 2"#;
    write_rule(&rules, "by-process", aql);
    let alerts = dir.path().join("a.jsonl");
    let out = Command::new(BIN)
        .args([
            "watch",
            "--stdin",
            "--rules",
            rules.to_str().unwrap(),
            "--window",
            "ignore",
            "--metrics",
            "off",
        ])
        .args([
            "--alerts",
            alerts.to_str().unwrap(),
            "--state-dir",
            dir.path().to_str().unwrap(),
        ])
        .stdin(std::fs::File::open(root().join("examples/t1043-events.jsonl")).unwrap())
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let rows = read_jsonl(&alerts);
    assert_eq!(rows.len(), 1, "{rows:?}");
    assert_eq!(rows[0]["connections"], 3);
    assert!(rows[0]["process"]
        .as_str()
        .unwrap()
        .ends_with("powershell.exe"));
}

#[test]
fn bad_configuration_is_refused_before_anything_starts() {
    let (code, _, err) = common::portent(&["watch", "--window", "ignore"]);
    assert_eq!(code, 2);
    assert!(err.contains("no sources"), "{err}");
    let dir = tmp();
    let cfg = dir.path().join("w.toml");
    std::fs::write(&cfg, "[[source]]\ntype = \"file\"\npaht = \"x\"\n").unwrap();
    let (code, _, err) = common::portent(&["watch", "--config", cfg.to_str().unwrap()]);
    assert_eq!(code, 2);
    assert!(err.contains("w.toml") && err.contains("paht"), "{err}");
}

/// A reload (SIGHUP) reads the reference data again: a port added to the
/// set makes the next event on it an alert.
#[test]
fn sighup_reloads_reference_data() {
    let dir = tmp();
    let rules = dir.path().join("rules");
    write_rule(
        &rules,
        "listed-port",
        "SELECT destinationport FROM events WHERE REFERENCESETCONTAINS('watched ports', destinationport)",
    );
    let refs = dir.path().join("refs");
    std::fs::create_dir_all(&refs).unwrap();
    let set = refs.join("watched ports.csv");
    std::fs::write(&set, "# element_type=PORT\nvalue\n4444\n").unwrap();
    let alerts = dir.path().join("a.jsonl");
    let w = Watcher::start(
        dir.path(),
        &[
            "--listen-tcp",
            "127.0.0.1:0",
            "--rules",
            rules.to_str().unwrap(),
            "--reference",
            refs.to_str().unwrap(),
            "--metrics",
            "127.0.0.1:0",
            "--alerts",
            alerts.to_str().unwrap(),
        ],
        Stdio::null(),
    );
    let (addr, m) = (w.tcp_addr(), w.metrics_url());
    let send = |port: u16| {
        let mut s = std::net::TcpStream::connect(&addr).unwrap();
        writeln!(s, r#"<13>1 - - - - - - {{"EventID":3,"Channel":"Microsoft-Windows-Sysmon/Operational","Hostname":"H","DestinationPort":"{port}"}}"#).unwrap();
    };
    send(4444);
    send(8443);
    wait_for("two events", || {
        metric(&m, "portent_events_evaluated_total") == 2
    });
    assert_eq!(metric(&m, "portent_alerts_total"), 1);
    std::fs::write(&set, "# element_type=PORT\nvalue\n4444\n8443\n").unwrap();
    w.signal("-HUP");
    wait_for("the reload", || metric(&m, "portent_reloads_total") == 1);
    send(8443);
    wait_for("the third event", || {
        metric(&m, "portent_events_evaluated_total") == 3
    });
    assert_eq!(metric(&m, "portent_alerts_total"), 2);
    assert_eq!(w.stop(), 0);
    let ports: Vec<i64> = read_jsonl(&alerts)
        .iter()
        .map(|a| a["destinationport"].as_i64().unwrap())
        .collect();
    assert_eq!(ports, [4444, 8443]);
}
