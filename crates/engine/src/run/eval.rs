//! The planned evaluator: walks the IR with three-valued logic, using the
//! compiled patterns, the shared automata and the per-event cache in `State`.

use crate::functions::{self, lower, Func};
use crate::ir::{ArithOp, Ir};
use crate::pattern::Pattern;
use crate::plan::MatchGroup;
use crate::zone::Zone;
use portent_core::event::FieldRef;
use portent_core::schema::ids;
use portent_core::{Catalog, Event, Value};
use std::cmp::Ordering;

/// Per-run mutable state: the clock, the automaton cache and post-aggregation values.
#[derive(Clone, Debug)]
pub struct State {
    /// NOW() in epoch milliseconds.
    pub now: i64,
    generation: u64,
    masks: Vec<(u64, Option<u64>)>,
    /// Aggregate results of the current group.
    pub aggs: Vec<Value<'static>>,
    /// Key values of the current group.
    pub keys: Vec<Value<'static>>,
    /// Projected columns of the current row.
    pub cols: Vec<Value<'static>>,
    /// Patterns built from event values (`x LIKE CONCAT('%', y)`), by their
    /// text: the same few come back row after row, and a regex is dear to build.
    dyn_patterns: std::collections::HashMap<String, Option<regex::Regex>>,
    /// What the shared literal automata found in the current record.
    pub(crate) literals: crate::shared::Scratch,
    /// The current event's text for TEXT SEARCH, lower-cased, and the
    /// generation it is of: a keyword rule ORs dozens of searches, and the
    /// text is built once for all of them.
    haystack: (u64, String),
}

/// How many dynamic patterns a state keeps before it starts again.
const DYN_PATTERNS: usize = 1024;

impl State {
    /// A fresh state with the clock at `now`.
    pub fn new(now: i64) -> State {
        State {
            now,
            generation: 1,
            masks: Vec::new(),
            aggs: Vec::new(),
            keys: Vec::new(),
            cols: Vec::new(),
            dyn_patterns: std::collections::HashMap::new(),
            literals: Default::default(),
            haystack: (0, String::new()),
        }
    }

    /// Forgets what was cached about the previous event.
    pub fn next_event(&mut self) {
        self.generation = self.generation.wrapping_add(1);
    }
}

/// Everything evaluation reads but never changes.
#[derive(Clone, Copy)]
pub struct Evaluator<'p> {
    /// Compiled patterns, by index.
    pub patterns: &'p [Pattern],
    /// Shared automata.
    pub groups: &'p [MatchGroup],
    /// Lookup tables.
    pub catalog: &'p Catalog,
    /// Zone for PARSEDATETIME.
    pub zone: Zone,
    /// Reference sets, maps and tables.
    pub refdata: &'p crate::refdata::ReferenceData,
    /// Literal automata shared with other queries, and this query's slots
    /// in them (by pattern index).
    pub shared: Option<(
        &'p crate::shared::LiteralIndex,
        &'p [Vec<crate::shared::Slot>],
    )>,
}

impl<'p> Evaluator<'p> {
    /// The value of `ir` for `ev`.
    pub fn eval<'a, E: Event + ?Sized>(
        &'a self,
        ir: &'a Ir,
        ev: &'a E,
        st: &mut State,
    ) -> Value<'a> {
        match ir {
            Ir::Const(v) => v.reborrow(),
            Ir::Field(id) => ev.get(*id),
            Ir::Now => Value::Int(st.now),
            Ir::Arith(op, a, b) => {
                let (x, y) = (self.eval(a, ev, st), self.eval(b, ev, st));
                arith(*op, &x, &y)
            }
            Ir::Neg(x) => match self.eval(x, ev, st) {
                Value::Int(i) => i
                    .checked_neg()
                    .map_or(Value::Float(-(i as f64)), Value::Int),
                Value::Float(f) => Value::Float(-f),
                v => match (v.to_i64(), v.to_f64()) {
                    (Some(i), _) => i.checked_neg().map_or(Value::Null, Value::Int),
                    (None, Some(f)) => Value::Float(-f),
                    _ => Value::Null,
                },
            },
            Ir::Call(f, args) => self.call(*f, args, ev, st),
            Ir::DateFormat(x, pattern, zone) => match self.eval(x, ev, st).to_i64() {
                Some(ms) => pattern.format(ms, zone).map_or(Value::Null, Value::string),
                None => Value::Null,
            },
            Ir::Case {
                operand,
                arms,
                otherwise,
            } => {
                match operand {
                    Some(o) => {
                        let v = self.eval(o, ev, st).into_owned();
                        for (w, t) in arms {
                            if v.compare(&self.eval(w, ev, st)) == Some(Ordering::Equal) {
                                return self.eval(t, ev, st);
                            }
                        }
                    }
                    None => {
                        for (w, t) in arms {
                            if self.truth(w, ev, st) == Some(true) {
                                return self.eval(t, ev, st);
                            }
                        }
                    }
                }
                self.eval(otherwise, ev, st)
            }
            Ir::AggRef(i) => st.aggs.get(*i).cloned().unwrap_or(Value::Null),
            Ir::KeyRef(i) => st.keys.get(*i).cloned().unwrap_or(Value::Null),
            Ir::Column(i) => st.cols.get(*i).cloned().unwrap_or(Value::Null),
            _ => match self.truth(ir, ev, st) {
                Some(b) => Value::Bool(b),
                None => Value::Null,
            },
        }
    }

    /// The truth of `ir`: `Some(true)`, `Some(false)`, or `None` for NULL/unknown.
    pub fn truth<E: Event + ?Sized>(&self, ir: &Ir, ev: &E, st: &mut State) -> Option<bool> {
        match ir {
            Ir::And(xs) => {
                let mut unknown = false;
                for x in xs {
                    match self.truth(x, ev, st) {
                        Some(false) => return Some(false),
                        None => unknown = true,
                        Some(true) => {}
                    }
                }
                if unknown {
                    None
                } else {
                    Some(true)
                }
            }
            Ir::Or(xs) => {
                let mut unknown = false;
                for x in xs {
                    match self.truth(x, ev, st) {
                        Some(true) => return Some(true),
                        None => unknown = true,
                        Some(false) => {}
                    }
                }
                if unknown {
                    None
                } else {
                    Some(false)
                }
            }
            Ir::Not(x) => self.truth(x, ev, st).map(|b| !b),
            Ir::Cmp(op, a, b) => {
                let x = self.eval(a, ev, st);
                let y = self.eval(b, ev, st);
                x.compare(&y).map(|o| op.test(o))
            }
            Ir::InConsts {
                expr,
                ints,
                others,
                negated,
            } => {
                // The common shape, `field IN (consts)`, skips the general evaluator.
                let v = match &**expr {
                    Ir::Field(id) => ev.get(*id),
                    other => self.eval(other, ev, st),
                };
                in_consts(&v, ints, others).map(|b| b != *negated)
            }
            Ir::In {
                expr,
                list,
                negated,
            } => {
                let v = self.eval(expr, ev, st).into_owned();
                if v.is_null() {
                    return None;
                }
                let mut unknown = false;
                for item in list {
                    match v.compare(&self.eval(item, ev, st)) {
                        Some(Ordering::Equal) => return Some(!*negated),
                        None => unknown = true,
                        Some(_) => {}
                    }
                }
                if unknown {
                    None
                } else {
                    Some(*negated)
                }
            }
            Ir::Match {
                input,
                pattern,
                negated,
                lowered,
                group,
            } => {
                if let Some(answer) = self.shared_answer(input, *pattern, *lowered, ev, st) {
                    return answer.map(|b| b != *negated);
                }
                let m = match group {
                    Some((g, bit)) => self
                        .group_mask(*g, ev, st)
                        .map(|mask| mask & (1u64 << bit) != 0),
                    None => {
                        let v = self.eval(input, ev, st);
                        let text = v.to_text()?;
                        Some(self.match_text(&self.patterns[*pattern], &text, *lowered))
                    }
                };
                m.map(|b| b != *negated)
            }
            Ir::DynMatch {
                input,
                pattern,
                dialect,
                case_insensitive,
                escape,
                negated,
            } => {
                let v = self.eval(input, ev, st).into_owned();
                let p = self.eval(pattern, ev, st);
                let (text, pat) = (v.to_text()?, p.to_text()?);
                let key = format!("{dialect:?}\u{0}{case_insensitive}\u{0}{escape:?}\u{0}{pat}");
                if !st.dyn_patterns.contains_key(&key) {
                    let re = crate::similar::to_regex(&pat, *dialect, *escape, *case_insensitive)
                        .ok()
                        .and_then(|source| {
                            regex::RegexBuilder::new(&source)
                                .size_limit(1 << 20)
                                .build()
                                .ok()
                        });
                    if st.dyn_patterns.len() >= DYN_PATTERNS {
                        st.dyn_patterns.clear();
                    }
                    st.dyn_patterns.insert(key.clone(), re);
                }
                let re = st.dyn_patterns.get(&key)?.as_ref()?;
                Some(re.is_match(&text) != *negated)
            }
            Ir::IsNull(x, negated) => Some(self.eval(x, ev, st).is_null() != *negated),
            Ir::TextSearch(terms) => {
                if st.haystack.0 != st.generation {
                    st.haystack = (st.generation, haystack(ev));
                }
                Some(terms.iter().all(|t| st.haystack.1.contains(t.as_str())))
            }
            Ir::InCidr(net, x) => self.eval(x, ev, st).to_ip().map(|ip| net.contains(ip)),
            Ir::Const(v) => v.to_bool(),
            other => self.eval(other, ev, st).to_bool(),
        }
    }

    fn match_text(&self, p: &Pattern, text: &str, lowered: bool) -> bool {
        if !lowered {
            return p.is_match(text);
        }
        match &p.literals {
            Some(l) if text.is_ascii() => l.is_match(text, true),
            _ => p.is_match(&lower(text)),
        }
    }

    /// The shared automata's answer for pattern `p` on `input`, when they
    /// have one: `Some(None)` is NULL.
    fn shared_answer<E: Event + ?Sized>(
        &self,
        input: &Ir,
        p: usize,
        lowered: bool,
        ev: &E,
        st: &mut State,
    ) -> Option<Option<bool>> {
        let (index, slots) = self.shared?;
        let Ir::Field(field) = input else {
            return None;
        };
        let slot = slots
            .get(p)?
            .iter()
            .find(|s| s.field == *field && s.lowered == lowered)?;
        match index.answer(slot, ev, &mut st.literals) {
            crate::shared::Answer::Null => Some(None),
            crate::shared::Answer::Known(b) => Some(Some(b)),
            crate::shared::Answer::Ask => None,
        }
    }

    fn group_mask<E: Event + ?Sized>(&self, g: usize, ev: &E, st: &mut State) -> Option<u64> {
        if st.masks.len() <= g {
            st.masks.resize(self.groups.len().max(g + 1), (0, None));
        }
        if st.masks[g].0 == st.generation {
            return st.masks[g].1;
        }
        let group = &self.groups[g];
        let mask = self.eval(&group.input, ev, st).to_text().map(|text| {
            if group.lowered && !text.is_ascii() {
                group.scan(&lower(&text))
            } else {
                group.scan(&text)
            }
        });
        st.masks[g] = (st.generation, mask);
        mask
    }

    fn call<'a, E: Event + ?Sized>(
        &'a self,
        f: Func,
        args: &'a [Ir],
        ev: &'a E,
        st: &mut State,
    ) -> Value<'a> {
        match f {
            Func::ParseDateTime => {
                let text = self
                    .eval(&args[0], ev, st)
                    .to_text()
                    .map(|t| t.into_owned());
                match text.map(|t| crate::time::parse_reference(&t, st.now, &self.zone)) {
                    Some(Ok(ms)) => Value::Int(ms),
                    _ => Value::Null,
                }
            }
            f if f.reads_reference_data() => {
                let vals: Vec<Value<'a>> = args.iter().map(|a| self.eval(a, ev, st)).collect();
                reference_call(self.refdata, f, &vals, st.now)
            }
            Func::LogSourceName => {
                let id = self.eval(&args[0], ev, st);
                let from_catalog = functions::call_scalar(f, &mut [id], self.catalog);
                // Offline, readers name each log source; the event carries its name.
                if from_catalog.is_null() && args[0] == Ir::Field(ids::LOGSOURCEID) {
                    ev.get(ids::LOGSOURCENAME)
                } else {
                    from_catalog
                }
            }
            _ => {
                let mut vals: Vec<Value<'a>> = args.iter().map(|a| self.eval(a, ev, st)).collect();
                functions::call_scalar(f, &mut vals, self.catalog)
            }
        }
    }
}

/// A reference data lookup (`vals` evaluated), at NOW() = `now`: shared by
/// the planned and the reference evaluator.
pub fn reference_call(
    data: &crate::refdata::ReferenceData,
    f: Func,
    vals: &[Value<'_>],
    now: i64,
) -> Value<'static> {
    let arg = |i: usize| vals.get(i).unwrap_or(&Value::Null);
    match f {
        Func::NetworkName => return data.network_name(arg(0)),
        Func::AssetHostname => return data.asset("hostname", arg(0)),
        Func::AssetUser => return data.asset("user", arg(0)),
        Func::AssetProperty => {
            return match arg(0).to_text() {
                Some(p) => data.asset(&p, arg(1)),
                None => Value::Null,
            }
        }
        Func::GeoLookup => {
            let (Some(geo), Some(property)) = (data.geo(), arg(1).to_text()) else {
                return Value::Null;
            };
            let path = arg(2).to_text();
            return geo.lookup(arg(0), &property, path.as_deref());
        }
        Func::GeoDistance => {
            return data
                .geo()
                .map_or(Value::Null, |geo| geo.distance(arg(0), arg(1)))
        }
        _ => {}
    }
    let Some(name) = arg(0).to_text() else {
        return Value::Null;
    };
    let truth = |b: Option<bool>| b.map_or(Value::Null, Value::Bool);
    match f {
        Func::RefSetContains => truth(data.set_contains(&name, arg(1), now)),
        Func::RefMap => data.map_value(&name, arg(1), now),
        Func::RefMapSetContains => truth(data.map_set_contains(&name, arg(1), arg(2), now)),
        Func::RefTable => match arg(1).to_text() {
            Some(column) => data.table_value(&name, &column, arg(2), now),
            None => Value::Null,
        },
        _ => Value::Null,
    }
}

/// `v IN (consts)` with SQL's unknowns: TRUE on a match, else NULL if any
/// comparison was unknown, else FALSE.
fn in_consts(v: &Value<'_>, ints: &[i64], others: &[Value<'static>]) -> Option<bool> {
    let as_int = match v {
        Value::Null => return None,
        Value::Int(i) => Some(*i),
        Value::Str(s) => portent_core::value::parse_int(s),
        _ => None,
    };
    let mut unknown = false;
    match as_int {
        Some(i) => {
            // Short lists (ports, log source types) are faster scanned than searched.
            let found = if ints.len() <= 16 {
                ints.contains(&i)
            } else {
                ints.binary_search(&i).is_ok()
            };
            if found {
                return Some(true);
            }
        }
        None => {
            for n in ints {
                match v.compare(&Value::Int(*n)) {
                    Some(Ordering::Equal) => return Some(true),
                    None => unknown = true,
                    Some(_) => {}
                }
            }
        }
    }
    for o in others {
        match v.compare(o) {
            Some(Ordering::Equal) => return Some(true),
            None => unknown = true,
            Some(_) => {}
        }
    }
    if unknown {
        None
    } else {
        Some(false)
    }
}

/// Arithmetic with AQL's coercions: integers stay integers (division truncates,
/// as Java's long division), overflow and mixed operands go to doubles, `^` is a
/// double, `&` needs integers; NULL or non-numeric operands give NULL.
pub fn arith(op: ArithOp, a: &Value<'_>, b: &Value<'_>) -> Value<'static> {
    if a.is_null() || b.is_null() {
        return Value::Null;
    }
    let ints = |v: &Value<'_>| match v {
        Value::Float(_) => None,
        other => other.to_i64(),
    };
    match op {
        ArithOp::BitAnd => match (ints(a), ints(b)) {
            (Some(x), Some(y)) => Value::Int(x & y),
            _ => Value::Null,
        },
        ArithOp::Pow => match (a.to_f64(), b.to_f64()) {
            (Some(x), Some(y)) => Value::Float(x.powf(y)),
            _ => Value::Null,
        },
        _ => {
            if let (Some(x), Some(y)) = (ints(a), ints(b)) {
                let r = match op {
                    ArithOp::Add => x.checked_add(y),
                    ArithOp::Sub => x.checked_sub(y),
                    ArithOp::Mul => x.checked_mul(y),
                    ArithOp::Div if y == 0 => return Value::Null,
                    ArithOp::Div => x.checked_div(y),
                    ArithOp::Mod if y == 0 => return Value::Null,
                    ArithOp::Mod => x.checked_rem(y),
                    _ => None,
                };
                if let Some(r) = r {
                    return Value::Int(r);
                }
            }
            match (a.to_f64(), b.to_f64()) {
                (Some(x), Some(y)) => {
                    let r = match op {
                        ArithOp::Add => x + y,
                        ArithOp::Sub => x - y,
                        ArithOp::Mul => x * y,
                        ArithOp::Div | ArithOp::Mod if y == 0.0 => return Value::Null,
                        ArithOp::Div => x / y,
                        ArithOp::Mod => x % y,
                        _ => return Value::Null,
                    };
                    Value::Float(r)
                }
                _ => Value::Null,
            }
        }
    }
}

/// Every term occurs, case-insensitively, in the payload, or in the event's
/// text fields when it has no payload.
pub fn text_search<E: Event + ?Sized>(terms: &[String], ev: &E) -> bool {
    let hay = haystack(ev);
    terms.iter().all(|t| hay.contains(t.as_str()))
}

/// What TEXT SEARCH looks in: the payload, or the event's text fields when
/// it has none, lower-cased.
fn haystack<E: Event + ?Sized>(ev: &E) -> String {
    match ev.get(ids::PAYLOAD).to_text() {
        Some(p) => p.to_lowercase(),
        None => {
            let mut all = String::new();
            ev.for_each(&mut |f: FieldRef<'_>, v: &Value<'_>| {
                // What Portent adds about an event (the file it came from, its
                // enrichment, a suppression) is not the event's text: a hunt
                // through `mimikatz.json` must not find "mimikatz" in every event.
                if let FieldRef::Id(id) = f {
                    if [ids::SOURCE_FILE, ids::ENRICHMENT, ids::SUPPRESSED_BY].contains(&id) {
                        return;
                    }
                }
                if let Some(t) = v.to_text() {
                    all.push_str(&t);
                    all.push('\n');
                }
            });
            all.to_lowercase()
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use portent_core::Record;

    #[test]
    fn text_searches_of_one_rule_read_each_event_afresh() {
        // The searched text is built once per event for all of a rule's
        // searches: the next event must not be judged on the one before.
        use crate::{CompileOptions, Query, Row, Run};
        let q = Query::compile(
            "SELECT \"Command\" FROM events WHERE TEXT SEARCH 'sekurlsa' OR TEXT SEARCH 'kerberos::' OR (TEXT SEARCH 'lsadump' AND TEXT SEARCH 'dcsync')",
            &mut portent_core::Schema::qradar(),
            &CompileOptions::default(),
        )
        .unwrap();
        let mut run = Run::new(&q, Vec::<Row>::new(), 0);
        let mut matched = Vec::new();
        for text in [
            "sekurlsa::logonpasswords",
            "notepad",
            "lsadump::DCSync /user:krbtgt",
            "lsadump::sam",
            "KERBEROS::golden",
            "calc",
        ] {
            let mut r = Record::new();
            r.set(ids::COMMAND, Value::string(text.to_owned()));
            matched.push(run.matches(&r));
        }
        assert_eq!(matched, [true, false, true, false, true, false]);
    }

    #[test]
    fn text_search_reads_the_event_not_portents_notes_about_it() {
        let mut r = Record::new();
        r.set(ids::PROCESS_NAME, Value::str("C:\\Tools\\m.exe"));
        r.set(ids::SOURCE_FILE, Value::str("evidence/mimikatz_run.json"));
        r.set(ids::ENRICHMENT, Value::str("found: Sysmon 1"));
        assert!(!text_search(&["mimikatz".into()], &r));
        assert!(!text_search(&["sysmon".into()], &r));
        assert!(text_search(&["tools".into(), "m.exe".into()], &r));
        r.set_extra("CommandLine", Value::str("sekurlsa::logonpasswords"));
        assert!(text_search(&["sekurlsa".into()], &r));
    }
}
