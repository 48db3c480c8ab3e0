//! NATS JetStream: scale-out across workers, and alerts published exactly once.
//!
//! Events go to `<prefix>.<partition>.<host>` (the partition is a hash of
//! the host, so one host's events always reach the same worker and its
//! correlation state stays local). Each partition has one durable pull
//! consumer; a worker that is member `i` of `n` pulls the partitions
//! `p % n == i`. A message is acknowledged only after the alerts of its event
//! are flushed, so a worker killed mid-stream leaves its unacknowledged
//! messages to be redelivered to its replacement.
//!
//! Alerts published to NATS carry their id as `Nats-Msg-Id`; a stream
//! capturing the alert subject drops the duplicate a redelivery would make
//! (JetStream's deduplication window), so together the workers alert exactly
//! once per matching event.

use crate::config::SourceConfig;
use crate::error::Error;
use crate::nats_names::{ALERTS, STREAM, SUBJECT};
use crate::sink::Sink;
use crate::source::{Context, Parser};
use async_nats::jetstream::{self, consumer::pull, stream};
use futures_util::StreamExt;
use portent_detect::alert::Alert;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

/// How long a delivered message may stay unacknowledged before JetStream
/// delivers it again (to a replacement worker, when this one died).
pub const ACK_WAIT: Duration = Duration::from_secs(30);

/// How long JetStream remembers message ids to drop duplicates.
pub const DEDUP_WINDOW: Duration = Duration::from_secs(600);

fn nats_err(what: &str, e: impl std::fmt::Display) -> Error {
    Error::sink(&format!("nats ({what})"), &e.to_string())
}

fn runtime() -> Result<tokio::runtime::Runtime, Error> {
    // One worker runs the client's connection tasks, so the thread that
    // blocks on the evaluator's queue does not stall pings and acks.
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .enable_all()
        .build()
        .map_err(|e| nats_err("runtime", e))
}

/// The partition of `host`: FNV-1a of its lower-case name.
pub fn partition(host: &str, partitions: u32) -> u32 {
    let mut h: u32 = 0x811c_9dc5;
    for b in host.bytes() {
        h ^= b.to_ascii_lowercase() as u32;
        h = h.wrapping_mul(0x0100_0193);
    }
    h % partitions.max(1)
}

/// A host name as one subject token.
pub fn token(host: &str) -> String {
    let t: String = host
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || c == '-' || c == '_' {
                c
            } else {
                '_'
            }
        })
        .collect();
    if t.is_empty() {
        "_".into()
    } else {
        t
    }
}

async fn events_stream(
    js: &jetstream::Context,
    name: &str,
    prefix: &str,
) -> Result<stream::Stream, Error> {
    let config = stream::Config {
        name: name.to_owned(),
        subjects: vec![format!("{prefix}.>")],
        duplicate_window: DEDUP_WINDOW,
        ..Default::default()
    };
    retried("stream", || js.get_or_create_stream(config.clone())).await
}

/// Workers of a group often start together. When two of them make the same
/// stream at once, the server can answer the second with "subjects overlap
/// with an existing stream" while the first creation is under way (seen in CI,
/// nats-server 2.9.10: the worker exited at start and its partitions were
/// never read). So a failed attempt is tried again a few times, and the next
/// attempt finds the stream the other worker made. A real conflict (another
/// stream owning the subjects) still fails, after the last try.
async fn retried<T, E, F, Fut>(what: &str, mut attempt: F) -> Result<T, Error>
where
    E: std::fmt::Display,
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = Result<T, E>>,
{
    let mut tries = 0u32;
    loop {
        match attempt().await {
            Ok(t) => return Ok(t),
            Err(e) if tries + 1 >= STREAM_TRIES => return Err(nats_err(what, e)),
            Err(_) => {
                tries += 1;
                tokio::time::sleep(Duration::from_millis(50 << tries)).await;
            }
        }
    }
}

/// How often making a stream is tried before its error is the answer.
const STREAM_TRIES: u32 = 5;

/// `i/n`.
fn member(s: Option<&str>) -> Result<(u32, u32), Error> {
    let s = s.unwrap_or("0/1");
    let bad = || Error::config(format!("--member `{s}`: use i/n with 0 <= i < n"));
    let (i, n) = s.split_once('/').ok_or_else(bad)?;
    let (i, n): (u32, u32) = (i.parse().map_err(|_| bad())?, n.parse().map_err(|_| bad())?);
    if n == 0 || i >= n {
        return Err(bad());
    }
    Ok((i, n))
}

/// The consumer group member: pulls its partitions and hands events to the evaluator.
pub fn source(ctx: Context, cfg: &SourceConfig) -> Result<std::thread::JoinHandle<()>, Error> {
    let SourceConfig::Nats {
        url,
        stream,
        subject,
        partitions,
        member: m,
    } = cfg
    else {
        return Err(Error::config("not a NATS source"));
    };
    let (me, members) = member(m.as_deref())?;
    let partitions = partitions.unwrap_or(4);
    if members > partitions {
        return Err(Error::config(format!(
            "{members} members but only {partitions} partitions: some would have nothing to do"
        )));
    }
    let (url, stream_name) = (
        url.clone(),
        stream.clone().unwrap_or_else(|| STREAM.to_owned()),
    );
    let prefix = subject.clone().unwrap_or_else(|| SUBJECT.to_owned());
    let rt = runtime()?;
    // Connect before returning, so a wrong URL fails the start, not later.
    let consumers = rt.block_on(async {
        let client = async_nats::connect(&url)
            .await
            .map_err(|e| nats_err("connect", e))?;
        let js = jetstream::new(client);
        let st = events_stream(&js, &stream_name, &prefix).await?;
        let mut consumers = Vec::new();
        for p in (0..partitions).filter(|p| p % members == me) {
            let durable = format!("portent-p{p}");
            let c = st
                .get_or_create_consumer(
                    &durable,
                    pull::Config {
                        durable_name: Some(durable.clone()),
                        filter_subject: format!("{prefix}.{p}.>"),
                        // Well above the longest join wait allowed with NATS (a batch
                        // is acknowledged only once its waiting events are evaluated),
                        // and short enough that a dead worker's messages come back soon.
                        ack_wait: ACK_WAIT,
                        max_ack_pending: 20_000,
                        ..Default::default()
                    },
                )
                .await
                .map_err(|e| nats_err("consumer", e))?;
            consumers.push((p, c));
        }
        Ok::<_, Error>((st, consumers))
    })?;
    let (st, consumers) = consumers;
    crate::log::info(
        "consuming",
        &[
            ("stream", &stream_name),
            ("member", &format!("{me}/{members}")),
            (
                "partitions",
                &format!("{:?}", consumers.iter().map(|c| c.0).collect::<Vec<_>>()),
            ),
        ],
    );
    std::thread::Builder::new()
        .name("nats".into())
        .spawn(move || rt.block_on(consume(ctx, stream_name, prefix, st, consumers)))
        .map_err(|e| nats_err("thread", e))
}

type Acks = Vec<jetstream::Message>;

type Consumers = Vec<(u32, jetstream::consumer::Consumer<pull::Config>)>;

/// A replacement worker starts without the correlation state of the one it
/// replaces: the events its partitions delivered before are read again, from
/// an ephemeral consumer, to rebuild it (remembered, not evaluated; those
/// not acknowledged are then redelivered and evaluated as usual).
async fn warm_up(
    parser: &mut Parser,
    st: &stream::Stream,
    prefix: &str,
    consumers: &mut Consumers,
) {
    for (p, c) in consumers.iter_mut() {
        let floor = match c.info().await {
            Ok(i) => i.delivered.stream_sequence,
            Err(_) => 0,
        };
        if floor == 0 {
            continue;
        }
        let eph = st
            .create_consumer(pull::Config {
                filter_subject: format!("{prefix}.{p}.>"),
                deliver_policy: jetstream::consumer::DeliverPolicy::All,
                ack_policy: jetstream::consumer::AckPolicy::None,
                inactive_threshold: Duration::from_secs(60),
                ..Default::default()
            })
            .await;
        let Ok(eph) = eph else { continue };
        let mut n = 0u64;
        'read: loop {
            let Ok(mut batch) = eph
                .batch()
                .max_messages(crate::source::BATCH)
                .expires(Duration::from_millis(500))
                .messages()
                .await
            else {
                break;
            };
            let mut got = 0;
            while let Some(Ok(m)) = batch.next().await {
                got += 1;
                let seq = m.info().map(|i| i.stream_sequence).unwrap_or(u64::MAX);
                if seq > floor {
                    tokio::task::block_in_place(|| parser.send(None, true));
                    break 'read;
                }
                parser.message_at(
                    &m.payload,
                    Instant::now(),
                    &|| format!("partition {p} #{seq} (warm-up)"),
                    "warm",
                );
                n += 1;
            }
            tokio::task::block_in_place(|| parser.send(None, true));
            if got == 0 {
                break;
            }
        }
        crate::log::info(
            "correlation state rebuilt",
            &[("partition", p), ("events", &n), ("up_to_sequence", &floor)],
        );
    }
}

async fn consume(
    ctx: Context,
    stream: String,
    prefix: String,
    st: stream::Stream,
    mut consumers: Consumers,
) {
    let mut parser = Parser::new(ctx.clone(), Arc::new(AtomicU64::new(0)));
    warm_up(&mut parser, &st, &prefix, &mut consumers).await;
    let (ack_tx, mut ack_rx) = tokio::sync::mpsc::unbounded_channel::<Acks>();
    let name = ctx.name.clone();
    let mut idle = 0;
    while !ctx.stop.load(Ordering::Relaxed) {
        // Acknowledge what the evaluator has made safe.
        while let Ok(done) = ack_rx.try_recv() {
            for m in done {
                if let Err(e) = m.ack().await {
                    crate::log::warn(
                        "ack failed (the message will be redelivered)",
                        &[("source", &name), ("error", &e)],
                    );
                }
            }
        }
        let mut got = 0;
        for (p, c) in &consumers {
            let batch = c
                .batch()
                .max_messages(crate::source::BATCH)
                .expires(Duration::from_millis(if idle > 0 { 200 } else { 20 }))
                .messages()
                .await;
            let mut msgs = match batch {
                Ok(b) => b,
                Err(e) => {
                    crate::log::warn(
                        "pull failed",
                        &[("source", &name), ("partition", p), ("error", &e)],
                    );
                    tokio::time::sleep(Duration::from_millis(200)).await;
                    continue;
                }
            };
            let mut taken: Acks = Vec::new();
            while let Some(m) = msgs.next().await {
                let m = match m {
                    Ok(m) => m,
                    Err(e) => {
                        crate::log::warn("message failed", &[("source", &name), ("error", &e)]);
                        continue;
                    }
                };
                let seq = m.info().map(|i| i.stream_sequence).unwrap_or(0);
                let id = format!("n:{stream}:{seq}");
                let subject = m.subject.to_string();
                parser.message_at(
                    &m.payload,
                    Instant::now(),
                    &|| format!("{name} {subject} #{seq}"),
                    &id,
                );
                taken.push(m);
            }
            got += taken.len();
            if taken.is_empty() {
                continue;
            }
            let tx = ack_tx.clone();
            let ack: crate::source::Ack = Box::new(move || {
                // The evaluator thread only queues them; this thread sends them.
                let _ = tx.send(taken);
                Ok(())
            });
            if !tokio::task::block_in_place(|| parser.send(Some(ack), false)) {
                return;
            }
        }
        idle = if got == 0 { idle + 1 } else { 0 };
    }
    // Stopping: what was handed over is acknowledged once the evaluator is done with it.
    let until = Instant::now() + Duration::from_secs(10);
    drop(ack_tx);
    drop(parser);
    while Instant::now() < until {
        match tokio::time::timeout(Duration::from_millis(200), ack_rx.recv()).await {
            Ok(Some(done)) => {
                for m in done {
                    let _ = m.ack().await;
                }
            }
            Ok(None) => break,
            Err(_) => {}
        }
    }
}

/// Publishes events for the workers, routed by host (`portent replay --to nats://`).
pub struct Publisher {
    rt: tokio::runtime::Runtime,
    js: jetstream::Context,
    prefix: String,
    partitions: u32,
    pending: Vec<jetstream::context::PublishAckFuture>,
    schema: portent_core::Schema,
    sent: u64,
}

impl Publisher {
    /// Connects and makes sure the stream exists.
    pub fn connect(url: &str, stream: &str, partitions: u32) -> Result<Publisher, Error> {
        let rt = runtime()?;
        let url = url.to_owned();
        let js = rt.block_on(async {
            let client = async_nats::connect(&url)
                .await
                .map_err(|e| nats_err("connect", e))?;
            let js = jetstream::new(client);
            events_stream(&js, stream, SUBJECT).await?;
            Ok::<_, Error>(js)
        })?;
        Ok(Publisher {
            rt,
            js,
            prefix: SUBJECT.to_owned(),
            partitions,
            pending: Vec::new(),
            schema: portent_core::Schema::qradar(),
            sent: 0,
        })
    }

    /// The host an event names (read as a watcher would read it).
    fn host_of(&self, msg: &[u8]) -> String {
        use portent_core::Event;
        let mut host = String::new();
        let mut report = portent_io::FileReport::new("replay");
        portent_io::message::read_message(
            msg,
            &String::new,
            &self.schema,
            &portent_io::ReadOptions::default(),
            &mut report,
            &mut |_, r| {
                if host.is_empty() {
                    host = r
                        .get(portent_core::schema::ids::HOSTNAME)
                        .as_str()
                        .unwrap_or_default()
                        .to_owned();
                }
            },
        );
        host
    }

    /// Publishes one event.
    pub fn publish(&mut self, msg: &[u8]) -> Result<(), Error> {
        let host = self.host_of(msg);
        let subject = format!(
            "{}.{}.{}",
            self.prefix,
            partition(&host, self.partitions),
            token(&host)
        );
        self.sent += 1;
        let (js, payload) = (&self.js, bytes::Bytes::copy_from_slice(msg));
        let ack = self
            .rt
            .block_on(async { js.publish(subject, payload).await })
            .map_err(|e| nats_err("publish", e))?;
        self.pending.push(ack);
        if self.pending.len() >= 4096 {
            self.settle()?;
        }
        Ok(())
    }

    fn settle(&mut self) -> Result<(), Error> {
        let pending = std::mem::take(&mut self.pending);
        self.rt.block_on(async {
            for p in pending {
                p.await.map_err(|e| nats_err("publish ack", e))?;
            }
            Ok(())
        })
    }

    /// Waits until JetStream has stored everything published.
    pub fn finish(&mut self) -> Result<(), Error> {
        self.settle()
    }
}

/// Alerts to a NATS subject, each with `Nats-Msg-Id` = its alert id; a
/// stream (created if missing) captures the subject and drops duplicates.
pub struct AlertSink {
    name: String,
    rt: tokio::runtime::Runtime,
    js: jetstream::Context,
    subject: String,
    pending: Vec<jetstream::context::PublishAckFuture>,
}

impl AlertSink {
    /// Connects; the alert stream is `PORTENT_ALERTS` unless one already captures the subject.
    pub fn connect(url: &str, subject: &str) -> Result<AlertSink, Error> {
        let rt = runtime()?;
        let (u, s) = (url.to_owned(), subject.to_owned());
        let js = rt.block_on(async {
            let client = async_nats::connect(&u)
                .await
                .map_err(|e| nats_err("connect", e))?;
            let js = jetstream::new(client);
            let name = if s == ALERTS {
                "PORTENT_ALERTS".to_owned()
            } else {
                format!("PORTENT_ALERTS_{}", token(&s))
            };
            // A stream that already captures the subject (one of the
            // operator's, or another worker's) is used as it is.
            retried("alert stream", || async {
                if js.stream_by_subject(&s).await.is_ok() {
                    return Ok(());
                }
                js.get_or_create_stream(stream::Config {
                    name: name.clone(),
                    subjects: vec![s.clone()],
                    duplicate_window: DEDUP_WINDOW,
                    ..Default::default()
                })
                .await
                .map(drop)
            })
            .await?;
            Ok::<_, Error>(js)
        })?;
        Ok(AlertSink {
            name: format!("nats:{url}/{subject}"),
            rt,
            js,
            subject: subject.to_owned(),
            pending: Vec::new(),
        })
    }
}

impl Sink for AlertSink {
    fn name(&self) -> &str {
        &self.name
    }

    fn send(&mut self, alert: &Alert, line: &str) -> Result<(), Error> {
        let publish = jetstream::context::Publish::build()
            .payload(bytes::Bytes::copy_from_slice(line.as_bytes()))
            .message_id(&alert.id);
        let (js, subject) = (&self.js, self.subject.clone());
        let ack = self
            .rt
            .block_on(async { js.send_publish(subject, publish).await })
            .map_err(|e| Error::sink(&self.name, &e.to_string()))?;
        self.pending.push(ack);
        Ok(())
    }

    fn flush(&mut self) -> Result<(), Error> {
        let pending = std::mem::take(&mut self.pending);
        let name = self.name.clone();
        self.rt.block_on(async {
            for p in pending {
                p.await.map_err(|e| Error::sink(&name, &e.to_string()))?;
            }
            Ok(())
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Attempts that fail `failures` times and then succeed: the outcome
    /// and the number of attempts made.
    fn attempts(failures: u32) -> (Result<u32, String>, u32) {
        let made = std::cell::Cell::new(0);
        let out = runtime().unwrap().block_on(retried("stream", || {
            made.set(made.get() + 1);
            let n = made.get();
            async move {
                if n <= failures {
                    Err(format!("subjects overlap (attempt {n})"))
                } else {
                    Ok(n)
                }
            }
        }));
        (out.map_err(|e| e.to_string()), made.get())
    }

    #[test]
    fn making_a_stream_is_tried_again_and_the_last_error_is_the_answer() {
        assert_eq!(attempts(0), (Ok(1), 1));
        assert_eq!(attempts(STREAM_TRIES - 1), (Ok(STREAM_TRIES), STREAM_TRIES));
        let (out, made) = attempts(STREAM_TRIES);
        assert_eq!(made, STREAM_TRIES, "no attempt after the last try");
        let e = out.unwrap_err();
        assert!(
            e.contains("stream") && e.contains(&format!("attempt {STREAM_TRIES}")),
            "{e}"
        );
    }

    #[test]
    fn hosts_route_to_stable_partitions_and_tokens() {
        assert_eq!(
            partition("WS1.corp.local", 8),
            partition("ws1.CORP.local", 8)
        );
        let spread: std::collections::BTreeSet<u32> = (0..100)
            .map(|i| partition(&format!("host{i}"), 4))
            .collect();
        assert_eq!(spread.len(), 4);
        assert_eq!(token("WS1.corp.local"), "WS1_corp_local");
        assert_eq!(token(""), "_");
        assert_eq!(member(Some("1/2")).unwrap(), (1, 2));
        assert!(member(Some("2/2")).is_err());
    }
}
