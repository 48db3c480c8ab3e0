//! The rules over a stream: the same compiled queries, routing by log
//! source, shared literal automata and incremental evaluator as `portent
//! hunt`, fed one event at a time. NOW() is the wall clock; process creations
//! are remembered (in bounded memory) so later connections are enriched as the
//! batch readers enrich them.

use crate::alert::{json, key_of, rfc3339, Alert, RuleMeta};
use crate::enrich::{filled_if_absent, reads_enriched};
use crate::tuned::Tuned;
use portent_core::schema::ids;
use portent_core::{Event, FieldId, Record, Value, Zone};
use portent_engine::tuning::Tuning;
use portent_engine::{Dispatch, PrefilterSet, Query, Router, Row, Run, State};
use portent_io::correlate::{creation_of, Outcome, ProcessIndex};
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
pub struct Rule {
    /// What alerts say about the rule.
    pub meta: RuleMeta,
    /// The query. ORDER BY and LIMIT mean nothing on an endless stream: the
    /// loader clears them, and every match is an alert.
    pub query: Query,
    /// The channels and event ids of the events the rule can match (`None`:
    /// any event), as `portent hunt` routes them.
    pub dispatch: Option<Dispatch>,
}

impl Rule {
    /// `query` as a rule over a stream: a rule that does not group gives an
    /// alert per match, so its ORDER BY and LIMIT are dropped.
    pub fn streaming(meta: RuleMeta, mut query: Query, dispatch: Option<Dispatch>) -> Rule {
        if query.grouping.is_none() {
            query.order.clear();
            query.limit = None;
        }
        Rule {
            meta,
            query,
            dispatch,
        }
    }
}

/// Everything a reload replaces.
pub struct RuleSet {
    /// The rules.
    pub rules: Vec<Rule>,
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
        self.rules.iter().any(|r| reads_enriched(&r.query))
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
    tuned: Vec<Tuned<'r>>,
    /// Suppressed and outside-window counts already reported, per rule.
    reported: Vec<(u64, u64)>,
    aggregated_at: Instant,
    now: i64,
    /// Which rules an event's log source admits, and of those, which its
    /// fields may satisfy: only these are evaluated (the record is final
    /// when it is evaluated: enriched, its source stamped).
    router: Router<'r>,
    prefilters: PrefilterSet<'r>,
    candidates: Vec<u32>,
    /// The same for the rules that read enriched fields, before enrichment:
    /// could the event match once its process creation is known?
    joins: (Router<'r>, PrefilterSet<'r>),
    state: State,
    correlation: Option<portent_engine::correlation::Set>,
    fired: Vec<portent_engine::correlation::Fired>,
    /// Matches held back because they only feed correlations, per rule.
    pub feeds_only: Vec<u64>,
    flushed_at: Instant,
}

impl<'r> Detector<'r> {
    /// Starts every rule with NOW() = `now` (epoch ms).
    pub fn new(set: &'r RuleSet, now: i64) -> Detector<'r> {
        let queries: Vec<&Query> = set.rules.iter().map(|r| &r.query).collect();
        let prefilters = PrefilterSet::new(&queries, &[], &[]);
        let dispatch: Vec<Option<Dispatch>> = set
            .rules
            .iter()
            .map(|r| r.dispatch.clone().map(|d| d.narrowed(&r.query)))
            .collect();
        let joins = joins(set, &dispatch, &prefilters);
        Detector {
            set,
            runs: set
                .rules
                .iter()
                .map(|r| Run::new(&r.query, Vec::new(), now))
                .collect(),
            tuned: set
                .rules
                .iter()
                .map(|r| Tuned::new(set.tuning.as_ref(), &r.meta.id))
                .collect(),
            reported: vec![(0, 0); set.rules.len()],
            aggregated_at: Instant::now(),
            now,
            router: Router::new(dispatch, set.rules.len()),
            prefilters,
            candidates: Vec::new(),
            joins,
            state: State::new(now),
            correlation: set.correlations.as_ref().map(|c| c.set.clone()),
            fired: Vec::new(),
            feeds_only: vec![0; set.rules.len()],
            flushed_at: Instant::now(),
        }
    }

    /// True when a rule that reads enriched fields could match `rec` once its
    /// process creation is known: worth waiting for that creation.
    pub fn may_need_join(&mut self, rec: &Record<'static>) -> bool {
        let (router, prefilters) = &mut self.joins;
        self.candidates.clear();
        prefilters.candidates(
            rec,
            &router.route(rec),
            false,
            &mut self.state,
            &mut self.candidates,
        );
        !self.candidates.is_empty()
    }

    /// Moves NOW() (and so the rules' relative windows) to `now`.
    pub fn set_now(&mut self, now: i64) {
        self.now = now;
        for r in &mut self.runs {
            r.set_now(now);
        }
    }

    /// Runs the rules over one event, appending its alerts. Only the rules
    /// whose log source admits the event and whose prefilter it passes are
    /// evaluated: the others could not match it (so their runs do not count
    /// it in [`portent_engine::Stats::events`]).
    pub fn evaluate(&mut self, ev: &Stamped, source: &str, out: &mut Vec<Alert>) {
        let zone = self.set.zone;
        let corr = self.set.correlations.as_ref();
        self.candidates.clear();
        let route = self.router.route(&ev.record);
        let rec = &ev.record;
        self.prefilters
            .candidates(rec, &route, true, &mut self.state, &mut self.candidates);
        for &i in &self.candidates {
            let i = i as usize;
            let Some(run) = self.runs.get_mut(i) else {
                continue;
            };
            let matched = run.stats().matched;
            let _ = self.tuned[i].push(run, &ev.record, &zone);
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

    /// Hands `add` what tuning held back and what the windows hid since the
    /// last call, per rule with any: (rule id, suppressed, outside window).
    pub fn report(&mut self, add: &mut dyn FnMut(&str, u64, u64)) {
        for (i, run) in self.runs.iter().enumerate() {
            let s = run.stats();
            let (sup, out) = self.reported[i];
            let (sup, out) = (
                s.suppressed - sup.min(s.suppressed),
                s.outside_window - out.min(s.outside_window),
            );
            if sup > 0 || out > 0 {
                add(&self.set.rules[i].meta.id, sup, out);
            }
            self.reported[i] = (s.suppressed, s.outside_window);
        }
    }
}

/// A router and prefilters that ask whether an event may match a rule of
/// `set` that reads a field enrichment fills, once enriched. They share the
/// automata of `all`, the prefilters of every rule of `set`: the router
/// sends events only to the rules that read enriched fields (of the log
/// sources `dispatch`, by rule).
fn joins<'r>(
    set: &'r RuleSet,
    dispatch: &[Option<Dispatch>],
    all: &PrefilterSet<'r>,
) -> (Router<'r>, PrefilterSet<'r>) {
    let dispatch: Vec<Option<Dispatch>> = set
        .rules
        .iter()
        .zip(dispatch)
        .map(|(r, d)| match reads_enriched(&r.query) {
            true => d.clone(),
            // No channel: admits nothing.
            false => Some(Dispatch::default()),
        })
        .collect();
    let router = Router::new(dispatch, set.rules.len());
    let prefilters = all.with_fields(&[ids::ENRICHMENT], &filled_if_absent());
    (router, prefilters)
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

#[cfg(test)]
mod tests {
    use super::*;
    use portent_core::Schema;
    use portent_engine::tuning::Tuning;
    use portent_engine::{CompileOptions, WindowPolicy};

    const SYSMON: (&str, &str) = (
        "microsoft-windows-sysmon/operational",
        "microsoft-windows-sysmon",
    );
    const SECURITY: (&str, &str) = ("security", "microsoft-windows-security-auditing");

    fn rule(id: &str, aql: &str, dispatch: Option<Dispatch>, schema: &mut Schema) -> Rule {
        let options = CompileOptions {
            window: WindowPolicy::Ignore,
            provenance: PROVENANCE.iter().map(|(_, f)| *f).collect(),
            ..CompileOptions::default()
        };
        Rule {
            meta: RuleMeta {
                id: id.into(),
                ..RuleMeta::default()
            },
            query: Query::compile(aql, schema, &options).unwrap(),
            dispatch,
        }
    }

    fn set(rules: Vec<Rule>, tuning: Option<Tuning>) -> RuleSet {
        RuleSet {
            rules,
            tuning,
            zone: Zone::utc(),
            aggregate_every: Duration::from_secs(3600),
            correlations: None,
        }
    }

    fn event(n: usize, channel: &str, id: i64, command: &str) -> Stamped {
        let mut r = Record::new();
        r.set(ids::CHANNEL, Value::string(channel.into()));
        r.set(ids::EVENT_ID, Value::Int(id));
        r.set(ids::COMMAND, Value::string(command.into()));
        r.set(ids::RECORD_NUMBER, Value::Int(n as i64));
        Stamped {
            record: r,
            received: Instant::now(),
            id: format!("e{n}").into(),
        }
    }

    /// Alerts of `set` over `events`, as (event id/rule id, rule).
    fn alerts(set: &RuleSet, events: &[Stamped]) -> Vec<(String, String)> {
        let mut det = Detector::new(set, 0);
        let mut out = Vec::new();
        for ev in events {
            det.evaluate(ev, "test", &mut out);
        }
        out.into_iter().map(|a| (a.id, a.rule)).collect()
    }

    /// What every rule says of every event, each evaluated in full: the
    /// answer routing and prefilters must not change.
    fn every_rule_on_every_event(set: &RuleSet, events: &[Stamped]) -> Vec<(String, String)> {
        let mut runs: Vec<Run<'_, Vec<Row>>> = set
            .rules
            .iter()
            .map(|r| Run::new(&r.query, Vec::new(), 0))
            .collect();
        let mut out = Vec::new();
        for ev in events {
            for (run, r) in runs.iter_mut().zip(&set.rules) {
                run.push(&ev.record).unwrap();
                for _ in run.sink_mut().drain(..) {
                    out.push((format!("{}/{}", ev.id, r.meta.id), r.meta.id.clone()));
                }
            }
        }
        out
    }

    fn events() -> Vec<Stamped> {
        vec![
            event(0, "Microsoft-Windows-Sysmon/Operational", 1, "whoami /all"),
            event(1, "Security", 4688, "whoami /all"),
            event(2, "Security", 4624, "whoami /all"),
            event(3, "microsoft-windows-sysmon/operational", 3, "WHOAMI"),
            event(4, "Application", 1, "net user"),
        ]
    }

    #[test]
    fn a_rule_sees_only_the_events_its_log_source_admits() {
        let mut schema = Schema::qradar();
        let creations = Dispatch::of(&[SYSMON], &[1]).or(Dispatch::of(&[SECURITY], &[4688]));
        let s = set(
            vec![
                rule(
                    "creation",
                    "SELECT * FROM events WHERE \"Command\" ILIKE '%whoami%' AND (\"Event ID\" = 1 OR \"Event ID\" = 4688)",
                    Some(creations),
                    &mut schema,
                ),
                rule(
                    "anywhere",
                    "SELECT * FROM events WHERE \"Command\" ILIKE '%whoami%'",
                    None,
                    &mut schema,
                ),
                rule(
                    "sysmon",
                    "SELECT * FROM events WHERE LOWER(\"Channel\") = 'microsoft-windows-sysmon/operational'",
                    Some(Dispatch::of(&[SYSMON], &[])),
                    &mut schema,
                ),
            ],
            None,
        );
        let got = alerts(&s, &events());
        let want: Vec<(String, String)> = [
            ("e0", "creation"),
            ("e0", "anywhere"),
            ("e0", "sysmon"),
            ("e1", "creation"),
            ("e1", "anywhere"),
            ("e2", "anywhere"),
            ("e3", "anywhere"),
            ("e3", "sysmon"),
        ]
        .iter()
        .map(|(e, r)| (format!("{e}/{r}"), (*r).to_owned()))
        .collect();
        assert_eq!(got, want);
        assert_eq!(got, every_rule_on_every_event(&s, &events()));
    }

    #[test]
    fn routing_never_hides_a_match_of_a_wrongly_declared_log_source() {
        // A dispatch is a promise about the condition: when the loader's
        // promise is wrong (here: Security only, condition on any channel),
        // the rule misses events; this test pins that the router is the only
        // place that decides, so a wrong map shows up as a difference here.
        let mut schema = Schema::qradar();
        let s = set(
            vec![rule(
                "narrow",
                "SELECT * FROM events WHERE \"Command\" ILIKE '%whoami%'",
                Some(Dispatch::of(&[SECURITY], &[])),
                &mut schema,
            )],
            None,
        );
        let got = alerts(&s, &events());
        assert_eq!(got.len(), 2, "{got:?}");
        assert_ne!(got, every_rule_on_every_event(&s, &events()));
    }

    #[test]
    fn tuning_holds_back_and_reports_per_rule_after_routing() {
        let mut schema = Schema::qradar();
        let tuning = Tuning::parse(
            r#"
[[exception]]
id = "quiet-whoami"
reason = "test"
owner = "test"
created = "2026-01-01"
rules = ["anywhere"]
[exception.match]
"Command" = { wildcard = ["whoami /all"] }
"#,
            &schema,
            chrono::NaiveDate::from_ymd_opt(2026, 6, 1).unwrap(),
        )
        .unwrap();
        let s = set(
            vec![rule(
                "anywhere",
                "SELECT * FROM events WHERE \"Command\" ILIKE '%whoami%'",
                None,
                &mut schema,
            )],
            Some(tuning),
        );
        let mut det = Detector::new(&s, 0);
        let mut out = Vec::new();
        for ev in &events() {
            det.evaluate(ev, "test", &mut out);
        }
        let ids: Vec<&str> = out.iter().map(|a| a.id.as_str()).collect();
        assert_eq!(ids, ["e3/anywhere"]);
        let mut reported = Vec::new();
        det.report(&mut |rule, sup, out| reported.push((rule.to_owned(), sup, out)));
        assert_eq!(reported, [("anywhere".to_owned(), 3, 0)]);
        // Reported once: the next call adds nothing.
        det.report(&mut |rule, sup, out| reported.push((rule.to_owned(), sup, out)));
        assert_eq!(reported.len(), 1);
    }

    #[test]
    fn may_need_join_asks_only_the_rules_that_read_enriched_fields() {
        let mut schema = Schema::qradar();
        let s = set(
            vec![
                rule(
                    "parent",
                    "SELECT * FROM events WHERE \"Parent Process Name\" ILIKE '%winword%' AND \"Event ID\" = 3",
                    Some(Dispatch::of(&[SYSMON], &[3])),
                    &mut schema,
                ),
                rule(
                    "own",
                    "SELECT * FROM events WHERE \"Command\" ILIKE '%whoami%'",
                    None,
                    &mut schema,
                ),
            ],
            None,
        );
        let mut det = Detector::new(&s, 0);
        let mut connection = event(5, "Microsoft-Windows-Sysmon/Operational", 3, "ping");
        // A Sysmon 3 without a parent: it may match once enriched.
        assert!(det.may_need_join(&connection.record));
        // Its own parent rules it out, unless the command may match.
        let r = &mut connection.record;
        r.set(
            ids::PARENT_PROCESS_NAME,
            Value::string("explorer.exe".into()),
        );
        assert!(!det.may_need_join(r));
        r.set(ids::COMMAND, Value::string("whoami".into()));
        assert!(det.may_need_join(r));
        // Other channels are not the parent rule's; without a command, the
        // command rule may hold once it is filled in.
        let mut other = event(6, "Security", 4624, "ping");
        assert!(!det.may_need_join(&other.record));
        other.record = Record::new();
        other
            .record
            .set(ids::CHANNEL, Value::string("Security".into()));
        assert!(det.may_need_join(&other.record));
    }
}
