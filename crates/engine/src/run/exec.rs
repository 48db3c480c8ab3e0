//! Running a compiled query: events are pushed one at a time, rows are pushed
//! into a sink. The same `Run` serves a finite batch and an unbounded stream.
//! ORDER BY + LIMIT keeps a bounded top-k heap; GROUP BY is a hash aggregation.

use crate::eval::{Evaluator, State};
use crate::functions::Agg;
use crate::ir::Ir;
use crate::ir::Table;
use crate::query::{Column, Query};
use crate::time::Window;
use portent_core::event::FieldRef;
use portent_core::schema::ids;
use portent_core::{Event, Value};
use std::cmp::Ordering;
use std::collections::{BinaryHeap, HashMap, HashSet};
use std::sync::Arc;

/// One output cell.
#[derive(Clone, Debug, PartialEq)]
pub struct Cell {
    /// Column name.
    pub name: Arc<str>,
    /// Value.
    pub value: Value<'static>,
}

/// One result row.
#[derive(Clone, Debug, PartialEq)]
pub struct Row {
    /// Cells in SELECT order (`*` expands to the event's fields).
    pub cells: Vec<Cell>,
    /// The provenance fields asked for in `CompileOptions::provenance`.
    pub provenance: Vec<Value<'static>>,
}

impl Row {
    /// The value of the column called `name`.
    pub fn get(&self, name: &str) -> Option<&Value<'static>> {
        self.cells
            .iter()
            .find(|c| &*c.name == name)
            .map(|c| &c.value)
    }
}

/// Where rows go. Returning `Ok(false)` stops the run early.
pub trait Sink {
    /// The sink's error.
    type Error;
    /// Takes one row.
    fn row(&mut self, row: Row) -> Result<bool, Self::Error>;
}

impl Sink for Vec<Row> {
    type Error = std::convert::Infallible;
    fn row(&mut self, row: Row) -> Result<bool, Self::Error> {
        self.push(row);
        Ok(true)
    }
}

/// What a run saw. Nothing is hidden silently: every filter and limit counts.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Stats {
    /// Events of the queried table pushed.
    pub events: u64,
    /// Rows of the other table (flows for an events query, and the reverse), not considered.
    pub other_table: u64,
    /// Events that match WHERE but fall outside the time window (the LAST/START
    /// clause or a `starttime` conjunct of WHERE): the rows the window hid.
    pub outside_window: u64,
    /// Events that matched WHERE inside the window.
    pub matched: u64,
    /// Matching events a tuning exception held back (not in `matched`).
    pub suppressed: u64,
    /// Groups formed (grouped queries).
    pub groups: u64,
    /// Rows removed by HAVING.
    pub removed_by_having: u64,
    /// Rows the query produced before LIMIT.
    pub rows_total: u64,
    /// Rows LIMIT kept back.
    pub hidden_by_limit: u64,
    /// Rows handed to the sink.
    pub emitted: u64,
}

/// An in-progress run of a query.
pub struct Run<'q, S: Sink> {
    query: &'q Query,
    sink: S,
    state: State,
    window: Option<Window>,
    /// The window conjuncts with NOW() bound: `starttime > NOW() - 1 DAYS`
    /// becomes `starttime > <constant>` once per run, not once per event.
    bound_window: Vec<Ir>,
    stats: Stats,
    top: TopK,
    groups: HashMap<Vec<Value<'static>>, usize>,
    group_list: Vec<(Vec<Value<'static>>, Vec<Acc>, Vec<Value<'static>>)>,
    stopped: bool,
}

impl<'q, S: Sink> Run<'q, S> {
    /// Starts a run whose NOW() is `now` (epoch milliseconds).
    pub fn new(query: &'q Query, sink: S, now: i64) -> Self {
        let limit = if query.order.is_empty() {
            None
        } else {
            query.limit.map(|l| l as usize)
        };
        let mut run = Run {
            query,
            sink,
            state: State::new(now),
            window: query.window(now),
            bound_window: Vec::new(),
            stats: Stats::default(),
            top: TopK::new(limit),
            groups: HashMap::new(),
            group_list: Vec::new(),
            stopped: false,
        };
        if let Some(g) = &query.grouping {
            if g.keys.is_empty() {
                // Aggregates without GROUP BY form one group, even over no events.
                run.group_list.push((
                    Vec::new(),
                    g.aggs.iter().map(|a| Acc::new(a.agg)).collect(),
                    Vec::new(),
                ));
                run.groups.insert(Vec::new(), 0);
            }
        }
        run.bind_window();
        run
    }

    /// Moves the clock (streaming: NOW() is wall-clock time).
    pub fn set_now(&mut self, now: i64) {
        self.state.now = now;
        self.window = self.query.window(now);
        self.bind_window();
    }

    fn bind_window(&mut self) {
        let evaluator = self.evaluator();
        let mut state = State::new(self.state.now);
        let empty = portent_core::Record::new();
        let mut bind = |ir: &Ir| -> Ir {
            if ir.is_event_free() {
                Ir::Const(evaluator.eval(ir, &empty, &mut state).into_owned())
            } else {
                ir.clone()
            }
        };
        self.bound_window = self
            .query
            .window_conjuncts
            .iter()
            .map(|(c, _)| match c {
                Ir::Cmp(op, a, b) => Ir::Cmp(*op, Box::new(bind(a)), Box::new(bind(b))),
                other => other.clone(),
            })
            .collect();
    }

    /// The sink, for a streaming caller that takes rows out as they come.
    pub fn sink_mut(&mut self) -> &mut S {
        &mut self.sink
    }

    /// What the run has seen so far.
    pub fn stats(&self) -> &Stats {
        &self.stats
    }

    /// The window in force, if any.
    pub fn window(&self) -> Option<Window> {
        self.window
    }

    fn evaluator(&self) -> Evaluator<'q> {
        Evaluator {
            patterns: &self.query.patterns,
            groups: &self.query.groups,
            catalog: &self.query.options.catalog,
            zone: self.query.options.zone,
            refdata: &self.query.options.reference_data,
            shared: None,
        }
    }

    /// Tests one event against WHERE and the time window, without producing rows.
    /// WHERE comes first so that `outside_window` counts exactly the events the
    /// window hid: those that match everything else.
    pub fn matches<E: Event + ?Sized>(&mut self, ev: &E) -> bool {
        let q = self.query;
        let ev_ = self.evaluator();
        self.state.next_event();
        if let Some(f) = &q.filter {
            if ev_.truth(f, ev, &mut self.state) != Some(true) {
                return false;
            }
        }
        if let Some(w) = &self.window {
            let inside = ev
                .get(ids::STARTTIME)
                .to_i64()
                .is_some_and(|t| w.contains(t));
            if !inside {
                self.stats.outside_window += 1;
                return false;
            }
        }
        for c in &self.bound_window {
            if ev_.truth(c, ev, &mut self.state) != Some(true) {
                self.stats.outside_window += 1;
                return false;
            }
        }
        true
    }

    /// Feeds one event. Returns `Ok(false)` once the sink asked to stop.
    pub fn push<E: Event + ?Sized>(&mut self, ev: &E) -> Result<bool, S::Error> {
        self.push_unless(ev, &mut |_| false)
    }

    /// Feeds one event unless `veto` suppresses it. `veto` sees only events that
    /// match (WHERE and the window): a suppression is always a hit held back,
    /// and is counted in [`Stats::suppressed`].
    pub fn push_unless<E: Event + ?Sized>(
        &mut self,
        ev: &E,
        veto: &mut dyn FnMut(&E) -> bool,
    ) -> Result<bool, S::Error> {
        if self.stopped {
            return Ok(false);
        }
        if (self.query.table == Table::Flows) != ev.is_flow() {
            // A row of the other table: not part of this query's input at all.
            self.stats.other_table += 1;
            return Ok(true);
        }
        self.stats.events += 1;
        if !self.matches(ev) {
            return Ok(true);
        }
        if veto(ev) {
            self.stats.suppressed += 1;
            return Ok(true);
        }
        self.stats.matched += 1;
        let q = self.query;
        let evaluator = self.evaluator();
        if let Some(g) = &q.grouping {
            let key: Vec<Value<'static>> = g
                .keys
                .iter()
                .map(|k| evaluator.eval(k, ev, &mut self.state).into_owned())
                .collect();
            let idx = match self.groups.get(&key) {
                Some(i) => *i,
                None => {
                    let i = self.group_list.len();
                    self.group_list.push((
                        key.clone(),
                        g.aggs.iter().map(|a| Acc::new(a.agg)).collect(),
                        Vec::new(),
                    ));
                    self.groups.insert(key, i);
                    i
                }
            };
            let accs = &mut self.group_list[idx].1;
            for (acc, spec) in accs.iter_mut().zip(&g.aggs) {
                match &spec.arg {
                    None => acc.add(&Value::Int(1)),
                    Some(a) => acc.add(&evaluator.eval(a, ev, &mut self.state)),
                }
            }
            return Ok(true);
        }
        let row = self.project(ev);
        self.stats.rows_total += 1;
        if q.order.is_empty() {
            if q.limit.is_some_and(|l| self.stats.emitted >= l) {
                self.stats.hidden_by_limit += 1;
                return Ok(true);
            }
            return self.emit(row);
        }
        self.state.cols = row
            .cells
            .iter()
            .take(q.columns.len())
            .map(|c| c.value.clone())
            .collect();
        let keys: Vec<Value<'static>> = q
            .order
            .iter()
            .map(|(o, _)| evaluator.eval(o, ev, &mut self.state).into_owned())
            .collect();
        self.top.push(keys, &q.order, row);
        Ok(true)
    }

    fn project<E: Event + ?Sized>(&mut self, ev: &E) -> Row {
        let q = self.query;
        let evaluator = self.evaluator();
        let mut cells = Vec::with_capacity(q.columns.len());
        for c in &q.columns {
            match c {
                Column::Expr { name, ir, .. } => {
                    let value = evaluator.eval(ir, ev, &mut self.state).into_owned();
                    cells.push(Cell {
                        name: name.clone(),
                        value,
                    });
                }
                Column::Wildcard => ev.for_each(&mut |f: FieldRef<'_>, v: &Value<'_>| {
                    let name: Arc<str> = match f {
                        FieldRef::Id(id) => q.schema.name(id).into(),
                        FieldRef::Name(n) => n.into(),
                    };
                    cells.push(Cell {
                        name,
                        value: v.clone().into_owned(),
                    });
                }),
            }
        }
        let provenance = q
            .options
            .provenance
            .iter()
            .map(|f| ev.get(*f).into_owned())
            .collect();
        Row { cells, provenance }
    }

    fn emit(&mut self, row: Row) -> Result<bool, S::Error> {
        self.stats.emitted += 1;
        let more = self.sink.row(row)?;
        if !more {
            self.stopped = true;
        }
        Ok(more)
    }

    /// Ends the run: flushes ordered and grouped rows, returns the sink and stats.
    pub fn finish(mut self) -> Result<(S, Stats), S::Error> {
        let q = self.query;
        if let Some(g) = &q.grouping {
            let evaluator = self.evaluator();
            let empty = portent_core::Record::new();
            let groups = std::mem::take(&mut self.group_list);
            self.stats.groups = groups.len() as u64;
            for (keys, accs, _) in groups {
                // A group is not the last event: nothing cached about it holds.
                self.state.next_event();
                self.state.keys = keys;
                self.state.aggs = accs.into_iter().map(Acc::finish).collect();
                let mut cells = Vec::with_capacity(q.columns.len());
                // A column may read the columns before it by alias
                // (`LONG("Unparsed Events"*100)/"Total Events"`).
                self.state.cols.clear();
                for c in &q.columns {
                    if let Column::Expr { name, ir, .. } = c {
                        let value = evaluator.eval(ir, &empty, &mut self.state).into_owned();
                        self.state.cols.push(value.clone());
                        cells.push(Cell {
                            name: name.clone(),
                            value,
                        });
                    }
                }
                self.state.cols = cells.iter().map(|c| c.value.clone()).collect();
                if let Some(h) = &g.having {
                    if evaluator.truth(h, &empty, &mut self.state) != Some(true) {
                        self.stats.removed_by_having += 1;
                        continue;
                    }
                }
                self.stats.rows_total += 1;
                let row = Row {
                    cells,
                    provenance: Vec::new(),
                };
                if q.order.is_empty() {
                    if q.limit.is_some_and(|l| self.stats.emitted >= l) {
                        self.stats.hidden_by_limit += 1;
                        continue;
                    }
                    if !self.emit(row)? {
                        break;
                    }
                } else {
                    let keys: Vec<Value<'static>> = q
                        .order
                        .iter()
                        .map(|(o, _)| evaluator.eval(o, &empty, &mut self.state).into_owned())
                        .collect();
                    self.top.push(keys, &q.order, row);
                }
            }
        }
        if !q.order.is_empty() {
            let top = std::mem::replace(&mut self.top, TopK::new(None));
            self.stats.hidden_by_limit += top.evicted;
            for row in top.into_sorted() {
                if self.stopped || !self.emit(row)? {
                    break;
                }
            }
        }
        Ok((self.sink, self.stats))
    }
}

/// A bounded top-k: memory grows with LIMIT, not with the input.
struct TopK {
    limit: Option<usize>,
    heap: BinaryHeap<Ranked>,
    seq: u64,
    evicted: u64,
}

struct Ranked {
    keys: Vec<(Value<'static>, bool)>,
    seq: u64,
    row: Row,
}

impl Ranked {
    /// Output order: by keys (DESC reverses), ties in arrival order.
    fn order(&self, other: &Ranked) -> Ordering {
        for ((a, desc), (b, _)) in self.keys.iter().zip(&other.keys) {
            let o = a.sort_cmp(b);
            let o = if *desc { o.reverse() } else { o };
            if o != Ordering::Equal {
                return o;
            }
        }
        self.seq.cmp(&other.seq)
    }
}

impl PartialEq for Ranked {
    fn eq(&self, other: &Self) -> bool {
        self.order(other) == Ordering::Equal
    }
}
impl Eq for Ranked {}
impl PartialOrd for Ranked {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}
impl Ord for Ranked {
    /// The max-heap's top is the row that sorts last: the one to evict.
    fn cmp(&self, other: &Self) -> Ordering {
        self.order(other)
    }
}

impl TopK {
    fn new(limit: Option<usize>) -> TopK {
        TopK {
            limit,
            heap: BinaryHeap::new(),
            seq: 0,
            evicted: 0,
        }
    }

    fn push(&mut self, keys: Vec<Value<'static>>, order: &[(Ir, bool)], row: Row) {
        let keys = keys
            .into_iter()
            .zip(order.iter().map(|(_, d)| *d))
            .collect();
        let r = Ranked {
            keys,
            seq: self.seq,
            row,
        };
        self.seq += 1;
        match self.limit {
            Some(0) => self.evicted += 1,
            Some(k) if self.heap.len() >= k => {
                // never fails because the heap holds k >= 1 rows here
                if let Some(worst) = self.heap.peek() {
                    if r.order(worst) == Ordering::Less {
                        self.heap.pop();
                        self.heap.push(r);
                    }
                }
                self.evicted += 1;
            }
            _ => self.heap.push(r),
        }
    }

    fn into_sorted(self) -> Vec<Row> {
        self.heap
            .into_sorted_vec()
            .into_iter()
            .map(|r| r.row)
            .collect()
    }
}

/// Replaces `slot` by `v` when `v` compares as `wanted` to it (MIN and MAX).
fn keep_extreme(slot: &mut Option<Value<'static>>, v: &Value<'_>, wanted: Ordering) {
    let replace = match slot {
        None => true,
        Some(cur) => v.compare(cur).unwrap_or_else(|| v.sort_cmp(cur)) == wanted,
    };
    if replace {
        *slot = Some(v.clone().into_owned());
    }
}

/// An aggregate accumulator.
#[derive(Clone, Debug)]
enum Acc {
    Count(i64),
    Sum(Option<Value<'static>>),
    Min(Option<Value<'static>>),
    Max(Option<Value<'static>>),
    Avg(f64, u64),
    First(Option<Value<'static>>),
    Last(Option<Value<'static>>),
    Unique(HashSet<Value<'static>>),
    Stdev {
        n: u64,
        mean: f64,
        m2: f64,
        population: bool,
    },
}

impl Acc {
    fn new(a: Agg) -> Acc {
        match a {
            Agg::Count => Acc::Count(0),
            Agg::Sum => Acc::Sum(None),
            Agg::Min => Acc::Min(None),
            Agg::Max => Acc::Max(None),
            Agg::Avg => Acc::Avg(0.0, 0),
            Agg::First => Acc::First(None),
            Agg::Last => Acc::Last(None),
            Agg::UniqueCount => Acc::Unique(HashSet::new()),
            Agg::Stdev => Acc::Stdev {
                n: 0,
                mean: 0.0,
                m2: 0.0,
                population: false,
            },
            Agg::Stdevp => Acc::Stdev {
                n: 0,
                mean: 0.0,
                m2: 0.0,
                population: true,
            },
        }
    }

    /// Adds a value; NULLs are ignored by every aggregate (COUNT(*) feeds 1s).
    fn add(&mut self, v: &Value<'_>) {
        if v.is_null() {
            return;
        }
        match self {
            Acc::Count(n) => *n += 1,
            Acc::Sum(s) => {
                let next = match s.take() {
                    None => match v {
                        Value::Int(_) | Value::Float(_) => v.clone().into_owned(),
                        _ => v.to_f64().map_or(Value::Null, Value::Float),
                    },
                    Some(acc) => crate::eval::arith(crate::ir::ArithOp::Add, &acc, v),
                };
                *s = if next.is_null() { None } else { Some(next) };
            }
            Acc::Min(slot) => keep_extreme(slot, v, Ordering::Less),
            Acc::Max(slot) => keep_extreme(slot, v, Ordering::Greater),
            Acc::Avg(sum, n) => {
                if let Some(x) = v.to_f64() {
                    *sum += x;
                    *n += 1;
                }
            }
            Acc::First(f) => {
                if f.is_none() {
                    *f = Some(v.clone().into_owned());
                }
            }
            Acc::Last(l) => *l = Some(v.clone().into_owned()),
            Acc::Unique(set) => {
                set.insert(v.clone().into_owned());
            }
            Acc::Stdev { n, mean, m2, .. } => {
                if let Some(x) = v.to_f64() {
                    *n += 1;
                    let d = x - *mean;
                    *mean += d / *n as f64;
                    *m2 += d * (x - *mean);
                }
            }
        }
    }

    fn finish(self) -> Value<'static> {
        match self {
            Acc::Count(n) => Value::Int(n),
            Acc::Sum(s) | Acc::Min(s) | Acc::Max(s) | Acc::First(s) | Acc::Last(s) => {
                s.unwrap_or(Value::Null)
            }
            Acc::Avg(_, 0) => Value::Null,
            Acc::Avg(sum, n) => Value::Float(sum / n as f64),
            Acc::Unique(set) => Value::Int(set.len() as i64),
            Acc::Stdev {
                n, m2, population, ..
            } => {
                let d = if population { n } else { n.saturating_sub(1) };
                if d == 0 {
                    Value::Null
                } else {
                    Value::Float((m2 / d as f64).sqrt())
                }
            }
        }
    }
}
