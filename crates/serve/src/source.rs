//! Sources: syslog over TCP and UDP, NetFlow/IPFIX over UDP, standard input.
//! (Followed files are in [`crate::follow`].) Each runs on its own threads,
//! parses what it receives into events and hands them to the evaluator in
//! batches over one bounded channel. TCP, files and stdin wait when the
//! channel is full, which slows the sender down (TCP's own flow control); UDP
//! cannot make a sender wait, so a batch that finds the channel full is
//! dropped and counted.

use crate::error::Error;
use crate::framing::Deframer;
use crate::metrics::{add, Metrics};
use crossbeam_channel::{Sender, TrySendError};
use portent_core::{Record, Schema};
use portent_detect::detector::{stamp_source, Stamped};
use portent_io::{FileReport, ReadOptions};
use std::io::{BufRead, Read};
use std::net::{SocketAddr, TcpListener, TcpStream, UdpSocket};
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, Instant};

/// Called once the alerts of a batch are flushed to every sink.
pub type Ack = Box<dyn FnOnce() -> Result<(), Error> + Send>;

/// Events from one source.
pub struct Batch {
    /// Index of the source.
    pub source: usize,
    /// The events.
    pub events: Vec<Stamped>,
    /// Only to rebuild the correlation state (a restart re-reading what came
    /// before its checkpoint): remembered, not evaluated.
    pub warm: bool,
    /// Acknowledges the batch once its alerts are safe.
    pub ack: Option<Ack>,
    /// What it holds against the queue's [`Budget`] (bytes of messages).
    pub bytes: usize,
}

/// Bytes of messages the queue holds at most, besides its count of batches:
/// a batch of big Windows events (a few KB of JSON each, several times that
/// parsed) must not cost what a batch of short syslog lines does. Sources
/// that can wait (TCP, files, stdin, NATS) wait for room; UDP drops and counts.
#[derive(Debug)]
pub struct Budget {
    limit: usize,
    used: Mutex<usize>,
    freed: std::sync::Condvar,
}

impl Budget {
    /// A budget of `limit` bytes.
    pub fn new(limit: usize) -> Budget {
        Budget {
            limit: limit.max(1),
            used: Mutex::new(0),
            freed: std::sync::Condvar::new(),
        }
    }

    /// Takes `n` bytes, waiting while they do not fit (a batch bigger than
    /// the whole budget goes when the queue is empty), or until `stop`.
    pub fn acquire(&self, n: usize, stop: &AtomicBool) {
        let mut used = self.used.lock().unwrap_or_else(PoisonError::into_inner);
        while *used > 0 && *used + n > self.limit && !stop.load(Ordering::Relaxed) {
            used = match self.freed.wait_timeout(used, Duration::from_millis(100)) {
                Ok((g, _)) => g,
                Err(e) => e.into_inner().0,
            };
        }
        *used += n;
    }

    /// Takes `n` bytes if they fit now.
    pub fn try_acquire(&self, n: usize) -> bool {
        let mut used = self.used.lock().unwrap_or_else(PoisonError::into_inner);
        if *used > 0 && *used + n > self.limit {
            return false;
        }
        *used += n;
        true
    }

    /// Gives `n` bytes back.
    pub fn release(&self, n: usize) {
        let mut used = self.used.lock().unwrap_or_else(PoisonError::into_inner);
        *used = used.saturating_sub(n);
        self.freed.notify_all();
    }

    /// Bytes held now.
    pub fn used(&self) -> usize {
        *self.used.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// The limit.
    pub fn limit(&self) -> usize {
        self.limit
    }
}

/// What an already parsed event (a flow record) counts against the budget.
const PARSED_EVENT_BYTES: usize = 256;

/// Events per batch at most.
pub const BATCH: usize = 512;

/// The schema every source parses with. A rule reload can add custom
/// properties; sources pick the new schema up at their next batch.
#[derive(Debug)]
pub struct SchemaCell(Mutex<Arc<Schema>>);

impl SchemaCell {
    /// Holds `schema`.
    pub fn new(schema: Schema) -> SchemaCell {
        SchemaCell(Mutex::new(Arc::new(schema)))
    }
    /// The current schema.
    pub fn get(&self) -> Arc<Schema> {
        self.0
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .clone()
    }
    /// Replaces it.
    pub fn set(&self, schema: Schema) {
        *self.0.lock().unwrap_or_else(PoisonError::into_inner) = Arc::new(schema);
    }
}

/// What every source thread shares.
#[derive(Clone)]
pub struct Context {
    /// Index of the source.
    pub index: usize,
    /// Its name.
    pub name: Arc<str>,
    /// The evaluator's queue.
    pub tx: Sender<Batch>,
    /// Bytes the queue may hold.
    pub budget: Arc<Budget>,
    /// Counters.
    pub metrics: Arc<Metrics>,
    /// Set on SIGTERM: stop reading, hand over what was read.
    pub stop: Arc<AtomicBool>,
    /// The schema.
    pub schema: Arc<SchemaCell>,
    /// Reader settings.
    pub read: ReadOptions,
    /// Distinguishes this run's event ids from another run's.
    pub run_id: Arc<str>,
}

/// Turns messages into events and batches, counting what it cannot read.
pub struct Parser {
    ctx: Context,
    schema: Arc<Schema>,
    report: FileReport,
    events: Vec<Stamped>,
    /// Bytes of the messages of `events`.
    bytes: usize,
    counter: Arc<AtomicU64>,
    /// Warnings logged per reason, so a flood of bad input is counted, not echoed.
    warned: std::collections::HashMap<String, u32>,
}

/// Warnings logged for each reason of each source; the rest are only counted.
const WARN_PER_REASON: u32 = 5;

impl Parser {
    /// A parser for `ctx`'s source; `counter` numbers its events.
    pub fn new(ctx: Context, counter: Arc<AtomicU64>) -> Parser {
        let schema = ctx.schema.get();
        Parser {
            report: FileReport::new(ctx.name.to_string()),
            ctx,
            schema,
            events: Vec::with_capacity(BATCH),
            bytes: 0,
            counter,
            warned: Default::default(),
        }
    }

    /// Parses one message received at `received`; `place` names it in errors.
    /// Its events are numbered by the source's counter.
    pub fn message(&mut self, msg: &[u8], received: Instant, place: &dyn Fn() -> String) {
        self.message_with(msg, received, place, None);
    }

    /// Parses one message whose events are called `id` (`id.1`, `id.2`, ...
    /// when it holds several): stable ids, for sources that can be re-read.
    pub fn message_at(
        &mut self,
        msg: &[u8],
        received: Instant,
        place: &dyn Fn() -> String,
        id: &str,
    ) {
        self.message_with(msg, received, place, Some(id));
    }

    fn message_with(
        &mut self,
        msg: &[u8],
        received: Instant,
        place: &dyn Fn() -> String,
        id: Option<&str>,
    ) {
        let m = &self.ctx.metrics.sources[self.ctx.index];
        m.messages.fetch_add(1, Ordering::Relaxed);
        m.bytes.fetch_add(msg.len() as u64, Ordering::Relaxed);
        self.bytes += msg.len();
        let (name, counter, run) = (&self.ctx.name, &self.counter, &self.ctx.run_id);
        let events = &mut self.events;
        let mut k = 0;
        portent_io::message::read_message(
            msg,
            place,
            &self.schema,
            &self.ctx.read,
            &mut self.report,
            &mut |_, rec| {
                let id: Arc<str> = match id {
                    Some(base) if k == 0 => base.into(),
                    Some(base) => format!("{base}.{k}").into(),
                    None => format!("{run}-{}", counter.fetch_add(1, Ordering::Relaxed)).into(),
                };
                k += 1;
                events.push(stamped(rec, name, received, id));
            },
        );
    }

    /// Adds an event already parsed.
    pub fn push(&mut self, rec: Record<'static>, received: Instant, id: Arc<str>) {
        self.bytes += PARSED_EVENT_BYTES;
        self.events.push(stamped(rec, &self.ctx.name, received, id));
    }

    /// Events waiting to be sent.
    pub fn len(&self) -> usize {
        self.events.len()
    }

    /// True when no event waits.
    pub fn is_empty(&self) -> bool {
        self.events.is_empty()
    }

    /// Counts `n` dropped for `reason`.
    pub fn dropped(&self, reason: &str, n: u64) {
        add(
            &self.ctx.metrics.dropped,
            (self.ctx.name.to_string(), reason.to_owned()),
            n,
        );
    }

    /// Moves what could not be read into the metrics and logs the first few
    /// of each reason with their place.
    fn account(&mut self) {
        let report =
            std::mem::replace(&mut self.report, FileReport::new(self.ctx.name.to_string()));
        for (reason, (n, places)) in report.skipped.into_iter().chain(report.repaired) {
            self.dropped(&reason, n);
            let warned = self.warned.entry(reason.clone()).or_default();
            for p in places {
                if *warned < WARN_PER_REASON {
                    *warned += 1;
                    let last = if *warned == WARN_PER_REASON {
                        " (further ones are only counted)"
                    } else {
                        ""
                    };
                    crate::log::warn(
                        &format!("unreadable input{last}"),
                        &[("source", &self.ctx.name), ("at", &p), ("reason", &reason)],
                    );
                }
            }
        }
    }

    fn take(&mut self, ack: Option<Ack>, warm: bool) -> Batch {
        self.account();
        self.ctx.metrics.sources[self.ctx.index]
            .events
            .fetch_add(self.events.len() as u64, Ordering::Relaxed);
        self.schema = self.ctx.schema.get();
        Batch {
            source: self.ctx.index,
            events: std::mem::replace(&mut self.events, Vec::with_capacity(BATCH)),
            warm,
            ack,
            bytes: std::mem::take(&mut self.bytes),
        }
    }

    /// Sends the batch, waiting while the queue is full. False once the evaluator is gone.
    pub fn send(&mut self, ack: Option<Ack>, warm: bool) -> bool {
        if self.events.is_empty() && ack.is_none() {
            self.account();
            return true;
        }
        let b = self.take(ack, warm);
        self.ctx.budget.acquire(b.bytes, &self.ctx.stop);
        let bytes = b.bytes;
        let sent = self.ctx.tx.send(b).is_ok();
        if !sent {
            self.ctx.budget.release(bytes);
        }
        sent
    }

    /// Sends the batch if there is room; otherwise drops and counts it.
    pub fn try_send(&mut self) {
        if self.events.is_empty() {
            self.account();
            return;
        }
        let b = self.take(None, false);
        let (n, bytes) = (b.events.len() as u64, b.bytes);
        if !self.ctx.budget.try_acquire(bytes) {
            self.dropped("queue full", n);
            return;
        }
        if let Err(TrySendError::Full(_) | TrySendError::Disconnected(_)) = self.ctx.tx.try_send(b)
        {
            self.ctx.budget.release(bytes);
            self.dropped("queue full", n);
        }
    }
}

fn stamped(
    mut record: Record<'static>,
    name: &Arc<str>,
    received: Instant,
    id: Arc<str>,
) -> Stamped {
    stamp_source(&mut record, name);
    // A record's slots run dense up to the highest field it sets, and with
    // thousands of Sigma rules the schema has thousands of fields: a queued
    // Windows event cost ~13 KB, most of it empty slots (the SigmaHQ set
    // over Mordor JSON on stdin peaked at 603 MiB with the default queue).
    // Fields past the built-in ones move to a sorted list of those set.
    record.compact(portent_core::schema::ids::SUPPRESSED_BY.index() + 1);
    Stamped {
        record,
        received,
        id,
    }
}

/// Syslog over TCP: one thread accepts, one thread per connection reads.
pub fn tcp(
    ctx: Context,
    addr: &str,
    max_connections: usize,
) -> Result<(SocketAddr, std::thread::JoinHandle<()>), Error> {
    let listener = TcpListener::bind(addr).map_err(|e| Error::bind(addr, e))?;
    let bound = listener.local_addr().map_err(|e| Error::bind(addr, e))?;
    listener
        .set_nonblocking(true)
        .map_err(|e| Error::bind(addr, e))?;
    let counter = Arc::new(AtomicU64::new(0));
    let open = Arc::new(AtomicUsize::new(0));
    let handle = std::thread::Builder::new()
        .name(format!("tcp {bound}"))
        .spawn(move || {
            let mut conns = Vec::new();
            loop {
                // On stop, connections already made (in the backlog) are still
                // taken and read: their data was sent before the stop.
                let stopping = ctx.stop.load(Ordering::Relaxed);
                match listener.accept() {
                    Ok((stream, peer)) => {
                        if open.load(Ordering::Relaxed) >= max_connections {
                            add(
                                &ctx.metrics.dropped,
                                (
                                    ctx.name.to_string(),
                                    "connection refused: too many open".into(),
                                ),
                                1,
                            );
                            continue;
                        }
                        open.fetch_add(1, Ordering::Relaxed);
                        let (ctx, counter, open) = (ctx.clone(), counter.clone(), open.clone());
                        let h = std::thread::Builder::new()
                            .name(format!("tcp {peer}"))
                            .spawn(move || {
                                let (metrics, name) = (ctx.metrics.clone(), ctx.name.clone());
                                // A bug in a parser costs this connection, not the watcher,
                                // and it is logged and counted, not hidden.
                                let run = std::panic::AssertUnwindSafe(|| {
                                    connection(ctx, stream, peer, counter)
                                });
                                if std::panic::catch_unwind(run).is_err() {
                                    crate::log::warn(
                                        "connection reader failed (a bug in Portent, please report it)",
                                        &[("source", &name), ("peer", &peer)],
                                    );
                                    add(&metrics.dropped, (name.to_string(), "connection reader failed".into()), 1);
                                }
                                open.fetch_sub(1, Ordering::Relaxed);
                            });
                        conns.extend(h.ok());
                    }
                    Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => {
                        if stopping {
                            break;
                        }
                        std::thread::sleep(Duration::from_millis(20))
                    }
                    Err(e) => {
                        if stopping {
                            break;
                        }
                        crate::log::warn("accept failed", &[("source", &ctx.name), ("error", &e)]);
                        std::thread::sleep(Duration::from_millis(100));
                    }
                }
                conns.retain(|h: &std::thread::JoinHandle<()>| !h.is_finished());
            }
            for h in conns {
                let _ = h.join();
            }
        })
        .map_err(|e| Error::bind(addr, e))?;
    Ok((bound, handle))
}

fn connection(ctx: Context, mut stream: TcpStream, peer: SocketAddr, counter: Arc<AtomicU64>) {
    let _ = stream.set_nonblocking(false);
    let _ = stream.set_read_timeout(Some(Duration::from_millis(200)));
    let name = ctx.name.clone();
    let mut parser = Parser::new(ctx.clone(), counter);
    let mut deframer = Deframer::new();
    let mut buf = vec![0u8; 256 * 1024];
    let mut n_msg = 0u64;
    // On a stop, what the socket holds is read, for at most this long: a
    // sender that never pauses must not hold the shutdown up.
    let mut drain_until: Option<Instant> = None;
    loop {
        let stopping = ctx.stop.load(Ordering::Relaxed);
        if stopping {
            let until = *drain_until.get_or_insert_with(|| Instant::now() + Duration::from_secs(2));
            if Instant::now() >= until {
                break;
            }
        }
        let got = match stream.read(&mut buf) {
            Ok(0) => break,
            Ok(n) => n,
            Err(e)
                if matches!(
                    e.kind(),
                    std::io::ErrorKind::WouldBlock | std::io::ErrorKind::TimedOut
                ) =>
            {
                // Nothing arrived for a while: the in-flight data was all read.
                if stopping {
                    break;
                }
                continue;
            }
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => continue,
            Err(e) => {
                crate::log::warn(
                    "connection failed",
                    &[("source", &name), ("peer", &peer), ("error", &e)],
                );
                break;
            }
        };
        let received = Instant::now();
        deframer.feed(&buf[..got]);
        while let Some(frame) = deframer.next_frame() {
            n_msg += 1;
            let at = n_msg;
            parser.message(frame, received, &|| {
                format!("{name} from {peer}, message {at}")
            });
            if parser.len() >= BATCH && !parser.send(None, false) {
                return;
            }
        }
        if !parser.send(None, false) {
            return;
        }
    }
    if let Some(frame) = deframer.finish() {
        n_msg += 1;
        let at = n_msg;
        parser.message(frame, Instant::now(), &|| {
            format!("{name} from {peer}, message {at} (unterminated)")
        });
    }
    for (n, reason) in [
        (deframer.oversized, "message over 1 MiB, skipped"),
        (deframer.bad_counts, "bad octet count"),
    ] {
        parser.dropped(reason, n);
    }
    parser.send(None, false);
}

/// What a UDP source decodes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Datagrams {
    /// One syslog message each.
    Syslog,
    /// NetFlow v5/v9 or IPFIX export packets.
    Flows,
}

/// A UDP source. The kernel's own drops on the socket are read from
/// `/proc/net/udp` and reported beside the queue's.
pub fn udp(
    ctx: Context,
    addr: &str,
    kind: Datagrams,
) -> Result<(SocketAddr, std::thread::JoinHandle<()>), Error> {
    let socket = UdpSocket::bind(addr).map_err(|e| Error::bind(addr, e))?;
    let bound = socket.local_addr().map_err(|e| Error::bind(addr, e))?;
    socket
        .set_read_timeout(Some(Duration::from_millis(20)))
        .map_err(|e| Error::bind(addr, e))?;
    let handle = std::thread::Builder::new()
        .name(format!("udp {bound}"))
        .spawn(move || {
            let name = ctx.name.clone();
            let metrics = ctx.metrics.clone();
            let counter = Arc::new(AtomicU64::new(0));
            let mut parser = Parser::new(ctx.clone(), counter.clone());
            let mut templates = portent_io::netflow::Templates::default();
            let mut buf = vec![0u8; 65536];
            let mut first_at: Option<Instant> = None;
            let mut drops_read = Instant::now();
            // The kernel counts drops per socket from its creation: a fresh one starts at 0.
            let mut kernel_seen = kernel_drops(bound.port()).unwrap_or(0);
            let mut kernel_check = |parser: &Parser| {
                if let Some(d) = kernel_drops(bound.port()) {
                    if d > kernel_seen {
                        parser.dropped("kernel receive buffer full", d - kernel_seen);
                        metrics
                            .udp_kernel_drops
                            .fetch_add(d - kernel_seen, Ordering::Relaxed);
                        kernel_seen = d;
                    }
                }
            };
            let mut n = 0u64;
            while !ctx.stop.load(Ordering::Relaxed) {
                match socket.recv_from(&mut buf) {
                    Ok((len, peer)) => {
                        n += 1;
                        let received = Instant::now();
                        first_at.get_or_insert(received);
                        let msg = &buf[..len];
                        match kind {
                            Datagrams::Syslog => {
                                let at = n;
                                parser.message(msg, received, &|| {
                                    format!("{name} from {peer}, datagram {at}")
                                })
                            }
                            Datagrams::Flows => {
                                let m = &metrics.sources[ctx.index];
                                m.messages.fetch_add(1, Ordering::Relaxed);
                                m.bytes.fetch_add(len as u64, Ordering::Relaxed);
                                let schema = ctx.schema.get();
                                let mut flows = Vec::new();
                                let skips = portent_io::netflow::decode(
                                    msg,
                                    peer.ip(),
                                    &mut templates,
                                    &schema,
                                    &mut |r| flows.push(r),
                                );
                                for rec in flows {
                                    let id = counter.fetch_add(1, Ordering::Relaxed);
                                    parser.push(
                                        rec,
                                        received,
                                        format!("{}-{id}", ctx.run_id).into(),
                                    );
                                }
                                for s in skips {
                                    match s {
                                        portent_io::netflow::Skip::Malformed(m) => {
                                            parser.dropped("malformed flow packet", 1);
                                            crate::log::warn(
                                                "malformed flow packet",
                                                &[("source", &name), ("from", &peer), ("why", &m)],
                                            );
                                        }
                                        portent_io::netflow::Skip::NoTemplate {
                                            records, ..
                                        } => {
                                            parser.dropped("flow data before its template", records)
                                        }
                                    }
                                }
                            }
                        }
                    }
                    Err(e)
                        if matches!(
                            e.kind(),
                            std::io::ErrorKind::WouldBlock | std::io::ErrorKind::TimedOut
                        ) => {}
                    Err(e) => {
                        crate::log::warn("receive failed", &[("source", &name), ("error", &e)])
                    }
                }
                if parser.len() >= BATCH
                    || first_at.is_some_and(|t| t.elapsed() >= Duration::from_millis(5))
                {
                    parser.try_send();
                    first_at = None;
                }
                if drops_read.elapsed() >= Duration::from_secs(1) {
                    drops_read = Instant::now();
                    kernel_check(&parser);
                }
            }
            parser.try_send();
            kernel_check(&parser);
        })
        .map_err(|e| Error::bind(addr, e))?;
    Ok((bound, handle))
}

/// The kernel's drop count for the UDP socket on `port` (Linux only).
fn kernel_drops(port: u16) -> Option<u64> {
    let want = format!(":{port:04X}");
    let mut total = None;
    for table in ["/proc/net/udp", "/proc/net/udp6"] {
        let Ok(text) = std::fs::read_to_string(table) else {
            continue;
        };
        for line in text.lines().skip(1) {
            let cols: Vec<&str> = line.split_whitespace().collect();
            if cols.get(1).is_some_and(|local| local.ends_with(&want)) {
                if let Some(d) = cols.last().and_then(|d| d.parse::<u64>().ok()) {
                    *total.get_or_insert(0) += d;
                }
            }
        }
    }
    total
}

/// Standard input, one message per line, until it ends.
pub fn stdin(ctx: Context) -> std::thread::JoinHandle<()> {
    std::thread::spawn(move || {
        let name = ctx.name.clone();
        let mut parser = Parser::new(ctx.clone(), Arc::new(AtomicU64::new(0)));
        let stdin = std::io::stdin();
        let mut r = std::io::BufReader::with_capacity(1 << 20, stdin.lock());
        let mut line = Vec::new();
        let mut n = 0u64;
        loop {
            line.clear();
            match r.read_until(b'\n', &mut line) {
                Ok(0) => break,
                Ok(_) => {}
                Err(e) => {
                    crate::log::error("cannot read standard input", &[("error", &e)]);
                    break;
                }
            }
            n += 1;
            let at = n;
            let text = line.strip_suffix(b"\n").unwrap_or(&line);
            if !text.iter().all(u8::is_ascii_whitespace) {
                parser.message(text, Instant::now(), &|| format!("{name}, line {at}"));
            }
            // Send when the batch is full or nothing more is waiting to be read.
            if (parser.len() >= BATCH || r.buffer().is_empty()) && !parser.send(None, false) {
                return;
            }
            if ctx.stop.load(Ordering::Relaxed) {
                break;
            }
        }
        parser.send(None, false);
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn kernel_drop_lookup_finds_a_bound_socket() {
        let s = UdpSocket::bind("127.0.0.1:0").unwrap();
        let port = s.local_addr().unwrap().port();
        if std::path::Path::new("/proc/net/udp").exists() {
            assert_eq!(kernel_drops(port), Some(0));
        }
    }

    #[test]
    fn the_budget_holds_sources_back_until_the_evaluator_takes_batches() {
        let budget = Arc::new(Budget::new(1000));
        let stop = Arc::new(AtomicBool::new(false));
        budget.acquire(600, &stop);
        // A second batch does not fit: UDP would drop it...
        assert!(!budget.try_acquire(600));
        assert!(budget.try_acquire(400));
        budget.release(400);
        // ...and a waiting source goes on once the evaluator gives room back.
        let (b, s) = (budget.clone(), stop.clone());
        let waiter = std::thread::spawn(move || {
            b.acquire(600, &s);
            b.used()
        });
        std::thread::sleep(Duration::from_millis(150));
        assert!(!waiter.is_finished(), "acquired past the budget");
        budget.release(600);
        assert_eq!(waiter.join().unwrap(), 600);
        // A batch bigger than the whole budget goes when the queue is empty.
        budget.release(600);
        assert!(budget.try_acquire(5000));
        // Stopping unblocks a waiting source (the evaluator may be gone).
        let (b, s) = (budget.clone(), stop.clone());
        let waiter = std::thread::spawn(move || b.acquire(10, &s));
        std::thread::sleep(Duration::from_millis(50));
        stop.store(true, Ordering::Relaxed);
        waiter.join().unwrap();
        assert_eq!(budget.used(), 5010);
    }
}
