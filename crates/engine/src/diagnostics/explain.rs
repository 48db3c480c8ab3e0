//! `portent explain`: the plan in words: fields read, time window, filter order,
//! compiled matchers and shared automata.

use crate::ir::Ir;
use crate::pattern::Shape;
use crate::query::{Column, Query, TimeSpec};
use portent_core::Schema;
use std::fmt::Write;

/// A readable rendering of `ir`.
pub fn show(ir: &Ir, q: &Query) -> String {
    let s = &q.schema;
    let name = |s: &Schema, id| format!("\"{}\"", s.name(id));
    match ir {
        Ir::Const(v) => match v {
            portent_core::Value::Str(t) => format!("'{t}'"),
            other => other.to_string(),
        },
        Ir::Field(id) => name(s, *id),
        Ir::Now => "NOW()".into(),
        Ir::Not(x) => format!("NOT {}", show(x, q)),
        Ir::And(xs) => format!(
            "({})",
            xs.iter()
                .map(|x| show(x, q))
                .collect::<Vec<_>>()
                .join(" AND ")
        ),
        Ir::Or(xs) => format!(
            "({})",
            xs.iter()
                .map(|x| show(x, q))
                .collect::<Vec<_>>()
                .join(" OR ")
        ),
        Ir::Cmp(op, a, b) => format!("{} {} {}", show(a, q), op.as_str(), show(b, q)),
        Ir::InConsts {
            expr,
            ints,
            others,
            negated,
        } => {
            let mut items: Vec<String> = ints.iter().map(i64::to_string).collect();
            items.extend(others.iter().map(|o| o.to_string()));
            format!(
                "{} {}IN {{{}}} [sorted set]",
                show(expr, q),
                if *negated { "NOT " } else { "" },
                items.join(", ")
            )
        }
        Ir::In {
            expr,
            list,
            negated,
        } => format!(
            "{} {}IN ({})",
            show(expr, q),
            if *negated { "NOT " } else { "" },
            list.iter()
                .map(|x| show(x, q))
                .collect::<Vec<_>>()
                .join(", ")
        ),
        Ir::Match {
            input,
            pattern,
            negated,
            lowered,
            group,
        } => {
            let input = if *lowered {
                format!("LOWER({})", show(input, q))
            } else {
                show(input, q)
            };
            let how = match group {
                Some((g, b)) => format!("automaton #{g} bit {b}"),
                None => format!("matcher #{pattern}"),
            };
            format!(
                "{input} {}MATCHES-PATTERN #{pattern} [{how}]",
                if *negated { "NOT " } else { "" }
            )
        }
        Ir::DynMatch { input, pattern, .. } => {
            format!("{} MATCHES-DYNAMIC {}", show(input, q), show(pattern, q))
        }
        Ir::IsNull(x, n) => format!("{} IS {}NULL", show(x, q), if *n { "NOT " } else { "" }),
        Ir::TextSearch(t) => format!("TEXT SEARCH {t:?}"),
        Ir::Arith(op, a, b) => format!("({} {op:?} {})", show(a, q), show(b, q)),
        Ir::Neg(x) => format!("-{}", show(x, q)),
        Ir::Call(f, args) => format!(
            "{f:?}({})",
            args.iter()
                .map(|x| show(x, q))
                .collect::<Vec<_>>()
                .join(", ")
        ),
        Ir::DateFormat(x, _, z) => format!("DATEFORMAT({}, <pattern>, {z})", show(x, q)),
        Ir::InCidr(c, x) => format!("INCIDR('{}/{}', {})", c.addr, c.prefix, show(x, q)),
        Ir::Case { arms, .. } => format!("CASE [{} arms]", arms.len()),
        Ir::AggRef(i) => format!("agg#{i}"),
        Ir::KeyRef(i) => format!("key#{i}"),
        Ir::Column(i) => format!("column#{i}"),
    }
}

/// The whole plan as text.
pub fn explain(q: &Query) -> String {
    let mut out = String::new();
    let mut fields = Vec::new();
    let mut add = |ir: &Ir| fields.extend(ir.fields());
    q.filter.iter().for_each(&mut add);
    q.window_conjuncts.iter().for_each(|(c, _)| add(c));
    for c in &q.columns {
        if let Column::Expr { ir, .. } = c {
            add(ir);
        }
    }
    q.order.iter().for_each(|(o, _)| add(o));
    if let Some(g) = &q.grouping {
        g.keys.iter().for_each(&mut add);
        g.aggs
            .iter()
            .filter_map(|a| a.arg.as_ref())
            .for_each(&mut add);
    }
    fields.sort();
    fields.dedup();
    let names: Vec<String> = fields
        .iter()
        .map(|f| format!("\"{}\"", q.schema.name(*f)))
        .collect();
    let _ = writeln!(out, "table: {:?}", q.table);
    let _ = writeln!(out, "fields read ({}): {}", names.len(), names.join(", "));
    let _ = writeln!(out, "time window:");
    if q.window_conjuncts.is_empty() && q.time.is_none() {
        let _ = writeln!(out, "  none: every event is considered");
    }
    for (c, span) in &q.window_conjuncts {
        let text = q.source.get(span.range()).unwrap_or("");
        let _ = writeln!(
            out,
            "  WHERE conjunct `{text}` -> {} (NOW() bound once per run; tested after the filter, so every event it rejects is a match the window hid, and is counted)",
            show(c, q)
        );
    }
    match &q.time {
        Some(TimeSpec::Last(ms)) => {
            let _ = writeln!(out, "  time clause: the last {ms} ms before NOW()");
        }
        Some(TimeSpec::Range(a, b)) => {
            let _ = writeln!(out, "  time clause: START {a:?} STOP {b:?}");
        }
        Some(TimeSpec::Fixed(w)) => {
            let _ = writeln!(out, "  window given on the command line: {w:?}");
        }
        None => {}
    }
    let _ = writeln!(
        out,
        "filter (operands in evaluation order, cheapest and likeliest to decide first; readers apply the conjuncts that read no enriched field (Command, Parent ...) while reading, and keep only candidates):"
    );
    match &q.filter {
        Some(f) => match f {
            Ir::And(xs) => xs.iter().enumerate().for_each(|(i, x)| {
                let _ = writeln!(out, "  {}. {}", i + 1, show(x, q));
            }),
            other => {
                let _ = writeln!(out, "  1. {}", show(other, q));
            }
        },
        None => {
            let _ = writeln!(out, "  none");
        }
    }
    let _ = writeln!(out, "compiled patterns:");
    for (i, p) in q.patterns.iter().enumerate() {
        let kind = match &p.literals {
            Some(l) => {
                let shape = match l.shape {
                    Shape::Exact => "equals one of",
                    Shape::Prefix => "starts with one of",
                    Shape::Suffix => "ends with one of",
                    Shape::Contains => "contains one of",
                };
                format!(
                    "{shape} {} literal(s): {}",
                    l.needles.len(),
                    l.needles.join(" | ")
                )
            }
            None => "regex".to_owned(),
        };
        let _ = writeln!(out, "  #{i}: {kind}\n      regex {}", p.source);
    }
    if !q.groups.is_empty() {
        let _ = writeln!(
            out,
            "shared automata (one scan per event feeds every pattern on the input):"
        );
        for (i, g) in q.groups.iter().enumerate() {
            let _ = writeln!(
                out,
                "  automaton #{i}: input {}{}, patterns {:?}, {} needles, ASCII case-insensitive: {}",
                show(&g.input, q),
                if g.lowered { " (LOWER folded in)" } else { "" },
                g.patterns,
                g.needles,
                g.lowered
            );
        }
    }
    let _ = writeln!(out, "columns: {}", q.column_names().join(", "));
    if let Some(g) = &q.grouping {
        let _ = writeln!(
            out,
            "grouping: {} key(s), {} aggregate(s) (hash aggregation)",
            g.keys.len(),
            g.aggs.len()
        );
    }
    if !q.order.is_empty() {
        let bound = match q.limit {
            Some(l) => format!("bounded top-{l} heap"),
            None => "full sort of all rows".to_owned(),
        };
        let _ = writeln!(out, "order: {} key(s), {bound}", q.order.len());
    } else if let Some(l) = q.limit {
        let _ = writeln!(out, "limit: first {l} rows, the rest counted");
    }
    out
}
