//! The evaluator: takes batches off the queue, runs the rules, hands alerts
//! to the sinks, flushes them and then acknowledges the batch. Rules are
//! reloaded between batches (so no event is dropped or seen twice across a
//! reload), and on shutdown the queue is drained before the sinks' last flush.

use crate::error::Error;
use crate::metrics::{add, Metrics};
use crate::sink::{Dedup, Sink};
use crate::source::Ack;
use crate::source::Batch;
use crossbeam_channel::{Receiver, RecvTimeoutError};
use portent_detect::alert::Alert;
use portent_detect::detector::{Correlator, Detector, RuleSet, Stamped};
use portent_io::correlate::Outcome as Join;
use std::collections::VecDeque;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

/// Builds the rules (again, on SIGHUP).
pub type Loader = Box<dyn FnMut() -> Result<RuleSet, String> + Send>;

/// Signals the pipeline watches.
#[derive(Clone, Default)]
pub struct Flags {
    /// Reload the rules at the next batch boundary.
    pub reload: Arc<AtomicBool>,
    /// Stop: sources stop reading; the queue is drained.
    pub stop: Arc<AtomicBool>,
}

/// What the evaluator needs besides the rules.
pub struct Pipeline {
    /// The queue.
    pub rx: Receiver<Batch>,
    /// Bytes it may hold (given back as batches are taken).
    pub budget: Arc<crate::source::Budget>,
    /// Source names, by index.
    pub sources: Vec<Arc<str>>,
    /// The sinks.
    pub sinks: Vec<Box<dyn Sink>>,
    /// Counters.
    pub metrics: Arc<Metrics>,
    /// Correlation state.
    pub correlator: Correlator,
    /// Repeat folding.
    pub dedup: Dedup,
    /// Signals.
    pub flags: Flags,
    /// NOW() is the wall clock (the rules' windows apply); false: no window.
    pub live_window: bool,
    /// How long an event that may alert waits for its process creation (a
    /// forwarder can deliver a connection before the creation of its process).
    pub join_wait: Duration,
    /// Events waiting at most; beyond, the oldest is evaluated without its creation.
    pub max_waiting: usize,
    /// Waiting events.
    pub waiting: VecDeque<Waiting>,
    /// Acknowledgements held until their batch's waiting events are evaluated.
    pub acks: VecDeque<(u64, Ack)>,
    /// Batches taken so far.
    pub batches: u64,
}

/// An event waiting for its process creation.
pub struct Waiting {
    ev: Stamped,
    source: Arc<str>,
    since: Instant,
    batch: u64,
}

enum Next {
    Reload,
    Done,
}

/// What a finished watch did.
#[derive(Debug, Default)]
pub struct Outcome {
    /// Events evaluated.
    pub events: u64,
    /// Alerts sent.
    pub alerts: u64,
}

fn now_ms() -> i64 {
    chrono::Utc::now().timestamp_millis()
}

impl Pipeline {
    /// Runs until every source has ended (after a stop, or stdin's end).
    pub fn run(mut self, mut loader: Loader) -> Result<Outcome, Error> {
        let mut set = loader().map_err(Error::config)?;
        let mut outcome = Outcome::default();
        loop {
            match self.evaluate(&set, &mut outcome)? {
                Next::Done => break,
                Next::Reload => match loader() {
                    Ok(s) => {
                        self.metrics.reloads.fetch_add(1, Ordering::Relaxed);
                        crate::log::info("rules reloaded", &[("rules", &s.rules.len())]);
                        set = s;
                    }
                    Err(e) => {
                        self.metrics.reload_failures.fetch_add(1, Ordering::Relaxed);
                        crate::log::error("reload failed; the old rules stay", &[("error", &e)]);
                    }
                },
            }
        }
        let folded = self.dedup.expire(true);
        self.deliver(folded, &mut outcome)?;
        self.flush()?;
        Ok(outcome)
    }

    fn evaluate(&mut self, set: &RuleSet, outcome: &mut Outcome) -> Result<Next, Error> {
        let mut det = Detector::new(set, now_ms());
        let correlate = set.needs_correlation();
        let mut clock_at = Instant::now();
        let mut alerts = Vec::new();
        loop {
            if self.flags.reload.swap(false, Ordering::Relaxed) {
                // Groups of the old rules report now; waiting events are kept
                // and meet the new rules.
                det.tick(&mut alerts, true);
                report(&mut det, &self.metrics);
                self.deliver(std::mem::take(&mut alerts), outcome)?;
                self.flush()?;
                return Ok(Next::Reload);
            }
            self.metrics.beat();
            self.metrics
                .queue_depth
                .store(self.rx.len() as u64, Ordering::Relaxed);
            let got = self.rx.recv_timeout(Duration::from_millis(50));
            if self.live_window && clock_at.elapsed() >= Duration::from_millis(250) {
                det.set_now(now_ms());
                clock_at = Instant::now();
            }
            match got {
                Ok(batch) => {
                    self.batch(batch, &mut det, correlate, &mut alerts, outcome)?;
                }
                Err(RecvTimeoutError::Timeout) => {}
                Err(RecvTimeoutError::Disconnected) => {
                    self.expire_waiting(&mut det, &mut alerts, true);
                    det.tick(&mut alerts, true);
                    report(&mut det, &self.metrics);
                    self.deliver(std::mem::take(&mut alerts), outcome)?;
                    self.flush()?;
                    self.run_acks()?;
                    return Ok(Next::Done);
                }
            }
            det.tick(&mut alerts, false);
            if !self.waiting.is_empty() {
                self.expire_waiting(&mut det, &mut alerts, false);
            }
            let expired = self.dedup.expire(false);
            alerts.extend(expired);
            if !alerts.is_empty() {
                self.deliver(std::mem::take(&mut alerts), outcome)?;
                self.flush()?;
            }
            self.run_acks()?;
            for s in &mut self.sinks {
                if let Err(e) = s.tick() {
                    add(
                        &self.metrics.sink_errors,
                        (s.name().to_owned(), e.to_string()),
                        1,
                    );
                }
            }
        }
    }

    fn batch(
        &mut self,
        mut batch: Batch,
        det: &mut Detector<'_>,
        correlate: bool,
        alerts: &mut Vec<Alert>,
        outcome: &mut Outcome,
    ) -> Result<(), Error> {
        let source = self
            .sources
            .get(batch.source)
            .cloned()
            .unwrap_or_else(|| "?".into());
        self.budget.release(batch.bytes);
        self.metrics
            .queue_bytes
            .store(self.budget.used() as u64, Ordering::Relaxed);
        if batch.warm {
            for ev in &batch.events {
                self.correlator.remember(&ev.record);
            }
            return Ok(());
        }
        self.batches += 1;
        let seq = self.batches;
        let n = batch.events.len() as u64;
        let mut created = false;
        for mut ev in batch.events.drain(..) {
            if correlate {
                let (c, join) = self.correlator.observe(&mut ev.record);
                created |= c;
                if join == Join::Missing
                    && !self.join_wait.is_zero()
                    && det.may_need_join(&ev.record)
                {
                    self.waiting.push_back(Waiting {
                        ev,
                        source: source.clone(),
                        since: Instant::now(),
                        batch: seq,
                    });
                    continue;
                }
            }
            det.evaluate(&ev, &source, alerts);
            self.metrics.event_latency.observe(ev.received.elapsed());
        }
        if created && !self.waiting.is_empty() {
            self.rejoin(det, alerts);
        }
        self.metrics.evaluated.fetch_add(n, Ordering::Relaxed);
        outcome.events += n;
        let (size, evicted) = self.correlator.size();
        self.metrics
            .index_size
            .store(size as u64, Ordering::Relaxed);
        self.metrics.index_evicted.store(evicted, Ordering::Relaxed);
        report(det, &self.metrics);
        if let Some(ack) = batch.ack.take() {
            self.acks.push_back((seq, ack));
        }
        self.expire_waiting(det, alerts, false);
        self.deliver(std::mem::take(alerts), outcome)?;
        self.flush()?;
        self.run_acks()
    }

    /// Evaluates the waiting events whose creation has now arrived.
    fn rejoin(&mut self, det: &mut Detector<'_>, alerts: &mut Vec<Alert>) {
        let mut still = VecDeque::with_capacity(self.waiting.len());
        for mut w in self.waiting.drain(..) {
            if self.correlator.enrich(&mut w.ev.record) == Join::Found {
                self.metrics.join_late.fetch_add(1, Ordering::Relaxed);
                det.evaluate(&w.ev, &w.source, alerts);
                self.metrics.event_latency.observe(w.ev.received.elapsed());
            } else {
                still.push_back(w);
            }
        }
        self.waiting = still;
    }

    /// Evaluates, without their creation, the events that waited long enough
    /// (all of them with `all`, or the oldest beyond the cap).
    fn expire_waiting(&mut self, det: &mut Detector<'_>, alerts: &mut Vec<Alert>, all: bool) {
        while let Some(w) = self.waiting.front() {
            let due =
                all || w.since.elapsed() >= self.join_wait || self.waiting.len() > self.max_waiting;
            if !due {
                break;
            }
            let Some(w) = self.waiting.pop_front() else {
                break;
            };
            self.metrics.join_timeout.fetch_add(1, Ordering::Relaxed);
            det.evaluate(&w.ev, &w.source, alerts);
            self.metrics.event_latency.observe(w.ev.received.elapsed());
        }
        self.metrics
            .join_waiting
            .store(self.waiting.len() as u64, Ordering::Relaxed);
    }

    /// Acknowledges, in order, the batches none of whose events still wait.
    fn run_acks(&mut self) -> Result<(), Error> {
        let oldest_waiting = self
            .waiting
            .iter()
            .map(|w| w.batch)
            .min()
            .unwrap_or(u64::MAX);
        while self
            .acks
            .front()
            .is_some_and(|(seq, _)| *seq < oldest_waiting)
        {
            if let Some((_, ack)) = self.acks.pop_front() {
                ack()?;
            }
        }
        Ok(())
    }

    fn deliver(&mut self, alerts: Vec<Alert>, outcome: &mut Outcome) -> Result<(), Error> {
        for a in alerts {
            if !a.cells.iter().any(|(k, _)| k == "folded") && !self.dedup.admit(&a) {
                add(&self.metrics.folded, a.rule.clone(), 1);
                continue;
            }
            let line = a.to_json_line();
            for s in &mut self.sinks {
                s.send(&a, &line)?;
            }
            self.metrics.alert_latency.observe(a.received.elapsed());
            add(&self.metrics.alerts, a.rule.clone(), 1);
            outcome.alerts += 1;
        }
        Ok(())
    }

    /// Flushes every sink; a sink that cannot deliver stops the pipeline
    /// before the batch is acknowledged (the events will be read again).
    fn flush(&mut self) -> Result<(), Error> {
        for s in &mut self.sinks {
            if let Err(e) = s.flush() {
                add(
                    &self.metrics.sink_errors,
                    (s.name().to_owned(), "flush failed".into()),
                    1,
                );
                return Err(e);
            }
        }
        Ok(())
    }
}

/// Adds what `det`'s tuning held back and its windows hid since the last call
/// to the metrics.
fn report(det: &mut Detector<'_>, metrics: &Metrics) {
    det.report(&mut |rule, suppressed, outside| {
        add(&metrics.suppressed, rule.to_owned(), suppressed);
        add(&metrics.outside_window, rule.to_owned(), outside);
    });
}
