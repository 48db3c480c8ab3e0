//! Portent's streaming mode (`portent watch`): sources (syslog over TCP and
//! UDP, followed files, stdin, NetFlow/IPFIX, NATS JetStream) feed one
//! bounded queue; one evaluator runs the same compiled rules as `portent
//! hunt` over each event, with the process-creation correlation of the batch
//! readers in bounded memory; alerts go to sinks (JSON lines, webhook, LEEF
//! syslog, NATS) and are flushed before the events that caused them are
//! acknowledged, so a crash loses nothing acknowledged and a restart
//! duplicates nothing.
//!
//! ```
//! use portent_serve::framing::Deframer;
//! let mut d = Deframer::new();
//! d.feed(b"11 <13>1 hello<13>plain\n");
//! assert_eq!(d.next_frame(), Some(&b"<13>1 hello"[..]));
//! assert_eq!(d.next_frame(), Some(&b"<13>plain"[..]));
//! ```
#![forbid(unsafe_code)]
#![deny(missing_docs)]

pub mod checkpoint;
pub mod config;
pub mod error;
pub mod follow;
pub mod framing;
pub mod log;
pub mod metrics;
#[cfg(feature = "nats")]
pub mod nats;
pub mod pipeline;
pub mod sink;
pub mod source;
pub mod watch;

pub use error::{Error, ErrorKind};

/// Names the NATS parts use, present with or without the feature.
pub mod nats_names {
    /// The default stream of events.
    pub const STREAM: &str = "PORTENT_EVENTS";
    /// The default subject prefix of events: `portent.events.<partition>.<host>`.
    pub const SUBJECT: &str = "portent.events";
    /// The default subject of alerts.
    pub const ALERTS: &str = "portent.alerts";
}

#[cfg(feature = "nats")]
fn nats_source(
    ctx: source::Context,
    cfg: &config::SourceConfig,
) -> Result<std::thread::JoinHandle<()>, Error> {
    nats::source(ctx, cfg)
}

#[cfg(not(feature = "nats"))]
fn nats_source(
    _: source::Context,
    _: &config::SourceConfig,
) -> Result<std::thread::JoinHandle<()>, Error> {
    Err(Error::config(
        "this build has no NATS support (build with the `nats` feature)",
    ))
}

#[cfg(feature = "nats")]
fn nats_sink(url: &str, subject: Option<&str>) -> Result<Box<dyn sink::Sink>, Error> {
    Ok(Box::new(nats::AlertSink::connect(
        url,
        subject.unwrap_or(nats_names::ALERTS),
    )?))
}

#[cfg(not(feature = "nats"))]
fn nats_sink(_: &str, _: Option<&str>) -> Result<Box<dyn sink::Sink>, Error> {
    Err(Error::config(
        "this build has no NATS support (build with the `nats` feature)",
    ))
}
