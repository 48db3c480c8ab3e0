//! `portent replay`: the load generator. Sends evidence (EVTX records as
//! JSON, JSON lines, LEEF lines) to a watcher as syslog over TCP or UDP, or
//! publishes it to NATS JetStream routed by host, at a given rate.

use anyhow::{bail, Context, Result};
use std::io::{Read, Write};
use std::path::PathBuf;
use std::time::{Duration, Instant};

/// Arguments of `portent replay`.
#[derive(clap::Args)]
pub struct Args {
    /// Evidence to send: files, folders, archives (as `portent hunt` reads them).
    #[arg(value_name = "PATH", required = true)]
    paths: Vec<PathBuf>,
    /// Where: tcp://HOST:PORT, udp://HOST:PORT, nats://HOST:PORT, or `null`
    /// (nothing is sent: counts the events and measures the generator).
    #[arg(long, value_name = "URL")]
    to: String,
    /// Events per second (0: as fast as the receiver takes them).
    #[arg(long, default_value = "0")]
    rate: u64,
    /// Send everything this many times.
    #[arg(long, default_value = "1", value_name = "N")]
    repeat: u64,
    /// TCP framing: octet (RFC 6587 octet counting) or newline.
    #[arg(long, default_value = "octet")]
    framing: String,
    /// NATS: partitions of the stream (events go to <subject>.<partition>.<host>).
    #[arg(long, default_value = "4")]
    partitions: u32,
    /// NATS: the stream (created when missing).
    #[arg(long, default_value = portent_serve::nats_names::STREAM)]
    stream: String,
    /// `time` (default): events in the order of their own times, as the
    /// hosts logged them (evidence folders are read file by file, and a
    /// process's creation can sit in a later file than its connections);
    /// `input`: in the order read.
    #[arg(long, default_value = "time")]
    order: String,
    /// TCP: how long to wait, after the last event, for the watcher to
    /// confirm it read everything (it closes its side); seconds.
    #[arg(long, default_value_t = 120)]
    ack_timeout: u64,
}

/// Sorts `messages` by the time of the event each holds (read as a watcher
/// reads it); a message without one keeps the time of the one before it.
fn by_time(messages: &mut Vec<Vec<u8>>) {
    use portent_core::Event;
    let schema = portent_core::Schema::qradar();
    let opts = portent_io::ReadOptions {
        keep_unknown: false,
        ..portent_io::ReadOptions::default()
    };
    let mut report = portent_io::FileReport::new("replay");
    let mut last = i64::MIN;
    let mut keyed: Vec<(i64, Vec<u8>)> = messages
        .drain(..)
        .map(|m| {
            let mut t = None;
            portent_io::message::read_message(
                &m,
                &String::new,
                &schema,
                &opts,
                &mut report,
                &mut |_, r| {
                    t = t.or(r.get(portent_core::schema::ids::STARTTIME).to_i64());
                },
            );
            last = t.unwrap_or(last);
            (last, m)
        })
        .collect();
    keyed.sort_by_key(|(t, _)| *t);
    messages.extend(keyed.into_iter().map(|(_, m)| m));
}

enum Out {
    Null,
    Tcp(std::io::BufWriter<std::net::TcpStream>, bool),
    Udp(std::net::UdpSocket),
    #[cfg(feature = "nats")]
    Nats(Box<portent_serve::nats::Publisher>),
}

/// Runs the replay.
pub fn run(a: Args) -> Result<crate::Exit> {
    let (scheme, addr) = if a.to == "null" {
        Some(("null", ""))
    } else {
        a.to.split_once("://")
    }
    .with_context(|| {
        format!(
            "--to: `{}` is not tcp://, udp:// or nats://HOST:PORT, or null",
            a.to
        )
    })?;
    let mut out = match scheme {
        "null" => Out::Null,
        "tcp" => {
            let s = std::net::TcpStream::connect(addr)
                .with_context(|| format!("cannot connect to {addr}"))?;
            s.set_nodelay(true)?;
            let octet = match a.framing.as_str() {
                "octet" => true,
                "newline" => false,
                f => bail!("--framing takes octet or newline, not `{f}`"),
            };
            Out::Tcp(std::io::BufWriter::with_capacity(256 * 1024, s), octet)
        }
        "udp" => {
            let s = std::net::UdpSocket::bind("0.0.0.0:0")?;
            s.connect(addr)
                .with_context(|| format!("cannot reach {addr}"))?;
            Out::Udp(s)
        }
        #[cfg(feature = "nats")]
        "nats" => Out::Nats(Box::new(portent_serve::nats::Publisher::connect(
            &a.to,
            &a.stream,
            a.partitions,
        )?)),
        other => bail!(
            "--to: unknown scheme `{other}` (tcp, udp{})",
            if cfg!(feature = "nats") { ", nats" } else { "" }
        ),
    };
    // Messages are read once and kept: the rate then measures sending, not reading.
    let mut messages: Vec<Vec<u8>> = Vec::new();
    let reports = portent_io::read_raw(
        &a.paths,
        &portent_io::ReadOptions::default(),
        &mut |_, m| messages.push(m.to_vec()),
    );
    match a.order.as_str() {
        "time" => by_time(&mut messages),
        "input" => {}
        o => bail!("--order takes time or input, not `{o}`"),
    }
    let mut unreadable = 0;
    for r in &reports {
        if r.fatal.is_some() || r.skipped_total() > 0 {
            unreadable += 1;
            eprintln!("portent: replay: {r}");
        }
    }
    let header = |ts: &str| format!("<13>1 {ts} - portent-replay - - - ");
    let started = Instant::now();
    let mut sent = 0u64;
    let mut bytes = 0u64;
    let mut ts = chrono::Utc::now()
        .format("%Y-%m-%dT%H:%M:%S%.3fZ")
        .to_string();
    let mut msg = Vec::with_capacity(64 * 1024);
    let mut send_all = || -> Result<()> {
        for _ in 0..a.repeat {
            for m in &messages {
                if a.rate > 0 && sent % 64 == 0 {
                    let due = Duration::from_secs_f64(sent as f64 / a.rate as f64);
                    let now = started.elapsed();
                    if due > now {
                        if let Out::Tcp(w, _) = &mut out {
                            w.flush()?;
                        }
                        std::thread::sleep(due - now);
                    }
                    ts = chrono::Utc::now()
                        .format("%Y-%m-%dT%H:%M:%S%.3fZ")
                        .to_string();
                }
                msg.clear();
                msg.extend_from_slice(header(&ts).as_bytes());
                msg.extend_from_slice(m);
                match &mut out {
                    Out::Null => {}
                    Out::Tcp(w, true) => {
                        write!(w, "{} ", msg.len())?;
                        w.write_all(&msg)?;
                    }
                    Out::Tcp(w, false) => {
                        w.write_all(&msg)?;
                        w.write_all(b"\n")?;
                    }
                    Out::Udp(s) => {
                        s.send(&msg)?;
                    }
                    #[cfg(feature = "nats")]
                    Out::Nats(p) => p.publish(m)?,
                }
                sent += 1;
                bytes += msg.len() as u64;
            }
        }
        match &mut out {
            Out::Tcp(w, _) => w.flush()?,
            Out::Udp(_) | Out::Null => {}
            #[cfg(feature = "nats")]
            Out::Nats(p) => p.finish()?,
        }
        Ok(())
    };
    let outcome = send_all();
    let secs = started.elapsed().as_secs_f64();
    if let Err(e) = outcome {
        bail!(
            "the connection failed after {sent} of {} events ({:.1} MB) were handed to it; the watcher may not have read the last of them: {e:#}",
            messages.len() as u64 * a.repeat,
            bytes as f64 / 1e6
        );
    }
    // A TCP watcher closes its side once it has read to the end of what was
    // sent; until it does, the last events are only in a socket buffer. A
    // watcher that went away mid-stream resets the connection instead.
    let confirmed = match out {
        Out::Tcp(w, _) => {
            let s = w.into_inner().map_err(|e| e.into_error())?;
            s.shutdown(std::net::Shutdown::Write)?;
            s.set_read_timeout(Some(Duration::from_secs(a.ack_timeout)))?;
            let mut rest = Vec::new();
            match (&s).read_to_end(&mut rest) {
                Ok(_) => "the watcher read them all and closed the connection",
                Err(e) if matches!(e.kind(), std::io::ErrorKind::WouldBlock | std::io::ErrorKind::TimedOut) => bail!(
                    "sent {sent} events, but the watcher did not confirm reading them within {} s (--ack-timeout)",
                    a.ack_timeout
                ),
                Err(e) => bail!(
                    "sent {sent} events, but the watcher went away before reading them all (the connection was {e}); some of them were lost"
                ),
            }
        }
        Out::Udp(_) => "UDP: delivery is not confirmed",
        Out::Null => "nothing was sent",
        #[cfg(feature = "nats")]
        Out::Nats(_) => "JetStream acknowledged each",
    };
    eprintln!(
        "portent: replay: sent {sent} events ({:.1} MB) in {secs:.2} s: {:.0} events/s; {confirmed}{}",
        bytes as f64 / 1e6,
        sent as f64 / secs.max(1e-9),
        if unreadable > 0 {
            format!("; {unreadable} input(s) had unreadable parts (above)")
        } else {
            String::new()
        }
    );
    Ok(if unreadable > 0 {
        crate::Exit::PartialInput
    } else {
        crate::Exit::Ok
    })
}
