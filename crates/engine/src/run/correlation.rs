//! Correlation of rule matches over time (Sigma correlation rules): counting
//! events or distinct values per group within a timespan, and rules that occur
//! together or in order. Rules feed it their matches one at a time, in time
//! order, so a hunt (which sorts its matches) and a stream (which sees them as
//! they come) give the same alerts.
//!
//! The specification leaves the window semantics open; Portent's, in full:
//! - A condition with lower bounds only (`gte: 10`, the usual case) is decided
//!   as events arrive, over a sliding window: it fires at the event that makes
//!   it hold within the last `timespan` of the group, and the group starts
//!   over, so every alert stands on events no other alert of the group used.
//! - A condition with an upper bound (`lt`, `lte`, `eq`, ranges) can only be
//!   decided once a window is over: windows then start at a group's first event
//!   and last `timespan`; the window is decided when a later event of the
//!   group falls outside it, when the stream's time passes its end
//!   ([`Set::flush`] with a time), or at the end of the input. A group with no
//!   events has no window, so `lt` never fires for silence.
//! - `temporal` counts the distinct rules seen (all of them unless the
//!   condition says otherwise); `temporal_ordered` needs every rule, each at or
//!   after the one before it, within `timespan` of the first.
//! - Group values are compared as text, case-sensitively; an event without a
//!   group-by field is grouped under null for it. Events without a time are
//!   counted ([`Stats::untimed`]) and not correlated.
//! - State is bounded: a group holds at most the condition's threshold of
//!   events or values, groups idle for longer than `timespan` are dropped, and
//!   past `max_groups` the stalest are evicted and counted.

use crate::exec::{Cell, Row};
use portent_core::schema::ids;
use portent_core::{Event, FieldId, Value, Zone};
use std::collections::{HashMap, HashSet, VecDeque};
use std::sync::Arc;

/// The correlation types of the Sigma specification.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Kind {
    /// `event_count`: how many events.
    EventCount,
    /// `value_count`: how many distinct values of a field.
    ValueCount,
    /// `temporal`: how many of the rules, in any order.
    Temporal,
    /// `temporal_ordered`: all of the rules, in their order.
    TemporalOrdered,
}

impl Kind {
    /// The name the specification gives it.
    pub fn name(self) -> &'static str {
        match self {
            Kind::EventCount => "event_count",
            Kind::ValueCount => "value_count",
            Kind::Temporal => "temporal",
            Kind::TemporalOrdered => "temporal_ordered",
        }
    }
}

/// A count condition: every bound given must hold (`gt: 100, lte: 200`).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Bounds {
    /// More than.
    pub gt: Option<u64>,
    /// At least.
    pub gte: Option<u64>,
    /// Fewer than.
    pub lt: Option<u64>,
    /// At most.
    pub lte: Option<u64>,
    /// Exactly.
    pub eq: Option<u64>,
}

impl Bounds {
    /// True when `n` meets every bound.
    pub fn holds(&self, n: u64) -> bool {
        self.gt.is_none_or(|b| n > b)
            && self.gte.is_none_or(|b| n >= b)
            && self.lt.is_none_or(|b| n < b)
            && self.lte.is_none_or(|b| n <= b)
            && self.eq.is_none_or(|b| n == b)
    }

    /// Lower bounds only: once it holds, more events keep it holding, so it
    /// can be decided as events arrive.
    pub fn rising(&self) -> bool {
        self.lt.is_none() && self.lte.is_none() && self.eq.is_none()
    }

    /// The largest count that can hold, if there is one.
    fn ceiling(&self) -> Option<u64> {
        [self.lt.map(|b| b.saturating_sub(1)), self.lte, self.eq]
            .into_iter()
            .flatten()
            .min()
    }
}

/// Where a correlation's input comes from.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Input {
    /// The matches of a rule (its index in the caller's rule list).
    Rule(usize),
    /// The alerts of another correlation of the set (chaining).
    Correlation(usize),
}

/// How a correlation reads a value from one of its inputs.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Pick {
    /// From the event: the first of these fields that has a value.
    Fields(Vec<FieldId>),
    /// From a correlation's alert: its group value at this position.
    Group(usize),
    /// The input never has it.
    Nothing,
}

/// One correlation, resolved against the rules and fields of a run.
#[derive(Clone, Debug)]
pub struct Spec {
    /// The type.
    pub kind: Kind,
    /// What it correlates, in order.
    pub inputs: Vec<Input>,
    /// What people call each input (rule titles), for the alert.
    pub input_titles: Vec<String>,
    /// Per group-by entry: its name and, per input, how to read it.
    pub group: Vec<(String, Vec<Pick>)>,
    /// `value_count`: the field's name and, per input, how to read it.
    pub value: Option<(String, Vec<Pick>)>,
    /// The timespan, in milliseconds.
    pub timespan_ms: i64,
    /// The condition (`None`: every input, for the temporal types).
    pub condition: Option<Bounds>,
}

impl Spec {
    /// A match of input `pos` at `time`, its group and value read with `read`.
    fn observation(
        &self,
        pos: usize,
        time: i64,
        provenance: Vec<Value<'static>>,
        read: impl Fn(&Pick) -> Option<String>,
    ) -> Obs {
        Obs {
            time,
            input: pos,
            key: self
                .group
                .iter()
                .map(|(_, picks)| read(&picks[pos]))
                .collect(),
            value: self.value.as_ref().and_then(|(_, picks)| read(&picks[pos])),
            provenance,
        }
    }

    fn bounds(&self) -> Bounds {
        self.condition.unwrap_or(Bounds {
            gte: Some(self.inputs.len() as u64),
            ..Bounds::default()
        })
    }
}

/// A correlation that fired.
#[derive(Clone, Debug, PartialEq)]
pub struct Fired {
    /// Which correlation (its index in the set).
    pub correlation: usize,
    /// The group's values, in group-by order.
    pub key: Vec<Option<String>>,
    /// Events (`event_count`), distinct values (`value_count`) or distinct
    /// rules (temporal types).
    pub count: u64,
    /// The time of the window's first and last event (epoch ms).
    pub first: i64,
    /// See `first`.
    pub last: i64,
    /// Which inputs contributed (positions, ascending).
    pub inputs: Vec<usize>,
    /// The provenance fields of the last event (see [`Set::new`]).
    pub provenance: Vec<Value<'static>>,
}

/// What a correlation saw.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Stats {
    /// Matches fed to it.
    pub observed: u64,
    /// Matches without a time: not correlated.
    pub untimed: u64,
    /// `value_count` matches without the field: not counted.
    pub no_value: u64,
    /// Alerts.
    pub fired: u64,
    /// Groups evicted (past `max_groups`) before their window was over.
    pub evicted: u64,
}

/// One match on its way into a correlation.
struct Obs {
    time: i64,
    input: usize,
    key: Vec<Option<String>>,
    value: Option<String>,
    provenance: Vec<Value<'static>>,
}

#[derive(Clone)]
enum Window {
    /// `event_count`, rising: the times in the window, ascending.
    Times(VecDeque<i64>),
    /// `value_count`, rising: each value's latest time.
    Values(HashMap<String, i64>),
    /// `temporal`, rising: each input's latest time.
    Latest(Vec<Option<i64>>),
    /// `temporal_ordered`: `starts[k]` is the latest start of a match of the
    /// first `k` inputs in order.
    Ordered(Vec<Option<i64>>),
    /// Any type with an upper bound: a fixed window from its first event.
    Fixed(Box<Fixed>),
}

#[derive(Clone)]
struct Fixed {
    start: i64,
    last: i64,
    events: u64,
    values: HashSet<String>,
    /// More distinct values than the condition allows: it cannot hold.
    overflow: bool,
    inputs: Vec<bool>,
    provenance: Vec<Value<'static>>,
}

#[derive(Clone)]
struct Group {
    last_seen: i64,
    window: Window,
}

#[derive(Clone)]
struct State {
    groups: HashMap<Vec<Option<String>>, Group>,
    sweep_at: usize,
    stats: Stats,
}

/// A set of correlations over the matches of a rule set (clone a fresh one
/// to start over with the same correlations).
#[derive(Clone)]
pub struct Set {
    specs: Vec<Spec>,
    by_rule: HashMap<usize, Vec<(usize, usize)>>,
    by_correlation: Vec<Vec<(usize, usize)>>,
    states: Vec<State>,
    provenance: Vec<FieldId>,
    max_groups: usize,
    /// The latest event time seen.
    watermark: Option<i64>,
}

impl Set {
    /// Correlations over rule matches. Alerts carry `provenance` (fields of
    /// their last event); at most `max_groups` groups are held per correlation.
    /// Fails when an input names something that is not there, or when
    /// correlations feed each other in a circle.
    pub fn new(
        specs: Vec<Spec>,
        provenance: Vec<FieldId>,
        max_groups: usize,
    ) -> Result<Set, String> {
        let mut by_rule: HashMap<usize, Vec<(usize, usize)>> = HashMap::new();
        let mut by_correlation = vec![Vec::new(); specs.len()];
        for (c, s) in specs.iter().enumerate() {
            if s.inputs.is_empty() || s.timespan_ms <= 0 {
                return Err(format!("correlation {c} has no inputs or no timespan"));
            }
            for (pos, input) in s.inputs.iter().enumerate() {
                // An input named twice is fed once: the window marks every
                // position it holds (a sequence must not step twice on one event).
                if s.inputs[..pos].contains(input) {
                    continue;
                }
                match *input {
                    Input::Rule(r) => by_rule.entry(r).or_default().push((c, pos)),
                    Input::Correlation(o) if o < specs.len() && o != c => {
                        by_correlation[o].push((c, pos))
                    }
                    Input::Correlation(o) => {
                        return Err(format!("correlation {c} names correlation {o}, which is not in the set or is itself"))
                    }
                }
            }
        }
        // Kahn's algorithm: what is left over lies on a circle.
        let mut fed_by: Vec<usize> = specs
            .iter()
            .map(|s| {
                s.inputs
                    .iter()
                    .filter(|i| matches!(i, Input::Correlation(_)))
                    .count()
            })
            .collect();
        let mut ready: Vec<usize> = (0..specs.len()).filter(|c| fed_by[*c] == 0).collect();
        let mut done = 0;
        while let Some(c) = ready.pop() {
            done += 1;
            for (outer, _) in &by_correlation[c] {
                fed_by[*outer] -= 1;
                if fed_by[*outer] == 0 {
                    ready.push(*outer);
                }
            }
        }
        if done < specs.len() {
            return Err("correlations name each other in a circle".into());
        }
        let states = specs
            .iter()
            .map(|_| State {
                groups: HashMap::new(),
                sweep_at: 1024,
                stats: Stats::default(),
            })
            .collect();
        Ok(Set {
            specs,
            by_rule,
            by_correlation,
            states,
            provenance,
            max_groups: max_groups.max(1),
            watermark: None,
        })
    }

    /// True when the matches of `rule` feed a correlation.
    pub fn feeds(&self, rule: usize) -> bool {
        self.by_rule.contains_key(&rule)
    }

    /// Every field the set reads from an event: its time, the provenance
    /// and the fields of the group-by and value picks. A copy of an event
    /// with only these is observed exactly like the event.
    pub fn fields(&self) -> Vec<FieldId> {
        let mut out = vec![ids::STARTTIME];
        out.extend(&self.provenance);
        for s in &self.specs {
            let picks = s
                .group
                .iter()
                .map(|(_, p)| p)
                .chain(s.value.iter().map(|(_, p)| p));
            for p in picks.flatten() {
                if let Pick::Fields(fs) = p {
                    out.extend(fs);
                }
            }
        }
        out.sort_unstable();
        out.dedup();
        out
    }

    /// The column names of the set's alert rows (see [`Set::row`]), without
    /// the provenance.
    pub fn columns(&self) -> Vec<String> {
        let mut out: Vec<String> = vec!["correlation".into()];
        for s in &self.specs {
            out.extend(s.group.iter().map(|(name, _)| name.clone()));
            out.push(count_name(s));
        }
        out.extend(["rules", "first_time", "last_time"].map(String::from));
        let mut seen = HashSet::new();
        out.retain(|c| seen.insert(c.clone()));
        out
    }

    /// The correlations.
    pub fn specs(&self) -> &[Spec] {
        &self.specs
    }

    /// What correlation `c` saw.
    pub fn stats(&self, c: usize) -> Stats {
        self.states[c].stats
    }

    /// The latest event time seen.
    pub fn watermark(&self) -> Option<i64> {
        self.watermark
    }

    /// Groups held now, over all correlations.
    pub fn groups(&self) -> usize {
        self.states.iter().map(|s| s.groups.len()).sum()
    }

    /// Feeds one match of `rule`; alerts go to `out` (chained ones too).
    pub fn observe<E: Event + ?Sized>(&mut self, rule: usize, ev: &E, out: &mut Vec<Fired>) {
        let Some(targets) = self.by_rule.get(&rule).cloned() else {
            return;
        };
        let time = ev.get(ids::STARTTIME).to_i64();
        let provenance: Vec<Value<'static>> = self
            .provenance
            .iter()
            .map(|f| ev.get(*f).into_owned())
            .collect();
        for (c, pos) in targets {
            let Some(time) = time else {
                self.states[c].stats.observed += 1;
                self.states[c].stats.untimed += 1;
                continue;
            };
            let spec = &self.specs[c];
            let read = |p: &Pick| match p {
                Pick::Fields(fs) => fs.iter().find_map(|f| {
                    let v = ev.get(*f);
                    v.to_text().map(|t| t.into_owned())
                }),
                Pick::Group(_) | Pick::Nothing => None,
            };
            let obs = spec.observation(pos, time, provenance.clone(), read);
            self.feed(c, obs, out);
        }
    }

    /// Decides the fixed windows that ended before `time` (all of them with
    /// `None`: the end of the input).
    pub fn flush(&mut self, time: Option<i64>, out: &mut Vec<Fired>) {
        for c in 0..self.specs.len() {
            if self.specs[c].kind == Kind::TemporalOrdered || self.specs[c].bounds().rising() {
                continue;
            }
            let span = self.specs[c].timespan_ms;
            let over: Vec<Vec<Option<String>>> = self.states[c]
                .groups
                .iter()
                .filter(|(_, g)| match (&g.window, time) {
                    (Window::Fixed(f), Some(t)) => f.start.saturating_add(span) < t,
                    (Window::Fixed(_), None) => true,
                    _ => false,
                })
                .map(|(k, _)| k.clone())
                .collect();
            let mut keys = over;
            keys.sort();
            for key in keys {
                self.close(c, key, out);
            }
        }
    }

    /// Drops group `key` of correlation `c`; a fixed window is decided first.
    fn close(&mut self, c: usize, key: Vec<Option<String>>, out: &mut Vec<Fired>) {
        if let Some(Group {
            window: Window::Fixed(f),
            ..
        }) = self.states[c].groups.remove(&key)
        {
            if let Some(fired) = self.decide(c, key, *f) {
                self.emit(fired, out);
            }
        }
    }

    fn emit(&mut self, fired: Fired, out: &mut Vec<Fired>) {
        let c = fired.correlation;
        self.states[c].stats.fired += 1;
        out.push(fired.clone());
        for (outer, pos) in self.by_correlation[c].clone() {
            let spec = &self.specs[outer];
            let read = |p: &Pick| match p {
                Pick::Group(i) => fired.key.get(*i).cloned().flatten(),
                Pick::Fields(_) | Pick::Nothing => None,
            };
            let obs = spec.observation(pos, fired.last, fired.provenance.clone(), read);
            self.feed(outer, obs, out);
        }
    }

    /// A fixed window is over: fire if its count meets the condition.
    fn decide(&self, c: usize, key: Vec<Option<String>>, f: Fixed) -> Option<Fired> {
        let spec = &self.specs[c];
        let count = match spec.kind {
            Kind::EventCount => f.events,
            Kind::ValueCount if f.overflow => return None,
            Kind::ValueCount => f.values.len() as u64,
            Kind::Temporal | Kind::TemporalOrdered => {
                f.inputs.iter().filter(|x| **x).count() as u64
            }
        };
        spec.bounds().holds(count).then(|| Fired {
            correlation: c,
            key,
            count,
            first: f.start,
            last: f.last,
            inputs: (0..f.inputs.len()).filter(|i| f.inputs[*i]).collect(),
            provenance: f.provenance,
        })
    }

    fn feed(&mut self, c: usize, obs: Obs, out: &mut Vec<Fired>) {
        self.watermark = Some(self.watermark.map_or(obs.time, |w| w.max(obs.time)));
        let spec = &self.specs[c];
        let stats = &mut self.states[c].stats;
        stats.observed += 1;
        if spec.kind == Kind::ValueCount && obs.value.is_none() {
            stats.no_value += 1;
            return;
        }
        self.sweep(c, out);
        let spec = &self.specs[c];
        let span = spec.timespan_ms;
        let bounds = spec.bounds();
        let n_inputs = spec.inputs.len();
        // A fixed window the event falls after is decided first.
        let over = match self.states[c].groups.get(&obs.key).map(|g| &g.window) {
            Some(Window::Fixed(f)) => obs.time > f.start.saturating_add(span),
            _ => false,
        };
        if over {
            self.close(c, obs.key.clone(), out);
        }
        let spec = &self.specs[c];
        let state = &mut self.states[c];
        let group = state
            .groups
            .entry(obs.key.clone())
            .or_insert_with(|| Group {
                last_seen: obs.time,
                window: fresh(spec, bounds, obs.time),
            });
        group.last_seen = group.last_seen.max(obs.time);
        let t = obs.time;
        // Every position of the input (a rule may be named twice).
        let same: Vec<usize> = (0..n_inputs)
            .filter(|k| spec.inputs[*k] == spec.inputs[obs.input])
            .collect();
        let fired: Option<(u64, i64, Vec<usize>)> = match &mut group.window {
            Window::Times(times) => {
                let at = times.partition_point(|x| *x <= t);
                times.insert(at, t);
                let newest = times.back().copied().unwrap_or(t);
                while times.front().is_some_and(|x| *x < newest - span) {
                    times.pop_front();
                }
                let n = times.len() as u64;
                bounds.holds(n).then(|| {
                    let first = times.front().copied().unwrap_or(t);
                    times.clear();
                    (n, first, vec![obs.input])
                })
            }
            Window::Values(values) => {
                let v = obs.value.clone().unwrap_or_default();
                let slot = values.entry(v).or_insert(t);
                *slot = (*slot).max(t);
                let mut n = values.len() as u64;
                if bounds.holds(n) {
                    let newest = values.values().copied().max().unwrap_or(t);
                    values.retain(|_, x| *x >= newest - span);
                    n = values.len() as u64;
                }
                bounds.holds(n).then(|| {
                    let first = values.values().copied().min().unwrap_or(t);
                    values.clear();
                    (n, first, vec![obs.input])
                })
            }
            Window::Latest(latest) => {
                for k in same.iter().copied() {
                    latest[k] = Some(latest[k].map_or(t, |x| x.max(t)));
                }
                let newest = latest.iter().flatten().copied().max().unwrap_or(t);
                let live: Vec<usize> = (0..latest.len())
                    .filter(|i| latest[*i].is_some_and(|x| x >= newest - span))
                    .collect();
                let n = live.len() as u64;
                bounds.holds(n).then(|| {
                    let first = live.iter().filter_map(|i| latest[*i]).min().unwrap_or(t);
                    latest.iter_mut().for_each(|x| *x = None);
                    (n, first, live)
                })
            }
            Window::Ordered(starts) => {
                // Later positions first, so one event never takes two steps.
                let mut done = None;
                for k in same.iter().rev().copied() {
                    let start = if k == 0 {
                        Some(t)
                    } else {
                        starts[k].filter(|s| t - *s <= span && t >= *s)
                    };
                    let Some(s) = start else { continue };
                    if k + 1 == n_inputs {
                        done = Some(s);
                        break;
                    }
                    starts[k + 1] = Some(starts[k + 1].map_or(s, |x| x.max(s)));
                }
                done.map(|first| {
                    starts.iter_mut().for_each(|x| *x = None);
                    (n_inputs as u64, first, (0..n_inputs).collect())
                })
            }
            Window::Fixed(f) => {
                f.events += 1;
                f.last = f.last.max(t);
                for k in same.iter().copied() {
                    f.inputs[k] = true;
                }
                f.provenance = obs.provenance.clone();
                if let Some(v) = &obs.value {
                    if !f.overflow {
                        f.values.insert(v.clone());
                        if bounds.ceiling().is_some_and(|c| f.values.len() as u64 > c) {
                            f.overflow = true;
                            f.values.clear();
                        }
                    }
                }
                None
            }
        };
        if let Some((count, first, inputs)) = fired {
            let fired = Fired {
                correlation: c,
                key: obs.key,
                count,
                first,
                last: t,
                inputs,
                provenance: obs.provenance,
            };
            self.emit(fired, out);
        }
    }

    /// Keeps the groups of correlation `c` within bounds: groups idle for
    /// longer than the timespan go (fixed windows are decided first); past
    /// `max_groups`, the stalest go and are counted.
    fn sweep(&mut self, c: usize, out: &mut Vec<Fired>) {
        let len = self.states[c].groups.len();
        if len < self.states[c].sweep_at && len < self.max_groups {
            return;
        }
        let span = self.specs[c].timespan_ms;
        let horizon = self.watermark.unwrap_or(i64::MIN).saturating_sub(span);
        let mut idle: Vec<Vec<Option<String>>> = self.states[c]
            .groups
            .iter()
            .filter(|(_, g)| g.last_seen < horizon)
            .map(|(k, _)| k.clone())
            .collect();
        idle.sort();
        for key in idle {
            self.close(c, key, out);
        }
        let state = &mut self.states[c];
        if state.groups.len() >= self.max_groups {
            let mut by_age: Vec<(i64, Vec<Option<String>>)> = state
                .groups
                .iter()
                .map(|(k, g)| (g.last_seen, k.clone()))
                .collect();
            by_age.sort();
            let drop = state.groups.len() - self.max_groups * 9 / 10;
            for (_, k) in by_age.into_iter().take(drop) {
                state.groups.remove(&k);
                state.stats.evicted += 1;
            }
        }
        state.sweep_at = (state.groups.len() * 2).max(1024);
    }

    /// The alert `f` as a result row: the type, the group's values, the
    /// count, the rules seen and the window's first and last times (in
    /// `zone`), and the last event's provenance.
    pub fn row(&self, f: &Fired, zone: &Zone) -> Row {
        let spec = &self.specs[f.correlation];
        let cell = |name: &str, value: Value<'static>| Cell {
            name: Arc::from(name),
            value,
        };
        let mut cells = vec![cell("correlation", Value::str(spec.kind.name()))];
        for ((name, _), v) in spec.group.iter().zip(&f.key) {
            cells.push(cell(name, v.clone().map_or(Value::Null, Value::string)));
        }
        cells.push(cell(&count_name(spec), Value::Int(f.count as i64)));
        let titles: Vec<&str> = f
            .inputs
            .iter()
            .filter_map(|i| spec.input_titles.get(*i).map(String::as_str))
            .collect();
        cells.push(cell("rules", Value::string(titles.join("; "))));
        cells.push(cell("first_time", Value::string(zone.rfc3339(f.first))));
        cells.push(cell("last_time", Value::string(zone.rfc3339(f.last))));
        Row {
            cells,
            provenance: f.provenance.clone(),
        }
    }
}

/// The name of an alert's count column.
fn count_name(spec: &Spec) -> String {
    match (spec.kind, &spec.value) {
        (Kind::EventCount, _) => "events".to_owned(),
        (Kind::ValueCount, Some((field, _))) => format!("distinct {field}"),
        (Kind::ValueCount, None) => "distinct values".to_owned(),
        _ => "rules seen".to_owned(),
    }
}

/// An empty window for a new group of `spec`.
fn fresh(spec: &Spec, bounds: Bounds, start: i64) -> Window {
    let n = spec.inputs.len();
    if spec.kind == Kind::TemporalOrdered {
        return Window::Ordered(vec![None; n + 1]);
    }
    if !bounds.rising() {
        return Window::Fixed(Box::new(Fixed {
            start,
            last: start,
            events: 0,
            values: HashSet::new(),
            overflow: false,
            inputs: vec![false; n],
            provenance: Vec::new(),
        }));
    }
    match spec.kind {
        Kind::EventCount => Window::Times(VecDeque::new()),
        Kind::ValueCount => Window::Values(HashMap::new()),
        _ => Window::Latest(vec![None; n]),
    }
}

#[cfg(test)]
#[path = "correlation_tests.rs"]
mod tests;
