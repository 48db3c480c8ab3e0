//! Planning: operands of AND/OR ordered cheapest first, and every "contains"
//! pattern applied to the same input folded into one Aho-Corasick automaton
//! that runs once per event.

use crate::ir::Ir;
use crate::pattern::{Pattern, Shape};
use aho_corasick::{AhoCorasick, MatchKind};

/// Contains-patterns on one input, matched by one automaton.
#[derive(Clone, Debug)]
pub struct MatchGroup {
    /// The input expression.
    pub input: Ir,
    /// Whether the input is the argument of a folded `LOWER()`.
    pub lowered: bool,
    /// Patterns in the group; pattern `patterns[i]` owns bit `i`.
    pub patterns: Vec<usize>,
    automaton: AhoCorasick,
    /// Automaton pattern id to the bit of the pattern that owns the needle.
    needle_bits: Vec<u64>,
    /// Number of needles.
    pub needles: usize,
}

impl MatchGroup {
    /// The bitmask of patterns with a needle in `text`.
    pub fn scan(&self, text: &str) -> u64 {
        let mut mask = 0;
        for m in self.automaton.find_overlapping_iter(text) {
            mask |= self.needle_bits[m.pattern().as_usize()];
        }
        mask
    }
}

/// Builds the automata for every grouped `Match` in `roots` and marks the nodes.
pub fn build_groups(roots: &mut [&mut Ir], patterns: &[Pattern]) -> Vec<MatchGroup> {
    // (input, lowered) -> patterns in the group.
    let mut keys: Vec<(Ir, bool, Vec<usize>)> = Vec::new();
    for root in roots.iter() {
        root.walk(&mut |n| {
            if let Ir::Match {
                input,
                pattern,
                lowered,
                ..
            } = n
            {
                if groupable(&patterns[*pattern], *lowered) {
                    match keys
                        .iter_mut()
                        .find(|(i, l, _)| i == &**input && l == lowered)
                    {
                        Some((_, _, ps)) => {
                            if !ps.contains(pattern) && ps.len() < 64 {
                                ps.push(*pattern)
                            }
                        }
                        None => keys.push(((**input).clone(), *lowered, vec![*pattern])),
                    }
                }
            }
        });
    }
    let mut groups = Vec::new();
    let mut assignments: Vec<(Ir, bool, usize, usize, u32)> = Vec::new();
    for (input, lowered, ps) in keys {
        // One pattern alone gains nothing from a shared automaton.
        if ps.len() < 2 {
            continue;
        }
        let mut needles = Vec::new();
        let mut bits = Vec::new();
        for (bit, p) in ps.iter().enumerate() {
            if let Some(l) = &patterns[*p].literals {
                for n in &l.needles {
                    needles.push(n.clone());
                    bits.push(1u64 << bit);
                }
            }
        }
        // A DFA: rule patterns have tens of needles, so its size is small and
        // its scan the fastest the crate has.
        let Ok(automaton) = AhoCorasick::builder()
            .ascii_case_insensitive(lowered)
            .match_kind(MatchKind::Standard)
            .kind(Some(aho_corasick::AhoCorasickKind::DFA))
            .build(&needles)
        else {
            continue;
        };
        let g = groups.len();
        for (bit, p) in ps.iter().enumerate() {
            assignments.push((input.clone(), lowered, *p, g, bit as u32));
        }
        groups.push(MatchGroup {
            input,
            lowered,
            patterns: ps,
            automaton,
            needle_bits: bits,
            needles: needles.len(),
        });
    }
    for root in roots.iter_mut() {
        mark(root, &assignments);
    }
    groups
}

fn groupable(p: &Pattern, lowered: bool) -> bool {
    match &p.literals {
        Some(l) => {
            l.shape == Shape::Contains
                && !l.needles.iter().any(String::is_empty)
                && (!p.case_insensitive || lowered)
                && (!lowered || l.lowercase_stable())
        }
        None => false,
    }
}

fn mark(ir: &mut Ir, assignments: &[(Ir, bool, usize, usize, u32)]) {
    if let Ir::Match {
        input,
        pattern,
        lowered,
        group,
        ..
    } = ir
    {
        if let Some(a) = assignments
            .iter()
            .find(|a| a.0 == **input && a.1 == *lowered && a.2 == *pattern)
        {
            *group = Some((a.3, a.4));
        }
    }
    for_each_child(ir, &mut |c| mark(c, assignments));
}

/// Orders AND/OR operands cheapest first (three-valued AND and OR are
/// commutative, and evaluation has no side effects).
pub fn reorder(ir: &mut Ir) {
    for_each_child(ir, &mut reorder);
    if let Ir::And(xs) | Ir::Or(xs) = ir {
        xs.sort_by_key(Ir::cost);
    }
}

/// Calls `f` on each direct child of `ir`, mutably.
pub fn for_each_child(ir: &mut Ir, f: &mut dyn FnMut(&mut Ir)) {
    match ir {
        Ir::Const(_)
        | Ir::Field(_)
        | Ir::Now
        | Ir::TextSearch(_)
        | Ir::AggRef(_)
        | Ir::KeyRef(_)
        | Ir::Column(_) => {}
        Ir::Not(x) | Ir::Neg(x) | Ir::IsNull(x, _) | Ir::DateFormat(x, _, _) | Ir::InCidr(_, x) => {
            f(x)
        }
        Ir::And(xs) | Ir::Or(xs) | Ir::Call(_, xs) => xs.iter_mut().for_each(f),
        Ir::Cmp(_, a, b) | Ir::Arith(_, a, b) => {
            f(a);
            f(b);
        }
        Ir::InConsts { expr, .. } => f(expr),
        Ir::In { expr, list, .. } => {
            f(expr);
            list.iter_mut().for_each(f);
        }
        Ir::Match { input, .. } => f(input),
        Ir::DynMatch { input, pattern, .. } => {
            f(input);
            f(pattern);
        }
        Ir::Case {
            operand,
            arms,
            otherwise,
        } => {
            if let Some(o) = operand {
                f(o);
            }
            for (w, t) in arms {
                f(w);
                f(t);
            }
            f(otherwise);
        }
    }
}
