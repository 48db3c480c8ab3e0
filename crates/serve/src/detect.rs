//! The rules over a stream: the same compiled queries and incremental
//! evaluator as `portent hunt`, fed one event at a time. NOW() is the wall
//! clock; process creations are remembered (in bounded memory) so later
//! connections are enriched as the batch readers enrich them.

use crate::alert::{json, key_of, rfc3339, Alert, RuleMeta};
use crate::metrics::{add, Metrics};
use portent_core::schema::ids;
use portent_core::{Event, FieldId, Record, Value, Zone};
use portent_engine::tuning::{Exception, Tuning};
use portent_engine::{Prefilter, State};
use portent_engine::{Query, Row, Run};
use portent_io::correlate::{creation_of, Outcome, ProcessIndex, ENRICHED_FIELDS};
use serde_json::Value as J;
use std::sync::Arc;
use std::time::{Duration, Instant};

/// The provenance columns of every alert, in order (as `portent hunt` has them).
pub const PROVENANCE: [(&str, FieldId); 4] = [
    ("host", ids::HOSTNAME),
    ("source_file", ids::SOURCE_FILE),
    ("record_id", ids::RECORD_NUMBER),
    ("time", ids::STARTTIME),
];

/// One rule, compiled with [`PROVENANCE`] as its provenance fields.
pub struct WatchRule {
    /// What alerts say about the rule.
    pub meta: RuleMeta,
    /// The query. ORDER BY and LIMIT mean nothing on an endless stream: the
    /// loader clears them, and every match is an alert.
    pub query: Query,
}

/// Everything a reload replaces.
pub struct RuleSet {
    /// The rules.
    pub rules: Vec<WatchRule>,
    /// Tuning exceptions.
    pub tuning: Option<Tuning>,
    /// Zone of the alerts' times.
    pub zone: Zone,
    /// Grouped (aggregating) rules report once per this period.
    pub aggregate_every: Duration,
    /// Sigma correlation rules over the rules' matches.
    pub correlations: Option<Correlations>,
}

/// Correlation rules of a [`RuleSet`].
#[derive(Clone)]
pub struct Correlations {
    /// The correlations, fresh (each detector starts from a clone).
    pub set: portent_engine::correlation::Set,
    /// What alerts say about each.
    pub metas: Vec<RuleMeta>,
    /// Per rule: its matches only feed correlations (Sigma `generate: false`).
    pub rule_feeds_only: Vec<bool>,
    /// Per correlation: its alerts only feed other correlations.
    pub correlation_feeds_only: Vec<bool>,
}

impl RuleSet {
    /// True when a rule reads a field that enrichment fills.
    pub fn needs_correlation(&self) -> bool {
        self.rules.iter().any(|r| {
            r.query.reads_all_fields()
                || r.query.fields().iter().any(|f| ENRICHED_FIELDS.contains(f))
        })
    }
}

/// An event on its way through: the record, when it arrived and its id.
pub struct Stamped {
    /// The event.
    pub record: Record<'static>,
    /// When it was received.
    pub received: Instant,
    /// Stable id of the event (file identity and offset, stream sequence), or
    /// a per-run counter for sources that have none.
    pub id: Arc<str>,
}

/// The process-creation index that survives rule reloads.
pub struct Correlator {
    index: ProcessIndex,
}

impl Correlator {
    /// An index of at most `capacity` processes.
    pub fn new(capacity: usize) -> Correlator {
        Correlator {
            index: ProcessIndex::new(capacity),
        }
    }

    /// Remembers `rec` if it is a process creation (the `bool`), then fills
    /// the process fields it lacks from the creation of its process.
    pub fn observe(&mut self, rec: &mut Record<'static>) -> (bool, Outcome) {
        let created = match creation_of(rec) {
            Some(c) => {
                self.index.insert(c);
                true
            }
            None => false,
        };
        (created, self.index.enrich(rec))
    }

    /// Tries again to enrich an event whose creation was missing.
    pub fn enrich(&self, rec: &mut Record<'static>) -> Outcome {
        self.index.enrich(rec)
    }

    /// Remembers `rec` only if it is a creation (warming up after a restart).
    pub fn remember(&mut self, rec: &Record<'static>) {
        if let Some(c) = creation_of(rec) {
            self.index.insert(c);
        }
    }

    /// Processes held, and evicted so far.
    pub fn size(&self) -> (usize, u64) {
        (self.index.len(), self.index.evicted)
    }
}

/// The rules of one [`RuleSet`] running over a stream.
pub struct Detector<'r> {
    set: &'r RuleSet,
    runs: Vec<Run<'r, Vec<Row>>>,
    exceptions: Vec<Vec<&'r Exception>>,
    /// Suppressed and outside-window counts already reported, per rule.
    reported: Vec<(u64, u64)>,
    aggregated_at: Instant,
    now: i64,
    /// For the rules that read enriched fields: could the event match once enriched?
    joins: Vec<Prefilter<'r>>,
    join_state: State,
    correlation: Option<portent_engine::correlation::Set>,
    fired: Vec<portent_engine::correlation::Fired>,
    /// Matches held back because they only feed correlations, per rule.
    pub feeds_only: Vec<u64>,
    flushed_at: Instant,
}

impl<'r> Detector<'r> {
    /// Starts every rule with NOW() = `now` (epoch ms).
    pub fn new(set: &'r RuleSet, now: i64) -> Detector<'r> {
        Detector {
            set,
            runs: set
                .rules
                .iter()
                .map(|r| Run::new(&r.query, Vec::new(), now))
                .collect(),
            exceptions: set
                .rules
                .iter()
                .map(|r| {
                    set.tuning.as_ref().map_or_else(Vec::new, |t| {
                        t.for_rule(&r.meta.id).map(|(_, e)| e).collect()
                    })
                })
                .collect(),
            reported: vec![(0, 0); set.rules.len()],
            aggregated_at: Instant::now(),
            now,
            joins: set
                .rules
                .iter()
                .filter(|r| {
                    r.query.reads_all_fields()
                        || r.query.fields().iter().any(|f| ENRICHED_FIELDS.contains(f))
                })
                .map(|r| {
                    let filled: Vec<FieldId> = ENRICHED_FIELDS
                        .iter()
                        .copied()
                        .filter(|f| *f != ids::ENRICHMENT)
                        .collect();
                    r.query.prefilter_filled(&[ids::ENRICHMENT], &filled)
                })
                .collect(),
            join_state: State::new(now),
            correlation: set.correlations.as_ref().map(|c| c.set.clone()),
            fired: Vec::new(),
            feeds_only: vec![0; set.rules.len()],
            flushed_at: Instant::now(),
        }
    }

    /// True when a rule that reads enriched fields could match `rec` once its
    /// process creation is known: worth waiting for that creation.
    pub fn may_need_join(&mut self, rec: &Record<'static>) -> bool {
        let state = &mut self.join_state;
        self.joins.iter().any(|p| p.test(rec, state))
    }

    /// Moves NOW() (and so the rules' relative windows) to `now`.
    pub fn set_now(&mut self, now: i64) {
        self.now = now;
        for r in &mut self.runs {
            r.set_now(now);
        }
    }

    /// Runs every rule over one event, appending its alerts.
    pub fn evaluate(&mut self, ev: &Stamped, source: &str, out: &mut Vec<Alert>) {
        let zone = self.set.zone;
        let corr = self.set.correlations.as_ref();
        for (i, run) in self.runs.iter_mut().enumerate() {
            let exceptions = &self.exceptions[i];
            let matched = run.stats().matched;
            let _ = run.push_unless(&ev.record, &mut |e| {
                exceptions.iter().any(|x| x.matches(e, &zone))
            });
            if run.stats().matched > matched {
                if let Some(set) = &mut self.correlation {
                    set.observe(i, &ev.record, &mut self.fired);
                }
            }
            if corr.is_some_and(|c| c.rule_feeds_only.get(i).copied().unwrap_or(false)) {
                self.feeds_only[i] += run.sink_mut().drain(..).count() as u64;
                continue;
            }
            let rule = &self.set.rules[i];
            for (n, row) in run.sink_mut().drain(..).enumerate() {
                let id = if n == 0 {
                    format!("{}/{}", ev.id, rule.meta.id)
                } else {
                    format!("{}/{}/{n}", ev.id, rule.meta.id)
                };
                out.push(alert(&rule.meta, row, id, source, ev.received, &zone));
            }
        }
        self.correlation_alerts(&ev.id, source, ev.received, out);
    }

    /// Turns what the correlations fired into alerts.
    fn correlation_alerts(
        &mut self,
        event: &str,
        source: &str,
        received: Instant,
        out: &mut Vec<Alert>,
    ) {
        let (Some(set), Some(c)) = (&self.correlation, &self.set.correlations) else {
            return;
        };
        for (n, f) in self.fired.drain(..).enumerate() {
            if c.correlation_feeds_only[f.correlation] {
                continue;
            }
            let meta = &c.metas[f.correlation];
            let id = format!("{event}/{}/{n}", meta.id);
            out.push(alert(
                meta,
                set.row(&f, &self.set.zone),
                id,
                source,
                received,
                &self.set.zone,
            ));
        }
    }

    /// Grouped rules report their groups once per period (and with `now`, at
    /// once: at a reload or the end); call often.
    pub fn tick(&mut self, out: &mut Vec<Alert>, now: bool) {
        // Correlation windows with an upper bound are decided once the
        // stream's time has passed them (all of them at the end); looking
        // costs a pass over the groups, so at most once a second.
        if let Some(set) = &mut self.correlation {
            let due = now || self.flushed_at.elapsed() >= Duration::from_secs(1);
            let until = if now { None } else { set.watermark() };
            if due && (now || until.is_some()) {
                set.flush(until, &mut self.fired);
                self.flushed_at = Instant::now();
            }
        }
        if !self.fired.is_empty() {
            let at = format!("corr-{}", chrono::Utc::now().timestamp_millis());
            self.correlation_alerts(&at, "correlation", Instant::now(), out);
        }
        if !now && self.aggregated_at.elapsed() < self.set.aggregate_every {
            return;
        }
        self.aggregated_at = Instant::now();
        let zone = self.set.zone;
        for (i, rule) in self.set.rules.iter().enumerate() {
            if rule.query.grouping.is_none() {
                continue;
            }
            let fresh = Run::new(&rule.query, Vec::new(), self.now);
            let done = std::mem::replace(&mut self.runs[i], fresh);
            self.reported[i] = (0, 0);
            let Ok((rows, _)) = done.finish();
            // Each period has its own ids (the wall clock, not NOW(), which
            // stands still when windows are ignored).
            let period = format!("agg-{}", chrono::Utc::now().timestamp_millis());
            for (n, row) in rows.into_iter().enumerate() {
                let id = format!("{period}/{}/{n}", rule.meta.id);
                out.push(alert(
                    &rule.meta,
                    row,
                    id,
                    "aggregate",
                    Instant::now(),
                    &zone,
                ));
            }
        }
    }

    /// Adds what tuning held back and what the windows hid since the last call.
    pub fn report(&mut self, metrics: &Metrics) {
        for (i, run) in self.runs.iter().enumerate() {
            let s = run.stats();
            let (sup, out) = self.reported[i];
            let id = &self.set.rules[i].meta.id;
            add(
                &metrics.suppressed,
                id.clone(),
                s.suppressed - sup.min(s.suppressed),
            );
            add(
                &metrics.outside_window,
                id.clone(),
                s.outside_window - out.min(s.outside_window),
            );
            self.reported[i] = (s.suppressed, s.outside_window);
        }
    }
}

/// An alert from one row of `meta`'s rule.
pub fn alert(
    meta: &RuleMeta,
    row: Row,
    id: String,
    source: &str,
    received: Instant,
    zone: &Zone,
) -> Alert {
    let mut cells: Vec<(String, J)> = vec![
        ("rule_id".into(), meta.id.clone().into()),
        ("rule_title".into(), meta.title.clone().into()),
        ("attack".into(), meta.attack.join(" ").into()),
        ("severity".into(), meta.severity.clone().into()),
    ];
    if !meta.author.is_empty() {
        cells.push(("author".into(), meta.author.clone().into()));
    }
    if !meta.tags.is_empty() {
        cells.push(("tags".into(), meta.tags.join(" ").into()));
    }
    let own: Vec<(String, J)> = row
        .cells
        .iter()
        .map(|c| (c.name.to_string(), json(&c.value)))
        .collect();
    let host = row.provenance.first().map_or(J::Null, json);
    let key = key_of(&meta.id, &host, &own);
    cells.extend(own);
    for ((name, field), v) in PROVENANCE.iter().zip(&row.provenance) {
        let value = match (*field == ids::STARTTIME, v.to_i64()) {
            (true, Some(ms)) => rfc3339(ms, zone).into(),
            _ => json(v),
        };
        cells.push(((*name).to_owned(), value));
    }
    cells.push(("source".into(), source.into()));
    cells.push(("alert_id".into(), id.clone().into()));
    Alert {
        id,
        rule: meta.id.clone(),
        cells,
        received,
        key,
    }
}

/// Marks the record with where it came from, as the batch readers do.
pub fn stamp_source(rec: &mut Record<'static>, source: &Arc<str>) {
    if rec.get(ids::SOURCE_FILE).is_null() {
        rec.set(
            ids::SOURCE_FILE,
            Value::Str(std::borrow::Cow::Owned(source.to_string())),
        );
    }
}
