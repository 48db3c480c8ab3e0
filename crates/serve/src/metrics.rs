//! Counters the watcher keeps, in Prometheus text form on `/metrics`, with
//! `/healthz` beside it. Sources update their own counters (atomics, no
//! locks per event); per-reason and per-rule counts are updated once per
//! batch.

use std::collections::BTreeMap;
use std::io::{BufRead, BufReader, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, Instant};

/// Latency bucket bounds, in seconds.
const BUCKETS: [f64; 14] = [
    0.0005, 0.001, 0.002, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0,
];

/// A latency histogram with fixed buckets.
#[derive(Debug, Default)]
pub struct Histogram {
    counts: [AtomicU64; BUCKETS.len() + 1],
    sum_us: AtomicU64,
    count: AtomicU64,
}

impl Histogram {
    /// Records one observation.
    pub fn observe(&self, d: Duration) {
        let s = d.as_secs_f64();
        let i = BUCKETS
            .iter()
            .position(|b| s <= *b)
            .unwrap_or(BUCKETS.len());
        self.counts[i].fetch_add(1, Ordering::Relaxed);
        self.sum_us
            .fetch_add(d.as_micros() as u64, Ordering::Relaxed);
        self.count.fetch_add(1, Ordering::Relaxed);
    }

    /// Observations so far.
    pub fn count(&self) -> u64 {
        self.count.load(Ordering::Relaxed)
    }

    /// The bucket bound under which `q` (0..1) of the observations fall.
    pub fn quantile(&self, q: f64) -> Option<f64> {
        let total = self.count();
        if total == 0 {
            return None;
        }
        let want = (q * total as f64).ceil() as u64;
        let mut seen = 0;
        for (i, c) in self.counts.iter().enumerate() {
            seen += c.load(Ordering::Relaxed);
            if seen >= want {
                return Some(BUCKETS.get(i).copied().unwrap_or(f64::INFINITY));
            }
        }
        Some(f64::INFINITY)
    }

    fn write(&self, out: &mut String, name: &str, help: &str) {
        out.push_str(&format!("# HELP {name} {help}\n# TYPE {name} histogram\n"));
        let mut cum = 0;
        for (i, b) in BUCKETS.iter().enumerate() {
            cum += self.counts[i].load(Ordering::Relaxed);
            out.push_str(&format!("{name}_bucket{{le=\"{b}\"}} {cum}\n"));
        }
        cum += self.counts[BUCKETS.len()].load(Ordering::Relaxed);
        out.push_str(&format!("{name}_bucket{{le=\"+Inf\"}} {cum}\n"));
        let sum = self.sum_us.load(Ordering::Relaxed) as f64 / 1e6;
        out.push_str(&format!("{name}_sum {sum}\n{name}_count {cum}\n"));
    }
}

/// One source's counters.
#[derive(Debug, Default)]
pub struct SourceMetrics {
    /// Its name (`tcp:0.0.0.0:5514`, `file:/var/log/x.jsonl`).
    pub name: String,
    /// Messages (lines, frames, datagrams, packets) received.
    pub messages: AtomicU64,
    /// Events parsed out of them.
    pub events: AtomicU64,
    /// Bytes received.
    pub bytes: AtomicU64,
}

/// Everything the watcher counts.
#[derive(Debug, Default)]
pub struct Metrics {
    /// Per source, in configuration order.
    pub sources: Vec<SourceMetrics>,
    /// Dropped or unreadable messages and events, by source and reason.
    pub dropped: Mutex<BTreeMap<(String, String), u64>>,
    /// Alerts sent, by rule.
    pub alerts: Mutex<BTreeMap<String, u64>>,
    /// Repeats folded into an earlier alert, by rule.
    pub folded: Mutex<BTreeMap<String, u64>>,
    /// Matches held back by tuning exceptions, by rule.
    pub suppressed: Mutex<BTreeMap<String, u64>>,
    /// Matches outside the rule's time window, by rule.
    pub outside_window: Mutex<BTreeMap<String, u64>>,
    /// Events evaluated.
    pub evaluated: AtomicU64,
    /// Batches waiting in the queue (sampled by the evaluator).
    pub queue_depth: AtomicU64,
    /// Queue capacity in batches.
    pub queue_capacity: AtomicU64,
    /// Bytes of messages in the queue (sampled by the evaluator).
    pub queue_bytes: AtomicU64,
    /// Queue capacity in bytes of messages.
    pub queue_bytes_limit: AtomicU64,
    /// Receipt to alert.
    pub alert_latency: Histogram,
    /// Receipt to evaluated.
    pub event_latency: Histogram,
    /// Sink failures, by sink and kind.
    pub sink_errors: Mutex<BTreeMap<(String, String), u64>>,
    /// Rule reloads: done and failed.
    pub reloads: AtomicU64,
    /// Failed rule reloads.
    pub reload_failures: AtomicU64,
    /// Processes held by the correlation index, and its evictions.
    pub index_size: AtomicU64,
    /// Correlation index evictions.
    pub index_evicted: AtomicU64,
    /// Events waiting for their process creation.
    pub join_waiting: AtomicU64,
    /// Waiting events whose creation then arrived.
    pub join_late: AtomicU64,
    /// Waiting events evaluated without it after the wait.
    pub join_timeout: AtomicU64,
    /// Datagrams the kernel dropped on UDP sources' sockets (/proc/net/udp).
    pub udp_kernel_drops: AtomicU64,
    /// The evaluator's last sign of life.
    pub heartbeat: Mutex<Option<Instant>>,
    /// Set when the watcher is stopping.
    pub stopping: AtomicBool,
}

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(PoisonError::into_inner)
}

/// Adds `n` under `key`.
pub fn add<K: Ord>(m: &Mutex<BTreeMap<K, u64>>, key: K, n: u64) {
    if n > 0 {
        *lock(m).entry(key).or_default() += n;
    }
}

/// A snapshot of a keyed counter.
pub fn snapshot<K: Ord + Clone>(m: &Mutex<BTreeMap<K, u64>>) -> BTreeMap<K, u64> {
    lock(m).clone()
}

fn esc(s: &str) -> String {
    s.replace('\\', "\\\\")
        .replace('"', "\\\"")
        .replace('\n', "\\n")
}

impl Metrics {
    /// Metrics for these sources.
    pub fn new(source_names: Vec<String>) -> Metrics {
        Metrics {
            sources: source_names
                .into_iter()
                .map(|name| SourceMetrics {
                    name,
                    ..SourceMetrics::default()
                })
                .collect(),
            ..Metrics::default()
        }
    }

    /// Marks the evaluator alive.
    pub fn beat(&self) {
        *lock(&self.heartbeat) = Some(Instant::now());
    }

    /// Dropped messages in all.
    pub fn dropped_total(&self) -> u64 {
        lock(&self.dropped).values().sum()
    }

    /// Alerts in all.
    pub fn alerts_total(&self) -> u64 {
        lock(&self.alerts).values().sum()
    }

    /// The Prometheus text exposition.
    pub fn render(&self) -> String {
        let mut o = String::new();
        let counter = |o: &mut String, name: &str, help: &str| {
            o.push_str(&format!("# HELP {name} {help}\n# TYPE {name} counter\n"));
        };
        counter(
            &mut o,
            "portent_messages_received_total",
            "Messages received, by source.",
        );
        for s in &self.sources {
            let n = s.messages.load(Ordering::Relaxed);
            o.push_str(&format!(
                "portent_messages_received_total{{source=\"{}\"}} {n}\n",
                esc(&s.name)
            ));
        }
        counter(
            &mut o,
            "portent_events_parsed_total",
            "Events parsed, by source.",
        );
        for s in &self.sources {
            let n = s.events.load(Ordering::Relaxed);
            o.push_str(&format!(
                "portent_events_parsed_total{{source=\"{}\"}} {n}\n",
                esc(&s.name)
            ));
        }
        counter(
            &mut o,
            "portent_bytes_received_total",
            "Bytes received, by source.",
        );
        for s in &self.sources {
            let n = s.bytes.load(Ordering::Relaxed);
            o.push_str(&format!(
                "portent_bytes_received_total{{source=\"{}\"}} {n}\n",
                esc(&s.name)
            ));
        }
        counter(
            &mut o,
            "portent_dropped_total",
            "Messages or events not evaluated, by source and reason.",
        );
        for ((s, r), n) in snapshot(&self.dropped) {
            o.push_str(&format!(
                "portent_dropped_total{{source=\"{}\",reason=\"{}\"}} {n}\n",
                esc(&s),
                esc(&r)
            ));
        }
        counter(
            &mut o,
            "portent_events_evaluated_total",
            "Events run through the rules.",
        );
        o.push_str(&format!(
            "portent_events_evaluated_total {}\n",
            self.evaluated.load(Ordering::Relaxed)
        ));
        for (name, help, m) in [
            (
                "portent_alerts_total",
                "Alerts sent, by rule.",
                &self.alerts,
            ),
            (
                "portent_alerts_folded_total",
                "Repeats folded into an earlier alert, by rule.",
                &self.folded,
            ),
            (
                "portent_suppressed_total",
                "Matches held back by tuning exceptions, by rule.",
                &self.suppressed,
            ),
            (
                "portent_outside_window_total",
                "Matches outside the rule's time window, by rule.",
                &self.outside_window,
            ),
        ] {
            counter(&mut o, name, help);
            for (rule, n) in snapshot(m) {
                o.push_str(&format!("{name}{{rule=\"{}\"}} {n}\n", esc(&rule)));
            }
        }
        counter(
            &mut o,
            "portent_sink_errors_total",
            "Sink failures, by sink and kind.",
        );
        for ((s, k), n) in snapshot(&self.sink_errors) {
            o.push_str(&format!(
                "portent_sink_errors_total{{sink=\"{}\",kind=\"{}\"}} {n}\n",
                esc(&s),
                esc(&k)
            ));
        }
        let gauge = |o: &mut String, name: &str, help: &str, v: u64| {
            o.push_str(&format!(
                "# HELP {name} {help}\n# TYPE {name} gauge\n{name} {v}\n"
            ));
        };
        gauge(
            &mut o,
            "portent_queue_depth",
            "Batches waiting for the evaluator.",
            self.queue_depth.load(Ordering::Relaxed),
        );
        gauge(
            &mut o,
            "portent_queue_capacity",
            "Batches the queue holds before sources wait.",
            self.queue_capacity.load(Ordering::Relaxed),
        );
        gauge(
            &mut o,
            "portent_queue_bytes",
            "Bytes of messages waiting for the evaluator.",
            self.queue_bytes.load(Ordering::Relaxed),
        );
        gauge(
            &mut o,
            "portent_queue_bytes_capacity",
            "Bytes of messages the queue holds before sources wait (UDP drops).",
            self.queue_bytes_limit.load(Ordering::Relaxed),
        );
        gauge(
            &mut o,
            "portent_correlation_processes",
            "Processes held by the correlation index.",
            self.index_size.load(Ordering::Relaxed),
        );
        counter(
            &mut o,
            "portent_correlation_evicted_total",
            "Processes evicted from the correlation index to stay in bounds.",
        );
        o.push_str(&format!(
            "portent_correlation_evicted_total {}\n",
            self.index_evicted.load(Ordering::Relaxed)
        ));
        gauge(
            &mut o,
            "portent_join_waiting",
            "Events waiting for their process creation to arrive.",
            self.join_waiting.load(Ordering::Relaxed),
        );
        counter(
            &mut o,
            "portent_join_late_total",
            "Events whose process creation arrived after them, while they waited.",
        );
        o.push_str(&format!(
            "portent_join_late_total {}\n",
            self.join_late.load(Ordering::Relaxed)
        ));
        counter(
            &mut o,
            "portent_join_timeout_total",
            "Events evaluated without their process creation after the wait.",
        );
        o.push_str(&format!(
            "portent_join_timeout_total {}\n",
            self.join_timeout.load(Ordering::Relaxed)
        ));
        counter(
            &mut o,
            "portent_udp_kernel_drops_total",
            "Datagrams the kernel dropped on UDP sources' sockets.",
        );
        o.push_str(&format!(
            "portent_udp_kernel_drops_total {}\n",
            self.udp_kernel_drops.load(Ordering::Relaxed)
        ));
        counter(&mut o, "portent_reloads_total", "Rule reloads.");
        o.push_str(&format!(
            "portent_reloads_total {}\n",
            self.reloads.load(Ordering::Relaxed)
        ));
        counter(
            &mut o,
            "portent_reload_failures_total",
            "Rule reloads that failed (the old rules stay).",
        );
        o.push_str(&format!(
            "portent_reload_failures_total {}\n",
            self.reload_failures.load(Ordering::Relaxed)
        ));
        self.alert_latency.write(
            &mut o,
            "portent_alert_latency_seconds",
            "From receipt of the event to its alert handed to the sinks.",
        );
        self.event_latency.write(
            &mut o,
            "portent_event_latency_seconds",
            "From receipt of an event to its evaluation.",
        );
        o
    }

    /// Healthy: the evaluator beat within `stale`.
    pub fn healthy(&self, stale: Duration) -> bool {
        lock(&self.heartbeat).is_some_and(|t| t.elapsed() < stale)
    }
}

/// Serves `/metrics` and `/healthz` on `addr` until the process ends. Returns
/// the address bound (port 0 picks one).
pub fn serve(addr: SocketAddr, metrics: Arc<Metrics>) -> std::io::Result<SocketAddr> {
    let listener = TcpListener::bind(addr)?;
    let bound = listener.local_addr()?;
    std::thread::Builder::new()
        .name("metrics".into())
        .spawn(move || {
            for conn in listener.incoming().flatten() {
                let _ = answer(conn, &metrics);
            }
        })?;
    Ok(bound)
}

fn answer(conn: TcpStream, metrics: &Metrics) -> std::io::Result<()> {
    conn.set_read_timeout(Some(Duration::from_secs(2)))?;
    let mut reader = BufReader::new(&conn);
    let mut line = String::new();
    reader.read_line(&mut line)?;
    // Headers are read and ignored.
    loop {
        let mut h = String::new();
        if reader.read_line(&mut h)? == 0 || h.trim().is_empty() {
            break;
        }
    }
    let path = line.split_whitespace().nth(1).unwrap_or("/");
    let (status, body, ctype) = match path {
        "/metrics" => ("200 OK", metrics.render(), "text/plain; version=0.0.4"),
        "/healthz" if metrics.stopping.load(Ordering::Relaxed) => (
            "503 Service Unavailable",
            "stopping\n".to_owned(),
            "text/plain",
        ),
        "/healthz" if metrics.healthy(Duration::from_secs(10)) => {
            ("200 OK", "ok\n".to_owned(), "text/plain")
        }
        "/healthz" => (
            "503 Service Unavailable",
            "evaluator stalled\n".to_owned(),
            "text/plain",
        ),
        _ => (
            "404 Not Found",
            "try /metrics or /healthz\n".to_owned(),
            "text/plain",
        ),
    };
    let mut w = &conn;
    w.write_all(
        format!(
            "HTTP/1.1 {status}\r\nContent-Type: {ctype}\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
            body.len()
        )
        .as_bytes(),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn histogram_quantiles_and_text() {
        let h = Histogram::default();
        for ms in [1u64, 1, 1, 1, 1, 1, 1, 1, 1, 40] {
            h.observe(Duration::from_millis(ms));
        }
        assert_eq!(h.quantile(0.5), Some(0.001));
        assert_eq!(h.quantile(0.99), Some(0.05));
        let m = Metrics::new(vec!["tcp:x".into()]);
        m.sources[0].messages.fetch_add(3, Ordering::Relaxed);
        add(&m.dropped, ("udp:y".to_owned(), "queue full".to_owned()), 2);
        let text = m.render();
        assert!(text.contains("portent_messages_received_total{source=\"tcp:x\"} 3"));
        assert!(text.contains("portent_dropped_total{source=\"udp:y\",reason=\"queue full\"} 2"));
        assert!(text.contains("portent_alert_latency_seconds_bucket{le=\"+Inf\"} 0"));
    }
}
