//! Putting a watch together: sources, the queue, the evaluator, sinks,
//! metrics and signals (SIGTERM/SIGINT stop and drain, SIGHUP reloads rules).

use crate::checkpoint::Checkpoints;
use crate::config::{duration, SinkConfig, SourceConfig, WatchConfig};
use crate::error::Error;
use crate::follow::{follow, FollowOptions, Start};
use crate::metrics::Metrics;
use crate::pipeline::{Flags, Loader, Outcome, Pipeline};
use crate::sink::{
    Dedup, Fsync, JsonlSink, LeefSink, Retry, Sink, StdoutSink, Transport, WebhookSink,
};
use crate::source::{self, Budget, Context, Datagrams, SchemaCell};
use portent_core::Schema;
use portent_detect::detector::Correlator;
use portent_io::ReadOptions;
use std::path::PathBuf;
use std::sync::Arc;

/// Everything a watch is made of.
pub struct Watch {
    /// The configuration (file and flags merged).
    pub config: WatchConfig,
    /// The schema the rules were compiled with.
    pub schema: Schema,
    /// Builds the rules, at start and on SIGHUP. It may add custom properties
    /// to the schema it is given (see [`Watch::schema_cell`]).
    pub loader: Loader,
    /// Reader settings.
    pub read: ReadOptions,
    /// Shared with the loader so a reload can publish a grown schema.
    pub schema_cell: Arc<SchemaCell>,
    /// Signals; the caller may keep a clone to stop the watch itself.
    pub flags: Flags,
}

/// Default state directory.
pub const STATE_DIR: &str = ".portent-state";

fn name_of(s: &SourceConfig) -> String {
    match s {
        SourceConfig::SyslogTcp { listen, .. } => format!("tcp:{listen}"),
        SourceConfig::SyslogUdp { listen } => format!("udp:{listen}"),
        SourceConfig::Netflow { listen } => format!("netflow:{listen}"),
        SourceConfig::File { path, .. } => format!("file:{}", path.display()),
        SourceConfig::Stdin => "stdin".to_owned(),
        SourceConfig::Nats { stream, member, .. } => format!(
            "nats:{}:{}",
            stream.as_deref().unwrap_or(crate::nats_names::STREAM),
            member.as_deref().unwrap_or("0/1")
        ),
    }
}

/// Default queue capacity in MiB of messages.
pub const DEFAULT_QUEUE_MB: usize = 16;

/// Runs the watch until it is stopped (or its only sources end).
pub fn run(w: Watch) -> Result<Outcome, Error> {
    let cfg = &w.config;
    crate::log::set_text(cfg.log_format.as_deref() == Some("text"));
    if cfg.source.is_empty() {
        return Err(Error::config("no sources: give --listen-tcp, --listen-udp, --follow, --stdin, --netflow or --nats (or [[source]] in the config)"));
    }
    let state_dir = cfg
        .state_dir
        .clone()
        .unwrap_or_else(|| PathBuf::from(STATE_DIR));
    let names: Vec<String> = cfg.source.iter().map(name_of).collect();
    let metrics = Arc::new(Metrics::new(names.clone()));
    let queue = cfg.queue.unwrap_or(64).max(1);
    metrics
        .queue_capacity
        .store(queue as u64, std::sync::atomic::Ordering::Relaxed);
    let (tx, rx) = crossbeam_channel::bounded(queue);
    let budget = Arc::new(Budget::new(
        cfg.queue_mb
            .unwrap_or(DEFAULT_QUEUE_MB)
            .saturating_mul(1 << 20),
    ));
    metrics
        .queue_bytes_limit
        .store(budget.limit() as u64, std::sync::atomic::Ordering::Relaxed);
    let flags = w.flags.clone();
    for (sig, flag) in [
        (signal_hook::consts::SIGTERM, &flags.stop),
        (signal_hook::consts::SIGINT, &flags.stop),
        (signal_hook::consts::SIGHUP, &flags.reload),
    ] {
        signal_hook::flag::register(sig, flag.clone())
            .map_err(|e| Error::config(format!("cannot handle signal {sig}: {e}")))?;
    }
    let metrics_addr = match cfg.metrics.as_deref() {
        Some("off") => None,
        other => {
            let addr = other.unwrap_or("127.0.0.1:9464");
            let sa = addr
                .parse()
                .map_err(|_| Error::config(format!("--metrics: `{addr}` is not an address")))?;
            Some(crate::metrics::serve(sa, metrics.clone()).map_err(|e| {
                let taken = e.kind() == std::io::ErrorKind::AddrInUse;
                let what = if taken {
                    format!("{addr} (the /metrics address, held by another process, perhaps another watcher; give --metrics ADDR, or --metrics off)")
                } else {
                    format!("{addr} (the /metrics address)")
                };
                Error::bind(&what, e)
            })?)
        }
    };
    if let Some(a) = metrics_addr {
        crate::log::info("metrics", &[("address", &format!("http://{a}/metrics"))]);
    }
    let sinks = build_sinks(cfg, &state_dir, &metrics)?;
    let sync_checkpoints = sinks_sync(cfg);
    let mut checkpoints: Option<Arc<Checkpoints>> = None;
    let run_id: Arc<str> = run_id().into();
    let mut handles = Vec::new();
    for (index, s) in cfg.source.iter().enumerate() {
        let ctx = Context {
            index,
            name: names[index].clone().into(),
            tx: tx.clone(),
            budget: budget.clone(),
            metrics: metrics.clone(),
            stop: flags.stop.clone(),
            schema: w.schema_cell.clone(),
            read: w.read.clone(),
            run_id: run_id.clone(),
        };
        match s {
            SourceConfig::SyslogTcp {
                listen,
                max_connections,
            } => {
                let (bound, h) = source::tcp(ctx, listen, max_connections.unwrap_or(1024))?;
                crate::log::info(
                    "listening",
                    &[
                        ("source", &names[index]),
                        ("protocol", &"tcp"),
                        ("address", &bound),
                    ],
                );
                handles.push(h);
            }
            SourceConfig::SyslogUdp { listen } | SourceConfig::Netflow { listen } => {
                let kind = if matches!(s, SourceConfig::Netflow { .. }) {
                    Datagrams::Flows
                } else {
                    Datagrams::Syslog
                };
                let (bound, h) = source::udp(ctx, listen, kind)?;
                crate::log::info(
                    "listening",
                    &[
                        ("source", &names[index]),
                        ("protocol", &"udp"),
                        ("address", &bound),
                    ],
                );
                handles.push(h);
            }
            SourceConfig::File { path, start } => {
                let start = match start.as_deref() {
                    None | Some("beginning") => Start::Beginning,
                    Some("end") => Start::End,
                    Some(o) => {
                        return Err(Error::config(format!(
                            "file start `{o}`: use beginning or end"
                        )))
                    }
                };
                let cps = match &checkpoints {
                    Some(c) => c.clone(),
                    None => {
                        let c = Arc::new(Checkpoints::open(&state_dir, sync_checkpoints)?);
                        checkpoints = Some(c.clone());
                        c
                    }
                };
                let opts = FollowOptions {
                    start,
                    ..FollowOptions::default()
                };
                handles.push(follow(ctx, path.clone(), cps, opts));
            }
            SourceConfig::Stdin => handles.push(source::stdin(ctx)),
            SourceConfig::Nats { .. } => handles.push(crate::nats_source(ctx, s)?),
        }
    }
    drop(tx);
    let dedup = match &cfg.dedup {
        Some(d) => duration(d).map_err(Error::config)?,
        None => std::time::Duration::ZERO,
    };
    let join_wait = match &cfg.join_wait {
        Some(d) => duration(d).map_err(Error::config)?,
        None => std::time::Duration::from_secs(2),
    };
    if join_wait > std::time::Duration::from_secs(20)
        && cfg
            .source
            .iter()
            .any(|s| matches!(s, SourceConfig::Nats { .. }))
    {
        // Acknowledgements wait for the joins; JetStream would redeliver first.
        return Err(Error::config("--join-wait over 20s cannot be used with --nats (JetStream redelivers unacknowledged messages after 30 s)"));
    }
    let pipeline = Pipeline {
        rx,
        budget: budget.clone(),
        sources: names.iter().map(|n| Arc::from(n.as_str())).collect(),
        sinks,
        metrics: metrics.clone(),
        correlator: Correlator::new(cfg.index_capacity.unwrap_or(200_000)),
        dedup: Dedup::new(dedup, 100_000),
        flags: flags.clone(),
        live_window: cfg.window.as_deref() != Some("ignore"),
        join_wait,
        max_waiting: 100_000,
        waiting: Default::default(),
        acks: Default::default(),
        batches: 0,
    };
    crate::log::info("watching", &[("sources", &names.join(", "))]);
    let result = pipeline.run(w.loader);
    // On a sink failure the evaluator is gone: sources must stop too.
    flags.stop.store(true, std::sync::atomic::Ordering::Relaxed);
    metrics
        .stopping
        .store(true, std::sync::atomic::Ordering::Relaxed);
    for h in handles {
        let _ = h.join();
    }
    let outcome = result?;
    let dropped = metrics.dropped_total();
    crate::log::info(
        "stopped",
        &[
            ("events", &outcome.events),
            ("alerts", &outcome.alerts),
            ("dropped_or_unreadable", &dropped),
        ],
    );
    Ok(outcome)
}

fn sinks_sync(cfg: &WatchConfig) -> bool {
    cfg.sink.iter().any(|s| {
        matches!(s, SinkConfig::Jsonl { fsync: Some(f), .. } if f == "always" || f == "batch")
            || matches!(s, SinkConfig::Jsonl { fsync: None, .. })
    })
}

fn build_sinks(
    cfg: &WatchConfig,
    state_dir: &std::path::Path,
    metrics: &Arc<Metrics>,
) -> Result<Vec<Box<dyn Sink>>, Error> {
    let mut sinks: Vec<Box<dyn Sink>> = Vec::new();
    for s in &cfg.sink {
        sinks.push(match s {
            SinkConfig::Jsonl { path, fsync } => {
                let policy =
                    Fsync::parse(fsync.as_deref().unwrap_or("batch")).map_err(Error::config)?;
                Box::new(JsonlSink::open(path, policy)?)
            }
            SinkConfig::Stdout => Box::new(StdoutSink::new()),
            SinkConfig::Webhook {
                url,
                retries,
                backoff,
                timeout,
            } => {
                let mut r = Retry::default();
                if let Some(n) = retries {
                    r.retries = *n;
                }
                if let Some(b) = backoff {
                    r.backoff = duration(b).map_err(Error::config)?;
                }
                if let Some(t) = timeout {
                    r.timeout = duration(t).map_err(Error::config)?;
                }
                std::fs::create_dir_all(state_dir).map_err(|e| Error::io(state_dir, e))?;
                Box::new(WebhookSink::start(
                    url.clone(),
                    r,
                    state_dir.join("webhook-dead-letter.jsonl"),
                    metrics.clone(),
                ))
            }
            SinkConfig::Leef { address, protocol } => {
                let t = match protocol.as_deref() {
                    None | Some("udp") => Transport::Udp,
                    Some("tcp") => Transport::Tcp,
                    Some(o) => {
                        return Err(Error::config(format!(
                            "LEEF protocol `{o}`: use udp or tcp"
                        )))
                    }
                };
                Box::new(LeefSink::new(address, t))
            }
            SinkConfig::Nats { url, subject } => crate::nats_sink(url, subject.as_deref())?,
        });
    }
    if sinks.is_empty() {
        sinks.push(Box::new(StdoutSink::new()));
    }
    Ok(sinks)
}

fn run_id() -> String {
    let t = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_nanos() as u64);
    format!("{:x}", t ^ ((std::process::id() as u64) << 40))
}
