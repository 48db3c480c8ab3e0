//! A necessary condition for a query to match, usable before an event is
//! complete: the WHERE conjuncts that read none of a given set of fields (fields
//! a later step fills in, such as the process-creation enrichment) and do not
//! depend on NOW() or the time window. An event failing the prefilter cannot
//! match however those fields turn out, so readers drop it early and keep only
//! candidates.

use crate::eval::{Evaluator, State};
use crate::ir::Ir;
use crate::ir::Table;
use crate::query::{Column, Query};
use crate::shared::{LiteralIndex, Slot};
use portent_core::{Event, FieldId};

/// The early test of one query.
pub struct Prefilter<'q> {
    query: &'q Query,
    /// Conjuncts, each with the fields it reads that are filled in later only
    /// where the event lacks them: tested when the event has them all.
    terms: Vec<(&'q Ir, Vec<FieldId>)>,
}

impl Query {
    /// The prefilter that leaves out conjuncts reading any of `deferred`.
    pub fn prefilter(&self, deferred: &[FieldId]) -> Prefilter<'_> {
        self.prefilter_filled(deferred, &[])
    }

    /// The prefilter that leaves out conjuncts reading any of `deferred`, and
    /// tests a conjunct reading fields of `if_absent` (a later step fills them
    /// in only where the event has none, as process enrichment does) only on
    /// events that already have every one of them: their values are final.
    pub fn prefilter_filled(&self, deferred: &[FieldId], if_absent: &[FieldId]) -> Prefilter<'_> {
        let mut terms = Vec::new();
        if let Some(f) = &self.filter {
            let conjuncts: Vec<&Ir> = match f {
                Ir::And(ts) => ts.iter().collect(),
                other => vec![other],
            };
            for t in conjuncts {
                let mut usable = true;
                let mut needs = Vec::new();
                t.walk(&mut |n| match n {
                    Ir::Field(id) if deferred.contains(id) => usable = false,
                    Ir::Field(id) if if_absent.contains(id) => needs.push(*id),
                    // TEXT SEARCH reads the event's text, which the fields
                    // filled later add to (never the deferred ones: it skips
                    // what Portent notes about an event).
                    Ir::TextSearch(_) => needs.extend_from_slice(if_absent),
                    Ir::Now | Ir::AggRef(_) | Ir::KeyRef(_) | Ir::Column(_) => usable = false,
                    _ => {}
                });
                if usable {
                    needs.sort();
                    needs.dedup();
                    terms.push((t, needs));
                }
            }
        }
        Prefilter { query: self, terms }
    }

    /// The event ids outside of which the WHERE clause cannot be TRUE, from
    /// its `"Event ID" = n` and `"Event ID" IN (...)` conjuncts (`None`: it
    /// names none, or not as a necessary condition). Sorted, without repeats.
    pub fn event_ids(&self) -> Option<Vec<i64>> {
        self.filter.as_ref().and_then(event_ids_of)
    }

    /// Every field the query reads anywhere (columns, WHERE, GROUP BY, ORDER BY).
    pub fn fields(&self) -> Vec<FieldId> {
        let mut out = Vec::new();
        let mut add = |ir: &Ir| out.extend(ir.fields());
        for c in &self.columns {
            if let Column::Expr { ir, .. } = c {
                add(ir);
            }
        }
        if let Some(f) = &self.filter {
            add(f);
        }
        for (w, _) in &self.window_conjuncts {
            add(w);
        }
        for (o, _) in &self.order {
            add(o);
        }
        if let Some(g) = &self.grouping {
            g.keys.iter().for_each(&mut add);
            g.aggs
                .iter()
                .filter_map(|a| a.arg.as_ref())
                .for_each(&mut add);
        }
        out.sort();
        out.dedup();
        out
    }

    /// True when the query reads every field of an event (`SELECT *`, TEXT SEARCH).
    pub fn reads_all_fields(&self) -> bool {
        let mut all = self.columns.iter().any(|c| matches!(c, Column::Wildcard));
        if let Some(f) = &self.filter {
            f.walk(&mut |n| all |= matches!(n, Ir::TextSearch(_)));
        }
        all
    }
}

impl Prefilter<'_> {
    /// False when the event cannot match the query.
    pub fn test<E: Event + ?Sized>(&self, ev: &E, state: &mut State) -> bool {
        self.test_as(ev, state, false, None)
    }

    /// [`Prefilter::test`] of an event nothing will be filled in for (one
    /// enrichment does not apply to): its fields are final, so every term is
    /// decided as it stands.
    pub fn test_complete<E: Event + ?Sized>(&self, ev: &E, state: &mut State) -> bool {
        self.test_as(ev, state, true, None)
    }

    fn test_as<E: Event + ?Sized>(
        &self,
        ev: &E,
        state: &mut State,
        complete: bool,
        shared: Option<(&LiteralIndex, &[Vec<Slot>])>,
    ) -> bool {
        if (self.query.table == Table::Flows) != ev.is_flow() {
            return false;
        }
        let evaluator = Evaluator {
            patterns: &self.query.patterns,
            groups: &self.query.groups,
            catalog: &self.query.options.catalog,
            zone: self.query.options.zone,
            refdata: &self.query.options.reference_data,
            shared,
        };
        state.next_event();
        self.terms.iter().all(|(t, needs)| {
            if complete || needs.iter().all(|f| !ev.get(*f).is_null()) {
                return evaluator.truth(t, ev, state) == Some(true);
            }
            may_hold(t, needs, ev, &evaluator, state)
        })
    }

    /// Number of conjuncts tested.
    pub fn len(&self) -> usize {
        self.terms.len()
    }

    /// True when nothing is tested (every event is a candidate).
    pub fn is_empty(&self) -> bool {
        self.terms.is_empty()
    }
}

/// The prefilters of a rule set, testing their patterns through literal
/// automata shared by all of them: an event's command line is scanned once for
/// every needle of every rule, not once per rule.
pub struct PrefilterSet<'q> {
    queries: Vec<&'q Query>,
    prefilters: Vec<Prefilter<'q>>,
    index: std::sync::Arc<LiteralIndex>,
    /// Per query, the gate of one of its conjuncts (see [`LiteralIndex::gate_of`]),
    /// tested before the conjuncts are: for events still to be enriched, and
    /// for complete ones.
    gates: Vec<Gates>,
}

/// A query's gates: one among the conjuncts that are always tested in full
/// (those waiting for enriched fields may pass untested until the event
/// is complete), and one among all of them, for complete events.
#[derive(Default)]
struct Gates {
    partial: Option<Box<[Slot]>>,
    complete: Option<Box<[Slot]>>,
}

/// The narrowest gate among `p`'s conjuncts, or among those needing no
/// enriched field (`partial`).
fn gate(index: &LiteralIndex, q: usize, p: &Prefilter<'_>, partial: bool) -> Option<Box<[Slot]>> {
    p.terms
        .iter()
        .filter(|(_, needs)| !partial || needs.is_empty())
        .filter_map(|(t, _)| index.gate_of(q, t))
        .min_by_key(Vec::len)
        .map(Vec::into_boxed_slice)
}

impl<'q> PrefilterSet<'q> {
    /// The prefilters of `queries` (as [`Query::prefilter_filled`]) and
    /// their shared automata.
    pub fn new(queries: &[&'q Query], deferred: &[FieldId], if_absent: &[FieldId]) -> Self {
        let prefilters: Vec<Prefilter<'q>> = queries
            .iter()
            .map(|q| q.prefilter_filled(deferred, if_absent))
            .collect();
        let index = LiteralIndex::build(queries);
        let gates = gated(&index, &prefilters);
        PrefilterSet {
            queries: queries.to_vec(),
            prefilters,
            index: std::sync::Arc::new(index),
            gates,
        }
    }

    /// The same queries with other deferred and filled-if-absent fields,
    /// sharing this set's automata (which depend on the queries only): a
    /// second question about the same rules costs no second index.
    pub fn with_fields(&self, deferred: &[FieldId], if_absent: &[FieldId]) -> PrefilterSet<'q> {
        let prefilters: Vec<Prefilter<'q>> = self
            .queries
            .iter()
            .map(|q| q.prefilter_filled(deferred, if_absent))
            .collect();
        PrefilterSet {
            queries: self.queries.clone(),
            gates: gated(&self.index, &prefilters),
            prefilters,
            index: self.index.clone(),
        }
    }

    /// Pushes onto `out` those of `queries` (indices, ascending) whose
    /// prefilter `ev` passes. `complete`: nothing will be filled in for this
    /// event (see [`Prefilter::test_complete`]).
    pub fn candidates<E: Event + ?Sized>(
        &self,
        ev: &E,
        queries: &[usize],
        complete: bool,
        state: &mut State,
        out: &mut Vec<u32>,
    ) {
        state.literals.next_record();
        for &i in queries {
            let Some(p) = self.prefilters.get(i) else {
                continue;
            };
            let gate = self.gates.get(i).and_then(|g| match complete {
                true => g.complete.as_deref(),
                false => g.partial.as_deref(),
            });
            if let Some(gate) = gate {
                if !self.index.opens(gate, ev, &mut state.literals) {
                    continue;
                }
            }
            let shared = Some((&*self.index, self.index.slots(i)));
            if p.test_as(ev, state, complete, shared) {
                out.push(i as u32);
            }
        }
    }

    /// Number of queries.
    pub fn len(&self) -> usize {
        self.prefilters.len()
    }

    /// True when there are no queries.
    pub fn is_empty(&self) -> bool {
        self.prefilters.is_empty()
    }

    /// Patterns answered by the shared automata, and automata built.
    pub fn shared_size(&self) -> (usize, usize) {
        self.index.size()
    }
}

fn event_ids_of(t: &Ir) -> Option<Vec<i64>> {
    use portent_core::schema::ids::EVENT_ID;
    use portent_core::Value;
    match t {
        Ir::Cmp(crate::ir::CmpOp::Eq, a, b) => match (&**a, &**b) {
            (Ir::Field(EVENT_ID), Ir::Const(Value::Int(n)))
            | (Ir::Const(Value::Int(n)), Ir::Field(EVENT_ID)) => Some(vec![*n]),
            _ => None,
        },
        Ir::InConsts {
            expr,
            ints,
            others,
            negated: false,
        } if matches!(**expr, Ir::Field(EVENT_ID)) && others.is_empty() => {
            let mut ids = ints.clone();
            ids.dedup();
            Some(ids)
        }
        // TRUE needs every part TRUE: the ids every part that names some allows.
        Ir::And(ts) => ts.iter().filter_map(event_ids_of).reduce(|mut a, b| {
            a.retain(|x| b.binary_search(x).is_ok());
            a
        }),
        // TRUE needs one part TRUE: every part must name its ids.
        Ir::Or(ts) => {
            let mut all = Vec::new();
            for x in ts {
                all.extend(event_ids_of(x)?);
            }
            all.sort_unstable();
            all.dedup();
            Some(all)
        }
        _ => None,
    }
}

fn gated(index: &LiteralIndex, prefilters: &[Prefilter<'_>]) -> Vec<Gates> {
    prefilters
        .iter()
        .enumerate()
        .map(|(q, p)| Gates {
            partial: gate(index, q, p, true),
            complete: gate(index, q, p, false),
        })
        .collect()
}

/// Whether `t` may still be TRUE once the fields of `filled` the event lacks
/// are filled in. AND and OR are monotone, so their parts are judged one by
/// one: a part reading no missing field is evaluated, any other part may hold.
/// (NOT and the rest are not monotone: a part of them with a missing field may
/// hold whatever it says.)
fn may_hold<E: Event + ?Sized>(
    t: &Ir,
    filled: &[FieldId],
    ev: &E,
    evaluator: &Evaluator<'_>,
    state: &mut State,
) -> bool {
    let mut missing = false;
    t.walk(&mut |n| match n {
        Ir::Field(id) => missing |= filled.contains(id) && ev.get(*id).is_null(),
        Ir::TextSearch(_) => missing |= filled.iter().any(|f| ev.get(*f).is_null()),
        _ => {}
    });
    if !missing {
        return evaluator.truth(t, ev, state) == Some(true);
    }
    match t {
        Ir::And(ts) => ts.iter().all(|x| may_hold(x, filled, ev, evaluator, state)),
        Ir::Or(ts) => ts.iter().any(|x| may_hold(x, filled, ev, evaluator, state)),
        _ => true,
    }
}

#[cfg(test)]
mod tests {
    use crate::{CompileOptions, Query};
    use portent_core::schema::ids;
    use portent_core::{Record, Schema, Value};

    fn compile(where_: &str) -> Query {
        Query::compile(
            &format!("SELECT * FROM events WHERE {where_}"),
            &mut Schema::qradar(),
            &CompileOptions::default(),
        )
        .unwrap()
    }

    #[test]
    fn event_ids_are_those_the_condition_cannot_do_without() {
        let ids = |w: &str| compile(w).event_ids();
        assert_eq!(
            ids(r#""EventID" = 4624 AND "LogonType" = 3"#),
            Some(vec![4624])
        );
        assert_eq!(
            ids(r#""Event ID" IN (4729, 633, 4729)"#),
            Some(vec![633, 4729])
        );
        assert_eq!(
            ids(r#"("EventID" = 1 AND "Image" ILIKE '%x') OR "EventID" IN (4688, 1)"#),
            Some(vec![1, 4688])
        );
        assert_eq!(
            ids(r#""EventID" IN (1, 2, 3) AND ("EventID" = 2 OR "EventID" = 9)"#),
            Some(vec![2])
        );
        assert_eq!(ids(r#""EventID" = 1 AND "EventID" = 2"#), Some(vec![]));
        // Not a necessary condition, or not an id at all.
        assert_eq!(ids(r#""EventID" = 1 OR "Image" ILIKE '%x'"#), None);
        assert_eq!(ids(r#""EventID" NOT IN (1, 2)"#), None);
        assert_eq!(ids(r#""EventID" != 1"#), None);
        assert_eq!(ids(r#"NOT ("EventID" = 1)"#), None);
        assert_eq!(ids(r#""LogonType" = 3"#), None);
        assert_eq!(ids(r#""EventID" > 4000"#), None);
    }

    #[test]
    fn a_dispatch_narrowed_to_the_conditions_ids_admits_what_the_condition_can_match() {
        use crate::dispatch::Dispatch;
        const SECURITY: (&str, &str) = ("security", "microsoft-windows-security-auditing");
        let q = compile(r#""EventID" IN (4624, 4625) AND "LogonType" = 3"#);
        let any_id = Dispatch::of(&[SECURITY], &[]).narrowed(&q);
        assert!(any_id.admits(Some("Security"), None, Some(4624)));
        assert!(!any_id.admits(Some("Security"), None, Some(4688)));
        let some = Dispatch::of(&[SECURITY], &[4625, 4776]).narrowed(&q);
        assert_eq!(some.event_ids, vec![4625]);
        let none = Dispatch::of(&[SECURITY], &[4776]).narrowed(&q);
        assert!(!none.admits(Some("Security"), None, Some(4776)));
        assert!(!none.admits(Some("Security"), None, Some(4624)));
        let free = compile(r#""LogonType" = 3"#);
        assert_eq!(
            Dispatch::of(&[SECURITY], &[]).narrowed(&free),
            Dispatch::of(&[SECURITY], &[])
        );
    }

    #[test]
    fn sigmas_raw_and_normalised_names_share_a_gate() {
        // Sigma's conversion tests the raw name, then the normalised one
        // where the raw one is absent: the same pattern on two fields.
        let q = compile(
            r#""EventID" = 1 AND (("CommandLine" ILIKE '%mimikatz%') OR ("CommandLine" IS NULL AND "Command" ILIKE '%mimikatz%'))"#,
        );
        let set = super::PrefilterSet::new(&[&q], &[], &[]);
        assert!(set.gates[0].complete.is_some(), "the rule is gated");
        let mut st = crate::eval::State::new(0);
        let mut ev = Record::new();
        ev.set(ids::EVENT_ID, Value::Int(1));
        ev.set(ids::COMMAND, Value::str("run MimiKatz now"));
        let mut out = Vec::new();
        set.candidates(&ev, &[0], true, &mut st, &mut out);
        assert_eq!(out, vec![0], "found through the normalised name");
        ev.set(ids::COMMAND, Value::str("notepad"));
        out.clear();
        set.candidates(&ev, &[0], true, &mut st, &mut out);
        assert!(out.is_empty());
    }

    #[test]
    fn a_gate_waits_for_enrichment_only_on_events_still_to_be_enriched() {
        // The command line of a network event is filled in by enrichment:
        // until then its absence proves nothing.
        let q = compile(r#""Command" ILIKE '%mimikatz%' AND destinationport = 443"#);
        let set = super::PrefilterSet::new(&[&q], &[], &[ids::COMMAND]);
        assert!(set.gates[0].partial.is_none());
        assert!(set.gates[0].complete.is_some());
        let mut st = crate::eval::State::new(0);
        let mut ev = Record::new();
        ev.set(ids::DESTINATIONPORT, Value::Int(443));
        let mut out = Vec::new();
        set.candidates(&ev, &[0], false, &mut st, &mut out);
        assert_eq!(out, vec![0], "may still match once enriched");
        out.clear();
        set.candidates(&ev, &[0], true, &mut st, &mut out);
        assert!(out.is_empty(), "complete, and no command line");
    }

    #[test]
    fn deferred_fields_and_now_are_left_out() {
        let mut schema = Schema::qradar();
        let q = Query::compile(
            "SELECT * FROM events WHERE destinationport = 443 AND \"Command\" ILIKE '%x%' AND starttime > NOW() - 1000",
            &mut schema,
            &CompileOptions::default(),
        )
        .unwrap();
        let p = q.prefilter(&[ids::COMMAND]);
        assert_eq!(p.len(), 1);
        let mut st = crate::eval::State::new(0);
        let mut ev = Record::new();
        ev.set(ids::DESTINATIONPORT, Value::Int(443));
        assert!(p.test(&ev, &mut st));
        ev.set(ids::DESTINATIONPORT, Value::Int(80));
        assert!(!p.test(&ev, &mut st));
        ev.set_flow(true);
        ev.set(ids::DESTINATIONPORT, Value::Int(443));
        assert!(!p.test(&ev, &mut st), "flows are not events");
        assert!(q.reads_all_fields());
        assert!(q.fields().contains(&ids::COMMAND));
    }

    #[test]
    fn fields_filled_only_when_absent_are_tested_when_present() {
        let mut schema = Schema::qradar();
        let q = Query::compile(
            "SELECT * FROM events WHERE destinationport = 443 AND (\"Command\" ILIKE '%x%' OR \"Command\" IS NULL)",
            &mut schema,
            &CompileOptions::default(),
        )
        .unwrap();
        let p = q.prefilter_filled(&[], &[ids::COMMAND]);
        assert_eq!(p.len(), 2);
        let mut st = crate::eval::State::new(0);
        let mut ev = Record::new();
        ev.set(ids::DESTINATIONPORT, Value::Int(443));
        assert!(
            p.test(&ev, &mut st),
            "no command yet: enrichment may bring one"
        );
        ev.set(ids::COMMAND, Value::str("cmd /c x"));
        assert!(p.test(&ev, &mut st));
        ev.set(ids::COMMAND, Value::str("notepad"));
        assert!(!p.test(&ev, &mut st), "the event's own command is final");
    }

    #[test]
    fn text_search_waits_for_enrichment_only_where_it_can_come() {
        let mut schema = Schema::qradar();
        let q = Query::compile(
            "SELECT * FROM events WHERE TEXT SEARCH 'mimikatz' AND destinationport = 443",
            &mut schema,
            &CompileOptions::default(),
        )
        .unwrap();
        let p = q.prefilter_filled(&[ids::ENRICHMENT], &[ids::COMMAND]);
        assert_eq!(p.len(), 2, "TEXT SEARCH is tested, not left out");
        let mut st = crate::eval::State::new(0);
        let mut ev = Record::new();
        ev.set(ids::DESTINATIONPORT, Value::Int(443));
        ev.set(ids::PROCESS_NAME, Value::str("C:\\Windows\\notepad.exe"));
        assert!(
            p.test(&ev, &mut st),
            "no command yet: enrichment may bring `mimikatz`"
        );
        assert!(
            !p.test_complete(&ev, &mut st),
            "nothing will be filled in: the text is final"
        );
        ev.set(ids::COMMAND, Value::str("notepad.exe a.txt"));
        assert!(!p.test(&ev, &mut st), "the event's own command is final");
        ev.set(ids::COMMAND, Value::str("mimikatz.exe"));
        assert!(p.test(&ev, &mut st) && p.test_complete(&ev, &mut st));
        ev.set(ids::DESTINATIONPORT, Value::Int(80));
        assert!(!p.test(&ev, &mut st), "the other term still decides");
    }

    #[test]
    fn or_branches_without_the_missing_field_still_decide() {
        let mut schema = Schema::qradar();
        let q = Query::compile(
            "SELECT * FROM events WHERE (\"Event ID\" = 1 AND \"Command\" ILIKE '%x%') OR destinationport = 53",
            &mut schema,
            &CompileOptions::default(),
        )
        .unwrap();
        let p = q.prefilter_filled(&[], &[ids::COMMAND]);
        let mut st = crate::eval::State::new(0);
        let mut ev = Record::new();
        ev.set(ids::EVENT_ID, Value::Int(3));
        ev.set(ids::DESTINATIONPORT, Value::Int(443));
        assert!(
            !p.test(&ev, &mut st),
            "neither branch can hold, whatever the command"
        );
        ev.set(ids::EVENT_ID, Value::Int(1));
        assert!(
            p.test(&ev, &mut st),
            "the first branch may hold once the command is known"
        );
        ev.set(ids::EVENT_ID, Value::Int(3));
        ev.set(ids::DESTINATIONPORT, Value::Int(53));
        assert!(p.test(&ev, &mut st));
    }
}
