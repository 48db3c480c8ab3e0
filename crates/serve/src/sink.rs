//! Where alerts go: JSON lines to a file or stdout, an HTTP webhook, LEEF over
//! syslog (back into QRadar), or a NATS subject. A sink takes alerts one at a
//! time and makes them durable in `flush`, which the pipeline calls before it
//! acknowledges the events that caused them (a file checkpoint, a JetStream
//! ack): what was acknowledged has been delivered.

use crate::error::Error;
use crate::metrics::{add, Metrics};
use crossbeam_channel::{bounded, Receiver, Sender};
use portent_detect::alert::Alert;
use std::collections::HashSet;
use std::fs::{File, OpenOptions};
use std::io::{Read, Seek, SeekFrom, Write};
use std::net::{TcpStream, UdpSocket};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, Instant};

/// An alert destination.
pub trait Sink: Send {
    /// Its name in metrics and logs.
    fn name(&self) -> &str;
    /// Takes one alert (`line` is its JSON).
    fn send(&mut self, alert: &Alert, line: &str) -> Result<(), Error>;
    /// Makes everything sent so far durable (per the sink's policy).
    fn flush(&mut self) -> Result<(), Error>;
    /// Called about every 100 ms, for time-based policies.
    fn tick(&mut self) -> Result<(), Error> {
        Ok(())
    }
}

/// When the JSON-lines file is synced to disk.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Fsync {
    /// After every alert.
    Always,
    /// Once per batch, before the batch is acknowledged (the default).
    Batch,
    /// At most this often; a crash of the machine (not the process) can lose
    /// the alerts of the last interval.
    Interval(Duration),
    /// Left to the operating system.
    Never,
}

impl Fsync {
    /// `always`, `batch`, `never` or `interval:DURATION` (`interval:1s`).
    pub fn parse(s: &str) -> Result<Fsync, String> {
        match s {
            "always" => Ok(Fsync::Always),
            "batch" => Ok(Fsync::Batch),
            "never" => Ok(Fsync::Never),
            _ => match s.strip_prefix("interval:") {
                Some(d) => crate::config::duration(d).map(Fsync::Interval),
                None => Err(format!(
                    "fsync policy `{s}`: use always, batch, never or interval:DURATION"
                )),
            },
        }
    }
}

/// The alerts file: one JSON object per line, each alert written whole by one
/// `write` to a file opened for appending. Alerts already in the file (found
/// by id when it is opened) are not written again, so reprocessing after a
/// crash or a redelivery does not duplicate them.
pub struct JsonlSink {
    name: String,
    path: PathBuf,
    file: File,
    fsync: Fsync,
    buf: Vec<u8>,
    written: Recent,
    synced_at: Instant,
    dirty: bool,
    /// Alerts not written because the file already had them.
    pub already_written: u64,
}

/// How much of an existing alerts file is read for the ids it holds.
const ID_SCAN_BYTES: u64 = 256 << 20;

/// Alert ids remembered: the newest ones. Reprocessing after a restart or a
/// redelivery covers the events after the last acknowledgement, which are
/// far fewer; an unbounded set would grow for as long as the service runs.
const RECENT_IDS: usize = 200_000;

/// The newest alert ids, in a bounded set.
#[derive(Debug, Default)]
struct Recent {
    set: HashSet<String>,
    order: std::collections::VecDeque<String>,
}

impl Recent {
    /// Adds `id`; false when it was already there.
    fn insert(&mut self, id: String) -> bool {
        if self.set.contains(&id) {
            return false;
        }
        if self.order.len() >= RECENT_IDS {
            if let Some(old) = self.order.pop_front() {
                self.set.remove(&old);
            }
        }
        self.set.insert(id.clone());
        self.order.push_back(id);
        true
    }
}

impl JsonlSink {
    /// Opens (creates) `path` for appending.
    pub fn open(path: &Path, fsync: Fsync) -> Result<JsonlSink, Error> {
        let io = |e: std::io::Error| Error::io(path, e);
        if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
            std::fs::create_dir_all(dir).map_err(io)?;
        }
        let mut file = OpenOptions::new()
            .create(true)
            .append(true)
            .read(true)
            .open(path)
            .map_err(io)?;
        let written = existing_ids(&mut file).map_err(io)?;
        Ok(JsonlSink {
            name: format!("jsonl:{}", path.display()),
            path: path.to_owned(),
            file,
            fsync,
            buf: Vec::new(),
            written,
            synced_at: Instant::now(),
            dirty: false,
            already_written: 0,
        })
    }

    fn write_out(&mut self) -> Result<(), Error> {
        if self.buf.is_empty() {
            return Ok(());
        }
        // One write of whole lines: with O_APPEND no other writer can land
        // inside an alert.
        self.file
            .write_all(&self.buf)
            .map_err(|e| Error::io(&self.path, e))?;
        self.buf.clear();
        self.dirty = true;
        Ok(())
    }

    fn sync(&mut self) -> Result<(), Error> {
        if self.dirty {
            self.file
                .sync_data()
                .map_err(|e| Error::io(&self.path, e))?;
            self.dirty = false;
            self.synced_at = Instant::now();
        }
        Ok(())
    }
}

/// The `alert_id`s of the alerts in the last [`ID_SCAN_BYTES`] of the file.
/// A torn last line (the process died mid-write on a full disk) is ignored.
fn existing_ids(file: &mut File) -> std::io::Result<Recent> {
    let len = file.metadata()?.len();
    let from = len.saturating_sub(ID_SCAN_BYTES);
    file.seek(SeekFrom::Start(from))?;
    let mut text = Vec::new();
    file.take(len - from).read_to_end(&mut text)?;
    let mut ids = Recent::default();
    for line in text.split(|b| *b == b'\n') {
        if let Ok(serde_json::Value::Object(o)) = serde_json::from_slice(line) {
            if let Some(serde_json::Value::String(id)) = o.get("alert_id") {
                ids.insert(id.clone());
            }
        }
    }
    Ok(ids)
}

impl Sink for JsonlSink {
    fn name(&self) -> &str {
        &self.name
    }

    fn send(&mut self, alert: &Alert, line: &str) -> Result<(), Error> {
        if !self.written.insert(alert.id.clone()) {
            self.already_written += 1;
            return Ok(());
        }
        self.buf.extend_from_slice(line.as_bytes());
        self.buf.push(b'\n');
        if self.fsync == Fsync::Always {
            self.write_out()?;
            self.sync()?;
        }
        Ok(())
    }

    fn flush(&mut self) -> Result<(), Error> {
        self.write_out()?;
        if self.fsync == Fsync::Batch {
            self.sync()?;
        }
        Ok(())
    }

    fn tick(&mut self) -> Result<(), Error> {
        if let Fsync::Interval(d) = self.fsync {
            if self.synced_at.elapsed() >= d {
                self.sync()?;
            }
        }
        Ok(())
    }
}

/// JSON lines on standard output.
pub struct StdoutSink {
    out: std::io::BufWriter<std::io::Stdout>,
}

impl StdoutSink {
    /// Standard output.
    pub fn new() -> StdoutSink {
        StdoutSink {
            out: std::io::BufWriter::new(std::io::stdout()),
        }
    }
}

impl Default for StdoutSink {
    fn default() -> Self {
        StdoutSink::new()
    }
}

impl Sink for StdoutSink {
    fn name(&self) -> &str {
        "stdout"
    }
    fn send(&mut self, _: &Alert, line: &str) -> Result<(), Error> {
        writeln!(self.out, "{line}").map_err(|e| Error::io(Path::new("<stdout>"), e))
    }
    fn flush(&mut self) -> Result<(), Error> {
        self.out
            .flush()
            .map_err(|e| Error::io(Path::new("<stdout>"), e))
    }
}

/// How the webhook retries.
#[derive(Clone, Debug)]
pub struct Retry {
    /// Attempts after the first.
    pub retries: u32,
    /// The first wait; each next one doubles, up to `max_backoff`.
    pub backoff: Duration,
    /// The longest wait.
    pub max_backoff: Duration,
    /// Per-request timeout.
    pub timeout: Duration,
}

impl Default for Retry {
    fn default() -> Retry {
        Retry {
            retries: 8,
            backoff: Duration::from_millis(200),
            max_backoff: Duration::from_secs(30),
            timeout: Duration::from_secs(10),
        }
    }
}

/// POSTs each alert as JSON to a URL, from its own thread, retrying
/// connection failures, 429 and 5xx with exponential backoff. An alert it
/// gives up on goes to a dead-letter file beside the state and is counted.
/// The queue is bounded: a slow endpoint slows the pipeline down (and so the
/// sources), it does not make it buffer without limit.
pub struct WebhookSink {
    name: String,
    tx: Option<Sender<(String, String)>>,
    done: Receiver<()>,
    pending: usize,
    worker: Option<std::thread::JoinHandle<()>>,
}

impl WebhookSink {
    /// Starts the sender thread.
    pub fn start(
        url: String,
        retry: Retry,
        dead_letter: PathBuf,
        metrics: Arc<Metrics>,
    ) -> WebhookSink {
        let (tx, rx) = bounded::<(String, String)>(1024);
        let (done_tx, done) = bounded(4096);
        let name = format!("webhook:{url}");
        let sink_name = name.clone();
        let worker = std::thread::Builder::new()
            .name("webhook".into())
            .spawn(move || {
                let agent: ureq::Agent = ureq::Agent::config_builder()
                    .timeout_global(Some(retry.timeout))
                    .http_status_as_error(false)
                    .build()
                    .into();
                for (id, body) in rx {
                    if let Err(why) = post(&agent, &url, &id, &body, &retry) {
                        add(&metrics.sink_errors, (sink_name.clone(), why.clone()), 1);
                        crate::log::warn(
                            "webhook gave up on an alert",
                            &[("alert_id", &id), ("why", &why)],
                        );
                        let _ = append_line(&dead_letter, &body);
                    }
                    if done_tx.send(()).is_err() {
                        break;
                    }
                }
            })
            .ok();
        WebhookSink {
            name,
            tx: Some(tx),
            done,
            pending: 0,
            worker,
        }
    }
}

fn append_line(path: &Path, line: &str) -> std::io::Result<()> {
    let mut f = OpenOptions::new().create(true).append(true).open(path)?;
    f.write_all(format!("{line}\n").as_bytes())
}

fn post(agent: &ureq::Agent, url: &str, id: &str, body: &str, retry: &Retry) -> Result<(), String> {
    let mut wait = retry.backoff;
    let mut last = String::new();
    for attempt in 0..=retry.retries {
        if attempt > 0 {
            std::thread::sleep(wait);
            wait = (wait * 2).min(retry.max_backoff);
        }
        let r = agent
            .post(url)
            .header("Content-Type", "application/json")
            .header("Idempotency-Key", id)
            .send(body);
        match r {
            Ok(resp) => {
                let code = resp.status().as_u16();
                if (200..300).contains(&code) {
                    return Ok(());
                }
                last = format!("HTTP {code}");
                if code != 429 && code < 500 {
                    return Err(last);
                }
            }
            Err(e) => last = format!("{e}"),
        }
    }
    Err(format!("{last} after {} attempts", retry.retries + 1))
}

impl Sink for WebhookSink {
    fn name(&self) -> &str {
        &self.name
    }
    fn send(&mut self, alert: &Alert, line: &str) -> Result<(), Error> {
        let tx = self
            .tx
            .as_ref()
            .ok_or_else(|| Error::sink(&self.name, "stopped"))?;
        tx.send((alert.id.clone(), line.to_owned()))
            .map_err(|_| Error::sink(&self.name, "sender thread ended"))?;
        self.pending += 1;
        Ok(())
    }
    fn flush(&mut self) -> Result<(), Error> {
        while self.pending > 0 {
            self.done
                .recv()
                .map_err(|_| Error::sink(&self.name, "sender thread ended"))?;
            self.pending -= 1;
        }
        Ok(())
    }
}

impl Drop for WebhookSink {
    fn drop(&mut self) {
        self.tx = None;
        if let Some(w) = self.worker.take() {
            let _ = w.join();
        }
    }
}

/// Transport of the LEEF forwarder.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Transport {
    /// One datagram per alert.
    Udp,
    /// Octet-counted frames over TCP (RFC 6587), reconnecting when needed.
    Tcp,
}

/// Alerts as LEEF 2.0 events in RFC 3164 syslog, so they can go back into QRadar
/// (a Universal LEEF log source) or any syslog collector.
pub struct LeefSink {
    name: String,
    addr: String,
    transport: Transport,
    udp: Option<UdpSocket>,
    tcp: Option<TcpStream>,
    host: String,
    buf: Vec<u8>,
}

impl LeefSink {
    /// A forwarder to `addr` (`host:port`).
    pub fn new(addr: &str, transport: Transport) -> LeefSink {
        LeefSink {
            name: format!("leef:{addr}"),
            addr: addr.to_owned(),
            transport,
            udp: None,
            tcp: None,
            host: hostname(),
            buf: Vec::new(),
        }
    }

    fn deliver(&mut self, msg: &[u8]) -> Result<(), Error> {
        let err = |e: std::io::Error| Error::sink(&format!("leef:{}", self.addr), &e.to_string());
        match self.transport {
            Transport::Udp => {
                if self.udp.is_none() {
                    let s = UdpSocket::bind("0.0.0.0:0").map_err(err)?;
                    s.connect(&self.addr).map_err(err)?;
                    self.udp = Some(s);
                }
                if let Some(s) = &self.udp {
                    s.send(msg).map_err(err)?;
                }
            }
            Transport::Tcp => {
                self.buf
                    .extend_from_slice(format!("{} ", msg.len()).as_bytes());
                self.buf.extend_from_slice(msg);
            }
        }
        Ok(())
    }
}

/// This machine's name for the syslog header.
fn hostname() -> String {
    std::fs::read_to_string("/proc/sys/kernel/hostname")
        .map(|h| h.trim().to_owned())
        .ok()
        .filter(|h| !h.is_empty())
        .unwrap_or_else(|| "portent".to_owned())
}

/// QRadar's LEEF severity (0-10) for a rule severity.
fn leef_severity(s: &str) -> u8 {
    match s {
        "critical" => 10,
        "high" => 8,
        "medium" => 5,
        "low" => 3,
        _ => 1,
    }
}

/// One alert as a syslog line carrying LEEF 2.0 with a tab delimiter.
pub fn leef_line(alert: &Alert, host: &str) -> String {
    let text = |k: &str| match alert.get(k) {
        Some(serde_json::Value::String(s)) => s.clone(),
        Some(serde_json::Value::Null) | None => String::new(),
        Some(v) => v.to_string(),
    };
    let clean = |s: &str| s.replace(['\t', '\n', '\r'], " ").replace('|', "\\|");
    let now = chrono::Utc::now();
    let mut s = format!(
        "<{}>{} {host} portent: LEEF:2.0|Portent|Portent|{}|{}|x09|",
        8 + 5, // facility user, notice
        now.format("%b %e %H:%M:%S"),
        env!("CARGO_PKG_VERSION"),
        clean(&alert.rule)
    );
    let mut attrs: Vec<(String, String)> = vec![
        ("sev".into(), leef_severity(&text("severity")).to_string()),
        ("cat".into(), text("attack")),
    ];
    let map = [
        ("sourceip", "src"),
        ("destinationip", "dst"),
        ("destinationport", "dstPort"),
        ("username", "usrName"),
    ];
    for (k, v) in &alert.cells {
        let value = match v {
            serde_json::Value::String(s) => s.clone(),
            serde_json::Value::Null => continue,
            other => other.to_string(),
        };
        let key = map
            .iter()
            .find(|(a, _)| a == k)
            .map_or(k.as_str(), |(_, b)| b);
        attrs.push((key.replace([' ', '=', '\t'], "_"), value));
    }
    if let Some(t) = alert.get("time").and_then(|t| t.as_str()) {
        attrs.push(("devTime".into(), t.to_owned()));
        attrs.push((
            "devTimeFormat".into(),
            "yyyy-MM-dd'T'HH:mm:ss.SSSXXX".into(),
        ));
    }
    let body: Vec<String> = attrs
        .into_iter()
        .map(|(k, v)| format!("{k}={}", v.replace(['\t', '\n', '\r'], " ")))
        .collect();
    s.push_str(&body.join("\t"));
    s
}

impl Sink for LeefSink {
    fn name(&self) -> &str {
        &self.name
    }
    fn send(&mut self, alert: &Alert, _: &str) -> Result<(), Error> {
        let line = leef_line(alert, &self.host);
        self.deliver(line.as_bytes())
    }
    fn flush(&mut self) -> Result<(), Error> {
        if self.buf.is_empty() {
            return Ok(());
        }
        let mut wait = Duration::from_millis(100);
        for attempt in 0..6 {
            if self.tcp.is_none() {
                self.tcp = TcpStream::connect(&self.addr).ok();
            }
            if let Some(s) = &mut self.tcp {
                match s.write_all(&self.buf).and_then(|_| s.flush()) {
                    Ok(()) => {
                        self.buf.clear();
                        return Ok(());
                    }
                    Err(_) => self.tcp = None,
                }
            }
            if attempt < 5 {
                std::thread::sleep(wait);
                wait *= 2;
            }
        }
        Err(Error::sink(&self.name, "cannot reach the collector"))
    }
}

/// Repeats of an alert (same rule, host and non-time columns) within a window
/// are folded: the first goes out at once, the repeats are counted, and when
/// the window closes one more alert says how many there were
/// (`count`, `first_seen`, `last_seen`, `folded: true`).
pub struct Dedup {
    window: Duration,
    open: std::collections::HashMap<u64, Fold>,
    max_open: usize,
}

struct Fold {
    first: Alert,
    opened: Instant,
    count: u64,
    last_time: serde_json::Value,
}

impl Dedup {
    /// Folding within `window` (zero: off), holding at most `max_open` folds.
    pub fn new(window: Duration, max_open: usize) -> Dedup {
        Dedup {
            window,
            open: Default::default(),
            max_open: max_open.max(1),
        }
    }

    /// True when `alert` should go out; false when it was folded into an earlier one.
    pub fn admit(&mut self, alert: &Alert) -> bool {
        if self.window.is_zero() {
            return true;
        }
        if let Some(f) = self.open.get_mut(&alert.key) {
            f.count += 1;
            f.last_time = alert.get("time").cloned().unwrap_or_default();
            return false;
        }
        if self.open.len() >= self.max_open {
            // Full: this alert goes out unfolded rather than wait for room.
            return true;
        }
        self.open.insert(
            alert.key,
            Fold {
                first: alert.clone(),
                opened: Instant::now(),
                count: 1,
                last_time: alert.get("time").cloned().unwrap_or_default(),
            },
        );
        true
    }

    /// Closes the folds whose window has passed (all of them with `all`), and
    /// returns the summaries of those that had repeats.
    pub fn expire(&mut self, all: bool) -> Vec<Alert> {
        let window = self.window;
        let closing: Vec<u64> = self
            .open
            .iter()
            .filter(|(_, f)| all || f.opened.elapsed() >= window)
            .map(|(k, _)| *k)
            .collect();
        let mut out = Vec::new();
        for k in closing {
            let Some(f) = self.open.remove(&k) else {
                continue;
            };
            if f.count < 2 {
                continue;
            }
            let mut a = f.first;
            a.id = format!("{}/folded", a.id);
            a.set("alert_id", a.id.clone().into());
            a.set("count", f.count.into());
            a.set("first_seen", a.get("time").cloned().unwrap_or_default());
            a.set("last_seen", f.last_time);
            a.set("folded", true.into());
            out.push(a);
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn alert(id: &str, key: u64, time: &str) -> Alert {
        Alert {
            id: id.into(),
            rule: "r1".into(),
            cells: vec![
                ("rule_id".into(), json!("r1")),
                ("severity".into(), json!("high")),
                ("destinationport".into(), json!(443)),
                ("time".into(), json!(time)),
                ("alert_id".into(), json!(id)),
            ],
            received: Instant::now(),
            key,
        }
    }

    #[test]
    fn jsonl_sink_never_writes_an_alert_twice_across_reopens() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("a.jsonl");
        let mut s = JsonlSink::open(&p, Fsync::Batch).unwrap();
        for id in ["a", "b", "a"] {
            let a = alert(id, 1, "t");
            s.send(&a, &a.to_json_line()).unwrap();
        }
        s.flush().unwrap();
        drop(s);
        let mut s = JsonlSink::open(&p, Fsync::Never).unwrap();
        for id in ["b", "c"] {
            let a = alert(id, 1, "t");
            s.send(&a, &a.to_json_line()).unwrap();
        }
        s.flush().unwrap();
        assert_eq!(s.already_written, 1);
        let text = std::fs::read_to_string(&p).unwrap();
        let ids: Vec<String> = text
            .lines()
            .map(|l| {
                serde_json::from_str::<serde_json::Value>(l).unwrap()["alert_id"]
                    .as_str()
                    .unwrap()
                    .to_owned()
            })
            .collect();
        assert_eq!(ids, ["a", "b", "c"]);
    }

    #[test]
    fn the_id_memory_is_bounded_and_forgets_the_oldest() {
        let mut r = Recent::default();
        for i in 0..=RECENT_IDS {
            assert!(r.insert(i.to_string()));
        }
        assert!(
            !r.insert(RECENT_IDS.to_string()),
            "a recent id is remembered"
        );
        assert!(r.insert("0".into()), "the oldest was forgotten");
        assert_eq!(r.set.len(), RECENT_IDS);
    }

    #[test]
    fn repeats_fold_into_one_alert_with_a_count() {
        let mut d = Dedup::new(Duration::from_secs(3600), 10);
        assert!(d.admit(&alert("1", 7, "t1")));
        assert!(!d.admit(&alert("2", 7, "t2")));
        assert!(!d.admit(&alert("3", 7, "t3")));
        assert!(d.admit(&alert("4", 8, "t4")));
        assert!(d.expire(false).is_empty(), "the window is still open");
        let out = d.expire(true);
        assert_eq!(out.len(), 1, "a key seen once has nothing to fold");
        assert_eq!(out[0].get("count"), Some(&json!(3)));
        assert_eq!(out[0].get("first_seen"), Some(&json!("t1")));
        assert_eq!(out[0].get("last_seen"), Some(&json!("t3")));
        assert_eq!(out[0].id, "1/folded");
    }

    #[test]
    fn leef_alerts_read_back_with_portents_own_leef_reader() {
        let a = alert("x", 1, "2024-03-01T10:00:00.000+00:00");
        let line = leef_line(&a, "sensor");
        let leef = portent_io::leef::parse_line(&line).unwrap();
        assert_eq!(leef.vendor, "Portent");
        assert_eq!(leef.event_id, "r1");
        assert_eq!(leef.host.as_deref(), Some("sensor"));
        let get = |k: &str| {
            leef.attrs
                .iter()
                .find(|(n, _)| n == k)
                .map(|(_, v)| v.as_str())
        };
        assert_eq!(get("dstPort"), Some("443"));
        assert_eq!(get("sev"), Some("8"));
    }

    #[test]
    fn webhook_retries_then_delivers_with_the_alert_id() {
        use std::io::{BufRead, BufReader};
        use std::net::TcpListener;
        let l = TcpListener::bind("127.0.0.1:0").unwrap();
        let url = format!("http://{}/hook", l.local_addr().unwrap());
        let server = std::thread::spawn(move || {
            let mut seen = Vec::new();
            for (n, conn) in l.incoming().take(2).enumerate() {
                let conn = conn.unwrap();
                let mut r = BufReader::new(&conn);
                let mut len = 0;
                loop {
                    let mut h = String::new();
                    r.read_line(&mut h).unwrap();
                    if let Some(v) = h.to_ascii_lowercase().strip_prefix("content-length:") {
                        len = v.trim().parse().unwrap();
                    }
                    if h.to_ascii_lowercase().starts_with("idempotency-key") {
                        seen.push(h.trim().to_owned());
                    }
                    if h.trim().is_empty() {
                        break;
                    }
                }
                let mut body = vec![0; len];
                r.read_exact(&mut body).unwrap();
                let status = if n == 0 { "503 Busy" } else { "200 OK" };
                (&conn)
                    .write_all(
                        format!(
                            "HTTP/1.1 {status}\r\nContent-Length: 0\r\nConnection: close\r\n\r\n"
                        )
                        .as_bytes(),
                    )
                    .unwrap();
            }
            seen
        });
        let dir = tempfile::tempdir().unwrap();
        let metrics = Arc::new(Metrics::default());
        let retry = Retry {
            backoff: Duration::from_millis(10),
            ..Retry::default()
        };
        let mut s = WebhookSink::start(url, retry, dir.path().join("dead.jsonl"), metrics.clone());
        let a = alert("id-1", 1, "t");
        s.send(&a, &a.to_json_line()).unwrap();
        s.flush().unwrap();
        assert_eq!(server.join().unwrap(), vec!["idempotency-key: id-1"; 2]);
        assert!(crate::metrics::snapshot(&metrics.sink_errors).is_empty());
        assert!(!dir.path().join("dead.jsonl").exists());
    }
}
