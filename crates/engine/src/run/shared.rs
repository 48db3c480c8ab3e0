//! Literal automata shared across queries. A rule set of thousands of Sigma
//! rules tests the same few fields (command line, image, script text) with
//! thousands of patterns; one Aho-Corasick automaton per field and case mode
//! finds every needle of every rule in one pass over the value, once per
//! event, and each pattern's test becomes a bit lookup.
//!
//! Two kinds of entry:
//! - a pattern with a literal shape (exact, prefix, suffix, contains a needle)
//!   is answered by the automaton alone;
//! - a pattern that needs its regex but whose every match contains one of a
//!   few strings ([`Pattern::required`]) is known false when none occurs, so
//!   its regex runs only on the few values that hold one.
//!
//! Case-insensitive entries use an ASCII case-insensitive automaton, exact for
//! ASCII values only; on any other value the pattern is tested as before.

use crate::ir::Ir;
use crate::pattern::{Pattern, Shape};
use crate::query::Query;
use aho_corasick::{AhoCorasick, MatchKind};
use portent_core::{Event, FieldId};
use std::collections::HashMap;

/// The characters other than ASCII letters that case-insensitive matching
/// takes for ASCII letters: the Kelvin sign (k) and the long s (s).
pub(crate) const FOLDS_TO_ASCII: [char; 2] = ['\u{212A}', '\u{17F}'];

/// Where a query's pattern is answered in the index.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Slot {
    /// The field the pattern is applied to.
    pub field: FieldId,
    /// Applied to `LOWER(field)` folded into the match.
    pub lowered: bool,
    input: u32,
    entry: u32,
    /// True: the bit is the answer. False: a clear bit means no match, a set
    /// one that the pattern's regex decides.
    decides: bool,
}

/// One field in one case mode, and the automaton over every needle on it.
struct Input {
    field: FieldId,
    case_insensitive: bool,
    automaton: Option<AhoCorasick>,
    /// Needle `n` owns `owners[starts[n]..starts[n + 1]]`.
    starts: Vec<u32>,
    owners: Vec<(u32, Shape)>,
    entries: usize,
}

/// The shared automata of a set of queries, and each query's slots.
pub struct LiteralIndex {
    inputs: Vec<Input>,
    /// Per query, per pattern index, one slot per field the pattern is
    /// applied to (Sigma's conversion tests a raw and a normalised name).
    slots: Vec<Vec<Vec<Slot>>>,
}

/// What the index says of one pattern on one event.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Answer {
    /// The field is NULL: the match is NULL.
    Null,
    /// The pattern's answer.
    Known(bool),
    /// The index cannot tell (a non-ASCII value under a case-insensitive
    /// entry, or a required string is present): test the pattern itself.
    Ask,
}

/// Per-event results of the index, kept in the evaluation state.
#[derive(Clone, Debug, Default)]
pub struct Scratch {
    record: u64,
    /// Per input: the record it was computed for, and its state.
    computed: Vec<(u64, Status)>,
    bits: Vec<Vec<u64>>,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Status {
    Null,
    /// The value is not ASCII and the input is case-insensitive.
    Unusable,
    /// Found in a value; `ascii`: the value is ASCII.
    Bits {
        ascii: bool,
    },
}

impl Scratch {
    /// Forgets every result: the next event is a different one.
    pub fn next_record(&mut self) {
        self.record = self.record.wrapping_add(1);
    }
}

/// Key of a deduplicated entry: input, shape, needles, whether it decides.
type EntryKey = (usize, Shape, Vec<String>, bool);

impl LiteralIndex {
    /// Builds the index over the WHERE clauses of `queries`.
    pub fn build(queries: &[&Query]) -> LiteralIndex {
        let mut inputs: Vec<(FieldId, bool)> = Vec::new();
        let mut entries: HashMap<EntryKey, u32> = HashMap::new();
        let mut per_input: Vec<Vec<(String, u32, Shape)>> = Vec::new();
        let mut counts: Vec<u32> = Vec::new();
        let mut slots = Vec::with_capacity(queries.len());
        for q in queries {
            let mut mine: Vec<Vec<Slot>> = vec![Vec::new(); q.patterns.len()];
            let mut visit = |n: &Ir| {
                let Ir::Match {
                    input,
                    pattern,
                    lowered,
                    ..
                } = n
                else {
                    return;
                };
                let Ir::Field(field) = **input else { return };
                let Some(p) = q.patterns.get(*pattern) else {
                    return;
                };
                // A pattern used twice on one input is indexed once.
                if mine[*pattern]
                    .iter()
                    .any(|s| s.field == field && s.lowered == *lowered)
                {
                    return;
                }
                let Some((shape, needles, decides, ci)) = entry_of(p, *lowered) else {
                    return;
                };
                let i = match inputs.iter().position(|k| *k == (field, ci)) {
                    Some(i) => i,
                    None => {
                        inputs.push((field, ci));
                        per_input.push(Vec::new());
                        counts.push(0);
                        inputs.len() - 1
                    }
                };
                let key = (i, shape, needles, decides);
                let entry = match entries.get(&key) {
                    Some(e) => *e,
                    None => {
                        let e = counts[i];
                        counts[i] += 1;
                        for n in &key.2 {
                            per_input[i].push((n.clone(), e, shape));
                        }
                        entries.insert(key, e);
                        e
                    }
                };
                mine[*pattern].push(Slot {
                    field,
                    lowered: *lowered,
                    input: i as u32,
                    entry,
                    decides,
                });
            };
            if let Some(f) = &q.filter {
                f.walk(&mut visit);
            }
            slots.push(mine);
        }
        let mut built = Vec::with_capacity(inputs.len());
        for (i, ((field, ci), mut needles)) in inputs.into_iter().zip(per_input).enumerate() {
            needles.sort_by(|a, b| (&a.0, a.1).cmp(&(&b.0, b.1)));
            let mut texts: Vec<&str> = Vec::new();
            let mut starts = vec![0u32];
            let mut owners = Vec::with_capacity(needles.len());
            for (text, entry, shape) in &needles {
                if texts.last() != Some(&text.as_str()) {
                    if !texts.is_empty() {
                        starts.push(owners.len() as u32);
                    }
                    texts.push(text);
                }
                owners.push((*entry, *shape));
            }
            starts.push(owners.len() as u32);
            // Too big for the crate: its patterns are tested one by one.
            let automaton = AhoCorasick::builder()
                .ascii_case_insensitive(ci)
                .match_kind(MatchKind::Standard)
                .build(&texts)
                .ok();
            built.push(Input {
                field,
                case_insensitive: ci,
                automaton,
                starts,
                owners,
                entries: counts[i] as usize,
            });
        }
        LiteralIndex {
            inputs: built,
            slots,
        }
    }

    /// The slots of query `q`, by pattern index.
    pub fn slots(&self, q: usize) -> &[Vec<Slot>] {
        self.slots.get(q).map_or(&[], Vec::as_slice)
    }

    /// Patterns answered from the index, and automata built.
    pub fn size(&self) -> (usize, usize) {
        let patterns = self.slots.iter().flatten().flatten().count();
        let automata = self.inputs.iter().filter(|i| i.automaton.is_some()).count();
        (patterns, automata)
    }

    /// What the index says of `slot` on `ev`.
    pub fn answer<E: Event + ?Sized>(&self, slot: &Slot, ev: &E, scratch: &mut Scratch) -> Answer {
        let i = slot.input as usize;
        if scratch.computed.len() < self.inputs.len() {
            scratch
                .computed
                .resize(self.inputs.len(), (0, Status::Null));
            scratch.bits.resize_with(self.inputs.len(), Vec::new);
        }
        let (record, status) = scratch.computed[i];
        let status = if record == scratch.record && record != 0 {
            status
        } else {
            let status = self.scan(i, ev, &mut scratch.bits[i]);
            scratch.computed[i] = (scratch.record, status);
            status
        };
        match status {
            Status::Null => Answer::Null,
            Status::Unusable => Answer::Ask,
            // Lower-casing turns a few other characters into ASCII (U+0130
            // into "i" and a combining dot): only an ASCII value is sure.
            Status::Bits { ascii: false } if slot.lowered => Answer::Ask,
            Status::Bits { .. } => {
                let e = slot.entry as usize;
                let set = scratch.bits[i][e / 64] & (1u64 << (e % 64)) != 0;
                match (set, slot.decides) {
                    (set, true) => Answer::Known(set),
                    (false, false) => Answer::Known(false),
                    (true, false) => Answer::Ask,
                }
            }
        }
    }

    /// A gate of query `q` for the condition `t`: slots of which at least
    /// one is answered TRUE, or cannot be answered, on every event `t` is
    /// TRUE for (`None` when `t` has no such set). A rule set's rules mostly
    /// open with a selection of literals; with its gate, a routed rule whose
    /// literals are all absent costs a few bit lookups instead of a walk of
    /// its condition tree.
    pub fn gate_of(&self, q: usize, t: &Ir) -> Option<Vec<Slot>> {
        /// Past this many slots a gate costs about what the walk does.
        const WIDEST: usize = 32;
        match t {
            Ir::Match {
                input,
                pattern,
                negated: false,
                lowered,
                ..
            } => {
                let Ir::Field(field) = **input else {
                    return None;
                };
                let slot = self
                    .slots(q)
                    .get(*pattern)?
                    .iter()
                    .find(|s| s.field == field && s.lowered == *lowered)?;
                Some(vec![*slot])
            }
            // TRUE needs every part TRUE: any part's gate will do; the narrowest.
            Ir::And(ts) => ts
                .iter()
                .filter_map(|x| self.gate_of(q, x))
                .min_by_key(Vec::len),
            // TRUE needs one part TRUE: every part needs a gate.
            Ir::Or(ts) => {
                let mut all = Vec::new();
                for x in ts {
                    for s in self.gate_of(q, x)? {
                        if !all.contains(&s) {
                            all.push(s);
                        }
                    }
                    if all.len() > WIDEST {
                        return None;
                    }
                }
                (!all.is_empty()).then_some(all)
            }
            _ => None,
        }
    }

    /// False when every slot of `gate` is known FALSE or NULL on `ev`: the
    /// condition the gate was made for cannot be TRUE.
    pub fn opens<E: Event + ?Sized>(&self, gate: &[Slot], ev: &E, scratch: &mut Scratch) -> bool {
        gate.iter().any(|s| {
            !matches!(
                self.answer(s, ev, scratch),
                Answer::Known(false) | Answer::Null
            )
        })
    }

    fn scan<E: Event + ?Sized>(&self, i: usize, ev: &E, bits: &mut Vec<u64>) -> Status {
        let input = &self.inputs[i];
        let Some(automaton) = &input.automaton else {
            return Status::Unusable;
        };
        let value = ev.get(input.field);
        let Some(text) = value.to_text() else {
            return Status::Null;
        };
        // An ASCII needle matches only ASCII bytes, and a case-insensitive
        // regex folds no other character to an ASCII letter than these two
        // (see the test): without them the ASCII compare is the regex's.
        if input.case_insensitive && !text.is_ascii() && text.contains(FOLDS_TO_ASCII) {
            return Status::Unusable;
        }
        bits.clear();
        bits.resize(input.entries.div_ceil(64), 0);
        let len = text.len();
        for m in automaton.find_overlapping_iter(text.as_ref()) {
            let n = m.pattern().as_usize();
            let (from, to) = (input.starts[n] as usize, input.starts[n + 1] as usize);
            for &(entry, shape) in &input.owners[from..to] {
                let holds = match shape {
                    Shape::Contains => true,
                    Shape::Prefix => m.start() == 0,
                    Shape::Suffix => m.end() == len,
                    Shape::Exact => m.start() == 0 && m.end() == len,
                };
                if holds {
                    bits[entry as usize / 64] |= 1u64 << (entry % 64);
                }
            }
        }
        Status::Bits {
            ascii: text.is_ascii(),
        }
    }
}

/// How a pattern is indexed: shape, needles, whether the index decides it,
/// and whether its automaton is ASCII case-insensitive. `None`: it is not.
fn entry_of(p: &Pattern, lowered: bool) -> Option<(Shape, Vec<String>, bool, bool)> {
    let ci = p.case_insensitive || lowered;
    let (shape, needles, decides) = match (&p.literals, &p.required) {
        (Some(l), _) => (l.shape, l.needles.clone(), true),
        // The required strings are those of the pattern, not of its
        // lower-cased input.
        (None, Some(r)) if !lowered => (Shape::Contains, r.clone(), false),
        _ => return None,
    };
    // An empty needle matches everywhere (or, exact, only the empty value):
    // the automaton reports no empty matches, so such patterns stay out.
    if needles.is_empty() || needles.iter().any(String::is_empty) {
        return None;
    }
    if ci && !needles.iter().all(|n| crate::pattern::folds_simply(n)) {
        return None;
    }
    Some((shape, needles, decides, ci))
}

#[cfg(test)]
mod tests {
    use crate::prefilter::PrefilterSet;
    use crate::{CompileOptions, Query, State};
    use portent_core::schema::ids;
    use portent_core::{Record, Schema, Value};

    fn compile(conditions: &[String]) -> Vec<Query> {
        let mut schema = Schema::qradar();
        conditions
            .iter()
            .map(|c| {
                Query::compile(
                    &format!("SELECT * FROM events WHERE {c}"),
                    &mut schema,
                    &CompileOptions::default(),
                )
                .unwrap()
            })
            .collect()
    }

    /// The shared automata's candidates, and each prefilter's own.
    fn both(queries: &[Query], ev: &Record<'static>) -> (Vec<u32>, Vec<u32>) {
        both_with(queries, ev, &[])
    }

    /// [`both`], with `later` the fields enrichment fills: none, a complete
    /// event; some, an event still to be enriched.
    fn both_with(
        queries: &[Query],
        ev: &Record<'static>,
        later: &[portent_core::FieldId],
    ) -> (Vec<u32>, Vec<u32>) {
        let refs: Vec<&Query> = queries.iter().collect();
        let complete = later.is_empty();
        let set = PrefilterSet::new(&refs, &[], later);
        let all: Vec<usize> = (0..refs.len()).collect();
        let mut st = State::new(0);
        let mut shared = Vec::new();
        set.candidates(ev, &all, complete, &mut st, &mut shared);
        let own = refs
            .iter()
            .enumerate()
            .filter(|(_, q)| {
                let p = q.prefilter_filled(&[], later);
                match complete {
                    true => p.test_complete(ev, &mut st),
                    false => p.test(ev, &mut st),
                }
            })
            .map(|(i, _)| i as u32)
            .collect();
        (shared, own)
    }

    #[test]
    fn every_shape_and_mode_is_answered_as_the_pattern_answers() {
        let qs = compile(&[
            r#""Command" ILIKE '%whoami%'"#.into(),
            r#""Command" ILIKE 'cmd%'"#.into(),
            r#""Command" ILIKE '%.EXE'"#.into(),
            r#""Command" ILIKE 'whoami /all'"#.into(),
            r#""Command" LIKE '%WhoAmI%'"#.into(),
            r#""Command" NOT ILIKE '%whoami%'"#.into(),
            r#"LOWER("Command") LIKE '%who%'"#.into(),
            r#"LOWER("Command") LIKE 'i%'"#.into(),
            r#""Command" ILIKE '%who%>%'"#.into(),
            r#""Command" IMATCHES '.*w[h]oami\s+/(all|priv).*'"#.into(),
            r#""Command" ILIKE '%ß%'"#.into(),
            r#""Command" ILIKE '%kill%'"#.into(),
            r#""Command" ILIKE '%–enc%'"#.into(),
            r#""Command" ILIKE '%🫳%'"#.into(),
            r#""Command" ILIKE '%é%'"#.into(),
        ]);
        let refs: Vec<&Query> = qs.iter().collect();
        let set = PrefilterSet::new(&refs, &[], &[]);
        let (answered, automata) = set.shared_size();
        assert!(answered >= 8, "{answered} patterns shared");
        assert_eq!(
            automata, 2,
            "one case-insensitive and one case-sensitive automaton"
        );
        for text in [
            "whoami /all",
            "WHOAMI /ALL",
            "cmd /c WhoAmI > out.txt",
            "C:\\Windows\\system32\\whoami.exe",
            "notepad",
            "Straße whoami",
            "Straße WHOAMI.exe",
            "\u{130}who",
            "powershell –ENC abc",
            "powershell –enc 🫳",
            "Élan",
            // The Kelvin sign folds to k: no ASCII compare can say so.
            "\u{212A}ILL",
            "",
        ] {
            let mut ev = Record::new();
            ev.set(ids::COMMAND, Value::string(text.to_owned()));
            let (shared, own) = both(&qs, &ev);
            assert_eq!(shared, own, "{text:?}");
        }
        // NULL: NOT ILIKE is NULL too, so nothing passes.
        let (shared, own) = both(&qs, &Record::new());
        assert_eq!(shared, own);
        assert!(shared.is_empty());
    }

    #[test]
    fn only_two_characters_beyond_ascii_fold_to_ascii_letters() {
        let mut found = Vec::new();
        for letter in 'a'..='z' {
            let re = regex::Regex::new(&format!("(?i)\\A{letter}\\z")).unwrap();
            for c in (0x80..=0x10FFFFu32).filter_map(char::from_u32) {
                if re.is_match(c.encode_utf8(&mut [0; 4])) {
                    found.push(c);
                }
            }
        }
        found.sort();
        let mut expected = super::FOLDS_TO_ASCII.to_vec();
        expected.sort();
        assert_eq!(found, expected);
    }

    #[test]
    fn results_are_per_event_not_left_over_from_the_one_before() {
        let qs = compile(&[r#""Command" ILIKE '%evil%'"#.into()]);
        let refs: Vec<&Query> = qs.iter().collect();
        let set = PrefilterSet::new(&refs, &[], &[]);
        let mut st = State::new(0);
        for (text, expect) in [("evil", 1), ("good", 0), ("EVIL", 1)] {
            let mut ev = Record::new();
            ev.set(ids::COMMAND, Value::str(text));
            let mut out = Vec::new();
            set.candidates(&ev, &[0], true, &mut st, &mut out);
            assert_eq!(out.len(), expect, "{text}");
        }
    }

    proptest::proptest! {
        /// Many rules' patterns on two fields, random values: the shared
        /// automata pick exactly the candidates the prefilters pick alone.
        #[test]
        fn shared_automata_agree_with_each_prefilter(
            pats in proptest::collection::vec(("[abk%_]{1,6}", 0..9usize), 1..12),
            command in proptest::option::of("[abkAB\u{e9}\u{212A} ]{0,10}"),
            image in proptest::option::of("[abAB]{0,6}"),
        ) {
            let conds: Vec<String> = pats
                .iter()
                .map(|(p, how)| match how {
                    0 => format!(r#""Command" ILIKE '{p}'"#),
                    1 => format!(r#""Command" LIKE '{p}'"#),
                    2 => format!(r#""Process Name" ILIKE '{p}'"#),
                    3 => format!(r#"LOWER("Command") LIKE '{p}'"#),
                    4 => format!(r#""Command" NOT ILIKE '{p}' AND "Process Name" LIKE '{p}'"#),
                    5 => format!(r#""Command" IMATCHES '.*{}.*'"#, p.replace('%', "[0-9]*").replace('_', ".")),
                    // Sigma's raw-then-normalised fallback: one pattern on two fields.
                    6 => format!(r#"("Command" ILIKE '{p}') OR ("Command" IS NULL AND "Process Name" ILIKE '{p}')"#),
                    7 => format!(r#"("Command" LIKE '{p}' OR "Process Name" ILIKE 'a%') AND NOT "Process Name" LIKE '{p}'"#),
                    // A part with no literal leaves the OR without a gate.
                    _ => format!(r#""Command" ILIKE '{p}' OR "Process Name" IS NULL"#),
                })
                .collect();
            let qs = compile(&conds);
            let mut ev = Record::new();
            if let Some(c) = command {
                ev.set(ids::COMMAND, Value::string(c));
            }
            if let Some(i) = image {
                ev.set(ids::PROCESS_NAME, Value::string(i));
            }
            let (shared, own) = both(&qs, &ev);
            proptest::prop_assert_eq!(shared, own);
            let (shared, own) = both_with(&qs, &ev, &[ids::PROCESS_NAME]);
            proptest::prop_assert_eq!(shared, own);
        }
    }
}
