//! Reading every input in parallel and handing the candidate events of the
//! compiled queries over in input order. Workers read units (files, EVTX
//! chunk ranges), test each event against each query's prefilter and keep
//! only candidates; process creations go into the enrichment index. Units are
//! taken in, in input order, whatever the thread timing; a candidate whose
//! process creation may still come later waits for it (on disk past a few
//! thousand), so results do not depend on whether a process's creation was
//! read before its connections.

use crate::enrich::{filled_if_absent, reads_enriched};
use crate::mailbox::{ForUnit, Mailbox, Sender};
use portent_core::schema::ids;
use portent_core::{Event, FieldId, Record, Schema, Value};
use portent_engine::{PrefilterSet, Query, Router, State};
use portent_io::correlate::{
    creation_of, key_of, Creation, Outcome, ProcessIndex, ENRICHED_FIELDS,
};
use portent_io::{plan, read_unit, FileReport, Inputs, ReadOptions, Unit, Wanted};
use std::collections::BTreeMap;
use std::path::PathBuf;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;

/// Candidates a streaming scan holds back in memory at most while their
/// process creation may still come later in the input; the older ones wait
/// on disk (see `spill`).
const MAX_HELD: usize = 4_096;

/// Streaming, a unit's candidates go to the main thread in batches of this
/// many, so one huge file is not held whole.
const BATCH: usize = 2_048;

/// What the main thread holds at most of later units while an earlier unit
/// is still being read: their readers wait beyond that. Memory is bounded by
/// what the results hold (candidates and process creations, as many as 8 full
/// batches); the count of units bounds the rest, and is large so that readers
/// of small files do not wait, and wake, once per file.
const MAX_WAITING: usize = 64;
const MAX_WAITING_ITEMS: usize = 8 * BATCH;

/// What a worker sends: part of a unit, or its end.
enum Msg {
    Batch(Batch),
    Done(UnitResult),
}

impl ForUnit for Msg {
    fn unit(&self) -> usize {
        match self {
            Msg::Batch(b) => b.unit,
            Msg::Done(r) => r.index,
        }
    }
}

/// Candidates and process creations of a unit, in order.
struct Batch {
    unit: usize,
    candidates: Vec<Candidate>,
    creations: Vec<Creation>,
    /// Its weight in the gate's held results (0: not held).
    gate_weight: usize,
}

/// Keeps readers of later units from running far ahead of the unit being
/// handed over (whose reader never waits, so the scan always progresses).
struct Gate {
    state: std::sync::Mutex<GateState>,
    turn: std::sync::Condvar,
}

#[derive(Default)]
struct GateState {
    /// The unit being handed over.
    unit: usize,
    /// Results of later units held, and their candidates and creations.
    held: usize,
    items: usize,
    /// Readers waiting for their turn: only then is there anyone to wake
    /// (a wake is a system call, and the scan moves on once per unit).
    sleeping: usize,
}

impl Gate {
    fn new() -> Gate {
        Gate {
            state: std::sync::Mutex::new(GateState::default()),
            turn: std::sync::Condvar::new(),
        }
    }

    /// Waits until a result of `unit` holding `items` candidates and creations
    /// may be sent; the weight counted while it is held (0: not held).
    fn enter(&self, unit: usize, items: usize) -> usize {
        let Ok(mut g) = self.state.lock() else {
            return 0;
        };
        let weight = items + 1;
        while unit != g.unit
            && (g.held >= MAX_WAITING || (g.held > 0 && g.items + weight > MAX_WAITING_ITEMS))
        {
            g.sleeping += 1;
            g = match self.turn.wait(g) {
                Ok(g) => g,
                Err(_) => return 0,
            };
            g.sleeping -= 1;
        }
        if unit == g.unit {
            return 0;
        }
        g.held += 1;
        g.items += weight;
        weight
    }

    /// A held result of `weight` (from [`Gate::enter`]) was taken in.
    fn released(&self, weight: usize) {
        if weight > 0 {
            self.update(|g| {
                g.held = g.held.saturating_sub(1);
                g.items = g.items.saturating_sub(weight);
            });
        }
    }

    fn advance(&self, unit: usize) {
        self.update(|g| g.unit = unit);
    }

    fn update(&self, change: impl FnOnce(&mut GateState)) {
        let wake = match self.state.lock() {
            Ok(mut g) => {
                change(&mut g);
                g.sleeping > 0
            }
            // A reader died holding the lock: wake the others, who then
            // find it poisoned and stop waiting.
            Err(_) => true,
        };
        if wake {
            self.turn.notify_all();
        }
    }
}

/// Where a scan reports how far it is (a terminal display, say). Readers
/// call it from their threads.
pub trait Progress: Sync {
    /// The scan will read `bytes` in all.
    fn total(&self, bytes: u64);
    /// A reader starts on `unit`.
    fn start(&self, unit: &str);
    /// A reader finished `bytes` more.
    fn add(&self, bytes: u64);
    /// The scan is done: [`Progress::draw_until_finished`] returns.
    fn finish(&self);
    /// Shows progress until [`Progress::finish`]; runs on a thread of its
    /// own (unless the scan is quiet).
    fn draw_until_finished(&self);
}

/// No progress shown.
pub struct Silent;

impl Progress for Silent {
    fn total(&self, _: u64) {}
    fn start(&self, _: &str) {}
    fn add(&self, _: u64) {}
    fn finish(&self) {}
    fn draw_until_finished(&self) {}
}

/// Settings of a scan.
#[derive(Clone, Debug)]
pub struct ScanOptions {
    /// No progress display.
    pub quiet: bool,
    /// Worker threads.
    pub threads: usize,
    /// Reader settings.
    pub read: ReadOptions,
    /// Processes the enrichment index holds before it evicts the oldest.
    pub index_capacity: usize,
    /// About how many bytes of process creations the index holds at most.
    pub index_bytes: usize,
    /// Per query (in order; missing or `None`: every event), the channels
    /// and event ids it can match: an event is tested only against the
    /// queries that admit it, so thousands of Sigma rules cost an event a
    /// lookup and a few tests, not thousands.
    pub dispatch: Vec<Option<Dispatch>>,
    /// Every field the consumers of the candidates read (sorted; `None`:
    /// all of them, as `SELECT *` does). A candidate held back for a process
    /// creation keeps only these and what enrichment needs, so that holding
    /// many costs little.
    pub keep: Option<Vec<FieldId>>,
    /// Keep every input's report, not only those with trouble: for a
    /// summary that lists the inputs. Off, a folder of thousands of files
    /// costs memory for the few that had trouble only.
    pub list_inputs: bool,
    /// Read every EVTX record whole, also those of channels and event ids
    /// no query admits and no join needs (the reference that passing over
    /// their data is tested against).
    pub read_all: bool,
}

pub use portent_engine::Dispatch;

/// The events a scan of `queries` with the log sources `dispatch` can use:
/// those some query admits, and process creations when `correlate` joins
/// them to other events. A query without a log source is tested on every
/// event: it wants the event ids its condition cannot do without, from any
/// channel, and when it names none, everything (`None`: no event is passed
/// over; an AQL query is such a query unless it names its event ids).
pub fn wanted(
    dispatch: &[Option<Dispatch>],
    queries: &[&Query],
    correlate: bool,
) -> Option<Wanted> {
    let mut w = Wanted::new();
    for (i, q) in queries.iter().enumerate() {
        match dispatch.get(i).and_then(Option::as_ref) {
            Some(d) => {
                let ids: Vec<i64> = d.event_ids.iter().map(|i| i64::from(*i)).collect();
                for (channel, provider) in &d.channels {
                    w.add(channel, provider, &ids);
                }
            }
            None => match q.event_ids() {
                // No event id both allow: the query matches nothing.
                Some(ids) if ids.is_empty() => {}
                Some(ids) => w.add_anywhere(&ids),
                None => return None,
            },
        }
    }
    if correlate {
        w.add_process_creations();
    }
    Some(w)
}

/// What enrichment can change in a query's answer.
enum Join {
    Everything,
    /// Only these fields (none: nothing).
    Fields(Vec<FieldId>),
}

/// A candidate event and the queries it is a candidate of.
pub struct Candidate {
    /// The event.
    pub record: Record<'static>,
    /// Where it is in the input: its unit in the high 32 bits, its place
    /// among the unit's candidates in the low (so sorting restores input
    /// order, whichever order candidates were handed over in).
    pub seq: u64,
    /// Which queries, ascending (most events are candidates of one or two
    /// of thousands: a list, not a bit per query).
    pub queries: Box<[u32]>,
}

impl Candidate {
    /// True when the event is a candidate of query `q`.
    pub fn of(&self, q: usize) -> bool {
        self.queries.binary_search(&(q as u32)).is_ok()
    }
}

/// What a scan read (its candidates went to the caller).
pub struct Scan {
    /// The inputs' reports (EVTX ranges merged): totals over all, and every
    /// report or those with trouble (see [`ScanOptions::list_inputs`]).
    pub inputs: Inputs,
    /// Events read in all.
    pub events: u64,
    /// The newest event time.
    pub latest: Option<i64>,
    /// Enrichment: found, missing, and index evictions.
    pub enrichment: Option<(u64, u64, u64)>,
    /// Streaming: candidates handed over before the end although their
    /// process creation had not been read, because too many were waiting.
    pub released_early: u64,
    /// Streaming: candidates that waited on disk for a process creation.
    pub waited_on_disk: u64,
    /// Why candidates could not wait on disk (then they were released early
    /// or, read back, lost: said in the summary).
    pub spill_error: Option<String>,
    /// Bytes of input.
    pub bytes: u64,
    /// Wall time of the scan.
    pub elapsed: std::time::Duration,
}

fn unit_size(u: &Unit) -> u64 {
    match u.chunks {
        Some((_, n)) => n * portent_io::evtx::CHUNK,
        None => std::fs::metadata(&u.path).map_or(0, |m| m.len()),
    }
}

struct UnitResult {
    index: usize,
    /// Its weight in the gate's held results (0: not held).
    gate_weight: usize,
    candidates: Vec<Candidate>,
    creations: Vec<Creation>,
    reports: Vec<FileReport>,
    events: u64,
    latest: Option<i64>,
}

/// True when a streaming scan may hand `q`'s candidates over out of input
/// order: a candidate whose enrichment must wait for a process creation
/// read later comes at the end.
pub fn may_reorder(q: &Query) -> bool {
    reads_enriched(q)
}

/// True when `q`'s answer over a streaming scan can differ from its answer
/// over the input in order (see [`may_reorder`], `Query::order_sensitive`).
pub fn needs_input_order(q: &Query) -> bool {
    may_reorder(q) && q.order_sensitive()
}

/// When candidates are handed over.
pub enum Mode<'a> {
    /// Every candidate is held until all input is read, so that enrichment
    /// sees every process creation (one in a later file too); the newest
    /// event time is given to the function before the first is handed over.
    AtEnd(&'a mut dyn FnMut(Option<i64>)),
    /// As soon as they are read (see [`scan_each`]).
    Streaming,
}

/// Reads `inputs` for `queries` and hands each candidate to `deliver` in
/// input order; the returned [`Scan`] holds no candidates.
///
/// [`Mode::AtEnd`] holds every candidate until all input is read.
/// [`Mode::Streaming`] hands a unit's candidates over as soon as it and every
/// unit before it are read, and drops them: memory stays flat however much
/// input there is. A candidate is enriched against the creations read so
/// far; one whose creation is not among them, for a query that reads the
/// enriched fields, is held back and handed over at the end, enriched
/// against everything (so it comes after the others).
pub fn scan_each(
    inputs: &[PathBuf],
    queries: &[&Query],
    schema: &Schema,
    opts: &ScanOptions,
    mode: Mode<'_>,
    progress: &dyn Progress,
    deliver: &mut dyn FnMut(Candidate),
) -> Scan {
    let streaming = matches!(mode, Mode::Streaming);
    let (units, early_reports) = plan(inputs, &opts.read);
    let sizes: Vec<u64> = units.iter().map(unit_size).collect();
    progress.total(sizes.iter().sum());
    let correlate = queries.iter().any(|q| reads_enriched(q));
    // What enrichment could add to each query's answer: everything (it reads
    // every field, or the enrichment outcome), or the fields it fills that
    // the query reads. A candidate waits for a creation read later only when
    // one of its queries reads such a field and the event lacks it: an event
    // whose own fields decide the answer goes out at once, so the held-back
    // candidates (and memory) do not grow with the input.
    let joins: Vec<Join> = queries
        .iter()
        .map(|q| {
            let fields = q.fields();
            if q.reads_all_fields() || fields.contains(&ids::ENRICHMENT) {
                Join::Everything
            } else {
                Join::Fields(
                    fields
                        .into_iter()
                        .filter(|f| ENRICHED_FIELDS.contains(f))
                        .collect(),
                )
            }
        })
        .collect();
    // Enrichment fills the process fields only where the event has none (so
    // an event's own values are final and can be tested early), but always
    // sets "Enrichment"; the source file is set on candidates only.
    let filled = filled_if_absent();
    let (deferred, if_absent) = if correlate {
        (vec![ids::SOURCE_FILE, ids::ENRICHMENT], filled)
    } else {
        (vec![ids::SOURCE_FILE], Vec::new())
    };
    let prefilters = PrefilterSet::new(queries, &deferred, &if_absent);
    let read = ReadOptions {
        wanted: match &opts.read.wanted {
            Some(w) => Some(w.clone()),
            None if opts.read_all => None,
            None => wanted(&opts.dispatch, queries, correlate).map(Arc::new),
        },
        ..opts.read.clone()
    };
    let read = &read;
    let keep = opts.keep.as_ref().map(|k| {
        let mut k = k.clone();
        k.extend(ENRICHED_FIELDS);
        k.extend(portent_io::correlate::KEY_FIELDS);
        k.push(ids::SOURCE_FILE);
        k.sort_unstable();
        k.dedup();
        k
    });
    let started = std::time::Instant::now();
    let next = AtomicUsize::new(0);
    let threads = opts.threads.clamp(1, units.len().max(1));
    let mailbox = Mailbox::<Msg>::new(threads);
    let gate = Gate::new();
    // Units read ahead of the one taken in next: a few, one per reader.
    let mut pending: BTreeMap<usize, UnitResult> = BTreeMap::new();
    // Not streaming, every candidate, in input order, until all is read.
    let mut rest: Vec<Candidate> = Vec::new();
    let mut index =
        correlate.then(|| ProcessIndex::with_budget(opts.index_capacity, opts.index_bytes));
    let (mut found, mut missing) = (0u64, 0u64);
    let mut held: std::collections::VecDeque<Candidate> = Default::default();
    let mut spill = crate::spill::Spill::default();
    let mut spill_failed: Option<String> = None;
    let mut released_early = 0u64;
    // What each unit read, folded in as it is taken in: a folder of many
    // small files must not hold every unit's result to the end.
    let mut reports = Inputs::new(opts.list_inputs);
    let (mut events, mut latest) = (0u64, None::<i64>);
    std::thread::scope(|s| {
        if !opts.quiet {
            s.spawn(|| progress.draw_until_finished());
        }
        for _ in 0..threads {
            let tx = mailbox.sender();
            let (units, prefilters, next, sizes, gate) =
                (&units, &prefilters, &next, &sizes, &gate);
            s.spawn(move || {
                // One router per reader: the routes it works out (once per
                // channel, provider and event id) serve every unit it reads.
                let mut router = Router::new(opts.dispatch.as_slice(), prefilters.len());
                loop {
                    let i = next.fetch_add(1, Ordering::Relaxed);
                    let Some(unit) = units.get(i) else { break };
                    progress.start(&unit.name());
                    let batches = streaming.then_some((&tx, gate));
                    let r = read_one(
                        i,
                        unit,
                        prefilters,
                        &mut router,
                        correlate,
                        schema,
                        read,
                        batches,
                    );
                    progress.add(sizes[i]);
                    // A finished unit waits its turn like a batch: readers of
                    // small files must not pile up results behind a big one.
                    let mut r = r;
                    if streaming {
                        r.gate_weight = gate.enter(i, r.candidates.len() + r.creations.len());
                    }
                    tx.send(Msg::Done(r));
                }
            });
        }
        // Units are taken in, in input order, as soon as every earlier one is
        // in: the process index (and, streaming, what is handed over) is the
        // same whatever the thread timing.
        let mut taken = 0;
        let mut buffered: BTreeMap<usize, Vec<Batch>> = BTreeMap::new();
        let mut take_in = |b: Batch, index: &mut Option<ProcessIndex>| {
            if let Some(idx) = index.as_mut() {
                for c in b.creations {
                    idx.insert(c);
                }
            }
            gate.released(b.gate_weight);
            for mut c in b.candidates {
                let outcome = index.as_ref().map(|idx| idx.enrich(&mut c.record));
                let waits = outcome == Some(Outcome::Missing)
                    && c.queries.iter().any(|q| match &joins[*q as usize] {
                        Join::Everything => true,
                        Join::Fields(fs) => fs.iter().any(|f| c.record.get(*f).is_null()),
                    });
                match outcome {
                    _ if waits => {
                        if let Some(k) = &keep {
                            c.record.retain(k, ids::SUPPRESSED_BY.index() + 1);
                        }
                        held.push_back(c);
                        // Memory stays bounded: past the cap the oldest wait
                        // on disk; if the disk refuses, they go out as they
                        // are, and are counted.
                        while held.len() > MAX_HELD {
                            let Some(old) = held.pop_front() else { break };
                            if spill_failed.is_none() {
                                match spill.push(&old) {
                                    Ok(()) => continue,
                                    Err(e) => spill_failed = Some(e.to_string()),
                                }
                            }
                            missing += 1;
                            released_early += 1;
                            deliver(old);
                        }
                    }
                    Some(Outcome::Found) => {
                        found += 1;
                        deliver(c);
                    }
                    Some(Outcome::Missing) => {
                        missing += 1;
                        deliver(c);
                    }
                    _ => deliver(c),
                }
            }
        };
        while let Some(messages) = mailbox.take(taken) {
            for msg in messages {
                match msg {
                    Msg::Batch(b) if b.unit == taken => take_in(b, &mut index),
                    Msg::Batch(b) => buffered.entry(b.unit).or_default().push(b),
                    Msg::Done(r) => {
                        pending.insert(r.index, r);
                    }
                }
            }
            while let Some(next) = pending.remove(&taken) {
                gate.released(next.gate_weight);
                events += next.events;
                latest = latest.max(next.latest);
                reports.extend(next.reports);
                for b in buffered.remove(&taken).unwrap_or_default() {
                    take_in(b, &mut index);
                }
                // Not streaming, the candidates wait until every creation
                // is in.
                let candidates = if streaming {
                    next.candidates
                } else {
                    rest.extend(next.candidates);
                    Vec::new()
                };
                let last = Batch {
                    unit: taken,
                    candidates,
                    creations: next.creations,
                    gate_weight: 0,
                };
                take_in(last, &mut index);
                taken += 1;
                gate.advance(taken);
                for b in buffered.remove(&taken).unwrap_or_default() {
                    take_in(b, &mut index);
                }
            }
        }
        progress.finish();
    });
    // A unit after one that never came in (its reader died) is not taken
    // in: what it read is still counted and handed over.
    for (_, r) in std::mem::take(&mut pending) {
        events += r.events;
        latest = latest.max(r.latest);
        reports.extend(r.reports);
        rest.extend(r.candidates);
    }
    reports.extend(early_reports);
    reports.finish();
    let mut scan = Scan {
        inputs: reports,
        events,
        latest,
        enrichment: None,
        released_early,
        waited_on_disk: 0,
        spill_error: None,
        bytes: sizes.iter().sum(),
        elapsed: started.elapsed(),
    };
    // Not streaming, every candidate is still in its unit; streaming, what
    // waited for a creation that might come later. Both are enriched now,
    // against every creation read.
    if let Mode::AtEnd(before) = mode {
        before(scan.latest);
    }
    let mut last = |mut c: Candidate| {
        match index.as_ref().map(|idx| idx.enrich(&mut c.record)) {
            Some(Outcome::Found) => found += 1,
            Some(Outcome::Missing) => missing += 1,
            _ => {}
        }
        deliver(c);
    };
    scan.waited_on_disk = spill.count;
    // The oldest waited on disk: they go first.
    if let Err(e) = spill.drain(&mut last) {
        spill_failed = Some(e.to_string());
    }
    for c in rest.into_iter().chain(held) {
        last(c);
    }
    scan.spill_error = spill_failed;
    if let Some(idx) = &index {
        scan.enrichment = Some((found, missing, idx.evicted));
    }
    scan
}

#[allow(clippy::too_many_arguments)]
fn read_one(
    index: usize,
    unit: &Unit,
    prefilters: &PrefilterSet<'_>,
    router: &mut Router<'_>,
    correlate: bool,
    schema: &Schema,
    opts: &ReadOptions,
    batches: Option<(&Sender<'_, Msg>, &Gate)>,
) -> UnitResult {
    let mut candidates = Vec::new();
    let mut creations = Vec::new();
    let mut events = 0u64;
    let mut latest: Option<i64> = None;
    let mut state = State::new(0);
    let mut ordinal = 0u64;
    let reports = read_unit(unit, schema, opts, &mut |name, mut rec| {
        events += 1;
        if let Some(t) = rec.get(ids::STARTTIME).to_i64() {
            latest = Some(latest.map_or(t, |l| l.max(t)));
        }
        if correlate {
            if let Some(c) = creation_of(&rec) {
                creations.push(c);
            }
        }
        let mut of: Vec<u32> = Vec::new();
        // Enrichment fills in only events with a process to join: the
        // others are complete now, and every prefilter term is decided.
        let complete = !correlate || key_of(&rec).is_none();
        prefilters.candidates(&rec, &router.route(&rec), complete, &mut state, &mut of);
        if !of.is_empty() {
            rec.set(ids::SOURCE_FILE, Value::string(name.to_owned()));
            rec.compact(ids::SUPPRESSED_BY.index() + 1);
            candidates.push(Candidate {
                record: rec,
                seq: ((index as u64) << 32) | (ordinal & 0xffff_ffff),
                queries: of.into(),
            });
            ordinal += 1;
            if let Some((tx, gate)) = batches {
                if candidates.len() >= BATCH {
                    let gate_weight = gate.enter(index, candidates.len() + creations.len());
                    tx.send(Msg::Batch(Batch {
                        unit: index,
                        candidates: std::mem::take(&mut candidates),
                        creations: std::mem::take(&mut creations),
                        gate_weight,
                    }));
                }
            }
        }
    });
    UnitResult {
        index,
        gate_weight: 0,
        candidates,
        creations,
        reports,
        events,
        latest,
    }
}
